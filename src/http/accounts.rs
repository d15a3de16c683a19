//! The accounts over HTTP: signing in and out, the signed-in user's settings and
//! tokens, the people list, setup and the join link, the admin's routes, and which
//! pages need a session (the README's "Accounts" section lists them all).
//!
//! Who a request is comes from `Authorization: Bearer TOKEN` or else the session
//! cookie. A request that changes something with only the cookie must also carry an
//! `Origin`; the cross-origin rules have already refused a foreign one, so what is
//! left is the page's own origin or an allowed one. A browser sends `Origin` on every
//! such request, and a page on another site cannot take it off, so no other site can
//! act with a visitor's cookie. A token is never sent by a browser on its own, so a
//! request with one needs no Origin.

use std::net::IpAddr;

use hyper::body::Incoming;
use hyper::header::{
    ALLOW, AUTHORIZATION, CACHE_CONTROL, COOKIE, HeaderMap, HeaderValue, LOCATION, ORIGIN,
    SET_COOKIE,
};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use super::assets::page;
use super::{
    App, chat_error_response, client_ip, error_json, json_response, not_found, percent_decode,
    read_json,
};
use crate::accounts::{
    Accounts, AccountsError, AuthMode, CredentialKey, Identity, NewUser, Password, Role,
    SESSION_COOKIE, SESSION_LIFETIME, SignedIn, bearer_token,
};
use crate::chat::{ChatError, Fields};
use crate::error::ErrorCode;
use crate::model::{DisplayName, TokenName, Username};
use crate::server::HttpResponse;

/// A route anyone may call: the ways in.
#[derive(Debug, PartialEq, Eq)]
enum Public {
    SignIn,
    SetupState,
    SetUp,
    Join(String),
}

/// A route for someone signed in; the last three for admins only.
#[derive(Debug, PartialEq, Eq)]
enum SignedInRoute {
    SignOut,
    Me,
    Rename,
    ChangePassword,
    CreateToken,
    ListTokens,
    RevokeToken(String),
    Users,
    Deactivate(String),
    Invite,
    ResetInvite,
}

#[derive(Debug, PartialEq, Eq)]
enum Route {
    Public(Public),
    SignedIn(SignedInRoute),
}

/// Why a request matches no route.
#[derive(Debug, PartialEq, Eq)]
enum Unrouted {
    NotFound,
    /// The path exists with these methods.
    WrongMethod(String),
}

impl Route {
    /// The route of `path` (after `/api/`) and `method`.
    fn parse(method: &Method, path: &str) -> Result<Route, Unrouted> {
        use Public::*;
        use SignedInRoute::*;
        let public = Route::Public;
        let signed_in = Route::SignedIn;
        let segments: Vec<&str> = path.split('/').collect();
        let by_method = match segments.as_slice() {
            ["session"] => vec![
                (Method::POST, public(SignIn)),
                (Method::DELETE, signed_in(SignOut)),
            ],
            ["me"] => vec![
                (Method::GET, signed_in(Me)),
                (Method::PATCH, signed_in(Rename)),
            ],
            ["me", "password"] => vec![(Method::PUT, signed_in(ChangePassword))],
            ["tokens"] => vec![
                (Method::GET, signed_in(ListTokens)),
                (Method::POST, signed_in(CreateToken)),
            ],
            ["tokens", name] if !name.is_empty() => {
                vec![(Method::DELETE, signed_in(RevokeToken(percent_decode(name))))]
            }
            ["users"] => vec![(Method::GET, signed_in(Users))],
            ["users", username, "deactivate"] => vec![(
                Method::POST,
                signed_in(Deactivate(percent_decode(username))),
            )],
            ["setup"] => vec![
                (Method::GET, public(SetupState)),
                (Method::POST, public(SetUp)),
            ],
            ["join", code] => vec![(Method::POST, public(Join(percent_decode(code))))],
            ["invite"] => vec![(Method::GET, signed_in(Invite))],
            ["invite", "reset"] => vec![(Method::POST, signed_in(ResetInvite))],
            _ => return Err(Unrouted::NotFound),
        };
        let allowed: Vec<&str> = by_method
            .iter()
            .map(|(method, _)| method.as_str())
            .collect();
        let allowed = allowed.join(", ");
        by_method
            .into_iter()
            .find(|(allowed, _)| allowed == method)
            .map(|(_, route)| route)
            .ok_or(Unrouted::WrongMethod(allowed))
    }
}

/// The pages of the accounts, which exist only in accounts mode.
pub(super) enum AccountPage {
    Setup,
    SignIn,
    Join,
    Settings,
}

impl App {
    /// Every `/api/` request that is not a room's messages.
    pub(super) async fn accounts_api(
        &self,
        request: Request<Incoming>,
        path: &str,
    ) -> HttpResponse {
        let route = match Route::parse(request.method(), path) {
            Ok(route) => route,
            Err(Unrouted::NotFound) => return error_json(ErrorCode::NotFound, "no such API route"),
            Err(Unrouted::WrongMethod(allowed)) => {
                let mut response = error_json(ErrorCode::Invalid, &format!("use {allowed}"));
                *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
                if let Ok(allowed) = HeaderValue::from_str(&allowed) {
                    response.headers_mut().insert(ALLOW, allowed);
                }
                return response;
            }
        };
        let answer = match (self.auth, route) {
            (AuthMode::Open, Route::SignedIn(SignedInRoute::Me)) => Ok(json_response(
                StatusCode::OK,
                &json!({"user": null, "auth": AuthMode::Open.as_str()}),
            )),
            (AuthMode::Open, _) => Err(AccountsError::AccountsOff.into()),
            (AuthMode::Accounts, Route::Public(route)) => self.public(route, request).await,
            (AuthMode::Accounts, Route::SignedIn(route)) => match self.identify(&request) {
                Ok(identity) => self.signed_in(route, identity, request).await,
                Err(error) => Err(error),
            },
        };
        answer.unwrap_or_else(|error| {
            self.chat.report(&error, "http_accounts");
            chat_error_response(&error)
        })
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

    async fn public(
        &self,
        route: Public,
        request: Request<Incoming>,
    ) -> Result<HttpResponse, ChatError> {
        let local = is_local(client_ip(&request), request.headers());
        let client = client_ip(&request);
        let accounts = &self.accounts;
        match route {
            Public::SignIn => {
                let body = self.body(request).await?;
                let fields = Fields::of(Some(&body))?;
                let username = fields.string("username")?.to_owned();
                let password = fields.string("password")?.to_owned();
                let signed_in = accounts
                    .blocking(move |accounts| accounts.sign_in(&username, &password, client))
                    .await?;
                Ok(signed_in_answer(StatusCode::OK, &signed_in))
            }
            Public::SetupState => Ok(json_response(
                StatusCode::OK,
                &json!({"needed": accounts.setup_needed(), "code_required": !local}),
            )),
            Public::SetUp => {
                let body = self.body(request).await?;
                let fields = Fields::of(Some(&body))?;
                let new = new_user(&fields)?;
                let code = fields.optional_string("code")?.map(str::to_owned);
                let signed_in = accounts
                    .blocking(move |accounts| accounts.set_up(new, local, code.as_deref()))
                    .await?;
                Ok(signed_in_answer(StatusCode::CREATED, &signed_in))
            }
            Public::Join(code) => {
                let body = self.body(request).await?;
                let new = new_user(&Fields::of(Some(&body))?)?;
                let signed_in = accounts
                    .blocking(move |accounts| accounts.join(&code, new))
                    .await?;
                Ok(signed_in_answer(StatusCode::CREATED, &signed_in))
            }
        }
    }

    async fn signed_in(
        &self,
        route: SignedInRoute,
        identity: Identity,
        request: Request<Incoming>,
    ) -> Result<HttpResponse, ChatError> {
        let accounts = &self.accounts;
        let client = client_ip(&request);
        let username = identity.username.clone();
        if matches!(
            route,
            SignedInRoute::Deactivate(_) | SignedInRoute::Invite | SignedInRoute::ResetInvite
        ) && identity.role != Role::Admin
        {
            return Err(AccountsError::AdminOnly.into());
        }
        match route {
            SignedInRoute::SignOut => {
                let credential = identity.credential;
                accounts
                    .blocking(move |accounts| accounts.sign_out(credential))
                    .await?;
                let mut response = no_content();
                set_session_cookie(&mut response, "", 0);
                Ok(response)
            }
            SignedInRoute::Me => Ok(json_response(
                StatusCode::OK,
                &json!({
                    "user": {"username": identity.username, "name": identity.name, "role": identity.role},
                    "auth": AuthMode::Accounts.as_str(),
                }),
            )),
            SignedInRoute::Rename => {
                let body = self.body(request).await?;
                let name = DisplayName::parse(Fields::of(Some(&body))?.string("name")?)?;
                let user = accounts
                    .blocking(move |accounts| accounts.rename(&username, name))
                    .await?;
                Ok(json_response(StatusCode::OK, &json!({"user": user.view()})))
            }
            SignedInRoute::ChangePassword => {
                let body = self.body(request).await?;
                let fields = Fields::of(Some(&body))?;
                let current = fields.string("current_password")?.to_owned();
                let new = Password::parse(fields.string("password")?)?;
                accounts
                    .blocking(move |accounts| {
                        accounts.change_password(&identity, &current, &new, client)
                    })
                    .await?;
                Ok(no_content())
            }
            SignedInRoute::CreateToken => {
                let body = self.body(request).await?;
                let name = TokenName::parse(Fields::of(Some(&body))?.string("name")?)?;
                let (token, made) = accounts
                    .blocking(move |accounts| accounts.create_token(&username, name))
                    .await?;
                Ok(json_response(
                    StatusCode::CREATED,
                    &json!({"token": token.as_str(), "name": made.name}),
                ))
            }
            SignedInRoute::ListTokens => {
                let tokens: Vec<Value> = accounts
                    .tokens(&username)
                    .iter()
                    .map(|token| json!({"name": token.name, "created": token.created}))
                    .collect();
                Ok(json_response(StatusCode::OK, &json!({"tokens": tokens})))
            }
            SignedInRoute::RevokeToken(name) => {
                accounts
                    .blocking(move |accounts| accounts.revoke_token(&username, &name))
                    .await?;
                Ok(no_content())
            }
            SignedInRoute::Users => {
                // Presence is not tracked yet; `online` keeps its place in the shape.
                let users: Vec<Value> = accounts
                    .users()
                    .iter()
                    .filter(|user| user.active)
                    .map(|user| {
                        json!({"username": user.username, "name": user.name, "role": user.role, "online": false})
                    })
                    .collect();
                Ok(json_response(StatusCode::OK, &json!({"users": users})))
            }
            SignedInRoute::Deactivate(who) => {
                accounts
                    .blocking(move |accounts| accounts.deactivate(&who))
                    .await?;
                Ok(no_content())
            }
            SignedInRoute::Invite => {
                let code = accounts.blocking(|accounts| accounts.invite_code()).await?;
                Ok(json_response(StatusCode::OK, &json!({"code": code})))
            }
            SignedInRoute::ResetInvite => {
                let code = accounts
                    .blocking(|accounts| accounts.reset_invite())
                    .await?;
                Ok(json_response(StatusCode::OK, &json!({"code": code})))
            }
        }
    }

    async fn body(&self, request: Request<Incoming>) -> Result<Value, ChatError> {
        read_json(request, self.engine.config().max_payload).await
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

/// The new user a setup or join request describes; the display name defaults to the
/// username.
fn new_user(fields: &Fields<'_>) -> Result<NewUser, ChatError> {
    let username = Username::parse(fields.string("username")?)?;
    let name = match fields.optional_string("name")? {
        Some(name) => DisplayName::parse(name)?,
        None => DisplayName::parse(username.as_str())?,
    };
    let password = Password::parse(fields.string("password")?)?;
    Ok(NewUser {
        username,
        name,
        password,
    })
}

/// `{user}` with the new session's cookie.
fn signed_in_answer(status: StatusCode, signed_in: &SignedIn) -> HttpResponse {
    let mut response = json_response(status, &json!({"user": signed_in.user.view()}));
    set_session_cookie(
        &mut response,
        signed_in.session.as_str(),
        SESSION_LIFETIME.as_secs(),
    );
    response
}

/// Sets the session cookie: out of reach of scripts (`HttpOnly`), not sent along with
/// requests other sites start (`SameSite=Lax`), for every path. An empty value with
/// `max_age` 0 removes it.
fn set_session_cookie(response: &mut HttpResponse, value: &str, max_age: u64) {
    let cookie =
        format!("{SESSION_COOKIE}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age}");
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    // An answer that sets a session must never be kept by a cache.
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn no_content() -> HttpResponse {
    let mut response = Response::new(Default::default());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
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
fn is_local(client: Option<IpAddr>, headers: &HeaderMap) -> bool {
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
    fn routes_are_found_by_path_and_method() {
        let route = |method: Method, path: &str| Route::parse(&method, path);
        assert_eq!(
            route(Method::POST, "session"),
            Ok(Route::Public(Public::SignIn))
        );
        assert_eq!(
            route(Method::DELETE, "session"),
            Ok(Route::SignedIn(SignedInRoute::SignOut))
        );
        assert_eq!(
            route(Method::DELETE, "tokens/ci%20bot"),
            Ok(Route::SignedIn(SignedInRoute::RevokeToken("ci bot".into())))
        );
        assert_eq!(
            route(Method::POST, "users/ann/deactivate"),
            Ok(Route::SignedIn(SignedInRoute::Deactivate("ann".into())))
        );
        assert_eq!(
            route(Method::POST, "join/ABCD-EFGH-JK23"),
            Ok(Route::Public(Public::Join("ABCD-EFGH-JK23".into())))
        );
        assert_eq!(
            route(Method::GET, "session"),
            Err(Unrouted::WrongMethod("POST, DELETE".into()))
        );
        assert_eq!(route(Method::GET, "tokens/"), Err(Unrouted::NotFound));
        assert_eq!(route(Method::GET, "nothing"), Err(Unrouted::NotFound));
    }

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

    #[test]
    fn the_session_cookie_has_its_flags_and_can_be_removed() {
        let mut response = no_content();
        set_session_cookie(&mut response, "abc", 60);
        assert_eq!(
            response.headers()[SET_COOKIE],
            "parley_session=abc; HttpOnly; SameSite=Lax; Path=/; Max-Age=60"
        );
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        set_session_cookie(&mut response, "", 0);
        assert!(
            response.headers()[SET_COOKIE]
                .to_str()
                .unwrap()
                .starts_with("parley_session=; ")
        );
    }
}
