//! Parsing a request's payload into typed requests, once, at the edge: the JSON
//! object's fields are checked and named in the errors, then turned into the
//! validated types of [`crate::model`].

use serde_json::{Map, Value};

use super::{Chat, ChatError};
use crate::accounts::Identity;
use crate::model::{
    ClientId, FileRef, MENTION_ROOM, MessageText, RoomName, SenderName, Username, mentioned_names,
};
use crate::search::{DEFAULT_RESULTS, MAX_RESULTS, SearchQuery};
use crate::store::PageQuery;

/// Messages returned by `join` and by a history request without a limit.
pub const DEFAULT_PAGE: usize = 50;
/// The most messages one history request returns.
pub const MAX_PAGE: usize = 200;
/// The longest search query, in characters.
pub const MAX_QUERY_CHARS: usize = 500;

/// A `send_message` request (or an HTTP POST), validated.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub room: RoomName,
    pub sender: SenderName,
    /// The signed-in author; `None` in open mode.
    pub user: Option<Username>,
    pub text: MessageText,
    pub client_id: Option<ClientId>,
    pub reply_to: Option<u64>,
    /// Who the text mentions, of those who can read the room (accounts mode).
    pub mentions: Vec<Username>,
    /// Files already stored for the message (uploads).
    pub files: Vec<FileRef>,
}

/// A history request, validated and with its limit capped.
#[derive(Debug, Clone)]
pub struct HistoryRequest {
    pub room: RoomName,
    pub query: PageQuery,
    /// Asks instead for what was created or changed after this rev, in rev order.
    pub since: Option<u64>,
}

impl HistoryRequest {
    /// The room's latest page, as `join` answers it.
    pub fn latest(room: RoomName) -> HistoryRequest {
        HistoryRequest {
            room,
            query: PageQuery {
                before: None,
                after: None,
                limit: DEFAULT_PAGE,
            },
            since: None,
        }
    }
}

/// A search request (event or HTTP), validated.
pub struct SearchRequest {
    pub query: SearchQuery,
    pub room: Option<RoomName>,
}

/// A JSON object received from a client, with field accessors that name the field in
/// their errors.
pub struct Fields<'a>(&'a Map<String, Value>);

impl<'a> Fields<'a> {
    pub fn of(payload: Option<&'a Value>) -> Result<Fields<'a>, ChatError> {
        match payload {
            Some(Value::Object(map)) => Ok(Fields(map)),
            _ => Err(ChatError::BadPayload(
                "the payload must be a JSON object".into(),
            )),
        }
    }

    pub fn string(&self, name: &str) -> Result<&'a str, ChatError> {
        match self.0.get(name) {
            Some(Value::String(text)) => Ok(text),
            None | Some(Value::Null) => Err(ChatError::BadPayload(format!("{name} is required"))),
            Some(_) => Err(ChatError::BadPayload(format!("{name} must be a string"))),
        }
    }

    pub fn optional_string(&self, name: &str) -> Result<Option<&'a str>, ChatError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.string(name).map(Some),
        }
    }

    /// A list of usernames; absent is empty. At most `max` of them.
    pub(super) fn usernames(&self, name: &str, max: usize) -> Result<Vec<Username>, ChatError> {
        let wrong = || ChatError::BadPayload(format!("{name} must be a list of usernames"));
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) if items.len() <= max => items
                .iter()
                .map(|item| match item {
                    Value::String(text) => Ok(Username::parse(text)?),
                    _ => Err(wrong()),
                })
                .collect(),
            Some(Value::Array(_)) => Err(ChatError::BadPayload(format!(
                "{name} may list at most {max} people"
            ))),
            Some(_) => Err(wrong()),
        }
    }

    /// The `id` of a message.
    pub(super) fn message_id(&self) -> Result<u64, ChatError> {
        self.optional_count("id")?
            .ok_or_else(|| ChatError::BadPayload("id is required".into()))
    }

    pub(super) fn username(&self, name: &str) -> Result<Username, ChatError> {
        Ok(Username::parse(self.string(name)?)?)
    }

    pub(super) fn optional_count(&self, name: &str) -> Result<Option<u64>, ChatError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value.as_u64().map(Some).ok_or_else(|| {
                ChatError::BadPayload(format!("{name} must be a non-negative integer"))
            }),
        }
    }

    pub(super) fn optional_bool(&self, name: &str) -> Result<Option<bool>, ChatError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(_) => Err(ChatError::BadPayload(format!(
                "{name} must be true or false"
            ))),
        }
    }

    pub(super) fn room(&self) -> Result<RoomName, ChatError> {
        Ok(RoomName::parse(self.string("room")?)?)
    }

    /// Who a request speaks for: the signed-in `author`, under their display name
    /// and with their username, whatever the payload says (a `sender` there is never
    /// trusted); in open mode, without an author, the payload's `sender`.
    pub(super) fn sender(
        &self,
        author: Option<&Identity>,
    ) -> Result<(SenderName, Option<Username>), ChatError> {
        Ok(match author {
            Some(author) => (author.name.as_sender(), Some(author.username.clone())),
            None => (SenderName::parse(self.string("sender")?)?, None),
        })
    }

    /// The room named in the URL (HTTP requests), or else in the payload (events).
    fn room_or(&self, room_from_path: Option<&str>) -> Result<RoomName, ChatError> {
        match room_from_path {
            Some(room) => Ok(RoomName::parse(room)?),
            None => self.room(),
        }
    }
}

/// Caps a requested page size: absent means the default, 0 or more than the maximum
/// are clamped rather than refused.
pub fn page_limit(requested: Option<u64>) -> usize {
    requested.map_or(DEFAULT_PAGE, |limit| {
        usize::try_from(limit)
            .unwrap_or(MAX_PAGE)
            .clamp(1, MAX_PAGE)
    })
}

impl Chat {
    /// Validates a send request. `room` comes from the URL for HTTP requests and from
    /// the payload for socket events; the sender is `author` when someone is signed in
    /// (see [`Fields::sender`]).
    pub fn parse_send(
        &self,
        payload: Option<&Value>,
        room_from_path: Option<&str>,
        author: Option<&Identity>,
    ) -> Result<SendRequest, ChatError> {
        let fields = Fields::of(payload)?;
        let room = fields.room_or(room_from_path)?;
        let (sender, user) = fields.sender(author)?;
        let text = MessageText::parse(fields.string("text")?, self.limits().max_text_chars)?;
        Ok(SendRequest {
            mentions: self.mentions_in(&text, &room),
            room,
            sender,
            user,
            text,
            client_id: fields
                .optional_string("client_id")?
                .map(ClientId::parse)
                .transpose()?,
            reply_to: fields.optional_count("reply_to")?,
            files: Vec::new(),
        })
    }

    /// Who `text` mentions in `room`: `@room`, and `@username` of each active user who
    /// can read the room. Nobody in open mode, which has no users.
    pub fn mentions_in(&self, text: &MessageText, room: &RoomName) -> Vec<Username> {
        let Some(team) = &self.team else {
            return Vec::new();
        };
        mentioned_names(text.as_str())
            .into_iter()
            .filter(|name| name.as_str() == MENTION_ROOM || team.rooms.user_may_read(name, room))
            .collect()
    }

    /// Validates a search request, from an event's payload or an HTTP query.
    pub fn parse_search(&self, payload: Option<&Value>) -> Result<SearchRequest, ChatError> {
        let fields = Fields::of(payload)?;
        let q = fields.string("q")?.to_owned();
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(ChatError::BadPayload(format!(
                "q must be at most {MAX_QUERY_CHARS} characters"
            )));
        }
        let limit = fields
            .optional_count("limit")?
            .map_or(DEFAULT_RESULTS, |limit| {
                usize::try_from(limit)
                    .unwrap_or(MAX_RESULTS)
                    .clamp(1, MAX_RESULTS)
            });
        Ok(SearchRequest {
            query: SearchQuery {
                q,
                limit,
                before: fields.optional_count("before")?,
            },
            room: fields
                .optional_string("room")?
                .map(RoomName::parse)
                .transpose()?,
        })
    }

    /// Validates a history request, from an event's payload or an HTTP query.
    pub fn parse_history(
        &self,
        payload: Option<&Value>,
        room_from_path: Option<&str>,
    ) -> Result<HistoryRequest, ChatError> {
        let fields = Fields::of(payload)?;
        let room = fields.room_or(room_from_path)?;
        Ok(HistoryRequest {
            room,
            query: PageQuery {
                before: fields.optional_count("before")?,
                after: fields.optional_count("after")?,
                limit: page_limit(fields.optional_count("limit")?),
            },
            since: fields.optional_count("since")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn page_limits_are_capped() {
        assert_eq!(page_limit(None), DEFAULT_PAGE);
        assert_eq!(page_limit(Some(0)), 1);
        assert_eq!(page_limit(Some(20)), 20);
        assert_eq!(page_limit(Some(10_000)), MAX_PAGE);
        assert_eq!(page_limit(Some(u64::MAX)), MAX_PAGE);
    }

    #[test]
    fn fields_name_what_is_wrong() {
        let payload = json!({"room": 5, "flag": "yes", "n": -1});
        let fields = Fields::of(Some(&payload)).unwrap();
        assert_eq!(
            fields.string("room").unwrap_err().to_string(),
            "room must be a string"
        );
        assert_eq!(
            fields.string("sender").unwrap_err().to_string(),
            "sender is required"
        );
        assert_eq!(
            fields.optional_bool("flag").unwrap_err().to_string(),
            "flag must be true or false"
        );
        assert_eq!(fields.optional_bool("missing").unwrap(), None);
        assert_eq!(
            fields.optional_count("n").unwrap_err().to_string(),
            "n must be a non-negative integer"
        );
        assert_eq!(fields.optional_count("missing").unwrap(), None);
        assert!(Fields::of(Some(&json!(["not", "an", "object"]))).is_err());
        assert!(Fields::of(None).is_err());
    }

    #[test]
    fn the_url_room_wins_over_the_payload() {
        let payload = json!({"room": "from-payload"});
        let fields = Fields::of(Some(&payload)).unwrap();
        assert_eq!(
            fields.room_or(Some("from-url")).unwrap().as_str(),
            "from-url"
        );
        assert_eq!(fields.room_or(None).unwrap().as_str(), "from-payload");
    }

    #[test]
    fn a_signed_in_author_replaces_the_payload_sender() {
        use crate::accounts::{CredentialKey, Role, SecretHash};
        use crate::model::DisplayName;

        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(crate::store::Store::open(dir.path()).unwrap());
        let search =
            std::sync::Arc::new(crate::search::Search::open(dir.path(), store.clone()).unwrap());
        let files = std::sync::Arc::new(
            crate::files::Files::open(dir.path(), &store, crate::files::DEFAULT_MAX_UPLOAD)
                .unwrap(),
        );
        let chat = Chat::new(
            store,
            search,
            files,
            crate::chat::ChatLimits::default(),
            None,
        );
        let author = Identity {
            username: Username::parse("ann").unwrap(),
            name: DisplayName::parse("Ann Lee").unwrap(),
            role: Role::Member,
            credential: CredentialKey::Token(SecretHash::of("token")),
        };
        let payload = json!({"text": "hi", "sender": 42});
        let request = chat
            .parse_send(Some(&payload), Some("r"), Some(&author))
            .unwrap();
        assert_eq!(request.sender.as_str(), "Ann Lee");
        assert_eq!(request.user, Some(author.username));
        let error = chat
            .parse_send(Some(&payload), Some("r"), None)
            .unwrap_err();
        assert_eq!(error.to_string(), "sender must be a string");
        let open = chat
            .parse_send(
                Some(&json!({"text": "hi", "sender": "bob"})),
                Some("r"),
                None,
            )
            .unwrap();
        assert_eq!((open.sender.as_str(), open.user), ("bob", None));
    }
}
