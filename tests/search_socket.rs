//! Full-text search over Socket.IO and GET /api/search with the official clients
//! (TEAM-CHAT.md, "Search"; issue 15): what a query finds and how (case, every word,
//! the last as a prefix, Cyrillic and CJK), in what order and pages, only in the rooms
//! the searcher can read, following edits and deletes; and the index itself surviving
//! a restart, catching up after `kill -9`, and rebuilt when its directory is gone or
//! damaged. Each test has its own server in accounts mode (unless it says open), on a
//! copy of one data directory holding the team (tests/js/search.mjs and
//! tests/py/search.py name it).

mod support;

use std::path::Path;
use std::time::Duration;

use support::team::{ACCOUNTS, Team, parley_in};
use support::{Client, Script, ServerProcess, run_client, start_parley};

/// Admin alice, then the members.
const TEAM: [&str; 4] = ["alice", "bob", "carol", "dave"];
/// How long the seeding script may take to say it has sent everything.
const SEEDING: Duration = Duration::from_secs(60);

/// A server in accounts mode on a copy of the team's data, which goes with it, and the
/// tokens.
fn team_server() -> (tempfile::TempDir, ServerProcess, &'static str) {
    Team::shared(&TEAM, &[]).server(&[])
}

/// Runs the JavaScript `scenario` (with its `args`) against `server`, asserts it
/// passed and returns its output.
fn scenario_on(server: &ServerProcess, tokens: &str, scenario: &str, args: &[&str]) -> String {
    let mut all = vec![server.url.as_str(), scenario, tokens];
    all.extend_from_slice(args);
    let out = run_client(Client::Node, "search.mjs", &all);
    assert!(out.contains(&format!("ok {scenario}")), "{out}");
    out
}

fn javascript(scenario: &str) {
    let (_data, server, tokens) = team_server();
    scenario_on(&server, tokens, scenario, &[]);
}

/// Seeds the messages of `mark` and waits until the search finds them all.
fn seed_indexed(server: &ServerProcess, tokens: &str, mark: &str) {
    scenario_on(server, tokens, "seed", &[mark, "indexed"]);
}

/// After a restart on `data`: every mark's messages are found as they are now.
fn restart_and_find(data: &Path, tokens: &str, marks: &[&str]) -> ServerProcess {
    let server = start_parley(data, &ACCOUNTS);
    scenario_on(&server, tokens, "find", marks);
    server
}

#[test]
fn search_is_case_insensitive_needs_every_word_and_takes_the_last_as_a_prefix() {
    javascript("words");
}

#[test]
fn cyrillic_and_cjk_written_without_spaces_are_found() {
    javascript("scripts");
}

#[test]
fn results_come_newest_first_in_pages_by_limit_and_before_and_by_room() {
    javascript("order");
}

#[test]
fn only_rooms_the_searcher_can_read_are_searched() {
    javascript("access");
}

#[test]
fn an_edited_message_is_found_by_its_new_text_and_a_deleted_one_not_at_all() {
    javascript("changes");
}

#[test]
fn get_api_search_answers_as_the_event_with_percent_encoded_unicode_and_needs_credentials() {
    javascript("http");
}

#[test]
fn get_api_search_takes_a_query_and_a_room_of_digits_as_written() {
    javascript("http-numbers");
}

#[test]
fn open_mode_searches_without_credentials() {
    let data = tempfile::tempdir().expect("temporary directory");
    let server = start_parley(data.path(), &["--auth", "open", "--rate-limit", "0"]);
    let out = run_client(Client::Node, "search.mjs", &[&server.url, "open-mode"]);
    assert!(out.contains("ok open-mode"), "{out}");
}

#[test]
fn the_index_survives_a_restart_and_catches_up_with_what_a_kill_9_left_unindexed() {
    let (data, server, tokens) = team_server();
    seed_indexed(&server, tokens, "survivor");
    // Killed as soon as the last change is acknowledged: durable in the store, but
    // most likely not yet in the index, which commits a moment later.
    let mut seed = Script::spawn(
        Client::Node,
        "search.mjs",
        &[&server.url, "seed", tokens, "crashed"],
        &[],
    );
    seed.wait_for("sent", SEEDING);
    server.kill();
    seed.finish(SEEDING);
    let again = restart_and_find(data.path(), tokens, &["survivor", "crashed"]);
    assert!(again.terminate().success(), "parley stops cleanly");
    // And once more after a clean stop.
    restart_and_find(data.path(), tokens, &["survivor", "crashed"]);
}

#[test]
fn a_removed_search_directory_is_rebuilt_at_start() {
    let (data, server, tokens) = team_server();
    seed_indexed(&server, tokens, "removed");
    assert!(server.terminate().success(), "parley stops cleanly");
    let search = data.path().join("search");
    assert!(search.is_dir(), "the index lives in {}", search.display());
    std::fs::remove_dir_all(&search).unwrap();
    restart_and_find(data.path(), tokens, &["removed"]);
    assert!(
        search.is_dir(),
        "the index is made again in {}",
        search.display()
    );
}

/// Overwrites every file under `dir` with bytes that are no index.
fn spoil(dir: &Path) -> usize {
    let mut spoiled = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            spoiled += spoil(&entry.path());
        } else {
            std::fs::write(entry.path(), b"not an index {\x00\xff").unwrap();
            spoiled += 1;
        }
    }
    spoiled
}

#[test]
fn a_damaged_search_directory_is_rebuilt_at_start() {
    let (data, server, tokens) = team_server();
    seed_indexed(&server, tokens, "damaged");
    assert!(server.terminate().success(), "parley stops cleanly");
    assert!(
        spoil(&data.path().join("search")) > 0,
        "the index has files"
    );
    restart_and_find(data.path(), tokens, &["damaged"]);
}

#[test]
fn parley_reindex_rebuilds_the_index_of_a_stopped_server() {
    let (data, server, tokens) = team_server();
    seed_indexed(&server, tokens, "reindexed");
    assert!(server.terminate().success(), "parley stops cleanly");
    let search = data.path().join("search");
    std::fs::remove_dir_all(&search).unwrap();
    parley_in(data.path(), &["reindex"], "");
    assert!(
        search.is_dir(),
        "parley reindex writes the index in {}",
        search.display()
    );
    restart_and_find(data.path(), tokens, &["reindexed"]);
}

#[test]
fn the_python_client_searches_and_is_kept_out_of_closed_rooms() {
    let (_data, server, tokens) = team_server();
    let out = run_client(Client::Python, "search.py", &[&server.url, tokens]);
    assert!(out.contains("ok search"), "{out}");
}
