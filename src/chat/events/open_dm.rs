//! `open_dm` {users}: the direct conversation of the author and `users` (2–8 people in
//! all), created the first time; the ack carries the room.

use std::sync::Arc;

use serde_json::Value;

use super::{ChatEvent, Reply, answer_change, signed_in};
use crate::accounts::Identity;
use crate::chat::request::Fields;
use crate::chat::{Chat, ChatError};
use crate::model::Username;
use crate::rooms::MAX_DIRECT_PEOPLE;
use crate::socketio::Socket;

pub(super) struct OpenDm {
    who: Identity,
    users: Vec<Username>,
}

impl ChatEvent for OpenDm {
    const NAME: &'static str = "open_dm";

    fn parse(
        chat: &Chat,
        author: Option<&Identity>,
        payload: Option<&Value>,
    ) -> Result<Self, ChatError> {
        let who = signed_in(chat, author)?;
        let users = Fields::of(payload)?.usernames("users", MAX_DIRECT_PEOPLE)?;
        Ok(OpenDm { who, users })
    }

    fn apply(self, chat: &Arc<Chat>, socket: &Arc<Socket>, reply: Reply) {
        let change = chat
            .team()
            .and_then(|team| Ok(team.rooms.open_direct(&self.who, self.users)?));
        answer_change(chat, socket, &self.who, change, reply);
    }
}
