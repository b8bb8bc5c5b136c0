//! `ogforge check DIR`: lints the link previews of every page of a built site.
//!
//! It sits outside the build's flow: it reads any folder of HTML, whoever made it, and
//! tells what a social network would get wrong when a page is shared — a missing or
//! relative `og:image`, a card file that is not there or whose pixel size is not what the
//! tags say, an image over X's or Facebook's budget, tags that contradict each other.
//! Each problem is one [`Finding`] naming the page; the program prints them (or the
//! [`CheckReport`] as JSON) and exits 3 when any is an error.
//!
//! [`check_page`] does no I/O of its own: the image files it needs come from a
//! [`SiteFiles`], which reads each one once (many pages share a fallback image) or, in
//! tests, holds made-up ones.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use lol_html::{HtmlRewriter, Settings, element};
use serde::Serialize;
use walkdir::WalkDir;

use crate::site::inject::{decode_entities, existing_meta};

/// A page's meta tags: key lower-cased, value decoded, in document order.
type Tags = Vec<(String, String)>;
/// A finding before it is given its page.
type Found = (Severity, &'static str, String);

/// Facebook refuses bigger images.
const FACEBOOK_MAX_BYTES: u64 = 8_000_000;
/// X refuses bigger images.
const X_MAX_BYTES: u64 = 5_000_000;
/// WhatsApp and apps like it show no picture above about this.
const WHATSAPP_MAX_BYTES: u64 = 600_000;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The preview is broken or refused: `check` exits 3.
    Error,
    /// The preview works, but worse than it could.
    Warning,
}

/// One problem with one page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The page, relative to the checked folder, `/`-separated.
    pub file: String,
    pub severity: Severity,
    /// Stable and greppable, such as `missing-og-image`.
    pub code: &'static str,
    pub message: String,
    /// The checked folder as the user typed it, so that the printed line names a file
    /// they can open; not in the JSON, whose `file` is relative.
    #[serde(skip)]
    dir: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{severity}: ")?;
        if !self.dir.is_empty() {
            write!(f, "{}/", self.dir.trim_end_matches(['/', '\\']))?;
        }
        write!(f, "{}: {}", self.file, self.message)
    }
}

/// What `check` found; serialized as is for `--json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    /// Pages checked; `noindex` pages and redirects are not counted.
    pub pages: usize,
    /// In page order, then in the order of the rules.
    pub findings: Vec<Finding>,
}

impl CheckReport {
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// What `check` needs to know of an image file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageFile {
    pub bytes: u64,
    /// Width and height in pixels; `None` when it is no image format `imagesize` reads.
    pub size: Option<(u32, u32)>,
}

/// The image files of the checked site, by their path in it, each looked up once.
pub struct SiteFiles {
    /// Where the folder is served, without a trailing `/`; without it no file is checked.
    base_url: Option<String>,
    /// The folder on disk; `None` when every file is given up front.
    root: Option<PathBuf>,
    /// Site path → the file, or `None` when there is none.
    images: RefCell<HashMap<String, Option<ImageFile>>>,
}

impl SiteFiles {
    /// The files of the folder `root`, served at `base_url`.
    pub fn on_disk(root: &Path, base_url: Option<&str>) -> SiteFiles {
        SiteFiles {
            base_url: base_url.map(|b| b.trim_end_matches('/').to_string()),
            root: Some(root.to_path_buf()),
            images: RefCell::default(),
        }
    }

    /// Only these files (site path, e.g. `og/a.png`), served at `base_url`.
    pub fn in_memory(
        base_url: Option<&str>,
        files: impl IntoIterator<Item = (String, ImageFile)>,
    ) -> SiteFiles {
        let images = files.into_iter().map(|(p, f)| (p, Some(f))).collect();
        SiteFiles {
            base_url: base_url.map(|b| b.trim_end_matches('/').to_string()),
            root: None,
            images: RefCell::new(images),
        }
    }

    /// The path in the site of `url` when `url` is under the base URL, whatever its
    /// scheme: percent-decoded, query and fragment dropped, `.` and `..` resolved.
    fn site_path(&self, url: &str) -> Option<String> {
        let base = without_scheme(self.base_url.as_deref()?);
        let rest = without_scheme(url);
        let rest = rest
            .get(..base.len())
            .filter(|head| head.eq_ignore_ascii_case(base))
            .map(|_| &rest[base.len()..])?;
        if !(rest.is_empty() || rest.starts_with(['/', '?', '#'])) {
            return None; // `https://blog.test.evil/…` is not under `https://blog.test`
        }
        let path = rest.split(['?', '#']).next().unwrap_or_default();
        let mut segments = Vec::new();
        for segment in percent_decode(path).split('/') {
            match segment {
                "" | "." => {}
                ".." => {
                    segments.pop();
                }
                s => segments.push(s.to_string()),
            }
        }
        Some(segments.join("/"))
    }

    fn image(&self, site_path: &str) -> Option<ImageFile> {
        if let Some(known) = self.images.borrow().get(site_path) {
            return *known;
        }
        let found = self.root.as_ref().and_then(|root| {
            let path = root.join(site_path);
            let meta = std::fs::metadata(&path).ok().filter(|m| m.is_file())?;
            let size = imagesize::size(&path).ok().map(|s| {
                let px = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
                (px(s.width), px(s.height))
            });
            Some(ImageFile {
                bytes: meta.len(),
                size,
            })
        });
        self.images
            .borrow_mut()
            .insert(site_path.to_string(), found);
        found
    }
}

/// Checks every `*.html` and `*.htm` page under `dir`, hidden files and folders left out.
///
/// Without `base_url`, the site's address is taken from its pages' `og:url`s; when they
/// give none, no image file is checked. The only error is a `dir` that cannot be read;
/// a page that cannot be is a finding.
pub fn check_dir(dir: &Path, base_url: Option<&str>) -> anyhow::Result<CheckReport> {
    std::fs::read_dir(dir).with_context(|| format!("cannot read the folder {}", dir.display()))?;
    let mut findings = Vec::new();
    let mut pages = Vec::new();
    let walk = WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walk {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                let rel = e.path().map(|p| relative(dir, p)).unwrap_or_default();
                findings.push(finding(&rel, Severity::Error, "unreadable", e.to_string()));
                continue;
            }
        };
        let is_html = entry
            .path()
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("html") || ext.eq_ignore_ascii_case("htm"));
        if !entry.file_type().is_file() || !is_html {
            continue;
        }
        let rel = relative(dir, entry.path());
        match std::fs::read(entry.path()) {
            Ok(html) => pages.push((rel, read_page(&html))),
            Err(e) => findings.push(finding(&rel, Severity::Error, "unreadable", e.to_string())),
        }
    }
    let pages: Vec<(String, Tags)> = pages
        .into_iter()
        .filter_map(|(rel, page)| Some((rel, page?)))
        .collect();
    let base_url = base_url
        .map(str::to_string)
        .or_else(|| site_base_url(&pages));
    let site = SiteFiles::on_disk(dir, base_url.as_deref());
    for (rel, tags) in &pages {
        findings.extend(lint(rel, tags, &site));
    }
    findings.sort_by(|a, b| a.file.cmp(&b.file));
    let shown = dir.display().to_string();
    for f in &mut findings {
        f.dir.clone_from(&shown);
    }
    Ok(CheckReport {
        pages: pages.len(),
        findings,
    })
}

/// Checks one page; `rel` is its path in the site, used only to name it.
pub fn check_page(rel: &str, html: &[u8], site: &SiteFiles) -> Vec<Finding> {
    match read_page(html) {
        Some(tags) => lint(rel, &tags, site),
        None => Vec::new(),
    }
}

/// The page's meta tags, values decoded; `None` for a page no network previews: one
/// marked `noindex`, or a redirect.
fn read_page(html: &[u8]) -> Option<Tags> {
    let tags: Tags = existing_meta(html)
        .into_iter()
        .map(|(key, value)| (key, decode_entities(&value)))
        .collect();
    let noindex = tags
        .iter()
        .any(|(k, v)| k == "robots" && v.to_ascii_lowercase().contains("noindex"));
    (!noindex && !is_redirect(html)).then_some(tags)
}

/// Whether the page has a `<meta http-equiv="refresh">`.
fn is_redirect(html: &[u8]) -> bool {
    let found = RefCell::new(false);
    let settings = Settings::new()
        .with_strict(false)
        .append_element_content_handler(element!("meta[http-equiv]", |el| {
            let equiv = el.get_attribute("http-equiv").unwrap_or_default();
            if equiv.trim().eq_ignore_ascii_case("refresh") {
                *found.borrow_mut() = true;
            }
            Ok(())
        }));
    let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
    // As in `existing_meta`: not strict and handlers that never fail, so nothing to report.
    let _ = rewriter.write(html).and_then(|()| rewriter.end());
    found.into_inner()
}

/// Every rule, over the decoded tags of one page.
fn lint(rel: &str, tags: &[(String, String)], site: &SiteFiles) -> Vec<Finding> {
    use Severity::{Error, Warning};
    let mut out = Vec::new();
    let mut push = |severity, code, message: String| {
        out.push(finding(rel, severity, code, message));
    };
    let first = |key: &str| {
        let values = tags.iter().filter(|(k, _)| k == key);
        values.map(|(_, v)| v.trim()).find(|v| !v.is_empty())
    };

    if first("og:title").is_none() {
        push(Error, "missing-og-title", "og:title is missing".into());
    }
    let image = first("og:image");
    match image {
        None => push(
            Error,
            "missing-og-image",
            "og:image is missing; links to this page are shared without a picture".into(),
        ),
        Some(url) if !is_http_url(url) => push(
            Error,
            "relative-og-image",
            format!("og:image `{url}` is relative; social networks need an absolute URL"),
        ),
        Some(url) => {
            if url[..5].eq_ignore_ascii_case("http:") {
                let message = format!(
                    "og:image `{url}` is http://; use https://, which some networks require"
                );
                push(Warning, "insecure-og-image", message);
            }
            if let Some(path) = site.site_path(url) {
                let sized = [first("og:image:width"), first("og:image:height")];
                for (severity, code, message) in image_file(url, &path, site.image(&path), sized) {
                    push(severity, code, message);
                }
            }
        }
    }
    if image.is_some() && first("og:image:alt").is_none() {
        let message = "og:image:alt is missing; screen readers say nothing of the picture";
        push(Warning, "missing-og-image-alt", message.into());
    }

    let has_image = image.is_some() || first("twitter:image").is_some();
    match first("twitter:card") {
        None => push(
            Warning,
            "missing-twitter-card",
            "twitter:card is missing; X chooses the card's layout by itself".into(),
        ),
        Some(card) if card.eq_ignore_ascii_case("summary_large_image") && !has_image => push(
            Error,
            "card-without-image",
            "twitter:card is summary_large_image but the page has no og:image or twitter:image"
                .into(),
        ),
        Some(card) if card.eq_ignore_ascii_case("summary") && has_image => push(
            Warning,
            "small-card-with-image",
            "twitter:card is summary, so X shows the image as a small thumbnail; \
             summary_large_image shows it whole"
                .into(),
        ),
        Some(_) => {}
    }

    for (severity, code, message) in repeated_tags(tags) {
        push(severity, code, message);
    }
    out
}

/// The findings about the file behind og:image `url`, at `path` in the site; `sized` is
/// what og:image:width and og:image:height say.
fn image_file(
    url: &str,
    path: &str,
    file: Option<ImageFile>,
    sized: [Option<&str>; 2],
) -> Vec<Found> {
    use Severity::{Error, Warning};
    let Some(file) = file else {
        let message = format!("og:image `{url}` points to {path}, which is not in this folder");
        return vec![(Error, "missing-image-file", message)];
    };
    let mut out = Vec::new();
    match file.size {
        None => {
            let message = format!(
                "og:image {path} is no image whose size can be read; \
                 social networks take PNG, JPEG, GIF and WebP"
            );
            out.push((Error, "unreadable-image", message));
        }
        Some((w, h)) => {
            let said = sized.map(|s| s.map(|s| (s, s.parse::<u32>().ok())));
            let wrong =
                |said: Option<(&str, Option<u32>)>, real| said.is_some_and(|s| s.1 != Some(real));
            if wrong(said[0], w) || wrong(said[1], h) {
                let [sw, sh] = said.map(|s| s.map_or("?", |s| s.0));
                let message =
                    format!("og:image is {w}×{h} but og:image:width/height say {sw}×{sh}");
                out.push((Error, "size-mismatch", message));
            }
            if said.iter().any(Option::is_none) {
                let message = format!(
                    "og:image:width/height are missing (the image is {w}×{h}); \
                     without them Facebook shows no picture on a link's first share"
                );
                out.push((Warning, "missing-image-size", message));
            }
        }
    }
    let size = format!("og:image {path} is {}", human_size(file.bytes));
    if file.bytes > FACEBOOK_MAX_BYTES {
        let message = format!("{size}; Facebook takes at most 8 MB, X 5 MB");
        out.push((Error, "too-big-facebook", message));
    } else if file.bytes > X_MAX_BYTES {
        out.push((Error, "too-big-x", format!("{size}; X takes at most 5 MB")));
    } else if file.bytes > WHATSAPP_MAX_BYTES {
        let message = format!("{size}; WhatsApp-style previews drop images over 600 KB");
        out.push((Warning, "big-for-whatsapp", message));
    }
    out
}

/// og:/twitter: properties given more than once.
fn repeated_tags(tags: &[(String, String)]) -> Vec<Found> {
    let mut by_key: Vec<(&str, Vec<&str>)> = Vec::new();
    for (key, value) in tags {
        if !(key.starts_with("og:") || key.starts_with("twitter:")) {
            continue;
        }
        match by_key.iter_mut().find(|(k, _)| k == key) {
            Some((_, values)) => values.push(value.trim()),
            None => by_key.push((key, vec![value.trim()])),
        }
    }
    let distinct = |values: &[&str]| {
        let mut d = values.to_vec();
        d.sort_unstable();
        d.dedup();
        d.len()
    };
    let images = by_key
        .iter()
        .find(|(k, _)| *k == "og:image")
        .map_or(0, |(_, v)| distinct(v));
    let mut out = Vec::new();
    for (key, values) in by_key.iter().filter(|(_, v)| v.len() > 1) {
        let n = values.len();
        // Open Graph allows arrays: each og:image is followed by its own :width, :alt….
        let array = (key.starts_with("og:image:") && images > 1) || *key == "og:locale:alternate";
        if array {
            continue;
        }
        if distinct(values) == 1 {
            let message = format!("{key} appears {n} times with the same value");
            out.push((Severity::Warning, "duplicate-tags", message));
        } else if *key == "og:image" {
            let message = format!(
                "og:image appears {n} times with different images; \
                 most networks show only the first, `{}`",
                values[0]
            );
            out.push((Severity::Warning, "several-og-images", message));
        } else {
            let listed: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
            let message = format!(
                "{key} appears {n} times with different values: {}",
                listed.join(", ")
            );
            out.push((Severity::Error, "conflicting-tags", message));
        }
    }
    out
}

/// The site's base URL as its pages' `og:url`s say: `posts/a/index.html` with og:url
/// `https://x.org/blog/posts/a/` says `https://x.org/blog`. The most common answer wins;
/// when no og:url matches its page's place, the most common scheme and host.
fn site_base_url(pages: &[(String, Tags)]) -> Option<String> {
    let mut bases: BTreeMap<String, usize> = BTreeMap::new();
    let mut origins: BTreeMap<String, usize> = BTreeMap::new();
    for (rel, tags) in pages {
        let Some((_, url)) = tags.iter().find(|(k, _)| k == "og:url") else {
            continue;
        };
        let url = url.trim().split(['?', '#']).next().unwrap_or_default();
        let Some((scheme, rest)) = url.split_once("://") else {
            continue;
        };
        if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
            continue;
        }
        let host = rest.split('/').next().unwrap_or_default();
        *origins
            .entry(format!("{scheme}://{host}").to_ascii_lowercase())
            .or_default() += 1;
        let place = rel
            .strip_suffix("index.html")
            .or_else(|| rel.strip_suffix("index.htm"));
        let pretty = rel
            .strip_suffix(".html")
            .or_else(|| rel.strip_suffix(".htm"));
        let url = percent_decode(url);
        let base = [place, pretty, Some(rel.as_str())]
            .into_iter()
            .flatten()
            .find_map(|page| {
                url.strip_suffix(page)
                    .filter(|b| page.is_empty() || b.ends_with('/'))
            });
        if let Some(base) = base {
            *bases
                .entry(base.trim_end_matches('/').to_string())
                .or_default() += 1;
        }
    }
    let most_common = |counts: BTreeMap<String, usize>| {
        // Ties go to the first in sorted order, so the answer does not depend on the walk.
        let mut best: Option<(String, usize)> = None;
        for (key, n) in counts {
            if best.as_ref().is_none_or(|(_, m)| n > *m) {
                best = Some((key, n));
            }
        }
        best.map(|(key, _)| key)
    };
    most_common(bases).or_else(|| most_common(origins))
}

fn finding(rel: &str, severity: Severity, code: &'static str, message: String) -> Finding {
    Finding {
        file: rel.to_string(),
        severity,
        code,
        message,
        dir: String::new(),
    }
}

/// `path` under `dir`, `/`-separated.
fn relative(dir: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(dir).unwrap_or(path);
    let parts: Vec<_> = rel.iter().map(|c| c.to_string_lossy()).collect();
    parts.join("/")
}

fn is_http_url(url: &str) -> bool {
    let scheme = url.split_once("://").map(|(s, _)| s);
    scheme.is_some_and(|s| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"))
}

fn without_scheme(url: &str) -> &str {
    url.split_once("://").map_or(url, |(_, rest)| rest)
}

/// `612 KB`, `6.1 MB`, in the decimal units the networks' limits are given in.
fn human_size(bytes: u64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1e6)
    } else {
        format!("{} KB", bytes.div_ceil(1000))
    }
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays as is.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| {
            let h = std::str::from_utf8(h).ok()?;
            u8::from_str_radix(h, 16).ok()
        });
        match hex {
            Some(b) if bytes[i] == b'%' => {
                out.push(b);
                i += 3;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://blog.test";
    const CARD: ImageFile = ImageFile {
        bytes: 80_000,
        size: Some((1200, 630)),
    };

    /// A page whose every tag is right: the card `og/a.png`, 1200×630.
    const GOOD: &str = r#"<meta property="og:title" content="A">
<meta property="og:url" content="https://blog.test/posts/a/">
<meta property="og:image" content="https://blog.test/og/a.png">
<meta property="og:image:width" content="1200">
<meta property="og:image:height" content="630">
<meta property="og:image:alt" content="A">
<meta name="twitter:card" content="summary_large_image">
<meta name="twitter:image" content="https://blog.test/og/a.png">"#;

    /// `GOOD` with `edits` applied: each `(from, to)` replaces the first `from`.
    fn page(edits: &[(&str, &str)]) -> String {
        let mut head = GOOD.to_string();
        for (from, to) in edits {
            assert!(head.contains(from), "{from} not in the page");
            head = head.replacen(from, to, 1);
        }
        format!("<!doctype html><html><head><title>A</title>\n{head}\n</head><body></body></html>")
    }

    fn codes(html: &str, site: &SiteFiles) -> Vec<&'static str> {
        let found = check_page("posts/a/index.html", html.as_bytes(), site);
        assert!(found.iter().all(|f| f.file == "posts/a/index.html"));
        found.iter().map(|f| f.code).collect()
    }

    fn site(files: &[(&str, ImageFile)]) -> SiteFiles {
        SiteFiles::in_memory(Some(BASE), files.iter().map(|(p, f)| (p.to_string(), *f)))
    }

    const CARD_TAG: &str = r#"<meta name="twitter:card" content="summary_large_image">"#;
    const IMAGE_TAG: &str = r#"<meta property="og:image" content="https://blog.test/og/a.png">"#;

    /// What it guards, edits of `GOOD`, the codes found in order.
    type PageCase = (
        &'static str,
        &'static [(&'static str, &'static str)],
        &'static [&'static str],
    );

    const PAGE_CASES: &[PageCase] = &[
        ("a good page", &[], &[]),
        (
            "og:title missing",
            &[(r#"<meta property="og:title" content="A">"#, "")],
            &["missing-og-title"],
        ),
        (
            "og:title empty",
            &[(r#"og:title" content="A""#, r#"og:title" content=" ""#)],
            &["missing-og-title"],
        ),
        (
            "og:image missing, twitter:image keeps the large card valid",
            &[(IMAGE_TAG, "")],
            &["missing-og-image"],
        ),
        (
            "no image at all with a large card",
            &[
                (IMAGE_TAG, ""),
                (
                    r#"<meta name="twitter:image" content="https://blog.test/og/a.png">"#,
                    "",
                ),
                (CARD_TAG, r#"<meta name="twitter:card" content="summary">"#),
            ],
            &["missing-og-image"],
        ),
        (
            "summary_large_image without any image",
            &[
                (IMAGE_TAG, ""),
                (
                    r#"<meta name="twitter:image" content="https://blog.test/og/a.png">"#,
                    "",
                ),
            ],
            &["missing-og-image", "card-without-image"],
        ),
        (
            "relative og:image",
            &[(
                "content=\"https://blog.test/og/a.png\"",
                "content=\"/og/a.png\"",
            )],
            &["relative-og-image"],
        ),
        (
            "protocol-relative og:image",
            &[(
                "content=\"https://blog.test/og/a.png\"",
                "content=\"//blog.test/og/a.png\"",
            )],
            &["relative-og-image"],
        ),
        (
            "http og:image is still checked against the file",
            &[(
                "content=\"https://blog.test/og/a.png\"",
                "content=\"http://BLOG.test/og/a.png\"",
            )],
            &["insecure-og-image"],
        ),
        (
            "card file missing",
            &[("https://blog.test/og/a.png", "https://blog.test/og/b.png")],
            &["missing-image-file"],
        ),
        (
            "an image elsewhere is not looked for",
            &[("https://blog.test/og/a.png", "https://cdn.test/og/b.png")],
            &[],
        ),
        (
            "a host that only starts like the base is elsewhere",
            &[(
                "https://blog.test/og/a.png",
                "https://blog.test.cdn/og/b.png",
            )],
            &[],
        ),
        (
            "query, fragment, dot segments and percent escapes",
            &[(
                "https://blog.test/og/a.png",
                "https://blog.test/x/../og/./%61.png?v=2#f",
            )],
            &[],
        ),
        (
            "character references decoded before the lookup",
            &[(
                "https://blog.test/og/a.png",
                "https://blog.test/og/a.png?v=1&amp;w=2",
            )],
            &[],
        ),
        (
            "width differs",
            &[(r#"content="1200""#, r#"content="1000""#)],
            &["size-mismatch"],
        ),
        (
            "height not a number",
            &[(r#"content="630""#, r#"content="630px""#)],
            &["size-mismatch"],
        ),
        (
            "width and height missing",
            &[
                (r#"<meta property="og:image:width" content="1200">"#, ""),
                (r#"<meta property="og:image:height" content="630">"#, ""),
            ],
            &["missing-image-size"],
        ),
        (
            "only the height given, and wrong",
            &[
                (r#"<meta property="og:image:width" content="1200">"#, ""),
                (r#"content="630""#, r#"content="600""#),
            ],
            &["size-mismatch", "missing-image-size"],
        ),
        (
            "og:image:alt missing",
            &[(r#"<meta property="og:image:alt" content="A">"#, "")],
            &["missing-og-image-alt"],
        ),
        (
            "twitter:card missing",
            &[(CARD_TAG, "")],
            &["missing-twitter-card"],
        ),
        (
            "small card with an image",
            &[(CARD_TAG, r#"<meta name="twitter:card" content="summary">"#)],
            &["small-card-with-image"],
        ),
        (
            "conflicting og:title",
            &[(CARD_TAG, r#"<meta property="og:title" content="B">"#)],
            &["missing-twitter-card", "conflicting-tags"],
        ),
        (
            "duplicated og:title, written two ways",
            &[
                (
                    r#"og:title" content="A""#,
                    r#"og:title" content="A &amp; B""#,
                ),
                (CARD_TAG, "<meta property=og:title content='A &#38; B'>\n"),
            ],
            &["missing-twitter-card", "duplicate-tags"],
        ),
        (
            "conflicting twitter:card",
            &[(
                CARD_TAG,
                "<meta name=twitter:card content=summary_large_image>\n<meta name=twitter:card content=summary>",
            )],
            &["conflicting-tags"],
        ),
        (
            "several og:images, each with its own size tags",
            &[(
                r#"<meta property="og:image:alt" content="A">"#,
                r#"<meta property="og:image:alt" content="A">
<meta property="og:image" content="https://cdn.test/b.png">
<meta property="og:image:width" content="600">
<meta property="og:image:height" content="600">
<meta property="og:image:alt" content="B">"#,
            )],
            &["several-og-images"],
        ),
        (
            "one og:image, two widths",
            &[(
                r#"<meta property="og:image:alt" content="A">"#,
                r#"<meta property="og:image:alt" content="A"><meta property="og:image:width" content="600">"#,
            )],
            &["conflicting-tags"],
        ),
        (
            "the same og:image twice",
            &[(
                IMAGE_TAG,
                concat!(
                    r#"<meta property="og:image" content="https://blog.test/og/a.png">"#,
                    r#"<meta property="og:image" content="https://blog.test/og/a.png">"#,
                ),
            )],
            &["duplicate-tags"],
        ),
        (
            "article:tag and og:locale:alternate may repeat",
            &[(
                CARD_TAG,
                r#"<meta name="twitter:card" content="summary_large_image">
<meta property="article:tag" content="a"><meta property="article:tag" content="b">
<meta property="og:locale:alternate" content="fr_FR"><meta property="og:locale:alternate" content="de_DE">"#,
            )],
            &[],
        ),
        (
            "upper-case markup",
            &[(
                IMAGE_TAG,
                r#"<META PROPERTY="OG:IMAGE" CONTENT="https://blog.test/og/a.png">"#,
            )],
            &[],
        ),
        (
            "noindex page skipped",
            &[
                (
                    IMAGE_TAG,
                    r#"<meta name="robots" content="NoIndex, follow">"#,
                ),
                (CARD_TAG, ""),
            ],
            &[],
        ),
        (
            "redirect skipped",
            &[
                (
                    IMAGE_TAG,
                    r#"<meta http-equiv="Refresh" content="0; url=/posts/b/">"#,
                ),
                (CARD_TAG, ""),
            ],
            &[],
        ),
    ];

    #[test]
    fn every_rule_on_one_page() {
        let site = site(&[("og/a.png", CARD)]);
        for (what, edits, want) in PAGE_CASES {
            assert_eq!(codes(&page(edits), &site), *want, "{what}");
        }
    }

    #[test]
    fn no_base_url_means_no_file_checks() {
        let site = SiteFiles::in_memory(None, []);
        let html = page(&[(r#"content="1200""#, r#"content="1000""#)]);
        assert_eq!(codes(&html, &site), Vec::<&str>::new());
    }

    #[test]
    fn budgets() {
        let cases: &[(u64, &[&str])] = &[
            (600_000, &[]),
            (600_001, &["big-for-whatsapp"]),
            (5_000_000, &["big-for-whatsapp"]),
            (5_000_001, &["too-big-x"]),
            (8_000_001, &["too-big-facebook"]),
        ];
        for (bytes, want) in cases {
            let site = site(&[(
                "og/a.png",
                ImageFile {
                    bytes: *bytes,
                    ..CARD
                },
            )]);
            assert_eq!(codes(&page(&[]), &site), *want, "{bytes} bytes");
        }
        let site = site(&[(
            "og/a.png",
            ImageFile {
                bytes: 6_100_000,
                ..CARD
            },
        )]);
        let found = check_page("a.html", page(&[]).as_bytes(), &site);
        assert_eq!(
            found[0].message,
            "og:image og/a.png is 6.1 MB; X takes at most 5 MB"
        );
    }

    #[test]
    fn not_an_image() {
        let site = site(&[(
            "og/a.png",
            ImageFile {
                bytes: 10,
                size: None,
            },
        )]);
        assert_eq!(codes(&page(&[]), &site), ["unreadable-image"]);
    }

    #[test]
    fn messages_quote_the_values() {
        let site = site(&[("og/a.png", CARD)]);
        let html = page(&[
            (r#"content="630""#, r#"content="600""#),
            (
                "content=\"https://blog.test/og/a.png\"",
                "content=\"/og/a.png\"",
            ),
        ]);
        let found = check_page("a.html", html.as_bytes(), &site);
        assert_eq!(
            found[0].message,
            "og:image `/og/a.png` is relative; social networks need an absolute URL"
        );
        let html = page(&[(r#"content="630""#, r#"content="600""#)]);
        let found = check_page("a.html", html.as_bytes(), &site);
        assert_eq!(
            found[0].message,
            "og:image is 1200×630 but og:image:width/height say 1200×600"
        );
    }

    #[test]
    fn decodes_character_references() {
        let cases = [
            ("a&amp;b", "a&b"),
            ("&lt;&gt;&quot;&apos;&#39;", "<>\"''"),
            ("&#233;&#xE9;&#XE9;", "ééé"),
            ("AT&T; R&D", "AT&T; R&D"),
            ("&amp", "&amp"),
            ("&#xZZ; &#; &;", "&#xZZ; &#; &;"),
            ("&amp;amp;", "&amp;"),
            ("a & b; c", "a & b; c"),
        ];
        for (raw, want) in cases {
            assert_eq!(decode_entities(raw), want, "{raw}");
        }
    }

    #[test]
    fn maps_urls_to_site_paths() {
        let cases = [
            (
                "https://blog.test",
                "https://blog.test/og/a.png",
                Some("og/a.png"),
            ),
            (
                "https://blog.test/",
                "http://blog.test/og/a.png",
                Some("og/a.png"),
            ),
            (
                "https://blog.test",
                "https://blog.test/og/caf%C3%A9%20x.png",
                Some("og/café x.png"),
            ),
            (
                "https://blog.test",
                "https://blog.test/../../etc/passwd",
                Some("etc/passwd"),
            ),
            ("https://blog.test", "https://other.test/og/a.png", None),
            (
                "https://x.test/blog",
                "https://x.test/blog/og/a.png?x",
                Some("og/a.png"),
            ),
            ("https://x.test/blog", "https://x.test/blogs/og/a.png", None),
            ("https://x.test/blog", "https://x.test/og/a.png", None),
        ];
        for (base, url, want) in cases {
            let site = SiteFiles::in_memory(Some(base), []);
            assert_eq!(site.site_path(url).as_deref(), want, "{url} under {base}");
        }
    }

    #[test]
    fn base_url_from_og_urls() {
        let page = |rel: &str, url: &str| (rel.to_string(), vec![("og:url".into(), url.into())]);
        let cases = [
            (
                vec![
                    page("index.html", "https://x.test/blog/"),
                    page("posts/a/index.html", "https://x.test/blog/posts/a/"),
                    page("about.html", "https://x.test/blog/about"),
                ],
                Some("https://x.test/blog"),
            ),
            (
                vec![
                    page("a.html", "https://x.test/elsewhere/"),
                    page("b.html", "HTTPS://Y.test/b/"),
                    page("c.html", "https://y.test/c"),
                ],
                Some("https://y.test"),
            ),
            (vec![page("a.html", "/a/")], None),
            (vec![], None),
        ];
        for (pages, want) in cases {
            assert_eq!(site_base_url(&pages).as_deref(), want, "{pages:?}");
        }
    }

    #[test]
    fn display_names_the_file_under_the_folder_typed() {
        let mut f = finding(
            "posts/a/index.html",
            Severity::Error,
            "missing-og-image",
            "og:image is missing".into(),
        );
        assert_eq!(
            f.to_string(),
            "error: posts/a/index.html: og:image is missing"
        );
        for dir in ["public", "public/"] {
            f.dir = dir.to_string();
            assert_eq!(
                f.to_string(),
                "error: public/posts/a/index.html: og:image is missing"
            );
        }
    }

    #[test]
    fn json_shape() {
        let report = CheckReport {
            pages: 2,
            findings: vec![
                finding("a.html", Severity::Warning, "duplicate-tags", "m".into()),
                finding("b.html", Severity::Error, "missing-og-title", "n".into()),
            ],
        };
        assert_eq!((report.errors(), report.warnings()), (1, 1));
        assert_eq!(
            serde_json::to_string(&report).unwrap(),
            r#"{"pages":2,"findings":[{"file":"a.html","severity":"warning","code":"duplicate-tags","message":"m"},{"file":"b.html","severity":"error","code":"missing-og-title","message":"n"}]}"#
        );
    }

    /// The first bytes of a PNG: all `imagesize` reads.
    fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend(width.to_be_bytes());
        png.extend(height.to_be_bytes());
        png.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
        png
    }

    #[test]
    fn walks_the_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let write = |rel: &str, bytes: &[u8]| {
            let path = tmp.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        };
        write("og/a.png", &png_header(1200, 630));
        write("posts/a/index.html", page(&[]).as_bytes());
        write(
            "posts/b.HTM",
            page(&[(r#"content="630""#, r#"content="600""#)]).as_bytes(),
        );
        write("secret.html", b"<meta name=robots content=noindex>");
        write(".hidden/index.html", b"<p>no tags</p>");
        write("notes.txt", b"<p>no tags</p>");

        let report = check_dir(tmp.path(), None).unwrap();
        assert_eq!(report.pages, 2);
        let found: Vec<_> = report
            .findings
            .iter()
            .map(|f| (f.file.as_str(), f.code))
            .collect();
        assert_eq!(found, [("posts/b.HTM", "size-mismatch")]);
        let line = report.findings[0].to_string();
        assert!(
            line.starts_with(&format!(
                "error: {}/posts/b.HTM: og:image is 1200×630",
                tmp.path().display()
            )),
            "{line}"
        );

        // Given, the base URL wins over the og:urls: every card is elsewhere.
        let report = check_dir(tmp.path(), Some("https://elsewhere.test")).unwrap();
        assert!(report.findings.is_empty(), "{:?}", report.findings);

        assert!(check_dir(&tmp.path().join("missing"), None).is_err());
        assert!(check_dir(&tmp.path().join("notes.txt"), None).is_err());
    }

    #[test]
    fn looks_each_image_up_once() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("a.png"), png_header(2, 1)).unwrap();
        let site = SiteFiles::on_disk(tmp.path(), Some(BASE));
        let want = Some(ImageFile {
            bytes: 33,
            size: Some((2, 1)),
        });
        assert_eq!(site.image("a.png"), want);
        std::fs::remove_file(tmp.path().join("a.png")).unwrap();
        assert_eq!(site.image("a.png"), want);
        assert_eq!(site.image("b.png"), None);
    }
}
