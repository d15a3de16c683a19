//! The `parley` command: parses the command line and runs the server or a
//! maintenance command on a stopped server's data directory (export, import, reindex,
//! and the accounts: user, token, invite), or prints the HTTPS certificate's
//! fingerprint.

use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use parley::accounts::{Accounts, NewUser, Password, Role};
use parley::config::{Cli, Command, Config, ServeArgs, TlsCommand, TokenCommand, UserCommand};
use parley::files::{FILE_KIND, Files};
use parley::model::{DisplayName, RoomName, TokenName, Username};
use parley::search::Search;
use parley::store::Store;
use parley::tls::{CertificateInfo, TlsSource, self_signed_files};

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
        Some(command) => Maintenance::of(command),
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
    // The search index logs every commit at info; its warnings are what matter here.
    let filter = match "tantivy=warn".parse() {
        Ok(quiet_index) => filter.add_directive(quiet_index),
        Err(_) => filter,
    };
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

/// A command that works on the data directory of a stopped server.
enum Maintenance {
    Export(Option<String>),
    Import,
    AddUser {
        username: String,
        role: Role,
        name: Option<String>,
        password_stdin: bool,
    },
    ListUsers,
    Deactivate(String),
    SetPassword {
        username: String,
        password_stdin: bool,
    },
    CreateToken {
        username: String,
        name: String,
    },
    Invite {
        reset: bool,
    },
    Reindex,
    TlsFingerprint,
}

impl Maintenance {
    /// The command and the settings it was given (`--data-dir` and the rest).
    fn of(command: Command) -> (Option<Maintenance>, ServeArgs) {
        let (maintenance, settings) = match command {
            Command::Serve(settings) => return (None, settings),
            Command::Export { room, settings } => (Maintenance::Export(room), settings),
            Command::Import { settings } => (Maintenance::Import, settings),
            Command::User { command } => match command {
                UserCommand::Add {
                    username,
                    admin,
                    role,
                    name,
                    password_stdin,
                    settings,
                } => {
                    let role = if admin { Role::Admin } else { role };
                    let add = Maintenance::AddUser {
                        username,
                        role,
                        name,
                        password_stdin,
                    };
                    (add, settings)
                }
                UserCommand::List { settings } => (Maintenance::ListUsers, settings),
                UserCommand::Deactivate { username, settings } => {
                    (Maintenance::Deactivate(username), settings)
                }
                UserCommand::SetPassword {
                    username,
                    password_stdin,
                    settings,
                } => {
                    let set = Maintenance::SetPassword {
                        username,
                        password_stdin,
                    };
                    (set, settings)
                }
            },
            Command::Token {
                command:
                    TokenCommand::Create {
                        username,
                        name,
                        settings,
                    },
            } => (Maintenance::CreateToken { username, name }, settings),
            Command::Invite { reset, settings } => (Maintenance::Invite { reset }, settings),
            Command::Reindex { settings } => (Maintenance::Reindex, settings),
            Command::Tls {
                command: TlsCommand::Fingerprint { settings },
            } => (Maintenance::TlsFingerprint, settings),
        };
        (Some(maintenance), settings)
    }

    fn run(self, config: &Config) -> Result<(), String> {
        // Reads only the certificate, so it works beside a running server, which holds
        // the store.
        if let Maintenance::TlsFingerprint = self {
            return print_fingerprint(config);
        }
        let store = Arc::new(Store::open(&config.data_dir).map_err(|e| e.to_string())?);
        let accounts = Accounts::open(&store).map_err(|e| e.to_string())?;
        let files =
            Files::open(&config.data_dir, &store, config.max_upload).map_err(|e| e.to_string())?;
        let username = |text: &str| Username::parse(text).map_err(|e| e.to_string());
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
                // A room's export is for moving that room; the accounts go with the whole.
                let records = match room {
                    Some(_) => 0,
                    None => accounts.export(&mut out).map_err(|e| e.to_string())?,
                };
                let file_count = files
                    .export(room.as_ref(), &mut out)
                    .map_err(|e| e.to_string())?;
                out.flush()
                    .map_err(|e| format!("cannot write the export: {e}"))?;
                tracing::info!(
                    messages = count,
                    accounts = records,
                    files = file_count,
                    "export finished"
                );
            }
            Maintenance::Import => {
                // Account records, and files: (added, already there).
                let mut accounts_seen = (0, 0);
                let mut files_seen = (0, 0);
                let report = store
                    .import(BufReader::new(std::io::stdin().lock()), |line| {
                        let (added, seen) = if is_file_line(line) {
                            let added = files.import_line(line).map_err(|e| e.to_string())?;
                            (added, &mut files_seen)
                        } else {
                            let added = accounts.import_record(line).map_err(|e| e.to_string())?;
                            (added, &mut accounts_seen)
                        };
                        if added {
                            seen.0 += 1;
                        } else {
                            seen.1 += 1;
                        }
                        Ok(())
                    })
                    .map_err(|e| e.to_string())?;
                accounts.flush().map_err(|e| e.to_string())?;
                files.flush().map_err(|e| e.to_string())?;
                eprintln!(
                    "imported {} messages, skipped {} already stored; {} account records added, {} already there; {} files added, {} already there",
                    report.imported,
                    report.skipped,
                    accounts_seen.0,
                    accounts_seen.1,
                    files_seen.0,
                    files_seen.1
                );
            }
            Maintenance::AddUser {
                username: text,
                role,
                name,
                password_stdin,
            } => {
                let username = username(&text)?;
                let name = name.as_deref().unwrap_or(username.as_str());
                let name = DisplayName::parse(name).map_err(|e| format!("--name: {e}"))?;
                let password = read_password(password_stdin)?;
                let new = NewUser {
                    username,
                    name,
                    password,
                };
                let user = accounts.add_user(new, role).map_err(|e| e.to_string())?;
                eprintln!("added {} ({})", user.username, user.role);
            }
            Maintenance::ListUsers => {
                let users = accounts.users();
                let width = users.iter().map(|u| u.username.as_str().len()).max();
                for user in &users {
                    let state = if user.active { "active" } else { "deactivated" };
                    println!(
                        "{:<width$}  {:<6}  {:<11}  {}",
                        user.username,
                        user.role.as_str(),
                        state,
                        user.name,
                        width = width.unwrap_or(0)
                    );
                }
            }
            Maintenance::Deactivate(text) => {
                accounts.deactivate(&text).map_err(|e| e.to_string())?;
                eprintln!("deactivated {text}: their sessions and tokens no longer work");
            }
            Maintenance::SetPassword {
                username: text,
                password_stdin,
            } => {
                let username = username(&text)?;
                let password = read_password(password_stdin)?;
                accounts
                    .set_password(&username, &password)
                    .map_err(|e| e.to_string())?;
                eprintln!("password of {username} set; their sessions are signed out");
            }
            Maintenance::CreateToken {
                username: text,
                name,
            } => {
                let name = TokenName::parse(&name).map_err(|e| format!("--name: {e}"))?;
                let (token, _) = accounts
                    .create_token(&username(&text)?, name)
                    .map_err(|e| e.to_string())?;
                // Alone on stdout, so that a script can capture it.
                println!("{}", token.as_str());
            }
            Maintenance::Invite { reset } => {
                let code = if reset {
                    accounts.reset_invite()
                } else {
                    accounts.invite_code()
                }
                .map_err(|e| e.to_string())?;
                let scheme = if config.tls.is_some() {
                    "https"
                } else {
                    "http"
                };
                println!("{scheme}://{}/join/{code}", config.listen);
            }
            Maintenance::Reindex => {
                let indexed =
                    Search::rebuild(&config.data_dir, store.clone()).map_err(|e| e.to_string())?;
                eprintln!("the search index holds {indexed} messages");
            }
            Maintenance::TlsFingerprint => unreachable!("answered before the store opens"),
        }
        Ok(())
    }
}

/// `parley tls fingerprint`: the fingerprint alone on stdout (for scripts), what the
/// certificate is for on stderr.
fn print_fingerprint(config: &Config) -> Result<(), String> {
    let path = match &config.tls {
        Some(TlsSource::Files { cert, .. }) => cert.clone(),
        _ => self_signed_files(&config.data_dir).0,
    };
    if !path.exists() {
        return Err(format!(
            "{} does not exist: start the server once with --tls-self-signed (and this --data-dir) to make it, or name your own with --tls-cert",
            path.display()
        ));
    }
    let info = CertificateInfo::of_file(&path).map_err(|e| e.to_string())?;
    println!("{}", info.fingerprint);
    eprintln!(
        "SHA-256 fingerprint of {}: for {}; valid until {}",
        path.display(),
        info.names.join(", "),
        info.expires()
    );
    Ok(())
}

/// A new password: the first line of stdin with `--password-stdin`, else typed twice
/// on the terminal without being shown.
fn read_password(from_stdin: bool) -> Result<Password, String> {
    let text = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    } else {
        let first = ask_without_echo("Password: ")?;
        if ask_without_echo("Again: ")? != first {
            return Err("the passwords differ".to_owned());
        }
        first
    };
    Password::parse(&text).map_err(|e| e.to_string())
}

/// Asks on the terminal with echo off, so the password is not shown or left on screen.
fn ask_without_echo(prompt: &str) -> Result<String, String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err("no terminal to ask for the password on: use --password-stdin".to_owned());
    }
    eprint!("{prompt}");
    let quiet = EchoOff::start()?;
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    drop(quiet);
    read.map_err(|e| format!("cannot read the password: {e}"))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// The terminal's settings before echo was turned off, restored when dropped.
struct EchoOff(libc::termios);

impl EchoOff {
    fn start() -> Result<EchoOff, String> {
        let failed = || format!("cannot turn off echo: {}", std::io::Error::last_os_error());
        // SAFETY: termios is plain C data, for which all zeroes is a valid value, and
        // tcgetattr only writes into the struct it is given.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: stdin is a terminal (checked by the caller); `saved` is valid.
        if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut saved) } != 0 {
            return Err(failed());
        }
        let mut quiet = saved;
        // ECHONL still shows the newline, so the next prompt starts on its own line.
        quiet.c_lflag &= !libc::ECHO;
        quiet.c_lflag |= libc::ECHONL;
        // SAFETY: as above; `quiet` is a copy of valid settings.
        if unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &quiet) } != 0 {
            return Err(failed());
        }
        Ok(EchoOff(saved))
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `start` on the same descriptor.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.0);
        }
    }
}

/// Whether a line of an export that is not a message is a file's (the others are the
/// accounts').
fn is_file_line(line: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(line)
        .is_ok_and(|value| value.get("kind").and_then(|kind| kind.as_str()) == Some(FILE_KIND))
}
