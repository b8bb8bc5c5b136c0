//! Reference-image tests for the built-in card template (resvg's model): each case is
//! drawn with the fonts shipped in the repository only and compared with
//! `tests/references/<case>.png` pixel by pixel, with a small tolerance for
//! anti-aliasing. On a mismatch the drawn card and a diff image (changed pixels in red)
//! are written to `target/card-diffs/`. `OGFORGE_BLESS=1 cargo test cards` rewrites the
//! references after an intended change; look at them before committing.

use std::path::PathBuf;

use ogforge::config::ImageFormat;
use ogforge::render::fonts::FontSet;
use ogforge::render::local::LocalBackend;
use ogforge::render::{Backend, CardRequest};
use serde_json::json;

use crate::support::repo_path;

/// Channel difference under which two pixels count as equal.
const CHANNEL_TOLERANCE: u8 = 24;
/// Share of pixels that may differ beyond the tolerance.
const PIXEL_TOLERANCE: f64 = 0.002;

fn card(title: &str, description: &str, tags: &[&str]) -> CardRequest {
    let vars = json!({
        "site_title": "Field Notes",
        "title": title,
        "description": description,
        "author": "Mara Lindqvist",
        "date": "May 17, 2024",
        "tags": tags,
    });
    CardRequest {
        template: "blog-post".into(),
        variables: vars.as_object().unwrap().clone(),
        width: 1200,
        height: 630,
        format: ImageFormat::Png,
    }
}

fn check(case: &str, request: CardRequest) {
    let dir = tempfile::tempdir().unwrap();
    let backend =
        LocalBackend::new(dir.path(), &dir.path().join("og"), FontSet::built_in()).unwrap();
    let png = backend.render(&request).unwrap();
    let reference = repo_path(&format!("tests/references/{case}.png"));
    if std::env::var_os("OGFORGE_BLESS").is_some() {
        std::fs::create_dir_all(reference.parent().unwrap()).unwrap();
        std::fs::write(&reference, &png).unwrap();
        return;
    }
    let want = std::fs::read(&reference).unwrap_or_else(|_| {
        panic!(
            "no reference {}; run with OGFORGE_BLESS=1 to make it",
            reference.display()
        )
    });
    let (w, want_px) = decode(&want);
    let (g, got_px) = decode(&png);
    assert_eq!(w, g, "{case}: card size changed");
    let mut diff = Vec::with_capacity(got_px.len());
    let mut differing = 0usize;
    for (a, b) in want_px.chunks(4).zip(got_px.chunks(4)) {
        let off = a
            .iter()
            .zip(b)
            .any(|(x, y)| x.abs_diff(*y) > CHANNEL_TOLERANCE);
        differing += off as usize;
        let shade = if off {
            [255, 0, 0, 255]
        } else {
            [a[0] / 3, a[1] / 3, a[2] / 3, 255]
        };
        diff.extend_from_slice(&shade);
    }
    let share = differing as f64 / (w.0 * w.1) as f64;
    if share > PIXEL_TOLERANCE {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("card-diffs");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join(format!("{case}.png")), &png).unwrap();
        write_png(&out.join(format!("{case}.diff.png")), w, &diff);
        panic!(
            "{case}: {:.2}% of pixels differ from {} (tolerance {:.2}%); see {}",
            share * 100.0,
            reference.display(),
            PIXEL_TOLERANCE * 100.0,
            out.display()
        );
    }
}

/// RGBA pixels of a PNG.
fn decode(bytes: &[u8]) -> ((u32, u32), Vec<u8>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    ((info.width, info.height), buf)
}

fn write_png(path: &std::path::Path, (w, h): (u32, u32), rgba: &[u8]) {
    let file = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    enc.set_color(png::ColorType::Rgba);
    enc.write_header().unwrap().write_image_data(rgba).unwrap();
}

#[test]
fn card_short_title() {
    check(
        "short-title",
        card(
            "Hello, world",
            "Why this blog exists, and what it is built with.",
            &["meta", "ssg"],
        ),
    );
}

#[test]
fn card_very_long_title() {
    check(
        "long-title",
        card(
            "What I learned from rendering ten thousand Open Graph cards on a two-core laptop without a browser, a GPU, or any patience left at all",
            "Long titles are where card templates break: they overflow, get clipped, or shrink to unreadable sizes. This one must not.",
            &["performance", "images"],
        ),
    );
}

#[test]
fn card_right_to_left() {
    check(
        "rtl",
        card(
            "الخط العربي في الويب",
            "כתיבה מימין לשמאל: עברית וערבית באותו כרטיס",
            &["typography"],
        ),
    );
}

#[test]
fn card_cjk() {
    check(
        "cjk",
        card(
            "東京で見つけた小さな本屋と、한국어 제목도 함께",
            "神保町には百軒以上の古書店があります。",
            &["travel"],
        ),
    );
}

#[test]
fn card_emoji() {
    check(
        "emoji",
        card(
            "Shipping day 🚀 version 1.0 is out 🎉👨‍👩‍👧",
            "Flags 🇫🇷🇯🇵, skin tones 👍🏽 and keycaps 1️⃣ draw in colour.",
            &["release"],
        ),
    );
}
