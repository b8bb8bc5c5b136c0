//! The SnapSharp API (SNAPSHARP.md): a blocking client that stays within the plan's rate
//! limit, retries what may pass next time and gives up at once on what cannot, and checks
//! every image before handing it over; and the `snapsharp` card [`Backend`] on top of it.
//!
//! ```text
//! render ─> og_image / screenshot ─> [acquire rate limit ─> POST ─> classify] × attempts
//!                                       200 + right image ........ bytes
//!                                       400 404 422 .............. Permanent, at once
//!                                       401 403 .................. Fatal, at once
//!                                       transport 408 429 5xx .... again after backoff
//!                                                                  or Retry-After
//!                                       200 but not the image .... again once, then
//!                                                                  Permanent
//! ```
//!
//! The API key lives in an [`ApiKey`], which never prints itself, and every message is
//! scrubbed of it before it leaves this module.

mod answer;
mod rate_limit;
mod retry;

use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value};

use super::{Backend, CardRequest, FailureKind, RenderError};
use crate::config::{ImageFormat, SnapsharpConfig};
use crate::fingerprint::FingerprintBuilder;
use crate::report::plural;
use answer::{Expected, api_message, check_image, screenshot_expectation};

pub use rate_limit::RateLimiter;
pub use retry::{BACKOFF_CAP, Backoff, parse_retry_after};

/// The first wait between attempts; doubled after each failure.
pub const DEFAULT_BACKOFF_BASE: Duration = Duration::from_millis(500);

/// A `Retry-After` longer than this is not waited for: the build would look stuck, and the
/// asset is simply asked for again next build.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// The SnapSharp API key. It prints as `ApiKey(***)`, never as itself.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// The key from the environment variable `var` (`snapsharp.api_key_env`); unset and
    /// empty are the same mistake, and the error says what to export.
    pub fn from_env(var: &str) -> Result<ApiKey, String> {
        ApiKey::from_value(var, std::env::var_os(var))
    }

    fn from_value(var: &str, value: Option<std::ffi::OsString>) -> Result<ApiKey, String> {
        let missing = || {
            format!(
                "the SnapSharp API key is not set: export {var}=... \
                 (the variable named by `snapsharp.api_key_env`)"
            )
        };
        let value = value.ok_or_else(missing)?;
        let value = value
            .into_string()
            .map_err(|_| format!("the SnapSharp API key in {var} is not valid UTF-8"))?;
        let key = value.trim();
        if key.is_empty() {
            return Err(missing());
        }
        Ok(ApiKey(key.to_string()))
    }

    fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the key replaced by `***`.
    fn scrub(&self, text: String) -> String {
        if self.0.is_empty() || !text.contains(&self.0) {
            text
        } else {
            text.replace(&self.0, "***")
        }
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl std::fmt::Display for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// Why one attempt failed.
#[derive(Debug)]
enum Failure {
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// A 200 that is not the image asked for: transient once, then permanent.
    NotTheImage(String),
    Permanent(String),
    Fatal(String),
}

/// A blocking SnapSharp client; share one between the workers of a build.
pub struct SnapsharpClient {
    http: reqwest::blocking::Client,
    base_url: String,
    key: ApiKey,
    key_env: String,
    limiter: RateLimiter,
    backoff: Backoff,
    max_attempts: u32,
    concurrency: usize,
    timeout: Duration,
}

impl std::fmt::Debug for SnapsharpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapsharpClient")
            .field("base_url", &self.base_url)
            .field("key", &self.key)
            .field("rate_interval", &self.limiter.interval())
            .field("max_attempts", &self.max_attempts)
            .field("concurrency", &self.concurrency)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl SnapsharpClient {
    pub fn new(config: &SnapsharpConfig, key: ApiKey) -> Result<SnapsharpClient, String> {
        let timeout = Duration::from_secs(config.timeout_secs);
        let base_url = config.base_url.trim_end_matches('/').to_string();
        let mut builder = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(30)))
            .user_agent(concat!("ogforge/", env!("CARGO_PKG_VERSION")));
        // A proxy from the environment would be asked for 127.0.0.1 too (tests, the fake).
        if is_loopback(&base_url) {
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| format!("could not set up the HTTP client for SnapSharp: {e}"))?;
        Ok(SnapsharpClient {
            http,
            base_url,
            key,
            key_env: config.api_key_env.clone(),
            limiter: RateLimiter::new(config.rate_limit),
            backoff: Backoff::new(DEFAULT_BACKOFF_BASE),
            max_attempts: config.max_attempts.max(1),
            concurrency: config.concurrency.max(1),
            timeout,
        })
    }

    /// Sets the first backoff wait (500 ms by default); tests make it a few ms.
    pub fn with_backoff_base(mut self, base: Duration) -> SnapsharpClient {
        self.backoff = Backoff::new(base);
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Requests in flight at most: the size of the caller's worker pool.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.limiter
    }

    /// `POST /og-image`: a `width`×`height` PNG of the template filled with `variables`.
    pub fn og_image(
        &self,
        template: &str,
        variables: &Map<String, Value>,
        width: u32,
        height: u32,
    ) -> Result<Vec<u8>, RenderError> {
        let body = serde_json::json!({
            "template": template,
            "variables": variables,
            "width": width,
            "height": height,
        });
        let expected = Expected {
            format: Some(ImageFormat::Png),
            size: Some((width, height)),
        };
        self.post("og-image", &body, expected)
    }

    /// `POST /screenshot` with `body` as given (`url`, `width`, `height`, `format`,
    /// `block_ads` and any extra options, passed through untouched). The answer must be
    /// an image in `format` (PNG when absent) of `width`×`height` (the API's 1280×720 when
    /// absent), unless `full_page` or `selector` make the size the page's.
    pub fn screenshot(&self, body: Map<String, Value>) -> Result<Vec<u8>, RenderError> {
        let expected = screenshot_expectation(&body);
        self.post("screenshot", &Value::Object(body), expected)
    }

    fn post(
        &self,
        endpoint: &str,
        body: &Value,
        expected: Expected,
    ) -> Result<Vec<u8>, RenderError> {
        let url = format!("{}/{endpoint}", self.base_url);
        let mut not_the_image_before = false;
        let mut attempt = 1;
        loop {
            self.limiter.acquire();
            let (reason, retry_after) = match self.attempt(&url, body, expected) {
                Ok(bytes) => return Ok(bytes),
                Err(Failure::Permanent(message)) => {
                    return Err(self.error(FailureKind::Permanent, message));
                }
                Err(Failure::Fatal(message)) => return Err(self.error(FailureKind::Fatal, message)),
                Err(Failure::NotTheImage(message)) if not_the_image_before => {
                    return Err(self.error(FailureKind::Permanent, message));
                }
                Err(Failure::NotTheImage(message)) => {
                    not_the_image_before = true;
                    (message, None)
                }
                Err(Failure::Transient {
                    reason,
                    retry_after,
                }) => (reason, retry_after),
            };
            let tries = plural(attempt as usize, "attempt");
            if attempt >= self.max_attempts {
                return Err(self.error(
                    FailureKind::Transient,
                    format!("{reason} (gave up after {tries})"),
                ));
            }
            match retry_after {
                Some(wait) if wait > MAX_RETRY_AFTER => {
                    return Err(self.error(
                        FailureKind::Transient,
                        format!(
                            "{reason} (SnapSharp asked to wait {} s; gave up after {tries})",
                            wait.as_secs()
                        ),
                    ));
                }
                // The limit is the account's: every worker waits, not only this one.
                Some(wait) => self.limiter.pause_until(Instant::now() + wait),
                None => std::thread::sleep(self.backoff.delay(attempt)),
            }
            attempt += 1;
        }
    }

    /// One request, classified.
    fn attempt(&self, url: &str, body: &Value, expected: Expected) -> Result<Vec<u8>, Failure> {
        let transport = |e: reqwest::Error| Failure::Transient {
            reason: self.describe(&e),
            retry_after: None,
        };
        let response = self
            .http
            .post(url)
            .bearer_auth(self.key.expose())
            .json(body)
            .send()
            .map_err(transport)?;
        let status = response.status().as_u16();
        let header = |name: reqwest::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let retry_after = header(reqwest::header::RETRY_AFTER)
            .and_then(|v| parse_retry_after(&v, SystemTime::now()));
        let bytes = response.bytes().map_err(transport)?;

        if (200..300).contains(&status) {
            return check_image(content_type.as_deref(), &bytes, expected)
                .map(|()| bytes.to_vec())
                .map_err(Failure::NotTheImage);
        }
        let message = api_message(&bytes);
        Err(match status {
            401 | 403 => Failure::Fatal(format!(
                "SnapSharp refused the API key (HTTP {status}): {message}; check {}",
                self.key_env
            )),
            400 | 404 | 422 => Failure::Permanent(format!("HTTP {status}: {message}")),
            // 408, 429, 5xx, and whatever else the API may invent: SNAPSHARP.md says retry.
            _ => Failure::Transient {
                reason: format!("HTTP {status}: {message}"),
                retry_after,
            },
        })
    }

    /// A transport error in a line: what happened, without the URL's noise.
    fn describe(&self, e: &reqwest::Error) -> String {
        if e.is_timeout() {
            return format!("no answer within {} s (timed out)", self.timeout.as_secs());
        }
        let mut cause = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(inner) = source {
            cause = inner.to_string();
            source = inner.source();
        }
        if e.is_connect() {
            format!("could not connect to {}: {cause}", self.base_url)
        } else {
            format!("connection failed: {cause}")
        }
    }

    fn error(&self, kind: FailureKind, message: String) -> RenderError {
        RenderError {
            kind,
            message: self.key.scrub(message),
        }
    }
}

fn is_loopback(base_url: &str) -> bool {
    let rest = base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest);
    ["127.0.0.1", "localhost", "[::1]"].iter().any(|host| {
        rest.strip_prefix(host)
            .is_some_and(|after| after.is_empty() || after.starts_with([':', '/']))
    })
}

/// Cards drawn by SnapSharp's `og-image` endpoint.
#[derive(Debug)]
pub struct SnapsharpBackend {
    client: std::sync::Arc<SnapsharpClient>,
}

impl SnapsharpBackend {
    pub fn new(client: SnapsharpClient) -> SnapsharpBackend {
        SnapsharpBackend {
            client: std::sync::Arc::new(client),
        }
    }

    /// A backend on a client shared with the screenshot step: one rate limit for both.
    pub fn shared(client: std::sync::Arc<SnapsharpClient>) -> SnapsharpBackend {
        SnapsharpBackend { client }
    }

    /// Reads the key from `config.api_key_env`; the error is the one line to show when it
    /// is missing.
    pub fn from_config(config: &SnapsharpConfig) -> Result<SnapsharpBackend, String> {
        let key = ApiKey::from_env(&config.api_key_env)?;
        Ok(SnapsharpBackend::new(SnapsharpClient::new(config, key)?))
    }

    pub fn client(&self) -> &std::sync::Arc<SnapsharpClient> {
        &self.client
    }

    /// Requests in flight at most: the size of the caller's worker pool.
    pub fn concurrency(&self) -> usize {
        self.client.concurrency()
    }
}

impl Backend for SnapsharpBackend {
    fn name(&self) -> &'static str {
        "snapsharp"
    }

    /// Nothing of our own: the template is SnapSharp's and unseen from here, and the base
    /// URL is left out on purpose, so pointing a site at another endpoint (a staging
    /// server, a test's fake on a new port) does not make every card dirty and paid again.
    fn describe(&self, card: &CardRequest) -> String {
        format!(
            "POST {}/og-image {{template: {:?}, width: {}, height: {}, variables: {}}}",
            self.client.base_url(),
            card.template,
            card.width,
            card.height,
            serde_json::Value::Object(card.variables.clone())
        )
    }

    fn fingerprint_inputs(
        &self,
        _card: &CardRequest,
        _fp: &mut FingerprintBuilder,
    ) -> Result<(), String> {
        // The template lives at SnapSharp: its name (already in the fingerprint) is all
        // we know of it. The base URL stays out: a new endpoint is not a new card.
        Ok(())
    }

    fn render(&self, card: &CardRequest) -> Result<Vec<u8>, RenderError> {
        if card.format != ImageFormat::Png {
            return Err(RenderError::permanent(format!(
                "SnapSharp's og-image endpoint draws PNG only, not {}; set `og.format = \"png\"`",
                card.format.extension()
            )));
        }
        self.client
            .og_image(&card.template, &card.variables, card.width, card.height)
    }
}

#[cfg(test)]
mod tests;
