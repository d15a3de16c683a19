//! Parley's pages in a real browser (README "Tests"): each test starts its own server on a
//! fresh data directory and runs one scenario of `tests/js/browser.mjs`, which drives
//! Debian Chromium through playwright-core and checks what a user would see.
//!
//! The browser is part of the test suite, not an optional extra: when it is missing
//! these tests fail and say how to install it (`scripts/test`), they never skip.
//! Screenshots land in `target/browser-artifacts/`.

mod support;

use std::time::Duration;

use support::{
    Client, Script, artifacts_dir, require_browser, restart_parley, run_client, start_parley,
};

const SCRIPT: &str = "browser.mjs";
/// The script gives up on its own after 50 s; this only catches a script that cannot.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(90);

/// Runs one self-contained scenario against its own server and asserts it passed.
fn run_scenario(scenario: &str) {
    require_browser();
    let data = tempfile::tempdir().expect("temp data dir");
    let server = start_parley(data.path(), &[]);
    let artifacts = artifacts_dir();
    let out = run_client(
        Client::Node,
        SCRIPT,
        &[
            scenario,
            &server.url,
            artifacts.to_str().expect("UTF-8 path"),
        ],
    );
    assert!(out.contains(&format!("ok {scenario}")), "{out}");
}

#[test]
fn the_page_chats_with_the_official_clients() {
    run_scenario("official-clients");
}

#[test]
fn two_users_see_each_others_messages_once() {
    run_scenario("two-users");
}

#[test]
fn page_works_over_polling_when_websocket_is_blocked() {
    run_scenario("websocket-blocked");
}

#[test]
fn page_falls_back_to_http_and_returns_without_gaps() {
    run_scenario("http-fallback");
}

#[test]
fn typing_indicator_appears_and_goes_away() {
    run_scenario("typing");
}

#[test]
fn markup_in_messages_shows_as_text() {
    run_scenario("xss");
}

#[test]
fn debug_page_logs_the_whole_conversation() {
    run_scenario("debug-page");
}

/// The server is killed (SIGKILL: no chance to flush anything late, so whatever was
/// acknowledged must already be on disk) mid-conversation and started again on the same
/// port and data directory; the pages must reconnect by themselves and show everything.
/// The script and this test take turns over stdio (see the header of browser.mjs).
#[test]
fn pages_survive_a_server_restart() {
    require_browser();
    let data = tempfile::tempdir().expect("temp data dir");
    let server = start_parley(data.path(), &[]);
    let url = server.url.clone();
    let artifacts = artifacts_dir();
    let mut script = Script::spawn(
        Client::Node,
        SCRIPT,
        &[
            "server-restart",
            &url,
            artifacts.to_str().expect("UTF-8 path"),
        ],
        &[],
    );

    script.wait_for("READY_FOR_RESTART", SCRIPT_DEADLINE);
    server.kill();
    script.say("STOPPED");
    script.wait_for("READY_FOR_START", SCRIPT_DEADLINE);
    // The same address: that is the origin the open pages reconnect to.
    let _server = restart_parley(&url, data.path(), &[]);
    script.say(&format!("STARTED {url}"));

    let out = script.finish(SCRIPT_DEADLINE);
    assert!(out.contains("ok server-restart"), "{out}");
}
