//! Meta tags into arbitrary HTML: `inject_meta` never panics; injecting twice gives the
//! bytes of injecting once (whatever encoding the page declares, and wherever); a new set
//! of tags replaces an old one without drift; the inserted values are escaped (they read
//! back exactly, and a page with no managed tag gets the block, in the page's encoding,
//! inserted and every other byte kept).
//!
//! Input: see [`tags_of`]; the rest is the page.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ogforge::site::inject::{
    MetaTags, OgImage, inject_meta, inject_meta_in_chunks, meta_block, page_encoding, page_facts,
};

/// The tags a page gets: ten fields of the input (title, description, URL, type, site
/// name, image URL, width, height, MIME type, alt) each ended by a 0x1F byte; an empty
/// site name or image URL means none. Without ten fields, fixed tags.
fn tags_of(data: &[u8]) -> (MetaTags, &[u8]) {
    let mut fields: Vec<&[u8]> = data.splitn(11, |&b| b == 0x1f).collect();
    if fields.len() < 11 {
        let tags = MetaTags {
            title: "Tom & \"Jerry\" <3 'em\"><script>x</script>".into(),
            description: "A post.".into(),
            url: "https://blog.example/?a=1&b=2".into(),
            og_type: "article".into(),
            site_name: Some("Example".into()),
            image: Some(OgImage {
                url: "https://blog.example/og/a.png".into(),
                width: Some(1200),
                height: Some(630),
                mime_type: Some("image/png".into()),
                alt: "A card".into(),
            }),
        };
        return (tags, data);
    }
    let html = fields.pop().unwrap_or_default();
    let f: Vec<String> = fields
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    let some = |s: &String| Some(s.clone()).filter(|s| !s.is_empty());
    let tags = MetaTags {
        title: f[0].clone(),
        description: f[1].clone(),
        url: f[2].clone(),
        og_type: f[3].clone(),
        site_name: some(&f[4]),
        image: some(&f[5]).map(|url| OgImage {
            url,
            width: f[6].parse().ok(),
            height: f[7].parse().ok(),
            mime_type: some(&f[8]),
            alt: f[9].clone(),
        }),
    };
    (tags, html)
}

/// The (property, value) pairs the block must hold, in order.
fn expected(tags: &MetaTags) -> Vec<(String, String)> {
    let image = tags.image.as_ref();
    let card = if image.is_some() {
        "summary_large_image"
    } else {
        "summary"
    };
    let all = [
        ("og:title", Some(tags.title.clone())),
        ("og:description", Some(tags.description.clone())),
        ("og:type", Some(tags.og_type.clone())),
        ("og:url", Some(tags.url.clone())),
        ("og:site_name", tags.site_name.clone()),
        ("og:image", image.map(|i| i.url.clone())),
        (
            "og:image:width",
            image.and_then(|i| i.width).map(|w| w.to_string()),
        ),
        (
            "og:image:height",
            image.and_then(|i| i.height).map(|h| h.to_string()),
        ),
        ("og:image:type", image.and_then(|i| i.mime_type.clone())),
        ("og:image:alt", image.map(|i| i.alt.clone())),
        ("twitter:card", Some(card.to_string())),
        ("twitter:title", Some(tags.title.clone())),
        ("twitter:description", Some(tags.description.clone())),
        ("twitter:image", image.map(|i| i.url.clone())),
        ("twitter:image:alt", image.map(|i| i.alt.clone())),
    ];
    all.into_iter()
        .filter_map(|(k, v)| Some((k.to_string(), v?)))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let (tags, html) = tags_of(data);

    // The block alone: each value escaped, so it reads back exactly and adds no markup.
    let block = inject_meta(b"", &tags).expect("an empty page always takes the block");
    let facts = page_facts(&block);
    // lol_html decodes an attribute value as a document of its own and drops a byte-order
    // mark at its start; the block keeps it, and browsers read it.
    let expected: Vec<_> = expected(&tags)
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                v.strip_prefix('\u{feff}').map_or(v.clone(), str::to_string),
            )
        })
        .collect();
    assert_eq!(
        facts.meta,
        expected,
        "{:?}",
        String::from_utf8_lossy(&block)
    );
    let n = facts.meta.len();
    assert_eq!(block.iter().filter(|&&b| b == b'<').count(), n);
    assert_eq!(block.iter().filter(|&&b| b == b'>').count(), n);
    assert_eq!(block.iter().filter(|&&b| b == b'"').count(), 4 * n);

    let Ok(once) = inject_meta(html, &tags) else {
        return;
    };

    // Reading stops at the end of the head when no `<meta` follows; read in small pieces,
    // the page must come out as when read whole (a page too short to be cut otherwise).
    let chunk = 1 + html.len() % 61;
    let whole = inject_meta_in_chunks(html, &tags, usize::MAX);
    assert!(
        whole.is_err() || inject_meta_in_chunks(html, &tags, chunk).ok() == whole.ok(),
        "reading in pieces of {chunk} bytes differs"
    );
    let twice = inject_meta(&once, &tags).expect("an injected page parses again");
    assert!(
        twice == once,
        "not idempotent\n once: {:?}\ntwice: {:?}",
        String::from_utf8_lossy(&once),
        String::from_utf8_lossy(&twice)
    );

    // Other tags, with the image (and so the number of tags) toggled.
    let other = MetaTags {
        title: format!("{} (2)", tags.title),
        image: match tags.image {
            Some(_) => None,
            None => Some(OgImage {
                url: "https://blog.example/og/b.png".into(),
                width: None,
                height: None,
                mime_type: None,
                alt: String::new(),
            }),
        },
        ..tags.clone()
    };
    let replaced = inject_meta(&once, &other).expect("an injected page parses again");
    assert!(
        inject_meta(html, &other).is_ok_and(|direct| direct == replaced),
        "new tags drift\n      page: {:?}\n  replaced: {:?}",
        String::from_utf8_lossy(html),
        String::from_utf8_lossy(&replaced)
    );

    // The encoding the page is written in does not change with the block in it.
    let encoding = page_encoding(html).expect("a page that took the block settles");
    assert_eq!(
        page_encoding(&once).ok(),
        Some(encoding),
        "the block changed the page's encoding"
    );

    // A page without any managed tag only gains the block, in its encoding: every byte of
    // it is kept. (In UTF-16 the tags' names are not ASCII bytes to look for.)
    let block = meta_block(&tags, &encoding);
    let lower = html.to_ascii_lowercase();
    let mentions = |s: &[u8]| lower.windows(s.len()).any(|w| w == s);
    if encoding.is_ascii_compatible() && !mentions(b"og:") && !mentions(b"twitter:") {
        assert_eq!(once.len(), html.len() + block.len());
        let prefix = once.iter().zip(html).take_while(|(a, b)| a == b).count();
        let suffix = once
            .iter()
            .rev()
            .zip(html.iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        let from = html.len().saturating_sub(suffix);
        assert!(
            (from..=prefix.min(html.len())).any(|at| once[at..at + block.len()] == block[..]),
            "bytes of the page changed: {:?}",
            String::from_utf8_lossy(&once)
        );
    }
});
