//! Screenshots through a local headless Chromium: the [`ShotBackend`] over
//! `render::chromium`. The browser starts on the first shot a build needs (a cold start
//! costs about a second) and serves the whole build; it is closed with the backend.
//!
//! Unless the site allows private addresses, a target that is one is refused before the
//! browser is even started, and every request the page makes, redirects included, is
//! checked again inside the browser ([`super::target`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::target::{self, REFUSED};
use super::{Shot, ShotBackend};
use crate::render::RenderError;
use crate::render::chromium::{Browser, ChromiumBackend, ShotRequest, UrlGuard};

/// How long one page may take to load.
const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// Where Chromium is, if it is installed.
pub fn find() -> Option<PathBuf> {
    crate::render::chromium::Chromium::find()
}

pub struct LazyChromium {
    path: PathBuf,
    concurrency: usize,
    /// `[screenshots] allow_private`.
    allow_private: bool,
    backend: OnceLock<Result<ChromiumBackend, String>>,
}

impl LazyChromium {
    pub fn new(path: PathBuf, allow_private: bool) -> LazyChromium {
        LazyChromium {
            path,
            allow_private,
            // Pages in parallel: each tab is a renderer process; two per core is plenty.
            concurrency: (2 * rayon::current_num_threads()).clamp(2, 8),
            backend: OnceLock::new(),
        }
    }

    fn backend(&self) -> Result<&ChromiumBackend, RenderError> {
        self.backend
            .get_or_init(|| launch(&self.path, self.concurrency))
            .as_ref()
            .map_err(|e| RenderError {
                kind: crate::render::FailureKind::Fatal,
                message: format!("could not start Chromium: {e}"),
            })
    }
}

fn launch(path: &Path, concurrency: usize) -> Result<ChromiumBackend, String> {
    Ok(ChromiumBackend::new(Browser::launch(path)?, concurrency))
}

impl ShotBackend for LazyChromium {
    fn name(&self) -> &'static str {
        "chromium"
    }

    fn describe(&self, shot: &Shot) -> String {
        format!(
            "capture {} at {}x{}{} in {}",
            shot.url,
            shot.width,
            shot.height,
            if shot.full_page { " (full page)" } else { "" },
            self.path.display()
        )
    }

    fn shoot(&self, shot: &Shot) -> Result<Vec<u8>, RenderError> {
        let guard = (!self.allow_private).then(public_only);
        if let Some(guard) = &guard {
            guard.check(&shot.url).map_err(RenderError::permanent)?;
        }
        self.backend()?.screenshot(&ShotRequest {
            url: shot.url.clone(),
            width: shot.width,
            height: shot.height,
            full_page: shot.full_page,
            timeout: PAGE_TIMEOUT,
            guard,
        })
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }
}

/// The guard for `allow_private = false`: public addresses only. Its error starts with
/// [`REFUSED`], which tells a refusal from a page that failed to load.
fn public_only() -> UrlGuard {
    UrlGuard(Arc::new(|url: &str| match target::refusal(url) {
        Some(reason) => Err(format!("{REFUSED}{reason}")),
        None => Ok(()),
    }))
}
