//! Reliability (README "Tests"): nothing acknowledged is lost or doubled when the
//! server is SIGKILLed under load and restarted, a client that was cut off catches up
//! from its last id, and a consumer that stops reading is disconnected instead of
//! growing the server's memory.
//!
//! The clients are the official `socket.io-client` (tests/js/crash.mjs and
//! tests/js/reconnect.mjs) and a raw WebSocket (the `ws` package that
//! `engine.io-client` depends on).

mod support;

use std::time::{Duration, Instant};

use support::{Client, Script, restart_parley, run_client, start_parley};

fn figures(stdout: &str) -> &str {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("figures "))
        .unwrap_or_else(|| panic!("no figures in:\n{stdout}"))
}

/// A number of crash.mjs's figures (JSON).
fn figure(figures: &serde_json::Value, name: &str) -> u64 {
    figures[name]
        .as_u64()
        .unwrap_or_else(|| panic!("no {name} in {figures}"))
}

/// SIGKILL at a random moment under a load of acknowledged sends (4 sockets, 3 rooms),
/// restart on the same data dir and port, four times in a row. After every restart the
/// client checks that every acknowledged message is stored exactly once, in id order,
/// intact, and retries what was not acknowledged with the same client_id; a retry of
/// a message that was in fact stored must return that message.
#[test]
fn sigkill_under_load_loses_and_doubles_nothing() {
    const ROUNDS: u32 = 4;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("db");
    let journal = dir.path().join("journal.json");
    let journal = journal.to_str().unwrap();
    // A load test: no rate limit (README, "Limits"), as for every benchmark.
    let warn = ["--log-level", "warn", "--rate-limit", "0"];
    let started = Instant::now();
    let first = start_parley(&data, &warn);
    let url = first.url.clone();
    let mut first = Some(first);
    let mut rows = Vec::new();
    let mut acked_under_load = 0;
    for round in 1..=ROUNDS {
        let server = first
            .take()
            .unwrap_or_else(|| restart_parley(&url, &data, &warn));
        let mut client = Script::spawn(
            Client::Node,
            "crash.mjs",
            &[&url, "load", journal, &round.to_string()],
            &[],
        );
        client.wait_for("loading", Duration::from_secs(20));
        let delay = Duration::from_millis(200 + rand::random::<u64>() % 1300);
        std::thread::sleep(delay);
        server.kill();
        let out = client.finish(Duration::from_secs(20));
        let figures = figures(&out);
        let load: serde_json::Value = serde_json::from_str(figures).unwrap();
        acked_under_load += figure(&load, "acked");
        rows.push(format!(
            "crash round {round}: killed {} ms into the load; {figures}",
            delay.as_millis(),
        ));
    }
    let server = restart_parley(&url, &data, &warn);
    let out = Script::spawn(
        Client::Node,
        "crash.mjs",
        &[&url, "final", journal, &(ROUNDS + 1).to_string()],
        &[],
    )
    .finish(Duration::from_secs(20));
    let figures = figures(&out);
    rows.push(format!("after the last restart: {figures}"));
    server.kill();
    for row in &rows {
        println!("{row}");
    }
    println!("crash test took {:.1} s", started.elapsed().as_secs_f64());

    // The kills came while sends were being acknowledged, and in the end the rooms
    // hold exactly the acknowledged messages: every one found, none twice, no other
    // (a message stored but never acknowledged has been acknowledged by its retry).
    assert!(
        acked_under_load > 0,
        "no send was acknowledged before a kill"
    );
    let last: serde_json::Value = serde_json::from_str(figures).unwrap();
    let acked = figure(&last, "final_acked");
    assert!(acked >= acked_under_load, "{figures}");
    assert_eq!(figure(&last, "final_found"), acked, "{figures}");
    assert_eq!(figure(&last, "final_stored"), acked, "{figures}");
    assert_eq!(figure(&last, "final_duplicated"), 0, "{figures}");
}

/// Runs one scenario of tests/js/reconnect.mjs against a fresh server.
fn reconnect_scenario(scenario: &str, extra: &[&str]) -> String {
    let data = tempfile::tempdir().unwrap();
    let server = start_parley(data.path(), &["--log-level", "warn", "--rate-limit", "0"]);
    let mut args = vec![server.url.as_str(), scenario];
    args.extend_from_slice(extra);
    let out = run_client(Client::Node, "reconnect.mjs", &args);
    assert!(out.contains(&format!("ok {scenario}")), "{out}");
    let status = server.terminate();
    assert!(status.success(), "parley did not stop cleanly: {status}");
    out
}

/// The whitespace-separated word just before `marker` in `line`.
fn word_before<'a>(line: &'a str, marker: &str) -> &'a str {
    line.split(marker)
        .next()
        .filter(|before| before.len() < line.len())
        .and_then(|before| before.split_whitespace().last())
        .unwrap_or_else(|| panic!("no {marker:?} in {line:?}"))
}

/// A client cut off (its transport closed, or its TCP connection destroyed) while 50
/// messages are sent catches up with `history` after its last id: every message
/// exactly once, in order, over each transport configuration.
#[test]
fn a_client_cut_off_catches_up_from_its_last_id() {
    let out = reconnect_scenario("catch-up", &[]);
    let reports: Vec<&str> = out
        .lines()
        .filter(|line| line.starts_with("figures catch-up"))
        .collect();
    // WebSocket and polling with the engine closed; WebSocket and upgraded with the
    // TCP connection destroyed.
    assert_eq!(reports.len(), 4, "one report per configuration:\n{out}");
    for report in reports {
        println!("{report}");
        let missed: u64 = word_before(report, " missed while away").parse().unwrap();
        assert!(missed > 0, "the client missed nothing: {report}");
        let (shown, sent) = word_before(report, " in the view")
            .split_once('/')
            .unwrap_or_else(|| panic!("no shown/sent in {report}"));
        assert_eq!(shown, sent, "{report}");
        assert!(report.ends_with(", 0 duplicates"), "{report}");
    }
}

/// A raw WebSocket consumer that stops reading while the room is flooded is
/// disconnected once its bounded queue overflows (not silently skipped: what it got
/// is a gap-free prefix), the server's memory stays bounded, and a fresh client
/// catches up from history.
#[test]
fn a_slow_consumer_is_disconnected_and_catches_up() {
    let data = tempfile::tempdir().unwrap();
    // Heartbeats far apart, so that only the queue bound can drop the consumer.
    // The room is flooded over HTTP to overflow the consumer: no rate limit.
    let flags = [
        "--log-level",
        "warn",
        "--rate-limit",
        "0",
        "--ping-interval",
        "60000",
        "--ping-timeout",
        "60000",
    ];
    let mut server = start_parley(data.path(), &flags);
    let pid = server.pid().to_string();
    let out = Script::spawn(
        Client::Node,
        "reconnect.mjs",
        &[&server.url, "slow-consumer", &pid],
        &[],
    )
    .finish(Duration::from_secs(120));
    server.assert_running();
    println!("{}", figures(&out));
}
