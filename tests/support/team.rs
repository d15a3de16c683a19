//! A team of accounts made with the command line, as an operator would (`parley user
//! add`, `parley token create`), for the tests that run Parley in accounts mode: one
//! person at a time, a whole team with API tokens in a data directory, a team made once
//! per test binary and copied for each test (a server holds its data directory
//! exclusively), and the browser tests' team of three signed in by their scripts.

use std::path::Path;
use std::process::Output;
use std::sync::OnceLock;

use serde_json::Value;

use super::{
    Client, ServerProcess, artifacts_dir, require_browser, run_client, run_parley, start_parley,
};

/// Everyone's password; the client scripts and the browser sign in with it.
pub const PASSWORD: &str = "correct horse battery";

/// The flags of an accounts-mode server. No rate limit: a scenario sends many requests
/// in a row on one socket, which is not what these tests are about.
pub const ACCOUNTS: [&str; 4] = ["--auth", "accounts", "--rate-limit", "0"];

/// Runs `parley ARGS --data-dir DATA` with `stdin`, asserts it succeeded and returns its
/// output.
pub fn parley_in(data: &Path, args: &[&str], stdin: &str) -> Output {
    let dir = data.to_str().expect("temporary paths are UTF-8");
    let mut args = args.to_vec();
    args.extend(["--data-dir", dir]);
    let output = run_parley(&args, stdin);
    assert!(
        output.status.success(),
        "parley {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Adds `username` with PASSWORD and `flags` (`--admin`, `--name NAME`) to `data`.
pub fn add_user(data: &Path, username: &str, flags: &[&str]) {
    let mut args = vec!["user", "add", username, "--password-stdin"];
    args.extend_from_slice(flags);
    parley_in(data, &args, &format!("{PASSWORD}\n"));
}

/// Makes an API token for `username` in `data`: the last line `parley token create`
/// prints.
pub fn create_token(data: &Path, username: &str) -> String {
    let printed = parley_in(data, &["token", "create", username, "--name", "ci"], "");
    String::from_utf8_lossy(&printed.stdout)
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .expect("the token is printed")
        .to_owned()
}

/// Adds `names` to `data`, the first as the admin (with `admin_flags` too), and returns
/// each one's API token in a JSON object, as the client scripts take them.
pub fn add_team(data: &Path, names: &[&str], admin_flags: &[&str]) -> Value {
    let mut tokens = serde_json::Map::new();
    for (i, name) in names.iter().enumerate() {
        let mut flags = Vec::new();
        if i == 0 {
            flags.push("--admin");
            flags.extend_from_slice(admin_flags);
        }
        add_user(data, name, &flags);
        tokens.insert((*name).to_owned(), create_token(data, name).into());
    }
    Value::Object(tokens)
}

/// A team made once per test binary: its data directory, never served itself, and
/// each one's API token.
pub struct Team {
    names: Vec<String>,
    template: tempfile::TempDir,
    tokens: Value,
    tokens_json: String,
}

impl Team {
    /// The binary's team, made on the first call by [`add_team`]. Every call in one
    /// binary names the same team.
    pub fn shared(names: &[&str], admin_flags: &[&str]) -> &'static Team {
        static MADE: OnceLock<Team> = OnceLock::new();
        let team = MADE.get_or_init(|| {
            let template = tempfile::tempdir().expect("temporary directory");
            let tokens = add_team(template.path(), names, admin_flags);
            Team {
                names: names.iter().map(|name| (*name).to_owned()).collect(),
                template,
                tokens_json: tokens.to_string(),
                tokens,
            }
        });
        assert_eq!(team.names, names, "one team per test binary");
        team
    }

    /// `user`'s API token.
    pub fn token(&self, user: &str) -> &str {
        self.tokens[user].as_str().expect("a member of the team")
    }

    /// Every token, a JSON object by username, as the client scripts take them.
    pub fn tokens_json(&self) -> &str {
        &self.tokens_json
    }

    /// A server in accounts mode with `extra` flags on a copy of the team's data, which
    /// goes with the returned directory, and [`Team::tokens_json`].
    pub fn server(&self, extra: &[&str]) -> (tempfile::TempDir, ServerProcess, &str) {
        let data = tempfile::tempdir().expect("temporary directory");
        copy_dir(self.template.path(), data.path());
        let mut args = ACCOUNTS.to_vec();
        args.extend_from_slice(extra);
        let server = start_parley(data.path(), &args);
        (data, server, self.tokens_json())
    }
}

/// The browser tests' team: username, display name, and whether they are an admin.
pub const PEOPLE: [(&str, &str, bool); 3] = [
    ("alice", "Alice Martin", true),
    ("bob", "Bob Lee", false),
    ("carol", "Carol Diaz", false),
];

/// Runs `scenario` of the browser script `script` (tests/js) against a fresh server in
/// accounts mode whose team is PEOPLE, and asserts it passed.
pub fn browser_scenario(script: &str, scenario: &str) {
    require_browser();
    let data = tempfile::tempdir().expect("temp data dir");
    for (username, name, admin) in PEOPLE {
        let mut flags = vec!["--name", name];
        if admin {
            flags.push("--admin");
        }
        add_user(data.path(), username, &flags);
    }
    let server = start_parley(data.path(), &["--auth", "accounts"]);
    let artifacts = artifacts_dir();
    let out = run_client(
        Client::Node,
        script,
        &[
            scenario,
            &server.url,
            artifacts.to_str().expect("UTF-8 path"),
        ],
    );
    assert!(out.contains(&format!("ok {scenario}")), "{out}");
}

/// Copies the directory tree `from` to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
