//! Hostile input: posts too large to read, front matter built to exhaust memory or the
//! stack, folders that loop, templates that never end. Each must end in a clear message
//! naming the file, and the rest of the site must still be built.

use std::time::{Duration, Instant};

use crate::support::{CONFIG, Site};

#[test]
fn a_post_over_the_size_limit_is_named_and_the_rest_is_built() {
    let site = Site::new();
    site.post("good.md", "title: Good", "fine");
    let huge = format!("---\ntitle: Huge\n---\n{}", "x".repeat(12_300_000));
    site.write("content/huge.md", huge);
    let err = site.build().expect(2).stderr();
    assert!(
        err.contains("error: content/huge.md: post is 12.3 MB, over the 10 MB limit"),
        "{err}"
    );
    assert!(
        err.contains("hint:") && err.contains("max_post_size"),
        "{err}"
    );
    assert!(site.exists("public/good/index.html"));
    assert!(!site.exists("public/huge/index.html"));
}

#[test]
fn the_post_size_limit_is_configurable() {
    let site = Site::new();
    site.write(
        "ogforge.toml",
        format!("{CONFIG}max_post_size = \"1 KB\"\n"),
    );
    site.post("small.md", "title: Small", "fine");
    site.post("big.md", "title: Big", &"y".repeat(1500));
    let err = site.build().expect(2).stderr();
    assert!(
        err.contains("content/big.md: post is 1.5 KB, over the 1 KB limit"),
        "{err}"
    );
    assert!(site.exists("public/small/index.html"));

    site.write("ogforge.toml", format!("{CONFIG}max_post_size = 2000\n"));
    site.build().expect(0);
    assert!(site.exists("public/big/index.html"));

    site.write(
        "ogforge.toml",
        format!("{CONFIG}max_post_size = \"huge\"\n"),
    );
    let err = site.build().expect(2).stderr();
    assert!(
        err.contains("ogforge.toml") && err.contains("max_post_size") && err.contains("huge"),
        "{err}"
    );
}

#[test]
fn inject_content_keeps_the_post_size_limit() {
    let site = Site::empty();
    site.write(
        "out/a/index.html",
        "<html><head><title>A</title></head><body>A</body></html>",
    );
    site.write(
        "ogforge.toml",
        format!("{CONFIG}max_post_size = \"1 KB\"\n"),
    );
    site.write(
        "content/a.md",
        format!("---\ntitle: A\n---\n{}", "z".repeat(2000)),
    );
    let err = site
        .run(&["inject", "out", "--content", "content"])
        .expect(2)
        .stderr();
    assert!(
        err.contains("content/a.md: post is 2 KB, over the 1 KB limit"),
        "{err}"
    );
}

#[test]
fn a_100k_character_title_builds_quickly_with_a_card() {
    let site = Site::new();
    let title = "A long title ".repeat(100_000 / 13 + 1);
    site.post(
        "long.md",
        &format!("title: \"{}\"", &title[..100_000]),
        "body",
    );
    let started = Instant::now();
    site.build().expect(0);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    let page = site.read("public/long/index.html");
    assert!(page.contains("og:image"), "the page names its card");
    let cards = std::fs::read_dir(site.path("public/og")).unwrap().count();
    assert!(cards >= 1, "a card was drawn");
}

/// A post whose front matter would exhaust memory or the stack if parsed naively.
fn hostile_posts(site: &Site) {
    let mut laughs = String::from("title: Laughs\na0: &a0 [lol]\n");
    for level in 1..=9 {
        let items = vec![format!("*a{}", level - 1); 10].join(", ");
        laughs.push_str(&format!("a{level}: &a{level} [{items}]\n"));
    }
    site.post("laughs.md", &laughs, "body");
    let depth = 100_000;
    site.post(
        "dashes.md",
        &format!("title: Dashes\nx:\n{}y", "- ".repeat(depth)),
        "body",
    );
    site.post(
        "brackets.md",
        &format!("title: Brackets\nx: {}", "[".repeat(depth)),
        "body",
    );
    site.post(
        "braces.md",
        &format!("title: Braces\nx: {}", "{a: ".repeat(depth)),
        "body",
    );
    site.write(
        "content/toml-arrays.md",
        format!("+++\ntitle = \"T\"\nx = {}\n+++\nbody", "[".repeat(depth)),
    );
    site.write(
        "content/toml-tables.md",
        format!(
            "+++\ntitle = \"T\"\nx = {}\n+++\nbody",
            "{a = ".repeat(depth)
        ),
    );
    site.write(
        "content/toml-keys.md",
        format!(
            "+++\ntitle = \"T\"\n{} = 1\n+++\nbody",
            vec!["a"; depth].join(".")
        ),
    );
    site.write(
        "content/toml-header.md",
        format!(
            "+++\ntitle = \"T\"\n[{}]\n+++\nbody",
            vec!["a"; depth].join(".")
        ),
    );
}

#[test]
fn alias_bombs_and_deep_nesting_are_named_and_the_rest_is_built() {
    let site = Site::new();
    site.post("good.md", "title: Good", "fine");
    hostile_posts(&site);
    let started = Instant::now();
    let run = site.build().expect(2);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    let err = run.stderr();
    for needle in [
        "content/laughs.md:",
        "aliases (`*name`) stand for more than",
        "content/dashes.md:4: the front matter nests lists and tables more than 64 deep",
        "content/brackets.md:3:",
        "content/braces.md:3:",
        "content/toml-arrays.md:",
        "content/toml-tables.md:",
        "content/toml-keys.md:",
        "content/toml-header.md:",
    ] {
        assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
    }
    assert!(err.matches("hint:").count() >= 8, "{err}");
    assert!(site.exists("public/good/index.html"));
}

#[test]
fn deep_nesting_in_the_config_is_an_error_not_a_crash() {
    let site = Site::new();
    let depth = 100_000;
    for extra in [
        format!("x = {}", "[".repeat(depth)),
        format!("x = {}", "{a = ".repeat(depth)),
        format!("{} = 1", vec!["a"; depth].join(".")),
    ] {
        site.write("ogforge.toml", format!("{CONFIG}[site.extra]\n{extra}\n"));
        let err = site.build().expect(2).stderr();
        assert!(
            err.contains("invalid configuration in ogforge.toml"),
            "{err}"
        );
    }
}

#[cfg(unix)]
#[test]
fn symlink_loops_in_content_are_named_and_the_rest_is_built() {
    use std::os::unix::fs::symlink;
    let site = Site::new();
    site.post("good.md", "title: Good", "fine");
    site.post("a/inner.md", "title: Inner", "inside");
    symlink("..", site.path("content/loop")).unwrap();
    symlink("../a", site.path("content/a/b")).unwrap();
    let started = Instant::now();
    let run = site.build().expect(2);
    assert!(started.elapsed() < Duration::from_secs(30));
    let err = run.stderr();
    for needle in ["content/loop", "content/a/b", "hint:", "symbolic link"] {
        assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
    }
    assert!(site.exists("public/good/index.html"));
    assert!(site.exists("public/a/inner/index.html"));
}

#[test]
fn a_page_template_that_never_ends_is_stopped_and_named() {
    let site = Site::new();
    site.post("a.md", "title: A", "body");
    for template in [
        "{% for i in range(999999999) %}{{ i }}{% endfor %}",
        "{% for i in range(99999) %}{% for j in range(99999) %}{{ j }}{% endfor %}{% endfor %}",
        "{% macro down(n) %}{{ down(n + 1) }}{% endmacro %}{{ down(0) }}",
    ] {
        site.write("templates/post.html", template);
        let started = Instant::now();
        let err = site.build().expect(2).stderr();
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{template}: took {:?}",
            started.elapsed()
        );
        assert!(
            err.contains(
                "error: content/a.md: page /a/ could not be rendered: templates/post.html:1:"
            ),
            "{template}: {err}"
        );
        assert!(err.contains("hint:"), "{err}");
        assert!(!site.exists("public/a/index.html"));
    }
}
