//! `ogforge cache prune|stats`: the shared cache's upkeep, printed.
//!
//! Exit codes: 0 done; 1 the cache could not be listed, read or changed; 2 no cache is
//! set, or its URL is wrong.

use ogforge::cli::{CacheArgs, CacheCommand};
use ogforge::config::ByteSize;
use ogforge::remote_cache::{RemoteCache, usage};
use ogforge::{ExitStatus, Report};
use serde_json::json;

pub fn execute(command: CacheCommand, report: &Report) -> ExitStatus {
    let args = match &command {
        CacheCommand::Prune(prune) => &prune.cache,
        CacheCommand::Stats(args) => args,
    };
    let cache = match open(args) {
        Ok(cache) => cache,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitStatus::BadInput;
        }
    };
    let url = cache.location().to_string();
    let root = cache.location().root();
    let store = cache.store().clone();
    match command {
        CacheCommand::Stats(args) => match cache.block_on(usage::stats(&*store, &root)) {
            Ok(s) => {
                if args.json {
                    let out = json!({
                        "url": url,
                        "objects": s.objects,
                        "bytes": s.bytes,
                        "oldest_upload": s.oldest,
                        "newest_upload": s.newest,
                        "usage_records": s.records,
                        "last_used": s.last_used,
                    });
                    println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
                } else {
                    let span = match (&s.oldest, &s.newest) {
                        (Some(a), Some(b)) => format!(", uploaded {a} to {b}"),
                        _ => String::new(),
                    };
                    report.info(format!(
                        "shared cache {url}: {} objects ({}){span}; {} usage records, the last of {}",
                        s.objects,
                        ByteSize(s.bytes.max(1)),
                        s.records,
                        s.last_used.as_deref().unwrap_or("none")
                    ));
                }
                ExitStatus::Success
            }
            Err(e) => failed(&url, &e),
        },
        CacheCommand::Prune(prune) => {
            let pruned = cache.block_on(usage::prune(
                &*store,
                &root,
                prune.older_than,
                prune.dry_run,
            ));
            match pruned {
                Ok(p) => {
                    if prune.cache.json {
                        let out = json!({
                            "url": url,
                            "dry_run": prune.dry_run,
                            "cutoff": p.cutoff,
                            "removed": p.removed,
                            "removed_bytes": p.removed_bytes,
                            "kept": p.kept,
                            "kept_bytes": p.kept_bytes,
                            "usage_records_removed": p.records_removed,
                        });
                        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
                    } else {
                        report.info(format!(
                            "{} {} objects ({}) not used or uploaded since {}, and {} older usage records; kept {} ({})",
                            if prune.dry_run { "would remove" } else { "removed" },
                            p.removed,
                            ByteSize(p.removed_bytes.max(1)),
                            p.cutoff,
                            p.records_removed,
                            p.kept,
                            ByteSize(p.kept_bytes.max(1)),
                        ));
                    }
                    ExitStatus::Success
                }
                Err(e) => failed(&url, &e),
            }
        }
    }
}

/// The cache `--url` names, else the site's.
fn open(args: &CacheArgs) -> anyhow::Result<RemoteCache> {
    RemoteCache::for_maintenance(&args.site, args.url.as_deref())
}

fn failed(url: &str, e: &str) -> ExitStatus {
    eprintln!("error: {url}: {e}");
    ExitStatus::AssetsFailed
}
