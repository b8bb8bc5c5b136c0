//! The plan's limit the fake enforces, written as ogforge's `[snapsharp] rate_limit` is
//! ("5/min", "2/s", "1000/hour"). The fake keeps its own small copy so that it does not
//! depend on ogforge, which lists the fake as a dev-dependency.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// At most `requests` request starts in any window of `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub per: Duration,
}

impl FromStr for RateLimit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad =
            || format!("`{s}` is not a rate; write it like \"5/min\", \"2/s\" or \"1000/hour\"");
        let (count, unit) = s.split_once('/').ok_or_else(bad)?;
        let requests: u32 = count.trim().parse().map_err(|_| bad())?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            "d" | "day" => Duration::from_secs(86400),
            _ => return Err(bad()),
        };
        if requests == 0 {
            return Err(format!(
                "`{s}` allows no request at all; the count must be 1 or more"
            ));
        }
        Ok(RateLimit { requests, per })
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.per.as_secs() {
            1 => write!(f, "{}/s", self.requests),
            60 => write!(f, "{}/min", self.requests),
            3600 => write!(f, "{}/hour", self.requests),
            86400 => write!(f, "{}/day", self.requests),
            _ => write!(f, "{} per {:?}", self.requests, self.per),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_as_ogforge_writes_them() {
        for (text, requests, secs) in [("5/min", 5, 60), ("2/s", 2, 1), ("1000/hour", 1000, 3600)] {
            let limit: RateLimit = text.parse().unwrap();
            assert_eq!(
                (limit.requests, limit.per),
                (requests, Duration::from_secs(secs))
            );
            assert_eq!(limit.to_string(), text);
        }
    }

    #[test]
    fn a_bad_rate_is_refused_with_an_example() {
        for text in ["5", "five/min", "5/fortnight", "0/min"] {
            assert!(text.parse::<RateLimit>().is_err(), "{text}");
        }
        assert!(
            "5/fortnight"
                .parse::<RateLimit>()
                .unwrap_err()
                .contains("\"5/min\"")
        );
    }
}
