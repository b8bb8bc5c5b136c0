//! Progress of the assets a build makes: a bar on a terminal (done/total, failures,
//! rate), and on anything else (CI logs) a plain line at most every few seconds.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report::Verbosity;

/// How often a plain progress line is printed when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(2);

pub struct Progress {
    what: &'static str,
    total: usize,
    done: AtomicUsize,
    failed: AtomicUsize,
    started: Instant,
    bar: Option<ProgressBar>,
    /// When the last plain line went out; `None` when lines are off (quiet).
    last_line: Option<Mutex<Instant>>,
}

impl Progress {
    /// Progress over `total` assets of a kind (`"cards"`).
    pub fn new(what: &'static str, total: usize, verbosity: Verbosity) -> Progress {
        let show = verbosity == Verbosity::Normal && total > 0;
        let tty = std::io::stderr().is_terminal();
        let bar = (show && tty).then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} {msg} ({per_sec}, {eta} left)",
            )
            .expect("the template is valid")
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(what);
            bar
        });
        Progress {
            what,
            total,
            done: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            started: Instant::now(),
            bar,
            last_line: (show && !tty).then(|| Mutex::new(Instant::now())),
        }
    }

    /// One asset finished, well or not.
    pub fn finished(&self, ok: bool) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if !ok {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        let failed = self.failed.load(Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc(1);
            if failed > 0 {
                bar.set_message(format!("{failed} failed"));
            }
        }
        if let Some(last) = &self.last_line {
            let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
            // Short runs print nothing; long ones a line every LINE_EVERY and the last.
            let long = self.started.elapsed() >= LINE_EVERY;
            if long && (last.elapsed() >= LINE_EVERY || done == self.total) {
                *last = Instant::now();
                let rate = done as f64 / self.started.elapsed().as_secs_f64().max(0.001);
                eprintln!(
                    "{}: {done}/{} done, {failed} failed, {rate:.1}/s",
                    self.what, self.total
                );
            }
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
