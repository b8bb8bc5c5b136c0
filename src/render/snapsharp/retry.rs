//! When to try a failed request again: exponential backoff with full jitter, unless the
//! server said when, in `Retry-After` (seconds or an HTTP date).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// No wait between attempts is longer than this, however many attempts failed.
pub const BACKOFF_CAP: Duration = Duration::from_secs(30);

/// Exponential backoff (`base`, ×2 per failure, at most [`BACKOFF_CAP`]) with full
/// jitter: the wait is drawn uniformly below that ceiling, so workers that failed together
/// do not come back together.
#[derive(Debug)]
pub struct Backoff {
    base: Duration,
    /// xorshift64 state; jitter needs spread, not cryptographic quality.
    rng: AtomicU64,
}

impl Backoff {
    pub fn new(base: Duration) -> Backoff {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15);
        Backoff {
            base,
            rng: AtomicU64::new(nanos | 1),
        }
    }

    pub fn base(&self) -> Duration {
        self.base
    }

    /// The longest wait after `failures` failed attempts (from 1).
    pub fn ceiling(&self, failures: u32) -> Duration {
        let factor = 1u32 << failures.saturating_sub(1).min(20);
        self.base.saturating_mul(factor).min(BACKOFF_CAP)
    }

    /// The wait after `failures` failed attempts: uniform in `[0, ceiling]`.
    pub fn delay(&self, failures: u32) -> Duration {
        self.ceiling(failures).mul_f64(self.unit())
    }

    /// A number in `[0, 1]`.
    fn unit(&self) -> f64 {
        let step = |mut x: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let previous = self
            .rng
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |x| Some(step(x)))
            .unwrap_or(1);
        (step(previous) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// How long `Retry-After` asks to wait: delay-seconds or an IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`); a date in the past is no wait. `None` when the value
/// is neither, so the caller falls back to its own backoff.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse().ok().map(Duration::from_secs);
    }
    let date = parse_http_date(value)?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// An IMF-fixdate, the only form servers are allowed to send (RFC 9110 §5.6.7).
fn parse_http_date(value: &str) -> Option<SystemTime> {
    let fields: Vec<&str> = value.split_whitespace().collect();
    let [weekday, day, month, year, time, "GMT"] = fields[..] else {
        return None;
    };
    if !weekday.ends_with(',') {
        return None;
    }
    let day: u32 = day.parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == month)? as u32
        + 1;
    let year: i64 = year.parse().ok()?;
    let mut hms = time.split(':').map(|n| n.parse::<u64>().ok());
    let (Some(Some(h)), Some(Some(m)), Some(Some(s)), None) =
        (hms.next(), hms.next(), hms.next(), hms.next())
    else {
        return None;
    };
    if !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = u64::try_from(days).ok()? * 86_400 + h * 3600 + m * 60 + s;
    Some(UNIX_EPOCH + Duration::from_secs(seconds))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitters_below_the_ceiling() {
        let backoff = Backoff::new(Duration::from_millis(500));
        let ceilings: Vec<u64> = (1..=8)
            .map(|n| backoff.ceiling(n).as_millis() as u64)
            .collect();
        assert_eq!(ceilings, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
        assert_eq!(backoff.ceiling(1000), BACKOFF_CAP);
        let delays: Vec<Duration> = (0..200).map(|_| backoff.delay(3)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(2)));
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(distinct.len() > 150, "jitter should spread the waits");
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        let cases = [
            ("1", Some(1)),
            (" 120 ", Some(120)),
            ("Sun, 06 Nov 1994 08:49:37 GMT", Some(0)),
            ("Sun, 06 Nov 1994 08:50:07 GMT", Some(30)),
            ("Mon, 07 Nov 1994 08:49:37 GMT", Some(86_400)),
            ("Sat, 05 Nov 1994 08:49:37 GMT", Some(0)),
            ("-5", None),
            ("1.5", None),
            ("soon", None),
            ("Sunday, 06-Nov-94 08:49:37 GMT", None),
            ("Sun, 06 Nov 1994 08:49:37 CET", None),
            ("", None),
        ];
        for (value, want) in cases {
            assert_eq!(
                parse_retry_after(value, now),
                want.map(Duration::from_secs),
                "{value:?}"
            );
        }
    }

    #[test]
    fn http_dates_match_unix_time() {
        let cases = [
            ("Thu, 01 Jan 1970 00:00:00 GMT", 0),
            ("Tue, 29 Feb 2000 12:00:00 GMT", 951_825_600),
            ("Wed, 21 Oct 2015 07:28:00 GMT", 1_445_412_480),
        ];
        for (text, unix) in cases {
            assert_eq!(
                parse_http_date(text),
                Some(UNIX_EPOCH + Duration::from_secs(unix)),
                "{text}"
            );
        }
    }
}
