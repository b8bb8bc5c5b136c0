//! The screenshot step: pictures of the sites posts point to (front matter
//! `screenshot`), through SnapSharp or a local headless Chromium, content-addressed
//! (`screenshots/<slug>.<hash12>.png`), fingerprinted and skipped when unchanged like
//! cards, and handed to templates as `page.screenshots`.

pub mod chromium;
pub mod target;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Result, anyhow};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::assets::{self, Executor, Job, Outcome};
use crate::config::{Config, ScreenshotBackend};
use crate::content::{Content, PageKind, Post};
use crate::fingerprint::{Fingerprint, FingerprintBuilder};
use crate::manifest::LiveManifest;
use crate::plan::{self, Decision, PlanOptions};
use crate::remote_cache::{Expect, RemoteCache, Shard};
use crate::render::snapsharp::SnapsharpClient;
use crate::render::{RENDERER_VERSION, RenderError};
use crate::report::{Problem, ProblemKind, Report, plural};
use crate::url::absolute;

/// One screenshot a post asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Shot {
    pub url: String,
    pub width: u32,
    pub height: u32,
    pub full_page: bool,
    /// Text for the picture's `alt`; default "Screenshot of <url>".
    pub alt: Option<String>,
    /// Every other key, passed to SnapSharp untouched.
    pub options: Map<String, Value>,
}

impl Shot {
    /// The body of `POST /screenshot`.
    pub fn body(&self) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("url".into(), self.url.clone().into());
        body.insert("width".into(), self.width.into());
        body.insert("height".into(), self.height.into());
        body.insert("format".into(), "png".into());
        body.insert("block_ads".into(), true.into());
        if self.full_page {
            body.insert("full_page".into(), true.into());
        }
        for (k, v) in &self.options {
            body.insert(k.clone(), v.clone());
        }
        body
    }

    /// What the picture must be: a PNG of the asked size, unless its size is the
    /// page's (a full page, an element).
    fn expect(&self) -> Expect {
        use crate::config::ImageFormat;
        let body = self.body();
        let page_sized = self.full_page || body.get("selector").is_some_and(|v| !v.is_null());
        let format = match body.get("format").and_then(Value::as_str) {
            Some("jpeg" | "jpg") => ImageFormat::Jpeg,
            Some("webp") => ImageFormat::Webp,
            _ => ImageFormat::Png,
        };
        Expect {
            format,
            size: (!page_sized).then_some((self.width, self.height)),
        }
    }

    /// Everything that decides the picture but the backend: a site is the same site
    /// through SnapSharp or Chromium, and a build with neither (CI without a key) can
    /// still tell a fresh screenshot from a stale one.
    fn fingerprint(&self) -> Fingerprint {
        let mut fp = FingerprintBuilder::new();
        fp.add("renderer", RENDERER_VERSION.as_bytes())
            .add("url", self.url.as_bytes())
            .add("size", format!("{}x{}", self.width, self.height).as_bytes())
            .add("options", Value::Object(self.body()).to_string().as_bytes());
        fp.finish()
    }
}

/// Reads a post's `screenshot` front matter: a URL, a list of URLs, or tables with `url`,
/// `width`, `height`, `full_page`, `alt` and any other option.
pub fn parse(value: &Value, default_width: u32, default_height: u32) -> Result<Vec<Shot>, String> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    items
        .into_iter()
        .map(|item| {
            let mut shot = Shot {
                url: String::new(),
                width: default_width,
                height: default_height,
                full_page: false,
                alt: None,
                options: Map::new(),
            };
            match item {
                Value::String(url) => shot.url = url.clone(),
                Value::Object(table) => {
                    for (key, v) in table {
                        match key.as_str() {
                            "url" => shot.url = v.as_str().ok_or("`screenshot.url` must be text")?.to_string(),
                            "width" | "height" => {
                                let n = v
                                    .as_u64()
                                    .filter(|n| (1..=16384).contains(n))
                                    .ok_or_else(|| format!("`screenshot.{key}` must be a whole number from 1 to 16384"))?;
                                if key == "width" {
                                    shot.width = n as u32;
                                } else {
                                    shot.height = n as u32;
                                }
                            }
                            "full_page" => shot.full_page = v.as_bool().ok_or("`screenshot.full_page` must be true or false")?,
                            "alt" => shot.alt = Some(v.as_str().ok_or("`screenshot.alt` must be text")?.to_string()),
                            _ => {
                                shot.options.insert(key.clone(), v.clone());
                            }
                        }
                    }
                }
                _ => return Err("`screenshot` must be a URL, a list of URLs, or tables with a `url`".to_string()),
            }
            check_url(&shot.url)?;
            Ok(shot)
        })
        .collect()
}

fn check_url(url: &str) -> Result<(), String> {
    if crate::url::is_http_url(url) {
        Ok(())
    } else {
        Err(format!(
            "the screenshot URL `{url}` is not an http or https URL"
        ))
    }
}

/// A backend that takes screenshots.
pub trait ShotBackend: Send + Sync {
    fn name(&self) -> &'static str;
    /// What taking `shot` would do, for `--dry-run`.
    fn describe(&self, shot: &Shot) -> String;
    fn shoot(&self, shot: &Shot) -> Result<Vec<u8>, RenderError>;
    /// Shots in flight at most.
    fn concurrency(&self) -> usize;
}

/// Screenshots through SnapSharp's `POST /screenshot`, on the client the cards use.
pub struct SnapsharpShots(pub Arc<SnapsharpClient>);

impl ShotBackend for SnapsharpShots {
    fn name(&self) -> &'static str {
        "snapsharp"
    }

    fn describe(&self, shot: &Shot) -> String {
        format!(
            "POST {}/screenshot {}",
            self.0.base_url(),
            Value::Object(shot.body())
        )
    }

    fn shoot(&self, shot: &Shot) -> Result<Vec<u8>, RenderError> {
        self.0.screenshot(shot.body())
    }

    fn concurrency(&self) -> usize {
        self.0.concurrency()
    }
}

/// Which screenshot backend a build uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// `backend = "off"`: screenshots are not taken, and nothing is said.
    Off,
    Snapsharp,
    Chromium,
    /// Nothing available (auto with no key and no Chromium, or `--offline`): skipped with
    /// one warning.
    Skip,
}

/// Resolves `[screenshots] backend` (DESIGN.md): auto is SnapSharp when a key is set,
/// else a local Chromium when one is found, else skip. An explicit backend that cannot
/// work is an error that stops the build before any work.
pub fn choose(
    setting: ScreenshotBackend,
    key_set: bool,
    offline: bool,
    chromium_found: bool,
    missing_key: &str,
) -> Result<Choice, String> {
    Ok(match setting {
        ScreenshotBackend::Off => Choice::Off,
        ScreenshotBackend::Snapsharp if offline => Choice::Skip,
        ScreenshotBackend::Snapsharp if !key_set => return Err(missing_key.to_string()),
        ScreenshotBackend::Snapsharp => Choice::Snapsharp,
        ScreenshotBackend::Chromium if chromium_found => Choice::Chromium,
        ScreenshotBackend::Chromium => return Err(NO_CHROMIUM.to_string()),
        ScreenshotBackend::Auto if key_set && !offline => Choice::Snapsharp,
        ScreenshotBackend::Auto if chromium_found => Choice::Chromium,
        ScreenshotBackend::Auto => Choice::Skip,
    })
}

const NO_CHROMIUM: &str = "`[screenshots] backend = \"chromium\"` but no Chromium was found\n  hint: install it (Debian/Ubuntu: `apt-get install chromium`) or set OGFORGE_CHROMIUM to its path; or use backend = \"snapsharp\" or \"off\"";

/// A screenshot as templates see it (`page.screenshots`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShotInfo {
    pub url: String,
    /// Site path of the picture, `/screenshots/a.0123456789ab.png`.
    pub src: String,
    /// Absolute URL of the picture.
    pub permalink: String,
    pub width: u32,
    pub height: u32,
    pub alt: String,
    /// Where the picture is now, for a card made from it.
    #[serde(skip)]
    pub local: PathBuf,
}

/// What the screenshot step did.
#[derive(Debug, Default)]
pub struct ShotOutcome {
    /// By page path, in front-matter order; failed shots are left out.
    pub shots: HashMap<String, Vec<ShotInfo>>,
    pub made: usize,
    pub fresh: usize,
    /// Downloaded from the shared cache.
    pub remote: usize,
    pub failed: usize,
    pub skipped: usize,
    /// With `--frozen`: every screenshot that is missing or stale, described.
    pub stale: Vec<String>,
    pub reasons: HashMap<PathBuf, String>,
    pub files: HashSet<String>,
    pub keys: HashSet<String>,
}

/// Everything the screenshot step needs from the build.
pub struct ShotStep<'a> {
    pub config: &'a Config,
    pub out: &'a Path,
    /// `None`: no backend available; every screenshot is skipped with one warning.
    pub backend: Option<&'a dyn ShotBackend>,
    /// `backend = "off"`: front matter is still checked, nothing is taken or said.
    pub off: bool,
    pub options: PlanOptions,
    pub dry_run: bool,
    /// Plan only; list what is not up to date in `stale`.
    pub frozen: bool,
    pub manifest: &'a LiveManifest,
    pub report: &'a Report,
    /// The shared cache, asked before any screenshot is taken.
    pub remote: Option<&'a RemoteCache>,
    /// `--shard K/N`: only the screenshots of this shard are taken.
    pub shard: Option<Shard>,
}

struct Planned<'a> {
    post: &'a Post,
    shot: Shot,
    fingerprint: Fingerprint,
    file: String,
    decision: Decision,
    key: String,
}

/// Takes every screenshot posts ask for that is not on disk yet.
pub fn run(step: &ShotStep<'_>, content: &Content) -> Result<ShotOutcome> {
    let ShotStep {
        config,
        out,
        report,
        ..
    } = *step;
    let mut outcome = ShotOutcome::default();
    let mut wanted: Vec<(&Post, Vec<Shot>)> = Vec::new();
    for post in content.posts.iter().filter(|p| p.kind == PageKind::Post) {
        let Some(value) = &post.front.screenshot else {
            continue;
        };
        match parse(value, config.screenshots.width, config.screenshots.height) {
            Ok(shots) => wanted.push((post, shots)),
            Err(e) => report.problem(
                Problem::input(&post.source, e)
                    .at_line(post.screenshot_line)
                    .with_hint("write `screenshot: https://example.com` or a list of such URLs"),
            ),
        }
    }
    if step.off {
        return Ok(outcome);
    }
    assets::remove_temporary_files(&out.join("screenshots"));
    let existing = assets::files_in(out, "screenshots");
    let mut planned = Vec::new();
    for (post, shots) in wanted {
        for (n, shot) in shots.into_iter().enumerate() {
            let fingerprint = shot.fingerprint();
            let file = format!(
                "screenshots/{}.{}.png",
                post.slug,
                &fingerprint.hash.to_hex()[..12]
            );
            let key = format!("screenshot:{}#{n}", post.source.display());
            let record = step.manifest.with(|m| m.assets.get(&key).cloned());
            let decision = match plan::decide(
                &fingerprint,
                record.as_ref(),
                existing.contains(&file),
                step.options,
            ) {
                // Whether a target is refused depends on the config, not on the shot's
                // inputs: decide it again.
                Decision::Failed(error) if error.starts_with(target::REFUSED) => {
                    Decision::Make("refused last time".into())
                }
                decision => decision,
            };
            if let Decision::Make(reason) = &decision {
                outcome
                    .reasons
                    .entry(post.source.clone())
                    .or_insert_with(|| format!("screenshot: {reason}"));
            }
            outcome.keys.insert(key.clone());
            planned.push(Planned {
                post,
                shot,
                fingerprint,
                file,
                decision,
                key,
            });
        }
    }

    if let Some(shard) = step.shard {
        planned.retain(|p| shard.owns(&p.fingerprint.hash));
    }
    let mut jobs: Vec<Job> = planned
        .iter()
        .map(|p| Job {
            file: p.file.clone(),
            fingerprint: p.fingerprint.clone(),
            decision: p.decision.clone(),
            owners: vec![(p.key.clone(), p.post.source.display().to_string())],
        })
        .collect();
    let mut fetched = vec![false; jobs.len()];
    if let (Some(remote), false) = (step.remote, step.dry_run || step.options.force) {
        fetched = assets::fetch_remote(
            remote,
            &mut jobs,
            &|i| planned[i].shot.expect(),
            out,
            step.manifest,
            report,
            step.shard.is_some(),
        );
        for (p, job) in planned.iter_mut().zip(&jobs) {
            p.decision = job.decision.clone();
        }
    }

    if step.frozen {
        for p in planned.iter().filter(|p| !p.decision.is_fresh()) {
            outcome.stale.push(format!(
                "{}: screenshot of {} ({})",
                p.post.source.display(),
                p.shot.url,
                reason_of(&p.decision)
            ));
        }
        if !outcome.stale.is_empty() {
            return Ok(outcome);
        }
    }
    let Some(backend) = step.backend else {
        // Nothing can take screenshots in this build: keep the fresh ones, skip the rest.
        let skipped: Vec<&Planned<'_>> =
            planned.iter().filter(|p| !p.decision.is_fresh()).collect();
        if !skipped.is_empty() {
            let mut posts: Vec<String> = skipped
                .iter()
                .map(|p| p.post.source.display().to_string())
                .collect();
            posts.dedup();
            report.problem(
                Problem::warning(
                    crate::config::CONFIG_FILE,
                    format!(
                        "{} skipped: no SnapSharp key and no Chromium ({})",
                        plural(skipped.len(), "screenshot"),
                        posts.join(", ")
                    ),
                )
                .with_hint("set SNAPSHARP_API_KEY, install chromium, or set `[screenshots] backend = \"off\"`"),
            );
            outcome.skipped = skipped.len();
        }
        for (p, fetched) in planned.iter().zip(&fetched) {
            if !p.decision.is_fresh() {
                continue;
            }
            if *fetched {
                outcome.remote += 1;
            } else {
                outcome.fresh += 1;
            }
            outcome.files.insert(p.file.clone());
            record_shot(&mut outcome, config, out, p);
        }
        return Ok(outcome);
    };

    if step.dry_run {
        for p in planned
            .iter()
            .filter(|p| matches!(p.decision, Decision::Make(_)))
        {
            report.info(format!(
                "would {} -> {} (for {})",
                backend.describe(&p.shot),
                p.file,
                p.post.source.display()
            ));
        }
        return Ok(outcome);
    }

    let executor = Executor {
        what: "screenshots",
        out,
        concurrency: backend.concurrency(),
        manifest: step.manifest,
        report,
    };
    let expect = |i: usize| planned[i].shot.expect();
    let upload = step
        .remote
        .map(|r| (r, &expect as &(dyn Fn(usize) -> Expect + Sync)));
    let outcomes = executor
        .execute_uploading(&jobs, &|i| backend.shoot(&planned[i].shot), upload)
        .map_err(|message| anyhow!(message))?;
    for ((p, result), fetched) in planned.iter().zip(outcomes).zip(fetched) {
        match result {
            Outcome::Fresh | Outcome::Made => {
                if result == Outcome::Made {
                    outcome.made += 1;
                } else if fetched {
                    outcome.remote += 1;
                } else {
                    outcome.fresh += 1;
                }
                outcome.files.insert(p.file.clone());
                record_shot(&mut outcome, config, out, p);
            }
            Outcome::Failed(message) => {
                outcome.failed += 1;
                let problem = match message.strip_prefix(target::REFUSED) {
                    Some(reason) => Problem::input(
                        &p.post.source,
                        format!("screenshot of {} refused: {reason}", p.shot.url),
                    )
                    .with_hint(target::HINT),
                    None => Problem::input(
                        &p.post.source,
                        format!(
                            "the screenshot of {} could not be made: {message}",
                            p.shot.url
                        ),
                    ),
                };
                report.problem(Problem {
                    kind: ProblemKind::Asset,
                    ..problem
                });
            }
        }
    }
    Ok(outcome)
}

/// A shot that is on disk, as templates will see it.
fn record_shot(outcome: &mut ShotOutcome, config: &Config, out: &Path, p: &Planned<'_>) {
    let (width, height) = imagesize::size(out.join(&p.file))
        .map(|s| (s.width as u32, s.height as u32))
        .unwrap_or((p.shot.width, p.shot.height));
    outcome
        .shots
        .entry(p.post.path.clone())
        .or_default()
        .push(ShotInfo {
            url: p.shot.url.clone(),
            src: format!("/{}", p.file),
            permalink: absolute(&config.site.base_url, &p.file),
            width,
            height,
            alt: p
                .shot
                .alt
                .clone()
                .unwrap_or_else(|| format!("Screenshot of {}", p.shot.url)),
            local: out.join(&p.file),
        });
}

fn reason_of(decision: &Decision) -> String {
    match decision {
        Decision::Fresh => "fresh".into(),
        Decision::Make(reason) => reason.clone(),
        Decision::Failed(error) => format!("failed: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn front_matter_forms() {
        let one = parse(&json!("https://a.test"), 1280, 720).unwrap();
        assert_eq!(
            (one[0].url.as_str(), one[0].width, one[0].height),
            ("https://a.test", 1280, 720)
        );
        let list = parse(&json!(["https://a.test", "http://b.test/x"]), 1280, 720).unwrap();
        assert_eq!(list.len(), 2);
        let table = parse(
            &json!([{"url": "https://c.test", "width": 800, "height": 600, "full_page": true, "delay": 2, "selector": "#main"}]),
            1280,
            720,
        )
        .unwrap();
        let body = table[0].body();
        assert_eq!(body["width"], 800);
        assert_eq!(body["full_page"], true);
        assert_eq!(body["delay"], 2, "other options pass through untouched");
        assert_eq!(body["selector"], "#main");
        assert_eq!(body["block_ads"], true);
    }

    #[test]
    fn only_http_and_https() {
        for bad in [
            json!("file:///etc/passwd"),
            json!("javascript:alert(1)"),
            json!("ftp://x.test"),
            json!("https://"),
            json!(42),
            json!([{"width": 3}]),
        ] {
            assert!(parse(&bad, 1280, 720).is_err(), "{bad}");
        }
        assert!(parse(&json!("HTTPS://Example.com"), 1, 1).is_ok());
    }

    #[test]
    fn backend_choice() {
        use ScreenshotBackend::*;
        let c = |s, key, offline, chromium| choose(s, key, offline, chromium, "no key");
        assert_eq!(c(Auto, true, false, true), Ok(Choice::Snapsharp));
        assert_eq!(c(Auto, false, false, true), Ok(Choice::Chromium));
        assert_eq!(
            c(Auto, true, true, true),
            Ok(Choice::Chromium),
            "--offline: local only"
        );
        assert_eq!(c(Auto, false, false, false), Ok(Choice::Skip));
        assert_eq!(c(Off, true, false, true), Ok(Choice::Off));
        assert_eq!(c(Snapsharp, false, false, true), Err("no key".into()));
        assert_eq!(c(Snapsharp, false, true, true), Ok(Choice::Skip));
        assert!(
            c(Chromium, true, false, false)
                .unwrap_err()
                .contains("apt-get install chromium")
        );
    }

    #[test]
    fn fingerprint_follows_url_and_options() {
        let a = parse(&json!("https://a.test"), 1280, 720)
            .unwrap()
            .remove(0);
        let b = parse(&json!("https://b.test"), 1280, 720)
            .unwrap()
            .remove(0);
        let c = parse(&json!({"url": "https://a.test", "delay": 1}), 1280, 720)
            .unwrap()
            .remove(0);
        assert_ne!(a.fingerprint().hash, b.fingerprint().hash);
        assert_ne!(a.fingerprint().hash, c.fingerprint().hash);
        assert_eq!(a.fingerprint().hash, a.clone().fingerprint().hash);
    }
}
