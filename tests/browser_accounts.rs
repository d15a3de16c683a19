//! The account pages in a real browser (README "Accounts"): a new team's first five
//! minutes, from the setup page of a fresh server to two people chatting under their
//! own names, signing out and back in. Each test starts its own server on a fresh data
//! directory, without `--auth`: the mode a new team gets is the default, accounts. It
//! runs `tests/js/accounts.mjs` at one screen size, which drives Debian Chromium through
//! playwright-core.
//!
//! As in `tests/browser.rs`, the browser is part of the suite: when it is missing these
//! tests fail and say how to install it (`scripts/test`), they never skip.
//! Screenshots land in `target/browser-artifacts/accounts-*.png`.

mod support;

use support::{Client, ServerProcess, artifacts_dir, parley_binary, require_browser, run_client};

/// The whole story at one screen size, against a server nobody has set up yet.
fn first_five_minutes(size: &str) {
    require_browser();
    let data = tempfile::tempdir().expect("temp data dir");
    let dir = data.path().to_str().expect("UTF-8 path");
    // Not start_parley, which picks `--auth open` for the tests written before accounts.
    let server = ServerProcess::start(
        &parley_binary(),
        &["--listen", "127.0.0.1:0", "--data-dir", dir],
    );
    let artifacts = artifacts_dir();
    let out = run_client(
        Client::Node,
        "accounts.mjs",
        &[size, &server.url, artifacts.to_str().expect("UTF-8 path")],
    );
    assert!(out.contains(&format!("ok {size}")), "{out}");
}

#[test]
fn a_new_team_sets_up_invites_and_chats_on_a_desktop() {
    first_five_minutes("desktop");
}

#[test]
fn a_new_team_sets_up_invites_and_chats_on_a_phone() {
    first_five_minutes("phone");
}
