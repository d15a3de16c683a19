//! HTTPS in the binary (README, "HTTPS"): the official clients, JS and Python, over HTTPS
//! and WSS to a `--tls-self-signed` server, with certificate checking off and with the
//! generated certificate as the trusted CA, in open mode and in accounts mode; the
//! certificate kept across restarts and shown by `parley tls fingerprint`; an own
//! certificate reloaded on SIGHUP; plain HTTP redirected and the self-signed certificate
//! offered for download at /parley.crt; and a client that keeps failing
//! the handshake logged once, not once per retry.
//!
//! The clients run `tests/js/tls.mjs` and `tests/py/tls.py`; like every client test they
//! fail loudly when the tools are missing (`scripts/test` installs them).

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use support::{
    Client, ServerProcess, http, run_client, run_parley, start_parley, start_parley_logging,
};

const PASSWORD: &str = "correct horse battery";

/// What `parley tls fingerprint ARGS` prints on stdout, asserting it succeeded.
fn fingerprint_command(args: &[&str]) -> String {
    let mut line = vec!["tls", "fingerprint"];
    line.extend_from_slice(args);
    let output = run_parley(&line, "");
    assert!(
        output.status.success(),
        "parley {line:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The self-signed certificate's file and fingerprint for a server on `data`.
fn self_signed(data: &Path) -> (PathBuf, String) {
    let dir = data.to_str().expect("UTF-8 path");
    let fingerprint = fingerprint_command(&["--data-dir", dir]);
    (data.join("tls/cert.pem"), fingerprint)
}

/// The fingerprint the server prints on stdout after its `listening on` line.
fn printed_fingerprint(server: &ServerProcess) -> String {
    let line = server.stdout_line("tls: certificate SHA-256 ", Duration::from_secs(5));
    line.trim_start_matches("tls: certificate SHA-256 ")
        .trim()
        .to_owned()
}

/// `ok SCENARIO: DETAIL` → DETAIL.
fn detail(printed: &str, scenario: &str) -> String {
    let prefix = format!("ok {scenario}: ");
    printed
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line in {printed:?}"))
        .to_owned()
}

/// The fingerprint of the certificate the server presents right now.
fn presented(url: &str) -> String {
    detail(
        &run_client(Client::Node, "tls.mjs", &[url, "presented"]),
        "presented",
    )
}

fn sha256_fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn path(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

#[test]
fn the_js_client_exchanges_messages_over_https_and_wss() {
    let data = tempfile::tempdir().expect("temp dir");
    let server = start_parley(data.path(), &["--tls-self-signed"]);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let (cert, fingerprint) = self_signed(data.path());
    assert_eq!(printed_fingerprint(&server), fingerprint);

    let out = run_client(Client::Node, "tls.mjs", &[&server.url, "insecure"]);
    assert!(out.contains("ok insecure"), "{out}");
    let out = run_client(
        Client::Node,
        "tls.mjs",
        &[&server.url, "trusted", path(&cert), &fingerprint],
    );
    assert!(out.contains("ok trusted"), "{out}");
}

#[test]
fn the_python_client_exchanges_messages_over_https_and_wss() {
    let data = tempfile::tempdir().expect("temp dir");
    let server = start_parley(data.path(), &["--tls-self-signed"]);
    let (cert, fingerprint) = self_signed(data.path());

    let out = run_client(Client::Python, "tls.py", &[&server.url, "insecure"]);
    assert!(out.contains("ok insecure"), "{out}");
    let out = run_client(
        Client::Python,
        "tls.py",
        &[&server.url, "trusted", path(&cert), &fingerprint],
    );
    assert!(out.contains("ok trusted"), "{out}");
}

#[test]
fn accounts_connect_over_wss_with_a_token_and_a_secure_session_cookie() {
    let data = tempfile::tempdir().expect("temp dir");
    let dir = path(data.path());
    let added = run_parley(
        &[
            "user",
            "add",
            "alice",
            "--admin",
            "--password-stdin",
            "--data-dir",
            dir,
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(added.status.success(), "{added:?}");
    let created = run_parley(
        &[
            "token",
            "create",
            "alice",
            "--name",
            "tls",
            "--data-dir",
            dir,
        ],
        "",
    );
    assert!(created.status.success(), "{created:?}");
    let token = String::from_utf8_lossy(&created.stdout).trim().to_owned();

    let server = start_parley(data.path(), &["--auth", "accounts", "--tls-self-signed"]);
    let (cert, _) = self_signed(data.path());
    let out = run_client(
        Client::Node,
        "tls.mjs",
        &[&server.url, "accounts", path(&cert), &token, PASSWORD],
    );
    assert!(out.contains("ok accounts"), "{out}");
    let out = run_client(
        Client::Python,
        "tls.py",
        &[&server.url, "accounts", path(&cert), &token, PASSWORD],
    );
    assert!(out.contains("ok accounts"), "{out}");
}

#[test]
fn a_client_that_keeps_failing_the_handshake_is_logged_once_not_per_retry() {
    let data = tempfile::tempdir().expect("temp dir");
    let log = data.path().join("parley.log");
    let server = start_parley_logging(&data.path().join("db"), &["--tls-self-signed"], &log);
    // The JS client with certificate checking on and only the usual CAs: every attempt
    // fails, and it retries every 100-200 ms.
    let out = run_client(Client::Node, "tls.mjs", &[&server.url, "refused", "8"]);
    assert!(out.contains("ok refused: 8 attempts failed"), "{out}");
    // The server stays useful for clients that do trust it.
    let out = run_client(Client::Node, "tls.mjs", &[&server.url, "insecure"]);
    assert!(out.contains("ok insecure"), "{out}");
    server.terminate();

    let text = std::fs::read_to_string(&log).expect("the log");
    let failures: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("TLS handshake failed"))
        .collect();
    assert_eq!(
        failures.len(),
        1,
        "8 failed attempts of one client gave these log lines:\n{}",
        failures.join("\n")
    );
    assert!(
        failures[0].contains("127.0.0.1") && failures[0].contains("certificate"),
        "{}",
        failures[0]
    );
}

#[test]
fn the_self_signed_certificate_is_kept_across_restarts() {
    let data = tempfile::tempdir().expect("temp dir");
    let first = start_parley(data.path(), &["--tls-self-signed"]);
    let fingerprint = printed_fingerprint(&first);
    assert_eq!(presented(&first.url), fingerprint);
    assert!(first.terminate().success());

    let again = start_parley(data.path(), &["--tls-self-signed"]);
    assert_eq!(printed_fingerprint(&again), fingerprint);
    assert_eq!(presented(&again.url), fingerprint);
    // While it runs, too: the command reads the certificate, not the store.
    assert_eq!(self_signed(data.path()).1, fingerprint);
}

#[test]
fn an_own_certificate_is_read_again_on_sighup() {
    let data = tempfile::tempdir().expect("temp dir");
    let cert = data.path().join("cert.pem");
    let key = data.path().join("key.pem");
    let issue = |name: &str| {
        let made = rcgen::generate_simple_self_signed(vec![name.to_owned(), "127.0.0.1".into()])
            .expect("a test certificate");
        std::fs::write(&cert, made.cert.pem()).expect("cert written");
        std::fs::write(&key, made.signing_key.serialize_pem()).expect("key written");
        sha256_fingerprint(made.cert.der())
    };
    let first = issue("first.test");
    let log = data.path().join("parley.log");
    let own = ["--tls-cert", path(&cert), "--tls-key", path(&key)];
    let server = start_parley_logging(&data.path().join("db"), &own, &log);
    assert_eq!(presented(&server.url), first);
    assert_eq!(fingerprint_command(&own), first);

    let hang_up = || {
        let pid = server.pid().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status();
        assert!(sent.expect("kill runs").success());
    };
    let wait_for_log = |text: &str, count: usize| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            if log.matches(text).count() >= count {
                return;
            }
            assert!(Instant::now() < deadline, "no {text:?} in the log:\n{log}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };

    let second = issue("second.test");
    hang_up();
    wait_for_log("TLS certificate reloaded", 1);
    assert_eq!(presented(&server.url), second);

    // A broken renewal: the certificate in use stays.
    std::fs::write(&key, "-----BEGIN PRIVATE KEY-----\nbroken\n").expect("key written");
    hang_up();
    wait_for_log("was not reloaded", 1);
    assert_eq!(presented(&server.url), second);
}

#[test]
fn plain_http_is_redirected_to_https() {
    let data = tempfile::tempdir().expect("temp dir");
    let server = start_parley(
        data.path(),
        &["--tls-self-signed", "--redirect-http", "127.0.0.1:0"],
    );
    let line = server.stdout_line("redirecting http://", Duration::from_secs(5));
    let plain = line
        .trim_start_matches("redirecting ")
        .trim_end_matches(" to https")
        .to_owned();
    let address = server.url.trim_start_matches("https://");

    let reply = http(&plain, "GET", "/chat/team?from=lan", &[], b"");
    assert_eq!(reply.status, 308, "{}", reply.body);
    assert_eq!(
        reply.header("location"),
        Some(format!("https://{address}/chat/team?from=lan").as_str())
    );
    // The self-signed certificate, for a phone to fetch before it trusts the server.
    let download = http(&plain, "GET", "/parley.crt", &[], b"");
    assert_eq!(download.status, 200);
    assert_eq!(
        download.header("content-type"),
        Some("application/x-x509-ca-cert")
    );
    let (cert, fingerprint) = self_signed(data.path());
    let pem = std::fs::read_to_string(cert).expect("the certificate");
    let base64: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, base64)
        .expect("PEM is base64");
    assert_eq!(sha256_fingerprint(&der), fingerprint);
    assert_eq!(
        download.header("content-length"),
        Some(der.len().to_string().as_str())
    );
    // Plain HTTP to the HTTPS port itself (a browser given just `host:port`).
    let reply = http(&format!("http://{address}"), "GET", "/", &[], b"");
    assert_eq!(reply.status, 308, "{}", reply.body);
    assert_eq!(
        reply.header("location"),
        Some(format!("https://{address}/").as_str())
    );
}

#[test]
fn the_fingerprint_command_says_when_there_is_no_certificate_yet() {
    let data = tempfile::tempdir().expect("temp dir");
    let output = run_parley(&["tls", "fingerprint", "--data-dir", path(data.path())], "");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--tls-self-signed"), "{stderr}");
}
