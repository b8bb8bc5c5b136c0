//! ogforge's integration tests: one binary over fixture sites, driving the real program.

mod build;
mod cache;
mod cache_s3;
mod cards;
mod check;
mod color;
mod completions;
mod hostile;
mod incremental;
mod inject;
mod new;
mod og;
mod screenshots;
mod serve;
mod snapsharp;
mod summary;
mod support;
mod version;
mod watch;
