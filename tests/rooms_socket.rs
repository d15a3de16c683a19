//! Rooms, membership, direct messages, presence, read markers and unread counts over
//! Socket.IO with the official clients (TEAM-CHAT.md, "Rooms, membership, direct
//! messages" and "Presence, read markers, unread"; issue 13): every event, the `room`,
//! `read` and `presence` events reaching the right sockets, and a non-member's every
//! attempt on a closed room or a DM refused with nothing shown. Each test has its own
//! server in accounts mode, on a copy of one data directory holding the team.

mod support;

use std::path::Path;
use std::sync::OnceLock;

use support::{Client, ServerProcess, run_client, run_client_with_env, run_parley, start_parley};

const PASSWORD: &str = "correct horse battery";

/// Runs `parley ARGS --data-dir DIR` with `stdin`, asserts success, returns stdout.
fn parley(data: &Path, args: &[&str], stdin: &str) -> String {
    let dir = data.to_str().expect("temporary paths are UTF-8");
    let mut args = args.to_vec();
    args.extend(["--data-dir", dir]);
    let output = run_parley(&args, stdin);
    assert!(
        output.status.success(),
        "parley {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The token `parley token create` printed: its last line.
fn printed_token(printed: &str) -> String {
    printed
        .lines()
        .rev()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .expect("the token is printed")
        .to_owned()
}

/// The team's usernames: admin alice, then members. long1–long4 have 29 characters and
/// long5 30, so that `dm:alice:long1…:long4` is exactly 128 characters, the longest DM
/// id that is not hashed (tests/js/rooms.mjs builds them the same way).
fn usernames() -> Vec<String> {
    let mut names: Vec<String> = ["alice", "bob", "carol", "dave", "erin"]
        .map(str::to_owned)
        .to_vec();
    for n in 1..=5 {
        let width = if n == 5 { 30 } else { 29 };
        names.push(format!("{:x<width$}", format!("long{n}-")));
    }
    names
}

/// The team made once per test binary with the CLI: a data directory and a JSON object
/// of each user's API token. Every test copies the directory, since a server holds its
/// own exclusively.
fn team() -> &'static (tempfile::TempDir, String) {
    static TEAM: OnceLock<(tempfile::TempDir, String)> = OnceLock::new();
    TEAM.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut tokens = serde_json::Map::new();
        for name in usernames() {
            let mut args = vec!["user", "add", name.as_str(), "--password-stdin"];
            if name == "alice" {
                args.extend(["--admin", "--name", "Alice A."]);
            }
            parley(dir.path(), &args, &format!("{PASSWORD}\n"));
            let printed = parley(
                dir.path(),
                &["token", "create", name.as_str(), "--name", "ci"],
                "",
            );
            tokens.insert(name, printed_token(&printed).into());
        }
        (dir, serde_json::Value::Object(tokens).to_string())
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A server in accounts mode on a copy of the team's data, which goes with it, and the
/// tokens. No rate limit: a scenario sends many requests in a row on one socket, which
/// is not what these tests are about.
fn team_server() -> (tempfile::TempDir, ServerProcess, &'static str) {
    let (template, tokens) = team();
    let data = tempfile::tempdir().expect("temporary directory");
    copy_dir(template.path(), data.path());
    let server = start_parley(data.path(), &["--auth", "accounts", "--rate-limit", "0"]);
    (data, server, tokens.as_str())
}

fn javascript(scenario: &str) {
    javascript_over(scenario, &[]);
}

/// Runs `scenario` with `env` (PARLEY_TEST_TRANSPORT picks one transport).
fn javascript_over(scenario: &str, env: &[(&str, &str)]) {
    let (_data, server, tokens) = team_server();
    let out = run_client_with_env(
        Client::Node,
        "rooms.mjs",
        &[&server.url, scenario, tokens],
        env,
    );
    assert!(out.contains(&format!("ok {scenario}")), "{out}");
}

#[test]
fn joining_or_sending_makes_a_member_of_an_open_room_and_part_ends_it() {
    javascript("open-rooms");
}

#[test]
fn closed_rooms_tell_every_socket_of_who_is_added_or_removed() {
    javascript("closed-rooms");
}

#[test]
fn room_events_and_memberships_reach_polling_and_websocket_only_clients() {
    for transport in ["polling", "websocket"] {
        javascript_over("closed-rooms", &[("PARLEY_TEST_TRANSPORT", transport)]);
    }
}

#[test]
fn open_dm_names_reuses_and_hashes_direct_rooms_of_two_to_eight() {
    javascript("direct");
}

#[test]
fn a_non_member_is_refused_everything_and_sees_nothing() {
    javascript("non-member");
}

#[test]
fn rooms_are_ordered_by_activity_with_unread_and_mention_counts() {
    javascript("rooms");
}

#[test]
fn unread_counts_reach_past_the_messages_in_memory_and_stop_at_999() {
    javascript("counts");
}

#[test]
fn read_markers_only_move_forward_and_reach_my_other_sockets() {
    javascript("read");
}

#[test]
fn a_socket_receives_every_room_of_its_user_without_joining() {
    javascript("fanout");
}

#[test]
fn presence_waits_out_the_grace_before_going_offline() {
    javascript("presence");
}

#[test]
fn the_python_client_meets_closed_rooms_dms_and_read_markers() {
    let (_data, server, tokens) = team_server();
    let out = run_client(Client::Python, "rooms.py", &[&server.url, tokens]);
    assert!(out.contains("ok rooms"), "{out}");
}

#[test]
fn open_mode_joins_and_sends_as_before() {
    let data = tempfile::tempdir().expect("temporary directory");
    let server = start_parley(data.path(), &["--auth", "open"]);
    let out = run_client(Client::Node, "rooms.mjs", &[&server.url, "open-mode"]);
    assert!(out.contains("ok open-mode"), "{out}");
}
