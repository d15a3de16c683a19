//! The chat service end to end: the real `parley` binary on a temporary data
//! directory, driven by the official Socket.IO clients and plain HTTP.

mod support;

use std::path::Path;

use support::{Client, ServerProcess, http, run_client, run_client_with_env, start_parley};

fn start(data_dir: &Path) -> ServerProcess {
    start_parley(data_dir, &[])
}

/// Runs one scenario of tests/js/chat.mjs over each transport configuration.
fn javascript_scenario(scenario: &str) {
    let data = tempfile::tempdir().unwrap();
    let server = start(data.path());
    for transport in ["default", "websocket", "polling"] {
        let only = if transport == "default" {
            ""
        } else {
            transport
        };
        let out = run_client_with_env(
            Client::Node,
            "chat.mjs",
            &[&server.url, scenario],
            &[("PARLEY_TEST_TRANSPORT", only)],
        );
        assert!(
            out.contains(&format!("ok {scenario}")),
            "{transport}: {out}"
        );
    }
}

#[test]
fn two_clients_exchange_messages_and_a_third_room_hears_nothing() {
    javascript_scenario("exchange");
}

#[test]
fn every_validation_rule_is_enforced_and_nothing_is_stored_or_broadcast() {
    javascript_scenario("validation");
}

#[test]
fn a_retry_with_the_same_client_id_is_stored_once() {
    javascript_scenario("idempotent");
}

#[test]
fn http_posts_reach_sockets_and_get_pages_after_a_cursor() {
    javascript_scenario("http");
}

#[test]
fn typing_is_relayed_to_the_others_only() {
    javascript_scenario("typing");
}

#[test]
fn history_pages_back_and_forth() {
    javascript_scenario("history");
}

#[test]
fn python_client_chats_too() {
    let data = tempfile::tempdir().unwrap();
    let server = start(data.path());
    for scenario in ["exchange", "validation", "idempotent", "http"] {
        let out = run_client(Client::Python, "chat.py", &[&server.url, scenario]);
        assert!(out.contains(&format!("ok {scenario}")), "{out}");
    }
}

/// Sends acknowledged messages, stops the server (politely or with SIGKILL),
/// restarts it on the same data directory and checks every acknowledged message is
/// in the history exactly once, in order.
fn acknowledged_messages_survive(stop: impl Fn(ServerProcess)) {
    let data = tempfile::tempdir().unwrap();
    let acked = data.path().join("acked.json");
    let acked = acked.to_str().unwrap();
    let server = start(&data.path().join("db"));
    run_client(
        Client::Node,
        "chat.mjs",
        &[&server.url, "send-acked", "200", "restart-room", acked],
    );
    stop(server);
    let server = start(&data.path().join("db"));
    let out = run_client(
        Client::Node,
        "chat.mjs",
        &[&server.url, "verify-history", "restart-room", acked],
    );
    // The room holds the acknowledged messages and nothing else: a restart that
    // replayed something twice would store more.
    assert!(out.contains("verified 200 of 200 stored"), "{out}");
}

#[test]
fn acknowledged_messages_survive_a_graceful_restart() {
    acknowledged_messages_survive(|server| {
        let status = server.terminate();
        assert!(status.success(), "SIGTERM should exit 0, got {status}");
    });
}

#[test]
fn acknowledged_messages_survive_sigkill() {
    acknowledged_messages_survive(ServerProcess::kill);
}

#[test]
fn limits_answer_with_their_codes() {
    let data = tempfile::tempdir().unwrap();
    let server = start_parley(
        data.path(),
        &[
            "--rate-limit",
            "5",
            "--rate-burst",
            "5",
            "--max-rooms-per-socket",
            "2",
            "--max-connections",
            "3",
        ],
    );
    let out = run_client(Client::Node, "chat.mjs", &[&server.url, "limits"]);
    assert!(out.contains("ok limits"), "{out}");
    // The server counted what it refused: the third room (join and send) and at least
    // four sends of the burst.
    let metrics = http(&server.url, "GET", "/metrics", &[], b"").body;
    let errors = |code: &str| -> u64 {
        let prefix = format!("parley_errors_total{{code=\"{code}\"}} ");
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .and_then(|count| count.parse().ok())
            .unwrap_or_else(|| panic!("no {prefix} in\n{metrics}"))
    };
    assert!(errors("too_large") >= 2, "{metrics}");
    assert!(errors("rate_limited") >= 4, "{metrics}");
}
