//! Real Chromium against pages served from 127.0.0.1. These tests need Chromium
//! installed and fail (not skip) without it, because CI installs it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::*;
use crate::render::FailureKind;

const RED_PAGE: &str = r#"<!doctype html><html><body style="margin:0;background:rgb(255,0,0)">
<div style="width:100px;height:100px;background:rgb(0,0,255)"></div></body></html>"#;

const TALL_PAGE: &str = r#"<!doctype html><html><body style="margin:0">
<div style="height:1500px;background:rgb(0,128,0)"></div></body></html>"#;

fn launch() -> Browser {
    let path = Chromium::find().unwrap_or_else(|| {
        panic!(
            "these tests need Chromium: install it (`apt-get install chromium`) \
             or set OGFORGE_CHROMIUM to its path"
        )
    });
    Browser::launch(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn shot(url: String, width: u32, height: u32) -> ShotRequest {
    ShotRequest {
        url,
        width,
        height,
        full_page: false,
        timeout: Duration::from_secs(15),
        guard: None,
    }
}

/// How the test site answers a path.
#[derive(Clone, Copy)]
enum Answer {
    Page(u16, &'static str),
    /// Accepts and reads the request, then never answers.
    Hang,
    /// A 302 to this path on the same port, under the name `localhost`.
    RedirectToLocalhost(&'static str),
}

/// A tiny HTTP server on 127.0.0.1; stops when dropped.
struct Site {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Site {
    fn start(routes: &[(&'static str, Answer)]) -> Site {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let routes = routes.to_vec();
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let routes = routes.clone();
                    let stop = Arc::clone(&stop);
                    std::thread::spawn(move || answer(stream, &routes, &stop));
                }
            })
        };
        Site {
            port,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees `stop`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn answer(mut stream: TcpStream, routes: &[(&'static str, Answer)], stop: &AtomicBool) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut request = Vec::new();
    let mut buffer = [0; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    let request = String::from_utf8_lossy(&request);
    let path = request.split(' ').nth(1).unwrap_or("/");
    let found = routes.iter().find(|(route, _)| *route == path);
    let (status, body) = match found.map(|(_, answer)| *answer) {
        Some(Answer::Page(status, body)) => (status, body),
        Some(Answer::Hang) => {
            // Bounded: ends with the test, or after 30 s at most.
            let until = Instant::now() + Duration::from_secs(30);
            while !stop.load(Ordering::SeqCst) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
            }
            return;
        }
        Some(Answer::RedirectToLocalhost(to)) => {
            let port = stream.local_addr().map_or(0, |a| a.port());
            let _ = write!(
                stream,
                "HTTP/1.1 302 Found\r\nLocation: http://localhost:{port}{to}\r\n\
                 Content-Length: 0\r\nConnection: close\r\n\r\n"
            );
            return;
        }
        None => (404, ""),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
}

/// The PNG's size and a function giving the RGB of a pixel.
fn decode(png_bytes: &[u8]) -> (u32, u32, impl Fn(u32, u32) -> [u8; 3] + use<>) {
    let size = imagesize::blob_size(png_bytes).expect("a PNG");
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(
        (info.width as usize, info.height as usize),
        (size.width, size.height)
    );
    let channels = info.color_type.samples();
    let (width, line) = (info.width, info.line_size);
    let pixel = move |x: u32, y: u32| {
        assert!(x < width);
        let at = y as usize * line + x as usize * channels;
        [pixels[at], pixels[at + 1], pixels[at + 2]]
    };
    (info.width, info.height, pixel)
}

fn assert_colour(actual: [u8; 3], expected: [u8; 3], what: &str) {
    let close = actual.iter().zip(expected).all(|(a, e)| a.abs_diff(e) <= 2);
    assert!(close, "{what}: {actual:?}, expected {expected:?}");
}

#[test]
fn browser_is_shared_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Browser>();
    send_sync::<ChromiumBackend>();
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Chromium; run with `cargo test --features e2e`"
)]
fn viewport_shot_has_the_requested_size_and_the_page_colours() {
    let site = Site::start(&[("/", Answer::Page(200, RED_PAGE))]);
    let browser = launch();
    let version = browser.version().unwrap();
    assert!(version.contains("Chrome/"), "{version}");
    let started = Instant::now();
    let png = browser.screenshot(&shot(site.url("/"), 800, 600)).unwrap();
    eprintln!("one shot: {:?}", started.elapsed());
    let (width, height, pixel) = decode(&png);
    assert_eq!((width, height), (800, 600));
    assert_colour(pixel(400, 300), [255, 0, 0], "background at (400, 300)");
    assert_colour(pixel(50, 50), [0, 0, 255], "blue box at (50, 50)");
    assert_colour(pixel(150, 50), [255, 0, 0], "right of the box at (150, 50)");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Chromium; run with `cargo test --features e2e`"
)]
fn full_page_shot_covers_the_whole_page() {
    let site = Site::start(&[("/", Answer::Page(200, TALL_PAGE))]);
    let browser = launch();
    let request = ShotRequest {
        full_page: true,
        ..shot(site.url("/"), 640, 480)
    };
    let (width, height, pixel) = decode(&browser.screenshot(&request).unwrap());
    assert_eq!((width, height), (640, 1500));
    assert_colour(pixel(320, 1400), [0, 128, 0], "bottom of the page");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Chromium; run with `cargo test --features e2e`"
)]
fn parallel_shots_share_one_browser() {
    let site = Site::start(&[("/", Answer::Page(200, RED_PAGE))]);
    let backend = ChromiumBackend::new(launch(), 4);
    let started = Instant::now();
    std::thread::scope(|scope| {
        let shots: Vec<_> = (0..4)
            .map(|i| {
                let (backend, url) = (&backend, site.url("/"));
                scope.spawn(move || backend.screenshot(&shot(url, 400 + i * 10, 300)))
            })
            .collect();
        for (i, shot) in shots.into_iter().enumerate() {
            let png = shot.join().unwrap().unwrap();
            let (width, height, pixel) = decode(&png);
            assert_eq!((width, height), (400 + i as u32 * 10, 300));
            assert_colour(pixel(200, 200), [255, 0, 0], "background");
        }
    });
    eprintln!("four shots in parallel: {:?}", started.elapsed());
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Chromium; run with `cargo test --features e2e`"
)]
fn closed_port_is_a_transient_error() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let browser = launch();
    let url = format!("http://127.0.0.1:{port}/");
    let error = browser
        .screenshot(&shot(url.clone(), 800, 600))
        .unwrap_err();
    assert_eq!(error.kind, FailureKind::Transient, "{error}");
    assert!(error.message.contains("ERR_CONNECTION_REFUSED"), "{error}");
    assert!(error.message.contains(&url), "{error}");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Chromium; run with `cargo test --features e2e`"
)]
fn page_that_never_loads_times_out() {
    let site = Site::start(&[("/", Answer::Hang)]);
    let browser = launch();
    let request = ShotRequest {
        timeout: Duration::from_secs(2),
        ..shot(site.url("/"), 800, 600)
    };
    let started = Instant::now();
    let error = browser.screenshot(&request).unwrap_err();
    assert_eq!(error.kind, FailureKind::Transient, "{error}");
    assert!(error.message.contains("within 2 s"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(10), "{error}");
    // The browser is still good for the next shot.
    let site = Site::start(&[("/", Answer::Page(200, RED_PAGE))]);
    browser.screenshot(&shot(site.url("/"), 200, 100)).unwrap();
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Chromium; run with `cargo test --features e2e`"
)]
fn http_error_page_is_captured_as_served_and_an_empty_one_fails() {
    let site = Site::start(&[
        ("/gone", Answer::Page(404, RED_PAGE)),
        ("/empty", Answer::Page(404, "")),
        ("/busy", Answer::Page(503, "")),
    ]);
    let browser = launch();
    let (_, _, pixel) = decode(
        &browser
            .screenshot(&shot(site.url("/gone"), 300, 200))
            .unwrap(),
    );
    assert_colour(pixel(200, 150), [255, 0, 0], "the 404 page's background");

    let error = browser
        .screenshot(&shot(site.url("/empty"), 300, 200))
        .unwrap_err();
    assert_eq!(error.kind, FailureKind::Permanent, "{error}");
    assert!(error.message.contains("HTTP 404"), "{error}");
    let error = browser
        .screenshot(&shot(site.url("/busy"), 300, 200))
        .unwrap_err();
    assert_eq!(error.kind, FailureKind::Transient, "{error}");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Chromium; run with `cargo test --features e2e`"
)]
fn file_urls_are_captured_and_a_missing_file_is_permanent() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), RED_PAGE).unwrap();
    let browser = launch();
    let url = format!("file://{}/index.html", dir.path().display());
    let (_, _, pixel) = decode(&browser.screenshot(&shot(url, 300, 200)).unwrap());
    assert_colour(pixel(50, 50), [0, 0, 255], "blue box at (50, 50)");

    let url = format!("file://{}/missing.html", dir.path().display());
    let error = browser.screenshot(&shot(url, 300, 200)).unwrap_err();
    assert_eq!(error.kind, FailureKind::Permanent, "{error}");
    assert!(error.message.contains("ERR_FILE_NOT_FOUND"), "{error}");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Chromium; run with `cargo test --features e2e`"
)]
fn invalid_url_is_a_permanent_error() {
    let browser = launch();
    let error = browser
        .screenshot(&shot("http://exa mple[/".into(), 300, 200))
        .unwrap_err();
    assert_eq!(error.kind, FailureKind::Permanent, "{error}");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Chromium; run with `cargo test --features e2e`"
)]
fn dropping_the_browser_ends_every_chromium_process_and_the_profile() {
    let site = Site::start(&[("/", Answer::Page(200, RED_PAGE))]);
    let browser = launch();
    browser.screenshot(&shot(site.url("/"), 200, 100)).unwrap();
    let pid = browser.pid();
    assert!(group_members(pid).len() > 1, "renderers run in the group");
    let profile = process_profile(pid).expect("a --user-data-dir flag");
    assert!(profile.is_dir());
    let started = Instant::now();
    drop(browser);
    eprintln!("drop: {:?}", started.elapsed());
    assert_eq!(group_members(pid), Vec::<u32>::new());
    assert!(!profile.exists(), "{} is left", profile.display());
}

#[test]
fn chromium_that_exits_at_start_is_an_error_with_what_it_said() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("chromium");
    std::fs::write(&fake, "#!/bin/sh\necho 'cannot open display' >&2\nexit 3\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let Err(error) = Browser::launch(&fake) else {
        panic!("a launch that exits succeeded");
    };
    assert!(error.contains("exited before it was ready"), "{error}");
    assert!(error.contains("cannot open display"), "{error}");
    assert!(error.contains(&fake.display().to_string()), "{error}");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Chromium; run with `cargo test --features e2e`"
)]
fn shots_after_chromium_died_fail_as_transient() {
    let browser = launch();
    let pid = i32::try_from(browser.pid()).unwrap();
    // SAFETY: kills only the test's own browser process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let site = Site::start(&[("/", Answer::Page(200, RED_PAGE))]);
    let started = Instant::now();
    let error = browser
        .screenshot(&shot(site.url("/"), 200, 100))
        .unwrap_err();
    assert_eq!(error.kind, FailureKind::Transient, "{error}");
    assert!(error.message.contains("Chromium"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5), "{error}");
}

#[test]
fn configured_chromium_wins_and_names_are_looked_up_on_path() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let make = |name: &str, mode: u32| {
        let path = dir.path().join(name);
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    };
    let chrome = make("google-chrome", 0o755);
    let mine = make("my-chromium", 0o755);
    make("chromium", 0o644); // not executable: skipped
    let path_var = Some(dir.path().as_os_str());

    assert_eq!(find_in(None, path_var), Some(chrome.clone()));
    assert_eq!(find_in(Some("".into()), path_var), Some(chrome));
    assert_eq!(find_in(Some(mine.clone().into()), None), Some(mine.clone()));
    assert_eq!(find_in(Some("my-chromium".into()), path_var), Some(mine));
    assert_eq!(find_in(Some("/no/such/chromium".into()), path_var), None);
    assert_eq!(find_in(None, None), None);
}

/// Processes in `pid`'s process group, from /proc.
fn group_members(pid: u32) -> Vec<u32> {
    let mut members = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
        let Some((head, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let fields: Vec<&str> = rest.split(' ').collect();
        if fields.first() != Some(&"Z") && fields.get(2) == Some(&pid.to_string().as_str()) {
            members.extend(head.split(' ').next().and_then(|p| p.parse::<u32>().ok()));
        }
    }
    members
}

fn process_profile(pid: u32) -> Option<PathBuf> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    String::from_utf8_lossy(&cmdline)
        .split('\0')
        .find_map(|arg| arg.strip_prefix("--user-data-dir=").map(PathBuf::from))
}

/// A guard that refuses the name `localhost` and lets `127.0.0.1` through, so that a test
/// server here can stand for a public site and a private one at once.
fn no_localhost() -> UrlGuard {
    UrlGuard(Arc::new(|url: &str| {
        if url.contains("://localhost") {
            Err("refused: localhost is not allowed".into())
        } else {
            Ok(())
        }
    }))
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Chromium; run with `cargo test --features e2e`"
)]
fn a_guard_refuses_a_redirect_to_a_refused_host() {
    const WITH_PICTURE: &str = r#"<!doctype html><html><body style="margin:0;background:rgb(255,0,0)">
<img src="/to-localhost" width="10" height="10"></body></html>"#;
    let site = Site::start(&[
        ("/start", Answer::RedirectToLocalhost("/inside")),
        ("/inside", Answer::Page(200, RED_PAGE)),
        ("/page", Answer::Page(200, WITH_PICTURE)),
        ("/to-localhost", Answer::RedirectToLocalhost("/inside")),
    ]);
    let browser = launch();
    let guarded = |path: &str| ShotRequest {
        guard: Some(no_localhost()),
        ..shot(site.url(path), 400, 300)
    };
    let error = browser.screenshot(&guarded("/start")).unwrap_err();
    assert_eq!(error.kind, FailureKind::Permanent, "{error}");
    assert!(
        error
            .message
            .starts_with("refused: localhost is not allowed"),
        "{error}"
    );
    assert!(
        error
            .message
            .contains(&format!("http://localhost:{}/inside", site.port)),
        "names where the page led: {error}"
    );
    // Allowed pages load through the guard, and a refused picture in one only leaves
    // a hole.
    let (_, _, pixel) = decode(&browser.screenshot(&guarded("/page")).unwrap());
    assert_colour(pixel(200, 200), [255, 0, 0], "background");
    // Without a guard the redirect is followed.
    browser
        .screenshot(&shot(site.url("/start"), 400, 300))
        .unwrap();
}
