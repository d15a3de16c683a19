//! Files over HTTP: `POST /api/rooms/{room}/files` sends a file as a message (its raw
//! body with `?name=`, or a `multipart/form-data` form with a `file` part), and
//! `GET /files/{id}/{name}` and `GET /files/{id}/thumb` give it back to whoever may read
//! the room it was sent to.

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue,
};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use super::{App, error_json, json_response, query_object};
use crate::accounts::Identity;
use crate::chat::ChatError;
use crate::error::ErrorCode;
use crate::files::FileRecord;
use crate::model::{FileId, FileName, RoomName};
use crate::server::HttpResponse;

/// What a multipart form may add around the file itself.
const FORM_OVERHEAD: usize = 64 * 1024;

/// A file as it arrived, and what the request said about it.
struct Upload {
    name: String,
    declared: Option<String>,
    content: Bytes,
    /// Text to send with it (a caption); the file's name when absent.
    text: Option<String>,
    client_id: Option<String>,
}

impl App {
    /// `POST /api/rooms/{room}/files`: stores the file, then sends the message that
    /// carries it, which reaches the room like any other; `201 {message}`.
    pub(super) async fn upload(&self, request: Request<Incoming>, room: &str) -> HttpResponse {
        if request.method() != Method::POST {
            let mut response = error_json(ErrorCode::Invalid, "use POST");
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            return response;
        }
        let author = match self.requester(&request) {
            Ok(author) => author,
            Err(error) => return self.refuse(&error, "upload"),
        };
        match self.store_upload(request, room, author.as_ref()).await {
            Ok(response) => response,
            Err(error) => self.refuse(&error, "upload"),
        }
    }

    async fn store_upload(
        &self,
        request: Request<Incoming>,
        room: &str,
        author: Option<&Identity>,
    ) -> Result<HttpResponse, ChatError> {
        let room = RoomName::parse(room)?;
        let query = query_object(&request);
        let upload = self.read_upload(request, &query).await?;
        let mut payload = json!({
            "text": upload.text.as_deref().unwrap_or(&upload.name),
            "client_id": upload.client_id,
        });
        if let Some(sender) = query.get("sender") {
            payload["sender"] = sender.clone();
        }
        let mut send = self
            .chat
            .parse_send(Some(&payload), Some(room.as_str()), author)?;
        let name = FileName::parse(&upload.name)?;
        if let Some(change) = self.chat.enter(&self.namespace, author, &room)? {
            self.chat.settle_later(&self.namespace, change);
        }
        let files = self.chat.files().clone();
        let stored_in = room.clone();
        let file = tokio::task::spawn_blocking(move || {
            files.put(
                &stored_in,
                name,
                upload.declared.as_deref(),
                &upload.content,
            )
        })
        .await
        .map_err(|_| ChatError::Internal("storing a file was interrupted"))??;
        send.files = vec![file];
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.chat.send(&self.namespace, send, move |result| {
            let _ = reply.send(result);
        });
        let appended = answer
            .await
            .map_err(|_| ChatError::Internal("the server is shutting down"))??;
        if appended.duplicate {
            return Ok(json_response(
                StatusCode::OK,
                &json!({"message": appended.message}),
            ));
        }
        let files = self.chat.files().clone();
        let message = appended.message.clone();
        tokio::task::spawn_blocking(move || {
            files.attach(&message.room, message.id, &message.files)
        })
        .await
        .map_err(|_| ChatError::Internal("recording a file was interrupted"))??;
        Ok(json_response(
            StatusCode::CREATED,
            &json!({"message": appended.message}),
        ))
    }

    /// The file of an upload request: the whole body with `?name=`, or the `file` part
    /// of a multipart form (with optional `text` and `client_id` parts).
    async fn read_upload(
        &self,
        request: Request<Incoming>,
        query: &Value,
    ) -> Result<Upload, ChatError> {
        let limit = self.chat.files().max_upload();
        let declared = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let announced = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<usize>().ok());
        let multipart = declared
            .as_deref()
            .and_then(|value| multipart_boundary(value).map(str::to_owned));
        let allowed = limit
            + if multipart.is_some() {
                FORM_OVERHEAD
            } else {
                0
            };
        if announced.is_some_and(|length| length > allowed) {
            return Err(ChatError::FileTooLarge(limit));
        }
        let body = Limited::new(request.into_body(), allowed)
            .collect()
            .await
            .map_err(|_| ChatError::FileTooLarge(limit))?
            .to_bytes();
        let text_of = |name: &str| query.get(name).and_then(Value::as_str).map(str::to_owned);
        let upload = match multipart {
            None => Upload {
                name: text_of("name")
                    .ok_or_else(|| ChatError::BadPayload("name is required (?name=FILE)".into()))?,
                declared,
                content: body,
                text: text_of("text"),
                client_id: text_of("client_id"),
            },
            Some(boundary) => {
                let parts = parse_multipart(&body, &boundary)?;
                let field = |name: &str| {
                    parts
                        .iter()
                        .find(|part| part.name.as_deref() == Some(name) && part.filename.is_none())
                        .map(|part| String::from_utf8_lossy(part.body).into_owned())
                };
                let file = parts
                    .iter()
                    .find(|part| part.filename.is_some())
                    .ok_or_else(|| ChatError::BadPayload("the form has no file".into()))?;
                Upload {
                    name: text_of("name")
                        .or_else(|| file.filename.clone())
                        .unwrap_or_default(),
                    declared: file.content_type.clone(),
                    content: body.slice_ref(file.body),
                    text: field("text").or_else(|| text_of("text")),
                    client_id: field("client_id").or_else(|| text_of("client_id")),
                }
            }
        };
        if upload.content.len() > limit {
            return Err(ChatError::FileTooLarge(limit));
        }
        Ok(upload)
    }

    /// `GET /files/{id}/{name}` and `GET /files/{id}/thumb`.
    pub(super) async fn download(&self, request: &Request<Incoming>, rest: &str) -> HttpResponse {
        match self.find_download(request, rest).await {
            Ok(response) => response,
            Err(error) => self.refuse(&error, "download"),
        }
    }

    async fn find_download(
        &self,
        request: &Request<Incoming>,
        rest: &str,
    ) -> Result<HttpResponse, ChatError> {
        let not_found = || ChatError::NoSuchFile;
        if !matches!(*request.method(), Method::GET | Method::HEAD) {
            return Err(ChatError::BadPayload("use GET".into()));
        }
        let (id, what) = rest.split_once('/').ok_or_else(not_found)?;
        let id = FileId::parse(id).map_err(|_| not_found())?;
        let author = self.requester(request)?;
        let files = self.chat.files().clone();
        let record = tokio::task::spawn_blocking(move || files.get(&id))
            .await
            .map_err(|_| ChatError::Internal("reading a file was interrupted"))??
            .ok_or_else(not_found)?;
        self.chat.check_read(author.as_ref(), &record.room)?;
        if what == "thumb" {
            let files = self.chat.files().clone();
            let thumb_of = record.clone();
            let path = tokio::task::spawn_blocking(move || files.thumbnail(&thumb_of))
                .await
                .map_err(|_| ChatError::Internal("making a thumbnail was interrupted"))??;
            let bytes = tokio::fs::read(&path)
                .await
                .map_err(|_| ChatError::Internal("reading a thumbnail failed"))?;
            return Ok(file_response(bytes, "image/png", &record, true));
        }
        let bytes = tokio::fs::read(self.chat.files().content(&record))
            .await
            .map_err(|_| ChatError::Internal("reading a file failed"))?;
        let inline = record.file.width.is_some();
        Ok(file_response(bytes, &record.file.mime, &record, inline))
    }
}

/// A file's bytes with the headers that keep a browser from running it: its own type
/// only (`nosniff`), no scripts or same-origin powers (`sandbox`), and downloaded rather
/// than shown unless it is an image.
fn file_response(bytes: Vec<u8>, mime: &str, record: &FileRecord, inline: bool) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(bytes)));
    let headers = response.headers_mut();
    let content_type = HeaderValue::from_str(mime)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    headers.insert(CONTENT_TYPE, content_type);
    headers.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static("sandbox"),
    );
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400"),
    );
    let disposition = format!(
        "{}; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        percent_encode(record.file.name.as_str())
    );
    if let Ok(disposition) = HeaderValue::from_str(&disposition) {
        headers.insert(CONTENT_DISPOSITION, disposition);
    }
    *response.status_mut() = StatusCode::OK;
    response
}

/// RFC 5987 encoding of a file name for `filename*`.
fn percent_encode(name: &str) -> String {
    name.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// The boundary of a `multipart/form-data` content type.
fn multipart_boundary(content_type: &str) -> Option<&str> {
    let mut params = content_type.split(';');
    let essence = params.next()?.trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params
        .filter_map(|param| param.trim().split_once('='))
        .find(|(key, _)| key.eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| value.trim_matches('"'))
        .filter(|boundary| !boundary.is_empty() && boundary.len() <= 200)
}

/// One part of a multipart form.
#[derive(Debug)]
struct Part<'a> {
    name: Option<String>,
    filename: Option<String>,
    content_type: Option<String>,
    body: &'a [u8],
}

/// The parts of a `multipart/form-data` body.
fn parse_multipart<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>, ChatError> {
    let bad = |why: &str| ChatError::BadPayload(format!("the multipart form is malformed: {why}"));
    let delimiter = format!("--{boundary}");
    let next_delimiter = format!("\r\n--{boundary}");
    let mut at =
        find(body, delimiter.as_bytes(), 0).ok_or_else(|| bad("no boundary"))? + delimiter.len();
    let mut parts = Vec::new();
    loop {
        let rest = &body[at..];
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        if !rest.starts_with(b"\r\n") {
            return Err(bad("a boundary is not followed by a line break"));
        }
        let headers_start = at + 2;
        let headers_end = find(body, b"\r\n\r\n", headers_start)
            .ok_or_else(|| bad("a part has no end of headers"))?;
        let headers = std::str::from_utf8(&body[headers_start..headers_end])
            .map_err(|_| bad("part headers are not UTF-8"))?;
        let content_start = headers_end + 4;
        let content_end = find(body, next_delimiter.as_bytes(), content_start)
            .ok_or_else(|| bad("a part is not closed"))?;
        let mut part = Part {
            name: None,
            filename: None,
            content_type: None,
            body: &body[content_start..content_end],
        };
        for line in headers.split("\r\n") {
            let Some((header, value)) = line.split_once(':') else {
                continue;
            };
            if header.trim().eq_ignore_ascii_case("content-disposition") {
                part.name = disposition_param(value, "name");
                part.filename = disposition_param(value, "filename");
            } else if header.trim().eq_ignore_ascii_case("content-type") {
                part.content_type = Some(value.trim().to_owned());
            }
        }
        parts.push(part);
        at = content_end + next_delimiter.len();
    }
}

/// A `key="value"` parameter of a Content-Disposition header.
fn disposition_param(header: &str, key: &str) -> Option<String> {
    header.split(';').skip(1).find_map(|param| {
        let (name, value) = param.trim().split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case(key)
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|at| at + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_forms_give_their_parts() {
        let body = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhello\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a b.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--X\r\n--XyZ--\r\n";
        let parts = parse_multipart(body, "XyZ").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name.as_deref(), Some("text"));
        assert_eq!(parts[0].body, b"hello");
        assert_eq!(parts[1].filename.as_deref(), Some("a b.png"));
        assert_eq!(parts[1].content_type.as_deref(), Some("image/png"));
        assert_eq!(parts[1].body, b"\x89PNG\r\n--X");
        assert!(parse_multipart(b"--XyZ\r\nno end", "XyZ").is_err());
        assert!(parse_multipart(b"nothing", "XyZ").is_err());
    }

    #[test]
    fn boundaries_come_from_the_content_type() {
        assert_eq!(
            multipart_boundary("multipart/form-data; boundary=\"abc\""),
            Some("abc")
        );
        assert_eq!(
            multipart_boundary("Multipart/Form-Data;boundary=----x1"),
            Some("----x1")
        );
        assert_eq!(multipart_boundary("image/png"), None);
    }

    #[test]
    fn names_are_encoded_for_the_header() {
        assert_eq!(
            percent_encode("отчёт 1.pdf"),
            "%D0%BE%D1%82%D1%87%D1%91%D1%82%201.pdf"
        );
    }
}
