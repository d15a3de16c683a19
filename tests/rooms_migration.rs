//! A data directory written before rooms had records (by an earlier release, or by a
//! server in `--auth open` mode) opens in accounts mode with its chat keys as open
//! rooms: listed to everyone with `?all=1`, their history readable, and joining one by
//! sending to it.

mod support;

use serde_json::{Value, json};
use support::{http, run_parley, start_parley};

fn post(url: &str, path: &str, headers: &[(&str, &str)], payload: Value) -> (u16, Value) {
    let mut headers = headers.to_vec();
    headers.push(("Content-Type", "application/json"));
    let reply = http(url, "POST", path, &headers, payload.to_string().as_bytes());
    (
        reply.status,
        serde_json::from_str(&reply.body).unwrap_or(Value::Null),
    )
}

fn get(url: &str, path: &str, token: &str) -> (u16, Value) {
    let bearer = format!("Bearer {token}");
    let reply = http(url, "GET", path, &[("Authorization", &bearer)], b"");
    (
        reply.status,
        serde_json::from_str(&reply.body).unwrap_or(Value::Null),
    )
}

#[test]
fn chat_keys_of_an_open_mode_directory_become_open_rooms() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();

    let open = start_parley(data.path(), &["--auth", "open"]);
    for (room, text) in [
        ("team", "hello team"),
        ("ops.night", "all quiet"),
        ("team", "second"),
    ] {
        let (status, _) = post(
            &open.url,
            &format!("/api/rooms/{room}/messages"),
            &[],
            json!({"sender": "old-timer", "text": text}),
        );
        assert_eq!(status, 201, "open-mode send to {room}");
    }
    assert!(open.terminate().success());

    let added = run_parley(
        &["user", "add", "ann", "--password-stdin", "--data-dir", dir],
        "a long enough password\n",
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let created = run_parley(
        &["token", "create", "ann", "--name", "t", "--data-dir", dir],
        "",
    );
    assert!(created.status.success());
    let token = String::from_utf8_lossy(&created.stdout)
        .lines()
        .rev()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .expect("the token is printed")
        .to_owned();

    let server = start_parley(data.path(), &["--auth", "accounts"]);
    let url = server.url.as_str();
    let (status, mine) = get(url, "/api/rooms", &token);
    assert_eq!(status, 200);
    assert_eq!(mine["rooms"], json!([]), "ann is in no room yet");

    let (status, all) = get(url, "/api/rooms?all=1", &token);
    assert_eq!(status, 200);
    let rooms = all["rooms"].as_array().expect("a list of rooms");
    let summary: Vec<(&str, &str, bool)> = rooms
        .iter()
        .map(|room| {
            (
                room["id"].as_str().unwrap(),
                room["kind"].as_str().unwrap(),
                room["member"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [("team", "open", false), ("ops.night", "open", false)],
        "most recent activity first"
    );
    assert_eq!(rooms[0]["last_message"]["text"], "second");
    assert_eq!(rooms[0]["name"], "team");

    let (status, history) = get(url, "/api/rooms/team/messages", &token);
    assert_eq!(status, 200);
    let texts: Vec<&str> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["hello team", "second"]);

    let bearer = format!("Bearer {token}");
    let (status, sent) = post(
        url,
        "/api/rooms/team/messages",
        &[("Authorization", &bearer)],
        json!({"text": "I am here now"}),
    );
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["message"]["user"], "ann");
    let (_, mine) = get(url, "/api/rooms", &token);
    assert_eq!(mine["rooms"][0]["id"], "team", "sending made ann a member");
    assert_eq!(mine["rooms"][0]["member"], true);
    assert_eq!(
        mine["rooms"][0]["unread"], 0,
        "what was there before she came is not unread"
    );
}
