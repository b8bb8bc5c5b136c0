//! Markdown to HTML with pulldown-cmark, plus the plain-text excerpt that serves as a
//! post's description when its front matter has none.

use std::collections::HashMap;

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};

use crate::url::slugify;

/// How long a generated description may be, in characters; what X and Facebook show.
const EXCERPT_CHARS: usize = 160;

pub struct Rendered {
    pub html: String,
    /// The first paragraphs as plain text, cut at a word near [`EXCERPT_CHARS`].
    pub excerpt: String,
}

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_SMART_PUNCTUATION
}

pub fn render(markdown: &str) -> Rendered {
    Rendered {
        html: to_html(markdown),
        excerpt: excerpt_of(markdown),
    }
}

/// The body as HTML.
pub fn to_html(markdown: &str) -> String {
    let mut events: Vec<Event<'_>> = Parser::new_ext(markdown, options()).collect();
    add_heading_ids(&mut events);
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events.into_iter());
    out
}

/// The excerpt alone: parses only as far as it needs to.
pub fn excerpt_of(markdown: &str) -> String {
    excerpt(Parser::new_ext(markdown, options()))
}

/// Gives every heading without an explicit `{#id}` an id made from its text, unique in
/// the page (`intro`, `intro-1`, ...), so sections can be linked to.
fn add_heading_ids(events: &mut [Event<'_>]) {
    let mut used: HashMap<String, usize> = HashMap::new();
    for e in events.iter() {
        if let Event::Start(Tag::Heading { id: Some(id), .. }) = e {
            used.insert(id.to_string(), 0);
        }
    }
    for i in 0..events.len() {
        let Event::Start(Tag::Heading { id: None, .. }) = &events[i] else {
            continue;
        };
        let mut text = String::new();
        for e in &events[i + 1..] {
            match e {
                Event::End(TagEnd::Heading(_)) => break,
                Event::Text(t) | Event::Code(t) => text.push_str(t),
                _ => {}
            }
        }
        let base = match slugify(&text) {
            s if s.is_empty() => "section".to_string(),
            s => s,
        };
        let mut id = base.clone();
        while let Some(n) = used.get_mut(&id) {
            *n += 1;
            id = format!("{base}-{n}");
        }
        used.insert(id.clone(), 0);
        if let Event::Start(Tag::Heading { id: slot, .. }) = &mut events[i] {
            *slot = Some(CowStr::from(id));
        }
    }
}

/// Plain text of the leading paragraphs (not headings, code blocks or footnotes).
fn excerpt<'a>(events: impl IntoIterator<Item = Event<'a>>) -> String {
    let mut text = String::new();
    let mut in_paragraph = 0usize;
    let mut skip = 0usize;
    for e in events {
        match e {
            Event::Start(Tag::FootnoteDefinition(_) | Tag::CodeBlock(_) | Tag::Heading { .. }) => {
                skip += 1
            }
            Event::End(TagEnd::FootnoteDefinition | TagEnd::CodeBlock | TagEnd::Heading(_)) => {
                skip = skip.saturating_sub(1)
            }
            Event::Start(Tag::Paragraph) => in_paragraph += 1,
            Event::End(TagEnd::Paragraph) => {
                in_paragraph = in_paragraph.saturating_sub(1);
                push_space(&mut text);
            }
            Event::Text(t) | Event::Code(t) if in_paragraph > 0 && skip == 0 => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak if in_paragraph > 0 => push_space(&mut text),
            _ => {}
        }
        if text.chars().count() > EXCERPT_CHARS * 2 {
            break;
        }
    }
    truncate_words(
        text.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .as_str(),
        EXCERPT_CHARS,
    )
}

fn push_space(text: &mut String) {
    if !text.ends_with(' ') && !text.is_empty() {
        text.push(' ');
    }
}

/// Cuts `text` at the last word boundary within `max` characters, adding `…`.
pub fn truncate_words(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > max / 2 => &cut[..i],
        _ => &cut,
    };
    format!("{}…", cut.trim_end_matches([',', ';', ':', '.', ' ', '-']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_are_on() {
        let r = render(
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~gone~~\n\n- [x] done\n\nText[^1]\n\n[^1]: Note.\n",
        );
        assert!(r.html.contains("<table>"), "{}", r.html);
        assert!(r.html.contains("<del>gone</del>"));
        assert!(r.html.contains("type=\"checkbox\""));
        assert!(r.html.contains("footnote-definition"));
    }

    #[test]
    fn headings_get_unique_ids() {
        let r = render("# Intro\n\n## Intro\n\n## Custom {#mine}\n\n## `code` & more\n");
        assert!(r.html.contains("<h1 id=\"intro\">"), "{}", r.html);
        assert!(r.html.contains("<h2 id=\"intro-1\">"));
        assert!(r.html.contains("<h2 id=\"mine\">"));
        assert!(r.html.contains("<h2 id=\"code-more\">"));
    }

    #[test]
    fn excerpt_is_plain_text_of_paragraphs() {
        let r = render(
            "# Title\n\nFirst *para* with `code`\nand a [link](https://x).\n\n```\nnot this\n```\n\nSecond.\n",
        );
        assert_eq!(r.excerpt, "First para with code and a link. Second.");
    }

    #[test]
    fn long_excerpts_end_at_a_word() {
        let long = "word ".repeat(100);
        let r = render(&long);
        assert!(r.excerpt.chars().count() <= EXCERPT_CHARS + 1);
        assert!(r.excerpt.ends_with("word…"), "{}", r.excerpt);
    }
}
