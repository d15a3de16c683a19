//! Configuration: command-line flags, `PARLEY_*` environment variables and an optional
//! TOML file, merged into one [`Config`]. A flag beats the environment, which beats
//! the file, which beats the built-in default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde::Deserialize;
use thiserror::Error;

use crate::chat::ChatLimits;
use crate::engineio::EngineConfig;

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
    /// are skipped, so importing twice is harmless.
    Import {
        #[command(flatten)]
        settings: ServeArgs,
    },
}

/// Flags of the server. Every one is optional here so that the environment, the
/// config file and the defaults can fill in what the command line leaves out.
#[derive(Debug, Args, Default, Clone)]
pub struct ServeArgs {
    /// TOML config file (see config.example.toml).
    #[arg(long, env = "PARLEY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:5000].
    #[arg(long, env = "PARLEY_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Where messages are stored [default: ./parley-data].
    #[arg(long, env = "PARLEY_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Origin allowed for cross-origin requests; repeat for several, `*` for any
    /// [default: same origin only].
    #[arg(
        long,
        env = "PARLEY_CORS_ORIGIN",
        value_name = "ORIGIN",
        value_delimiter = ','
    )]
    pub cors_origin: Vec<String>,
    /// Milliseconds between heartbeats [default: 25000].
    #[arg(long, env = "PARLEY_PING_INTERVAL", value_name = "MS")]
    pub ping_interval: Option<u64>,
    /// Milliseconds to wait for a heartbeat answer [default: 20000].
    #[arg(long, env = "PARLEY_PING_TIMEOUT", value_name = "MS")]
    pub ping_timeout: Option<u64>,
    /// Largest request body or frame in bytes [default: 1000000].
    #[arg(long, env = "PARLEY_MAX_PAYLOAD", value_name = "BYTES")]
    pub max_payload: Option<usize>,
    /// Longest message text in characters [default: 4000].
    #[arg(long, env = "PARLEY_MAX_TEXT_CHARS", value_name = "CHARS")]
    pub max_text_chars: Option<usize>,
    /// Requests per second one connection may make; 0 for no limit [default: 0].
    #[arg(long, env = "PARLEY_RATE_LIMIT", value_name = "PER_SECOND")]
    pub rate_limit: Option<u32>,
    /// Requests one connection may make in a burst above the rate [default: 2 × rate].
    #[arg(long, env = "PARLEY_RATE_BURST", value_name = "COUNT")]
    pub rate_burst: Option<u32>,
    /// Rooms one connection may be in at once [default: 100].
    #[arg(long, env = "PARLEY_MAX_ROOMS_PER_SOCKET", value_name = "COUNT")]
    pub max_rooms_per_socket: Option<usize>,
    /// Open connections at most; further ones are refused with 503 [default: 10000].
    #[arg(long, env = "PARLEY_MAX_CONNECTIONS", value_name = "COUNT")]
    pub max_connections: Option<usize>,
    /// Log filter, e.g. `info` or `parley=debug` [default: info; RUST_LOG also works].
    #[arg(long, env = "PARLEY_LOG_LEVEL", value_name = "FILTER")]
    pub log_level: Option<String>,
}

/// The TOML file: the same keys as the flags, in snake_case.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    cors_origin: Option<Vec<String>>,
    ping_interval: Option<u64>,
    ping_timeout: Option<u64>,
    max_payload: Option<usize>,
    max_text_chars: Option<usize>,
    rate_limit: Option<u32>,
    rate_burst: Option<u32>,
    max_rooms_per_socket: Option<usize>,
    max_connections: Option<usize>,
    log_level: Option<String>,
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

/// Which origins may talk to Parley from another site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsPolicy {
    SameOrigin,
    AnyOrigin,
    AllowList(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub cors: CorsPolicy,
    pub engine: EngineConfig,
    pub chat: ChatLimits,
    pub log_level: String,
}

impl Config {
    /// Merges flags (with their environment fallbacks), the config file and defaults.
    pub fn load(args: &ServeArgs) -> Result<Config, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let origins = if args.cors_origin.is_empty() {
            file.cors_origin.unwrap_or_default()
        } else {
            args.cors_origin.clone()
        };
        let ping_interval = args.ping_interval.or(file.ping_interval).unwrap_or(25_000);
        let ping_timeout = args.ping_timeout.or(file.ping_timeout).unwrap_or(20_000);
        let max_payload = args.max_payload.or(file.max_payload).unwrap_or(1_000_000);
        require_positive("ping_interval", ping_interval as usize)?;
        require_positive("ping_timeout", ping_timeout as usize)?;
        require_positive("max_payload", max_payload)?;
        let max_text_chars = args
            .max_text_chars
            .or(file.max_text_chars)
            .unwrap_or(crate::model::DEFAULT_MAX_TEXT_CHARS);
        require_positive("max_text_chars", max_text_chars)?;
        if max_text_chars > crate::model::TEXT_CHARS_CEILING {
            return Err(ConfigError::Invalid {
                key: "max_text_chars",
                reason: format!("must be at most {}", crate::model::TEXT_CHARS_CEILING),
            });
        }
        let rate_limit = args.rate_limit.or(file.rate_limit).unwrap_or(0);
        let rate_burst = args
            .rate_burst
            .or(file.rate_burst)
            .unwrap_or(rate_limit.saturating_mul(2));
        let max_rooms_per_socket = args
            .max_rooms_per_socket
            .or(file.max_rooms_per_socket)
            .unwrap_or(100);
        require_positive("max_rooms_per_socket", max_rooms_per_socket)?;
        let max_connections = args
            .max_connections
            .or(file.max_connections)
            .unwrap_or(10_000);
        require_positive("max_connections", max_connections)?;
        Ok(Config {
            listen: args
                .listen
                .or(file.listen)
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 5000))),
            data_dir: args
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("parley-data")),
            cors: cors_policy(origins)?,
            engine: EngineConfig {
                ping_interval: Duration::from_millis(ping_interval),
                ping_timeout: Duration::from_millis(ping_timeout),
                max_payload,
                max_sessions: max_connections,
                ..EngineConfig::default()
            },
            chat: ChatLimits {
                max_text_chars,
                max_rooms_per_socket,
                rate: (rate_limit > 0).then_some((rate_limit, rate_burst)),
            },
            log_level: args
                .log_level
                .clone()
                .or(file.log_level)
                .unwrap_or_else(|| "info".to_owned()),
        })
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

fn cors_policy(origins: Vec<String>) -> Result<CorsPolicy, ConfigError> {
    if origins.is_empty() {
        return Ok(CorsPolicy::SameOrigin);
    }
    if origins.iter().any(|origin| origin == "*") {
        return Ok(CorsPolicy::AnyOrigin);
    }
    for origin in &origins {
        let scheme_ok = origin.starts_with("http://") || origin.starts_with("https://");
        if !scheme_ok || origin.ends_with('/') {
            return Err(ConfigError::Invalid {
                key: "cors_origin",
                reason: format!("{origin:?} is not an origin like https://chat.example.com"),
            });
        }
    }
    Ok(CorsPolicy::AllowList(origins))
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

    #[test]
    fn defaults_need_no_file() {
        let config = Config::load(&ServeArgs::default()).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:5000");
        assert_eq!(config.data_dir, PathBuf::from("parley-data"));
        assert_eq!(config.cors, CorsPolicy::SameOrigin);
        assert_eq!(config.engine.ping_interval, Duration::from_secs(25));
        assert_eq!(config.engine.ping_timeout, Duration::from_secs(20));
        assert_eq!(config.engine.max_payload, 1_000_000);
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
        let (_dir, path) = write_config("listen = \"127.0.0.1:7000\"\npingInterval = 3\n");
        let error = Config::load(&ServeArgs {
            config: Some(path),
            ..ServeArgs::default()
        })
        .unwrap_err()
        .to_string();
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
        let error = cors_policy(vec!["example.com".into()]).unwrap_err();
        assert!(error.to_string().contains("cors_origin"));
    }

    #[test]
    fn a_star_allows_any_origin() {
        assert_eq!(
            cors_policy(vec!["https://a.example".into(), "*".into()]).unwrap(),
            CorsPolicy::AnyOrigin
        );
        assert_eq!(
            cors_policy(vec!["https://a.example".into()]).unwrap(),
            CorsPolicy::AllowList(vec!["https://a.example".into()])
        );
    }
}
