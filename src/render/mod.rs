//! Cards: what a card is ([`CardRequest`]), how it is named (content-addressed), and the
//! backends that draw it, behind one small trait chosen by name from the config.

pub mod fonts;
pub mod layout;
pub mod local;
pub mod png;

use serde_json::{Map, Value};

use crate::config::ImageFormat;

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

/// A card backend: draws a card, and says which of its own inputs a card depends on.
pub trait Backend: Send + Sync {
    /// "local" or "snapsharp".
    fn name(&self) -> &'static str;

    /// Feeds into `hasher` the backend's own inputs to `card` (template bytes, fonts...).
    fn hash_inputs(&self, card: &CardRequest, hasher: &mut blake3::Hasher) -> Result<(), String>;

    /// The image bytes of `card`, in `card.format`.
    fn render(&self, card: &CardRequest) -> Result<Vec<u8>, String>;
}

/// blake3 of every input of a card; the card file is named after it.
pub fn card_hash(backend: &dyn Backend, card: &CardRequest) -> Result<blake3::Hash, String> {
    let mut h = blake3::Hasher::new();
    // Each field is framed by its length, so no two different inputs hash alike.
    let mut field = |bytes: &[u8]| {
        h.update(&(bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(RENDERER_VERSION.as_bytes());
    field(backend.name().as_bytes());
    field(card.template.as_bytes());
    field(
        serde_json::to_string(&card.variables)
            .unwrap_or_default()
            .as_bytes(),
    );
    field(&card.width.to_le_bytes());
    field(&card.height.to_le_bytes());
    field(card.format.extension().as_bytes());
    backend.hash_inputs(card, &mut h)?;
    Ok(h.finalize())
}

/// `og/<slug>.<first 12 hex of the hash>.<ext>`, the card's path in the output folder.
pub fn card_file(slug: &str, hash: &blake3::Hash, format: ImageFormat) -> String {
    format!("og/{slug}.{}.{}", &hash.to_hex()[..12], format.extension())
}
