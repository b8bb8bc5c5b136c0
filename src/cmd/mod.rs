//! The commands that have grown past a few lines in `main.rs`: each takes its parsed
//! arguments, makes one library call and prints what came back.

pub mod cache;
