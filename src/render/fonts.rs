//! The fonts cards are drawn with: the ones shipped in `fonts/` (compiled in, so output
//! is the same on every machine, the host's fonts never used) and a site's own
//! `[og] fonts`, in one fallback chain.
//!
//! [`FontSet`] answers three questions for text layout: which face draws a character,
//! how wide a run of text is (shaped with harfrust, in em units, so one shaping serves
//! every font size), and which characters no face covers.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use harfrust::{ShapeOptions, ShaperData, UnicodeBuffer};
use resvg::usvg::fontdb;
use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size};

/// Bytes of a font file, shared between the database and the shaper.
type FontBytes = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// The shipped fonts, in fallback order after a template's own family.
const BUILT_IN: &[(&str, &[u8])] = &[
    (
        "Inter-Regular.otf",
        include_bytes!("../../fonts/Inter-Regular.otf"),
    ),
    (
        "Inter-Bold.otf",
        include_bytes!("../../fonts/Inter-Bold.otf"),
    ),
    (
        "NotoSansArabic-Regular.ttf",
        include_bytes!("../../fonts/NotoSansArabic-Regular.ttf"),
    ),
    (
        "NotoSansArabic-Bold.ttf",
        include_bytes!("../../fonts/NotoSansArabic-Bold.ttf"),
    ),
    (
        "NotoSansHebrew-Regular.ttf",
        include_bytes!("../../fonts/NotoSansHebrew-Regular.ttf"),
    ),
    (
        "NotoSansHebrew-Bold.ttf",
        include_bytes!("../../fonts/NotoSansHebrew-Bold.ttf"),
    ),
    (
        "DroidSansFallback.ttf",
        include_bytes!("../../fonts/DroidSansFallback.ttf"),
    ),
    // Noto Color Emoji in vector (COLRv1) glyphs, in the eleven pieces Google Fonts cuts
    // it into, each its own family "Noto Color Emoji 0" to "10"; a cluster is drawn by
    // the first piece that covers it (fonts/README.md).
    (
        "NotoColorEmoji-0.ttf",
        include_bytes!("../../fonts/NotoColorEmoji-0.ttf"),
    ),
    (
        "NotoColorEmoji-1.ttf",
        include_bytes!("../../fonts/NotoColorEmoji-1.ttf"),
    ),
    (
        "NotoColorEmoji-2.ttf",
        include_bytes!("../../fonts/NotoColorEmoji-2.ttf"),
    ),
    (
        "NotoColorEmoji-3.ttf",
        include_bytes!("../../fonts/NotoColorEmoji-3.ttf"),
    ),
    (
        "NotoColorEmoji-4.ttf",
        include_bytes!("../../fonts/NotoColorEmoji-4.ttf"),
    ),
    (
        "NotoColorEmoji-5.ttf",
        include_bytes!("../../fonts/NotoColorEmoji-5.ttf"),
    ),
    (
        "NotoColorEmoji-6.ttf",
        include_bytes!("../../fonts/NotoColorEmoji-6.ttf"),
    ),
    (
        "NotoColorEmoji-7.ttf",
        include_bytes!("../../fonts/NotoColorEmoji-7.ttf"),
    ),
    (
        "NotoColorEmoji-8.ttf",
        include_bytes!("../../fonts/NotoColorEmoji-8.ttf"),
    ),
    (
        "NotoColorEmoji-9.ttf",
        include_bytes!("../../fonts/NotoColorEmoji-9.ttf"),
    ),
    (
        "NotoColorEmoji-10.ttf",
        include_bytes!("../../fonts/NotoColorEmoji-10.ttf"),
    ),
];

/// The family templates get when they name none.
pub const DEFAULT_FAMILY: &str = "Inter";
/// The families of the emoji font's pieces start with this.
const EMOJI_FAMILY: &str = "Noto Color Emoji";

/// One face of the set.
pub struct Face {
    pub family: String,
    pub weight: u16,
    bytes: FontBytes,
    index: u32,
    units_per_em: f32,
    /// Ascent in em, for placing the first baseline under a box's top.
    pub ascent: f32,
    shaper: ShaperData,
}

impl Face {
    fn data(&self) -> &[u8] {
        (*self.bytes).as_ref()
    }

    pub fn covers(&self, c: char) -> bool {
        skrifa::FontRef::from_index(self.data(), self.index)
            .is_ok_and(|f| f.charmap().map(c).is_some())
    }

    /// Advance width of `text` shaped in this face, in em.
    pub fn advance(&self, text: &str, rtl: bool) -> f32 {
        let Ok(font) = harfrust::FontRef::from_index(self.data(), self.index) else {
            return 0.0;
        };
        let shaper = self.shaper.shaper(&font).build();
        let mut buffer = UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.guess_segment_properties();
        if rtl {
            buffer.set_direction(harfrust::Direction::RightToLeft);
        }
        let glyphs = shaper.shape(buffer, ShapeOptions::new());
        let units: i32 = glyphs.glyph_positions().iter().map(|p| p.x_advance).sum();
        units as f32 / self.units_per_em
    }

    pub fn is_emoji(&self) -> bool {
        self.family.starts_with(EMOJI_FAMILY)
    }
}

/// Every face a card can use, and the database resvg draws from.
pub struct FontSet {
    pub db: Arc<fontdb::Database>,
    faces: Vec<Face>,
    /// Families in fallback order: the site's own first, then the shipped ones.
    families: Vec<String>,
    /// blake3 of every font's bytes, in order; part of every card's fingerprint.
    pub digest: blake3::Hash,
}

impl FontSet {
    /// The shipped fonts plus `extra` font files (a site's `[og] fonts`).
    pub fn load(extra: &[&Path]) -> Result<FontSet> {
        let mut sources: Vec<(String, FontBytes)> = Vec::new();
        for path in extra {
            let bytes = std::fs::read(path)
                .with_context(|| format!("could not read font {}", path.display()))?;
            sources.push((path.display().to_string(), Arc::new(bytes)));
        }
        for (name, bytes) in BUILT_IN {
            sources.push((name.to_string(), Arc::new(*bytes)));
        }

        let mut db = fontdb::Database::new();
        let mut faces = Vec::new();
        let mut families: Vec<String> = Vec::new();
        let mut digest = blake3::Hasher::new();
        for (name, bytes) in sources {
            digest.update((*bytes).as_ref());
            let ids = db.load_font_source(fontdb::Source::Binary(bytes.clone()));
            if ids.is_empty() {
                anyhow::bail!("{name} is not a font file ogforge can read (TrueType or OpenType)");
            }
            for id in ids {
                let info = db.face(id).expect("just loaded");
                let family = info
                    .families
                    .first()
                    .map(|(f, _)| f.clone())
                    .unwrap_or_default();
                let index = info.index;
                let weight = info.weight.0;
                let font = skrifa::FontRef::from_index((*bytes).as_ref(), index)
                    .with_context(|| format!("could not read font {name}"))?;
                let metrics = font.metrics(Size::unscaled(), LocationRef::default());
                let units_per_em = f32::from(metrics.units_per_em.max(16));
                let shaper = ShaperData::new(
                    &harfrust::FontRef::from_index((*bytes).as_ref(), index)
                        .with_context(|| format!("could not read font {name}"))?,
                );
                if !families.contains(&family) {
                    families.push(family.clone());
                }
                faces.push(Face {
                    family,
                    weight,
                    bytes: bytes.clone(),
                    index,
                    units_per_em,
                    ascent: metrics.ascent / units_per_em,
                    shaper,
                });
            }
        }
        Ok(FontSet {
            db: Arc::new(db),
            faces,
            families,
            digest: digest.finalize(),
        })
    }

    /// The shipped fonts only, loaded once per process.
    pub fn built_in() -> Arc<FontSet> {
        static SET: std::sync::OnceLock<Arc<FontSet>> = std::sync::OnceLock::new();
        SET.get_or_init(|| Arc::new(FontSet::load(&[]).expect("the shipped fonts load")))
            .clone()
    }

    /// The fallback chain for a template's `family` at `weight`: that family first, then
    /// every other family, each at its face nearest in weight.
    pub fn chain(&self, family: &str, weight: u16) -> Vec<&Face> {
        let mut order: Vec<&str> = vec![family];
        order.extend(
            self.families
                .iter()
                .map(String::as_str)
                .filter(|f| *f != family),
        );
        order
            .into_iter()
            .filter_map(|f| {
                self.faces
                    .iter()
                    .filter(|face| face.family == f)
                    .min_by_key(|face| face.weight.abs_diff(weight))
            })
            .collect()
    }

    /// Characters of `text` that no face covers (controls and joiners are not counted).
    pub fn missing(&self, text: &str) -> Vec<char> {
        let mut missing: Vec<char> = Vec::new();
        for c in text.chars() {
            if is_invisible(c) || c.is_whitespace() || missing.contains(&c) {
                continue;
            }
            if !self.faces.iter().any(|f| f.covers(c)) {
                missing.push(c);
            }
        }
        missing
    }
}

/// Characters that draw nothing: controls, joiners, variation selectors, tags.
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{206F}' | '\u{FE00}'..='\u{FE0F}' | '\u{E0000}'..='\u{E007F}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_fonts_cover_every_script_we_promise() {
        let set = FontSet::built_in();
        assert!(
            set.missing("Hello Ωμέγα Жизнь مرحبا שלום 漢字 かな 한국어 🚀🎉")
                .is_empty()
        );
        assert_eq!(set.missing("a\u{10FFFD}b"), vec!['\u{10FFFD}']);
    }

    #[test]
    fn chain_starts_with_the_family_and_picks_the_weight() {
        let set = FontSet::built_in();
        let chain = set.chain("Inter", 700);
        assert_eq!(chain[0].family, "Inter");
        assert_eq!(chain[0].weight, 700);
        assert!(chain.iter().any(|f| f.is_emoji()));
        assert_eq!(chain.iter().filter(|f| f.family == "Inter").count(), 1);
    }

    #[test]
    fn advances_are_real_metrics() {
        let set = FontSet::built_in();
        let inter = set.chain("Inter", 400)[0];
        let narrow = inter.advance("iiii", false);
        let wide = inter.advance("WWWW", false);
        assert!(wide > narrow * 2.0, "{wide} vs {narrow}");
        assert!(inter.ascent > 0.5 && inter.ascent < 1.5);
    }
}
