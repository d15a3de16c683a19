//! Socket.IO in accounts mode with the official clients (README, "Accounts"): no
//! credentials or bad ones are refused with `connect_error` "unauthorized", an API
//! token (`auth: {token}`) and a session cookie connect over every transport, a
//! payload's sender is never trusted, and revoking a token or signing out disconnects
//! the sockets that came in through it at once.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use support::{Client, parley_binary, run_client, start_parley};

const PASSWORD: &str = "correct horse battery";

/// Runs `parley ARGS --data-dir DIR` with `stdin`, asserts success, returns stdout.
fn parley(data: &Path, args: &[&str], stdin: &str) -> String {
    let mut child = Command::new(parley_binary())
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("parley runs");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin written");
    let output = child.wait_with_output().expect("parley finished");
    assert!(
        output.status.success(),
        "parley {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A data directory with admin `alice` ("Alice A.") and an API token of hers.
fn team() -> (tempfile::TempDir, String) {
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
    let printed = parley(
        dir.path(),
        &["token", "create", "alice", "--name", "ci"],
        "",
    );
    let token = printed
        .lines()
        .rev()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .expect("the token is printed")
        .to_owned();
    (dir, token)
}

fn javascript(scenario: &str) {
    let (dir, token) = team();
    let server = start_parley(dir.path(), &["--auth", "accounts"]);
    let out = run_client(
        Client::Node,
        "accounts_socket.mjs",
        &[&server.url, scenario, &token, PASSWORD],
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
fn revoking_a_token_or_signing_out_disconnects_its_sockets() {
    javascript("revoke");
}

#[test]
fn the_python_client_authenticates_by_token_and_cookie() {
    let (dir, token) = team();
    let server = start_parley(dir.path(), &["--auth", "accounts"]);
    let out = run_client(
        Client::Python,
        "accounts_socket.py",
        &[&server.url, &token, PASSWORD],
    );
    assert!(out.contains("ok accounts"), "{out}");
}
