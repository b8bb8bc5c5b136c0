//! `--json`: the machine-readable report of a command, on stdout. Field names are a
//! contract for CI scripts: add fields, never rename them.

use serde::Serialize;
use serde_json::{Value, json};

use crate::build::BuildSummary;
use crate::report::{ExitStatus, ProblemKind, Report};

/// The report of `ogforge build --json`; `summary` is `None` when the build stopped.
pub fn build_report(
    summary: Option<&BuildSummary>,
    status: ExitStatus,
    fatal: Option<&str>,
    report: &Report,
) -> Value {
    let mut out = json!({
        "status": status as u8,
        "outcome": outcome(status),
        "problems": problems(report),
    });
    if let Some(error) = fatal {
        out["error"] = error.into();
    }
    if let Some(s) = summary {
        out["posts"] = s.posts.into();
        out["pages"] = s.pages.into();
        out["output_dir"] = s.output_dir.display().to_string().into();
        out["elapsed_ms"] = (s.elapsed.as_millis() as u64).into();
        out["files"] = json!({ "written": s.files_written, "unchanged": s.files_unchanged });
        out["cards"] = json!({
            "made": s.cards_rendered,
            "fresh": s.cards_fresh,
            "remote": s.cards_remote,
            "failed": s.cards_failed,
        });
        out["screenshots"] = json!({
            "made": s.screenshots_made,
            "fresh": s.screenshots_fresh,
            "remote": s.screenshots_remote,
            "failed": s.screenshots_failed,
            "skipped": s.screenshots_skipped,
        });
        if let Some(c) = &s.cache {
            out["cache"] = json!({
                "url": c.url,
                "hits": c.hits,
                "misses": c.misses,
                "corrupt": c.corrupt,
                "errors": c.errors,
                "uploads": c.uploads,
                "upload_failures": c.upload_failures,
                "bytes_downloaded": c.bytes_downloaded,
                "bytes_uploaded": c.bytes_uploaded,
                "down": c.down,
            });
        }
        if let Some(shard) = s.shard {
            out["shard"] = shard.to_string().into();
        }
        out["leftovers"] = s.leftovers.into();
        out["assets"] = s
            .assets
            .iter()
            .map(|(key, a)| {
                json!({
                    "key": key,
                    "kind": key.split(':').next().unwrap_or(""),
                    "source": a.source,
                    "state": a.state,
                    "file": a.file,
                    "error": a.error,
                    "permanent": a.permanent,
                })
            })
            .collect::<Vec<_>>()
            .into();
    }
    out
}

fn outcome(status: ExitStatus) -> &'static str {
    match status {
        ExitStatus::Success => "success",
        ExitStatus::AssetsFailed => "assets-failed",
        ExitStatus::BadInput => "bad-input",
        ExitStatus::Stale => "stale",
    }
}

#[derive(Serialize)]
struct JsonProblem {
    severity: &'static str,
    file: String,
    line: Option<usize>,
    message: String,
    hint: Option<String>,
}

fn problems(report: &Report) -> Vec<JsonProblem> {
    report
        .problems()
        .into_iter()
        .map(|p| JsonProblem {
            severity: match p.kind {
                ProblemKind::Input | ProblemKind::Asset => "error",
                ProblemKind::Stale => "stale",
                ProblemKind::Warning => "warning",
            },
            file: p.file.display().to_string(),
            line: p.line,
            message: p.message,
            hint: p.hint,
        })
        .collect()
}
