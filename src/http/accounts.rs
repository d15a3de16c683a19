//! The accounts' API: signing in and out, the signed-in user's settings and tokens,
//! the people list, setup and the join link, and the admin's routes (the README's
//! "Accounts" section lists them all). Who a request is comes from `auth.rs`.

use hyper::body::Incoming;
use hyper::header::{ALLOW, CACHE_CONTROL, HeaderValue, SET_COOKIE};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use super::auth::is_local;
use super::{App, client_ip, error_json, json_response, percent_decode, read_json};
use crate::accounts::{
    AccountsError, AuthMode, Identity, NewUser, Password, Role, SESSION_COOKIE, SESSION_LIFETIME,
    SignedIn,
};
use crate::chat::{ChatError, Fields};
use crate::error::ErrorCode;
use crate::model::{DisplayName, TokenName, Username};
use crate::server::{HttpResponse, Https};

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
    /// The signed-in user's rooms (`?all=1`: and those they could join).
    Rooms,
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
            ["rooms"] => vec![(Method::GET, signed_in(Rooms))],
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
        let https = request.extensions().get::<Https>().is_some();
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
        let mut response = answer.unwrap_or_else(|error| self.refuse(&error, "http_accounts"));
        if https {
            secure_cookie(&mut response);
        }
        response
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
                let users: Vec<Value> = accounts
                    .users()
                    .iter()
                    .filter(|user| user.active)
                    .map(|user| {
                        let online = self.chat.is_online(&user.username);
                        json!({"username": user.username, "name": user.name, "role": user.role, "online": online})
                    })
                    .collect();
                Ok(json_response(StatusCode::OK, &json!({"users": users})))
            }
            SignedInRoute::Rooms => {
                let all = request
                    .uri()
                    .query()
                    .unwrap_or("")
                    .split('&')
                    .any(|pair| matches!(pair, "all=1" | "all=true"));
                let rooms = self.chat.list_rooms(identity, all).await?;
                Ok(json_response(StatusCode::OK, &json!({"rooms": rooms})))
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

/// Marks the session cookie of an answer given over HTTPS `Secure`, so that the
/// browser never sends it over plain HTTP (to the redirect port, say).
fn secure_cookie(response: &mut HttpResponse) {
    let secured = response
        .headers()
        .get(SET_COOKIE)
        .and_then(|cookie| cookie.to_str().ok())
        .and_then(|cookie| HeaderValue::from_str(&format!("{cookie}; Secure")).ok());
    if let Some(secured) = secured {
        response.headers_mut().insert(SET_COOKIE, secured);
    }
}

fn no_content() -> HttpResponse {
    let mut response = Response::new(Default::default());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
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
        secure_cookie(&mut response);
        assert!(
            response.headers()[SET_COOKIE]
                .to_str()
                .unwrap()
                .ends_with("; Max-Age=0; Secure")
        );
    }
}
