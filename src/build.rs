//! `ogforge build`: the pipeline from a site folder to a website, in one call.

use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rayon::prelude::*;

use crate::cards;
use crate::config::Config;
use crate::content;
use crate::fsutil::{Written, copy_if_changed, write_if_changed};
use crate::render::fonts::FontSet;
use crate::render::local::LocalBackend;
use crate::report::{Problem, ProblemKind, Report, display_path};
use crate::site::RenderedPage;
use crate::site::inject::{MetaTags, OgImage, inject_meta};
use crate::site::{self, Theme, templates::BUILT_IN_STATIC};

/// What the user asked of this build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub site_dir: PathBuf,
    /// Build posts marked `draft: true` too.
    pub drafts: bool,
}

/// What a build did, for the summary line and for tests.
#[derive(Debug, Clone, Default)]
pub struct BuildSummary {
    pub posts: usize,
    pub pages: usize,
    /// Files whose bytes changed on disk (pages, copied files).
    pub files_written: usize,
    pub files_unchanged: usize,
    pub cards_rendered: usize,
    /// Cards whose file was already there.
    pub cards_reused: usize,
    pub output_dir: PathBuf,
    pub elapsed: Duration,
}

impl BuildSummary {
    /// The closing line: what was built, where, how long it took, what went wrong.
    pub fn to_line(&self, report: &Report) -> String {
        let errors = report.count(ProblemKind::Input) + report.count(ProblemKind::Asset);
        let mut line = format!(
            "built {} pages ({} posts) into {} in {:.2}s; {} cards drawn, {} up to date; {} files written, {} unchanged",
            self.pages,
            self.posts,
            self.output_dir.display(),
            self.elapsed.as_secs_f64(),
            self.cards_rendered,
            self.cards_reused,
            self.files_written,
            self.files_unchanged,
        );
        if errors > 0 {
            line.push_str(&format!(
                "
{errors} error{} above",
                if errors == 1 { "" } else { "s" }
            ));
        }
        line
    }
}

/// Builds the site. Problems with single inputs go to `report`; an `Err` means nothing
/// useful could be built (no config, a broken theme, an unwritable output folder).
pub fn build(options: &BuildOptions, report: &Report) -> Result<BuildSummary> {
    let started = Instant::now();
    let site_dir = &options.site_dir;
    let config = Config::load(site_dir)?;
    let theme = Theme::load(site_dir, &site_dir.join("templates"))?;
    let content_dir = config.content_dir(site_dir);
    if !content_dir.is_dir() {
        bail!(
            "no content folder at {}\n  hint: put your Markdown posts there, or set `site.content_dir` in {}",
            content_dir.display(),
            crate::config::CONFIG_FILE
        );
    }
    let fonts = load_fonts(&config, site_dir)?;
    let backend = LocalBackend::new(
        site_dir,
        &site_dir.join("templates").join("og"),
        fonts.clone(),
    )?;
    let content = content::load(site_dir, &content_dir, options.drafts, report);
    let out = config.output_dir(site_dir);
    let out = out.strip_prefix(".").map(Path::to_path_buf).unwrap_or(out);

    let cards = cards::run(
        &config,
        site_dir,
        &out,
        &content,
        &backend,
        Some(&fonts),
        report,
    );
    let fallback = cards::fallback_image(&config, site_dir, &out, report);
    let (pages, problems) = site::render_all(&config, &theme, &content);
    for problem in problems {
        report.problem(problem);
    }

    let mut files: Vec<Output> = Vec::new();
    for (name, bytes) in BUILT_IN_STATIC {
        files.push(Output::bytes(name, bytes.to_vec()));
    }
    for page in &pages {
        report.verbose(format!("page {}", page.output));
        let image = cards
            .images
            .get(page.meta.path.as_str())
            .or(fallback.as_ref());
        let tags = meta_tags(&config, page, image.cloned());
        match inject_meta(page.html.as_bytes(), &tags) {
            Ok(html) => files.push(Output::bytes(&page.output, html)),
            Err(e) => report.problem(Problem::input(
                page.source
                    .clone()
                    .unwrap_or_else(|| page.output.clone().into()),
                format!("could not add meta tags to {}: {e}", page.output),
            )),
        }
    }
    let assets = content
        .posts
        .iter()
        .flat_map(|p| &p.assets)
        .chain(&content.assets);
    for asset in assets {
        files.push(Output::copy(&asset.output, asset.source.clone()));
    }
    // `static/` last, so a site's own `style.css` wins over the built-in one.
    files.extend(static_files(site_dir, &site_dir.join("static"), report));

    let results: Vec<(String, Result<Written>)> = files
        .into_par_iter()
        .map(|file| {
            let result = write_output(&out, &file);
            (file.output, result)
        })
        .collect();
    let mut summary = BuildSummary {
        posts: content.posts.len(),
        pages: pages.len(),
        cards_rendered: cards.rendered,
        cards_reused: cards.reused,
        output_dir: out.clone(),
        ..BuildSummary::default()
    };
    for (output, result) in results {
        match result {
            Ok(Written::Changed) => summary.files_written += 1,
            Ok(Written::Unchanged) => summary.files_unchanged += 1,
            Err(e) => report.problem(Problem::input(
                display_path(site_dir, &out.join(&output)),
                format!("{e:#}"),
            )),
        }
    }
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// The shipped fonts, plus the site's `[og] fonts` when it has any.
fn load_fonts(config: &Config, site_dir: &Path) -> Result<Arc<FontSet>> {
    if config.og.fonts.is_empty() {
        return Ok(FontSet::built_in());
    }
    let paths: Vec<PathBuf> = config.og.fonts.iter().map(|f| site_dir.join(f)).collect();
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    Ok(Arc::new(
        FontSet::load(&refs).context("in `[og] fonts` of ogforge.toml")?,
    ))
}

/// The meta tags of one page: its own title and description, the site's name, and the
/// picture chosen for it.
fn meta_tags(config: &Config, page: &RenderedPage, image: Option<OgImage>) -> MetaTags {
    MetaTags {
        title: page
            .meta
            .og_title
            .clone()
            .unwrap_or_else(|| page.meta.title.clone()),
        description: page.meta.description.clone(),
        url: page.meta.url.clone(),
        og_type: page.meta.og_type.to_string(),
        site_name: Some(config.site.title.clone()),
        image,
    }
}

/// A file for the output folder: bytes made here, or a file copied as it is.
struct Output {
    output: String,
    content: OutputContent,
}

enum OutputContent {
    Bytes(Vec<u8>),
    Copy(PathBuf),
}

impl Output {
    fn bytes(output: &str, bytes: Vec<u8>) -> Output {
        Output {
            output: output.to_string(),
            content: OutputContent::Bytes(bytes),
        }
    }

    fn copy(output: &str, from: PathBuf) -> Output {
        Output {
            output: output.to_string(),
            content: OutputContent::Copy(from),
        }
    }
}

fn write_output(out: &Path, file: &Output) -> Result<Written> {
    let path = inside(out, &file.output)?;
    match &file.content {
        OutputContent::Bytes(bytes) => write_if_changed(&path, bytes),
        OutputContent::Copy(from) => copy_if_changed(from, &path),
    }
}

/// `out` joined with a `/`-separated relative path, refusing anything that would climb
/// out of it. Slugs are checked where they are made; this is the last guard.
fn inside(out: &Path, rel: &str) -> Result<PathBuf> {
    let rel_path = Path::new(rel);
    if rel.contains('\\')
        || !rel_path
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
    {
        bail!("refusing to write `{rel}`: it is not a plain path inside the output folder");
    }
    Ok(out.join(rel_path))
}

fn static_files(site_dir: &Path, static_dir: &Path, report: &Report) -> Vec<Output> {
    if !static_dir.is_dir() {
        return Vec::new();
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(static_dir)
        .follow_links(true)
        .sort_by_file_name()
    {
        match entry {
            Ok(e) if e.file_type().is_file() => {
                let rel = e.path().strip_prefix(static_dir).unwrap_or(e.path());
                let output = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                files.push(Output::copy(&output, e.path().to_path_buf()));
            }
            Ok(_) => {}
            Err(e) => {
                let path = e.path().unwrap_or(static_dir);
                report.problem(Problem::input(
                    display_path(site_dir, path),
                    format!("could not read: {e}"),
                ));
            }
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_cannot_climb_out() {
        let out = Path::new("/site/public");
        assert_eq!(
            inside(out, "posts/a/index.html").unwrap(),
            out.join("posts/a/index.html")
        );
        for bad in ["../x", "/etc/passwd", "a/../../b", "a\\..\\b", ""] {
            assert!(inside(out, bad).is_err() || bad.is_empty(), "{bad}");
        }
    }
}
