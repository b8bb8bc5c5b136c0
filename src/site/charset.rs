//! A page's character encoding, found the way a browser finds it, and text written back in
//! it. `ogforge inject` reads titles and descriptions in the page's own encoding and writes
//! its tags in that encoding, so a windows-1252 or Shift_JIS page gets no mojibake.
//!
//! In order: a byte-order mark; a `<meta charset>` or `<meta http-equiv="Content-Type">`
//! found by the HTML standard's prescan of the first 1024 bytes; else UTF-8 when the page
//! is valid UTF-8 (what every generator writes), else windows-1252, the standard's
//! fallback for most locales. There is no HTTP header to consult: the files are read from
//! disk. No I/O here.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252, X_USER_DEFINED};

/// How many bytes the prescan reads, as the HTML standard has it.
pub const PRESCAN_BYTES: usize = 1024;

/// The encoding of a page and how it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageEncoding {
    pub encoding: &'static Encoding,
    pub found: Found,
}

/// How a page's encoding was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    ByteOrderMark,
    /// A `<meta>` in the first 1024 bytes.
    Declared,
    /// Nothing declared, and the page is valid UTF-8.
    Utf8,
    /// Nothing declared, and the page is not UTF-8: read as windows-1252, a guess.
    Guessed,
}

impl Default for PageEncoding {
    fn default() -> PageEncoding {
        PageEncoding::UTF8
    }
}

impl PageEncoding {
    pub const UTF8: PageEncoding = PageEncoding {
        encoding: UTF_8,
        found: Found::Utf8,
    };

    /// The page's bytes are those of HTML markup (every ASCII byte means its ASCII
    /// character), so tags can be found and spliced in without decoding the page.
    pub fn is_ascii_compatible(&self) -> bool {
        self.encoding.is_ascii_compatible()
    }

    /// UTF-16, told by a byte-order mark: its text is decoded, rewritten as UTF-8 and
    /// encoded back, which gives back every byte that was not changed.
    pub fn is_utf16(&self) -> bool {
        self.encoding == UTF_16LE || self.encoding == UTF_16BE
    }

    /// `text` (markup ogforge writes) in this encoding. What the encoding cannot hold is
    /// written as a numeric character reference, which is why `text` must be in a place
    /// where references are read: an attribute value or text, never a `<script>`. When
    /// the encoding was only guessed, everything not ASCII is a reference: those bytes
    /// read the same in whatever encoding a browser guesses.
    pub fn encode<'a>(&self, text: &'a str) -> Cow<'a, [u8]> {
        if text.is_ascii() {
            return Cow::Borrowed(text.as_bytes());
        }
        match self.found {
            Found::Guessed => Cow::Owned(ascii_with_references(text).into_bytes()),
            _ if self.encoding == UTF_8 => Cow::Borrowed(text.as_bytes()),
            _ if self.is_utf16() => Cow::Owned(encode_utf16(text, self.encoding, false)),
            // Replaces what it cannot map with `&#NNNN;`.
            _ => self.encoding.encode(text).0,
        }
    }
}

/// The encoding of `html`: see the module's doc.
pub fn detect(html: &[u8]) -> PageEncoding {
    declared(html).unwrap_or_else(|| undeclared(html))
}

/// The encoding a page's byte-order mark or declaration names, read from its first
/// [`PRESCAN_BYTES`] (all that is read of `html`).
pub fn declared(html: &[u8]) -> Option<PageEncoding> {
    if let Some((encoding, _)) = Encoding::for_bom(html) {
        return Some(PageEncoding {
            encoding,
            found: Found::ByteOrderMark,
        });
    }
    prescan(&html[..html.len().min(PRESCAN_BYTES)]).map(|encoding| PageEncoding {
        encoding,
        found: Found::Declared,
    })
}

/// The encoding of a page that declares none.
fn undeclared(html: &[u8]) -> PageEncoding {
    if std::str::from_utf8(html).is_ok() {
        PageEncoding::UTF8
    } else {
        PageEncoding {
            encoding: WINDOWS_1252,
            found: Found::Guessed,
        }
    }
}

/// The text of a UTF-16 page (`encoding` is UTF-16LE or BE, and the page starts with its
/// byte-order mark), without the mark; `None` when it is not valid UTF-16 (an odd number
/// of bytes, a lone surrogate), which could not be written back as it was.
pub fn decode_utf16(html: &[u8], encoding: &'static Encoding) -> Option<String> {
    let body = html.get(2..)?;
    encoding
        .decode_without_bom_handling_and_without_replacement(body)
        .map(Cow::into_owned)
}

/// `text` as UTF-16 in `encoding`'s byte order, with a byte-order mark when asked.
/// (encoding_rs encodes no UTF-16: the Encoding Standard never needs to.)
pub fn encode_utf16(text: &str, encoding: &'static Encoding, with_mark: bool) -> Vec<u8> {
    let big_endian = encoding == UTF_16BE;
    let mut out = Vec::with_capacity(2 * text.len() + 2);
    let units = with_mark
        .then_some(0xFEFF_u16)
        .into_iter()
        .chain(text.encode_utf16());
    for unit in units {
        let bytes = if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        };
        out.extend_from_slice(&bytes);
    }
    out
}

fn ascii_with_references(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("&#{};", u32::from(c)));
        }
    }
    out
}

/// The HTML standard's "prescan a byte stream to determine its encoding" over `bytes`
/// (the caller cuts them to 1024): the first `<meta charset>`, or `<meta http-equiv=
/// "Content-Type" content="…; charset=…">`, outside comments. Running off the end of
/// `bytes` in the middle of a tag ends it with nothing found, as in browsers.
pub fn prescan(bytes: &[u8]) -> Option<&'static Encoding> {
    let mut scan = Scan { bytes, at: 0 };
    while scan.at < bytes.len() {
        let rest = &bytes[scan.at..];
        if rest.starts_with(b"<!--") {
            // The first `>` preceded by `--`, which may be the comment opener's own
            // dashes (`<!-->`).
            let close = rest[2..].windows(3).position(|w| w == b"-->")?;
            scan.at += 2 + close + 3;
            continue;
        }
        if starts_with_ignore_case(rest, b"<meta")
            && rest.get(5).is_some_and(|&b| is_space(b) || b == b'/')
        {
            scan.at += 5;
            if let Some(found) = scan.meta()? {
                return Some(found);
            }
        } else if rest.len() >= 2
            && rest[0] == b'<'
            && (rest[1].is_ascii_alphabetic()
                || (rest[1] == b'/' && rest.get(2).is_some_and(u8::is_ascii_alphabetic)))
        {
            // Another tag: skip its name and attributes (a `>` inside a quoted value
            // does not end it).
            let name_end = rest
                .iter()
                .position(|&b| is_space(b) || b == b'>')
                .unwrap_or(rest.len());
            scan.at += name_end;
            while scan.attribute()?.is_some() {}
        } else if rest.starts_with(b"<!") || rest.starts_with(b"</") || rest.starts_with(b"<?") {
            let close = rest.iter().position(|&b| b == b'>')?;
            scan.at += close;
        }
        scan.at += 1;
    }
    None
}

struct Scan<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Scan<'_> {
    fn byte(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// The attributes of a `<meta>`, `at` just after its name: the encoding it declares,
    /// if it declares one. `None` when the bytes end first.
    fn meta(&mut self) -> Option<Option<&'static Encoding>> {
        let mut seen: Vec<Vec<u8>> = Vec::new();
        let mut got_pragma = false;
        // None: no declaration; Some(true): one in `content`, valid with http-equiv.
        let mut need_pragma: Option<bool> = None;
        let mut charset: Option<&'static Encoding> = None;
        while let Some((name, value)) = self.attribute()? {
            if seen.contains(&name) {
                continue;
            }
            match name.as_slice() {
                b"http-equiv" => got_pragma |= value == b"content-type",
                b"content" => {
                    if let Some(found) = charset_in_content(&value)
                        && charset.is_none()
                    {
                        charset = Some(found);
                        need_pragma = Some(true);
                    }
                }
                b"charset" => {
                    charset = Encoding::for_label(&value);
                    need_pragma = Some(false);
                }
                _ => {}
            }
            seen.push(name);
        }
        let declared = match need_pragma {
            None => None,
            Some(true) if !got_pragma => None,
            _ => charset,
        };
        Some(declared.map(|encoding| {
            if encoding == UTF_16LE || encoding == UTF_16BE {
                // The bytes read so far were ASCII: they are not UTF-16.
                UTF_8
            } else if encoding == X_USER_DEFINED {
                WINDOWS_1252
            } else {
                encoding
            }
        }))
    }

    /// The standard's "get an attribute": its name and value, lower-cased (values are
    /// only ever compared or taken as labels); `Some(None)` at the tag's `>`, `None` when
    /// the bytes end first.
    #[allow(clippy::type_complexity)]
    fn attribute(&mut self) -> Option<Option<(Vec<u8>, Vec<u8>)>> {
        while is_space(self.byte()?) || self.byte()? == b'/' {
            self.at += 1;
        }
        if self.byte()? == b'>' {
            return Some(None);
        }
        let mut name = Vec::new();
        let mut value = Vec::new();
        loop {
            let b = self.byte()?;
            if b == b'=' && !name.is_empty() {
                self.at += 1;
                break;
            }
            if is_space(b) {
                while is_space(self.byte()?) {
                    self.at += 1;
                }
                if self.byte()? != b'=' {
                    return Some(Some((name, value)));
                }
                self.at += 1;
                break;
            }
            if b == b'/' || b == b'>' {
                return Some(Some((name, value)));
            }
            name.push(b.to_ascii_lowercase());
            self.at += 1;
        }
        while is_space(self.byte()?) {
            self.at += 1;
        }
        let b = self.byte()?;
        if b == b'"' || b == b'\'' {
            loop {
                self.at += 1;
                let c = self.byte()?;
                if c == b {
                    self.at += 1;
                    return Some(Some((name, value)));
                }
                value.push(c.to_ascii_lowercase());
            }
        }
        if b == b'>' {
            return Some(Some((name, value)));
        }
        loop {
            let c = self.byte()?;
            if is_space(c) || c == b'>' {
                return Some(Some((name, value)));
            }
            value.push(c.to_ascii_lowercase());
            self.at += 1;
        }
    }
}

/// The standard's "extracting a character encoding from a meta element": the label after
/// `charset=` in a `content` value (`text/html; charset=shift_jis`).
fn charset_in_content(content: &[u8]) -> Option<&'static Encoding> {
    let mut at = 0;
    loop {
        let found = content[at..]
            .windows(7)
            .position(|w| w.eq_ignore_ascii_case(b"charset"))?;
        at += found + 7;
        while content.get(at).is_some_and(|&b| is_space(b)) {
            at += 1;
        }
        if content.get(at) == Some(&b'=') {
            at += 1;
            break;
        }
    }
    while content.get(at).is_some_and(|&b| is_space(b)) {
        at += 1;
    }
    let rest = content.get(at..)?;
    match rest.first()? {
        &q @ (b'"' | b'\'') => {
            let end = rest[1..].iter().position(|&b| b == q)?;
            Encoding::for_label(&rest[1..1 + end])
        }
        _ => {
            let end = rest
                .iter()
                .position(|&b| is_space(b) || b == b';')
                .unwrap_or(rest.len());
            Encoding::for_label(&rest[..end])
        }
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

fn starts_with_ignore_case(bytes: &[u8], prefix: &[u8]) -> bool {
    bytes
        .get(..prefix.len())
        .is_some_and(|b| b.eq_ignore_ascii_case(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::{EUC_JP, ISO_2022_JP, ISO_8859_5, REPLACEMENT, SHIFT_JIS, WINDOWS_1251};

    #[test]
    fn prescan_follows_the_standard() {
        let cases: &[(&str, &[u8], Option<&'static Encoding>)] = &[
            (
                "meta charset",
                b"<meta charset=\"windows-1252\">",
                Some(WINDOWS_1252),
            ),
            (
                "label, upper case, unquoted",
                b"<META CHARSET=Shift_JIS>",
                Some(SHIFT_JIS),
            ),
            (
                "latin1 is windows-1252",
                b"<meta charset='latin1'>",
                Some(WINDOWS_1252),
            ),
            (
                "http-equiv with content",
                b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-5\">",
                Some(ISO_8859_5),
            ),
            (
                "content before http-equiv",
                b"<meta content='text/html;charset = \"euc-jp\"' http-equiv=content-type>",
                Some(EUC_JP),
            ),
            (
                "content without http-equiv declares nothing",
                b"<meta name=x content=\"charset=euc-jp\"><meta charset=koi8-r>",
                Some(encoding_rs::KOI8_R),
            ),
            (
                "after other tags and a doctype",
                b"<!DOCTYPE html><html lang=ru><head><title>x</title><meta charset=windows-1251>",
                Some(WINDOWS_1251),
            ),
            (
                "inside a comment it does not count",
                b"<!-- <meta charset=sjis> --><meta charset=euc-jp>",
                Some(EUC_JP),
            ),
            (
                "`<!-->` ends a comment",
                b"<!--><meta charset=sjis>",
                Some(SHIFT_JIS),
            ),
            (
                "a `>` in a quoted attribute does not end a tag",
                b"<a title='<meta charset=sjis>'><meta charset=euc-jp>",
                Some(EUC_JP),
            ),
            (
                "utf-16 declared in ASCII bytes is UTF-8",
                b"<meta charset=utf-16le>",
                Some(UTF_8),
            ),
            (
                "x-user-defined is windows-1252",
                b"<meta charset=x-user-defined>",
                Some(WINDOWS_1252),
            ),
            (
                "an unknown label is skipped",
                b"<meta charset=klingon><meta charset=sjis>",
                Some(SHIFT_JIS),
            ),
            (
                "the first declaration wins",
                b"<meta charset=sjis><meta charset=euc-jp>",
                Some(SHIFT_JIS),
            ),
            (
                "a name starting with meta is no meta",
                b"<metadata charset=sjis>",
                None,
            ),
            (
                "nothing declared",
                b"<html><head><title>x</title></head>",
                None,
            ),
            ("cut in the middle of a tag", b"<meta charset=\"shift", None),
            (
                "iso-2022-jp is found (and refused later)",
                b"<meta charset=iso-2022-jp>",
                Some(ISO_2022_JP),
            ),
            (
                "a replacement label is found (and refused later)",
                b"<meta charset=iso-2022-kr>",
                Some(REPLACEMENT),
            ),
        ];
        for (what, bytes, want) in cases {
            assert_eq!(prescan(bytes), *want, "{what}");
        }
    }

    #[test]
    fn detects_in_order_mark_declaration_utf8_guess() {
        assert_eq!(detect(b"\xef\xbb\xbf<meta charset=sjis>").encoding, UTF_8);
        assert_eq!(detect(b"\xff\xfe<\0").encoding, UTF_16LE);
        assert_eq!(detect(b"\xfe\xff\0<").encoding, UTF_16BE);
        assert_eq!(
            detect(b"<meta charset=sjis>\x82\xa0").found,
            Found::Declared
        );
        assert_eq!(detect("<p>caf\u{e9}".as_bytes()), PageEncoding::UTF8);
        let guessed = detect(b"<p>caf\xe9");
        assert_eq!(
            (guessed.encoding, guessed.found),
            (WINDOWS_1252, Found::Guessed)
        );
        // Beyond the first 1024 bytes a declaration is not looked for.
        let late = format!("{}<meta charset=sjis>", " ".repeat(PRESCAN_BYTES));
        assert_eq!(detect(late.as_bytes()), PageEncoding::UTF8);
    }

    #[test]
    fn encodes_with_references_for_what_it_cannot_hold() {
        let latin = detect(b"<meta charset=windows-1252>");
        assert_eq!(
            &*latin.encode("Caf\u{e9} \u{2014} \u{65e5}"),
            b"Caf\xe9 \x97 &#26085;"
        );
        let sjis = detect(b"<meta charset=shift_jis>");
        assert_eq!(
            &*sjis.encode("\u{65e5}\u{672c} \u{e9}"),
            b"\x93\xfa\x96{ &#233;"
        );
        let guessed = detect(b"\xe9");
        assert_eq!(&*guessed.encode("Caf\u{e9}"), b"Caf&#233;");
        assert_eq!(
            &*PageEncoding::UTF8.encode("Caf\u{e9}"),
            "Caf\u{e9}".as_bytes()
        );
    }

    #[test]
    fn utf16_round_trips() {
        let text = "<title>\u{65e5}\u{672c} \u{1f600}</title>";
        for encoding in [UTF_16LE, UTF_16BE] {
            let bytes = encode_utf16(text, encoding, true);
            assert_eq!(detect(&bytes).encoding, encoding);
            assert_eq!(decode_utf16(&bytes, encoding).as_deref(), Some(text));
        }
        // A lone surrogate or an odd byte is not UTF-16 that can be written back.
        assert_eq!(decode_utf16(b"\xff\xfe\x00\xd8<\x00", UTF_16LE), None);
        assert_eq!(decode_utf16(b"\xff\xfe<\x00<", UTF_16LE), None);
    }
}
