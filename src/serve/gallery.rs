//! The gallery at `/_ogforge/`: every built page as X, Facebook, LinkedIn, Slack and
//! Discord would show a link to it, drawn from the tags in the page on disk, with what
//! `check` says of it, and every failed asset from the manifest with a Retry button.
//!
//! It is made anew for every request from the output folder and the manifest, so it
//! shows what is on disk, never a build's idea of it; the live-reload script reloads it
//! after each build and whenever the manifest changes during one.

use std::fmt::Write as _;
use std::path::Path;

use walkdir::WalkDir;

use super::http::{encode_query, escape};
use super::{LastBuild, PREFIX, live_reload_script};
use crate::check::{Finding, Severity, SiteFiles, check_page};
use crate::config::Config;
use crate::manifest::{AssetState, Manifest};
use crate::report::{ProblemKind, Report, Verbosity, plural};
use crate::site::inject::{decode_entities, existing_meta};

/// One built page and what a network would read from it.
struct Card {
    /// Path in the output, `/`-separated: `posts/a/index.html`.
    rel: String,
    /// Where the server serves it: `/posts/a/`.
    href: String,
    /// Meta tags, decoded, in document order.
    tags: Vec<(String, String)>,
    findings: Vec<Finding>,
}

impl Card {
    fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }

    /// The first of these tags that is set.
    fn first(&self, keys: &[&str]) -> Option<&str> {
        keys.iter().find_map(|k| self.tag(k))
    }

    fn is_post(&self) -> bool {
        self.tag("og:type") == Some("article")
    }
}

/// What the mock-ups draw, from the tags.
struct Preview<'a> {
    title: &'a str,
    description: &'a str,
    /// The picture as the browser can load it here: under the site's address, the file
    /// this server serves.
    image: Option<String>,
    domain: String,
    site_name: &'a str,
    large: bool,
}

/// The gallery page.
pub(super) fn page(site_dir: &Path, out: &Path, last: &LastBuild) -> String {
    let config = Config::load(site_dir).ok();
    let base_url = config.as_ref().map(|c| c.site.base_url.clone());
    let site_title = config
        .as_ref()
        .map_or("the site", |c| c.site.title.as_str());
    let manifest = Manifest::load(site_dir, &Report::new(Verbosity::Quiet));
    let mut cards = read_cards(out, base_url.as_deref());
    cards.sort_by(|a, b| (!a.is_post(), &a.rel).cmp(&(!b.is_post(), &b.rel)));

    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Cards · {}</title><style>{STYLE}</style></head><body>\
         <header class=\"top\"><h1>Cards of {}</h1><p>How each page unfurls when its link is \
         shared, from the tags on disk. This page reloads itself after every build. \
         <a href=\"/\">Open the site</a></p></header>",
        escape(site_title),
        escape(site_title)
    );
    build_status(&mut html, last);
    assets(&mut html, &manifest);
    let (posts, others): (Vec<&Card>, Vec<&Card>) = cards.iter().partition(|c| c.is_post());
    if cards.is_empty() {
        html.push_str("<p class=\"empty\">No built pages yet.</p>");
    }
    for card in &posts {
        card_section(&mut html, card, base_url.as_deref());
    }
    if !others.is_empty() {
        let _ = write!(
            html,
            "<details class=\"others\"{}><summary>Other pages ({})</summary>",
            if posts.is_empty() { " open" } else { "" },
            others.len()
        );
        for card in &others {
            card_section(&mut html, card, base_url.as_deref());
        }
        html.push_str("</details>");
    }
    html.push_str(&live_reload_script(last.number, true));
    html.push_str("</body></html>");
    html
}

/// Every HTML page of the output with the findings of `check`.
fn read_cards(out: &Path, base_url: Option<&str>) -> Vec<Card> {
    let files = SiteFiles::on_disk(out, base_url);
    let walk = WalkDir::new(out)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    let mut cards = Vec::new();
    for entry in walk.flatten() {
        let is_html = entry
            .path()
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
        if !entry.file_type().is_file() || !is_html {
            continue;
        }
        let Ok(html) = std::fs::read(entry.path()) else {
            continue;
        };
        let rel = entry
            .path()
            .strip_prefix(out)
            .unwrap_or(entry.path())
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let tags: Vec<(String, String)> = existing_meta(&html)
            .into_iter()
            .map(|(k, v)| (k, decode_entities(&v)))
            .collect();
        if !tags
            .iter()
            .any(|(k, _)| k.starts_with("og:") || k.starts_with("twitter:"))
        {
            continue;
        }
        let href = match rel.strip_suffix("index.html") {
            Some(folder) => format!("/{folder}"),
            None => format!("/{rel}"),
        };
        let findings = check_page(&rel, &html, &files);
        cards.push(Card {
            rel,
            href,
            tags,
            findings,
        });
    }
    cards
}

fn build_status(html: &mut String, last: &LastBuild) {
    if last.number == 0 {
        html.push_str("<p class=\"status\">The first build is running…</p>");
        return;
    }
    if let Some(error) = &last.error {
        let _ = write!(
            html,
            "<div class=\"status bad\"><b>Build {} failed</b><pre>{}</pre>\
             <p>Fix it and save: the site rebuilds.</p></div>",
            last.number,
            escape(error)
        );
        return;
    }
    let problems: Vec<_> = last
        .problems
        .iter()
        .filter(|p| p.kind != ProblemKind::Warning)
        .collect();
    if problems.is_empty() {
        let _ = write!(
            html,
            "<p class=\"status ok\">Build {}: no problems.</p>",
            last.number
        );
        return;
    }
    let _ = write!(
        html,
        "<div class=\"status bad\"><b>Build {}: {}</b><ul>",
        last.number,
        plural(problems.len(), "problem")
    );
    for problem in problems {
        let _ = write!(html, "<li><pre>{}</pre></li>", escape(&problem.to_string()));
    }
    html.push_str("</ul></div>");
}

/// Failed assets with their error and a Retry button; a count of those under way.
fn assets(html: &mut String, manifest: &Manifest) {
    let busy = manifest
        .assets
        .values()
        .filter(|a| matches!(a.state, AssetState::Pending | AssetState::Processing))
        .count();
    if busy > 0 {
        let _ = write!(
            html,
            "<p class=\"status busy\">{} being made…</p>",
            plural(busy, "asset")
        );
    }
    let failed: Vec<_> = manifest
        .assets
        .iter()
        .filter(|(_, a)| a.state == AssetState::Failed)
        .collect();
    if failed.is_empty() {
        return;
    }
    let _ = write!(
        html,
        "<section class=\"failed\"><h2>Failed assets ({})</h2><ul>",
        failed.len()
    );
    for (key, asset) in failed {
        let _ = write!(
            html,
            "<li class=\"failed-asset\" data-key=\"{}\"><div><code>{}</code> {}</div>\
             <pre>{}</pre>{}\
             <form method=\"post\" action=\"{PREFIX}retry?key={}\"><button>Retry</button></form></li>",
            escape(key),
            escape(key),
            escape(&asset.source),
            escape(asset.error.as_deref().unwrap_or("no error recorded")),
            if asset.permanent {
                "<p class=\"note\">Permanent: not asked again until its inputs change, \
                 or until retried.</p>"
            } else {
                ""
            },
            escape(&encode_query(key)),
        );
    }
    html.push_str("</ul></section>");
}

fn card_section(html: &mut String, card: &Card, base_url: Option<&str>) {
    let title = card
        .first(&["og:title", "twitter:title"])
        .unwrap_or("(no og:title)");
    let _ = write!(
        html,
        "<section class=\"card\" data-page=\"{}\"><header><h2><a href=\"{}\">{}</a></h2>\
         <code>{}</code></header>",
        escape(&card.rel),
        escape(&card.href),
        escape(title),
        escape(&card.rel)
    );
    if card.findings.is_empty() {
        html.push_str("<p class=\"check ok\">check: no problems</p>");
    } else {
        html.push_str("<ul class=\"check\">");
        for f in &card.findings {
            let severity = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let _ = write!(
                html,
                "<li class=\"{severity}\"><b>{severity}</b> <code>{}</code> {}</li>",
                f.code,
                escape(&f.message)
            );
        }
        html.push_str("</ul>");
    }
    html.push_str("<div class=\"previews\">");
    let og = preview(card, base_url, false);
    let x = preview(card, base_url, true);
    mock_x(html, &x);
    mock_facebook(html, &og);
    mock_linkedin(html, &og);
    mock_slack(html, &og);
    mock_discord(html, &og);
    html.push_str("</div>");
    let _ = write!(
        html,
        "<details class=\"tags\"><summary>Tags ({})</summary><table>",
        card.tags.len()
    );
    for (key, value) in &card.tags {
        let _ = write!(
            html,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(key),
            escape(value)
        );
    }
    html.push_str("</table></details></section>");
}

/// The tags a network reads; X prefers its own `twitter:` ones.
fn preview<'a>(card: &'a Card, base_url: Option<&str>, x: bool) -> Preview<'a> {
    let pick = |og: &'static str, twitter: &'static str| {
        if x {
            card.first(&[twitter, og])
        } else {
            card.first(&[og, twitter])
        }
    };
    let url = card
        .tag("og:url")
        .map(str::to_string)
        .or_else(|| base_url.map(str::to_string));
    Preview {
        title: pick("og:title", "twitter:title").unwrap_or(""),
        description: pick("og:description", "twitter:description").unwrap_or(""),
        image: pick("og:image", "twitter:image").map(|i| local_image(i, base_url)),
        domain: url.as_deref().map(domain).unwrap_or_default(),
        site_name: card.tag("og:site_name").unwrap_or(""),
        large: card.tag("twitter:card") != Some("summary"),
    }
}

/// `https://blog.test/og/a.png` under the base URL `https://blog.test` is `/og/a.png`
/// here; anything else is left for the browser to fetch.
fn local_image(url: &str, base_url: Option<&str>) -> String {
    base_url
        .and_then(|base| url.strip_prefix(base.trim_end_matches('/')))
        .filter(|rest| rest.starts_with('/'))
        .map_or_else(|| url.to_string(), str::to_string)
}

/// `https://www.blog.test:8080/a` → `blog.test`.
fn domain(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host.split(':').next().unwrap_or_default();
    host.strip_prefix("www.")
        .unwrap_or(host)
        .to_ascii_lowercase()
}

fn image(html: &mut String, preview: &Preview, class: &str) {
    match &preview.image {
        Some(src) => {
            let _ = write!(
                html,
                "<img class=\"{class}\" src=\"{}\" alt=\"\" loading=\"lazy\">",
                escape(src)
            );
        }
        None => {
            let _ = write!(html, "<div class=\"{class} none\">no og:image</div>");
        }
    }
}

fn mock_x(html: &mut String, p: &Preview) {
    html.push_str("<figure class=\"mock x\"><figcaption>X</figcaption>");
    if p.large {
        html.push_str("<div class=\"x-card\">");
        image(html, p, "wide");
        let _ = write!(
            html,
            "<span class=\"x-title\">{}</span></div>",
            escape(p.title)
        );
    } else {
        html.push_str("<div class=\"x-card small\">");
        image(html, p, "square");
        let _ = write!(
            html,
            "<div><span class=\"muted\">{}</span><b>{}</b><span class=\"muted\">{}</span></div></div>",
            escape(&p.domain),
            escape(p.title),
            escape(p.description)
        );
    }
    let _ = write!(
        html,
        "<div class=\"x-from\">From {}</div></figure>",
        escape(&p.domain)
    );
}

fn mock_facebook(html: &mut String, p: &Preview) {
    html.push_str(
        "<figure class=\"mock facebook\"><figcaption>Facebook</figcaption><div class=\"fb-card\">",
    );
    image(html, p, "wide");
    let _ = write!(
        html,
        "<div class=\"fb-text\"><span class=\"fb-domain\">{}</span><b>{}</b><span class=\"clip1\">{}</span></div></div></figure>",
        escape(&p.domain.to_uppercase()),
        escape(p.title),
        escape(p.description)
    );
}

fn mock_linkedin(html: &mut String, p: &Preview) {
    html.push_str(
        "<figure class=\"mock linkedin\"><figcaption>LinkedIn</figcaption><div class=\"li-card\">",
    );
    image(html, p, "wide");
    let _ = write!(
        html,
        "<div class=\"li-text\"><b class=\"clip2\">{}</b><span class=\"muted\">{}</span></div></div></figure>",
        escape(p.title),
        escape(&p.domain)
    );
}

/// The name chat apps print above a link: the site's name, else its domain.
fn site_label<'a>(p: &'a Preview) -> &'a str {
    if p.site_name.is_empty() {
        &p.domain
    } else {
        p.site_name
    }
}

fn mock_slack(html: &mut String, p: &Preview) {
    let _ = write!(
        html,
        "<figure class=\"mock slack\"><figcaption>Slack</figcaption><div class=\"sl-card\">\
         <b class=\"sl-site\">{}</b><a class=\"sl-title\">{}</a><span class=\"clip2\">{}</span>",
        escape(site_label(p)),
        escape(p.title),
        escape(p.description)
    );
    image(html, p, "sl-img");
    html.push_str("</div></figure>");
}

fn mock_discord(html: &mut String, p: &Preview) {
    let _ = write!(
        html,
        "<figure class=\"mock discord\"><figcaption>Discord</figcaption><div class=\"dc-card\">\
         <span class=\"dc-site\">{}</span><a class=\"dc-title\">{}</a><span class=\"clip3\">{}</span>",
        escape(site_label(p)),
        escape(p.title),
        escape(p.description)
    );
    image(html, p, "dc-img");
    html.push_str("</div></figure>");
}

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;padding:1.5rem;font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#f4f5f7;color:#1c1e21}\
h1{margin:0 0 .25rem;font-size:1.5rem}h2{font-size:1.1rem;margin:0}\
.top p{margin:0 0 1rem;color:#555}\
.status{padding:.5rem .75rem;border-radius:6px;background:#e8f5e9}.status.bad{background:#fdecea}.status.busy{background:#fff8e1}\
pre{white-space:pre-wrap;margin:.25rem 0;font-size:12px}\
.failed{background:#fff;border:2px solid #d93025;border-radius:8px;padding:.75rem 1rem;margin:1rem 0}\
.failed ul{list-style:none;padding:0;margin:0}.failed li{border-top:1px solid #eee;padding:.5rem 0}\
.failed button{font:inherit;padding:.25rem .9rem;border-radius:4px;border:1px solid #1a73e8;background:#1a73e8;color:#fff;cursor:pointer}\
.note{color:#777;margin:.25rem 0}\
.card{background:#fff;border-radius:10px;padding:1rem;margin:1rem 0;box-shadow:0 1px 2px rgba(0,0,0,.08)}\
.card header{display:flex;gap:1rem;align-items:baseline;flex-wrap:wrap}.card header code{color:#777}\
.check{margin:.5rem 0;padding-left:1.2rem}.check.ok{color:#188038;padding:0}\
.check .error b{color:#d93025}.check .warning b{color:#b06000}\
.previews{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:1rem;margin-top:.75rem}\
.mock{margin:0}.mock figcaption{font-size:12px;color:#777;margin-bottom:.25rem;text-transform:uppercase;letter-spacing:.05em}\
.wide{display:block;width:100%;aspect-ratio:1.91/1;object-fit:cover;background:#dde}\
.none{display:flex;align-items:center;justify-content:center;color:#888;background:#e4e6eb;font-size:12px}\
.muted{color:#65676b;display:block}\
.clip1,.clip2,.clip3{display:-webkit-box;-webkit-box-orient:vertical;overflow:hidden}\
.clip1{-webkit-line-clamp:1}.clip2{-webkit-line-clamp:2}.clip3{-webkit-line-clamp:3}\
.x-card{position:relative;border:1px solid #cfd9de;border-radius:16px;overflow:hidden}\
.x-title{position:absolute;left:12px;bottom:12px;max-width:calc(100% - 24px);background:rgba(0,0,0,.77);color:#fff;border-radius:4px;padding:0 4px;font-size:13px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}\
.x-card.small{display:flex;align-items:center}.x-card.small>div{padding:.5rem .75rem}.square{width:130px;height:130px;object-fit:cover;flex:none}\
.x-from{color:#536471;font-size:13px;margin-top:4px}\
.fb-card{border:1px solid #dadde1}.fb-text{background:#f0f2f5;padding:10px 12px;display:flex;flex-direction:column;gap:2px}\
.fb-domain{color:#65676b;font-size:12px}.fb-text b{font-size:16px;color:#050505}.fb-text .clip1{color:#65676b}\
.li-card{border-radius:8px;overflow:hidden;box-shadow:0 0 0 1px rgba(0,0,0,.12)}.li-text{padding:8px 12px;background:#fff}.li-text b{font-size:14px;color:rgba(0,0,0,.9)}\
.sl-card{border-left:4px solid #dddddd;padding:0 0 0 12px;display:flex;flex-direction:column;gap:2px;font-family:Lato,system-ui,sans-serif}\
.sl-site{font-size:13px}.sl-title{color:#1264a3;font-weight:700}.sl-img{max-width:360px;width:100%;border-radius:8px;margin-top:6px;aspect-ratio:1.91/1;object-fit:cover}\
.dc-card{background:#2b2d31;color:#dbdee1;border-left:4px solid #1e1f22;border-radius:4px;padding:8px 16px 16px 12px;display:flex;flex-direction:column;gap:6px;font-family:'gg sans','Noto Sans',system-ui,sans-serif}\
.dc-site{font-size:12px;color:#b5bac1}.dc-title{color:#00a8fc;font-weight:600}.dc-img{width:100%;border-radius:4px;aspect-ratio:1.91/1;object-fit:cover}\
.tags{margin-top:.75rem}.tags table{border-collapse:collapse;font-size:12px}.tags th{text-align:left;padding:2px 8px 2px 0;color:#555;vertical-align:top;white-space:nowrap}.tags td{word-break:break-all}\
.others>summary{cursor:pointer;font-weight:600;margin:1rem 0}\
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_and_local_images() {
        assert_eq!(domain("https://www.Blog.test:8080/a?b"), "blog.test");
        assert_eq!(domain("https://user@blog.test"), "blog.test");
        assert_eq!(
            local_image("https://blog.test/og/a.png", Some("https://blog.test")),
            "/og/a.png"
        );
        assert_eq!(
            local_image("https://blog.test.evil/og/a.png", Some("https://blog.test")),
            "https://blog.test.evil/og/a.png"
        );
        assert_eq!(
            local_image("https://cdn.test/a.png", None),
            "https://cdn.test/a.png"
        );
    }
}
