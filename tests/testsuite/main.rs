//! ogforge's integration tests: one binary over fixture sites, driving the real program.

mod build;
mod support;
