//! The official Socket.IO clients (npm `socket.io-client`, PyPI `python-socketio`)
//! against Parley's protocol layers, over polling with upgrade, WebSocket only and
//! polling only: connect with auth, events, binary, acks both ways, rooms,
//! namespaces, server disconnect and reconnection.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use support::{Client, ServerProcess, conformance_binary, run_client};

/// Runs a client's protocol script against the conformance example and checks, from
/// its `passed [CONFIG] NAME` lines, that every one of its scenarios passed over each
/// transport configuration.
fn every_scenario_over_every_transport(kind: Client, script: &str) {
    let server = ServerProcess::start(&conformance_binary(), &["--port", "0"]);
    let out = run_client(kind, script, &[&server.url]);
    let mut passed: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for line in out.lines().filter_map(|line| line.strip_prefix("passed [")) {
        let (config, scenario) = line
            .split_once("] ")
            .unwrap_or_else(|| panic!("a line without a scenario: {line:?}"));
        passed.entry(config).or_default().insert(scenario);
    }
    let configs: Vec<&str> = passed.keys().copied().collect();
    assert_eq!(configs, ["default", "polling", "websocket"], "{out}");
    let scenarios = &passed["default"];
    assert!(!scenarios.is_empty(), "{out}");
    for (config, names) in &passed {
        assert_eq!(names, scenarios, "{config} ran other scenarios:\n{out}");
    }
    let total = scenarios.len() * passed.len();
    assert!(out.contains(&format!("ok {total} scenarios")), "{out}");
}

#[test]
fn javascript_client_over_every_transport() {
    every_scenario_over_every_transport(Client::Node, "protocol.mjs");
}

#[test]
fn python_client_over_every_transport() {
    every_scenario_over_every_transport(Client::Python, "protocol.py");
}
