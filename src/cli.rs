//! The command line: what the user typed, as clap parses it.

use std::path::PathBuf;

use std::ffi::OsString;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::Verbosity;

#[derive(Debug, Parser)]
#[command(
    name = "ogforge",
    version = crate::VERSION,
    about = "Build a Markdown blog with Open Graph cards and meta tags"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Say what is done to every page and asset, and why.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Print errors only.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// When to colour what ogforge prints: auto is on a terminal, unless NO_COLOR is set.
    #[arg(long, value_enum, global = true, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
}

/// `--color`, as cargo and ripgrep take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

impl ColorWhen {
    /// `--color` among the arguments, read before clap parses them so that clap's own
    /// usage errors follow it too; the last one wins, as clap would have it.
    pub fn scan(args: impl IntoIterator<Item = OsString>) -> ColorWhen {
        let mut when = ColorWhen::Auto;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let value = match arg.to_str() {
                Some("--") => break,
                Some("--color") => args.next(),
                Some(a) => a.strip_prefix("--color=").map(OsString::from),
                None => None,
            };
            if let Some(v) = value.as_ref().and_then(|v| v.to_str())
                && let Ok(w) = ColorWhen::from_str(v, false)
            {
                when = w;
            }
        }
        when
    }

    /// Makes it the choice of every coloured line printed from now on, ogforge's and
    /// clap's. Auto leaves NO_COLOR, CLICOLOR_FORCE and whether stderr is a terminal
    /// to decide.
    pub fn apply(self) -> clap::ColorChoice {
        let (ours, clap) = match self {
            ColorWhen::Auto => (anstream::ColorChoice::Auto, clap::ColorChoice::Auto),
            ColorWhen::Always => (anstream::ColorChoice::Always, clap::ColorChoice::Always),
            ColorWhen::Never => (anstream::ColorChoice::Never, clap::ColorChoice::Never),
        };
        ours.write_global();
        clap
    }
}

impl GlobalArgs {
    pub fn verbosity(&self) -> Verbosity {
        match (self.quiet, self.verbose) {
            (true, _) => Verbosity::Quiet,
            (_, true) => Verbosity::Verbose,
            _ => Verbosity::Normal,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the site in SITE (default: the current folder).
    Build(BuildArgs),
    /// Remove card files that no page uses any more.
    Clean(SiteArg),
    /// Add cards and meta tags to the HTML another generator wrote (Hugo, Zola, ...).
    Inject(InjectArgs),
    /// Lint the Open Graph tags of every page under DIR; exit 3 on any error.
    Check(CheckArgs),
    /// Make a new blog in SITE (a new or empty folder) that builds at once.
    New(NewArgs),
    /// Build, then rebuild what changed on every save until Ctrl-C.
    Watch(WatchArgs),
    /// Watch, and serve the site on 127.0.0.1 with live reload and a card gallery at
    /// /_ogforge/.
    Serve(ServeArgs),
    /// Look after the shared cache (`[cache] url` or OGFORGE_CACHE_URL).
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Print a completion script for SHELL on stdout, e.g. `ogforge completions bash >
    /// ~/.local/share/bash-completion/completions/ogforge`.
    Completions(CompletionsArgs),
    /// Print ogforge's man page (roff) on stdout, e.g. `ogforge man > ogforge.1`.
    Man,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Remove the objects no build has used (or uploaded) for a while.
    Prune(PruneArgs),
    /// Count the objects in the shared cache and say when it was last used.
    Stats(CacheArgs),
}

#[derive(Debug, Args)]
pub struct CacheArgs {
    /// The site folder whose ogforge.toml names the cache.
    #[arg(default_value = ".")]
    pub site: PathBuf,
    /// The cache to use instead of the site's (s3://, gs://, az://, file://).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Print the outcome as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    #[command(flatten)]
    pub cache: CacheArgs,
    /// Remove what no build has used for this long: 90d, 12h, 2w.
    #[arg(long, value_name = "AGE", default_value = "90d", value_parser = parse_age)]
    pub older_than: std::time::Duration,
    /// Say what would be removed; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
}

fn parse_age(s: &str) -> Result<std::time::Duration, String> {
    crate::remote_cache::usage::parse_age(s)
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete ogforge's commands and options in.
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The site folder, holding ogforge.toml.
    #[arg(default_value = ".")]
    pub site: PathBuf,
    /// Build posts marked `draft: true` too.
    #[arg(long)]
    pub drafts: bool,
    /// Draw cards locally whatever `og.backend` says; no network.
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub watch: WatchArgs,
    /// The port on 127.0.0.1 (0: any free one).
    #[arg(long, default_value_t = 1111)]
    pub port: u16,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The folder to make.
    pub site: PathBuf,
    /// Copy the built-in templates and stylesheet out, to change them.
    #[arg(long)]
    pub templates: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The built site (public, _site, ...).
    pub dir: PathBuf,
    /// The site's address, to find the files og:image points to (default: read from the
    /// pages' og:url).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Print the findings as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InjectArgs {
    /// The generator's output folder (public, _site, book, ...).
    pub dir: PathBuf,
    /// The site's address; og:url and og:image are absolute under it.
    #[arg(long)]
    pub base_url: Option<String>,
    /// An ogforge.toml to use (default: the one in the current folder, if any).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Replace a page's own absolute og:image with a card.
    #[arg(long)]
    pub replace: bool,
    /// Markdown sources to take titles and front-matter overrides from, by permalink.
    #[arg(long)]
    pub content: Option<PathBuf>,
    /// Redo every card.
    #[arg(long)]
    pub force: bool,
    /// Ask again for cards that failed permanently.
    #[arg(long)]
    pub retry_failed: bool,
    /// Draw cards locally whatever og.backend says.
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Args)]
pub struct SiteArg {
    /// The site folder, holding ogforge.toml.
    #[arg(default_value = ".")]
    pub site: PathBuf,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The site, drafts and offline: what `watch` and `serve` take too.
    #[command(flatten)]
    pub site: WatchArgs,
    /// Redo every card and rewrite every page, whatever the cache says.
    #[arg(long)]
    pub force: bool,
    /// Ask again for cards that failed permanently with the same inputs.
    #[arg(long)]
    pub retry_failed: bool,
    /// Print the cards (and API calls) a build would make; make and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// For CI: make no card or screenshot and call nothing; exit 3, naming them, if any
    /// is missing or stale.
    #[arg(long, conflicts_with_all = ["force", "dry_run"])]
    pub frozen: bool,
    /// For a CI matrix: make and upload to the shared cache only the assets of shard K of
    /// N, write no page; a final `build --frozen` assembles the site from the cache.
    #[arg(long, value_name = "K/N", conflicts_with_all = ["frozen", "dry_run"])]
    pub shard: Option<crate::remote_cache::Shard>,
    /// Print a machine-readable report on stdout.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(args: &[&str]) -> ColorWhen {
        ColorWhen::scan(args.iter().map(OsString::from))
    }

    #[test]
    fn color_is_found_before_parsing_in_both_spellings() {
        assert_eq!(scan(&["build"]), ColorWhen::Auto);
        assert_eq!(scan(&["build", "--color", "never"]), ColorWhen::Never);
        assert_eq!(
            scan(&["--color=always", "check", "public"]),
            ColorWhen::Always
        );
        assert_eq!(
            scan(&["--color=never", "build", "--color=always"]),
            ColorWhen::Always
        );
        // A bad value is left for clap to report; after `--` nothing is an option.
        assert_eq!(scan(&["--color", "sometimes"]), ColorWhen::Auto);
        assert_eq!(scan(&["build", "--", "--color=never"]), ColorWhen::Auto);
    }
}
