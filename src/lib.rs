//! ogforge builds a Markdown blog into a website with Open Graph cards and meta tags.
//!
//! The pipeline runs one way:
//!
//! ```text
//! ogforge.toml ──> Config ─┐
//! content/**.md ──> scan ──┴─> Post (front matter + Markdown)
//!                                  │
//!                                  ▼
//!                   pages from templates (minijinja) ──> write (atomic, if changed)
//!                                  │
//!                                  ▼
//!                               Report (counts, problems) ──> exit code
//! ```
//!
//! Every problem with one input is recorded in the [`Report`] and the build goes on;
//! only a problem that makes the whole build meaningless (no config, broken theme)
//! is returned as an error.

pub mod assets;
pub mod backends;
pub mod build;
pub mod cards;
pub mod check;
pub mod cli;
pub mod config;
pub mod content;
pub mod fingerprint;
pub mod fsutil;
pub mod json;
pub mod manifest;
pub mod plan;
pub mod plugin;
pub mod progress;
pub mod remote_cache;
pub mod render;
pub mod report;
pub mod scaffold;
pub mod screenshots;
pub mod serve;
pub mod site;
pub mod stamp;
pub mod url;
pub mod watch;

pub use build::{BuildOptions, build};

/// The version and the commit this program was built from, as `ogforge --version` says
/// it: "0.1.0 (1a2b3c4d5e6f 2026-11-28)", or "0.1.0" when the commit is not known (see
/// the package's build script).
pub const VERSION: &str = env!("OGFORGE_VERSION");
pub use config::Config;
pub use report::{ExitStatus, Problem, Report, Verbosity};
