//! Edits, deletes, reactions, replies, mentions and notifications in a real browser
//! (README "Edits, deletes, reactions, replies" and "Mentions and notifications"): what
//! one person changes shows up live on another's page, a reply quotes what it answers,
//! `@` suggests the room's people and a mention stands out, a mention in a background tab
//! or another room makes a desktop notification that opens the room when clicked, and a
//! page whose connection dropped catches up on every change. Each test starts its own
//! server in accounts mode on a fresh data directory with three people made with the
//! command line (`parley user add`) and runs one scenario of `tests/js/browser_edits.mjs`,
//! which drives Debian Chromium through playwright-core, each person in their own
//! browser context (with the notification permission granted where the scenario needs
//! it), and fails on any console error.
//!
//! As in `tests/browser.rs`, the browser is part of the suite: when it is missing these
//! tests fail and say how to install it (`scripts/test`), they never skip.
//! Screenshots land in `target/browser-artifacts/edits-*.png`.

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
        "browser_edits.mjs",
        &[
            scenario,
            &server.url,
            artifacts.to_str().expect("UTF-8 path"),
        ],
    );
    assert!(out.contains(&format!("ok {scenario}")), "{out}");
}

#[test]
fn edits_reactions_and_deletions_show_up_live_on_the_other_page() {
    run_scenario("live-changes");
}

#[test]
fn a_reply_quotes_its_original_and_a_mention_is_suggested_and_highlighted() {
    run_scenario("reply-mention");
}

#[test]
fn a_mention_in_the_background_makes_a_notification_that_opens_the_room() {
    run_scenario("notifications");
}

#[test]
fn a_page_whose_connection_dropped_catches_up_on_every_change() {
    run_scenario("catch-up");
}
