//! What one connection may do: the text and room limits, and rate limiting with a
//! token bucket per socket, refilled continuously, that also notices a client ignoring
//! its refusals.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use crate::model::DEFAULT_MAX_TEXT_CHARS;

/// What one client may do.
#[derive(Debug, Clone)]
pub struct ChatLimits {
    pub max_text_chars: usize,
    /// Rooms one connection may be in at once.
    pub max_rooms_per_socket: usize,
    /// Events per second per connection, and the burst allowed; None for no limit.
    pub rate: Option<(u32, u32)>,
}

impl Default for ChatLimits {
    fn default() -> Self {
        ChatLimits {
            max_text_chars: DEFAULT_MAX_TEXT_CHARS,
            max_rooms_per_socket: 100,
            rate: None,
        }
    }
}

/// The token buckets of connected sockets, by socket id (kept only when rate limited).
#[derive(Default)]
pub(super) struct SocketBuckets(Mutex<HashMap<String, TokenBucket>>);

impl SocketBuckets {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, TokenBucket>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the socket may make one more request now, under `rate` (per second,
    /// burst); no rate means no limit.
    pub(super) fn admit(&self, socket_id: &str, rate: Option<(u32, u32)>) -> Admission {
        let Some((per_second, burst)) = rate else {
            return Admission::Allowed;
        };
        let now = Instant::now();
        self.lock()
            .entry(socket_id.to_owned())
            .or_insert_with(|| TokenBucket::new(per_second, burst, now))
            .take(now)
    }

    /// Forgets a socket that disconnected.
    pub(super) fn remove(&self, socket_id: &str) {
        self.lock().remove(socket_id);
    }
}

/// Refusals in a row, in bursts, after which a client counts as flooding.
const FLOOD_BURSTS: f64 = 4.0;

/// What the bucket says about one more event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Allowed,
    Refused,
    /// Refused, and the client went on sending several bursts' worth after being
    /// refused: answering each one would let it keep the server busy.
    Flooding,
}

/// Allows `per_second` events on average and bursts of up to `burst`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    per_second: f64,
    burst: f64,
    tokens: f64,
    refilled_at: Instant,
    refused_in_a_row: f64,
}

impl TokenBucket {
    /// A full bucket. `burst` below 1 still lets single events through.
    pub fn new(per_second: u32, burst: u32, now: Instant) -> TokenBucket {
        let burst = f64::from(burst.max(1));
        TokenBucket {
            per_second: f64::from(per_second),
            burst,
            tokens: burst,
            refilled_at: now,
            refused_in_a_row: 0.0,
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now: Instant) -> Admission {
        let elapsed = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        self.refilled_at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.refused_in_a_row = 0.0;
            return Admission::Allowed;
        }
        self.refused_in_a_row += 1.0;
        if self.refused_in_a_row > FLOOD_BURSTS * self.burst {
            Admission::Flooding
        } else {
            Admission::Refused
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// What the bucket answers to one event at each of `at_ms` after `start`.
    fn answers(bucket: &mut TokenBucket, start: Instant, at_ms: &[u64]) -> Vec<Admission> {
        at_ms
            .iter()
            .map(|ms| bucket.take(start + Duration::from_millis(*ms)))
            .collect()
    }

    #[test]
    fn allows_a_burst_then_the_sustained_rate() {
        use Admission::{Allowed, Refused};
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, 3, start);
        // 10 per second: after the burst of 3, one more token after 100 ms, not before.
        assert_eq!(
            answers(&mut bucket, start, &[0, 0, 0, 0, 50, 101, 102]),
            [
                Allowed, Allowed, Allowed, Refused, Refused, Allowed, Refused
            ]
        );
    }

    #[test]
    fn a_client_that_ignores_refusals_is_flooding() {
        use Admission::{Allowed, Flooding, Refused};
        let start = Instant::now();
        let mut bucket = TokenBucket::new(1, 2, start);
        let mut expected = vec![Allowed, Allowed];
        expected.extend([Refused; 8]);
        expected.push(Flooding);
        // Waiting for a token forgives it.
        expected.extend([Allowed, Allowed, Refused]);
        let mut at_ms = vec![0; 11];
        at_ms.extend([2000; 3]);
        assert_eq!(answers(&mut bucket, start, &at_ms), expected);
    }

    #[test]
    fn never_holds_more_than_the_burst() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(1000, 2, start);
        let later = start + Duration::from_secs(60);
        assert_eq!(bucket.take(later), Admission::Allowed);
        assert_eq!(bucket.take(later), Admission::Allowed);
        assert_eq!(bucket.take(later), Admission::Refused);
    }
}
