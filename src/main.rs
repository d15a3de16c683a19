//! The `parley` command: parses the command line and runs the server or a
//! maintenance command (export, import).

use std::io::{BufReader, Write};
use std::process::ExitCode;

use clap::Parser;
use parley::config::{Cli, Command, Config};
use parley::model::RoomName;
use parley::store::Store;

/// glibc's allocator spent a quarter of the store writer's time in its free lists
/// (sled allocates and drops a tree node per insert); mimalloc measured faster.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit status for bad command lines and settings, like clap's own usage errors.
const USAGE_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if !error.use_stderr() => {
            // --help and --version
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            let rendered = error.to_string();
            let first_line = rendered.lines().next().unwrap_or("invalid arguments");
            eprintln!("{first_line}");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    let (command, settings) = match cli.command {
        None => (None, cli.serve),
        Some(Command::Serve(settings)) => (None, settings),
        Some(Command::Export { room, settings }) => (Some(Maintenance::Export(room)), settings),
        Some(Command::Import { settings }) => (Some(Maintenance::Import), settings),
    };
    let config = match Config::load(&settings) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    init_logging(&config);
    let outcome = match command {
        None => run_server(config),
        Some(maintenance) => maintenance.run(&config),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&config.log_level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn run_server(config: Config) -> Result<(), String> {
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime
        .block_on(parley::serve(config, parley::server::shutdown_signal()))
        .map_err(|error| error.to_string())
}

enum Maintenance {
    Export(Option<String>),
    Import,
}

impl Maintenance {
    fn run(self, config: &Config) -> Result<(), String> {
        let store = Store::open(&config.data_dir).map_err(|e| e.to_string())?;
        match self {
            Maintenance::Export(room) => {
                let room = room
                    .map(|room| RoomName::parse(&room))
                    .transpose()
                    .map_err(|e| format!("--room: {e}"))?;
                let stdout = std::io::stdout();
                let mut out = std::io::BufWriter::new(stdout.lock());
                let count = store
                    .export(room.as_ref(), &mut out)
                    .map_err(|e| e.to_string())?;
                out.flush()
                    .map_err(|e| format!("cannot write the export: {e}"))?;
                tracing::info!(messages = count, "export finished");
            }
            Maintenance::Import => {
                let report = store
                    .import(BufReader::new(std::io::stdin().lock()))
                    .map_err(|e| e.to_string())?;
                eprintln!(
                    "imported {} messages, skipped {} already stored",
                    report.imported, report.skipped
                );
            }
        }
        Ok(())
    }
}
