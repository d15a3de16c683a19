//! Configuration: command-line flags, `PARLEY_*` environment variables and an optional
//! TOML file, merged into one [`Config`]. A flag beats the environment, which beats
//! the file, which beats the built-in default.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde::Deserialize;
use thiserror::Error;

use crate::accounts::{AuthMode, Role};
use crate::chat::{ChatLimits, DEFAULT_BURST_PER_RATE, DEFAULT_RATE_PER_SECOND};
use crate::cors::CorsPolicy;
use crate::engineio::EngineConfig;
use crate::store::{StoreOptions, SyncLevel};
use crate::tls::TlsSource;

#[derive(Debug, Parser)]
#[command(
    name = "parley",
    version,
    about = "A self-hosted team chat in one executable"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the chat server (the default when no command is given).
    Serve(ServeArgs),
    /// Write stored messages to stdout as JSON lines, oldest first per room.
    Export {
        /// Only this room.
        #[arg(long)]
        room: Option<String>,
        #[command(flatten)]
        settings: ServeArgs,
    },
    /// Read JSON lines (as written by export) from stdin; already stored messages
    /// and accounts are skipped, so importing twice is harmless.
    Import {
        #[command(flatten)]
        settings: ServeArgs,
    },
    /// Manage users (stop the server first).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens (stop the server first).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Rebuild the search index from the stored messages (stop the server first).
    Reindex {
        #[command(flatten)]
        settings: ServeArgs,
    },
    /// Print the join link, made on first use (stop the server first).
    Invite {
        /// Replace the code, so that the old link stops working.
        #[arg(long)]
        reset: bool,
        #[command(flatten)]
        settings: ServeArgs,
    },
    /// The HTTPS certificate.
    Tls {
        #[command(subcommand)]
        command: TlsCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum TlsCommand {
    /// Print the SHA-256 fingerprint of the certificate: the one of --tls-cert, else
    /// the self-signed one in the data directory (the server may be running).
    Fingerprint {
        #[command(flatten)]
        settings: ServeArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from stdin (--password-stdin) or asked for.
    Add {
        username: String,
        /// Make the user an admin (same as --role admin).
        #[arg(long, conflicts_with = "role")]
        admin: bool,
        /// admin, member or bot.
        #[arg(long, default_value = "member")]
        role: Role,
        /// Display name [default: the username].
        #[arg(long)]
        name: Option<String>,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        settings: ServeArgs,
    },
    /// List every user, deactivated ones too.
    List {
        #[command(flatten)]
        settings: ServeArgs,
    },
    /// Deactivate a user: their sessions and tokens stop working.
    Deactivate {
        username: String,
        #[command(flatten)]
        settings: ServeArgs,
    },
    /// Set a user's password and sign out their sessions.
    SetPassword {
        username: String,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        settings: ServeArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make an API token for a user and print it (it is shown only this once).
    Create {
        username: String,
        /// What the token is for; the user lists and revokes it by this name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        settings: ServeArgs,
    },
}

/// Where Parley listens when nothing says otherwise: this machine only.
const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5000);
const DEFAULT_DATA_DIR: &str = "parley-data";
const DEFAULT_LOG_LEVEL: &str = "info";

/// A flag's help with its built-in default, taken from where the default lives.
fn with_default(help: &str, default: impl std::fmt::Display) -> String {
    format!("{help} [default: {default}]")
}

/// Flags of the server. Every one is optional here so that the environment, the
/// config file and the defaults can fill in what the command line leaves out.
#[derive(Debug, Args, Default, Clone)]
pub struct ServeArgs {
    /// TOML config file (see config.example.toml).
    #[arg(long, env = "PARLEY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[arg(long, env = "PARLEY_LISTEN", value_name = "ADDR",
        help = with_default("Address to listen on", DEFAULT_LISTEN))]
    pub listen: Option<SocketAddr>,
    #[arg(long, env = "PARLEY_DATA_DIR", value_name = "DIR",
        help = with_default("Where messages and accounts are stored", DEFAULT_DATA_DIR))]
    pub data_dir: Option<PathBuf>,
    #[arg(long, env = "PARLEY_SYNC", value_name = "LEVEL",
        help = with_default("When a message counts as stored: `full` once it would survive a power cut, `os` once it would survive parley crashing (faster)", SyncLevel::default()))]
    pub sync: Option<SyncLevel>,
    #[arg(long, env = "PARLEY_AUTH", value_name = "MODE",
        help = with_default("accounts: everyone signs in; open: anyone may send under any name", AuthMode::default()))]
    pub auth: Option<AuthMode>,
    /// Origin allowed for cross-origin requests; repeat for several, `*` for any
    /// [default: same origin only].
    #[arg(
        long,
        env = "PARLEY_CORS_ORIGIN",
        value_name = "ORIGIN",
        value_delimiter = ','
    )]
    pub cors_origin: Vec<String>,
    #[arg(long, env = "PARLEY_PING_INTERVAL", value_name = "MS",
        help = with_default("Milliseconds between heartbeats", EngineConfig::default().ping_interval.as_millis()))]
    pub ping_interval: Option<u64>,
    #[arg(long, env = "PARLEY_PING_TIMEOUT", value_name = "MS",
        help = with_default("Milliseconds to wait for a heartbeat answer", EngineConfig::default().ping_timeout.as_millis()))]
    pub ping_timeout: Option<u64>,
    #[arg(long, env = "PARLEY_MAX_PAYLOAD", value_name = "BYTES",
        help = with_default("Largest request body or frame in bytes", EngineConfig::default().max_payload))]
    pub max_payload: Option<usize>,
    #[arg(long, env = "PARLEY_MAX_UPLOAD", value_name = "BYTES",
        help = with_default("Largest file one upload may send, in bytes", crate::files::DEFAULT_MAX_UPLOAD))]
    pub max_upload: Option<usize>,
    #[arg(long, env = "PARLEY_MAX_TEXT_CHARS", value_name = "CHARS",
        help = with_default("Longest message text in characters", ChatLimits::default().max_text_chars))]
    pub max_text_chars: Option<usize>,
    #[arg(long, env = "PARLEY_RATE_LIMIT", value_name = "PER_SECOND",
        help = with_default("Requests per second one connection (or HTTP client address) may make; 0 for no limit", DEFAULT_RATE_PER_SECOND))]
    pub rate_limit: Option<u32>,
    #[arg(long, env = "PARLEY_RATE_BURST", value_name = "COUNT",
        help = with_default("Requests one connection may make in a burst above the rate", format!("{DEFAULT_BURST_PER_RATE} × rate")))]
    pub rate_burst: Option<u32>,
    #[arg(long, env = "PARLEY_MAX_ROOMS_PER_SOCKET", value_name = "COUNT",
        help = with_default("Rooms one connection may be in at once", ChatLimits::default().max_rooms_per_socket))]
    pub max_rooms_per_socket: Option<usize>,
    #[arg(long, env = "PARLEY_MAX_CONNECTIONS", value_name = "COUNT",
        help = with_default("Open connections at most; further ones are refused with 503", EngineConfig::default().max_sessions))]
    pub max_connections: Option<usize>,
    #[arg(long, env = "PARLEY_LOG_LEVEL", value_name = "FILTER",
        help = with_default("Log filter, e.g. `info` or `parley=debug`; RUST_LOG also works", DEFAULT_LOG_LEVEL))]
    pub log_level: Option<String>,
    /// Serve HTTPS with this certificate chain (PEM), read again on SIGHUP.
    #[arg(long, env = "PARLEY_TLS_CERT", value_name = "PEM")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM), read again on SIGHUP.
    #[arg(long, env = "PARLEY_TLS_KEY", value_name = "PEM")]
    pub tls_key: Option<PathBuf>,
    /// Serve HTTPS with a certificate made once and kept in the data directory
    /// (its SHA-256 fingerprint is logged and shown by `parley tls fingerprint`).
    #[arg(long, env = "PARLEY_TLS_SELF_SIGNED", conflicts_with = "tls_cert")]
    pub tls_self_signed: bool,
    /// A name (host name or IP address) for the self-signed certificate; repeat for
    /// several [default: this machine's host name, the listen addresses and localhost].
    #[arg(
        long,
        env = "PARLEY_TLS_NAME",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub tls_name: Vec<String>,
    /// Also listen for plain HTTP here, answering every request with a redirect to
    /// HTTPS (e.g. 0.0.0.0:80).
    #[arg(long, env = "PARLEY_REDIRECT_HTTP", value_name = "ADDR")]
    pub redirect_http: Option<SocketAddr>,
}

/// The TOML file: the same keys as the flags, in snake_case.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    sync: Option<String>,
    auth: Option<AuthMode>,
    cors_origin: Option<Vec<String>>,
    ping_interval: Option<u64>,
    ping_timeout: Option<u64>,
    max_payload: Option<usize>,
    max_upload: Option<usize>,
    max_text_chars: Option<usize>,
    rate_limit: Option<u32>,
    rate_burst: Option<u32>,
    max_rooms_per_socket: Option<usize>,
    max_connections: Option<usize>,
    log_level: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_self_signed: Option<bool>,
    tls_name: Option<Vec<String>>,
    redirect_http: Option<SocketAddr>,
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}, line {line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("invalid value for {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub store: StoreOptions,
    pub auth: AuthMode,
    pub cors: CorsPolicy,
    pub engine: EngineConfig,
    pub chat: ChatLimits,
    /// The largest file one upload may send, in bytes.
    pub max_upload: usize,
    pub log_level: String,
    /// HTTPS, and where its certificate comes from; None for plain HTTP.
    pub tls: Option<TlsSource>,
    /// Where plain HTTP is answered with a redirect to HTTPS.
    pub redirect_http: Option<SocketAddr>,
}

impl Config {
    /// Merges flags (with their environment fallbacks), the config file and defaults.
    pub fn load(args: &ServeArgs) -> Result<Config, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let tls = tls_source(args, &file)?;
        let origins = if args.cors_origin.is_empty() {
            file.cors_origin.unwrap_or_default()
        } else {
            args.cors_origin.clone()
        };
        let engine = EngineConfig::default();
        let chat = ChatLimits::default();
        let ping_interval = args.ping_interval.or(file.ping_interval);
        let ping_timeout = args.ping_timeout.or(file.ping_timeout);
        let ping_interval = ping_interval.map_or(engine.ping_interval, Duration::from_millis);
        let ping_timeout = ping_timeout.map_or(engine.ping_timeout, Duration::from_millis);
        let max_payload = args
            .max_payload
            .or(file.max_payload)
            .unwrap_or(engine.max_payload);
        require_positive("ping_interval", ping_interval.as_millis() as usize)?;
        require_positive("ping_timeout", ping_timeout.as_millis() as usize)?;
        require_positive("max_payload", max_payload)?;
        let max_upload = args
            .max_upload
            .or(file.max_upload)
            .unwrap_or(crate::files::DEFAULT_MAX_UPLOAD);
        require_positive("max_upload", max_upload)?;
        let max_text_chars = args
            .max_text_chars
            .or(file.max_text_chars)
            .unwrap_or(chat.max_text_chars);
        require_positive("max_text_chars", max_text_chars)?;
        if max_text_chars > crate::model::TEXT_CHARS_CEILING {
            return Err(ConfigError::Invalid {
                key: "max_text_chars",
                reason: format!("must be at most {}", crate::model::TEXT_CHARS_CEILING),
            });
        }
        let rate_limit = args
            .rate_limit
            .or(file.rate_limit)
            .unwrap_or(DEFAULT_RATE_PER_SECOND);
        let rate_burst = args
            .rate_burst
            .or(file.rate_burst)
            .unwrap_or(rate_limit.saturating_mul(DEFAULT_BURST_PER_RATE));
        let max_rooms_per_socket = args
            .max_rooms_per_socket
            .or(file.max_rooms_per_socket)
            .unwrap_or(chat.max_rooms_per_socket);
        require_positive("max_rooms_per_socket", max_rooms_per_socket)?;
        let max_connections = args
            .max_connections
            .or(file.max_connections)
            .unwrap_or(engine.max_sessions);
        require_positive("max_connections", max_connections)?;
        // clap has already parsed the flag (and its environment variable).
        let sync = match (args.sync, file.sync) {
            (Some(level), _) => level,
            (None, Some(text)) => text.parse().map_err(|reason| ConfigError::Invalid {
                key: "sync",
                reason,
            })?,
            (None, None) => SyncLevel::default(),
        };
        let redirect_http = args.redirect_http.or(file.redirect_http);
        if redirect_http.is_some() && tls.is_none() {
            return Err(ConfigError::Invalid {
                key: "redirect_http",
                reason:
                    "redirects to HTTPS, which needs --tls-cert and --tls-key or --tls-self-signed"
                        .into(),
            });
        }
        Ok(Config {
            listen: args.listen.or(file.listen).unwrap_or(DEFAULT_LISTEN),
            data_dir: args
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            store: StoreOptions { sync },
            auth: args.auth.or(file.auth).unwrap_or_default(),
            cors: CorsPolicy::from_origins(origins).map_err(|reason| ConfigError::Invalid {
                key: "cors_origin",
                reason,
            })?,
            engine: EngineConfig {
                ping_interval,
                ping_timeout,
                max_payload,
                max_sessions: max_connections,
                ..engine
            },
            chat: ChatLimits {
                max_text_chars,
                max_rooms_per_socket,
                rate: (rate_limit > 0).then_some((rate_limit, rate_burst)),
                ..chat
            },
            max_upload,
            log_level: args
                .log_level
                .clone()
                .or(file.log_level)
                .unwrap_or_else(|| DEFAULT_LOG_LEVEL.to_owned()),
            tls,
            redirect_http,
        })
    }
}

/// HTTPS from the flags or the file: an own certificate and key (both), or a
/// self-signed one (with its names), or none.
fn tls_source(args: &ServeArgs, file: &FileConfig) -> Result<Option<TlsSource>, ConfigError> {
    let cert = args.tls_cert.clone().or_else(|| file.tls_cert.clone());
    let key = args.tls_key.clone().or_else(|| file.tls_key.clone());
    let self_signed = args.tls_self_signed || file.tls_self_signed.unwrap_or(false);
    let names = if args.tls_name.is_empty() {
        file.tls_name.clone().unwrap_or_default()
    } else {
        args.tls_name.clone()
    };
    let invalid = |key, reason: &str| ConfigError::Invalid {
        key,
        reason: reason.to_owned(),
    };
    match (cert, key, self_signed) {
        (Some(_), _, true) => Err(invalid(
            "tls_self_signed",
            "choose either an own certificate (--tls-cert) or a self-signed one",
        )),
        (Some(cert), Some(key), false) if names.is_empty() => {
            Ok(Some(TlsSource::Files { cert, key }))
        }
        (Some(_), Some(_), false) => Err(invalid(
            "tls_name",
            "names the self-signed certificate; an own certificate has its names inside",
        )),
        (Some(_), None, _) => Err(invalid("tls_key", "--tls-cert needs --tls-key")),
        (None, Some(_), _) => Err(invalid("tls_cert", "--tls-key needs --tls-cert")),
        (None, None, true) => Ok(Some(TlsSource::SelfSigned { names })),
        (None, None, false) if names.is_empty() => Ok(None),
        (None, None, false) => Err(invalid("tls_name", "needs --tls-self-signed")),
    }
}

fn require_positive(key: &'static str, value: usize) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(ConfigError::Invalid {
            key,
            reason: "must be greater than 0".into(),
        });
    }
    Ok(())
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|error| ConfigError::Parse {
        path: path.to_owned(),
        line: error
            .span()
            .map(|span| text[..span.start].matches('\n').count() + 1)
            .unwrap_or(1),
        message: error.message().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_config(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("parley.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    /// The error of loading a config file that says `text`.
    fn load_error(text: &str) -> String {
        let (_dir, path) = write_config(text);
        let args = ServeArgs {
            config: Some(path),
            ..ServeArgs::default()
        };
        Config::load(&args).unwrap_err().to_string()
    }

    #[test]
    fn defaults_need_no_file() {
        let config = Config::load(&ServeArgs::default()).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:5000");
        assert_eq!(config.data_dir, PathBuf::from("parley-data"));
        assert_eq!(config.cors, CorsPolicy::SameOrigin);
        assert_eq!(config.engine.ping_interval, Duration::from_secs(25));
        assert_eq!(config.engine.ping_timeout, Duration::from_secs(20));
        assert_eq!(config.engine.max_payload, 1_000_000);
        assert_eq!(config.auth, AuthMode::Accounts);
    }

    #[test]
    fn the_auth_mode_comes_from_the_flag_or_the_file() {
        let (_dir, path) = write_config("auth = \"open\"\n");
        let from_file = ServeArgs {
            config: Some(path.clone()),
            ..ServeArgs::default()
        };
        assert_eq!(Config::load(&from_file).unwrap().auth, AuthMode::Open);
        let flag = ServeArgs {
            config: Some(path),
            auth: Some(AuthMode::Accounts),
            ..ServeArgs::default()
        };
        assert_eq!(Config::load(&flag).unwrap().auth, AuthMode::Accounts);
        let error = load_error("auth = \"closed\"\n");
        assert!(
            error.contains("line 1") && error.contains("closed"),
            "{error}"
        );
        let cli = Cli::try_parse_from(["parley", "--auth", "open"]).unwrap();
        assert_eq!(cli.serve.auth, Some(AuthMode::Open));
        assert!(Cli::try_parse_from(["parley", "--auth", "closed"]).is_err());
    }

    #[test]
    fn flags_beat_the_file() {
        let (_dir, path) = write_config("listen = \"127.0.0.1:7000\"\nping_interval = 1000\n");
        let args = ServeArgs {
            config: Some(path),
            ping_interval: Some(500),
            ..ServeArgs::default()
        };
        let config = Config::load(&args).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:7000");
        assert_eq!(config.engine.ping_interval, Duration::from_millis(500));
    }

    #[test]
    fn unknown_keys_are_named() {
        let error = load_error("listen = \"127.0.0.1:7000\"\npingInterval = 3\n");
        assert!(
            error.contains("line 2") && error.contains("pingInterval"),
            "{error}"
        );
        assert!(!error.contains('\n'), "{error}");
    }

    #[test]
    fn bad_values_are_named() {
        let error = Config::load(&ServeArgs {
            max_payload: Some(0),
            ..ServeArgs::default()
        })
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid value for max_payload: must be greater than 0"
        );
        let error = Config::load(&ServeArgs {
            cors_origin: vec!["example.com".into()],
            ..ServeArgs::default()
        })
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid value for cors_origin: \"example.com\" is not an origin like https://chat.example.com"
        );
    }

    #[test]
    fn sync_level_comes_from_the_flag_the_file_or_the_default() {
        let level = |args: ServeArgs| Config::load(&args).unwrap().store.sync;
        assert_eq!(level(ServeArgs::default()), SyncLevel::Full);
        let (_dir, path) = write_config("sync = \"os\"\n");
        let from_file = ServeArgs {
            config: Some(path),
            ..ServeArgs::default()
        };
        assert_eq!(level(from_file.clone()), SyncLevel::Os);
        let flag = ServeArgs {
            sync: Some(SyncLevel::Full),
            ..from_file
        };
        assert_eq!(level(flag), SyncLevel::Full);

        let parsed = Cli::try_parse_from(["parley", "--sync", "os"]).unwrap();
        assert_eq!(parsed.serve.sync, Some(SyncLevel::Os));
    }

    #[test]
    fn tls_comes_from_a_certificate_or_is_self_signed() {
        let parse = |args: &[&str]| {
            let mut line = vec!["parley"];
            line.extend_from_slice(args);
            Config::load(&Cli::try_parse_from(line).unwrap().serve)
        };
        assert_eq!(parse(&[]).unwrap().tls, None);
        assert_eq!(
            parse(&["--tls-cert", "c.pem", "--tls-key", "k.pem"])
                .unwrap()
                .tls,
            Some(TlsSource::Files {
                cert: "c.pem".into(),
                key: "k.pem".into()
            })
        );
        assert_eq!(
            parse(&["--tls-self-signed", "--tls-name", "chat.lan,10.0.0.2"])
                .unwrap()
                .tls,
            Some(TlsSource::SelfSigned {
                names: vec!["chat.lan".into(), "10.0.0.2".into()]
            })
        );
        let refused = |args: &[&str], key: &str| {
            let error = parse(args).unwrap_err().to_string();
            assert!(error.contains(key), "{args:?}: {error}");
        };
        refused(&["--tls-cert", "c.pem"], "tls_key");
        refused(&["--tls-key", "k.pem"], "tls_cert");
        refused(&["--tls-name", "chat.lan"], "tls_name");
        refused(&["--redirect-http", "127.0.0.1:8080"], "redirect_http");
        assert!(
            Cli::try_parse_from(["parley", "--tls-self-signed", "--tls-cert", "c.pem"]).is_err()
        );
        let (_dir, path) =
            write_config("tls_self_signed = true\nredirect_http = \"127.0.0.1:0\"\n");
        let config = Config::load(&ServeArgs {
            config: Some(path),
            ..ServeArgs::default()
        })
        .unwrap();
        assert_eq!(config.tls, Some(TlsSource::SelfSigned { names: vec![] }));
        assert!(config.redirect_http.is_some());
    }

    #[test]
    fn a_bad_sync_level_is_named() {
        let (_dir, path) = write_config("sync = \"fsync\"\n");
        let error = Config::load(&ServeArgs {
            config: Some(path),
            ..ServeArgs::default()
        })
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid value for sync: \"fsync\" is neither `full` nor `os`"
        );
        let error = Cli::try_parse_from(["parley", "--sync", "fsync"])
            .unwrap_err()
            .to_string();
        let first_line = error.lines().next().unwrap();
        assert!(
            first_line.contains("--sync") && first_line.contains("neither `full` nor `os`"),
            "{error}"
        );
    }
}
