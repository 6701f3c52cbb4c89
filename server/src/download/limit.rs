//! The global download rate limit (`MODELS_DOWNLOAD_LIMIT`), shared by every connection of
//! every job: each received chunk books its share of time on one schedule, and the connection
//! waits until that time comes (a virtual-clock token bucket with a small burst). The rate can
//! change at any time (the download settings): waiting connections book again at the new rate.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
    time::{Duration, Instant},
};

/// How far the schedule may run behind the clock: absorbs timer granularity and short stalls
/// (a disk sync) without letting the average drift.
const BURST: Duration = Duration::from_millis(200);

pub struct RateLimit {
    /// Bytes per second; 0 = no limit.
    rate: AtomicU64,
    /// When the bytes booked so far are all due.
    next: Mutex<Option<Instant>>,
    /// Wakes waiting connections when the rate changes.
    changed: tokio::sync::Notify,
}

impl RateLimit {
    pub fn new(bytes_per_sec: u64) -> Self {
        Self {
            rate: AtomicU64::new(bytes_per_sec),
            next: Mutex::new(None),
            changed: tokio::sync::Notify::new(),
        }
    }

    pub fn rate(&self) -> u64 {
        self.rate.load(Ordering::Relaxed)
    }

    /// A new rate for every connection, running ones included: the schedule starts afresh
    /// and connections waiting on the old rate book again.
    pub fn set_rate(&self, bytes_per_sec: u64) {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        self.rate.store(bytes_per_sec, Ordering::Relaxed);
        *next = None;
        drop(next);
        self.changed.notify_waiters();
    }

    /// Books `n` bytes received now and returns how long to wait before receiving more.
    pub fn book(&self, n: u64, now: Instant) -> Duration {
        let rate = self.rate.load(Ordering::Relaxed);
        if rate == 0 {
            return Duration::ZERO;
        }
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        // Idle time is not saved up: the schedule restarts at `now` (minus the burst).
        let start = next.map_or(now, |t| t.max(now.checked_sub(BURST).unwrap_or(now)));
        let due = start + Duration::from_secs_f64(n as f64 / rate as f64);
        *next = Some(due);
        due.saturating_duration_since(now + BURST)
    }

    /// Waits as `book` says (without blocking the runtime); books again if the rate changes
    /// meanwhile.
    pub async fn take(&self, n: u64) {
        loop {
            let changed = self.changed.notified();
            let wait = self.book(n, Instant::now());
            if wait.is_zero() {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => return,
                _ = changed => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_spread_at_the_rate_whoever_receives_them() {
        let limit = RateLimit::new(1000);
        let t0 = Instant::now();
        // Two connections receive 500 bytes each at the same instant: one second's worth.
        assert_eq!(limit.book(500, t0), Duration::from_millis(300));
        assert_eq!(limit.book(500, t0), Duration::from_millis(800));
        // Later, after idling past the schedule, the next chunk is not owed any wait...
        let later = t0 + Duration::from_secs(5);
        assert_eq!(limit.book(10, later), Duration::ZERO);
        // ...and idle time is not a credit beyond the burst: 1000 more bytes take most of a
        // second.
        assert!(limit.book(1000, later) >= Duration::from_secs(1) - 2 * BURST);
    }

    #[tokio::test]
    async fn a_new_rate_reaches_connections_already_waiting() {
        let limit = std::sync::Arc::new(RateLimit::new(1000));
        // A minute's worth booked at 1000 B/s...
        limit.book(60_000, Instant::now());
        let waiting = tokio::spawn({
            let limit = limit.clone();
            async move { limit.take(1000).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        // ...then no limit: the waiting connection goes on at once.
        limit.set_rate(0);
        tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(limit.rate(), 0);
    }

    #[test]
    fn zero_is_no_limit() {
        let limit = RateLimit::new(0);
        assert_eq!(limit.book(1 << 40, Instant::now()), Duration::ZERO);
    }
}
