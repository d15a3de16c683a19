//! Search in a real browser (README "Search"): the box in the sidebar finds messages as
//! one types, the results show room, author, time and the matched words marked (text,
//! never markup), and choosing one opens its room at the message with the history around
//! it, even when it is older than what the room opened with. Each test starts its own
//! server in accounts mode on a fresh data directory with three people made with the
//! command line (`parley user add`) and runs one scenario of
//! `tests/js/browser_search.mjs`, which drives Debian Chromium through playwright-core,
//! each person in their own browser context, and fails on any console error.
//!
//! As in `tests/browser.rs`, the browser is part of the suite: when it is missing these
//! tests fail and say how to install it (`scripts/test`), they never skip.
//! Screenshots land in `target/browser-artifacts/search-*.png`.

mod support;

use std::path::Path;

use support::{Client, artifacts_dir, require_browser, run_client, run_parley, start_parley};

/// Everyone's password; the script signs in with it.
const PASSWORD: &str = "correct horse battery";

/// The team: username, display name, and whether they are an admin.
const PEOPLE: [(&str, &str, bool); 3] = [
    ("alice", "Alice Martin", true),
    ("bob", "Bob Lee", false),
    ("carol", "Carol Diaz", false),
];

/// Adds one person to the (stopped) server's data directory, as an operator would.
fn add_user(data: &Path, username: &str, name: &str, admin: bool) {
    let dir = data.to_str().expect("temporary paths are UTF-8");
    let mut args = vec!["user", "add", username, "--name", name, "--password-stdin"];
    if admin {
        args.push("--admin");
    }
    args.extend(["--data-dir", dir]);
    let output = run_parley(&args, &format!("{PASSWORD}\n"));
    assert!(
        output.status.success(),
        "parley {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `scenario` against a fresh server whose team is PEOPLE.
fn run_scenario(scenario: &str) {
    require_browser();
    let data = tempfile::tempdir().expect("temp data dir");
    for (username, name, admin) in PEOPLE {
        add_user(data.path(), username, name, admin);
    }
    let server = start_parley(data.path(), &["--auth", "accounts"]);
    let artifacts = artifacts_dir();
    let out = run_client(
        Client::Node,
        "browser_search.mjs",
        &[
            scenario,
            &server.url,
            artifacts.to_str().expect("UTF-8 path"),
        ],
    );
    assert!(out.contains(&format!("ok {scenario}")), "{out}");
}

#[test]
fn a_search_finds_messages_as_one_types_and_a_result_opens_its_room_at_the_message() {
    run_scenario("search-jump");
}

#[test]
fn on_a_phone_the_results_cover_the_conversation_and_make_way_for_the_message() {
    run_scenario("search-phone");
}
