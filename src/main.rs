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
                force: args.force,
                retry_failed: args.retry_failed,
                offline: args.offline,
                dry_run: args.dry_run,
            };
            match ogforge::build(&options, &report) {
                Ok(summary) => {
                    if !options.dry_run {
                        report.info(summary.to_line(&report));
                    }
                    report.exit_status()
                }
                Err(e) => fatal(&e),
            }
        }
        Command::Clean(args) => match ogforge::build::clean(&args.site, &report) {
            Ok(removed) => {
                report.info(format!(
                    "removed {} unused card file{}",
                    removed.len(),
                    if removed.len() == 1 { "" } else { "s" }
                ));
                report.exit_status()
            }
            Err(e) => fatal(&e),
        },
    };
    ExitCode::from(status as u8)
}

/// An error that stopped the command: its chain, then exit 2.
fn fatal(e: &anyhow::Error) -> ExitStatus {
    eprintln!("error: {e:#}");
    ExitStatus::BadInput
}
