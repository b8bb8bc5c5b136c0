//! The command line: what the user typed, as clap parses it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::report::Verbosity;

#[derive(Debug, Parser)]
#[command(
    name = "ogforge",
    version,
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
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The site folder, holding ogforge.toml.
    #[arg(default_value = ".")]
    pub site: PathBuf,
    /// Build posts marked `draft: true` too.
    #[arg(long)]
    pub drafts: bool,
}
