//! One card, end to end and step by step: the SVG from the template (text layout
//! included), the raster, the PNG encoding; for a short title, a long one, and one with
//! colour emoji (the emoji font's glyphs are the costliest to draw).
//!
//! `cargo bench --bench cards`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ogforge::config::ImageFormat;
use ogforge::render::fonts::FontSet;
use ogforge::render::local::LocalBackend;
use ogforge::render::{Backend, CardRequest};
use serde_json::json;

fn card(title: &str) -> CardRequest {
    let vars = json!({
        "site_title": "Field Notes",
        "title": title,
        "description": "Long titles are where card templates break: they overflow, get clipped, or shrink to unreadable sizes.",
        "author": "Mara Lindqvist",
        "date": "May 17, 2024",
        "tags": ["performance", "images"],
    });
    CardRequest {
        template: "blog-post".into(),
        variables: vars.as_object().unwrap().clone(),
        width: 1200,
        height: 630,
        format: ImageFormat::Png,
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let backend =
        LocalBackend::new(dir.path(), &dir.path().join("og"), FontSet::built_in()).unwrap();
    let cases = [
        ("short", card("Hello, world")),
        (
            "long",
            card(
                "What I learned from rendering ten thousand Open Graph cards on a two-core laptop without a browser, a GPU, or any patience left at all",
            ),
        ),
        (
            "emoji",
            card("Shipping day 🚀 version 1.0 is out 🎉👨‍👩‍👧 🇫🇷🇯🇵 👍🏽 1️⃣"),
        ),
    ];
    for (name, request) in &cases {
        let svg = backend.render_svg(request).unwrap();
        let pixmap = backend.rasterize(&svg, 1200, 630).unwrap();
        let mut group = c.benchmark_group(format!("card/{name}"));
        group.sample_size(30);
        group.bench_function("svg+layout", |b| {
            b.iter(|| backend.render_svg(black_box(request)).unwrap())
        });
        group.bench_function("raster", |b| {
            b.iter(|| backend.rasterize(black_box(&svg), 1200, 630).unwrap())
        });
        group.bench_function("encode", |b| {
            b.iter(|| ogforge::render::png::encode(black_box(&pixmap)).unwrap())
        });
        group.bench_function("end-to-end", |b| {
            b.iter(|| backend.render(black_box(request)).unwrap())
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
