//! What one client may do: the text and room limits, rate limiting with a token
//! bucket per socket (and per address for the HTTP API), refilled continuously, that
//! also notices a client ignoring its refusals, and a cap on one socket's sends
//! waiting for their commit, so that no single client can fill the store's queue and
//! get others refused.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use crate::accounts::Identity;
use crate::model::DEFAULT_MAX_TEXT_CHARS;

/// What one client may do.
#[derive(Debug, Clone)]
pub struct ChatLimits {
    pub max_text_chars: usize,
    /// Rooms one connection may be in at once.
    pub max_rooms_per_socket: usize,
    /// Events per second per connection (and HTTP requests per second per address),
    /// and the burst allowed; None for no limit.
    pub rate: Option<(u32, u32)>,
    /// Sends of one connection that may wait for their commit at once.
    pub max_in_flight: usize,
}

/// The default rate: no person typing meets it (the page sends one event per message
/// and at most one `typing` per second), every flood does.
pub const DEFAULT_RATE_PER_SECOND: u32 = 20;
/// The default burst, as a multiple of the rate: a reconnecting page joins each of its
/// rooms (up to `max_rooms_per_socket`, 100) and resends its outbox at once.
pub const DEFAULT_BURST_PER_RATE: u32 = 10;

impl Default for ChatLimits {
    fn default() -> Self {
        ChatLimits {
            max_text_chars: DEFAULT_MAX_TEXT_CHARS,
            max_rooms_per_socket: 100,
            rate: Some((
                DEFAULT_RATE_PER_SECOND,
                DEFAULT_RATE_PER_SECOND * DEFAULT_BURST_PER_RATE,
            )),
            // Twice the 32 a benchmark client keeps in flight; a page has one or two.
            max_in_flight: 64,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What the chat keeps per socket (in [`crate::socketio::Socket::state`]).
pub(super) struct Connection {
    /// Who connected, in accounts mode; None in open mode.
    pub(super) identity: Option<Identity>,
    /// None when there is no rate limit.
    bucket: Option<Mutex<TokenBucket>>,
    in_flight: AtomicUsize,
}

impl Connection {
    pub(super) fn new(rate: Option<(u32, u32)>, identity: Option<Identity>) -> Arc<Connection> {
        let now = Instant::now();
        Arc::new(Connection {
            identity,
            bucket: rate
                .map(|(per_second, burst)| Mutex::new(TokenBucket::new(per_second, burst, now))),
            in_flight: AtomicUsize::new(0),
        })
    }

    /// Whether the socket may make one more request now.
    pub(super) fn admit(&self) -> Admission {
        match &self.bucket {
            None => Admission::Allowed,
            Some(bucket) => lock(bucket).take(Instant::now()),
        }
    }

    /// A slot for one more send waiting for its commit, released when dropped; None
    /// when `max` are waiting already.
    pub(super) fn begin_send(self: &Arc<Self>, max: usize) -> Option<SendSlot> {
        self.in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |waiting| {
                (waiting < max).then_some(waiting + 1)
            })
            .ok()
            .map(|_| SendSlot(self.clone()))
    }
}

/// One send of a connection waiting for its commit.
pub(super) struct SendSlot(Arc<Connection>);

impl Drop for SendSlot {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Token buckets of HTTP API clients, by address. Buckets that have refilled are
/// forgotten once there are many, so the map stays as small as the set of clients
/// that sent something lately.
#[derive(Default)]
pub(super) struct ClientBuckets {
    buckets: Mutex<HashMap<IpAddr, TokenBucket>>,
}

/// Addresses kept before refilled buckets are swept out.
const CLIENT_BUCKETS_SWEEP_AT: usize = 4096;

impl ClientBuckets {
    pub(super) fn admit(&self, client: IpAddr, rate: Option<(u32, u32)>) -> Admission {
        let Some((per_second, burst)) = rate else {
            return Admission::Allowed;
        };
        let now = Instant::now();
        let mut buckets = lock(&self.buckets);
        if buckets.len() >= CLIENT_BUCKETS_SWEEP_AT && !buckets.contains_key(&client) {
            buckets.retain(|_, bucket| !bucket.is_full(now));
        }
        buckets
            .entry(client)
            .or_insert_with(|| TokenBucket::new(per_second, burst, now))
            .take(now)
    }
}

/// Refusals, in bursts, after which a client that has not backed off counts as
/// flooding.
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
pub(super) struct TokenBucket {
    per_second: f64,
    burst: f64,
    tokens: f64,
    refilled_at: Instant,
    /// Refusals since the client last backed off (let its bucket refill to half).
    /// An occasional token earned mid-flood does not forgive it: the flood would then
    /// never be noticed at high rates.
    refused_since_backoff: f64,
}

impl TokenBucket {
    /// A full bucket. `burst` below 1 still lets single events through.
    pub(super) fn new(per_second: u32, burst: u32, now: Instant) -> TokenBucket {
        let burst = f64::from(burst.max(1));
        TokenBucket {
            per_second: f64::from(per_second),
            burst,
            tokens: burst,
            refilled_at: now,
            refused_since_backoff: 0.0,
        }
    }

    /// The tokens there are at `now`.
    fn tokens_at(&self, now: Instant) -> f64 {
        let elapsed = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        (self.tokens + elapsed * self.per_second).min(self.burst)
    }

    /// Whether the bucket has refilled: its client has been quiet long enough to be
    /// forgotten without giving it more than a new bucket would.
    fn is_full(&self, now: Instant) -> bool {
        self.tokens_at(now) >= self.burst
    }

    /// Takes one token if there is one.
    pub(super) fn take(&mut self, now: Instant) -> Admission {
        self.tokens = self.tokens_at(now);
        self.refilled_at = now;
        if self.tokens >= self.burst / 2.0 {
            self.refused_since_backoff = 0.0;
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Admission::Allowed;
        }
        self.refused_since_backoff += 1.0;
        if self.refused_since_backoff > FLOOD_BURSTS * self.burst {
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
    fn tokens_earned_mid_flood_do_not_forgive_it() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(100, 10, start);
        let mut flooding_at = None;
        // 1,000 events a second: a token every 10 ms is admitted in between.
        for n in 0..200u64 {
            let now = start + Duration::from_millis(n);
            if bucket.take(now) == Admission::Flooding {
                flooding_at = Some(n);
                break;
            }
        }
        let flooding_at = flooding_at.expect("a flood at 100 times the rate is noticed");
        // After the burst of 10 and 40 refusals, with the tokens earned meanwhile.
        assert!(
            (50..60).contains(&flooding_at),
            "noticed after {flooding_at} events"
        );
    }

    #[test]
    fn a_connection_has_at_most_max_sends_waiting() {
        let connection = Connection::new(None, None);
        let first = connection.begin_send(2).unwrap();
        let _second = connection.begin_send(2).unwrap();
        assert!(connection.begin_send(2).is_none());
        drop(first);
        assert!(connection.begin_send(2).is_some());
    }

    #[test]
    fn http_clients_are_limited_each_on_their_own() {
        let clients = ClientBuckets::default();
        let one: IpAddr = [10, 0, 0, 1].into();
        let other: IpAddr = [10, 0, 0, 2].into();
        assert_eq!(clients.admit(one, Some((1, 1))), Admission::Allowed);
        assert_eq!(clients.admit(one, Some((1, 1))), Admission::Refused);
        assert_eq!(clients.admit(other, Some((1, 1))), Admission::Allowed);
        assert_eq!(clients.admit(one, None), Admission::Allowed);
    }

    #[test]
    fn a_bucket_is_full_again_after_its_refill_time() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, 2, start);
        assert!(bucket.is_full(start));
        bucket.take(start);
        assert!(!bucket.is_full(start + Duration::from_millis(50)));
        assert!(bucket.is_full(start + Duration::from_millis(100)));
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
