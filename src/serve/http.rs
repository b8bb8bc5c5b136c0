//! Just enough HTTP/1.1 for a preview server on 127.0.0.1: one request per connection
//! (`Connection: close`), GET, HEAD and a bodiless POST, no chunked bodies.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// A request head longer than this is refused: the server only serves a browser.
const MAX_HEAD: usize = 16 * 1024;

/// A request body longer than this is refused (retry forms send none).
const MAX_BODY: usize = 64 * 1024;

/// How long a client may take to send its request.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// What the server needs of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The path as sent, still percent-encoded, without the query.
    pub path: String,
    /// The query string, without `?`; empty when there is none.
    pub query: String,
}

impl Request {
    /// The value of `name` in the query string, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = value.replace('+', " ");
            (key == name).then(|| String::from_utf8_lossy(&percent_decode(&value)).into_owned())
        })
    }
}

/// Reads one request head (and discards its body); `Ok(None)` when the client sent
/// something that is not HTTP or is too large.
pub fn read_request(stream: &TcpStream) -> io::Result<Option<Request>> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    let mut reader = BufReader::new(stream);
    let mut head = Vec::new();
    let mut content_length = 0usize;
    let mut first = None;
    loop {
        let mut line = Vec::new();
        let n = (&mut reader)
            .take((MAX_HEAD - head.len().min(MAX_HEAD)) as u64 + 1)
            .read_until(b'\n', &mut line)?;
        if n == 0 || head.len() + n > MAX_HEAD {
            return Ok(None);
        }
        head.extend_from_slice(&line);
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if first.is_none() {
            first = Some(text.to_string());
            continue;
        }
        if text.is_empty() {
            break;
        }
        if let Some((name, value)) = text.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            match value.trim().parse() {
                Ok(n) if n <= MAX_BODY => content_length = n,
                _ => return Ok(None),
            }
        }
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body)?;
    Ok(first.as_deref().and_then(parse_request_line))
}

fn parse_request_line(line: &str) -> Option<Request> {
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !version.starts_with("HTTP/1.") || !target.starts_with('/') {
        return None;
    }
    let target = target.split('#').next().unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Some(Request {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
    })
}

/// A complete response.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type", content_type.to_string())],
            body: body.into(),
        }
    }

    /// A redirect to `location`; `303` turns a POST into a GET of it.
    pub fn redirect(status: u16, location: &str) -> Response {
        Response {
            status,
            headers: vec![("Location", location.to_string())],
            body: Vec::new(),
        }
    }

    pub fn text(status: u16, text: &str) -> Response {
        Response::new(status, "text/plain; charset=utf-8", text)
    }

    /// Sends the response; the body only when `with_body` (not for HEAD).
    pub fn send(&self, stream: &mut TcpStream, with_body: bool) -> io::Result<()> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        // Every response is fresh: the preview must never show a page from before a
        // rebuild.
        head.push_str(&format!(
            "Content-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
            self.body.len()
        ));
        stream.write_all(head.as_bytes())?;
        if with_body {
            stream.write_all(&self.body)?;
        }
        stream.flush()
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        303 => "See Other",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        _ => "",
    }
}

/// The content type of a file, by its extension.
pub fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "txt" | "md" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        "rss" => "application/rss+xml",
        "atom" => "application/atom+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "pdf" => "application/pdf",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// Where a request path leads inside `root`: `None` for a path that is not a plain one
/// (`..`, a backslash, a NUL, bytes that are not UTF-8), whatever its encoding. The
/// result may not exist; symbolic links are the caller's to check.
pub fn inside(root: &Path, path: &str) -> Option<PathBuf> {
    let decoded = String::from_utf8(percent_decode(path)).ok()?;
    if decoded.contains(['\\', '\0']) {
        return None;
    }
    let mut out = root.to_path_buf();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => return None,
            s => {
                // One plain name each: no drive letters or roots sneaking in.
                let mut parts = Path::new(s).components();
                match (parts.next(), parts.next()) {
                    (Some(Component::Normal(name)), None) => out.push(name),
                    _ => return None,
                }
            }
        }
    }
    Some(out)
}

/// `%2e%2E` as `..`; a `%` not followed by two hex digits is kept as it is.
pub fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Escapes text for HTML content and attribute values: the one escaper of the crate.
pub use crate::site::templates::escape_html as escape;

/// Percent-encodes a query value.
pub fn encode_query(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_root() {
        let root = Path::new("/site/public");
        let at = |p: &str| inside(root, p).map(|p| p.display().to_string());
        assert_eq!(at("/").as_deref(), Some("/site/public"));
        assert_eq!(
            at("/posts/a%20b/").as_deref(),
            Some("/site/public/posts/a b")
        );
        assert_eq!(at("/./og//x.png").as_deref(), Some("/site/public/og/x.png"));
        for bad in [
            "/../etc/passwd",
            "/posts/../../x",
            "/%2e%2e/x",
            "/%2E%2E%2Fx",
            "/a%5c..%5cb",
            "/a%00b",
            "/%ff",
        ] {
            assert_eq!(at(bad), None, "{bad}");
        }
    }

    #[test]
    fn request_lines_and_queries() {
        let r = parse_request_line("POST /_ogforge/retry?key=card%3Acontent%2Fa.md&x=1 HTTP/1.1")
            .unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/_ogforge/retry");
        assert_eq!(r.query_param("key").as_deref(), Some("card:content/a.md"));
        assert_eq!(r.query_param("y"), None);
        assert_eq!(parse_request_line("GET http://x/ HTTP/1.1"), None);
        assert_eq!(parse_request_line("GET / SPDY/3"), None);
        assert_eq!(encode_query("card:content/a b.md"), "card:content/a%20b.md");
    }

    #[test]
    fn content_types_by_extension() {
        for (file, ty) in [
            ("a.html", "text/html; charset=utf-8"),
            ("a.CSS", "text/css; charset=utf-8"),
            ("a.png", "image/png"),
            ("a.svg", "image/svg+xml"),
            ("a.js", "text/javascript; charset=utf-8"),
            ("a.json", "application/json"),
            ("a", "application/octet-stream"),
        ] {
            assert_eq!(content_type(Path::new(file)), ty, "{file}");
        }
    }
}
