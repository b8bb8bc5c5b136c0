//! Scripted failures: which requests go wrong ([`When`], how often) and how
//! ([`FaultAction`]), so a test can put the client through every way the API can fail.

use super::Reply;
use super::api::Picture;
use super::http::RawResponse;

/// One scripted failure: which requests it hits, how often, and what they get.
#[derive(Debug, Clone)]
pub struct Fault {
    pub when: When,
    /// Fire at most this many times; `None` is every matching request.
    pub times: Option<u32>,
    pub action: FaultAction,
}

/// Which requests a [`Fault`] hits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    /// The Nth request the server received, counting from 1 (every request counts,
    /// including those refused with 401 or 429).
    Nth(usize),
    /// Requests whose raw body contains this text (e.g. a screenshot's URL).
    BodyContains(String),
}

/// What a faulty request gets instead of its picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// This status with the API's JSON error body and a stock message.
    Status(u16),
    /// This status with the API's JSON error body and this message.
    StatusMessage(u16, String),
    /// This status with a `text/plain` body.
    PlainText(u16, String),
    /// 429 with this `Retry-After` value (seconds or an HTTP date), or none.
    TooManyRequests(Option<String>),
    /// Close the connection without answering.
    Reset,
    /// Wait [`FakeConfig::hang`] without answering, then close.
    Hang,
    /// Announce the whole picture in `Content-Length`, send half of it, close.
    Truncated,
    /// 200 with an HTML page.
    WrongContentType,
    /// 200 with a PNG half the requested size.
    WrongSize,
}

impl Fault {
    /// Hits the `n`th request (from 1).
    pub fn on_request(n: usize, action: FaultAction) -> Fault {
        Fault {
            when: When::Nth(n),
            times: None,
            action,
        }
    }

    /// Hits every request whose body contains `text`.
    pub fn when_body_contains(text: impl Into<String>, action: FaultAction) -> Fault {
        Fault {
            when: When::BodyContains(text.into()),
            times: None,
            action,
        }
    }

    /// Only the first `k` matching requests.
    pub fn times(mut self, k: u32) -> Fault {
        self.times = Some(k);
        self
    }

    pub(super) fn matches(&self, index: usize, body: &[u8]) -> bool {
        match &self.when {
            When::Nth(n) => *n == index,
            When::BodyContains(text) => contains(body, text.as_bytes()),
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

pub(super) fn faulty_reply(action: FaultAction, picture: Picture) -> Reply {
    let json_error = |status: u16, message: &str| {
        let code = match status {
            400 => "invalid_request",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not_found",
            422 => "unprocessable",
            429 => "rate_limited",
            _ => "server_error",
        };
        Reply::Send(RawResponse::json_error(status, code, message))
    };
    match action {
        FaultAction::Status(status) => json_error(status, &stock_message(status)),
        FaultAction::StatusMessage(status, message) => json_error(status, &message),
        FaultAction::PlainText(status, text) => Reply::Send(RawResponse::new(
            status,
            "text/plain; charset=utf-8",
            text.into_bytes(),
        )),
        FaultAction::TooManyRequests(retry_after) => {
            let response = RawResponse::json_error(429, "rate_limited", "too many requests");
            Reply::Send(match retry_after {
                Some(value) => response.with_header("Retry-After", value),
                None => response,
            })
        }
        FaultAction::Reset | FaultAction::Hang => Reply::Close,
        FaultAction::Truncated => {
            Reply::SendHalf(RawResponse::new(200, "image/png", picture.png()))
        }
        FaultAction::WrongContentType => Reply::Send(RawResponse::new(
            200,
            "text/html; charset=utf-8",
            b"<!doctype html><html><body><h1>Maintenance</h1></body></html>".to_vec(),
        )),
        FaultAction::WrongSize => {
            let smaller = Picture {
                width: picture.width.div_ceil(2),
                height: picture.height.div_ceil(2),
                ..picture
            };
            Reply::Send(RawResponse::new(200, "image/png", smaller.png()))
        }
    }
}

fn stock_message(status: u16) -> String {
    match status {
        403 => "this API key may not use this endpoint".into(),
        404 => "the page to capture was not found".into(),
        422 => "the template could not be rendered with these variables".into(),
        500 => "internal error while rendering".into(),
        502..=504 => "the renderer is temporarily unavailable".into(),
        _ => format!("scripted failure with status {status}"),
    }
}
