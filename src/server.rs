//! Accepting connections: HTTP/1.1 with upgrades on a tokio listener, over TLS when
//! the server has a certificate, each request handed to a router, until a shutdown
//! signal arrives. Plain HTTP that reaches a TLS listener, and every request on the
//! `--redirect-http` listener, is redirected to the same address over HTTPS.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HOST, HeaderValue, LOCATION};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

use crate::tls::{Accepted, Tls};

/// Every HTTP response body in Parley is a complete buffer.
pub type HttpResponse = Response<Full<Bytes>>;

/// The address of the client a request came from, in the request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

pub type RouteFuture = Pin<Box<dyn Future<Output = HttpResponse> + Send>>;

/// In the extensions of a request that came over TLS: what is set for it may be
/// marked HTTPS-only (the session cookie's `Secure`).
#[derive(Debug, Clone, Copy)]
pub struct Https;

/// Turns a request into a response; shared by every connection.
pub type Router = Arc<dyn Fn(Request<Incoming>) -> RouteFuture + Send + Sync>;

/// Serves connections until `shutdown` completes, then stops accepting. With `tls`,
/// every connection starts with a TLS handshake (a plain HTTP one is redirected to
/// HTTPS). Connections already open keep running until their clients or the layers
/// above close them.
pub async fn accept_until(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<Tls>>,
    shutdown: impl Future<Output = ()>,
) {
    // Plain HTTP on the TLS port is sent to the same host and port over HTTPS.
    let to_https = listener
        .local_addr()
        .map(|address| redirect_to_https(address.port()))
        .ok();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(connection) => connection,
            Err(error) => {
                // Running out of file descriptors is the usual cause; pausing briefly
                // lets existing connections finish instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let Some(tls) = tls.clone() else {
            tokio::spawn(serve_connection(stream, peer, router, false));
            continue;
        };
        let to_https = to_https.clone();
        tokio::spawn(async move {
            match tls.accept(stream, peer).await {
                Accepted::Tls(stream) => serve_connection(stream, peer, router, true).await,
                Accepted::PlainHttp(stream) => {
                    if let Some(redirect) = to_https {
                        serve_connection(stream, peer, redirect, false).await;
                    }
                }
                Accepted::Gone => {}
            }
        });
    }
}

/// Serves the HTTP/1.1 requests of one connection (TCP or TLS) until it closes.
async fn serve_connection<S>(stream: S, peer: SocketAddr, router: Router, https: bool)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ClientAddr(peer));
        if https {
            request.extensions_mut().insert(Https);
        }
        let response = router(request);
        async move { Ok::<_, std::convert::Infallible>(response.await) }
    });
    let connection = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    if let Err(error) = connection.await {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}

/// A router that answers every request with a permanent redirect to the same host,
/// path and query over HTTPS on `https_port`.
pub fn redirect_to_https(https_port: u16) -> Router {
    Arc::new(move |request| {
        let response = https_location(&request, https_port)
            .and_then(|location| HeaderValue::from_str(&location).ok())
            .map(|location| {
                let mut response = Response::new(Full::new(Bytes::new()));
                // 308 keeps the method and body, so an API POST is redirected as a POST.
                *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
                response.headers_mut().insert(LOCATION, location);
                response
            })
            .unwrap_or_else(|| {
                crate::http::text(
                    StatusCode::BAD_REQUEST,
                    "this server speaks HTTPS: open it with https://\n",
                )
            });
        Box::pin(async move { response })
    })
}

/// `https://HOST[:PORT]/path?query` for a request whose `Host` names this server; the
/// port is left out when it is HTTPS's own, 443. None without a usable `Host`.
fn https_location<B>(request: &Request<B>, https_port: u16) -> Option<String> {
    let host = request.headers().get(HOST)?.to_str().ok()?;
    let name = match host.strip_prefix('[') {
        // [v6]:port
        Some(rest) => &host[..rest.find(']')? + 2],
        None => host.split(':').next()?,
    };
    let allowed = |byte: u8| byte.is_ascii_alphanumeric() || b".-_[]:".contains(&byte);
    if name.is_empty() || !name.bytes().all(allowed) {
        return None;
    }
    let path = request
        .uri()
        .path_and_query()
        .map(|path| path.as_str())
        .filter(|path| path.starts_with('/'))
        .unwrap_or("/");
    Some(match https_port {
        443 => format!("https://{name}{path}"),
        port => format!("https://{name}:{port}{path}"),
    })
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(host: &str, path: &str, port: u16) -> Option<String> {
        let request = Request::builder()
            .uri(path)
            .header(HOST, host)
            .body(())
            .unwrap();
        https_location(&request, port)
    }

    #[test]
    fn redirects_keep_the_host_path_and_query() {
        assert_eq!(
            location("chat.lan:8080", "/chat/team?x=1", 8443).as_deref(),
            Some("https://chat.lan:8443/chat/team?x=1")
        );
        assert_eq!(
            location("chat.lan", "/", 443).as_deref(),
            Some("https://chat.lan/")
        );
        assert_eq!(
            location("[::1]:80", "/signin", 5000).as_deref(),
            Some("https://[::1]:5000/signin")
        );
        assert_eq!(location("evil.example/x", "/", 443), None);
        assert_eq!(location("", "/", 443), None);
    }
}
