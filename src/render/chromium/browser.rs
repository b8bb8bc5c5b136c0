//! One headless Chromium process and its DevTools connection, for a whole build.
//!
//! Launching reads Chromium's stderr until it prints `DevTools listening on ws://...`,
//! then connects there. Chromium runs in a process group of its own, so that dropping the
//! [`Browser`] can end the renderers and helpers with it before removing the throwaway
//! profile: no chromium outlives a build or a test.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

use super::cdp::{CdpError, Connection, Event, lock};

/// Flags for a quiet, offline, reproducible browser: no first-run UI, no network of its
/// own, 1 CSS pixel = 1 image pixel, no throttling of the tabs that are not in front (the
/// shots run side by side), and /tmp instead of a possibly tiny /dev/shm in containers.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--hide-scrollbars",
    "--mute-audio",
    "--force-device-scale-factor=1",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--disable-dev-shm-usage",
    "--remote-debugging-port=0",
];

/// A cold start takes about a second; a loaded CI machine may take much longer.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a `Browser.close` may take before the process group is killed.
const EXIT_GRACE: Duration = Duration::from_secs(3);

/// Stderr lines kept for error messages.
const STDERR_TAIL: usize = 12;

/// A running headless Chromium; `Send + Sync`, so one browser serves every render thread.
pub struct Browser {
    // Dropped in this order: the connection first, then the process and its profile.
    cdp: Connection,
    process: Process,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

impl Browser {
    /// Starts Chromium at `path` with a fresh profile and connects to it.
    pub fn launch(path: &Path) -> Result<Browser, String> {
        let profile = tempfile::Builder::new()
            .prefix("ogforge-chromium-")
            .tempdir()
            .map_err(|e| format!("cannot create a profile folder for Chromium: {e}"))?;
        let mut user_data_dir = OsString::from("--user-data-dir=");
        user_data_dir.push(profile.path());

        let mut command = Command::new(path);
        command
            .args(FLAGS)
            .arg(user_data_dir)
            .arg("about:blank")
            // Crashpad keeps its database under XDG_CONFIG_HOME (~/.config/chromium):
            // inside the profile, it goes away with it.
            .env("XDG_CONFIG_HOME", profile.path().join("config"))
            .env("XDG_CACHE_HOME", profile.path().join("cache"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start Chromium at {}: {e}", path.display()))?;
        let stderr_pipe = child.stderr.take();
        let mut process = Process {
            child,
            grace: Duration::ZERO,
            _profile: profile,
        };

        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let (url_to, url) = mpsc::channel();
        if let Some(pipe) = stderr_pipe {
            let stderr = Arc::clone(&stderr);
            std::thread::Builder::new()
                .name("chromium-stderr".into())
                .spawn(move || read_stderr(pipe, &stderr, url_to))
                .map_err(|e| format!("cannot start a thread: {e}"))?;
        }
        let ws_url = match url.recv_timeout(LAUNCH_TIMEOUT) {
            Ok(ws_url) => ws_url,
            Err(RecvTimeoutError::Timeout) => {
                return Err(format!(
                    "Chromium at {} did not start within {} s{}",
                    path.display(),
                    LAUNCH_TIMEOUT.as_secs(),
                    tail(&stderr)
                ));
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = process.child.wait().map(|s| s.to_string());
                return Err(format!(
                    "Chromium at {} exited before it was ready ({}){}",
                    path.display(),
                    status.unwrap_or_else(|e| e.to_string()),
                    tail(&stderr)
                ));
            }
        };
        let cdp = Connection::connect(&ws_url)?;
        Ok(Browser {
            cdp,
            process,
            stderr,
        })
    }

    /// Sends a DevTools command to the browser (`session: None`) or to a flattened
    /// session, and waits up to `timeout` for its result.
    pub fn call(
        &self,
        method: &str,
        params: Value,
        session: Option<&str>,
        timeout: Duration,
    ) -> Result<Value, CdpError> {
        self.cdp
            .call(method, params, session, timeout)
            .map_err(|e| match e {
                CdpError::Closed(why) => CdpError::Closed(format!("{why}{}", tail(&self.stderr))),
                other => other,
            })
    }

    /// The browser's product and version, e.g. `HeadlessChrome/156.0.8078.108`: an input
    /// of every screenshot's fingerprint, since another version may draw differently.
    pub fn version(&self) -> Result<String, CdpError> {
        let version = self.call(
            "Browser.getVersion",
            json!({}),
            None,
            Duration::from_secs(10),
        )?;
        Ok(version["product"].as_str().unwrap_or_default().to_string())
    }

    /// The browser process's id; its helpers share it as their process group.
    pub fn pid(&self) -> u32 {
        self.process.child.id()
    }

    pub(super) fn subscribe(&self, session: &str) -> mpsc::Receiver<Event> {
        self.cdp.subscribe(session)
    }

    pub(super) fn unsubscribe(&self, session: &str) {
        self.cdp.unsubscribe(session);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A clean exit first; whatever is left afterwards is killed with the group.
        if !matches!(
            self.cdp
                .call("Browser.close", json!({}), None, Duration::from_secs(1)),
            Err(CdpError::Protocol { .. })
        ) {
            self.process.grace = EXIT_GRACE;
        }
    }
}

/// The Chromium process and its profile folder, removed once every process is gone.
struct Process {
    child: Child,
    /// How long to wait for the browser to exit by itself before killing it.
    grace: Duration,
    _profile: TempDir,
}

impl Drop for Process {
    fn drop(&mut self) {
        let deadline = Instant::now() + self.grace;
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        end_process_group(self.child.id());
    }
}

/// Kills what is left of the browser's process group (renderers, the GPU and network
/// helpers) and waits briefly until it is gone, so the profile can be removed.
#[cfg(unix)]
fn end_process_group(pid: u32) {
    let Ok(group) = i32::try_from(pid) else {
        return;
    };
    if group <= 1 {
        return;
    }
    // SAFETY: kill(2) only sends a signal; a negative pid addresses the process group
    // that `process_group(0)` made for this browser alone.
    if unsafe { libc::kill(-group, libc::SIGKILL) } != 0 {
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(1);
    while group_running(group) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether a process of `group` still runs. Zombies do not count: they write nothing, and
/// an init that reaps lazily (as in some containers) would keep them for a while.
#[cfg(target_os = "linux")]
fn group_running(group: i32) -> bool {
    let group = group.to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // "pid (comm) state ppid pgrp ...", where comm may hold spaces and parentheses.
        let fields = stat
            .rsplit_once(") ")
            .map(|(_, rest)| rest.split(' ').take(3));
        matches!(fields.map(Iterator::collect::<Vec<_>>).as_deref(),
                 Some([state, _ppid, pgrp]) if *state != "Z" && *pgrp == group)
    })
}

#[cfg(all(unix, not(target_os = "linux")))]
fn group_running(group: i32) -> bool {
    // SAFETY: signal 0 only checks that the group exists.
    unsafe { libc::kill(-group, 0) == 0 }
}

#[cfg(not(unix))]
fn end_process_group(_pid: u32) {}

/// Keeps the last lines of stderr and sends the DevTools URL once it appears. Reads until
/// the end, so that Chromium never blocks on a full pipe.
fn read_stderr(pipe: ChildStderr, tail: &Mutex<VecDeque<String>>, url_to: Sender<String>) {
    let mut url_to = Some(url_to);
    for line in BufReader::new(pipe).lines() {
        let Ok(line) = line else { break };
        if let Some(url) = line.split("DevTools listening on ").nth(1)
            && let Some(url_to) = url_to.take()
        {
            let _ = url_to.send(url.trim().to_string());
        }
        // Chromium complains about the missing D-Bus at every start: noise in an error.
        if line.trim().is_empty()
            || line.contains("DevTools listening on ")
            || line.contains("dbus/")
        {
            continue;
        }
        let mut tail = lock(tail);
        if tail.len() == STDERR_TAIL {
            tail.pop_front();
        }
        tail.push_back(line);
    }
}

/// The last stderr lines, for an error message ("" when Chromium said nothing).
fn tail(stderr: &Mutex<VecDeque<String>>) -> String {
    let lines = lock(stderr);
    if lines.is_empty() {
        return String::new();
    }
    let mut text = String::from("; Chromium said:");
    for line in lines.iter() {
        text.push_str("\n  ");
        text.push_str(line);
    }
    text
}
