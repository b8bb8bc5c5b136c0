//! The cache file, `.ogforge/manifest.json`: for every asset its fingerprint, state, file
//! and last error; for every page its fingerprint.
//!
//! It is a record, not the truth: card files are content-addressed, so a card whose file
//! exists under its fingerprint's name is done whatever the manifest says. A missing or
//! corrupt manifest is a warning and a full build, never a crash. It is written
//! atomically, at most every [`SAVE_EVERY`] while assets complete and once at the end.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::fsutil::write_if_changed;
use crate::report::{Problem, Report};

pub const CACHE_DIR: &str = ".ogforge";
const FILE: &str = "manifest.json";
const VERSION: u32 = 1;
/// How often a running build saves the manifest as assets complete.
pub const SAVE_EVERY: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    /// By asset key: `card:<post source>` or `screenshot:<post source>#<n>`.
    #[serde(default)]
    pub assets: BTreeMap<String, AssetRecord>,
    /// By output path: `posts/a/index.html`.
    #[serde(default)]
    pub pages: BTreeMap<String, PageRecord>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssetState {
    Pending,
    Processing,
    Ready,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetRecord {
    pub fingerprint: String,
    /// Hash of each part of the fingerprint, to say what changed.
    #[serde(default)]
    pub parts: BTreeMap<String, String>,
    pub state: AssetState,
    /// Path in the output folder, once there is one.
    #[serde(default)]
    pub file: Option<String>,
    /// Why it failed last, when it did.
    #[serde(default)]
    pub error: Option<String>,
    /// A permanent failure is not asked again until the inputs change.
    #[serde(default)]
    pub permanent: bool,
    /// The post it belongs to, as messages name it.
    #[serde(default)]
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageRecord {
    pub fingerprint: String,
    #[serde(default)]
    pub parts: BTreeMap<String, String>,
}

impl Manifest {
    pub fn path(site_dir: &Path) -> PathBuf {
        site_dir.join(CACHE_DIR).join(FILE)
    }

    /// The saved manifest; empty, with a warning, when it is missing or unreadable.
    pub fn load(site_dir: &Path, report: &Report) -> Manifest {
        let path = Manifest::path(site_dir);
        let shown = Path::new(CACHE_DIR).join(FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Manifest::empty(),
            Err(e) => {
                report.problem(Problem::warning(
                    shown,
                    format!("could not read the cache ({e}); building everything"),
                ));
                return Manifest::empty();
            }
        };
        match serde_json::from_str::<Manifest>(&text) {
            Ok(m) if m.version == VERSION => m,
            Ok(_) => Manifest::empty(),
            Err(e) => {
                report.problem(
                    Problem::warning(
                        shown,
                        format!("the cache is corrupt ({e}); building everything"),
                    )
                    .with_hint(format!(
                        "it is safe to delete {CACHE_DIR}/; it will be written anew"
                    )),
                );
                Manifest::empty()
            }
        }
    }

    pub fn empty() -> Manifest {
        Manifest {
            version: VERSION,
            ..Manifest::default()
        }
    }

    /// Saves atomically, and not at all when nothing changed (a no-op build writes no
    /// file, the cache included).
    pub fn save(&self, site_dir: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_vec_pretty(self)?;
        write_if_changed(&Manifest::path(site_dir), &json).map(|_| ())
    }
}

/// The lock that keeps two builds of one site from running at once: held from before the
/// manifest is read until the process lets go of it (the OS releases it when a build is
/// killed, so a stale lock cannot block anyone).
pub struct SiteLock(#[allow(dead_code)] std::fs::File);

impl SiteLock {
    /// Takes the site's lock, waiting (and saying so) while another build holds it.
    pub fn acquire(site_dir: &Path, report: &Report) -> anyhow::Result<SiteLock> {
        use anyhow::Context;
        let dir = site_dir.join(CACHE_DIR);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("could not create {}", dir.display()))?;
        let path = dir.join("lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("could not open {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                report.info(format!(
                    "waiting for another ogforge run on this site to finish ({} is locked)",
                    Path::new(CACHE_DIR).join("lock").display()
                ));
                file.lock()
                    .with_context(|| format!("could not lock {}", path.display()))?;
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("could not lock {}", path.display()));
            }
        }
        Ok(SiteLock(file))
    }
}

/// The manifest of a running build: updated from worker threads, saved as it goes.
pub struct LiveManifest {
    site_dir: PathBuf,
    inner: Mutex<(Manifest, Instant)>,
}

impl LiveManifest {
    pub fn new(site_dir: &Path, manifest: Manifest) -> LiveManifest {
        LiveManifest {
            site_dir: site_dir.to_path_buf(),
            inner: Mutex::new((manifest, Instant::now())),
        }
    }

    /// Records an asset's new state; saves when the last save is [`SAVE_EVERY`] old.
    pub fn record(&self, key: &str, record: AssetRecord) {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        guard.0.assets.insert(key.to_string(), record);
        if guard.1.elapsed() >= SAVE_EVERY {
            // A failed intermediate save is not worth stopping for; the final one reports.
            let _ = guard.0.save(&self.site_dir);
            guard.1 = Instant::now();
        }
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut Manifest) -> R) -> R {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard.0)
    }

    pub fn into_inner(self) -> Manifest {
        self.inner.into_inner().unwrap_or_else(|e| e.into_inner()).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Verbosity;

    #[test]
    fn round_trip_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let report = Report::new(Verbosity::Quiet);
        assert_eq!(Manifest::load(dir.path(), &report), Manifest::empty());
        let mut m = Manifest::empty();
        m.assets.insert(
            "card:content/a.md".into(),
            AssetRecord {
                fingerprint: "ab".into(),
                parts: BTreeMap::new(),
                state: AssetState::Ready,
                file: Some("og/a.ab.png".into()),
                error: None,
                permanent: false,
                source: "content/a.md".into(),
            },
        );
        m.save(dir.path()).unwrap();
        assert_eq!(Manifest::load(dir.path(), &report), m);
        std::fs::write(Manifest::path(dir.path()), "{ not json").unwrap();
        assert_eq!(Manifest::load(dir.path(), &report), Manifest::empty());
        assert_eq!(report.problems().len(), 1);
        assert!(report.problems()[0].message.contains("corrupt"));
    }
}
