//! The `ogforge` program: parse arguments, run one library call, print the outcome and
//! choose the exit code. The only place that exits.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::{CommandFactory, FromArgMatches};
use ogforge::cli::ColorWhen;
use ogforge::cli::{Cli, Command};
use ogforge::report::{eprint_styled, plural};
use ogforge::{BuildOptions, ExitStatus, Report};

mod cmd;

fn main() -> ExitCode {
    // Read before parsing, so that clap's own errors follow --color too.
    let color = ColorWhen::scan(std::env::args_os().skip(1)).apply();
    let cli = match Cli::command()
        .color(color)
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches))
    {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let report = Report::new(cli.global.verbosity());
    let status = match cli.command {
        Command::Build(args) => {
            let options = BuildOptions {
                force: args.force,
                retry_failed: args.retry_failed,
                dry_run: args.dry_run,
                frozen: args.frozen,
                shard: args.shard,
                record_cache_use: true,
                list_assets: args.json,
                ..watch_options(&args.site)
            };
            let result = ogforge::build(&options, &report);
            let status = match &result {
                Ok(_) => report.exit_status(),
                Err(_) => ExitStatus::BadInput,
            };
            match &result {
                Ok(summary) if !options.dry_run && status != ExitStatus::Stale => {
                    report.info(summary.to_line(&report))
                }
                Ok(_) => {}
                Err(e) => {
                    fatal(e);
                }
            }
            if args.json {
                let fatal = result.as_ref().err().map(|e| format!("{e:#}"));
                let json = ogforge::json::build_report(
                    result.as_ref().ok(),
                    status,
                    fatal.as_deref(),
                    &report,
                );
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json).unwrap_or_default()
                );
            }
            status
        }
        Command::Inject(args) => {
            let options = ogforge::plugin::InjectOptions {
                dir: args.dir,
                base_url: args.base_url,
                config: args.config,
                replace: args.replace,
                content: args.content,
                force: args.force,
                retry_failed: args.retry_failed,
                offline: args.offline,
            };
            match ogforge::plugin::inject(&options, &report) {
                Ok(s) => {
                    report.info(format!(
                        "injected tags into {} of {}; {} drawn, {} up to date{}",
                        s.pages_changed,
                        plural(s.pages, "page"),
                        plural(s.cards_made, "card"),
                        s.cards_fresh,
                        if s.cards_failed > 0 {
                            format!(", {} failed", s.cards_failed)
                        } else {
                            String::new()
                        }
                    ));
                    report.exit_status()
                }
                Err(e) => fatal(&e),
            }
        }
        Command::Check(args) => {
            match ogforge::check::check_dir(&args.dir, args.base_url.as_deref()) {
                Ok(found) => {
                    if args.json {
                        println!(
                            "{}",
                            serde_json::to_string_pretty(&found).unwrap_or_default()
                        );
                    } else {
                        for finding in &found.findings {
                            eprint_styled(&finding.to_string());
                        }
                        report.info(format!(
                            "checked {}: {}, {}",
                            plural(found.pages, "page"),
                            plural(found.errors(), "error"),
                            plural(found.warnings(), "warning")
                        ));
                    }
                    if found.errors() > 0 {
                        ExitStatus::Stale
                    } else {
                        ExitStatus::Success
                    }
                }
                Err(e) => fatal(&e),
            }
        }
        Command::New(args) => match ogforge::scaffold::new_site(&args.site, args.templates) {
            Ok(files) => {
                for file in &files {
                    report.verbose(format!("wrote {}", file.display()));
                }
                report.info(format!(
                    "made a new blog in {site} ({}); next: ogforge build {site}, and set base_url in {site}/ogforge.toml",
                    plural(files.len(), "file"),
                    site = args.site.display()
                ));
                ExitStatus::Success
            }
            Err(e) => fatal(&e),
        },
        Command::Watch(args) => {
            let options = watch_options(&args);
            let stop = Arc::new(AtomicBool::new(false));
            let run = ogforge::watch::stop_on_ctrl_c(stop.clone())
                .and_then(|()| ogforge::watch::watch(&options, report.verbosity(), stop, |_| {}));
            match run {
                Ok(()) => ExitStatus::Success,
                Err(e) => fatal(&e),
            }
        }
        Command::Serve(args) => {
            let options = watch_options(&args.watch);
            let stop = Arc::new(AtomicBool::new(false));
            let run = ogforge::watch::stop_on_ctrl_c(stop.clone()).and_then(|()| {
                ogforge::serve::serve(&options, args.port, report.verbosity(), stop)
            });
            match run {
                Ok(()) => ExitStatus::Success,
                Err(e) => fatal(&e),
            }
        }
        Command::Cache(command) => cmd::cache::execute(command, &report),
        Command::Completions(args) => {
            // Made in memory first: clap_complete panics when its writer fails (a closed
            // pipe, as in `| head`).
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "ogforge", &mut script);
            print_bytes(&script)
        }
        Command::Man => {
            let mut page = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut page) {
                Ok(()) => print_bytes(&page),
                Err(e) => fatal(&anyhow::Error::new(e).context("could not make the man page")),
            }
        }
        Command::Clean(args) => match ogforge::build::clean(&args.site, &report) {
            Ok(removed) => {
                report.info(format!(
                    "removed {}",
                    plural(removed.len(), "unused card file")
                ));
                report.exit_status()
            }
            Err(e) => fatal(&e),
        },
    };
    ExitCode::from(status as u8)
}

/// The options `build`, `watch` and `serve` share; the one-shot ones stay off.
fn watch_options(args: &ogforge::cli::WatchArgs) -> BuildOptions {
    BuildOptions {
        site_dir: args.site.clone(),
        drafts: args.drafts,
        offline: args.offline,
        ..BuildOptions::default()
    }
}

/// Writes a generated file to stdout; a reader that went away (`| head`) is no error.
fn print_bytes(bytes: &[u8]) -> ExitStatus {
    use std::io::Write;
    match std::io::stdout().lock().write_all(bytes) {
        Ok(()) => ExitStatus::Success,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitStatus::Success,
        Err(e) => fatal(&anyhow::Error::new(e).context("could not write to stdout")),
    }
}

/// An error that stopped the command: its chain, then exit 2.
fn fatal(e: &anyhow::Error) -> ExitStatus {
    eprint_styled(&format!("error: {e:#}"));
    ExitStatus::BadInput
}
