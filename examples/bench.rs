//! Load benchmark for a running Parley: fan-out, idle connections, durable sends,
//! long-polling clients and history paging. It starts nothing itself; point it at a
//! server on this machine and give it the server's PID to read its CPU and memory.
//!
//! ```sh
//! parley --listen 127.0.0.1:5000 --data-dir /tmp/bench-data --rate-limit 0 --auth open &
//! cargo run --release --example bench -- fanout  --url http://127.0.0.1:5000 --server-pid $!
//! cargo run --release --example bench -- idle    --conns 5000 --server-pid $!
//! cargo run --release --example bench -- durable --window 32 --server-pid $!
//! cargo run --release --example bench -- polling --rooms 20 --members 10 --server-pid $!
//! cargo run --release --example bench -- history --fill 100000 --server-pid $!
//! ```
//!
//! A server with `--tls-self-signed` (or its own certificate) is measured over TLS by
//! giving its `https://` URL: every client then speaks TLS (WebSocket over `wss://`,
//! polling over HTTPS), without checking the certificate, as this only ever talks to
//! 127.0.0.1. The same run against a plain server gives the cost of TLS.
//!
//! A server in accounts mode (the default) needs a token for its clients:
//! `parley user add bench --password-stdin --data-dir DIR`, then
//! `parley token create bench --name bench --data-dir DIR`, and `--token TOKEN` here.
//!
//! It speaks raw Engine.IO v4 / Socket.IO v5 text packets, over WebSocket or over
//! HTTP/1.1 long-polling (one keep-alive connection for GETs and one for POSTs per
//! client). Latency comes from a send timestamp carried in the message text
//! (`B|sender|seq|µs|pad`), so it is measured on this process's clock. Server CPU is
//! utime+stime of `--server-pid` (all threads) over the measured window; RSS is VmRSS.
//!
//! A room of 10^6 messages for `history` is filled fastest offline: write JSON lines
//! with `bench gen-history --count 1000000 > h.jsonl`, load them with
//! `parley import --data-dir DIR < h.jsonl`, start the server, then run
//! `bench history --fill 0`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

/// A connection to the server, over TLS or not.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}
type Stream = Box<dyn Io>;

type Ws = WebSocketStream<Stream>;
type WsTx = SplitSink<Ws, Message>;
type WsRx = SplitStream<Ws>;
/// Packets for the server; a writer task frames them for the transport.
type Outbox = mpsc::UnboundedSender<String>;

/// Largest response body or POST batch this client handles, bytes.
const MAX_BODY: usize = 64 << 20;
/// Packets joined into one polling POST at most.
const MAX_POST_PACKETS: usize = 256;
/// Longest a single connect or request may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Parser)]
#[command(about = "Load benchmark for a running Parley server")]
struct Cli {
    /// Base URL of the running server; only 127.0.0.1 is accepted; `https://` for one
    /// serving TLS.
    #[arg(long, global = true, default_value = "http://127.0.0.1:5000")]
    url: String,
    /// PID of the server, for its CPU time and RSS.
    #[arg(long, global = true)]
    server_pid: Option<u32>,
    /// API token every client connects with (`auth: {token}`), for a server in
    /// accounts mode; without it the clients connect as to `--auth open`.
    #[arg(long, global = true)]
    token: Option<String>,
    /// Runtime worker threads of this benchmark.
    #[arg(long, global = true, default_value_t = 1)]
    threads: usize,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// R rooms x M members over WebSocket, S senders per room, W un-acked per sender.
    Fanout(FanoutOpts),
    /// Like fanout, with every client on HTTP long-polling only.
    Polling(FanoutOpts),
    /// N WebSocket connections that join rooms and stay idle: RSS per connection.
    Idle(IdleOpts),
    /// Sockets each sending `send_message` with ack, K in flight: acks/s, ack latency.
    Durable(DurableOpts),
    /// Fill a room, then time `history` pages (newest, before, after).
    History(HistoryOpts),
    /// Print N messages of one room as JSON lines for `parley import`.
    GenHistory(GenOpts),
}

#[derive(Args, Clone)]
struct FanoutOpts {
    #[arg(long, default_value_t = 50)]
    rooms: usize,
    #[arg(long, default_value_t = 20)]
    members: usize,
    /// Senders per room (the first members of the room).
    #[arg(long, default_value_t = 2)]
    senders: usize,
    /// Un-acknowledged messages per sender.
    #[arg(long, default_value_t = 8)]
    window: usize,
    /// Measured seconds (after the warm-up).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Messages per second per sender; 0 = as fast as the window allows.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Filler characters in each text.
    #[arg(long, default_value_t = 32)]
    pad: usize,
    /// Longest wait for outstanding acks and deliveries after sending stops, seconds.
    #[arg(long, default_value_t = 15.0)]
    drain: f64,
    /// Connections being set up at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
}

#[derive(Args)]
struct IdleOpts {
    #[arg(long, default_value_t = 5000)]
    conns: usize,
    #[arg(long, default_value_t = 20)]
    members: usize,
    /// Seconds to wait after the last join before reading RSS.
    #[arg(long, default_value_t = 3.0)]
    settle: f64,
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
}

#[derive(Args)]
struct DurableOpts {
    /// Sockets, each in a room of its own.
    #[arg(long, default_value_t = 1)]
    sockets: usize,
    /// Un-acknowledged messages per socket.
    #[arg(long, default_value_t = 32)]
    window: usize,
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
}

#[derive(Args)]
struct HistoryOpts {
    #[arg(long, default_value = "bench-history")]
    room: String,
    /// Messages to add before timing (0: page what the room already holds).
    #[arg(long, default_value_t = 100_000)]
    fill: u64,
    /// Sockets filling in parallel.
    #[arg(long, default_value_t = 2)]
    fill_sockets: usize,
    /// Un-acknowledged sends per filling socket.
    #[arg(long, default_value_t = 64)]
    fill_window: usize,
    /// Timed requests, one at a time, cycling newest / before / after.
    #[arg(long, default_value_t = 3000)]
    requests: usize,
    #[arg(long, default_value_t = 50)]
    limit: u64,
}

#[derive(Args)]
struct GenOpts {
    #[arg(long, default_value = "bench-history")]
    room: String,
    #[arg(long, default_value_t = 1_000_000)]
    count: u64,
}

fn main() -> Result<(), String> {
    let cli = Cli::parse();
    let target = Target::parse(&cli.url, cli.token.as_deref())?;
    let probe = Probe(cli.server_pid);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.threads.max(1))
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        match cli.scenario {
            Scenario::Fanout(o) => fanout(&target, &probe, Transport::WebSocket, o).await,
            Scenario::Polling(o) => fanout(&target, &probe, Transport::Polling, o).await,
            Scenario::Idle(o) => idle(&target, &probe, o).await,
            Scenario::Durable(o) => durable(&target, &probe, o).await,
            Scenario::History(o) => history(&target, &probe, o).await,
            Scenario::GenHistory(o) => gen_history(o),
        }
    })
}

// ---------------------------------------------------------------- target and probes

/// The server's `127.0.0.1:PORT`, whether it speaks TLS, and the CONNECT packet its
/// clients send.
#[derive(Clone)]
struct Target {
    authority: String,
    tls: Option<TlsConnector>,
    connect: String,
}

impl Target {
    fn parse(url: &str, token: Option<&str>) -> Result<Target, String> {
        let (rest, tls) = match url.strip_prefix("https://") {
            Some(rest) => (rest, Some(unchecked_tls()?)),
            None => (url.strip_prefix("http://").unwrap_or(url), None),
        };
        let authority = rest.split('/').next().unwrap_or("");
        let port = authority
            .strip_prefix("127.0.0.1:")
            .ok_or_else(|| format!("--url must be http(s)://127.0.0.1:PORT, not {url}"))?;
        port.parse::<u16>()
            .map_err(|_| format!("bad port in {url}"))?;
        let connect = match token {
            Some(token) => format!("40{}", json!({ "token": token })),
            None => "40".to_owned(),
        };
        Ok(Target {
            authority: authority.to_owned(),
            tls,
            connect,
        })
    }

    /// A new connection to the server, with the TLS handshake done when it speaks TLS.
    async fn connect(&self) -> Result<Stream, String> {
        let tcp = TcpStream::connect(&self.authority)
            .await
            .map_err(|e| e.to_string())?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let Some(tls) = &self.tls else {
            return Ok(Box::new(tcp));
        };
        let name = rustls::pki_types::ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
        let stream = tls
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake: {e}"))?;
        Ok(Box::new(stream))
    }

    fn ws_url(&self) -> String {
        format!(
            "ws://{}/socket.io/?EIO=4&transport=websocket",
            self.authority
        )
    }
}

/// Reads CPU time and RSS of the server process (and CPU of this one).
struct Probe(Option<u32>);

impl Probe {
    fn cpu_us(&self) -> Option<f64> {
        self.0.and_then(|pid| proc_cpu_us(&pid.to_string()))
    }

    fn rss_kib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.0?)).ok()?;
        let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
        line.trim().trim_end_matches("kB").trim().parse().ok()
    }
}

/// utime+stime of a process in µs (Linux USER_HZ = 100).
fn proc_cpu_us(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) * 10_000.0)
}

/// CPU used by the server and by this process between `start` and `stop`.
struct CpuWindow {
    server0: Option<f64>,
    own0: Option<f64>,
    started: Instant,
}

struct CpuUsed {
    server_us: Option<f64>,
    own_us: Option<f64>,
    wall_s: f64,
}

impl CpuWindow {
    fn start(probe: &Probe) -> CpuWindow {
        CpuWindow {
            server0: probe.cpu_us(),
            own0: proc_cpu_us("self"),
            started: Instant::now(),
        }
    }

    fn stop(self, probe: &Probe) -> CpuUsed {
        let delta = |a: Option<f64>, b: Option<f64>| Some(b? - a?);
        CpuUsed {
            server_us: delta(self.server0, probe.cpu_us()),
            own_us: delta(self.own0, proc_cpu_us("self")),
            wall_s: self.started.elapsed().as_secs_f64(),
        }
    }
}

impl CpuUsed {
    fn server_per(&self, units: u64) -> String {
        match self.server_us {
            Some(us) if units > 0 => format!("{:.2}", us / units as f64),
            _ => "-".into(),
        }
    }

    fn server_pct(&self) -> String {
        percent(self.server_us, self.wall_s)
    }

    fn own_pct(&self) -> String {
        percent(self.own_us, self.wall_s)
    }
}

fn percent(us: Option<f64>, wall_s: f64) -> String {
    us.map_or("-".into(), |us| format!("{:.0}", us / 1e4 / wall_s))
}

// ---------------------------------------------------------------- clock and stats

static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

fn now_us() -> u64 {
    BASE.get_or_init(Instant::now).elapsed().as_micros() as u64
}

/// Value at quantile `q` of sorted µs samples, in ms.
fn pct_ms(sorted: &[u32], q: f64) -> String {
    if sorted.is_empty() {
        return "-".into();
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    format!("{:.2}", f64::from(sorted[index]) / 1000.0)
}

fn latency_cells(samples: &mut [u32]) -> String {
    samples.sort_unstable();
    [0.5, 0.9, 0.99, 1.0]
        .iter()
        .map(|q| pct_ms(samples, *q))
        .collect::<Vec<_>>()
        .join(" | ")
}

fn table(header: &[&str], rows: &[Vec<String>]) {
    println!("| {} |", header.join(" | "));
    println!("|{}", "---|".repeat(header.len()));
    for row in rows {
        println!("| {} |", row.join(" | "));
    }
}

/// TLS that takes any certificate: a benchmark of a server on this machine measures the
/// cost of the encryption, not of trusting anyone.
fn unchecked_tls() -> Result<TlsConnector, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map(|builder| {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
                .with_no_client_auth()
        });
    config
        .map(|config| TlsConnector::from(Arc::new(config)))
        .map_err(|error| format!("no TLS version to offer: {error}"))
}

/// Accepts whatever certificate the server shows, but still checks the handshake's
/// signatures (so that the server does the work it does for every real client).
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

// ---------------------------------------------------------------- HTTP/1.1 client

/// One keep-alive HTTP/1.1 connection, for long-polling.
struct HttpConn {
    stream: BufReader<Stream>,
    host: String,
}

impl HttpConn {
    async fn connect(target: &Target) -> Result<HttpConn, String> {
        Ok(HttpConn {
            stream: BufReader::new(target.connect().await?),
            host: target.authority.clone(),
        })
    }

    /// Sends one request and returns the status and body of its response.
    async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: &str,
    ) -> Result<(u16, String), String> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n\r\n",
            self.host,
            body.len()
        );
        let stream = self.stream.get_mut();
        let written = async {
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(body.as_bytes()).await
        };
        written.await.map_err(|e| e.to_string())?;
        self.response().await
    }

    async fn line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        let n = self
            .stream
            .read_line(&mut line)
            .await
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed".into());
        }
        Ok(line.trim_end().to_owned())
    }

    async fn response(&mut self) -> Result<(u16, String), String> {
        let status_line = self.line().await?;
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {status_line:?}"))?;
        let mut length = None;
        let mut chunked = false;
        for _ in 0..100 {
            let line = self.line().await?;
            if line.is_empty() {
                let body = match (chunked, length) {
                    (true, _) => self.chunked_body().await?,
                    (false, Some(n)) => self.exact(n).await?,
                    (false, None) => Vec::new(),
                };
                let body = String::from_utf8(body).map_err(|_| "body is not UTF-8")?;
                return Ok((status, body));
            }
            let (name, value) = line.split_once(':').unwrap_or((&line, ""));
            if name.eq_ignore_ascii_case("content-length") {
                length = value
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n <= MAX_BODY);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.to_ascii_lowercase().contains("chunked");
            }
        }
        Err("too many response headers".into())
    }

    async fn exact(&mut self, n: usize) -> Result<Vec<u8>, String> {
        let mut buf = vec![0; n];
        self.stream
            .read_exact(&mut buf)
            .await
            .map_err(|e| e.to_string())?;
        Ok(buf)
    }

    async fn chunked_body(&mut self) -> Result<Vec<u8>, String> {
        let mut body = Vec::new();
        while body.len() <= MAX_BODY {
            let size_line = self.line().await?;
            let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| format!("bad chunk size {size_line:?}"))?;
            let chunk = self.exact(size + 2).await?;
            if size == 0 {
                return Ok(body);
            }
            body.extend_from_slice(&chunk[..size]);
        }
        Err("chunked body too large".into())
    }
}

// ---------------------------------------------------------------- Engine.IO clients

#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    WebSocket,
    Polling,
}

/// Where packets from the server arrive.
enum Inbound {
    Ws(WsRx),
    Poll { conn: HttpConn, path: String },
}

impl Inbound {
    /// Waits for the next frame (WebSocket) or poll response and hands each packet in
    /// it to `on_packet`.
    async fn next(&mut self, mut on_packet: impl FnMut(&str)) -> Result<(), String> {
        match self {
            Inbound::Ws(rx) => loop {
                match rx.next().await {
                    Some(Ok(Message::Text(text))) => {
                        on_packet(text.as_str());
                        return Ok(());
                    }
                    Some(Ok(Message::Close(_))) | None => return Err("websocket closed".into()),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(e.to_string()),
                }
            },
            Inbound::Poll { conn, path } => {
                let (status, body) = conn.request("GET", path, "").await?;
                if status != 200 {
                    return Err(format!("poll answered {status}: {body}"));
                }
                body.split('\x1e').for_each(on_packet);
                Ok(())
            }
        }
    }
}

/// A Socket.IO client connected to namespace `/`.
struct Client {
    out: Outbox,
    inbound: Inbound,
}

impl Client {
    async fn open(target: &Target, transport: Transport) -> Result<Client, String> {
        let mut client = match transport {
            Transport::WebSocket => Client::open_ws(target).await?,
            Transport::Polling => Client::open_polling(target).await?,
        };
        client.send(target.connect.clone());
        client.wait_for(|p| p.starts_with("40")).await?;
        Ok(client)
    }

    async fn open_ws(target: &Target) -> Result<Client, String> {
        let stream = target.connect().await?;
        let (ws, _) = tokio_tungstenite::client_async(target.ws_url(), stream)
            .await
            .map_err(|e| e.to_string())?;
        let (tx, rx) = ws.split();
        let (out, queue) = mpsc::unbounded_channel();
        tokio::spawn(ws_writer(tx, queue));
        let mut client = Client {
            out,
            inbound: Inbound::Ws(rx),
        };
        client.wait_for(|p| p.starts_with('0')).await?;
        Ok(client)
    }

    async fn open_polling(target: &Target) -> Result<Client, String> {
        let mut get = HttpConn::connect(target).await?;
        let (status, body) = get
            .request("GET", "/socket.io/?EIO=4&transport=polling", "")
            .await?;
        let open: Value = body
            .strip_prefix('0')
            .and_then(|json| serde_json::from_str(json.split('\x1e').next()?).ok())
            .ok_or_else(|| format!("bad handshake ({status}): {body}"))?;
        let sid = open["sid"].as_str().ok_or("handshake without sid")?;
        let path = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
        let post = HttpConn::connect(target).await?;
        let (out, queue) = mpsc::unbounded_channel();
        tokio::spawn(poll_writer(post, path.clone(), queue));
        Ok(Client {
            out,
            inbound: Inbound::Poll { conn: get, path },
        })
    }

    fn send(&self, packet: String) {
        let _ = self.out.send(packet);
    }

    /// Reads packets until one matches, answering pings meanwhile; returns it.
    async fn wait_for(&mut self, wanted: impl Fn(&str) -> bool) -> Result<String, String> {
        let out = self.out.clone();
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            let mut found = None;
            let step = self.inbound.next(|packet| {
                if found.is_none() && wanted(packet) {
                    found = Some(packet.to_owned());
                } else if packet == "2" {
                    let _ = out.send("3".into());
                }
            });
            tokio::time::timeout_at(deadline, step)
                .await
                .map_err(|_| "timed out waiting for the server".to_string())??;
            if let Some(packet) = found {
                if packet.starts_with("44") {
                    return Err(format!("connect refused: {packet}"));
                }
                return Ok(packet);
            }
        }
    }

    /// Emits an event with ack id `id` and returns the ack's first argument.
    async fn call(&mut self, id: u64, event: &str, payload: &Value) -> Result<Value, String> {
        self.send(format!("42{id}{}", json!([event, payload])));
        let prefix = format!("43{id}[");
        let ack = self.wait_for(|p| p.starts_with(&prefix)).await?;
        let args: Value =
            serde_json::from_str(&ack[prefix.len() - 1..]).map_err(|e| e.to_string())?;
        Ok(args[0].clone())
    }

    async fn join(&mut self, room: &str) -> Result<(), String> {
        let ack = self.call(0, "join", &json!({ "room": room })).await?;
        if ack["ok"] != json!(true) {
            return Err(format!("join refused: {ack}"));
        }
        Ok(())
    }
}

/// Writes queued packets as WebSocket text frames, one flush per batch.
async fn ws_writer(mut tx: WsTx, mut queue: mpsc::UnboundedReceiver<String>) {
    while let Some(packet) = queue.recv().await {
        if tx.feed(Message::text(packet)).await.is_err() {
            return;
        }
        while let Ok(packet) = queue.try_recv() {
            if tx.feed(Message::text(packet)).await.is_err() {
                return;
            }
        }
        if tx.flush().await.is_err() {
            return;
        }
    }
    let _ = tx.close().await;
}

/// POSTs queued packets, as many as are waiting in one body.
async fn poll_writer(mut conn: HttpConn, path: String, mut queue: mpsc::UnboundedReceiver<String>) {
    while let Some(mut body) = queue.recv().await {
        for _ in 1..MAX_POST_PACKETS {
            match queue.try_recv() {
                Ok(packet) => {
                    body.push('\x1e');
                    body.push_str(&packet);
                }
                Err(_) => break,
            }
        }
        match conn.request("POST", &path, &body).await {
            Ok((200, _)) => {}
            _ => return,
        }
    }
    let _ = conn.request("POST", &path, "1").await;
}

/// Opens `rooms.len()` clients, each joined to its room, `concurrency` at a time.
async fn open_many(
    target: &Target,
    transport: Transport,
    rooms: &[String],
    concurrency: usize,
) -> Result<Vec<Client>, String> {
    let gate = Arc::new(Semaphore::new(concurrency.max(1)));
    let handles: Vec<_> = rooms
        .iter()
        .map(|room| {
            let gate = gate.clone();
            let target = target.clone();
            let room = room.clone();
            tokio::spawn(async move {
                let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
                let mut client = Client::open(&target, transport).await?;
                client.join(&room).await?;
                Ok::<Client, String>(client)
            })
        })
        .collect();
    let mut clients = Vec::with_capacity(handles.len());
    let mut failures = Vec::new();
    for handle in handles {
        match handle.await.map_err(|e| e.to_string()).and_then(|r| r) {
            Ok(client) => clients.push(client),
            Err(e) => failures.push(e),
        }
    }
    match failures.first() {
        None => Ok(clients),
        Some(first) => Err(format!(
            "{} of {} clients failed: {first}",
            failures.len(),
            rooms.len()
        )),
    }
}

// ---------------------------------------------------------------- load: senders and receivers

/// Shared switches of one run.
#[derive(Default)]
struct Phase {
    measuring: AtomicBool,
    stopping: AtomicBool,
}

/// One sender's window and counters.
struct SenderCtl {
    window: Semaphore,
    sent: AtomicU64,
    acked: AtomicU64,
    refused: AtomicU64,
    sent_at: Vec<AtomicU64>,
    ack_us: std::sync::Mutex<Vec<u32>>,
}

impl SenderCtl {
    fn new(window: usize) -> SenderCtl {
        let slots = (window.max(1) * 2).next_power_of_two();
        SenderCtl {
            window: Semaphore::new(window.max(1)),
            sent: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            sent_at: (0..slots).map(|_| AtomicU64::new(0)).collect(),
            ack_us: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn slot(&self, id: u64) -> &AtomicU64 {
        &self.sent_at[id as usize % self.sent_at.len()]
    }

    fn on_ack(&self, packet: &str, measuring: bool) {
        let Some(id) = ack_id(packet) else { return };
        if !packet.contains("\"ok\":true") {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        if measuring {
            let waited = now_us().saturating_sub(self.slot(id).load(Ordering::Relaxed));
            if let Ok(mut samples) = self.ack_us.lock() {
                samples.push(waited.min(u64::from(u32::MAX)) as u32);
            }
        }
        self.acked.fetch_add(1, Ordering::Relaxed);
        self.window.add_permits(1);
    }
}

fn ack_id(packet: &str) -> Option<u64> {
    let digits = packet.strip_prefix("43")?;
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// What a sender sends.
struct SendSpec {
    room: String,
    /// Index of the sender inside its room.
    index: usize,
    /// Index among all senders (sender name and rate phase).
    global: usize,
    rate: f64,
    pad: String,
    /// Stop after this many messages.
    limit: u64,
}

async fn send_loop(out: Outbox, ctl: Arc<SenderCtl>, phase: Arc<Phase>, spec: SendSpec) {
    let start = tokio::time::Instant::now();
    let offset = (spec.global as f64 * 0.618_033_988_75).fract();
    let mut seq = 0u64;
    while seq < spec.limit && !phase.stopping.load(Ordering::Relaxed) {
        match tokio::time::timeout(Duration::from_millis(100), ctl.window.acquire()).await {
            Ok(Ok(permit)) => permit.forget(),
            _ => continue,
        }
        if spec.rate > 0.0 {
            let due = start + Duration::from_secs_f64((seq as f64 + offset) / spec.rate);
            tokio::time::sleep_until(due).await;
        }
        let id = seq + 1;
        let t = now_us();
        ctl.slot(id).store(t, Ordering::Relaxed);
        let packet = format!(
            "42{id}[\"send_message\",{{\"room\":\"{}\",\"text\":\"B|{}|{seq}|{t}|{}\",\"sender\":\"u{}\"}}]",
            spec.room, spec.index, spec.pad, spec.global
        );
        seq += 1;
        ctl.sent.store(seq, Ordering::Relaxed);
        if out.send(packet).is_err() {
            break;
        }
    }
}

/// What one receiver saw.
#[derive(Default)]
struct Tally {
    /// [sender index in room][seq] -> times delivered.
    counts: Vec<Vec<u8>>,
    last_seq: Vec<Option<u64>>,
    reordered: u64,
    latency_us: Vec<u32>,
    in_window: u64,
    unparsed: u64,
    error: Option<String>,
}

impl Tally {
    fn record(&mut self, packet: &str, measuring: bool) {
        let Some((sender, seq, sent_us)) = marker(packet) else {
            self.unparsed += 1;
            return;
        };
        if sender >= self.counts.len() {
            self.unparsed += 1;
            return;
        }
        let counts = &mut self.counts[sender];
        let slot = seq as usize;
        if counts.len() <= slot {
            counts.resize(slot + 1, 0);
        }
        counts[slot] = counts[slot].saturating_add(1);
        if self.last_seq[sender].is_some_and(|last| seq <= last) {
            self.reordered += 1;
        }
        self.last_seq[sender] = Some(seq);
        if measuring {
            self.in_window += 1;
            let waited = now_us().saturating_sub(sent_us);
            self.latency_us.push(waited.min(u64::from(u32::MAX)) as u32);
        }
    }
}

/// `(sender index, seq, send µs)` from a `message` event's text `B|i|seq|µs|pad`.
fn marker(packet: &str) -> Option<(usize, u64, u64)> {
    let at = packet.find("\"B|")?;
    let mut parts = packet[at + 3..].splitn(4, '|');
    let sender = parts.next()?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    let sent = parts.next()?.parse().ok()?;
    Some((sender, seq, sent))
}

/// Everything a receiver task needs besides its client.
struct ReceiverCtx {
    senders_in_room: usize,
    ctl: Option<Arc<SenderCtl>>,
    phase: Arc<Phase>,
    delivered: Arc<AtomicU64>,
    finish: watch::Receiver<bool>,
}

async fn receive(mut client: Client, mut ctx: ReceiverCtx) -> Tally {
    let mut tally = Tally {
        counts: vec![Vec::new(); ctx.senders_in_room],
        last_seq: vec![None; ctx.senders_in_room],
        ..Tally::default()
    };
    let out = client.out.clone();
    loop {
        let step = client.inbound.next(|packet| {
            let measuring = ctx.phase.measuring.load(Ordering::Relaxed);
            if packet.starts_with("42") {
                ctx.delivered.fetch_add(1, Ordering::Relaxed);
                tally.record(packet, measuring);
            } else if packet.starts_with("43") {
                if let Some(ctl) = &ctx.ctl {
                    ctl.on_ack(packet, measuring);
                }
            } else if packet == "2" {
                let _ = out.send("3".into());
            }
        });
        tokio::select! {
            biased;
            _ = ctx.finish.changed() => break,
            result = step => if let Err(e) = result {
                tally.error = Some(e);
                break;
            },
        }
    }
    tally
}

// ---------------------------------------------------------------- fanout / polling / durable

struct LoadPlan {
    transport: Transport,
    rooms: usize,
    members: usize,
    senders: usize,
    opts: FanoutOpts,
    room_prefix: &'static str,
}

struct LoadResult {
    clients: usize,
    cpu: CpuUsed,
    deliveries: u64,
    acks: u64,
    latency_us: Vec<u32>,
    ack_us: Vec<u32>,
    sent: u64,
    lost: u64,
    dup: u64,
    reordered: u64,
    refused: u64,
    unparsed: u64,
    errors: usize,
    rss_kib: Option<f64>,
    connect_s: f64,
}

/// Connects, sends for warm-up + duration, drains, and checks every delivery.
async fn run_load(target: &Target, probe: &Probe, plan: LoadPlan) -> Result<LoadResult, String> {
    let o = &plan.opts;
    let names: Vec<String> = (0..plan.rooms * plan.members)
        .map(|i| format!("{}{}", plan.room_prefix, i / plan.members))
        .collect();
    let t0 = Instant::now();
    let clients = open_many(target, plan.transport, &names, o.concurrency).await?;
    let connect_s = t0.elapsed().as_secs_f64();
    let phase = Arc::new(Phase::default());
    let (finish_tx, finish_rx) = watch::channel(false);
    let mut ctls = Vec::new();
    let mut receivers = Vec::new();
    let mut senders = Vec::new();
    let mut counters = Vec::new();
    for (i, client) in clients.into_iter().enumerate() {
        let member = i % plan.members;
        let ctl = (member < plan.senders).then(|| Arc::new(SenderCtl::new(o.window)));
        if let Some(ctl) = &ctl {
            let spec = SendSpec {
                room: names[i].clone(),
                index: member,
                global: ctls.len(),
                rate: o.rate,
                pad: "x".repeat(o.pad),
                limit: u64::MAX,
            };
            senders.push((client.out.clone(), ctl.clone(), spec));
            ctls.push(ctl.clone());
        }
        let delivered = Arc::new(AtomicU64::new(0));
        counters.push(delivered.clone());
        let ctx = ReceiverCtx {
            senders_in_room: plan.senders,
            ctl,
            phase: phase.clone(),
            delivered,
            finish: finish_rx.clone(),
        };
        receivers.push(tokio::spawn(receive(client, ctx)));
    }
    let send_tasks: Vec<_> = senders
        .into_iter()
        .map(|(out, ctl, spec)| tokio::spawn(send_loop(out, ctl, phase.clone(), spec)))
        .collect();
    tokio::time::sleep(Duration::from_secs_f64(o.warmup)).await;

    let acked = |ctls: &[Arc<SenderCtl>]| {
        ctls.iter()
            .map(|c| c.acked.load(Ordering::Relaxed))
            .sum::<u64>()
    };
    let acks0 = acked(&ctls);
    let window = CpuWindow::start(probe);
    phase.measuring.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs_f64(o.duration)).await;
    phase.measuring.store(false, Ordering::Relaxed);
    let cpu = window.stop(probe);
    let acks = acked(&ctls) - acks0;
    let rss_kib = probe.rss_kib();

    phase.stopping.store(true, Ordering::Relaxed);
    for task in send_tasks {
        let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    }
    drain(&ctls, &counters, o.drain).await;
    let _ = finish_tx.send(true);

    let mut result = LoadResult {
        clients: names.len(),
        cpu,
        deliveries: 0,
        acks,
        latency_us: Vec::new(),
        ack_us: Vec::new(),
        sent: ctls.iter().map(|c| c.sent.load(Ordering::Relaxed)).sum(),
        lost: 0,
        dup: 0,
        reordered: 0,
        refused: ctls.iter().map(|c| c.refused.load(Ordering::Relaxed)).sum(),
        unparsed: 0,
        errors: 0,
        rss_kib,
        connect_s,
    };
    for ctl in &ctls {
        if let Ok(samples) = ctl.ack_us.lock() {
            result.ack_us.extend_from_slice(&samples);
        }
    }
    let sent_per_sender: Vec<u64> = ctls
        .iter()
        .map(|c| c.sent.load(Ordering::Relaxed))
        .collect();
    for (i, task) in receivers.into_iter().enumerate() {
        let Ok(Ok(tally)) = tokio::time::timeout(Duration::from_secs(5), task).await else {
            result.errors += 1;
            continue;
        };
        let room = i / plan.members;
        let expected = &sent_per_sender[room * plan.senders..(room + 1) * plan.senders];
        check_tally(&mut result, tally, expected);
    }
    Ok(result)
}

/// Waits (bounded) until every send is acked and deliveries stopped arriving.
async fn drain(ctls: &[Arc<SenderCtl>], counters: &[Arc<AtomicU64>], max_s: f64) {
    let sent: u64 = ctls.iter().map(|c| c.sent.load(Ordering::Relaxed)).sum();
    let started = Instant::now();
    let mut last = u64::MAX;
    let mut quiet_since = Instant::now();
    while started.elapsed().as_secs_f64() < max_s {
        let acked: u64 = ctls.iter().map(|c| c.acked.load(Ordering::Relaxed)).sum();
        let delivered: u64 = counters.iter().map(|c| c.load(Ordering::Relaxed)).sum();
        if delivered != last {
            last = delivered;
            quiet_since = Instant::now();
        }
        if acked >= sent && quiet_since.elapsed() > Duration::from_millis(500) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn check_tally(result: &mut LoadResult, tally: Tally, expected: &[u64]) {
    result.deliveries += tally.in_window;
    result.reordered += tally.reordered;
    result.unparsed += tally.unparsed;
    result.errors += usize::from(tally.error.is_some());
    result.latency_us.extend_from_slice(&tally.latency_us);
    for (sender, &sent) in expected.iter().enumerate() {
        let counts = &tally.counts[sender];
        for seq in 0..sent as usize {
            match counts.get(seq).copied().unwrap_or(0) {
                0 => result.lost += 1,
                1 => {}
                n => result.dup += u64::from(n - 1),
            }
        }
    }
}

async fn fanout(
    target: &Target,
    probe: &Probe,
    transport: Transport,
    opts: FanoutOpts,
) -> Result<(), String> {
    let plan = LoadPlan {
        transport,
        rooms: opts.rooms,
        members: opts.members,
        senders: opts.senders.min(opts.members),
        room_prefix: if transport == Transport::Polling {
            "poll"
        } else {
            "fan"
        },
        opts,
    };
    let (rooms, members, senders, window) =
        (plan.rooms, plan.members, plan.senders, plan.opts.window);
    let mut r = run_load(target, probe, plan).await?;
    let name = if transport == Transport::Polling {
        "polling"
    } else {
        "fanout"
    };
    println!(
        "\n{name}: {rooms} rooms x {members} members, {senders} senders/room, window {window}, {:.1} s measured, connect {:.1} s",
        r.cpu.wall_s, r.connect_s
    );
    table(
        &[
            "clients",
            "deliveries/s",
            "sends/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "srv µs/delivery",
            "srv CPU%",
            "bench CPU%",
            "srv RSS MiB",
            "sent",
            "lost",
            "dup",
            "reordered",
            "refused",
            "errors",
        ],
        &[vec![
            r.clients.to_string(),
            format!("{:.0}", r.deliveries as f64 / r.cpu.wall_s),
            format!("{:.0}", r.acks as f64 / r.cpu.wall_s),
            latency_cells(&mut r.latency_us),
            r.cpu.server_per(r.deliveries),
            r.cpu.server_pct(),
            r.cpu.own_pct(),
            r.rss_kib
                .map_or("-".into(), |k| format!("{:.1}", k / 1024.0)),
            r.sent.to_string(),
            r.lost.to_string(),
            r.dup.to_string(),
            r.reordered.to_string(),
            r.refused.to_string(),
            (r.errors as u64 + r.unparsed).to_string(),
        ]],
    );
    Ok(())
}

async fn durable(target: &Target, probe: &Probe, opts: DurableOpts) -> Result<(), String> {
    let plan = LoadPlan {
        transport: Transport::WebSocket,
        rooms: opts.sockets.max(1),
        members: 1,
        senders: 1,
        room_prefix: "durable",
        opts: FanoutOpts {
            rooms: opts.sockets.max(1),
            members: 1,
            senders: 1,
            window: opts.window,
            duration: opts.duration,
            warmup: opts.warmup,
            rate: 0.0,
            pad: 32,
            drain: 15.0,
            concurrency: 64,
        },
    };
    let mut r = run_load(target, probe, plan).await?;
    println!(
        "\ndurable: {} socket(s), {} in flight each, {:.1} s measured",
        opts.sockets.max(1),
        opts.window,
        r.cpu.wall_s
    );
    table(
        &[
            "acks/s",
            "ack p50 ms",
            "ack p90 ms",
            "ack p99 ms",
            "ack max ms",
            "srv µs/ack",
            "srv CPU%",
            "bench CPU%",
            "sent",
            "lost",
            "dup",
            "refused",
            "errors",
        ],
        &[vec![
            format!("{:.0}", r.acks as f64 / r.cpu.wall_s),
            latency_cells(&mut r.ack_us),
            r.cpu.server_per(r.acks),
            r.cpu.server_pct(),
            r.cpu.own_pct(),
            r.sent.to_string(),
            r.lost.to_string(),
            r.dup.to_string(),
            r.refused.to_string(),
            (r.errors as u64 + r.unparsed).to_string(),
        ]],
    );
    Ok(())
}

// ---------------------------------------------------------------- idle

async fn idle(target: &Target, probe: &Probe, opts: IdleOpts) -> Result<(), String> {
    let rss0 = probe.rss_kib();
    let names: Vec<String> = (0..opts.conns)
        .map(|i| format!("idle{}", i / opts.members.max(1)))
        .collect();
    let t0 = Instant::now();
    let clients = open_many(target, Transport::WebSocket, &names, opts.concurrency).await?;
    let connect_s = t0.elapsed().as_secs_f64();
    let (finish_tx, finish_rx) = watch::channel(false);
    let phase = Arc::new(Phase::default());
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|client| {
            let ctx = ReceiverCtx {
                senders_in_room: 0,
                ctl: None,
                phase: phase.clone(),
                delivered: Arc::new(AtomicU64::new(0)),
                finish: finish_rx.clone(),
            };
            tokio::spawn(receive(client, ctx))
        })
        .collect();
    let window = CpuWindow::start(probe);
    tokio::time::sleep(Duration::from_secs_f64(opts.settle)).await;
    let cpu = window.stop(probe);
    let rss1 = probe.rss_kib();
    let _ = finish_tx.send(true);
    let mut dropped = 0;
    for task in tasks {
        match tokio::time::timeout(Duration::from_secs(5), task).await {
            Ok(Ok(tally)) if tally.error.is_none() => {}
            _ => dropped += 1,
        }
    }
    let per_conn = match (rss0, rss1) {
        (Some(a), Some(b)) => format!("{:.1}", (b - a) / opts.conns.max(1) as f64),
        _ => "-".into(),
    };
    let mib = |k: Option<f64>| k.map_or("-".into(), |k| format!("{:.1}", k / 1024.0));
    println!(
        "\nidle: {} WebSocket connections joined to rooms of {}, RSS read {:.1} s after the last join",
        opts.conns, opts.members, opts.settle
    );
    table(
        &[
            "connections",
            "connect s",
            "RSS before MiB",
            "RSS after MiB",
            "KiB/conn",
            "idle srv CPU%",
            "dropped",
        ],
        &[vec![
            opts.conns.to_string(),
            format!("{connect_s:.1}"),
            mib(rss0),
            mib(rss1),
            per_conn,
            cpu.server_pct(),
            dropped.to_string(),
        ]],
    );
    Ok(())
}

// ---------------------------------------------------------------- history

async fn history(target: &Target, probe: &Probe, opts: HistoryOpts) -> Result<(), String> {
    if opts.fill > 0 {
        fill_room(target, probe, &opts).await?;
    }
    let mut client = Client::open(target, Transport::WebSocket).await?;
    let newest = client
        .call(1, "history", &json!({"room": opts.room, "limit": 1}))
        .await?;
    let oldest = client
        .call(
            2,
            "history",
            &json!({"room": opts.room, "after": 0, "limit": 1}),
        )
        .await?;
    let first = oldest["messages"][0]["id"]
        .as_u64()
        .ok_or("the room is empty")?;
    let last = newest["messages"][0]["id"]
        .as_u64()
        .ok_or("the room is empty")?;
    let kinds = ["newest", "before", "after"];
    let mut samples: [Vec<u32>; 3] = Default::default();
    let mut returned = [0u64; 3];
    let mut short = 0u64;
    let mut random = SmallRng::seed_from_u64(0x9e37_79b9_7f4a_7c15);
    let window = CpuWindow::start(probe);
    for i in 0..opts.requests {
        let kind = i % kinds.len();
        let cursor = random.random_range(first..=last);
        let payload = match kind {
            0 => json!({"room": opts.room, "limit": opts.limit}),
            1 => json!({"room": opts.room, "before": cursor, "limit": opts.limit}),
            _ => json!({"room": opts.room, "after": cursor, "limit": opts.limit}),
        };
        let t = Instant::now();
        let ack = client.call(10 + i as u64, "history", &payload).await?;
        samples[kind].push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
        if ack["ok"] != json!(true) {
            return Err(format!("history refused: {ack}"));
        }
        let n = ack["messages"].as_array().map_or(0, Vec::len) as u64;
        returned[kind] += n;
        short += u64::from(n < opts.limit);
    }
    let cpu = window.stop(probe);
    println!(
        "\nhistory: room {} ids {first}..{last}, {} requests one at a time, limit {}, {:.0} req/s, srv {} µs/req, {short} pages shorter than the limit (room edges)",
        opts.room,
        opts.requests,
        opts.limit,
        opts.requests as f64 / cpu.wall_s,
        cpu.server_per(opts.requests as u64),
    );
    let rows: Vec<Vec<String>> = kinds
        .iter()
        .zip(samples.iter_mut())
        .zip(returned)
        .map(|((kind, s), n)| {
            let count = s.len();
            vec![
                kind.to_string(),
                count.to_string(),
                format!("{:.1}", n as f64 / count.max(1) as f64),
                latency_cells(s),
            ]
        })
        .collect();
    table(
        &[
            "request",
            "count",
            "msgs/page",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
        ],
        &rows,
    );
    Ok(())
}

/// Adds `opts.fill` messages to the room through `send_message` acks, in parallel.
async fn fill_room(target: &Target, probe: &Probe, opts: &HistoryOpts) -> Result<(), String> {
    let sockets = opts.fill_sockets.max(1);
    let rooms = vec![opts.room.clone(); sockets];
    let clients = open_many(target, Transport::WebSocket, &rooms, sockets).await?;
    let phase = Arc::new(Phase::default());
    let (finish_tx, finish_rx) = watch::channel(false);
    let mut ctls = Vec::new();
    let mut tasks = Vec::new();
    let window = CpuWindow::start(probe);
    for (i, client) in clients.into_iter().enumerate() {
        let ctl = Arc::new(SenderCtl::new(opts.fill_window));
        let share = opts.fill / sockets as u64 + u64::from((i as u64) < opts.fill % sockets as u64);
        let spec = SendSpec {
            room: opts.room.clone(),
            index: i,
            global: i,
            rate: 0.0,
            pad: "x".repeat(32),
            limit: share,
        };
        tokio::spawn(send_loop(
            client.out.clone(),
            ctl.clone(),
            phase.clone(),
            spec,
        ));
        let ctx = ReceiverCtx {
            senders_in_room: 0,
            ctl: Some(ctl.clone()),
            phase: phase.clone(),
            delivered: Arc::new(AtomicU64::new(0)),
            finish: finish_rx.clone(),
        };
        tasks.push(tokio::spawn(receive(client, ctx)));
        ctls.push(ctl);
    }
    let acked = || {
        ctls.iter()
            .map(|c| c.acked.load(Ordering::Relaxed))
            .sum::<u64>()
    };
    let give_up = Instant::now() + Duration::from_secs(3600);
    while acked() < opts.fill && Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cpu = window.stop(probe);
    let _ = finish_tx.send(true);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    let refused: u64 = ctls.iter().map(|c| c.refused.load(Ordering::Relaxed)).sum();
    println!(
        "fill: {} messages via send_message from {sockets} sockets x {} in flight in {:.1} s = {:.0} msgs/s, {refused} refused",
        acked(),
        opts.fill_window,
        cpu.wall_s,
        acked() as f64 / cpu.wall_s
    );
    Ok(())
}

/// Prints `count` messages of one room as JSON lines, ids ending now.
fn gen_history(opts: GenOpts) -> Result<(), String> {
    use std::io::Write;
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_millis() as u64;
    let first_id = now_ms * 1000 - opts.count;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for i in 0..opts.count {
        let id = first_id + i;
        let line = json!({
            "id": id, "room": opts.room, "sender": format!("u{}", i % 50),
            "text": format!("history message {i}"), "ts": id / 1000, "client_id": null,
        });
        writeln!(out, "{line}").map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}
