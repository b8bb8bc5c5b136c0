//! The no-op fast path: `.ogforge/stamp`.
//!
//! A build that finished without a single problem leaves a stamp: one hash over every
//! input it read (config, templates, content, static files, fonts, the options and the
//! binary that built it) and the size and modification time of every file it left in
//! the output folder. The next build hashes the inputs again (reading them is the floor no
//! no-op build can beat) and, when nothing differs and every output file is as it was
//! left, it is done: no theme, font, Markdown or manifest is loaded.
//!
//! Anything the stamp cannot vouch for sends the build down the full path: a missing or
//! unreadable stamp, a changed or added input, an output file touched, removed or
//! replaced. A build removes the stamp before it writes anything, so an interrupted build
//! never leaves one behind.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use rayon::prelude::*;

use crate::build::{BuildOptions, BuildSummary};
use crate::config::{CONFIG_FILE, Config};
use crate::fsutil::write_atomic;
use crate::manifest::CACHE_DIR;
use crate::render::RENDERER_VERSION;

const FILE: &str = "stamp";
const HEADER: &str = "ogforge stamp 1";

/// The stamp's path in a site.
pub fn path(site_dir: &Path) -> PathBuf {
    site_dir.join(CACHE_DIR).join(FILE)
}

/// Forgets the stamp: the outputs are about to change.
pub fn clear(site_dir: &Path) {
    let _ = std::fs::remove_file(path(site_dir));
}

/// The hash of a file's bytes, read in pieces: an input far larger than any post (which
/// the full build refuses to read) must not be held in memory whole just to hash it.
fn hash_file(path: &Path) -> Option<blake3::Hash> {
    let file = std::fs::File::open(path).ok()?;
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(file).ok()?;
    Some(hasher.finalize())
}

/// One hash of everything a build of `site_dir` reads and depends on, or `None` when an
/// input cannot be read (the full build will say why).
pub fn inputs(site_dir: &Path, config: &Config, options: &BuildOptions) -> Option<blake3::Hash> {
    let mut roots = vec![
        site_dir.join(CONFIG_FILE),
        site_dir.join("templates"),
        config.content_dir(site_dir),
        site_dir.join("static"),
    ];
    roots.extend(config.og.fonts.iter().map(|f| site_dir.join(f)));
    roots.extend(config.og.fallback_image.iter().map(|f| site_dir.join(f)));
    let mut files = Vec::new();
    for root in &roots {
        for entry in walkdir::WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name()
        {
            match entry {
                Ok(e) if e.file_type().is_file() => files.push(e.into_path()),
                Ok(_) => {}
                // An absent optional folder is an input too: "not there".
                Err(e) if e.depth() == 0 && e.io_error().is_some_and(is_not_found) => {}
                Err(_) => return None,
            }
        }
    }
    let hashes = files
        .par_iter()
        .map(|f| hash_file(f))
        .collect::<Option<Vec<_>>>()?;

    let mut h = blake3::Hasher::new();
    h.update(HEADER.as_bytes())
        .update(env!("CARGO_PKG_VERSION").as_bytes())
        .update(RENDERER_VERSION.as_bytes());
    // A rebuilt ogforge may draw or write differently at the same version.
    if let Some((len, mtime)) = std::env::current_exe()
        .ok()
        .and_then(|exe| std::fs::metadata(exe).ok())
        .and_then(|m| Some((m.len(), mtime_ns(&m)?)))
    {
        h.update(&len.to_le_bytes()).update(&mtime.to_le_bytes());
    }
    // What decides the backends: options, the key's presence (never its value), a browser.
    let key_set = std::env::var_os(&config.snapsharp.api_key_env).is_some_and(|k| !k.is_empty());
    let chromium = crate::screenshots::chromium::find();
    h.update(&[
        options.drafts as u8,
        options.offline as u8,
        key_set as u8,
        chromium.is_some() as u8,
    ]);
    for (file, hash) in files.iter().zip(&hashes) {
        let name = file.to_string_lossy();
        h.update(&(name.len() as u64).to_le_bytes())
            .update(name.as_bytes())
            .update(hash.as_bytes());
    }
    Some(h.finalize())
}

fn is_not_found(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::NotFound
}

fn mtime_ns(meta: &std::fs::Metadata) -> Option<u128> {
    Some(
        meta.modified()
            .ok()?
            .duration_since(UNIX_EPOCH)
            .ok()?
            .as_nanos(),
    )
}

/// Records a finished build: its inputs and the files it left in `out`.
pub fn record(
    site_dir: &Path,
    inputs: blake3::Hash,
    out: &Path,
    outputs: impl IntoIterator<Item = String>,
    summary: &BuildSummary,
) -> anyhow::Result<()> {
    let mut outputs: Vec<String> = outputs.into_iter().collect();
    outputs.sort();
    outputs.dedup();
    if outputs.iter().any(|o| o.contains('\n')) {
        return Ok(());
    }
    let stats = outputs
        .par_iter()
        .map(|o| {
            let meta = std::fs::metadata(out.join(o)).ok()?;
            Some((meta.len(), mtime_ns(&meta)?))
        })
        .collect::<Option<Vec<_>>>();
    // An output that vanished already: nothing to vouch for.
    let Some(stats) = stats else { return Ok(()) };
    let mut text = format!(
        "{HEADER}\ninputs {}\ncounts {} {} {} {} {} {} {}\n",
        inputs.to_hex(),
        summary.posts,
        summary.pages,
        summary.files_written + summary.files_unchanged,
        summary.cards_rendered + summary.cards_fresh + summary.cards_remote,
        summary.screenshots_made + summary.screenshots_fresh + summary.screenshots_remote,
        summary.screenshots_skipped,
        summary.leftovers,
    );
    for (o, (len, mtime)) in outputs.iter().zip(stats) {
        let _ = writeln!(text, "{len} {mtime} {o}");
    }
    write_atomic(&path(site_dir), text.as_bytes())
}

/// The summary of a build with nothing to do, when the stamp vouches for `inputs` and for
/// every output file in `out`.
pub fn check(site_dir: &Path, inputs: blake3::Hash, out: &Path) -> Option<BuildSummary> {
    let text = std::fs::read_to_string(path(site_dir)).ok()?;
    let mut lines = text.lines();
    if lines.next()? != HEADER {
        return None;
    }
    if lines.next()?.strip_prefix("inputs ")? != inputs.to_hex().as_str() {
        return None;
    }
    let counts: Vec<usize> = lines
        .next()?
        .strip_prefix("counts ")?
        .split(' ')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let [posts, pages, files, cards, shots, skipped, leftovers] = counts[..] else {
        return None;
    };
    let outputs: Vec<(u64, u128, &str)> = lines
        .map(|line| {
            let (len, rest) = line.split_once(' ')?;
            let (mtime, file) = rest.split_once(' ')?;
            Some((len.parse().ok()?, mtime.parse().ok()?, file))
        })
        .collect::<Option<_>>()?;
    let unchanged = outputs.par_iter().all(|(len, mtime, file)| {
        std::fs::metadata(out.join(file))
            .is_ok_and(|m| m.is_file() && m.len() == *len && mtime_ns(&m) == Some(*mtime))
    });
    unchanged.then(|| BuildSummary {
        posts,
        pages,
        files_unchanged: files,
        cards_fresh: cards,
        screenshots_fresh: shots,
        screenshots_skipped: skipped,
        leftovers,
        output_dir: out.to_path_buf(),
        ..BuildSummary::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_hash_in_pieces_as_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("post.md");
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(hash_file(&path), Some(blake3::hash(&bytes)));
        assert_eq!(hash_file(&dir.path().join("missing.md")), None);
    }
}
