//! `ogforge inject DIR`: plugin mode for pages another generator wrote (Hugo, Zola,
//! Jekyll, Eleventy, mdBook). For every HTML page under DIR: read its title,
//! description, language and canonical URL from the HTML itself (or, with `--content`,
//! from the Markdown source it was made from), draw its card with the configured backend
//! (fingerprinted, cached in `.ogforge/` like a build), and put the complete tag set into
//! its head with the same function the build uses. Non-HTML files are untouched.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use rayon::prelude::*;
use serde_json::{Map, Value, json};

use crate::assets::{self, Executor, Job, Outcome};
use crate::backends::CardBackend;
use crate::cards::card_request;
use crate::config::{CONFIG_FILE, Config};
use crate::content::{self, Post};
use crate::fsutil::{Written, write_if_changed};
use crate::manifest::{LiveManifest, Manifest};
use crate::plan::{self, PlanOptions};
use crate::render::{CardRequest, card_file, card_fingerprint};
use crate::report::{Problem, ProblemKind, Report, display_path};
use crate::site::charset::{self, Found};
use crate::site::inject::{
    InjectError, MetaTags, OgImage, PageFacts, check_encoding, earlier_block, inject_meta,
    page_encoding, page_facts_in,
};
use crate::url::{absolute, decode_path, encode_path, slugify};

/// What the user asked of `inject`.
#[derive(Debug, Clone, Default)]
pub struct InjectOptions {
    /// The other generator's output folder.
    pub dir: PathBuf,
    pub base_url: Option<String>,
    /// An `ogforge.toml` elsewhere than the current folder.
    pub config: Option<PathBuf>,
    /// Replace an author's own absolute og:image with a card.
    pub replace: bool,
    /// Take titles and overrides from these Markdown sources, matched by permalink.
    pub content: Option<PathBuf>,
    pub force: bool,
    pub retry_failed: bool,
    pub offline: bool,
}

#[derive(Debug, Default)]
pub struct InjectSummary {
    pub pages: usize,
    pub pages_changed: usize,
    pub cards_made: usize,
    pub cards_fresh: usize,
    pub cards_failed: usize,
}

/// One page of DIR, read.
struct Page {
    /// Path under DIR, `/`-separated.
    rel: String,
    html: Vec<u8>,
    facts: PageFacts,
    url: String,
    title: String,
    description: String,
    /// The picture the page keeps (its author's), if it keeps one.
    own_image: Option<OgImage>,
    /// The card to draw when it does not.
    card: Option<CardRequest>,
    alt: String,
}

pub fn inject(options: &InjectOptions, report: &Report) -> Result<InjectSummary> {
    let (config, site_dir) = load_config(options)?;
    if !options.dir.is_dir() {
        bail!(
            "{} is not a folder\n  hint: give the output folder of your generator, such as `public` or `_site`",
            options.dir.display()
        );
    }
    // Set up before any work, as a build does: a bad `[og] fonts` or a missing key stops
    // here.
    let backend = CardBackend::for_cards(&config, &site_dir, options.offline)?;
    let posts = match &options.content {
        Some(dir) => content::load(&site_dir, dir, false, config.site.max_post_size, report).posts,
        None => Vec::new(),
    };
    let by_path: HashMap<&str, &Post> = posts.iter().map(|p| (p.path.as_str(), p)).collect();

    let files = html_files(&options.dir, report);
    let mut pages: Vec<Page> = files
        .par_iter()
        .filter_map(|rel| {
            let html = std::fs::read(options.dir.join(rel))
                .map_err(|e| {
                    report.problem(Problem::input(
                        options.dir.join(rel),
                        format!("could not read: {e}"),
                    ))
                })
                .ok()?;
            read_page(&config, options, rel, html, &by_path, report)
        })
        .collect();
    pages.sort_by(|a, b| a.rel.cmp(&b.rel));

    // Plan the cards: one job per distinct card, shared by pages that would show the same.
    let _lock = crate::manifest::SiteLock::acquire(&site_dir, report)?;
    let manifest = LiveManifest::new(&site_dir, Manifest::load(&site_dir, report));
    let plan_options = PlanOptions {
        force: options.force,
        retry_failed: options.retry_failed,
    };
    assets::remove_temporary_files(&options.dir.join("og"));
    let existing = assets::files_in(&options.dir, "og");
    let mut jobs: Vec<Job> = Vec::new();
    let mut requests: Vec<&CardRequest> = Vec::new();
    let mut job_of: HashMap<blake3::Hash, usize> = HashMap::new();
    let mut page_job: Vec<Option<usize>> = vec![None; pages.len()];
    let mut keys = HashSet::new();
    for (i, page) in pages.iter().enumerate() {
        let Some(request) = &page.card else { continue };
        backend.warn_missing_glyphs(&options.dir.join(&page.rel), request, report);
        let fingerprint = match card_fingerprint(backend.as_dyn(), request) {
            Ok(fp) => fp,
            Err(e) => {
                report.problem(Problem::input(options.dir.join(&page.rel), e));
                continue;
            }
        };
        let key = format!("card:inject:{}", page.rel);
        keys.insert(key.clone());
        let owner = (
            key.clone(),
            options.dir.join(&page.rel).display().to_string(),
        );
        if let Some(&j) = job_of.get(&fingerprint.hash) {
            jobs[j].owners.push(owner);
            page_job[i] = Some(j);
            continue;
        }
        let file = card_file(&page_slug(&page.rel), &fingerprint.hash, request.format);
        let record = manifest.with(|m| m.assets.get(&key).cloned());
        let decision = plan::decide(
            &fingerprint,
            record.as_ref(),
            existing.contains(&file),
            plan_options,
        );
        if let plan::Decision::Make(reason) = &decision {
            report.verbose(format!("dirty {}: {reason}", page.rel));
        }
        job_of.insert(fingerprint.hash, jobs.len());
        page_job[i] = Some(jobs.len());
        jobs.push(Job {
            file,
            fingerprint,
            decision,
            owners: vec![owner],
        });
        requests.push(request);
    }
    let executor = Executor {
        what: "cards",
        out: &options.dir,
        concurrency: backend.concurrency(),
        manifest: &manifest,
        report,
    };
    let outcomes = match executor.execute(&jobs, &|j| backend.as_dyn().render(requests[j])) {
        Ok(outcomes) => outcomes,
        Err(message) => {
            let _ = manifest.into_inner().save(&site_dir);
            return Err(anyhow!(message));
        }
    };

    let mut summary = InjectSummary {
        pages: pages.len(),
        ..InjectSummary::default()
    };
    for outcome in &outcomes {
        match outcome {
            Outcome::Made => summary.cards_made += 1,
            Outcome::Fresh => summary.cards_fresh += 1,
            Outcome::Failed(_) => summary.cards_failed += 1,
        }
    }
    // The site's name: the config's, else what the pages' own og:site_name says.
    let site_name = match (&options.config, Path::new(CONFIG_FILE).is_file()) {
        (None, false) => pages
            .iter()
            .find_map(|p| p.facts.meta("og:site_name").map(str::to_string))
            .unwrap_or_else(|| config.site.title.clone()),
        _ => config.site.title.clone(),
    };
    for (i, page) in pages.iter().enumerate() {
        let image = match (page_job[i], &page.own_image) {
            (_, Some(own)) => Some(own.clone()),
            (Some(j), None) => match &outcomes[j] {
                Outcome::Made | Outcome::Fresh => Some(OgImage {
                    url: absolute(&config.site.base_url, &jobs[j].file),
                    width: Some(config.og.width),
                    height: Some(config.og.height),
                    mime_type: Some(config.og.format.mime_type().to_string()),
                    alt: page.alt.clone(),
                }),
                Outcome::Failed(message) => {
                    report.problem(Problem {
                        kind: ProblemKind::Asset,
                        ..Problem::input(
                            options.dir.join(&page.rel),
                            format!("its card could not be made: {message}"),
                        )
                    });
                    None
                }
            },
            (None, None) => None,
        };
        let tags = MetaTags {
            title: page.title.clone(),
            description: page.description.clone(),
            url: page.url.clone(),
            og_type: page
                .facts
                .meta("og:type")
                .unwrap_or(if page.rel == "index.html" {
                    "website"
                } else {
                    "article"
                })
                .to_string(),
            site_name: Some(site_name.clone()),
            image,
        };
        match inject_meta(&page.html, &tags) {
            Ok(html) => match write_if_changed(&options.dir.join(&page.rel), &html) {
                Ok(Written::Changed) => summary.pages_changed += 1,
                Ok(Written::Unchanged) => {}
                Err(e) => report.problem(Problem::input(
                    options.dir.join(&page.rel),
                    format!("{e:#}"),
                )),
            },
            Err(e) => report.problem(page_problem(options.dir.join(&page.rel), &e)),
        }
    }

    let mut manifest = manifest.into_inner();
    manifest
        .assets
        .retain(|key, _| !key.starts_with("card:inject:") || keys.contains(key));
    if let Err(e) = manifest.save(&site_dir) {
        report.problem(Problem::warning(
            Manifest::path(&site_dir),
            format!("could not save the cache: {e:#}"),
        ));
    }
    Ok(summary)
}

/// A page that could not be written, with what to do about it.
fn page_problem(path: PathBuf, error: &InjectError) -> Problem {
    let problem = Problem::input(path, error.to_string());
    match error.hint() {
        Some(hint) => problem.with_hint(hint),
        None => problem,
    }
}

/// The configuration: `--config`, else `ogforge.toml` here, else one made from
/// `--base-url`; `--base-url` wins over a file's. Returns the folder the cache and card
/// templates live in.
fn load_config(options: &InjectOptions) -> Result<(Config, PathBuf)> {
    let here = Path::new(".");
    let (mut config, site_dir) = match &options.config {
        Some(file) => (
            Config::load_file(file)?,
            file.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(here)
                .to_path_buf(),
        ),
        None if here.join(CONFIG_FILE).is_file() => (Config::load(here)?, here.to_path_buf()),
        None => {
            let Some(base) = &options.base_url else {
                bail!(
                    "inject needs the site's address: pass --base-url https://your.site, or --config FILE with a [site] base_url"
                );
            };
            let host = base
                .split("://")
                .nth(1)
                .unwrap_or(base)
                .split('/')
                .next()
                .unwrap_or(base);
            let text = format!(
                "[site]\ntitle = {}\nbase_url = {}\n",
                toml_string(host),
                toml_string(base)
            );
            (
                Config::parse(&text).map_err(|e| anyhow!("--base-url: {e:#}"))?,
                here.to_path_buf(),
            )
        }
    };
    if let Some(base) = &options.base_url {
        let text = format!(
            "[site]\ntitle = {}\nbase_url = {}\n",
            toml_string(&config.site.title),
            toml_string(base)
        );
        config.site.base_url = Config::parse(&text)
            .map_err(|e| anyhow!("--base-url: {e:#}"))?
            .site
            .base_url;
    }
    Ok((config, site_dir))
}

fn toml_string(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

/// Every `.html` file under `dir`, relative and `/`-separated; hidden folders skipped.
fn html_files(dir: &Path, report: &Report) -> Vec<String> {
    let mut files = Vec::new();
    let walker = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        match entry {
            Ok(e) if e.file_type().is_file() => {
                let is_html = e.path().extension().is_some_and(|x| {
                    x.eq_ignore_ascii_case("html") || x.eq_ignore_ascii_case("htm")
                });
                if is_html {
                    let rel = e.path().strip_prefix(dir).unwrap_or(e.path());
                    files.push(
                        rel.components()
                            .map(|c| c.as_os_str().to_string_lossy())
                            .collect::<Vec<_>>()
                            .join("/"),
                    );
                }
            }
            Ok(_) => {}
            Err(e) => report.problem(Problem::input(
                display_path(Path::new("."), e.path().unwrap_or(dir)),
                format!("could not read: {e}"),
            )),
        }
    }
    files
}

/// Reads one page and decides its picture: its author's, or a card to draw; `None`, with
/// the problem reported, for a page in an encoding it cannot be written back in.
fn read_page(
    config: &Config,
    options: &InjectOptions,
    rel: &str,
    html: Vec<u8>,
    posts: &HashMap<&str, &Post>,
    report: &Report,
) -> Option<Page> {
    let encoding = page_encoding(&html).unwrap_or_else(|_| charset::detect(&html));
    if let Err(e) = check_encoding(&html, &encoding) {
        report.problem(page_problem(options.dir.join(rel), &e));
        return None;
    }
    if encoding.found == Found::Guessed {
        report.problem(
            Problem::warning(
                options.dir.join(rel),
                "it declares no encoding and is not valid UTF-8: \
                 read as windows-1252, its tags written in ASCII",
            )
            .with_hint(
                "declare the page's encoding with <meta charset=\"...\"> at the top of its <head>",
            ),
        );
    }
    let facts = page_facts_in(&html, encoding);
    let path = page_path(rel);
    let url = facts
        .canonical
        .clone()
        .filter(|c| c.starts_with("http://") || c.starts_with("https://"))
        .unwrap_or_else(|| absolute(&config.site.base_url, &path));
    let post = posts
        .get(url.strip_prefix(&config.site.base_url).unwrap_or(&path))
        .copied();

    let ours = format!("{}/og/", config.site.base_url);
    let own_image = match (
        post.and_then(|p| p.front.og.image.clone()),
        facts.meta("og:image"),
    ) {
        (Some(image), _) => Some(resolve(&url, &image)),
        // A card of an earlier run, whatever the base URL was then.
        (None, Some(image)) if is_card(image) || image.starts_with(&ours) => None,
        (None, Some(_)) if options.replace => None,
        (None, Some(image)) => Some(
            earlier_block(&html, &facts)
                .and_then(|earlier| moved(image, &earlier.url, &url, &path))
                .unwrap_or_else(|| resolve(&url, image)),
        ),
        (None, None) => None,
    };
    // A picture of the site that is not in the folder would be a broken preview.
    let own_image = own_image.filter(|image| {
        let Some(file) = file_in(&config.site.base_url, &options.dir, image) else {
            return true;
        };
        let there = file.is_file();
        if !there {
            report.problem(
                Problem::warning(
                    options.dir.join(rel),
                    format!(
                        "its og:image {image} names {}, which does not exist; a card is drawn instead",
                        file.display()
                    ),
                )
                .with_hint("add the picture to the folder, or correct the page's og:image"),
            );
        }
        there
    });
    let title = post
        .map(|p| p.front.og.title.clone().unwrap_or_else(|| p.title.clone()))
        .or_else(|| page_title(&facts))
        .or_else(|| facts.meta("og:title").map(str::to_string))
        .unwrap_or_else(|| path.trim_matches('/').to_string());
    let alt = post
        .and_then(|p| p.front.og.alt.clone())
        .or_else(|| facts.meta("og:image:alt").map(str::to_string))
        .unwrap_or_else(|| title.clone());
    let own_image = own_image.map(|url| OgImage {
        width: facts.meta("og:image:width").and_then(|w| w.parse().ok()),
        height: facts.meta("og:image:height").and_then(|h| h.parse().ok()),
        mime_type: facts.meta("og:image:type").map(str::to_string),
        alt: alt.clone(),
        url,
    });
    let card = own_image.is_none().then(|| match post {
        Some(post) => card_request(config, post),
        None => CardRequest {
            template: config.og.template.clone(),
            variables: page_variables(config, &facts, &title),
            width: config.og.width,
            height: config.og.height,
            format: config.og.format,
        },
    });
    let description = post
        .map(|p| p.description.clone())
        .or_else(|| {
            facts
                .meta("description")
                .or(facts.meta("og:description"))
                .map(str::to_string)
        })
        .unwrap_or_default();
    Some(Page {
        rel: rel.to_string(),
        html,
        facts,
        url,
        title,
        description,
        own_image,
        card,
        alt,
    })
}

/// A page's own title: `<title>` without the site name generators append to it
/// ("Post | Site"), which is what the page's first `<h1>` says when it starts the title.
fn page_title(facts: &PageFacts) -> Option<String> {
    let title = facts.title.clone()?;
    if let Some(h1) = &facts.h1 {
        let rest = title.strip_prefix(h1.as_str()).map(str::trim_start);
        if rest.is_some_and(|r| r.is_empty() || r.starts_with(['|', '-', '–', '—', '·', ':', '•']))
        {
            return Some(h1.clone());
        }
    }
    Some(title)
}

/// Card variables from what the page itself says.
fn page_variables(config: &Config, facts: &PageFacts, title: &str) -> Map<String, Value> {
    let description = facts
        .meta("description")
        .or(facts.meta("og:description"))
        .unwrap_or_default();
    let tags: Vec<&str> = facts
        .meta
        .iter()
        .filter(|(k, _)| k == "article:tag")
        .map(|(_, v)| v.as_str())
        .collect();
    let date = facts
        .meta("article:published_time")
        .and_then(|d| crate::content::date::Date::parse(d).ok());
    let vars = json!({
        "site_title": config.site.title,
        "title": title,
        "description": description,
        "author": facts.meta("author").unwrap_or_default(),
        "authors": facts.meta("author").into_iter().collect::<Vec<_>>(),
        "date": date.as_ref().map(|d| d.long()),
        "date_iso": date.as_ref().map(|d| d.to_string()),
        "tags": tags,
        "tag": tags.first(),
        "lang": facts.lang,
    });
    vars.as_object().cloned().unwrap_or_default()
}

/// `posts/a/index.html` → `/posts/a/`; `about.html` → `/about.html`.
fn page_path(rel: &str) -> String {
    match rel.strip_suffix("index.html") {
        Some(dir) => format!("/{dir}"),
        None => format!("/{rel}"),
    }
}

/// A card file name for a page: `posts/a/index.html` → `posts-a`; the home page `index`.
fn page_slug(rel: &str) -> String {
    let stem = rel
        .strip_suffix("index.html")
        .unwrap_or(rel)
        .trim_end_matches(".html")
        .trim_end_matches(".htm");
    match slugify(stem) {
        s if s.is_empty() => "index".to_string(),
        s => s,
    }
}

/// Whether an image URL is a card ogforge made: its path ends in
/// `og/<slug>.<12 hex digits>.<png|jpg|webp>`, the shape of [`card_file`]. Whatever its
/// host, so that a card of a run with another base URL is recognised.
fn is_card(url: &str) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let mut segments = path.rsplit('/');
    let (Some(name), Some("og")) = (segments.next(), segments.next()) else {
        return false;
    };
    let mut parts = name.rsplitn(3, '.');
    let (Some(ext), Some(hash), Some(slug)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    matches!(ext, "png" | "jpg" | "webp")
        && hash.len() == 12
        && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && !slug.is_empty()
}

/// An author's picture that an earlier run made absolute under the site's address then
/// (`earlier_url` is the og:url it wrote for this page, at `path`), under its address now
/// (`url`); `None` when it is not under the earlier address, or nothing moved.
fn moved(image: &str, earlier_url: &str, url: &str, path: &str) -> Option<String> {
    let path = encode_path(path);
    let earlier_root = earlier_url.strip_suffix(&path)?;
    let root = url.strip_suffix(&path)?;
    let rest = image.strip_prefix(earlier_root)?;
    (rest.starts_with('/') && earlier_root != root).then(|| format!("{root}{rest}"))
}

/// The file in `dir` an image URL under `base_url` names, `.` and `..` resolved as a
/// browser does; `None` for a picture elsewhere.
fn file_in(base_url: &str, dir: &Path, image: &str) -> Option<PathBuf> {
    let rest = image.strip_prefix(base_url)?;
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let rest = decode_path(rest.strip_prefix('/')?)?;
    let mut segments: Vec<&str> = Vec::new();
    for segment in rest.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    Some(segments.iter().fold(dir.to_path_buf(), |p, s| p.join(s)))
}

/// An image URL as written in a page, made absolute against the page's URL.
fn resolve(page_url: &str, image: &str) -> String {
    if image.starts_with("http://") || image.starts_with("https://") {
        return image.to_string();
    }
    if let Some(rest) = image.strip_prefix("//") {
        let scheme = page_url.split("://").next().unwrap_or("https");
        return format!("{scheme}://{rest}");
    }
    let origin_end = page_url.find("://").map_or(0, |i| i + 3);
    let host_end = page_url[origin_end..]
        .find('/')
        .map_or(page_url.len(), |i| origin_end + i);
    if image.starts_with('/') {
        return format!("{}{image}", &page_url[..host_end]);
    }
    let dir_end = page_url
        .rfind('/')
        .filter(|&i| i >= host_end)
        .map_or(page_url.len(), |i| i + 1);
    let base = &page_url[..dir_end];
    let base = if base.ends_with('/') {
        base.to_string()
    } else {
        format!("{base}/")
    };
    format!("{base}{image}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_images_become_absolute() {
        let page = "https://e.test/blog/post/";
        assert_eq!(
            resolve(page, "cover.png"),
            "https://e.test/blog/post/cover.png"
        );
        assert_eq!(resolve(page, "/img/a.png"), "https://e.test/img/a.png");
        assert_eq!(resolve(page, "//cdn.test/a.png"), "https://cdn.test/a.png");
        assert_eq!(
            resolve("https://e.test/about.html", "a.png"),
            "https://e.test/a.png"
        );
        assert_eq!(
            resolve(page, "https://x.test/a.png"),
            "https://x.test/a.png"
        );
    }

    #[test]
    fn cards_are_known_by_the_shape_of_their_name_on_any_host() {
        for card in [
            "https://old.test/og/posts-a.0123456789ab.png",
            "https://e.test/book/og/caf%C3%A9.abcdef012345.webp?v=1",
            "/og/v1.2.0123456789ab.jpg",
        ] {
            assert!(is_card(card), "{card}");
        }
        for other in [
            "https://e.test/og/default.png",
            "https://e.test/og/a.0123456789AB.png",
            "https://e.test/og/a.0123456789a.png",
            "https://e.test/img/a.0123456789ab.png",
            "https://e.test/og/.0123456789ab.png",
            "https://e.test/og/a.0123456789ab.gif",
            "https://e.test/og/a.0123456789ab.png/",
        ] {
            assert!(!is_card(other), "{other}");
        }
    }

    #[test]
    fn pictures_under_an_earlier_address_move_to_the_new_one() {
        let moved_to = |image, earlier, url, path| moved(image, earlier, url, path);
        assert_eq!(
            moved_to(
                "https://old.test/book/d/img/a.png",
                "https://old.test/book/d/",
                "https://new.test/d/",
                "/d/"
            )
            .as_deref(),
            Some("https://new.test/d/img/a.png")
        );
        // Elsewhere, or nothing moved, or a canonical URL that is not the page's path.
        let none = [
            (
                "https://cdn.test/a.png",
                "https://old.test/d/",
                "https://new.test/d/",
            ),
            (
                "https://old.test/a.png",
                "https://old.test/d/",
                "https://old.test/d/",
            ),
            (
                "https://old.test/a.png",
                "https://old.test/other/",
                "https://new.test/d/",
            ),
            (
                "https://old.testing/a.png",
                "https://old.test/d/",
                "https://new.test/d/",
            ),
        ];
        for (image, earlier, url) in none {
            assert_eq!(
                moved_to(image, earlier, url, "/d/"),
                None,
                "{image} {earlier}"
            );
        }
    }

    #[test]
    fn pictures_of_the_site_are_files_of_the_folder() {
        let dir = Path::new("out");
        let file = |image| file_in("https://e.test/blog", dir, image);
        assert_eq!(
            file("https://e.test/blog/d/img/caf%C3%A9.png?x#y"),
            Some(dir.join("d/img/café.png"))
        );
        assert_eq!(
            file("https://e.test/blog/../../etc/./passwd"),
            Some(dir.join("etc/passwd"))
        );
        assert_eq!(file("https://e.test/blogs/a.png"), None);
        assert_eq!(file("https://e.test/a.png"), None);
        assert_eq!(file("https://cdn.test/blog/a.png"), None);
    }

    #[test]
    fn paths_and_slugs_of_pages() {
        assert_eq!(page_path("index.html"), "/");
        assert_eq!(page_path("posts/a/index.html"), "/posts/a/");
        assert_eq!(page_path("about.html"), "/about.html");
        assert_eq!(page_slug("index.html"), "index");
        assert_eq!(page_slug("posts/a/index.html"), "posts-a");
        assert_eq!(page_slug("docs/intro.html"), "docs-intro");
    }
}
