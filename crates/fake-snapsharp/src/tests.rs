use std::io::{Read, Write};

use super::*;

const OG_BODY: &str =
    r#"{"template":"blog-post","variables":{"title":"Hello"},"width":1200,"height":630}"#;

struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// Sends one request by hand and reads until the server closes; `None` when the server
/// closed without answering.
fn send(server: &FakeServer, path: &str, key: &str, body: &str) -> Option<Answer> {
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    Some(Answer {
        status,
        head,
        body: raw[split + 4..].to_vec(),
    })
}

fn og(server: &FakeServer) -> Option<Answer> {
    send(server, "/v1/og-image", "test-key", OG_BODY)
}

#[test]
fn answers_with_a_png_of_the_requested_size_and_records_the_request() {
    let server = FakeServer::start(FakeConfig::default());
    assert!(server.base_url().starts_with("http://127.0.0.1:"));
    assert!(server.base_url().ends_with("/v1"));

    let answer = og(&server).unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type").as_deref(), Some("image/png"));
    let size = imagesize::blob_size(&answer.body).unwrap();
    assert_eq!((size.width, size.height), (1200, 630));

    let requests = server.requests();
    assert_eq!(server.count(), 1);
    assert_eq!(requests[0].index, 1);
    assert_eq!(requests[0].path, "/v1/og-image");
    assert_eq!(requests[0].header("AUTHORIZATION"), Some("Bearer test-key"));
    assert_eq!(requests[0].body["variables"]["title"], "Hello");
}

#[test]
fn a_wrong_key_gets_401_with_a_json_error() {
    let server = FakeServer::start(FakeConfig::default().key("right"));
    let answer = send(&server, "/v1/og-image", "wrong", OG_BODY).unwrap();
    assert_eq!(answer.status, 401);
    let json: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(json["error"]["code"], "unauthorized");
    assert!(!String::from_utf8_lossy(&answer.body).contains("wrong"));
}

#[test]
fn over_the_rate_limit_gets_429_with_retry_after() {
    let server = FakeServer::start(FakeConfig::default().rate_limit("2/min".parse().unwrap()));
    let statuses: Vec<u16> = (0..3).map(|_| og(&server).unwrap().status).collect();
    assert_eq!(statuses, [200, 200, 429]);
    let answer = og(&server).unwrap();
    let retry_after: u64 = answer.header("retry-after").unwrap().parse().unwrap();
    assert!((59..=60).contains(&retry_after), "{retry_after}");
}

#[test]
fn scripted_faults_hit_the_chosen_requests_only() {
    let server = FakeServer::start(
        FakeConfig::default()
            .fault(Fault::on_request(1, FaultAction::Status(503)))
            .fault(Fault::when_body_contains("gone.example", FaultAction::Status(404)).times(1))
            .fault(Fault::on_request(3, FaultAction::Reset))
            .fault(Fault::on_request(4, FaultAction::Truncated))
            .fault(Fault::on_request(5, FaultAction::WrongContentType))
            .fault(Fault::on_request(6, FaultAction::WrongSize))
            .fault(Fault::on_request(
                7,
                FaultAction::PlainText(500, "oops".into()),
            )),
    );
    let shot = r#"{"url":"https://gone.example/","width":640,"height":360}"#;

    assert_eq!(og(&server).unwrap().status, 503);
    let not_found = send(&server, "/v1/screenshot", "test-key", shot).unwrap();
    assert_eq!(not_found.status, 404);
    assert!(String::from_utf8_lossy(&not_found.body).contains("\"message\""));
    assert!(og(&server).is_none(), "request 3 is reset");
    let torn = og(&server).unwrap();
    let announced: usize = torn.header("content-length").unwrap().parse().unwrap();
    assert!(torn.body.len() < announced);
    let html = og(&server).unwrap();
    assert_eq!(
        (
            html.status,
            html.header("content-type")
                .unwrap()
                .starts_with("text/html")
        ),
        (200, true)
    );
    let small = imagesize::blob_size(&og(&server).unwrap().body).unwrap();
    assert_eq!((small.width, small.height), (600, 315));
    assert_eq!(og(&server).unwrap().body, b"oops");
    // The 404 rule was used up; everything else is well again.
    let shot_again = send(&server, "/v1/screenshot", "test-key", shot).unwrap();
    let size = imagesize::blob_size(&shot_again.body).unwrap();
    assert_eq!((size.width, size.height), (640, 360));
    assert_eq!(server.count(), 8);
}

#[test]
fn latency_overlaps_concurrent_requests() {
    let server = FakeServer::start(FakeConfig::default().latency(Duration::from_millis(150)));
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| assert_eq!(og(&server).unwrap().status, 200));
        }
    });
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert!(server.max_in_flight() >= 2, "{}", server.max_in_flight());
    assert!(server.max_in_flight() <= 4);
}

#[test]
fn dropping_the_server_ends_a_hanging_request() {
    let server = FakeServer::start(
        FakeConfig::default()
            .hang(Duration::from_secs(600))
            .fault(Fault::on_request(1, FaultAction::Hang)),
    );
    let addr = server.addr();
    let client = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        write!(stream, "POST /v1/og-image HTTP/1.1\r\nAuthorization: Bearer test-key\r\nContent-Length: 2\r\n\r\n{{}}").unwrap();
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
        rest
    });
    while server.count() == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let started = Instant::now();
    drop(server);
    assert!(client.join().unwrap().is_empty());
    assert!(started.elapsed() < Duration::from_secs(5));
}
