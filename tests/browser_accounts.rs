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

use std::path::{Path, PathBuf};

use support::{Client, ServerProcess, parley_binary, repo, run_client};

const CHROMIUM: &str = "/usr/bin/chromium";

/// Fails loudly, with the fix, when the browser or the JS driver is not installed.
fn require_browser() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: the browser tests need Debian's chromium; run scripts/test, which installs it"
    );
    let driver = repo().join("tests/js/node_modules/playwright-core");
    assert!(
        driver.exists(),
        "{} is missing: run scripts/test, which installs the JS test tools (npm ci)",
        driver.display()
    );
}

fn artifacts_dir() -> PathBuf {
    let dir = repo().join("target/browser-artifacts");
    std::fs::create_dir_all(&dir).expect("create target/browser-artifacts");
    dir
}

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
