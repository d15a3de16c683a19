//! Edits, deletes, reactions and replies as HTTP, a crash, a restart and a backup see
//! them (TEAM-CHAT.md, "Edits, deletes, reactions, replies"; issue 14): `GET
//! /api/rooms/{room}/messages` with and without `?since=`, the same after a crash and
//! after a restart, `parley export` without the deleted texts, and an import into an
//! empty data directory that gives back the same room, older exports without `rev`
//! included. The room is filled by tests/js/edits.mjs (`seed`) over Socket.IO, in
//! accounts mode.

mod support;

use std::path::Path;

use serde_json::{Value, json};
use support::team::{ACCOUNTS, add_team, parley_in};
use support::{Client, ServerProcess, http, run_client, start_parley};

/// The room the seed fills; every deleted text in it contains this.
const ROOM: &str = "archive";
const DELETED: &str = "deleted-text";

/// A data directory with admin alice and members bob and carol, and their API tokens
/// as a JSON object. Made for each test: this binary's tests are few.
fn team(data: &Path) -> Value {
    add_team(data, &["alice", "bob", "carol"], &[])
}

/// A server on `data` with the seed's room in it.
fn seeded(data: &Path, tokens: &Value) -> ServerProcess {
    let server = start_parley(data, &ACCOUNTS);
    let out = run_client(
        Client::Node,
        "edits.mjs",
        &[&server.url, "seed", &tokens.to_string(), ROOM],
    );
    assert!(out.contains("ok seed"), "{out}");
    server
}

/// `GET path` as `user`: the status and the body as JSON (Null if it is not).
fn get(server: &ServerProcess, tokens: &Value, user: &str, path: &str) -> (u16, Value) {
    let bearer = format!("Bearer {}", tokens[user].as_str().expect("a token"));
    let reply = http(&server.url, "GET", path, &[("Authorization", &bearer)], b"");
    (
        reply.status,
        serde_json::from_str(&reply.body).unwrap_or(Value::Null),
    )
}

/// The room as bob reads it over HTTP: the page by id, and everything since rev 0 in
/// rev order.
fn room_as_read(server: &ServerProcess, tokens: &Value) -> (Value, Value) {
    let page = get(
        server,
        tokens,
        "bob",
        &format!("/api/rooms/{ROOM}/messages?limit=200"),
    );
    let since = get(
        server,
        tokens,
        "bob",
        &format!("/api/rooms/{ROOM}/messages?since=0&limit=200"),
    );
    assert_eq!(page.0, 200, "{}", page.1);
    assert_eq!(since.0, 200, "{}", since.1);
    (page.1, since.1)
}

fn messages(body: &Value) -> &Vec<Value> {
    body["messages"].as_array().expect("a list of messages")
}

#[test]
fn export_and_import_keep_edits_reactions_replies_and_tombstones() {
    let dirs = tempfile::tempdir().expect("temporary directory");
    let source = dirs.path().join("source");
    let tokens = team(&source);
    let server = seeded(&source, &tokens);
    let (page, since) = room_as_read(&server, &tokens);

    // What the seed made, as HTTP shows it: six messages, two of them tombstones.
    let listed = messages(&page);
    assert_eq!(listed.len(), 6, "{page}");
    let text = page.to_string();
    assert!(!text.contains(DELETED), "GET shows a deleted text: {text}");
    for field in [
        "\"edited_ts\"",
        "\"reactions\"",
        "\"reply_to\"",
        "\"mentions\"",
    ] {
        assert!(
            text.contains(field),
            "the seed's messages carry {field}: {text}"
        );
    }
    let tombstones: Vec<&Value> = listed
        .iter()
        .filter(|m| m["deleted"] == json!(true))
        .collect();
    assert_eq!(tombstones.len(), 2, "{page}");
    for tombstone in &tombstones {
        let mut keys: Vec<&str> = tombstone
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["deleted", "id", "rev", "room", "ts"], "{tombstone}");
    }
    let revs: Vec<u64> = messages(&since)
        .iter()
        .map(|m| m["rev"].as_u64().expect("a rev"))
        .collect();
    assert!(revs.windows(2).all(|w| w[0] < w[1]), "rev order: {revs:?}");
    assert_eq!(messages(&since).len(), 6, "{since}");
    assert_eq!(since["rev"].as_u64(), revs.last().copied(), "{since}");

    // Every acknowledged change survives a crash, and a clean restart after it: the
    // messages and what changed since a rev.
    server.kill();
    let after_crash = start_parley(&source, &ACCOUNTS);
    assert_eq!(
        room_as_read(&after_crash, &tokens),
        (page.clone(), since.clone())
    );
    assert!(after_crash.terminate().success(), "parley stops cleanly");
    let again = start_parley(&source, &ACCOUNTS);
    assert_eq!(room_as_read(&again, &tokens), (page.clone(), since.clone()));
    assert!(again.terminate().success(), "parley stops cleanly");

    // The export: the changes are in it, the deleted texts are not.
    let export = parley_in(&source, &["export"], "");
    let export = String::from_utf8(export.stdout).expect("an export is UTF-8");
    assert!(
        !export.contains(DELETED),
        "the export holds a deleted text:\n{export}"
    );
    let lines: Vec<Value> = export
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .filter(|line: &Value| line.get("kind").is_none())
        .collect();
    assert_eq!(lines.len(), 6, "six message lines:\n{export}");
    for line in messages(&page) {
        assert!(lines.contains(line), "the export lacks {line}:\n{export}");
    }

    // Into an empty data directory, with two lines from before `rev` (open mode, then
    // accounts), which import as messages that never changed. Importing again adds
    // nothing.
    let old = [
        r#"{"id":1600000000000000,"room":"archive","sender":"Old Timer","text":"from an open-mode export","ts":1600000000000,"client_id":null}"#,
        r#"{"id":1600000000000001,"room":"archive","sender":"Bob","user":"bob","text":"from an older accounts export","ts":1600000000000,"client_id":null}"#,
    ];
    let backup = format!("{export}{}\n", old.join("\n"));
    let target = dirs.path().join("target");
    for expected in [
        "imported 8 messages, skipped 0",
        "imported 0 messages, skipped 8",
    ] {
        let imported = parley_in(&target, &["import"], &backup);
        let said = String::from_utf8_lossy(&imported.stderr);
        assert!(said.contains(expected), "expected {expected:?}: {said}");
    }
    let moved = start_parley(&target, &ACCOUNTS);
    let (page_after, since_after) = room_as_read(&moved, &tokens);
    let old_messages: Vec<Value> = old
        .iter()
        .map(|line| {
            let mut message: Value = serde_json::from_str(line).expect("JSON");
            message["rev"] = message["id"].clone();
            message
        })
        .collect();
    let mut expected_page = old_messages.clone();
    expected_page.extend(messages(&page).iter().cloned());
    assert_eq!(
        messages(&page_after),
        &expected_page,
        "the imported room, old lines first"
    );
    let mut expected_since = old_messages;
    expected_since.extend(messages(&since).iter().cloned());
    assert_eq!(
        since_after,
        json!({"messages": expected_since, "rev": since["rev"]}),
        "the imported room since rev 0"
    );

    // Life goes on after the import: a new message passes every imported rev.
    let bearer = format!("Bearer {}", tokens["bob"].as_str().expect("a token"));
    let reply = http(
        &moved.url,
        "POST",
        &format!("/api/rooms/{ROOM}/messages"),
        &[
            ("Authorization", &bearer),
            ("Content-Type", "application/json"),
        ],
        br#"{"text":"after the move"}"#,
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let sent: Value = serde_json::from_str(&reply.body).expect("JSON");
    let rev = sent["message"]["rev"].as_u64().expect("a rev");
    assert_eq!(Some(rev), sent["message"]["id"].as_u64(), "{sent}");
    assert!(rev > since["rev"].as_u64().expect("a rev"), "{sent}");
    let (_, latest) = get(
        &moved,
        &tokens,
        "carol",
        &format!("/api/rooms/{ROOM}/messages?since={}", since["rev"]),
    );
    assert_eq!(latest, json!({"messages": [sent["message"]], "rev": rev}));
}

#[test]
fn get_messages_since_refuses_what_is_not_a_rev_and_the_signed_out() {
    let dirs = tempfile::tempdir().expect("temporary directory");
    let tokens = team(dirs.path());
    let server = seeded(dirs.path(), &tokens);
    for since in ["abc", "-1", "1.5"] {
        let (status, body) = get(
            &server,
            &tokens,
            "carol",
            &format!("/api/rooms/{ROOM}/messages?since={since}"),
        );
        assert_eq!(
            (status, &body["error"]["code"]),
            (400, &json!("invalid")),
            "since={since}: {body}"
        );
    }
    let signed_out = http(
        &server.url,
        "GET",
        &format!("/api/rooms/{ROOM}/messages?since=0"),
        &[],
        b"",
    );
    assert_eq!(signed_out.status, 401, "{}", signed_out.body);
    assert!(!signed_out.body.contains("edited"), "{}", signed_out.body);

    // A reply over HTTP to what is no message of the room.
    let bearer = format!("Bearer {}", tokens["carol"].as_str().expect("a token"));
    let reply = http(
        &server.url,
        "POST",
        &format!("/api/rooms/{ROOM}/messages"),
        &[
            ("Authorization", &bearer),
            ("Content-Type", "application/json"),
        ],
        br#"{"text":"to nothing","reply_to":12345}"#,
    );
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.body.contains("\"invalid\""), "{}", reply.body);
}

/// The files of `dir` (recursively) whose bytes contain `needle`.
fn files_holding(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a readable directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            found.extend(files_holding(&path, needle));
        } else if std::fs::read(&path)
            .expect("a readable file")
            .windows(needle.len())
            .any(|window| window == needle.as_bytes())
        {
            found.push(path.display().to_string());
        }
    }
    found
}

/// Issue 14: a deleted text is "really removed from the store and from the write-ahead
/// log's retained segments once retired". A clean stop retires every segment (the log
/// is removed once sled holds everything), and a start that replays a log writes only
/// each key's last value: so after a stop, and after a restart, the text is in no log
/// segment and in no other file Parley writes, and no answer has it. sled's own file
/// (`db`) is left out: it keeps an overwritten value until it reclaims that space,
/// which the README says.
#[test]
fn a_deleted_text_leaves_the_log_once_its_segments_are_retired() {
    let dirs = tempfile::tempdir().expect("temporary directory");
    let data = dirs.path().join("data");
    let tokens = team(&data);
    let server = seeded(&data, &tokens);
    assert!(server.terminate().success(), "parley stops cleanly");
    let holding = |data: &Path| -> Vec<String> {
        files_holding(data, DELETED)
            .into_iter()
            .filter(|path| !path.ends_with("/db"))
            .collect()
    };
    assert_eq!(holding(&data), Vec::<String>::new(), "after a clean stop");
    let again = start_parley(&data, &ACCOUNTS);
    let (page, _) = room_as_read(&again, &tokens);
    assert!(!page.to_string().contains(DELETED), "{page}");
    assert!(again.terminate().success(), "parley stops cleanly");
    assert_eq!(holding(&data), Vec::<String>::new(), "after a restart");
}
