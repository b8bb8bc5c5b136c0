//! `ogforge new SITE`: a new site folder that builds at once.
//!
//! [`new_site`] writes a commented `ogforge.toml`, a home page, one post, `static/robots.txt`
//! and a `.gitignore`; with `with_templates` it also copies out the built-in theme
//! (`templates/*.html`, `static/style.css`) and card templates (`templates/og/*.svg`), which
//! then override the built-in ones by name, so the site looks the same until they are
//! edited. It never overwrites anything: the folder must be new or empty.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use crate::config::CONFIG_FILE;
use crate::content::date::Date;

/// Makes a new site in `dir` (created if missing, with its parents) and returns the files
/// written, each as `dir.join(relative path)`. The post is dated today (UTC).
///
/// Fails, having written nothing, when `dir` exists and is not an empty folder.
pub fn new_site(dir: &Path, with_templates: bool) -> Result<Vec<PathBuf>> {
    new_site_dated(dir, with_templates, &today_utc())
}

/// [`new_site`] with the first post dated `date` (`YYYY-MM-DD`), for reproducible output.
pub fn new_site_dated(dir: &Path, with_templates: bool, date: &str) -> Result<Vec<PathBuf>> {
    let day = Date::parse(date).map_err(anyhow::Error::msg)?;
    if !day.time.is_empty() {
        bail!("`{date}` is not a date; write it as YYYY-MM-DD, e.g. 2024-05-17");
    }
    check_free(dir)?;
    fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;

    let mut written = Vec::new();
    for (rel, bytes) in files(date, with_templates) {
        let path = dir.join(&rel);
        write_new(&path, &bytes)?;
        written.push(path);
    }
    Ok(written)
}

/// Every file of a new site, by path relative to it.
fn files(date: &str, with_templates: bool) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = vec![
        (CONFIG_FILE.into(), CONFIG.into()),
        (".gitignore".into(), GITIGNORE.into()),
        ("content/_index.md".into(), HOME.into()),
        (
            format!("content/posts/{date}-hello-world.md").into(),
            first_post(date).into_bytes(),
        ),
        ("static/robots.txt".into(), ROBOTS.into()),
    ];
    if with_templates {
        for (name, source) in crate::site::templates::BUILT_IN {
            files.push((
                Path::new("templates").join(name),
                source.as_bytes().to_vec(),
            ));
        }
        // The build writes these unless `static/` has a file of the same name.
        for (name, bytes) in crate::site::templates::BUILT_IN_STATIC {
            files.push((Path::new("static").join(name), bytes.to_vec()));
        }
        for (name, source) in crate::render::local::BUILT_IN {
            files.push((
                Path::new("templates")
                    .join("og")
                    .join(format!("{name}.svg")),
                source.as_bytes().to_vec(),
            ));
        }
    }
    files
}

/// `dir` must not exist, or be an empty folder.
fn check_free(dir: &Path) -> Result<()> {
    let meta = match fs::metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => bail!("could not read {}: {e}", dir.display()),
    };
    if !meta.is_dir() {
        bail!(
            "`{}` already exists and is not a folder\n  hint: give `ogforge new` the name of a new folder, such as `ogforge new my-blog`",
            dir.display()
        );
    }
    let mut entries =
        fs::read_dir(dir).with_context(|| format!("could not read {}", dir.display()))?;
    if entries.next().is_some() {
        bail!(
            "the folder `{}` already exists and is not empty; `ogforge new` writes only into a new or empty folder, so nothing was changed\n  hint: choose a new folder name, such as `ogforge new my-blog`",
            dir.display()
        );
    }
    Ok(())
}

/// Writes a file that must not exist yet, creating its folder.
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("could not create {}", parent.display()))?;
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("could not create {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("could not write {}", path.display()))
}

/// Today's date in UTC, `YYYY-MM-DD`.
fn today_utc() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

const CONFIG: &str = r#"# The configuration of this site. Only [site] `title` and `base_url` are required;
# every other key is shown commented out, with its default value or an example.
# Remove the `#` in front of a key to set it. An unknown key or a bad value stops the
# build with an error naming the key.

[site]
# The blog's name, shown on every page and every card.
title = "My Blog"
# The address the site will be published under: og:image and og:url are absolute URLs
# under it, so that shared links show their cards. Change it to your own before publishing.
base_url = "https://example.com"
# One line about the blog, for the home page's meta description.
# description = "Notes on the things I make"
# The `lang` attribute of every page.
# language = "en"
# Where the Markdown posts are; folders become sections.
# content_dir = "content"
# Where the website is written: publish this folder.
# output_dir = "public"

# Anything else your own templates want, seen there as `site.extra`:
# [site.extra]
# mastodon = "@me@example.social"

[og]
# Open Graph cards: the 1200x630 picture shown when a link to a post is shared.
# "local" draws them offline; "snapsharp" asks the SnapSharp API (see [snapsharp]).
# backend = "local"
# The card template: templates/og/<template>.svg locally (the built-in "blog-post", or a
# file of yours), SnapSharp's template name remotely. A post can choose another one with
# `og: { template: ... }` in its front matter.
# template = "blog-post"
# The card's size in pixels.
# width = 1200
# height = 630
# "png" | "jpeg" | "webp" where the backend can; the local backend draws PNG only.
# format = "png"
# A picture for pages without a card of their own (home, tags): a URL, or a path such as
# "/images/card.png" for static/images/card.png.
# fallback_image = "/images/card.png"
# Your own font files, tried before the shipped ones (Latin, Greek, Cyrillic, Arabic,
# Hebrew, CJK and colour emoji).
# fonts = ["fonts/MyFont-Bold.ttf"]

[screenshots]
# Pictures of the sites that posts point to with `screenshot:` in their front matter.
# "auto" uses SnapSharp when its key is set, else a local Chromium if one is found, else
# skips them with a warning. "auto" | "snapsharp" | "chromium" | "off".
# backend = "auto"
# The browser window's size in pixels.
# width = 1280
# height = 720

[snapsharp]
# The SnapSharp API, used by og.backend = "snapsharp" and by screenshots.
# base_url = "https://api.snapsharp.dev/v1"
# The environment variable that holds the API key (`export SNAPSHARP_API_KEY=...`).
# The key itself never goes in this file, which you will commit.
# api_key_env = "SNAPSHARP_API_KEY"
# Requests in flight at most.
# concurrency = 4
# Your plan's limit, never exceeded: "5/min" is the free plan; "2/s" or "1000/hour" work too.
# rate_limit = "5/min"
# Tries per card or screenshot, the first one included; timeouts, 429 and 5xx are
# retried with backoff, other errors are not.
# max_attempts = 5
# Seconds to wait for one answer.
# timeout_secs = 120
"#;

const GITIGNORE: &str = "\
# The website, written by `ogforge build` (site.output_dir): publish it, don't commit it.
/public/
# ogforge's cache: the fingerprint and state of every card and screenshot. It is safe to
# delete (the next build redoes what is missing), so it stays out of git; in CI, cache
# `.ogforge/` and `public/og/` between runs so that unchanged cards are not drawn, or paid
# for, again.
/.ogforge/
";

const HOME: &str = "\
---
title: My Blog
description: A new blog, built with ogforge.
---

Welcome! This is the introduction of the home page: edit `content/_index.md` to change it.
The posts are listed below, newest first.
";

const ROBOTS: &str = "\
# Copied as is to public/robots.txt, like every file in static/.
User-agent: *
Allow: /
";

fn first_post(date: &str) -> String {
    format!(
        "\
---
title: Hello, world
description: The first post of a new blog, and what to do next.
date: {date}
author: Your Name
tags: [meta]
---

This is the first post of your new blog, `content/posts/{date}-hello-world.md`. Edit it,
or add a Markdown file beside it for each new post: the front matter between the `---`
lines gives its title, description, date, author and tags, and a file name that starts
with a date gives the date too.

## What to do next

- Run `ogforge serve` to preview the site in a browser that reloads as you write, and
  `ogforge build` to write it to `public/`.
- Set `base_url` in `ogforge.toml` to the address you will publish under, so that the
  links shared on social networks show their cards.
- Every post gets a card, the picture shown when it is shared, drawn from the template
  `blog-post`. A file `templates/og/blog-post.svg` in this site replaces the built-in
  one, and the page templates in `templates/` replace the built-in theme's by name.
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn the_config_parses_to_the_documented_defaults() {
        let c = Config::parse(CONFIG).unwrap();
        assert_eq!(c.site.title, "My Blog");
        assert_eq!(c.site.base_url, "https://example.com");
        // Every commented key, uncommented, parses; the keys that are not examples give
        // the same configuration, so the values shown are the real defaults.
        let uncommented: String = CONFIG
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest)
                    if rest.starts_with('[')
                        || rest.split_once(" = ").is_some_and(|(k, _)| {
                            k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                        }) =>
                {
                    rest
                }
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        let mut all =
            Config::parse(&uncommented).unwrap_or_else(|e| panic!("{e:#}\n{uncommented}"));
        assert!(all.site.description.is_some() && !all.site.extra.is_empty());
        assert!(all.og.fallback_image.is_some() && !all.og.fonts.is_empty());
        all.site.description = None;
        all.site.extra.clear();
        all.og.fallback_image = None;
        all.og.fonts.clear();
        assert_eq!(format!("{all:?}"), format!("{c:?}"));
    }

    #[test]
    fn the_config_explains_every_documented_key() {
        for key in [
            "title",
            "base_url",
            "description",
            "language",
            "content_dir",
            "output_dir",
            "backend",
            "template",
            "width",
            "height",
            "format",
            "fallback_image",
            "fonts",
            "api_key_env",
            "concurrency",
            "rate_limit",
            "max_attempts",
            "timeout_secs",
        ] {
            let line = CONFIG
                .lines()
                .position(|l| l.trim_start_matches("# ").starts_with(&format!("{key} = ")))
                .unwrap_or_else(|| panic!("{key} missing"));
            let above = CONFIG.lines().nth(line - 1).unwrap();
            assert!(above.starts_with('#'), "{key} has no comment");
        }
    }

    #[test]
    fn dates_are_civil() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_860), (2024, 5, 17));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert!(Date::parse(&today_utc()).is_ok());
    }

    #[test]
    fn a_bad_date_is_refused_before_anything_is_written() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("blog");
        assert!(new_site_dated(&dir, false, "2024-5-1").is_err());
        assert!(new_site_dated(&dir, false, "2024-05-01T10:00").is_err());
        assert!(!dir.exists());
    }
}
