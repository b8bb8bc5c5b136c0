//! `ogforge::check` over the example site as `ogforge build` writes it: clean, then
//! damaged once per page, each damage found on its page with its code.

use ogforge::check::{CheckReport, check_dir};

use crate::support::Site;

const BASE: &str = "https://fieldnotes.example.com";

/// `(file, code)` of every finding.
fn found(report: &CheckReport) -> Vec<(String, &'static str)> {
    let found = report.findings.iter().map(|f| (f.file.clone(), f.code));
    found.collect()
}

/// The example site as `ogforge build` writes it: posts with their cards, list pages
/// (index, sections, tags) with the site's own card.
fn built_example() -> Site {
    let site = Site::example();
    site.build().expect(0);
    site
}

#[test]
fn the_built_example_site_passes() {
    let site = built_example();
    let files = site.all_files();
    let pages = files
        .iter()
        .filter(|f| f.starts_with("site/public/") && f.ends_with(".html"));
    let pages = pages.count();
    assert!(pages > 10, "{files:#?}");
    for base_url in [Some(BASE), None] {
        let report = check_dir(&site.path("public"), base_url).unwrap();
        assert_eq!(report.pages, pages, "{base_url:?}");
        assert!(report.findings.is_empty(), "{:#?}", report.findings);
    }
}

#[test]
fn each_damage_is_found_on_its_page() {
    let site = built_example();
    let edit = |slug: &str, from: &str, to: &str| {
        let page = format!("public/posts/{slug}/index.html");
        let html = site.read(&page);
        assert!(html.contains(from), "{page} lacks {from}");
        site.write(&page, html.replacen(from, to, 1));
    };
    let image_tag = |slug: &str| {
        let html = site.read(&format!("public/posts/{slug}/index.html"));
        let at = html.find("<meta property=\"og:image\" ").unwrap();
        html[at..].lines().next().unwrap().to_string()
    };

    let tag = image_tag("hello-world");
    let card = tag
        .split(&format!("{BASE}/"))
        .nth(1)
        .unwrap()
        .trim_end_matches("\">");
    std::fs::remove_file(site.path("public").join(card)).unwrap();
    edit(
        "tokyo-notes",
        "<meta property=\"og:image:width\" content=\"1200\">",
        "<meta property=\"og:image:width\" content=\"1100\">",
    );
    edit("shipping-day", &(image_tag("shipping-day") + "\n"), "");
    edit(
        "rust-error-handling",
        "</head>",
        "<meta property=\"og:title\" content=\"Something else\">\n</head>",
    );
    let tag = image_tag("arabic-typography");
    edit("arabic-typography", &tag, &tag.replace(BASE, ""));

    let want = [
        ("posts/arabic-typography/index.html", "relative-og-image"),
        ("posts/hello-world/index.html", "missing-image-file"),
        ("posts/rust-error-handling/index.html", "conflicting-tags"),
        ("posts/shipping-day/index.html", "missing-og-image"),
        ("posts/tokyo-notes/index.html", "size-mismatch"),
    ]
    .map(|(file, code)| (file.to_string(), code));
    for base_url in [Some(BASE), None] {
        let report = check_dir(&site.path("public"), base_url).unwrap();
        assert_eq!(found(&report), want, "{base_url:?}: {:#?}", report.findings);
        assert_eq!(report.errors(), 5);
    }

    let report = check_dir(&site.path("public"), Some(BASE)).unwrap();
    let lines: Vec<String> = report.findings.iter().map(|f| f.to_string()).collect();
    let public = site.path("public").display().to_string();
    assert_eq!(
        lines[4],
        format!(
            "error: {public}/posts/tokyo-notes/index.html: \
             og:image is 1200×630 but og:image:width/height say 1100×630"
        )
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["findings"][3]["code"], "missing-og-image");
    assert_eq!(json["findings"][3]["severity"], "error");
}

#[test]
fn the_command_exits_3_naming_each_broken_page() {
    let site = built_example();
    site.run(&["check", "public"]).expect(0);
    let page = "public/posts/hello-world/index.html";
    let html = site.read(page);
    let at = html.find("<meta property=\"og:image\" ").unwrap();
    let end = at + html[at..].find('>').unwrap() + 1;
    site.write(page, format!("{}{}", &html[..at], &html[end..]));
    let run = site.run(&["check", "public"]).expect(3);
    assert!(
        run.stderr()
            .contains("error: public/posts/hello-world/index.html: "),
        "{}",
        run.stderr()
    );
    let run = site.run(&["check", "public", "--json"]).expect(3);
    let report: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    let codes: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert!(codes.contains(&"missing-og-image"), "{codes:?}");
}
