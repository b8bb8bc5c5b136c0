//! Incremental builds, through the `fresh`/`dirty` lines of `-v` and the modification
//! times of the outputs (cargo's freshness tests are the model).

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::support::{CONFIG, Site};

/// A site of three posts, built once.
fn built() -> Site {
    let site = Site::new();
    site.post("a.md", "title: Alpha\ndescription: First\ntags: [x]", "one")
        .post("b.md", "title: Beta\ndescription: Second\ntags: [y]", "two")
        .post(
            "c.md",
            "title: Gamma\ndescription: Third\ntags: [x]",
            "three",
        );
    site.build().expect(0);
    std::thread::sleep(std::time::Duration::from_millis(30));
    site
}

fn lines(run: &crate::support::Run) -> Vec<String> {
    let mut l: Vec<String> = run
        .stderr()
        .lines()
        .filter(|l| l.starts_with("fresh ") || l.starts_with("dirty "))
        .map(str::to_string)
        .collect();
    l.sort();
    l
}

fn mtimes(site: &Site) -> BTreeMap<String, SystemTime> {
    site.output_mtimes().into_iter().collect()
}

fn changed(
    before: &BTreeMap<String, SystemTime>,
    after: &BTreeMap<String, SystemTime>,
) -> Vec<String> {
    let mut c: Vec<String> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(v))
        .map(|(k, _)| k.rsplit("public/").next().unwrap().to_string())
        .collect();
    c.sort();
    c
}

#[test]
fn a_build_with_nothing_changed_does_nothing() {
    let site = built();
    let before = mtimes(&site);
    let run = site.run(&["build", "-v"]).expect(0);
    assert_eq!(
        lines(&run),
        [
            "fresh content/a.md",
            "fresh content/b.md",
            "fresh content/c.md"
        ]
    );
    assert!(
        run.stderr().contains("0 cards drawn, 3 up to date"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("0 files written"), "{}", run.stderr());
    assert_eq!(mtimes(&site), before);
    let manifest = std::fs::metadata(site.path(".ogforge/manifest.json"))
        .unwrap()
        .modified()
        .unwrap();
    site.run(&["build"]).expect(0);
    let again = std::fs::metadata(site.path(".ogforge/manifest.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(manifest, again, "the cache is not rewritten either");
}

#[test]
fn an_edited_title_redraws_one_card_and_rewrites_the_pages_that_show_it() {
    let site = built();
    let before = mtimes(&site);
    site.post(
        "b.md",
        "title: Beta two\ndescription: Second\ntags: [y]",
        "two",
    );
    let run = site.run(&["build", "-v"]).expect(0);
    assert_eq!(
        lines(&run),
        [
            "dirty content/b.md: title changed",
            "fresh content/a.md",
            "fresh content/c.md"
        ]
    );
    assert!(
        run.stderr().contains("1 card drawn, 2 up to date"),
        "{}",
        run.stderr()
    );
    let changed = changed(&before, &mtimes(&site));
    assert!(
        changed.iter().any(|f| f.starts_with("og/b.")),
        "{changed:?}"
    );
    assert!(changed.contains(&"b/index.html".to_string()));
    assert!(changed.contains(&"index.html".to_string()));
    assert!(changed.contains(&"tags/y/index.html".to_string()));
    for untouched in [
        "a/index.html",
        "c/index.html",
        "tags/x/index.html",
        "style.css",
    ] {
        assert!(
            !changed.contains(&untouched.to_string()),
            "{untouched} was rewritten: {changed:?}"
        );
    }
    assert_eq!(
        changed.iter().filter(|f| f.starts_with("og/")).count(),
        1,
        "{changed:?}"
    );
}

#[test]
fn a_body_edit_rewrites_only_that_page() {
    let site = built();
    let before = mtimes(&site);
    site.post(
        "c.md",
        "title: Gamma\ndescription: Third\ntags: [x]",
        "three, longer",
    );
    let run = site.run(&["build", "-v"]).expect(0);
    assert!(
        lines(&run).contains(&"dirty content/c.md: source changed".to_string()),
        "{}",
        run.stderr()
    );
    assert_eq!(changed(&before, &mtimes(&site)), ["c/index.html"]);
}

#[test]
fn a_card_template_change_redraws_every_card() {
    let site = built();
    let template =
        std::fs::read_to_string(crate::support::repo_path("templates/og/blog-post.svg")).unwrap();
    site.write(
        "templates/og/blog-post.svg",
        template.replace("#0f172a", "#102030"),
    );
    let run = site.run(&["build", "-v"]).expect(0);
    assert_eq!(
        lines(&run),
        [
            "dirty content/a.md: template changed",
            "dirty content/b.md: template changed",
            "dirty content/c.md: template changed"
        ]
    );
    assert!(run.stderr().contains("3 cards drawn"), "{}", run.stderr());
}

#[test]
fn a_font_change_redraws_every_card() {
    let site = built();
    site.write(
        "ogforge.toml",
        format!("{CONFIG}[og]\nfonts = [\"extra.ttf\"]\n"),
    );
    site.write(
        "extra.ttf",
        std::fs::read(crate::support::repo_path(
            "fonts/NotoSansHebrew-Regular.ttf",
        ))
        .unwrap(),
    );
    let run = site.run(&["build", "-v"]).expect(0);
    for line in lines(&run) {
        assert!(
            line.starts_with("dirty ") && line.ends_with(": font changed"),
            "{line}"
        );
    }
    assert!(run.stderr().contains("3 cards drawn"), "{}", run.stderr());
}

#[test]
fn a_deleted_card_file_is_drawn_again() {
    let site = built();
    let card = std::fs::read_dir(site.path("public/og"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("a."))
        .unwrap();
    std::fs::remove_file(&card).unwrap();
    let run = site.run(&["build", "-v"]).expect(0);
    assert!(
        lines(&run).contains(&"dirty content/a.md: card file missing".to_string()),
        "{}",
        run.stderr()
    );
    assert!(card.exists());
    assert!(
        run.stderr().contains("1 card drawn, 2 up to date"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_corrupt_manifest_is_a_warning_not_a_crash() {
    let site = built();
    let before = mtimes(&site);
    site.write(
        ".ogforge/manifest.json",
        "{\"version\": 1, \"assets\": [garbage",
    );
    let run = site.run(&["build", "-v"]).expect(0);
    assert!(
        run.stderr()
            .contains("warning: .ogforge/manifest.json: the cache is corrupt"),
        "{}",
        run.stderr()
    );
    // Every page is checked again; the cards on disk are named after their inputs, so
    // they are known good and none is drawn again, and no file changes.
    assert!(
        run.stderr().contains("0 cards drawn, 3 up to date"),
        "{}",
        run.stderr()
    );
    assert_eq!(mtimes(&site), before);
    // The manifest is whole again.
    let again = site.run(&["build", "-v"]).expect(0);
    assert!(!again.stderr().contains("corrupt"));
    assert!(
        lines(&again).iter().all(|l| l.starts_with("fresh ")),
        "{}",
        again.stderr()
    );
}

#[test]
fn force_redoes_everything() {
    let site = built();
    let before = mtimes(&site);
    let run = site.run(&["build", "-v", "--force"]).expect(0);
    assert!(
        lines(&run).iter().all(|l| l.ends_with(": --force")),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("3 cards drawn"));
    let after = mtimes(&site);
    assert!(
        before.keys().all(|k| before[k] != after[k]),
        "every output rewritten"
    );
}

#[test]
fn leftover_cards_are_counted_and_cleaned() {
    let site = built();
    site.post(
        "a.md",
        "title: Alpha renamed\ndescription: First\ntags: [x]",
        "one",
    );
    let run = site.build().expect(0);
    assert!(
        run.stderr()
            .contains("1 card file no page uses any more; `ogforge clean` removes them"),
        "{}",
        run.stderr()
    );
    let run = site.run(&["clean"]).expect(0);
    assert!(
        run.stderr().contains("removed 1 unused card file"),
        "{}",
        run.stderr()
    );
    // Three posts' cards and the site's own.
    assert_eq!(
        std::fs::read_dir(site.path("public/og")).unwrap().count(),
        4
    );
    let run = site.build().expect(0);
    assert!(!run.stderr().contains("no page uses"), "{}", run.stderr());
    assert!(run.stderr().contains("0 cards drawn"));

    let fresh = Site::new();
    let err = fresh.run(&["clean"]).expect(2).stderr();
    assert!(err.contains("run `ogforge build` first"), "{err}");
}

#[test]
fn frozen_passes_when_up_to_date_and_names_every_stale_card_otherwise() {
    let site = built();
    site.run(&["build", "--frozen"]).expect(0);
    let before = mtimes(&site);
    site.post(
        "b.md",
        "title: Beta edited\ndescription: Second\ntags: [y]",
        "two",
    );
    site.post(
        "c.md",
        "title: Gamma edited\ndescription: Third\ntags: [x]",
        "three",
    );
    let run = site.run(&["build", "--frozen"]).expect(3);
    let err = run.stderr();
    assert!(err.contains("stale: content/b.md: card og/b."), "{err}");
    assert!(err.contains("(title changed) is not up to date"), "{err}");
    assert!(err.contains("stale: content/c.md: card og/c."), "{err}");
    assert!(!err.contains("content/a.md"), "{err}");
    assert_eq!(mtimes(&site), before, "a frozen build writes nothing");
    assert!(!site.read(".ogforge/manifest.json").contains("Beta edited"));
}

#[test]
fn json_report_on_stdout() {
    let site = built();
    site.post(
        "b.md",
        "title: Beta two\ndescription: Second\ntags: [y]",
        "two",
    );
    let run = site.run(&["build", "--json", "--quiet"]).expect(0);
    let report: serde_json::Value = serde_json::from_str(&run.stdout()).expect("stdout is JSON");
    assert_eq!(report["status"], 0);
    assert_eq!(report["outcome"], "success");
    assert_eq!(report["posts"], 3);
    assert_eq!(report["cards"]["made"], 1);
    assert_eq!(report["cards"]["fresh"], 2);
    let assets = report["assets"].as_array().unwrap();
    assert_eq!(assets.len(), 4, "three posts' cards and the site's own");
    assert!(assets.iter().any(|a| a["key"] == "card:site"));
    assert!(
        assets
            .iter()
            .all(|a| a["state"] == "ready" && a["kind"] == "card")
    );
    assert!(assets.iter().any(|a| a["source"] == "content/b.md"));

    site.write("ogforge.toml", "[site]\ntitle = 1\n");
    let run = site.run(&["build", "--json"]).expect(2);
    let report: serde_json::Value = serde_json::from_str(&run.stdout()).expect("stdout is JSON");
    assert_eq!(report["outcome"], "bad-input");
    assert!(report["error"].as_str().unwrap().contains("ogforge.toml"));
}

#[test]
fn a_frozen_build_keeps_the_site_card_on_list_pages() {
    let site = built();
    let index = site.read("public/index.html");
    assert!(
        index.contains("og:image\" content=\"https://blog.test/og/site."),
        "{index}"
    );
    let before = mtimes(&site);
    site.run(&["build", "--frozen"]).expect(0);
    assert_eq!(
        mtimes(&site),
        before,
        "a fresh frozen build changes no page"
    );
    // A changed site description makes the site's card stale: named, exit 3.
    site.write(
        "ogforge.toml",
        format!("{CONFIG}description = \"New words\"\n"),
    );
    let run = site.run(&["build", "--frozen"]).expect(3);
    assert!(
        run.stderr().contains("the site's own card og/site."),
        "{}",
        run.stderr()
    );
}

/// The summary line without its timing.
fn summary(run: &crate::support::Run) -> String {
    let err = run.stderr();
    let line = err.lines().find(|l| l.starts_with("built ")).unwrap_or("");
    let (head, tail) = line.split_once(" in ").unwrap_or((line, ""));
    let tail = tail.split_once("s; ").map_or("", |(_, t)| t);
    format!("{head} … {tail}")
}

#[test]
fn a_no_op_build_after_a_clean_one_says_what_a_full_one_says_and_writes_nothing() {
    let site = built();
    assert!(
        site.exists(".ogforge/stamp"),
        "a build without problems leaves a stamp"
    );
    // The same build without the stamp goes the whole way: the summaries agree.
    std::fs::remove_file(site.path(".ogforge/stamp")).unwrap();
    let full = site.build().expect(0);
    let before = mtimes(&site);
    let manifest = site.read(".ogforge/manifest.json");
    let fast = site.build().expect(0);
    assert_eq!(summary(&fast), summary(&full));
    assert!(
        summary(&fast).contains("0 cards drawn, 3 up to date"),
        "{}",
        summary(&fast)
    );
    assert_eq!(mtimes(&site), before);
    assert_eq!(site.read(".ogforge/manifest.json"), manifest);
    // `--json` still lists every asset.
    let json: serde_json::Value =
        serde_json::from_str(&site.run(&["build", "--json"]).expect(0).stdout()).unwrap();
    assert_eq!(json["assets"].as_array().unwrap().len(), 4, "{json}");
}

#[test]
fn a_no_op_build_still_notices_outputs_touched_by_hand_and_changed_inputs() {
    let site = built();
    let page = "public/a/index.html";
    let original = site.read(page);
    // A page removed by hand is put back.
    std::fs::remove_file(site.path(page)).unwrap();
    site.build().expect(0);
    assert_eq!(site.read(page), original);
    let card = std::fs::read_dir(site.path("public/og"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("/a."))
        .unwrap();
    std::fs::remove_file(&card).unwrap();
    let run = site.build().expect(0);
    assert!(run.stderr().contains("1 card drawn"), "{}", run.stderr());
    assert!(card.is_file());

    // A theme template the site did not have before.
    site.write(
        "templates/post.html",
        "{% extends \"base.html\" %}{% block main %}<p>mine</p>{% endblock %}",
    );
    site.build().expect(0);
    assert!(site.read(page).contains("<p>mine</p>"));
    // A config change.
    let config = site
        .read("ogforge.toml")
        .replace("title = ", "title = \"Renamed\"\n# was: ");
    site.write("ogforge.toml", config);
    site.build().expect(0);
    assert!(site.read(page).contains("Renamed"), "{}", site.read(page));
    // A file in static/.
    site.write("static/robots.txt", "User-agent: *\n");
    site.build().expect(0);
    assert!(site.exists("public/robots.txt"));
    // --drafts is an input too.
    site.post("d.md", "title: Delta\ndraft: true", "draft");
    site.build().expect(0);
    assert!(!site.exists("public/d/index.html"));
    site.run(&["build", "--drafts"]).expect(0);
    assert!(site.exists("public/d/index.html"));
}

#[test]
fn warnings_are_repeated_on_every_build_until_fixed() {
    let site = built();
    site.post(
        "b.md",
        "title: \"Beta \u{0D85}\"\ndescription: Second",
        "two",
    );
    for _ in 0..2 {
        let run = site.build().expect(0);
        assert!(run.stderr().contains("no font covers"), "{}", run.stderr());
        assert!(!site.exists(".ogforge/stamp"));
    }
}

#[test]
fn empty_outputs_a_power_loss_may_leave_are_made_again() {
    let site = built();
    let card = std::fs::read_dir(site.path("public/og"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("/a."))
        .unwrap();
    let page = "public/a/index.html";
    let original = site.read(page);
    std::fs::write(&card, b"").unwrap();
    std::fs::write(site.path(page), b"").unwrap();
    let run = site.build().expect(0);
    assert!(run.stderr().contains("1 card drawn"), "{}", run.stderr());
    assert!(std::fs::metadata(&card).unwrap().len() > 0);
    assert_eq!(site.read(page), original);
}
