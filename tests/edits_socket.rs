//! Edits, deletes, reactions, replies, mentions, notification levels and the catch-up
//! with `since`, over Socket.IO with the official clients (TEAM-CHAT.md, "Edits,
//! deletes, reactions, replies" and "Mentions and notifications"; issue 14): each event
//! and what the room hears of it, every refusal, and a client back from offline getting
//! exactly what changed. Each test has its own server in accounts mode, on a copy of one
//! data directory holding the team (tests/js/edits.mjs and tests/py/edits.py name it).

mod support;

use support::team::{ACCOUNTS, Team};
use support::{Client, ServerProcess, run_client, start_parley};

/// Admin alice, then the members.
const TEAM: [&str; 4] = ["alice", "bob", "carol", "dave"];

/// A server in accounts mode on a copy of the team's data, which goes with it, and the
/// tokens.
fn team_server() -> (tempfile::TempDir, ServerProcess, &'static str) {
    Team::shared(&TEAM, &[]).server(&[])
}

/// Runs the JavaScript `scenario` against `server` and asserts it passed.
fn scenario_on(server: &ServerProcess, tokens: &str, scenario: &str) {
    let out = run_client(Client::Node, "edits.mjs", &[&server.url, scenario, tokens]);
    assert!(out.contains(&format!("ok {scenario}")), "{out}");
}

fn javascript(scenario: &str) {
    let (_data, server, tokens) = team_server();
    scenario_on(&server, tokens, scenario);
}

#[test]
fn every_message_carries_rev_and_only_its_author_edits_it() {
    javascript("edit");
}

#[test]
fn authors_and_admins_delete_leaving_a_tombstone_without_the_text() {
    javascript("delete");
}

#[test]
fn reactions_go_on_and_off_with_a_fresh_rev_for_each_real_change() {
    javascript("react");
}

#[test]
fn a_reply_keeps_reply_to_a_message_of_the_same_room() {
    javascript("reply");
}

#[test]
fn mentions_name_those_who_can_read_the_room_and_the_counts_follow_edits() {
    javascript("mentions");
}

#[test]
fn notification_levels_default_by_kind_change_per_user_and_survive_a_restart() {
    let (data, server, tokens) = team_server();
    scenario_on(&server, tokens, "notify");
    assert!(server.terminate().success(), "parley stops cleanly");
    let again = start_parley(data.path(), &ACCOUNTS);
    scenario_on(&again, tokens, "notify-after");
}

#[test]
fn a_client_back_from_offline_gets_exactly_what_changed_since_its_last_rev() {
    javascript("catch-up");
}

#[test]
fn the_python_client_edits_catches_up_and_is_refused() {
    let (_data, server, tokens) = team_server();
    let out = run_client(Client::Python, "edits.py", &[&server.url, tokens]);
    assert!(out.contains("ok edits"), "{out}");
}

#[test]
fn open_mode_messages_carry_rev_and_changes_need_accounts() {
    let data = tempfile::tempdir().expect("temporary directory");
    let server = start_parley(data.path(), &["--auth", "open"]);
    let out = run_client(Client::Node, "edits.mjs", &[&server.url, "open-mode"]);
    assert!(out.contains("ok open-mode"), "{out}");
}

#[test]
fn changes_to_messages_past_the_newest_1024_reach_counts_pages_and_catch_up() {
    javascript("deep");
}

#[test]
fn the_catch_up_is_the_room_at_one_moment_while_others_write() {
    javascript("race");
}
