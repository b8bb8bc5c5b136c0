//! The content folder: find every Markdown file, read its front matter, render its body.
//!
//! Layouts follow Hugo and Zola: `posts/hello.md` is the page `/posts/hello/`;
//! `posts/trip/index.md` is a page bundle, the page `/posts/trip/` with every other file
//! of its folder copied beside it; `posts/_index.md` is the section page `/posts/`.
//! Other files are copied to the same place in the output.
//!
//! A post that cannot be read is reported with its file and line and left out; the rest
//! are still built.

pub mod date;
pub mod frontmatter;
pub mod markdown;
pub mod shape;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::config::ByteSize;
use crate::fsutil::{LimitedReadError, read_limited};
use crate::report::{Problem, Report, display_path};
use crate::url::{check_slug, slugify};
use date::Date;
use frontmatter::{FrontMatter, FrontMatterError};

/// Whether a page is a post or a section's own page (`_index.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    Post,
    Section,
}

/// One Markdown page, read and rendered.
#[derive(Debug, Clone)]
pub struct Post {
    pub kind: PageKind,
    /// The source file relative to the site folder, as messages name it.
    pub source: PathBuf,
    /// Hash of the source's bytes; the fingerprint of the page starts here. (The text
    /// itself is not kept: ten thousand posts would hold it all for the whole build.)
    pub source_hash: blake3::Hash,
    /// The file line of the front matter's `screenshot` key, for messages about it.
    pub screenshot_line: Option<usize>,
    /// URL path of the section the page is in (`posts`), empty at the top.
    pub section: String,
    pub slug: String,
    /// URL path of the page, `/posts/hello/`.
    pub path: String,
    pub title: String,
    /// From the front matter, else the excerpt.
    pub description: String,
    pub date: Option<Date>,
    pub front: FrontMatter,
    /// The source file as it was read (`source` is how messages name it).
    pub file: PathBuf,
    pub excerpt: String,
    /// Files of a page bundle, copied beside the page.
    pub assets: Vec<Asset>,
}

/// A file copied from the content folder into the output as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    pub source: PathBuf,
    /// Path inside the output folder, `/`-separated, no leading `/`.
    pub output: String,
}

/// Everything the content folder holds.
#[derive(Debug, Default)]
pub struct Content {
    /// Posts, newest first (undated last, then by title).
    pub posts: Vec<Post>,
    /// Section pages (`_index.md`), by path.
    pub sections: Vec<Post>,
    /// Files outside page bundles.
    pub assets: Vec<Asset>,
}

/// A Markdown file found by the walk, before it is read.
struct Source {
    path: PathBuf,
    kind: PageKind,
    /// URL path of the folder the page belongs to.
    dir_url: String,
    /// The name the slug and a missing date come from (file stem or bundle folder).
    name: String,
    /// For a bundle's `index.md`: its folder and the other files in it (source, path
    /// inside the bundle).
    bundle: Option<(PathBuf, Vec<(PathBuf, String)>)>,
}

impl Post {
    /// The body as HTML, read again (under the size limit it was loaded with) and rendered
    /// from the source file: loading keeps only what list pages and cards need.
    pub fn body_html(&self, max_size: ByteSize) -> Result<String, String> {
        let again = |e: &dyn std::fmt::Display| format!("could not read it again: {e}");
        let bytes = read_post(&self.file, &self.source, max_size).map_err(|p| again(&p.message))?;
        let text = String::from_utf8(bytes).map_err(|e| again(&e))?;
        let text = normalize(&text);
        let split = frontmatter::split(&text).map_err(|e| again(&e.message))?;
        Ok(markdown::to_html(split.body))
    }
}

/// A file's name without its extension, as a post's name (and date prefix) is read.
fn stem(path: &Path) -> String {
    path.file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// A source's text without its byte-order mark, with `\n` line ends.
fn normalize(text: &str) -> String {
    text.strip_prefix('\u{feff}')
        .unwrap_or(text)
        .replace("\r\n", "\n")
}

/// Reads the whole content folder. Problems with single files go to `report`; a post
/// file over `max_post_size` is one of them.
pub fn load(
    site_dir: &Path,
    content_dir: &Path,
    drafts: bool,
    max_post_size: ByteSize,
    report: &Report,
) -> Content {
    let (sources, assets) = walk(site_dir, content_dir, report);
    let mut pages: Vec<Post> = sources
        .par_iter()
        .filter_map(|source| match read_page(site_dir, source, max_post_size) {
            Ok(post) => Some(post),
            Err(problem) => {
                report.problem(problem);
                None
            }
        })
        .collect();

    pages.retain(|p| {
        if p.front.draft && !drafts {
            report.verbose(format!("skip {} (draft)", p.source.display()));
            false
        } else {
            true
        }
    });

    // Two files must not claim one URL: the second is reported, the first kept.
    let mut claimed: BTreeMap<String, PathBuf> = BTreeMap::new();
    pages.retain(|p| match claimed.get(&p.path) {
        Some(first) => {
            report.problem(
                Problem::input(
                    &p.source,
                    format!("has the same URL `{}` as {}", p.path, first.display()),
                )
                .with_hint("give one of them another `slug`"),
            );
            false
        }
        None => {
            claimed.insert(p.path.clone(), p.source.clone());
            true
        }
    });

    let (mut posts, mut sections): (Vec<Post>, Vec<Post>) =
        pages.into_iter().partition(|p| p.kind == PageKind::Post);
    posts.sort_by(|a, b| b.date.cmp(&a.date).then_with(|| a.title.cmp(&b.title)));
    sections.sort_by(|a, b| a.path.cmp(&b.path));
    Content {
        posts,
        sections,
        assets,
    }
}

/// Finds Markdown sources and the files to copy; hidden files and editor backups are
/// skipped, and so is everything under the output folder should it sit inside.
fn walk(site_dir: &Path, content_dir: &Path, report: &Report) -> (Vec<Source>, Vec<Asset>) {
    let mut sources: Vec<Source> = Vec::new();
    let mut assets = Vec::new();
    // Bundle folders seen so far, with their index in `sources`; the walk is depth
    // first and `index.md` sorts before its siblings' subfolders, mostly: a bundle's
    // files are matched by folder prefix, so order within the folder does not matter.
    let mut bundles: Vec<(PathBuf, usize)> = Vec::new();
    let mut bundle_files: Vec<(PathBuf, PathBuf)> = Vec::new();
    let walker = walkdir::WalkDir::new(content_dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !is_ignored(&e.file_name().to_string_lossy()));
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e
                    .path()
                    .map_or_else(|| content_dir.to_path_buf(), Path::to_path_buf);
                let hint = if e.loop_ancestor().is_some() {
                    "a symbolic link points to a folder that contains it; remove the link"
                } else {
                    "check that the file exists and can be read"
                };
                report.problem(
                    Problem::input(
                        display_path(site_dir, &path),
                        format!("could not read: {e}"),
                    )
                    .with_hint(hint),
                );
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.path().to_path_buf();
        let rel = path.strip_prefix(content_dir).unwrap_or(&path);
        let rel_dir = rel.parent().unwrap_or(Path::new(""));
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if !is_markdown(&path) {
            bundle_files.push((path.clone(), rel.to_path_buf()));
            continue;
        }
        let source = match file_name.as_str() {
            "_index.md" => Source {
                kind: PageKind::Section,
                dir_url: dir_url(rel_dir),
                name: String::new(),
                bundle: None,
                path,
            },
            "index.md" if !rel_dir.as_os_str().is_empty() => {
                let folder = path.parent().unwrap_or(content_dir).to_path_buf();
                bundles.push((folder.clone(), sources.len()));
                Source {
                    kind: PageKind::Post,
                    dir_url: dir_url(rel_dir.parent().unwrap_or(Path::new(""))),
                    name: rel_dir
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned(),
                    bundle: Some((folder, Vec::new())),
                    path,
                }
            }
            _ => Source {
                kind: PageKind::Post,
                dir_url: dir_url(rel_dir),
                name: stem(&path),
                bundle: None,
                path,
            },
        };
        sources.push(source);
    }

    // A Markdown file inside a bundle is part of the bundle, not a page of its own.
    let bundle_of = |path: &Path| {
        bundles
            .iter()
            .filter(|(dir, _)| path.starts_with(dir))
            .max_by_key(|(dir, _)| dir.as_os_str().len())
            .map(|&(_, i)| i)
    };
    let mut keep = vec![true; sources.len()];
    for (i, source) in sources.iter().enumerate() {
        if let Some(b) = bundle_of(&source.path).filter(|&b| b != i) {
            keep[i] = false;
            report.problem(
                Problem::warning(
                    display_path(site_dir, &source.path),
                    "is inside a page bundle, so it is not a page",
                )
                .with_hint(format!(
                    "only the bundle's {} is a page; move this file out of that folder to publish it",
                    display_path(site_dir, &sources[b].path).display()
                )),
            );
        }
    }
    for (path, rel) in bundle_files {
        match bundle_of(&path) {
            Some(b) => {
                let (dir, files) = sources[b].bundle.as_mut().expect("bundles have a folder");
                let inner = to_url(path.strip_prefix(&*dir).unwrap_or(&path));
                files.push((path, inner));
            }
            None => {
                let rel_dir = rel.parent().unwrap_or(Path::new(""));
                let name = rel.file_name().unwrap_or_default().to_string_lossy();
                assets.push(Asset {
                    output: join_url(&dir_url(rel_dir), &name),
                    source: path,
                });
            }
        }
    }
    let mut keep = keep.into_iter();
    sources.retain(|_| keep.next().unwrap_or(true));
    (sources, assets)
}

fn is_markdown(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("md") || e.eq_ignore_ascii_case("markdown"))
}

/// Hidden files, editors' backups and swap files are never content.
fn is_ignored(name: &str) -> bool {
    name.starts_with('.')
        || name.ends_with('~')
        || (name.starts_with('#') && name.ends_with('#'))
        || name.ends_with(".swp")
        || name.ends_with(".tmp")
}

/// The URL path of a content subfolder: each part slugified, `/`-joined.
fn dir_url(rel_dir: &Path) -> String {
    rel_dir
        .components()
        .map(|c| {
            let raw = c.as_os_str().to_string_lossy();
            match slugify(&raw) {
                s if s.is_empty() => raw.into_owned(),
                s => s,
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn to_url(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn join_url(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// The bytes of a post file of at most `max_size`; the one place posts are read, so the
/// limit holds for `build`, `watch`, `serve` and `inject --content` alike.
pub fn read_post(path: &Path, shown: &Path, max_size: ByteSize) -> Result<Vec<u8>, Problem> {
    read_limited(path, max_size.0).map_err(|e| match e {
        LimitedReadError::TooLarge(size) => Problem::input(
            shown,
            format!("post is {}, over the {max_size} limit", ByteSize(size)),
        )
        .with_hint(format!(
            "split the post, or raise `max_post_size` under [site] in {}",
            crate::config::CONFIG_FILE
        )),
        LimitedReadError::Io(e) => Problem::input(shown, format!("could not read: {e}")),
    })
}

/// Reads, splits, parses and renders one source.
fn read_page(site_dir: &Path, source: &Source, max_size: ByteSize) -> Result<Post, Problem> {
    let shown = display_path(site_dir, &source.path);
    let bytes = read_post(&source.path, &shown, max_size)?;
    page_from_bytes(shown, source, bytes)
}

/// Reads a post from its bytes as if it were the file `content/<file_name>`: what the
/// build does with every post once the file is read. Public for the fuzz targets.
pub fn post_from_bytes(file_name: &str, bytes: Vec<u8>) -> Result<Post, Problem> {
    let path = PathBuf::from("content").join(file_name);
    let source = Source {
        kind: PageKind::Post,
        dir_url: String::new(),
        name: stem(&path),
        bundle: None,
        path: path.clone(),
    };
    page_from_bytes(path, &source, bytes)
}

/// Splits, parses and renders the bytes of `source`; `shown` names it in problems.
fn page_from_bytes(shown: PathBuf, source: &Source, bytes: Vec<u8>) -> Result<Post, Problem> {
    let problem = |e: FrontMatterError| {
        let p = Problem::input(&shown, e.message).at_line(e.line);
        match e.hint {
            Some(hint) => p.with_hint(hint),
            None => p,
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..valid]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            return Err(Problem::input(&shown, "is not UTF-8 text")
                .at_line(Some(line))
                .with_hint("save the file as UTF-8 in your editor"));
        }
    };
    let normalized = normalize(&text);
    let split = frontmatter::split(&normalized).map_err(problem)?;
    let front = frontmatter::parse(&split).map_err(problem)?;
    let screenshot_line = frontmatter::find_key_line(&split, "screenshot");

    let name_date = Date::parse_prefix(&source.name);
    let name = match &name_date {
        Some(_) => source.name[10..].trim_start_matches(['-', '_']),
        None => source.name.as_str(),
    };
    let (slug, path) = match source.kind {
        PageKind::Section => {
            let slug = source.dir_url.rsplit('/').next().unwrap_or("").to_string();
            let path = if source.dir_url.is_empty() {
                "/".to_string()
            } else {
                format!("/{}/", source.dir_url)
            };
            (slug, path)
        }
        PageKind::Post => {
            let slug = match &front.slug {
                Some(slug) => {
                    check_slug(slug).map_err(|e| {
                        Problem::input(&shown, e)
                            .at_line(frontmatter::find_key_line(&split, "slug"))
                            .with_hint("a slug is one path segment such as `my-first-post`")
                    })?;
                    slug.clone()
                }
                None => slugify(name),
            };
            if slug.is_empty() {
                return Err(Problem::input(
                    &shown,
                    format!("cannot make a URL slug from the name `{}`", source.name),
                )
                .with_hint("add `slug: some-name` to the front matter"));
            }
            let path = format!("/{}/", join_url(&source.dir_url, &slug));
            (slug, path)
        }
    };

    let title = match (&front.title, source.kind) {
        (Some(t), _) if !t.trim().is_empty() => t.trim().to_string(),
        (_, PageKind::Section) if !slug.is_empty() => slug.clone(),
        (_, PageKind::Section) => String::new(),
        (_, PageKind::Post) => {
            return Err(Problem::input(&shown, "has no title")
                .at_line(Some(split.matter_line.saturating_sub(1).max(1)))
                .with_hint(
                    "add `title: ...` (YAML) or `title = \"...\"` (TOML) to the front matter",
                ));
        }
    };
    // The body's HTML is made when its page is rendered (see `Post::body_html`); a site
    // of ten thousand posts would otherwise hold all of it for the whole build.
    let excerpt = markdown::excerpt_of(split.body);
    let description = front
        .description
        .clone()
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| excerpt.clone());
    let date = front.date.clone().or(name_date);
    let page_dir = path.trim_matches('/').to_string();
    let assets = source
        .bundle
        .iter()
        .flat_map(|(_, files)| files)
        .map(|(from, inner)| Asset {
            source: from.clone(),
            output: join_url(&page_dir, inner),
        })
        .collect();
    Ok(Post {
        kind: source.kind,
        source: shown,
        section: source.dir_url.clone(),
        slug,
        path,
        title,
        description,
        date,
        file: source.path.clone(),
        excerpt,
        assets,
        front,
        source_hash: blake3::hash(text.as_bytes()),
        screenshot_line,
    })
}
