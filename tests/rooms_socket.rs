//! Rooms, membership, direct messages, presence, read markers and unread counts over
//! Socket.IO with the official clients (TEAM-CHAT.md, "Rooms, membership, direct
//! messages" and "Presence, read markers, unread"; issue 13): every event, the `room`,
//! `read` and `presence` events reaching the right sockets, and a non-member's every
//! attempt on a closed room or a DM refused with nothing shown. Each test has its own
//! server in accounts mode, on a copy of one data directory holding the team.

mod support;

use support::team::Team;
use support::{Client, ServerProcess, run_client, run_client_with_env, start_parley};

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

/// A server in accounts mode on a copy of the team's data (made once per test binary,
/// admin alice named "Alice A."), which goes with it, and the tokens.
fn team_server() -> (tempfile::TempDir, ServerProcess, &'static str) {
    let names = usernames();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    Team::shared(&names, &["--name", "Alice A."]).server(&[])
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
