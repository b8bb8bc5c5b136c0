//! Cards: what a card is ([`CardRequest`]), how it is named (content-addressed), and the
//! backends that draw it, behind one small trait chosen by name from the config.

pub mod chromium;
pub mod fonts;
pub mod layers;
pub mod layout;
pub mod local;
pub mod png;
pub mod snapsharp;

use serde_json::{Map, Value};

use crate::config::ImageFormat;
use crate::fingerprint::{Fingerprint, FingerprintBuilder};

/// Changes whenever a card drawn from the same inputs could come out different.
pub const RENDERER_VERSION: &str = concat!("ogforge-card-", env!("CARGO_PKG_VERSION"), "-1");

/// Everything that decides what one card looks like.
#[derive(Debug, Clone, PartialEq)]
pub struct CardRequest {
    /// Card template name (`blog-post`).
    pub template: String,
    /// What the template sees: title, description, author, date, tags, site title...
    pub variables: Map<String, Value>,
    pub width: u32,
    pub height: u32,
    pub format: ImageFormat,
}

/// How a failed render should be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Will fail again with the same inputs (a bad template, a 400/404/422): the asset is
    /// `failed` and not asked again until its inputs change or `--retry-failed`.
    Permanent,
    /// Might pass next time (timeouts, 5xx, 429 after every retry): asked again next build.
    Transient,
    /// Every request would fail (401/403, a wrong key): the build stops at once.
    Fatal,
}

/// Why a card or screenshot could not be made; `message` never contains the API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError {
    pub kind: FailureKind,
    pub message: String,
}

impl RenderError {
    pub fn permanent(message: impl Into<String>) -> RenderError {
        RenderError {
            kind: FailureKind::Permanent,
            message: message.into(),
        }
    }

    pub fn transient(message: impl Into<String>) -> RenderError {
        RenderError {
            kind: FailureKind::Transient,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<String> for RenderError {
    /// Local rendering problems come from the site's own files: permanent.
    fn from(message: String) -> RenderError {
        RenderError::permanent(message)
    }
}

/// A card backend: draws a card, and says which of its own inputs a card depends on.
pub trait Backend: Send + Sync {
    /// "local" or "snapsharp".
    fn name(&self) -> &'static str;

    /// Adds the backend's own inputs to `card`'s fingerprint (template bytes, fonts...);
    /// an error when the card cannot be made at all (no such template).
    fn fingerprint_inputs(
        &self,
        card: &CardRequest,
        fp: &mut FingerprintBuilder,
    ) -> Result<(), String>;

    /// What making `card` would do, for `--dry-run`: a local draw or an API call.
    fn describe(&self, card: &CardRequest) -> String {
        format!(
            "draw template {} at {}x{} locally",
            card.template, card.width, card.height
        )
    }

    /// The image bytes of `card`, in `card.format`.
    fn render(&self, card: &CardRequest) -> Result<Vec<u8>, RenderError>;
}

/// The fingerprint of a card: every input of it (see `fingerprint.rs`). The card file
/// is named after its hash.
pub fn card_fingerprint(backend: &dyn Backend, card: &CardRequest) -> Result<Fingerprint, String> {
    let mut fp = FingerprintBuilder::new();
    fp.add("renderer", RENDERER_VERSION.as_bytes())
        .add("backend", backend.name().as_bytes())
        .add("template_name", card.template.as_bytes())
        .add("size", format!("{}x{}", card.width, card.height).as_bytes())
        .add("format", card.format.extension().as_bytes());
    for (name, value) in &card.variables {
        fp.add(
            &format!("var.{name}"),
            serde_json::to_string(value).unwrap_or_default().as_bytes(),
        );
    }
    backend.fingerprint_inputs(card, &mut fp)?;
    Ok(fp.finish())
}

/// `og/<slug>.<first 12 hex of the hash>.<ext>`, the card's path in the output folder.
pub fn card_file(slug: &str, hash: &blake3::Hash, format: ImageFormat) -> String {
    format!("og/{slug}.{}.{}", &hash.to_hex()[..12], format.extension())
}
