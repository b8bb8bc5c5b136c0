//! `ogforge inject` on pages other generators wrote: the right head, every other byte
//! kept, idempotent; and one real generator (Hugo) end to end.

use ogforge::site::inject::existing_meta;

use crate::support::{CONFIG, Site, copy_dir, repo_path};

const PAGES: &[(&str, &str)] = &[
    // No </head>, no </body>: legal HTML.
    (
        "a/index.html",
        "<!doctype html><html lang=\"en\"><head><title>Page A</title><meta name=\"description\" content=\"About A\"><body><p>Body of A</p>",
    ),
    // Upper-case tags and a stale tag of ours.
    (
        "b/index.html",
        "<!DOCTYPE html>\n<HTML>\n<HEAD>\n<TITLE>Page B</TITLE>\n<META PROPERTY=\"OG:TITLE\" CONTENT=\"stale\">\n</HEAD>\n<BODY><P>Body of B</P></BODY>\n</HTML>\n",
    ),
    // A script that writes "<head>" must not be taken for the head.
    (
        "c/index.html",
        "<html><head><script>document.write(\"<head></head>\");</script><title>Page C</title></head><body><h1>C</h1></body></html>",
    ),
    // A relative og:image of the author's: made absolute, kept.
    (
        "d/index.html",
        "<html><head><title>Page D</title><meta property=\"og:image\" content=\"img/cover.png\"></head><body>D</body></html>",
    ),
    // An absolute og:image of the author's: kept unless --replace.
    (
        "e.html",
        "<html><head><title>Page E</title><meta property=\"og:image\" content=\"https://cdn.example/e.png\"></head><body>E</body></html>",
    ),
];

fn pages_site() -> Site {
    let site = Site::empty();
    for (rel, html) in PAGES {
        site.write(&format!("out/{rel}"), html);
    }
    site.write("out/style.css", "body { color: red }");
    site.write("out/d/img/cover.png", tiny_png());
    site
}

fn meta(site: &Site, rel: &str) -> Vec<(String, String)> {
    existing_meta(site.read(&format!("out/{rel}")).as_bytes())
}

fn get<'a>(tags: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    tags.iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

#[test]
fn the_right_head_every_other_byte_kept_and_idempotent() {
    let site = pages_site();
    let run = site
        .run(&["inject", "out", "--base-url", "https://e.test"])
        .expect(0);
    assert!(
        run.stderr().contains("injected tags into 5 of 5 pages"),
        "{}",
        run.stderr()
    );

    let a = site.read("out/a/index.html");
    assert!(a.starts_with("<!doctype html><html lang=\"en\"><head><title>Page A</title><meta name=\"description\" content=\"About A\">"), "{a}");
    assert!(
        a.find("og:title").unwrap() < a.find("<body>").unwrap(),
        "tags go before <body>: {a}"
    );
    assert!(a.ends_with("<body><p>Body of A</p>"));
    let t = meta(&site, "a/index.html");
    assert_eq!(get(&t, "og:title"), ["Page A"]);
    assert_eq!(get(&t, "og:description"), ["About A"]);
    assert_eq!(get(&t, "og:url"), ["https://e.test/a/"]);
    let image = get(&t, "og:image")[0];
    assert!(
        image.starts_with("https://e.test/og/a.") && image.ends_with(".png"),
        "{image}"
    );
    assert!(site.exists(&format!(
        "out/{}",
        image.trim_start_matches("https://e.test/")
    )));

    let b = site.read("out/b/index.html");
    assert_eq!(
        get(&meta(&site, "b/index.html"), "og:title"),
        ["Page B"],
        "the stale tag is replaced: {b}"
    );
    assert!(!b.contains("stale"));
    assert!(b.starts_with("<!DOCTYPE html>\n<HTML>\n<HEAD>\n<TITLE>Page B</TITLE>\n"));
    assert!(b.ends_with("</HEAD>\n<BODY><P>Body of B</P></BODY>\n</HTML>\n"));

    let c = site.read("out/c/index.html");
    assert!(
        c.contains("<script>document.write(\"<head></head>\");</script><title>Page C</title>"),
        "{c}"
    );
    assert!(
        c.find("og:title").unwrap() > c.find("<title>").unwrap(),
        "not inside the script: {c}"
    );

    let d = meta(&site, "d/index.html");
    assert_eq!(get(&d, "og:image"), ["https://e.test/d/img/cover.png"]);
    let e = meta(&site, "e.html");
    assert_eq!(get(&e, "og:image"), ["https://cdn.example/e.png"]);
    assert_eq!(get(&e, "twitter:image"), ["https://cdn.example/e.png"]);
    assert_eq!(site.read("out/style.css"), "body { color: red }");

    // Again: nothing changes.
    let before: Vec<String> = PAGES
        .iter()
        .map(|(rel, _)| site.read(&format!("out/{rel}")))
        .collect();
    let run = site
        .run(&["inject", "out", "--base-url", "https://e.test"])
        .expect(0);
    assert!(
        run.stderr()
            .contains("injected tags into 0 of 5 pages; 0 cards drawn"),
        "{}",
        run.stderr()
    );
    let after: Vec<String> = PAGES
        .iter()
        .map(|(rel, _)| site.read(&format!("out/{rel}")))
        .collect();
    assert_eq!(before, after);

    // --replace draws a card for the author's absolute og:image too.
    site.run(&["inject", "out", "--base-url", "https://e.test", "--replace"])
        .expect(0);
    let e = meta(&site, "e.html");
    assert!(
        get(&e, "og:image")[0].starts_with("https://e.test/og/e."),
        "{e:?}"
    );
}

#[test]
fn inject_needs_a_base_url() {
    let site = pages_site();
    let err = site.run(&["inject", "out"]).expect(2).stderr();
    assert!(err.contains("--base-url"), "{err}");
}

/// Hugo builds a small site; inject adds cards and tags; check passes it.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Hugo; run with `cargo test --features e2e`"
)]
fn hugo_end_to_end() {
    assert!(
        std::process::Command::new("hugo")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "this test needs Hugo: apt-get install hugo (.ci/run installs it)"
    );
    let site = Site::empty();
    copy_dir(&repo_path("tests/fixtures/hugo-site"), &site.root());
    site.write("static/cover.png", tiny_png());
    let hugo = std::process::Command::new("hugo")
        .arg("--quiet")
        .current_dir(site.root())
        .output()
        .unwrap();
    assert!(
        hugo.status.success(),
        "{}",
        String::from_utf8_lossy(&hugo.stderr)
    );
    site.run(&["inject", "public", "--base-url", "https://hugo.example.com"])
        .expect(0);
    let t = existing_meta(site.read("public/posts/hello/index.html").as_bytes());
    assert_eq!(
        get(&t, "og:title"),
        ["Hello from Hugo & friends".replace('&', "&amp;").as_str()]
    );
    assert_eq!(get(&t, "og:url"), ["https://hugo.example.com/posts/hello/"]);
    assert!(get(&t, "og:image")[0].starts_with("https://hugo.example.com/og/posts-hello."));
    let run = site.run(&["check", "public", "--base-url", "https://hugo.example.com"]);
    run.expect(0);
}

fn tiny_png() -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, 1200, 630);
    enc.set_color(png::ColorType::Rgb);
    let mut w = enc.write_header().unwrap();
    w.write_image_data(&vec![90u8; 1200 * 630 * 3]).unwrap();
    w.finish().unwrap();
    out
}

#[test]
fn content_sources_give_titles_and_overrides() {
    let site = pages_site();
    site.write("content/a.md", "---\ntitle: A from Markdown\ndescription: Described in front matter\nog:\n  alt: Alt from front matter\n---\nbody");
    site.write(
        "content/b.md",
        "---\ntitle: B from Markdown\nog:\n  image: https://cdn.example/b.png\n---\nbody",
    );
    site.run(&[
        "inject",
        "out",
        "--base-url",
        "https://e.test",
        "--content",
        "content",
    ])
    .expect(0);
    let a = meta(&site, "a/index.html");
    assert_eq!(get(&a, "og:title"), ["A from Markdown"]);
    assert_eq!(get(&a, "og:description"), ["Described in front matter"]);
    assert_eq!(get(&a, "og:image:alt"), ["Alt from front matter"]);
    let b = meta(&site, "b/index.html");
    assert_eq!(get(&b, "og:image"), ["https://cdn.example/b.png"]);
    // Pages without a source keep what the HTML says.
    assert_eq!(get(&meta(&site, "c/index.html"), "og:title"), ["Page C"]);
}

/// The one card file under `dir/og/` whose name starts with `slug.`.
fn card_of(site: &Site, dir: &str, slug: &str) -> String {
    let mut cards: Vec<String> = std::fs::read_dir(site.path(&format!("{dir}/og")))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(&format!("{slug}.")))
        .collect();
    assert_eq!(cards.len(), 1, "{cards:?}");
    cards.remove(0)
}

#[test]
fn inject_draws_with_the_site_fonts_exactly_as_build_does() {
    let site = Site::new();
    let with_font = format!("{CONFIG}[og]\nfonts = [\"fonts/Extra.ttf\"]\n");
    site.write("ogforge.toml", &with_font);
    site.write(
        "fonts/Extra.ttf",
        std::fs::read(repo_path("fonts/NotoSansHebrew-Bold.ttf")).unwrap(),
    );
    site.post("hello.md", "title: Shalom שלום\ndescription: Hi", "body");
    site.build().expect(0);
    let built = card_of(&site, "public", "hello");

    // The same post as another generator wrote it: inject draws the same card.
    let page = "<html><head><title>Shalom</title></head><body></body></html>";
    site.write("out/hello/index.html", page);
    site.run(&["inject", "out", "--content", "content"])
        .expect(0);
    let injected = card_of(&site, "out", "hello");
    assert_eq!(injected, built, "one backend set-up: one card name");
    assert!(
        std::fs::read(site.path(&format!("out/og/{injected}"))).unwrap()
            == std::fs::read(site.path(&format!("public/og/{built}"))).unwrap(),
        "the same card bytes"
    );

    // Without the font, inject draws another card; a broken font stops it, named.
    site.write("ogforge.toml", CONFIG);
    site.write("out/hello/index.html", page);
    std::fs::remove_dir_all(site.path("out/og")).unwrap();
    site.run(&["inject", "out", "--content", "content"])
        .expect(0);
    assert_ne!(card_of(&site, "out", "hello"), built);
    site.write("ogforge.toml", &with_font);
    site.write("fonts/Extra.ttf", "not a font");
    let err = site
        .run(&["inject", "out", "--content", "content"])
        .expect(2)
        .stderr();
    assert!(
        err.contains("fonts/Extra.ttf") && err.contains("not a font file"),
        "{err}"
    );
}

#[test]
fn inject_warns_of_characters_no_font_covers_naming_the_page() {
    let site = pages_site();
    site.write(
        "out/hi.html",
        "<html><head><title>Namaste नमस्ते</title></head><body></body></html>",
    );
    let err = site
        .run(&["inject", "out", "--base-url", "https://e.test"])
        .expect(0)
        .stderr();
    assert!(
        err.contains("warning: out/hi.html: its card has characters no font covers: न (U+0928)"),
        "{err}"
    );
    assert!(err.contains("[og] fonts"), "{err}");
}

/// The hash part of a card URL (`…/og/<slug>.<hash>.png`): the same for the same card.
fn card_hash(url: &str) -> &str {
    url.rsplit('/').next().unwrap().split('.').nth(1).unwrap()
}

#[test]
fn pages_in_legacy_encodings_are_read_and_written_in_them() {
    use encoding_rs::{Encoding, ISO_8859_5, SHIFT_JIS, UTF_16LE, WINDOWS_1252};
    let cases: &[(&str, &'static Encoding, &str, &str)] = &[
        (
            "latin",
            WINDOWS_1252,
            "<meta charset=\"windows-1252\">",
            "Crème brûlée — ½ price",
        ),
        (
            "sjis",
            SHIFT_JIS,
            "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\">",
            "日本語の記事",
        ),
        (
            "cyrillic",
            ISO_8859_5,
            "<meta charset=iso-8859-5>",
            "Привет, мир",
        ),
        ("utf16", UTF_16LE, "", "日本語 😀 café"),
    ];
    let site = Site::empty();
    let mut before = Vec::new();
    for (name, encoding, declare, title) in cases {
        let text = format!(
            "<!doctype html>\n<html><head>{declare}<title>{title}</title>\n<meta name=\"description\" content=\"{title}!\"></head>\n<body><h1>{title}</h1></body></html>\n"
        );
        let bytes = if *encoding == UTF_16LE {
            let mut bytes = vec![0xff, 0xfe];
            bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
            bytes
        } else {
            encoding.encode(&text).0.into_owned()
        };
        site.write(&format!("out/{name}.html"), &bytes);
        // The same page in UTF-8, for its card.
        let utf8 = match declare.is_empty() {
            true => text.clone(),
            false => text.replace(declare, "<meta charset=utf-8>"),
        };
        site.write(&format!("out/{name}-utf8.html"), utf8);
        before.push(bytes);
    }
    site.run(&["inject", "out", "--base-url", "https://e.test"])
        .expect(0);

    for ((name, encoding, _, title), before) in cases.iter().zip(&before) {
        let after = std::fs::read(site.path(&format!("out/{name}.html"))).unwrap();
        let tags = existing_meta(&after);
        assert_eq!(get(&tags, "og:title"), [*title], "{name}");
        assert_eq!(
            get(&tags, "og:description"),
            [format!("{title}!")],
            "{name}"
        );
        // Every other byte as it was: the tags went in before `</head>`.
        let head_end = "</head>"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect::<Vec<u8>>();
        let head_end: &[u8] = if *encoding == UTF_16LE {
            &head_end
        } else {
            b"</head>"
        };
        let at = before
            .windows(head_end.len())
            .position(|w| w == head_end)
            .unwrap();
        assert!(after.starts_with(&before[..at]), "{name}");
        assert!(after.ends_with(&before[at..]), "{name}");
        // Written in the page's encoding: it decodes without error, title included.
        let (text, _, malformed) = encoding.decode(&after);
        assert!(!malformed, "{name}");
        assert!(
            text.contains(&format!("<meta property=\"og:title\" content=\"{title}\">")),
            "{name}: {text}"
        );
        // The card is the one of the same page in UTF-8: no mojibake in it.
        let twin = existing_meta(site.read(&format!("out/{name}-utf8.html")).as_bytes());
        assert_eq!(
            card_hash(get(&tags, "og:image")[0]),
            card_hash(get(&twin, "og:image")[0]),
            "{name}"
        );
    }

    // Again: nothing changes.
    let run = site
        .run(&["inject", "out", "--base-url", "https://e.test"])
        .expect(0);
    assert!(
        run.stderr().contains("injected tags into 0 of 8 pages"),
        "{}",
        run.stderr()
    );
}

#[test]
fn pages_whose_encoding_cannot_be_rewritten_are_named_and_the_rest_injected() {
    let site = pages_site();
    site.write(
        "out/jis.html",
        "<html><head><meta charset=\"iso-2022-jp\"><title>x</title></head></html>",
    );
    site.write("out/half.html", b"\xff\xfe<\x00h\x00\x00");
    site.write(
        "out/latin.html",
        b"<html><head><title>Caf\xe9</title></head><body>\xe9</body></html>",
    );
    let err = site
        .run(&["inject", "out", "--base-url", "https://e.test"])
        .expect(2)
        .stderr();
    assert!(
        err.contains(
            "error: out/jis.html: the page is in ISO-2022-JP, which ogforge cannot rewrite"
        ),
        "{err}"
    );
    assert!(
        err.contains("error: out/half.html: the page starts with a UTF-16LE byte-order mark but is not valid UTF-16LE"),
        "{err}"
    );
    assert!(err.contains("hint: save the page as UTF-8"), "{err}");
    assert_eq!(
        site.read("out/jis.html"),
        "<html><head><meta charset=\"iso-2022-jp\"><title>x</title></head></html>"
    );
    // An undeclared page that is not UTF-8: a warning, read as windows-1252, tags in ASCII.
    assert!(
        err.contains("warning: out/latin.html: it declares no encoding and is not valid UTF-8"),
        "{err}"
    );
    let latin = std::fs::read(site.path("out/latin.html")).unwrap();
    let tag: &[u8] = b"<meta property=\"og:title\" content=\"Caf&#233;\">";
    assert!(
        latin.windows(tag.len()).any(|w| w == tag),
        "{}",
        String::from_utf8_lossy(&latin)
    );
    assert_eq!(get(&meta(&site, "a/index.html"), "og:title"), ["Page A"]);
}

/// Every og:image, og:url and twitter:image of the pages, by page.
fn urls(site: &Site) -> Vec<(String, Vec<String>)> {
    PAGES
        .iter()
        .map(|(rel, _)| {
            let tags = meta(site, rel);
            let urls = ["og:url", "og:image", "twitter:image"]
                .iter()
                .flat_map(|key| get(&tags, key))
                .map(str::to_string)
                .collect();
            (rel.to_string(), urls)
        })
        .collect()
}

#[test]
fn a_new_base_url_replaces_the_tags_of_an_earlier_one() {
    let site = pages_site();
    site.run(&["inject", "out", "--base-url", "https://old.test/book"])
        .expect(0);
    for (rel, urls) in urls(&site) {
        assert_eq!(urls.len(), 3, "{rel}: {urls:?}");
    }
    site.run(&["inject", "out", "--base-url", "https://new.test"])
        .expect(0);
    for (rel, urls) in urls(&site) {
        for url in &urls {
            // The author's own picture on another host stays where it is.
            let theirs = url == "https://cdn.example/e.png";
            assert!(
                url.starts_with("https://new.test/") || theirs,
                "{rel}: {urls:?}"
            );
        }
    }
    let a = meta(&site, "a/index.html");
    assert!(get(&a, "og:image")[0].starts_with("https://new.test/og/a."));
    let d = meta(&site, "d/index.html");
    assert_eq!(get(&d, "og:image"), ["https://new.test/d/img/cover.png"]);
    assert_eq!(
        get(&d, "twitter:image"),
        ["https://new.test/d/img/cover.png"]
    );
    let e = meta(&site, "e.html");
    assert_eq!(get(&e, "og:image"), ["https://cdn.example/e.png"]);

    // Once more with the same address: nothing changes.
    let before = urls(&site);
    let run = site
        .run(&["inject", "out", "--base-url", "https://new.test"])
        .expect(0);
    assert!(
        run.stderr().contains("injected tags into 0 of 5 pages"),
        "{}",
        run.stderr()
    );
    assert_eq!(urls(&site), before);

    // An author's absolute picture on another address, in a page ogforge never wrote
    // into, is the author's: kept.
    site.write(
        "out/f.html",
        "<html><head><title>F</title><meta property=\"og:image\" content=\"https://old.test/f.png\"></head></html>",
    );
    site.run(&["inject", "out", "--base-url", "https://new.test"])
        .expect(0);
    assert_eq!(
        get(&meta(&site, "f.html"), "og:image"),
        ["https://old.test/f.png"]
    );
}

#[test]
fn an_authors_picture_missing_from_the_folder_is_named_and_a_card_drawn() {
    let site = pages_site();
    site.write(
        "out/g/index.html",
        "<html><head><title>G</title><meta property=\"og:image\" content=\"img/gone.png\"></head></html>",
    );
    site.write(
        "out/h.html",
        "<html><head><title>H</title><meta property=\"og:image\" content=\"https://e.test/img/caf%C3%A9.png\"></head></html>",
    );
    let err = site
        .run(&["inject", "out", "--base-url", "https://e.test"])
        .expect(0)
        .stderr();
    assert!(
        err.contains("warning: out/g/index.html: its og:image https://e.test/g/img/gone.png names out/g/img/gone.png, which does not exist; a card is drawn instead"),
        "{err}"
    );
    assert!(
        err.contains(
            "warning: out/h.html: its og:image https://e.test/img/caf%C3%A9.png names out/img/café.png"
        ),
        "{err}"
    );
    assert!(err.contains("hint: add the picture to the folder"), "{err}");
    for (rel, slug) in [("g/index.html", "g"), ("h.html", "h")] {
        let image = get(&meta(&site, rel), "og:image")[0].to_string();
        assert!(
            image.starts_with(&format!("https://e.test/og/{slug}.")),
            "{rel}: {image}"
        );
    }
    // A picture that is there is kept, without a word.
    assert_eq!(
        get(&meta(&site, "d/index.html"), "og:image"),
        ["https://e.test/d/img/cover.png"]
    );
    assert!(!err.contains("out/d/index.html"), "{err}");

    // Once the picture is there, the page shows it again.
    site.write("out/img/café.png", tiny_png());
    site.write(
        "out/h.html",
        "<html><head><title>H</title><meta property=\"og:image\" content=\"https://e.test/img/caf%C3%A9.png\"></head></html>",
    );
    site.run(&["inject", "out", "--base-url", "https://e.test"])
        .expect(0);
    assert_eq!(
        get(&meta(&site, "h.html"), "og:image"),
        ["https://e.test/img/caf%C3%A9.png"]
    );
}
