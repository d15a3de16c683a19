//! Parley: a self-hosted team chat in one executable.
//!
//! Layers call only downwards: [`engineio`] moves packets over HTTP long-polling and
//! WebSocket, [`socketio`] adds namespaces, events, acks and rooms on top of it,
//! [`chat`] is the chat's events on a [`store`] of messages. [`accounts`] says who a
//! request is and [`rooms`] what they may read (both live in the store's database
//! too). [`http`] routes requests,
//! [`server`] accepts connections (over TLS with [`tls`]), [`config`] gathers the
//! settings. [`serve`] puts them together.

#[macro_use]
pub mod accounts;
pub mod chat;
pub mod config;
pub mod cors;
pub mod engineio;
pub mod error;
pub mod files;
pub mod http;
pub mod metrics;
pub mod model;
pub mod rooms;
pub mod search;
pub mod server;
pub mod socketio;
pub mod store;
pub mod tls;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

use crate::accounts::{Accounts, AccountsError, AuthMode};
use crate::chat::{Chat, Team};
use crate::config::Config;
use crate::engineio::Engine;
use crate::files::{Files, FilesError};
use crate::http::App;
use crate::rooms::{Rooms, RoomsError};
use crate::search::{Search, SearchError};
use crate::server::{Router, accept_until};
use crate::socketio::SocketIo;
use crate::store::{Store, StoreError};
use crate::tls::{Tls, TlsError};

/// How long a client may take to join a namespace after connecting.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(45);
/// How long shutdown waits for clients to receive their close packet.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

#[derive(Debug, Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Accounts(#[from] AccountsError),
    #[error(transparent)]
    Rooms(#[from] RoomsError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error(transparent)]
    Files(#[from] FilesError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("the store could not be opened: {0}")]
    OpenTask(#[from] tokio::task::JoinError),
}

/// Runs Parley until `shutdown` resolves, then closes every session with a proper
/// Engine.IO close and flushes the store. Prints `listening on http://ADDR` (or
/// `https://` with a certificate) on stdout once the port is bound (port 0 picks a free
/// one); then, under TLS, `tls: certificate SHA-256 AB:CD:…`; with `--redirect-http`,
/// `redirecting http://ADDR to https`; and in accounts mode while there is no admin,
/// `setup: open http://ADDR/setup?code=XXXX-XXXX-XXXX`.
pub async fn serve(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), ServeError> {
    if config.cors == cors::CorsPolicy::AnyOrigin {
        tracing::warn!(
            "cors_origin is \"*\": any web site may use this server from a visitor's browser"
        );
    }
    let data_dir = config.data_dir.clone();
    let options = config.store;
    let store =
        Arc::new(tokio::task::spawn_blocking(move || Store::open_with(&data_dir, options)).await??);
    let accounts = {
        let store = store.clone();
        Arc::new(tokio::task::spawn_blocking(move || Accounts::open(&store)).await??)
    };
    let team = match config.auth {
        AuthMode::Open => None,
        AuthMode::Accounts => {
            let (store, users) = (store.clone(), accounts.clone());
            let rooms = tokio::task::spawn_blocking(move || Rooms::open(store, users)).await??;
            Some(Team::new(accounts.clone(), Arc::new(rooms)))
        }
    };
    let search = {
        let (data_dir, store) = (config.data_dir.clone(), store.clone());
        Arc::new(tokio::task::spawn_blocking(move || Search::open(&data_dir, store)).await??)
    };
    let files = {
        let (data_dir, store, limit) = (config.data_dir.clone(), store.clone(), config.max_upload);
        Arc::new(tokio::task::spawn_blocking(move || Files::open(&data_dir, &store, limit)).await??)
    };
    let chat = Chat::new(store.clone(), search, files, config.chat.clone(), team);
    let io = SocketIo::new(vec![("/", chat.handlers())], CONNECT_TIMEOUT);
    let Some(namespace) = io.namespace("/").cloned() else {
        unreachable!("the chat namespace was registered just above");
    };
    let revoking = Arc::downgrade(&chat);
    let sockets = namespace.clone();
    // Weak: the accounts outlive nothing here, but a strong Chat inside them would make
    // a cycle (Chat holds the accounts).
    accounts.set_revocation_listener(Arc::new(move |revocation| {
        if let Some(chat) = revoking.upgrade() {
            chat.disconnect_revoked(&sockets, revocation);
        }
    }));
    let tls = match config.tls.clone() {
        Some(source) => {
            let (data_dir, listen) = (config.data_dir.clone(), config.listen);
            let tls = tokio::task::spawn_blocking(move || Tls::open(&source, &data_dir, listen))
                .await??;
            Some(Arc::new(tls))
        }
        None => None,
    };
    let engine = Engine::new(config.engine.clone(), io);
    let app = Arc::new(App {
        engine: engine.clone(),
        namespace,
        chat,
        cors: config.cors.clone(),
        auth: config.auth,
        accounts: accounts.clone(),
    });
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Listen {
            address: config.listen,
            source,
        })?;
    let address = listener.local_addr().map_err(|source| ServeError::Listen {
        address: config.listen,
        source,
    })?;
    let redirect_listener = match config.redirect_http {
        Some(plain) => Some(
            tokio::net::TcpListener::bind(plain)
                .await
                .map_err(|source| ServeError::Listen {
                    address: plain,
                    source,
                })?,
        ),
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("listening on {scheme}://{address}");
    if let Some(tls) = &tls {
        println!("tls: certificate SHA-256 {}", tls.certificate().fingerprint);
        tls.reload_on_hangup();
    }
    let redirecting = redirect_listener.map(|listener| {
        if let Ok(plain) = listener.local_addr() {
            println!("redirecting http://{plain} to https");
        }
        let mut redirect = server::redirect_to_https(address.port());
        if let Some(tls) = &tls {
            redirect = tls.offering_certificate(redirect);
        }
        // Stopped with the main listener, below.
        tokio::spawn(accept_until(
            listener,
            redirect,
            None,
            std::future::pending(),
        ))
    });
    tracing::info!(%address, data_dir = %config.data_dir.display(), auth = %config.auth, "parley is ready");
    if config.auth == AuthMode::Accounts && accounts.setup_needed() {
        let code = accounts.setup_code();
        println!("setup: open {scheme}://{address}/setup?code={code}");
        tracing::info!("no admin yet: open the setup link printed on stdout to create one");
    }

    let mut router: Router = Arc::new(move |request| Box::pin(app.clone().route(request)));
    if let Some(tls) = &tls {
        router = tls.offering_certificate(router);
    }
    accept_until(listener, router, tls, shutdown).await;
    if let Some(redirecting) = redirecting {
        redirecting.abort();
    }

    tracing::info!("shutting down: closing sessions and flushing the store");
    engine.shutdown(SHUTDOWN_GRACE).await;
    store.shut_down().await?;
    tracing::info!("stopped");
    Ok(())
}
