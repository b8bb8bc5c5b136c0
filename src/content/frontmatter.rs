//! Front matter: split it from the body, parse it (YAML `---` or TOML `+++`) with
//! gray_matter's engines, and read the keys ogforge knows into [`FrontMatter`].
//!
//! We split the file ourselves rather than let gray_matter do it: we need the line where
//! the front matter starts (to point errors at the right line of the file), a byte-order
//! mark and CRLF line endings handled, and no "excerpt" cut at a horizontal rule.

use gray_matter::Pod;
use gray_matter::engine::{Engine, TOML, YAML};
use serde_json::{Map, Value};

use super::date::Date;

/// What is wrong with a file's front matter, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontMatterError {
    /// 1-based line in the file.
    pub line: Option<usize>,
    pub message: String,
    pub hint: Option<String>,
}

impl FrontMatterError {
    fn new(line: Option<usize>, message: impl Into<String>) -> Self {
        FrontMatterError {
            line,
            message: message.into(),
            hint: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Toml,
}

/// A source file cut in two.
#[derive(Debug, PartialEq, Eq)]
pub struct Split<'a> {
    pub format: Format,
    pub matter: &'a str,
    /// Line of the file on which `matter` starts.
    pub matter_line: usize,
    pub body: &'a str,
}

/// Cuts `text` (BOM removed, line endings `\n`) into front matter and body.
pub fn split(text: &str) -> Result<Split<'_>, FrontMatterError> {
    let no_matter = || {
        FrontMatterError::new(Some(1), "no front matter").hint(
            "start the file with a `---` line (YAML) or a `+++` line (TOML), then `title: ...`, then the same line again",
        )
    };
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let (format, delimiter) = match first.trim_end() {
        "---" => (Format::Yaml, "---"),
        "+++" => (Format::Toml, "+++"),
        _ => return Err(no_matter()),
    };
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if trimmed == delimiter || (format == Format::Yaml && trimmed == "...") {
            return Ok(Split {
                format,
                matter: &rest[..offset],
                matter_line: 2,
                body: &rest[offset + line.len()..],
            });
        }
        offset += line.len();
    }
    Err(FrontMatterError::new(
        Some(1),
        format!("the front matter opened by `{delimiter}` is never closed"),
    )
    .hint(format!(
        "add a line with only `{delimiter}` after the last front-matter key"
    )))
}

/// The keys ogforge understands; everything else is kept in `extra` for templates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrontMatter {
    pub title: Option<String>,
    pub description: Option<String>,
    pub date: Option<Date>,
    pub authors: Vec<String>,
    pub tags: Vec<String>,
    pub slug: Option<String>,
    pub draft: bool,
    pub og: OgOverrides,
    /// `screenshot` as written: a URL, a list, or tables; read by the screenshot step.
    pub screenshot: Option<Value>,
    pub extra: Map<String, Value>,
}

/// The `og` table: per-post overrides of the card.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OgOverrides {
    pub title: Option<String>,
    pub template: Option<String>,
    pub image: Option<String>,
    pub alt: Option<String>,
    /// `"screenshot"`: the card is the post's first screenshot, fitted to the card size.
    pub source: Option<String>,
}

/// Parses the front matter of `split`; lines in errors are lines of the whole file.
pub fn parse(split: &Split<'_>) -> Result<FrontMatter, FrontMatterError> {
    if split.format == Format::Yaml {
        super::shape::check_yaml(split.matter).map_err(|e| {
            FrontMatterError::new(Some(file_line(split, e.line)), e.message).hint(e.hint)
        })?;
    }
    let (pod, kind) = match split.format {
        Format::Yaml => (YAML::parse(split.matter), "YAML"),
        Format::Toml => (TOML::parse(split.matter), "TOML"),
    };
    let pod = pod.map_err(|e| {
        let text = e.to_string();
        let text = text.strip_prefix("Deserialize error: ").unwrap_or(&text);
        let line = line_in_message(text).map(|l| file_line(split, l));
        let first = text.lines().next().unwrap_or(text).trim();
        FrontMatterError::new(line.or(Some(split.matter_line)), format!("invalid {kind} front matter: {first}"))
            .hint(match split.format {
                Format::Yaml => "YAML needs `key: value` lines; quote values that contain `: ` or start with `[`, `{`, `&`, `*` or `#`",
                Format::Toml => "TOML needs `key = value` lines with strings in quotes",
            })
    })?;
    let map = match pod_to_json(pod) {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        _ => {
            return Err(FrontMatterError::new(
                Some(split.matter_line),
                "the front matter is not a table of keys",
            )
            .hint("write one `key: value` per line"));
        }
    };
    let locate = |key: &str| find_key_line(split, key);
    read_keys(map).map_err(|(key, message)| FrontMatterError::new(locate(&key), message))
}

fn read_keys(mut map: Map<String, Value>) -> Result<FrontMatter, (String, String)> {
    let mut take = |key: &str| map.remove(key).filter(|v| !v.is_null());
    let title = take("title").map(|v| text("title", v)).transpose()?;
    let description = take("description")
        .map(|v| text("description", v))
        .transpose()?;
    let date = take("date")
        .map(|v| {
            text("date", v)
                .and_then(|s| Date::parse(&s).map_err(|e| ("date".into(), format!("`date`: {e}"))))
        })
        .transpose()?;
    let mut authors = match take("authors") {
        Some(v) => list("authors", v)?,
        None => Vec::new(),
    };
    if let Some(v) = take("author") {
        authors.splice(0..0, list("author", v)?);
    }
    let mut tags = match take("tags") {
        Some(v) => list("tags", v)?,
        None => Vec::new(),
    };
    // Zola keeps tags under `[taxonomies]`; read them from there too, and keep the table.
    if let Some(Value::Array(zola_tags)) = map.get("taxonomies").and_then(|t| t.get("tags")) {
        tags.extend(list("taxonomies.tags", Value::Array(zola_tags.clone()))?);
    }
    let mut seen = std::collections::HashSet::new();
    tags.retain(|t| !t.trim().is_empty() && seen.insert(t.clone()));
    let mut take = |key: &str| map.remove(key).filter(|v| !v.is_null());
    let slug = take("slug").map(|v| text("slug", v)).transpose()?;
    let draft = match take("draft") {
        None => false,
        Some(Value::Bool(b)) => b,
        Some(Value::String(s)) if s == "true" || s == "false" => s == "true",
        Some(other) => {
            return Err((
                "draft".into(),
                format!("`draft` is `{other}`; it must be true or false"),
            ));
        }
    };
    let og = match take("og") {
        None => OgOverrides::default(),
        Some(Value::Object(mut og)) => {
            let mut field = |k: &str| {
                og.remove(k)
                    .filter(|v| !v.is_null())
                    .map(|v| text(&format!("og.{k}"), v))
                    .transpose()
            };
            OgOverrides {
                title: field("title")?,
                template: field("template")?,
                image: field("image")?,
                alt: field("alt")?,
                source: field("source")?,
            }
        }
        Some(_) => {
            return Err((
                "og".into(),
                "`og` must be a table with `title`, `template`, `image`, `alt` or `source`".into(),
            ));
        }
    };
    let screenshot = take("screenshot");
    Ok(FrontMatter {
        title,
        description,
        date,
        authors,
        tags,
        slug,
        draft,
        og,
        screenshot,
        extra: map,
    })
}

/// A string, or a number or boolean written without quotes (`title: 1984`).
fn text(key: &str, value: Value) -> Result<String, (String, String)> {
    match value {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err((
            key.into(),
            format!("`{key}` must be text, not a list or a table"),
        )),
    }
}

/// A list of strings, or one string standing for a list of one.
fn list(key: &str, value: Value) -> Result<Vec<String>, (String, String)> {
    match value {
        Value::Array(items) => items.into_iter().map(|v| text(key, v)).collect(),
        other => Ok(vec![text(key, other)?]),
    }
}

fn pod_to_json(pod: Pod) -> Value {
    match pod {
        Pod::Null => Value::Null,
        Pod::String(s) => Value::String(s),
        Pod::Integer(i) => Value::from(i),
        Pod::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        Pod::Boolean(b) => Value::Bool(b),
        Pod::Array(items) => Value::Array(items.into_iter().map(pod_to_json).collect()),
        Pod::Hash(map) => {
            // HashMap order is random; sort so templates and fingerprints see one order.
            let mut entries: Vec<_> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, pod_to_json(v)))
                    .collect(),
            )
        }
    }
}

/// The file line of line `line` (1-based) of the front matter as a YAML or TOML parser
/// counts. YAML counts a lone `\r` as a line break too, so its line can be past the front
/// matter; the closing delimiter's line is the last one it can be about.
fn file_line(split: &Split<'_>, line: usize) -> usize {
    let last = split.matter_line + split.matter.lines().count();
    (line + split.matter_line).saturating_sub(1).min(last)
}

/// The first `line N` in a parser's message (yaml-rust2 and toml both say it that way).
fn line_in_message(message: &str) -> Option<usize> {
    let at = message.find("line ")?;
    let digits: String = message[at + 5..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The file line on which `key` is written at the top level of the front matter.
pub fn find_key_line(split: &Split<'_>, key: &str) -> Option<usize> {
    let top = key.split('.').next()?;
    split
        .matter
        .lines()
        .position(|line| {
            line.strip_prefix(top)
                .is_some_and(|rest| rest.trim_start().starts_with([':', '=']))
        })
        .map(|i| i + split.matter_line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<FrontMatter, FrontMatterError> {
        parse(&split(text)?)
    }

    #[test]
    fn yaml_and_toml_read_the_same_keys() {
        let yaml = "---\ntitle: Hello\ndate: 2024-05-17\nauthor: Ada\ntags: [rust, web]\nog:\n  alt: A card\nlayout: wide\n---\nBody\n";
        let toml = "+++\ntitle = \"Hello\"\ndate = 2024-05-17\nauthor = \"Ada\"\ntags = [\"rust\", \"web\"]\nlayout = \"wide\"\n[og]\nalt = \"A card\"\n+++\nBody\n";
        for text in [yaml, toml] {
            let fm = parse_text(text).unwrap();
            assert_eq!(fm.title.as_deref(), Some("Hello"));
            assert_eq!(fm.date.as_ref().unwrap().to_string(), "2024-05-17");
            assert_eq!(fm.authors, ["Ada"]);
            assert_eq!(fm.tags, ["rust", "web"]);
            assert_eq!(fm.og.alt.as_deref(), Some("A card"));
            assert_eq!(fm.extra.get("layout"), Some(&Value::from("wide")));
            assert_eq!(split(text).unwrap().body, "Body\n");
        }
    }

    #[test]
    fn authors_list_and_zola_taxonomies() {
        let fm = parse_text("+++\ntitle = \"T\"\nauthors = [\"A\", \"B\"]\n[taxonomies]\ntags = [\"x\", \"x\", \"y\"]\n+++\n").unwrap();
        assert_eq!(fm.authors, ["A", "B"]);
        assert_eq!(fm.tags, ["x", "y"]);
        assert!(fm.extra.contains_key("taxonomies"));
    }

    #[test]
    fn yaml_error_points_at_the_file_line() {
        let err = parse_text("---\ntitle: ok\ntags: [a, b\nauthor: x\n---\n").unwrap_err();
        assert!(
            err.message.starts_with("invalid YAML front matter"),
            "{err:?}"
        );
        let line = err.line.unwrap();
        assert!(
            (3..=5).contains(&line),
            "line {line} should be near the broken list"
        );
    }

    #[test]
    fn yaml_error_line_is_a_line_of_the_file_when_the_matter_has_lone_cr() {
        // Found by the `front_matter` fuzz target.
        let text = "---\nx: 1\ry: 2\rz: 3\rbad\rw: 4\n---\n";
        let err = parse_text(text).unwrap_err();
        assert!(err.message.starts_with("invalid YAML"), "{err:?}");
        assert!(err.line.is_some_and(|l| (2..=3).contains(&l)), "{err:?}");
    }

    #[test]
    fn toml_error_points_at_the_file_line() {
        let err = parse_text("+++\ntitle = \"ok\"\ndate = \n+++\n").unwrap_err();
        assert!(
            err.message.starts_with("invalid TOML front matter"),
            "{err:?}"
        );
        assert_eq!(err.line, Some(3));
    }

    #[test]
    fn bad_values_name_key_and_line() {
        let err = parse_text("---\ntitle: ok\ndate: last tuesday\n---\n").unwrap_err();
        assert!(err.message.contains("`date`"), "{err:?}");
        assert_eq!(err.line, Some(3));
        let err = parse_text("---\ntitle: [a, b]\n---\n").unwrap_err();
        assert!(err.message.contains("`title`"));
        assert_eq!(err.line, Some(2));
    }

    #[test]
    fn missing_or_unclosed_front_matter() {
        let err = split("# Just markdown\n").unwrap_err();
        assert_eq!(err.message, "no front matter");
        assert!(err.hint.unwrap().contains("---"));
        let err = split("---\ntitle: x\n").unwrap_err();
        assert!(err.message.contains("never closed"));
    }

    #[test]
    fn horizontal_rules_in_the_body_are_kept() {
        let s = split("---\ntitle: x\n---\nintro\n\n---\n\nmore\n").unwrap();
        assert_eq!(s.body, "intro\n\n---\n\nmore\n");
    }

    #[test]
    fn hostile_front_matter_is_an_error_not_a_crash() {
        let deep = 100_000;
        for matter in [
            format!("title: x\ny: {}z", "- ".repeat(deep)),
            format!("title: x\ny: {}", "[".repeat(deep)),
            format!("title: x\ny: {}", "{a: ".repeat(deep)),
            "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]".to_string(),
        ] {
            let err = parse_text(&format!("---\n{matter}\n---\n")).unwrap_err();
            assert!(err.hint.is_some(), "{err:?}");
            assert!(err.line.is_some_and(|l| l >= 2), "{err:?}");
        }
        for matter in [
            format!("title = \"x\"\ny = {}", "[".repeat(deep)),
            format!("title = \"x\"\ny = {}", "{a = ".repeat(deep)),
            format!("title = \"x\"\n{} = 1", vec!["a"; deep].join(".")),
            format!("title = \"x\"\n[{}]", vec!["a"; deep].join(".")),
        ] {
            let err = parse_text(&format!("+++\n{matter}\n+++\n")).unwrap_err();
            assert!(err.message.starts_with("invalid TOML"), "{err:?}");
        }
    }

    #[test]
    fn empty_front_matter_has_no_title() {
        assert_eq!(parse_text("---\n---\nbody").unwrap().title, None);
    }
}
