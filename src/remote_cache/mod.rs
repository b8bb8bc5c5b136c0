//! The shared cache: cards and screenshots in object storage (S3, R2, MinIO, GCS, Azure,
//! or a folder), named by the fingerprint of their inputs, so that an asset drawn or
//! bought on one machine is downloaded on every other instead of made again.
//!
//! ```text
//! plan ─> fetch what is to be made (in parallel, bounded) ─┬ hit: verify ─> write ─> fresh
//!                                                           └ miss ─> make ─> write ─> upload
//! end of the build ─> wait for the uploads ─> record what was used ─> counts for the report
//! ```
//!
//! The cache only ever saves work: a cache that is down, slow, refuses the credentials
//! or holds a damaged object is a warning, the asset is made here, and the build goes
//! on. After [`DOWN_AFTER`] failed requests in a row it is not asked again in this build.
//! The one exception is `--shard`, whose only job is to fill the cache: there a failed
//! upload fails the build.
//!
//! Objects (`<prefix>/assets/<fingerprint>`) carry a verified header (`object.rs`);
//! usage records (`<prefix>/used/<day>/...`, `usage.rs`) tell `cache prune` what no
//! build has used for a while.

pub mod location;
pub mod object;
pub mod shard;
pub mod usage;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use tokio::sync::Semaphore;

use crate::config::CacheConfig;
pub use location::{Location, URL_ENV};
pub use object::Expect;
pub use shard::Shard;

/// An object larger than this is not downloaded: no card or screenshot is near it.
pub const MAX_OBJECT: u64 = 32_000_000;
/// Requests that fail in a row before the cache is taken as down for the rest of a build.
pub const DOWN_AFTER: usize = 3;

/// The cache a build reads from and writes to.
pub struct RemoteCache {
    inner: Arc<Inner>,
    runtime: tokio::runtime::Runtime,
    concurrency: usize,
    /// `--frozen`: read only.
    read_only: bool,
    uploads: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    upload_slots: Arc<Semaphore>,
    used: Mutex<BTreeSet<String>>,
    warned_down: AtomicBool,
}

struct Inner {
    store: Arc<dyn ObjectStore>,
    location: Location,
    timeout: Duration,
    counts: Counts,
    failures_in_a_row: AtomicUsize,
    down: AtomicBool,
    /// The first error of each kind, for the warnings.
    first_error: Mutex<Option<String>>,
    first_upload_error: Mutex<Option<String>>,
}

#[derive(Default)]
struct Counts {
    hits: AtomicU64,
    misses: AtomicU64,
    corrupt: AtomicU64,
    errors: AtomicU64,
    uploads: AtomicU64,
    upload_failures: AtomicU64,
    bytes_down: AtomicU64,
    bytes_up: AtomicU64,
}

/// What the cache did in one build, for the summary and `--json`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheSummary {
    pub url: String,
    pub hits: u64,
    pub misses: u64,
    /// Objects found damaged or not what they claimed; made again and uploaded.
    pub corrupt: u64,
    /// Lookups that failed (timeouts, refusals, the cache down).
    pub errors: u64,
    pub uploads: u64,
    pub upload_failures: u64,
    pub bytes_downloaded: u64,
    pub bytes_uploaded: u64,
    /// Why the cache was given up for this build, when it was.
    pub down: Option<String>,
}

/// One asset to look for: its fingerprint, what it must be, and where it goes.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub fingerprint: String,
    pub expect: Expect,
    pub dest: PathBuf,
}

/// How one lookup ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// Downloaded, checked and written to its place: this many bytes.
    Hit(u64),
    Miss,
    /// There, but not what it claims (the reason); it is made again and replaced.
    Corrupt(String),
    /// The cache did not answer, or is down: made here.
    Unavailable,
}

/// The cache URL a build uses: `OGFORGE_CACHE_URL` when set (empty: none), else
/// `[cache] url`.
pub fn configured_url(config: &CacheConfig) -> Option<(String, &'static str)> {
    match std::env::var(URL_ENV) {
        Ok(url) if url.trim().is_empty() => None,
        Ok(url) => Some((url.trim().to_string(), URL_ENV)),
        Err(_) => config
            .url
            .clone()
            .map(|u| (u, "`cache.url` in ogforge.toml")),
    }
}

impl RemoteCache {
    /// The cache `config` (or the environment) names, if any. A URL that cannot be read,
    /// or a store that cannot be set up, is an error: the user asked for a cache.
    pub fn from_config(
        config: &CacheConfig,
        read_only: bool,
    ) -> Result<Option<RemoteCache>, String> {
        let Some((url, from)) = configured_url(config) else {
            return Ok(None);
        };
        let location = Location::parse(&url).map_err(|e| format!("{from}: {e}"))?;
        RemoteCache::open(location, config, read_only).map(Some)
    }

    /// The cache for `ogforge cache`: `url` when given, else the one the site in
    /// `site_dir` uses (its config, or the environment).
    pub fn for_maintenance(
        site_dir: &std::path::Path,
        url: Option<&str>,
    ) -> anyhow::Result<RemoteCache> {
        let config = match url {
            Some(url) => CacheConfig {
                url: Some(url.to_string()),
                ..CacheConfig::default()
            },
            None => crate::config::Config::load(site_dir)?.cache,
        };
        let url = match url {
            Some(url) => url.to_string(),
            None => configured_url(&config).map(|(u, _)| u).ok_or_else(|| {
                anyhow::anyhow!(
                    "no shared cache is set\n  hint: set `[cache] url` in {}, or {URL_ENV}, or give --url",
                    crate::config::CONFIG_FILE
                )
            })?,
        };
        let location = Location::parse(&url).map_err(anyhow::Error::msg)?;
        RemoteCache::open(location, &config, false).map_err(anyhow::Error::msg)
    }

    pub fn open(
        location: Location,
        config: &CacheConfig,
        read_only: bool,
    ) -> Result<RemoteCache, String> {
        let timeout = Duration::from_secs(config.timeout_secs);
        let store = location.open(timeout)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ogforge-cache")
            .enable_all()
            .build()
            .map_err(|e| format!("could not start the shared cache's client: {e}"))?;
        Ok(RemoteCache {
            inner: Arc::new(Inner {
                store,
                location,
                timeout,
                counts: Counts::default(),
                failures_in_a_row: AtomicUsize::new(0),
                down: AtomicBool::new(false),
                first_error: Mutex::new(None),
                first_upload_error: Mutex::new(None),
            }),
            runtime,
            concurrency: config.concurrency,
            read_only,
            uploads: Mutex::new(Vec::new()),
            upload_slots: Arc::new(Semaphore::new(config.concurrency)),
            used: Mutex::new(BTreeSet::new()),
            warned_down: AtomicBool::new(false),
        })
    }

    pub fn location(&self) -> &Location {
        &self.inner.location
    }

    pub fn is_down(&self) -> bool {
        self.inner.down.load(Ordering::Relaxed)
    }

    /// The reason the cache was given up, the first time it is asked after that
    /// happened; `None` ever after, so the warning is said once.
    pub fn newly_down(&self) -> Option<String> {
        if self.is_down() && !self.warned_down.swap(true, Ordering::Relaxed) {
            Some(self.inner.first_error())
        } else {
            None
        }
    }

    /// Looks every asset up at once, at most `concurrency` requests in flight; writes
    /// each hit to its `dest`. The results are in the order of `wanted`.
    pub fn fetch(&self, wanted: Vec<Wanted>) -> Vec<Fetched> {
        let inner = &self.inner;
        let mut results: Vec<(usize, Fetched)> = self.runtime.block_on(async {
            futures_util::stream::iter(wanted.into_iter().enumerate())
                .map(|(i, w)| {
                    let inner = inner.clone();
                    async move { (i, inner.fetch_one(w).await) }
                })
                .buffer_unordered(self.concurrency.max(1))
                .collect()
                .await
        });
        results.sort_by_key(|(i, _)| *i);
        results.into_iter().map(|(_, f)| f).collect()
    }

    /// Uploads an asset that was just made, in the background; waits only when
    /// `concurrency` uploads are in flight already. Bytes that are not what the build
    /// expects are not uploaded (they would be refused by every reader).
    pub fn upload(&self, fingerprint: &str, bytes: &[u8], expect: Expect) {
        if self.read_only || self.is_down() || object::check_image(bytes, expect).is_err() {
            return;
        }
        let Ok(permit) = self
            .runtime
            .block_on(self.upload_slots.clone().acquire_owned())
        else {
            return;
        };
        let inner = self.inner.clone();
        let path = inner.asset_path(fingerprint);
        let object = object::encode(fingerprint, bytes);
        let handle = self.runtime.spawn(async move {
            inner.put(path, object).await;
            drop(permit);
        });
        self.uploads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(handle);
    }

    /// Notes that this build uses these assets, for `cache prune`.
    pub fn note_used(&self, fingerprints: impl IntoIterator<Item = String>) {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        used.extend(fingerprints);
    }

    /// Waits for the uploads, records what the build used (when `record`, unless it used
    /// nothing or the cache is down) and says what the cache did.
    pub fn finish(&self, record: bool) -> CacheSummary {
        let handles = std::mem::take(&mut *self.uploads.lock().unwrap_or_else(|e| e.into_inner()));
        self.runtime.block_on(async {
            for handle in handles {
                let _ = handle.await;
            }
        });
        let used = std::mem::take(&mut *self.used.lock().unwrap_or_else(|e| e.into_inner()));
        if record && !used.is_empty() && !self.is_down() {
            let inner = self.inner.clone();
            let _ = self.runtime.block_on(usage::record(
                &inner.store,
                &inner.location.root(),
                &used,
                inner.timeout,
            ));
        }
        let c = &self.inner.counts;
        let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
        CacheSummary {
            url: self.inner.location.to_string(),
            hits: get(&c.hits),
            misses: get(&c.misses),
            corrupt: get(&c.corrupt),
            errors: get(&c.errors),
            uploads: get(&c.uploads),
            upload_failures: get(&c.upload_failures),
            bytes_downloaded: get(&c.bytes_down),
            bytes_uploaded: get(&c.bytes_up),
            down: self.is_down().then(|| self.inner.first_error()),
        }
    }

    /// The first reason an upload failed, for the warning that counts them.
    pub fn first_upload_error(&self) -> Option<String> {
        self.inner
            .first_upload_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Runs a future of the maintenance commands on the cache's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.inner.store
    }

    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }
}

impl Inner {
    fn asset_path(&self, fingerprint: &str) -> StorePath {
        asset_path(&self.location.root(), fingerprint)
    }

    fn first_error(&self) -> String {
        self.first_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_else(|| "it did not answer".into())
    }

    fn succeeded(&self) {
        self.failures_in_a_row.store(0, Ordering::Relaxed);
    }

    fn failed(&self, error: String) {
        self.first_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(error);
        if self.failures_in_a_row.fetch_add(1, Ordering::Relaxed) + 1 >= DOWN_AFTER {
            self.down.store(true, Ordering::Relaxed);
        }
    }

    async fn fetch_one(self: Arc<Self>, wanted: Wanted) -> Fetched {
        if self.down.load(Ordering::Relaxed) {
            self.counts.errors.fetch_add(1, Ordering::Relaxed);
            return Fetched::Unavailable;
        }
        let path = self.asset_path(&wanted.fingerprint);
        // The store's own timeout covers each request; this one covers the whole
        // download, however slowly the body trickles in.
        let got = tokio::time::timeout(self.timeout * 2, download(&*self.store, &path)).await;
        let object = match got {
            Err(_) => {
                self.counts.errors.fetch_add(1, Ordering::Relaxed);
                self.failed(format!(
                    "no answer within {}s",
                    (self.timeout * 2).as_secs()
                ));
                return Fetched::Unavailable;
            }
            Ok(Err(Download::NotFound)) => {
                self.succeeded();
                self.counts.misses.fetch_add(1, Ordering::Relaxed);
                return Fetched::Miss;
            }
            Ok(Err(Download::TooLarge(size))) => {
                self.succeeded();
                self.counts.corrupt.fetch_add(1, Ordering::Relaxed);
                return Fetched::Corrupt(format!(
                    "it is {size} bytes, more than the {MAX_OBJECT} an asset may have"
                ));
            }
            Ok(Err(Download::Failed(e))) => {
                self.counts.errors.fetch_add(1, Ordering::Relaxed);
                self.failed(e);
                return Fetched::Unavailable;
            }
            Ok(Ok(object)) => object,
        };
        self.succeeded();
        let size = object.len() as u64;
        // Hashing and decoding a picture is CPU work: off the runtime's threads.
        let checked = tokio::task::spawn_blocking(move || {
            let body = object::decode(&object, &wanted.fingerprint, wanted.expect)?;
            crate::fsutil::write_atomic(&wanted.dest, body)
                .map_err(|e| format!("could not write it here: {e:#}"))
        })
        .await
        .unwrap_or_else(|e| Err(format!("checking it failed: {e}")));
        match checked {
            Ok(()) => {
                self.counts.hits.fetch_add(1, Ordering::Relaxed);
                self.counts.bytes_down.fetch_add(size, Ordering::Relaxed);
                Fetched::Hit(size)
            }
            Err(why) => {
                self.counts.corrupt.fetch_add(1, Ordering::Relaxed);
                Fetched::Corrupt(why)
            }
        }
    }

    async fn put(&self, path: StorePath, object: Vec<u8>) {
        if self.down.load(Ordering::Relaxed) {
            self.counts.upload_failures.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let size = object.len() as u64;
        let put = self.store.put(&path, PutPayload::from(object));
        let error = match tokio::time::timeout(self.timeout * 2, put).await {
            Ok(Ok(_)) => {
                self.succeeded();
                self.counts.uploads.fetch_add(1, Ordering::Relaxed);
                self.counts.bytes_up.fetch_add(size, Ordering::Relaxed);
                return;
            }
            Ok(Err(e)) => one_line(&e),
            Err(_) => format!("no answer within {}s", (self.timeout * 2).as_secs()),
        };
        self.counts.upload_failures.fetch_add(1, Ordering::Relaxed);
        self.first_upload_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(error.clone());
        self.failed(error);
    }
}

/// Where the asset with this fingerprint is stored.
pub fn asset_path(root: &StorePath, fingerprint: &str) -> StorePath {
    root.clone().join("assets").join(fingerprint)
}

enum Download {
    NotFound,
    TooLarge(u64),
    Failed(String),
}

/// An object's bytes, read no further than [`MAX_OBJECT`] whatever its size claims.
async fn download(store: &dyn ObjectStore, path: &StorePath) -> Result<Vec<u8>, Download> {
    let got = match store.get(path).await {
        Ok(got) => got,
        Err(object_store::Error::NotFound { .. }) => return Err(Download::NotFound),
        Err(e) => return Err(Download::Failed(one_line(&e))),
    };
    if got.meta.size > MAX_OBJECT {
        return Err(Download::TooLarge(got.meta.size));
    }
    let mut bytes = Vec::with_capacity(got.meta.size as usize);
    let mut stream = got.into_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Download::Failed(one_line(&e)))?;
        if (bytes.len() + chunk.len()) as u64 > MAX_OBJECT {
            return Err(Download::TooLarge((bytes.len() + chunk.len()) as u64));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// A store's error on one line, cut short: they can carry a whole XML answer.
pub fn one_line(e: &dyn std::fmt::Display) -> String {
    let text = e
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    match text.char_indices().nth(300) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}
