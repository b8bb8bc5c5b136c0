//! Keeps request starts within the plan's limit (`rate_limit = "5/min"`), across every
//! worker thread of a build.
//!
//! Starts are spaced by at least `per / requests`, so no window of length `per` ever holds
//! more than `requests` starts. That gives up the plan's burst (five at once, then a
//! minute of nothing) for a steady pace, which is what a pool of workers wants anyway.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::RateLimit;

#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    slots: Mutex<Slots>,
}

#[derive(Debug, Default)]
struct Slots {
    /// The earliest start the next caller may get.
    next: Option<Instant>,
    /// No start before this (a 429's `Retry-After`).
    paused_until: Option<Instant>,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> RateLimiter {
        // Evenly spaced starts put the (n+1)-th start exactly one period after the first;
        // a server counting a closed window, or seeing arrivals a hair early, would call
        // that n+1 in one period. 1% more spacing keeps clear of the edge.
        let interval = limit.interval() + limit.interval() / 100;
        RateLimiter {
            interval,
            slots: Mutex::new(Slots::default()),
        }
    }

    /// The time between two starts.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Blocks until this caller may start a request. The first caller starts at once.
    pub fn acquire(&self) {
        loop {
            let start = {
                let mut slots = self.slots();
                let now = Instant::now();
                let start = [Some(now), slots.next, slots.paused_until]
                    .into_iter()
                    .flatten()
                    .max()
                    .unwrap_or(now);
                slots.next = Some(start + self.interval);
                start
            };
            std::thread::sleep(start.saturating_duration_since(Instant::now()));
            // A pause that came while this caller slept moves it behind the pause; the
            // slot it had is simply not used, which can only lower the rate.
            if self.slots().paused_until.is_none_or(|until| until <= start) {
                return;
            }
        }
    }

    /// No request starts before `until`, in any thread (callers already waiting too).
    pub fn pause_until(&self, until: Instant) {
        let mut slots = self.slots();
        slots.paused_until = slots.paused_until.max(Some(until));
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(rate: &str) -> RateLimiter {
        RateLimiter::new(rate.parse().unwrap())
    }

    /// Starts of `n` acquires made from `threads` threads, sorted.
    fn starts(limiter: &RateLimiter, threads: usize, n: usize) -> Vec<Instant> {
        let taken = std::sync::atomic::AtomicUsize::new(0);
        let starts = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    while taken.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < n {
                        limiter.acquire();
                        starts.lock().unwrap().push(Instant::now());
                    }
                });
            }
        });
        let mut starts = starts.into_inner().unwrap();
        starts.sort();
        starts
    }

    #[test]
    fn starts_are_spaced_by_the_interval_across_threads() {
        // 200 ms apart: far more than a busy machine takes to start a thread, so "at
        // once" and "one interval later" cannot be mistaken for each other.
        let limiter = limiter("5/s");
        let begin = Instant::now();
        let starts = starts(&limiter, 4, 4);
        assert_eq!(starts.len(), 4);
        // The first starts at once; the 4th no sooner than 3 intervals later.
        assert!(starts[0] - begin < Duration::from_millis(100));
        assert!(starts[3] - begin >= Duration::from_millis(600));
    }

    #[test]
    fn a_pause_holds_back_every_thread() {
        let limiter = limiter("1000/s");
        limiter.acquire();
        let begin = Instant::now();
        limiter.pause_until(begin + Duration::from_millis(100));
        let starts = starts(&limiter, 3, 3);
        assert!(
            starts
                .iter()
                .all(|t| *t - begin >= Duration::from_millis(100))
        );
    }

    #[test]
    fn an_earlier_pause_does_not_shorten_a_later_one() {
        let limiter = limiter("1000/s");
        let begin = Instant::now();
        limiter.pause_until(begin + Duration::from_millis(80));
        limiter.pause_until(begin + Duration::from_millis(10));
        limiter.acquire();
        assert!(begin.elapsed() >= Duration::from_millis(80));
    }
}
