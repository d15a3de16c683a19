//! The accounts' commands on a stopped server's data directory, as an operator types
//! them: `user add/list/deactivate/set-password`, `token create`, `invite`, and export
//! and import carrying the accounts to another data directory.

mod support;

use std::path::Path;

use serde_json::{Value, json};
use support::{HttpReply, http, run_parley, start_parley};

const PASSWORD: &str = "password1";

/// Runs `parley ARGS --data-dir DIR` with `stdin`, asserts it succeeded and returns
/// its stdout.
fn parley_ok(args: &[&str], data: &Path, stdin: &str) -> String {
    let output = parley_in(args, data, stdin);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{args:?}: {stderr}");
    String::from_utf8(output.stdout).unwrap()
}

/// Runs `parley ARGS --data-dir DIR`, expects it to fail and returns its stderr.
fn parley_fails(args: &[&str], data: &Path, stdin: &str) -> String {
    let output = parley_in(args, data, stdin);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "{args:?} succeeded: {stderr}");
    stderr
}

fn parley_in(args: &[&str], data: &Path, stdin: &str) -> std::process::Output {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--data-dir", data.to_str().unwrap()]);
    run_parley(&all, stdin)
}

fn sign_in(url: &str, username: &str, password: &str) -> HttpReply {
    let body = json!({"username": username, "password": password}).to_string();
    http(url, "POST", "/api/session", &[], body.as_bytes())
}

fn me(url: &str, authorization: &str) -> Value {
    let reply = http(
        url,
        "GET",
        "/api/me",
        &[("Authorization", authorization)],
        b"",
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    serde_json::from_str(&reply.body).unwrap()
}

#[test]
fn the_first_admin_can_come_from_the_command_line() {
    let data = tempfile::tempdir().unwrap();
    let stdin = format!("{PASSWORD}\n");
    let add = [
        "user",
        "add",
        "Ann",
        "--admin",
        "--name",
        "Ann Lee",
        "--password-stdin",
    ];
    parley_ok(&add, data.path(), &stdin);
    let bot = ["user", "add", "deploy", "--role", "bot", "--password-stdin"];
    parley_ok(&bot, data.path(), &stdin);
    let list = parley_ok(&["user", "list"], data.path(), "");
    let rows: Vec<Vec<&str>> = list
        .lines()
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["ann", "admin", "active", "Ann", "Lee"],
            vec!["deploy", "bot", "active", "deploy"],
        ],
        "{list}"
    );

    let server = start_parley(data.path(), &["--auth", "accounts"]);
    let reply = sign_in(&server.url, "ann", PASSWORD);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let user: Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(
        user["user"],
        json!({"username": "ann", "name": "Ann Lee", "role": "admin"})
    );
    let setup = http(&server.url, "GET", "/api/setup", &[], b"");
    assert!(setup.body.contains("\"needed\":false"), "{}", setup.body);
}

#[test]
fn a_script_gets_a_token_from_the_command_line() {
    let data = tempfile::tempdir().unwrap();
    let stdin = format!("{PASSWORD}\n");
    parley_ok(
        &["user", "add", "ci-bot", "--role", "bot", "--password-stdin"],
        data.path(),
        &stdin,
    );
    let token = parley_ok(
        &["token", "create", "ci-bot", "--name", "deploys"],
        data.path(),
        "",
    );
    let token = token.trim();
    assert!(token.len() >= 22 && !token.contains(' '), "{token:?}");
    let again = parley_fails(
        &["token", "create", "ci-bot", "--name", "deploys"],
        data.path(),
        "",
    );
    assert!(
        again.contains("already have a token named deploys"),
        "{again}"
    );

    let server = start_parley(data.path(), &["--auth", "accounts"]);
    let identity = me(&server.url, &format!("Bearer {token}"));
    assert_eq!(identity["user"]["username"], "ci-bot");
    assert_eq!(identity["user"]["role"], "bot");
}

#[test]
fn invite_prints_the_join_link_until_it_is_reset() {
    let data = tempfile::tempdir().unwrap();
    let invite = ["invite", "--listen", "127.0.0.1:5999"];
    let link = parley_ok(&invite, data.path(), "");
    let link = link.trim().to_owned();
    let code = link
        .strip_prefix("http://127.0.0.1:5999/join/")
        .unwrap_or_else(|| panic!("{link}"));
    assert_eq!(code.len(), 14, "{link}");
    assert_eq!(parley_ok(&invite, data.path(), "").trim(), link);
    let reset = ["invite", "--reset", "--listen", "127.0.0.1:5999"];
    let new_link = parley_ok(&reset, data.path(), "");
    assert_ne!(new_link.trim(), link);
    let new_code = new_link.trim().rsplit('/').next().unwrap().to_owned();

    let server = start_parley(data.path(), &["--auth", "accounts"]);
    let body = json!({"username": "bob", "name": "Bob", "password": PASSWORD}).to_string();
    let old = http(
        &server.url,
        "POST",
        &format!("/api/join/{code}"),
        &[],
        body.as_bytes(),
    );
    assert_eq!(old.status, 404, "{}", old.body);
    let path = format!("/api/join/{new_code}");
    let joined = http(&server.url, "POST", &path, &[], body.as_bytes());
    assert_eq!(joined.status, 201, "{}", joined.body);
}

#[test]
fn deactivate_and_set_password_take_effect_at_the_next_start() {
    let data = tempfile::tempdir().unwrap();
    let stdin = format!("{PASSWORD}\n");
    for user in ["ann", "bob"] {
        parley_ok(
            &["user", "add", user, "--admin", "--password-stdin"],
            data.path(),
            &stdin,
        );
    }
    let token = parley_ok(&["token", "create", "bob", "--name", "t"], data.path(), "");
    parley_ok(&["user", "deactivate", "bob"], data.path(), "");
    let last = parley_fails(&["user", "deactivate", "ann"], data.path(), "");
    assert!(last.contains("last admin"), "{last}");
    parley_ok(
        &["user", "set-password", "ann", "--password-stdin"],
        data.path(),
        "password2\r\n",
    );
    let list = parley_ok(&["user", "list"], data.path(), "");
    assert!(
        list.lines()
            .any(|l| l.starts_with("bob") && l.contains("deactivated")),
        "{list}"
    );

    let server = start_parley(data.path(), &["--auth", "accounts"]);
    assert_eq!(sign_in(&server.url, "bob", PASSWORD).status, 401);
    let authorization = format!("Bearer {}", token.trim());
    let reply = http(
        &server.url,
        "GET",
        "/api/me",
        &[("Authorization", &authorization)],
        b"",
    );
    assert_eq!(reply.status, 401);
    assert_eq!(sign_in(&server.url, "ann", PASSWORD).status, 401);
    assert_eq!(sign_in(&server.url, "ann", "password2").status, 200);
}

#[test]
fn the_commands_say_what_is_wrong() {
    let data = tempfile::tempdir().unwrap();
    let no_terminal = parley_fails(&["user", "add", "ann"], data.path(), "");
    assert!(no_terminal.contains("--password-stdin"), "{no_terminal}");
    let short = parley_fails(
        &["user", "add", "ann", "--password-stdin"],
        data.path(),
        "short\n",
    );
    assert!(short.contains("at least 8 characters"), "{short}");
    let bad_name = parley_fails(&["user", "add", "a b", "--password-stdin"], data.path(), "");
    assert!(bad_name.contains("username may only contain"), "{bad_name}");
    let bad_role = parley_fails(&["user", "add", "ann", "--role", "owner"], data.path(), "");
    assert!(bad_role.contains("owner"), "{bad_role}");
    parley_ok(
        &["user", "add", "ann", "--password-stdin"],
        data.path(),
        "password1\n",
    );
    let taken = parley_fails(
        &["user", "add", "ANN", "--password-stdin"],
        data.path(),
        "password1\n",
    );
    assert!(taken.contains("taken"), "{taken}");
    let unknown = parley_fails(&["user", "deactivate", "nobody"], data.path(), "");
    assert!(unknown.contains("no user nobody"), "{unknown}");

    let _running = start_parley(data.path(), &["--auth", "accounts"]);
    let in_use = parley_fails(&["user", "list"], data.path(), "");
    assert!(in_use.contains("in use by another parley"), "{in_use}");
}

#[test]
fn export_and_import_carry_the_accounts_and_their_messages() {
    let data = tempfile::tempdir().unwrap();
    let source = data.path().join("source");
    parley_ok(
        &[
            "user",
            "add",
            "ann",
            "--admin",
            "--name",
            "Ann",
            "--password-stdin",
        ],
        &source,
        "password1\n",
    );
    let token = parley_ok(&["token", "create", "ann", "--name", "ci"], &source, "");
    let authorization = format!("Bearer {}", token.trim());
    let invite = parley_ok(&["invite"], &source, "");
    let server = start_parley(&source, &["--auth", "accounts"]);
    let body = json!({"text": "kept with its author"}).to_string();
    let posted = http(
        &server.url,
        "POST",
        "/api/rooms/ops/messages",
        &[("Authorization", &authorization)],
        body.as_bytes(),
    );
    assert_eq!(posted.status, 201, "{}", posted.body);
    assert!(server.terminate().success());

    let export = parley_ok(&["export"], &source, "");
    let kinds: Vec<Option<String>> = export
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line).unwrap();
            value["kind"].as_str().map(str::to_owned)
        })
        .collect();
    assert_eq!(
        kinds,
        [
            None,
            Some("user".into()),
            Some("token".into()),
            Some("invite".into())
        ],
        "{export}"
    );
    assert!(
        export.lines().next().unwrap().contains("\"user\":\"ann\""),
        "{export}"
    );
    assert!(!export.contains(PASSWORD) && !export.contains(token.trim()));
    let only_ops = parley_ok(&["export", "--room", "ops"], &source, "");
    assert_eq!(only_ops.lines().count(), 1, "{only_ops}");

    let target = data.path().join("target");
    for expected in ["3 account records added, 0", "0 account records added, 3"] {
        let output = parley_in(&["import"], &target, &export);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
    }
    assert_eq!(parley_ok(&["invite"], &target, ""), invite);

    let server = start_parley(&target, &["--auth", "accounts"]);
    assert_eq!(sign_in(&server.url, "ann", PASSWORD).status, 200);
    assert_eq!(me(&server.url, &authorization)["user"]["username"], "ann");
    let history = http(
        &server.url,
        "GET",
        "/api/rooms/ops/messages",
        &[("Authorization", &authorization)],
        b"",
    );
    let history: Value = serde_json::from_str(&history.body).unwrap();
    let message = &history["messages"][0];
    assert_eq!(
        (&message["sender"], &message["user"]),
        (&json!("Ann"), &json!("ann"))
    );
}
