//! The team chat in a real browser (README "Rooms", "Presence"): signed in, the chat
//! page has a sidebar of rooms, direct messages and people, switches rooms without
//! reloading, counts unread messages and mentions, and shows who is online. Each test
//! starts its own server in accounts mode on a fresh data directory with three people
//! made with the command line (`parley user add`) and runs one scenario of
//! `tests/js/browser_rooms.mjs`, which drives Debian Chromium through playwright-core,
//! each person in their own browser context, and fails on any console error.
//!
//! As in `tests/browser.rs`, the browser is part of the suite: when it is missing these
//! tests fail and say how to install it (`scripts/test`), they never skip.
//! Screenshots land in `target/browser-artifacts/rooms-*.png`.

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
        "browser_rooms.mjs",
        &[
            scenario,
            &server.url,
            artifacts.to_str().expect("UTF-8 path"),
        ],
    );
    assert!(out.contains(&format!("ok {scenario}")), "{out}");
}

#[test]
fn a_direct_message_reaches_the_other_person_and_their_dot_goes_online() {
    run_scenario("direct-message");
}

#[test]
fn a_closed_room_is_listed_for_its_members_only_and_refused_to_anyone_else() {
    run_scenario("closed-room");
}

#[test]
fn unread_badges_appear_and_clear_in_both_tabs_of_one_person() {
    run_scenario("unread-two-tabs");
}

#[test]
fn on_a_phone_the_sidebar_is_a_drawer() {
    run_scenario("phone-drawer");
}

#[test]
fn each_room_catches_up_after_the_connection_comes_back() {
    run_scenario("reconnect");
}
