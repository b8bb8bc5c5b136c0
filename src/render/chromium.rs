//! Screenshots through a local headless Chromium, driven over the Chrome DevTools
//! Protocol: one long-lived [`Browser`] for the whole build, one tab per shot, shots in
//! parallel from any number of threads.
//!
//! ```text
//! Chromium::find ─> Browser::launch ─> ChromiumBackend::screenshot × N threads
//!   (OGFORGE_CHROMIUM,   (headless, fresh      └─ at most `concurrency` tabs at once,
//!    then PATH)           profile, CDP socket)     each: new tab ─> load ─> PNG ─> close
//! ```
//!
//! Failures come back as [`RenderError`]s: a page that cannot exist (bad URL, unknown
//! host, 404 with nothing in it) is permanent; one that may load next time (refused,
//! timed out, a 5xx, a crashed tab or browser) is transient.

mod browser;
mod cdp;
mod shot;
#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

pub use browser::Browser;
pub use cdp::CdpError;
pub use shot::MAX_FULL_PAGE_HEIGHT;

use super::RenderError;

/// The environment variable naming the Chromium to use, by path or by name on PATH.
pub const CHROMIUM_ENV: &str = "OGFORGE_CHROMIUM";

/// The names tried on PATH, in order, when [`CHROMIUM_ENV`] is not set.
const NAMES: &[&str] = &[
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// What the user can do when no Chromium is found.
pub const NOT_FOUND: &str = "no Chromium found: install it (Debian/Ubuntu: `apt-get install \
                             chromium`) or set OGFORGE_CHROMIUM to its path; or set \
                             `[screenshots] backend = \"snapsharp\"`";

/// Decides whether the browser may load a URL: `Err` says why not. Asked for every
/// request a page makes, redirects included.
#[derive(Clone)]
pub struct UrlGuard(pub Arc<GuardFn>);

/// The guard's decision: `Ok` to load the URL, or why not.
pub type GuardFn = dyn Fn(&str) -> Result<(), String> + Send + Sync;

impl UrlGuard {
    pub fn check(&self, url: &str) -> Result<(), String> {
        (self.0)(url)
    }
}

impl std::fmt::Debug for UrlGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlGuard")
    }
}

/// One screenshot to take.
#[derive(Debug, Clone)]
pub struct ShotRequest {
    pub url: String,
    /// Viewport size in CSS pixels, which are also image pixels (scale factor 1).
    pub width: u32,
    pub height: u32,
    /// The whole page (at least `height`, at most [`MAX_FULL_PAGE_HEIGHT`]) instead of
    /// the viewport.
    pub full_page: bool,
    /// How long navigating and loading may take together.
    pub timeout: Duration,
    /// Requests the page may make; `None` lets it load anything.
    pub guard: Option<UrlGuard>,
}

/// Where the Chromium executable is.
pub struct Chromium;

impl Chromium {
    /// `OGFORGE_CHROMIUM` if set (a path, or a name looked up on PATH), else the first of
    /// `chromium`, `chromium-browser`, `google-chrome`, `google-chrome-stable` on PATH.
    pub fn find() -> Option<PathBuf> {
        find_in(
            std::env::var_os(CHROMIUM_ENV),
            std::env::var_os("PATH").as_deref(),
        )
    }

    /// [`Chromium::find`], or an error that says how to get one.
    pub fn require() -> Result<PathBuf, String> {
        if let Some(path) = Chromium::find() {
            return Ok(path);
        }
        match std::env::var_os(CHROMIUM_ENV).filter(|value| !value.is_empty()) {
            Some(value) => Err(format!(
                "{CHROMIUM_ENV} is set to {}, which is not an executable file; \
                 point it at Chromium, or unset it to look on PATH",
                Path::new(&value).display()
            )),
            None => Err(NOT_FOUND.to_string()),
        }
    }
}

fn find_in(configured: Option<OsString>, path_var: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    let on_path = |name: &Path| -> Option<PathBuf> {
        std::env::split_paths(path_var?)
            .map(|dir| dir.join(name))
            .find(|candidate| is_executable(candidate))
    };
    match configured.filter(|value| !value.is_empty()) {
        // The user chose: no fallback to another browser behind their back.
        Some(value) => {
            let path = PathBuf::from(value);
            if path.components().count() > 1 {
                is_executable(&path).then_some(path)
            } else {
                on_path(&path)
            }
        }
        None => NAMES.iter().find_map(|name| on_path(Path::new(name))),
    }
}

fn is_executable(path: &Path) -> bool {
    let Ok(metadata) = path.metadata() else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    metadata.is_file()
}

/// Screenshots through one browser, with at most `concurrency` tabs loading at once
/// however many threads ask.
pub struct ChromiumBackend {
    browser: Browser,
    concurrency: usize,
    busy: Mutex<usize>,
    freed: Condvar,
}

impl ChromiumBackend {
    pub fn new(browser: Browser, concurrency: usize) -> ChromiumBackend {
        ChromiumBackend {
            browser,
            concurrency: concurrency.max(1),
            busy: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// Finds and launches Chromium.
    pub fn launch(concurrency: usize) -> Result<ChromiumBackend, String> {
        let path = Chromium::require()?;
        Ok(ChromiumBackend::new(Browser::launch(&path)?, concurrency))
    }

    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    pub fn browser(&self) -> &Browser {
        &self.browser
    }

    /// Waits for a free tab slot (not counted in `req.timeout`), then takes the shot.
    pub fn screenshot(&self, req: &ShotRequest) -> Result<Vec<u8>, RenderError> {
        let mut busy = cdp::lock(&self.busy);
        while *busy >= self.concurrency {
            busy = self
                .freed
                .wait(busy)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *busy += 1;
        drop(busy);
        let _slot = Slot(self);
        self.browser.screenshot(req)
    }
}

/// Gives a tab slot back, also when the shot panics.
struct Slot<'a>(&'a ChromiumBackend);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *cdp::lock(&self.0.busy) -= 1;
        self.0.freed.notify_one();
    }
}
