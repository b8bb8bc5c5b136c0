//! `ogforge.toml`: one documented serde struct per section, unknown keys rejected.
//!
//! What the user wrote is [`Config`]; [`Config::load`] checks every value once, so the
//! rest of the pipeline can trust it. Key names are a contract (DESIGN.md): add keys,
//! never rename them.

use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Deserializer};

pub const CONFIG_FILE: &str = "ogforge.toml";

/// The whole configuration of one site.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub site: SiteConfig,
    #[serde(default)]
    pub og: OgConfig,
    #[serde(default)]
    pub screenshots: ScreenshotsConfig,
    #[serde(default)]
    pub snapsharp: SnapsharpConfig,
    #[serde(default)]
    pub cache: CacheConfig,
}

/// `[site]`: what the blog is and where its files live.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// The blog's name, shown in every page and card.
    pub title: String,
    /// Absolute URL the site is published under; og:image and og:url are made from it.
    pub base_url: String,
    /// One line about the blog, for the home page's meta description.
    #[serde(default)]
    pub description: Option<String>,
    /// The `lang` attribute of every page.
    #[serde(default = "default_language")]
    pub language: String,
    /// Markdown sources, relative to the site folder.
    #[serde(default = "default_content_dir")]
    pub content_dir: PathBuf,
    /// Where the website is written, relative to the site folder.
    #[serde(default = "default_output_dir")]
    pub output_dir: PathBuf,
    /// Anything else the site's templates want, as `site.extra`.
    #[serde(default)]
    pub extra: toml::Table,
    /// A post file larger than this is reported and left out, never read whole:
    /// a number of bytes or text such as "10 MB".
    #[serde(default = "default_max_post_size")]
    pub max_post_size: ByteSize,
}

/// `[og]`: how Open Graph cards are made.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OgConfig {
    pub backend: OgBackend,
    /// `templates/og/<template>.svg` locally; SnapSharp's template name remotely.
    pub template: String,
    pub width: u32,
    pub height: u32,
    pub format: ImageFormat,
    /// Picture for pages without a card of their own (lists, tags, failed cards): a URL,
    /// or a path under the site such as "/images/card.png" (found in `static/`).
    pub fallback_image: Option<String>,
    /// Font files (relative to the site folder) added to the shipped ones; usable by
    /// family name in card templates and tried first for every text.
    pub fonts: Vec<PathBuf>,
}

impl Default for OgConfig {
    fn default() -> Self {
        OgConfig {
            backend: OgBackend::Local,
            template: "blog-post".into(),
            width: 1200,
            height: 630,
            format: ImageFormat::Png,
            fallback_image: None,
            fonts: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OgBackend {
    Local,
    Snapsharp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    Png,
    Jpeg,
    Webp,
}

impl ImageFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Jpeg => "jpg",
            ImageFormat::Webp => "webp",
        }
    }

    pub fn mime_type(self) -> &'static str {
        match self {
            ImageFormat::Png => "image/png",
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Webp => "image/webp",
        }
    }
}

/// `[screenshots]`: pictures of the sites posts point to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScreenshotsConfig {
    pub backend: ScreenshotBackend,
    pub width: u32,
    pub height: u32,
    /// Let a local Chromium load `localhost` and loopback, private and link-local
    /// addresses; off, so that a post cannot point the build machine's browser at the
    /// machine itself or its network.
    pub allow_private: bool,
}

impl Default for ScreenshotsConfig {
    fn default() -> Self {
        ScreenshotsConfig {
            backend: ScreenshotBackend::Auto,
            width: 1280,
            height: 720,
            allow_private: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScreenshotBackend {
    /// SnapSharp when a key is set, else a local Chromium if found, else skip.
    Auto,
    Snapsharp,
    Chromium,
    Off,
}

/// `[snapsharp]`: the remote API and the plan's limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SnapsharpConfig {
    pub base_url: String,
    /// The environment variable that holds the key; the key itself is never in a file.
    pub api_key_env: String,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// The plan's limit, e.g. "5/min"; never exceeded.
    pub rate_limit: RateLimit,
    pub max_attempts: u32,
    pub timeout_secs: u64,
}

impl Default for SnapsharpConfig {
    fn default() -> Self {
        SnapsharpConfig {
            base_url: "https://api.snapsharp.dev/v1".into(),
            api_key_env: "SNAPSHARP_API_KEY".into(),
            concurrency: 4,
            rate_limit: RateLimit {
                requests: 5,
                per: Duration::from_secs(60),
            },
            max_attempts: 5,
            timeout_secs: 120,
        }
    }
}

/// `[cache]`: the shared cache of cards and screenshots in object storage (README, "A
/// shared cache for CI"). Off unless a URL is given here or in `OGFORGE_CACHE_URL`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// `s3://bucket/prefix`, `gs://bucket/prefix`, `az://container/prefix` or
    /// `file:///folder`; `OGFORGE_CACHE_URL` overrides it (set and empty: no cache).
    pub url: Option<String>,
    /// Requests to the cache in flight at most.
    pub concurrency: usize,
    /// One request's limit; a cache slower than that is a warning and the asset is made
    /// here.
    pub timeout_secs: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            url: None,
            concurrency: 16,
            timeout_secs: 10,
        }
    }
}

/// A number of requests per period, written `"5/min"`, `"2/s"`, `"1000/hour"`, `"10/day"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub per: Duration,
}

impl RateLimit {
    /// The shortest time between two request starts that keeps within the limit.
    pub fn interval(&self) -> Duration {
        self.per / self.requests
    }
}

impl FromStr for RateLimit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad =
            || format!("`{s}` is not a rate; write it like \"5/min\", \"2/s\" or \"1000/hour\"");
        let (count, unit) = s.split_once('/').ok_or_else(bad)?;
        let requests: u32 = count.trim().parse().map_err(|_| bad())?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            "d" | "day" => Duration::from_secs(86400),
            _ => return Err(bad()),
        };
        if requests == 0 {
            return Err(format!(
                "`{s}` allows no request at all; the count must be 1 or more"
            ));
        }
        Ok(RateLimit { requests, per })
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.per.as_secs() {
            1 => "s",
            60 => "min",
            3600 => "hour",
            _ => "day",
        };
        write!(f, "{}/{unit}", self.requests)
    }
}

impl<'de> Deserialize<'de> for RateLimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A size in bytes, written as a number of bytes or as text with a unit: `"512 KB"`,
/// `"10 MB"`, `"1 GB"` (units of 1000, as disks and networks count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!("`{s}` is not a size; write it like \"10 MB\", \"512 KB\" or a number of bytes")
        };
        let text = s.trim();
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let number: f64 = number.parse().map_err(|_| bad())?;
        let scale = match unit.trim().to_ascii_uppercase().as_str() {
            "" | "B" => 1.0,
            "KB" => 1e3,
            "MB" => 1e6,
            "GB" => 1e9,
            _ => return Err(bad()),
        };
        let bytes = (number * scale).round();
        if !(1.0..=u64::MAX as f64).contains(&bytes) {
            return Err(format!(
                "`{s}` is no size at all; it must be 1 byte or more"
            ));
        }
        Ok(ByteSize(bytes as u64))
    }
}

impl fmt::Display for ByteSize {
    /// The largest unit that keeps the number at 1 or more, one decimal at most:
    /// "10 MB", "12.3 MB", "900 B".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (scale, unit) = [(1e9, "GB"), (1e6, "MB"), (1e3, "KB")]
            .into_iter()
            .find(|&(scale, _)| self.0 as f64 >= scale)
            .unwrap_or((1.0, "B"));
        let number = format!("{:.1}", self.0 as f64 / scale);
        let number = number.strip_suffix(".0").unwrap_or(&number);
        write!(f, "{number} {unit}")
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Bytes(u64),
            Text(String),
        }
        match Written::deserialize(d).map_err(|_| {
            serde::de::Error::custom("a size must be a number of bytes or text such as \"10 MB\"")
        })? {
            Written::Bytes(0) => Err(serde::de::Error::custom(
                "a size of 0 bytes leaves no room for any post; use 1 or more",
            )),
            Written::Bytes(n) => Ok(ByteSize(n)),
            Written::Text(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

fn default_max_post_size() -> ByteSize {
    ByteSize(10_000_000)
}

fn default_language() -> String {
    "en".into()
}
fn default_content_dir() -> PathBuf {
    "content".into()
}
fn default_output_dir() -> PathBuf {
    "public".into()
}

impl Config {
    /// Reads and checks `ogforge.toml` in `site_dir`.
    pub fn load(site_dir: &Path) -> Result<Config> {
        let path = site_dir.join(CONFIG_FILE);
        let shown = crate::report::display_path(Path::new("."), &path);
        let folder = if site_dir == Path::new(".") {
            "the current folder".to_string()
        } else {
            format!("`{}`", site_dir.display())
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            anyhow::anyhow!(
                "could not read {}: {e}\n  hint: is {folder} a site folder? It needs an {CONFIG_FILE} with a [site] `title` and `base_url`",
                shown.display(),
            )
        })?;
        Config::parse(&text)
            .with_context(|| format!("invalid configuration in {}", shown.display()))
    }

    /// Reads and checks a configuration file at any path (`ogforge inject --config`).
    pub fn load_file(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("could not read {}: {e}", path.display()))?;
        Config::parse(&text).with_context(|| format!("invalid configuration in {}", path.display()))
    }

    /// Parses and checks configuration text; errors name the key at fault.
    pub fn parse(text: &str) -> Result<Config> {
        let mut config: Config = toml::from_str(text.trim_start_matches('\u{feff}'))?;
        config.check()?;
        config.site.base_url = config.site.base_url.trim_end_matches('/').to_string();
        config.snapsharp.base_url = config.snapsharp.base_url.trim_end_matches('/').to_string();
        Ok(config)
    }

    fn check(&self) -> Result<()> {
        if self.site.title.trim().is_empty() {
            bail!("`site.title` is empty; give the blog a name");
        }
        check_http_url("site.base_url", &self.site.base_url)?;
        check_http_url("snapsharp.base_url", &self.snapsharp.base_url)?;
        check_inside_site("site.content_dir", &self.site.content_dir, "content")?;
        check_inside_site("site.output_dir", &self.site.output_dir, "public")?;
        if self.site.output_dir == self.site.content_dir {
            bail!("`site.output_dir` and `site.content_dir` are the same folder");
        }
        for (key, value, max) in [
            ("og.width", self.og.width, 8192),
            ("og.height", self.og.height, 8192),
            ("screenshots.width", self.screenshots.width, 16384),
            ("screenshots.height", self.screenshots.height, 16384),
        ] {
            if value == 0 || value > max {
                bail!("`{key}` is {value}; it must be between 1 and {max}");
            }
        }
        if !is_template_name(&self.og.template) {
            bail!(
                "`og.template` is `{}`; a template name is letters, digits, `-` and `_`",
                self.og.template
            );
        }
        if self.og.backend == OgBackend::Local && self.og.format != ImageFormat::Png {
            bail!(
                "`og.format` is \"{}\" but the local backend draws PNG only; use \"png\", or backend = \"snapsharp\"",
                self.og.format.extension()
            );
        }
        for font in &self.og.fonts {
            check_inside_site("og.fonts", font, "fonts/MyFont-Bold.ttf")?;
        }
        if self.snapsharp.concurrency == 0 {
            bail!("`snapsharp.concurrency` is 0; at least one request must be allowed in flight");
        }
        if self.snapsharp.max_attempts == 0 {
            bail!("`snapsharp.max_attempts` is 0; it counts the first attempt, so use 1 or more");
        }
        if self.snapsharp.timeout_secs == 0 {
            bail!("`snapsharp.timeout_secs` is 0; use the API's 120 or more");
        }
        if self.cache.concurrency == 0 {
            bail!("`cache.concurrency` is 0; at least one request must be allowed in flight");
        }
        if self.cache.timeout_secs == 0 {
            bail!("`cache.timeout_secs` is 0; use 1 or more (10 is the default)");
        }
        if self.snapsharp.api_key_env.is_empty() {
            bail!(
                "`snapsharp.api_key_env` is empty; name the environment variable that holds the key"
            );
        }
        Ok(())
    }

    pub fn content_dir(&self, site_dir: &Path) -> PathBuf {
        site_dir.join(&self.site.content_dir)
    }

    pub fn output_dir(&self, site_dir: &Path) -> PathBuf {
        site_dir.join(&self.site.output_dir)
    }
}

/// A name that can be used as a file name stem on every system.
pub fn is_template_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn check_http_url(key: &str, url: &str) -> Result<()> {
    if !crate::url::is_http_url(url) {
        bail!(
            "`{key}` is `{url}`; it must be an absolute http(s) URL such as \"https://blog.example.com\""
        );
    }
    Ok(())
}

/// `path` must stay inside the site folder; `example` shows the user a good value.
fn check_inside_site(key: &str, dir: &Path, example: &str) -> Result<()> {
    let inside = !dir.as_os_str().is_empty()
        && dir
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !inside || dir.components().all(|c| c == Component::CurDir) {
        bail!(
            "`{key}` is `{}`; it must be a path inside the site folder, such as \"{example}\"",
            dir.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "[site]\ntitle = \"T\"\nbase_url = \"https://example.com/\"\n";

    #[test]
    fn minimal_config_gets_the_documented_defaults() {
        let c = Config::parse(MINIMAL).unwrap();
        assert_eq!(c.site.base_url, "https://example.com");
        assert_eq!(c.site.output_dir, Path::new("public"));
        assert_eq!(c.og.backend, OgBackend::Local);
        assert_eq!((c.og.width, c.og.height), (1200, 630));
        assert_eq!(c.og.template, "blog-post");
        assert_eq!(c.screenshots.backend, ScreenshotBackend::Auto);
        assert!(!c.screenshots.allow_private);
        assert_eq!(c.snapsharp.rate_limit.to_string(), "5/min");
        assert_eq!(c.snapsharp.concurrency, 4);
        assert_eq!(c.snapsharp.timeout_secs, 120);
    }

    #[test]
    fn every_documented_key_is_accepted() {
        let text = r#"
[site]
title = "My Blog"
base_url = "https://blog.example.com"
content_dir = "content"
output_dir = "public"
[og]
backend = "snapsharp"
template = "blog-post"
width = 1200
height = 630
format = "png"
[screenshots]
backend = "off"
width = 1280
height = 720
allow_private = false
[snapsharp]
base_url = "https://api.snapsharp.dev/v1"
api_key_env = "SNAPSHARP_API_KEY"
concurrency = 4
rate_limit = "2/s"
max_attempts = 5
timeout_secs = 120
[cache]
url = "s3://cards/blog"
concurrency = 16
timeout_secs = 10
"#;
        let c = Config::parse(text).unwrap();
        assert_eq!(c.og.backend, OgBackend::Snapsharp);
        assert_eq!(
            c.snapsharp.rate_limit.interval(),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            ("[site]\ntitle = \"T\"\n", "base_url"),
            (&format!("{MINIMAL}[og]\ncolour = 1\n"), "colour"),
            (&format!("{MINIMAL}[og]\nbackend = \"magic\"\n"), "magic"),
            (&format!("{MINIMAL}[og]\nwidth = 0\n"), "og.width"),
            (
                &format!("{MINIMAL}[snapsharp]\nrate_limit = \"fast\"\n"),
                "fast",
            ),
            (
                &format!("{MINIMAL}[snapsharp]\nconcurrency = 0\n"),
                "snapsharp.concurrency",
            ),
            (
                "[site]\ntitle = \"T\"\nbase_url = \"blog.example.com\"\n",
                "site.base_url",
            ),
            (
                "[site]\ntitle = \"T\"\nbase_url = \"https://e.com\"\noutput_dir = \"../out\"\n",
                "site.output_dir",
            ),
            (
                "[site]\ntitle = \"T\"\nbase_url = \"https://e.com\"\n[blog]\n",
                "blog",
            ),
            (
                &format!("{MINIMAL}[cache]\nconcurrency = 0\n"),
                "cache.concurrency",
            ),
        ];
        for (text, key) in cases {
            let err = format!("{:#}", Config::parse(text).unwrap_err());
            assert!(
                err.contains(key),
                "error for {text:?} should name {key}: {err}"
            );
        }
    }

    #[test]
    fn sizes_parse_and_read_back() {
        for (text, bytes, shown) in [
            ("10 MB", 10_000_000, "10 MB"),
            ("10MB", 10_000_000, "10 MB"),
            ("512 kb", 512_000, "512 KB"),
            ("1.5 GB", 1_500_000_000, "1.5 GB"),
            ("900 B", 900, "900 B"),
            ("12345678", 12_345_678, "12.3 MB"),
        ] {
            let size: ByteSize = text.parse().unwrap();
            assert_eq!(size, ByteSize(bytes), "{text}");
            assert_eq!(size.to_string(), shown, "{text}");
        }
        for bad in ["", "MB", "ten MB", "10 TB", "0", "0 KB", "-1 MB"] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn max_post_size_is_bytes_or_text() {
        let c = Config::parse(MINIMAL).unwrap();
        assert_eq!(c.site.max_post_size, ByteSize(10_000_000));
        let with = |value: &str| {
            Config::parse(&format!("{MINIMAL}max_post_size = {value}\n"))
                .map(|c| c.site.max_post_size)
                .map_err(|e| format!("{e:#}"))
        };
        assert_eq!(with("2000"), Ok(ByteSize(2000)));
        assert_eq!(with("\"2 MB\""), Ok(ByteSize(2_000_000)));
        for bad in ["0", "-5", "\"lots\"", "true"] {
            let err = with(bad).unwrap_err();
            assert!(err.contains("max_post_size"), "{bad}: {err}");
        }
    }

    #[test]
    fn rate_limits_parse() {
        let r: RateLimit = "600/min".parse().unwrap();
        assert_eq!(r.interval(), Duration::from_millis(100));
        assert!("0/min".parse::<RateLimit>().is_err());
        assert!("5/fortnight".parse::<RateLimit>().is_err());
    }
}
