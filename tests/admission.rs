//! Fair admission: one client flooding with the official `socket.io-client` is held
//! back with `rate_limited`, while another client chatting meanwhile is never refused,
//! gets its acks within 250 ms at p99 and finds every message stored once (README,
//! "Limits"). Run once with the default limits and once without a rate limit, where
//! the cap on sends waiting for their commit alone must keep the bystander served.

mod support;

use std::sync::Mutex;

use support::{Client, http, run_client, start_parley};

/// Floods a server started with `flags` while a bystander chats, expecting the
/// bystander's acks within `p99_limit_ms` at p99; returns `/metrics` afterwards.
fn flood_then_metrics(flags: &[&str], p99_limit_ms: &str) -> String {
    // One flood at a time: two at once would measure the machine, not the server.
    static ONE_FLOOD: Mutex<()> = Mutex::new(());
    let _alone = ONE_FLOOD
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = start_parley(dir.path(), flags);
    let url = server.url.clone();
    let limit = p99_limit_ms.to_owned();
    let bystander = std::thread::spawn(move || {
        run_client(Client::Node, "flood.mjs", &[&url, "bystander", &limit])
    });
    let flood = run_client(Client::Node, "flood.mjs", &[&server.url, "flood"]);
    let chat = bystander.join().expect("the bystander's client ran");
    assert!(flood.contains("ok flood"), "{flood}");
    assert!(chat.contains("ok bystander"), "{chat}");
    println!("{flood}{chat}");
    http(&server.url, "GET", "/metrics", &[], b"").body
}

/// The value of one metric line, e.g. `parley_refusals_total{reason="in_flight"}`.
fn metric(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{metrics}"))
}

#[test]
fn a_flood_is_rate_limited_by_default_and_others_chat_on() {
    let metrics = flood_then_metrics(&[], "250");
    assert!(metric(&metrics, "parley_refusals_total{reason=\"socket_rate\"}") > 0);
    assert!(metric(&metrics, "parley_errors_total{code=\"rate_limited\"}") > 0);
    assert_eq!(
        metric(&metrics, "parley_errors_total{code=\"unavailable\"}"),
        0
    );
}

#[test]
fn without_a_rate_limit_the_in_flight_cap_protects_others() {
    // Without a rate limit the flooder's admitted sends share the store with the
    // bystander's; the cap keeps its wait to about one group commit of 64 messages.
    // This is the unoptimized test build beside the flood's own client on two cores,
    // so the bound is looser than the default configuration's.
    let metrics = flood_then_metrics(&["--rate-limit", "0"], "1000");
    assert_eq!(
        metric(&metrics, "parley_refusals_total{reason=\"socket_rate\"}"),
        0
    );
    assert!(metric(&metrics, "parley_refusals_total{reason=\"in_flight\"}") > 0);
    assert_eq!(
        metric(&metrics, "parley_errors_total{code=\"unavailable\"}"),
        0
    );
    // Everything admitted has been stored by now: nothing is left waiting.
    assert_eq!(metric(&metrics, "parley_store_queue_depth"), 0);
}

#[test]
fn http_clients_are_rate_limited_by_address() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = start_parley(dir.path(), &["--rate-limit", "2", "--rate-burst", "3"]);
    let statuses: Vec<u16> = (0..5)
        .map(|_| http(&server.url, "GET", "/api/rooms/r/messages", &[], b"").status)
        .collect();
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    let refused = http(&server.url, "GET", "/api/rooms/r/messages", &[], b"");
    assert!(
        refused.body.contains("\"rate_limited\""),
        "{}",
        refused.body
    );
    let metrics = http(&server.url, "GET", "/metrics", &[], b"").body;
    assert!(metric(&metrics, "parley_refusals_total{reason=\"http_rate\"}") >= 3);
}
