//! A card's static background, drawn once per template instead of once per card.
//!
//! Most of a card's raster time goes into full-card gradients and shapes that are the same
//! for every post. The rendered SVG is split at its root: the leading children up to the
//! first one that holds text are the *background*, the rest the *foreground*. The
//! background is drawn once per distinct SVG text (the cache is keyed by its hash, so a
//! template whose background does depend on the variables is still right, only slower) and
//! each card draws its foreground over a copy of it.
//!
//! Drawing the background and then the foreground onto the same canvas is what resvg does
//! for the whole document anyway: the root's children are painted in order. Documents where
//! that would not hold (attributes on the root that make it a group of its own, style
//! sheets whose selectors could see the split) are not split.

use std::sync::{Arc, Mutex};

use resvg::tiny_skia::Pixmap;

const SVG_NS: &str = "http://www.w3.org/2000/svg";

/// Root attributes that only size the document; any other (opacity, filter, transform,
/// style, …) makes the root a group that must be drawn as one.
const SIZING_ATTRIBUTES: &[&str] = &[
    "width",
    "height",
    "viewBox",
    "preserveAspectRatio",
    "version",
];

/// Elements whose presence in the foreground makes a split pointless or unsafe.
const TEXT_ELEMENTS: &[&str] = &["text", "foreignObject"];

/// A card's SVG as two documents drawn one over the other.
#[derive(Debug, PartialEq, Eq)]
pub struct Split {
    /// The leading children that hold no text.
    pub background: String,
    /// The remaining children; the background's children come along inside `<defs>`, so
    /// gradients and shapes the foreground refers to by id still resolve but are not drawn.
    pub foreground: String,
}

/// Splits `svg` into background and foreground, or `None` when it has no background worth
/// caching or cannot be split safely.
pub fn split(svg: &str) -> Option<Split> {
    let doc = roxmltree::Document::parse(svg).ok()?;
    let root = doc.root_element();
    if root.tag_name().name() != "svg"
        || root.tag_name().namespace() != Some(SVG_NS)
        || root.lookup_namespace_uri(None) != Some(SVG_NS)
        || root
            .attributes()
            .any(|a| a.namespace().is_some() || !SIZING_ATTRIBUTES.contains(&a.name()))
        || doc
            .descendants()
            .any(|n| n.is_element() && n.tag_name().name() == "style")
    {
        return None;
    }
    let first = root.first_child()?;
    let last = root.last_child()?;
    let holds_text = |node: roxmltree::Node| {
        node.descendants()
            .any(|d| d.is_element() && TEXT_ELEMENTS.contains(&d.tag_name().name()))
    };
    let cut = root
        .children()
        .find(|c| c.is_element() && holds_text(*c))
        .map_or(last.range().end, |c| c.range().start);
    let start = first.range().start;
    let end = last.range().end;
    if !root
        .children()
        .any(|c| c.is_element() && c.range().end <= cut && c.tag_name().name() != "defs")
    {
        return None;
    }
    let (prolog, back, front, closing) =
        (&svg[..start], &svg[start..cut], &svg[cut..end], &svg[end..]);
    Some(Split {
        background: format!("{prolog}{back}{closing}"),
        foreground: format!("{prolog}<defs>{back}</defs>{front}{closing}"),
    })
}

/// The last few backgrounds drawn, most recent first. A site has one or two templates,
/// so a handful covers it; a template whose background changes per card misses every
/// time and costs one extra copy.
#[derive(Default)]
pub struct BackgroundCache {
    entries: Mutex<Vec<(blake3::Hash, Arc<Pixmap>)>>,
}

const CACHED_BACKGROUNDS: usize = 4;

impl BackgroundCache {
    /// The background for `key`, drawn by `draw` when it is not cached.
    pub fn get_or_draw(
        &self,
        key: blake3::Hash,
        draw: impl FnOnce() -> Result<Pixmap, String>,
    ) -> Result<Arc<Pixmap>, String> {
        if let Some(found) = self.lookup(&key) {
            return Ok(found);
        }
        // Drawn outside the lock: two threads may both draw the first card's background.
        let drawn = Arc::new(draw()?);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|(k, _)| *k != key);
        entries.insert(0, (key, drawn.clone()));
        entries.truncate(CACHED_BACKGROUNDS);
        Ok(drawn)
    }

    fn lookup(&self, key: &blake3::Hash) -> Option<Arc<Pixmap>> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let at = entries.iter().position(|(k, _)| k == key)?;
        let entry = entries.remove(at);
        let found = entry.1.clone();
        entries.insert(0, entry);
        Some(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: &str = r#"<svg xmlns="http://www.w3.org/2000/svg" width="100" height="50">"#;

    #[test]
    fn leading_shapes_are_the_background_and_come_along_as_defs() {
        let svg = format!(
            r##"{OPEN}<defs><linearGradient id="g"/></defs><rect fill="url(#g)"/> <g><text>Hi</text></g><rect id="after"/></svg>"##
        );
        let s = split(&svg).unwrap();
        assert_eq!(
            s.background,
            format!(
                r##"{OPEN}<defs><linearGradient id="g"/></defs><rect fill="url(#g)"/> </svg>"##
            )
        );
        assert_eq!(
            s.foreground,
            format!(
                r##"{OPEN}<defs><defs><linearGradient id="g"/></defs><rect fill="url(#g)"/> </defs><g><text>Hi</text></g><rect id="after"/></svg>"##
            )
        );
    }

    #[test]
    fn documents_that_cannot_be_split_safely_are_not() {
        for svg in [
            // Text first: nothing to cache.
            format!("{OPEN}<text>Hi</text><rect/></svg>"),
            // Only definitions before the text.
            format!("{OPEN}<defs/><text>Hi</text></svg>"),
            // The root is a group of its own.
            r#"<svg xmlns="http://www.w3.org/2000/svg" opacity="0.5"><rect/><text>Hi</text></svg>"#
                .into(),
            // A style sheet could select across the split.
            format!("{OPEN}<style>rect:first-child {{}}</style><rect/><text>Hi</text></svg>"),
            // Not SVG, or not parseable: the full render reports it.
            "<html/>".into(),
            format!("{OPEN}<rect>"),
        ] {
            assert_eq!(split(&svg), None, "{svg}");
        }
    }

    #[test]
    fn the_cache_draws_each_background_once_and_keeps_the_most_recent() {
        let cache = BackgroundCache::default();
        let mut draws = 0;
        let mut draw = |key: &str| {
            cache
                .get_or_draw(blake3::hash(key.as_bytes()), || {
                    draws += 1;
                    Ok(Pixmap::new(1, 1).unwrap())
                })
                .unwrap();
        };
        for key in ["a", "a", "b", "a", "c", "d", "e", "a", "b"] {
            draw(key);
        }
        // a, b, c, d, e drawn once each; b fell out after four newer ones and is drawn again.
        assert_eq!(draws, 6);
    }
}
