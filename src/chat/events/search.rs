//! `search` {q, room?, limit?, before?}: the messages the author may read that have
//! every word of `q` (the last also as a prefix), newest first, each with the words that
//! matched: {ok, results: [{message, highlights}]}.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{ChatEvent, Reply};
use crate::accounts::Identity;
use crate::chat::{Chat, ChatError, SearchRequest};
use crate::socketio::{Args, Socket};

pub(super) struct Search {
    author: Option<Identity>,
    request: SearchRequest,
}

impl ChatEvent for Search {
    const NAME: &'static str = "search";

    fn parse(
        chat: &Chat,
        author: Option<&Identity>,
        payload: Option<&Value>,
    ) -> Result<Self, ChatError> {
        Ok(Search {
            author: author.cloned(),
            request: chat.parse_search(payload)?,
        })
    }

    fn apply(self, chat: &Arc<Chat>, _socket: &Arc<Socket>, reply: Reply) {
        if !reply.is_wanted() {
            return;
        }
        let chat = chat.clone();
        tokio::spawn(async move {
            match chat.search(self.author.as_ref(), self.request).await {
                Ok(results) => reply.ok(Args::json(vec![json!({"ok": true, "results": results})])),
                Err(error) => reply.error(error),
            }
        });
    }
}
