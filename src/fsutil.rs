//! Writing outputs: atomically, and only when the bytes change.
//!
//! Every file ogforge writes goes through [`write_if_changed`]: a temporary file in the
//! same folder, then a rename, so a build killed at any moment leaves either the old
//! file or the new one, never a torn one; and an unchanged file keeps its modification
//! time, so a no-op build writes nothing.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result};

/// Temporary files start with this; a killed build may leave some behind.
pub const TEMP_PREFIX: &str = ".ogforge-tmp-";

/// Whether a write changed the file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Changed,
    Unchanged,
}

/// Why [`read_limited`] gave no bytes.
#[derive(Debug)]
pub enum LimitedReadError {
    /// The file holds more than the limit; at least this many bytes.
    TooLarge(u64),
    Io(std::io::Error),
}

/// Reads a whole file of at most `limit` bytes. A larger file is refused from its size
/// before anything is read, and one that grows while it is read is cut off one byte past
/// the limit, so memory use stays bounded either way.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, LimitedReadError> {
    let file = fs::File::open(path).map_err(LimitedReadError::Io)?;
    let size = file.metadata().map_err(LimitedReadError::Io)?.len();
    if size > limit {
        return Err(LimitedReadError::TooLarge(size));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(LimitedReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(LimitedReadError::TooLarge(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Writes `bytes` to `path` unless it already holds exactly them.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<Written> {
    if same_contents(path, bytes) {
        return Ok(Written::Unchanged);
    }
    write_atomic(path, bytes)?;
    Ok(Written::Changed)
}

/// Writes `bytes` to a temporary file beside `path` and renames it over `path`: a build
/// killed at any moment leaves the old file or the new one, never a torn one.
///
/// The data is not synced to the disk first: that made every file wait for the device
/// (~0.8 ms here, 16 s of a 10,000-post build) and guards only against the machine losing
/// power. After such a loss a file may come back empty; an empty card or screenshot is
/// not taken as made (see [`has_content`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)
        .with_context(|| format!("could not create folder {}", dir.display()))?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX);
    // A temporary file is private (0600) by default; an output is published, so it gets
    // the mode any new file gets here (0666 less the umask), as `fs::write` would give.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder
        .tempfile_in(dir)
        .with_context(|| format!("could not create a temporary file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("could not write {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("could not write {}", path.display()))?;
    Ok(())
}

/// Whether `path` is a file with something in it: what a finished output looks like.
pub fn has_content(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() > 0)
}

/// Copies `from` to `to` unless `to` already holds the same bytes.
pub fn copy_if_changed(from: &Path, to: &Path) -> Result<Written> {
    let bytes = fs::read(from).with_context(|| format!("could not read {}", from.display()))?;
    write_if_changed(to, &bytes)
}

fn same_contents(path: &Path, bytes: &[u8]) -> bool {
    match fs::metadata(path) {
        Ok(meta) if meta.len() == bytes.len() as u64 => {
            fs::read(path).map(|old| old == bytes).unwrap_or(false)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_bytes_are_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/page.html");
        assert_eq!(write_if_changed(&path, b"one").unwrap(), Written::Changed);
        assert_eq!(write_if_changed(&path, b"one").unwrap(), Written::Unchanged);
        assert_eq!(write_if_changed(&path, b"two").unwrap(), Written::Changed);
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    /// A web server running as another user must be able to read what a build wrote.
    #[cfg(unix)]
    #[test]
    fn outputs_get_the_mode_of_any_new_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.html");
        fs::write(&plain, b"x").unwrap();
        let written = dir.path().join("page.html");
        write_atomic(&written, b"x").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&written), mode(&plain));
    }

    #[test]
    fn reads_stop_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("post.md");
        fs::write(&path, b"12345").unwrap();
        assert_eq!(read_limited(&path, 5).unwrap(), b"12345");
        assert!(matches!(
            read_limited(&path, 4),
            Err(LimitedReadError::TooLarge(5))
        ));
        assert!(matches!(
            read_limited(&dir.path().join("missing.md"), 5),
            Err(LimitedReadError::Io(_))
        ));
    }

    /// A file whose size says 0 but that never ends stands for one that grows while it
    /// is read.
    #[cfg(unix)]
    #[test]
    fn a_file_that_grows_while_read_is_cut_off() {
        assert!(matches!(
            read_limited(Path::new("/dev/zero"), 1000),
            Err(LimitedReadError::TooLarge(1001))
        ));
    }
}
