//! HTTPS without a reverse proxy. Browsers give notifications, service workers and
//! installable apps only to a secure context, and a LAN address over plain HTTP is not
//! one, so Parley speaks TLS itself (rustls with the ring provider).
//!
//! The certificate comes either from the admin's PEM files (`--tls-cert`/`--tls-key`),
//! read again on SIGHUP so that a renewed certificate needs no restart, or it is made
//! here (`--tls-self-signed`) once, stored under the data directory and reused, so that
//! devices told to trust it keep trusting it across restarts. Its SHA-256 fingerprint
//! is what a person compares before trusting it.
//!
//! A handshake that fails is logged once per client address and reason, not once per
//! attempt: a phone that does not trust the certificate retries every few seconds and
//! would otherwise fill the log.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Response};
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, KeyPair, KeyUsagePurpose, NameConstraints,
    SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{AlertDescription, ServerConfig};
use sha2::{Digest, Sha256};
use thiserror::Error;
use time::OffsetDateTime;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::server::Router;

/// Where a certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// The admin's own certificate chain and key, PEM.
    Files { cert: PathBuf, key: PathBuf },
    /// Made here for these names (none given: this machine's names, see
    /// [`default_names`]) and kept in the data directory.
    SelfSigned { names: Vec<String> },
}

#[derive(Debug, Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("{path}: {reason}")]
    Pem { path: PathBuf, reason: String },
    #[error("{path} holds no certificate (a PEM block `BEGIN CERTIFICATE`)")]
    NoCertificate { path: PathBuf },
    #[error("the key {key} does not fit the certificate {cert}: {reason}")]
    Key {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },
    #[error("{0:?} is neither a host name nor an IP address")]
    BadName(String),
    #[error("cannot make a self-signed certificate: {0}")]
    Generate(String),
    #[error("TLS settings refused: {0}")]
    Config(String),
}

/// A certificate as a person checks it: its SHA-256 fingerprint, the names it is for
/// and when it stops being valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// `AB:CD:…`, the form browsers and phones show.
    pub fingerprint: String,
    /// DNS names and IP addresses from its subject alternative names.
    pub names: Vec<String>,
    /// The end of its validity, seconds since 1970 (None if it could not be read).
    pub not_after: Option<i64>,
}

impl CertificateInfo {
    /// Reads the first certificate of a PEM file.
    pub fn of_file(path: &Path) -> Result<CertificateInfo, TlsError> {
        let chain = read_chain(path)?;
        Ok(CertificateInfo::of(&chain[0]))
    }

    fn of(der: &CertificateDer<'_>) -> CertificateInfo {
        let mut names = Vec::new();
        let mut not_after = None;
        if let Ok((_, parsed)) = x509_parser::parse_x509_certificate(der) {
            not_after = Some(parsed.validity().not_after.timestamp());
            if let Ok(Some(san)) = parsed.subject_alternative_name() {
                for name in &san.value.general_names {
                    match name {
                        x509_parser::extensions::GeneralName::DNSName(dns) => {
                            names.push(dns.to_string())
                        }
                        x509_parser::extensions::GeneralName::IPAddress(bytes) => {
                            if let Some(ip) = ip_from_bytes(bytes) {
                                names.push(ip.to_string());
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        CertificateInfo {
            fingerprint: fingerprint(der),
            names,
            not_after,
        }
    }

    /// The last day of validity as `YYYY-MM-DD` (UTC), or `unknown`.
    pub fn expires(&self) -> String {
        self.not_after
            .and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok())
            .map(|date| {
                let date = date.date();
                format!(
                    "{:04}-{:02}-{:02}",
                    date.year(),
                    u8::from(date.month()),
                    date.day()
                )
            })
            .unwrap_or_else(|| "unknown".to_owned())
    }

    /// Whether it is still valid `margin` from now (an unreadable date counts as valid:
    /// the clients will say otherwise).
    fn valid_for(&self, margin: Duration) -> bool {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        self.not_after
            .is_none_or(|end| end > now.saturating_add(margin.as_secs() as i64))
    }

    /// Whether `name` is among its names (DNS names without regard to case).
    fn covers(&self, name: &str) -> bool {
        self.names
            .iter()
            .any(|have| have.eq_ignore_ascii_case(name))
    }
}

/// The SHA-256 fingerprint of a DER certificate, as `AB:CD:…`.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

/// The files of the self-signed certificate and its key in a data directory.
pub fn self_signed_files(data_dir: &Path) -> (PathBuf, PathBuf) {
    let dir = data_dir.join(SELF_SIGNED_DIR);
    (dir.join("cert.pem"), dir.join("key.pem"))
}

const SELF_SIGNED_DIR: &str = "tls";
/// Apple's systems refuse any TLS server certificate valid for more than 825 days,
/// even one the user trusted by hand.
const SELF_SIGNED_DAYS: i64 = 800;
/// A stored self-signed certificate this close to its end is replaced at start.
const RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 3600);
/// An admin's certificate this close to its end is warned about at start and reload.
const WARN_BEFORE: Duration = Duration::from_secs(14 * 24 * 3600);
/// A client that opened a connection has this long to finish the handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A failing client is logged again after this long…
const FAILURE_QUIET: Duration = Duration::from_secs(3600);
/// …and this many clients are remembered at most, so that many addresses cannot
/// grow the table without bound.
const FAILURE_CLIENTS: usize = 1024;

/// What `accept` made of a new connection.
pub enum Accepted {
    Tls(Box<TlsStream<TcpStream>>),
    /// It spoke plain HTTP to the HTTPS port (a browser given `host:port` tries
    /// `http://` first); it deserves a redirect, not a failed handshake.
    PlainHttp(TcpStream),
    /// The handshake failed (logged) or the client left without a word.
    Gone,
}

/// The TLS side of the listener: the acceptor, the certificate in use and where it is
/// read from again on SIGHUP.
pub struct Tls {
    acceptor: TlsAcceptor,
    current: Arc<CurrentCertificate>,
    cert: PathBuf,
    key: PathBuf,
    /// Whether the certificate was made here, for the log's wording.
    self_signed: bool,
    failures: HandshakeFailures,
}

impl Tls {
    /// Loads the admin's certificate, or the self-signed one of `data_dir` (made now if
    /// there is none or it is about to expire), and logs its fingerprint. `listen` is
    /// where the server listens, for the self-signed certificate's default names.
    pub fn open(source: &TlsSource, data_dir: &Path, listen: SocketAddr) -> Result<Tls, TlsError> {
        let (cert, key, self_signed) = match source {
            TlsSource::Files { cert, key } => (cert.clone(), key.clone(), false),
            TlsSource::SelfSigned { names } => {
                let (cert, key) = self_signed_files(data_dir);
                ensure_self_signed(&cert, &key, names, listen)?;
                (cert, key, true)
            }
        };
        let certified = load(&cert, &key)?;
        let info = CertificateInfo::of(&certified.cert[0]);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let current = Arc::new(CurrentCertificate(RwLock::new(Arc::new(certified))));
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| TlsError::Config(error.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        // hyper here speaks HTTP/1.1 only; saying so lets clients skip offering h2.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let tls = Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            current,
            cert,
            key,
            self_signed,
            failures: HandshakeFailures::default(),
        };
        tls.log_certificate(&info, "TLS certificate loaded");
        Ok(tls)
    }

    /// The certificate in use now.
    pub fn certificate(&self) -> CertificateInfo {
        CertificateInfo::of(&self.current.get().cert[0])
    }

    /// Reads the certificate and key files again; on any error the one in use stays.
    pub fn reload(&self) -> Result<CertificateInfo, TlsError> {
        let certified = load(&self.cert, &self.key)?;
        let info = CertificateInfo::of(&certified.cert[0]);
        self.current.set(Arc::new(certified));
        self.log_certificate(&info, "TLS certificate reloaded");
        Ok(info)
    }

    /// Reloads the certificate whenever the process receives SIGHUP, for as long as the
    /// runtime runs.
    pub fn reload_on_hangup(self: &Arc<Self>) {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut hangups = match signal(SignalKind::hangup()) {
                Ok(hangups) => hangups,
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGHUP: the certificate is not reloaded");
                    return;
                }
            };
            let tls = self.clone();
            tokio::spawn(async move {
                while hangups.recv().await.is_some() {
                    let reloading = tls.clone();
                    let outcome = tokio::task::spawn_blocking(move || reloading.reload()).await;
                    match outcome {
                        Ok(Ok(_)) => {}
                        Ok(Err(error)) => {
                            tracing::error!(%error, "SIGHUP: the TLS certificate was not reloaded; the previous one stays in use")
                        }
                        Err(error) => tracing::error!(%error, "SIGHUP: reloading failed"),
                    }
                }
            });
        }
    }

    /// Performs the handshake of a new connection, within a time limit.
    pub async fn accept(&self, stream: TcpStream, peer: SocketAddr) -> Accepted {
        // Every TLS connection starts with a handshake record (type 22). Peeking at that
        // byte tells a plain HTTP request apart, and a connection that closes without a
        // byte (a port check) from a failed handshake.
        let mut first = [0u8; 1];
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.peek(&mut first)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Accepted::Gone,
            Ok(Ok(_)) if first[0] != TLS_HANDSHAKE_RECORD => {
                return Accepted::PlainHttp(stream);
            }
            Ok(Ok(_)) => {}
            Err(_) => {
                self.failures.report(peer.ip(), Failure::Timeout);
                return Accepted::Gone;
            }
        }
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(stream)).await {
            Ok(Ok(stream)) => Accepted::Tls(Box::new(stream)),
            Ok(Err(error)) => {
                self.failures.report(peer.ip(), Failure::of(&error));
                Accepted::Gone
            }
            Err(_) => {
                self.failures.report(peer.ip(), Failure::Timeout);
                Accepted::Gone
            }
        }
    }

    /// `router`, except that with a self-signed certificate `GET /parley.crt` answers
    /// with that certificate, so that a phone can fetch it to trust it (over plain HTTP
    /// on the `--redirect-http` port, or once past the browser's warning).
    pub fn offering_certificate(&self, router: Router) -> Router {
        if !self.self_signed {
            return router;
        }
        let current = self.current.clone();
        Arc::new(move |request| {
            let wanted = request.uri().path() == CERTIFICATE_PATH
                && matches!(*request.method(), Method::GET | Method::HEAD);
            if !wanted {
                return router(request);
            }
            let der = Bytes::from(current.get().cert[0].to_vec());
            let mut response = Response::new(Full::new(der));
            let headers = response.headers_mut();
            // The type phones and browsers offer to install as a CA certificate.
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-x509-ca-cert"),
            );
            headers.insert(
                CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"parley.crt\""),
            );
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Box::pin(async move { response })
        })
    }

    fn log_certificate(&self, info: &CertificateInfo, what: &str) {
        let kind = if self.self_signed {
            "self-signed"
        } else {
            "own"
        };
        tracing::info!(
            fingerprint = %format!("SHA-256 {}", info.fingerprint),
            names = %info.names.join(", "),
            expires = %info.expires(),
            file = %self.cert.display(),
            kind,
            "{what}"
        );
        if !info.valid_for(Duration::ZERO) {
            tracing::error!(file = %self.cert.display(), expired = %info.expires(), "the TLS certificate has expired: clients will refuse it");
        } else if !info.valid_for(WARN_BEFORE) {
            tracing::warn!(file = %self.cert.display(), expires = %info.expires(), "the TLS certificate expires soon: renew it and send SIGHUP");
        }
    }
}

const TLS_HANDSHAKE_RECORD: u8 = 0x16;
/// Where a self-signed certificate can be downloaded.
pub const CERTIFICATE_PATH: &str = "/parley.crt";

/// The certificate handed to every new handshake; swapped whole on reload.
#[derive(Debug)]
struct CurrentCertificate(RwLock<Arc<CertifiedKey>>);

impl CurrentCertificate {
    fn get(&self) -> Arc<CertifiedKey> {
        self.0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn set(&self, certified: Arc<CertifiedKey>) {
        *self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = certified;
    }
}

impl ResolvesServerCert for CurrentCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }
}

/// Reads a PEM certificate chain and its PEM private key, and checks they belong
/// together.
fn load(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let chain = read_chain(cert)?;
    let bytes = std::fs::read(key).map_err(|source| TlsError::Read {
        path: key.to_owned(),
        source,
    })?;
    let private = PrivateKeyDer::from_pem_slice(&bytes).map_err(|error| TlsError::Pem {
        path: key.to_owned(),
        reason: format!("no private key found: {error}"),
    })?;
    let provider = rustls::crypto::ring::default_provider();
    CertifiedKey::from_der(chain, private, &provider).map_err(|error| TlsError::Key {
        cert: cert.to_owned(),
        key: key.to_owned(),
        reason: error.to_string(),
    })
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| TlsError::Pem {
            path: path.to_owned(),
            reason: error.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(chain)
}

// ------------------------------------------------------------------ self-signed

/// Makes sure `cert` and `key` hold a usable self-signed certificate: the stored one
/// when it can be read, lasts another month and covers the names asked for with
/// `--tls-name`; a new one otherwise. Names found on this machine (no `--tls-name`)
/// that the stored one lacks only draw a warning: an address handed out anew by DHCP
/// must not silently replace a certificate that phones were told to trust.
fn ensure_self_signed(
    cert: &Path,
    key: &Path,
    asked: &[String],
    listen: SocketAddr,
) -> Result<(), TlsError> {
    let explicit = !asked.is_empty();
    let names = if explicit {
        asked.to_vec()
    } else {
        default_names(listen)
    };
    let names = names
        .iter()
        .map(|name| Name::parse(name))
        .collect::<Result<Vec<_>, _>>()?;
    if cert.exists() || key.exists() {
        match load(cert, key) {
            Ok(stored) => {
                let info = CertificateInfo::of(&stored.cert[0]);
                let missing: Vec<String> = names
                    .iter()
                    .map(Name::to_string)
                    .filter(|name| !info.covers(name))
                    .collect();
                if !info.valid_for(RENEW_BEFORE) {
                    tracing::warn!(expires = %info.expires(), "the self-signed certificate ends within a month: making a new one; devices that trusted the old one must be told to trust the new one");
                } else if explicit && !missing.is_empty() {
                    tracing::warn!(missing = %missing.join(", "), "the stored self-signed certificate lacks names given with --tls-name: making a new one; devices that trusted the old one must be told to trust the new one");
                } else {
                    if !missing.is_empty() {
                        tracing::warn!(
                            missing = %missing.join(", "),
                            file = %cert.display(),
                            "the stored self-signed certificate does not name every address of this machine; browsers reaching it by those refuse it. To make a new one, stop the server, delete that file's directory and start again, or name the addresses with --tls-name"
                        );
                    }
                    return Ok(());
                }
            }
            Err(error) => {
                tracing::warn!(%error, "the stored self-signed certificate cannot be used: making a new one");
            }
        }
    }
    let (cert_pem, key_pem) = generate(&names)?;
    if let Some(dir) = cert.parent() {
        std::fs::create_dir_all(dir).map_err(|source| TlsError::Write {
            path: dir.to_owned(),
            source,
        })?;
    }
    // The key first, then the certificate that names it: a certificate on disk whose
    // key is missing is read as unusable and made again.
    write_private(key, key_pem.as_bytes())?;
    write_replacing(cert, cert_pem.as_bytes(), false)?;
    tracing::info!(file = %cert.display(), names = %names.iter().map(Name::to_string).collect::<Vec<_>>().join(", "), "made a new self-signed certificate");
    Ok(())
}

/// A name a certificate is for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Name {
    Dns(String),
    Ip(IpAddr),
}

impl Name {
    fn parse(text: &str) -> Result<Name, TlsError> {
        let text = text.trim();
        if let Ok(ip) = text.trim_start_matches('[').trim_end_matches(']').parse() {
            return Ok(Name::Ip(ip));
        }
        let valid = !text.is_empty()
            && text.len() <= 253
            && text.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
            });
        if !valid {
            return Err(TlsError::BadName(text.to_owned()));
        }
        Ok(Name::Dns(text.to_ascii_lowercase()))
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Name::Dns(name) => f.write_str(name),
            Name::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// A new certificate and key (PEM) for `names`.
///
/// The certificate is its own CA (basic constraints `CA:TRUE`, path length 0): phones
/// list a certificate under "trust this root" only when it is a CA, and a self-signed
/// one has nothing above it. That would let its key vouch for any site on a device that
/// trusts it, so name constraints limit it to exactly its own names: if the data
/// directory leaks, the key is good for this server's names and nothing else.
fn generate(names: &[Name]) -> Result<(String, String), TlsError> {
    let failed = |error: rcgen::Error| TlsError::Generate(error.to_string());
    let mut params = CertificateParams::default();
    let mut subject = DistinguishedName::new();
    let first = names.first().map(Name::to_string);
    let title = match first {
        Some(name) => format!("Parley on {name}"),
        None => "Parley".to_owned(),
    };
    subject.push(DnType::CommonName, title);
    subject.push(DnType::OrganizationName, "Parley (self-signed)");
    params.distinguished_name = subject;
    let mut permitted = Vec::new();
    for name in names {
        match name {
            Name::Dns(dns) => {
                let dns_name = dns.clone().try_into().map_err(failed)?;
                params.subject_alt_names.push(SanType::DnsName(dns_name));
                permitted.push(GeneralSubtree::DnsName(dns.clone()));
            }
            Name::Ip(ip) => {
                params.subject_alt_names.push(SanType::IpAddress(*ip));
                let prefix = if ip.is_ipv4() { 32 } else { 128 };
                permitted.push(GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
                    *ip, prefix,
                )));
            }
        }
    }
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: permitted,
        excluded_subtrees: Vec::new(),
    });
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let now = OffsetDateTime::now_utc();
    // A day back, for devices whose clock runs a little behind.
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(SELF_SIGNED_DAYS);
    let key = KeyPair::generate().map_err(failed)?;
    let cert = params.self_signed(&key).map_err(failed)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Writes the private key readable by this user only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    write_replacing(path, bytes, true)
}

/// Writes `bytes` to `path` through a temporary file and a rename, so that a crash
/// leaves the old file or the new one, never half of one.
fn write_replacing(path: &Path, bytes: &[u8], private: bool) -> Result<(), TlsError> {
    use std::io::Write as _;
    let failed = |source| TlsError::Write {
        path: path.to_owned(),
        source,
    };
    let temporary = path.with_extension("pem.new");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(&temporary).map_err(failed)?;
    file.write_all(bytes).map_err(failed)?;
    file.sync_all().map_err(failed)?;
    std::fs::rename(&temporary, path).map_err(failed)
}

/// The names a self-signed certificate is for when `--tls-name` says nothing: this
/// machine's host name (and `NAME.local`, which phones resolve on a LAN by mDNS), the
/// listen address (every address of this machine when it listens on all of them),
/// and localhost.
pub fn default_names(listen: SocketAddr) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(host) = host_name() {
        if !host.contains('.') {
            names.push(format!("{host}.local"));
        }
        names.insert(0, host);
    }
    let ip = listen.ip();
    let addresses = if ip.is_unspecified() {
        interface_addresses()
            .into_iter()
            .filter(|address| ip.is_ipv6() || address.is_ipv4())
            .collect()
    } else {
        vec![ip]
    };
    names.extend(addresses.iter().map(IpAddr::to_string));
    names.push("localhost".to_owned());
    names.push(Ipv4Addr::LOCALHOST.to_string());
    names.push(Ipv6Addr::LOCALHOST.to_string());
    let mut unique = Vec::new();
    for name in names {
        let name = name.to_ascii_lowercase();
        // A host name a certificate cannot carry (odd characters) is left out, not fatal.
        if Name::parse(&name).is_ok() && !unique.contains(&name) {
            unique.push(name);
        }
    }
    unique
}

fn host_name() -> Option<String> {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its whole length, which is what we pass.
    let status = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if status != 0 {
        return None;
    }
    let end = buffer.iter().position(|&byte| byte == 0)?;
    let name = std::str::from_utf8(&buffer[..end]).ok()?.trim();
    (!name.is_empty() && name != "localhost").then(|| name.to_owned())
}

/// The IPv4 and IPv6 addresses of this machine's interfaces, except link-local IPv6
/// ones (a URL cannot use them without a zone) and loopback (added as localhost).
fn interface_addresses() -> Vec<IpAddr> {
    let mut addresses = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list head into `list`, which we free below.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return addresses;
    }
    let mut entry = list;
    while !entry.is_null() {
        // SAFETY: `entry` is a node of the list getifaddrs returned, not yet freed.
        let node = unsafe { &*entry };
        if !node.ifa_addr.is_null() {
            // SAFETY: ifa_addr points to a sockaddr whose family says its real type.
            let family = i32::from(unsafe { (*node.ifa_addr).sa_family });
            let address = match family {
                libc::AF_INET => {
                    // SAFETY: the family is AF_INET, so it is a sockaddr_in.
                    let v4 = unsafe { &*node.ifa_addr.cast::<libc::sockaddr_in>() };
                    Some(IpAddr::from(u32::from_be(v4.sin_addr.s_addr).to_be_bytes()))
                }
                libc::AF_INET6 => {
                    // SAFETY: the family is AF_INET6, so it is a sockaddr_in6.
                    let v6 = unsafe { &*node.ifa_addr.cast::<libc::sockaddr_in6>() };
                    Some(IpAddr::from(v6.sin6_addr.s6_addr))
                }
                _ => None,
            };
            let link_local = |ip: &IpAddr| match ip {
                IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
                IpAddr::V4(_) => false,
            };
            if let Some(ip) = address.filter(|ip| !ip.is_loopback() && !link_local(ip))
                && !addresses.contains(&ip)
            {
                addresses.push(ip);
            }
        }
        entry = node.ifa_next;
    }
    // SAFETY: `list` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(list) };
    addresses
}

// ------------------------------------------------------------------ failed handshakes

/// Why a handshake failed, worded for the admin reading the log.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Failure {
    /// The client does not trust the certificate (it said so with an alert).
    Refused(String),
    /// It hung up during the handshake: browsers do that when they distrust the
    /// certificate, without an alert.
    HungUp,
    Timeout,
    Other(String),
}

impl Failure {
    fn of(error: &io::Error) -> Failure {
        let tls = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>());
        match tls {
            Some(rustls::Error::AlertReceived(alert)) => match alert {
                AlertDescription::BadCertificate
                | AlertDescription::UnknownCA
                | AlertDescription::CertificateUnknown
                | AlertDescription::CertificateExpired
                | AlertDescription::UnsupportedCertificate
                | AlertDescription::AccessDenied => Failure::Refused(format!("{alert:?}")),
                other => Failure::Other(format!("the client sent the alert {other:?}")),
            },
            Some(other) => Failure::Other(other.to_string()),
            None => match error.kind() {
                io::ErrorKind::UnexpectedEof
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::BrokenPipe => Failure::HungUp,
                _ => Failure::Other(error.to_string()),
            },
        }
    }

    /// The log's sentence.
    fn describe(&self) -> String {
        match self {
            Failure::Refused(alert) => format!(
                "the client refused the certificate ({alert}): it does not trust it; trust it on that device (README: HTTPS) or use a certificate it trusts"
            ),
            Failure::HungUp => "the client hung up during the handshake, as browsers do when they do not trust the certificate".to_owned(),
            Failure::Timeout => format!("the handshake did not finish within {} s", HANDSHAKE_TIMEOUT.as_secs()),
            Failure::Other(reason) => reason.clone(),
        }
    }

    /// The part of the reason that makes it "the same failure again".
    fn kind(&self) -> &str {
        match self {
            Failure::Refused(_) => "refused",
            Failure::HungUp => "hung up",
            Failure::Timeout => "timeout",
            Failure::Other(reason) => reason,
        }
    }
}

/// Which clients' failed handshakes were logged lately, so that each client and
/// reason is logged once an hour at most; the repeats go to the debug log.
#[derive(Default)]
struct HandshakeFailures {
    logged: Mutex<HashMap<(IpAddr, String), Instant>>,
}

impl HandshakeFailures {
    fn report(&self, client: IpAddr, failure: Failure) {
        let now = Instant::now();
        let first = {
            let mut logged = self
                .logged
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let key = (client, failure.kind().to_owned());
            let recent = logged
                .get(&key)
                .is_some_and(|at| now.duration_since(*at) < FAILURE_QUIET);
            if !recent {
                if logged.len() >= FAILURE_CLIENTS {
                    logged.retain(|_, at| now.duration_since(*at) < FAILURE_QUIET);
                }
                if logged.len() >= FAILURE_CLIENTS
                    && let Some(oldest) = logged
                        .iter()
                        .min_by_key(|(_, at)| **at)
                        .map(|(k, _)| k.clone())
                {
                    logged.remove(&oldest);
                }
                logged.insert(key, now);
            }
            !recent
        };
        if first {
            tracing::warn!(%client, "TLS handshake failed: {} (further failures of this client for this reason are logged at debug level for the next hour)", failure.describe());
        } else {
            tracing::debug!(%client, "TLS handshake failed again: {}", failure.describe());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_host_names_or_addresses() {
        assert_eq!(
            Name::parse("Chat.Example.lan").unwrap(),
            Name::Dns("chat.example.lan".into())
        );
        assert_eq!(
            Name::parse("192.168.1.20").unwrap(),
            Name::Ip("192.168.1.20".parse().unwrap())
        );
        assert_eq!(
            Name::parse("[::1]").unwrap(),
            Name::Ip(Ipv6Addr::LOCALHOST.into())
        );
        for bad in ["", "a..b", "bad name", "évian.lan", "x/y"] {
            assert!(Name::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn default_names_include_the_listen_address_and_localhost() {
        let names = default_names("127.0.0.1:443".parse().unwrap());
        for wanted in ["127.0.0.1", "localhost", "::1"] {
            assert!(names.contains(&wanted.to_owned()), "{names:?}");
        }
        let names = default_names("10.1.2.3:443".parse().unwrap());
        assert!(names.contains(&"10.1.2.3".to_owned()), "{names:?}");
        let unique: std::collections::HashSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
    }

    #[test]
    fn a_generated_certificate_is_stored_reused_and_renamed_on_request() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed_files(dir.path());
        let listen: SocketAddr = "127.0.0.1:0".parse().unwrap();
        ensure_self_signed(&cert, &key, &[], listen).unwrap();
        let first = CertificateInfo::of_file(&cert).unwrap();
        assert!(
            first.covers("localhost") && first.covers("127.0.0.1"),
            "{first:?}"
        );
        assert!(first.valid_for(Duration::from_secs(700 * 24 * 3600)));
        assert_eq!(first.fingerprint.len(), 32 * 3 - 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&key).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the key is readable by others: {mode:o}");
        }
        ensure_self_signed(&cert, &key, &[], listen).unwrap();
        assert_eq!(CertificateInfo::of_file(&cert).unwrap(), first);
        // Names asked for that the stored one lacks: a new one.
        ensure_self_signed(&cert, &key, &["chat.example.lan".into()], listen).unwrap();
        let renamed = CertificateInfo::of_file(&cert).unwrap();
        assert_ne!(renamed.fingerprint, first.fingerprint);
        assert_eq!(renamed.names, vec!["chat.example.lan".to_owned()]);
        load(&cert, &key).unwrap();
    }

    #[test]
    fn an_unusable_stored_certificate_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed_files(dir.path());
        std::fs::create_dir_all(cert.parent().unwrap()).unwrap();
        std::fs::write(&cert, "not a certificate").unwrap();
        ensure_self_signed(&cert, &key, &[], "127.0.0.1:0".parse().unwrap()).unwrap();
        load(&cert, &key).unwrap();
    }

    #[test]
    fn unreadable_or_mismatched_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let error = load(&missing, &missing).unwrap_err().to_string();
        assert!(error.contains("missing.pem"), "{error}");

        let (cert, key) = self_signed_files(dir.path());
        ensure_self_signed(
            &cert,
            &key,
            &["one.test".into()],
            "127.0.0.1:0".parse().unwrap(),
        )
        .unwrap();
        let other = dir.path().join("other");
        let (_, other_key) = self_signed_files(&other);
        ensure_self_signed(
            &self_signed_files(&other).0,
            &other_key,
            &["two.test".into()],
            "127.0.0.1:0".parse().unwrap(),
        )
        .unwrap();
        let error = load(&cert, &other_key).unwrap_err();
        assert!(matches!(error, TlsError::Key { .. }), "{error}");
        let error = load(&key, &key).unwrap_err();
        assert!(matches!(error, TlsError::NoCertificate { .. }), "{error}");
    }

    #[test]
    fn fingerprints_read_like_browsers_show_them() {
        let text = fingerprint(b"abc");
        assert!(text.starts_with("BA:78:16:BF:8F:01:CF:EA"), "{text}");
    }
}
