//! Parley's pages in a real browser (issue 4): each test starts its own server on a
//! fresh data directory and runs one scenario of `tests/js/browser.mjs`, which drives
//! Debian Chromium through playwright-core and checks what a user would see.
//!
//! The browser is part of the test suite, not an optional extra: when it is missing
//! these tests fail and say how to install it (`scripts/test`), they never skip.
//! Screenshots land in `target/browser-artifacts/`.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use support::{Client, ServerProcess, parley_binary, repo, run_client_with_env};

const CHROMIUM: &str = "/usr/bin/chromium";
const SCRIPT: &str = "browser.mjs";
/// The script gives up on its own after 50 s; this only catches a script that cannot.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(90);

/// Fails loudly, with the fix, when the browser or the JS driver is not installed.
fn require_browser() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: the browser tests need Debian's chromium; run scripts/test, which installs it"
    );
    let driver = repo().join("tests/js/node_modules/playwright-core");
    assert!(
        driver.exists(),
        "{} is missing: run scripts/test, which installs the JS test tools (npm ci)",
        driver.display()
    );
}

fn artifacts_dir() -> PathBuf {
    let dir = repo().join("target/browser-artifacts");
    std::fs::create_dir_all(&dir).expect("create target/browser-artifacts");
    dir
}

fn start_parley(data_dir: &Path, listen: &str) -> ServerProcess {
    let data_dir = data_dir.to_str().expect("temp dir path is UTF-8");
    ServerProcess::start(
        &parley_binary(),
        &["--listen", listen, "--data-dir", data_dir],
    )
}

/// Runs one self-contained scenario against its own server and asserts it passed.
fn run_scenario(scenario: &str) {
    require_browser();
    let data = tempfile::tempdir().expect("temp data dir");
    let server = start_parley(data.path(), "127.0.0.1:0");
    let artifacts = artifacts_dir();
    let out = run_client_with_env(
        Client::Node,
        SCRIPT,
        &[
            scenario,
            &server.url,
            artifacts.to_str().expect("UTF-8 path"),
        ],
        &[],
    );
    assert!(out.contains(&format!("ok {scenario}")), "{out}");
}

#[test]
fn the_page_chats_with_the_official_clients() {
    run_scenario("official-clients");
}

#[test]
fn two_users_see_each_others_messages_once() {
    run_scenario("two-users");
}

#[test]
fn page_works_over_polling_when_websocket_is_blocked() {
    run_scenario("websocket-blocked");
}

#[test]
fn page_falls_back_to_http_and_returns_without_gaps() {
    run_scenario("http-fallback");
}

#[test]
fn typing_indicator_appears_and_goes_away() {
    run_scenario("typing");
}

#[test]
fn markup_in_messages_shows_as_text() {
    run_scenario("xss");
}

#[test]
fn debug_page_logs_the_whole_conversation() {
    run_scenario("debug-page");
}

/// A port that was free a moment ago. The restarted server must come back on the same
/// address, because that is the origin the open pages reconnect to.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// The scenario script as a child whose stdout lines arrive on a channel, so the test
/// can wait for one with a deadline while the script keeps running.
struct Script {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: Option<JoinHandle<String>>,
}

impl Script {
    fn spawn(args: &[&str]) -> Script {
        let node = std::env::var("PARLEY_NODE").unwrap_or_else(|_| "node".to_owned());
        let mut child = Command::new(&node)
            .arg(repo().join("tests/js").join(SCRIPT))
            .args(args)
            .current_dir(repo())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run {node} (install the test tools with scripts/test): {e}")
            });
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Script {
            child,
            stdin,
            lines,
            seen: Vec::new(),
            stderr: Some(stderr),
        }
    }

    /// Waits for the line `wanted`; anything else it prints on the way is kept for the report.
    fn expect_line(&mut self, wanted: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line == wanted => return,
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Timeout) => {
                    self.fail(&format!("no {wanted:?} within {within:?}"))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.fail(&format!("script ended before {wanted:?}"))
                }
            }
        }
    }

    fn say(&mut self, line: &str) {
        if let Err(e) = writeln!(self.stdin, "{line}") {
            self.fail(&format!("cannot tell the script {line:?}: {e}"));
        }
    }

    /// Waits for the script to exit and returns everything it printed; panics unless it succeeded.
    fn finish(mut self) -> String {
        let deadline = Instant::now() + SCRIPT_DEADLINE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for node") {
                break status;
            }
            if Instant::now() > deadline {
                self.fail("script did not exit");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.seen.extend(self.lines.try_iter());
        let stdout = self.seen.join("\n");
        if !status.success() {
            let stderr = self
                .stderr
                .take()
                .and_then(|h| h.join().ok())
                .unwrap_or_default();
            panic!("{SCRIPT} failed ({status}):\n{stdout}\n{stderr}");
        }
        stdout
    }

    fn fail(&mut self, why: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.seen.extend(self.lines.try_iter());
        let stdout = self.seen.join("\n");
        panic!(
            "{SCRIPT}: {why}; it printed:\n{stdout}\n{}",
            self.stderr_text()
        );
    }

    /// All of stderr; only call once the script has exited.
    fn stderr_text(&mut self) -> String {
        let reader = self.stderr.take();
        reader.and_then(|h| h.join().ok()).unwrap_or_default()
    }
}

/// A test that panics half-way must not leave the script (and its browser) running.
impl Drop for Script {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The server is killed (SIGKILL: no chance to flush anything late, so whatever was
/// acknowledged must already be on disk) mid-conversation and started again on the same
/// port and data directory; the pages must reconnect by themselves and show everything.
/// The script and this test take turns over stdio (see the header of browser.mjs).
#[test]
fn pages_survive_a_server_restart() {
    require_browser();
    let data = tempfile::tempdir().expect("temp data dir");
    let listen = format!("127.0.0.1:{}", free_port());
    let server = start_parley(data.path(), &listen);
    let url = server.url.clone();
    let artifacts = artifacts_dir();
    let mut script = Script::spawn(&[
        "server-restart",
        &url,
        artifacts.to_str().expect("UTF-8 path"),
    ]);

    script.expect_line("READY_FOR_RESTART", SCRIPT_DEADLINE);
    server.kill();
    script.say("STOPPED");
    script.expect_line("READY_FOR_START", SCRIPT_DEADLINE);
    let server = start_parley(data.path(), &listen);
    assert_eq!(
        server.url, url,
        "the restarted server must listen on the same address"
    );
    script.say(&format!("STARTED {url}"));

    let out = script.finish();
    assert!(out.contains("ok server-restart"), "{out}");
    drop(server);
}
