//! Cross-origin rules: which sites may call Parley from a browser, the preflight
//! answer, and the headers that let an allowed site read responses.

use hyper::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS, HOST,
    HeaderMap, HeaderValue, ORIGIN, VARY,
};
use hyper::{Response, StatusCode};

use crate::server::HttpResponse;

/// Which origins may talk to Parley from another site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsPolicy {
    SameOrigin,
    AnyOrigin,
    AllowList(Vec<String>),
}

impl CorsPolicy {
    /// The policy for the configured origins: none means same origin only, `*` any;
    /// otherwise each must be an origin like `https://chat.example.com`.
    pub fn from_origins(origins: Vec<String>) -> Result<CorsPolicy, String> {
        if origins.is_empty() {
            return Ok(CorsPolicy::SameOrigin);
        }
        if origins.iter().any(|origin| origin == "*") {
            return Ok(CorsPolicy::AnyOrigin);
        }
        for origin in &origins {
            let scheme_ok = origin.starts_with("http://") || origin.starts_with("https://");
            if !scheme_ok || origin.ends_with('/') {
                return Err(format!(
                    "{origin:?} is not an origin like https://chat.example.com"
                ));
            }
        }
        Ok(CorsPolicy::AllowList(origins))
    }
}

/// What the cross-origin rules say about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No `Origin` header or the page's own origin: nothing to add.
    SameOrigin,
    /// Another origin that the policy allows; its value is echoed back.
    Allowed(HeaderValue),
    Denied,
}

pub fn judge(policy: &CorsPolicy, headers: &HeaderMap) -> Verdict {
    let Some(origin) = headers.get(ORIGIN) else {
        return Verdict::SameOrigin;
    };
    let Ok(origin_text) = origin.to_str() else {
        return Verdict::Denied;
    };
    if is_same_origin(origin_text, headers) {
        return Verdict::SameOrigin;
    }
    let allowed = match policy {
        CorsPolicy::SameOrigin => false,
        CorsPolicy::AnyOrigin => true,
        CorsPolicy::AllowList(origins) => origins.iter().any(|allowed| allowed == origin_text),
    };
    if allowed {
        Verdict::Allowed(origin.clone())
    } else {
        Verdict::Denied
    }
}

/// An origin is the page's own when its host part matches the `Host` the browser
/// sent to us (the scheme is whatever the listener speaks).
fn is_same_origin(origin: &str, headers: &HeaderMap) -> bool {
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    let host = headers.get(HOST).and_then(|host| host.to_str().ok());
    matches!((origin_host, host), (Some(origin_host), Some(host)) if origin_host.eq_ignore_ascii_case(host))
}

/// Adds the headers that let an allowed origin read the response. The exact origin
/// is echoed (never `*`) so that requests with credentials work too.
pub fn decorate(verdict: &Verdict, response: &mut HttpResponse) {
    if let Verdict::Allowed(origin) = verdict {
        let headers = response.headers_mut();
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.insert(
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        headers.append(VARY, HeaderValue::from_static("Origin"));
    }
}

/// Answers an `OPTIONS` preflight.
pub fn preflight(verdict: &Verdict, request_headers: &HeaderMap) -> HttpResponse {
    let mut response = Response::new(Default::default());
    if *verdict == Verdict::Denied {
        *response.status_mut() = StatusCode::FORBIDDEN;
        return response;
    }
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE, OPTIONS"),
    );
    let requested = request_headers
        .get(ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("content-type"));
    headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, requested);
    headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    decorate(verdict, &mut response);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_star_allows_any_origin() {
        assert_eq!(
            CorsPolicy::from_origins(vec!["https://a.example".into(), "*".into()]).unwrap(),
            CorsPolicy::AnyOrigin
        );
        assert_eq!(
            CorsPolicy::from_origins(vec!["https://a.example".into()]).unwrap(),
            CorsPolicy::AllowList(vec!["https://a.example".into()])
        );
        assert_eq!(
            CorsPolicy::from_origins(Vec::new()).unwrap(),
            CorsPolicy::SameOrigin
        );
        assert!(CorsPolicy::from_origins(vec!["https://a.example/".into()]).is_err());
    }

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_str(host).unwrap());
        if let Some(origin) = origin {
            headers.insert(ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        headers
    }

    #[test]
    fn same_origin_and_originless_requests_pass_any_policy() {
        let policy = CorsPolicy::SameOrigin;
        assert_eq!(
            judge(&policy, &headers(None, "127.0.0.1:5000")),
            Verdict::SameOrigin
        );
        assert_eq!(
            judge(
                &policy,
                &headers(Some("http://127.0.0.1:5000"), "127.0.0.1:5000")
            ),
            Verdict::SameOrigin
        );
        assert_eq!(
            judge(
                &policy,
                &headers(Some("http://evil.example"), "127.0.0.1:5000")
            ),
            Verdict::Denied
        );
    }

    #[test]
    fn allow_list_and_star() {
        let list = CorsPolicy::AllowList(vec!["https://a.example".into()]);
        let from_a = headers(Some("https://a.example"), "chat:5000");
        assert!(matches!(judge(&list, &from_a), Verdict::Allowed(_)));
        assert_eq!(
            judge(&list, &headers(Some("https://b.example"), "chat:5000")),
            Verdict::Denied
        );
        assert!(matches!(
            judge(
                &CorsPolicy::AnyOrigin,
                &headers(Some("https://b.example"), "chat:5000")
            ),
            Verdict::Allowed(_)
        ));
    }

    #[test]
    fn preflight_echoes_the_origin() {
        let verdict = Verdict::Allowed(HeaderValue::from_static("https://a.example"));
        let response = preflight(&verdict, &HeaderMap::new());
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            response.headers()[ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://a.example"
        );
        assert_eq!(response.headers()[ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        assert_eq!(
            preflight(&Verdict::Denied, &HeaderMap::new()).status(),
            StatusCode::FORBIDDEN
        );
    }
}
