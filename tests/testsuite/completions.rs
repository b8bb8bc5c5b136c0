//! `ogforge completions SHELL` and `ogforge man`: each prints a file the shell or `man`
//! reads, naming ogforge's commands and options.

use crate::support::Site;

#[test]
fn completions_generate_for_every_shell() {
    let site = Site::empty();
    for (shell, marker) in [
        ("bash", "complete -F _ogforge"),
        ("zsh", "#compdef ogforge"),
        ("fish", "complete -c ogforge"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let run = site.run(&["completions", shell]).expect(0);
        let script = run.stdout();
        assert!(
            script.contains(marker),
            "{shell}: no `{marker}` in\n{script}"
        );
        for word in ["inject", "check", "frozen", "base-url"] {
            assert!(script.contains(word), "{shell}: `{word}` is not completed");
        }
    }
}

#[test]
fn completions_for_an_unknown_shell_is_a_usage_error() {
    let run = Site::empty().run(&["completions", "tcsh"]).expect(2);
    assert!(run.stderr().contains("possible values"), "{}", run.stderr());
}

#[test]
fn man_page_is_roff_with_the_version_and_the_commands() {
    let run = Site::empty().run(&["man"]).expect(0);
    let page = run.stdout();
    assert!(page.contains(".TH ogforge 1"), "{page}");
    assert!(page.contains(ogforge::VERSION), "{page}");
    for word in ["inject", "serve", "completions", "\\-\\-verbose"] {
        assert!(page.contains(word), "no `{word}` in the man page");
    }
}
