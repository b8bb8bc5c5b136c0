//! A fake SnapSharp API on 127.0.0.1, for ogforge's tests and benchmarks and for trying
//! ogforge by hand (`cargo run --example fake-snapsharp`). It follows SNAPSHARP.md: it
//! checks the bearer key, enforces a rate limit with 429 + `Retry-After`, waits a
//! configurable latency, draws real PNGs of the requested size, fails the requests a test
//! scripts it to fail ([`Fault`]), and records every request so a test can assert how many
//! calls a build made and what they carried.
//!
//! It is a development tool of ogforge's repository: ogforge lists it as a dev-dependency
//! only, so it is neither in the library users link nor among the installed programs, and
//! it does not depend on ogforge.
//!
//! It is std only: one thread accepts, one thread serves each connection, and every
//! response closes its connection. Dropping the [`FakeServer`] stops it and wakes every
//! request still waiting (latency, a scripted hang), so no thread outlives a test for long.
//!
//! ```no_run
//! use fake_snapsharp::{FakeConfig, FakeServer, Fault, FaultAction};
//! let server = FakeServer::start(
//!     FakeConfig::default().fault(Fault::on_request(1, FaultAction::Status(503))),
//! );
//! let base_url = server.base_url(); // http://127.0.0.1:PORT/v1
//! // ... point [snapsharp] base_url at it and run a build ...
//! assert_eq!(server.count(), 2);
//! ```

mod api;
mod faults;
mod http;
mod rate;

use std::collections::VecDeque;
use std::io::BufReader;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use http::{RawRequest, RawResponse, ReadError};

pub use api::solid_png;
pub use faults::{Fault, FaultAction, When};
pub use rate::RateLimit;

/// How the fake behaves.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// The only key accepted in `Authorization: Bearer <key>`.
    pub key: String,
    /// Waited before answering every request.
    pub latency: Duration,
    /// The plan's limit, enforced over a sliding window; `None` accepts everything.
    pub rate_limit: Option<RateLimit>,
    /// Scripted failures; the first rule that matches a request (and has uses left) wins.
    pub faults: Vec<Fault>,
    /// How long [`FaultAction::Hang`] keeps a request waiting (cut short when the
    /// server is dropped).
    pub hang: Duration,
    /// Print one line per request on stderr.
    pub log: bool,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            key: "test-key".into(),
            latency: Duration::ZERO,
            rate_limit: None,
            faults: Vec::new(),
            hang: Duration::from_secs(60),
            log: false,
        }
    }
}

impl FakeConfig {
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }

    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    pub fn fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    pub fn hang(mut self, hang: Duration) -> Self {
        self.hang = hang;
        self
    }

    pub fn log(mut self, log: bool) -> Self {
        self.log = log;
        self
    }
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// Its place in arrival order, from 1.
    pub index: usize,
    pub method: String,
    pub path: String,
    /// Every header as sent, `Authorization` included.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON; `Value::Null` when it is not JSON.
    pub body: serde_json::Value,
    /// When the whole request had been read.
    pub arrived: Instant,
}

impl RecordedRequest {
    /// The first header called `name`, compared without case.
    pub fn header(&self, name: &str) -> Option<&str> {
        http::header(&self.headers, name)
    }
}

/// A running fake; stops when dropped.
pub struct FakeServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

struct Shared {
    config: FakeConfig,
    state: Mutex<State>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    stopping: Mutex<bool>,
    stopped: Condvar,
}

#[derive(Default)]
struct State {
    requests: Vec<RecordedRequest>,
    /// How many times each rule of `config.faults` has fired.
    fault_uses: Vec<u32>,
    /// Start times of the requests the rate limit let through, oldest first.
    admitted: VecDeque<Instant>,
}

impl FakeServer {
    /// Binds 127.0.0.1 on a free port and starts serving.
    ///
    /// # Panics
    /// When no loopback port can be bound (a test cannot go on then anyway).
    pub fn start(config: FakeConfig) -> FakeServer {
        FakeServer::start_on(config, 0).expect("the fake SnapSharp could not bind 127.0.0.1")
    }

    /// Binds 127.0.0.1:`port` (0: any free port) and starts serving.
    pub fn start_on(config: FakeConfig, port: u16) -> std::io::Result<FakeServer> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                fault_uses: vec![0; config.faults.len()],
                ..State::default()
            }),
            config,
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            stopping: Mutex::new(false),
            stopped: Condvar::new(),
        });
        let accepting = Arc::clone(&shared);
        let acceptor = std::thread::Builder::new()
            .name("fake-snapsharp".into())
            .spawn(move || accept_loop(listener, accepting))?;
        Ok(FakeServer {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// `http://127.0.0.1:PORT/v1`, the value for `[snapsharp] base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.state().requests.clone()
    }

    /// How many requests were received so far.
    pub fn count(&self) -> usize {
        self.shared.state().requests.len()
    }

    /// The most requests that were being handled at the same moment.
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }
}

impl std::fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        *self
            .shared
            .stopping
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = true;
        self.shared.stopped.notify_all();
        // `accept` blocks until a connection comes: make one so the loop sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.is_stopping() {
            break;
        }
        let Ok(stream) = stream else { continue };
        let serving = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("fake-snapsharp-conn".into())
            .spawn(move || serve_connection(&serving, stream));
        if spawned.is_err() {
            // Out of threads: the client sees the connection drop and retries.
            continue;
        }
    }
}

/// What to do with the connection once the request is handled.
enum Reply {
    Send(RawResponse),
    SendHalf(RawResponse),
    Close,
}

fn serve_connection(shared: &Shared, mut stream: TcpStream) {
    // A client that connects and never sends must not pin this thread forever.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let request = match http::read_request(&mut BufReader::new(read_half)) {
        Ok(request) => request,
        Err(ReadError::Malformed(message)) => {
            let _ = RawResponse::json_error(400, "bad_request", &message).write_to(&mut stream);
            return;
        }
        Err(ReadError::Closed | ReadError::Io) => return,
    };
    if shared.is_stopping() {
        return;
    }

    let in_flight = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    shared.max_in_flight.fetch_max(in_flight, Ordering::SeqCst);
    let started = Instant::now();
    let index = shared.record(&request, started);
    let reply = shared.answer(index, &request, started);
    let outcome = match &reply {
        Reply::Send(r) => r.status.to_string(),
        Reply::SendHalf(r) => format!("{} (truncated)", r.status),
        Reply::Close => "closed without answering".into(),
    };
    // The request stops counting as in flight before its answer goes out: once the
    // client has the answer it may send its next request at once, and that one must
    // not overlap this one in the count.
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    let _ = match reply {
        Reply::Send(response) => response.write_to(&mut stream),
        Reply::SendHalf(response) => response.write_truncated(&mut stream),
        Reply::Close => Ok(()),
    };
    let _ = stream.shutdown(Shutdown::Both);
    if shared.config.log {
        eprintln!(
            "#{index} {} {} -> {outcome} in {} ms",
            request.method,
            request.path,
            started.elapsed().as_millis()
        );
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not hide what was recorded.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_stopping(&self) -> bool {
        *self.stopping.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sleeps `duration`, or less when the server is dropped meanwhile.
    fn wait(&self, duration: Duration) {
        let stopping = self.stopping.lock().unwrap_or_else(|e| e.into_inner());
        let _ = self
            .stopped
            .wait_timeout_while(stopping, duration, |stopping| !*stopping);
    }

    fn record(&self, request: &RawRequest, arrived: Instant) -> usize {
        let mut state = self.state();
        let index = state.requests.len() + 1;
        state.requests.push(RecordedRequest {
            index,
            method: request.method.clone(),
            path: request.path.clone(),
            headers: request.headers.clone(),
            body: serde_json::from_slice(&request.body).unwrap_or(serde_json::Value::Null),
            arrived,
        });
        index
    }

    /// Key, then rate limit, then scripted faults, then the endpoint itself.
    fn answer(&self, index: usize, request: &RawRequest, now: Instant) -> Reply {
        let config = &self.config;
        self.wait(config.latency);

        let expected = format!("Bearer {}", config.key);
        if request.header("authorization") != Some(expected.as_str()) {
            return Reply::Send(
                RawResponse::json_error(401, "unauthorized", "invalid or missing API key")
                    .with_header("WWW-Authenticate", "Bearer"),
            );
        }
        if let Some(limit) = config.rate_limit
            && let Err(wait) = self.admit(limit, now)
        {
            let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
            return Reply::Send(
                RawResponse::json_error(
                    429,
                    "rate_limited",
                    &format!("rate limit of {limit} exceeded; retry in {seconds} s"),
                )
                .with_header("Retry-After", seconds.to_string()),
            );
        }

        let fault = self.fault_for(index, &request.body);
        if fault == Some(FaultAction::Hang) {
            self.wait(config.hang);
            return Reply::Close;
        }
        let picture = match api::route(request) {
            Ok(picture) => picture,
            Err(response) => return Reply::Send(response),
        };
        match fault {
            None => Reply::Send(RawResponse::new(200, "image/png", picture.png())),
            Some(action) => faults::faulty_reply(action, picture),
        }
    }

    /// The action of the first rule that hits this request, using up one of its times.
    fn fault_for(&self, index: usize, body: &[u8]) -> Option<FaultAction> {
        let mut state = self.state();
        for (i, fault) in self.config.faults.iter().enumerate() {
            let used = state.fault_uses[i];
            if fault.times.is_none_or(|k| used < k) && fault.matches(index, body) {
                state.fault_uses[i] += 1;
                return Some(fault.action.clone());
            }
        }
        None
    }

    /// Lets a request start if fewer than `limit.requests` started in the last
    /// `limit.per`; otherwise says how long until one more may.
    fn admit(&self, limit: RateLimit, now: Instant) -> Result<(), Duration> {
        let mut state = self.state();
        let window = &mut state.admitted;
        while window
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= limit.per)
        {
            window.pop_front();
        }
        if window.len() < limit.requests as usize {
            window.push_back(now);
            return Ok(());
        }
        let oldest = window.front().copied().unwrap_or(now);
        Err(limit
            .per
            .saturating_sub(now.saturating_duration_since(oldest)))
    }
}

#[cfg(test)]
mod tests;
