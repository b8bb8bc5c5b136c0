//! `serve` on a temporary copy of example-site, spoken to over plain TCP: files and their
//! types, folders, 404s, no way out of the output folder, live reload only in what is
//! served, the events stream, the gallery and its Retry button.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ogforge::serve::Server;
use ogforge::watch::{Cause, WatchEvent};
use ogforge::{BuildOptions, Verbosity};

use crate::support::Site;
use crate::watch::{FIRST_BUILD, PAGE, POST, TIMEOUT, edit};

const SCRIPT_MARK: &str = "data-ogforge-live-reload";

/// `serve` running over a site in a thread of its own; stopped when dropped.
pub struct Serving {
    pub port: u16,
    stop: Arc<AtomicBool>,
    events: Receiver<WatchEvent>,
    thread: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Serving {
    /// Serves `site` on a free port and waits for the first build.
    pub fn start(site: &Site) -> Serving {
        let options = BuildOptions {
            site_dir: site.root(),
            ..BuildOptions::default()
        };
        let server = Server::bind(&options, 0).unwrap();
        assert_eq!(server.url(), format!("http://127.0.0.1:{}/", server.port()));
        let port = server.port();
        let stop = Arc::new(AtomicBool::new(false));
        let (to_test, events) = mpsc::channel();
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            server.run(Verbosity::Quiet, flag, move |event| {
                let _ = to_test.send(event.clone());
            })
        });
        let serving = Serving {
            port,
            stop,
            events,
            thread: Some(thread),
        };
        let first = serving
            .events
            .recv_timeout(FIRST_BUILD)
            .expect("the first build");
        assert_eq!(first.cause, Cause::Start);
        serving
    }

    pub fn next(&self) -> WatchEvent {
        self.events
            .recv_timeout(TIMEOUT)
            .unwrap_or_else(|e| panic!("no build within {TIMEOUT:?}: {e}"))
    }

    pub fn get(&self, path: &str) -> Reply {
        self.request(&format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
    }

    /// Sends `raw` as it is and reads the reply to the end.
    pub fn request(&self, raw: &str) -> Reply {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.write_all(raw.as_bytes()).unwrap();
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).unwrap();
        Reply::parse(&bytes)
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let result = thread.join();
            if !std::thread::panicking() {
                result.expect("serve panicked").expect("serve failed");
            }
        }
    }
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    fn parse(bytes: &[u8]) -> Reply {
        let end = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete head");
        let head = String::from_utf8_lossy(&bytes[..end]);
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap().split(' ').nth(1).unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Reply {
            status: status.parse().unwrap(),
            headers,
            body: bytes[end + 4..].to_vec(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The hello-world post's card file, as the page on disk names it.
fn card_path(site: &Site) -> String {
    let page = site.read(PAGE);
    let at = page
        .find("/og/hello-world.")
        .expect("the page names its card");
    let end = at + page[at..].find('"').unwrap();
    page[at..end].to_string()
}

#[test]
fn serves_files_with_their_types_and_folders_by_their_index() {
    let site = Site::example();
    site.write("static/data.json", "{\"a\": 1}");
    site.write("static/app.js", "console.log(1)");
    let serving = Serving::start(&site);

    let home = serving.get("/");
    assert_eq!(home.status, 200);
    assert_eq!(
        home.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(home.text().contains("Field Notes"));

    let folder = serving.get("/posts/hello-world");
    assert_eq!(folder.status, 301);
    assert_eq!(folder.header("location"), Some("/posts/hello-world/"));
    let page = serving.get("/posts/hello-world/");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Hello, world"));
    assert_eq!(serving.get("/posts/hello-world/index.html").status, 200);

    let card = card_path(&site);
    let png = serving.get(&card);
    assert_eq!(png.status, 200);
    assert_eq!(png.header("content-type"), Some("image/png"));
    assert_eq!(
        png.body,
        std::fs::read(site.path(&format!("public{card}"))).unwrap()
    );

    for (path, content_type) in [
        ("/style.css", "text/css; charset=utf-8"),
        ("/posts/trip-to-lisbon/map.svg", "image/svg+xml"),
        ("/data.json", "application/json"),
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/robots.txt", "text/plain; charset=utf-8"),
    ] {
        let reply = serving.get(path);
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.header("content-type"), Some(content_type), "{path}");
        assert!(
            !reply.text().contains(SCRIPT_MARK),
            "{path}: only HTML gets the script"
        );
    }

    let head = serving.request("HEAD /style.css HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("content-length").unwrap(),
        site.read("public/style.css").len().to_string()
    );
    let post = serving.request("DELETE / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(post.status, 405);
}

#[test]
fn a_missing_page_is_a_404_page_that_reloads() {
    let site = Site::example();
    let serving = Serving::start(&site);
    let reply = serving.get("/no/such/page/");
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(reply.text().contains("Not found"));
    assert!(reply.text().contains(SCRIPT_MARK));

    // A site's own 404.html is used when it has one.
    site.write("public/404.html", "<html><body>Our own 404</body></html>");
    let reply = serving.get("/nope");
    assert_eq!(reply.status, 404);
    assert!(reply.text().contains("Our own 404"));
}

#[test]
fn nothing_outside_the_output_folder_is_served() {
    let site = Site::example();
    // Beside the site folder, and in the site folder but outside its output.
    std::fs::write(site.tmp.path().join("secret.txt"), "TOP SECRET").unwrap();
    let serving = Serving::start(&site);
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        site.tmp.path().join("secret.txt"),
        site.path("public/link.txt"),
    )
    .unwrap();
    for path in [
        "/../secret.txt",
        "/../../secret.txt",
        "/%2e%2e/%2e%2e/secret.txt",
        "/%2E%2E%2F%2E%2E%2Fsecret.txt",
        "/posts/../../../secret.txt",
        "/..%5c..%5csecret.txt",
        "/../ogforge.toml",
        "/%2e%2e/ogforge.toml",
        "/link.txt",
        "//etc/passwd",
    ] {
        let reply = serving.get(path);
        assert_ne!(reply.status, 200, "{path}");
        let text = reply.text();
        assert!(
            !text.contains("TOP SECRET") && !text.contains("base_url") && !text.contains("root:"),
            "{path} leaked: {text}"
        );
    }
    let bad = serving.request("GET ../secret.txt HTTP/1.1\r\n\r\n");
    assert_eq!(bad.status, 400);
}

#[test]
fn the_live_reload_script_is_served_never_written() {
    let site = Site::example();
    let serving = Serving::start(&site);
    let on_disk = site.read(PAGE);
    assert!(!on_disk.contains(SCRIPT_MARK));
    assert!(!on_disk.contains("EventSource"));
    let served = serving.get("/posts/hello-world/").text();
    let script = served
        .find(SCRIPT_MARK)
        .expect("the served page has the script");
    let body_end = served.rfind("</body>").expect("the page ends its body");
    assert!(script < body_end, "the script comes before </body>");
    // Everything else is the page on disk, byte for byte.
    let start = served[..script].rfind("<script").unwrap();
    let end = script + served[script..].find("</script>").unwrap() + "</script>".len();
    assert_eq!(format!("{}{}", &served[..start], &served[end..]), on_disk);

    // Still none on disk after a rebuild.
    edit(
        &site,
        POST,
        "title: Hello, world",
        "title: Hello, served world",
    );
    serving.next();
    assert!(site.read(PAGE).contains("Hello, served world"));
    assert!(!site.read(PAGE).contains(SCRIPT_MARK));
}

#[test]
fn the_events_stream_tells_of_every_build() {
    let site = Site::example();
    let serving = Serving::start(&site);
    let mut stream = TcpStream::connect(("127.0.0.1", serving.port)).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream
        .write_all(b"GET /_ogforge/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut read_until = |wanted: &str| {
        let deadline = Instant::now() + TIMEOUT;
        let mut seen = String::new();
        while Instant::now() < deadline {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            seen.push_str(&line);
            if line.contains(wanted) {
                return seen;
            }
        }
        panic!("no `{wanted}` in the stream; got:\n{seen}");
    };
    let head = read_until("text/event-stream");
    assert!(head.contains("text/event-stream"), "{head}");
    // At once: the build the server is at.
    read_until("data: {\"number\":1,\"ok\":true}");

    edit(
        &site,
        POST,
        "title: Hello, world",
        "title: Hello, streamed world",
    );
    serving.next();
    read_until("event: build");
    read_until("data: {\"number\":2,\"ok\":true}");
}

#[test]
fn the_gallery_shows_every_post_as_each_network_would() {
    let site = Site::example();
    // A page whose tags `check` finds fault with.
    site.write(
        "static/broken.html",
        "<html><head><meta property=\"og:title\" content=\"Broken page\"></head><body>x</body></html>",
    );
    let serving = Serving::start(&site);
    let reply = serving.get("/_ogforge/");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let gallery = reply.text();
    for title in [
        "Hello, world",
        "Shipping day 🚀 version 1.0 is out",
        "東京で見つけた小さな本屋",
        "A weekend in Lisbon",
        "Error handling in Rust: &lt;Result&gt;, &amp; the ? operator",
    ] {
        assert!(gallery.contains(title), "the gallery shows {title}");
    }
    for network in ["X", "Facebook", "LinkedIn", "Slack", "Discord"] {
        assert!(
            gallery.contains(&format!("<figcaption>{network}</figcaption>")),
            "{network}"
        );
    }
    // The real card, as this server serves it, and the real domain.
    assert!(gallery.contains(&format!("src=\"{}\"", card_path(&site))));
    assert!(gallery.contains("fieldnotes.example.com"));
    assert!(
        gallery.contains("FIELDNOTES.EXAMPLE.COM"),
        "Facebook's upper-case domain"
    );
    // What check says of each page.
    let broken = &gallery[gallery.find("data-page=\"broken.html\"").unwrap()..];
    let broken = &broken[..broken.find("</section>").unwrap()];
    assert!(broken.contains("missing-og-image"), "{broken}");
    assert!(gallery.contains("check: no problems"));
    assert!(gallery.contains(SCRIPT_MARK), "the gallery reloads itself");
    assert_eq!(serving.get("/_ogforge").status, 301);
    assert_eq!(serving.get("/_ogforge/nothing").status, 404);
}

#[test]
fn a_failed_card_is_shown_with_its_error_and_retried_on_request() {
    let site = Site::example();
    site.write(
        "templates/og/broken.svg",
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1200\" height=\"630\"><rect></svg>",
    );
    site.post(
        "posts/bad-card.md",
        "title: A post with a bad card\nog:\n  template: broken",
        "Body.",
    );
    let serving = Serving::start(&site);
    let gallery = serving.get("/_ogforge/").text();
    let key = "card:content/posts/bad-card.md";
    let failed = &gallery[gallery
        .find(&format!("data-key=\"{key}\""))
        .expect("the failed card is listed")..];
    assert!(failed.contains("invalid SVG"), "{failed}");
    assert!(failed.contains("action=\"/_ogforge/retry?key=card:content/posts/bad-card.md\""));

    // As a form posts it, with the key percent-encoded.
    let reply = serving.request(
        "POST /_ogforge/retry?key=card%3Acontent%2Fposts%2Fbad-card.md HTTP/1.1\r\n\
         Host: x\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(reply.status, 303);
    assert_eq!(reply.header("location"), Some("/_ogforge/"));
    let event = serving.next();
    assert_eq!(event.cause, Cause::Retry(key.to_string()));
    assert!(
        event
            .problems
            .iter()
            .any(|p| p.message.contains("invalid SVG")),
        "the retry asked again: {:?}",
        event.problems
    );

    // The template fixed, the card is made and the gallery has no failure left.
    let good = std::fs::read_to_string(site.path("templates/og/broken.svg"))
        .unwrap()
        .replace("<rect></svg>", "<rect width=\"10\" height=\"10\"/></svg>");
    site.write("templates/og/broken.svg", good);
    let event = serving.next();
    assert_eq!(event.result.unwrap().cards_failed, 0);
    assert!(!serving.get("/_ogforge/").text().contains(key));
}

#[test]
fn serving_stops_when_asked() {
    let site = Site::example();
    let serving = Serving::start(&site);
    let port = serving.port;
    let asked = Instant::now();
    drop(serving);
    assert!(asked.elapsed() < Duration::from_secs(2));
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the port is closed"
    );
}

/// A tab of a real headless Chromium, spoken to through `Runtime.evaluate`.
struct Tab<'a> {
    browser: &'a ogforge::render::chromium::Browser,
    session: String,
}

impl<'a> Tab<'a> {
    fn open(browser: &'a ogforge::render::chromium::Browser, url: &str) -> Tab<'a> {
        let call = |method: &str, params: serde_json::Value| {
            browser
                .call(method, params, None, Duration::from_secs(10))
                .unwrap_or_else(|e| panic!("{method}: {e}"))
        };
        let target = call("Target.createTarget", serde_json::json!({ "url": url }));
        let attached = call(
            "Target.attachToTarget",
            serde_json::json!({ "targetId": target["targetId"], "flatten": true }),
        );
        Tab {
            browser,
            session: attached["sessionId"].as_str().unwrap().to_string(),
        }
    }

    /// The value of a JavaScript expression; `null` while the page is being replaced.
    fn eval(&self, expression: &str) -> serde_json::Value {
        self.browser
            .call(
                "Runtime.evaluate",
                serde_json::json!({ "expression": expression, "returnByValue": true }),
                Some(&self.session),
                Duration::from_secs(10),
            )
            .map(|r| r["result"]["value"].clone())
            .unwrap_or(serde_json::Value::Null)
    }

    /// Waits until `expression` is `true`.
    fn wait_for(&self, what: &str, expression: &str) {
        let deadline = Instant::now() + TIMEOUT;
        while self.eval(expression) != serde_json::Value::Bool(true) {
            assert!(
                Instant::now() < deadline,
                "{what}: not within {TIMEOUT:?} (title: {})",
                self.eval("document.title")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Chromium; run with `cargo test --features e2e`"
)]
fn a_real_browser_reloads_the_page_and_the_gallery_after_an_edit() {
    use ogforge::render::chromium::Browser;

    let chromium = crate::support::require_chromium();
    let site = Site::example();
    let serving = Serving::start(&site);
    let browser = Browser::launch(&chromium).unwrap();
    let base = format!("http://127.0.0.1:{}", serving.port);

    let page = Tab::open(&browser, &format!("{base}/posts/hello-world/"));
    page.wait_for(
        "the post loaded",
        "document.readyState === 'complete' && document.title.includes('Hello, world')",
    );
    let gallery = Tab::open(&browser, &format!("{base}/_ogforge/"));
    gallery.wait_for(
        "the gallery loaded",
        "document.readyState === 'complete' && document.querySelectorAll('section.card').length >= 7",
    );
    // The card the gallery shows is the real picture, served here.
    gallery.wait_for(
        "the first card's picture",
        "(function(){ var i = document.querySelector('.fb-card img'); \
         return !!i && i.complete && i.naturalWidth === 1200 && i.naturalHeight === 630; })()",
    );
    // A mark that a reload wipes out.
    for tab in [&page, &gallery] {
        assert_eq!(
            tab.eval(
                "window.notReloaded = true; !!document.querySelector('[data-ogforge-live-reload]')"
            ),
            serde_json::Value::Bool(true)
        );
    }

    edit(
        &site,
        POST,
        "title: Hello, world",
        "title: Hello from the browser",
    );
    page.wait_for(
        "the post reloaded with its new title",
        "window.notReloaded === undefined && document.readyState === 'complete' \
         && document.title.includes('Hello from the browser')",
    );
    gallery.wait_for(
        "the gallery reloaded with the new title",
        "window.notReloaded === undefined && document.readyState === 'complete' \
         && document.body.innerText.includes('Hello from the browser')",
    );
}
