//! What the fake answers when nothing is scripted to go wrong: the two endpoints of
//! SNAPSHARP.md, checked like the real API checks them, drawing a real PNG of the
//! requested size in a colour taken from the request body (so different requests give
//! different pictures and the same request the same picture).

use serde_json::{Map, Value};

use super::http::{RawRequest, RawResponse};

/// A picture the fake is about to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Picture {
    pub width: u32,
    pub height: u32,
    pub rgb: [u8; 3],
}

impl Picture {
    pub fn png(&self) -> Vec<u8> {
        solid_png(self.width, self.height, self.rgb)
    }
}

/// Larger sides are refused, as a real renderer would; also keeps a typo from making
/// the fake allocate gigabytes.
const MAX_SIDE: u64 = 16384;

/// The picture a well-formed request asks for, or the error response the API gives.
pub fn route(request: &RawRequest) -> Result<Picture, RawResponse> {
    let endpoint = request
        .path
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_end_matches('/');
    let is_post = request.method == "POST";
    match endpoint {
        "/v1/og-image" | "/v1/screenshot" if !is_post => Err(RawResponse::json_error(
            405,
            "method_not_allowed",
            &format!("{} is not allowed here; use POST", request.method),
        )
        .with_header("Allow", "POST")),
        "/v1/og-image" => og_image(&parse_object(&request.body)?),
        "/v1/screenshot" => screenshot(&parse_object(&request.body)?),
        _ => Err(RawResponse::json_error(
            404,
            "not_found",
            &format!("no endpoint at {}", request.path),
        )),
    }
    .map(|(width, height)| Picture {
        width,
        height,
        rgb: colour_of(&request.body),
    })
}

fn og_image(body: &Map<String, Value>) -> Result<(u32, u32), RawResponse> {
    match body.get("template") {
        Some(Value::String(t)) if !t.is_empty() => {}
        _ => return Err(bad_request("`template` must be a non-empty string")),
    }
    if !matches!(body.get("variables"), Some(Value::Object(_))) {
        return Err(bad_request("`variables` must be an object"));
    }
    Ok((side(body, "width", None)?, side(body, "height", None)?))
}

fn screenshot(body: &Map<String, Value>) -> Result<(u32, u32), RawResponse> {
    match body.get("url") {
        Some(Value::String(u)) if u.starts_with("http://") || u.starts_with("https://") => {}
        Some(Value::String(_)) => return Err(bad_request("`url` must be an http or https URL")),
        _ => return Err(bad_request("`url` is required")),
    }
    match body.get("format") {
        None => {}
        Some(Value::String(f)) if f == "png" => {}
        Some(Value::String(f)) if f == "jpeg" || f == "webp" => {
            return Err(RawResponse::json_error(
                422,
                "unsupported_format",
                &format!("this fake draws PNG only, not {f}"),
            ));
        }
        Some(_) => {
            return Err(bad_request(
                "`format` must be \"png\", \"jpeg\" or \"webp\"",
            ));
        }
    }
    if body.get("block_ads").is_some_and(|b| !b.is_boolean()) {
        return Err(bad_request("`block_ads` must be true or false"));
    }
    Ok((
        side(body, "width", Some(1280))?,
        side(body, "height", Some(720))?,
    ))
}

fn parse_object(body: &[u8]) -> Result<Map<String, Value>, RawResponse> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad_request("the body must be a JSON object")),
        Err(e) => Err(bad_request(&format!("the body is not JSON: {e}"))),
    }
}

fn side(body: &Map<String, Value>, key: &str, default: Option<u32>) -> Result<u32, RawResponse> {
    match (body.get(key), default) {
        (None, Some(d)) => Ok(d),
        (Some(v), _) => match v.as_u64() {
            Some(n) if (1..=MAX_SIDE).contains(&n) => Ok(n as u32),
            _ => Err(bad_request(&format!(
                "`{key}` must be an integer from 1 to {MAX_SIDE}"
            ))),
        },
        (None, None) => Err(bad_request(&format!("`{key}` is required"))),
    }
}

fn bad_request(message: &str) -> RawResponse {
    RawResponse::json_error(400, "invalid_request", message)
}

/// FNV-1a of the body, folded to a colour.
fn colour_of(body: &[u8]) -> [u8; 3] {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let b = h.to_le_bytes();
    [b[0] ^ b[3], b[1] ^ b[4], b[2] ^ b[5]]
}

/// A `width`×`height` RGB PNG of one colour.
pub fn solid_png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    // One row, then copies of it: byte-by-byte iterators are slow in debug builds.
    let row: Vec<u8> = (0..width).flat_map(|_| rgb).collect();
    let pixels = row.repeat(height as usize);
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    // Every row is the same, so "Up" turns all but the first into zeros.
    encoder.set_filter(png::Filter::Up);
    let mut writer = encoder.write_header().expect("PNG into memory");
    writer.write_image_data(&pixels).expect("PNG into memory");
    writer.finish().expect("PNG into memory");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(path: &str, body: &str) -> RawRequest {
        RawRequest {
            method: "POST".into(),
            path: path.into(),
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn status(r: Result<Picture, RawResponse>) -> u16 {
        r.map(|_| 200).unwrap_or_else(|e| e.status)
    }

    #[test]
    fn endpoints_check_their_bodies_like_the_api() {
        let og = r#"{"template":"blog-post","variables":{"title":"T"},"width":1200,"height":630}"#;
        let cases = [
            ("/v1/og-image", og, 200),
            (
                "/v1/og-image",
                r#"{"template":"blog-post","variables":{}}"#,
                400,
            ),
            (
                "/v1/og-image",
                r#"{"variables":{},"width":1,"height":1}"#,
                400,
            ),
            ("/v1/og-image", "not json", 400),
            ("/v1/og-image", "[]", 400),
            ("/v1/screenshot", r#"{"url":"https://a.example"}"#, 200),
            ("/v1/screenshot", r#"{"url":"ftp://a.example"}"#, 400),
            ("/v1/screenshot", r#"{"width":5}"#, 400),
            (
                "/v1/screenshot",
                r#"{"url":"http://a","format":"jpeg"}"#,
                422,
            ),
            ("/v1/screenshot", r#"{"url":"http://a","width":0}"#, 400),
            ("/v1/nothing", "{}", 404),
        ];
        for (path, body, want) in cases {
            assert_eq!(status(route(&post(path, body))), want, "{path} {body}");
        }
        let p = route(&post("/v1/screenshot", r#"{"url":"https://a.example"}"#)).unwrap();
        assert_eq!((p.width, p.height), (1280, 720));
    }

    #[test]
    fn pictures_are_real_pngs_of_the_size() {
        let png = solid_png(1200, 630, [10, 20, 30]);
        let size = imagesize::blob_size(&png).unwrap();
        assert_eq!((size.width, size.height), (1200, 630));
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut buf).unwrap();
        assert_eq!(&buf[buf.len() - 3..], &[10, 20, 30]);
    }
}
