//! Screenshots through a whole build: front matter forms, SnapSharp through the fake
//! server (calls made, none on a rebuild, a 404 failing only its screenshot), pages that
//! show them, a card made from one.

use fake_snapsharp::{FakeConfig, FakeServer, Fault, FaultAction};

use crate::support::{CONFIG, Site, require_chromium};

fn site_with(server: &FakeServer) -> Site {
    let site = Site::new();
    site.write(
        "ogforge.toml",
        format!(
            "{CONFIG}[screenshots]\nbackend = \"snapsharp\"\nwidth = 1024\nheight = 640\n[snapsharp]\nbase_url = \"{}\"\nrate_limit = \"1000/s\"\n",
            server.base_url()
        ),
    );
    site
}

fn shot_requests(server: &FakeServer) -> Vec<serde_json::Value> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/screenshot"))
        .map(|r| r.body)
        .collect()
}

fn build(site: &Site) -> crate::support::Run {
    site.run_with_env(&["build", "-v"], &[("SNAPSHARP_API_KEY", "test-key")])
}

#[test]
fn one_call_per_changed_url_and_none_on_a_rebuild() {
    let server = FakeServer::start(FakeConfig::default());
    let site = site_with(&server);
    site.post(
        "one.md",
        "title: One\nscreenshot: https://example.com/",
        "x",
    );
    site.post(
        "two.md",
        "title: Two\nscreenshot:\n  - https://a.example/\n  - url: https://b.example/\n    width: 800\n    height: 600\n    delay: 2\n    alt: The B site",
        "y",
    );
    let run = build(&site).expect(0);
    let bodies = shot_requests(&server);
    assert_eq!(bodies.len(), 3, "{}", run.stderr());
    let b = bodies
        .iter()
        .find(|b| b["url"] == "https://b.example/")
        .unwrap();
    assert_eq!(
        (b["width"].as_u64(), b["height"].as_u64()),
        (Some(800), Some(600))
    );
    assert_eq!(b["delay"], 2, "other options pass through");
    assert_eq!(b["format"], "png");
    let a = bodies
        .iter()
        .find(|b| b["url"] == "https://a.example/")
        .unwrap();
    assert_eq!(a["width"], 1024, "[screenshots] size is the default");

    let page = site.read("public/two/index.html");
    assert!(
        page.contains("<a href=\"https://b.example/\"><img src=\"/screenshots/two."),
        "{page}"
    );
    assert!(
        page.contains("width=\"800\" height=\"600\" alt=\"The B site\""),
        "{page}"
    );
    let files: Vec<_> = std::fs::read_dir(site.path("public/screenshots"))
        .unwrap()
        .collect();
    assert_eq!(files.len(), 3);

    build(&site).expect(0);
    assert_eq!(
        shot_requests(&server).len(),
        3,
        "nothing asked on a rebuild"
    );
    site.post(
        "one.md",
        "title: One\nscreenshot: https://example.org/",
        "x",
    );
    let run = build(&site).expect(0);
    assert_eq!(shot_requests(&server).len(), 4, "one changed URL, one call");
    assert!(
        run.stderr().contains("dirty content/one.md: screenshot:"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_404_fails_only_that_screenshot() {
    let server = FakeServer::start(FakeConfig::default().fault(Fault::when_body_contains(
        "https://gone.example/",
        FaultAction::StatusMessage(404, "page not found".into()),
    )));
    let site = site_with(&server);
    site.post(
        "p.md",
        "title: P\nscreenshot: [https://gone.example/, https://fine.example/]",
        "x",
    );
    let run = build(&site).expect(1);
    let err = run.stderr();
    assert!(
        err.contains("content/p.md: the screenshot of https://gone.example/ could not be made: HTTP 404: page not found"),
        "{err}"
    );
    let page = site.read("public/p/index.html");
    assert!(
        page.contains("<a href=\"https://fine.example/\"><img src=\"/screenshots/p."),
        "{page}"
    );
    assert!(
        !page.contains("<a href=\"https://gone.example/\">"),
        "the failed one is not shown"
    );
    assert!(page.contains("og:image"), "the card is unaffected");
}

#[test]
fn only_http_and_https_urls() {
    let site = Site::new();
    site.write(
        "ogforge.toml",
        format!("{CONFIG}[screenshots]\nbackend = \"off\"\n"),
    );
    site.post("bad.md", "title: Bad\nscreenshot: file:///etc/passwd", "x");
    site.post("good.md", "title: Good", "x");
    let run = site.build().expect(2);
    assert!(
        run.stderr().contains(
            "content/bad.md:3: the screenshot URL `file:///etc/passwd` is not an http or https URL"
        ),
        "{}",
        run.stderr()
    );
    assert!(site.exists("public/good/index.html"));
}

#[test]
fn auto_without_key_or_chromium_skips_with_one_warning() {
    let site = Site::new();
    site.post("a.md", "title: A\nscreenshot: https://a.example/", "x");
    site.post("b.md", "title: B\nscreenshot: https://b.example/", "x");
    let run = site.run_with_env(
        &["build"],
        &[
            ("OGFORGE_CHROMIUM", "/nonexistent/chromium"),
            ("PATH", "/nonexistent"),
        ],
    );
    let run = run.expect(0);
    let warnings: Vec<_> = run
        .stderr()
        .lines()
        .filter(|l| l.contains("skipped"))
        .map(str::to_string)
        .collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr());
    assert!(
        warnings[0].contains("2 screenshots skipped"),
        "{}",
        warnings[0]
    );
}

#[test]
fn a_card_made_from_the_first_screenshot() {
    let server = FakeServer::start(FakeConfig::default());
    let site = site_with(&server);
    site.post(
        "p.md",
        "title: P\nscreenshot: https://example.com/\nog:\n  source: screenshot",
        "x",
    );
    build(&site).expect(0);
    let page = site.read("public/p/index.html");
    let card = page
        .split("og:image\" content=\"https://blog.test/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let size = imagesize::size(site.path(&format!("public/{card}"))).unwrap();
    assert_eq!(
        (size.width, size.height),
        (1200, 630),
        "fitted to the card size"
    );
}

/// Serves one green page on 127.0.0.1 until the process ends; returns its URL.
fn serve_green_page() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let body = "<!doctype html><html><body style=\"margin:0;background:rgb(0,160,80)\"><h1>hi</h1></body></html>";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Chromium; run with `cargo test --features e2e`"
)]
fn chromium_captures_a_page_served_here() {
    require_chromium();
    let url = serve_green_page();
    let site = Site::new();
    site.write(
        "ogforge.toml",
        format!(
            "{CONFIG}[screenshots]\nbackend = \"chromium\"\nwidth = 640\nheight = 400\nallow_private = true\n"
        ),
    );
    site.post("p.md", &format!("title: P\nscreenshot: {url}"), "x");
    let run = site.run(&["build", "-v"]);
    let run = run.expect(0);
    let page = site.read("public/p/index.html");
    let src = page
        .split("<img src=\"/")
        .nth(1)
        .unwrap_or_else(|| panic!("no figure: {}", run.stderr()))
        .split('"')
        .next()
        .unwrap();
    let png = std::fs::read(site.path(&format!("public/{src}"))).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(&png));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (640, 400));
    let channels = info.color_type.samples();
    let at = (300 * 640 + 320) * channels;
    let pixel = &buf[at..at + 3];
    assert!(
        pixel[0] < 10 && (150..=170).contains(&pixel[1]) && (70..=90).contains(&pixel[2]),
        "the page's green at (320, 300): {pixel:?}"
    );
    // A rebuild takes nothing again and starts no browser.
    let again = site.run(&["build", "-v"]).expect(0);
    assert!(
        again.stderr().contains("fresh content/p.md"),
        "{}",
        again.stderr()
    );
}

/// A stand-in for Chromium that only leaves a mark that it was started; returns its path
/// and the mark's.
#[cfg(unix)]
fn fake_chromium(site: &Site) -> (String, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let mark = site.tmp.path().join("chromium-was-started");
    let path = site.tmp.path().join("fake-chromium");
    std::fs::write(
        &path,
        format!("#!/bin/sh\ntouch '{}'\nexit 1\n", mark.display()),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    (path.display().to_string(), mark)
}

#[cfg(unix)]
#[test]
fn chromium_refuses_loopback_and_localhost_before_starting() {
    let site = Site::new();
    let (chromium, mark) = fake_chromium(&site);
    site.post("x.md", "title: X\nscreenshot: http://127.0.0.1:8080/", "x");
    site.post(
        "y.md",
        "title: Y\nscreenshot: http://localhost:8080/admin",
        "y",
    );
    site.post(
        "z.md",
        "title: Z\nscreenshot: http://169.254.169.254/latest/meta-data/",
        "z",
    );
    for backend in ["chromium", "auto"] {
        site.write(
            "ogforge.toml",
            format!("{CONFIG}[screenshots]\nbackend = \"{backend}\"\n"),
        );
        for round in 0..2 {
            let run = site
                .run_with_env(&["build"], &[("OGFORGE_CHROMIUM", chromium.as_str())])
                .expect(1);
            let err = run.stderr();
            for needle in [
                "error: content/x.md: screenshot of http://127.0.0.1:8080/ refused: 127.0.0.1 is a loopback address\n  hint: set allow_private = true under [screenshots] in ogforge.toml to allow it",
                "error: content/y.md: screenshot of http://localhost:8080/admin refused: localhost is this machine's own name",
                "error: content/z.md: screenshot of http://169.254.169.254/latest/meta-data/ refused: 169.254.169.254 is a link-local address",
            ] {
                assert!(
                    err.contains(needle),
                    "{backend}, round {round}: lacks {needle:?}:\n{err}"
                );
            }
            assert!(
                !err.contains("failed before"),
                "decided again each build: {err}"
            );
            assert!(!mark.exists(), "Chromium was started ({backend}):\n{err}");
            assert!(site.read("public/x/index.html").contains("og:image"));
        }
    }
    let manifest = site.read(".ogforge/manifest.json");
    assert!(
        manifest.contains("refused: 127.0.0.1 is a loopback address"),
        "{manifest}"
    );
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Chromium; run with `cargo test --features e2e`"
)]
fn chromium_loads_a_page_served_here_once_allowed() {
    require_chromium();
    let url = serve_green_page();
    let site = Site::new();
    site.write(
        "ogforge.toml",
        format!("{CONFIG}[screenshots]\nbackend = \"chromium\"\n"),
    );
    site.post("p.md", &format!("title: P\nscreenshot: {url}"), "x");
    let err = site.build().expect(1).stderr();
    assert!(
        err.contains("refused: 127.0.0.1 is a loopback address"),
        "{err}"
    );
    site.write(
        "ogforge.toml",
        format!("{CONFIG}[screenshots]\nbackend = \"chromium\"\nallow_private = true\n"),
    );
    let run = site.build().expect(0);
    assert!(
        site.read("public/p/index.html")
            .contains("<img src=\"/screenshots/p."),
        "{}",
        run.stderr()
    );
}
