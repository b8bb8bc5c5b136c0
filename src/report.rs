//! What a build tells its user: problems with inputs, progress lines, and the exit status.
//!
//! The library never exits and never prints a problem twice: every problem goes through
//! [`Report::problem`], which prints it at once (so a long build shows it early) and keeps
//! it for the summary and the exit code.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How much a command prints on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Only errors.
    Quiet,
    /// Errors, warnings and the summary.
    Normal,
    /// Also one line per page and per decision (`-v`).
    Verbose,
}

/// The exit codes that DESIGN.md promises; stable across releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success = 0,
    /// Some assets (cards, screenshots) failed; every page was still written.
    AssetsFailed = 1,
    /// Bad usage, configuration or input.
    BadInput = 2,
    /// `--frozen` or `check` found something stale or broken.
    Stale = 3,
}

/// What kind of input a problem is about; decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// A post, template or other input the user wrote is wrong.
    Input,
    /// An asset could not be produced (a failed card or screenshot).
    Asset,
    /// `--frozen` or `check` found something stale or broken.
    Stale,
    /// Worth saying, not wrong.
    Warning,
}

/// One thing that went wrong with one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    /// The file, relative to the site folder where possible.
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    pub fn input(file: impl Into<PathBuf>, message: impl Into<String>) -> Problem {
        Problem {
            kind: ProblemKind::Input,
            file: file.into(),
            line: None,
            message: message.into(),
            hint: None,
        }
    }

    pub fn warning(file: impl Into<PathBuf>, message: impl Into<String>) -> Problem {
        Problem {
            kind: ProblemKind::Warning,
            ..Problem::input(file, message)
        }
    }

    pub fn at_line(mut self, line: Option<usize>) -> Problem {
        self.line = line;
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Problem {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.kind {
            ProblemKind::Input | ProblemKind::Asset => "error",
            ProblemKind::Stale => "stale",
            ProblemKind::Warning => "warning",
        };
        write!(f, "{label}: {}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Collects problems and prints progress; shared by the threads of one build.
#[derive(Debug)]
pub struct Report {
    verbosity: Verbosity,
    problems: Mutex<Vec<Problem>>,
}

impl Report {
    pub fn new(verbosity: Verbosity) -> Report {
        Report {
            verbosity,
            problems: Mutex::new(Vec::new()),
        }
    }

    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// Prints the problem now and keeps it for the summary.
    pub fn problem(&self, problem: Problem) {
        if problem.kind != ProblemKind::Warning || self.verbosity >= Verbosity::Normal {
            eprint_styled(&problem.to_string());
        }
        self.lock().push(problem);
    }

    /// A line shown with `-v` only.
    pub fn verbose(&self, line: impl fmt::Display) {
        if self.verbosity >= Verbosity::Verbose {
            eprintln!("{line}");
        }
    }

    /// A line shown unless `--quiet`.
    pub fn info(&self, line: impl fmt::Display) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("{line}");
        }
    }

    pub fn problems(&self) -> Vec<Problem> {
        self.lock().clone()
    }

    pub fn count(&self, kind: ProblemKind) -> usize {
        self.lock().iter().filter(|p| p.kind == kind).count()
    }

    /// Bad input outranks failed assets: the user has something to fix either way,
    /// but a wrong post is theirs to fix and a failed request may pass next time.
    pub fn exit_status(&self) -> ExitStatus {
        if self.count(ProblemKind::Input) > 0 {
            ExitStatus::BadInput
        } else if self.count(ProblemKind::Stale) > 0 {
            ExitStatus::Stale
        } else if self.count(ProblemKind::Asset) > 0 {
            ExitStatus::AssetsFailed
        } else {
            ExitStatus::Success
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Problem>> {
        // A thread that panicked while pushing leaves a usable Vec behind.
        self.problems.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `path` relative to `base` when it lies under it, for messages that name files.
pub fn display_path(base: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(base).unwrap_or(path).to_path_buf()
}

/// Prints `text` on stderr with its labels coloured as cargo colours them: `error:` red,
/// `warning:` and `stale:` yellow, `hint:` cyan, at the start of a line. anstream drops
/// the colours where they are off (`--color never`, NO_COLOR, stderr not a terminal), so
/// the text itself stays plain for tests, JSON and the gallery.
pub fn eprint_styled(text: &str) {
    anstream::eprintln!("{}", styled(text));
}

fn styled(text: &str) -> String {
    use anstyle::{AnsiColor, Style};
    let labels = [
        ("error:", AnsiColor::Red),
        ("warning:", AnsiColor::Yellow),
        ("stale:", AnsiColor::Yellow),
        ("  hint:", AnsiColor::Cyan),
    ];
    let mut out = String::with_capacity(text.len() + 16);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match labels.iter().find(|(label, _)| line.starts_with(label)) {
            Some((label, colour)) => {
                let style = Style::new().bold().fg_color(Some((*colour).into()));
                out.push_str(&format!("{style}{label}{style:#}{}", &line[label.len()..]));
            }
            None => out.push_str(line),
        }
    }
    out
}

/// `n` and the noun, the noun in the plural unless `n` is 1: "1 card", "0 cards", "2 cards".
/// Every noun ogforge counts (page, post, card, file, error, warning, problem, asset,
/// attempt) takes a plain -s.
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_names_file_line_and_hint() {
        let p = Problem::input("content/a.md", "no title")
            .at_line(Some(2))
            .with_hint("add `title: ...` to the front matter");
        assert_eq!(
            p.to_string(),
            "error: content/a.md:2: no title\n  hint: add `title: ...` to the front matter"
        );
    }

    #[test]
    fn input_problems_outrank_asset_failures() {
        let report = Report::new(Verbosity::Quiet);
        assert_eq!(report.exit_status(), ExitStatus::Success);
        report.problem(Problem::warning("a", "w"));
        assert_eq!(report.exit_status(), ExitStatus::Success);
        report.problem(Problem {
            kind: ProblemKind::Asset,
            ..Problem::input("b", "card failed")
        });
        assert_eq!(report.exit_status(), ExitStatus::AssetsFailed);
        report.problem(Problem::input("c", "bad"));
        assert_eq!(report.exit_status(), ExitStatus::BadInput);
    }

    #[test]
    fn labels_are_coloured_and_the_text_kept() {
        let text = "error: a.md:2: no title\n  hint: add one\nplain: line";
        let out = styled(text);
        assert!(
            out.starts_with("\u{1b}[1m\u{1b}[31merror:\u{1b}[0m a.md:2"),
            "{out:?}"
        );
        assert!(
            out.contains("\n\u{1b}[1m\u{1b}[36m  hint:\u{1b}[0m add one"),
            "{out:?}"
        );
        assert!(out.ends_with("\nplain: line"), "{out:?}");
        assert_eq!(anstream::adapter::strip_str(&out).to_string(), text);
    }

    #[test]
    fn plural_follows_the_count() {
        for (n, want) in [
            (0, "0 cards"),
            (1, "1 card"),
            (2, "2 cards"),
            (21, "21 cards"),
        ] {
            assert_eq!(plural(n, "card"), want);
        }
    }
}
