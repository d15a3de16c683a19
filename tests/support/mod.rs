//! Shared by the integration tests: starting Parley (or the conformance example) as a
//! child process, restarting it at the same address, sharing one among all the tests
//! of a binary, and running the official clients against it, in the foreground or
//! beside the test.
//!
//! The clients and the browser are part of the suite, never optional: a missing one
//! fails its tests loudly and names the fix (`scripts/test`, which installs them),
//! on a developer machine and under CI alike.

#![allow(dead_code)] // each test file uses its own subset of these helpers

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

pub mod team;

/// How long a server may take to print its "listening on" line.
const START_DEADLINE: Duration = Duration::from_secs(20);
/// How long a restart may wait for the port the killed process held.
const RESTART_DEADLINE: Duration = Duration::from_secs(15);
/// Every client script gives up on its own well before this; it only catches one that
/// cannot.
const CLIENT_DEADLINE: Duration = Duration::from_secs(240);

// ------------------------------------------------------------------ servers

/// A server child process, killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub url: String,
    /// What it prints on stdout after its "listening on" line.
    stdout: Receiver<String>,
}

impl ServerProcess {
    /// Starts `program` with `args` and waits for its "listening on ADDR" line.
    pub fn start(program: &Path, args: &[&str]) -> ServerProcess {
        ServerProcess::try_start(program, args)
            .unwrap_or_else(|why| panic!("{}: {why}", program.display()))
    }

    /// Like [`ServerProcess::start`], but a server that exits or stays silent is an
    /// `Err` (its stderr is the test's), so that the caller can try again.
    fn try_start(program: &Path, args: &[&str]) -> Result<ServerProcess, String> {
        ServerProcess::try_start_logging(program, args, Stdio::inherit())
    }

    /// Like [`ServerProcess::try_start`], with the server's log (stderr) going to
    /// `stderr`.
    fn try_start_logging(
        program: &Path,
        args: &[&str],
        stderr: Stdio,
    ) -> Result<ServerProcess, String> {
        let mut child = Command::new(program)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot start: {e}"))?;
        let lines = line_channel(child.stdout.take().expect("piped stdout"));
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(address) = line.split("listening on ").nth(1) {
                        // `https://ADDR` under TLS, `http://ADDR` (or just ADDR) otherwise.
                        let address = address.trim();
                        let url = match address.contains("://") {
                            true => address.to_owned(),
                            false => format!("http://{address}"),
                        };
                        // The channel's thread keeps draining stdout, so the server never
                        // blocks on a full pipe.
                        return Ok(ServerProcess {
                            child,
                            url,
                            stdout: lines,
                        });
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = child.wait().map_err(|e| e.to_string())?;
                    return Err(format!("exited before listening ({status})"));
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("no `listening on` line within {START_DEADLINE:?}"));
                }
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a line on stdout that starts with `prefix` and returns it.
    pub fn stdout_line(&self, prefix: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => {}
                Err(_) => panic!("no {prefix:?} line on stdout within {within:?}"),
            }
        }
    }

    /// Asserts the process is still running.
    pub fn assert_running(&mut self) {
        let status = self.child.try_wait().expect("child status");
        assert!(status.is_none(), "the server exited: {status:?}");
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(Instant::now() < deadline, "server ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the process without warning (SIGKILL) and waits until it is gone, so that
    /// its port and its store lock are released.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The directory cargo builds into (…/target/debug), found from the parley binary.
pub fn build_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_parley"))
        .parent()
        .expect("binary has a directory")
        .to_owned()
}

pub fn parley_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_parley"))
}

/// The flags of a test server. Unless the test chooses `--auth`, it is `open`: the
/// tests written before accounts talk to Parley the way that mode keeps working.
fn parley_args<'a>(listen: &'a str, data_dir: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let dir = data_dir.to_str().expect("temporary paths are UTF-8");
    let mut args = vec!["--listen", listen, "--data-dir", dir];
    if !extra.contains(&"--auth") {
        args.extend_from_slice(&["--auth", "open"]);
    }
    args.extend_from_slice(extra);
    args
}

/// Starts `parley` on a free port of 127.0.0.1 with its data in `data_dir`, plus any
/// extra flags (`--auth open` unless they say otherwise).
pub fn start_parley(data_dir: &Path, extra: &[&str]) -> ServerProcess {
    ServerProcess::start(
        &parley_binary(),
        &parley_args("127.0.0.1:0", data_dir, extra),
    )
}

/// Like [`start_parley`], with the server's log (stderr) written to the file `log`,
/// for tests that check what it logs.
pub fn start_parley_logging(data_dir: &Path, extra: &[&str], log: &Path) -> ServerProcess {
    let file = std::fs::File::create(log).expect("log file created");
    let args = parley_args("127.0.0.1:0", data_dir, extra);
    ServerProcess::try_start_logging(&parley_binary(), &args, Stdio::from(file))
        .unwrap_or_else(|why| panic!("parley: {why}"))
}

/// Runs a `parley` command (not the server) to its end with `stdin` as its input.
pub fn run_parley(args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(parley_binary())
        .args(args)
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
    child.wait_with_output().expect("parley ends")
}

/// Starts `parley` again at the address of `url`, the one its clients reconnect to.
/// The port may still be held for a moment by the process that was just killed, so a
/// start that fails is retried (bounded).
pub fn restart_parley(url: &str, data_dir: &Path, extra: &[&str]) -> ServerProcess {
    let listen = url.rsplit("://").next().unwrap_or(url);
    let args = parley_args(listen, data_dir, extra);
    let deadline = Instant::now() + RESTART_DEADLINE;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match ServerProcess::try_start(&parley_binary(), &args) {
            Ok(server) => return server,
            Err(why) => {
                assert!(
                    Instant::now() < deadline,
                    "parley did not start again on {listen} after {attempt} attempts: {why}"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// A parley shared by all the tests of one binary, which cargo runs as threads of one
/// process, for tests too many to pay a server start each. It lives in a `static`,
/// which Rust never drops, so a watchdog child stops it and removes its data when the
/// binary exits, however it exits; [`SharedParley::terminate`] ends it before that
/// and reports how.
pub struct SharedParley {
    server: ServerProcess,
    data: tempfile::TempDir,
    /// `sh`, waiting for its stdin to end: only this process holds the other end.
    watchdog: Child,
}

impl SharedParley {
    pub fn start(extra: &[&str]) -> SharedParley {
        let data = tempfile::tempdir().expect("temporary data dir");
        let server = start_parley(&data.path().join("db"), extra);
        let pid = server.pid().to_string();
        let dir = data.path().to_str().expect("temporary paths are UTF-8");
        // Bounded: a server that ignores SIGTERM for 10 s keeps its data.
        let script = r#"read -r _
kill -TERM "$1" 2>/dev/null
i=0
while kill -0 "$1" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
rm -rf "$2""#;
        let watchdog = Command::new("sh")
            .args(["-c", script, "watchdog", &pid, dir])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sh starts");
        SharedParley {
            server,
            data,
            watchdog,
        }
    }

    pub fn url(&self) -> &str {
        &self.server.url
    }

    /// Stops the watchdog, then the server (SIGTERM), and returns the server's exit
    /// status; the data goes with `self`.
    pub fn terminate(mut self) -> ExitStatus {
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
        self.server.terminate()
    }
}

// ------------------------------------------------------------------ official clients

/// The conformance example, which `cargo test` builds along with the tests.
pub fn conformance_binary() -> PathBuf {
    let path = build_dir().join("examples").join("protocol_conformance");
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test` (which builds examples) or scripts/test",
        path.display()
    );
    path
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[derive(Clone, Copy)]
pub enum Client {
    Node,
    Python,
}

impl Client {
    /// The interpreter (from the variable scripts/test sets, or the default) and the
    /// script's path.
    fn command(self, script: &str) -> (String, PathBuf) {
        let tool = |variable: &str, default: String| std::env::var(variable).unwrap_or(default);
        match self {
            Client::Node => (
                tool("PARLEY_NODE", "node".to_owned()),
                repo().join("tests/js").join(script),
            ),
            Client::Python => (
                tool(
                    "PARLEY_PYTHON",
                    repo()
                        .join("target/pyenv/bin/python")
                        .to_string_lossy()
                        .into_owned(),
                ),
                repo().join("tests/py").join(script),
            ),
        }
    }
}

/// Runs one of the official-client scripts to its end and asserts that it succeeded;
/// returns its stdout.
pub fn run_client(kind: Client, script: &str, args: &[&str]) -> String {
    run_client_with_env(kind, script, args, &[])
}

/// Like [`run_client`], with extra environment variables for the script.
pub fn run_client_with_env(
    kind: Client,
    script: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> String {
    let mut script = Script::spawn(kind, script, args, env);
    // Nothing to say: a script that reads its stdin finds it closed at once.
    script.stdin = None;
    script.finish(CLIENT_DEADLINE)
}

/// An official-client script running beside the test: its stdout arrives line by line,
/// so that the test can wait for one with a deadline; it can be told lines on stdin;
/// it is killed if the test ends first.
pub struct Script {
    command: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stdout: Vec<String>,
    stderr: Receiver<String>,
}

impl Script {
    /// Starts `script` with `args`, and `env` on top of this process's environment.
    pub fn spawn(kind: Client, script: &str, args: &[&str], env: &[(&str, &str)]) -> Script {
        let (program, path) = kind.command(script);
        let mut child = Command::new(&program)
            .arg(&path)
            .args(args)
            .envs(env.iter().copied())
            .current_dir(repo())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run {program} (install the test tools with scripts/test): {e}")
            });
        let lines = line_channel(child.stdout.take().expect("piped stdout"));
        let mut pipe = child.stderr.take().expect("piped stderr");
        let (send, stderr) = channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            let _ = send.send(text);
        });
        Script {
            command: format!("{program} {} {args:?}", path.display()),
            stdin: child.stdin.take(),
            child,
            lines,
            stdout: Vec::new(),
            stderr,
        }
    }

    /// Waits for a line that starts with `prefix` and returns it; the lines before it
    /// are kept for the report.
    pub fn wait_for(&mut self, prefix: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(line) => self.stdout.push(line),
                Err(RecvTimeoutError::Timeout) => {
                    self.fail(&format!("no {prefix:?} line within {within:?}"))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.fail(&format!("it ended before a {prefix:?} line"))
                }
            }
        }
    }

    /// Writes `line` to the script's stdin.
    pub fn say(&mut self, line: &str) {
        let written = match &mut self.stdin {
            Some(stdin) => writeln!(stdin, "{line}").and_then(|()| stdin.flush()),
            None => Ok(()),
        };
        if let Err(e) = written {
            self.fail(&format!("cannot tell it {line:?}: {e}"));
        }
    }

    /// Waits (bounded) for the script to end, asserts it succeeded and returns its
    /// stdout.
    pub fn finish(mut self, within: Duration) -> String {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("child status") {
                break status;
            }
            if Instant::now() > deadline {
                self.fail(&format!("it did not end within {within:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        self.drain_stdout();
        if !status.success() {
            self.fail(&format!("it failed ({status})"));
        }
        self.stdout.join("\n")
    }

    /// The lines still in the pipe once the script has ended. A grandchild may hold
    /// the pipe open, so this stops after a quiet moment rather than at the end.
    fn drain_stdout(&mut self) {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.stdout.push(line);
        }
    }

    fn fail(&mut self, why: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.drain_stdout();
        let stderr = self
            .stderr
            .recv_timeout(Duration::from_secs(2))
            .unwrap_or_default();
        panic!(
            "{}: {why}; it printed:\n{}\n{stderr}",
            self.command,
            self.stdout.join("\n")
        );
    }
}

/// A test that panics half-way must not leave the script (and a browser it drives)
/// running.
impl Drop for Script {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Forwards the lines of a pipe to a channel, from a thread, so that a reader can wait
/// for them with a deadline.
fn line_channel(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (send, receive) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}

// ------------------------------------------------------------------ plain HTTP

/// A minimal HTTP/1.1 exchange over a fresh connection, for checking status codes and
/// headers exactly as a client sees them.
pub struct HttpReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

pub fn http(
    url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpReply {
    let address = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("server reachable");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout set");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("request sent");
    stream.write_all(body).expect("body sent");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    HttpReply {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// Where Debian's Chromium is; the browser tests drive it with playwright-core.
const CHROMIUM: &str = "/usr/bin/chromium";

/// Fails the test loudly when the browser or its driver is missing.
pub fn require_browser() {
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

/// Where the browser tests leave their screenshots.
pub fn artifacts_dir() -> PathBuf {
    let dir = repo().join("target/browser-artifacts");
    std::fs::create_dir_all(&dir).expect("create target/browser-artifacts");
    dir
}
