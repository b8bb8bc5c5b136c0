//! The client against the fake server (127.0.0.1 only), plus its pure helpers.

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::*;
use fake_snapsharp::{FakeConfig, FakeServer, Fault, FaultAction, solid_png};

fn config(server: &FakeServer) -> SnapsharpConfig {
    SnapsharpConfig {
        base_url: server.base_url(),
        rate_limit: "1000/s".parse().unwrap(),
        timeout_secs: 5,
        ..SnapsharpConfig::default()
    }
}

fn client_with(config: &SnapsharpConfig, key: &str) -> SnapsharpClient {
    SnapsharpClient::new(config, ApiKey::new(key))
        .unwrap()
        .with_backoff_base(Duration::from_millis(10))
}

fn client(server: &FakeServer) -> SnapsharpClient {
    client_with(&config(server), "test-key")
}

fn fake(config: FakeConfig) -> FakeServer {
    FakeServer::start(config.latency(Duration::from_millis(3)))
}

fn variables() -> Map<String, Value> {
    let Value::Object(map) = json!({"title": "Hello", "author": "Ann"}) else {
        unreachable!()
    };
    map
}

fn card() -> CardRequest {
    CardRequest {
        template: "blog-post".into(),
        variables: variables(),
        width: 1200,
        height: 630,
        format: ImageFormat::Png,
    }
}

fn og(client: &SnapsharpClient) -> Result<Vec<u8>, RenderError> {
    client.og_image("blog-post", &variables(), 1200, 630)
}

fn size_of(png: &[u8]) -> (usize, usize) {
    let size = imagesize::blob_size(png).unwrap();
    (size.width, size.height)
}

#[test]
fn a_card_comes_back_as_a_png_of_the_requested_size() {
    let server = fake(FakeConfig::default());
    let backend = SnapsharpBackend::new(client(&server));
    let png = backend.render(&card()).unwrap();
    assert_eq!(size_of(&png), (1200, 630));

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/v1/og-image")
    );
    assert_eq!(request.header("authorization"), Some("Bearer test-key"));
    assert!(
        request
            .header("user-agent")
            .unwrap()
            .starts_with("ogforge/")
    );
    assert_eq!(
        request.body,
        json!({"template": "blog-post", "variables": {"title": "Hello", "author": "Ann"},
               "width": 1200, "height": 630})
    );
    assert_eq!(backend.name(), "snapsharp");
    assert_eq!(backend.concurrency(), 4);
}

#[test]
fn a_screenshot_sends_the_body_as_given() {
    let server = fake(FakeConfig::default());
    let Value::Object(body) = json!({"url": "https://a.example/", "width": 640, "height": 360,
                                     "format": "png", "block_ads": true, "delay": 2})
    else {
        unreachable!()
    };
    let png = client(&server).screenshot(body.clone()).unwrap();
    assert_eq!(size_of(&png), (640, 360));
    assert_eq!(server.requests()[0].path, "/v1/screenshot");
    assert_eq!(server.requests()[0].body, Value::Object(body));
}

#[test]
fn transient_failures_are_retried_until_one_passes() {
    for action in [
        FaultAction::Status(500),
        FaultAction::Status(503),
        FaultAction::PlainText(502, "bad gateway".into()),
        FaultAction::Status(408),
        FaultAction::Reset,
        FaultAction::Truncated,
    ] {
        let server = fake(
            FakeConfig::default()
                .fault(Fault::on_request(1, action.clone()))
                .fault(Fault::on_request(2, action.clone())),
        );
        let png = og(&client(&server)).unwrap_or_else(|e| panic!("{action:?}: {e}"));
        assert_eq!(size_of(&png), (1200, 630), "{action:?}");
        assert_eq!(server.count(), 3, "{action:?}");
    }
}

#[test]
fn transient_failures_give_up_after_max_attempts() {
    let server =
        fake(FakeConfig::default().fault(Fault::when_body_contains("", FaultAction::Status(503))));
    let err = og(&client(&server)).unwrap_err();
    assert_eq!(err.kind, FailureKind::Transient);
    assert_eq!(
        err.message,
        "HTTP 503: the renderer is temporarily unavailable (gave up after 5 attempts)"
    );
    assert_eq!(server.count(), 5);
}

#[test]
fn retry_after_on_429_is_honoured() {
    let server = fake(FakeConfig::default().fault(Fault::on_request(
        1,
        FaultAction::TooManyRequests(Some("1".into())),
    )));
    let started = Instant::now();
    og(&client(&server)).unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[1].arrived - requests[0].arrived >= Duration::from_millis(950));
}

#[test]
fn permanent_failures_are_not_retried() {
    for (status, want) in [
        (404, "HTTP 404: the page to capture was not found"),
        (400, "HTTP 400: scripted failure with status 400"),
        (
            422,
            "HTTP 422: the template could not be rendered with these variables",
        ),
    ] {
        let server =
            fake(FakeConfig::default().fault(Fault::on_request(1, FaultAction::Status(status))));
        let err = og(&client(&server)).unwrap_err();
        assert_eq!(
            (err.kind, err.message.as_str()),
            (FailureKind::Permanent, want)
        );
        assert_eq!(server.count(), 1, "{status}");
    }
}

#[test]
fn a_404_for_one_screenshot_url_fails_only_that_one() {
    let server = fake(FakeConfig::default().fault(Fault::when_body_contains(
        "gone.example",
        FaultAction::StatusMessage(404, "https://gone.example/ answered 404".into()),
    )));
    let client = client(&server);
    let shot = |url: &str| {
        let Value::Object(body) = json!({"url": url}) else {
            unreachable!()
        };
        client.screenshot(body)
    };
    let err = shot("https://gone.example/").unwrap_err();
    assert_eq!(err.kind, FailureKind::Permanent);
    assert_eq!(err.message, "HTTP 404: https://gone.example/ answered 404");
    assert_eq!(
        size_of(&shot("https://fine.example/").unwrap()),
        (1280, 720)
    );
    assert_eq!(server.count(), 2);
}

#[test]
fn a_refused_key_is_fatal_after_one_request() {
    let server = fake(FakeConfig::default().key("the-right-key"));
    let err = og(&client(&server)).unwrap_err();
    assert_eq!(err.kind, FailureKind::Fatal);
    assert_eq!(
        err.message,
        "SnapSharp refused the API key (HTTP 401): invalid or missing API key; check SNAPSHARP_API_KEY"
    );
    assert_eq!(server.count(), 1);

    let server = fake(FakeConfig::default().fault(Fault::on_request(1, FaultAction::Status(403))));
    let err = og(&client(&server)).unwrap_err();
    assert_eq!(err.kind, FailureKind::Fatal);
    assert!(err.message.contains("(HTTP 403)"), "{}", err.message);
    assert_eq!(server.count(), 1);
}

#[test]
fn a_200_that_is_not_the_image_is_retried_once_then_not_kept() {
    let cases = [
        (FaultAction::WrongContentType, "(got text/html)"),
        (FaultAction::WrongSize, "(got a 600×315 PNG)"),
    ];
    for (action, got) in cases {
        let server =
            fake(FakeConfig::default().fault(Fault::when_body_contains("", action.clone())));
        let err = og(&client(&server)).unwrap_err();
        assert_eq!(err.kind, FailureKind::Permanent);
        assert_eq!(
            err.message,
            format!("SnapSharp answered 200 but not a 1200×630 PNG image {got}")
        );
        assert_eq!(server.count(), 2, "{action:?}");

        // Once only: the retry gets the picture.
        let server = fake(FakeConfig::default().fault(Fault::on_request(1, action)));
        assert_eq!(size_of(&og(&client(&server)).unwrap()), (1200, 630));
    }
}

#[test]
fn a_hang_past_the_timeout_is_retried_then_transient() {
    let server =
        fake(FakeConfig::default().fault(Fault::when_body_contains("", FaultAction::Hang)));
    let config = SnapsharpConfig {
        timeout_secs: 1,
        max_attempts: 2,
        ..config(&server)
    };
    let started = Instant::now();
    let err = og(&client_with(&config, "test-key")).unwrap_err();
    assert_eq!(err.kind, FailureKind::Transient);
    assert_eq!(
        err.message,
        "no answer within 1 s (timed out) (gave up after 2 attempts)"
    );
    assert_eq!(server.count(), 2);
    assert!(started.elapsed() >= Duration::from_secs(2));
}

#[test]
fn request_starts_never_exceed_the_rate_limit() {
    let server = fake(FakeConfig::default());
    let config = SnapsharpConfig {
        rate_limit: "5/s".parse().unwrap(),
        ..config(&server)
    };
    let client = client_with(&config, "test-key");
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                while next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 6 {
                    og(&client).unwrap();
                }
            });
        }
    });
    let mut arrivals: Vec<Instant> = server.requests().iter().map(|r| r.arrived).collect();
    arrivals.sort();
    assert_eq!(arrivals.len(), 6);
    // Starts are 200 ms apart; arrivals may drift by scheduling noise each, which on a
    // busy machine reaches tens of milliseconds. Over 5 intervals a pace of 6/s still
    // comes 170 ms short, more than the slack.
    let slack = Duration::from_millis(100);
    for i in 0..arrivals.len() {
        for j in i + 1..arrivals.len() {
            let least = Duration::from_millis(200) * (j - i) as u32;
            assert!(
                arrivals[j] - arrivals[i] + slack >= least,
                "requests {i} and {j} arrived {:?} apart",
                arrivals[j] - arrivals[i]
            );
        }
    }
}

#[test]
fn the_key_never_appears_in_errors_or_debug_output() {
    const SENTINEL: &str = "sk_live_SENTINEL_5f3a9c";
    let mut texts = Vec::new();

    // Refused, and an API that echoes the key back in its error messages.
    let server = fake(
        FakeConfig::default()
            .key(SENTINEL)
            .fault(Fault::on_request(
                1,
                FaultAction::StatusMessage(404, format!("no template for {SENTINEL}")),
            ))
            .fault(Fault::on_request(
                2,
                FaultAction::PlainText(500, format!("key={SENTINEL}")),
            ))
            .fault(Fault::on_request(3, FaultAction::WrongContentType)),
    );
    let config = SnapsharpConfig {
        max_attempts: 1,
        ..config(&server)
    };
    let client = client_with(&config, SENTINEL);
    for _ in 0..3 {
        let err = og(&client).unwrap_err();
        texts.push(format!("{err} {err:?}"));
    }
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some(format!("Bearer {SENTINEL}").as_str()),
        "the key must reach the server, or this test proves nothing"
    );
    let wrong_key = client_with(&config, &format!("{SENTINEL}-wrong"));
    texts.push(og(&wrong_key).unwrap_err().to_string());

    // Nobody listening.
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nowhere = SnapsharpConfig {
        base_url: format!("http://127.0.0.1:{closed_port}/v1"),
        ..config.clone()
    };
    let err = og(&client_with(&nowhere, SENTINEL)).unwrap_err();
    assert_eq!(err.kind, FailureKind::Transient);
    assert!(
        err.message
            .starts_with("could not connect to http://127.0.0.1:"),
        "{}",
        err.message
    );
    texts.push(format!("{err:?}"));

    let key = ApiKey::new(SENTINEL);
    texts.push(format!("{key} {key:?} {client:?}"));
    texts.push(format!(
        "{:?}",
        SnapsharpBackend::new(client_with(&config, SENTINEL))
    ));
    for text in &texts {
        assert!(!text.contains(SENTINEL), "the key leaked: {text}");
    }
    assert!(
        texts.iter().any(|t| t.contains("no template for ***")),
        "{texts:#?}"
    );
}

#[test]
fn a_missing_or_empty_key_names_the_variable_to_export() {
    let want = "the SnapSharp API key is not set: export MY_KEY=... \
                (the variable named by `snapsharp.api_key_env`)";
    assert_eq!(ApiKey::from_value("MY_KEY", None).unwrap_err(), want);
    assert_eq!(
        ApiKey::from_value("MY_KEY", Some(" ".into())).unwrap_err(),
        want
    );
    assert_eq!(
        ApiKey::from_value("MY_KEY", Some("abc\n".into())).unwrap(),
        ApiKey::new("abc")
    );
    let unset = "OGFORGE_TEST_VARIABLE_THAT_IS_NEVER_SET";
    assert!(ApiKey::from_env(unset).unwrap_err().contains(unset));
    let config = SnapsharpConfig {
        api_key_env: unset.into(),
        ..SnapsharpConfig::default()
    };
    assert!(
        SnapsharpBackend::from_config(&config)
            .unwrap_err()
            .contains(unset)
    );
}

#[test]
fn cards_in_other_formats_are_refused_without_a_request() {
    let server = fake(FakeConfig::default());
    let backend = SnapsharpBackend::new(client(&server));
    let err = backend
        .render(&CardRequest {
            format: ImageFormat::Jpeg,
            ..card()
        })
        .unwrap_err();
    assert_eq!(err.kind, FailureKind::Permanent);
    assert_eq!(server.count(), 0);
}

#[test]
fn images_are_checked_by_type_bytes_and_size() {
    let png = solid_png(4, 3, [1, 2, 3]);
    let want = |size| Expected {
        format: Some(ImageFormat::Png),
        size,
    };
    let ok = [
        (Some("image/png"), want(Some((4, 3)))),
        (Some("IMAGE/PNG; charset=binary"), want(Some((4, 3)))),
        (None, want(Some((4, 3)))),
        (Some("application/octet-stream"), want(None)),
        (
            Some("image/png"),
            Expected {
                format: None,
                size: None,
            },
        ),
    ];
    for (content_type, expected) in ok {
        assert_eq!(
            check_image(content_type, &png, expected),
            Ok(()),
            "{content_type:?}"
        );
    }
    let bad = [
        (
            Some("text/html"),
            &png[..],
            want(Some((4, 3))),
            "a 4×3 PNG image (got text/html)",
        ),
        (
            Some("image/png"),
            &png[..],
            want(Some((5, 3))),
            "a 5×3 PNG image (got a 4×3 PNG)",
        ),
        (
            Some("image/png"),
            b"<html>",
            want(None),
            "a PNG image (got 6 bytes that are not",
        ),
        (
            Some("image/jpeg"),
            &[0xff, 0xd8, 0xff, 0xe0, 0, 0][..],
            want(None),
            "a PNG image (got a JPEG image)",
        ),
    ];
    for (content_type, bytes, expected, complaint) in bad {
        let err = check_image(content_type, bytes, expected).unwrap_err();
        assert!(err.contains(complaint), "{err}");
    }
}

#[test]
fn screenshots_of_a_whole_page_are_not_held_to_the_viewport_size() {
    let expect = |body: Value| {
        let Value::Object(map) = body else {
            unreachable!()
        };
        screenshot_expectation(&map)
    };
    assert_eq!(expect(json!({"url": "https://a"})).size, Some((1280, 720)));
    assert_eq!(
        expect(json!({"url": "https://a", "width": 800, "height": 600})).size,
        Some((800, 600))
    );
    assert_eq!(
        expect(json!({"url": "https://a", "full_page": true})).size,
        None
    );
    assert_eq!(
        expect(json!({"url": "https://a", "selector": "#main"})).size,
        None
    );
    assert_eq!(
        expect(json!({"url": "https://a", "full_page": false})).size,
        Some((1280, 720))
    );
    assert_eq!(
        expect(json!({"url": "https://a", "format": "webp"})).format,
        Some(ImageFormat::Webp)
    );
}

#[test]
fn api_messages_come_from_json_or_text_on_one_short_line() {
    let long = "x".repeat(500);
    let cases = [
        (
            r#"{"error":{"code":"c","message":"bad template"}}"#.to_string(),
            "bad template".to_string(),
        ),
        (
            r#"{"error":"quota exceeded"}"#.into(),
            "quota exceeded".into(),
        ),
        (r#"{"message":"nope"}"#.into(), "nope".into()),
        ("plain\n  text".into(), "plain text".into()),
        ("".into(), "(no message)".into()),
        (long.clone(), format!("{}…", &long[..200])),
    ];
    for (body, want) in cases {
        assert_eq!(api_message(body.as_bytes()), want);
    }
}

#[test]
fn loopback_base_urls_skip_proxies() {
    assert!(is_loopback("http://127.0.0.1:8080/v1"));
    assert!(is_loopback("http://localhost/v1"));
    assert!(!is_loopback("https://api.snapsharp.dev/v1"));
    assert!(!is_loopback("https://localhost.evil.example/v1"));
}

#[test]
fn a_retry_after_too_long_to_wait_gives_up_at_once() {
    let server = fake(FakeConfig::default().fault(Fault::on_request(
        1,
        FaultAction::TooManyRequests(Some("3600".into())),
    )));
    let err = og(&client(&server)).unwrap_err();
    assert_eq!(err.kind, FailureKind::Transient);
    assert_eq!(
        err.message,
        "HTTP 429: too many requests (SnapSharp asked to wait 3600 s; gave up after 1 attempt)"
    );
    assert_eq!(server.count(), 1);
}
