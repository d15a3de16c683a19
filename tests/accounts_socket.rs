//! Socket.IO in accounts mode with the official clients (README, "Accounts"): no
//! credentials or bad ones are refused with `connect_error` "unauthorized", an API
//! token (`auth: {token}`) and a session cookie connect over every transport, a
//! payload's sender is never trusted, and revoking a token, deactivating a user or
//! signing out disconnects the sockets that came in through it at once.

mod support;

use std::path::Path;

use support::{Client, run_client, run_parley, start_parley};

const PASSWORD: &str = "correct horse battery";

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

/// The token `parley token create` printed: its last line.
fn printed_token(printed: &str) -> String {
    printed
        .lines()
        .rev()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .expect("the token is printed")
        .to_owned()
}

/// A data directory with admin `alice` ("Alice A.") and member `bob`, and an API
/// token of each.
fn team() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().expect("temporary directory");
    parley(
        dir.path(),
        &[
            "user",
            "add",
            "alice",
            "--admin",
            "--name",
            "Alice A.",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    parley(
        dir.path(),
        &["user", "add", "bob", "--name", "Bob", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    let alice = parley(
        dir.path(),
        &["token", "create", "alice", "--name", "ci"],
        "",
    );
    let bob = parley(dir.path(), &["token", "create", "bob", "--name", "ci"], "");
    (dir, printed_token(&alice), printed_token(&bob))
}

fn javascript(scenario: &str) {
    let (dir, token, bob_token) = team();
    let server = start_parley(dir.path(), &["--auth", "accounts"]);
    let out = run_client(
        Client::Node,
        "accounts_socket.mjs",
        &[&server.url, scenario, &token, PASSWORD, &bob_token],
    );
    assert!(out.contains(&format!("ok {scenario}")), "{out}");
}

#[test]
fn only_a_token_or_a_session_cookie_connects() {
    javascript("connect");
}

#[test]
fn the_sender_is_who_signed_in_whatever_the_payload_says() {
    javascript("identity");
}

#[test]
fn revoking_a_token_deactivating_or_signing_out_disconnects_at_once() {
    javascript("revoke");
}

#[test]
fn the_python_client_authenticates_by_token_and_cookie() {
    let (dir, token, _) = team();
    let server = start_parley(dir.path(), &["--auth", "accounts"]);
    let out = run_client(
        Client::Python,
        "accounts_socket.py",
        &[&server.url, &token, PASSWORD],
    );
    assert!(out.contains("ok accounts"), "{out}");
}
