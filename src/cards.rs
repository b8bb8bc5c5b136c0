//! The card step of a build: decide each post's card, draw the ones not on disk yet,
//! and say which picture every page's meta tags point to.
//!
//! Card files are content-addressed (`og/<slug>.<hash12>.png`, the hash covering every
//! input of the card), so a card whose file exists is up to date, identical cards are
//! drawn once, and social networks, which cache by URL, see a new URL for a new picture.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::{Map, Value, json};

use crate::config::Config;
use crate::content::{Content, PageKind, Post};
use crate::fsutil::write_atomic;
use crate::render::{Backend, CardRequest, RenderError, card_file, card_hash};
use crate::report::{Problem, ProblemKind, Report};
use crate::site::inject::OgImage;
use crate::url::absolute;

/// What the card step did.
#[derive(Debug, Default)]
pub struct CardOutcome {
    /// The picture of each post, by page path (`/posts/a/`).
    pub images: HashMap<String, OgImage>,
    pub rendered: usize,
    pub reused: usize,
    pub failed: usize,
}

/// One card to draw, and the posts that show it.
struct Planned<'a> {
    request: CardRequest,
    file: String,
    posts: Vec<&'a Post>,
}

/// Makes sure every post has its card (or its own `og.image`) and returns them.
pub fn run(
    config: &Config,
    site_dir: &Path,
    out: &Path,
    content: &Content,
    backend: &dyn Backend,
    fonts: Option<&crate::render::fonts::FontSet>,
    report: &Report,
) -> CardOutcome {
    let mut outcome = CardOutcome::default();
    let mut planned: Vec<Planned<'_>> = Vec::new();
    let mut by_hash: HashMap<blake3::Hash, usize> = HashMap::new();
    for post in content.posts.iter().filter(|p| p.kind == PageKind::Post) {
        if let Some(image) = &post.front.og.image {
            let og = own_image(config, site_dir, out, post, image, report);
            outcome.images.insert(post.path.clone(), og);
            continue;
        }
        let request = card_request(config, post);
        if let Some(fonts) = fonts {
            warn_missing_glyphs(fonts, post, &request, report);
        }
        let hash = match card_hash(backend, &request) {
            Ok(h) => h,
            Err(e) => {
                report.problem(Problem::input(&post.source, e).with_hint(format!(
                    "add templates/og/{}.svg, or set `og.template` to an existing one",
                    request.template
                )));
                continue;
            }
        };
        match by_hash.get(&hash) {
            Some(&i) => planned[i].posts.push(post),
            None => {
                by_hash.insert(hash, planned.len());
                planned.push(Planned {
                    file: card_file(&post.slug, &hash, request.format),
                    request,
                    posts: vec![post],
                });
            }
        }
    }

    let results: Vec<(usize, Result<bool, RenderError>)> = planned
        .par_iter()
        .enumerate()
        .map(|(i, card)| {
            let path = out.join(&card.file);
            if path.is_file() {
                return (i, Ok(false));
            }
            let result = backend
                .render(&card.request)
                .and_then(|bytes| {
                    write_atomic(&path, &bytes)
                        .map_err(|e| RenderError::transient(format!("{e:#}")))
                })
                .map(|()| true);
            (i, result)
        })
        .collect();

    for (i, result) in results {
        let card = &planned[i];
        match result {
            Ok(rendered) => {
                if rendered {
                    outcome.rendered += 1;
                    report.verbose(format!(
                        "card {} ({})",
                        card.file,
                        card.posts[0].source.display()
                    ));
                } else {
                    outcome.reused += 1;
                }
                for post in &card.posts {
                    outcome
                        .images
                        .insert(post.path.clone(), card_image(config, &card.file, post));
                }
            }
            Err(e) => {
                outcome.failed += 1;
                for post in &card.posts {
                    report.problem(Problem {
                        kind: ProblemKind::Asset,
                        ..Problem::input(&post.source, format!("its card could not be drawn: {e}"))
                    });
                }
            }
        }
    }
    outcome
}

/// The variables a card template sees for `post`: only what a card shows, so that two
/// posts whose cards would look the same share one file (no URL or slug here).
pub fn card_variables(config: &Config, post: &Post) -> Map<String, Value> {
    let title = post
        .front
        .og
        .title
        .clone()
        .unwrap_or_else(|| post.title.clone());
    let vars = json!({
        "site_title": config.site.title,
        "title": title,
        "description": post.description,
        "author": post.front.authors.join(", "),
        "authors": post.front.authors,
        "date": post.date.as_ref().map(|d| d.long()),
        "date_iso": post.date.as_ref().map(|d| d.to_string()),
        "tags": post.front.tags,
        "tag": post.front.tags.first(),
        "extra": post.front.extra,
    });
    match vars {
        Value::Object(map) => map,
        _ => unreachable!("json! of an object literal is an object"),
    }
}

fn card_request(config: &Config, post: &Post) -> CardRequest {
    CardRequest {
        template: post
            .front
            .og
            .template
            .clone()
            .unwrap_or_else(|| config.og.template.clone()),
        variables: card_variables(config, post),
        width: config.og.width,
        height: config.og.height,
        format: config.og.format,
    }
}

fn card_image(config: &Config, file: &str, post: &Post) -> OgImage {
    OgImage {
        url: absolute(&config.site.base_url, file),
        width: Some(config.og.width),
        height: Some(config.og.height),
        mime_type: Some(config.og.format.mime_type().to_string()),
        alt: alt_text(post),
    }
}

fn alt_text(post: &Post) -> String {
    post.front
        .og
        .alt
        .clone()
        .or_else(|| post.front.og.title.clone())
        .unwrap_or_else(|| post.title.clone())
}

/// A post's own `og.image`: a URL, a path under the site (`/images/x.png`), or a path
/// beside the post (a page bundle's picture). Its size is read when the file is here.
fn own_image(
    config: &Config,
    site_dir: &Path,
    out: &Path,
    post: &Post,
    image: &str,
    report: &Report,
) -> OgImage {
    let (url, local) = resolve_image(config, site_dir, out, image, Some(post));
    if local.is_none() && !image.starts_with("http://") && !image.starts_with("https://") {
        report.problem(
            Problem::warning(&post.source, format!("`og.image` `{image}` is not a file of the site"))
                .with_hint("give a URL, a path under static/ such as /images/card.png, or a file beside the post"),
        );
    }
    image_at(url, local.as_deref(), alt_text(post))
}

/// The site-wide `[og] fallback_image`, for pages with no card of their own.
pub fn fallback_image(
    config: &Config,
    site_dir: &Path,
    out: &Path,
    report: &Report,
) -> Option<OgImage> {
    let image = config.og.fallback_image.as_deref()?;
    let (url, local) = resolve_image(config, site_dir, out, image, None);
    if local.is_none() && !image.starts_with("http://") && !image.starts_with("https://") {
        report.problem(
            Problem::warning(
                crate::config::CONFIG_FILE,
                format!("`og.fallback_image` `{image}` is not a file of the site"),
            )
            .with_hint(
                "put the picture in static/ and give its path, such as \"/images/card.png\"",
            ),
        );
    }
    Some(image_at(url, local.as_deref(), config.site.title.clone()))
}

/// The absolute URL of `image` and, when it is a file of the site, where it is now.
fn resolve_image(
    config: &Config,
    site_dir: &Path,
    out: &Path,
    image: &str,
    post: Option<&Post>,
) -> (String, Option<PathBuf>) {
    if image.starts_with("http://") || image.starts_with("https://") {
        return (image.to_string(), None);
    }
    let rel = image.trim_start_matches('/');
    if rel.split('/').any(|c| c == "..") {
        return (absolute(&config.site.base_url, image), None);
    }
    match post {
        Some(post) if !image.starts_with('/') => {
            let source_dir = site_dir.join(&post.source).parent().map(Path::to_path_buf);
            let local = source_dir.map(|d| d.join(rel)).filter(|p| p.is_file());
            (
                absolute(&config.site.base_url, &format!("{}{rel}", post.path)),
                local,
            )
        }
        _ => {
            let local = [site_dir.join("static").join(rel), out.join(rel)]
                .into_iter()
                .find(|p| p.is_file());
            (absolute(&config.site.base_url, &format!("/{rel}")), local)
        }
    }
}

fn image_at(url: String, local: Option<&Path>, alt: String) -> OgImage {
    let size = local.and_then(|p| imagesize::size(p).ok());
    let mime = url
        .rsplit('.')
        .next()
        .and_then(|ext| match ext.to_ascii_lowercase().as_str() {
            "png" => Some("image/png"),
            "jpg" | "jpeg" => Some("image/jpeg"),
            "webp" => Some("image/webp"),
            "gif" => Some("image/gif"),
            _ => None,
        })
        .map(str::to_string);
    OgImage {
        url,
        width: size.as_ref().map(|s| s.width as u32),
        height: size.as_ref().map(|s| s.height as u32),
        mime_type: mime,
        alt,
    }
}

/// Warns when text of the card has characters no font draws (they would be boxes).
fn warn_missing_glyphs(
    fonts: &crate::render::fonts::FontSet,
    post: &Post,
    card: &CardRequest,
    report: &Report,
) {
    let mut text = String::new();
    for key in ["title", "description", "author", "site_title"] {
        if let Some(Value::String(s)) = card.variables.get(key) {
            text.push_str(s);
        }
    }
    let missing = fonts.missing(&text);
    if !missing.is_empty() {
        let list: String = missing
            .iter()
            .map(|c| format!("{c} (U+{:04X}) ", *c as u32))
            .collect();
        report.problem(
            Problem::warning(
                &post.source,
                format!(
                    "its card has characters no font covers: {}",
                    list.trim_end()
                ),
            )
            .with_hint("add a font that has them to `[og] fonts` in ogforge.toml"),
        );
    }
}
