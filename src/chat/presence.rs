//! Who is online: a user is while at least one of their sockets is connected, and for
//! [`OFFLINE_GRACE`] after the last one left, so that reloading a page does not show
//! them leaving and coming back.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::model::Username;

/// How long a user stays online after their last socket closed.
pub const OFFLINE_GRACE: Duration = Duration::from_secs(10);

#[derive(Default)]
pub struct Presence {
    online: Mutex<HashMap<Username, Sockets>>,
}

struct Sockets {
    connected: usize,
    /// Raised by every change, so that a pending departure can tell it was overtaken
    /// by a return.
    generation: u64,
}

/// A user's last socket left: they go offline when [`Presence::expire`] is called
/// with this after the grace, unless they came back meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Departure(u64);

impl Presence {
    /// A socket of `username` connected. True when that brings them online.
    pub fn connected(&self, username: &Username) -> bool {
        let mut online = self.lock();
        match online.get_mut(username) {
            Some(sockets) => {
                sockets.connected += 1;
                sockets.generation += 1;
                false
            }
            None => {
                online.insert(
                    username.clone(),
                    Sockets {
                        connected: 1,
                        generation: 0,
                    },
                );
                true
            }
        }
    }

    /// A socket of `username` closed; a [`Departure`] when it was their last.
    pub fn disconnected(&self, username: &Username) -> Option<Departure> {
        let mut online = self.lock();
        let sockets = online.get_mut(username)?;
        sockets.connected = sockets.connected.saturating_sub(1);
        sockets.generation += 1;
        (sockets.connected == 0).then_some(Departure(sockets.generation))
    }

    /// Ends a departure after the grace. True when `username` goes offline now.
    pub fn expire(&self, username: &Username, departure: Departure) -> bool {
        let mut online = self.lock();
        let gone = online
            .get(username)
            .is_some_and(|sockets| sockets.connected == 0 && sockets.generation == departure.0);
        if gone {
            online.remove(username);
        }
        gone
    }

    pub fn is_online(&self, username: &Username) -> bool {
        self.lock().contains_key(username)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Username, Sockets>> {
        self.online
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn online_while_any_socket_is_and_through_the_grace() {
        let presence = Presence::default();
        let ann = Username::parse("ann").unwrap();
        assert!(!presence.is_online(&ann));
        assert!(presence.connected(&ann));
        assert!(!presence.connected(&ann));
        assert_eq!(presence.disconnected(&ann), None);
        let departure = presence.disconnected(&ann).unwrap();
        assert!(presence.is_online(&ann), "still online during the grace");
        assert!(presence.expire(&ann, departure));
        assert!(!presence.is_online(&ann));
    }

    #[test]
    fn a_return_within_the_grace_cancels_the_departure() {
        let presence = Presence::default();
        let ann = Username::parse("ann").unwrap();
        presence.connected(&ann);
        let departure = presence.disconnected(&ann).unwrap();
        assert!(
            !presence.connected(&ann),
            "a reload does not come online again"
        );
        assert!(!presence.expire(&ann, departure));
        assert!(presence.is_online(&ann));
        let later = presence.disconnected(&ann).unwrap();
        assert!(presence.expire(&ann, later));
    }
}
