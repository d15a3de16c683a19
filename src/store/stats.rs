//! Counters the store keeps as it works, which readers (`/metrics`, the benchmark) read
//! without asking the writer thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

/// Upper bounds (µs) of the flush latency histogram buckets; one more bucket is +Inf.
pub const FLUSH_BUCKETS_US: [u64; 8] = [50, 100, 250, 500, 1000, 2500, 5000, 10_000];
const BUCKET_COUNT: usize = FLUSH_BUCKETS_US.len() + 1;

/// Group-commit counters since open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStatsSnapshot {
    /// Flushes that made at least one message durable.
    pub flushes: u64,
    pub messages_written: u64,
    pub flush_micros_total: u64,
    /// Per-bucket (not cumulative) counts for [`FLUSH_BUCKETS_US`], then +Inf.
    pub flush_buckets: [u64; BUCKET_COUNT],
}

#[derive(Default)]
pub(super) struct StoreStats {
    flushes: AtomicU64,
    messages_written: AtomicU64,
    flush_micros_total: AtomicU64,
    flush_buckets: [AtomicU64; BUCKET_COUNT],
}

impl StoreStats {
    pub(super) fn record(&self, messages: u64, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let bucket = FLUSH_BUCKETS_US
            .iter()
            .position(|&bound| micros <= bound)
            .unwrap_or(FLUSH_BUCKETS_US.len());
        // Relaxed is enough: these are independent counters read for metrics only.
        self.flushes.fetch_add(1, Ordering::Relaxed);
        self.messages_written.fetch_add(messages, Ordering::Relaxed);
        self.flush_micros_total.fetch_add(micros, Ordering::Relaxed);
        self.flush_buckets[bucket].fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn snapshot(&self) -> StoreStatsSnapshot {
        StoreStatsSnapshot {
            flushes: self.flushes.load(Ordering::Relaxed),
            messages_written: self.messages_written.load(Ordering::Relaxed),
            flush_micros_total: self.flush_micros_total.load(Ordering::Relaxed),
            flush_buckets: std::array::from_fn(|i| self.flush_buckets[i].load(Ordering::Relaxed)),
        }
    }
}

/// State the writer updates and readers of the store look at without asking it.
#[derive(Default)]
pub(super) struct Shared {
    pub(super) count: AtomicU64,
    /// Held (written) by the writer while it inserts a batch, so that a reader
    /// holding it (read) sees sled between two batches, never in the middle of one.
    batch_gate: RwLock<()>,
    pub(super) stats: StoreStats,
}

impl Shared {
    /// Holds the writer off until dropped.
    pub(super) fn hold_writer_off(&self) -> RwLockReadGuard<'_, ()> {
        self.batch_gate
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Holds readers of changes off while a batch goes into sled.
    pub(super) fn hold_readers_off(&self) -> RwLockWriteGuard<'_, ()> {
        self.batch_gate
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_flush_lands_in_the_first_bucket_that_holds_it() {
        let stats = StoreStats::default();
        stats.record(3, Duration::from_micros(100));
        stats.record(1, Duration::from_micros(101));
        stats.record(2, Duration::from_secs(1));
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.flushes, 3);
        assert_eq!(snapshot.messages_written, 6);
        assert_eq!(snapshot.flush_micros_total, 1_000_201);
        assert_eq!(snapshot.flush_buckets, [0, 1, 1, 0, 0, 0, 0, 0, 1]);
    }
}
