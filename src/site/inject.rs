//! Open Graph and Twitter meta tags, put into any HTML page.
//!
//! This module owns the list of meta tags ogforge manages and the one rewrite that puts
//! them into a page: stale tags of those properties are removed wherever they are, and
//! the fresh block goes once into the `<head>`. The build calls [`inject_meta`] on every
//! page it renders, and `ogforge inject` on pages other generators made, so every byte
//! that is not a managed tag is kept. It does no I/O: bytes in, bytes out.
//!
//! Running it twice gives the same bytes as running it once: each tag is written as
//! `<meta …>` and a newline, and removing a tag also removes the whitespace-only text right
//! after it.
//!
//! Pages are read in their own encoding (see [`charset`](super::charset)) and the tags are
//! written in it, with character references for what it cannot hold. A page in an
//! ASCII-compatible encoding (UTF-8, windows-1252, Shift_JIS…) is spliced as bytes; a
//! UTF-16 one is decoded, rewritten as UTF-8 and encoded back, which gives back every
//! byte; any other encoding (ISO-2022-JP, `replacement`) is refused.

use std::borrow::Cow;
use std::cell::RefCell;
use std::ops::Range;
use std::rc::Rc;

use lol_html::errors::RewritingError;
use lol_html::{
    AsciiCompatibleEncoding, HtmlRewriter, Settings, doc_comments, doctype, element, end_tag,
};

use crate::site::charset::{self, Found, PageEncoding};
use crate::site::templates::escape_html;

/// The Open Graph / Twitter tags one page should carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaTags {
    pub title: String,
    pub description: String,
    /// Absolute URL of the page.
    pub url: String,
    /// `article` or `website`.
    pub og_type: String,
    pub site_name: Option<String>,
    pub image: Option<OgImage>,
}

/// The card image of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OgImage {
    /// Absolute URL of the image.
    pub url: String,
    /// Pixel size and MIME type, when known; their tags are left out otherwise.
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub mime_type: Option<String>,
    pub alt: String,
}

/// Why the meta tags could not be put into a page.
#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    /// Markup lol_html cannot parse unambiguously.
    #[error("could not parse the page's HTML to put the meta tags in")]
    Parse(#[from] RewritingError),
    /// Each removal of an old tag revealed another (markup built to do that).
    #[error(
        "removing the page's old og:/twitter: meta tags revealed new ones {0} times over; \
         check the markup around its <meta> tags (an unclosed <svg> or <script>?)"
    )]
    Unsettled(usize),
    /// An encoding whose bytes are not ASCII where markup is, and is not UTF-16.
    #[error("the page is in {0}, which ogforge cannot rewrite")]
    Encoding(&'static str),
    /// A UTF-16 byte-order mark on bytes that are not UTF-16: they could not be written
    /// back as they were.
    #[error(
        "the page starts with a {0} byte-order mark but is not valid {0} (an odd number of \
         bytes, or half of a surrogate pair)"
    )]
    NotUtf16(&'static str),
}

impl InjectError {
    /// What the user can do about it, where there is something.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            InjectError::Encoding(_) | InjectError::NotUtf16(_) => Some(
                "save the page as UTF-8 (or a single-byte or Shift_JIS/EUC encoding) and declare it with <meta charset>",
            ),
            InjectError::Parse(_) | InjectError::Unsettled(_) => None,
        }
    }
}

/// Every property this module writes, in the order it writes them. An existing tag with
/// one of these is replaced even when this page gets none of it (no image, no site name).
const MANAGED: [&str; 15] = [
    "og:title",
    "og:description",
    "og:type",
    "og:url",
    "og:site_name",
    "og:image",
    "og:image:width",
    "og:image:height",
    "og:image:type",
    "og:image:alt",
    "twitter:card",
    "twitter:title",
    "twitter:description",
    "twitter:image",
    "twitter:image:alt",
];

/// Elements that may stand in `<head>`; any other one starts the body even without `<body>`.
const HEAD_ELEMENTS: [&str; 10] = [
    "html", "head", "title", "meta", "link", "style", "script", "noscript", "base", "template",
];

/// Head elements whose content is not markup: text, or (`<template>`) inert.
const TEXT_ELEMENTS: [&str; 5] = ["title", "script", "style", "noscript", "template"];

/// Where the edits go, in bytes of the input; shared with end-tag handlers, which must be
/// `'static`.
#[derive(Default)]
struct Edits {
    /// Start tags of managed `<meta>`s, in document order.
    stale: Vec<Range<usize>>,
    /// The first insertion point met: `</head>`, `<body>` or the first body element.
    insert_at: Option<usize>,
    /// Open `<template>`s: their content is inert, so it is no insertion point.
    template_depth: usize,
    /// Where the last finished tag, comment or doctype ends.
    markup_end: usize,
    /// Starts of the open [`TEXT_ELEMENTS`], outermost first.
    open_text: Vec<usize>,
    /// Where the first `<svg>` or `<math>` starts.
    foreign_at: Option<usize>,
}

impl Edits {
    /// Whether a stale tag comes after an `<svg>` or `<math>`, so that removing it may
    /// change how the rest of the page parses.
    fn reread(&self) -> bool {
        let last_stale = self.stale.last().map(|tag| tag.start);
        self.foreign_at.is_some_and(|at| last_stale > Some(at))
    }

    fn markup_until(&mut self, end: usize) {
        self.markup_end = self.markup_end.max(end);
    }

    /// Where the block goes when the page has no `</head>` and no body: at its end, unless
    /// that end is inside an element whose content is no markup, or inside an unclosed
    /// comment or tag. Text appended there would not be meta tags, and running again would
    /// add the block once more.
    fn end_of_head(&self, html: &[u8]) -> usize {
        // After the last finished tag, comment or doctype comes text up to the first `<`,
        // which starts what is left unfinished (`<`, `</`, `<!--`, `<a href`…). Text is
        // found by bytes: lol_html gives some (a cut UTF-8 sequence) no location.
        let rest = &html[self.markup_end..];
        let end = self.markup_end + rest.iter().position(|&b| b == b'<').unwrap_or(rest.len());
        self.open_text.first().copied().unwrap_or(end)
    }
}

/// Puts `tags` into the page's `<head>`, replacing earlier tags of the same properties.
///
/// lol_html only finds where things are; the bytes are spliced here. Rewriting through
/// lol_html would need a text handler to drop the whitespace after a removed tag, and any
/// text handler makes lol_html re-encode all text as UTF-8, turning a Latin-1 page's
/// accents into U+FFFD.
///
/// A `<meta>` does not change how what follows it parses, except inside `<svg>` or
/// `<math>`, which it ends: with it removed, a later `<title>` or `<script>` is SVG markup
/// rather than text, and a tag written in that text becomes a real one. A page whose
/// stale tags come after an `<svg>` or `<math>` is read again after their removal, until
/// none is left; the block goes where that page's head ends, so injecting twice gives the
/// bytes of injecting once.
pub fn inject_meta(html: &[u8], tags: &MetaTags) -> Result<Vec<u8>, InjectError> {
    inject_reading(html, tags, PARSE_CHUNK)
}

/// [`inject_meta`], reading the page `chunk` bytes at a time: the fuzz target checks that
/// stopping at the end of the head gives the bytes of reading the whole page.
#[cfg(fuzzing)]
pub fn inject_meta_in_chunks(
    html: &[u8],
    tags: &MetaTags,
    chunk: usize,
) -> Result<Vec<u8>, InjectError> {
    inject_reading(html, tags, chunk)
}

fn inject_reading(html: &[u8], tags: &MetaTags, chunk: usize) -> Result<Vec<u8>, InjectError> {
    if let Some(utf16) = utf16_of(html) {
        let text = charset::decode_utf16(html, utf16).ok_or(InjectError::NotUtf16(utf16.name()))?;
        let out = settle(text.as_bytes(), chunk)?.insert(render_block(tags).as_bytes());
        // Valid UTF-8: every edit is next to an ASCII byte of markup, so nothing is lost.
        let out = String::from_utf8_lossy(&out);
        return Ok(charset::encode_utf16(&out, utf16, true));
    }
    let page = settle(html, chunk)?;
    let encoding = page.encoding();
    if !encoding.is_ascii_compatible() {
        return Err(InjectError::Encoding(encoding.encoding.name()));
    }
    Ok(page.insert(&encoding.encode(&render_block(tags))))
}

/// The encoding `inject_meta` reads and writes `html` in: the one the page declares once
/// its stale tags are gone, so that inserting the block (which may push a declaration
/// past the first 1024 bytes) does not change it for the next run.
pub fn page_encoding(html: &[u8]) -> Result<PageEncoding, InjectError> {
    match utf16_of(html) {
        Some(encoding) => Ok(PageEncoding {
            encoding,
            found: Found::ByteOrderMark,
        }),
        None => Ok(settle(html, PARSE_CHUNK)?.encoding()),
    }
}

/// The error [`inject_meta`] would give for a page in `encoding` because of its encoding,
/// found before any other work is spent on the page.
pub fn check_encoding(html: &[u8], encoding: &PageEncoding) -> Result<(), InjectError> {
    if encoding.is_utf16() {
        return match charset::decode_utf16(html, encoding.encoding) {
            Some(_) => Ok(()),
            None => Err(InjectError::NotUtf16(encoding.encoding.name())),
        };
    }
    if !encoding.is_ascii_compatible() {
        return Err(InjectError::Encoding(encoding.encoding.name()));
    }
    Ok(())
}

/// The managed tags of `encoding`'s page as `inject_meta` writes them.
pub fn meta_block(tags: &MetaTags, encoding: &PageEncoding) -> Vec<u8> {
    encoding.encode(&render_block(tags)).into_owned()
}

/// The tags ogforge wrote into this page on an earlier run (of `build` or `inject`), when
/// the page holds its block byte for byte as ogforge writes it; `None` when its managed
/// tags are anybody else's, or were edited since. `facts` are the page's own.
pub fn earlier_block(html: &[u8], facts: &PageFacts) -> Option<MetaTags> {
    let meta = |key: &str| facts.meta(key).map(str::to_string);
    let number = |key: &str| facts.meta(key).and_then(|v| v.parse().ok());
    let tags = MetaTags {
        title: meta("og:title")?,
        description: meta("og:description")?,
        url: meta("og:url")?,
        og_type: meta("og:type")?,
        site_name: meta("og:site_name"),
        image: meta("og:image").map(|url| OgImage {
            url,
            width: number("og:image:width"),
            height: number("og:image:height"),
            mime_type: meta("og:image:type"),
            alt: meta("og:image:alt").unwrap_or_default(),
        }),
    };
    let (text, _) = readable(html, facts.encoding);
    let block = match facts.encoding.is_utf16() {
        true => render_block(&tags).into_bytes(),
        false => meta_block(&tags, &facts.encoding),
    };
    memchr::memmem::find(&text, &block).map(|_| tags)
}

/// UTF-16LE or BE when the page starts with its byte-order mark.
fn utf16_of(html: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let (encoding, _) = encoding_rs::Encoding::for_bom(html)?;
    (encoding != encoding_rs::UTF_8).then_some(encoding)
}

/// A page read until removing its stale tags reveals no other: those tags, and where the
/// block goes.
struct Settled<'a> {
    page: Cow<'a, [u8]>,
    removals: Vec<(Range<usize>, &'static [u8])>,
    insert_at: usize,
}

impl Settled<'_> {
    /// The encoding of the page without its stale tags.
    fn encoding(&self) -> PageEncoding {
        if self.removals.is_empty() {
            return charset::detect(&self.page);
        }
        // A declaration is looked for in the first bytes only: the whole page is made
        // again only when there is none, to tell UTF-8 from not.
        let head = splice_until(&self.page, &self.removals, charset::PRESCAN_BYTES);
        charset::declared(&head)
            .unwrap_or_else(|| charset::detect(&splice(&self.page, &self.removals)))
    }

    /// The page with its stale tags removed and `block` in their stead.
    fn insert(self, block: &[u8]) -> Vec<u8> {
        let at = self.insert_at;
        let mut edits: Vec<(Range<usize>, &[u8])> = self.removals;
        edits.push((at..at, block));
        edits.sort_by_key(|(range, _)| range.start);
        splice(&self.page, &edits)
    }
}

fn settle(html: &[u8], chunk: usize) -> Result<Settled<'_>, InjectError> {
    let mut page = Cow::Borrowed(html);
    for _ in 0..MAX_READS {
        let found = scan(&page, chunk)?;
        let removals = removals(&page, &found.stale);
        if !found.reread() {
            let insert_at = found.insert_at.unwrap_or_else(|| found.end_of_head(&page));
            return Ok(Settled {
                page,
                removals,
                insert_at,
            });
        }
        page = Cow::Owned(splice(&page, &removals));
    }
    Err(InjectError::Unsettled(MAX_READS))
}

/// How many times a page is read before giving up on removing its stale tags. Each
/// removal that reveals another tag needs markup built for it; a page needs one read, or
/// two when its stale tags come after an `<svg>` or `<math>`.
const MAX_READS: usize = 8;

/// Finds the managed tags of a page and where its head ends, reading it `chunk` bytes at
/// a time.
fn scan(html: &[u8], chunk: usize) -> Result<Edits, InjectError> {
    let edits = Rc::new(RefCell::new(Edits::default()));
    let on_element = edits.clone();
    let settings = Settings::new().append_element_content_handler(element!("*", move |el| {
        let mut found = on_element.borrow_mut();
        let start_tag = el.source_location().bytes();
        let name = el.tag_name();
        if found.open_text.is_empty() {
            found.markup_until(start_tag.end);
        }
        if TEXT_ELEMENTS.contains(&name.as_str()) {
            found.open_text.push(start_tag.start);
            if el.can_have_content() {
                // Never called for an unclosed one, which then stays open to the end.
                let edits = on_element.clone();
                el.on_end_tag(end_tag!(move |end| {
                    let mut edits = edits.borrow_mut();
                    edits.open_text.pop();
                    if edits.open_text.is_empty() {
                        edits.markup_until(end.source_location().bytes().end);
                    }
                    Ok(())
                }))?;
            }
        }
        if name == "svg" || name == "math" {
            found.foreign_at.get_or_insert(start_tag.start);
        }
        if name == "meta" {
            if meta_key(el.get_attribute("property"), el.get_attribute("name"))
                .is_some_and(|key| MANAGED.contains(&key.as_str()))
            {
                found.stale.push(start_tag);
            }
        } else if name == "head" {
            // Never called when `</head>` is left out (legal HTML): the body cases cover that.
            let edits = on_element.clone();
            el.on_end_tag(end_tag!(move |end| {
                let at = end.source_location().bytes().start;
                edits.borrow_mut().insert_at.get_or_insert(at);
                Ok(())
            }))?;
        } else if name == "template" {
            found.template_depth += 1;
            let edits = on_element.clone();
            el.on_end_tag(end_tag!(move |_| {
                edits.borrow_mut().template_depth -= 1;
                Ok(())
            }))?;
        } else if found.template_depth == 0 && !HEAD_ELEMENTS.contains(&name.as_str()) {
            // `<body>`, or the first element that implies it: the head ended before it.
            found.insert_at.get_or_insert(start_tag.start);
        }
        Ok(())
    }));
    let (on_doctype, on_comment) = (edits.clone(), edits.clone());
    let settings = settings
        .append_document_content_handler(doctype!(move |d| {
            // A doctype ends at its first `>`, even one in quotes; without one it runs
            // to the end of the page.
            let at = d.source_location().bytes();
            if html[at.clone()].ends_with(b">") {
                on_doctype.borrow_mut().markup_until(at.end);
            }
            Ok(())
        }))
        .append_document_content_handler(doc_comments!(move |c| {
            let at = c.source_location().bytes();
            if is_closed_comment(&html[at.clone()]) {
                on_comment.borrow_mut().markup_until(at.end);
            }
            Ok(())
        }));
    let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
    // Parsing stops once the head has ended and no `<meta` follows: a page's body is most
    // of its bytes and rarely holds one.
    let mut done = false;
    for piece in html.chunks(chunk) {
        rewriter.write(piece)?;
        let head_end = edits.borrow().insert_at;
        if head_end.is_some_and(|at| !has_meta_tag(&html[at..])) {
            done = true;
            break;
        }
    }
    if !done {
        rewriter.end()?;
    }
    Ok(edits.take())
}

/// What removing the stale tags (their start tags at `stale`, in order) replaces, and with
/// what.
fn removals(html: &[u8], stale: &[Range<usize>]) -> Vec<(Range<usize>, &'static [u8])> {
    // Whitespace-only text after a tag goes with it, so that removing the block and
    // inserting it again gives back the same bytes.
    let mut ranges: Vec<Range<usize>> = Vec::with_capacity(stale.len());
    for tag in stale {
        let blank = html[tag.end..]
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
        let end = tag.end + blank;
        let whole_text = html.get(end).is_none_or(|&b| b == b'<');
        let end = if whole_text { end } else { tag.end };
        // Tags next to each other go as one, so that what is around the run is judged
        // below, not what is between them.
        match ranges.last_mut() {
            Some(last) if last.end == tag.start => last.end = end,
            _ => ranges.push(tag.start..end),
        }
    }
    ranges
        .into_iter()
        .map(|range| {
            // A `<` right before the tags is text; with them gone it would start a tag or
            // comment with what follows (`<` `<meta …>` `p>` becoming `<p>`), so a space
            // stands in for them there.
            let joins = html[..range.start].ends_with(b"<")
                && html
                    .get(range.end)
                    .is_some_and(|b| b.is_ascii_alphabetic() || b"/!?".contains(b));
            (range, if joins { &b" "[..] } else { &b""[..] })
        })
        .collect()
}

/// `html` with each range replaced by its bytes; the ranges are in order and apart.
fn splice(html: &[u8], edits: &[(Range<usize>, &[u8])]) -> Vec<u8> {
    let added: usize = edits.iter().map(|(_, with)| with.len()).sum();
    let mut out = Vec::with_capacity(html.len() + added);
    let mut copied = 0;
    for (range, with) in edits {
        out.extend_from_slice(&html[copied..range.start]);
        out.extend_from_slice(with);
        copied = range.end;
    }
    out.extend_from_slice(&html[copied..]);
    out
}

/// The first `limit` bytes (or fewer, at the end) of what [`splice`] gives.
fn splice_until(html: &[u8], edits: &[(Range<usize>, &[u8])], limit: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(limit);
    let mut copied = 0;
    for (range, with) in edits {
        if out.len() >= limit {
            break;
        }
        out.extend_from_slice(&html[copied..range.start]);
        out.extend_from_slice(with);
        copied = range.end;
    }
    if out.len() < limit {
        let rest = &html[copied..];
        out.extend_from_slice(&rest[..rest.len().min(limit - out.len())]);
    }
    out.truncate(limit);
    out
}

/// How much of a page is parsed at a time while looking for the end of its head.
const PARSE_CHUNK: usize = 2048;

/// Whether `html` has anything that may start a `<meta` tag (any case).
fn has_meta_tag(html: &[u8]) -> bool {
    memchr::memchr_iter(b'<', html).any(|at| {
        html.get(at + 1..at + 5)
            .is_some_and(|name| name.eq_ignore_ascii_case(b"meta"))
    })
}

/// Whether a comment's source is closed: `<!-- … -->` (also `--!>`, `<!-->`), or a bogus
/// comment such as `<? … >` or `<!x>`, which ends at the first `>`. An unclosed one runs
/// to the end of the page.
fn is_closed_comment(source: &[u8]) -> bool {
    if source.starts_with(b"<!--") {
        source == b"<!-->"
            || source == b"<!--->"
            || (source.len() >= 7 && (source.ends_with(b"-->") || source.ends_with(b"--!>")))
    } else {
        source.ends_with(b">")
    }
}

/// Every `<meta>` with a `property` or `name` and a `content`, in document order: the key
/// lower-cased, the content as written (character references are not decoded), read in
/// the page's encoding.
pub fn existing_meta(html: &[u8]) -> Vec<(String, String)> {
    let (html, encoding) = readable(html, charset::detect(html));
    let found = RefCell::new(Vec::new());
    let settings = Settings::new()
        .with_encoding(encoding)
        .with_strict(false)
        .append_element_content_handler(element!("meta", |el| {
            let key = meta_key(el.get_attribute("property"), el.get_attribute("name"));
            if let (Some(key), Some(content)) = (key, el.get_attribute("content")) {
                found.borrow_mut().push((key, content));
            }
            Ok(())
        }));
    let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
    // Not strict, no memory limit and handlers that never fail: there is no error to
    // report, and a listing is best-effort anyway.
    let _ = rewriter.write(&html).and_then(|()| rewriter.end());
    found.into_inner()
}

/// What lol_html reads of a page in `encoding`, and the encoding it reads it in: UTF-16
/// is decoded to UTF-8 first (lol_html reads ASCII-compatible encodings only), and an
/// encoding it cannot read at all is read as UTF-8, best effort.
fn readable(html: &[u8], encoding: PageEncoding) -> (Cow<'_, [u8]>, AsciiCompatibleEncoding) {
    if encoding.is_utf16() {
        let (text, _) = encoding.encoding.decode_with_bom_removal(html);
        return (
            Cow::Owned(text.into_owned().into_bytes()),
            AsciiCompatibleEncoding::utf_8(),
        );
    }
    let encoding =
        AsciiCompatibleEncoding::new(encoding.encoding).unwrap_or(AsciiCompatibleEncoding::utf_8());
    (Cow::Borrowed(html), encoding)
}

/// What a page says about itself, read from its HTML (for `ogforge inject`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageFacts {
    /// The text of `<title>`, whitespace folded.
    pub title: Option<String>,
    /// The text of the first `<h1>`, whitespace folded.
    pub h1: Option<String>,
    /// `<html lang>`.
    pub lang: Option<String>,
    /// `<link rel="canonical" href>`.
    pub canonical: Option<String>,
    /// Every meta tag, as [`existing_meta`] lists them, character references decoded.
    pub meta: Vec<(String, String)>,
    /// What the page was read in, as [`page_encoding`] finds it.
    pub encoding: PageEncoding,
}

impl PageFacts {
    /// The first meta tag of this property or name.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.meta
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads title, language, canonical URL and meta tags of a page; never fails (a page
/// lol_html cannot read gives what was read up to there).
pub fn page_facts(html: &[u8]) -> PageFacts {
    // A page that cannot be settled is refused when written; read it as it declares.
    page_facts_in(
        html,
        page_encoding(html).unwrap_or_else(|_| charset::detect(html)),
    )
}

/// [`page_facts`] of a page whose encoding is known.
pub fn page_facts_in(html: &[u8], page_encoding: PageEncoding) -> PageFacts {
    let (html, encoding) = readable(html, page_encoding);
    let facts = RefCell::new(PageFacts {
        encoding: page_encoding,
        ..PageFacts::default()
    });
    let title = RefCell::new(None::<String>);
    // The first h1's text; `Some(true)` once it has ended.
    let h1 = RefCell::new((None::<String>, false));
    let settings = Settings::new()
        .with_encoding(encoding)
        .with_strict(false)
        .append_element_content_handler(element!("html", |el| {
            facts.borrow_mut().lang = el.get_attribute("lang").map(|l| decode_entities(&l));
            Ok(())
        }))
        .append_element_content_handler(element!("link[rel]", |el| {
            let rel = el
                .get_attribute("rel")
                .unwrap_or_default()
                .to_ascii_lowercase();
            if rel.split_whitespace().any(|r| r == "canonical") {
                let mut f = facts.borrow_mut();
                if f.canonical.is_none() {
                    f.canonical = el.get_attribute("href").map(|h| decode_entities(&h));
                }
            }
            Ok(())
        }))
        .append_element_content_handler(element!("meta", |el| {
            let key = meta_key(el.get_attribute("property"), el.get_attribute("name"));
            if let (Some(key), Some(content)) = (key, el.get_attribute("content")) {
                facts
                    .borrow_mut()
                    .meta
                    .push((key, decode_entities(&content)));
            }
            Ok(())
        }))
        .append_element_content_handler(lol_html::text!("h1", |t| {
            let mut h1 = h1.borrow_mut();
            if !h1.1 {
                h1.0.get_or_insert_with(String::new).push_str(t.as_str());
                if t.last_in_text_node() {
                    h1.1 = true;
                }
            }
            Ok(())
        }))
        .append_element_content_handler(lol_html::text!("title", |t| {
            let mut title = title.borrow_mut();
            title.get_or_insert_with(String::new).push_str(t.as_str());
            Ok(())
        }));
    let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
    let _ = rewriter.write(&html).and_then(|()| rewriter.end());
    let mut facts = facts.into_inner();
    let fold = |t: String| {
        Some(
            decode_entities(&t)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        )
        .filter(|t| !t.is_empty())
    };
    facts.title = title.into_inner().and_then(fold);
    facts.h1 = h1.into_inner().0.and_then(fold);
    facts
}

/// Decodes the character references an attribute or title may hold: the five named
/// ones XML knows, `&nbsp;`, and numeric ones. Anything else is left as written.
pub fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest.find(';').filter(|&e| e <= 12);
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => {
                    let num = name.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            }
            .map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The key a meta tag is known by: its `property`, else its `name`, lower-cased.
fn meta_key(property: Option<String>, name: Option<String>) -> Option<String> {
    property.or(name).map(|key| key.to_ascii_lowercase())
}

/// The managed tags for `tags`, in the order of [`MANAGED`], those without a value left out.
fn managed_tags(tags: &MetaTags) -> Vec<(&'static str, String)> {
    let image = tags.image.as_ref();
    let card = if image.is_some() {
        "summary_large_image"
    } else {
        "summary"
    };
    let all = [
        ("og:title", Some(tags.title.clone())),
        ("og:description", Some(tags.description.clone())),
        ("og:type", Some(tags.og_type.clone())),
        ("og:url", Some(tags.url.clone())),
        ("og:site_name", tags.site_name.clone()),
        ("og:image", image.map(|i| i.url.clone())),
        (
            "og:image:width",
            image.and_then(|i| i.width).map(|w| w.to_string()),
        ),
        (
            "og:image:height",
            image.and_then(|i| i.height).map(|h| h.to_string()),
        ),
        ("og:image:type", image.and_then(|i| i.mime_type.clone())),
        ("og:image:alt", image.map(|i| i.alt.clone())),
        ("twitter:card", Some(card.to_string())),
        ("twitter:title", Some(tags.title.clone())),
        ("twitter:description", Some(tags.description.clone())),
        ("twitter:image", image.map(|i| i.url.clone())),
        ("twitter:image:alt", image.map(|i| i.alt.clone())),
    ];
    all.into_iter()
        .filter_map(|(key, value)| Some((key, value?)))
        .collect()
}

/// The markup inserted into the page: one `<meta …>` per line.
fn render_block(tags: &MetaTags) -> String {
    managed_tags(tags)
        .into_iter()
        .map(|(key, value)| {
            // Open Graph is RDFa and wants `property`; Twitter's cards read `name`.
            let attr = if key.starts_with("og:") {
                "property"
            } else {
                "name"
            };
            format!(
                "<meta {attr}=\"{key}\" content=\"{}\">\n",
                escape_html(&value)
            )
        })
        .collect()
}

#[cfg(test)]
mod facts_tests {
    use super::*;

    #[test]
    fn facts_are_read_and_decoded() {
        let html = b"<!DOCTYPE html><HTML lang=\"fr\"><head><TITLE> Fish &amp; <Chips>\n</TITLE><link rel=\"alternate canonical\" href=\"https://e.test/a?x=1&amp;y=2\"><meta name=\"description\" content=\"It&#39;s &#x263A;\"></head><body><script>var t = '<title>no</title>';</script></body></HTML>";
        let f = page_facts(html);
        assert_eq!(f.title.as_deref(), Some("Fish & <Chips>"));
        assert_eq!(f.lang.as_deref(), Some("fr"));
        assert_eq!(f.canonical.as_deref(), Some("https://e.test/a?x=1&y=2"));
        assert_eq!(f.meta("description"), Some("It's \u{263A}"));
        assert_eq!(
            decode_entities("a &unknown; & b &#0;"),
            "a &unknown; & b \u{0}"
        );
    }
}

#[cfg(test)]
mod encoding_tests {
    use super::*;
    use encoding_rs::{Encoding, ISO_8859_5, SHIFT_JIS, UTF_16BE, UTF_16LE, WINDOWS_1252};

    fn tags(title: &str) -> MetaTags {
        MetaTags {
            title: title.to_string(),
            description: "Caf\u{e9} \u{2014} \u{65e5}\u{672c}".to_string(),
            url: "https://e.test/p/".to_string(),
            og_type: "article".to_string(),
            site_name: None,
            image: None,
        }
    }

    fn encoded(encoding: &'static Encoding, text: &str) -> Vec<u8> {
        let (bytes, _, unmappable) = encoding.encode(text);
        assert!(!unmappable, "{text} in {}", encoding.name());
        bytes.into_owned()
    }

    /// A page in `encoding` with `title`, declaring it with `declare` (`{}` for its name).
    fn page(encoding: &'static Encoding, declare: &str, title: &str) -> Vec<u8> {
        let declare = declare.replace("{}", encoding.name());
        encoded(
            encoding,
            &format!(
                "<html><head>{declare}<title>{title}</title></head><body><p>{title}</p></body></html>"
            ),
        )
    }

    /// Every byte kept but the block, which went in before `</head>`.
    fn assert_only_block_added(before: &[u8], after: &[u8], block: &[u8]) {
        let at = before.windows(7).position(|w| w == b"</head>").unwrap();
        assert_eq!(after, [&before[..at], block, &before[at..]].concat());
    }

    #[test]
    fn legacy_pages_are_read_and_written_in_their_encoding() {
        let cases: &[(&'static Encoding, &str, &str)] = &[
            (
                WINDOWS_1252,
                "<meta charset=\"{}\">",
                "Caf\u{e9} cr\u{e8}me \u{2014} \u{bd}",
            ),
            (
                SHIFT_JIS,
                "<meta http-equiv=\"Content-Type\" content=\"text/html; charset={}\">",
                "\u{65e5}\u{672c}\u{8a9e}\u{306e}\u{8a18}\u{4e8b}",
            ),
            (
                ISO_8859_5,
                "<META CHARSET={}>",
                "\u{41f}\u{440}\u{438}\u{432}\u{435}\u{442}",
            ),
        ];
        for (encoding, declare, title) in cases {
            let html = page(encoding, declare, title);
            let facts = page_facts(&html);
            assert_eq!(facts.title.as_deref(), Some(*title), "{}", encoding.name());
            assert_eq!(facts.encoding.encoding, *encoding);

            let tags = tags(title);
            let once = inject_meta(&html, &tags).unwrap();
            let block = meta_block(&tags, &facts.encoding);
            assert_only_block_added(&html, &once, &block);
            // The title in the page's own bytes; what the encoding lacks as references.
            let title_bytes = encoded(encoding, title);
            assert!(block.windows(title_bytes.len()).any(|w| w == title_bytes));
            let (text, _, malformed) = encoding.decode(&block);
            assert!(!malformed);
            assert!(text.contains(&format!("content=\"{title}\"")), "{text}");
            let read_back = page_facts(&once);
            assert_eq!(read_back.meta("og:title"), Some(*title));
            assert_eq!(
                read_back.meta("og:description"),
                Some("Caf\u{e9} \u{2014} \u{65e5}\u{672c}"),
                "{}",
                encoding.name()
            );
            assert_eq!(inject_meta(&once, &tags).unwrap(), once, "idempotent");
        }
        // What Shift_JIS lacks, by reference.
        let sjis = page(SHIFT_JIS, "<meta charset={}>", "x");
        let block = meta_block(&tags("x"), &page_encoding(&sjis).unwrap());
        let want: &[u8] = b"content=\"Caf&#233; ";
        assert!(
            block.windows(want.len()).any(|w| w == want),
            "{}",
            String::from_utf8_lossy(&block)
        );
    }

    #[test]
    fn every_case_in_every_encoding_is_idempotent_and_does_not_drift() {
        let declarations = [
            "",
            "<meta charset=shift_jis>",
            "<meta http-equiv=content-type content=\"text/html;charset=windows-1252\">",
            "<meta charset=iso-2022-jp>",
            "\u{feff}",
        ];
        let (old, new) = (
            tags("\u{65e5}\u{672c} caf\u{e9} \u{1f600}"),
            tags("New \u{2014}"),
        );
        for declaration in declarations {
            for (what, page, _) in super::tests::CASES {
                // The declaration first, and last (where the block may push it out of reach).
                for page in [
                    format!("{declaration}{page}"),
                    format!("{page}{declaration}"),
                ] {
                    let once = match inject_meta(page.as_bytes(), &old) {
                        Ok(once) => once,
                        Err(InjectError::Encoding(_)) => continue,
                        Err(e) => panic!("{what} {declaration:?}: {e}"),
                    };
                    assert_eq!(
                        inject_meta(&once, &old).unwrap(),
                        once,
                        "{what} {declaration:?}"
                    );
                    assert_eq!(
                        inject_meta(&once, &new).unwrap(),
                        inject_meta(page.as_bytes(), &new).unwrap(),
                        "{what} {declaration:?}"
                    );
                    assert_eq!(
                        page_encoding(&once).unwrap(),
                        page_encoding(page.as_bytes()).unwrap()
                    );
                }
            }
        }
    }

    #[test]
    fn the_block_of_an_earlier_run_is_recognised_and_nothing_else() {
        let mut tags = tags("T\u{e9}a & \"biscuits\" \u{65e5}");
        tags.image = Some(OgImage {
            url: "https://old.test/og/a.0123456789ab.png".into(),
            width: Some(1200),
            height: Some(630),
            mime_type: Some("image/png".into()),
            alt: "Alt \u{e9}".into(),
        });
        for declaration in [
            "",
            "<meta charset=shift_jis>",
            "<meta charset=windows-1252>",
        ] {
            let page = format!("<html><head>{declaration}<title>x</title></head></html>");
            let once = inject_meta(page.as_bytes(), &tags).unwrap();
            assert_eq!(earlier_block(&once, &page_facts(&once)), Some(tags.clone()));
            assert_eq!(
                earlier_block(page.as_bytes(), &page_facts(page.as_bytes())),
                None
            );
        }
        let utf16 = charset::encode_utf16("<title>x</title>", UTF_16BE, true);
        let once = inject_meta(&utf16, &tags).unwrap();
        assert_eq!(earlier_block(&once, &page_facts(&once)), Some(tags.clone()));
        // The same values written otherwise (another order, another attribute) are not
        // ogforge's block.
        let once = String::from_utf8(inject_meta(b"<title>x</title>", &tags).unwrap()).unwrap();
        for edited in [
            once.replacen("<meta property=\"og:type\"", "<meta name=\"og:type\"", 1),
            once.replacen("content=\"1200\"", "content=\"1200.0\"", 1),
            once.replacen(
                ">\n<meta property=\"og:url\"",
                "><meta property=\"og:url\"",
                1,
            ),
        ] {
            assert_ne!(edited, once);
            let facts = page_facts(edited.as_bytes());
            assert_eq!(earlier_block(edited.as_bytes(), &facts), None, "{edited}");
        }
    }

    #[test]
    fn utf16_pages_are_rewritten_in_utf16() {
        let title = "\u{65e5}\u{672c} \u{1f600} caf\u{e9}";
        let text = format!(
            "<html><head><meta charset=utf-16><title>{title}</title></head><body>x</body></html>"
        );
        for encoding in [UTF_16LE, UTF_16BE] {
            let html = charset::encode_utf16(&text, encoding, true);
            let facts = page_facts(&html);
            assert_eq!(facts.title.as_deref(), Some(title));
            let once = inject_meta(&html, &tags(title)).unwrap();
            let want = inject_meta(text.as_bytes(), &tags(title)).unwrap();
            let want = charset::encode_utf16(std::str::from_utf8(&want).unwrap(), encoding, true);
            assert_eq!(once, want, "{}", encoding.name());
            assert_eq!(page_facts(&once).meta("og:title"), Some(title));
            assert_eq!(existing_meta(&once)[0].1, title);
            assert_eq!(inject_meta(&once, &tags(title)).unwrap(), once);
        }
        // Bytes that are not UTF-16 after the mark are refused, not mangled.
        let err = inject_meta(b"\xff\xfe<\x00h\x00\x00", &tags("x")).unwrap_err();
        assert!(matches!(err, InjectError::NotUtf16("UTF-16LE")), "{err}");
    }

    #[test]
    fn encodings_that_cannot_be_rewritten_are_refused() {
        let html = b"<html><head><meta charset=iso-2022-jp><title>x</title></head></html>";
        let err = inject_meta(html, &tags("x")).unwrap_err();
        assert!(err.to_string().contains("ISO-2022-JP"), "{err}");
        assert!(err.hint().is_some());
        let html = b"<meta charset=iso-2022-kr><title>x</title>";
        assert!(matches!(
            inject_meta(html, &tags("x")),
            Err(InjectError::Encoding("replacement"))
        ));
    }

    #[test]
    fn undeclared_pages_that_are_not_utf8_get_ascii_tags() {
        let html = b"<html><head><title>Caf\xe9</title></head><body>\xff</body></html>";
        let facts = page_facts(html);
        assert_eq!(facts.title.as_deref(), Some("Caf\u{e9}"));
        assert_eq!(facts.encoding.found, charset::Found::Guessed);
        let tags = tags("Caf\u{e9}");
        let once = inject_meta(html, &tags).unwrap();
        let block = meta_block(&tags, &facts.encoding);
        assert!(block.is_ascii());
        assert_only_block_added(html, &once, &block);
        assert_eq!(page_facts(&once).meta("og:title"), Some("Caf\u{e9}"));
        assert_eq!(inject_meta(&once, &tags).unwrap(), once);
    }

    #[test]
    fn the_encoding_is_the_one_declared_once_stale_tags_are_gone() {
        let title = "\u{65e5}\u{672c}";
        // Stale tags push the declaration past the first 1024 bytes; gone, it is within.
        let stale = "<meta property=\"og:description\" content=\"old\">\n".repeat(30);
        let html = encoded(
            SHIFT_JIS,
            &format!("<head>{stale}<meta charset=shift_jis><title>{title}</title></head>"),
        );
        assert!(charset::prescan(&html[..1024]).is_none());
        assert_eq!(page_encoding(&html).unwrap().encoding, SHIFT_JIS);
        assert_eq!(page_facts(&html).title.as_deref(), Some(title));
        let once = inject_meta(&html, &tags(title)).unwrap();
        assert_eq!(inject_meta(&once, &tags(title)).unwrap(), once);

        // The block pushes a declaration in the body past them: still the same encoding.
        let padding = "x".repeat(900);
        let html = encoded(
            SHIFT_JIS,
            &format!("<title>{title}</title><p>{padding}</p><meta charset=shift_jis>"),
        );
        let once = inject_meta(&html, &tags(title)).unwrap();
        assert!(charset::prescan(&once[..1024]).is_none());
        assert_eq!(page_encoding(&once).unwrap().encoding, SHIFT_JIS);
        assert_eq!(inject_meta(&once, &tags(title)).unwrap(), once);
        let title_bytes = encoded(SHIFT_JIS, title);
        let tag = [&b"og:title\" content=\""[..], &title_bytes].concat();
        assert!(once.windows(tag.len()).any(|w| w == tag));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(title: &str, with_image: bool) -> MetaTags {
        MetaTags {
            title: title.to_string(),
            description: "A post.".to_string(),
            url: "https://blog.example/posts/hello/".to_string(),
            og_type: "article".to_string(),
            site_name: with_image.then(|| "Example".to_string()),
            image: with_image.then(|| OgImage {
                url: "https://blog.example/og/hello.1a2b.png".to_string(),
                width: Some(1200),
                height: Some(630),
                mime_type: Some("image/png".to_string()),
                alt: "Hello".to_string(),
            }),
        }
    }

    fn inject(html: &str, tags: &MetaTags) -> String {
        String::from_utf8(inject_meta(html.as_bytes(), tags).unwrap()).unwrap()
    }

    /// (what it guards, page, expected page with `{M}` for the inserted block)
    pub(super) const CASES: &[(&str, &str, &str)] = &[
        (
            "replaces stale tags in the head",
            "<!doctype html>\n<html>\n<head>\n  <meta charset=\"utf-8\">\n  <meta property=\"og:title\" content=\"Old\">\n  <meta name=\"twitter:card\" content=\"summary\">\n  <title>x</title>\n</head>\n<body><p>hi</p></body>\n</html>\n",
            "<!doctype html>\n<html>\n<head>\n  <meta charset=\"utf-8\">\n  <title>x</title>\n{M}</head>\n<body><p>hi</p></body>\n</html>\n",
        ),
        (
            "inserts before </head>",
            "<html><head><title>x</title></head><body></body></html>",
            "<html><head><title>x</title>{M}</head><body></body></html>",
        ),
        (
            "missing </head> inserts before <body>",
            "<html><head><title>x</title><body><p>hi</p></body></html>",
            "<html><head><title>x</title>{M}<body><p>hi</p></body></html>",
        ),
        (
            "no head and no body inserts before the first body element",
            "<!doctype html><title>x</title><p>hi",
            "<!doctype html><title>x</title>{M}<p>hi",
        ),
        (
            "document ending in the head appends",
            "<!doctype html><title>x</title>",
            "<!doctype html><title>x</title>{M}",
        ),
        (
            "upper-case tags and attributes",
            "<HTML><HEAD><TITLE>x</TITLE>\n<META PROPERTY=\"OG:TITLE\" CONTENT=\"old\">\n<Meta Name=\"Twitter:Image\" content=\"a.png\">\n</HEAD><BODY></BODY></HTML>",
            "<HTML><HEAD><TITLE>x</TITLE>\n{M}</HEAD><BODY></BODY></HTML>",
        ),
        (
            "script mentioning </head> is no insertion point",
            "<html><head><script>document.write(\"<head></head><body>\")</script></head><body></body></html>",
            "<html><head><script>document.write(\"<head></head><body>\")</script>{M}</head><body></body></html>",
        ),
        (
            "script mentioning <body> without </head>",
            "<title>x</title><script>if (a) \"</head><body><p>\"</script><p>hi",
            "<title>x</title><script>if (a) \"</head><body><p>\"</script>{M}<p>hi",
        ),
        (
            "comments and odd whitespace kept",
            "<html>\r\n<head >\r\n<!-- <meta property=\"og:title\" content=\"in a comment\"> -->\r\n\t<meta  property = \"og:title\"   content=\"old\" >\r\n\t<link rel=stylesheet href=a.css>\r\n</head  >\r\n<body>\r\n</body>",
            "<html>\r\n<head >\r\n<!-- <meta property=\"og:title\" content=\"in a comment\"> -->\r\n\t<link rel=stylesheet href=a.css>\r\n{M}</head  >\r\n<body>\r\n</body>",
        ),
        (
            "no head with stale relative image tags",
            "<!doctype html><title>x</title><meta property=\"og:image\" content=\"/img/a.png\">\n<meta property=\"og:image:width\" content=\"10\"><meta property=\"og:site_name\" content=\"Old\"><p>hi</p>",
            "<!doctype html><title>x</title>{M}<p>hi</p>",
        ),
        (
            "</head> in a title, a comment or an attribute is no insertion point",
            "<title>a </head> b</title><!-- </head><body> --><link title=\"</head>\"><meta property=\"og:url\" content=\"/x\" />\n<body>",
            "<title>a </head> b</title><!-- </head><body> --><link title=\"</head>\">{M}<body>",
        ),
        (
            "stale tags in the body removed, text after them kept",
            "<html><head></head><body><meta property=\"og:title\" content=\"x\">\n<p>hi</p><meta name=\"twitter:title\" content=\"x\"> hi</body></html>",
            "<html><head>{M}</head><body><p>hi</p> hi</body></html>",
        ),
        (
            "template content is no insertion point",
            "<head><template><div>t</div></template></head><body></body>",
            "<head><template><div>t</div></template>{M}</head><body></body>",
        ),
        (
            "page ending inside an unclosed script (found by fuzzing)",
            "<script>alert(1)</s",
            "{M}<script>alert(1)</s",
        ),
        (
            "page ending inside an unclosed title or template",
            "<!doctype html><meta charset=utf-8><template><title>x</template>",
            "<!doctype html><meta charset=utf-8>{M}<template><title>x</template>",
        ),
        (
            "page ending inside an unclosed comment",
            "<!doctype html><title>x</title><!-- a -- >",
            "<!doctype html><title>x</title>{M}<!-- a -- >",
        ),
        (
            "page ending inside an unfinished tag",
            "<title>x</title>\n<link rel=\"a",
            "<title>x</title>\n{M}<link rel=\"a",
        ),
        (
            "a removed tag that ended an SVG makes a later script's text a tag (found by fuzzing)",
            "<svg><meta property=\"og:title\" content=\"a\"><script><meta property=\"og:title\" content=\"b\"></script>",
            "{M}<svg><script></script>",
        ),
        (
            "page ending inside an unclosed doctype (found by fuzzing)",
            "<!doctype h\0\" < 1",
            "{M}<!doctype h\0\" < 1",
        ),
        (
            "page ending in `</` (found by fuzzing)",
            "<title>x</title>\n</",
            "<title>x</title>\n{M}</",
        ),
        (
            "page ending in `<`",
            "<title>x</title> a <",
            "<title>x</title> a {M}<",
        ),
        (
            "a `<` before a stale tag does not join what follows it (found by fuzzing)",
            "<html><<meta name=\"twitter:card\" content=\"x\">D><title>x</title></head>",
            "<html>< D><title>x</title>{M}</head>",
        ),
        (
            "two stale tags in a row after a `<` do not join what follows them (found by testing encodings)",
            "<html><<meta name=\"twitter:card\" content=\"x\">\n\n<meta property=\"og:title\" content=\"y\">D><title>x</title></head>",
            "<html>< D><title>x</title>{M}</head>",
        ),
        (
            "page ending after a closed comment or bogus comment appends",
            "<title>x</title><!----><?x>",
            "<title>x</title><!----><?x>{M}",
        ),
        (
            "unmanaged meta tags untouched",
            "<head><meta name=\"description\" content=\"d\">\n<meta property=\"og:locale\" content=\"en_US\">\n<meta property=\"article:tag\" content=\"rust\">\n<meta name=\"viewport\" content=\"width=device-width\">\n</head>",
            "<head><meta name=\"description\" content=\"d\">\n<meta property=\"og:locale\" content=\"en_US\">\n<meta property=\"article:tag\" content=\"rust\">\n<meta name=\"viewport\" content=\"width=device-width\">\n{M}</head>",
        ),
    ];

    #[test]
    fn long_pages_are_read_as_far_as_needed_and_no_less() {
        let tags = tags("Hello", true);
        let block = render_block(&tags);
        let links = "<link rel=\"preload\" href=\"/a-long-asset-name.woff2\">\n".repeat(80);
        let body = "<p>Static sites are fast because the work happens once.</p>\n".repeat(300);
        // A head longer than one parsed chunk, a body of many.
        let page = format!("<head>{links}</head><body>{body}</body>");
        assert!(links.len() > PARSE_CHUNK && body.len() > 5 * PARSE_CHUNK);
        assert_eq!(
            inject(&page, &tags),
            format!("<head>{links}{block}</head><body>{body}</body>")
        );
        // A stale tag deep in the body is still found.
        let page =
            format!("<head></head><body>{body}<META property=\"og:title\" content=\"x\">\n</body>");
        assert_eq!(
            inject(&page, &tags),
            format!("<head>{block}</head><body>{body}</body>")
        );
    }

    #[test]
    fn inserts_once_and_replaces_stale_tags() {
        for with_image in [true, false] {
            let tags = tags("Hello", with_image);
            for (what, page, expected) in CASES {
                let expected = expected.replace("{M}", &render_block(&tags));
                assert_eq!(
                    inject(page, &tags),
                    expected,
                    "{what} (image: {with_image})"
                );
            }
        }
    }

    #[test]
    fn every_managed_property_once_in_order() {
        for with_image in [true, false] {
            let tags = tags("Hello", with_image);
            let want: Vec<&str> = managed_tags(&tags).iter().map(|(k, _)| *k).collect();
            if with_image {
                assert_eq!(want, MANAGED);
            }
            for (what, page, _) in CASES {
                let found = existing_meta(inject(page, &tags).as_bytes());
                let keys = found.iter().map(|(k, _)| k.as_str());
                let keys: Vec<&str> = keys.filter(|k| MANAGED.contains(k)).collect();
                assert_eq!(keys, want, "{what}");
            }
        }
        let block = render_block(&tags("Hello", true));
        assert!(block.contains("<meta property=\"og:image:alt\" content=\"Hello\">\n"));
        assert!(block.contains("<meta name=\"twitter:card\" content=\"summary_large_image\">\n"));
    }

    #[test]
    fn no_image_means_summary_card_and_no_image_tags() {
        let found = existing_meta(inject(CASES[0].1, &tags("Hello", false)).as_bytes());
        assert!(found.contains(&("twitter:card".into(), "summary".into())));
        let image_or_site = |(k, _): &(String, String)| k.contains("image") || k == "og:site_name";
        assert!(!found.iter().any(image_or_site));
    }

    #[test]
    fn escapes_values() {
        let mut tags = tags("Tom & \"Jerry\" <3 'em", true);
        tags.url = "https://blog.example/?a=1&b=2".to_string();
        let out = inject("<head></head>", &tags);
        assert!(out.contains("content=\"Tom &amp; &quot;Jerry&quot; &lt;3 &#39;em\""));
        assert!(out.contains("content=\"https://blog.example/?a=1&amp;b=2\""));
        assert!(!out.contains("Tom & "));
        assert_eq!(inject(&out, &tags), out);
    }

    #[test]
    fn idempotent_on_every_page() {
        for with_image in [true, false] {
            let tags = tags("Hello", with_image);
            for (what, page, _) in CASES {
                let once = inject(page, &tags);
                assert_eq!(inject(&once, &tags), once, "{what}");
            }
        }
    }

    #[test]
    fn new_title_does_not_drift() {
        let (old, new) = (tags("Old", true), tags("New", false));
        for (what, page, _) in CASES {
            assert_eq!(
                inject(&inject(page, &old), &new),
                inject(page, &new),
                "{what}"
            );
        }
    }

    #[test]
    fn other_bytes_kept() {
        let tags = tags("Hello", true);
        let block = render_block(&tags);
        for (what, page, _) in CASES {
            let stale = existing_meta(page.as_bytes());
            if stale.iter().all(|(k, _)| !MANAGED.contains(&k.as_str())) {
                assert_eq!(inject(page, &tags).replacen(&block, "", 1), *page, "{what}");
            }
        }
        // Bytes that are not UTF-8 pass through too.
        let page = b"<head><title>caf\xe9</title></head><p class=\"\xe9\">\xff</p>";
        let out = inject_meta(page, &tags).unwrap();
        let mut want = page.to_vec();
        let at = page.windows(7).position(|w| w == b"</head>").unwrap();
        want.splice(at..at, block.bytes());
        assert_eq!(out, want);
    }

    #[test]
    fn text_of_a_cut_utf8_sequence_gets_the_block_after_it_once() {
        // Found by the `meta_tags` fuzz target: lol_html gives such text no location.
        let tags = tags("Hello", true);
        let once = inject_meta(b"\xd9", &tags).unwrap();
        assert_eq!(
            once,
            [&b"\xd9"[..], render_block(&tags).as_bytes()].concat()
        );
        assert_eq!(inject_meta(&once, &tags).unwrap(), once);
        // Before an unclosed doctype too: the block goes between the text and it.
        let once = inject_meta(b"\xf3<!doctype!dg", &tags).unwrap();
        let block = render_block(&tags);
        assert_eq!(
            once,
            [&b"\xf3"[..], block.as_bytes(), b"<!doctype!dg"].concat()
        );
        assert_eq!(inject_meta(&once, &tags).unwrap(), once);
    }

    #[test]
    fn the_start_of_a_splice_is_the_start_of_the_splice() {
        let html = b"0123456789abcdef";
        let edits: Vec<(Range<usize>, &[u8])> = vec![(2..4, b"X"), (6..6, b"YY"), (10..15, b"")];
        let whole = splice(html, &edits);
        for limit in 0..=whole.len() + 2 {
            assert_eq!(
                splice_until(html, &edits, limit),
                whole[..limit.min(whole.len())]
            );
        }
    }

    #[test]
    fn a_page_that_keeps_revealing_tags_is_refused() {
        // Each SVG's title holds the next one; every removal reveals one more tag.
        const LINK: &str = "<svg><meta property=\"og:title\" content=\"a\"><title>";
        let page = LINK.repeat(MAX_READS);
        let err = inject_meta(page.as_bytes(), &tags("Hello", true)).unwrap_err();
        assert!(matches!(err, InjectError::Unsettled(MAX_READS)), "{err}");
        assert!(err.to_string().contains("<svg>"), "{err}");
        // One fewer settles.
        let page = LINK.repeat(MAX_READS - 1);
        let once = inject(&page, &tags("Hello", true));
        assert_eq!(inject(&once, &tags("Hello", true)), once);
    }

    #[test]
    fn lists_existing_meta_in_document_order() {
        let page = "<META PROPERTY=\"OG:Title\" content=\"a &amp; b\"><meta charset=utf-8>\
                    <meta name=\"description\" content=\"d\"><meta name=\"x\">";
        assert_eq!(
            existing_meta(page.as_bytes()),
            [
                ("og:title".into(), "a &amp; b".into()),
                ("description".into(), "d".into())
            ]
        );
    }
}
