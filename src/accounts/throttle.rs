//! Failed sign-ins by client address: after 10 failures from one address within 3
//! minutes, its further sign-ins are refused (`rate_limited`) without looking at the
//! password, until the oldest of those failures is 3 minutes old. Ten guesses per
//! three minutes make guessing a password by trying hopeless, while a person who
//! mistypes a few times is never held up. IPv6 addresses count per /64, the block one
//! machine usually has to itself.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::AccountsError;

const MAX_FAILURES: usize = 10;
const WINDOW: Duration = Duration::from_secs(180);
/// Addresses tracked before the ones with only old failures are forgotten, so that
/// failures from many addresses cannot grow the table without bound.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Default)]
pub(super) struct SignInThrottle {
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl SignInThrottle {
    /// Whether `client` may try to sign in now.
    pub(super) fn check(&self, client: IpAddr, now: Instant) -> Result<(), AccountsError> {
        let mut failures = self.lock();
        let Some(recent) = failures.get_mut(&bucket(client)) else {
            return Ok(());
        };
        forget_old(recent, now);
        if recent.len() >= MAX_FAILURES {
            return Err(AccountsError::TooManyFailures);
        }
        Ok(())
    }

    pub(super) fn record_failure(&self, client: IpAddr, now: Instant) {
        let mut failures = self.lock();
        if failures.len() > PRUNE_ABOVE {
            failures.retain(|_, recent| {
                forget_old(recent, now);
                !recent.is_empty()
            });
        }
        let recent = failures.entry(bucket(client)).or_default();
        forget_old(recent, now);
        recent.push_back(now);
        // Only the last MAX_FAILURES matter for the decision.
        if recent.len() > MAX_FAILURES {
            recent.pop_front();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, VecDeque<Instant>>> {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn forget_old(recent: &mut VecDeque<Instant>, now: Instant) {
    while recent
        .front()
        .is_some_and(|failed| now.duration_since(*failed) >= WINDOW)
    {
        recent.pop_front();
    }
}

/// The address failures are counted under: IPv4 as it is, IPv6 by its /64.
fn bucket(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V4(_) => client,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let segments = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(
                    segments[0],
                    segments[1],
                    segments[2],
                    segments[3],
                    0,
                    0,
                    0,
                    0,
                ))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eleventh_try_within_three_minutes_is_refused() {
        let throttle = SignInThrottle::default();
        let client: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let start = Instant::now();
        for second in 0..10 {
            let now = start + Duration::from_secs(second);
            assert!(throttle.check(client, now).is_ok(), "try {second}");
            throttle.record_failure(client, now);
        }
        let later = start + Duration::from_secs(10);
        assert!(matches!(
            throttle.check(client, later),
            Err(AccountsError::TooManyFailures)
        ));
        assert!(throttle.check(other, later).is_ok());
        // Once the first failure is three minutes old, one more try is allowed.
        assert!(throttle.check(client, start + WINDOW).is_ok());
    }

    #[test]
    fn ipv6_addresses_count_per_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let elsewhere: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(bucket(a), bucket(b));
        assert_ne!(bucket(a), bucket(elsewhere));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(bucket(mapped), "192.0.2.1".parse::<IpAddr>().unwrap());
    }
}
