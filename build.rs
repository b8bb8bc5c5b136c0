//! Names the commit ogforge is built from, for `ogforge --version` and the first line of
//! `ogforge build -v`: `OGFORGE_VERSION` is "0.1.0 (1a2b3c4d5e6f 2026-11-28)".
//!
//! The commit comes from git when the package is built in its own checkout, else from the
//! `.cargo_vcs_info.json` that `cargo package` writes into a published package (no date
//! there); with neither, the version alone. A checkout of some other project that
//! happens to hold this package (vendored sources) is not asked.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    println!("cargo:rerun-if-changed=build.rs");

    let commit = from_git(&manifest_dir).or_else(|| from_vcs_info(&manifest_dir));
    let full = match commit {
        Some((hash, Some(date))) => format!("{version} ({hash} {date})"),
        Some((hash, None)) => format!("{version} ({hash})"),
        None => version,
    };
    println!("cargo:rustc-env=OGFORGE_VERSION={full}");
}

/// The short hash and date of HEAD, when `dir` is the top of a git work tree.
fn from_git(dir: &Path) -> Option<(String, Option<String>)> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    if Path::new(&top).canonicalize().ok()? != dir.canonicalize().ok()? {
        return None;
    }
    // Rebuild when HEAD moves: HEAD itself (a checkout), the branch it names (a commit),
    // and packed-refs (a branch packed away by git gc).
    let git_dir = PathBuf::from(git(dir, &["rev-parse", "--absolute-git-dir"])?);
    let common = git(dir, &["rev-parse", "--git-common-dir"]).map(|d| dir.join(d))?;
    watch(&git_dir.join("HEAD"));
    watch(&common.join("packed-refs"));
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        watch(&common.join(branch));
    }
    let line = git(dir, &["log", "-1", "--format=%h %cs", "--abbrev=12"])?;
    let (hash, date) = line.split_once(' ')?;
    Some((hash.to_string(), Some(date.to_string())))
}

/// The commit `cargo package` recorded, in a package built outside its checkout.
fn from_vcs_info(dir: &Path) -> Option<(String, Option<String>)> {
    let path = dir.join(".cargo_vcs_info.json");
    watch(&path);
    let text = std::fs::read_to_string(path).ok()?;
    // `"sha1": "<40 hex digits>"`; read by hand to keep the build script free of crates.
    let after = text.split_once("\"sha1\"")?.1;
    let hash: String = after
        .split('"')
        .nth(1)?
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    (hash.len() >= 12).then(|| (hash[..12].to_string(), None))
}

/// Runs this script again when `path` changes. Only for files that exist: cargo takes a
/// missing one as changed on every build, which would rebuild ogforge every time.
fn watch(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// One line of git's answer, or `None` when git is missing or says no.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let line = text.trim();
    (out.status.success() && !line.is_empty()).then(|| line.to_string())
}
