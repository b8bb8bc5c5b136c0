//! Making assets (cards, screenshots): the part every kind shares. Given jobs that are
//! planned already, make the ones that need it in a pool of `concurrency` workers,
//! write each file atomically, record each state in the manifest as it completes,
//! show progress, and stop everything on a fatal failure (a refused key).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use rayon::prelude::*;

use crate::fingerprint::Fingerprint;
use crate::fsutil::{TEMP_PREFIX, write_atomic};
use crate::manifest::{AssetRecord, AssetState, LiveManifest};
use crate::plan::Decision;
use crate::progress::Progress;
use crate::remote_cache::{Expect, Fetched, RemoteCache, Wanted};
use crate::render::{FailureKind, RenderError};
use crate::report::{Problem, Report};

/// One file to make or keep, and the manifest entries (key, post source) it serves.
pub struct Job {
    pub file: String,
    pub fingerprint: Fingerprint,
    pub decision: Decision,
    pub owners: Vec<(String, String)>,
}

impl Job {
    pub fn to_make(&self) -> bool {
        matches!(self.decision, Decision::Make(_))
    }

    fn record(
        &self,
        source: &str,
        state: AssetState,
        error: Option<String>,
        permanent: bool,
    ) -> AssetRecord {
        AssetRecord {
            fingerprint: self.fingerprint.hex(),
            parts: self.fingerprint.parts.clone(),
            state,
            file: (state == AssetState::Ready).then(|| self.file.clone()),
            error,
            permanent,
            source: source.to_string(),
        }
    }
}

/// How one job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Fresh,
    Made,
    /// Failed now or before; the message says why.
    Failed(String),
}

/// Everything `execute` needs besides the jobs.
pub struct Executor<'a> {
    /// "cards", "screenshots": for progress lines.
    pub what: &'static str,
    pub out: &'a Path,
    pub concurrency: usize,
    pub manifest: &'a LiveManifest,
    pub report: &'a Report,
}

impl Executor<'_> {
    /// Makes the jobs that need it with `make(index)`. An `Err` carries the message of a
    /// fatal failure; every job has an [`Outcome`] otherwise.
    pub fn execute(
        &self,
        jobs: &[Job],
        make: &(dyn Fn(usize) -> Result<Vec<u8>, RenderError> + Sync),
    ) -> Result<Vec<Outcome>, String> {
        self.execute_uploading(jobs, make, None)
    }

    /// [`Executor::execute`], uploading each asset made to the shared cache when there
    /// is one (`expect` says what job `i` must be; see [`RemoteCache::upload`]).
    pub fn execute_uploading(
        &self,
        jobs: &[Job],
        make: &(dyn Fn(usize) -> Result<Vec<u8>, RenderError> + Sync),
        upload: Option<(&RemoteCache, &(dyn Fn(usize) -> Expect + Sync))>,
    ) -> Result<Vec<Outcome>, String> {
        // Record what is about to be made before making it, so a killed build's manifest
        // says which assets were left unfinished.
        self.manifest.with(|m| {
            for job in jobs.iter().filter(|j| j.to_make()) {
                for (key, source) in &job.owners {
                    m.assets.insert(
                        key.clone(),
                        job.record(source, AssetState::Pending, None, false),
                    );
                }
            }
        });
        let progress = Progress::new(
            self.what,
            jobs.iter().filter(|j| j.to_make()).count(),
            self.report.verbosity(),
        );
        let stop = AtomicBool::new(false);
        let run = |(i, job): (usize, &Job)| -> Option<Result<(), RenderError>> {
            if !job.to_make() || stop.load(Ordering::Relaxed) {
                return None;
            }
            let result = make(i).and_then(|bytes| {
                write_atomic(&self.out.join(&job.file), &bytes)
                    .map_err(|e| RenderError::transient(format!("{e:#}")))?;
                if let Some((remote, expect)) = upload {
                    remote.upload(&job.fingerprint.hex(), &bytes, expect(i));
                }
                Ok(())
            });
            let (state, error, permanent) = match &result {
                Ok(()) => (AssetState::Ready, None, false),
                Err(e) => {
                    if e.kind == FailureKind::Fatal {
                        stop.store(true, Ordering::Relaxed);
                    }
                    (
                        AssetState::Failed,
                        Some(e.message.clone()),
                        e.kind == FailureKind::Permanent,
                    )
                }
            };
            for (key, source) in &job.owners {
                self.manifest
                    .record(key, job.record(source, state, error.clone(), permanent));
            }
            if result.is_ok() {
                self.report.verbose(format!("made {}", job.file));
            }
            progress.finished(result.is_ok());
            Some(result)
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.concurrency.max(1))
            .build()
            .context("could not start the workers")
            .map_err(|e| format!("{e:#}"))?;
        let results: Vec<Option<Result<(), RenderError>>> =
            pool.install(|| jobs.par_iter().enumerate().map(run).collect());
        progress.finish();

        let mut fatal = None;
        let outcomes = jobs
            .iter()
            .zip(results)
            .map(|(job, result)| match (&job.decision, result) {
                (Decision::Fresh, _) => Outcome::Fresh,
                (Decision::Make(_), Some(Ok(()))) => Outcome::Made,
                (Decision::Make(_), None) => {
                    Outcome::Failed("not made: the build stopped first".into())
                }
                (Decision::Make(_), Some(Err(e))) => {
                    if e.kind == FailureKind::Fatal && fatal.is_none() {
                        fatal = Some(e.message.clone());
                    }
                    Outcome::Failed(e.message)
                }
                (Decision::Failed(e), _) => Outcome::Failed(format!(
                    "{e} (failed before with the same inputs; --retry-failed asks again)"
                )),
            })
            .collect();
        match fatal {
            Some(message) => Err(message),
            None => Ok(outcomes),
        }
    }
}

/// With a shared cache: looks up every asset that `jobs` would make and takes each one
/// found there (checked against `expect(i)`) as made: its file written, its state ready,
/// its decision fresh. Returns which jobs came from the cache. A copy that is not usable
/// is a warning naming the post; the asset is made again and its copy replaced.
/// `--force` asks the cache nothing: it redoes every asset (and uploads it anew).
///
/// With `also_fresh` (`--shard`, whose job is to leave its share in the cache) the assets
/// already on disk are looked up too, and uploaded from the disk when the cache lacks them.
pub fn fetch_remote(
    remote: &RemoteCache,
    jobs: &mut [Job],
    expect: &dyn Fn(usize) -> Expect,
    out: &Path,
    manifest: &LiveManifest,
    report: &Report,
    also_fresh: bool,
) -> Vec<bool> {
    remote.note_used(
        jobs.iter()
            .filter(|j| !matches!(j.decision, Decision::Failed(_)))
            .map(|j| j.fingerprint.hex()),
    );
    let mut fetched = vec![false; jobs.len()];
    let (indices, wanted): (Vec<usize>, Vec<Wanted>) = jobs
        .iter()
        .enumerate()
        .filter(|(_, j)| match &j.decision {
            Decision::Make(why) => why != "--force",
            Decision::Fresh => also_fresh,
            Decision::Failed(_) => false,
        })
        .map(|(i, j)| {
            let wanted = Wanted {
                fingerprint: j.fingerprint.hex(),
                expect: expect(i),
                dest: out.join(&j.file),
            };
            (i, wanted)
        })
        .unzip();
    if wanted.is_empty() {
        return fetched;
    }
    for (i, result) in indices.into_iter().zip(remote.fetch(wanted)) {
        let job = &mut jobs[i];
        let shown = job
            .owners
            .first()
            .map_or(job.file.as_str(), |o| o.1.as_str());
        if job.decision.is_fresh() {
            // Only with `also_fresh`: the file here is the asset; the cache must have it.
            if matches!(result, Fetched::Miss | Fetched::Corrupt(_))
                && let Ok(bytes) = std::fs::read(out.join(&job.file))
            {
                remote.upload(&job.fingerprint.hex(), &bytes, expect(i));
            }
            continue;
        }
        match result {
            Fetched::Hit(_) => {
                report.verbose(format!("remote {shown}"));
                job.decision = Decision::Fresh;
                fetched[i] = true;
                for (key, source) in &job.owners {
                    manifest.record(key, job.record(source, AssetState::Ready, None, false));
                }
            }
            Fetched::Corrupt(why) => report.problem(
                Problem::warning(
                    shown.to_string(),
                    format!(
                        "the shared cache's copy of {} is not usable ({why}); making it again",
                        job.file
                    ),
                )
                .with_hint("anyone who can write to the cache can change its objects; see README, \"Security\""),
            ),
            Fetched::Miss | Fetched::Unavailable => {}
        }
    }
    if let Some(why) = remote.newly_down() {
        report.problem(
            Problem::warning(
                remote.location().to_string(),
                format!("the shared cache is not answering ({why}); going on without it"),
            )
            .with_hint(
                "assets are made here meanwhile; check the URL, the credentials and the network",
            ),
        );
    }
    fetched
}

/// Removes what a killed build may have left half-written in `dir`: temporary files
/// that were never renamed into place. A finished asset is never one of them.
pub fn remove_temporary_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// `folder/name` for every file in `out/folder` that is not empty (one read of the
/// folder). An empty file is what a machine that lost power may leave of a picture it
/// was writing: it is made again.
pub fn files_in(out: &Path, folder: &str) -> std::collections::HashSet<String> {
    let Ok(entries) = std::fs::read_dir(out.join(folder)) else {
        return Default::default();
    };
    entries
        .flatten()
        .filter(|e| e.metadata().is_ok_and(|m| m.is_file() && m.len() > 0))
        .map(|e| format!("{folder}/{}", e.file_name().to_string_lossy()))
        .collect()
}
