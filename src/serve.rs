//! `ogforge serve`: [`watch`](crate::watch) plus a preview server on 127.0.0.1 with live
//! reload and a gallery of how every page unfurls.
//!
//! ```text
//! browser ─GET /posts/a/───────> output folder ─> HTML? + live-reload script (in the
//!                                                 response only, never on disk)
//!         ─GET /_ogforge/──────> gallery: pages' tags, check findings, failed assets
//!         ─POST /_ogforge/retry─> Wake::Retry ─> watch loop ─> build(retry_failed)
//!         ─GET /_ogforge/events─> kept open: `build` after every build, `assets` when
//!                                 the manifest changes during one (cards finishing)
//! watch loop ─> WatchEvent ─> every open events stream
//! ```
//!
//! The server is std only: a thread accepts, a thread serves each connection, one
//! request per connection. It is a preview for one writer on their own machine, so
//! simplicity wins over throughput; what it must never do is hand out a file from
//! outside the output folder.

mod gallery;
mod http;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};

use crate::build::BuildOptions;
use crate::config::Config;
use crate::manifest::Manifest;
use crate::report::{Problem, Verbosity};
use crate::watch::{Wake, WatchEvent, watch_with};
use http::{Request, Response};

/// Where the server's own pages live; no site has a folder of that name.
pub const PREFIX: &str = "/_ogforge/";

/// The live-reload events stream.
pub const EVENTS_PATH: &str = "/_ogforge/events";

/// How often an open events stream is written to when nothing happens, to notice a
/// browser that went away.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// How often the manifest is looked at for assets that finished during a build.
const MANIFEST_POLL: Duration = Duration::from_millis(250);

/// Watches and builds the site in `options.site_dir` and serves its output on
/// `127.0.0.1:port` (`0`: any free port) until `stop` is set. Prints
/// `serving http://127.0.0.1:PORT/` on stdout once the port is open.
pub fn serve(
    options: &BuildOptions,
    port: u16,
    verbosity: Verbosity,
    stop: Arc<AtomicBool>,
) -> Result<()> {
    let server = Server::bind(options, port)?;
    println!("serving {}", server.url());
    server.run(verbosity, stop, |_| {})
}

/// A bound preview server, not yet serving: [`serve`] in two steps, so that a caller
/// (a test) learns the port before the first build.
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    options: BuildOptions,
}

impl Server {
    pub fn bind(options: &BuildOptions, port: u16) -> Result<Server> {
        let listener = TcpListener::bind(("127.0.0.1", port)).with_context(|| {
            format!("cannot listen on 127.0.0.1:{port}\n  hint: is another server using it? Try another --port, or 0 for any free one")
        })?;
        let addr = listener.local_addr()?;
        Ok(Server {
            listener,
            addr,
            options: options.clone(),
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Builds, serves and rebuilds until `stop` is set; `on_build` hears of every build
    /// after the browsers do.
    pub fn run(
        self,
        verbosity: Verbosity,
        stop: Arc<AtomicBool>,
        mut on_build: impl FnMut(&WatchEvent),
    ) -> Result<()> {
        let site_dir = self.options.site_dir.clone();
        let (to_loop, wake) = mpsc::channel();
        let shared = Arc::new(Shared {
            output: Mutex::new(initial_output(&site_dir)),
            site_dir,
            last: Mutex::new(LastBuild::default()),
            clients: Mutex::new(Vec::new()),
            manifest_stamp: Mutex::new(None),
            to_loop: Mutex::new(to_loop.clone()),
            stop: Arc::clone(&stop),
        });
        *lock(&shared.manifest_stamp) = shared.manifest_stamp_now();

        let accept = {
            let shared = Arc::clone(&shared);
            let listener = self.listener;
            std::thread::Builder::new()
                .name("serve-accept".into())
                .spawn(move || accept_loop(&listener, &shared))
                .context("cannot start a thread")?
        };
        let poll = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("serve-manifest".into())
                .spawn(move || poll_manifest(&shared))
                .context("cannot start a thread")?
        };

        let result = watch_with(&self.options, verbosity, &stop, to_loop, wake, |event| {
            shared.built(event);
            on_build(event);
        });

        // Also when watching could not start: the server goes with it.
        stop.store(true, Ordering::SeqCst);
        lock(&shared.clients).clear();
        let _ = TcpStream::connect(self.addr);
        let _ = accept.join();
        let _ = poll.join();
        result
    }
}

/// What the connection threads share with the watch loop.
struct Shared {
    site_dir: PathBuf,
    /// The output folder of the last build, canonical.
    output: Mutex<PathBuf>,
    last: Mutex<LastBuild>,
    /// One sender per open events stream.
    clients: Mutex<Vec<Sender<String>>>,
    /// The manifest's modification time and size as the last build left it.
    manifest_stamp: Mutex<Option<(SystemTime, u64)>>,
    to_loop: Mutex<Sender<Wake>>,
    stop: Arc<AtomicBool>,
}

/// The last build, as the gallery shows it.
#[derive(Debug, Clone, Default)]
struct LastBuild {
    /// 0 until the first build ends.
    number: u64,
    /// Why it failed, when it did.
    error: Option<String>,
    problems: Vec<Problem>,
}

impl Shared {
    fn built(&self, event: &WatchEvent) {
        if let Ok(summary) = &event.result
            && let Ok(out) = std::fs::canonicalize(&summary.output_dir)
        {
            *lock(&self.output) = out;
        }
        *lock(&self.last) = LastBuild {
            number: event.number,
            error: event.result.as_ref().err().cloned(),
            problems: event.problems.clone(),
        };
        // The build's last save of the manifest is announced by this event.
        *lock(&self.manifest_stamp) = self.manifest_stamp_now();
        self.broadcast(&build_message(event.number, event.is_ok()));
    }

    fn broadcast(&self, message: &str) {
        lock(&self.clients).retain(|client| client.send(message.to_string()).is_ok());
    }

    fn manifest_stamp_now(&self) -> Option<(SystemTime, u64)> {
        let meta = std::fs::metadata(Manifest::path(&self.site_dir)).ok()?;
        Some((meta.modified().ok()?, meta.len()))
    }

    fn build_number(&self) -> u64 {
        lock(&self.last).number
    }
}

fn build_message(number: u64, ok: bool) -> String {
    format!("event: build\ndata: {{\"number\":{number},\"ok\":{ok}}}\n\n")
}

/// The output folder before any build: from the config when it can be read.
fn initial_output(site_dir: &Path) -> PathBuf {
    let out = Config::load(site_dir)
        .map(|c| c.output_dir(site_dir))
        .unwrap_or_else(|_| site_dir.join("public"));
    std::fs::canonicalize(&out).unwrap_or(out)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let shared = Arc::clone(shared);
        let _ = std::thread::Builder::new()
            .name("serve-conn".into())
            .spawn(move || handle(&shared, stream));
    }
}

/// Tells open galleries that assets finished while a build runs (the build itself is
/// announced when it ends).
fn poll_manifest(shared: &Shared) {
    while !shared.stop.load(Ordering::SeqCst) {
        std::thread::sleep(MANIFEST_POLL);
        let now = shared.manifest_stamp_now();
        let mut stamp = lock(&shared.manifest_stamp);
        if now != *stamp {
            *stamp = now;
            drop(stamp);
            shared.broadcast("event: assets\ndata: {}\n\n");
        }
    }
}

fn handle(shared: &Shared, mut stream: TcpStream) {
    let request = match http::read_request(&stream) {
        Ok(Some(request)) => request,
        Ok(None) => {
            let _ = Response::text(400, "bad request\n").send(&mut stream, true);
            return;
        }
        Err(_) => return,
    };
    let head = request.method == "HEAD";
    if request.path == EVENTS_PATH && (request.method == "GET" || head) {
        events(shared, stream, head);
        return;
    }
    let response = respond(shared, &request);
    let _ = response.send(&mut stream, !head);
}

fn respond(shared: &Shared, request: &Request) -> Response {
    let ours = request.path.starts_with(PREFIX) || request.path == "/_ogforge";
    match (request.method.as_str(), request.path.as_str()) {
        ("GET" | "HEAD", "/_ogforge") => Response::redirect(301, PREFIX),
        ("GET" | "HEAD", PREFIX) => {
            let out = lock(&shared.output).clone();
            let last = lock(&shared.last).clone();
            let page = gallery::page(&shared.site_dir, &out, &last);
            Response::new(200, "text/html; charset=utf-8", page)
        }
        ("POST", "/_ogforge/retry") => {
            let key = request.query_param("key").unwrap_or_default();
            let _ = lock(&shared.to_loop).send(Wake::Retry(key));
            Response::redirect(303, PREFIX)
        }
        ("GET" | "HEAD", _) if !ours => static_file(shared, request),
        ("GET" | "HEAD", _) => not_found(shared, request),
        _ => {
            let mut response = Response::text(405, "method not allowed\n");
            let allow = if ours { "GET, HEAD, POST" } else { "GET, HEAD" };
            response.headers.push(("Allow", allow.to_string()));
            response
        }
    }
}

/// A file of the output folder; a folder's `index.html`.
fn static_file(shared: &Shared, request: &Request) -> Response {
    let out = lock(&shared.output).clone();
    let Some(mut path) = http::inside(&out, &request.path) else {
        return not_found(shared, request);
    };
    if path.is_dir() {
        if !request.path.ends_with('/') {
            // Relative links in the page resolve against the folder.
            let mut location = format!("{}/", request.path);
            if !request.query.is_empty() {
                location.push('?');
                location.push_str(&request.query);
            }
            return Response::redirect(301, &location);
        }
        path.push("index.html");
    }
    // A link in the output must not lead out of it either.
    let real = std::fs::canonicalize(&path)
        .ok()
        .filter(|p| p.starts_with(&out));
    let Some(bytes) = real.and_then(|p| std::fs::read(p).ok()) else {
        return not_found(shared, request);
    };
    let content_type = http::content_type(&path);
    let body = if content_type.starts_with("text/html") {
        with_live_reload(&bytes, shared.build_number())
    } else {
        bytes
    };
    Response::new(200, content_type, body)
}

/// The site's own `404.html` when it has one, else a page of ours; both reload when the
/// site is rebuilt (the page may be about to appear).
fn not_found(shared: &Shared, request: &Request) -> Response {
    let out = lock(&shared.output).clone();
    let page = std::fs::read(out.join("404.html")).unwrap_or_else(|_| {
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Not found</title></head>\
             <body style=\"font-family: system-ui, sans-serif; margin: 3em\">\
             <h1>Not found</h1><p><code>{}</code> is not in the site (yet).</p>\
             <p><a href=\"/\">Home</a> · <a href=\"{PREFIX}\">Card gallery</a></p></body></html>",
            http::escape(&String::from_utf8_lossy(&http::percent_decode(
                &request.path
            )))
        )
        .into_bytes()
    });
    Response::new(
        404,
        "text/html; charset=utf-8",
        with_live_reload(&page, shared.build_number()),
    )
}

/// The script that reloads a page after a rebuild: `build` is the number of the build
/// whose output this page is; when the stream says the last build has another number
/// (also right after connecting, so a rebuild between the page's load and the stream's
/// start is not missed), the page reloads.
pub fn live_reload_script(build: u64, reload_on_assets: bool) -> String {
    let assets = if reload_on_assets {
        "es.addEventListener(\"assets\",function(){setTimeout(function(){location.reload()},300)});"
    } else {
        ""
    };
    format!(
        "<script data-ogforge-live-reload>(function(){{var seen={build};\
         var es=new EventSource(\"{EVENTS_PATH}\");\
         es.addEventListener(\"build\",function(e){{\
         if(JSON.parse(e.data).number!==seen){{es.close();location.reload()}}}});\
         {assets}}})();</script>"
    )
}

/// `html` with the live-reload script before its last `</body>`, or at its end.
fn with_live_reload(html: &[u8], build: u64) -> Vec<u8> {
    let script = live_reload_script(build, false);
    let at = find_last_ignore_case(html, b"</body").unwrap_or(html.len());
    let mut out = Vec::with_capacity(html.len() + script.len());
    out.extend_from_slice(&html[..at]);
    out.extend_from_slice(script.as_bytes());
    out.extend_from_slice(&html[at..]);
    out
}

fn find_last_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    (0..=haystack.len().checked_sub(needle.len())?)
        .rev()
        .find(|&i| haystack[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

/// Keeps the stream open, writing each message the watch loop broadcasts.
fn events(shared: &Shared, mut stream: TcpStream, head: bool) {
    use std::io::Write;
    let start = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n\
                 Connection: close\r\n\r\n";
    if stream.write_all(start.as_bytes()).is_err() || head {
        return;
    }
    // The browser retries within a second when the server restarts; the first event
    // tells the page whether it is already out of date.
    // Registered while the clients are locked: a build that ends meanwhile is either
    // in `last` already or broadcast to this stream too.
    let (to_client, messages) = mpsc::channel();
    let hello = {
        let mut clients = lock(&shared.clients);
        let last = lock(&shared.last).clone();
        clients.push(to_client);
        format!(
            "retry: 1000\n\n{}",
            build_message(last.number, last.error.is_none())
        )
    };
    if stream.write_all(hello.as_bytes()).is_err() {
        return;
    }
    loop {
        let message = match messages.recv_timeout(KEEPALIVE) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => ": keepalive\n\n".to_string(),
            Err(RecvTimeoutError::Disconnected) => return,
        };
        if stream
            .write_all(message.as_bytes())
            .and_then(|()| stream.flush())
            .is_err()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_goes_before_the_last_body_end_tag() {
        let html = b"<html><body><p>&lt;/body&gt;</p></BODY></html>";
        let out = String::from_utf8(with_live_reload(html, 3)).unwrap();
        let script = live_reload_script(3, false);
        assert_eq!(
            out,
            format!("<html><body><p>&lt;/body&gt;</p>{script}</BODY></html>")
        );
        let out = String::from_utf8(with_live_reload(b"<p>no body", 1)).unwrap();
        assert!(out.starts_with("<p>no body<script"));
        assert!(out.ends_with("</script>"));
    }
}
