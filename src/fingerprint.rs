//! Fingerprints: a blake3 hash of every input that can change an output, kept with the
//! hashes of its parts so a changed fingerprint can say what changed (cargo's model).
//!
//! | output | goes in | stays out |
//! |---|---|---|
//! | card | renderer version; backend name; template name; template bytes (local); the bytes of every font (local); each variable the template sees (title, description, author, date, tags, site title, extra); width, height, format | slug, URL and file name (two posts with the same card share it); modification times; absolute paths; the API key; SnapSharp's base URL (a new endpoint is not a new card) |
//! | post page | renderer version; the post's source text; every template of the theme; the config file's text; its card's URL, alt text and size | other posts; modification times; absolute paths |
//! | list page (index, section, tag) | renderer version; the theme; the config; title, date, description, path and tags of every post it lists; the fallback picture | the listed posts' bodies |
//!
//! Contents and relative paths are hashed, never modification times or absolute paths,
//! so a fresh clone of a site with its `.ogforge/` cache builds nothing.

use std::collections::BTreeMap;

/// A finished fingerprint: the hash, and the hash of each named part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub hash: blake3::Hash,
    /// Part name → first 16 hex digits of its hash.
    pub parts: BTreeMap<String, String>,
}

impl Fingerprint {
    pub fn hex(&self) -> String {
        self.hash.to_hex().to_string()
    }

    /// What changed since `old` (the parts of an earlier fingerprint), in words, most
    /// telling first: "title changed", "template changed"...
    pub fn changes_since(&self, old: &BTreeMap<String, String>) -> Vec<String> {
        let mut changes: Vec<(usize, String)> = Vec::new();
        for (name, hash) in &self.parts {
            if old.get(name) != Some(hash) {
                changes.push(describe(name));
            }
        }
        for name in old.keys().filter(|n| !self.parts.contains_key(*n)) {
            changes.push(describe(name));
        }
        changes.sort();
        changes.dedup();
        changes.into_iter().map(|(_, text)| text).collect()
    }
}

/// Human words for a part, with a rank that puts the most telling change first.
fn describe(part: &str) -> (usize, String) {
    if let Some(var) = part.strip_prefix("var.") {
        let name = var.replace('_', " ");
        return (0, format!("{name} changed"));
    }
    let (rank, text) = match part {
        "source" => (1, "source changed"),
        "template" => (2, "template changed"),
        "theme" => (2, "theme changed"),
        "fonts" => (3, "font changed"),
        "size" => (4, "card size changed"),
        "format" => (4, "image format changed"),
        "backend" => (5, "backend changed"),
        "config" => (5, "config changed"),
        "card" => (6, "card changed"),
        "posts" => (6, "listed posts changed"),
        "fallback" => (6, "fallback image changed"),
        "renderer" => (7, "ogforge version changed"),
        other => return (8, format!("{other} changed")),
    };
    (rank, text.to_string())
}

/// Collects named parts, then hashes them all.
#[derive(Debug, Default, Clone)]
pub struct FingerprintBuilder {
    parts: BTreeMap<String, blake3::Hash>,
}

impl FingerprintBuilder {
    pub fn new() -> FingerprintBuilder {
        FingerprintBuilder::default()
    }

    /// Adds a part; adding a name twice replaces it.
    pub fn add(&mut self, name: &str, bytes: &[u8]) -> &mut Self {
        self.parts.insert(name.to_string(), blake3::hash(bytes));
        self
    }

    /// Adds a part whose hash is already known (a font set's digest).
    pub fn add_hash(&mut self, name: &str, hash: blake3::Hash) -> &mut Self {
        self.parts.insert(name.to_string(), hash);
        self
    }

    pub fn finish(&self) -> Fingerprint {
        let mut h = blake3::Hasher::new();
        for (name, hash) in &self.parts {
            // Length-framed, so no two different sets of parts hash alike.
            h.update(&(name.len() as u64).to_le_bytes());
            h.update(name.as_bytes());
            h.update(hash.as_bytes());
        }
        Fingerprint {
            hash: h.finalize(),
            parts: self
                .parts
                .iter()
                .map(|(name, hash)| (name.clone(), hash.to_hex()[..16].to_string()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(parts: &[(&str, &str)]) -> Fingerprint {
        let mut b = FingerprintBuilder::new();
        for (n, v) in parts {
            b.add(n, v.as_bytes());
        }
        b.finish()
    }

    #[test]
    fn order_of_adding_does_not_matter_and_every_part_counts() {
        let a = fp(&[("var.title", "A"), ("template", "T")]);
        let b = fp(&[("template", "T"), ("var.title", "A")]);
        assert_eq!(a.hash, b.hash);
        assert_ne!(a.hash, fp(&[("var.title", "B"), ("template", "T")]).hash);
        // A value moved from one part to another is a different fingerprint.
        assert_ne!(
            fp(&[("a", "xy"), ("b", "")]).hash,
            fp(&[("a", "x"), ("b", "y")]).hash
        );
    }

    #[test]
    fn changes_are_named_most_telling_first() {
        let old = fp(&[("var.title", "A"), ("template", "T"), ("fonts", "F")]);
        let new = fp(&[("var.title", "B"), ("template", "U"), ("fonts", "F")]);
        assert_eq!(
            new.changes_since(&old.parts),
            ["title changed", "template changed"]
        );
        let new = fp(&[("var.title", "A"), ("template", "T"), ("fonts", "G")]);
        assert_eq!(new.changes_since(&old.parts), ["font changed"]);
        assert!(new.changes_since(&new.parts).is_empty());
    }
}
