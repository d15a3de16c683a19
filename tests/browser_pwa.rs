//! The installable app (README, "HTTPS" and "Installing the app"): Chromium loads Parley
//! over HTTPS from a `--tls-self-signed` server, trusting exactly that certificate; the
//! service worker registers and controls the page, Chromium finds the manifest valid and
//! the app installable, and when the server stops the offline shell says "offline,
//! retrying" until it is back. The browser side is `tests/js/browser_pwa.mjs`.
//!
//! As in `tests/browser.rs`, the browser is part of the suite: when it is missing this
//! test fails and says how to install it (`scripts/test`), it never skips. Screenshots
//! land in `target/browser-artifacts/pwa-*.png`.

mod support;

use std::time::Duration;

use support::{Client, Script, artifacts_dir, http, require_browser, restart_parley, start_parley};

/// The script's own limit is 90 s; this only catches one that cannot end.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(120);

#[test]
fn the_app_installs_works_over_https_and_shows_the_offline_shell() {
    require_browser();
    let data = tempfile::tempdir().expect("temp data dir");
    let server = start_parley(data.path(), &["--tls-self-signed"]);
    let url = server.url.clone();
    let cert = data.path().join("tls/cert.pem");
    let artifacts = artifacts_dir();
    let mut script = Script::spawn(
        Client::Node,
        "browser_pwa.mjs",
        &[
            &url,
            cert.to_str().expect("UTF-8 path"),
            artifacts.to_str().expect("UTF-8 path"),
        ],
        &[],
    );
    script.wait_for("READY_TO_STOP", SCRIPT_DEADLINE);
    server.kill();
    script.say("STOPPED");
    script.wait_for("READY_TO_START", SCRIPT_DEADLINE);
    // Same address and data directory: the same certificate, which the browser trusts.
    let _server = restart_parley(&url, data.path(), &["--tls-self-signed"]);
    script.say("STARTED");
    let out = script.finish(SCRIPT_DEADLINE);
    assert!(out.contains("ok pwa"), "{out}");
}

#[test]
fn the_manifest_and_the_worker_are_served_from_the_root() {
    let data = tempfile::tempdir().expect("temp data dir");
    let server = start_parley(data.path(), &[]);
    let manifest = http(&server.url, "GET", "/manifest.webmanifest", &[], b"");
    assert_eq!(manifest.status, 200);
    assert_eq!(
        manifest.header("content-type"),
        Some("application/manifest+json")
    );
    assert!(
        manifest.body.contains("\"display\": \"standalone\""),
        "{}",
        manifest.body
    );
    let worker = http(&server.url, "GET", "/sw.js", &[], b"");
    assert_eq!(worker.status, 200);
    assert_eq!(
        worker.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    // Signed out in accounts mode too: the browser fetches both without credentials.
    let accounts = tempfile::tempdir().expect("temp data dir");
    let server = start_parley(accounts.path(), &["--auth", "accounts"]);
    for path in [
        "/manifest.webmanifest",
        "/sw.js",
        "/assets/icons/icon-192.png",
    ] {
        assert_eq!(
            http(&server.url, "GET", path, &[], b"").status,
            200,
            "{path}"
        );
    }
}
