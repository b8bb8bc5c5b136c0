//! The built-in card template with hostile variables (huge, RTL, control characters,
//! `]]>`, `<`, `&`, emoji, zero-width, wrong types) through the local backend: nothing
//! panics, and every SVG it makes is well-formed, parses with usvg and rasterizes.
//!
//! The SVG is rasterized at a tenth of the card's size: resvg's work per pixel is not what
//! is being tested, the text it turns into glyphs is.
//!
//! Input: the variables title, description, site_title, author, date, tags, url, then
//! the card's width and height, separated by 0x1F bytes (missing ones are empty); tags are
//! separated by 0x1E. A field starting with 0x01 is JSON (`\x01[1,2]`, `\x01null`) for a
//! value of the wrong type; invalid JSON leaves the variable out.

#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use ogforge::config::ImageFormat;
use ogforge::render::CardRequest;
use ogforge::render::fonts::FontSet;
use ogforge::render::local::LocalBackend;
use serde_json::{Map, Value};

const KEYS: [&str; 7] = [
    "title",
    "description",
    "site_title",
    "author",
    "date",
    "tags",
    "url",
];

fn backend() -> &'static LocalBackend {
    static BACKEND: OnceLock<LocalBackend> = OnceLock::new();
    BACKEND.get_or_init(|| {
        let dir = std::env::temp_dir().join("ogforge-fuzz-no-templates");
        let fonts: Arc<FontSet> = FontSet::built_in();
        LocalBackend::new(&dir, &dir.join("og"), fonts).expect("the built-in templates load")
    })
}

/// A size the config accepts (1 to 8192), 1200×630 when not a number.
fn size(field: Option<&[u8]>, default: u32) -> u32 {
    field
        .and_then(|f| std::str::from_utf8(f).ok()?.trim().parse::<u32>().ok())
        .map_or(default, |n| 1 + n % 8192)
}

fuzz_target!(|data: &[u8]| {
    let fields: Vec<&[u8]> = data.split(|&b| b == 0x1f).collect();
    let mut variables = Map::new();
    for (i, key) in KEYS.iter().enumerate() {
        let field = fields.get(i).copied().unwrap_or_default();
        let value = match field.strip_prefix(b"\x01") {
            Some(json) => match serde_json::from_slice::<Value>(json) {
                Ok(value) => value,
                Err(_) => continue,
            },
            None if *key == "tags" => field
                .split(|&b| b == 0x1e)
                .filter(|t| !t.is_empty())
                .map(|t| Value::from(String::from_utf8_lossy(t)))
                .collect(),
            None => Value::from(String::from_utf8_lossy(field)),
        };
        variables.insert(key.to_string(), value);
    }
    let card = CardRequest {
        template: "blog-post".into(),
        variables,
        width: size(fields.get(7).copied(), 1200),
        height: size(fields.get(8).copied(), 630),
        format: ImageFormat::Png,
    };
    let Ok(svg) = backend().render_svg(&card) else {
        return;
    };
    if let Err(e) = usvg::Tree::from_str(&svg, &usvg::Options::default()) {
        panic!("the card's SVG does not parse: {e}\n{svg}");
    }
    if let Err(e) = backend().rasterize(&svg, 120, 63) {
        panic!("the card's SVG does not rasterize: {e}\n{svg}");
    }
});
