//! `watch` on a temporary copy of example-site, driven in a thread and stopped by its
//! flag: edits reach the pages and cards, bad input is reported and watching goes on.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ogforge::watch::{Cause, WatchEvent};
use ogforge::{BuildOptions, Verbosity};

use crate::support::Site;

/// The longest a saved post may take to reach the disk in these tests. Generous: a
/// loaded CI machine may take seconds where a laptop takes a few hundred milliseconds.
const ON_DISK_WITHIN: Duration = Duration::from_secs(5);

/// How long to wait for a rebuild in the other tests, whose point is not the time.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The first build draws every card: seconds, many more when tests share the cores.
pub const FIRST_BUILD: Duration = Duration::from_secs(120);

/// How long to wait to be sure that nothing happens.
const QUIET: Duration = Duration::from_millis(600);

pub const POST: &str = "content/posts/2024-03-02-hello-world.md";
pub const PAGE: &str = "public/posts/hello-world/index.html";

/// `watch` running over a site in a thread of its own; stopped when dropped.
pub struct Watching {
    stop: Arc<AtomicBool>,
    events: Receiver<WatchEvent>,
    thread: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Watching {
    /// Starts watching `site` and waits for the first build.
    pub fn start(site: &Site) -> Watching {
        let stop = Arc::new(AtomicBool::new(false));
        let (to_test, events) = mpsc::channel();
        let options = BuildOptions {
            site_dir: site.root(),
            ..BuildOptions::default()
        };
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            ogforge::watch::watch(&options, Verbosity::Normal, flag, move |event| {
                let _ = to_test.send(event.clone());
            })
        });
        let watching = Watching {
            stop,
            events,
            thread: Some(thread),
        };
        let first = watching
            .events
            .recv_timeout(FIRST_BUILD)
            .expect("the first build");
        assert_eq!(first.cause, Cause::Start);
        assert!(first.is_ok(), "{:?}", first.result);
        watching
    }

    /// The next build that `changed` set off (earlier ones, for other changes, skipped).
    pub fn after_change_to(&self, changed: &str) -> WatchEvent {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self
                .events
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("no build after a change to {changed}: {e}"));
            if let Cause::Changed(files) = &event.cause
                && files.iter().any(|f| f == Path::new(changed))
            {
                return event;
            }
        }
    }

    /// Asserts that no build starts for a while.
    fn assert_quiet(&self) {
        if let Ok(event) = self.events.recv_timeout(QUIET) {
            panic!("unexpected build: {:?}", event.cause);
        }
    }

    /// Sets the flag and waits for `watch` to return.
    pub fn stop(mut self) -> Duration {
        let asked = Instant::now();
        self.stop.store(true, Ordering::SeqCst);
        let result = self.thread.take().unwrap().join().expect("watch panicked");
        result.expect("watch returned an error");
        asked.elapsed()
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The card files of the site's output.
fn cards(site: &Site) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(site.path("public/og"))
        .map(|dir| {
            dir.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Polls until `done` holds, for at most `limit`; returns how long that took.
pub fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
    started.elapsed()
}

pub fn edit(site: &Site, rel: &str, from: &str, to: &str) {
    let text = site.read(rel);
    assert!(text.contains(from), "{rel} has no `{from}`");
    site.write(rel, text.replace(from, to));
}

#[test]
fn an_edited_title_reaches_its_page_and_a_new_card() {
    let site = Site::example();
    let watching = Watching::start(&site);
    let before = cards(&site);
    assert!(site.read(PAGE).contains("Hello, world"));

    edit(
        &site,
        POST,
        "title: Hello, world",
        "title: Hello again, world",
    );
    let latency = wait_until("the new title and card on disk", ON_DISK_WITHIN, || {
        let page = std::fs::read_to_string(site.path(PAGE)).unwrap_or_default();
        page.contains("Hello again, world")
            && cards(&site)
                .iter()
                .any(|c| c.starts_with("hello-world.") && !before.contains(c))
    });
    let event = watching.after_change_to(POST);
    eprintln!(
        "save to page and card on disk: {} ms (build {} ms, {} ms from the first event)",
        latency.as_millis(),
        event.build_time.as_millis(),
        event.since_change.unwrap_or_default().as_millis()
    );
    let summary = event.result.expect("the rebuild ran");
    assert_eq!(summary.cards_rendered, 1, "only the edited post's card");

    // The page points at the new card.
    let new_card = cards(&site)
        .into_iter()
        .find(|c| c.starts_with("hello-world.") && !before.contains(c))
        .unwrap();
    assert!(site.read(PAGE).contains(&format!("/og/{new_card}")));
    // The build's own writes set off nothing.
    watching.assert_quiet();
    assert!(watching.stop() < Duration::from_secs(1));
}

#[test]
fn broken_front_matter_is_reported_and_fixing_it_rebuilds() {
    let site = Site::example();
    let watching = Watching::start(&site);
    let good = site.read(POST);

    site.write(POST, "---\ntitle: [unclosed\n---\nbody\n");
    let event = watching.after_change_to(POST);
    assert!(event.is_ok(), "one bad post does not stop the build");
    assert!(
        event
            .problems
            .iter()
            .any(|p| p.file.ends_with("2024-03-02-hello-world.md")),
        "the problem names the post: {:?}",
        event.problems
    );

    // Still watching: the fix is built.
    site.write(
        POST,
        good.replace("title: Hello, world", "title: Fixed, world"),
    );
    let event = watching.after_change_to(POST);
    assert!(event.problems.is_empty(), "{:?}", event.problems);
    assert!(site.read(PAGE).contains("Fixed, world"));
}

#[test]
fn a_config_change_is_picked_up_and_a_broken_config_waits_for_its_fix() {
    let site = Site::example();
    let watching = Watching::start(&site);
    assert!(site.read("public/index.html").contains("Field Notes"));

    edit(
        &site,
        "ogforge.toml",
        "title = \"Field Notes\"",
        "title = \"Field Journal\"",
    );
    watching.after_change_to("ogforge.toml");
    assert!(site.read("public/index.html").contains("Field Journal"));
    assert!(
        site.read(PAGE).contains("Field Journal"),
        "og:site_name too"
    );

    edit(&site, "ogforge.toml", "[site]", "[site]\nno_such_key = 1");
    let event = watching.after_change_to("ogforge.toml");
    let error = event.result.expect_err("a bad config fails the build");
    assert!(error.contains("no_such_key"), "{error}");

    edit(&site, "ogforge.toml", "no_such_key = 1", "");
    let event = watching.after_change_to("ogforge.toml");
    assert!(event.is_ok(), "{:?}", event.result);
}

#[test]
fn save_by_rename_is_seen_and_scratch_files_are_not() {
    let site = Site::example();
    let watching = Watching::start(&site);

    // Editors' scratch files, the output and the cache set off no build.
    site.write("content/posts/.hello.md.swp", "swap");
    site.write("content/posts/hello.md~", "backup");
    site.write("content/posts/4913", "");
    site.write("content/posts/#hello.md#", "autosave");
    site.write("public/extra.txt", "not an input");
    site.write(".ogforge/other.json", "{}");
    watching.assert_quiet();

    // Save by rename: a temporary file, renamed over the post.
    let text = site
        .read(POST)
        .replace("title: Hello, world", "title: Renamed into place");
    site.write("content/posts/.hello.md.tmp", text);
    std::fs::rename(site.path("content/posts/.hello.md.tmp"), site.path(POST)).unwrap();
    watching.after_change_to(POST);
    assert!(site.read(PAGE).contains("Renamed into place"));

    // And again: the watch did not go with the replaced file.
    let text = site
        .read(POST)
        .replace("Renamed into place", "Renamed twice");
    site.write("content/posts/hello.md.new", text);
    std::fs::rename(site.path("content/posts/hello.md.new"), site.path(POST)).unwrap();
    watching.after_change_to(POST);
    assert!(site.read(PAGE).contains("Renamed twice"));
}

#[test]
fn a_new_post_in_a_new_folder_is_built() {
    let site = Site::example();
    let _watching = Watching::start(&site);
    std::fs::create_dir_all(site.path("content/notes")).unwrap();
    site.write(
        "content/notes/first.md",
        "---\ntitle: A first note\n---\nHi.\n",
    );
    wait_until("the new post's page", TIMEOUT, || {
        site.path("public/notes/first/index.html").is_file()
    });
    let page: PathBuf = site.path("public/notes/first/index.html");
    assert!(
        std::fs::read_to_string(page)
            .unwrap()
            .contains("A first note")
    );
}

#[test]
fn a_folder_that_is_not_there_cannot_be_watched() {
    let stop = Arc::new(AtomicBool::new(false));
    let options = BuildOptions {
        site_dir: PathBuf::from("/nonexistent/blog"),
        ..BuildOptions::default()
    };
    let error = ogforge::watch::watch(&options, Verbosity::Quiet, stop, |_| {})
        .expect_err("nothing to watch");
    assert!(
        format!("{error:#}").contains("/nonexistent/blog"),
        "{error:#}"
    );
}
