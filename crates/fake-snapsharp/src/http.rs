//! Just enough HTTP/1.1 for the fake server: read one request (request line, headers, a
//! `Content-Length` body) and write one response. Every response closes the connection,
//! so there is no keep-alive state to get wrong and each request is one connection.

use std::io::{self, BufRead, Read, Write};

/// Headers larger than this are refused; no client of ours sends anything near it.
const MAX_HEAD: usize = 64 * 1024;
/// Bodies larger than this are refused; a request body is a small JSON object.
const MAX_BODY: usize = 10 * 1024 * 1024;

/// One parsed request.
#[derive(Debug, Clone)]
pub struct RawRequest {
    pub method: String,
    /// The request target as sent, e.g. `/v1/og-image`.
    pub path: String,
    /// In the order received; names as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawRequest {
    /// The first header called `name`, compared without case.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Why a request could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The peer closed the connection before sending a whole request (or sent nothing).
    Closed,
    /// The bytes are not an HTTP/1.1 request we understand; answer 400 with this text.
    Malformed(String),
    /// Reading failed (a timeout, a reset); nothing can be answered.
    Io,
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::UnexpectedEof => ReadError::Closed,
            _ => ReadError::Io,
        }
    }
}

/// Reads one request: the head up to the blank line, then `Content-Length` bytes of body.
pub fn read_request(reader: &mut impl BufRead) -> Result<RawRequest, ReadError> {
    let mut head_len = 0;
    let request_line = read_line(reader, &mut head_len)?;
    if request_line.is_empty() {
        return Err(ReadError::Closed);
    }
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(path), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Malformed(format!(
            "bad request line `{request_line}`"
        )));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(ReadError::Malformed(format!(
            "unsupported version {version}"
        )));
    }
    let (method, path) = (method.to_string(), path.to_string());

    let mut headers = Vec::new();
    loop {
        let line = read_line(reader, &mut head_len)?;
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(ReadError::Malformed(format!("bad header line `{line}`")));
        };
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }

    if header(&headers, "transfer-encoding").is_some() {
        return Err(ReadError::Malformed(
            "chunked request bodies are not supported; send Content-Length".into(),
        ));
    }
    let length = match header(&headers, "content-length") {
        None => 0,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| ReadError::Malformed(format!("bad Content-Length `{v}`")))?,
    };
    if length > MAX_BODY {
        return Err(ReadError::Malformed(format!(
            "body of {length} bytes is over the {MAX_BODY}-byte limit"
        )));
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(RawRequest {
        method,
        path,
        headers,
        body,
    })
}

/// One line without its CRLF (or bare LF); an empty string at end of input.
fn read_line(reader: &mut impl BufRead, head_len: &mut usize) -> Result<String, ReadError> {
    let mut line = Vec::new();
    let limit = (MAX_HEAD - *head_len) as u64 + 1;
    reader.take(limit).read_until(b'\n', &mut line)?;
    *head_len += line.len();
    if *head_len > MAX_HEAD {
        return Err(ReadError::Malformed("request head is too large".into()));
    }
    if !line.is_empty() && !line.ends_with(b"\n") {
        return Err(ReadError::Closed);
    }
    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        line.pop();
    }
    String::from_utf8(line).map_err(|_| ReadError::Malformed("request head is not UTF-8".into()))
}

/// One response; written with `Content-Length` and `Connection: close`.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn new(status: u16, content_type: &str, body: Vec<u8>) -> RawResponse {
        RawResponse {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body,
        }
    }

    /// `{"error": {"code": ..., "message": ...}}`, the API's error shape.
    pub fn json_error(status: u16, code: &str, message: &str) -> RawResponse {
        let body = serde_json::json!({ "error": { "code": code, "message": message } });
        RawResponse::new(status, "application/json", body.to_string().into_bytes())
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> RawResponse {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The status line and headers, with `content_length` announced.
    fn head(&self, content_length: usize) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {content_length}\r\nConnection: close\r\n\r\n"
        ));
        head.into_bytes()
    }

    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(&self.head(self.body.len()))?;
        out.write_all(&self.body)?;
        out.flush()
    }

    /// Announces the whole body but sends only its first half: a torn download.
    pub fn write_truncated(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(&self.head(self.body.len()))?;
        out.write_all(&self.body[..self.body.len() / 2])?;
        out.flush()
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RawRequest, ReadError> {
        read_request(&mut io::Cursor::new(text.as_bytes().to_vec()))
    }

    #[test]
    fn reads_a_request_with_a_body() {
        let r =
            parse("POST /v1/og-image HTTP/1.1\r\nHost: x\r\ncontent-length: 2\r\n\r\n{}").unwrap();
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/v1/og-image")
        );
        assert_eq!(r.header("Content-Length"), Some("2"));
        assert_eq!(r.body, b"{}");
    }

    #[test]
    fn bad_requests_are_told_apart_from_closed_connections() {
        assert!(matches!(parse(""), Err(ReadError::Closed)));
        assert!(matches!(
            parse("POST /v1/og-image HTTP/1.1\r\nContent-Length: 9\r\n\r\n{}"),
            Err(ReadError::Closed)
        ));
        assert!(matches!(
            parse("NONSENSE\r\n\r\n"),
            Err(ReadError::Malformed(_))
        ));
        assert!(matches!(
            parse("GET / HTTP/1.1\r\nno colon\r\n\r\n"),
            Err(ReadError::Malformed(_))
        ));
    }
}
