//! Reliability (issue 6): nothing acknowledged is lost or doubled when the server is
//! SIGKILLed under load and restarted, a client that was cut off catches up from its
//! last id, and a consumer that stops reading is disconnected instead of growing the
//! server's memory.
//!
//! The clients are the official `socket.io-client` (tests/js/crash.mjs and
//! tests/js/reconnect.mjs) and a raw WebSocket (the `ws` package that
//! `engine.io-client` depends on).

mod support;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{Client, parley_binary, repo, run_client_with_env, start_parley};

/// A parley process started on a port chosen by the test, so that it can be
/// restarted at the same address after a SIGKILL.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    /// Starts parley on 127.0.0.1:`port`. The port may still be held for a moment by
    /// the process that was just killed, so a start that fails is retried (bounded).
    fn start_on(port: u16, data_dir: &Path, extra: &[&str]) -> Server {
        let listen = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match Server::try_start(&listen, data_dir, extra) {
                Ok(server) => return server,
                Err(reason) => {
                    assert!(
                        Instant::now() < deadline,
                        "parley did not start on {listen} after {attempt} attempts: {reason}"
                    );
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    fn try_start(listen: &str, data_dir: &Path, extra: &[&str]) -> Result<Server, String> {
        let mut child = Command::new(parley_binary())
            .args(["--listen", listen, "--data-dir"])
            .arg(data_dir)
            .args(["--log-level", "warn"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot spawn parley: {e}"))?;
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("piped stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                let mut text = sink.lock().unwrap();
                if text.len() < 64 * 1024 {
                    text.push_str(&String::from_utf8_lossy(&buffer[..n]));
                }
            }
        });
        let lines = line_reader(child.stdout.take().expect("piped stdout"));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(address) = line.split("listening on ").nth(1) {
                        let url = address.trim().to_owned();
                        // Keep draining stdout so the server never blocks on it.
                        std::thread::spawn(move || for _ in lines {});
                        return Ok(Server { child, url });
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = child.wait();
                    std::thread::sleep(Duration::from_millis(20));
                    return Err(format!(
                        "exited before listening: {}",
                        stderr.lock().unwrap().trim()
                    ));
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err("no `listening on` line within 10 s".into());
                }
            }
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, and wait until the process is gone (its store lock released).
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Asserts the process is still running.
    fn assert_alive(&mut self) {
        let status = self.child.try_wait().expect("child status");
        assert!(status.is_none(), "parley exited: {status:?}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Forwards the lines of a pipe to a channel, from a thread.
fn line_reader(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (send, receive) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

fn node() -> String {
    std::env::var("PARLEY_NODE").unwrap_or_else(|_| "node".to_owned())
}

/// A node script running in the background, its stdout read line by line.
struct NodeRun {
    child: Child,
    lines: Receiver<String>,
    output: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl NodeRun {
    fn spawn(script: &str, args: &[&str]) -> NodeRun {
        let mut child = Command::new(node())
            .arg(repo().join("tests/js").join(script))
            .args(args)
            .current_dir(repo())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run node (install the test tools): {e}"));
        let lines = line_reader(child.stdout.take().expect("piped stdout"));
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let mut pipe = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            sink.lock().unwrap().push_str(&text);
        });
        NodeRun {
            child,
            lines,
            output: Vec::new(),
            stderr,
        }
    }

    /// Waits (bounded) for a line starting with `prefix`.
    fn wait_for(&mut self, prefix: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.output.push(line.clone());
                    if line.starts_with(prefix) {
                        return line;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    std::thread::sleep(Duration::from_millis(50));
                    panic!(
                        "no `{prefix}` line from node within {within:?}:\n{}\n{}",
                        self.output.join("\n"),
                        self.stderr.lock().unwrap()
                    );
                }
            }
        }
    }

    /// Waits (bounded) for the script to end; asserts it succeeded; returns its stdout.
    fn finish(mut self, within: Duration) -> String {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("node status") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "node did not finish within {within:?}:\n{}\n{}",
                    self.output.join("\n"),
                    self.stderr.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.output.push(line);
        }
        std::thread::sleep(Duration::from_millis(50));
        let stdout = self.output.join("\n");
        assert!(
            status.success(),
            "node failed ({status}):\n{stdout}\n{}",
            self.stderr.lock().unwrap()
        );
        stdout
    }
}

fn figures(stdout: &str) -> &str {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("figures "))
        .unwrap_or_else(|| panic!("no figures in:\n{stdout}"))
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
    let port = free_port();
    let started = Instant::now();
    let mut rows = Vec::new();
    for round in 1..=ROUNDS {
        let server = Server::start_on(port, &data, &[]);
        let mut client = NodeRun::spawn(
            "crash.mjs",
            &[&server.url, "load", journal, &round.to_string()],
        );
        client.wait_for("loading", Duration::from_secs(20));
        let delay = Duration::from_millis(200 + rand::random::<u64>() % 1300);
        std::thread::sleep(delay);
        server.kill();
        let out = client.finish(Duration::from_secs(20));
        rows.push(format!(
            "crash round {round}: killed {} ms into the load; {}",
            delay.as_millis(),
            figures(&out)
        ));
    }
    let server = Server::start_on(port, &data, &[]);
    let client = NodeRun::spawn(
        "crash.mjs",
        &[&server.url, "final", journal, &(ROUNDS + 1).to_string()],
    );
    let out = client.finish(Duration::from_secs(20));
    rows.push(format!("after the last restart: {}", figures(&out)));
    server.kill();
    for row in &rows {
        println!("{row}");
    }
    println!("crash test took {:.1} s", started.elapsed().as_secs_f64());
}

/// Runs one scenario of tests/js/reconnect.mjs against a fresh server.
fn reconnect_scenario(scenario: &str, extra: &[&str]) -> String {
    let data = tempfile::tempdir().unwrap();
    let server = start_parley(data.path(), &["--log-level", "warn"]);
    let mut args = vec![server.url.as_str(), scenario];
    args.extend_from_slice(extra);
    let out = run_client_with_env(Client::Node, "reconnect.mjs", &args, &[]);
    assert!(out.contains(&format!("ok {scenario}")), "{out}");
    let status = server.terminate();
    assert!(status.success(), "parley did not stop cleanly: {status}");
    out
}

/// A client cut off (its transport closed, or its TCP connection destroyed) while 50
/// messages are sent catches up with `history` after its last id: every message
/// exactly once, in order, over each transport configuration.
#[test]
fn a_client_cut_off_catches_up_from_its_last_id() {
    let out = reconnect_scenario("catch-up", &[]);
    for line in out.lines().filter(|line| line.starts_with("figures")) {
        println!("{line}");
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
    let heartbeat = ["--ping-interval", "60000", "--ping-timeout", "60000"];
    let mut server = Server::start_on(free_port(), data.path(), &heartbeat);
    let pid = server.pid().to_string();
    let out = NodeRun::spawn("reconnect.mjs", &[&server.url, "slow-consumer", &pid])
        .finish(Duration::from_secs(120));
    server.assert_alive();
    println!("{}", figures(&out));
    server.kill();
}
