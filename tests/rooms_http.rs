//! Rooms over HTTP in accounts mode (TEAM-CHAT.md, "Rooms, membership, direct
//! messages" and "Presence, read markers, unread"): `GET /api/rooms` lists my rooms,
//! DMs included, most recent activity first, and `?all=1` adds the open rooms I am not
//! in; a non-member's `GET`/`POST /api/rooms/{room}/messages` on a closed room or a DM
//! is 403 and shows and stores nothing; `GET /api/users` says who is online, through
//! the 10 s grace; rooms, members and read markers survive a restart. The rooms are
//! made by the official JS client (tests/js/rooms.mjs `seed`), since only Socket.IO
//! creates them; `--auth open` answers as before. (A directory from before rooms:
//! tests/rooms_migration.rs.)

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::team::{ACCOUNTS, add_team};
use support::{
    Client, HttpReply, Script, ServerProcess, http, restart_parley, run_client, start_parley,
};

/// How long a user stays online after their last socket went.
const GRACE: Duration = Duration::from_secs(10);

/// A server in accounts mode with admin alice and members bob, carol and dave, and
/// each one's API token (a JSON object, as tests/js/rooms.mjs takes them).
struct Team {
    _data: tempfile::TempDir,
    server: ServerProcess,
    tokens: Value,
}

impl Team {
    fn start() -> Team {
        let data = tempfile::tempdir().expect("temporary directory");
        let tokens = add_team(data.path(), &["alice", "bob", "carol", "dave"], &[]);
        let server = start_parley(data.path(), &ACCOUNTS);
        Team {
            _data: data,
            server,
            tokens,
        }
    }

    /// Stops the server (SIGTERM) and starts it again on the same data and address.
    fn restart(self) -> Team {
        let Team {
            _data,
            server,
            tokens,
        } = self;
        let url = server.url.clone();
        assert!(server.terminate().success(), "parley stops cleanly");
        let server = restart_parley(&url, _data.path(), &ACCOUNTS);
        Team {
            _data,
            server,
            tokens,
        }
    }

    /// Runs the `seed` scenario: closed `plans` (bob, carol) holding "plans text",
    /// which carol has read, the DM `dm:bob:carol` holding "dm text", open `lobby`
    /// (bob) with "lobby text", the latest, and open `garden` (carol only, no
    /// messages).
    fn seeded() -> Team {
        let team = Team::start();
        let out = run_client(
            Client::Node,
            "rooms.mjs",
            &[&team.server.url, "seed", &team.tokens.to_string()],
        );
        assert!(out.contains("ok seed"), "{out}");
        team
    }

    /// A request as `user`, by API token.
    fn call(&self, user: &str, method: &str, path: &str, payload: Option<Value>) -> HttpReply {
        let token = self.tokens[user].as_str().expect("a token per user");
        let bearer = format!("Bearer {token}");
        let body = payload
            .map(|p| p.to_string().into_bytes())
            .unwrap_or_default();
        let headers = [
            ("Authorization", bearer.as_str()),
            ("Content-Type", "application/json"),
        ];
        http(&self.server.url, method, path, &headers, &body)
    }

    fn get(&self, user: &str, path: &str) -> (u16, Value) {
        let reply = self.call(user, "GET", path, None);
        (reply.status, parsed(&reply))
    }

    /// `GET /api/rooms{query}` as `user`: the rooms, each checked for its fields.
    fn rooms(&self, user: &str, query: &str) -> Vec<Value> {
        let (status, body) = self.get(user, &format!("/api/rooms{query}"));
        assert_eq!(status, 200, "{user}: GET /api/rooms{query}: {body}");
        let rooms = body["rooms"].as_array().expect("rooms is an array").clone();
        for room in &rooms {
            for field in [
                "id",
                "name",
                "kind",
                "member",
                "unread",
                "mentions",
                "last_message",
                "read_marker",
            ] {
                assert!(room.get(field).is_some(), "{room} lacks {field}");
            }
            let listed = room.get("members").is_some();
            assert_eq!(
                listed,
                room["kind"] != "open",
                "members only for closed and direct: {room}"
            );
        }
        rooms
    }

    /// Whether `GET /api/users` (asked by alice) says `user` is online.
    fn online(&self, user: &str) -> bool {
        let (status, body) = self.get("alice", "/api/users");
        assert_eq!(status, 200, "GET /api/users: {body}");
        let users = body["users"].as_array().expect("users is an array");
        let found = users.iter().find(|u| u["username"] == user);
        let found = found.unwrap_or_else(|| panic!("{user} is not in {body}"));
        for field in ["username", "name", "role", "online"] {
            assert!(found.get(field).is_some(), "{found} lacks {field}");
        }
        found["online"]
            .as_bool()
            .unwrap_or_else(|| panic!("online is not a boolean: {found}"))
    }
}

fn parsed(reply: &HttpReply) -> Value {
    serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("{e}: {:?}", reply.body))
}

fn ids(rooms: &[Value]) -> Vec<&str> {
    rooms
        .iter()
        .map(|r| r["id"].as_str().expect("an id"))
        .collect()
}

fn assert_forbidden(reply: &HttpReply, what: &str) {
    assert_eq!(reply.status, 403, "{what}: {}", reply.body);
    assert_eq!(
        parsed(reply)["error"]["code"],
        "forbidden",
        "{what}: {}",
        reply.body
    );
    for secret in ["plans text", "dm text"] {
        assert!(
            !reply.body.contains(secret),
            "{what} leaks {secret}: {}",
            reply.body
        );
    }
}

#[test]
fn outsiders_get_403_from_closed_rooms_and_dms_and_store_nothing() {
    let team = Team::seeded();
    for room in ["plans", "dm:bob:carol"] {
        let path = format!("/api/rooms/{room}/messages");
        assert_forbidden(
            &team.call("dave", "GET", &path, None),
            &format!("dave GET {path}"),
        );
        let post = team.call("dave", "POST", &path, Some(json!({"text": "let me in"})));
        assert_forbidden(&post, &format!("dave POST {path}"));
        let paged = format!("{path}?limit=200");
        assert_forbidden(&team.call("dave", "GET", &paged, None), "a paged GET");
        let (status, body) = team.get("carol", &path);
        assert_eq!(status, 200, "a member reads {path}: {body}");
        let texts: Vec<&str> = body["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| m["text"].as_str().unwrap())
            .collect();
        assert!(
            !texts.contains(&"let me in"),
            "an outsider's POST was stored: {body}"
        );
        assert_eq!(texts.len(), 1, "{body}");
    }
    // An admin reads a closed room, never a DM.
    let (status, body) = team.get("alice", "/api/rooms/plans/messages");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["messages"][0]["text"], "plans text", "{body}");
    assert_forbidden(
        &team.call("alice", "GET", "/api/rooms/dm:bob:carol/messages", None),
        "an admin's GET of a DM",
    );
    let post = team.call(
        "alice",
        "POST",
        "/api/rooms/dm:bob:carol/messages",
        Some(json!({"text": "admin here"})),
    );
    assert_forbidden(&post, "an admin's POST to a DM");
    // A `dm:` id nobody opened cannot be claimed by posting to it.
    let claim = team.call(
        "dave",
        "POST",
        "/api/rooms/dm:alice:dave/messages",
        Some(json!({"text": "mine now"})),
    );
    assert_forbidden(&claim, "POST to an unopened dm: id");
    assert!(
        !ids(&team.rooms("dave", "?all=1")).contains(&"dm:alice:dave"),
        "the claim made a room"
    );
    // Members post over HTTP as before.
    let post = team.call(
        "bob",
        "POST",
        "/api/rooms/plans/messages",
        Some(json!({"text": "over http"})),
    );
    assert_eq!(post.status, 201, "a member's POST: {}", post.body);
}

#[test]
fn get_api_rooms_lists_my_rooms_by_activity_and_all_adds_open_ones() {
    let team = Team::seeded();
    let bob = team.rooms("bob", "");
    assert_eq!(ids(&bob), ["lobby", "dm:bob:carol", "plans"], "{bob:?}");
    let plans = &bob[2];
    assert_eq!(plans["name"], "Plans");
    assert_eq!(plans["kind"], "closed");
    assert_eq!(plans["members"], json!(["bob", "carol"]));
    assert_eq!(plans["member"], true);
    assert_eq!(plans["last_message"]["text"], "plans text");
    assert_eq!(plans["unread"], 0, "his own message is not unread: {plans}");
    let dm = &bob[1];
    assert_eq!(dm["kind"], "direct");
    assert_eq!(dm["members"], json!(["bob", "carol"]));
    assert_eq!(
        (dm["unread"].as_u64(), dm["mentions"].as_u64()),
        (Some(1), Some(0)),
        "{dm}"
    );
    assert_eq!(bob[0]["kind"], "open");

    let all = team.rooms("bob", "?all=1");
    let garden = all.iter().find(|r| r["id"] == "garden");
    let garden = garden.unwrap_or_else(|| panic!("?all=1 lacks garden: {all:?}"));
    assert_eq!(garden["member"], false, "{garden}");
    for id in ids(&bob) {
        let mine = all.iter().find(|r| r["id"] == id).expect("my rooms stay");
        assert_eq!(mine["member"], true, "{mine}");
    }

    // An outsider: none of his own, the open ones with ?all=1, never closed or direct.
    assert!(team.rooms("dave", "").is_empty());
    let mut open = ids(&team.rooms("dave", "?all=1"))
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    open.sort();
    assert_eq!(open, ["garden", "lobby"]);

    // Posting to an open room makes the poster a member, as sending over a socket does.
    let post = team.call(
        "dave",
        "POST",
        "/api/rooms/garden/messages",
        Some(json!({"text": "hello garden"})),
    );
    assert_eq!(post.status, 201, "{}", post.body);
    let dave = team.rooms("dave", "");
    assert_eq!(ids(&dave), ["garden"], "{dave:?}");
    assert_eq!(dave[0]["member"], true);
    assert_eq!(dave[0]["last_message"]["text"], "hello garden");

    let anonymous = http(&team.server.url, "GET", "/api/rooms", &[], b"");
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
}

#[test]
fn get_api_users_says_who_is_online_through_the_grace() {
    let team = Team::start();
    assert!(!team.online("bob"), "bob has no socket yet");
    let mut bob = Script::spawn(
        Client::Node,
        "rooms.mjs",
        &[&team.server.url, "hold", &team.tokens.to_string(), "bob"],
        &[],
    );
    bob.wait_for("connected bob", Duration::from_secs(30));
    assert!(team.online("bob"));
    assert!(!team.online("carol"), "carol never connected");
    assert!(
        !team.online("alice"),
        "HTTP requests do not make anyone online"
    );

    bob.say("bye");
    bob.finish(Duration::from_secs(30));
    let left = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    assert!(team.online("bob"), "bob must stay online within the grace");
    while team.online("bob") {
        assert!(
            left.elapsed() < GRACE + Duration::from_secs(5),
            "bob still online {:?} after his socket went",
            left.elapsed()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        left.elapsed() >= GRACE - Duration::from_secs(2),
        "bob went offline after {:?}, before the grace",
        left.elapsed()
    );
}

#[test]
fn open_mode_http_messages_are_unchanged() {
    let data = tempfile::tempdir().expect("temporary directory");
    let server = start_parley(data.path(), &["--auth", "open"]);
    let post = http(
        &server.url,
        "POST",
        "/api/rooms/lobby/messages",
        &[("Content-Type", "application/json")],
        json!({"text": "as before", "sender": "Zed"})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(post.status, 201, "{}", post.body);
    let get = http(&server.url, "GET", "/api/rooms/lobby/messages", &[], b"");
    assert_eq!(get.status, 200, "{}", get.body);
    assert_eq!(
        parsed(&get)["messages"][0]["text"],
        "as before",
        "{}",
        get.body
    );
}

/// What the room list shows of a user's rooms: id, members, unread, mentions, read
/// marker and the latest message's id.
fn summary(rooms: &[Value]) -> Vec<Value> {
    rooms
        .iter()
        .map(|r| {
            json!([
                r["id"],
                r["kind"],
                r["members"],
                r["unread"],
                r["mentions"],
                r["read_marker"],
                r["last_message"]["id"]
            ])
        })
        .collect()
}

#[test]
fn rooms_members_and_read_markers_survive_a_restart() {
    let team = Team::seeded();
    let before: Vec<Vec<Value>> = ["alice", "bob", "carol", "dave"]
        .map(|user| summary(&team.rooms(user, "?all=1")))
        .to_vec();
    let carol = team.rooms("carol", "");
    let plans = carol
        .iter()
        .find(|r| r["id"] == "plans")
        .expect("carol's plans");
    assert_eq!(
        (plans["unread"].as_u64(), plans["mentions"].as_u64()),
        (Some(0), Some(0)),
        "{plans}"
    );
    assert!(
        plans["read_marker"].as_u64() > Some(0),
        "carol read plans: {plans}"
    );

    let team = team.restart();
    let after: Vec<Vec<Value>> = ["alice", "bob", "carol", "dave"]
        .map(|user| summary(&team.rooms(user, "?all=1")))
        .to_vec();
    assert_eq!(after, before);
    assert_forbidden(
        &team.call("dave", "GET", "/api/rooms/plans/messages", None),
        "dave after a restart",
    );
    assert_forbidden(
        &team.call("alice", "GET", "/api/rooms/dm:bob:carol/messages", None),
        "an admin's GET of a DM after a restart",
    );
    let claim = team.call(
        "dave",
        "POST",
        "/api/rooms/dm:bob:dave/messages",
        Some(json!({"text": "mine"})),
    );
    assert_forbidden(&claim, "a claim of an unopened dm: id after a restart");
}
