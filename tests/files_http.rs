//! Files sent with messages, as HTTP clients and the other members see them
//! (TEAM-CHAT.md, "Files"; issue 15): uploads as a raw body or a multipart form, the
//! message that carries them reaching another member's socket (the official clients)
//! and the history, byte-exact downloads with the headers that keep a browser safe,
//! thumbnails, who may download, `--max-upload`, a decompression bomb, a corrupt image,
//! retries, one stored copy per content kept until no message refers to it, export and
//! import, open mode, and the races of an upload against a delete and against itself.
//!
//! Each test has its own server on a copy of one data directory holding the team (admin
//! alice, members bob, carol and dave, made once with the CLI). Messages are deleted,
//! rooms created and `message` events heard through tests/js/files.mjs, a member's
//! socket driven line by line.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::team::{ACCOUNTS, PASSWORD, Team, parley_in};
use support::{Client, Script, ServerProcess, run_client, start_parley};

/// Admin alice, then the members.
const TEAM: [&str; 4] = ["alice", "bob", "carol", "dave"];
/// The open room most tests send to.
const ROOM: &str = "general";
/// How long a change made off the request's path (a deleted message's files going)
/// may take to show.
const SETTLE: Duration = Duration::from_secs(5);
/// What the contract names as the largest image: 50 megapixels.
const MAX_PIXELS: u64 = 50_000_000;

// ------------------------------------------------------------------ the team

/// The team, made once per test binary.
fn team() -> &'static Team {
    Team::shared(&TEAM, &[])
}

fn token(user: &str) -> &'static str {
    team().token(user)
}

/// A server in accounts mode with `extra` flags on a copy of the team's data, which
/// goes with the returned directory.
fn team_server(extra: &[&str]) -> (tempfile::TempDir, ServerProcess) {
    let (data, server, _) = team().server(extra);
    (data, server)
}

// ------------------------------------------------------------------ plain HTTP

/// An answer as a client sees it, its body as bytes.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The error code of a refusal.
    fn code(&self) -> Value {
        self.json()["error"]["code"].clone()
    }

    /// Asserts a 201 or 200 with a message and returns the message.
    fn message(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.text());
        let message = self.json()["message"].clone();
        assert!(message.is_object(), "{}", self.text());
        message
    }
}

/// Sends `head` (the request line and headers, without the blank line), then `body`,
/// on a fresh connection, and reads the answer. A server may answer and close before
/// taking the whole body (a refused upload): a failed write is then no failure, the
/// answer is what counts.
fn exchange(url: &str, head: &str, body: &[u8]) -> Reply {
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("server reachable");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut request = format!("{head}Host: {address}\r\nConnection: close\r\n\r\n").into_bytes();
    request.extend_from_slice(body);
    let _ = stream.write_all(&request);
    let mut raw = Vec::new();
    // A reset after the answer arrived (the server closed with our body unread) ends
    // the read with an error; what came before it is the answer.
    let mut chunk = [0u8; 64 * 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
        }
    }
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> Reply {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no answer head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers.iter().any(|(name, value)| {
        name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = unchunk(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn unchunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = raw.windows(2).position(|w| w == b"\r\n") else {
            return body;
        };
        let size = std::str::from_utf8(&raw[..line_end])
            .ok()
            .and_then(|size| usize::from_str_radix(size.split(';').next()?.trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            return body;
        }
        let start = line_end + 2;
        body.extend_from_slice(&raw[start..start + size]);
        raw = &raw[start + size + 2..];
    }
}

/// `METHOD path` with `headers` and `body` (its Content-Length given).
fn request(url: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    exchange(url, &head, body)
}

fn bearer(user: &str) -> String {
    format!("Bearer {}", token(user))
}

/// `GET path` as `user` (no credentials for `None`).
fn get(server: &ServerProcess, user: Option<&str>, path: &str) -> Reply {
    match user {
        Some(user) => request(
            &server.url,
            "GET",
            path,
            &[("Authorization", &bearer(user))],
            b"",
        ),
        None => request(&server.url, "GET", path, &[], b""),
    }
}

/// Percent-encodes a query value or a path segment.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// An upload of `content` as the raw body to `room` by `user` (none in open mode),
/// with `query` after `?name=NAME`.
fn upload_raw(
    server: &ServerProcess,
    user: Option<&str>,
    room: &str,
    name: &str,
    content_type: &str,
    query: &str,
    content: &[u8],
) -> Reply {
    let path = format!(
        "/api/rooms/{}/files?name={}{query}",
        encode(room),
        encode(name)
    );
    let auth = user.map(bearer);
    let mut headers = vec![("Content-Type", content_type)];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth));
    }
    request(&server.url, "POST", &path, &headers, content)
}

/// bob's upload to ROOM as a raw body.
fn bob_uploads(server: &ServerProcess, name: &str, content_type: &str, content: &[u8]) -> Reply {
    upload_raw(server, Some("bob"), ROOM, name, content_type, "", content)
}

/// A `multipart/form-data` body: the text `fields`, then the file; and its type.
fn form(fields: &[(&str, &str)], name: &str, file_type: &str, content: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----parley-test-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (field, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {file_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// An upload of a multipart form to `room` by `user`.
fn upload_form(
    server: &ServerProcess,
    user: &str,
    room: &str,
    fields: &[(&str, &str)],
    name: &str,
    file_type: &str,
    content: &[u8],
) -> Reply {
    let (content_type, body) = form(fields, name, file_type, content);
    request(
        &server.url,
        "POST",
        &format!("/api/rooms/{}/files", encode(room)),
        &[
            ("Authorization", &bearer(user)),
            ("Content-Type", &content_type),
        ],
        &body,
    )
}

/// Uploads each of `contents` as the raw body of its own request by `user`, all
/// released at the same moment; the messages, in the order of `contents`.
fn upload_at_once(server: &ServerProcess, user: &str, contents: Vec<Vec<u8>>) -> Vec<Value> {
    let start = Arc::new(Barrier::new(contents.len()));
    let path = format!("/api/rooms/{ROOM}/files?name=same.bin");
    let senders: Vec<_> = contents
        .into_iter()
        .map(|content| {
            let (url, path, auth, start) = (
                server.url.clone(),
                path.clone(),
                bearer(user),
                start.clone(),
            );
            std::thread::spawn(move || {
                let headers = [
                    ("Authorization", auth.as_str()),
                    ("Content-Type", "application/octet-stream"),
                ];
                start.wait();
                request(&url, "POST", &path, &headers, &content).message(201)
            })
        })
        .collect();
    senders
        .into_iter()
        .map(|sender| sender.join().expect("an upload thread"))
        .collect()
}

/// The one file a message carries.
fn file_of(message: &Value) -> &Value {
    let files = message["files"].as_array().expect("the message has files");
    assert_eq!(files.len(), 1, "{message}");
    &files[0]
}

fn file_path(file: &Value) -> String {
    format!(
        "/files/{}/{}",
        file["id"].as_str().expect("a file id"),
        encode(file["name"].as_str().expect("a file name"))
    )
}

fn thumb_path(file: &Value) -> String {
    format!("/files/{}/thumb", file["id"].as_str().expect("a file id"))
}

/// The messages of `room` as `user` reads them over HTTP.
fn history(server: &ServerProcess, user: &str, room: &str) -> Vec<Value> {
    let reply = get(
        server,
        Some(user),
        &format!("/api/rooms/{}/messages?limit=200", encode(room)),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()["messages"]
        .as_array()
        .expect("a list of messages")
        .clone()
}

/// A gauge of /metrics.
fn metric(server: &ServerProcess, name: &str) -> u64 {
    let reply = get(server, None, "/metrics");
    assert_eq!(reply.status, 200, "{}", reply.text());
    let text = reply.text();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}")) as u64
}

/// Polls `look` until what it sees is `done` (bounded), and returns the last look: a
/// test asserts on it, so that what never settled is shown.
fn settled<T>(mut look: impl FnMut() -> T, done: impl Fn(&T) -> bool) -> T {
    let deadline = Instant::now() + SETTLE;
    loop {
        let seen = look();
        if done(&seen) || Instant::now() > deadline {
            return seen;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Polls `check` until it holds (bounded), then returns; panics naming `what`.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + SETTLE;
    while !check() {
        assert!(Instant::now() < deadline, "not within {SETTLE:?}: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ------------------------------------------------------------------ the data directory

/// Asserts `reply` is the refusal `status` with the error `code`.
fn assert_refused(reply: &Reply, status: u16, code: &str, what: &str) {
    assert_eq!(
        (reply.status, reply.code()),
        (status, json!(code)),
        "{what}: {}",
        reply.text()
    );
}

/// Asserts a refused upload left nothing: no content stored, no message in ROOM as
/// `reader` reads it.
fn assert_nothing_kept(server: &ServerProcess, data: &Path, reader: &str) {
    assert_eq!(contents(data), Vec::<PathBuf>::new(), "nothing stored");
    assert_eq!(
        history(server, reader, ROOM),
        Vec::<Value>::new(),
        "nothing sent"
    );
}

/// The stored contents under DATA/files (thumbnails and half-written files left out).
fn contents(data: &Path) -> Vec<PathBuf> {
    walk(&data.join("files"))
        .into_iter()
        .filter(|path| !path.components().any(|part| part.as_os_str() == "thumbs"))
        .collect()
}

/// The thumbnails under DATA/files/thumbs.
fn thumbnails(data: &Path) -> Vec<PathBuf> {
    walk(&data.join("files").join("thumbs"))
}

/// The files under `dir` (none when it does not exist), without hidden ones.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else if !path
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with('.'))
        {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// What is left of files once no message carries any: the contents, the thumbnails
/// and parley_file_bytes, polled (bounded) until all are gone, since a deleted
/// message's files go after its delete is acknowledged.
fn leftovers(server: &ServerProcess, data: &Path) -> (Vec<PathBuf>, Vec<PathBuf>, u64) {
    settled(
        || {
            (
                contents(data),
                thumbnails(data),
                metric(server, "parley_file_bytes"),
            )
        },
        |seen| *seen == (vec![], vec![], 0),
    )
}

/// The answer of [`leftovers`] when nothing is left.
const NOTHING_LEFT: (Vec<PathBuf>, Vec<PathBuf>, u64) = (Vec::new(), Vec::new(), 0);

fn on_disk_bytes(data: &Path) -> u64 {
    contents(data)
        .iter()
        .map(|path| std::fs::metadata(path).unwrap().len())
        .sum()
}

// ------------------------------------------------------------------ contents

/// Every byte value, `times` over, then `salt`: binary no text decoder survives.
fn all_bytes(times: usize, salt: &[u8]) -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..=255u8).cycle().take(256 * times).collect();
    bytes.extend_from_slice(salt);
    bytes
}

fn picture(width: u32, height: u32, seed: u8) -> image::RgbImage {
    image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, seed])
    })
}

fn encoded(image: &image::RgbImage, format: image::ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut bytes), format)
        .unwrap();
    bytes
}

/// A PNG of `width`×`height`, different for each `seed`. Compressed fast: the tests
/// are built without optimisation, where the default level takes seconds for a large
/// image.
fn png(width: u32, height: u32, seed: u8) -> Vec<u8> {
    use image::ImageEncoder as _;
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let mut bytes = Vec::new();
    PngEncoder::new_with_quality(&mut bytes, CompressionType::Fast, FilterType::NoFilter)
        .write_image(
            &picture(width, height, seed),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    bytes
}

/// A 1×1 PNG whose header (with a checksum that matches) claims 60000×60000 pixels:
/// 3.6 gigapixels, about 10 GB decoded.
fn bomb() -> Vec<u8> {
    let mut bomb = png(1, 1, 0);
    assert_eq!(&bomb[12..16], b"IHDR");
    bomb[16..20].copy_from_slice(&60_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&60_000u32.to_be_bytes());
    let crc = crc32fast::hash(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    bomb
}

/// The width, height and format of an image, read by the image crate.
fn measure(bytes: &[u8]) -> (u32, u32, image::ImageFormat) {
    let format = image::guess_format(bytes).expect("an image");
    let decoded = image::load_from_memory(bytes).expect("a readable image");
    (decoded.width(), decoded.height(), format)
}

/// The keys of a JSON object, sorted.
fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

// ------------------------------------------------------------------ a member's socket

/// A member's socket (tests/js/files.mjs), told what to do a line at a time; each
/// command answers with one line that starts with its name.
struct Member {
    script: Script,
}

impl Member {
    fn connect(server: &ServerProcess, user: &str) -> Member {
        let mut script = Script::spawn(
            Client::Node,
            "files.mjs",
            &[&server.url, "watch", token(user)],
            &[],
        );
        script.wait_for("ready", Duration::from_secs(15));
        Member { script }
    }

    /// Runs `command` and returns what its answer says after the command's name.
    fn run(&mut self, command: &str) -> String {
        let name = command.split_whitespace().next().expect("a command");
        self.script.say(command);
        let line = self
            .script
            .wait_for(&format!("{name} "), Duration::from_secs(15));
        line[name.len() + 1..].to_owned()
    }

    fn join(&mut self, room: &str) {
        self.run(&format!("join {room}"));
    }

    /// Deletes message `id` of `room` and returns the ack.
    fn delete(&mut self, room: &str, id: &Value) -> Value {
        let answer = self.run(&format!("delete {room} {id}"));
        let (_, ack) = answer.split_once(' ').expect("an id and an ack");
        serde_json::from_str(ack).expect("the ack is JSON")
    }

    /// Every `message` event so far, once there are at least `count`.
    fn messages(&mut self, count: usize) -> Vec<Value> {
        serde_json::from_str(&self.run(&format!("messages {count}"))).expect("JSON")
    }
}

fn assert_deleted(ack: &Value) {
    assert_eq!(ack, &json!({"ok": true}), "delete_message is acknowledged");
}

// ------------------------------------------------------------------ uploads

#[test]
fn raw_and_multipart_uploads_become_messages_that_members_hear_and_read() {
    let (_data, server) = team_server(&[]);
    let mut carol = Member::connect(&server, "carol");
    carol.join(ROOM);

    // The raw body, with a client_id and no caption: the text is the file's name.
    let binary = all_bytes(4, b"raw");
    let raw = upload_raw(
        &server,
        Some("bob"),
        ROOM,
        "all-bytes.bin",
        "application/octet-stream",
        "&client_id=raw-1",
        &binary,
    )
    .message(201);
    assert_eq!(raw["room"], ROOM, "{raw}");
    assert_eq!(raw["user"], "bob", "{raw}");
    assert_eq!(raw["text"], "all-bytes.bin", "{raw}");
    assert_eq!(raw["client_id"], "raw-1", "{raw}");
    let file = file_of(&raw);
    assert_eq!(keys(file), ["id", "mime", "name", "size"], "{file}");
    assert_eq!(file["name"], "all-bytes.bin");
    assert_eq!(file["size"], binary.len());
    assert_eq!(file["mime"], "application/octet-stream");
    let id = file["id"].as_str().unwrap();
    assert!(
        id.len() >= 16 && id.bytes().all(|b| b.is_ascii_alphanumeric()),
        "an id that fits a URL: {id}"
    );

    // A multipart form, as a browser sends it, with a caption and a client_id.
    let image = png(300, 200, 1);
    let captioned = upload_form(
        &server,
        "bob",
        ROOM,
        &[("text", "the chart, as promised"), ("client_id", "form-1")],
        "chart.png",
        "image/png",
        &image,
    )
    .message(201);
    assert_eq!(captioned["text"], "the chart, as promised", "{captioned}");
    assert_eq!(captioned["client_id"], "form-1", "{captioned}");
    let picture = file_of(&captioned);
    assert_eq!(
        keys(picture),
        ["height", "id", "mime", "name", "size", "width"],
        "{picture}"
    );
    assert_eq!(
        (
            &picture["name"],
            &picture["size"],
            &picture["mime"],
            &picture["width"],
            &picture["height"]
        ),
        (
            &json!("chart.png"),
            &json!(image.len()),
            &json!("image/png"),
            &json!(300),
            &json!(200)
        ),
        "{picture}"
    );
    assert_ne!(picture["id"], file["id"]);

    // Another member's socket hears both, exactly as the uploader was answered; the
    // history has them; the downloads are the uploads, byte for byte.
    assert_eq!(carol.messages(2), [raw.clone(), captioned.clone()]);
    assert_eq!(
        history(&server, "carol", ROOM),
        [raw.clone(), captioned.clone()]
    );
    let got = get(&server, Some("carol"), &file_path(file));
    assert_eq!(got.status, 200, "{}", got.text());
    assert!(got.body == binary, "the binary comes back byte for byte");
    assert_eq!(
        got.header("Content-Length"),
        Some(binary.len().to_string().as_str())
    );
    let got = get(&server, Some("carol"), &file_path(picture));
    assert_eq!(got.status, 200, "{}", got.text());
    assert!(got.body == image, "the PNG comes back byte for byte");

    // A form with the caption and client_id in the query string instead, and an empty
    // file.
    let (content_type, body) = form(&[], "empty.txt", "text/plain", b"");
    let empty = request(
        &server.url,
        "POST",
        &format!("/api/rooms/{ROOM}/files?text=nothing%20in%20it&client_id=form-2"),
        &[
            ("Authorization", &bearer("bob")),
            ("Content-Type", &content_type),
        ],
        &body,
    )
    .message(201);
    assert_eq!(
        (&empty["text"], &empty["client_id"]),
        (&json!("nothing in it"), &json!("form-2"))
    );
    assert_eq!(file_of(&empty)["size"], 0);
    let got = get(&server, Some("carol"), &file_path(file_of(&empty)));
    assert_eq!((got.status, got.body.len()), (200, 0), "{}", got.text());
}

#[test]
fn uploads_that_are_not_files_are_refused() {
    let (data, server) = team_server(&[]);
    // A raw body needs a name; a form needs a part with a filename; names are names.
    let nameless = request(
        &server.url,
        "POST",
        &format!("/api/rooms/{ROOM}/files"),
        &[("Authorization", &bearer("bob"))],
        b"bytes",
    );
    assert_eq!(
        (nameless.status, nameless.code()),
        (400, json!("invalid")),
        "{}",
        nameless.text()
    );
    let boundary = "only-words";
    let fileless = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nonly words\r\n--{boundary}--\r\n"
    );
    let reply = request(
        &server.url,
        "POST",
        &format!("/api/rooms/{ROOM}/files"),
        &[
            ("Authorization", &bearer("bob")),
            (
                "Content-Type",
                &format!("multipart/form-data; boundary={boundary}"),
            ),
        ],
        fileless.as_bytes(),
    );
    assert_refused(&reply, 400, "invalid", "the upload");
    for name in ["../../etc/passwd", "a\\b", ".."] {
        let reply = bob_uploads(&server, name, "text/plain", b"x");
        assert_refused(&reply, 400, "invalid", name);
    }
    let get_instead = get(
        &server,
        Some("bob"),
        &format!("/api/rooms/{ROOM}/files?name=x"),
    );
    assert_eq!(get_instead.status, 405, "{}", get_instead.text());
    let anonymous = upload_raw(&server, None, ROOM, "x.txt", "text/plain", "", b"x");
    assert_eq!(
        (anonymous.status, anonymous.code()),
        (401, json!("unauthorized"))
    );
    assert_nothing_kept(&server, data.path(), "bob");
}

// ------------------------------------------------------------------ downloads

#[test]
fn downloads_carry_their_type_disposition_nosniff_and_a_sandbox() {
    let (_data, server) = team_server(&[]);
    let send = |name: &str, content_type: &str, content: &[u8]| -> Value {
        let message = bob_uploads(&server, name, content_type, content).message(201);
        file_of(&message).clone()
    };
    let check = |file: &Value, content: &[u8], mime: &str, disposition: &str| {
        let got = get(&server, Some("carol"), &file_path(file));
        assert_eq!(got.status, 200, "{}: {}", file["name"], got.text());
        assert!(got.body == content, "{}: byte for byte", file["name"]);
        assert_eq!(got.header("Content-Type"), Some(mime), "{file}");
        assert_eq!(
            got.header("X-Content-Type-Options"),
            Some("nosniff"),
            "{file}"
        );
        assert_eq!(
            got.header("Content-Security-Policy"),
            Some("sandbox"),
            "{file}"
        );
        let header = got.header("Content-Disposition").unwrap_or_default();
        assert!(header.starts_with(disposition), "{file}: {header}");
        header.to_owned()
    };

    // Images are known by their bytes, whatever the sender said, and shown inline.
    let image = png(40, 30, 2);
    let sent_png = send("picture.png", "application/octet-stream", &image);
    assert_eq!(
        (&sent_png["mime"], &sent_png["width"]),
        (&json!("image/png"), &json!(40))
    );
    let header = check(&sent_png, &image, "image/png", "inline");
    assert!(header.contains("filename*=UTF-8''picture.png"), "{header}");
    let jpeg = encoded(&picture(64, 48, 3), image::ImageFormat::Jpeg);
    let sent_jpeg = send("photo", "text/plain", &jpeg);
    assert_eq!(
        (&sent_jpeg["mime"], &sent_jpeg["height"]),
        (&json!("image/jpeg"), &json!(48))
    );
    check(&sent_jpeg, &jpeg, "image/jpeg", "inline");
    let gif = encoded(&picture(16, 8, 4), image::ImageFormat::Gif);
    let sent_gif = send("anim.gif", "image/gif", &gif);
    assert_eq!(sent_gif["mime"], "image/gif");
    check(&sent_gif, &gif, "image/gif", "inline");

    // Everything else is an attachment: a PDF named in Cyrillic, HTML, an SVG (which
    // can hold scripts), and HTML that claims to be a PNG.
    let pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";
    let sent_pdf = send("отчёт 1.pdf", "application/pdf", pdf);
    assert_eq!(sent_pdf["name"], "отчёт 1.pdf");
    let header = check(&sent_pdf, pdf, "application/pdf", "attachment");
    assert!(
        header.contains("filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82%201.pdf"),
        "the name as RFC 5987 says: {header}"
    );
    let html = b"<!doctype html><script>parent.stolen = document.cookie</script>";
    let sent_html = send("page.html", "text/html", html);
    let got = get(&server, Some("carol"), &file_path(&sent_html));
    assert_ne!(got.header("Content-Type"), Some("image/png"));
    check(
        &sent_html,
        html,
        got.header("Content-Type").unwrap(),
        "attachment",
    );
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
    let sent_svg = send("logo.svg", "image/svg+xml", svg);
    assert!(
        sent_svg.get("width").is_none(),
        "an SVG is not measured: {sent_svg}"
    );
    check(&sent_svg, svg, "image/svg+xml", "attachment");
    let liar = send("innocent.png", "image/png", html);
    assert!(liar.get("width").is_none(), "HTML is no image: {liar}");
    let got = get(&server, Some("carol"), &file_path(&liar));
    check(
        &liar,
        html,
        got.header("Content-Type").unwrap(),
        "attachment",
    );

    // The name in the path does not matter; HEAD answers the same headers.
    let got = get(
        &server,
        Some("carol"),
        &format!("/files/{}/whatever", sent_pdf["id"].as_str().unwrap()),
    );
    assert!(got.status == 200 && got.body == pdf, "{}", got.text());
    let head = request(
        &server.url,
        "HEAD",
        &file_path(&sent_png),
        &[("Authorization", &bearer("carol"))],
        b"",
    );
    assert_eq!(head.status, 200);
    assert_eq!(head.header("X-Content-Type-Options"), Some("nosniff"));
    assert_eq!(head.header("Content-Security-Policy"), Some("sandbox"));
}

#[test]
fn only_those_who_may_read_the_room_download_its_files() {
    let (data, server) = team_server(&[]);
    let mut bob = Member::connect(&server, "bob");
    bob.run("create secret carol");
    let dm = bob.run("dm carol");
    assert_eq!(dm, "dm:bob:carol");

    let send = |room: &str, name: &str, content: &[u8]| -> Value {
        let message = upload_raw(
            &server,
            Some("bob"),
            room,
            name,
            "application/octet-stream",
            "",
            content,
        )
        .message(201);
        file_of(&message).clone()
    };
    let open = send(ROOM, "open.bin", b"for everyone");
    let closed_image = png(20, 20, 5);
    let closed = send("secret", "plan-for-world-domination.png", &closed_image);
    let direct = send(&dm, "just-for-carol.txt", b"between us");

    let status = |user: Option<&str>, path: &str| {
        let reply = get(&server, user, path);
        assert!(
            !reply.text().contains("world-domination") || reply.status == 200,
            "a refusal names the file: {}",
            reply.text()
        );
        (
            reply.status,
            if reply.status == 200 {
                json!(null)
            } else {
                reply.code()
            },
        )
    };
    let ok = (200, json!(null));
    let unauthorized = (401, json!("unauthorized"));
    let forbidden = (403, json!("forbidden"));
    let not_found = (404, json!("not_found"));

    for file in [&open, &closed, &direct] {
        assert_eq!(status(None, &file_path(file)), unauthorized, "{file}");
        assert_eq!(status(None, &thumb_path(file)), unauthorized, "{file}");
    }
    let wrong = request(
        &server.url,
        "GET",
        &file_path(&open),
        &[("Authorization", "Bearer not-a-token")],
        b"",
    );
    assert_eq!(wrong.status, 401, "{}", wrong.text());

    // dave is in none of them; alice is an admin, who reads closed rooms but not
    // others' direct messages.
    assert_eq!(status(Some("dave"), &file_path(&open)), ok);
    assert_eq!(status(Some("dave"), &file_path(&closed)), forbidden);
    assert_eq!(status(Some("dave"), &thumb_path(&closed)), forbidden);
    assert_eq!(status(Some("dave"), &file_path(&direct)), forbidden);
    assert_eq!(status(Some("carol"), &file_path(&closed)), ok);
    assert_eq!(status(Some("carol"), &thumb_path(&closed)), ok);
    assert_eq!(status(Some("carol"), &file_path(&direct)), ok);
    assert_eq!(status(Some("alice"), &file_path(&closed)), ok);
    assert_eq!(status(Some("alice"), &file_path(&direct)), forbidden);
    let got = get(&server, Some("alice"), &file_path(&closed));
    assert!(
        got.body == closed_image,
        "the admin's download is byte-exact"
    );

    // Unknown and malformed ids.
    for path in [
        "/files/00000000000000000000000000000000/x.bin".to_owned(),
        "/files/00000000000000000000000000000000/thumb".to_owned(),
        "/files/not-an-id/x.bin".to_owned(),
        format!("/files/{}", open["id"].as_str().unwrap()),
    ] {
        assert_eq!(status(Some("carol"), &path), not_found, "{path}");
    }

    // Someone who may not read a room may not send it files either; nothing is kept.
    let before = contents(data.path());
    for room in ["secret", dm.as_str()] {
        let reply = upload_raw(
            &server,
            Some("dave"),
            room,
            "intruder.bin",
            "text/plain",
            "",
            b"knock knock",
        );
        assert_eq!(
            (reply.status, reply.code()),
            forbidden,
            "{room}: {}",
            reply.text()
        );
    }
    assert_eq!(
        contents(data.path()),
        before,
        "a refused upload is not stored"
    );

    // The browser's way: the session cookie, as an <img> sends it.
    let signed_in = request(
        &server.url,
        "POST",
        "/api/session",
        &[("Content-Type", "application/json")],
        json!({"username": "carol", "password": PASSWORD})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(signed_in.status, 200, "{}", signed_in.text());
    let cookie = signed_in
        .header("Set-Cookie")
        .and_then(|value| value.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let got = request(
        &server.url,
        "GET",
        &file_path(&closed),
        &[("Cookie", &cookie)],
        b"",
    );
    assert!(
        got.status == 200 && got.body == closed_image,
        "{}",
        got.text()
    );
}

// ------------------------------------------------------------------ limits

#[test]
fn uploads_over_max_upload_are_refused_with_413_and_nothing_is_kept() {
    const LIMIT: usize = 4096;
    let (data, server) = team_server(&["--max-upload", "4096"]);
    let too_large = |reply: &Reply, what: &str| {
        assert_refused(reply, 413, "too_large", what);
        let said = reply.json()["error"]["message"].to_string();
        assert!(
            said.contains("4096"),
            "{what}: the refusal says the limit: {said}"
        );
    };

    let over = all_bytes(16, b"!");
    assert_eq!(over.len(), LIMIT + 1);
    let reply = bob_uploads(&server, "over.bin", "application/octet-stream", &over);
    too_large(&reply, "a raw body one byte over");
    let (content_type, body) = form(
        &[("text", "too big")],
        "over.bin",
        "application/octet-stream",
        &over,
    );
    let reply = request(
        &server.url,
        "POST",
        &format!("/api/rooms/{ROOM}/files"),
        &[
            ("Authorization", &bearer("bob")),
            ("Content-Type", &content_type),
        ],
        &body,
    );
    too_large(&reply, "a form whose file is one byte over");

    // Announced larger than the limit: refused before the body is read, so the answer
    // comes while the client still holds nearly all of it.
    let started = Instant::now();
    let head = format!(
        "POST /api/rooms/{ROOM}/files?name=huge.bin HTTP/1.1\r\nAuthorization: {}\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000000\r\n",
        bearer("bob")
    );
    let reply = exchange(&server.url, &head, &[0u8; 1000]);
    too_large(&reply, "a Content-Length of 100 MB");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered at once"
    );
    // Chunked, with no length announced: refused once the limit is passed.
    let head = format!(
        "POST /api/rooms/{ROOM}/files?name=chunked.bin HTTP/1.1\r\nAuthorization: {}\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n",
        bearer("bob")
    );
    let mut chunked = Vec::new();
    for _ in 0..4 {
        chunked.extend_from_slice(b"800\r\n");
        chunked.extend_from_slice(&[7u8; 0x800]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    too_large(
        &exchange(&server.url, &head, &chunked),
        "a chunked body of 8 KiB",
    );
    assert_nothing_kept(&server, data.path(), "bob");

    // Exactly the limit passes, raw and in a form, and the server goes on.
    let exact = &over[..LIMIT];
    let raw = bob_uploads(&server, "exact.bin", "application/octet-stream", exact).message(201);
    let mut other = exact.to_vec();
    other[0] = 1;
    upload_form(
        &server,
        "bob",
        ROOM,
        &[],
        "exact2.bin",
        "application/octet-stream",
        &other,
    )
    .message(201);
    let got = get(&server, Some("carol"), &file_path(file_of(&raw)));
    assert!(got.status == 200 && got.body == exact, "{}", got.text());
    assert_eq!(contents(data.path()).len(), 2);
    assert_eq!(metric(&server, "parley_file_bytes"), 2 * LIMIT as u64);
    assert_eq!(get(&server, None, "/healthz").status, 200);
}

#[test]
fn the_default_limit_is_25_mib() {
    let data = tempfile::tempdir().expect("temporary directory");
    let server = start_parley(data.path(), &[]);
    let head = |length: usize| {
        format!(
            "POST /api/rooms/{ROOM}/files?name=big.bin&sender=Zed HTTP/1.1\r\nContent-Type: application/octet-stream\r\nContent-Length: {length}\r\n"
        )
    };
    let reply = exchange(&server.url, &head(25 * 1024 * 1024 + 1), b"");
    assert_refused(&reply, 413, "too_large", "the upload");
    // Exactly 25 MiB is taken: announced, the server reads it rather than refusing.
    let body = vec![b'x'; 25 * 1024 * 1024];
    let reply = exchange(&server.url, &head(body.len()), &body);
    assert_eq!(reply.status, 201, "{}", reply.text());
}

#[test]
fn a_decompression_bomb_is_refused_with_a_clear_413_and_the_server_goes_on() {
    let (data, server) = team_server(&[]);
    let bomb = bomb();
    assert!(bomb.len() < 100, "the bomb is small: {} bytes", bomb.len());
    let started = Instant::now();
    let reply = bob_uploads(&server, "cute-cat.png", "image/png", &bomb);
    assert_refused(&reply, 413, "too_large", "the upload");
    let said = reply.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        said.contains("60000×60000") && said.contains(&MAX_PIXELS.to_string()),
        "the refusal says how large the image claims to be and what is allowed: {said:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "refused before decoding"
    );
    let reply = upload_form(
        &server,
        "bob",
        ROOM,
        &[("text", "look")],
        "cat.png",
        "image/png",
        &bomb,
    );
    assert_refused(&reply, 413, "too_large", "the upload");

    // Just over the limit is refused too, just under it is measured and kept.
    let mut over = bomb.clone();
    over[16..20].copy_from_slice(&10_000u32.to_be_bytes());
    over[20..24].copy_from_slice(&5_001u32.to_be_bytes());
    let crc = crc32fast::hash(&over[12..29]);
    over[29..33].copy_from_slice(&crc.to_be_bytes());
    let reply = bob_uploads(&server, "wide.png", "image/png", &over);
    assert_refused(&reply, 413, "too_large", "the upload");

    assert_nothing_kept(&server, data.path(), "carol");
    assert_eq!(get(&server, None, "/healthz").status, 200);
    let image = png(8, 8, 6);
    let fine = bob_uploads(&server, "fine.png", "image/png", &image).message(201);
    let got = get(&server, Some("carol"), &thumb_path(file_of(&fine)));
    assert_eq!(got.status, 200, "{}", got.text());
}

#[test]
fn a_corrupt_image_is_refused_as_invalid() {
    let (data, server) = team_server(&[]);
    let good = png(64, 64, 7);
    // The signature of a PNG with nothing that follows it is a PNG; and one whose header
    // chunk fails its checksum.
    let mut bad_header = good.clone();
    bad_header[20] ^= 0xff;
    for (name, content) in [
        (
            "signature.png",
            b"\x89PNG\r\n\x1a\nthis is not what a PNG holds".to_vec(),
        ),
        ("header.png", bad_header),
        (
            "jfif.jpg",
            b"\xff\xd8\xff\xe0\x00\x10JFIF\x00garbage".to_vec(),
        ),
        ("gif.gif", b"GIF89a\x01".to_vec()),
    ] {
        let reply = bob_uploads(&server, name, "image/png", &content);
        assert_refused(&reply, 400, "invalid", name);
    }
    assert_nothing_kept(&server, data.path(), "carol");
    assert_eq!(get(&server, None, "/healthz").status, 200);
}

/// An image whose header is whole but whose pixels are cut off half-way (what a
/// broken download leaves) is as corrupt as one with a broken header: TEAM-CHAT.md
/// and notes/search.md say a corrupt image is refused with 400 `invalid`.
#[test]
fn an_image_cut_off_half_way_is_refused_as_invalid() {
    let (data, server) = team_server(&[]);
    let good = png(200, 200, 8);
    let half = &good[..good.len() / 2];
    let reply = bob_uploads(&server, "half.png", "image/png", half);
    // If it was taken after all, its thumbnail must at least be a clean refusal.
    if reply.status == 201 {
        let file = file_of(&reply.json()["message"]).clone();
        let thumb = get(&server, Some("carol"), &thumb_path(&file));
        panic!(
            "a PNG cut in half was taken as a {}×{} image (201); its thumbnail answers {} {}",
            file["width"],
            file["height"],
            thumb.status,
            thumb.text()
        );
    }
    assert_refused(&reply, 400, "invalid", "the upload");
    assert_eq!(
        contents(data.path()),
        Vec::<PathBuf>::new(),
        "nothing stored"
    );
}

// ------------------------------------------------------------------ thumbnails

#[test]
fn thumbnails_are_pngs_that_fit_400_pixels_made_once() {
    let (data, server) = team_server(&[]);
    let send = |name: &str, content: &[u8]| -> Value {
        let message = bob_uploads(&server, name, "application/octet-stream", content).message(201);
        file_of(&message).clone()
    };
    let wide = send("wide.png", &png(1000, 500, 9));
    let tall = send(
        "tall.jpg",
        &encoded(&picture(300, 900, 10), image::ImageFormat::Jpeg),
    );
    let gif = send(
        "banner.gif",
        &encoded(&picture(800, 320, 11), image::ImageFormat::Gif),
    );
    let text = send("notes.txt", b"no pixels here");

    for (file, expected) in [(&wide, (400, 200)), (&tall, (133, 400)), (&gif, (400, 160))] {
        let got = get(&server, Some("carol"), &thumb_path(file));
        assert_eq!(got.status, 200, "{file}: {}", got.text());
        assert_eq!(got.header("Content-Type"), Some("image/png"), "{file}");
        assert_eq!(
            got.header("X-Content-Type-Options"),
            Some("nosniff"),
            "{file}"
        );
        assert_eq!(
            got.header("Content-Security-Policy"),
            Some("sandbox"),
            "{file}"
        );
        let (width, height, format) = measure(&got.body);
        assert_eq!(format, image::ImageFormat::Png, "{file}");
        assert!(width <= 400 && height <= 400, "{file}: {width}×{height}");
        let close = |a: u32, b: u32| a.abs_diff(b) <= 1;
        assert!(
            close(width, expected.0) && close(height, expected.1),
            "{file}: {width}×{height}, expected about {expected:?} (the shape kept)"
        );
    }
    let refused = get(&server, Some("carol"), &thumb_path(&text));
    assert_eq!(
        (refused.status, refused.code()),
        (400, json!("invalid")),
        "{}",
        refused.text()
    );

    // Made once: the second request is served from what the first made.
    let made = thumbnails(data.path());
    assert_eq!(made.len(), 3, "{made:?}");
    let modified: Vec<_> = made
        .iter()
        .map(|path| std::fs::metadata(path).unwrap().modified().unwrap())
        .collect();
    let first = get(&server, Some("carol"), &thumb_path(&wide));
    let again = get(&server, Some("dave"), &thumb_path(&wide));
    assert!(first.body == again.body);
    let after: Vec<_> = made
        .iter()
        .map(|path| std::fs::metadata(path).unwrap().modified().unwrap())
        .collect();
    assert_eq!(modified, after, "no thumbnail was made again");
    assert_eq!(thumbnails(data.path()).len(), 3);
}

/// A thumbnail is for showing a large image small: an image already smaller than 400
/// pixels keeps its size rather than being blown up to 400 (a 50×20 icon as a blurry
/// 400×160 PNG is larger than the image and looks worse).
#[test]
fn a_small_image_is_not_enlarged_for_its_thumbnail() {
    let (_data, server) = team_server(&[]);
    let icon = encoded(&picture(50, 20, 16), image::ImageFormat::Gif);
    let message = bob_uploads(&server, "icon.gif", "image/gif", &icon).message(201);
    let got = get(&server, Some("carol"), &thumb_path(file_of(&message)));
    assert_eq!(got.status, 200, "{}", got.text());
    let (width, height, _) = measure(&got.body);
    assert_eq!((width, height), (50, 20), "the thumbnail of a 50×20 image");
}

// ------------------------------------------------------------------ retries and storage

#[test]
fn a_retry_with_the_same_client_id_answers_200_with_the_first_message() {
    let (_data, server) = team_server(&[]);
    let mut carol = Member::connect(&server, "carol");
    carol.join(ROOM);
    let content = all_bytes(2, b"retry");
    let first = upload_raw(
        &server,
        Some("bob"),
        ROOM,
        "r.bin",
        "application/octet-stream",
        "&client_id=once-1",
        &content,
    )
    .message(201);
    let again = upload_raw(
        &server,
        Some("bob"),
        ROOM,
        "r.bin",
        "application/octet-stream",
        "&client_id=once-1",
        &content,
    )
    .message(200);
    assert_eq!(again, first, "the retry answers the first message");
    let image = png(10, 10, 12);
    let fields = [("client_id", "once-2"), ("text", "a form")];
    let form_first =
        upload_form(&server, "bob", ROOM, &fields, "p.png", "image/png", &image).message(201);
    let form_again =
        upload_form(&server, "bob", ROOM, &fields, "p.png", "image/png", &image).message(200);
    assert_eq!(form_again, form_first);
    assert_eq!(
        history(&server, "carol", ROOM),
        [first.clone(), form_first.clone()]
    );
    // One `message` event each, and no other after the retries.
    let heard = carol.messages(2);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(carol.messages(2), heard);
    assert_eq!(heard, [first, form_first]);
}

#[test]
fn a_content_sent_twice_is_stored_once_and_kept_until_both_messages_are_deleted() {
    let (data, server) = team_server(&[]);
    let mut bob = Member::connect(&server, "bob");
    bob.join(ROOM);
    let image = png(500, 250, 13);
    let size = image.len() as u64;
    let first = bob_uploads(&server, "a.png", "image/png", &image).message(201);
    let second = upload_form(&server, "bob", ROOM, &[], "b.png", "image/png", &image).message(201);
    let (one, two) = (file_of(&first).clone(), file_of(&second).clone());
    assert_ne!(one["id"], two["id"], "two files");
    assert_eq!(contents(data.path()).len(), 1, "one content");
    for file in [&one, &two] {
        assert_eq!(get(&server, Some("carol"), &thumb_path(file)).status, 200);
    }
    assert_eq!(thumbnails(data.path()).len(), 1, "one thumbnail");
    assert_eq!(metric(&server, "parley_file_bytes"), size);

    // The first message goes: its file with it, the content stays for the second.
    assert_deleted(&bob.delete(ROOM, &first["id"]));
    eventually("the deleted message's file is gone", || {
        get(&server, Some("carol"), &file_path(&one)).status == 404
    });
    assert_eq!(get(&server, Some("carol"), &thumb_path(&one)).status, 404);
    let got = get(&server, Some("carol"), &file_path(&two));
    assert!(
        got.status == 200 && got.body == image,
        "the second still downloads: {}",
        got.text()
    );
    assert_eq!(get(&server, Some("carol"), &thumb_path(&two)).status, 200);
    assert_eq!(contents(data.path()).len(), 1, "the content stays");
    assert_eq!(thumbnails(data.path()).len(), 1);
    assert_eq!(metric(&server, "parley_file_bytes"), size);

    // The second goes: the content and its thumbnail go too.
    assert_deleted(&bob.delete(ROOM, &second["id"]));
    assert_eq!(
        leftovers(&server, data.path()),
        NOTHING_LEFT,
        "contents, thumbnails and parley_file_bytes"
    );
    assert_eq!(get(&server, Some("carol"), &file_path(&two)).status, 404);
    let messages = history(&server, "carol", ROOM);
    assert!(
        messages
            .iter()
            .all(|m| m["deleted"] == json!(true) && m.get("files").is_none()),
        "tombstones without files: {messages:?}"
    );

    // The same content sent again is stored again.
    let third = bob_uploads(&server, "c.png", "image/png", &image).message(201);
    let got = get(&server, Some("carol"), &file_path(file_of(&third)));
    assert!(got.status == 200 && got.body == image, "{}", got.text());
    assert_eq!(
        get(&server, Some("carol"), &thumb_path(file_of(&third))).status,
        200
    );
    assert_eq!(metric(&server, "parley_file_bytes"), size);
}

/// A retry stores the file again before it learns that the message is already there.
/// Whatever it stored must not outlive the message: once that is deleted, no content
/// is left (notes/search.md: "deleting a message removes its files").
#[test]
fn a_retried_upload_leaves_nothing_once_its_message_is_deleted() {
    let (data, server) = team_server(&[]);
    let mut bob = Member::connect(&server, "bob");
    bob.join(ROOM);
    let content = all_bytes(3, b"retried");
    let query = "&client_id=flaky-network";
    let first = upload_raw(
        &server,
        Some("bob"),
        ROOM,
        "r.bin",
        "application/octet-stream",
        query,
        &content,
    )
    .message(201);
    upload_raw(
        &server,
        Some("bob"),
        ROOM,
        "r.bin",
        "application/octet-stream",
        query,
        &content,
    )
    .message(200);
    let mut changed = content.clone();
    changed.push(b'!');
    // A retry whose body differs (the client re-encoded it) answers the first message
    // too, and must keep nothing of its own.
    upload_raw(
        &server,
        Some("bob"),
        ROOM,
        "r.bin",
        "application/octet-stream",
        query,
        &changed,
    )
    .message(200);
    assert_deleted(&bob.delete(ROOM, &first["id"]));
    eventually("the file of the deleted message is gone", || {
        get(&server, Some("carol"), &file_path(file_of(&first))).status == 404
    });
    assert_eq!(
        leftovers(&server, data.path()),
        NOTHING_LEFT,
        "contents, thumbnails and parley_file_bytes with no message to carry them"
    );
}

// ------------------------------------------------------------------ races

/// The message that carries a file reaches the room before the upload's answer; a
/// member may delete it at once. Its files must go all the same.
#[test]
fn a_message_deleted_the_moment_it_arrives_leaves_no_file_behind() {
    let (data, server) = team_server(&[]);
    let mut bob = Member::connect(&server, "bob");
    bob.join(ROOM);
    bob.run("auto-delete");
    // Bursts of uploads at once keep the server's blocking threads busy, which is
    // when the upload's last step lags behind the delete.
    const BURSTS: usize = 5;
    const AT_ONCE: usize = 8;
    let mut sent = Vec::new();
    for burst in 0..BURSTS {
        let contents = (0..AT_ONCE)
            .map(|n| all_bytes(256, format!("burst {burst} upload {n}").as_bytes()))
            .collect();
        sent.extend(upload_at_once(&server, "bob", contents));
    }
    const ROUNDS: usize = BURSTS * AT_ONCE;
    let acks: Vec<Value> =
        serde_json::from_str(&bob.run(&format!("auto-deleted {ROUNDS}"))).expect("JSON");
    for ack in &acks {
        assert_eq!(ack["ack"], json!({"ok": true}), "{ack}");
    }
    let still_there = || -> Vec<Value> {
        sent.iter()
            .filter(|message| {
                get(&server, Some("carol"), &file_path(file_of(message))).status != 404
            })
            .map(|message| message["id"].clone())
            .collect()
    };
    let left = settled(still_there, Vec::is_empty);
    assert_eq!(
        left,
        Vec::<Value>::new(),
        "deleted messages whose files still download"
    );
    assert_eq!(
        leftovers(&server, data.path()),
        NOTHING_LEFT,
        "contents, thumbnails and parley_file_bytes of deleted messages"
    );
}

/// A thumbnail is made on the first request, which takes a while for a large image;
/// the message may be deleted meanwhile. Whatever the request made must go too, and
/// nothing of the image may be left.
#[test]
fn a_thumbnail_made_while_its_message_is_deleted_is_not_left_behind() {
    let (data, server) = team_server(&[]);
    let mut bob = Member::connect(&server, "bob");
    bob.join(ROOM);
    let image = png(1200, 900, 17);
    let message = bob_uploads(&server, "big.png", "image/png", &image).message(201);
    let path = thumb_path(file_of(&message));
    let url = server.url.clone();
    let auth = bearer("carol");
    let thumb = std::thread::spawn(move || {
        request(&url, "GET", &path, &[("Authorization", &auth)], b"").status
    });
    // Decoding 1200×900 pixels takes the server (unoptimised) hundreds of milliseconds.
    std::thread::sleep(Duration::from_millis(50));
    assert_deleted(&bob.delete(ROOM, &message["id"]));
    let status = thumb.join().unwrap();
    assert!(
        [200, 404].contains(&status),
        "the thumbnail is made or refused as gone, not failed: {status}"
    );
    assert_eq!(
        leftovers(&server, data.path()),
        NOTHING_LEFT,
        "what is left of a deleted message's image"
    );
}

/// Two members send the same new content at the same moment: it is stored once, and
/// /metrics counts its bytes once.
#[test]
fn the_same_content_sent_at_once_by_two_is_counted_once() {
    let (data, server) = team_server(&[]);
    for round in 0..4u8 {
        let content = all_bytes(400, &[round]);
        for message in upload_at_once(&server, "bob", vec![content.clone(), content.clone()]) {
            let got = get(&server, Some("dave"), &file_path(file_of(&message)));
            assert!(got.status == 200 && got.body == content, "round {round}");
        }
    }
    assert_eq!(contents(data.path()).len(), 4, "each content once");
    assert_eq!(
        metric(&server, "parley_file_bytes"),
        on_disk_bytes(data.path()),
        "parley_file_bytes against the contents on disk"
    );
}

// ------------------------------------------------------------------ backups

#[test]
fn export_and_import_carry_the_files_byte_exact() {
    let (data, server) = team_server(&[]);
    let mut bob = Member::connect(&server, "bob");
    bob.join(ROOM);
    let binary = all_bytes(8, b"exported");
    let image = png(120, 80, 14);
    let kept_binary =
        bob_uploads(&server, "данные.bin", "application/octet-stream", &binary).message(201);
    let kept_image = upload_form(
        &server,
        "bob",
        ROOM,
        &[("text", "with a caption")],
        "chart.png",
        "image/png",
        &image,
    )
    .message(201);
    let deleted = bob_uploads(&server, "regret.txt", "text/plain", b"never mind").message(201);
    assert_deleted(&bob.delete(ROOM, &deleted["id"]));
    eventually("the deleted message's file is gone", || {
        get(&server, Some("bob"), &file_path(file_of(&deleted))).status == 404
    });
    let before = history(&server, "carol", ROOM);
    drop(bob);
    assert!(server.terminate().success(), "parley stops cleanly");

    let export = parley_in(data.path(), &["export"], "");
    let export = String::from_utf8(export.stdout).expect("an export is UTF-8");
    let file_lines: Vec<Value> = export
        .lines()
        .filter(|line| line.contains(r#""kind":"file""#))
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    assert_eq!(
        file_lines.len(),
        2,
        "the files of the messages there are:\n{export}"
    );
    assert!(
        !export.contains("never mind"),
        "a deleted message's file is not exported"
    );
    use base64::Engine as _;
    for (message, content) in [(&kept_binary, &binary), (&kept_image, &image)] {
        let id = &file_of(message)["id"];
        let line = file_lines
            .iter()
            .find(|line| &line["record"]["file"]["id"] == id)
            .unwrap_or_else(|| panic!("no line for {id}:\n{export}"));
        let carried = base64::engine::general_purpose::STANDARD
            .decode(line["content"].as_str().expect("base64 content"))
            .expect("valid base64");
        assert!(carried == *content, "the export carries {id} byte for byte");
    }

    let moved = tempfile::tempdir().expect("temporary directory");
    let imported = parley_in(moved.path(), &["import"], &export);
    let said = String::from_utf8_lossy(&imported.stderr).into_owned();
    assert!(said.contains("imported 3 messages"), "{said}");
    let again = parley_in(moved.path(), &["import"], &export);
    let said = String::from_utf8_lossy(&again.stderr).into_owned();
    assert!(
        said.contains("imported 0 messages"),
        "importing twice adds nothing: {said}"
    );
    assert_eq!(contents(moved.path()).len(), 2, "each content once");

    let server = start_parley(moved.path(), &ACCOUNTS);
    assert_eq!(
        history(&server, "carol", ROOM),
        before,
        "the room as it was"
    );
    for (message, content) in [(&kept_binary, &binary), (&kept_image, &image)] {
        let got = get(&server, Some("carol"), &file_path(file_of(message)));
        assert_eq!(got.status, 200, "{}", got.text());
        assert!(got.body == *content, "the imported download is byte-exact");
    }
    let thumb = get(&server, Some("carol"), &thumb_path(file_of(&kept_image)));
    assert_eq!(thumb.status, 200, "{}", thumb.text());
    assert_eq!(
        get(&server, Some("carol"), &file_path(file_of(&deleted))).status,
        404
    );
    assert_eq!(
        metric(&server, "parley_file_bytes"),
        (binary.len() + image.len()) as u64
    );
}

// ------------------------------------------------------------------ open mode and Python

#[test]
fn open_mode_uploads_name_their_sender_and_download_without_credentials() {
    let data = tempfile::tempdir().expect("temporary directory");
    let server = start_parley(data.path(), &["--auth", "open", "--rate-limit", "0"]);
    let content = all_bytes(1, b"open");
    let nameless = upload_raw(
        &server,
        None,
        "lobby",
        "o.bin",
        "application/octet-stream",
        "",
        &content,
    );
    assert_eq!(
        (nameless.status, nameless.code()),
        (400, json!("invalid")),
        "{}",
        nameless.text()
    );
    let message = upload_raw(
        &server,
        None,
        "lobby",
        "o.bin",
        "application/octet-stream",
        "&sender=Zed%20Q",
        &content,
    )
    .message(201);
    assert_eq!(message["sender"], "Zed Q", "{message}");
    let got = get(&server, None, &file_path(file_of(&message)));
    assert!(got.status == 200 && got.body == content, "{}", got.text());
    assert_eq!(got.header("Content-Security-Policy"), Some("sandbox"));
    let image = png(30, 30, 15);
    let (content_type, body) = form(&[("text", "hi")], "o.png", "image/png", &image);
    let reply = request(
        &server.url,
        "POST",
        "/api/rooms/lobby/files?sender=Zed",
        &[("Content-Type", &content_type)],
        &body,
    )
    .message(201);
    assert_eq!(
        (&reply["sender"], &reply["text"]),
        (&json!("Zed"), &json!("hi"))
    );
    let thumb = get(&server, None, &thumb_path(file_of(&reply)));
    assert_eq!(thumb.status, 200, "{}", thumb.text());
}

#[test]
fn the_python_client_hears_an_upload_and_downloads_it() {
    let (_data, server) = team_server(&[]);
    let out = run_client(
        Client::Python,
        "files.py",
        &[&server.url, team().tokens_json(), ROOM],
    );
    assert!(out.contains("ok files"), "{out}");
}
