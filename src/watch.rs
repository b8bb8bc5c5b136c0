//! `ogforge watch`: build, then rebuild whenever a file of the site changes.
//!
//! ```text
//! notify (inotify, ...) ─> debouncer (100 ms of quiet) ─┐
//!                                    serve's Retry button ┴─> Wake channel
//!   ─> drop what is not the site's own input (output folder, .ogforge/, hidden files,
//!      editors' swap and backup files, reads) ─> build() ─> WatchEvent ─> on_build
//! ```
//!
//! Every rebuild is a plain [`build`]: the fingerprints decide what is redone, and a build
//! with nothing to do writes nothing, so the events a build causes in its own output never
//! set off another. `ogforge.toml` is read by each build, so editing it takes effect at
//! the next one. A build that fails (bad config, a broken template) is reported and the
//! watching goes on: the next save is the fix.
//!
//! The whole site folder is watched, not a list of its files: editors that save by
//! writing a temporary file and renaming it over the post replace the file, and a watch
//! on the file itself would be lost with it.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use notify_debouncer_full::notify::event::{AccessKind, AccessMode, EventKind};
use notify_debouncer_full::notify::{self, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, DebouncedEvent, new_debouncer};

use crate::build::{BuildOptions, BuildSummary, build};
use crate::config::Config;
use crate::manifest::CACHE_DIR;
use crate::report::{Problem, Report, Verbosity};

/// How long the files must stay quiet before a rebuild: an editor's save is several
/// events (write, rename, chmod) within a few milliseconds.
pub const DEBOUNCE: Duration = Duration::from_millis(100);

/// How often the loop looks at the stop flag while nothing happens.
const POLL: Duration = Duration::from_millis(50);

/// One finished build of a watch session, handed to the `on_build` callback.
#[derive(Debug, Clone)]
pub struct WatchEvent {
    /// 1 for the first build, one more for every rebuild.
    pub number: u64,
    pub cause: Cause,
    /// What the build did, or why it could not be done (the error chain, one string).
    pub result: Result<BuildSummary, String>,
    /// Every problem the build reported, already printed.
    pub problems: Vec<Problem>,
    /// How long the build itself took.
    pub build_time: Duration,
    /// From the first change the build is for to the end of the build: what a writer
    /// waits between saving and the page being on disk. `None` for the first build and
    /// for retries.
    pub since_change: Option<Duration>,
}

impl WatchEvent {
    /// Whether the build ran to its end (assets may still have failed).
    pub fn is_ok(&self) -> bool {
        self.result.is_ok()
    }
}

/// What set a build off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The build when watching starts.
    Start,
    /// These files changed, relative to the site folder, sorted.
    Changed(Vec<PathBuf>),
    /// Someone asked to retry the failed assets (the gallery's Retry button, with the
    /// asset's key).
    Retry(String),
}

/// Builds the site, then rebuilds on every change under `options.site_dir` until `stop`
/// is set (see [`stop_on_ctrl_c`]). Each build's outcome is printed (as `build` prints
/// it, at `verbosity`) and handed to `on_build`. An `Err` means watching could not start
/// (no such folder, no more inotify watches); a failing build is not one.
pub fn watch(
    options: &BuildOptions,
    verbosity: Verbosity,
    stop: Arc<AtomicBool>,
    on_build: impl FnMut(&WatchEvent),
) -> Result<()> {
    let (to_loop, wake) = mpsc::channel();
    watch_with(options, verbosity, &stop, to_loop, wake, on_build)
}

/// What wakes the watch loop.
pub(crate) enum Wake {
    Files(DebounceEventResult),
    /// Rebuild with `retry_failed`, for the asset with this key.
    Retry(String),
}

/// [`watch`], with the channel its loop listens on made by the caller, so that `serve`
/// can send it [`Wake::Retry`].
pub(crate) fn watch_with(
    options: &BuildOptions,
    verbosity: Verbosity,
    stop: &AtomicBool,
    to_loop: Sender<Wake>,
    wake: Receiver<Wake>,
    mut on_build: impl FnMut(&WatchEvent),
) -> Result<()> {
    let site = std::fs::canonicalize(&options.site_dir)
        .with_context(|| format!("cannot watch {}", options.site_dir.display()))?;
    // Watching starts before the first build, so that a save during it is not missed.
    let mut debouncer = new_debouncer(DEBOUNCE, None, move |result| {
        let _ = to_loop.send(Wake::Files(result));
    })
    .context("cannot watch for changes")?;
    debouncer
        .watch(&site, RecursiveMode::Recursive)
        .map_err(|e| watch_error(&e, &options.site_dir))?;

    let mut filter = Filter::new(&site);
    let mut number = 0;
    let mut next = Some((Cause::Start, None));
    while !stop.load(Ordering::Relaxed) {
        if let Some((cause, first_change)) = next.take() {
            number += 1;
            let event = rebuild(options, verbosity, number, cause, first_change);
            filter.reload_config();
            if number == 1 && verbosity >= Verbosity::Normal {
                eprintln!(
                    "watching {} for changes (Ctrl-C to stop)",
                    options.site_dir.display()
                );
            }
            on_build(&event);
            continue;
        }
        let first = match wake.recv_timeout(POLL) {
            Ok(first) => first,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        // Everything that piled up (during a build, say) makes one rebuild.
        let mut pending = Pending::default();
        for wake in std::iter::once(first).chain(wake.try_iter()) {
            pending.add(wake, &filter, verbosity);
        }
        next = pending.into_cause();
    }
    Ok(())
}

/// What the wakes since the last build add up to.
#[derive(Default)]
struct Pending {
    changed: Vec<PathBuf>,
    first_change: Option<Instant>,
    retry: Option<String>,
}

impl Pending {
    fn add(&mut self, wake: Wake, filter: &Filter, verbosity: Verbosity) {
        match wake {
            Wake::Retry(key) => self.retry = Some(key),
            Wake::Files(Ok(events)) => {
                for event in events.iter().filter(|e| counts(e)) {
                    for path in &event.event.paths {
                        if let Some(rel) = filter.input(path) {
                            self.changed.push(rel);
                            self.first_change = Some(
                                self.first_change
                                    .map_or(event.time, |first| first.min(event.time)),
                            );
                        }
                    }
                }
            }
            Wake::Files(Err(errors)) => {
                // The watcher lost track (an overflowing queue, a folder gone): a
                // rebuild sees everything afresh.
                for error in errors {
                    if verbosity >= Verbosity::Normal {
                        crate::report::eprint_styled(&format!("warning: watching: {error}"));
                    }
                }
                self.changed.push(PathBuf::from("."));
                self.first_change.get_or_insert_with(Instant::now);
            }
        }
    }

    fn into_cause(mut self) -> Option<(Cause, Option<Instant>)> {
        if let Some(key) = self.retry {
            return Some((Cause::Retry(key), None));
        }
        if self.changed.is_empty() {
            return None;
        }
        self.changed.sort();
        self.changed.dedup();
        Some((Cause::Changed(self.changed), self.first_change))
    }
}

/// One build of the session, printed.
fn rebuild(
    options: &BuildOptions,
    verbosity: Verbosity,
    number: u64,
    cause: Cause,
    first_change: Option<Instant>,
) -> WatchEvent {
    let report = Report::new(verbosity);
    match &cause {
        Cause::Start => {}
        Cause::Changed(files) => report.info(format!("changed: {}", list(files))),
        Cause::Retry(key) => report.info(format!("retrying failed assets ({key})")),
    }
    let options = BuildOptions {
        retry_failed: options.retry_failed || matches!(cause, Cause::Retry(_)),
        ..options.clone()
    };
    let started = Instant::now();
    let result = build(&options, &report);
    let build_time = started.elapsed();
    let since_change = first_change.map(|first| first.elapsed());
    match &result {
        Ok(summary) => {
            report.info(summary.to_line(&report));
            if let Some(since) = since_change {
                report.info(format!(
                    "rebuilt in {} ms; on disk {} ms after the change",
                    build_time.as_millis(),
                    since.as_millis()
                ));
            }
        }
        Err(e) => {
            crate::report::eprint_styled(&format!("error: {e:#}"));
            eprintln!("the build failed; watching on, the next save rebuilds");
        }
    }
    WatchEvent {
        number,
        cause,
        result: result.map_err(|e| format!("{e:#}")),
        problems: report.problems(),
        build_time,
        since_change,
    }
}

/// `a, b (+3 more)`.
fn list(files: &[PathBuf]) -> String {
    const SHOWN: usize = 3;
    let mut text = files
        .iter()
        .take(SHOWN)
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if files.len() > SHOWN {
        text.push_str(&format!(" (+{} more)", files.len() - SHOWN));
    }
    text
}

fn watch_error(e: &notify::Error, site_dir: &Path) -> anyhow::Error {
    let hint = match &e.kind {
        notify::ErrorKind::MaxFilesWatch => {
            "\n  hint: raise the limit, e.g. `sysctl fs.inotify.max_user_watches=524288`"
        }
        _ => "",
    };
    anyhow::anyhow!("cannot watch {}: {e}{hint}", site_dir.display())
}

/// Whether an event can change a file: opening and reading cannot, and the build reads
/// every input, so counting them would rebuild forever.
fn counts(event: &DebouncedEvent) -> bool {
    match event.event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// Tells the site's own inputs from everything else in its folder.
struct Filter {
    /// The site folder, canonical (as the watcher reports paths under it).
    site: PathBuf,
    /// `site.output_dir` of the last config that could be read, relative to the site.
    output_dir: PathBuf,
}

impl Filter {
    fn new(site: &Path) -> Filter {
        let mut filter = Filter {
            site: site.to_path_buf(),
            output_dir: PathBuf::from("public"),
        };
        filter.reload_config();
        filter
    }

    /// Follows a change of `site.output_dir`; a config that cannot be read changes
    /// nothing (the build has said why).
    fn reload_config(&mut self) {
        if let Ok(config) = Config::load(&self.site) {
            self.output_dir = normal(&config.site.output_dir);
        }
    }

    /// `path` relative to the site when it is an input of the build; `None` for the
    /// output, the cache, hidden files and editors' scratch files.
    fn input(&self, path: &Path) -> Option<PathBuf> {
        let rel = normal(path.strip_prefix(&self.site).ok()?);
        if rel.as_os_str().is_empty() || rel.starts_with(&self.output_dir) {
            return None;
        }
        let hidden = rel.components().any(|c| {
            let name = c.as_os_str().to_string_lossy();
            name.starts_with('.') || name == CACHE_DIR
        });
        let name = rel.file_name()?.to_string_lossy();
        (!hidden && !is_scratch_file(&name)).then_some(rel)
    }
}

/// `a/./b` as `a/b`.
fn normal(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect()
}

/// Files editors write beside the one being edited: backups (`post.md~`), Vim's swap
/// files and the `4913` it probes a folder with, Emacs's `#post.md#`, Kate's and
/// JetBrains' temporary files. (Hidden ones, `.post.md.swp` or Emacs's `.#post.md`,
/// are left out as hidden.)
fn is_scratch_file(name: &str) -> bool {
    name.ends_with('~')
        || name == "4913"
        || (name.starts_with('#') && name.ends_with('#'))
        || [
            ".swp",
            ".swx",
            ".swo",
            ".kate-swp",
            "___jb_tmp___",
            "___jb_old___",
        ]
        .iter()
        .any(|suffix| name.ends_with(suffix))
}

/// Makes the first Ctrl-C (or SIGTERM) set `stop`: watching ends after the build under
/// way, and anything started for it (a Chromium for screenshots) is closed properly. A
/// second Ctrl-C ends the program at once.
#[cfg(unix)]
pub fn stop_on_ctrl_c(stop: Arc<AtomicBool>) -> Result<()> {
    static REQUESTED: AtomicBool = AtomicBool::new(false);

    extern "C" fn on_signal(signal: libc::c_int) {
        if REQUESTED.swap(true, Ordering::SeqCst) {
            // SAFETY: signal(2) and raise(3) are async-signal-safe; back to the default
            // action, the same signal ends the process.
            unsafe {
                libc::signal(signal, libc::SIG_DFL);
                libc::raise(signal);
            }
        }
    }

    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only touches an atomic and calls async-signal-safe
        // functions.
        let previous =
            unsafe { libc::signal(signal, on_signal as *const () as libc::sighandler_t) };
        if previous == libc::SIG_ERR {
            anyhow::bail!("cannot handle Ctrl-C: {}", std::io::Error::last_os_error());
        }
    }
    std::thread::Builder::new()
        .name("ctrl-c".into())
        .spawn(move || {
            while !REQUESTED.load(Ordering::SeqCst) {
                std::thread::sleep(POLL);
            }
            stop.store(true, Ordering::SeqCst);
        })
        .context("cannot start a thread")?;
    Ok(())
}

/// Elsewhere Ctrl-C ends the program as usual; builds never leave torn files.
#[cfg(not(unix))]
pub fn stop_on_ctrl_c(_stop: Arc<AtomicBool>) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_sites_own_inputs_count() {
        let filter = Filter {
            site: PathBuf::from("/blog"),
            output_dir: PathBuf::from("public"),
        };
        let input = |p: &str| filter.input(Path::new(p)).map(|p| p.display().to_string());
        assert_eq!(
            input("/blog/content/posts/a.md").as_deref(),
            Some("content/posts/a.md")
        );
        assert_eq!(input("/blog/ogforge.toml").as_deref(), Some("ogforge.toml"));
        assert_eq!(
            input("/blog/templates/page.html").as_deref(),
            Some("templates/page.html")
        );
        for ignored in [
            "/blog",
            "/elsewhere/content/a.md",
            "/blog/public/index.html",
            "/blog/public/og/a.1234.png",
            "/blog/.ogforge/manifest.json",
            "/blog/.git/index",
            "/blog/content/.a.md.swp",
            "/blog/content/.#a.md",
            "/blog/content/a.md~",
            "/blog/content/#a.md#",
            "/blog/content/4913",
            "/blog/content/a.md.swx",
            "/blog/content/a.md___jb_tmp___",
        ] {
            assert_eq!(input(ignored), None, "{ignored}");
        }
        // A post whose name merely starts like the output folder is an input.
        assert!(input("/blog/publications/a.md").is_some());
    }

    #[test]
    fn pending_changes_make_one_cause() {
        let mut pending = Pending::default();
        assert!(pending_is_empty(&pending));
        pending.changed = vec!["b".into(), "a".into(), "b".into()];
        assert_eq!(
            pending.into_cause().map(|c| c.0),
            Some(Cause::Changed(vec!["a".into(), "b".into()]))
        );
        let pending = Pending {
            changed: vec!["a".into()],
            retry: Some("card:x".into()),
            ..Pending::default()
        };
        assert_eq!(
            pending.into_cause().map(|c| c.0),
            Some(Cause::Retry("card:x".into()))
        );
    }

    fn pending_is_empty(pending: &Pending) -> bool {
        pending.changed.is_empty() && pending.retry.is_none()
    }

    #[test]
    fn long_lists_are_cut() {
        let files: Vec<PathBuf> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(list(&files[..1]), "a");
        assert_eq!(list(&files), "a, b, c (+2 more)");
    }
}
