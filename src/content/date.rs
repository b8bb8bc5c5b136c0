//! Post dates: `YYYY-MM-DD`, optionally followed by a time, as YAML, TOML and Jekyll
//! file names write them.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    /// What followed the day (`T10:00:00Z`), kept for ordering posts of the same day.
    pub time: String,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl Date {
    /// Parses `YYYY-MM-DD` and an optional time after `T` or a space.
    pub fn parse(text: &str) -> Result<Date, String> {
        let text = text.trim();
        let bad = || format!("`{text}` is not a date; write it as YYYY-MM-DD, e.g. 2024-05-17");
        let (day_part, time) = match text.find(['T', 't', ' ']) {
            Some(i) => (&text[..i], text[i + 1..].trim()),
            None => (text, ""),
        };
        let date = Date::parse_prefix(day_part).ok_or_else(bad)?;
        if day_part.len() != 10 {
            return Err(bad());
        }
        Ok(Date {
            time: time.to_string(),
            ..date
        })
    }

    /// The date at the start of a Jekyll-style file name, `2024-05-17-my-post`.
    pub fn parse_prefix(text: &str) -> Option<Date> {
        let b = text.as_bytes();
        if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let s = text.get(r)?;
            s.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| s.parse().ok())?
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date {
            year: year as u16,
            month: month as u8,
            day: day as u8,
            time: String::new(),
        })
    }

    /// "May 17, 2024".
    pub fn long(&self) -> String {
        format!(
            "{} {}, {}",
            MONTHS[self.month as usize - 1],
            self.day,
            self.year
        )
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_with_and_without_time() {
        let d = Date::parse("2024-02-29").unwrap();
        assert_eq!(d.to_string(), "2024-02-29");
        assert_eq!(d.long(), "February 29, 2024");
        let t = Date::parse("2024-02-29T10:30:00Z").unwrap();
        assert!(t > d, "a time sorts after the bare day");
        assert!(Date::parse("2024-02-29 08:00").is_ok());
    }

    #[test]
    fn impossible_dates_are_refused() {
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-1",
            "yesterday",
            "2024-01-32",
            "20240101",
        ] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn file_name_prefix() {
        assert_eq!(
            Date::parse_prefix("2021-07-04-fireworks")
                .unwrap()
                .to_string(),
            "2021-07-04"
        );
        assert!(Date::parse_prefix("fireworks").is_none());
        assert!(Date::parse_prefix("2021-07-4x").is_none());
    }
}
