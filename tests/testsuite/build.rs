//! `ogforge build`: pages, lists, escaping, bad posts, drafts, exit codes.

use crate::support::{CONFIG, Site};

#[test]
fn example_site_builds_every_page() {
    let site = Site::example();
    let run = site.build().expect(0);
    assert!(run.stderr().contains("built"), "{}", run.stderr());
    for page in [
        "public/index.html",
        "public/posts/index.html",
        "public/posts/hello-world/index.html",
        "public/posts/rust-error-handling/index.html",
        "public/posts/a-very-long-title/index.html",
        "public/posts/tokyo-notes/index.html",
        "public/posts/arabic-typography/index.html",
        "public/posts/shipping-day/index.html",
        "public/posts/trip-to-lisbon/index.html",
        "public/tags/index.html",
        "public/tags/travel/index.html",
        "public/tags/rust/index.html",
        "public/style.css",
        "public/robots.txt",
    ] {
        assert!(site.exists(page), "{page} missing");
    }
    // The page bundle's picture is copied beside its page.
    assert!(site.exists("public/posts/trip-to-lisbon/map.svg"));
    assert!(
        site.read("public/posts/trip-to-lisbon/index.html")
            .contains("src=\"map.svg\"")
    );
    // The draft is left out, and so is every trace of it.
    assert!(!site.exists("public/posts/next-steps/index.html"));
    assert!(!site.read("public/index.html").contains("Next steps"));
    assert!(
        !site.exists("public/tags/meta/index.html")
            || !site
                .read("public/tags/meta/index.html")
                .contains("Next steps")
    );
}

#[test]
fn index_lists_posts_newest_first_and_tag_pages_list_theirs() {
    let site = Site::new();
    site.post("2021-01-01-old.md", "title: Old post\ntags: [Rust]", "old")
        .post(
            "middle.md",
            "title: Middle post\ndate: 2022-06-01\ntags: [rust, web]",
            "mid",
        )
        .post(
            "new.md",
            "title: New post\ndate: 2023-03-03T10:00:00Z\ntags: [web]",
            "new",
        );
    site.build().expect(0);
    let index = site.read("public/index.html");
    let pos = |t: &str| {
        index
            .find(t)
            .unwrap_or_else(|| panic!("{t} not on the index"))
    };
    assert!(pos("New post") < pos("Middle post") && pos("Middle post") < pos("Old post"));
    // The date of the Jekyll-style name is used when front matter has none.
    assert!(site.read("public/old/index.html").contains("2021-01-01"));
    // "Rust" and "rust" are one tag.
    let rust = site.read("public/tags/rust/index.html");
    assert!(
        rust.contains("Old post") && rust.contains("Middle post") && !rust.contains("New post")
    );
    let web = site.read("public/tags/web/index.html");
    assert!(web.contains("New post") && web.contains("Middle post") && !web.contains("Old post"));
    assert!(site.read("public/tags/index.html").contains("/tags/web/"));
}

#[test]
fn titles_are_escaped_in_html() {
    let site = Site::new();
    site.post(
        "esc.md",
        r#"title: "Fish & <Chips> say \"hi\" it's""#,
        "body",
    );
    site.build().expect(0);
    let page = site.read("public/esc/index.html");
    assert!(
        page.contains("<h1>Fish &amp; &lt;Chips&gt; say &quot;hi&quot; it&#39;s</h1>"),
        "{page}"
    );
    assert!(!page.contains("<Chips>"));
    let index = site.read("public/index.html");
    assert!(index.contains("Fish &amp; &lt;Chips&gt;"));
}

#[test]
fn bad_posts_are_named_and_the_rest_is_built() {
    let site = Site::new();
    site.post("good.md", "title: Good", "fine")
        .post(
            "broken-yaml.md",
            "title: ok\ntags: [a, b\nauthor: x",
            "body",
        )
        .post("no-title.md", "description: nothing else", "body")
        .post("escape.md", "title: Escape\nslug: ../../evil", "body")
        .post("backslash.md", "title: Back\nslug: 'a\\b'", "body")
        .write(
            "content/latin1.md",
            b"---\ntitle: caf\xe9\n---\nbody\n".as_slice(),
        )
        .write("content/unclosed.md", "---\ntitle: never closed\n")
        .write("content/plain.md", "# Just Markdown\n")
        .write(
            "content/broken-toml.md",
            "+++\ntitle = \"x\"\ndate = \n+++\n",
        );
    let run = site.build().expect(2);
    let err = run.stderr();
    for needle in [
        "content/broken-yaml.md:",
        "invalid YAML front matter",
        "content/no-title.md:",
        "has no title",
        "content/escape.md:3: the slug `../../evil`",
        "content/backslash.md:3:",
        "content/latin1.md:2: is not UTF-8 text",
        "content/unclosed.md:1: the front matter opened by `---` is never closed",
        "content/plain.md:1: no front matter",
        "content/broken-toml.md:3: invalid TOML front matter",
        "hint:",
    ] {
        assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
    }
    assert!(site.exists("public/good/index.html"));
    assert!(site.read("public/index.html").contains("Good"));
    // Nothing was written outside the output folder.
    for file in site.all_files() {
        assert!(
            file.starts_with("site/public/")
                || file.starts_with("site/content/")
                || file.starts_with("site/.ogforge/")
                || file == "site/ogforge.toml",
            "unexpected file {file}"
        );
    }
    assert!(!site.exists("public/evil") && !site.tmp.path().join("evil").exists());
}

#[test]
fn drafts_only_with_the_flag() {
    let site = Site::new();
    site.post("wip.md", "title: Work in progress\ndraft: true", "soon");
    site.build().expect(0);
    assert!(!site.exists("public/wip/index.html"));
    site.run(&["build", "--drafts"]).expect(0);
    assert!(site.exists("public/wip/index.html"));
}

#[test]
fn toml_front_matter_bom_crlf_and_extra_keys() {
    let site = Site::new();
    site.write(
        "content/toml.md",
        "\u{feff}+++\r\ntitle = \"From TOML\"\r\nauthors = [\"Ann\", \"Bo\"]\r\nmood = \"sunny\"\r\n[extra]\r\nseries = \"S1\"\r\n+++\r\nBody *here*\r\n",
    );
    site.write(
        "templates/post.html",
        "{{ page.title }}|{{ page.authors | join(',') }}|{{ page.extra.mood }}|{{ page.extra.extra.series }}|{{ page.content }}",
    );
    site.build().expect(0);
    let page = site.read("public/toml/index.html");
    assert!(page.starts_with("From TOML|Ann,Bo|sunny|S1|"), "{page}");
    assert!(page.contains("<p>Body <em>here</em></p>"), "{page}");
}

#[test]
fn section_pages_bundles_and_static_files() {
    let site = Site::new();
    site.write(
        "content/notes/_index.md",
        "---\ntitle: Notes\ndescription: Short ones\n---\nAll my notes.\n",
    )
    .post("notes/first.md", "title: First note", "one")
    .write(
        "content/notes/trip/index.md",
        "---\ntitle: Trip\n---\n![pic](photo.png)\n",
    )
    .write("content/notes/trip/photo.png", b"\x89PNG fake".as_slice())
    .write(
        "content/notes/trip/extra.md",
        "---\ntitle: Not a page\n---\n",
    )
    .write("static/css/site.css", "body{}")
    .write("content/notes/.hidden.md", "---\ntitle: Hidden\n---\n")
    .write("content/notes/first.md~", "backup");
    let run = site.build().expect(0);
    let section = site.read("public/notes/index.html");
    assert!(
        section.contains("All my notes.")
            && section.contains("First note")
            && section.contains("Trip")
    );
    assert!(site.exists("public/notes/trip/photo.png"));
    assert!(site.exists("public/css/site.css"));
    assert!(!site.exists("public/notes/trip/extra/index.html"));
    assert!(
        run.stderr().contains("inside a page bundle"),
        "{}",
        run.stderr()
    );
    assert!(!site.read("public/index.html").contains("Hidden"));
}

#[test]
fn a_second_build_writes_nothing() {
    let site = Site::example();
    site.build().expect(0);
    let before = site.output_mtimes();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let run = site.build().expect(0);
    assert_eq!(site.output_mtimes(), before);
    assert!(run.stderr().contains("0 files written"), "{}", run.stderr());
}

#[test]
fn two_posts_with_one_url() {
    let site = Site::new();
    site.post("a.md", "title: A\nslug: same", "")
        .post("b.md", "title: B\nslug: same", "");
    let run = site.build().expect(2);
    assert!(
        run.stderr()
            .contains("content/b.md: has the same URL `/same/` as content/a.md"),
        "{}",
        run.stderr()
    );
    assert!(site.read("public/same/index.html").contains(">A<"));
}

#[test]
fn config_errors_name_the_key_and_file() {
    let site = Site::new();
    site.write("ogforge.toml", format!("{CONFIG}colour = \"red\"\n"));
    let err = site.build().expect(2).stderr();
    assert!(
        err.contains("ogforge.toml") && err.contains("colour"),
        "{err}"
    );

    site.write("ogforge.toml", "[site]\ntitle = \"T\"\n");
    let err = site.build().expect(2).stderr();
    assert!(err.contains("base_url"), "{err}");

    site.write("ogforge.toml", format!("{CONFIG}[og]\nwidth = -5\n"));
    let err = site.build().expect(2).stderr();
    assert!(err.contains("width"), "{err}");

    let empty = Site::empty();
    let err = empty.build().expect(2).stderr();
    assert!(
        err.contains("could not read ogforge.toml") && err.contains("hint:"),
        "{err}"
    );
}

#[test]
fn template_errors_name_the_file_and_line() {
    let site = Site::new();
    site.post("a.md", "title: A", "");
    site.write("templates/post.html", "line one\n{% for %}\n");
    let err = site.build().expect(2).stderr();
    assert!(err.contains("templates/post.html:2: syntax error"), "{err}");
}

#[test]
fn bad_usage_exits_2() {
    let site = Site::new();
    site.run(&["build", "--no-such-flag"]).expect(2);
    site.run(&["frobnicate"]).expect(2);
}

#[test]
fn quiet_prints_nothing_on_success() {
    let site = Site::example();
    let run = site.run(&["build", "--quiet"]).expect(0);
    assert_eq!(run.stderr(), "");
    let run = site.run(&["build", "-v"]).expect(0);
    assert!(
        run.stderr()
            .contains("content/posts/2024-03-02-hello-world.md"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_sites_own_style_sheet_replaces_the_built_in_one_and_is_written_once() {
    let site = Site::new();
    site.post("a.md", "title: Alpha", "one")
        .write("static/style.css", "body { color: rebeccapurple }\n");
    for _ in 0..3 {
        site.build().expect(0);
        assert_eq!(
            site.read("public/style.css"),
            "body { color: rebeccapurple }\n"
        );
    }
    // The full path (-v skips the no-op shortcut) finds nothing to write either.
    let run = site.run(&["build", "-v"]).expect(0);
    assert!(run.stderr().contains("0 files written"), "{}", run.stderr());
}
