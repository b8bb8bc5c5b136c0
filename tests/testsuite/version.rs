//! What a CI log shows of the program that ran: `--version` with the commit, and the
//! opening line of `build -v` with the version, the config file and the backends.

use std::process::Command;

use crate::support::{CONFIG, Site, repo_path};

/// HEAD's short hash when the tests run in ogforge's own git checkout.
fn head_commit() -> Option<String> {
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(repo_path(""))
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let top = git(&["rev-parse", "--show-toplevel"])?;
    let ours = std::fs::canonicalize(repo_path("")).ok()?;
    (std::fs::canonicalize(top).ok()? == ours).then_some(())?;
    git(&["rev-parse", "--short=12", "HEAD"])
}

#[test]
fn version_names_the_release_and_the_commit_it_was_built_from() {
    let run = Site::empty().run(&["--version"]).expect(0);
    let line = run.stdout();
    let want = format!("ogforge {} ", env!("CARGO_PKG_VERSION"));
    assert!(
        line.starts_with(&want) || line.trim() == want.trim(),
        "{line}"
    );
    if let Some(commit) = head_commit() {
        assert!(
            line.starts_with(&format!("{want}({commit} ")),
            "{line} should name {commit}"
        );
    }
}

#[test]
fn build_v_opens_with_version_config_and_backends() {
    let site = Site::new();
    site.write(
        "ogforge.toml",
        format!("{CONFIG}[screenshots]\nbackend = \"off\"\n"),
    );
    site.post("a.md", "title: A", "Body.");
    let run = site.run(&["build", "-v"]).expect(0);
    let first = run.stderr().lines().next().unwrap_or_default().to_string();
    assert_eq!(
        first,
        format!(
            "ogforge {}; config ./ogforge.toml; cards: local, template blog-post; screenshots: off",
            ogforge::VERSION
        )
    );
}

#[test]
fn build_v_says_when_a_flag_overrides_the_configured_backends() {
    let site = Site::new();
    site.write(
        "ogforge.toml",
        format!("{CONFIG}[og]\nbackend = \"snapsharp\"\n"),
    );
    site.post("a.md", "title: A", "Body.");
    let run = site
        .run_with_env(
            &["build", "-v", "--offline", "."],
            &[("OGFORGE_CHROMIUM", "/nonexistent/chromium")],
        )
        .expect(0);
    let first = run.stderr().lines().next().unwrap_or_default().to_string();
    assert!(
        first.ends_with(
            "; config ./ogforge.toml; cards: local, template blog-post (--offline); screenshots: skipped (--offline)"
        ),
        "{first}"
    );
}

#[test]
fn build_without_v_does_not_print_the_opening_line() {
    let site = Site::new();
    site.post("a.md", "title: A", "Body.");
    let run = site.build().expect(0);
    assert!(!run.stderr().contains("; config "), "{}", run.stderr());
}
