//! Pages from templates: one per post and section, the index (newest first), one per tag
//! and a list of tags.
//!
//! Rendering is pure: posts and the theme in, HTML and each page's meta data out. What
//! gets written, and whether, is the build's business.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use minijinja::value::Serde;
use minijinja::{Value, context};
use rayon::prelude::*;
use serde::Serialize;

use crate::config::Config;
use crate::content::{Content, PageKind, Post};
use crate::report::Problem;
use crate::screenshots::ShotInfo;
use crate::site::templates::{Theme, safe_html};
use crate::url::{absolute, slugify};

/// What the meta tags of a page say about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageMeta {
    pub title: String,
    /// The post's `og.title`, when it has one.
    pub og_title: Option<String>,
    /// Site path of the page, `/posts/a/`.
    pub path: String,
    pub description: String,
    /// Absolute URL of the page.
    pub url: String,
    /// `article` for posts, `website` for lists.
    pub og_type: &'static str,
}

/// One page, rendered, not yet written.
#[derive(Debug, Clone)]
pub struct RenderedPage {
    /// Path inside the output folder, `posts/hello/index.html`.
    pub output: String,
    pub html: String,
    pub meta: PageMeta,
    /// The post it was made from, if any.
    pub source: Option<PathBuf>,
}

/// A tag and the posts that carry it (indices into the newest-first list).
struct TagGroup<'a> {
    name: &'a str,
    slug: String,
    posts: Vec<usize>,
}

/// Renders every page of the site and hands each to `finish` as soon as it is rendered,
/// in parallel; what `finish` returns is collected. A page is built, used and dropped in
/// one go, so a site of ten thousand posts never holds all its HTML at once. A page whose
/// template fails is reported and left out.
pub fn render_all<T: Send>(
    config: &Config,
    theme: &Theme,
    content: &Content,
    shots: &HashMap<String, Vec<ShotInfo>>,
    fresh_posts: &HashSet<String>,
    finish: impl Fn(RenderedPage) -> T + Sync,
) -> (Vec<T>, Vec<Problem>) {
    let base = &config.site.base_url;
    let max_post_size = config.site.max_post_size;
    let site = Value::from(Serde(context_site(config)));
    let tags = group_tags(&content.posts);
    let tag_values: BTreeMap<&str, Value> = tags
        .iter()
        .map(|t| (t.slug.as_str(), tag_value(base, t)))
        .collect();
    let summaries: Vec<Value> = content
        .posts
        .par_iter()
        .map(|p| page_value(base, p, &tag_values, None, &[]))
        .collect();

    let mut jobs: Vec<Job<'_>> = Vec::new();
    let (site_ref, tags_ref, summaries_ref) = (&site, &tag_values, &summaries);
    // A post page whose inputs did not change is neither rendered nor written again.
    for post in content
        .posts
        .iter()
        .filter(|p| !fresh_posts.contains(&p.path))
    {
        jobs.push(Job {
            template: "post.html",
            path: post.path.clone(),
            meta: PageMeta {
                og_title: post.front.og.title.clone(),
                ..meta(base, &post.path, &post.title, &post.description, "article")
            },
            source: Some(post),
            // Built in the job, not now: it holds a copy of the post's HTML.
            ctx: Box::new(move || {
                let body = post.body_html(max_post_size)?;
                Ok(context! {
                    site => site_ref.clone(),
                    page => page_value(base, post, tags_ref, Some(&body), shots.get(&post.path).map_or(&[], Vec::as_slice)),
                })
            }),
        });
    }
    let root = content.sections.iter().find(|s| s.path == "/");
    let site_description = config.site.description.clone().unwrap_or_default();
    jobs.push(Job {
        template: "index.html",
        path: "/".into(),
        meta: meta(
            base,
            "/",
            &config.site.title,
            root.map(|r| r.description.as_str())
                .filter(|d| !d.is_empty())
                .unwrap_or(&site_description),
            "website",
        ),
        source: root,
        ctx: Box::new(move || {
            let section = match root {
                Some(r) => Some(page_value(
                    base,
                    r,
                    tags_ref,
                    Some(&r.body_html(max_post_size)?),
                    &[],
                )),
                None => None,
            };
            Ok(context! {
                site => site_ref.clone(),
                section => section,
                posts => summaries_ref.to_vec(),
                tags => tags_ref.values().cloned().collect::<Vec<_>>(),
            })
        }),
    });
    for section in content.sections.iter().filter(|s| s.path != "/") {
        let nested = format!("{}/", section.section);
        let inside: Vec<Value> = content
            .posts
            .iter()
            .zip(&summaries)
            .filter(|(p, _)| p.section == section.section || p.section.starts_with(&nested))
            .map(|(_, v)| v.clone())
            .collect();
        jobs.push(Job {
            template: "section.html",
            path: section.path.clone(),
            meta: meta(
                base,
                &section.path,
                &section.title,
                &section.description,
                "website",
            ),
            source: Some(section),
            ctx: Box::new(move || {
                Ok(context! {
                    site => site_ref.clone(),
                    section => page_value(base, section, tags_ref, Some(&section.body_html(max_post_size)?), &[]),
                    posts => inside,
                })
            }),
        });
    }
    if !tags.is_empty() {
        jobs.push(Job {
            template: "tags.html",
            path: "/tags/".into(),
            meta: meta(base, "/tags/", &format!("Tags · {}", config.site.title), "", "website"),
            source: None,
            ctx: ready(context! { site => site.clone(), tags => tag_values.values().cloned().collect::<Vec<_>>() }),
        });
    }
    for tag in &tags {
        let path = format!("/tags/{}/", tag.slug);
        let description = format!("Posts tagged “{}” on {}", tag.name, config.site.title);
        jobs.push(Job {
            template: "tag.html",
            meta: meta(
                base,
                &path,
                &format!("#{} · {}", tag.name, config.site.title),
                &description,
                "website",
            ),
            path,
            source: None,
            ctx: ready(context! {
                site => site.clone(),
                tag => tag_values[tag.slug.as_str()].clone(),
                posts => tag.posts.iter().map(|&i| summaries[i].clone()).collect::<Vec<_>>(),
            }),
        });
    }

    let results: Vec<Result<T, Problem>> = jobs
        .into_par_iter()
        .map(|job| {
            let source = job.source.map(|p| p.source.clone());
            let rendered = (job.ctx)().and_then(|ctx| {
                theme
                    .render(job.template, ctx)
                    .map_err(|e| format!("page {} could not be rendered: {e}", job.path))
            });
            match rendered {
                Ok(html) => Ok(finish(RenderedPage {
                    output: format!("{}index.html", job.path.trim_start_matches('/')),
                    html,
                    meta: job.meta,
                    source,
                })),
                Err(e) => Err(Problem::input(
                    source.unwrap_or_else(|| PathBuf::from("templates").join(job.template)),
                    e,
                )
                .with_hint("fix the template, or the front-matter value it chokes on")),
            }
        })
        .collect();
    let mut done = Vec::with_capacity(results.len());
    let mut problems = Vec::new();
    for r in results {
        match r {
            Ok(page) => done.push(page),
            Err(p) => problems.push(p),
        }
    }
    (done, problems)
}

struct Job<'a> {
    template: &'static str,
    path: String,
    meta: PageMeta,
    source: Option<&'a Post>,
    /// The template's context, made when the page is rendered; an error when the post
    /// could not be read again.
    ctx: Box<dyn FnOnce() -> Result<Value, String> + Send + 'a>,
}

/// A context made already (list pages share their values; they cost little).
fn ready<'a>(ctx: Value) -> Box<dyn FnOnce() -> Result<Value, String> + Send + 'a> {
    Box::new(move || Ok(ctx))
}

fn meta(base: &str, path: &str, title: &str, description: &str, og_type: &'static str) -> PageMeta {
    PageMeta {
        title: title.to_string(),
        og_title: None,
        path: path.to_string(),
        description: description.to_string(),
        url: absolute(base, path),
        og_type,
    }
}

#[derive(Serialize)]
struct SiteContext<'a> {
    title: &'a str,
    base_url: &'a str,
    description: Option<&'a str>,
    language: &'a str,
    extra: &'a toml::Table,
}

fn context_site(config: &Config) -> SiteContext<'_> {
    SiteContext {
        title: &config.site.title,
        base_url: &config.site.base_url,
        description: config.site.description.as_deref(),
        language: &config.site.language,
        extra: &config.site.extra,
    }
}

/// A post as templates see it; with its rendered body on its own page.
fn page_value(
    base: &str,
    post: &Post,
    tags: &BTreeMap<&str, Value>,
    body: Option<&str>,
    screenshots: &[ShotInfo],
) -> Value {
    #[derive(Serialize)]
    struct PageContext<'a> {
        title: &'a str,
        description: &'a str,
        date: Option<String>,
        date_long: Option<String>,
        authors: &'a [String],
        tags: Vec<Value>,
        slug: &'a str,
        path: &'a str,
        permalink: String,
        section: &'a str,
        kind: &'static str,
        excerpt: &'a str,
        content: Option<Value>,
        extra: &'a serde_json::Map<String, serde_json::Value>,
        screenshots: &'a [ShotInfo],
    }
    Value::from(Serde(PageContext {
        title: &post.title,
        description: &post.description,
        date: post.date.as_ref().map(|d| d.to_string()),
        date_long: post.date.as_ref().map(|d| d.long()),
        authors: &post.front.authors,
        tags: post
            .front
            .tags
            .iter()
            .filter_map(|t| tags.get(tag_slug(t).as_str()).cloned())
            .collect(),
        slug: &post.slug,
        path: &post.path,
        permalink: absolute(base, &post.path),
        section: &post.section,
        kind: match post.kind {
            PageKind::Post => "post",
            PageKind::Section => "section",
        },
        excerpt: &post.excerpt,
        content: body.map(safe_html),
        extra: &post.front.extra,
        screenshots,
    }))
}

fn tag_value(base: &str, tag: &TagGroup<'_>) -> Value {
    let path = format!("/tags/{}/", tag.slug);
    context! {
        name => tag.name,
        slug => &tag.slug,
        permalink => absolute(base, &path),
        path => path,
        count => tag.posts.len(),
    }
}

/// Tags by slug; "Rust" and "rust" are one tag, named as first seen.
fn group_tags(posts: &[Post]) -> Vec<TagGroup<'_>> {
    let mut by_slug: BTreeMap<String, TagGroup<'_>> = BTreeMap::new();
    for (i, post) in posts.iter().enumerate() {
        for name in &post.front.tags {
            let slug = tag_slug(name);
            let group = by_slug.entry(slug.clone()).or_insert_with(|| TagGroup {
                name,
                slug,
                posts: Vec::new(),
            });
            if group.posts.last() != Some(&i) {
                group.posts.push(i);
            }
        }
    }
    by_slug.into_values().collect()
}

/// A tag's URL slug; a tag of symbols only (`🚀`) gets a stable hashed one.
pub(crate) fn tag_slug(name: &str) -> String {
    match slugify(name) {
        s if s.is_empty() => format!("tag-{}", &blake3::hash(name.as_bytes()).to_hex()[..8]),
        s => s,
    }
}
