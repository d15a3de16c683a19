//! Measures the store: durable appends per second at several writer counts (each append
//! resolves only after its group commit is synced), and paging latency in a room holding
//! a million messages.
//!
//! `cargo run --release --example store_bench -- [seconds per writer count] [room size]
//! [sync level]` (defaults: 5 s, 1 000 000, `full`). The big room is filled through
//! `Store::import` in chunks, i.e. 1024 messages per transaction and flush, not through
//! `append`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parley::model::{MessageText, RoomName, SenderName};
use parley::store::{NewMessage, PageQuery, Store, StoreOptions};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> BenchResult<()> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(5);
    let room_size: u64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let options = StoreOptions {
        sync: args
            .next()
            .map(|a| a.parse())
            .transpose()?
            .unwrap_or_default(),
    };
    let runtime = tokio::runtime::Runtime::new()?;

    println!(
        "durable appends (sync {}), {seconds} s per row",
        options.sync
    );
    println!("| writers | appends/s | CPU µs/append | mean batch | mean flush µs | flushes |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for writers in [1, 8, 32, 128] {
        let dir = tempfile::tempdir()?;
        let store = Arc::new(Store::open_with(dir.path(), options)?);
        let cpu_before = process_cpu()?;
        let done = runtime.block_on(appends(&store, writers, Duration::from_secs(seconds)))?;
        let cpu = process_cpu()? - cpu_before;
        let stats = store.stats();
        let flushes = stats.flushes.max(1);
        println!(
            "| {writers} | {:.0} | {:.1} | {:.1} | {:.0} | {} |",
            done as f64 / seconds as f64,
            cpu.as_secs_f64() * 1e6 / done.max(1) as f64,
            stats.messages_written as f64 / flushes as f64,
            stats.flush_micros_total as f64 / flushes as f64,
            stats.flushes
        );
    }

    let dir = tempfile::tempdir()?;
    let store = Store::open_with(dir.path(), options)?;
    let started = Instant::now();
    let (first_id, last_id) = fill(&store, room_size)?;
    println!(
        "\nfilled room `big` with {room_size} messages via import in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    runtime.block_on(paging(&store, first_id, last_id))?;
    Ok(())
}

/// CPU time (user and system) this process has used so far, all threads together.
fn process_cpu() -> BenchResult<Duration> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage fills the struct it is given; it is read only on success.
    let usage = unsafe {
        if libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) != 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        usage.assume_init()
    };
    let micros = |time: libc::timeval| {
        Duration::from_secs(time.tv_sec as u64) + Duration::from_micros(time.tv_usec as u64)
    };
    Ok(micros(usage.ru_utime) + micros(usage.ru_stime))
}

async fn appends(store: &Arc<Store>, writers: usize, length: Duration) -> BenchResult<u64> {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let request = NewMessage {
        room: RoomName::parse("bench")?,
        sender: SenderName::parse("bench")?,
        user: None,
        text: MessageText::parse("a benchmark message of a typical short length", 4000)?,
        client_id: None,
        reply_to: None,
        mentions: Vec::new(),
        files: Vec::new(),
    };
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let (store, stop, done, request) = (
                Arc::clone(store),
                Arc::clone(&stop),
                Arc::clone(&done),
                request.clone(),
            );
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    store.append(request.clone()).await?;
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok::<(), parley::store::StoreError>(())
            })
        })
        .collect();
    tokio::time::sleep(length).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await??;
    }
    Ok(done.load(Ordering::Relaxed))
}

/// Imports `count` messages with consecutive ids; returns the first and last id.
fn fill(store: &Store, count: u64) -> BenchResult<(u64, u64)> {
    let base = u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_micros())? - count;
    let mut lines = Vec::new();
    let mut next = 0;
    while next < count {
        lines.clear();
        for id in (base + next)..(base + (next + 20_000).min(count)) {
            let text = format!("message number {id} with a little text");
            let line = serde_json::json!({
                "id": id, "room": "big", "sender": "filler", "text": text,
                "ts": id / 1000, "client_id": null
            });
            serde_json::to_writer(&mut lines, &line)?;
            lines.push(b'\n');
            next += 1;
        }
        store.import(lines.as_slice(), |line| {
            Err(format!("not a message: {line}"))
        })?;
    }
    Ok((base, base + count - 1))
}

async fn paging(store: &Store, first_id: u64, last_id: u64) -> BenchResult<()> {
    let room = RoomName::parse("big")?;
    let mut random = SmallRng::seed_from_u64(0x9e37_79b9_7f4a_7c15);
    let mut span = || random.random_range(first_id + 1..=last_id - 1);
    println!("\npaging in `big`, limit 50, 2000 calls each (through spawn_blocking)");
    println!("| query | p50 µs | p99 µs |");
    println!("|---|---:|---:|");
    for name in ["last 50", "before=X", "after=X"] {
        let mut micros = Vec::with_capacity(2000);
        for _ in 0..2000 {
            let q = match name {
                "before=X" => query(Some(span()), None),
                "after=X" => query(None, Some(span())),
                _ => query(None, None),
            };
            let started = Instant::now();
            let page = store.page(&room, q).await?;
            micros.push(started.elapsed().as_micros());
            if page.is_empty() {
                return Err(format!("{name}: empty page for {q:?}").into());
            }
        }
        micros.sort_unstable();
        println!(
            "| {name} | {} | {} |",
            micros[micros.len() / 2],
            micros[micros.len() * 99 / 100]
        );
    }
    Ok(())
}

fn query(before: Option<u64>, after: Option<u64>) -> PageQuery {
    PageQuery {
        before,
        after,
        limit: 50,
    }
}
