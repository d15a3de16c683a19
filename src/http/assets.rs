//! The pages and their assets, embedded in the binary: content types, security headers
//! for pages, ETags so browsers revalidate cheaply, and gzip for text.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Mutex, OnceLock};

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, HeaderName, HeaderValue,
    IF_NONE_MATCH, VARY,
};
use hyper::{Request, Response, StatusCode};
use rust_embed::RustEmbed;

use super::not_found;
use crate::server::HttpResponse;

#[derive(RustEmbed)]
#[folder = "assets/"]
struct Assets;

/// Headers every page carries: no inline script, no framing, no MIME sniffing.
const PAGE_SECURITY_HEADERS: [(&str, &str); 4] = [
    (
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
];

pub(super) fn page(file: &str, request: &Request<Incoming>) -> HttpResponse {
    let mut response = asset(file, request);
    let headers = response.headers_mut();
    for (name, value) in PAGE_SECURITY_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    // Pages are small and name their assets; always revalidate them.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// Files smaller than this are sent as they are: gzip would save too little.
const GZIP_MIN_BYTES: usize = 1024;

/// An embedded file, with its content type, an ETag so browsers revalidate cheaply,
/// and gzip for text when the client accepts it.
pub(super) fn asset(file: &str, request: &Request<Incoming>) -> HttpResponse {
    // The embedded set has no `..`, but in debug builds rust-embed reads the folder
    // from disk, so paths that could climb out of it are refused outright.
    let climbs = file.split('/').any(|part| part == ".." || part.is_empty());
    let Some(content) = Assets::get(file).filter(|_| !climbs) else {
        return not_found();
    };
    let content_type = content_type(file);
    let compressible = content_type.starts_with("text/") || content_type == "image/svg+xml";
    let accepts_gzip = request
        .headers()
        .get(ACCEPT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("gzip"));
    let gzip = compressible && accepts_gzip && content.data.len() >= GZIP_MIN_BYTES;
    let hash: String = content.metadata.sha256_hash()[..12]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let etag = if gzip {
        format!("\"{hash}-gz\"")
    } else {
        format!("\"{hash}\"")
    };
    let unchanged = request
        .headers()
        .get(IF_NONE_MATCH)
        .is_some_and(|tag| tag.as_bytes() == etag.as_bytes());
    let body = match (unchanged, gzip) {
        (true, _) => Bytes::new(),
        (false, true) => gzipped(file, &content.data),
        (false, false) => Bytes::from(content.data.into_owned()),
    };
    let mut response = Response::new(Full::new(body));
    if unchanged {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
    }
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    headers.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    if compressible {
        headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    if gzip {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(ETAG, etag);
    }
    response
}

/// The gzip form of an embedded file, compressed on first use and kept.
fn gzipped(file: &str, data: &[u8]) -> Bytes {
    static CACHE: OnceLock<Mutex<HashMap<String, Bytes>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let cached = cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(file)
        .cloned();
    if let Some(bytes) = cached {
        return bytes;
    }
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 3), Compression::best());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(data);
    let bytes = Bytes::from(encoder.finish().unwrap_or_default());
    cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(file.to_owned(), bytes.clone());
    bytes
}

fn content_type(file: &str) -> &'static str {
    match file.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_have_content_types() {
        assert_eq!(content_type("js/chat.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("lobby.html"), "text/html; charset=utf-8");
        assert_eq!(
            content_type("manifest.webmanifest"),
            "application/manifest+json"
        );
        assert_eq!(content_type("unknown"), "application/octet-stream");
    }

    #[test]
    fn the_pages_are_embedded() {
        for file in [
            "lobby.html",
            "chat.html",
            "debug.html",
            "css/parley.css",
            "js/parley-io.js",
            "js/prefs.js",
            "manifest.webmanifest",
            "sw.js",
            "offline.html",
            "icons/icon-192.png",
            "icons/icon-512.png",
            "icons/maskable-512.png",
        ] {
            assert!(Assets::get(file).is_some(), "{file} missing");
        }
    }
}
