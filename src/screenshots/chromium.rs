//! Screenshots through a local headless Chromium: the [`ShotBackend`] over
//! `render::chromium`. The browser starts on the first shot a build needs (a cold start
//! costs about a second) and serves the whole build; it is closed with the backend.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use super::{Shot, ShotBackend};
use crate::render::RenderError;
use crate::render::chromium::{Browser, ChromiumBackend, ShotRequest};

/// How long one page may take to load.
const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// Where Chromium is, if it is installed.
pub fn find() -> Option<PathBuf> {
    crate::render::chromium::Chromium::find()
}

pub struct LazyChromium {
    path: PathBuf,
    concurrency: usize,
    backend: OnceLock<Result<ChromiumBackend, String>>,
}

impl LazyChromium {
    pub fn new(path: PathBuf) -> LazyChromium {
        LazyChromium {
            path,
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
        self.backend()?.screenshot(&ShotRequest {
            url: shot.url.clone(),
            width: shot.width,
            height: shot.height,
            full_page: shot.full_page,
            timeout: PAGE_TIMEOUT,
        })
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }
}
