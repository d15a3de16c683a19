//! Shared by the integration tests: starting Parley (or the conformance example) as a
//! child process on a free port, and running the official clients against it.

#![allow(dead_code)] // each test file uses its own subset of these helpers

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server child process, killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub url: String,
}

impl ServerProcess {
    /// Starts `program` with `args` and waits for its "listening on ADDR" line.
    pub fn start(program: &Path, args: &[&str]) -> ServerProcess {
        let mut child = Command::new(program)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(20);
        let address = loop {
            assert!(Instant::now() < deadline, "server did not start in time");
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(address) = line.split("listening on ").nth(1) {
                        break address.trim().trim_start_matches("http://").to_owned();
                    }
                }
                _ => panic!("server exited before listening"),
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        ServerProcess {
            child,
            url: format!("http://{address}"),
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
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

    /// Kills the process without warning (SIGKILL) and waits for it.
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

/// Starts `parley` on a free port of 127.0.0.1 with its data in `data_dir`, plus any
/// extra flags.
pub fn start_parley(data_dir: &Path, extra: &[&str]) -> ServerProcess {
    let dir = data_dir.to_str().expect("temporary paths are UTF-8");
    let mut args = vec!["--listen", "127.0.0.1:0", "--data-dir", dir];
    args.extend_from_slice(extra);
    ServerProcess::start(&parley_binary(), &args)
}

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

/// Where a tool the tests need is taken from: the environment variable that
/// scripts/test sets, or the default. A missing tool fails the test loudly.
fn tool(variable: &str, default: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| default.to_owned())
}

/// Runs one of the official-client scripts and asserts that it succeeded.
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
    let (program, path) = match kind {
        Client::Node => (
            tool("PARLEY_NODE", "node"),
            repo().join("tests/js").join(script),
        ),
        Client::Python => (
            tool(
                "PARLEY_PYTHON",
                &repo().join("target/pyenv/bin/python").to_string_lossy(),
            ),
            repo().join("tests/py").join(script),
        ),
    };
    let output = Command::new(&program)
        .arg(&path)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} (install the test tools with scripts/test): {e}")
        });
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{program} {} {args:?} failed ({}):\n{stdout}\n{stderr}",
        path.display(),
        output.status
    );
    stdout
}

#[derive(Clone, Copy)]
pub enum Client {
    Node,
    Python,
}

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
    use std::io::{Read, Write};
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
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
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
