//! The per-page steps around the cards: adding the meta tags to a 50 KB page, and
//! fingerprinting a post (its card's inputs, and its source).
//!
//! `cargo bench --bench steps`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ogforge::config::ImageFormat;
use ogforge::render::fonts::FontSet;
use ogforge::render::local::LocalBackend;
use ogforge::render::{CardRequest, card_fingerprint};
use ogforge::site::inject::{MetaTags, OgImage, inject_meta};
use serde_json::json;

/// A page of about 50 KB: a head like the theme's and a long article.
fn page(with_tags: bool) -> String {
    let mut html = String::from(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>A post</title>\n<link rel=\"stylesheet\" href=\"/style.css\">\n",
    );
    if with_tags {
        html.push_str("<meta property=\"og:title\" content=\"Old title\">\n<meta property=\"og:image\" content=\"https://blog.test/og/old.png\">\n<meta name=\"twitter:card\" content=\"summary\">\n");
    }
    html.push_str("</head>\n<body>\n<article>\n");
    let mut n = 0;
    while html.len() < 50_000 {
        n += 1;
        html.push_str(&format!(
            "<h2 id=\"part-{n}\">Part {n}</h2>\n<p>Static sites are fast because the work happens once, at build time: <a href=\"/posts/{n}/\">link {n}</a>, <code>code</code> &amp; entities.</p>\n"
        ));
    }
    html.push_str("</article>\n</body>\n</html>\n");
    html
}

fn tags() -> MetaTags {
    MetaTags {
        title: "What I learned from rendering ten thousand cards".into(),
        description:
            "Long titles are where card templates break: they overflow, get clipped, or shrink."
                .into(),
        url: "https://blog.test/posts/ten-thousand-cards/".into(),
        og_type: "article".into(),
        site_name: Some("Field Notes".into()),
        image: Some(OgImage {
            url: "https://blog.test/og/ten-thousand-cards.0123456789ab.png".into(),
            width: Some(1200),
            height: Some(630),
            mime_type: Some("image/png".into()),
            alt: "What I learned from rendering ten thousand cards".into(),
        }),
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("meta-tags/50KB");
    let tags = tags();
    for (name, html) in [("new", page(false)), ("replace", page(true))] {
        assert!(html.len() >= 50_000);
        group.bench_function(name, |b| {
            b.iter(|| inject_meta(black_box(html.as_bytes()), &tags).unwrap())
        });
    }
    group.finish();

    let dir = tempfile::tempdir().unwrap();
    let backend =
        LocalBackend::new(dir.path(), &dir.path().join("og"), FontSet::built_in()).unwrap();
    let vars = json!({
        "site_title": "Field Notes",
        "title": "What I learned from rendering ten thousand cards",
        "description": "Long titles are where card templates break: they overflow, get clipped, or shrink.",
        "author": "Mara Lindqvist",
        "date": "May 17, 2024",
        "tags": ["performance", "images"],
        "url": "https://blog.test/posts/ten-thousand-cards/",
    });
    let card = CardRequest {
        template: "blog-post".into(),
        variables: vars.as_object().unwrap().clone(),
        width: 1200,
        height: 630,
        format: ImageFormat::Png,
    };
    // A post of the generated benchmark blog's size.
    let source = "Static sites are fast because the work happens once. ".repeat(160);
    let mut group = c.benchmark_group("fingerprint");
    group.bench_function("card inputs", |b| {
        b.iter(|| card_fingerprint(&backend, black_box(&card)).unwrap())
    });
    group.bench_function("post source (8 KB)", |b| {
        b.iter(|| blake3::hash(black_box(source.as_bytes())))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
