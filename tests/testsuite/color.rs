//! Colour in what ogforge prints: `--color auto|always|never`, NO_COLOR and
//! CLICOLOR_FORCE, for ogforge's own messages and clap's usage errors alike.

use crate::support::Site;

const ESC: &str = "\u{1b}[";

/// A site whose build reports one broken post (exit 2, an `error:` and a `hint:`).
fn broken_site() -> Site {
    let site = Site::new();
    site.post("good.md", "title: Good", "Body.");
    site.post("bad.md", "title: [unclosed", "Body.");
    site
}

fn stderr(site: &Site, args: &[&str], env: &[(&str, &str)]) -> String {
    let run = site.run_with_env(args, env);
    let err = run.stderr();
    assert!(err.contains("error"), "no error at all: {err}");
    err
}

#[test]
fn auto_colours_only_when_asked_by_clicolor_force_and_never_with_no_color() {
    let site = broken_site();
    // Not a terminal: plain.
    assert!(!stderr(&site, &["build"], &[]).contains(ESC));
    // CLICOLOR_FORCE stands for a terminal.
    let forced = stderr(&site, &["build"], &[("CLICOLOR_FORCE", "1")]);
    assert!(
        forced.contains(&format!("{ESC}1m{ESC}31merror:")),
        "{forced:?}"
    );
    // NO_COLOR wins over it.
    let no_color = stderr(
        &site,
        &["build"],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
    );
    assert!(!no_color.contains(ESC), "{no_color:?}");
}

#[test]
fn the_flag_wins_over_the_environment() {
    let site = broken_site();
    let always = stderr(&site, &["build", "--color", "always"], &[("NO_COLOR", "1")]);
    assert!(always.contains(ESC), "{always:?}");
    let never = stderr(
        &site,
        &["--color=never", "build"],
        &[("CLICOLOR_FORCE", "1")],
    );
    assert!(!never.contains(ESC), "{never:?}");
    // The problem lines are the same either way, colours aside.
    let problems = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("error") || l.starts_with("  hint"))
            .map(str::to_string)
            .collect()
    };
    let plain = anstream::adapter::strip_str(&always).to_string();
    assert_eq!(problems(&plain), problems(&never));
    assert!(!problems(&never).is_empty());
}

#[test]
fn check_findings_and_usage_errors_follow_the_flag() {
    let site = Site::empty();
    site.write(
        "out/index.html",
        "<html><head><title>T</title></head></html>",
    );
    let run = site.run(&["check", "out", "--color", "always"]).expect(3);
    assert!(
        run.stderr().contains(&format!("{ESC}1m{ESC}31merror:")),
        "{:?}",
        run.stderr()
    );
    let run = site.run(&["check", "out", "--color", "never"]).expect(3);
    assert!(!run.stderr().contains(ESC));

    let run = site.run(&["--color", "always", "bogus"]).expect(2);
    assert!(run.stderr().contains(ESC), "{:?}", run.stderr());
    let run = site
        .run_with_env(&["--color", "never", "bogus"], &[("CLICOLOR_FORCE", "1")])
        .expect(2);
    assert!(!run.stderr().contains(ESC), "{:?}", run.stderr());
}
