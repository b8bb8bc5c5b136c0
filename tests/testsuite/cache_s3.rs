//! The shared cache against a real S3 API: moto's server on 127.0.0.1, one per test,
//! the bucket made by the test. End-to-end tests (feature `e2e`): without moto they fail
//! with how to install it.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fake_snapsharp::{FakeConfig, FakeServer};

use crate::cache::{self, POSTS, Store, machine, og_requests};

const BUCKET: &str = "cards";
const AUTH: &str = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00";

/// A moto S3 server on a free port of 127.0.0.1, with one empty bucket; stopped when
/// dropped.
struct Moto {
    child: Option<Child>,
    port: u16,
}

impl Moto {
    fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let found = Command::new("python3")
            .args(["-c", "import moto.server"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            found,
            "moto's server is not installed: the S3 tests need it\n  hint: pip install 'moto[server]'"
        );
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs");
        let moto = Moto {
            child: Some(child),
            port,
        };
        let until = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < until,
                "moto_server did not start within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let (status, body) = moto.http("PUT", &format!("/{BUCKET}"), &[]);
        assert_eq!(
            status,
            200,
            "making the bucket: {}",
            String::from_utf8_lossy(&body)
        );
        moto
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// One request: status and body. Moto does not check signatures, but it answers an
    /// anonymous GET of an object with 403, so the request carries an Authorization of the
    /// right form.
    fn http(&self, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        let mut conn = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        write!(
            conn,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\nAuthorization: {AUTH}\r\nConnection: close\r\n\r\n",
            self.port,
            body.len()
        )
        .unwrap();
        conn.write_all(body).unwrap();
        let mut answer = Vec::new();
        conn.read_to_end(&mut answer).unwrap();
        let end = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("an HTTP answer");
        let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
        let status = head[9..12].parse().unwrap();
        let mut body = answer[end + 4..].to_vec();
        if head.contains("transfer-encoding: chunked") {
            body = unchunk(&body);
        }
        (status, body)
    }
}

fn unchunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(
            std::str::from_utf8(&data[..line_end])
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .trim(),
            16,
        )
        .unwrap();
        if size == 0 {
            return out;
        }
        let start = line_end + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Store for Moto {
    fn env(&self) -> Vec<(String, String)> {
        [
            ("OGFORGE_CACHE_URL", format!("s3://{BUCKET}/blog")),
            (
                "AWS_ENDPOINT_URL",
                format!("http://127.0.0.1:{}", self.port),
            ),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    fn objects(&self) -> BTreeSet<String> {
        let (status, body) = self.http(
            "GET",
            &format!("/{BUCKET}?list-type=2&prefix=blog/assets/"),
            &[],
        );
        assert_eq!(status, 200);
        let text = String::from_utf8_lossy(&body);
        text.split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .filter_map(|k| k.strip_prefix("blog/assets/"))
            .map(str::to_string)
            .collect()
    }

    fn read(&self, name: &str) -> Vec<u8> {
        let (status, body) = self.http("GET", &format!("/{BUCKET}/blog/assets/{name}"), &[]);
        assert_eq!(status, 200);
        body
    }

    fn overwrite(&self, name: &str, bytes: Vec<u8>) {
        let (status, _) = self.http("PUT", &format!("/{BUCKET}/blog/assets/{name}"), &bytes);
        assert_eq!(status, 200);
    }
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs moto's S3 server (pip install 'moto[server]'); run with `cargo test --features e2e`"
)]
fn s3_a_second_machine_asks_nothing() {
    cache::a_second_machine_asks_nothing_and_gets_the_same_cards(&Moto::start());
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs moto's S3 server (pip install 'moto[server]'); run with `cargo test --features e2e`"
)]
fn s3_two_shards_and_frozen_assemble() {
    cache::two_shards_ask_once_each_and_frozen_assembles(&Moto::start());
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs moto's S3 server (pip install 'moto[server]'); run with `cargo test --features e2e`"
)]
fn s3_a_damaged_object_is_made_again() {
    cache::a_damaged_object_is_made_again_and_replaced(&Moto::start());
}

/// The S3 server goes away while cards are being made: the uploads after it fail, the
/// cache is given up with one warning, and every page is written all the same.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs moto's S3 server (pip install 'moto[server]'); run with `cargo test --features e2e`"
)]
fn s3_stopped_mid_build_is_a_warning() {
    let mut moto = Moto::start();
    let server = FakeServer::start(FakeConfig::default().latency(Duration::from_millis(300)));
    let site = machine(&server);
    site.write(
        "ogforge.toml",
        site.read("ogforge.toml")
            .replace("timeout_secs = 5", "timeout_secs = 5\nconcurrency = 1"),
    );
    let mut command = Command::new(env!("CARGO_BIN_EXE_ogforge"));
    command
        .args(["build", "--json"])
        .current_dir(site.root())
        .env("SNAPSHARP_API_KEY", "test-key")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in moto.env() {
        command.env(k, v);
    }
    let child = command.spawn().unwrap();
    let until = Instant::now() + Duration::from_secs(60);
    while og_requests(&server) < 2 {
        assert!(Instant::now() < until, "the build never asked for a card");
        std::thread::sleep(Duration::from_millis(20));
    }
    moto.stop();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("the shared cache stopped answering"),
        "{stderr}"
    );
    assert_eq!(og_requests(&server), POSTS);
    for i in 0..POSTS {
        let page = site.read(&format!("public/p{i}/index.html"));
        assert!(
            page.contains("og:image\" content=\"https://blog.test/og/"),
            "p{i}"
        );
    }
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["cache"]["upload_failures"].as_u64().unwrap() > 0,
        "{report}"
    );
}
