//! The Chrome DevTools Protocol over one websocket: commands carry an `id` and are answered
//! by a response with the same `id`; events carry a `method` and, in a flattened session,
//! that session's `sessionId`.
//!
//! ```text
//! caller threads ──> call(): register id ─> write (shared writer, under a mutex) ─> wait
//!                                                                                    ▲
//! reader thread  ──> read ─> {"id": ..} ─────────────> pending[id] ──────────────────┘
//!                          ─> {"method", "sessionId"} ─> sessions[sessionId] ─> subscriber
//! ```
//!
//! The socket is opened twice over one TCP stream: the reader thread owns the websocket
//! that did the handshake, the writers share one made from a clone of the stream. Chromium
//! sends no pings, so the two halves never write over each other.

use std::collections::HashMap;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};
use tungstenite::protocol::{Role, WebSocketConfig};
use tungstenite::{Message, WebSocket};

/// A full-page screenshot comes back as one base64 message, far above tungstenite's
/// default frame limit.
const MAX_MESSAGE: usize = 256 << 20;

/// How long the websocket handshake may take; Chromium answers it at once.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a command got no result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CdpError {
    /// Chromium answered with an error object (an unknown method, a bad parameter...).
    Protocol { code: i64, message: String },
    /// No answer within the time allowed.
    Timeout,
    /// The connection is gone: Chromium exited or crashed. Says why, when known.
    Closed(String),
}

impl std::fmt::Display for CdpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CdpError::Protocol { code, message } => write!(f, "{message} (error {code})"),
            CdpError::Timeout => f.write_str("no answer from Chromium in time"),
            CdpError::Closed(why) => f.write_str(why),
        }
    }
}

/// An event of one session, e.g. `Page.lifecycleEvent`.
#[derive(Debug, Clone)]
pub struct Event {
    pub method: String,
    pub params: Value,
}

type Reply = Result<Value, CdpError>;

/// What the callers and the reader thread share.
#[derive(Default)]
struct Routes {
    /// Callers waiting for the response to their command, by command id.
    pending: HashMap<u64, Sender<Reply>>,
    /// Subscribers to the events of a session, by session id.
    sessions: HashMap<String, Sender<Event>>,
    /// Why the connection ended, once it has; later calls fail at once with it.
    closed: Option<String>,
}

/// One DevTools websocket connection, usable from any number of threads.
pub struct Connection {
    writer: Mutex<WebSocket<TcpStream>>,
    routes: Arc<Mutex<Routes>>,
    next_id: AtomicU64,
    /// Shut down on drop, which ends the reader thread's blocking read.
    stream: TcpStream,
    reader: Option<JoinHandle<()>>,
}

impl Connection {
    /// Connects to a `ws://127.0.0.1:PORT/devtools/browser/ID` URL that Chromium printed.
    pub fn connect(ws_url: &str) -> Result<Connection, String> {
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            format!("cannot connect to Chromium's DevTools at {ws_url}: {what}: {e}")
        };
        let address = ws_url
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .filter(|address| !address.is_empty())
            .ok_or_else(|| fail("not a ws:// URL", &""))?;
        let stream = TcpStream::connect(address).map_err(|e| fail("connect", &e))?;
        stream.set_nodelay(true).map_err(|e| fail("socket", &e))?;
        stream
            .set_read_timeout(Some(HANDSHAKE_TIMEOUT))
            .map_err(|e| fail("socket", &e))?;
        let clone = |stream: &TcpStream| stream.try_clone().map_err(|e| fail("socket", &e));
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        let (reading, _response) =
            tungstenite::client::client_with_config(ws_url, clone(&stream)?, Some(config))
                .map_err(|e| fail("handshake", &e))?;
        stream
            .set_read_timeout(None)
            .map_err(|e| fail("socket", &e))?;
        let writing = WebSocket::from_raw_socket(clone(&stream)?, Role::Client, Some(config));

        let routes = Arc::new(Mutex::new(Routes::default()));
        let reader = {
            let routes = Arc::clone(&routes);
            std::thread::Builder::new()
                .name("chromium-cdp".into())
                .spawn(move || read_loop(reading, &routes))
                .map_err(|e| fail("thread", &e))?
        };
        Ok(Connection {
            writer: Mutex::new(writing),
            routes,
            next_id: AtomicU64::new(1),
            stream,
            reader: Some(reader),
        })
    }

    /// Sends `method` (to the browser, or to a flattened `session`) and waits up to
    /// `timeout` for its result.
    pub fn call(
        &self,
        method: &str,
        params: Value,
        session: Option<&str>,
        timeout: Duration,
    ) -> Result<Value, CdpError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (reply_to, reply) = mpsc::channel();
        {
            let mut routes = lock(&self.routes);
            if let Some(why) = &routes.closed {
                return Err(CdpError::Closed(why.clone()));
            }
            routes.pending.insert(id, reply_to);
        }
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let sent = lock(&self.writer).send(Message::text(message.to_string()));
        if let Err(e) = sent {
            lock(&self.routes).pending.remove(&id);
            return Err(CdpError::Closed(format!("cannot write to Chromium: {e}")));
        }
        match reply.recv_timeout(timeout) {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => {
                lock(&self.routes).pending.remove(&id);
                Err(CdpError::Timeout)
            }
            Err(RecvTimeoutError::Disconnected) => Err(CdpError::Closed(self.closed_reason())),
        }
    }

    /// The events of `session` from now on, until [`Connection::unsubscribe`]; the
    /// receiver disconnects when the connection ends.
    pub fn subscribe(&self, session: &str) -> Receiver<Event> {
        let (events_to, events) = mpsc::channel();
        let mut routes = lock(&self.routes);
        if routes.closed.is_none() {
            routes.sessions.insert(session.to_string(), events_to);
        }
        events
    }

    pub fn unsubscribe(&self, session: &str) {
        lock(&self.routes).sessions.remove(session);
    }

    fn closed_reason(&self) -> String {
        lock(&self.routes)
            .closed
            .clone()
            .unwrap_or_else(|| "the connection to Chromium ended".to_string())
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Wakes the reader from its blocking read; it then fails every waiting caller.
        let _ = self.stream.shutdown(Shutdown::Both);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

fn read_loop(mut socket: WebSocket<TcpStream>, routes: &Mutex<Routes>) {
    let why = loop {
        match socket.read() {
            Ok(Message::Text(text)) => dispatch(routes, text.as_str()),
            // A close frame is answered by tungstenite; the next read reports the end.
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                break "Chromium closed the DevTools connection".to_string();
            }
            Err(e) => break format!("the DevTools connection to Chromium broke: {e}"),
        }
    };
    let mut routes = lock(routes);
    for (_, reply_to) in routes.pending.drain() {
        let _ = reply_to.send(Err(CdpError::Closed(why.clone())));
    }
    // Dropping the senders wakes every event waiter with `Disconnected`.
    routes.sessions.clear();
    routes.closed = Some(why);
}

/// Hands one message to whoever waits for it; events of the browser itself (no
/// `sessionId`) and of sessions nobody listens to are dropped.
fn dispatch(routes: &Mutex<Routes>, text: &str) {
    let Ok(mut message) = serde_json::from_str::<Value>(text) else {
        return;
    };
    if let Some(id) = message.get("id").and_then(Value::as_u64) {
        let reply = match message.get("error") {
            Some(error) => Err(protocol_error(error)),
            None => Ok(message["result"].take()),
        };
        if let Some(reply_to) = lock(routes).pending.remove(&id) {
            let _ = reply_to.send(reply);
        }
        return;
    }
    let (Some(method), Some(session)) = (
        message["method"].as_str().map(str::to_string),
        message["sessionId"].as_str().map(str::to_string),
    ) else {
        return;
    };
    let event = Event {
        method,
        params: message["params"].take(),
    };
    if let Some(events_to) = lock(routes).sessions.get(&session) {
        let _ = events_to.send(event);
    }
}

fn protocol_error(error: &Value) -> CdpError {
    let mut message = error["message"]
        .as_str()
        .unwrap_or("unknown error")
        .to_string();
    if let Some(data) = error["data"].as_str() {
        message = format!("{message}: {data}");
    }
    CdpError::Protocol {
        code: error["code"].as_i64().unwrap_or(0),
        message,
    }
}

/// A poisoned lock only means another shot panicked; the maps stay consistent.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
