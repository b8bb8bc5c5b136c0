//! The card backend a site draws with, set up once for `build` and `inject` alike: the
//! site's `[og] fonts` with the shipped ones, its card templates, SnapSharp or local by
//! `[og] backend` (or `--offline`), and how many cards are made at once. Both commands
//! go through [`CardBackend::choose`], so a page gets the same card, byte for byte, from
//! either.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use serde_json::Value;

use crate::config::{Config, OgBackend};
use crate::fingerprint::FingerprintBuilder;
use crate::render::fonts::FontSet;
use crate::render::local::LocalBackend;
use crate::render::snapsharp::{ApiKey, SnapsharpBackend, SnapsharpClient};
use crate::render::{Backend, CardRequest, FailureKind, RenderError};
use crate::report::{Problem, Report};

/// The card backend the config (or `--offline`) chose.
pub struct CardBackend {
    backend: Box<dyn Backend>,
    /// The fonts of a local backend, for the "no font covers" warning.
    fonts: Option<Arc<FontSet>>,
    /// Cards made at once at most.
    concurrency: usize,
}

impl CardBackend {
    /// The backend to use: SnapSharp through `client` when the config asks for it and
    /// there is a client, else local with `fonts` and the site's `templates/og/`.
    pub fn choose(
        config: &Config,
        site_dir: &Path,
        fonts: Arc<FontSet>,
        client: Option<Arc<SnapsharpClient>>,
    ) -> Result<CardBackend> {
        if let Some(client) = client.filter(|_| config.og.backend == OgBackend::Snapsharp) {
            let backend = SnapsharpBackend::shared(client);
            return Ok(CardBackend {
                concurrency: backend.concurrency(),
                backend: Box::new(backend),
                fonts: None,
            });
        }
        let local = LocalBackend::new(
            site_dir,
            &site_dir.join("templates").join("og"),
            fonts.clone(),
        )?;
        Ok(CardBackend {
            backend: Box::new(local),
            fonts: Some(fonts),
            concurrency: rayon::current_num_threads(),
        })
    }

    /// For a command that makes cards and nothing else (`inject`): the fonts, and with
    /// SnapSharp chosen a client of its own; without the key, the error that stops the
    /// command before any work, naming the variable to set.
    pub fn for_cards(config: &Config, site_dir: &Path, offline: bool) -> Result<CardBackend> {
        let fonts = load_fonts(config, site_dir)?;
        let client = if config.og.backend == OgBackend::Snapsharp && !offline {
            let key = ApiKey::from_env(&config.snapsharp.api_key_env).map_err(|e| anyhow!(e))?;
            Some(Arc::new(
                SnapsharpClient::new(&config.snapsharp, key).map_err(|e| anyhow!(e))?,
            ))
        } else {
            None
        };
        CardBackend::choose(config, site_dir, fonts, client)
    }

    /// For `--frozen` with a remote backend: fingerprints the way it would, makes nothing.
    pub fn plan_only(name: &'static str) -> CardBackend {
        CardBackend {
            backend: Box::new(PlanOnly(name)),
            fonts: None,
            concurrency: 1,
        }
    }

    pub fn as_dyn(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    pub fn is_local(&self) -> bool {
        self.fonts.is_some()
    }

    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// Warns, naming `source`, when text of `card` has characters no font of a local
    /// backend draws (they would be boxes). A remote backend has fonts of its own.
    pub fn warn_missing_glyphs(&self, source: &Path, card: &CardRequest, report: &Report) {
        if let Some(fonts) = &self.fonts {
            warn_missing_glyphs(fonts, source, card, report);
        }
    }
}

/// The shipped fonts, plus the site's `[og] fonts` when it has any.
pub fn load_fonts(config: &Config, site_dir: &Path) -> Result<Arc<FontSet>> {
    if config.og.fonts.is_empty() {
        return Ok(FontSet::built_in());
    }
    let paths: Vec<PathBuf> = config.og.fonts.iter().map(|f| site_dir.join(f)).collect();
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    Ok(Arc::new(
        FontSet::load(&refs).context("in `[og] fonts` of ogforge.toml")?,
    ))
}

/// Warns, naming `source`, when text of `card` has characters no font of `fonts` covers.
pub fn warn_missing_glyphs(fonts: &FontSet, source: &Path, card: &CardRequest, report: &Report) {
    let mut text = String::new();
    for key in ["title", "description", "author", "site_title"] {
        if let Some(Value::String(s)) = card.variables.get(key) {
            text.push_str(s);
        }
    }
    let missing = fonts.missing(&text);
    if !missing.is_empty() {
        let list: String = missing
            .iter()
            .map(|c| format!("{c} (U+{:04X}) ", *c as u32))
            .collect();
        report.problem(
            Problem::warning(
                source,
                format!(
                    "its card has characters no font covers: {}",
                    list.trim_end()
                ),
            )
            .with_hint("add a font that has them to `[og] fonts` in ogforge.toml"),
        );
    }
}

/// A backend that only plans: `--frozen` must not need a key to tell stale from fresh.
struct PlanOnly(&'static str);

impl Backend for PlanOnly {
    fn name(&self) -> &'static str {
        self.0
    }

    fn fingerprint_inputs(
        &self,
        _: &CardRequest,
        _: &mut FingerprintBuilder,
    ) -> Result<(), String> {
        Ok(())
    }

    fn render(&self, _: &CardRequest) -> Result<Vec<u8>, RenderError> {
        Err(RenderError {
            kind: FailureKind::Fatal,
            message: "a frozen build makes no card".into(),
        })
    }
}
