//! What each command says when it is done: counts with their nouns in the singular or the
//! plural as the count asks.

use crate::support::Site;

fn one_post_site() -> Site {
    let site = Site::new();
    site.post("one.md", "title: One", "Hello.");
    site
}

#[test]
fn build_summary_says_one_post_and_one_card_in_the_singular() {
    let site = one_post_site();
    let run = site.build().expect(0);
    let said = run.stderr();
    assert!(said.contains("(1 post)"), "{said}");
    assert!(said.contains("; 1 card drawn, 0 up to date;"), "{said}");
    assert!(said.contains("built 2 pages"), "{said}");
    assert!(
        !said.contains("1 posts") && !said.contains("1 cards"),
        "{said}"
    );

    let again = site.build().expect(0);
    assert!(
        again
            .stderr()
            .contains("0 cards drawn, 1 up to date; 0 files written"),
        "{}",
        again.stderr()
    );
}

#[test]
fn build_summary_counts_one_error_in_the_singular() {
    let site = one_post_site();
    site.post("broken.md", "title: [unclosed", "Body.");
    let run = site.build().expect(2);
    let said = run.stderr();
    assert!(said.lines().any(|l| l == "1 error above"), "{said}");
}

#[test]
fn inject_and_check_say_one_page_in_the_singular() {
    let site = Site::empty();
    site.write(
        "out/index.html",
        "<html><head><title>Only page</title></head><body>Hi</body></html>",
    );
    let run = site
        .run(&["inject", "out", "--base-url", "https://blog.test"])
        .expect(0);
    assert!(
        run.stderr()
            .contains("injected tags into 1 of 1 page; 1 card drawn, 0 up to date"),
        "{}",
        run.stderr()
    );

    let run = site.run(&["check", "out"]).expect(0);
    assert!(
        run.stderr().contains("checked 1 page: 0 errors, "),
        "{}",
        run.stderr()
    );
}

#[test]
fn new_counts_its_files_in_the_plural() {
    let site = Site::empty();
    let run = site.run(&["new", "blog"]).expect(0);
    assert!(
        run.stderr().contains("made a new blog in blog (5 files)"),
        "{}",
        run.stderr()
    );
}
