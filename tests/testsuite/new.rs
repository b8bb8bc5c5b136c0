//! `ogforge new`: a scaffolded site builds at once, its copied templates are the built-in
//! ones, and a folder with anything in it is left alone.

use std::fs;
use std::path::{Path, PathBuf};

use ogforge::scaffold::{new_site, new_site_dated};

use crate::support::Site;

/// Every file under `dir`, relative to it, with its bytes.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let rel = e.path().strip_prefix(dir).unwrap();
            let rel = rel.to_string_lossy().replace('\\', "/");
            files.push((rel, fs::read(e.path()).unwrap()));
        }
    }
    files
}

fn names(files: &[(String, Vec<u8>)]) -> Vec<&str> {
    files.iter().map(|(n, _)| n.as_str()).collect()
}

fn scaffold(with_templates: bool) -> (Site, Vec<PathBuf>) {
    let site = Site::empty();
    let written = new_site_dated(&site.root(), with_templates, "2024-05-17").unwrap();
    (site, written)
}

#[test]
fn a_new_site_builds_at_once_with_a_card() {
    let (site, written) = scaffold(false);
    let mut expected: Vec<PathBuf> = [
        ".gitignore",
        "content/_index.md",
        "content/posts/2024-05-17-hello-world.md",
        "ogforge.toml",
        "static/robots.txt",
    ]
    .iter()
    .map(|rel| site.root().join(rel))
    .collect();
    let mut got = written.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    assert_eq!(
        site.all_files().len(),
        written.len(),
        "only the listed files"
    );
    ogforge::Config::parse(&site.read("ogforge.toml")).unwrap();
    assert!(site.read(".gitignore").contains("/public/"));
    assert!(site.read(".gitignore").contains("/.ogforge/"));

    let run = site.build().expect(0);
    assert!(!run.stderr().contains("warning"), "{}", run.stderr());
    let page = site.read("public/posts/hello-world/index.html");
    assert!(page.contains("<h1>Hello, world</h1>"), "{page}");
    assert!(page.contains("ogforge serve"));
    let image = page
        .split("<meta property=\"og:image\" content=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no og:image in {page}"));
    let card = image
        .strip_prefix("https://example.com/")
        .unwrap_or_else(|| panic!("og:image {image} is not under base_url"));
    assert!(card.starts_with("og/hello-world."), "{card}");
    let png = fs::read(site.path(&format!("public/{card}"))).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    for file in ["public/index.html", "public/robots.txt", "public/style.css"] {
        assert!(site.exists(file), "{file} missing");
    }
    assert!(site.read("public/index.html").contains("Welcome!"));
}

#[test]
fn copied_templates_are_the_built_in_ones_and_change_nothing() {
    let (plain, _) = scaffold(false);
    let (themed, written) = scaffold(true);
    let files = tree(&themed.root());
    let read = |rel: &str| {
        files
            .iter()
            .find(|(n, _)| n == rel)
            .unwrap_or_else(|| panic!("{rel} not written"))
            .1
            .clone()
    };
    for (name, source) in ogforge::site::templates::BUILT_IN {
        assert_eq!(
            read(&format!("templates/{name}")),
            source.as_bytes(),
            "{name}"
        );
    }
    for (name, bytes) in ogforge::site::templates::BUILT_IN_STATIC {
        assert_eq!(read(&format!("static/{name}")), *bytes, "{name}");
    }
    for (name, source) in ogforge::render::local::BUILT_IN {
        assert_eq!(
            read(&format!("templates/og/{name}.svg")),
            source.as_bytes(),
            "{name}"
        );
    }
    assert_eq!(files.len(), written.len());

    plain.build().expect(0);
    themed.build().expect(0);
    let (a, b) = (tree(&plain.path("public")), tree(&themed.path("public")));
    assert_eq!(names(&a), names(&b));
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "public/{name} differs with the copied templates");
    }
}

#[test]
fn the_post_is_dated_today_by_default_and_folders_are_created() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sites").join("my-blog");
    let written = new_site(&dir, false).unwrap();
    let post = written
        .iter()
        .find(|p| p.to_string_lossy().ends_with("-hello-world.md"))
        .expect("a post");
    let name = post.file_name().unwrap().to_string_lossy();
    let date = &name[..10];
    assert!(
        date.len() == 10 && date.as_bytes()[4] == b'-' && date.as_bytes()[7] == b'-',
        "{name}"
    );
    assert!(
        fs::read_to_string(post)
            .unwrap()
            .contains(&format!("date: {date}"))
    );
    assert!(dir.join("ogforge.toml").is_file());
}

#[test]
fn a_folder_with_anything_in_it_is_refused_and_left_alone() {
    let site = Site::empty();
    site.write(".keep", "");
    let before = site.all_files();
    let err = format!("{:#}", new_site(&site.root(), true).unwrap_err());
    assert!(err.contains(&site.root().display().to_string()), "{err}");
    assert!(err.contains("not empty"), "{err}");
    assert_eq!(site.all_files(), before);

    // A file of that name is refused too.
    let file = site.path(".keep");
    let err = format!("{:#}", new_site(&file, false).unwrap_err());
    assert!(err.contains("not a folder"), "{err}");
    assert_eq!(site.all_files(), before);

    // A second `new` over a new site changes nothing.
    let (site, _) = scaffold(false);
    let before = tree(&site.root());
    assert!(new_site(&site.root(), false).is_err());
    assert_eq!(tree(&site.root()), before);
}
