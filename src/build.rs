//! `ogforge build`: the pipeline from a site folder to a website, in one call.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use rayon::prelude::*;

use crate::assets;
use crate::backends::{CardBackend, load_fonts};
use crate::cards;
use crate::config::{Config, OgBackend};
use crate::content::{self, Post};
use crate::fingerprint::FingerprintBuilder;
use crate::fsutil::{Written, copy_if_changed, write_atomic, write_if_changed};
use crate::manifest::{LiveManifest, Manifest, PageRecord};
use crate::plan::PlanOptions;
use crate::remote_cache::{CacheSummary, RemoteCache, Shard};
use crate::render::RENDERER_VERSION;
use crate::render::snapsharp::{ApiKey, SnapsharpClient};
use crate::report::{Problem, ProblemKind, Report, display_path, plural};
use crate::screenshots::{
    self, Choice, ShotBackend, ShotStep, SnapsharpShots, chromium as shot_chromium,
};
use crate::site::RenderedPage;
use crate::site::inject::{MetaTags, OgImage, inject_meta};
use crate::site::{self, Theme, templates::BUILT_IN_STATIC};

/// What the user asked of this build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub site_dir: PathBuf,
    /// Build posts marked `draft: true` too.
    pub drafts: bool,
    /// Redo every card and rewrite every page.
    pub force: bool,
    /// Ask again for assets that failed permanently with the same inputs.
    pub retry_failed: bool,
    /// Use the local backend whatever the config says.
    pub offline: bool,
    /// Say which cards would be made (and which API calls), make and write nothing.
    pub dry_run: bool,
    /// CI: make no card or screenshot and call nothing; if any is missing or stale, name
    /// them all, write nothing, and exit 3.
    pub frozen: bool,
    /// Fill [`BuildSummary::assets`] even when nothing changed (it costs reading the
    /// manifest, which a no-op build otherwise skips).
    pub list_assets: bool,
    /// `--shard K/N`: make and upload only this shard's assets to the shared cache;
    /// write no page.
    pub shard: Option<Shard>,
    /// Leave a usage record in the shared cache for `cache prune` (`ogforge build`;
    /// `watch` and `serve` rebuild on every save and would leave one per save).
    pub record_cache_use: bool,
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
    /// Cards whose file was already there, made from the same inputs.
    pub cards_fresh: usize,
    /// Cards downloaded from the shared cache.
    pub cards_remote: usize,
    pub cards_failed: usize,
    pub screenshots_made: usize,
    pub screenshots_fresh: usize,
    pub screenshots_remote: usize,
    pub screenshots_failed: usize,
    pub screenshots_skipped: usize,
    /// Card and screenshot files in the output that no page refers to any more.
    pub leftovers: usize,
    /// Every asset of the site and its state, as the manifest now records it.
    pub assets: BTreeMap<String, crate::manifest::AssetRecord>,
    pub output_dir: PathBuf,
    pub elapsed: Duration,
    /// What the shared cache did, when there is one.
    pub cache: Option<CacheSummary>,
    /// The shard this build made, with `--shard`.
    pub shard: Option<Shard>,
}

impl BuildSummary {
    /// The closing lines: what was built, where, how long it took, what is left over,
    /// what went wrong.
    pub fn to_line(&self, report: &Report) -> String {
        let errors = report.count(ProblemKind::Input) + report.count(ProblemKind::Asset);
        let mut line = match self.shard {
            Some(shard) => format!(
                "shard {shard}: {} and {} made, {} there already (in the shared cache or on this machine), in {:.2}s; no page written",
                plural(self.cards_rendered, "card"),
                plural(self.screenshots_made, "screenshot"),
                plural(
                    self.cards_remote
                        + self.cards_fresh
                        + self.screenshots_remote
                        + self.screenshots_fresh,
                    "asset"
                ),
                self.elapsed.as_secs_f64(),
            ),
            None => self.build_line(),
        };
        if let Some(cache) = &self.cache {
            line.push_str(&format!(
                "\nshared cache {}: {} found, {} missing, {} uploaded ({} down, {} up)",
                cache.url,
                cache.hits,
                cache.misses,
                cache.uploads,
                crate::config::ByteSize(cache.bytes_downloaded),
                crate::config::ByteSize(cache.bytes_uploaded),
            ));
        }
        if self.leftovers > 0 {
            line.push_str(&format!(
                "\n{} no page uses any more; `ogforge clean` removes them",
                plural(self.leftovers, "card file")
            ));
        }
        if errors > 0 {
            line.push_str(&format!("\n{} above", plural(errors, "error")));
        }
        line
    }

    fn build_line(&self) -> String {
        format!(
            "built {} ({}) into {} in {:.2}s; {} drawn, {} up to date{}{}; {} written, {} unchanged",
            plural(self.pages, "page"),
            plural(self.posts, "post"),
            self.output_dir.display(),
            self.elapsed.as_secs_f64(),
            plural(self.cards_rendered, "card"),
            self.cards_fresh,
            if self.cards_remote > 0 {
                format!(", {} from the shared cache", self.cards_remote)
            } else {
                String::new()
            },
            if self.cards_failed > 0 {
                format!(", {} failed", self.cards_failed)
            } else {
                String::new()
            },
            plural(self.files_written, "file"),
            self.files_unchanged,
        )
    }
}

/// Builds the site. Problems with single inputs go to `report`; an `Err` means nothing
/// useful could be built (no config, a broken theme, the API refused the key).
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
    let out = config.output_dir(site_dir);
    let out = out.strip_prefix(".").map(Path::to_path_buf).unwrap_or(out);
    // Nothing changed since a build without problems: done, having only read the inputs.
    let inputs = crate::stamp::inputs(site_dir, &config, options);
    let may_skip = !(options.force || options.dry_run || options.retry_failed)
        && options.shard.is_none()
        && report.verbosity() < crate::report::Verbosity::Verbose;
    if let Some(mut summary) = inputs
        .filter(|_| may_skip)
        .and_then(|inputs| crate::stamp::check(site_dir, inputs, &out))
    {
        if options.list_assets {
            summary.assets = Manifest::load(site_dir, report).assets;
        }
        summary.elapsed = started.elapsed();
        return Ok(summary);
    }
    let fonts = load_fonts(&config, site_dir)?;
    // A dry run asks nothing of anyone; a frozen build may read from the cache.
    let remote = if options.dry_run {
        None
    } else {
        RemoteCache::from_config(&config.cache, options.frozen).map_err(|e| anyhow!(e))?
    };
    if let (Some(shard), None) = (options.shard, &remote) {
        bail!(
            "--shard {shard} needs a shared cache to leave its share in\n  hint: set `[cache] url` in {} or {}",
            crate::config::CONFIG_FILE,
            crate::remote_cache::URL_ENV
        );
    }
    // One SnapSharp client for cards and screenshots: one rate limit for both.
    let key = ApiKey::from_env(&config.snapsharp.api_key_env);
    let remote_cards = config.og.backend == OgBackend::Snapsharp && !options.offline;
    let chromium = shot_chromium::find();
    // A frozen build calls nothing, so it needs neither a key nor a browser to plan.
    let frozen = options.frozen;
    let shot_choice = screenshots::choose(
        config.screenshots.backend,
        key.is_ok() || frozen,
        options.offline && !frozen,
        chromium.is_some() || frozen,
        key.as_ref().err().map_or("", String::as_str),
    )
    .map_err(|e| anyhow!(e))?;
    let client = if (remote_cards || shot_choice == Choice::Snapsharp) && !frozen {
        let key = key.map_err(|e| anyhow!(e))?;
        Some(Arc::new(
            SnapsharpClient::new(&config.snapsharp, key).map_err(|e| anyhow!(e))?,
        ))
    } else {
        None
    };
    let backend = if frozen && remote_cards {
        CardBackend::plan_only("snapsharp")
    } else {
        CardBackend::choose(&config, site_dir, fonts.clone(), client.clone())?
    };
    report.verbose(format!(
        "ogforge {}; config {}; cards: {}; screenshots: {}{}",
        crate::VERSION,
        site_dir.join(crate::config::CONFIG_FILE).display(),
        card_backend_name(&config, &backend, options),
        shot_backend_name(shot_choice, chromium.as_deref(), options),
        match (&remote, options.shard) {
            (Some(remote), Some(shard)) =>
                format!("; shared cache: {}, shard {shard}", remote.location()),
            (Some(remote), None) => format!("; shared cache: {}", remote.location()),
            (None, _) => String::new(),
        },
    ));
    let shot_backend: Option<Box<dyn ShotBackend>> = match (shot_choice, &client, chromium) {
        (Choice::Snapsharp, Some(client), _) => Some(Box::new(SnapsharpShots(client.clone()))),
        (Choice::Chromium, _, Some(path)) if !frozen => Some(Box::new(
            shot_chromium::LazyChromium::new(path, config.screenshots.allow_private),
        )),
        _ => None,
    };
    let content = content::load(
        site_dir,
        &content_dir,
        options.drafts,
        config.site.max_post_size,
        report,
    );
    // Two builds of one site at once would fight over the manifest and the files:
    // the second waits for the first.
    let _lock = crate::manifest::SiteLock::acquire(site_dir, report)?;
    let writes = !(options.dry_run || frozen);
    if writes {
        crate::stamp::clear(site_dir);
    }
    let manifest = LiveManifest::new(site_dir, Manifest::load(site_dir, report));
    let plan_options = PlanOptions {
        force: options.force,
        retry_failed: options.retry_failed,
    };

    let shots = {
        let step = ShotStep {
            config: &config,
            out: &out,
            backend: shot_backend.as_deref(),
            off: shot_choice == Choice::Off,
            options: plan_options,
            dry_run: options.dry_run,
            frozen,
            manifest: &manifest,
            report,
            remote: remote.as_ref(),
            shard: options.shard,
        };
        match screenshots::run(&step, &content) {
            Ok(shots) => shots,
            Err(e) => {
                let _ = manifest.into_inner().save(site_dir);
                return Err(e);
            }
        }
    };
    // Without a screenshot backend this time, earlier screenshots are neither redone
    // nor forgotten.
    let shots_ran = shot_choice != Choice::Off;
    let card_step = cards::CardStep {
        config: &config,
        site_dir,
        out: &out,
        backend: backend.as_dyn(),
        concurrency: backend.concurrency(),
        fonts: backend.is_local().then_some(&*fonts),
        options: plan_options,
        screenshots: &shots.shots,
        dry_run: options.dry_run,
        frozen,
        manifest: &manifest,
        report,
        remote: remote.as_ref(),
        shard: options.shard,
    };
    let cards = cards::run(&card_step, &content).and_then(|mut cards| {
        let site_card = cards::site_card(&card_step, &mut cards.stale)?;
        Ok((cards, site_card))
    });
    let (mut cards, site_card) = match cards {
        Ok(cards) => cards,
        Err(e) => {
            // Keep what finished before the stop.
            let _ = manifest.into_inner().save(site_dir);
            return Err(e);
        }
    };
    if frozen && !(cards.stale.is_empty() && shots.stale.is_empty()) {
        for stale in shots.stale.iter().chain(&cards.stale) {
            let (file, what) = stale.split_once(": ").unwrap_or((stale.as_str(), ""));
            report.problem(Problem {
                kind: ProblemKind::Stale,
                ..Problem::input(file, format!("{what} is not up to date"))
            });
        }
        report.problem(Problem {
            kind: ProblemKind::Stale,
            ..Problem::input(crate::manifest::CACHE_DIR, "--frozen: nothing was made or written")
                .with_hint("run `ogforge build` where the API key or Chromium is available, and keep .ogforge/ and the output's og/ and screenshots/ folders in the CI cache")
        });
    }
    let cache = remote
        .as_ref()
        .map(|remote| finish_cache(remote, options, report));
    if let Some(shard) = options.shard {
        let summary = BuildSummary {
            posts: content.posts.len(),
            cards_rendered: cards.rendered,
            cards_fresh: cards.fresh,
            cards_remote: cards.remote,
            cards_failed: cards.failed,
            screenshots_made: shots.made,
            screenshots_fresh: shots.fresh,
            screenshots_remote: shots.remote,
            screenshots_failed: shots.failed,
            output_dir: out,
            elapsed: started.elapsed(),
            cache,
            shard: Some(shard),
            ..BuildSummary::default()
        };
        check_shard_in_cache(&summary, report);
        // Keep the records of the assets made here; every other is left as it was.
        let manifest = manifest.into_inner();
        if let Err(e) = manifest.save(site_dir) {
            report.problem(Problem::warning(
                Manifest::path(site_dir),
                format!("could not save the cache: {e:#}"),
            ));
        }
        return Ok(summary);
    }
    if options.dry_run || report.count(ProblemKind::Stale) > 0 {
        return Ok(BuildSummary {
            posts: content.posts.len(),
            output_dir: out,
            elapsed: started.elapsed(),
            cache,
            ..BuildSummary::default()
        });
    }
    let fallback =
        cards::fallback_image(&config, site_dir, &out, report).or_else(|| site_card.clone());
    if let Some(card) = &site_card {
        let file = card
            .url
            .strip_prefix(&format!("{}/", config.site.base_url))
            .unwrap_or(&card.url);
        cards.files.insert(file.to_string());
        cards.keys.insert("card:site".to_string());
    }
    // What each post page is made of: a page whose inputs are what the manifest recorded,
    // and whose file is there, is fresh and not rendered again.
    let theme_digest = theme_digest(&theme);
    let config_text = std::fs::read(site_dir.join(crate::config::CONFIG_FILE)).unwrap_or_default();
    // A post page shows its tags with their post counts.
    let mut tag_counts: HashMap<String, usize> = HashMap::new();
    for post in &content.posts {
        for tag in &post.front.tags {
            *tag_counts
                .entry(crate::site::pages::tag_slug(tag))
                .or_default() += 1;
        }
    }
    let page_fingerprint = |path: &str, source: Option<&Post>| {
        let image = cards.images.get(path).or(fallback.as_ref());
        let mut fp = FingerprintBuilder::new();
        fp.add("renderer", RENDERER_VERSION.as_bytes())
            .add_hash("theme", theme_digest)
            .add("config", &config_text)
            .add("card", format!("{image:?}").as_bytes());
        if let Some(post) = source {
            let counts: Vec<usize> = post
                .front
                .tags
                .iter()
                .map(|t| {
                    tag_counts
                        .get(&crate::site::pages::tag_slug(t))
                        .copied()
                        .unwrap_or(0)
                })
                .collect();
            fp.add_hash("source", post.source_hash)
                .add(
                    "screenshots",
                    format!("{:?}", shots.shots.get(path)).as_bytes(),
                )
                .add("tag_counts", format!("{counts:?}").as_bytes());
        }
        fp.finish()
    };
    let mut page_records = BTreeMap::new();
    let mut fresh_posts = HashSet::new();
    for post in &content.posts {
        let output = format!("{}index.html", post.path.trim_start_matches('/'));
        let fp = page_fingerprint(&post.path, Some(post));
        let old = manifest.with(|m| m.pages.get(&output).cloned());
        let page_reason = match &old {
            None => Some("new".to_string()),
            Some(old) if old.fingerprint != fp.hex() => {
                Some(fp.changes_since(&old.parts).join(", "))
            }
            Some(_) if !crate::fsutil::has_content(&out.join(&output)) => {
                Some("page file missing".to_string())
            }
            Some(_) if options.force => Some("--force".to_string()),
            Some(_) => None,
        };
        if page_reason.is_none() {
            fresh_posts.insert(post.path.clone());
        }
        let asset_reason = cards
            .reasons
            .get(&post.source)
            .or(shots.reasons.get(&post.source));
        match asset_reason.cloned().or(page_reason) {
            Some(reason) => report.verbose(format!("dirty {}: {reason}", post.source.display())),
            None => report.verbose(format!("fresh {}", post.source.display())),
        }
        page_records.insert(
            output,
            PageRecord {
                fingerprint: fp.hex(),
                parts: fp.parts.clone(),
            },
        );
    }
    let force = options.force;
    // Each page is rendered, given its meta tags, written and dropped in one go.
    let (pages, problems) = site::render_all(
        &config,
        &theme,
        &content,
        &shots.shots,
        &fresh_posts,
        |page| {
            let image = cards
                .images
                .get(page.meta.path.as_str())
                .or(fallback.as_ref());
            let tags = meta_tags(&config, &page, image.cloned());
            let written = match inject_meta(page.html.as_bytes(), &tags) {
                Ok(html) => {
                    write_output(&out, &Output::bytes(&page.output, html), force).map_err(|e| {
                        Problem::input(
                            display_path(site_dir, &out.join(&page.output)),
                            format!("{e:#}"),
                        )
                    })
                }
                Err(e) => Err(Problem::input(
                    page.source
                        .clone()
                        .unwrap_or_else(|| page.output.clone().into()),
                    format!("could not add meta tags to {}: {e}", page.output),
                )),
            };
            (page.output, page.meta.path, written)
        },
    );
    for problem in problems {
        report.problem(problem);
    }
    let post_paths: HashSet<&str> = content.posts.iter().map(|p| p.path.as_str()).collect();
    for (output, path, _) in &pages {
        if !post_paths.contains(path.as_str()) {
            let fp = page_fingerprint(path, None);
            page_records.insert(
                output.clone(),
                PageRecord {
                    fingerprint: fp.hex(),
                    parts: fp.parts.clone(),
                },
            );
        }
    }

    let mut files: Vec<Output> = Vec::new();
    for (name, bytes) in BUILT_IN_STATIC {
        files.push(Output::bytes(name, bytes.to_vec()));
    }
    let assets = content
        .posts
        .iter()
        .flat_map(|p| &p.assets)
        .chain(&content.assets);
    for asset in assets {
        files.push(Output::copy(&asset.output, asset.source.clone()));
    }
    files.extend(static_files(site_dir, &site_dir.join("static"), report));
    // One writer per file: the last of a name wins, so a site's own `static/style.css`
    // replaces the built-in one (and is not written twice, in a race).
    let mut seen = HashSet::new();
    files.reverse();
    files.retain(|f| seen.insert(f.output.clone()));
    files.reverse();

    let outputs: Vec<String> = page_records
        .keys()
        .cloned()
        .chain(files.iter().map(|f| f.output.clone()))
        .chain(cards.files.iter().cloned())
        .chain(shots.files.iter().cloned())
        .collect();
    let results: Vec<(String, Result<Written>)> = files
        .into_par_iter()
        .map(|file| {
            let result = write_output(&out, &file, force);
            (file.output, result)
        })
        .collect();
    let mut summary = BuildSummary {
        posts: content.posts.len(),
        pages: pages.len() + fresh_posts.len(),
        // Fresh post pages were not even rendered: unchanged, and counted so.
        files_unchanged: fresh_posts.len(),
        cards_rendered: cards.rendered,
        cards_fresh: cards.fresh,
        cards_remote: cards.remote,
        cards_failed: cards.failed,
        screenshots_made: shots.made,
        screenshots_fresh: shots.fresh,
        screenshots_remote: shots.remote,
        screenshots_failed: shots.failed,
        screenshots_skipped: shots.skipped,
        leftovers: leftovers(&out, &used_files(&cards.files, &shots.files), shots_ran).len(),
        output_dir: out.clone(),
        cache,
        ..BuildSummary::default()
    };
    let written = pages
        .into_iter()
        .map(|(_, _, w)| w)
        .chain(results.into_iter().map(|(output, result)| {
            result.map_err(|e| {
                Problem::input(display_path(site_dir, &out.join(&output)), format!("{e:#}"))
            })
        }));
    for result in written {
        match result {
            Ok(Written::Changed) => summary.files_written += 1,
            Ok(Written::Unchanged) => summary.files_unchanged += 1,
            Err(problem) => report.problem(problem),
        }
    }

    // The manifest last, after the outputs it describes; it forgets deleted posts.
    let mut manifest = manifest.into_inner();
    manifest.assets.retain(|key, _| {
        cards.keys.contains(key)
            || shots.keys.contains(key)
            || (!shots_ran && key.starts_with("screenshot:"))
    });
    manifest.pages = page_records;
    summary.assets = manifest.assets.clone();
    if let Err(e) = manifest.save(site_dir) {
        report.problem(Problem::warning(
            Manifest::path(site_dir),
            format!("could not save the cache: {e:#}"),
        ));
    }
    // Only a build without a single problem vouches for the next no-op one, so every
    // warning and error is repeated until it is fixed.
    if let Some(inputs) = inputs.filter(|_| writes && report.problems().is_empty())
        && let Err(e) = crate::stamp::record(site_dir, inputs, &out, outputs, &summary)
    {
        report.verbose(format!(
            "could not save {}: {e:#}",
            crate::stamp::path(site_dir).display()
        ));
    }
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Waits for the shared cache's uploads and says what went wrong with it: a warning,
/// since the assets were made here all the same; with `--shard`, see
/// [`check_shard_in_cache`].
fn finish_cache(remote: &RemoteCache, options: &BuildOptions, report: &Report) -> CacheSummary {
    let shard = options.shard;
    let summary = remote.finish(options.record_cache_use);
    let url = summary.url.clone();
    if let Some(why) = remote.newly_down() {
        report.problem(
            Problem::warning(
                &url,
                format!("the shared cache stopped answering ({why}); went on without it"),
            )
            .with_hint("the assets were made here; the next build uploads what is missing"),
        );
    } else if summary.upload_failures > 0 && shard.is_none() {
        report.problem(Problem::warning(
            &url,
            format!(
                "{} to the shared cache failed ({})",
                plural(summary.upload_failures as usize, "upload"),
                remote.first_upload_error().unwrap_or_default()
            ),
        ));
    }
    summary
}

/// A shard's one job is to leave its share in the shared cache: every asset of it must
/// have been found there or uploaded, or the build fails (exit 1) and says how many are
/// missing.
fn check_shard_in_cache(summary: &BuildSummary, report: &Report) {
    let Some(cache) = &summary.cache else { return };
    let share = (summary.cards_rendered
        + summary.cards_fresh
        + summary.cards_remote
        + summary.screenshots_made
        + summary.screenshots_fresh
        + summary.screenshots_remote) as u64;
    // Hits include the assets that were on this disk already and found in the cache.
    let in_cache = cache.hits + cache.uploads;
    if in_cache < share || cache.upload_failures > 0 {
        let why = cache
            .down
            .clone()
            .unwrap_or_else(|| "uploads failed".into());
        report.problem(Problem {
            kind: ProblemKind::Asset,
            ..Problem::input(
                &cache.url,
                format!(
                    "shard {}: {} of its {share} assets are not in the shared cache ({why})",
                    summary.shard.map(|s| s.to_string()).unwrap_or_default(),
                    share.saturating_sub(in_cache).max(cache.upload_failures)
                ),
            )
            .with_hint("run the shard again; the assets made are on this machine and upload on the next try")
        });
    }
}

/// `ogforge clean`: removes card files that the last build's pages do not use.
/// Returns the removed files, relative to the output folder.
pub fn clean(site_dir: &Path, report: &Report) -> Result<Vec<String>> {
    let config = Config::load(site_dir)?;
    let path = Manifest::path(site_dir);
    if !path.is_file() {
        bail!(
            "there is no build to compare with ({} is missing)\n  hint: run `ogforge build` first, so clean knows which files pages use",
            display_path(site_dir, &path).display()
        );
    }
    let manifest = Manifest::load(site_dir, report);
    let out = config.output_dir(site_dir);
    let used: HashSet<String> = manifest
        .assets
        .values()
        .filter_map(|a| a.file.clone())
        .collect();
    let mut removed = Vec::new();
    // The next build counts leftovers again.
    crate::stamp::clear(site_dir);
    for file in leftovers(&out, &used, true) {
        std::fs::remove_file(out.join(&file))
            .with_context(|| format!("could not remove {file}"))?;
        report.verbose(format!("removed {file}"));
        removed.push(file);
    }
    Ok(removed)
}

/// Files in the output's `og/` (and `screenshots/`) folders that are not in `used`.
fn leftovers(out: &Path, used: &HashSet<String>, with_screenshots: bool) -> Vec<String> {
    let folders: &[&str] = if with_screenshots {
        &["og", "screenshots"]
    } else {
        &["og"]
    };
    let mut files: Vec<String> = folders
        .iter()
        .flat_map(|folder| assets::files_in(out, folder))
        .filter(|f| !used.contains(f))
        .collect();
    files.sort();
    files
}

fn used_files(a: &HashSet<String>, b: &HashSet<String>) -> HashSet<String> {
    a.union(b).cloned().collect()
}

fn theme_digest(theme: &Theme) -> blake3::Hash {
    let mut h = blake3::Hasher::new();
    for (name, source) in theme.sources() {
        h.update(&(name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update(&(source.len() as u64).to_le_bytes());
        h.update(source.as_bytes());
    }
    h.finalize()
}

/// The card backend for the `-v` opening line: what draws, and why not what the config
/// says when a flag overrode it.
fn card_backend_name(config: &Config, backend: &CardBackend, options: &BuildOptions) -> String {
    let template = &config.og.template;
    match (backend.is_local(), config.og.backend) {
        (true, OgBackend::Snapsharp) => format!("local, template {template} (--offline)"),
        (true, _) => format!("local, template {template}"),
        (false, _) if options.frozen => "snapsharp (--frozen: nothing is asked)".to_string(),
        (false, _) => format!("snapsharp, template {template}"),
    }
}

/// The screenshot backend for the `-v` opening line.
fn shot_backend_name(choice: Choice, chromium: Option<&Path>, options: &BuildOptions) -> String {
    match (choice, chromium) {
        (Choice::Off, _) => "off".to_string(),
        (_, _) if options.frozen => "none (--frozen: nothing is taken)".to_string(),
        (Choice::Snapsharp, _) => "snapsharp".to_string(),
        (Choice::Chromium, Some(path)) => format!("chromium at {}", path.display()),
        (Choice::Chromium, None) => "chromium".to_string(),
        (Choice::Skip, _) if options.offline => "skipped (--offline)".to_string(),
        (Choice::Skip, _) => "skipped (no SnapSharp key and no Chromium)".to_string(),
    }
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

fn write_output(out: &Path, file: &Output, force: bool) -> Result<Written> {
    let path = inside(out, &file.output)?;
    match (&file.content, force) {
        (OutputContent::Bytes(bytes), false) => write_if_changed(&path, bytes),
        (OutputContent::Copy(from), false) => copy_if_changed(from, &path),
        (OutputContent::Bytes(bytes), true) => {
            write_atomic(&path, bytes).map(|()| Written::Changed)
        }
        (OutputContent::Copy(from), true) => {
            let bytes = std::fs::read(from)
                .with_context(|| format!("could not read {}", from.display()))?;
            write_atomic(&path, &bytes).map(|()| Written::Changed)
        }
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
