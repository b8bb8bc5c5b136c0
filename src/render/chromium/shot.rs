//! One screenshot: a tab of its own, so that shots from several threads run side by side
//! in one browser, and the tab is closed whatever happens.
//!
//! ```text
//! Target.createTarget ─> attachToTarget (flatten) ─> Page/Network[/Fetch].enable
//!   ─> metrics ─> Page.navigate ─> errorText? ................ classify, fail
//!   ─> lifecycle "load" of this navigation ─> settle ─> [getLayoutMetrics]
//!   ─> captureScreenshot ─> PNG bytes ─> Target.closeTarget (also on every failure)
//! ```
//!
//! With a [`UrlGuard`], every request the tab makes (the page, each redirect, frames,
//! pictures, scripts) is paused by the Fetch domain and let through or failed by the
//! guard; a refused page, or a refused redirect of it, fails the shot with the guard's
//! reason. `Page.navigate` is answered only once the page commits, so it is sent from a
//! second thread while this one answers the paused requests.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use super::browser::Browser;
use super::cdp::{CdpError, Event};
use super::{ShotRequest, UrlGuard};
use crate::render::{FailureKind, RenderError};

/// Every command but navigating and capturing answers at once.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Encoding a tall page takes a while on a slow machine.
const CAPTURE_TIMEOUT: Duration = Duration::from_secs(60);

/// How often the thread waiting for `Page.navigate` looks whether it has been answered.
const NAVIGATE_POLL: Duration = Duration::from_millis(10);

/// After the load event: lets late layout, fonts and animations' first frame land.
const SETTLE: Duration = Duration::from_millis(100);

/// Chromium cannot capture beyond its largest texture; a taller page is cut here.
pub const MAX_FULL_PAGE_HEIGHT: u32 = 16_384;

/// Net errors that will come back with the same URL. Everything else (refused, reset,
/// timed out, an empty answer...) may pass next time.
const PERMANENT_NET_ERRORS: &[&str] = &[
    "ERR_NAME_NOT_RESOLVED",
    "ERR_INVALID_URL",
    "ERR_UNKNOWN_URL_SCHEME",
    "ERR_DISALLOWED_URL_SCHEME",
    "ERR_FILE_NOT_FOUND",
    "ERR_UNSAFE_PORT",
    "ERR_UNSAFE_REDIRECT",
    "ERR_INVALID_REDIRECT",
    "ERR_TOO_MANY_REDIRECTS",
    "ERR_BLOCKED_BY_",
    "ERR_CERT_",
];

impl Browser {
    /// A PNG of `req.url` at `req.width` CSS pixels wide: the viewport, or the whole page
    /// when `req.full_page`. A page served with an HTTP error status is captured as it
    /// looks; only an error page of Chromium's own is an error.
    pub fn screenshot(&self, req: &ShotRequest) -> Result<Vec<u8>, RenderError> {
        let tab = Tab::open(self)
            .map_err(|e| RenderError::transient(format!("{}: cannot open a tab: {e}", req.url)))?;
        tab.capture(req)
    }
}

/// A target with a flattened session; closed on drop.
struct Tab<'a> {
    browser: &'a Browser,
    target_id: String,
    session_id: String,
    events: Receiver<Event>,
}

impl<'a> Tab<'a> {
    fn open(browser: &'a Browser) -> Result<Tab<'a>, CdpError> {
        let target = browser.call(
            "Target.createTarget",
            json!({"url": "about:blank"}),
            None,
            CALL_TIMEOUT,
        )?;
        let target_id = string_field(&target, "targetId")?;
        let attached = browser
            .call(
                "Target.attachToTarget",
                json!({"targetId": target_id, "flatten": true}),
                None,
                CALL_TIMEOUT,
            )
            .and_then(|attached| string_field(&attached, "sessionId"));
        let session_id = match attached {
            Ok(session_id) => session_id,
            Err(e) => {
                close_target(browser, &target_id);
                return Err(e);
            }
        };
        let events = browser.subscribe(&session_id);
        Ok(Tab {
            browser,
            target_id,
            session_id,
            events,
        })
    }

    fn call(&self, method: &str, params: Value, timeout: Duration) -> Result<Value, CdpError> {
        self.browser
            .call(method, params, Some(&self.session_id), timeout)
    }

    fn capture(&self, req: &ShotRequest) -> Result<Vec<u8>, RenderError> {
        let url = &req.url;
        let chromium = |e: CdpError| RenderError::transient(format!("{url}: Chromium: {e}"));
        let mut commands = vec![
            ("Page.enable", json!({})),
            ("Page.setLifecycleEventsEnabled", json!({"enabled": true})),
            ("Network.enable", json!({})),
            (
                "Emulation.setDeviceMetricsOverride",
                json!({"width": req.width, "height": req.height,
                       "deviceScaleFactor": 1, "mobile": false}),
            ),
        ];
        if req.guard.is_some() {
            commands.push((
                "Fetch.enable",
                json!({"patterns": [{"urlPattern": "*", "requestStage": "Request"}]}),
            ));
        }
        for (method, params) in commands {
            self.call(method, params, CALL_TIMEOUT).map_err(chromium)?;
        }
        let mut gate = Gate::new(req.guard.as_ref(), &self.target_id);

        let deadline = Instant::now() + req.timeout;
        let not_loaded = || {
            RenderError::transient(format!(
                "{url}: the page did not finish loading within {} s",
                seconds(req.timeout)
            ))
        };
        let (navigation, early) = self.navigate(url, req.timeout, &mut gate);
        if let Some(refusal) = gate.refused.take() {
            return Err(RenderError::permanent(refusal));
        }
        let navigation = match navigation {
            Ok(navigation) => navigation,
            Err(CdpError::Timeout) => return Err(not_loaded()),
            // "Cannot navigate to invalid URL" and the like.
            Err(CdpError::Protocol { message, .. }) => {
                return Err(RenderError::permanent(format!(
                    "cannot open {url}: {message}"
                )));
            }
            Err(e) => return Err(chromium(e)),
        };
        let mut load = Load::of(&navigation);
        for event in &early {
            load.absorb(event);
        }
        if let Some(error) = navigation["errorText"].as_str().filter(|e| !e.is_empty()) {
            while let Ok(event) = self.events.try_recv() {
                if !gate.answer(self, &event) {
                    load.absorb(&event);
                }
            }
            return Err(navigation_error(url, error, load.status));
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) => {
                    if !gate.answer(self, &event) {
                        load.absorb(&event);
                    }
                }
                Err(RecvTimeoutError::Timeout) => return Err(not_loaded()),
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(chromium(CdpError::Closed("Chromium went away".into())));
                }
            }
            // The page sent itself somewhere it may not go (a script, a meta refresh).
            if let Some(refusal) = gate.refused.take() {
                return Err(RenderError::permanent(refusal));
            }
            if load.crashed {
                return Err(RenderError::transient(format!("{url}: the page crashed")));
            }
            if load.loaded {
                break;
            }
        }
        std::thread::sleep(SETTLE);
        while let Ok(event) = self.events.try_recv() {
            gate.answer(self, &event);
        }
        if let Some(refusal) = gate.refused.take() {
            return Err(RenderError::permanent(refusal));
        }

        let mut params = json!({"format": "png", "captureBeyondViewport": req.full_page});
        if req.full_page {
            let metrics = self
                .call("Page.getLayoutMetrics", json!({}), CALL_TIMEOUT)
                .map_err(chromium)?;
            let height = full_page_height(&metrics, req.height);
            params["clip"] =
                json!({"x": 0, "y": 0, "width": req.width, "height": height, "scale": 1});
        }
        let shot = self
            .call("Page.captureScreenshot", params, CAPTURE_TIMEOUT)
            .map_err(|e| RenderError::transient(format!("{url}: the screenshot failed: {e}")))?;
        let data = shot["data"].as_str().ok_or_else(|| {
            RenderError::transient(format!("{url}: Chromium sent a screenshot without data"))
        })?;
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| {
                RenderError::transient(format!("{url}: Chromium sent a broken screenshot: {e}"))
            })
    }
}

impl Tab<'_> {
    /// Sends `Page.navigate` from a second thread and waits for its answer, answering
    /// the requests the navigation pauses meanwhile; other events are kept, in order,
    /// for the caller.
    fn navigate(
        &self,
        url: &str,
        timeout: Duration,
        gate: &mut Gate<'_>,
    ) -> (Result<Value, CdpError>, Vec<Event>) {
        let (browser, session) = (self.browser, self.session_id.as_str());
        std::thread::scope(|scope| {
            let call = scope.spawn(move || {
                browser.call("Page.navigate", json!({"url": url}), Some(session), timeout)
            });
            let mut kept = Vec::new();
            while !call.is_finished() {
                match self.events.recv_timeout(NAVIGATE_POLL) {
                    Ok(event) => {
                        if !gate.answer(self, &event) {
                            kept.push(event);
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    // The call fails on its own when the connection is gone.
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
            let answer = call
                .join()
                .unwrap_or_else(|_| Err(CdpError::Closed("the navigation thread panicked".into())));
            (answer, kept)
        })
    }
}

/// The guard's side of one tab: lets each paused request go on or fails it.
struct Gate<'a> {
    guard: Option<&'a UrlGuard>,
    /// The tab's main frame has the target's id.
    main_frame: &'a str,
    /// Verdicts by origin (`https://host:port`): the guard decides by host, and a page's
    /// requests mostly go to a few.
    verdicts: HashMap<String, Result<(), String>>,
    /// Why the page itself was refused, once it was.
    refused: Option<String>,
}

impl<'a> Gate<'a> {
    fn new(guard: Option<&'a UrlGuard>, main_frame: &'a str) -> Gate<'a> {
        Gate {
            guard,
            main_frame,
            verdicts: HashMap::new(),
            refused: None,
        }
    }

    /// Answers `event` if it is a paused request (and says so); any other event is left
    /// to the caller.
    fn answer(&mut self, tab: &Tab<'_>, event: &Event) -> bool {
        if event.method != "Fetch.requestPaused" {
            return false;
        }
        let params = &event.params;
        let request_id = params["requestId"].clone();
        let url = params["request"]["url"].as_str().unwrap_or_default();
        let verdict = match self.guard {
            Some(guard) => self
                .verdicts
                .entry(origin(url).to_string())
                .or_insert_with(|| guard.check(url))
                .clone(),
            None => Ok(()),
        };
        // A failed answer means the tab is gone; the shot fails on its own then.
        match verdict {
            Ok(()) => {
                let _ = tab.call(
                    "Fetch.continueRequest",
                    json!({"requestId": request_id}),
                    CALL_TIMEOUT,
                );
            }
            Err(reason) => {
                let _ = tab.call(
                    "Fetch.failRequest",
                    json!({"requestId": request_id, "errorReason": "BlockedByClient"}),
                    CALL_TIMEOUT,
                );
                let page = params["resourceType"] == "Document"
                    && params["frameId"].as_str() == Some(self.main_frame);
                if page && self.refused.is_none() {
                    self.refused = Some(format!("{reason} (the page led to {url})"));
                }
            }
        }
        true
    }
}

/// `scheme://authority` of a URL: what the guard's verdict depends on.
fn origin(url: &str) -> &str {
    let start = url.find("://").map_or(0, |i| i + 3);
    let end = url[start..]
        .find(['/', '\\', '?', '#'])
        .map_or(url.len(), |i| start + i);
    &url[..end]
}

impl Drop for Tab<'_> {
    fn drop(&mut self) {
        self.browser.unsubscribe(&self.session_id);
        close_target(self.browser, &self.target_id);
    }
}

fn close_target(browser: &Browser, target_id: &str) {
    let _ = browser.call(
        "Target.closeTarget",
        json!({"targetId": target_id}),
        None,
        CALL_TIMEOUT,
    );
}

/// What is known about one navigation of the main frame, from its events.
#[derive(Debug, Default)]
struct Load {
    frame_id: String,
    /// Absent for a same-document navigation; then any load of the frame counts.
    loader_id: Option<String>,
    /// The HTTP status of the main document.
    status: Option<u16>,
    loaded: bool,
    crashed: bool,
}

impl Load {
    fn of(navigation: &Value) -> Load {
        Load {
            frame_id: navigation["frameId"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            loader_id: navigation["loaderId"].as_str().map(str::to_string),
            ..Load::default()
        }
    }

    /// Events of the blank page the tab started with have another loader and are ignored.
    fn absorb(&mut self, event: &Event) {
        let params = &event.params;
        let ours = params["frameId"].as_str() == Some(self.frame_id.as_str())
            && self
                .loader_id
                .as_deref()
                .is_none_or(|loader| params["loaderId"].as_str() == Some(loader));
        match event.method.as_str() {
            "Page.lifecycleEvent" if ours && params["name"] == "load" => self.loaded = true,
            "Network.responseReceived" if ours && params["type"] == "Document" => {
                self.status = params["response"]["status"]
                    .as_u64()
                    .and_then(|status| u16::try_from(status).ok());
            }
            "Inspector.targetCrashed" => self.crashed = true,
            _ => {}
        }
    }
}

/// The failure for a navigation that Chromium answered with `net::ERR_...`.
fn navigation_error(url: &str, error: &str, status: Option<u16>) -> RenderError {
    // An HTTP error with an empty body: Chromium shows an error page of its own, which is
    // not what the page looks like.
    if error.contains("ERR_HTTP_RESPONSE_CODE_FAILURE") {
        return match status {
            Some(status) => RenderError {
                kind: if status == 408 || status == 429 || status >= 500 {
                    FailureKind::Transient
                } else {
                    FailureKind::Permanent
                },
                message: format!("{url} answered HTTP {status} with an empty page"),
            },
            None => RenderError::transient(format!("{url} answered an HTTP error ({error})")),
        };
    }
    let kind = if PERMANENT_NET_ERRORS.iter().any(|e| error.contains(e)) {
        FailureKind::Permanent
    } else {
        FailureKind::Transient
    };
    RenderError {
        kind,
        message: format!("cannot load {url}: {error}"),
    }
}

/// The page's height in CSS pixels, at least the viewport's, at most what Chromium can
/// capture.
fn full_page_height(metrics: &Value, viewport_height: u32) -> u32 {
    let content = metrics["cssContentSize"]["height"]
        .as_f64()
        .unwrap_or(0.0)
        .ceil();
    // `as` saturates, and the clamp bounds it anyway.
    (content as u32).clamp(
        viewport_height.min(MAX_FULL_PAGE_HEIGHT),
        MAX_FULL_PAGE_HEIGHT,
    )
}

fn string_field(result: &Value, name: &str) -> Result<String, CdpError> {
    result[name]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| CdpError::Protocol {
            code: 0,
            message: format!("no {name} in Chromium's answer"),
        })
}

/// "2" for 2 s, "0.5" for 500 ms.
fn seconds(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds.fract() == 0.0 {
        format!("{seconds:.0}")
    } else {
        format!("{seconds}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn navigation_errors_are_classified_by_whether_they_can_pass_next_time() {
        use FailureKind::{Permanent, Transient};
        let cases: &[(&str, Option<u16>, FailureKind)] = &[
            ("net::ERR_CONNECTION_REFUSED", None, Transient),
            ("net::ERR_CONNECTION_RESET", None, Transient),
            ("net::ERR_TIMED_OUT", None, Transient),
            ("net::ERR_EMPTY_RESPONSE", None, Transient),
            ("net::ERR_NAME_NOT_RESOLVED", None, Permanent),
            ("net::ERR_INVALID_URL", None, Permanent),
            ("net::ERR_CERT_AUTHORITY_INVALID", None, Permanent),
            ("net::ERR_HTTP_RESPONSE_CODE_FAILURE", Some(404), Permanent),
            ("net::ERR_HTTP_RESPONSE_CODE_FAILURE", Some(503), Transient),
            ("net::ERR_HTTP_RESPONSE_CODE_FAILURE", Some(429), Transient),
            ("net::ERR_HTTP_RESPONSE_CODE_FAILURE", None, Transient),
        ];
        for &(error, status, kind) in cases {
            let failure = navigation_error("http://x/", error, status);
            assert_eq!(failure.kind, kind, "{error} {status:?}");
            assert!(failure.message.contains("http://x/"), "{}", failure.message);
        }
    }

    #[test]
    fn full_page_height_is_the_content_within_the_viewport_and_the_texture_limit() {
        let metrics = |height: f64| json!({"cssContentSize": {"height": height}});
        assert_eq!(full_page_height(&metrics(1500.2), 600), 1501);
        assert_eq!(full_page_height(&metrics(100.0), 600), 600);
        assert_eq!(full_page_height(&metrics(1e9), 600), MAX_FULL_PAGE_HEIGHT);
        assert_eq!(full_page_height(&json!({}), 600), 600);
    }

    #[test]
    fn origins_are_scheme_and_authority() {
        assert_eq!(origin("https://a.test:8/x?y#z"), "https://a.test:8");
        assert_eq!(origin("http://a.test"), "http://a.test");
        assert_eq!(origin("http://a.test\\@b.test/"), "http://a.test");
        assert_eq!(origin("http://a.test?q"), "http://a.test");
    }

    #[test]
    fn timeouts_read_as_seconds() {
        assert_eq!(seconds(Duration::from_secs(2)), "2");
        assert_eq!(seconds(Duration::from_millis(500)), "0.5");
    }
}
