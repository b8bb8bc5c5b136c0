//! The theme: the built-in templates, compiled into the binary, and a site's own
//! `templates/` files that override them by name (Zola's and mdBook's model).
//!
//! `.html` templates are auto-escaped; a post's rendered Markdown is passed as a safe
//! string so it is not escaped twice.

use std::path::Path;

use anyhow::{Result, anyhow};
use minijinja::{Environment, Value};

use crate::report::display_path;

/// Built-in templates, by the name a site overrides them with.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("post.html", include_str!("../../templates/post.html")),
    ("index.html", include_str!("../../templates/index.html")),
    ("section.html", include_str!("../../templates/section.html")),
    ("tag.html", include_str!("../../templates/tag.html")),
    ("tags.html", include_str!("../../templates/tags.html")),
];

/// Files written into every site's output unless its `static/` has one of that name.
pub const BUILT_IN_STATIC: &[(&str, &[u8])] =
    &[("style.css", include_bytes!("../../templates/style.css"))];

/// Work one page may take, in minijinja's fuel (about an instruction, or 64 bytes made
/// or written, each): some thirty times what the built-in index of a 2,000-post blog
/// needs, and a second or two, so a template that loops forever ends with an error
/// instead of a hang. Each render starts with the whole amount.
const PAGE_FUEL: u64 = 5_000_000;

/// Nested loops, includes and macro calls, at most: a recursive macro ends here, well
/// before a worker thread's stack would.
const PAGE_RECURSION_LIMIT: usize = 200;

/// The loaded theme.
pub struct Theme {
    env: Environment<'static>,
    /// Every template's name and source, in name order; the pages' fingerprint covers them.
    sources: Vec<(String, String)>,
    /// The names of the templates that come from the site's `templates/` folder, with the
    /// file as messages name it.
    site_files: Vec<(String, String)>,
}

impl Theme {
    /// The built-in theme with the `.html` files of `templates_dir` (if it exists) on top.
    /// A template that does not parse is an error naming its file and line.
    pub fn load(site_dir: &Path, templates_dir: &Path) -> Result<Theme> {
        let mut sources: Vec<(String, String)> = BUILT_IN
            .iter()
            .map(|(name, src)| (name.to_string(), src.to_string()))
            .collect();
        let mut site_files = Vec::new();
        if templates_dir.is_dir() {
            for entry in walkdir::WalkDir::new(templates_dir).sort_by_file_name() {
                let entry = entry
                    .map_err(|e| anyhow!("could not read {}: {e}", templates_dir.display()))?;
                let path = entry.path();
                if !entry.file_type().is_file() || path.extension().is_none_or(|e| e != "html") {
                    continue;
                }
                let name = path
                    .strip_prefix(templates_dir)
                    .unwrap_or(path)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                let text = std::fs::read_to_string(path).map_err(|e| {
                    anyhow!(
                        "could not read {}: {e}",
                        display_path(site_dir, path).display()
                    )
                })?;
                site_files.push((
                    name.clone(),
                    display_path(site_dir, path).display().to_string(),
                ));
                match sources.iter_mut().find(|(n, _)| *n == name) {
                    Some(slot) => slot.1 = text,
                    None => sources.push((name, text)),
                }
            }
        }
        sources.sort();

        let mut env = Environment::new();
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
            .expect("the default delimiters are valid");
        env.set_syntax(syntax);
        env.set_formatter(format_value);
        env.set_fuel(Some(PAGE_FUEL));
        env.set_recursion_limit(PAGE_RECURSION_LIMIT);
        for (name, src) in &sources {
            env.add_template_owned(name.clone(), src.clone())
                .map_err(|e| {
                    let file = if BUILT_IN.iter().any(|(n, s)| n == name && s == src) {
                        format!("built-in template {name}")
                    } else {
                        display_path(site_dir, &templates_dir.join(name))
                            .display()
                            .to_string()
                    };
                    anyhow!("{}", describe(&file, &e))
                })?;
        }
        Ok(Theme {
            env,
            sources,
            site_files,
        })
    }

    /// Renders template `name` with `ctx`; the error names the template's file and line.
    pub fn render(&self, name: &str, ctx: Value) -> Result<String, String> {
        let explain = |e: minijinja::Error| {
            let mut text = describe(&self.file_of(name), &e);
            if let Some(inner) = e.name().filter(|inner| *inner != name) {
                text = text.replacen(
                    &format!("in {inner}:"),
                    &format!("in {}:", self.file_of(inner)),
                    1,
                );
            }
            text
        };
        let template = self.env.get_template(name).map_err(explain)?;
        template.render(ctx).map_err(explain)
    }

    /// `templates/post.html` for a site's own template, `built-in template post.html`
    /// for one of the theme's.
    fn file_of(&self, name: &str) -> String {
        self.site_files.iter().find(|(n, _)| n == name).map_or_else(
            || format!("built-in template {name}"),
            |(_, file)| file.clone(),
        )
    }

    pub fn sources(&self) -> &[(String, String)] {
        &self.sources
    }
}

/// "templates/post.html:12: syntax error: ..." with minijinja's own detail.
fn describe(file: &str, e: &minijinja::Error) -> String {
    let kind = match e.kind() {
        minijinja::ErrorKind::OutOfFuel => {
            "it did more work than any page needs (a loop that never ends?)".to_string()
        }
        kind => kind.to_string(),
    };
    let mut text = match (e.name(), e.line()) {
        (Some(name), Some(line)) if file.ends_with(name) => format!("{file}:{line}: {kind}"),
        (Some(name), Some(line)) => format!("{file}: in {name}:{line}: {kind}"),
        _ => format!("{file}: {kind}"),
    };
    if let Some(detail) = e.detail() {
        text.push_str(": ");
        text.push_str(detail);
    }
    text
}

/// Prints a value into a template: `none` as nothing, and HTML escaped with the five
/// characters that need it (minijinja's default also escapes `/`, which makes every URL
/// in a page unreadable).
fn format_value(
    out: &mut minijinja::Output,
    state: &mut minijinja::State,
    value: &Value,
) -> Result<(), minijinja::Error> {
    if value.is_none() || value.is_undefined() {
        return Ok(());
    }
    if *state.auto_escape() == minijinja::AutoEscape::Html && !value.is_safe() {
        return write!(out, "{}", escape_html(&value.to_string())).map_err(|_| {
            minijinja::Error::new(
                minijinja::ErrorKind::WriteFailure,
                "could not write the page",
            )
        });
    }
    minijinja::escape_formatter(out, state, value)
}

/// Escapes text for HTML content and double- or single-quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for XML (SVG card templates): as [`escape_html`], and drops the
/// characters XML cannot hold at all, even escaped (most C0 controls, U+FFFE, U+FFFF).
pub fn escape_xml(text: &str) -> String {
    let clean: String = text
        .chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r') || !(c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}')
        })
        .collect();
    escape_html(&clean)
}

/// Marks already-rendered HTML so templates do not escape it again.
pub fn safe_html(html: &str) -> Value {
    Value::from_safe_string(html.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_templates_override_and_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let templates = dir.path().join("templates");
        std::fs::create_dir_all(&templates).unwrap();
        std::fs::write(templates.join("tag.html"), "TAG {{ tag.name }}").unwrap();
        let theme = Theme::load(dir.path(), &templates).unwrap();
        let out = theme
            .render(
                "tag.html",
                minijinja::context! { tag => minijinja::context!{ name => "<b>" } },
            )
            .unwrap();
        assert_eq!(out, "TAG &lt;b&gt;");
        let out = theme
            .render(
                "tag.html",
                minijinja::context! { tag => minijinja::context!{ name => "a/b & 'c'" } },
            )
            .unwrap();
        assert_eq!(out, "TAG a/b &amp; &#39;c&#39;", "slashes stay readable");

        std::fs::write(templates.join("post.html"), "ok\n{% if %}\n").unwrap();
        let err = Theme::load(dir.path(), &templates)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("templates/post.html:2: syntax error"), "{err}");
    }

    #[test]
    fn templates_that_never_end_are_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let templates = dir.path().join("templates");
        std::fs::create_dir_all(&templates).unwrap();
        for (source, expected) in [
            (
                "{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}",
                "a loop that never ends",
            ),
            (
                "{% macro down(n) %}{{ down(n + 1) }}{% endmacro %}{{ down(0) }}",
                "recursion",
            ),
        ] {
            std::fs::write(templates.join("tag.html"), source).unwrap();
            let theme = Theme::load(dir.path(), &templates).unwrap();
            // Twice: the fuel is per page, not per theme.
            for _ in 0..2 {
                let err = theme
                    .render("tag.html", minijinja::context! {})
                    .unwrap_err();
                assert!(err.starts_with("templates/tag.html:1: "), "{err}");
                assert!(err.contains(expected), "{err}");
            }
        }
        std::fs::write(templates.join("tag.html"), "{{ range(50000) | join(',') }}").unwrap();
        let theme = Theme::load(dir.path(), &templates).unwrap();
        for _ in 0..3 {
            assert!(theme.render("tag.html", minijinja::context! {}).is_ok());
        }
    }

    #[test]
    fn the_index_of_a_big_blog_fits_in_the_fuel() {
        let dir = tempfile::tempdir().unwrap();
        let theme = Theme::load(dir.path(), &dir.path().join("templates")).unwrap();
        let posts: Vec<Value> = (0..2000)
            .map(|i| {
                minijinja::context! {
                    path => format!("/posts/post-number-{i}/"),
                    title => format!("Post number {i}: a title of the usual length for a blog"),
                    date => "2024-05-17",
                    date_long => "17 May 2024",
                    tags => vec![
                        minijinja::context! { name => "rust", path => "/tags/rust/" },
                        minijinja::context! { name => "web", path => "/tags/web/" },
                    ],
                    description => "A description of two hundred characters or so, as posts have them: ".repeat(3),
                }
            })
            .collect();
        let ctx = minijinja::context! {
            site => minijinja::context! { title => "T", base_url => "https://b.test", language => "en" },
            posts => posts,
        };
        let html = theme.render("index.html", ctx).unwrap();
        assert!(html.contains("Post number 1999"));
    }
}
