//! Sharing files from the chat page in a real browser (README "Files"): an image chosen
//! with the attach button, a document dropped onto the conversation and an image pasted
//! into the message box each become a message that the other person's page shows live
//! (an inline preview from the thumbnail, or a chip whose download link gives back the
//! exact bytes), and the same after a reload from history; in open mode a file over
//! `--max-upload` says how large a file may be. Each test starts its own server on a
//! fresh data directory and runs one scenario of `tests/js/browser_files.mjs`, which
//! drives Debian Chromium through playwright-core, each person in their own browser
//! context (one light, one dark), and fails on any console error.
//!
//! As in `tests/browser.rs`, the browser is part of the suite: when it is missing these
//! tests fail and say how to install it (`scripts/test`), they never skip.
//! Screenshots land in `target/browser-artifacts/files-*.png`.

mod support;

use std::path::Path;

use support::{Client, artifacts_dir, require_browser, run_client, run_parley, start_parley};

/// Everyone's password; the script signs in with it.
const PASSWORD: &str = "correct horse battery";

/// The upload limit of the open-mode server: 1 MiB, so a 1.5 MiB file is refused.
const SMALL_LIMIT: &str = "1048576";

/// Adds one person to the (stopped) server's data directory, as an operator would.
fn add_user(data: &Path, username: &str, name: &str) {
    let dir = data.to_str().expect("temporary paths are UTF-8");
    let args = [
        "user",
        "add",
        username,
        "--name",
        name,
        "--password-stdin",
        "--data-dir",
        dir,
    ];
    let output = run_parley(&args, &format!("{PASSWORD}\n"));
    assert!(
        output.status.success(),
        "parley {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `scenario` against a fresh server started with `server_args`; `accounts` adds
/// alice and bob first.
fn run_scenario(scenario: &str, server_args: &[&str], accounts: bool) {
    require_browser();
    let data = tempfile::tempdir().expect("temp data dir");
    if accounts {
        add_user(data.path(), "alice", "Alice Martin");
        add_user(data.path(), "bob", "Bob Lee");
    }
    let server = start_parley(data.path(), server_args);
    let artifacts = artifacts_dir();
    let out = run_client(
        Client::Node,
        "browser_files.mjs",
        &[
            scenario,
            &server.url,
            artifacts.to_str().expect("UTF-8 path"),
        ],
    );
    assert!(out.contains(&format!("ok {scenario}")), "{out}");
}

#[test]
fn attached_dropped_and_pasted_files_show_up_on_the_other_page() {
    run_scenario("share", &["--auth", "accounts"], true);
}

#[test]
fn open_mode_uploads_and_a_file_over_the_limit_says_how_large_a_file_may_be() {
    run_scenario("open-limit", &["--max-upload", SMALL_LIMIT], false);
}
