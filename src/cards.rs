//! The card step of a build: decide each post's card, draw the ones not on disk yet,
//! and say which picture every page's meta tags point to.
//!
//! Card files are content-addressed (`og/<slug>.<hash12>.png`, the hash covering every
//! input of the card), so a card whose file exists is up to date, identical cards are
//! drawn once, and social networks, which cache by URL, see a new URL for a new picture.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use serde_json::{Map, Value, json};

use crate::assets::{self, Executor, Job, Outcome};
use crate::config::Config;
use crate::content::{Content, PageKind, Post};
use crate::fingerprint::Fingerprint;
use crate::manifest::LiveManifest;
use crate::plan::{self, Decision, PlanOptions};
use crate::remote_cache::{Expect, RemoteCache, Shard};
use crate::render::fonts::FontSet;
use crate::render::{Backend, CardRequest, RenderError, card_file, card_fingerprint};
use crate::report::{Problem, ProblemKind, Report};
use crate::screenshots::ShotInfo;
use crate::site::inject::OgImage;
use crate::url::absolute;

/// What the card step did.
#[derive(Debug, Default)]
pub struct CardOutcome {
    /// The picture of each post, by page path (`/posts/a/`).
    pub images: HashMap<String, OgImage>,
    pub rendered: usize,
    pub fresh: usize,
    /// Downloaded from the shared cache.
    pub remote: usize,
    pub failed: usize,
    /// Why each post's card was made, by post source; absent when it was fresh.
    pub reasons: HashMap<PathBuf, String>,
    /// Every card file a page refers to, fresh or new: what `clean` keeps.
    pub files: HashSet<String>,
    /// The asset keys of this build; the manifest forgets the others.
    pub keys: HashSet<String>,
    /// With `--frozen`: every card that is missing or stale, described.
    pub stale: Vec<String>,
}

/// Everything the card step needs from the build.
pub struct CardStep<'a> {
    pub config: &'a Config,
    pub site_dir: &'a Path,
    pub out: &'a Path,
    pub backend: &'a dyn Backend,
    /// Cards made at once at most.
    pub concurrency: usize,
    /// For the "no font covers" warning; local cards only.
    pub fonts: Option<&'a FontSet>,
    pub options: PlanOptions,
    /// The screenshots of each page, for cards made from one.
    pub screenshots: &'a HashMap<String, Vec<ShotInfo>>,
    /// Say what would be made, make nothing.
    pub dry_run: bool,
    /// Plan only; list what is not up to date in `stale`.
    pub frozen: bool,
    pub manifest: &'a LiveManifest,
    pub report: &'a Report,
    /// The shared cache, asked before any card is made.
    pub remote: Option<&'a RemoteCache>,
    /// `--shard K/N`: only the cards of this shard are made.
    pub shard: Option<Shard>,
}

impl CardStep<'_> {
    fn expect(&self, card: &CardRequest) -> Expect {
        Expect {
            format: card.format,
            size: Some((card.width, card.height)),
        }
    }
}

/// One card to make or keep, and the posts that show it.
struct Planned<'a> {
    request: CardRequest,
    /// The screenshot the card is made from (`og.source = "screenshot"`), if it is.
    from_screenshot: Option<PathBuf>,
    fingerprint: Fingerprint,
    file: String,
    decision: Decision,
    posts: Vec<&'a Post>,
}

/// Makes sure every post has its card (or its own `og.image`). An `Err` is a failure that
/// stops the build (the API refused the key); anything else is reported per post.
pub fn run(step: &CardStep<'_>, content: &Content) -> Result<CardOutcome> {
    let CardStep {
        config,
        out,
        backend,
        report,
        ..
    } = *step;
    let mut outcome = CardOutcome::default();
    assets::remove_temporary_files(&out.join("og"));
    let existing = assets::files_in(out, "og");
    let mut planned: Vec<Planned<'_>> = Vec::new();
    let mut by_hash: HashMap<blake3::Hash, usize> = HashMap::new();
    for post in content.posts.iter().filter(|p| p.kind == PageKind::Post) {
        if let Some(image) = &post.front.og.image {
            let og = own_image(config, step.site_dir, out, post, image, report);
            outcome.images.insert(post.path.clone(), og);
            continue;
        }
        let request = card_request(config, post);
        let from_screenshot = match post.front.og.source.as_deref() {
            None => None,
            Some("screenshot") => step
                .screenshots
                .get(&post.path)
                .and_then(|shots| shots.first()),
            Some(other) => {
                report.problem(
                    Problem::input(
                        &post.source,
                        format!(
                            "`og.source` is `{other}`; the one source there is is \"screenshot\""
                        ),
                    )
                    .with_hint("remove `og.source` to draw the card from its template"),
                );
                None
            }
        };
        // A shard makes a card drawn from a screenshot where it has the screenshot; a
        // shard without it must not draw the template card in its place.
        if step.shard.is_some()
            && post.front.og.source.as_deref() == Some("screenshot")
            && from_screenshot.is_none()
        {
            continue;
        }
        if let (Some(fonts), None) = (step.fonts, from_screenshot) {
            crate::backends::warn_missing_glyphs(fonts, &post.source, &request, report);
        }
        let fingerprint = match from_screenshot {
            Some(shot) => Ok(screenshot_card_fingerprint(&shot.src, &request)),
            None => card_fingerprint(backend, &request),
        };
        let fingerprint = match fingerprint {
            Ok(fp) => fp,
            Err(e) => {
                report.problem(Problem::input(&post.source, e).with_hint(format!(
                    "add templates/og/{}.svg, or set `og.template` to an existing one",
                    request.template
                )));
                continue;
            }
        };
        let key = asset_key(post);
        outcome.keys.insert(key.clone());
        let file = card_file(&post.slug, &fingerprint.hash, request.format);
        let record = step.manifest.with(|m| m.assets.get(&key).cloned());
        // A card the same as an earlier post's is made once, under that post's name.
        let shared = by_hash.get(&fingerprint.hash).copied();
        let on_disk = existing.contains(shared.map_or(&file, |i| &planned[i].file));
        let decision = plan::decide(&fingerprint, record.as_ref(), on_disk, step.options);
        if let Decision::Make(reason) = &decision {
            outcome.reasons.insert(post.source.clone(), reason.clone());
        }
        match shared {
            Some(i) => planned[i].posts.push(post),
            None => {
                by_hash.insert(fingerprint.hash, planned.len());
                planned.push(Planned {
                    request,
                    from_screenshot: from_screenshot.map(|s| s.local.clone()),
                    fingerprint,
                    file,
                    decision,
                    posts: vec![post],
                });
            }
        }
    }

    if let Some(shard) = step.shard {
        planned.retain(|card| card.from_screenshot.is_some() || shard.owns(&card.fingerprint.hash));
    }
    let mut jobs: Vec<Job> = planned
        .iter()
        .map(|card| Job {
            file: card.file.clone(),
            fingerprint: card.fingerprint.clone(),
            decision: card.decision.clone(),
            owners: card
                .posts
                .iter()
                .map(|p| (asset_key(p), p.source.display().to_string()))
                .collect(),
        })
        .collect();
    let mut fetched = vec![false; jobs.len()];
    if let (Some(remote), false) = (step.remote, step.dry_run || step.options.force) {
        fetched = assets::fetch_remote(
            remote,
            &mut jobs,
            &|i| step.expect(&planned[i].request),
            out,
            step.manifest,
            report,
            step.shard.is_some(),
        );
        for (card, job) in planned.iter_mut().zip(&jobs) {
            card.decision = job.decision.clone();
        }
    }

    if step.frozen {
        for card in &planned {
            let why = match &card.decision {
                Decision::Fresh => continue,
                Decision::Make(reason) => reason.clone(),
                Decision::Failed(error) => format!("failed: {error}"),
            };
            for post in &card.posts {
                outcome.stale.push(format!(
                    "{}: card {} ({why})",
                    post.source.display(),
                    card.file
                ));
            }
        }
        if !outcome.stale.is_empty() {
            return Ok(outcome);
        }
    }
    if step.dry_run {
        for card in &planned {
            if let Decision::Make(reason) = &card.decision {
                report.info(format!(
                    "would {} -> {} (for {}: {reason})",
                    backend.describe(&card.request),
                    card.file,
                    card.posts[0].source.display()
                ));
            }
        }
        let count = planned
            .iter()
            .filter(|c| matches!(c.decision, Decision::Make(_)))
            .count();
        report.info(format!(
            "dry run: {count} card{} to make, none made",
            if count == 1 { "" } else { "s" }
        ));
        outcome.rendered = count;
        return Ok(outcome);
    }

    let executor = Executor {
        what: "cards",
        out,
        concurrency: step.concurrency,
        manifest: step.manifest,
        report,
    };
    let expect = |i: usize| step.expect(&planned[i].request);
    let upload = step
        .remote
        .map(|r| (r, &expect as &(dyn Fn(usize) -> Expect + Sync)));
    let outcomes = executor
        .execute_uploading(
            &jobs,
            &|i| match &planned[i].from_screenshot {
                Some(path) => {
                    let picture = std::fs::read(path).map_err(|e| {
                        RenderError::transient(format!("could not read the screenshot: {e}"))
                    })?;
                    let card = &planned[i].request;
                    Ok(crate::render::png::cover(
                        &picture,
                        card.width,
                        card.height,
                    )?)
                }
                None => backend.render(&planned[i].request),
            },
            upload,
        )
        .map_err(|message| anyhow!(message))?;

    for ((card, result), fetched) in planned.iter().zip(outcomes).zip(fetched) {
        match result {
            Outcome::Fresh | Outcome::Made => {
                if result == Outcome::Made {
                    outcome.rendered += 1;
                } else if fetched {
                    outcome.remote += 1;
                } else {
                    outcome.fresh += 1;
                }
                outcome.files.insert(card.file.clone());
                for post in &card.posts {
                    outcome
                        .images
                        .insert(post.path.clone(), card_image(config, &card.file, post));
                }
            }
            Outcome::Failed(message) => {
                outcome.failed += 1;
                for post in &card.posts {
                    report.problem(Problem {
                        kind: ProblemKind::Asset,
                        ..Problem::input(
                            &post.source,
                            format!("its card could not be made: {message}"),
                        )
                    });
                }
            }
        }
    }
    Ok(outcome)
}

/// A card made from a screenshot: the screenshot's file (named after its own
/// fingerprint) and the card's size are all its inputs.
fn screenshot_card_fingerprint(screenshot: &str, card: &CardRequest) -> Fingerprint {
    let mut fp = crate::fingerprint::FingerprintBuilder::new();
    fp.add("renderer", crate::render::RENDERER_VERSION.as_bytes())
        .add("screenshot", screenshot.as_bytes())
        .add("size", format!("{}x{}", card.width, card.height).as_bytes());
    fp.finish()
}

/// The manifest key of a post's card.
pub fn asset_key(post: &Post) -> String {
    format!("card:{}", post.source.display())
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

/// The card of `post`: the same for `build` and for `inject --content`.
pub fn card_request(config: &Config, post: &Post) -> CardRequest {
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

/// The site's own card (site title and description), for pages without one of their
/// own when the config names no `fallback_image`: the index, sections, tags, and posts
/// whose card failed. Made like any card: fingerprinted, drawn once.
/// With `--frozen` or `--dry-run` it is only planned: shown when fresh, added to `stale`
/// (frozen) when not.
pub fn site_card(step: &CardStep<'_>, stale: &mut Vec<String>) -> Result<Option<OgImage>> {
    let config = step.config;
    if config.og.fallback_image.is_some() {
        return Ok(None);
    }
    let vars = json!({
        "site_title": config.site.title,
        "title": config.site.title,
        "description": config.site.description.clone().unwrap_or_default(),
        "author": "",
        "authors": [],
        "date": null,
        "date_iso": null,
        "tags": [],
        "tag": null,
        "extra": config.site.extra,
    });
    let request = CardRequest {
        template: config.og.template.clone(),
        variables: vars.as_object().cloned().unwrap_or_default(),
        width: config.og.width,
        height: config.og.height,
        format: config.og.format,
    };
    let fingerprint = card_fingerprint(step.backend, &request).map_err(|e| anyhow!(e))?;
    let file = card_file("site", &fingerprint.hash, request.format);
    let key = "card:site".to_string();
    let record = step.manifest.with(|m| m.assets.get(&key).cloned());
    let exists = crate::fsutil::has_content(&step.out.join(&file));
    if step
        .shard
        .is_some_and(|shard| !shard.owns(&fingerprint.hash))
    {
        return Ok(None);
    }
    let mut job = Job {
        decision: plan::decide(&fingerprint, record.as_ref(), exists, step.options),
        file,
        fingerprint,
        owners: vec![(key, crate::config::CONFIG_FILE.to_string())],
    };
    if let (Some(remote), false) = (step.remote, step.dry_run || step.options.force) {
        assets::fetch_remote(
            remote,
            std::slice::from_mut(&mut job),
            &|_| step.expect(&request),
            step.out,
            step.manifest,
            step.report,
            step.shard.is_some(),
        );
    }
    let image = || OgImage {
        url: absolute(&config.site.base_url, &job.file),
        width: Some(config.og.width),
        height: Some(config.og.height),
        mime_type: Some(config.og.format.mime_type().to_string()),
        alt: config.site.title.clone(),
    };
    if step.frozen || step.dry_run {
        if job.decision.is_fresh() {
            return Ok(Some(image()));
        }
        if step.frozen {
            stale.push(format!(
                "{}: the site's own card {}",
                crate::config::CONFIG_FILE,
                job.file
            ));
        }
        return Ok(None);
    }
    let executor = Executor {
        what: "cards",
        out: step.out,
        concurrency: 1,
        manifest: step.manifest,
        report: step.report,
    };
    let expect = |_| step.expect(&request);
    let upload = step
        .remote
        .map(|r| (r, &expect as &(dyn Fn(usize) -> Expect + Sync)));
    let outcome = executor
        .execute_uploading(
            std::slice::from_ref(&job),
            &|_| step.backend.render(&request),
            upload,
        )
        .map_err(|message| anyhow!(message))?;
    Ok(match &outcome[0] {
        Outcome::Made | Outcome::Fresh => Some(image()),
        Outcome::Failed(message) => {
            step.report.problem(Problem {
                kind: ProblemKind::Asset,
                ..Problem::input(
                    crate::config::CONFIG_FILE,
                    format!("the site's own card could not be made: {message}"),
                )
            });
            None
        }
    })
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
