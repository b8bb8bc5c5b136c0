//! What the cache's objects were last used for: usage records, `cache prune` and
//! `cache stats`.
//!
//! An object's own date is when it was uploaded, not when it was last used, and most
//! stores cannot refresh it without uploading the object again. So every `ogforge build`
//! that uses the cache leaves one small record instead, `<prefix>/used/<YYYY-MM-DD>/<hash>`,
//! listing the fingerprint of every asset the build's pages use (fresh on its disk,
//! downloaded or made: a machine with a warm local cache uses objects without
//! downloading them). The record is named after its contents, so a build that uses the
//! same assets on the same day finds it there (one HEAD) and writes nothing.
//!
//! `cache prune --older-than 90d` keeps every object named by a record of the last 90
//! days, and every object uploaded in them (a build may be writing its record right
//! now); it removes the other objects and the older records.

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use super::one_line;

const MAGIC: &str = "ogforge-used 1";
/// A record lists 65 bytes per asset; this is room for 250,000 of them.
const MAX_RECORD: u64 = 16_000_000;

/// Writes the record of one build's `used` assets, unless the same record exists.
pub async fn record(
    store: &dyn ObjectStore,
    root: &StorePath,
    used: &BTreeSet<String>,
    timeout: Duration,
) -> Result<(), String> {
    let mut text = String::with_capacity(used.len() * 65 + MAGIC.len() + 1);
    text.push_str(MAGIC);
    text.push('\n');
    for fp in used {
        text.push_str(fp);
        text.push('\n');
    }
    let name = &blake3::hash(text.as_bytes()).to_hex()[..16];
    let path = root
        .clone()
        .join("used")
        .join(day_of(now_secs()))
        .join(name);
    let write = async {
        if store.head(&path).await.is_ok() {
            return Ok(());
        }
        store
            .put(&path, PutPayload::from(text.into_bytes()))
            .await
            .map(|_| ())
            .map_err(|e| one_line(&e))
    };
    tokio::time::timeout(timeout * 2, write)
        .await
        .map_err(|_| "no answer".to_string())?
}

/// What `cache prune` did (or, with `dry_run`, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Objects not used or uploaded since this day are removed.
    pub cutoff: String,
    pub removed: u64,
    pub removed_bytes: u64,
    pub kept: u64,
    pub kept_bytes: u64,
    /// Usage records older than the cutoff, removed too.
    pub records_removed: u64,
}

/// Removes the objects no build has used or uploaded for `older_than`, and the usage
/// records older than that. Stops at the first error, before removing anything, when
/// a record cannot be read: an object it names could still be in use.
pub async fn prune(
    store: &dyn ObjectStore,
    root: &StorePath,
    older_than: Duration,
    dry_run: bool,
) -> Result<Pruned, String> {
    let cutoff_secs = now_secs().saturating_sub(older_than.as_secs() as i64);
    let cutoff = day_of(cutoff_secs);
    let mut pruned = Pruned {
        cutoff: cutoff.clone(),
        ..Pruned::default()
    };
    let mut keep: HashSet<String> = HashSet::new();
    let mut old_records = Vec::new();
    for meta in list(store, &root.clone().join("used")).await? {
        let day = meta
            .location
            .prefix_match(&root.clone().join("used"))
            .and_then(|mut parts| parts.next())
            .map(|p| p.as_ref().to_string())
            .unwrap_or_default();
        if day.as_str() < cutoff.as_str() {
            old_records.push(meta.location);
            continue;
        }
        if meta.size > MAX_RECORD {
            return Err(format!(
                "the usage record {} is {} bytes, more than a record can be; remove it by hand",
                meta.location, meta.size
            ));
        }
        let bytes = store
            .get(&meta.location)
            .await
            .map_err(|e| format!("could not read {}: {}", meta.location, one_line(&e)))?
            .bytes()
            .await
            .map_err(|e| format!("could not read {}: {}", meta.location, one_line(&e)))?;
        let text = String::from_utf8_lossy(&bytes);
        let mut lines = text.lines();
        if lines.next() != Some(MAGIC) {
            continue;
        }
        keep.extend(lines.filter(|l| is_fingerprint(l)).map(str::to_string));
    }
    let mut remove = Vec::new();
    for meta in list(store, &root.clone().join("assets")).await? {
        let name = meta.location.filename().unwrap_or_default();
        if keep.contains(name) || meta.last_modified.timestamp() >= cutoff_secs {
            pruned.kept += 1;
            pruned.kept_bytes += meta.size;
        } else {
            pruned.removed += 1;
            pruned.removed_bytes += meta.size;
            remove.push(meta.location);
        }
    }
    pruned.records_removed = old_records.len() as u64;
    if !dry_run {
        for path in remove.iter().chain(&old_records) {
            match store.delete(path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(format!("could not remove {path}: {}", one_line(&e))),
            }
        }
    }
    Ok(pruned)
}

/// What is in the cache.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub objects: u64,
    pub bytes: u64,
    /// Upload days of the oldest and newest object.
    pub oldest: Option<String>,
    pub newest: Option<String>,
    pub records: u64,
    /// The day of the latest usage record.
    pub last_used: Option<String>,
}

pub async fn stats(store: &dyn ObjectStore, root: &StorePath) -> Result<Stats, String> {
    let mut stats = Stats::default();
    let (mut oldest, mut newest) = (i64::MAX, i64::MIN);
    for meta in list(store, &root.clone().join("assets")).await? {
        stats.objects += 1;
        stats.bytes += meta.size;
        oldest = oldest.min(meta.last_modified.timestamp());
        newest = newest.max(meta.last_modified.timestamp());
    }
    if stats.objects > 0 {
        stats.oldest = Some(day_of(oldest));
        stats.newest = Some(day_of(newest));
    }
    let used = root.clone().join("used");
    for meta in list(store, &used).await? {
        stats.records += 1;
        let day = meta
            .location
            .prefix_match(&used)
            .and_then(|mut parts| parts.next())
            .map(|p| p.as_ref().to_string());
        if day > stats.last_used {
            stats.last_used = day;
        }
    }
    Ok(stats)
}

async fn list(
    store: &dyn ObjectStore,
    prefix: &StorePath,
) -> Result<Vec<object_store::ObjectMeta>, String> {
    let mut all = Vec::new();
    let mut stream = store.list(Some(prefix));
    while let Some(meta) = stream.next().await {
        all.push(meta.map_err(|e| format!("could not list the cache: {}", one_line(&e)))?);
    }
    Ok(all)
}

fn is_fingerprint(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// An age such as `90d`, `12h`, `2w` or `30 days`.
pub fn parse_age(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not an age; write it like 90d, 12h or 2w");
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = t.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let unit_secs = match unit.trim() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 7 * 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(unit_secs)
        .map(Duration::from_secs)
        .ok_or_else(bad)
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `YYYY-MM-DD` (UTC) of a Unix time.
pub fn day_of(secs: i64) -> String {
    // Howard Hinnant's days-to-civil; exact for every day a cache will see.
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc_dates() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(951_782_400), "2000-02-29");
        assert_eq!(day_of(1_735_689_599), "2024-12-31");
        assert_eq!(day_of(1_735_689_600), "2025-01-01");
    }

    #[test]
    fn ages_parse() {
        assert_eq!(parse_age("90d"), Ok(Duration::from_secs(90 * 86_400)));
        assert_eq!(parse_age("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_age("2 weeks"), Ok(Duration::from_secs(14 * 86_400)));
        for bad in ["", "d", "90", "ninety days", "5 fortnights", "-3d"] {
            assert!(parse_age(bad).is_err(), "{bad:?}");
        }
    }

    fn fp(n: u8) -> String {
        blake3::hash(&[n]).to_hex().to_string()
    }

    /// Objects a recent record names stay, so do recent uploads; old unused ones and old
    /// records go. Runs on a folder store, old dates being made with an old record day
    /// and an old modification time.
    #[test]
    fn prune_keeps_what_is_used_or_new() {
        let dir = tempfile::tempdir().unwrap();
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap();
        let root = StorePath::from("blog");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            for n in 0..4 {
                let path = super::super::asset_path(&root, &fp(n));
                store
                    .put(&path, PutPayload::from(vec![n; 10]))
                    .await
                    .unwrap();
            }
            // Objects 0, 1 and 2 were uploaded long ago; 3 is new.
            for n in 0..3 {
                let file = dir.path().join(format!("blog/assets/{}", fp(n)));
                let old = SystemTime::now() - Duration::from_secs(200 * 86_400);
                std::fs::File::options()
                    .write(true)
                    .open(file)
                    .unwrap()
                    .set_modified(old)
                    .unwrap();
            }
            // A build today used 0; one long ago used 1.
            record(&store, &root, &[fp(0)].into(), Duration::from_secs(5))
                .await
                .unwrap();
            let old_record = root.clone().join("used").join("2001-01-01").join("x");
            let text = format!("{MAGIC}\n{}\n", fp(1));
            store
                .put(&old_record, PutPayload::from(text))
                .await
                .unwrap();

            let dry = prune(&store, &root, Duration::from_secs(90 * 86_400), true)
                .await
                .unwrap();
            assert_eq!((dry.removed, dry.kept, dry.records_removed), (2, 2, 1));
            assert_eq!(stats(&store, &root).await.unwrap().objects, 4, "dry run");

            let done = prune(&store, &root, Duration::from_secs(90 * 86_400), false)
                .await
                .unwrap();
            assert_eq!(done, dry);
            let left = stats(&store, &root).await.unwrap();
            assert_eq!((left.objects, left.records), (2, 1));
            for (n, kept) in [(0, true), (1, false), (2, false), (3, true)] {
                let path = super::super::asset_path(&root, &fp(n));
                assert_eq!(store.head(&path).await.is_ok(), kept, "object {n}");
            }
        });
    }

    #[test]
    fn the_same_use_on_the_same_day_is_recorded_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap();
        let root = StorePath::from("c");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let used: BTreeSet<String> = [fp(1), fp(2)].into();
            for _ in 0..3 {
                record(&store, &root, &used, Duration::from_secs(5))
                    .await
                    .unwrap();
            }
            record(&store, &root, &[fp(3)].into(), Duration::from_secs(5))
                .await
                .unwrap();
            assert_eq!(stats(&store, &root).await.unwrap().records, 2);
        });
    }
}
