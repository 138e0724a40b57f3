//! The one retry policy every destination shares: exponential backoff from 1 s with jitter,
//! capped, until the stream's `retry_duration` has passed since the first attempt.

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
    deadline: Instant,
    next: Duration,
    attempts: u32,
}

impl Backoff {
    /// Starts counting now; retries stop `retry_duration` from now.
    pub fn start(retry_duration: Duration) -> Backoff {
        Backoff {
            deadline: Instant::now() + retry_duration,
            next: INITIAL,
            attempts: 0,
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
        (Instant::now() + delay <= self.deadline).then_some(delay)
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
    async fn zero_retry_duration_means_a_single_attempt() {
        let mut b = Backoff::start(Duration::ZERO);
        assert_eq!(b.next_delay(), None);
    }
}
