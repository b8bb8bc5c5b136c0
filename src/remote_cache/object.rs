//! One object of the shared cache: a small text header, then the asset's bytes.
//!
//! ```text
//! ogforge-cache 1
//! fingerprint <64 hex: the asset's inputs, also the object's name>
//! blake3 <64 hex: the bytes below>
//! length <bytes below>
//!
//! <the PNG, JPEG or WebP bytes>
//! ```
//!
//! Nothing in an object is followed: no path, URL or size from it is used before it is
//! checked. An object is taken only when its header names the fingerprint that was asked
//! for (an object copied under another name is refused), the bytes are as long as it says
//! and hash to what it says (a truncated or damaged upload is refused), and they are an
//! image of the format and size the build expects, which for PNG means it decodes whole.
//! The hash does not make an object trustworthy: whoever can write to the bucket can
//! write a matching one (README, "Security").

use crate::config::ImageFormat;

const MAGIC: &str = "ogforge-cache 1";
/// A header is a few short lines; anything longer is not one of ours.
const MAX_HEADER: usize = 512;

/// What an asset must be for the build to use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expect {
    pub format: ImageFormat,
    /// `None` where the size is the page's (a full-page screenshot).
    pub size: Option<(u32, u32)>,
}

/// The object that stores `bytes`, the asset whose inputs hash to `fingerprint`.
pub fn encode(fingerprint: &str, bytes: &[u8]) -> Vec<u8> {
    let header = format!(
        "{MAGIC}\nfingerprint {fingerprint}\nblake3 {}\nlength {}\n\n",
        blake3::hash(bytes).to_hex(),
        bytes.len()
    );
    let mut object = Vec::with_capacity(header.len() + bytes.len());
    object.extend_from_slice(header.as_bytes());
    object.extend_from_slice(bytes);
    object
}

/// The asset stored in `object`, when the object is what it claims and the asset is what
/// the build expects; otherwise why not, in words for a warning.
pub fn decode<'a>(object: &'a [u8], fingerprint: &str, expect: Expect) -> Result<&'a [u8], String> {
    let end = object
        .windows(2)
        .take(MAX_HEADER)
        .position(|w| w == b"\n\n")
        .ok_or("it has no ogforge header")?;
    let header = std::str::from_utf8(&object[..end]).map_err(|_| "its header is not text")?;
    let body = &object[end + 2..];
    let mut lines = header.lines();
    if lines.next() != Some(MAGIC) {
        return Err("it has no ogforge header".into());
    }
    let mut field = |name: &str| {
        lines
            .next()
            .and_then(|l| l.strip_prefix(name))
            .and_then(|l| l.strip_prefix(' '))
            .ok_or_else(|| format!("its header has no `{name}`"))
    };
    if field("fingerprint")? != fingerprint {
        return Err("it holds another asset than its name says".into());
    }
    let hash = field("blake3")?;
    let length: usize = field("length")?
        .parse()
        .map_err(|_| "its header's length is not a number")?;
    if body.len() != length {
        return Err(format!(
            "it holds {} bytes where its header says {length}",
            body.len()
        ));
    }
    if blake3::hash(body).to_hex().as_str() != hash {
        return Err("its bytes do not match their hash".into());
    }
    check_image(body, expect)?;
    Ok(body)
}

/// Whether `bytes` are an image of the expected format and size; a PNG is decoded whole,
/// so a damaged one is found here and not in a reader's browser.
pub fn check_image(bytes: &[u8], expect: Expect) -> Result<(), String> {
    let format = sniff(bytes).ok_or("it is not a PNG, JPEG or WebP image")?;
    if format != expect.format {
        return Err(format!(
            "it is a {} image where {} was expected",
            format.extension(),
            expect.format.extension()
        ));
    }
    let (width, height) = match format {
        ImageFormat::Png => decode_png(bytes)?,
        _ => imagesize::blob_size(bytes)
            .map(|s| (s.width as u64, s.height as u64))
            .map_err(|_| "its image size cannot be read")?,
    };
    if let Some((w, h)) = expect.size
        && (width, height) != (u64::from(w), u64::from(h))
    {
        return Err(format!("it is {width}×{height} where {w}×{h} was expected"));
    }
    Ok(())
}

/// The size of a PNG, once every row of it has been decoded (checksums included).
fn decode_png(bytes: &[u8]) -> Result<(u64, u64), String> {
    let bad = |e: png::DecodingError| format!("it is not a PNG that decodes ({e})");
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    // A cache object is at most MAX_OBJECT bytes; its pixels are bounded by the limits
    // the png crate keeps by default, so a small file cannot claim a giant picture.
    decoder.set_transformations(png::Transformations::IDENTITY);
    let mut reader = decoder.read_info().map_err(bad)?;
    let (width, height) = (reader.info().width, reader.info().height);
    let mut row_count = 0u64;
    while reader.next_row().map_err(bad)?.is_some() {
        row_count += 1;
    }
    reader.finish().map_err(bad)?;
    if row_count == 0 {
        return Err("it is a PNG with no rows".into());
    }
    Ok((u64::from(width), u64::from(height)))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12";
    const CARD: Expect = Expect {
        format: ImageFormat::Png,
        size: Some((40, 20)),
    };

    fn png(w: u32, h: u32) -> Vec<u8> {
        fake_snapsharp::solid_png(w, h, [10, 20, 30])
    }

    #[test]
    fn an_object_gives_back_what_was_stored() {
        let card = png(40, 20);
        let object = encode(FP, &card);
        assert_eq!(decode(&object, FP, CARD).unwrap(), card.as_slice());
        let any_size = Expect { size: None, ..CARD };
        assert!(decode(&object, FP, any_size).is_ok());
    }

    #[test]
    fn every_kind_of_bad_object_is_refused_with_its_reason() {
        let card = png(40, 20);
        let good = encode(FP, &card);
        let other_fp = FP.replace('a', "c");
        let mut flipped = good.clone();
        let last = flipped.len() - 20;
        flipped[last] ^= 0xff;
        let mut lying_hash = encode(FP, &card);
        let at = lying_hash.len() - card.len() + 40;
        lying_hash[at] ^= 1;
        let garbage = b"not an image".to_vec();
        let cases: Vec<(&str, Vec<u8>, &str, Expect)> = vec![
            ("empty", vec![], FP, CARD),
            ("no header", card.clone(), FP, CARD),
            ("renamed", good.clone(), &other_fp, CARD),
            ("truncated", good[..good.len() - 10].to_vec(), FP, CARD),
            ("a flipped byte", flipped, FP, CARD),
            ("a flipped byte with its hash", lying_hash, FP, CARD),
            ("wrong size", encode(FP, &png(41, 20)), FP, CARD),
            (
                "wrong format",
                good.clone(),
                FP,
                Expect {
                    format: ImageFormat::Jpeg,
                    ..CARD
                },
            ),
            ("not an image", encode(FP, &garbage), FP, CARD),
        ];
        for (what, object, fp, expect) in cases {
            let err = decode(&object, fp, expect).expect_err(what);
            assert!(!err.is_empty(), "{what}");
        }
        assert!(
            decode(&encode(FP, &png(41, 20)), FP, CARD)
                .unwrap_err()
                .contains("41×20 where 40×20")
        );
    }

    /// A PNG damaged inside its pixel data still has a readable header: only decoding it
    /// whole finds it out.
    #[test]
    fn a_png_damaged_inside_is_found_out() {
        let mut card = png(40, 20);
        assert!(check_image(&card, CARD).is_ok());
        let idat = card.windows(4).position(|w| w == b"IDAT").unwrap();
        card[idat + 6] ^= 0x55;
        assert!(
            imagesize::blob_size(&card).is_ok(),
            "the header still reads"
        );
        let err = check_image(&card, CARD).unwrap_err();
        assert!(err.contains("decodes"), "{err}");
    }
}
