//! The `parley` command and its HTTP surface as a user meets them: flags and config
//! errors, a data directory in use, export/import, health, metrics, pages and their
//! headers, cross-origin rules and the protocol's error answers.

mod support;

use std::process::Command;

use support::{http, parley_binary, start_parley};

fn parley(args: &[&str]) -> std::process::Output {
    Command::new(parley_binary())
        .args(args)
        .output()
        .expect("parley runs")
}

#[test]
fn version_and_usage_errors() {
    let version = parley(&["--version"]);
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("parley "));

    for args in [
        vec!["--listen", "not-an-address"],
        vec!["--ping-interval", "soon"],
        vec!["--max-payload", "0"],
        vec!["--bogus-flag"],
    ] {
        let output = parley(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{args:?}: one line, got {stderr}"
        );
    }
}

#[test]
fn config_file_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("parley.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:0\"\nping_intervall = 5\n").unwrap();
    let output = parley(&["--config", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr.contains("ping_intervall") && stderr.contains("line 2"),
        "{stderr}"
    );

    let output = Command::new(parley_binary())
        .env("PARLEY_MAX_TEXT_CHARS", "lots")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("max-text-chars"));
}

#[test]
fn a_data_directory_in_use_fails_fast_with_a_clear_message() {
    let data = tempfile::tempdir().unwrap();
    let _running = start_parley(data.path(), &[]);
    let started = std::time::Instant::now();
    let output = parley(&[
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data.path().to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("in use by another parley"), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn export_then_import_restores_every_message_once() {
    let data = tempfile::tempdir().unwrap();
    let source = data.path().join("source");
    let server = start_parley(&source, &[]);
    for (index, room) in ["alpha", "alpha", "beta"].iter().enumerate() {
        let body = format!("{{\"sender\":\"ann\",\"text\":\"message {index}\"}}");
        let reply = http(
            &server.url,
            "POST",
            &format!("/api/rooms/{room}/messages"),
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    assert!(server.terminate().success());

    let export = parley(&["export", "--data-dir", source.to_str().unwrap()]);
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let lines = String::from_utf8(export.stdout).unwrap();
    assert_eq!(lines.lines().count(), 3, "{lines}");
    let only_beta = parley(&[
        "export",
        "--room",
        "beta",
        "--data-dir",
        source.to_str().unwrap(),
    ]);
    assert_eq!(
        String::from_utf8_lossy(&only_beta.stdout).lines().count(),
        1
    );

    let target = data.path().join("target");
    for expected in [
        "imported 3 messages, skipped 0",
        "imported 0 messages, skipped 3",
    ] {
        let mut child = Command::new(parley_binary())
            .args(["import", "--data-dir", target.to_str().unwrap()])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(lines.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success());
        assert!(String::from_utf8_lossy(&output.stderr).contains(expected));
    }
    let server = start_parley(&target, &[]);
    let alpha = http(&server.url, "GET", "/api/rooms/alpha/messages", &[], b"");
    assert_eq!(alpha.status, 200);
    assert!(
        alpha.body.contains("message 0") && alpha.body.contains("message 1"),
        "{}",
        alpha.body
    );
}

#[test]
fn health_metrics_and_pages() {
    let data = tempfile::tempdir().unwrap();
    let server = start_parley(data.path(), &[]);
    assert_eq!(http(&server.url, "GET", "/healthz", &[], b"").status, 200);

    http(
        &server.url,
        "POST",
        "/api/rooms/m/messages",
        &[],
        br#"{"sender":"a","text":"hi"}"#,
    );
    http(
        &server.url,
        "POST",
        "/api/rooms/m/messages",
        &[],
        br#"{"sender":"a"}"#,
    );
    let metrics = http(&server.url, "GET", "/metrics", &[], b"");
    assert_eq!(metrics.status, 200);
    for line in [
        "parley_messages_stored 1",
        "parley_errors_total{code=\"invalid\"} 1",
        "parley_connections{transport=\"websocket\"} 0",
        "parley_store_flush_seconds_count",
        "parley_deliveries_total 0",
    ] {
        assert!(
            metrics.body.contains(line),
            "missing {line} in\n{}",
            metrics.body
        );
    }

    for path in ["/", "/chat/team", "/test-chat-debug"] {
        let page = http(&server.url, "GET", path, &[], b"");
        assert_eq!(page.status, 200, "{path}");
        assert_eq!(
            page.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        let csp = page.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
        assert!(page.header("referrer-policy").is_some());
    }
    let script = http(&server.url, "GET", "/assets/js/parley-io.js", &[], b"");
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    let etag = script
        .header("etag")
        .expect("assets carry an ETag")
        .to_owned();
    let again = http(
        &server.url,
        "GET",
        "/assets/js/parley-io.js",
        &[("If-None-Match", &etag)],
        b"",
    );
    assert_eq!(again.status, 304);
    for path in [
        "/assets/../Cargo.toml",
        "/assets/%2e%2e/Cargo.toml",
        "/nothing-here",
    ] {
        assert_eq!(
            http(&server.url, "GET", path, &[], b"").status,
            404,
            "{path}"
        );
    }
}

#[test]
fn http_api_errors_are_clear() {
    let data = tempfile::tempdir().unwrap();
    let server = start_parley(
        data.path(),
        &["--max-payload", "2000", "--max-text-chars", "1000"],
    );
    let post = |room: &str, body: &[u8]| {
        http(
            &server.url,
            "POST",
            &format!("/api/rooms/{room}/messages"),
            &[],
            body,
        )
    };
    let bad_json = post("r", b"{nope");
    assert_eq!(bad_json.status, 400);
    assert!(
        bad_json.body.contains("\"code\":\"invalid\""),
        "{}",
        bad_json.body
    );
    let bad_room = post("bad%20room", br#"{"sender":"a","text":"b"}"#);
    assert_eq!(bad_room.status, 400);
    let too_long = post(
        "r",
        format!("{{\"sender\":\"a\",\"text\":\"{}\"}}", "x".repeat(1500)).as_bytes(),
    );
    assert_eq!(too_long.status, 413);
    assert!(too_long.body.contains("too_large"), "{}", too_long.body);
    let too_big = post("r", &vec![b' '; 5000]);
    assert_eq!(too_big.status, 413);
    assert!(too_big.body.contains("too_large"));
    let listing = http(&server.url, "GET", "/api/rooms/r/messages", &[], b"");
    assert_eq!(listing.body, "{\"messages\":[]}");
}

#[test]
fn engine_io_errors_and_cross_origin_rules() {
    let data = tempfile::tempdir().unwrap();
    let server = start_parley(data.path(), &["--cors-origin", "http://allowed.example"]);
    let get = |path: &str, headers: &[(&str, &str)]| http(&server.url, "GET", path, headers, b"");

    let cases = [
        ("/socket.io/?EIO=3&transport=polling", 5),
        ("/socket.io/?EIO=4&transport=carrier-pigeon", 0),
        ("/socket.io/?EIO=4&transport=polling&sid=unknown", 1),
    ];
    for (path, code) in cases {
        let reply = get(path, &[]);
        assert_eq!(reply.status, 400, "{path}");
        assert!(
            reply.body.contains(&format!("\"code\":{code}")),
            "{path}: {}",
            reply.body
        );
    }
    let post_handshake = http(
        &server.url,
        "POST",
        "/socket.io/?EIO=4&transport=polling",
        &[],
        b"",
    );
    assert!(
        post_handshake.body.contains("\"code\":2"),
        "{}",
        post_handshake.body
    );

    let allowed = get(
        "/socket.io/?EIO=4&transport=polling",
        &[("Origin", "http://allowed.example")],
    );
    assert_eq!(allowed.status, 200);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("http://allowed.example")
    );
    assert_eq!(
        allowed.header("access-control-allow-credentials"),
        Some("true")
    );

    let preflight = http(
        &server.url,
        "OPTIONS",
        "/api/rooms/r/messages",
        &[
            ("Origin", "http://allowed.example"),
            ("Access-Control-Request-Method", "POST"),
        ],
        b"",
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("http://allowed.example")
    );

    let foreign = get(
        "/socket.io/?EIO=4&transport=polling",
        &[("Origin", "http://evil.example")],
    );
    assert_eq!(foreign.status, 403);
    let foreign_websocket = get(
        "/socket.io/?EIO=4&transport=websocket",
        &[
            ("Origin", "http://evil.example"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "13"),
        ],
    );
    assert_eq!(foreign_websocket.status, 403);
}

/// A long-polling client that closes its session while no GET is waiting (its GET and
/// its POST can cross) still gets the clean ending: the next GET answers the noop, and
/// only the one after that finds the session gone.
#[test]
fn a_polling_session_closed_by_its_client_ends_with_a_noop_then_is_gone() {
    let data = tempfile::tempdir().unwrap();
    let server = start_parley(data.path(), &[]);
    let handshake = http(
        &server.url,
        "GET",
        "/socket.io/?EIO=4&transport=polling",
        &[],
        b"",
    );
    assert_eq!(handshake.status, 200);
    let sid = handshake
        .body
        .split("\"sid\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no sid in {}", handshake.body))
        .to_owned();
    let path = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");

    let closed = http(&server.url, "POST", &path, &[], b"1");
    assert_eq!(closed.status, 200, "{}", closed.body);
    let after_post = http(&server.url, "POST", &path, &[], b"4hello");
    assert_eq!(
        after_post.status, 400,
        "nothing is delivered after the close"
    );
    let last_poll = http(&server.url, "GET", &path, &[], b"");
    assert_eq!(
        (last_poll.status, last_poll.body.as_str()),
        (200, "6"),
        "the poll after the close ends it cleanly"
    );
    let gone = http(&server.url, "GET", &path, &[], b"");
    assert_eq!(gone.status, 400);
    assert!(gone.body.contains("\"code\":1"), "{}", gone.body);
}

#[test]
fn an_unusable_data_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = dir.path().join("plain-file");
    std::fs::write(&not_a_dir, b"not a directory").unwrap();
    let output = parley(&[
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        not_a_dir.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot use data directory"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn message_text_never_reaches_the_log_at_info_level() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let mut child = Command::new(parley_binary())
        .args([
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            dir,
            "--log-level",
            "info",
            "--auth",
            "open",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    let url = line.trim().trim_start_matches("listening on ").to_owned();
    let secret = "the-launch-code-is-0000";
    let body = format!("{{\"sender\":\"ann\",\"text\":\"{secret}\"}}");
    assert_eq!(
        http(
            &url,
            "POST",
            "/api/rooms/ops/messages",
            &[],
            body.as_bytes()
        )
        .status,
        201
    );
    let bad = format!("{{\"sender\":\"\",\"text\":\"{secret}\"}}");
    assert_eq!(
        http(&url, "POST", "/api/rooms/ops/messages", &[], bad.as_bytes()).status,
        400
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let output = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        log.contains("parley is ready"),
        "the log should be written: {log}"
    );
    assert!(
        !log.contains(secret),
        "message text leaked into the log:\n{log}"
    );
}
