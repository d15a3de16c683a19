//! Accounts over HTTP, as a browser and a script meet them: setup of the first admin,
//! signing in and out, the refusals (no credentials, a wrong password that looks like
//! an unknown user, too many failures, a cookie without an allowed Origin), tokens,
//! the join link, deactivation, messages carrying their author, and what survives a
//! restart and what never reaches the disk.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use support::{HttpReply, ServerProcess, http, restart_parley, start_parley};

const PASSWORD: &str = "password1";

/// A server in accounts mode on a fresh data directory, which goes with it.
fn started() -> (tempfile::TempDir, ServerProcess) {
    let data = tempfile::tempdir().unwrap();
    let server = start_parley(data.path(), &["--auth", "accounts"]);
    (data, server)
}

fn body(reply: &HttpReply) -> Value {
    serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("{e}: {:?}", reply.body))
}

/// A request with a JSON body (or none for `Value::Null`).
fn call(
    url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    payload: Value,
) -> HttpReply {
    let payload = if payload.is_null() {
        Vec::new()
    } else {
        payload.to_string().into_bytes()
    };
    let mut headers = headers.to_vec();
    headers.push(("Content-Type", "application/json"));
    http(url, method, path, &headers, &payload)
}

/// The `name=value` of the session cookie a reply sets.
fn session_cookie(reply: &HttpReply) -> String {
    let set_cookie = reply
        .header("set-cookie")
        .unwrap_or_else(|| panic!("no cookie set: {}", reply.status));
    set_cookie.split(';').next().unwrap().to_owned()
}

/// A signed-in browser on the page's own origin.
struct Browser<'a> {
    url: &'a str,
    cookie: String,
}

impl Browser<'_> {
    fn call(&self, method: &str, path: &str, payload: Value) -> HttpReply {
        let headers = [("Cookie", self.cookie.as_str()), ("Origin", self.url)];
        call(self.url, method, path, &headers, payload)
    }
}

/// Creates the admin `ann` (shown as "Ann") through setup from this machine.
fn set_up(url: &str) -> Browser<'_> {
    let reply = call(
        url,
        "POST",
        "/api/setup",
        &[],
        json!({"username": "ann", "name": "Ann", "password": PASSWORD}),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    Browser {
        url,
        cookie: session_cookie(&reply),
    }
}

fn sign_in(url: &str, username: &str, password: &str) -> HttpReply {
    call(
        url,
        "POST",
        "/api/session",
        &[],
        json!({"username": username, "password": password}),
    )
}

/// The join link's code, as the admin sees it.
fn invite_code(admin: &Browser<'_>) -> String {
    let reply = admin.call("GET", "/api/invite", Value::Null);
    assert_eq!(reply.status, 200, "{}", reply.body);
    body(&reply)["code"].as_str().unwrap().to_owned()
}

/// Joins as a member through the admin's join link.
fn join<'a>(admin: &Browser<'a>, username: &str) -> Browser<'a> {
    let code = invite_code(admin);
    let reply = call(
        admin.url,
        "POST",
        &format!("/api/join/{code}"),
        &[],
        json!({"username": username, "name": username.to_uppercase(), "password": PASSWORD}),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    Browser {
        url: admin.url,
        cookie: session_cookie(&reply),
    }
}

/// Makes a token for the browser's user and returns its `Authorization` value.
fn bearer(browser: &Browser<'_>, name: &str) -> String {
    let reply = browser.call("POST", "/api/tokens", json!({"name": name}));
    assert_eq!(reply.status, 201, "{}", reply.body);
    format!("Bearer {}", body(&reply)["token"].as_str().unwrap())
}

fn assert_refused(reply: &HttpReply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(body(reply)["error"]["code"], code, "{}", reply.body);
}

#[test]
fn setup_is_printed_at_start_and_makes_the_first_admin_once() {
    let (_data, server) = started();
    let url = server.url.as_str();
    let line = server.stdout_line("setup: ", Duration::from_secs(10));
    let link = format!("setup: open {url}/setup?code=");
    assert!(line.starts_with(&link), "{line}");
    let code = &line[link.len()..];
    assert_eq!(code.len(), 14, "{line}");
    assert_eq!(code.split('-').count(), 3, "{line}");

    let state = http(url, "GET", "/api/setup", &[], b"");
    assert_eq!(
        body(&state),
        json!({"needed": true, "code_required": false})
    );
    let home = http(url, "GET", "/", &[], b"");
    assert_eq!(home.status, 303);
    assert_eq!(home.header("location"), Some("/setup"));

    let reply = call(
        url,
        "POST",
        "/api/setup",
        &[],
        json!({"username": "Ann", "name": "Ann", "password": PASSWORD}),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(
        body(&reply)["user"],
        json!({"username": "ann", "name": "Ann", "role": "admin"})
    );
    let set_cookie = reply.header("set-cookie").unwrap();
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set_cookie.contains(flag), "{set_cookie}");
    }
    assert!(set_cookie.starts_with("parley_session="), "{set_cookie}");

    let again = call(
        url,
        "POST",
        "/api/setup",
        &[],
        json!({"username": "eve", "name": "Eve", "password": PASSWORD}),
    );
    assert_refused(&again, 409, "conflict");
    let state = http(url, "GET", "/api/setup", &[], b"");
    assert_eq!(body(&state)["needed"], false);
    let setup_page = http(url, "GET", "/setup", &[], b"");
    assert_eq!(setup_page.status, 303);
    assert_eq!(setup_page.header("location"), Some("/"));
}

#[test]
fn setup_through_a_proxy_needs_the_printed_code() {
    let (_data, server) = started();
    let url = server.url.as_str();
    let line = server.stdout_line("setup: ", Duration::from_secs(10));
    let code = line.rsplit("code=").next().unwrap();
    let proxied = [("X-Forwarded-For", "192.0.2.9")];
    let state = http(url, "GET", "/api/setup", &proxied, b"");
    assert_eq!(body(&state)["code_required"], true);
    let new_admin = json!({"username": "ann", "name": "Ann", "password": PASSWORD});
    for wrong in [new_admin.clone(), {
        let mut with_code = new_admin.clone();
        with_code["code"] = json!("AAAA-AAAA-AAAA");
        with_code
    }] {
        let reply = call(url, "POST", "/api/setup", &proxied, wrong);
        assert_refused(&reply, 403, "forbidden");
    }
    let mut right = new_admin;
    right["code"] = json!(code);
    let reply = call(url, "POST", "/api/setup", &proxied, right);
    assert_eq!(reply.status, 201, "{}", reply.body);
}

#[test]
fn pages_send_a_browser_without_a_session_to_sign_in() {
    let (_data, server) = started();
    let url = server.url.as_str();
    let admin = set_up(url);
    for (path, next) in [
        ("/", "/"),
        ("/chat/team:ops", "/chat/team%3Aops"),
        ("/test-chat-debug", "/test-chat-debug"),
        ("/settings", "/settings"),
    ] {
        let reply = http(url, "GET", path, &[], b"");
        assert_eq!(reply.status, 303, "{path}");
        let location = format!("/signin?next={next}");
        assert_eq!(reply.header("location"), Some(location.as_str()), "{path}");
    }
    for path in ["/", "/chat/team:ops", "/test-chat-debug"] {
        let reply = http(url, "GET", path, &[("Cookie", &admin.cookie)], b"");
        assert_eq!(reply.status, 200, "{path}");
    }
    let bad_cookie = http(url, "GET", "/", &[("Cookie", "parley_session=forged")], b"");
    assert_eq!(bad_cookie.status, 303);
}

#[test]
fn a_wrong_password_and_an_unknown_user_get_the_same_answer() {
    let (_data, server) = started();
    let url = server.url.as_str();
    set_up(url);
    let wrong_password = sign_in(url, "ann", "password2");
    let unknown_user = sign_in(url, "nobody", PASSWORD);
    assert_refused(&wrong_password, 401, "unauthorized");
    assert_eq!(wrong_password.body, unknown_user.body);
    assert_eq!(unknown_user.status, 401);
    assert!(wrong_password.header("set-cookie").is_none());

    let reply = sign_in(url, "ANN", PASSWORD);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        body(&reply)["user"],
        json!({"username": "ann", "name": "Ann", "role": "admin"})
    );
    let browser = Browser {
        url,
        cookie: session_cookie(&reply),
    };
    let me = browser.call("GET", "/api/me", Value::Null);
    assert_eq!(
        body(&me),
        json!({"user": {"username": "ann", "name": "Ann", "role": "admin"}, "auth": "accounts"})
    );
}

#[test]
fn more_than_ten_failed_sign_ins_from_one_address_are_rate_limited() {
    let (_data, server) = started();
    let url = server.url.as_str();
    set_up(url);
    for attempt in 1..=10 {
        let reply = sign_in(url, "ann", &format!("wrong-{attempt:02}"));
        assert_eq!(reply.status, 401, "attempt {attempt}: {}", reply.body);
    }
    assert_refused(&sign_in(url, "ann", PASSWORD), 429, "rate_limited");
}

#[test]
fn every_api_route_but_the_ways_in_needs_credentials() {
    let (_data, server) = started();
    let url = server.url.as_str();
    set_up(url);
    for (method, path) in [
        ("GET", "/api/me"),
        ("PATCH", "/api/me"),
        ("PUT", "/api/me/password"),
        ("DELETE", "/api/session"),
        ("GET", "/api/tokens"),
        ("POST", "/api/tokens"),
        ("DELETE", "/api/tokens/ci"),
        ("GET", "/api/users"),
        ("POST", "/api/users/ann/deactivate"),
        ("GET", "/api/invite"),
        ("POST", "/api/invite/reset"),
        ("GET", "/api/rooms/lobby/messages"),
        ("POST", "/api/rooms/lobby/messages"),
    ] {
        let reply = call(
            url,
            method,
            path,
            &[],
            json!({"text": "hi", "sender": "ann"}),
        );
        assert_refused(&reply, 401, "unauthorized");
        let forged = [("Authorization", "Bearer forged"), ("Origin", url)];
        let reply = call(url, method, path, &forged, json!({"name": "x"}));
        assert_refused(&reply, 401, "unauthorized");
    }
    assert_eq!(http(url, "GET", "/api/setup", &[], b"").status, 200);
    assert_refused(
        &http(url, "GET", "/api/nothing", &[], b""),
        404,
        "not_found",
    );
}

#[test]
fn a_cookie_changes_nothing_without_an_allowed_origin_and_a_token_needs_none() {
    let data = tempfile::tempdir().unwrap();
    let server = start_parley(
        data.path(),
        &[
            "--auth",
            "accounts",
            "--cors-origin",
            "http://allowed.example",
        ],
    );
    let url = server.url.as_str();
    let admin = set_up(url);
    let cookie = [("Cookie", admin.cookie.as_str())];
    let no_origin = call(url, "POST", "/api/tokens", &cookie, json!({"name": "a"}));
    assert_refused(&no_origin, 403, "forbidden");
    let foreign = [
        ("Cookie", admin.cookie.as_str()),
        ("Origin", "http://evil.example"),
    ];
    let reply = call(url, "POST", "/api/tokens", &foreign, json!({"name": "b"}));
    assert_refused(&reply, 403, "forbidden");
    let reply = call(url, "DELETE", "/api/session", &foreign, Value::Null);
    assert_refused(&reply, 403, "forbidden");
    let allowed = [
        ("Cookie", admin.cookie.as_str()),
        ("Origin", "http://allowed.example"),
    ];
    let reply = call(url, "POST", "/api/tokens", &allowed, json!({"name": "c"}));
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("http://allowed.example")
    );
    // Reading needs no Origin.
    assert_eq!(http(url, "GET", "/api/me", &cookie, b"").status, 200);

    let token = bearer(&admin, "ci");
    let with_token = [("Authorization", token.as_str())];
    let reply = call(
        url,
        "POST",
        "/api/tokens",
        &with_token,
        json!({"name": "d"}),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let message = json!({"text": "from a script"});
    let reply = call(url, "POST", "/api/rooms/ops/messages", &with_token, message);
    assert_eq!(reply.status, 201, "{}", reply.body);
}

#[test]
fn settings_change_the_name_and_the_password() {
    let (_data, server) = started();
    let url = server.url.as_str();
    let admin = set_up(url);
    let reply = admin.call("PATCH", "/api/me", json!({"name": "  Ann Lee "}));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(body(&reply)["user"]["name"], "Ann Lee");
    let reply = admin.call("PATCH", "/api/me", json!({"name": ""}));
    assert_refused(&reply, 400, "invalid");

    let change = |current: &str, new: &str| {
        admin.call(
            "PUT",
            "/api/me/password",
            json!({"current_password": current, "password": new}),
        )
    };
    assert_refused(&change("password9", "password2"), 401, "unauthorized");
    assert_refused(&change(PASSWORD, "short"), 400, "invalid");
    assert_eq!(change(PASSWORD, "password2").status, 204);
    assert_eq!(sign_in(url, "ann", PASSWORD).status, 401);
    assert_eq!(sign_in(url, "ann", "password2").status, 200);
    assert_eq!(admin.call("GET", "/api/me", Value::Null).status, 200);
}

#[test]
fn tokens_are_shown_once_listed_by_name_and_revoked() {
    let (_data, server) = started();
    let url = server.url.as_str();
    let admin = set_up(url);
    let reply = admin.call("POST", "/api/tokens", json!({"name": "ci"}));
    assert_eq!(reply.status, 201, "{}", reply.body);
    let made = body(&reply);
    assert_eq!(made["name"], "ci");
    let token = made["token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 22, "at least 128 bits: {token}");
    assert_refused(
        &admin.call("POST", "/api/tokens", json!({"name": "ci"})),
        409,
        "conflict",
    );
    let list = body(&admin.call("GET", "/api/tokens", Value::Null));
    let tokens = list["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 1, "{list}");
    assert_eq!(tokens[0]["name"], "ci");
    assert!(tokens[0]["created"].as_u64().unwrap() > 1_600_000_000_000);
    assert!(!list.to_string().contains(&token));

    let authorization = format!("Bearer {token}");
    let with_token = [("Authorization", authorization.as_str())];
    assert_eq!(http(url, "GET", "/api/me", &with_token, b"").status, 200);
    assert_eq!(
        admin.call("DELETE", "/api/tokens/ci", Value::Null).status,
        204
    );
    assert_refused(
        &http(url, "GET", "/api/me", &with_token, b""),
        401,
        "unauthorized",
    );
    assert_refused(
        &admin.call("DELETE", "/api/tokens/ci", Value::Null),
        404,
        "not_found",
    );
}

#[test]
fn signing_out_ends_the_session_on_the_server() {
    let (_data, server) = started();
    let url = server.url.as_str();
    let admin = set_up(url);
    let reply = admin.call("DELETE", "/api/session", Value::Null);
    assert_eq!(reply.status, 204);
    let cleared = reply.header("set-cookie").unwrap();
    assert!(cleared.starts_with("parley_session=;") && cleared.contains("Max-Age=0"));
    assert_refused(
        &admin.call("GET", "/api/me", Value::Null),
        401,
        "unauthorized",
    );
}

#[test]
fn the_join_link_makes_members_and_only_admins_manage_it() {
    let (_data, server) = started();
    let url = server.url.as_str();
    let admin = set_up(url);
    let code = invite_code(&admin);
    let parts: Vec<&str> = code.split('-').collect();
    assert_eq!(parts.len(), 3, "{code}");
    assert!(parts.iter().all(|part| {
        part.len() == 4
            && part
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    }));

    let new = json!({"username": "bob", "name": "Bob", "password": PASSWORD});
    let reply = call(url, "POST", "/api/join/AAAA-BBBB-CCCC", &[], new.clone());
    assert_refused(&reply, 404, "not_found");
    let reply = call(url, "POST", &format!("/api/join/{code}"), &[], new.clone());
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(body(&reply)["user"]["role"], "member");
    let bob = Browser {
        url,
        cookie: session_cookie(&reply),
    };
    let reply = call(url, "POST", &format!("/api/join/{code}"), &[], new);
    assert_refused(&reply, 409, "conflict");

    assert_refused(
        &bob.call("GET", "/api/invite", Value::Null),
        403,
        "forbidden",
    );
    assert_refused(
        &bob.call("POST", "/api/invite/reset", Value::Null),
        403,
        "forbidden",
    );
    let reset = admin.call("POST", "/api/invite/reset", Value::Null);
    assert_eq!(reset.status, 200);
    assert_ne!(body(&reset)["code"], code.as_str());
    let cy = json!({"username": "cy", "name": "Cy", "password": PASSWORD});
    let reply = call(url, "POST", &format!("/api/join/{code}"), &[], cy);
    assert_refused(&reply, 404, "not_found");
}

#[test]
fn deactivating_a_user_stops_their_cookie_and_tokens() {
    let (_data, server) = started();
    let url = server.url.as_str();
    let admin = set_up(url);
    let bob = join(&admin, "bob");
    let token = bearer(&bob, "script");
    let users = body(&admin.call("GET", "/api/users", Value::Null));
    assert_eq!(
        users["users"],
        json!([
            {"username": "ann", "name": "Ann", "role": "admin", "online": false},
            {"username": "bob", "name": "BOB", "role": "member", "online": false},
        ])
    );

    let deactivate = |browser: &Browser<'_>, who: &str| {
        browser.call("POST", &format!("/api/users/{who}/deactivate"), Value::Null)
    };
    assert_refused(&deactivate(&bob, "ann"), 403, "forbidden");
    assert_refused(&deactivate(&admin, "nobody"), 404, "not_found");
    assert_refused(&deactivate(&admin, "ann"), 409, "conflict");
    assert_eq!(deactivate(&admin, "bob").status, 204);

    assert_refused(
        &bob.call("GET", "/api/me", Value::Null),
        401,
        "unauthorized",
    );
    let with_token = [("Authorization", token.as_str())];
    assert_refused(
        &http(url, "GET", "/api/me", &with_token, b""),
        401,
        "unauthorized",
    );
    assert_eq!(sign_in(url, "bob", PASSWORD).status, 401);
    let users = body(&admin.call("GET", "/api/users", Value::Null));
    assert_eq!(users["users"].as_array().unwrap().len(), 1, "{users}");
}

#[test]
fn messages_over_http_carry_their_author() {
    let (_data, server) = started();
    let url = server.url.as_str();
    let admin = set_up(url);
    let payload = json!({"text": "hello", "sender": "mallory", "client_id": "c1"});
    let reply = admin.call("POST", "/api/rooms/ops/messages", payload.clone());
    assert_eq!(reply.status, 201, "{}", reply.body);
    let message = &body(&reply)["message"];
    assert_eq!(message["user"], "ann");
    assert_eq!(message["sender"], "Ann");
    // A retry is the same message, whatever name it claims.
    let retry = admin.call("POST", "/api/rooms/ops/messages", payload);
    assert_eq!(retry.status, 200, "{}", retry.body);

    let token = bearer(&admin, "bot");
    let with_token = [("Authorization", token.as_str())];
    let reply = call(
        url,
        "POST",
        "/api/rooms/ops/messages",
        &with_token,
        json!({"text": "no sender"}),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let history = body(&http(
        url,
        "GET",
        "/api/rooms/ops/messages",
        &with_token,
        b"",
    ));
    let messages = history["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{history}");
    assert!(
        messages
            .iter()
            .all(|m| m["user"] == "ann" && m["sender"] == "Ann")
    );
}

#[test]
fn open_mode_has_no_accounts_and_messages_without_a_user() {
    let data = tempfile::tempdir().unwrap();
    let server = start_parley(data.path(), &["--auth", "open"]);
    let url = server.url.as_str();
    let me = http(url, "GET", "/api/me", &[], b"");
    assert_eq!(body(&me), json!({"user": null, "auth": "open"}));
    assert_refused(&sign_in(url, "ann", PASSWORD), 404, "not_found");
    assert_eq!(http(url, "GET", "/signin", &[], b"").status, 404);
    assert_eq!(http(url, "GET", "/", &[], b"").status, 200);
    let reply = call(
        url,
        "POST",
        "/api/rooms/ops/messages",
        &[],
        json!({"text": "hi", "sender": "ann"}),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert!(!reply.body.contains("\"user\""), "{}", reply.body);
}

#[test]
fn users_sessions_and_tokens_survive_a_restart_stored_only_as_hashes() {
    let (data, server) = started();
    let url = server.url.clone();
    let admin = set_up(&url);
    let token = bearer(&admin, "ci");
    let session = admin
        .cookie
        .trim_start_matches("parley_session=")
        .to_owned();
    let cookie = admin.cookie.clone();
    assert!(server.terminate().success());

    let secret_token = token.trim_start_matches("Bearer ");
    let mut files = 0;
    for file in walk(data.path()) {
        let bytes = std::fs::read(&file).unwrap();
        files += 1;
        for secret in [secret_token, session.as_str(), PASSWORD] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} in clear in {}",
                file.display()
            );
        }
    }
    assert!(files > 0);

    let server = restart_parley(&url, data.path(), &["--auth", "accounts"]);
    let url = server.url.as_str();
    let with_cookie = [("Cookie", cookie.as_str())];
    assert_eq!(http(url, "GET", "/api/me", &with_cookie, b"").status, 200);
    let with_token = [("Authorization", token.as_str())];
    assert_eq!(http(url, "GET", "/api/me", &with_token, b"").status, 200);
    assert_eq!(sign_in(url, "ann", PASSWORD).status, 200);
    assert_eq!(
        body(&http(url, "GET", "/api/setup", &[], b""))["needed"],
        false
    );
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
