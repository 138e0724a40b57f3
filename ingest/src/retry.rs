//! The one retry policy of ingest: exponential backoff from 1 s with jitter, capped at 30 s.
//! Deliveries retry until the stream's `retry_duration` has passed since the first attempt
//! ([`Backoff::start`]); work that must never give up — an index commit, writing the error
//! output, whose records stay in the write-ahead log meanwhile — retries with the same delays
//! and no deadline ([`Backoff::forever`]).

use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

/// First delay.
pub const INITIAL: Duration = Duration::from_secs(1);
/// Longest delay between two attempts.
pub const CAP: Duration = Duration::from_secs(30);

/// Backoff state for one delivery (a batch, or what remains of it).
#[derive(Debug)]
pub struct Backoff {
    /// How long retries may go on after the last progress (`None`: forever).
    window: Option<Duration>,
    deadline: Option<Instant>,
    next: Duration,
    attempts: u32,
}

impl Backoff {
    /// Starts counting now; retries stop `retry_duration` from now.
    pub fn start(retry_duration: Duration) -> Backoff {
        Backoff {
            window: Some(retry_duration),
            deadline: Some(Instant::now() + retry_duration),
            next: INITIAL,
            attempts: 0,
        }
    }

    /// The same delays with no deadline: [`next_delay`](Self::next_delay) never gives up.
    pub fn forever() -> Backoff {
        Backoff {
            window: None,
            deadline: None,
            next: INITIAL,
            attempts: 0,
        }
    }

    /// Starts the delays over (after a success).
    pub fn reset(&mut self) {
        self.next = INITIAL;
        self.attempts = 0;
    }

    /// The last attempt delivered some records although others must be retried (a cluster
    /// throttling part of each request): the destination is working, so the delays start
    /// over from 1 s and the retry window from now, rather than growing to 30 s and running
    /// the rest of the batch out of time while it is being delivered.
    pub fn progressed(&mut self) {
        self.next = INITIAL;
        if let Some(window) = self.window {
            self.deadline = Some(Instant::now() + window);
        }
    }

    /// Attempts made so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Records an attempt.
    pub fn attempted(&mut self) {
        self.attempts += 1;
    }

    /// The wait before the next attempt, or `None` when that attempt would start past the
    /// deadline (the records go to the error output instead).
    ///
    /// "Equal jitter": half the exponential delay is fixed, the other half random, so that
    /// many streams failing together do not retry in lockstep.
    pub fn next_delay(&mut self) -> Option<Duration> {
        let base = self.next;
        self.next = (self.next * 2).min(CAP);
        let half = base / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis() as u64);
        let delay = half + Duration::from_millis(jitter);
        match self.deadline {
            Some(deadline) => (Instant::now() + delay <= deadline).then_some(delay),
            None => Some(delay),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn delays_grow_from_one_second_to_the_cap_with_jitter() {
        let mut b = Backoff::start(Duration::from_secs(3600));
        let mut bases = Vec::new();
        for _ in 0..8 {
            let d = b.next_delay().unwrap();
            bases.push(d);
        }
        // Each delay lies in [base/2, base] for base = 1, 2, 4, 8, 16, 30, 30, 30 s.
        let expected = [1, 2, 4, 8, 16, 30, 30, 30];
        for (d, base) in bases.iter().zip(expected) {
            let base = Duration::from_secs(base);
            assert!(*d >= base / 2 && *d <= base, "{d:?} for base {base:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn no_retry_past_the_retry_duration() {
        let mut b = Backoff::start(Duration::from_secs(5));
        let mut waited = Duration::ZERO;
        while let Some(d) = b.next_delay() {
            tokio::time::sleep(d).await;
            waited += d;
        }
        assert!(waited <= Duration::from_secs(5), "{waited:?}");
        assert!(waited >= Duration::from_millis(1500), "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn forever_keeps_the_capped_delays_and_reset_starts_over() {
        let mut b = Backoff::forever();
        for _ in 0..100 {
            let d = b.next_delay().unwrap();
            tokio::time::sleep(d).await;
        }
        let d = b.next_delay().unwrap();
        assert!(d >= CAP / 2 && d <= CAP, "{d:?}");
        b.reset();
        let d = b.next_delay().unwrap();
        assert!(d >= INITIAL / 2 && d <= INITIAL, "{d:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn progress_starts_the_delays_and_the_window_over() {
        let mut b = Backoff::start(Duration::from_secs(10));
        for _ in 0..3 {
            let d = b.next_delay().unwrap();
            tokio::time::sleep(d).await;
        }
        // 3 retries in: the next delay would be 4-8 s, and 10 s is nearly used up.
        b.progressed();
        let d = b.next_delay().unwrap();
        assert!(d <= INITIAL, "{d:?}");
        // 7 s after the progress, the 10 s window still has room (it would not, counted from
        // the first attempt).
        tokio::time::sleep(Duration::from_secs(7)).await;
        assert!(
            b.next_delay().is_some(),
            "the window restarted at the progress"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn zero_retry_duration_means_a_single_attempt() {
        let mut b = Backoff::start(Duration::ZERO);
        assert_eq!(b.next_delay(), None);
    }
}
