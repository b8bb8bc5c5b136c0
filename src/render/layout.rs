//! Text layout for cards with real font metrics: wrap at word breaks (and between CJK
//! characters), shrink down to a minimum size, end in an ellipsis after the last allowed
//! line, and never overflow the box.
//!
//! Each line is cut into pieces drawn by one face each and placed at measured x
//! positions in visual (bidi) order, one `<text>` per piece. Letting usvg pick fallback
//! faces itself draws boxes for mixed scripts and can panic on multi-codepoint emoji in
//! a `<tspan>` (resvg issue #732), so layout owns font choice.

use std::collections::HashMap;
use std::fmt::Write;

use unicode_bidi::BidiInfo;

use super::fonts::{Face, FontSet, is_invisible};
use crate::site::templates::escape_xml;

/// What the template asked for.
#[derive(Debug, Clone)]
pub struct TextStyle {
    pub family: String,
    pub weight: u16,
    /// Largest font size, px.
    pub size: f32,
    /// Smallest size the text may shrink to before it is cut with an ellipsis.
    pub min_size: f32,
    pub max_lines: usize,
    /// Line distance as a multiple of the size.
    pub line_height: f32,
    /// Box width, px.
    pub width: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Start,
    Middle,
    End,
}

/// A laid-out text.
#[derive(Debug, Clone)]
pub struct TextBox {
    pub size: f32,
    pub lines: Vec<Line>,
    /// The text did not fit at the minimum size and was cut.
    pub truncated: bool,
    /// The paragraph reads right to left (its first strong character does).
    pub rtl: bool,
    ascent: f32,
    line_height: f32,
}

#[derive(Debug, Clone)]
pub struct Line {
    pub text: String,
    /// Width at the box's size, px.
    pub width: f32,
    pieces: Vec<Piece>,
}

/// A run of a line drawn in one face, in logical order.
#[derive(Debug, Clone)]
struct Piece {
    text: String,
    face: usize,
}

/// Shapes and caches what one layout needs.
struct Measurer<'a> {
    chain: Vec<&'a Face>,
    /// Width in em of each text already shaped, per face.
    widths: HashMap<usize, HashMap<String, f32>>,
}

impl<'a> Measurer<'a> {
    fn new(fonts: &'a FontSet, style: &TextStyle) -> Measurer<'a> {
        Measurer {
            chain: fonts.chain(&style.family, style.weight),
            widths: HashMap::new(),
        }
    }

    /// Width of `text` in `face`, in em.
    fn em(&mut self, face: usize, text: &str) -> f32 {
        // Looked up by `&str`: the hot path of layout allocates only on a miss.
        if let Some(&w) = self.widths.get(&face).and_then(|m| m.get(text)) {
            return w;
        }
        let rtl = text.chars().any(is_rtl_char);
        let w = self.chain[face].advance(text, rtl);
        self.widths
            .entry(face)
            .or_default()
            .insert(text.to_string(), w);
        w
    }

    /// `text` cut into pieces by the face that draws each cluster.
    fn pieces(&self, text: &str) -> Vec<Piece> {
        let mut pieces: Vec<Piece> = Vec::new();
        for cluster in clusters(text) {
            let face = self.face_for(&cluster, pieces.last().map(|p| p.face));
            match pieces.last_mut() {
                Some(last) if last.face == face => last.text.push_str(&cluster),
                _ => pieces.push(Piece {
                    text: cluster,
                    face,
                }),
            }
        }
        pieces
    }

    fn face_for(&self, cluster: &str, current: Option<usize>) -> usize {
        let visible: Vec<char> = cluster.chars().filter(|&c| !is_invisible(c)).collect();
        let covers = |i: usize| visible.iter().all(|&c| self.chain[i].covers(c));
        // The emoji font comes in pieces; the piece that has every character of a
        // sequence also has the sequence's own glyph (skin tone, family, flag).
        if is_emoji_cluster(cluster)
            && let Some(i) = (0..self.chain.len()).find(|&i| self.chain[i].is_emoji() && covers(i))
        {
            return i;
        }
        // Spaces, digits and punctuation stay in the face around them (so an Arabic
        // phrase is shaped as one run), but never in the emoji face, which draws them
        // wide and grey.
        let neutral = visible.iter().all(|c| !c.is_alphabetic());
        if let Some(cur) = current.filter(|&i| neutral && !self.chain[i].is_emoji() && covers(i)) {
            return cur;
        }
        (0..self.chain.len())
            .find(|&i| !self.chain[i].is_emoji() && covers(i))
            .or_else(|| (0..self.chain.len()).find(|&i| covers(i)))
            .unwrap_or(0)
    }

    fn width_em(&mut self, pieces: &[Piece]) -> f32 {
        pieces.iter().map(|p| self.em(p.face, &p.text)).sum()
    }

    fn text_em(&mut self, text: &str) -> f32 {
        let pieces = self.pieces(text);
        self.width_em(&pieces)
    }
}

/// Lays `text` out in `style`'s box.
pub fn layout(fonts: &FontSet, text: &str, style: &TextStyle) -> TextBox {
    let mut text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // No visible character is narrower than 1/20 em, so a box holds fewer characters than
    // this: the rest could never show, and measuring it would make a hostile 100,000-
    // character title slow. Cutting here still ends the text in an ellipsis.
    let room = style.max_lines.max(1) as f32 * style.width
        / (style.min_size.min(style.size).max(1.0) / 20.0);
    if let Some((cut, _)) = text.char_indices().nth(room.min(1e6) as usize + 1) {
        text.truncate(cut);
    }
    let mut m = Measurer::new(fonts, style);
    let units = measure(&mut m, &break_units(&text));
    let max_lines = style.max_lines.max(1);
    let min_size = style.min_size.min(style.size).max(1.0);

    let mut size = style.size.max(1.0);
    let (lines, truncated) = loop {
        let limit = style.width / size;
        let lines = fill(&mut m, &units, limit);
        // Unit sums ignore kerning across unit boundaries: check the real widths once.
        let fits = |m: &mut Measurer<'_>, lines: &[String]| {
            lines
                .iter()
                .all(|l| m.text_em(l.trim_end()) <= limit * 1.001)
        };
        if lines.len() <= max_lines && (size <= min_size || fits(&mut m, &lines)) {
            break (lines, false);
        }
        if size <= min_size {
            let mut lines = lines;
            lines.truncate(max_lines);
            let last = lines.pop().unwrap_or_default();
            lines.push(ellipsize(&mut m, &last, limit));
            break (lines, true);
        }
        size = (size - 1.0).max(min_size);
    };

    let primary = m.chain.first().map_or(0.9, |f| f.ascent);
    let rtl = paragraph_is_rtl(&text);
    let lines = lines
        .into_iter()
        .map(|t| {
            let trimmed = t.trim_end().to_string();
            let pieces = m.pieces(&trimmed);
            let width = m.width_em(&pieces) * size;
            Line {
                text: trimmed,
                width,
                pieces,
            }
        })
        .collect();
    TextBox {
        size,
        lines,
        truncated,
        rtl,
        ascent: primary,
        line_height: style.line_height,
    }
}

/// A unit of line breaking, measured once: with and without its trailing space, in em.
struct Unit {
    text: String,
    full: f32,
    trimmed: f32,
}

fn measure(m: &mut Measurer<'_>, texts: &[String]) -> Vec<Unit> {
    texts
        .iter()
        .map(|t| Unit {
            full: m.text_em(t),
            trimmed: m.text_em(t.trim_end()),
            text: t.clone(),
        })
        .collect()
}

/// Greedy line filling: as many units on a line as fit in `limit` em. Widths are sums
/// of the units' own widths, so trying another size costs no shaping.
fn fill(m: &mut Measurer<'_>, units: &[Unit], limit: f32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut width = 0.0;
    for unit in units {
        if !line.is_empty() && width + unit.trimmed > limit {
            lines.push(std::mem::take(&mut line));
            width = 0.0;
        }
        if line.is_empty() && unit.trimmed > limit {
            // One word wider than the box: break it between clusters.
            let parts = measure(m, &clusters(&unit.text));
            let mut broken = fill(m, &parts, limit);
            line = broken.pop().unwrap_or_default();
            width = m.text_em(&line);
            lines.extend(broken);
            continue;
        }
        line.push_str(&unit.text);
        width += unit.full;
    }
    if !line.trim().is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `line` shortened until it fits in `limit` em with a `…` after it.
fn ellipsize(m: &mut Measurer<'_>, line: &str, limit: f32) -> String {
    let mut units = clusters(line.trim_end());
    loop {
        let candidate = format!(
            "{}…",
            units
                .concat()
                .trim_end()
                .trim_end_matches([',', ';', ':', '-'])
        );
        if units.is_empty() || m.text_em(&candidate) <= limit {
            return candidate;
        }
        units.pop();
    }
}

impl TextBox {
    /// Height of the box in px: one line distance per line.
    pub fn height(&self) -> f32 {
        self.lines.len() as f32 * self.line_height * self.size
    }

    /// SVG `<text>` elements for the box `style.width` wide whose top-left corner is at
    /// `x`, `y`; lines sit at its start (right edge for RTL text), middle or end.
    /// `attrs` is added to every element.
    pub fn to_svg(
        &self,
        fonts: &FontSet,
        style: &TextStyle,
        x: f32,
        y: f32,
        align: Align,
        attrs: &str,
    ) -> String {
        let mut m = Measurer::new(fonts, style);
        let mut svg = String::new();
        // Half the extra line distance goes above the first line, as CSS does.
        let lead = (self.line_height - 1.0).max(0.0) * self.size / 2.0;
        for (i, line) in self.lines.iter().enumerate() {
            let baseline =
                y + lead + self.ascent * self.size + i as f32 * self.line_height * self.size;
            let align = match (align, self.rtl) {
                (Align::Start, true) => Align::End,
                (a, _) => a,
            };
            let mut pen = match align {
                Align::Start => x,
                Align::Middle => x + (style.width - line.width) / 2.0,
                Align::End => x + style.width - line.width,
            };
            for (face, text) in visual_pieces(&line.pieces, &line.text) {
                let w = m.em(face, &text) * self.size;
                if !text.trim().is_empty() {
                    let f = m.chain[face];
                    let _ = write!(
                        svg,
                        r#"<text x="{pen:.1}" y="{baseline:.1}" font-family="{}" font-weight="{}" font-size="{:.1}" xml:space="preserve"{attrs}>{}</text>"#,
                        escape_xml(&f.family),
                        f.weight,
                        self.size,
                        escape_xml(&text),
                    );
                }
                pen += w;
            }
        }
        svg
    }
}

/// The pieces of a line in the order they are drawn left to right, split where the
/// direction changes; an RTL piece's text stays in logical order (usvg shapes it).
fn visual_pieces(pieces: &[Piece], text: &str) -> Vec<(usize, String)> {
    if !text.chars().any(is_rtl_char) {
        return pieces.iter().map(|p| (p.face, p.text.clone())).collect();
    }
    // Byte range of each piece in the line.
    let mut spans = Vec::new();
    let mut at = 0;
    for p in pieces {
        spans.push((at, at + p.text.len(), p.face));
        at += p.text.len();
    }
    let bidi = BidiInfo::new(text, None);
    let Some(para) = bidi.paragraphs.first() else {
        return Vec::new();
    };
    let (levels, runs) = bidi.visual_runs(para, para.range.clone());
    let mut out = Vec::new();
    for run in runs {
        let mut parts: Vec<(usize, String)> = spans
            .iter()
            .filter_map(|&(s, e, face)| {
                let (s, e) = (s.max(run.start), e.min(run.end));
                (s < e).then(|| (face, text[s..e].to_string()))
            })
            .collect();
        if levels[run.start].is_rtl() {
            parts.reverse();
            // Neutral characters (`: `, brackets) resolved to RTL but drawn by a face
            // usvg shapes left to right: put them in visual order here, mirrored.
            for (_, part) in &mut parts {
                if !part.chars().any(is_rtl_char) {
                    *part = part.chars().rev().map(mirror).collect();
                }
            }
        }
        out.extend(parts);
    }
    out
}

/// The mirrored form of a paired punctuation mark, as RTL text draws it.
fn mirror(c: char) -> char {
    match c {
        '(' => ')',
        ')' => '(',
        '[' => ']',
        ']' => '[',
        '{' => '}',
        '}' => '{',
        '<' => '>',
        '>' => '<',
        '«' => '»',
        '»' => '«',
        c => c,
    }
}

/// Units between which a line may break: words with their trailing spaces, and single
/// CJK characters (which are written without spaces).
fn break_units(text: &str) -> Vec<String> {
    let mut units = Vec::new();
    let mut unit = String::new();
    for cluster in clusters(text) {
        let c = cluster.chars().next().unwrap_or(' ');
        if is_cjk(c) {
            if !unit.is_empty() {
                units.push(std::mem::take(&mut unit));
            }
            units.push(cluster);
            continue;
        }
        if !c.is_whitespace() && unit.ends_with(' ') {
            units.push(std::mem::take(&mut unit));
        }
        unit.push_str(&cluster);
    }
    if !unit.is_empty() {
        units.push(unit);
    }
    // A closing CJK punctuation mark may not start a line; glue it to the unit before.
    let mut glued: Vec<String> = Vec::new();
    for u in units {
        match glued.last_mut() {
            Some(prev)
                if u.chars()
                    .all(|c| "、。，．・：；！？）」』】〕〉》ー".contains(c)) =>
            {
                prev.push_str(&u)
            }
            _ => glued.push(u),
        }
    }
    glued
}

/// Grapheme-like clusters: a base character with the marks, joiners, selectors and
/// modifiers that belong to it; a pair of regional indicators is one flag.
pub fn clusters(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut join_next = false;
    for c in text.chars() {
        let extends = join_next
            || is_extender(c)
            || (is_regional(c)
                && out
                    .last()
                    .is_some_and(|l| l.chars().count() == 1 && l.chars().all(is_regional)));
        join_next = c == '\u{200D}';
        match out.last_mut() {
            Some(last) if extends => last.push(c),
            _ => out.push(c.to_string()),
        }
    }
    out
}

fn is_extender(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}' | '\u{0483}'..='\u{0489}' | '\u{0591}'..='\u{05C7}'
        | '\u{0610}'..='\u{061A}' | '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{06D6}'..='\u{06ED}'
        | '\u{0E31}' | '\u{0E34}'..='\u{0E3A}' | '\u{0E47}'..='\u{0E4E}'
        | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{200C}' | '\u{200D}'
        | '\u{20D0}'..='\u{20FF}' | '\u{3099}' | '\u{309A}' | '\u{FE00}'..='\u{FE0F}'
        | '\u{FE20}'..='\u{FE2F}' | '\u{1F3FB}'..='\u{1F3FF}' | '\u{E0020}'..='\u{E007F}')
}

fn is_regional(c: char) -> bool {
    ('\u{1F1E6}'..='\u{1F1FF}').contains(&c)
}

fn is_emoji_cluster(cluster: &str) -> bool {
    cluster.chars().any(|c| {
        matches!(c, '\u{1F000}'..='\u{1FAFF}' | '\u{2600}'..='\u{27BF}' | '\u{2B00}'..='\u{2BFF}' | '\u{FE0F}' | '\u{20E3}' | '\u{231A}' | '\u{231B}' | '\u{23E9}'..='\u{23FA}')
    })
}

fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{2E80}'..='\u{2FFF}' | '\u{3000}'..='\u{30FF}' | '\u{3100}'..='\u{31FF}'
        | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}'
        | '\u{FF00}'..='\u{FFEF}' | '\u{20000}'..='\u{3FFFF}')
}

fn is_rtl_char(c: char) -> bool {
    matches!(c, '\u{0590}'..='\u{08FF}' | '\u{FB1D}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}' | '\u{10800}'..='\u{10FFF}' | '\u{1E800}'..='\u{1EFFF}')
}

/// Whether the first strongly directional character reads right to left.
fn paragraph_is_rtl(text: &str) -> bool {
    let bidi = BidiInfo::new(text, None);
    bidi.paragraphs.first().is_some_and(|p| p.level.is_rtl())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn style(width: f32, size: f32, min: f32, lines: usize) -> TextStyle {
        TextStyle {
            family: "Inter".into(),
            weight: 700,
            size,
            min_size: min,
            max_lines: lines,
            line_height: 1.2,
            width,
        }
    }

    #[test]
    fn short_titles_stay_on_one_line_at_full_size() {
        let b = layout(
            &FontSet::built_in(),
            "Hello, world",
            &style(1000.0, 72.0, 40.0, 3),
        );
        assert_eq!(b.lines.len(), 1);
        assert_eq!(b.size, 72.0);
        assert!(!b.truncated);
    }

    #[test]
    fn long_titles_wrap_shrink_and_never_overflow() {
        let fonts = FontSet::built_in();
        let title =
            "What I learned from rendering ten thousand Open Graph cards on a two-core laptop";
        let s = style(1000.0, 72.0, 40.0, 3);
        let b = layout(&fonts, title, &s);
        assert!(b.lines.len() > 1 && b.lines.len() <= 3);
        assert!(
            b.lines.iter().all(|l| l.width <= 1000.0 + 0.5),
            "{:?}",
            b.lines
        );
        assert_eq!(
            b.lines
                .iter()
                .map(|l| l.text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            title
        );
    }

    #[test]
    fn text_that_cannot_fit_ends_in_an_ellipsis() {
        let fonts = FontSet::built_in();
        let b = layout(&fonts, &"word ".repeat(200), &style(800.0, 60.0, 40.0, 2));
        assert_eq!(b.lines.len(), 2);
        assert_eq!(b.size, 40.0);
        assert!(b.truncated);
        assert!(b.lines[1].text.ends_with('…'));
        assert!(b.lines.iter().all(|l| l.width <= 800.5));
    }

    #[test]
    fn a_hostile_title_is_cut_quickly() {
        let fonts = FontSet::built_in();
        let started = std::time::Instant::now();
        for title in [
            "x".repeat(100_000),
            "word ".repeat(20_000),
            "漢".repeat(100_000),
        ] {
            let b = layout(&fonts, &title, &style(1000.0, 72.0, 40.0, 3));
            assert!(b.truncated && b.lines.len() == 3 && b.lines[2].text.ends_with('…'));
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_word_wider_than_the_box_is_broken() {
        let fonts = FontSet::built_in();
        let b = layout(&fonts, &"x".repeat(300), &style(500.0, 40.0, 40.0, 10));
        assert!(b.lines.len() > 1);
        assert!(b.lines.iter().all(|l| l.width <= 500.5));
    }

    #[test]
    fn cjk_wraps_between_characters() {
        let fonts = FontSet::built_in();
        let b = layout(
            &fonts,
            "東京で見つけた小さな本屋の話をしましょう、とても長いタイトルです",
            &style(600.0, 64.0, 64.0, 4),
        );
        assert!(b.lines.len() > 1);
        assert!(b.lines.iter().all(|l| l.width <= 600.5));
        assert!(!b.lines[1..].iter().any(|l| l.text.starts_with('、')));
    }

    #[test]
    fn faces_follow_the_script() {
        let fonts = FontSet::built_in();
        let s = style(2000.0, 40.0, 40.0, 1);
        let m = Measurer::new(&fonts, &s);
        let families = |t: &str| {
            m.pieces(t)
                .iter()
                .map(|p| m.chain[p.face].family.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(families("Hello 2024 🚀"), ["Inter", "Noto Color Emoji 5"]);
        assert_eq!(families("Café مرحبا بكم"), ["Inter", "Noto Sans Arabic"]);
        assert_eq!(families("東京 Tokyo"), ["Droid Sans Fallback", "Inter"]);
        assert_eq!(clusters("👨‍👩‍👧🇫🇷e\u{301}"), ["👨‍👩‍👧", "🇫🇷", "e\u{301}"]);
    }

    #[test]
    fn emoji_sequences_are_drawn_whole_by_the_piece_that_has_them() {
        let fonts = FontSet::built_in();
        let s = style(2000.0, 40.0, 40.0, 1);
        let mut m = Measurer::new(&fonts, &s);
        // Family, flag, skin tone, keycap, rainbow flag, each in a different piece.
        for sequence in ["👨‍👩‍👧", "🇫🇷", "👍🏽", "1️⃣", "🏳️‍🌈", "❤️‍🔥"]
        {
            let pieces = m.pieces(sequence);
            assert_eq!(pieces.len(), 1, "{sequence}: {pieces:?}");
            let face = pieces[0].face;
            assert!(
                m.chain[face].is_emoji(),
                "{sequence}: {}",
                m.chain[face].family
            );
            // One glyph is about 1.25 em wide; a sequence that fell apart is two or more.
            let em = m.em(face, sequence);
            assert!((1.0..1.5).contains(&em), "{sequence}: {em} em");
        }
    }

    #[test]
    fn rtl_paragraphs_align_right_and_escape() {
        let fonts = FontSet::built_in();
        let s = style(1000.0, 50.0, 50.0, 2);
        let b = layout(&fonts, "الخط العربي <&>", &s);
        assert!(b.rtl);
        let svg = b.to_svg(&fonts, &s, 100.0, 0.0, Align::Start, "");
        assert!(svg.contains("Noto Sans Arabic"), "{svg}");
        assert!(svg.contains("&lt;&amp;&gt;"));
        let x: f32 = svg
            .split("x=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(x > 100.0, "an RTL line is right-aligned in the box");
        // The colon after the first word sits at that word's left, i.e. `" :"` drawn
        // left to right, between the two Hebrew pieces.
        let b = layout(&fonts, "כתיבה מימין: עברית", &s);
        let svg = b.to_svg(&fonts, &s, 0.0, 0.0, Align::Start, "");
        let texts: Vec<&str> = svg
            .split("preserve\">")
            .skip(1)
            .map(|t| t.split('<').next().unwrap())
            .collect();
        assert_eq!(texts, ["עברית", " :", "כתיבה מימין"], "{svg}");
    }
}
