//! Who a request is, and which pages need someone signed in. A request is identified
//! by `Authorization: Bearer TOKEN` or else the session cookie. A request that changes
//! something with only the cookie must also carry an `Origin`; the cross-origin rules
//! have already refused a foreign one, so what is left is the page's own origin or an
//! allowed one. A browser sends `Origin` on every such request, and a page on another
//! site cannot take it off, so no other site can act with a visitor's cookie. A browser
//! never sends a token on its own, so a request with one needs no Origin.

use std::net::IpAddr;

use hyper::body::Incoming;
use hyper::header::{
    AUTHORIZATION, CACHE_CONTROL, COOKIE, HeaderMap, HeaderValue, LOCATION, ORIGIN,
};
use hyper::{Method, Request, Response, StatusCode};

use super::assets::page;
use super::{App, not_found};
use crate::accounts::{Accounts, AccountsError, AuthMode, CredentialKey, Identity, bearer_token};
use crate::chat::ChatError;
use crate::server::HttpResponse;

/// The pages of the accounts, which exist only in accounts mode.
pub(super) enum AccountPage {
    Setup,
    SignIn,
    Join,
    Settings,
}

impl App {
    /// Who sent `request`: someone signed in (accounts mode, as [`App::identify`]
    /// says), or nobody in particular (open mode).
    pub(super) fn requester(
        &self,
        request: &Request<Incoming>,
    ) -> Result<Option<Identity>, ChatError> {
        match self.auth {
            AuthMode::Open => Ok(None),
            AuthMode::Accounts => self.identify(request).map(Some),
        }
    }

    /// Who sent `request`, by its bearer token or else its session cookie; with only
    /// the cookie, a request that changes something must carry an Origin.
    pub(super) fn identify(&self, request: &Request<Incoming>) -> Result<Identity, ChatError> {
        let headers = request.headers();
        let identity = match headers.get(AUTHORIZATION) {
            Some(value) => value
                .to_str()
                .ok()
                .and_then(bearer_token)
                .and_then(|token| self.accounts.authenticate_token(token)),
            None => session_identity(&self.accounts, headers),
        }
        .ok_or(AccountsError::SignInFirst)?;
        let by_cookie = matches!(identity.credential, CredentialKey::Session(_));
        let changes = !matches!(
            *request.method(),
            Method::GET | Method::HEAD | Method::OPTIONS
        );
        if by_cookie && changes && !headers.contains_key(ORIGIN) {
            return Err(AccountsError::MissingOrigin.into());
        }
        Ok(identity)
    }

    /// A page for people signed in. In accounts mode a browser without a valid
    /// session is sent to sign in first, and back here after (or, while there is no
    /// admin, to the setup page).
    pub(super) fn signed_in_page(&self, file: &str, request: &Request<Incoming>) -> HttpResponse {
        if self.auth == AuthMode::Open
            || session_identity(&self.accounts, request.headers()).is_some()
        {
            return page(file, request);
        }
        if self.accounts.setup_needed() {
            return redirect("/setup");
        }
        let wanted = request
            .uri()
            .path_and_query()
            .map_or("/", |wanted| wanted.as_str());
        redirect(&format!("/signin?next={}", percent_encode(wanted)))
    }

    /// The accounts' own pages: only in accounts mode, and setup only while there is
    /// no admin.
    pub(super) fn account_page(
        &self,
        which: AccountPage,
        request: &Request<Incoming>,
    ) -> HttpResponse {
        if self.auth == AuthMode::Open {
            return not_found();
        }
        match which {
            AccountPage::Setup if self.accounts.setup_needed() => page("setup.html", request),
            AccountPage::Setup => redirect("/"),
            AccountPage::SignIn => page("signin.html", request),
            AccountPage::Join => page("join.html", request),
            AccountPage::Settings => self.signed_in_page("settings.html", request),
        }
    }
}

/// The identity of the first valid session cookie among the `Cookie` headers.
fn session_identity(accounts: &Accounts, headers: &HeaderMap) -> Option<Identity> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|cookie| accounts.authenticate_cookie(cookie))
}

fn redirect(location: &str) -> HttpResponse {
    let mut response = Response::new(Default::default());
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, location);
    }
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Whether a request comes from a browser on this machine: from a loopback address,
/// and without a proxy's header saying it forwards someone else's request (a reverse
/// proxy on this machine would otherwise make every visitor local).
pub(super) fn is_local(client: Option<IpAddr>, headers: &HeaderMap) -> bool {
    let loopback = client.is_some_and(|client| match client {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    });
    let forwarded = ["forwarded", "x-forwarded-for", "x-real-ip"]
        .iter()
        .any(|name| headers.contains_key(*name));
    loopback && !forwarded
}

/// Escapes a path and query for the `next` parameter: all but unreserved characters
/// and `/`.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_without_a_proxy_is_local() {
        let none = HeaderMap::new();
        for local in ["127.0.0.1", "127.8.9.1", "::1", "::ffff:127.0.0.1"] {
            assert!(is_local(Some(local.parse().unwrap()), &none), "{local}");
        }
        for remote in ["192.168.1.5", "10.0.0.1", "2001:db8::1", "::ffff:192.0.2.1"] {
            assert!(!is_local(Some(remote.parse().unwrap()), &none), "{remote}");
        }
        assert!(!is_local(None, &none));
        for header in ["forwarded", "x-forwarded-for", "x-real-ip"] {
            let mut proxied = HeaderMap::new();
            proxied.insert(header, HeaderValue::from_static("192.0.2.1"));
            assert!(
                !is_local(Some("127.0.0.1".parse().unwrap()), &proxied),
                "{header}"
            );
        }
    }

    #[test]
    fn next_keeps_the_path_and_escapes_the_rest() {
        assert_eq!(percent_encode("/chat/team:ops"), "/chat/team%3Aops");
        assert_eq!(percent_encode("/x?a=1&b=2"), "/x%3Fa%3D1%26b%3D2");
    }
}
