//! Cards and meta tags through `ogforge build`: every page carries the full tag set, and
//! every og:image names a card that exists with the size the tags say.

use std::collections::BTreeMap;

use ogforge::site::inject::existing_meta;

use crate::support::Site;

/// The og:/twitter: tags of a built page, by property.
fn tags(site: &Site, page: &str) -> BTreeMap<String, String> {
    let html = site.read(page);
    let mut map = BTreeMap::new();
    for (key, value) in existing_meta(html.as_bytes()) {
        if key.starts_with("og:") || key.starts_with("twitter:") {
            assert!(
                map.insert(key.clone(), value).is_none(),
                "{page}: {key} appears twice"
            );
        }
    }
    map
}

const ALL_TAGS: &[&str] = &[
    "og:title",
    "og:description",
    "og:type",
    "og:url",
    "og:image",
    "og:image:width",
    "og:image:height",
    "og:image:type",
    "og:image:alt",
    "twitter:card",
    "twitter:title",
    "twitter:description",
    "twitter:image",
];

#[test]
fn every_post_of_the_example_site_has_every_tag_and_its_card() {
    let site = Site::example();
    site.build().expect(0);
    let posts = [
        "hello-world",
        "rust-error-handling",
        "a-very-long-title",
        "tokyo-notes",
        "arabic-typography",
        "shipping-day",
        "trip-to-lisbon",
    ];
    for slug in posts {
        let page = format!("public/posts/{slug}/index.html");
        let t = tags(&site, &page);
        for key in ALL_TAGS {
            assert!(t.contains_key(*key), "{page} lacks {key}: {t:?}");
        }
        assert_eq!(t["og:type"], "article");
        assert_eq!(
            t["og:url"],
            format!("https://fieldnotes.example.com/posts/{slug}/")
        );
        assert_eq!(t["twitter:card"], "summary_large_image");
        let image = &t["og:image"];
        let rel = image
            .strip_prefix("https://fieldnotes.example.com/")
            .unwrap_or_else(|| panic!("{page}: og:image {image} is not absolute under base_url"));
        assert!(
            rel.starts_with(&format!("og/{slug}.")) && rel.ends_with(".png"),
            "{rel}"
        );
        let hash = rel
            .trim_start_matches(&format!("og/{slug}."))
            .trim_end_matches(".png");
        assert!(
            hash.len() == 12 && hash.chars().all(|c| c.is_ascii_hexdigit()),
            "{rel}"
        );
        let size = imagesize::size(site.path(&format!("public/{rel}"))).expect("the card exists");
        assert_eq!((size.width, size.height), (1200, 630));
        assert_eq!(
            (t["og:image:width"].as_str(), t["og:image:height"].as_str()),
            ("1200", "630")
        );
        assert_eq!(t["twitter:image"], *image);
    }
    let t = tags(&site, "public/posts/rust-error-handling/index.html");
    assert_eq!(
        t["og:title"],
        "Error handling in Rust: &lt;Result&gt;, &amp; the ? operator"
    );
    assert!(
        site.read("public/posts/rust-error-handling/index.html")
            .contains("content=\"Error handling in Rust: &lt;Result&gt;, &amp; the ? operator\"")
    );
    // List pages show the site's own card.
    for page in [
        "public/index.html",
        "public/posts/index.html",
        "public/tags/travel/index.html",
    ] {
        let t = tags(&site, page);
        assert!(
            t["og:image"].starts_with("https://fieldnotes.example.com/og/site."),
            "{page}: {t:?}"
        );
        assert_eq!(t["twitter:card"], "summary_large_image");
        assert_eq!(t["og:type"], "website");
    }
}

#[test]
fn identical_cards_are_drawn_once_and_a_rebuild_draws_none() {
    let site = Site::new();
    // Two posts whose cards show the same things share one card file.
    let front = "title: Same\nauthor: X\ndescription: Same words";
    site.post("a.md", front, "one").post("b.md", front, "two");
    site.post("c.md", "title: Other", "three");
    let run = site.build().expect(0);
    assert!(run.stderr().contains("2 cards drawn"), "{}", run.stderr());
    let a = tags(&site, "public/a/index.html");
    let b = tags(&site, "public/b/index.html");
    assert_eq!(a["og:image"], b["og:image"], "one file serves both");
    // The shared card and the site's own (for the index).
    assert_eq!(
        std::fs::read_dir(site.path("public/og")).unwrap().count(),
        3
    );
    let run = site.build().expect(0);
    assert!(
        run.stderr().contains("0 cards drawn, 2 up to date"),
        "{}",
        run.stderr()
    );
}

#[test]
fn front_matter_overrides_and_fallback() {
    let site = Site::new();
    site.write(
        "ogforge.toml",
        format!(
            "{}[og]\nfallback_image = \"/images/default.png\"\n",
            crate::support::CONFIG
        ),
    );
    site.write("static/images/default.png", tiny_png(300, 200));
    site.write(
        "content/own/index.md",
        "---\ntitle: Own picture\nog:\n  image: cover.png\n  alt: A red square\n---\n",
    );
    site.write("content/own/cover.png", tiny_png(640, 320));
    site.post(
        "renamed.md",
        "title: Long page title\nog:\n  title: Short card title\n  template: plain",
        "x",
    );
    site.write(
        "templates/og/plain.svg",
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{{ width }}\" height=\"{{ height }}\"><rect width=\"100%\" height=\"100%\" fill=\"#123456\"/>{{ text_box(title, x=50, y=50, width=1100, size=60).svg }}</svg>",
    );
    site.post(
        "missing-template.md",
        "title: Broken\nog:\n  template: nope",
        "x",
    );
    site.build().expect(2);

    let own = tags(&site, "public/own/index.html");
    assert_eq!(own["og:image"], "https://blog.test/own/cover.png");
    assert_eq!(
        (
            own["og:image:width"].as_str(),
            own["og:image:height"].as_str()
        ),
        ("640", "320")
    );
    assert_eq!(own["og:image:alt"], "A red square");
    assert!(site.exists("public/own/cover.png"));

    let renamed = tags(&site, "public/renamed/index.html");
    assert_eq!(renamed["og:title"], "Short card title");
    assert_eq!(renamed["og:image:alt"], "Short card title");
    let card = site.path(&format!(
        "public/{}",
        renamed["og:image"].trim_start_matches("https://blog.test/")
    ));
    let png = std::fs::read(card).unwrap();
    assert_eq!(imagesize::blob_size(&png).unwrap().width, 1200);

    let index = tags(&site, "public/index.html");
    assert_eq!(index["og:image"], "https://blog.test/images/default.png");
    assert_eq!(index["og:image:width"], "300");
    // The post whose card could not be made falls back too, and is reported.
    let broken = tags(&site, "public/missing-template/index.html");
    assert_eq!(broken["og:image"], "https://blog.test/images/default.png");
}

#[test]
fn characters_no_font_covers_are_reported() {
    let site = Site::new();
    site.post(
        "odd.md",
        "title: \"Sinhala \u{0D85} and private use \u{10FFFD}\"",
        "x",
    );
    let run = site.build().expect(0);
    let err = run.stderr();
    assert!(
        err.contains("warning: content/odd.md: its card has characters no font covers"),
        "{err}"
    );
    assert!(err.contains("U+0D85") && err.contains("U+10FFFD"), "{err}");
}

/// A PNG of the given size (one colour), written by the png crate.
fn tiny_png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    let mut writer = enc.write_header().unwrap();
    writer
        .write_image_data(&vec![200u8; (w * h * 3) as usize])
        .unwrap();
    writer.finish().unwrap();
    out
}

#[test]
fn card_size_and_site_fonts_come_from_config() {
    let site = Site::new();
    site.write(
        "ogforge.toml",
        format!(
            "{}[og]\nwidth = 600\nheight = 315\nfonts = [\"fonts/Extra.ttf\"]\n",
            crate::support::CONFIG
        ),
    );
    site.write(
        "fonts/Extra.ttf",
        std::fs::read(crate::support::repo_path("fonts/NotoSansHebrew-Bold.ttf")).unwrap(),
    );
    site.post("a.md", "title: Small card", "x");
    site.build().expect(0);
    let t = tags(&site, "public/a/index.html");
    assert_eq!(
        (t["og:image:width"].as_str(), t["og:image:height"].as_str()),
        ("600", "315")
    );
    let card = site.path(&format!(
        "public/{}",
        t["og:image"].trim_start_matches("https://blog.test/")
    ));
    let size = imagesize::size(card).unwrap();
    assert_eq!((size.width, size.height), (600, 315));

    site.write("fonts/Extra.ttf", "not a font");
    let err = site.build().expect(2).stderr();
    assert!(
        err.contains("fonts/Extra.ttf") && err.contains("not a font file"),
        "{err}"
    );
}
