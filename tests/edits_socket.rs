//! Edits, deletes, reactions, replies, mentions, notification levels and the catch-up
//! with `since`, over Socket.IO with the official clients (TEAM-CHAT.md, "Edits,
//! deletes, reactions, replies" and "Mentions and notifications"; issue 14): each event
//! and what the room hears of it, every refusal, and a client back from offline getting
//! exactly what changed. Each test has its own server in accounts mode, on a copy of one
//! data directory holding the team (tests/js/edits.mjs and tests/py/edits.py name it).

mod support;

use std::path::Path;
use std::sync::OnceLock;

use support::{Client, ServerProcess, run_client, run_parley, start_parley};

const PASSWORD: &str = "correct horse battery";
/// Admin alice, then the members.
const TEAM: [&str; 4] = ["alice", "bob", "carol", "dave"];
/// The flags of every accounts-mode server here. No rate limit: a scenario sends many
/// requests in a row on one socket, which is not what these tests are about.
const ACCOUNTS: [&str; 4] = ["--auth", "accounts", "--rate-limit", "0"];

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

/// The team made once per test binary with the CLI: a data directory and a JSON object
/// of each user's API token (the last line `parley token create` prints). Every test
/// copies the directory, since a server holds its own exclusively.
fn team() -> &'static (tempfile::TempDir, String) {
    static MADE: OnceLock<(tempfile::TempDir, String)> = OnceLock::new();
    MADE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut tokens = serde_json::Map::new();
        for name in TEAM {
            let mut args = vec!["user", "add", name, "--password-stdin"];
            if name == "alice" {
                args.push("--admin");
            }
            parley(dir.path(), &args, &format!("{PASSWORD}\n"));
            let printed = parley(dir.path(), &["token", "create", name, "--name", "ci"], "");
            let token = printed
                .lines()
                .map(str::trim)
                .rfind(|line| !line.is_empty())
                .expect("the token is printed");
            tokens.insert(name.to_owned(), token.into());
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
/// tokens.
fn team_server() -> (tempfile::TempDir, ServerProcess, &'static str) {
    let (template, tokens) = team();
    let data = tempfile::tempdir().expect("temporary directory");
    copy_dir(template.path(), data.path());
    let server = start_parley(data.path(), &ACCOUNTS);
    (data, server, tokens.as_str())
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
