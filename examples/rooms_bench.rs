//! Measures the room list: how long the answer to `rooms` takes to compute and encode
//! (what the event handler does, without the network) for a user in many rooms with
//! long histories, and the unread count of one room of a million messages.
//!
//! `cargo run --release --example rooms_bench -- [rooms] [messages per room] [samples]`
//! (defaults: 100, 100 000, 2 000). The rooms are filled through `Store::import`, with
//! their messages interleaved in time; a tenth are the reader's own and one in fifty
//! mentions them. A third of the rooms are unread from the start (999+), a third from
//! the middle, a third read to the end.

use std::io::Cursor;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parley::accounts::{Accounts, CredentialKey, Identity, NewUser, Password, Role, SecretHash};
use parley::model::{DisplayName, RoomName, Username};
use parley::rooms::{NewRoom, RoomKind, Rooms};
use parley::store::{Store, StoreOptions, SyncLevel};

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

const FIRST_ID: u64 = 1_700_000_000_000_000;

fn main() -> BenchResult<()> {
    let mut args = std::env::args().skip(1);
    let mut next = |default: usize| -> BenchResult<usize> {
        Ok(args
            .next()
            .map(|a| a.parse())
            .transpose()?
            .unwrap_or(default))
    };
    let room_count = next(100)?;
    let per_room = next(100_000)?;
    let samples = next(2_000)?;

    let dir = tempfile::tempdir()?;
    let store = Arc::new(Store::open_with(
        dir.path(),
        StoreOptions {
            sync: SyncLevel::Os,
        },
    )?);
    let accounts = Arc::new(Accounts::open(&store)?);
    let reader = add_user(&accounts, "reader")?;
    let writer = add_user(&accounts, "writer")?;
    let rooms = Rooms::open(store.clone(), accounts.clone())?;

    let names: Vec<RoomName> = (0..room_count)
        .map(|i| RoomName::parse(&format!("room-{i:03}")))
        .collect::<Result<_, _>>()?;
    for name in &names {
        let change = rooms.create(
            &writer,
            NewRoom {
                id: name.clone(),
                name: None,
                kind: RoomKind::Closed,
                members: vec![reader.username.clone()],
            },
        )?;
        rooms.persist(&change)?;
    }

    let started = Instant::now();
    let total = fill(&store, &names, per_room, FIRST_ID)?;
    println!(
        "filled {room_count} rooms with {per_room} messages each ({total} in all) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for (i, name) in names.iter().enumerate() {
        let step = room_count as u64;
        let last = FIRST_ID + (per_room as u64 - 1) * step + i as u64;
        let middle = FIRST_ID + (per_room as u64 / 2) * step + i as u64;
        match i % 3 {
            0 => {}
            1 => drop(rooms.mark_read(&reader, name, middle)?),
            _ => drop(rooms.mark_read(&reader, name, last)?),
        }
    }

    let started = Instant::now();
    let first = rooms.list(&reader, false)?;
    println!(
        "first `rooms` (loads each room's recent messages): {:.1} ms, {} rooms, {} unread in all",
        ms(started.elapsed()),
        first.len(),
        first.iter().map(|room| room.unread as u64).sum::<u64>()
    );
    let mut timings = Vec::with_capacity(samples);
    let mut bytes = 0;
    for _ in 0..samples {
        let started = Instant::now();
        let list = rooms.list(&reader, false)?;
        let encoded = serde_json::to_vec(&serde_json::json!({"ok": true, "rooms": list}))?;
        timings.push(started.elapsed());
        bytes = encoded.len();
    }
    report(
        &format!("`rooms` for a user in {room_count} rooms ({bytes} bytes)"),
        &mut timings,
    );

    big_room(&store, &rooms, &reader, &writer)?;
    Ok(())
}

/// One room of a million messages: the unread count of a reader who never read it, when
/// everything is by others (memory answers) and when nearly everything is their own (the
/// count reads the store, bounded).
fn big_room(
    store: &Arc<Store>,
    rooms: &Rooms,
    reader: &Identity,
    writer: &Identity,
) -> BenchResult<()> {
    const BIG: usize = 1_000_000;
    for (name, own_every) in [("big-others", 0), ("big-own", 1)] {
        let room = RoomName::parse(name)?;
        let change = rooms.create(
            writer,
            NewRoom {
                id: room.clone(),
                name: None,
                kind: RoomKind::Open,
                members: vec![reader.username.clone()],
            },
        )?;
        rooms.persist(&change)?;
        let first_id = FIRST_ID + 1_000_000_000_000;
        let mut lines = Vec::new();
        for i in 0..BIG {
            let author = if own_every == 1 && i % 1000 != 0 {
                "reader"
            } else {
                "writer"
            };
            lines.extend_from_slice(
                line(&room, first_id + i as u64, author, "hello there").as_bytes(),
            );
        }
        store.import(Cursor::new(lines), |_| Ok(()))?;
        let mut timings = Vec::with_capacity(200);
        let mut unread = 0;
        for _ in 0..200 {
            let started = Instant::now();
            unread = rooms.info(reader, &room)?.unread;
            timings.push(started.elapsed());
        }
        report(
            &format!("unread of {name} ({BIG} messages, marker at 0): {unread}"),
            &mut timings,
        );
    }
    Ok(())
}

/// Imports `per_room` messages into each room, interleaved in time. Returns how many.
fn fill(store: &Store, names: &[RoomName], per_room: usize, first_id: u64) -> BenchResult<u64> {
    let step = names.len() as u64;
    let mut total = 0;
    for (r, room) in names.iter().enumerate() {
        let mut lines = Vec::with_capacity(per_room * 150);
        for i in 0..per_room {
            let id = first_id + i as u64 * step + r as u64;
            let author = if i % 10 == 0 { "reader" } else { "writer" };
            let text = if i % 50 == 0 {
                "@reader have a look"
            } else {
                "an ordinary message of a typical length for a team chat"
            };
            lines.extend_from_slice(line(room, id, author, text).as_bytes());
        }
        total += store.import(Cursor::new(lines), |_| Ok(()))?.imported;
    }
    Ok(total)
}

fn line(room: &RoomName, id: u64, author: &str, text: &str) -> String {
    format!(
        "{}\n",
        serde_json::json!({"id": id, "room": room, "sender": author, "user": author,
            "text": text, "ts": id / 1000, "client_id": null})
    )
}

fn add_user(accounts: &Accounts, name: &str) -> BenchResult<Identity> {
    let username = Username::parse(name)?;
    let user = accounts.add_user(
        NewUser {
            username: username.clone(),
            name: DisplayName::parse(name)?,
            password: Password::parse("bench password")?,
        },
        Role::Member,
    )?;
    Ok(Identity {
        username: user.username,
        name: user.name,
        role: user.role,
        credential: CredentialKey::Token(SecretHash::of(name)),
    })
}

fn report(what: &str, timings: &mut [Duration]) {
    timings.sort();
    let at = |q: f64| ms(timings[((timings.len() - 1) as f64 * q) as usize]);
    println!(
        "{what}: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms ({} samples)",
        at(0.5),
        at(0.99),
        at(1.0),
        timings.len()
    );
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
