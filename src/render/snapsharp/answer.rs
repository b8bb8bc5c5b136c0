//! What an answer from SnapSharp means: whether a 200 carries the image that was asked
//! for (checked by its bytes, not its headers alone), and the message in an error body.

use serde_json::{Map, Value};

use crate::config::ImageFormat;
use crate::report::plural;

/// Error texts from the API are cut to this many characters.
const MESSAGE_CHARS: usize = 200;

/// What a 200 must carry to be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Expected {
    /// `None`: any of PNG, JPEG, WebP.
    pub format: Option<ImageFormat>,
    /// `None` when the size is the page's (a full-page or element screenshot).
    pub size: Option<(u32, u32)>,
}

pub(super) fn screenshot_expectation(body: &Map<String, Value>) -> Expected {
    let format = match body.get("format").and_then(Value::as_str) {
        None | Some("png") => Some(ImageFormat::Png),
        Some("jpeg" | "jpg") => Some(ImageFormat::Jpeg),
        Some("webp") => Some(ImageFormat::Webp),
        Some(_) => None,
    };
    let page_sized = body
        .get("full_page")
        .is_some_and(|v| v.as_bool() != Some(false))
        || body.get("selector").is_some_and(|v| !v.is_null());
    let side = |key: &str, default: u32| match body.get(key) {
        None => Some(default),
        Some(v) => v.as_u64().and_then(|n| u32::try_from(n).ok()),
    };
    let size = match (page_sized, side("width", 1280), side("height", 720)) {
        (false, Some(w), Some(h)) => Some((w, h)),
        _ => None,
    };
    Expected { format, size }
}

/// `Ok` when `bytes` are the image asked for; otherwise the whole complaint.
pub(super) fn check_image(
    content_type: Option<&str>,
    bytes: &[u8],
    expected: Expected,
) -> Result<(), String> {
    let wanted = match (expected.format, expected.size) {
        (Some(f), Some((w, h))) => format!("a {w}×{h} {} image", format_name(f)),
        (Some(f), None) => format!("a {} image", format_name(f)),
        (None, Some((w, h))) => format!("a {w}×{h} image"),
        (None, None) => "an image".to_string(),
    };
    let complain = |got: String| format!("SnapSharp answered 200 but not {wanted} (got {got})");

    // Tolerate a missing or generic type, since SNAPSHARP.md only assumes one is sent.
    let mime = content_type
        .map(|t| {
            t.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|t| !t.is_empty() && t != "application/octet-stream");
    if let Some(mime) = &mime
        && !mime.starts_with("image/")
    {
        return Err(complain(mime.clone()));
    }
    let Some(format) = sniff(bytes) else {
        return Err(complain(format!(
            "{} that are not a PNG, JPEG or WebP image",
            plural(bytes.len(), "byte")
        )));
    };
    if expected.format.is_some_and(|f| f != format) {
        return Err(complain(format!("a {} image", format_name(format))));
    }
    let size = imagesize::blob_size(bytes).map_err(|_| {
        complain(format!(
            "a {} image whose size cannot be read",
            format_name(format)
        ))
    })?;
    let (width, height) = (size.width as u64, size.height as u64);
    if let Some((w, h)) = expected.size
        && (width, height) != (u64::from(w), u64::from(h))
    {
        return Err(complain(format!(
            "a {width}×{height} {}",
            format_name(format)
        )));
    }
    Ok(())
}

/// The format the magic bytes announce.
fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some(ImageFormat::Jpeg)
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some(ImageFormat::Webp)
    } else {
        None
    }
}

fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "PNG",
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::Webp => "WebP",
    }
}

/// The error's message from `{"error": {"message": ...}}` (or a close variant), else
/// the body as text; on one line, cut to [`MESSAGE_CHARS`].
pub(super) fn api_message(body: &[u8]) -> String {
    let from_json = serde_json::from_slice::<Value>(body).ok().and_then(|json| {
        [
            json.pointer("/error/message"),
            json.get("error"),
            json.get("message"),
        ]
        .into_iter()
        .flatten()
        .find_map(|v| v.as_str().map(str::to_string))
    });
    let text = from_json.unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.is_empty() {
        return "(no message)".into();
    }
    match one_line.char_indices().nth(MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}
