//! Planning: compare each asset's fingerprint with what the manifest recorded and the
//! files on disk, and decide what to do with it, with the reason. Pure: no I/O, so every
//! rule is a line of the table test below.

use crate::fingerprint::Fingerprint;
use crate::manifest::{AssetRecord, AssetState};

/// What the user asked of the build that changes decisions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Redo everything.
    pub force: bool,
    /// Ask again for assets that failed permanently with the same inputs.
    pub retry_failed: bool,
}

/// What to do with one asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Its file is there and made from the same inputs.
    Fresh,
    /// Make it, because of the reason given ("title changed", "card file missing").
    Make(String),
    /// It failed permanently with these same inputs; not asked again. The earlier error.
    Failed(String),
}

impl Decision {
    pub fn is_fresh(&self) -> bool {
        matches!(self, Decision::Fresh)
    }
}

/// Decides an asset's fate. `file_exists` says whether the file named after its
/// fingerprint is in the output folder: content-addressed, such a file is done.
pub fn decide(
    fp: &Fingerprint,
    record: Option<&AssetRecord>,
    file_exists: bool,
    options: PlanOptions,
) -> Decision {
    if options.force {
        return Decision::Make("--force".into());
    }
    let Some(record) = record else {
        return if file_exists {
            Decision::Fresh
        } else {
            Decision::Make("new".into())
        };
    };
    if record.fingerprint != fp.hex() {
        if file_exists {
            // Back to inputs an earlier card was made from (an undo, a shared card).
            return Decision::Fresh;
        }
        let changes = fp.changes_since(&record.parts);
        let reason = if changes.is_empty() {
            "inputs changed".to_string()
        } else {
            changes.join(", ")
        };
        return Decision::Make(reason);
    }
    if record.state == AssetState::Failed && record.permanent && !options.retry_failed {
        return Decision::Failed(record.error.clone().unwrap_or_else(|| "failed".into()));
    }
    if file_exists {
        return Decision::Fresh;
    }
    Decision::Make(
        match record.state {
            AssetState::Ready => "card file missing",
            AssetState::Failed => "failed last time",
            AssetState::Processing | AssetState::Pending => "unfinished last time",
        }
        .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::FingerprintBuilder;

    fn fp(title: &str) -> Fingerprint {
        FingerprintBuilder::new()
            .add("var.title", title.as_bytes())
            .add("template", b"T")
            .finish()
    }

    fn record(of: &Fingerprint, state: AssetState, permanent: bool) -> AssetRecord {
        AssetRecord {
            fingerprint: of.hex(),
            parts: of.parts.clone(),
            state,
            file: None,
            error: Some("HTTP 404: no such template".into()),
            permanent,
            source: "content/a.md".into(),
        }
    }

    #[test]
    fn decisions() {
        let now = fp("A");
        let before = fp("B");
        let none = PlanOptions::default();
        let make = |r: &str| Decision::Make(r.into());
        let cases = [
            (None, false, none, make("new")),
            (None, true, none, Decision::Fresh),
            (
                Some(record(&now, AssetState::Ready, false)),
                true,
                none,
                Decision::Fresh,
            ),
            (
                Some(record(&now, AssetState::Ready, false)),
                false,
                none,
                make("card file missing"),
            ),
            (
                Some(record(&now, AssetState::Processing, false)),
                false,
                none,
                make("unfinished last time"),
            ),
            (
                Some(record(&before, AssetState::Ready, false)),
                false,
                none,
                make("title changed"),
            ),
            (
                Some(record(&before, AssetState::Ready, false)),
                true,
                none,
                Decision::Fresh,
            ),
            (
                Some(record(&now, AssetState::Failed, true)),
                false,
                none,
                Decision::Failed("HTTP 404: no such template".into()),
            ),
            (
                Some(record(&now, AssetState::Failed, true)),
                false,
                PlanOptions {
                    retry_failed: true,
                    ..none
                },
                make("failed last time"),
            ),
            (
                Some(record(&now, AssetState::Failed, false)),
                false,
                none,
                make("failed last time"),
            ),
            (
                Some(record(&before, AssetState::Failed, true)),
                false,
                none,
                make("title changed"),
            ),
            (
                Some(record(&now, AssetState::Ready, false)),
                true,
                PlanOptions {
                    force: true,
                    ..none
                },
                make("--force"),
            ),
        ];
        for (i, (rec, exists, options, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                decide(&now, rec.as_ref(), exists, options),
                want,
                "case {i}"
            );
        }
    }
}
