//! The `ogforge` program: parse arguments, run one library call, print the outcome and
//! choose the exit code. The only place that exits.

use std::process::ExitCode;

use clap::Parser;
use ogforge::cli::{Cli, Command};
use ogforge::{BuildOptions, ExitStatus, Report};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let report = Report::new(cli.global.verbosity());
    let status = match cli.command {
        Command::Build(args) => {
            let options = BuildOptions {
                site_dir: args.site,
                drafts: args.drafts,
            };
            match ogforge::build(&options, &report) {
                Ok(summary) => {
                    report.info(summary.to_line(&report));
                    report.exit_status()
                }
                Err(e) => fatal(&e),
            }
        }
    };
    ExitCode::from(status as u8)
}

/// An error that stopped the command: its chain, then exit 2.
fn fatal(e: &anyhow::Error) -> ExitStatus {
    eprintln!("error: {e:#}");
    ExitStatus::BadInput
}
