//! PNG encoding tuned for speed. tiny-skia's own encoder uses the png crate's defaults
//! (~30 ms a card); a fast deflate after the Paeth filter is ~10× faster. On the built-in
//! card it is also faster than the adaptive filter (which tries all five per row) at the
//! same size, and than Sub or Up, whose output is 25–40 % larger on gradients.

use resvg::tiny_skia::Pixmap;

/// Encodes `pixmap` as PNG: RGB when fully opaque (most cards), RGBA otherwise.
pub fn encode(pixmap: &Pixmap) -> Result<Vec<u8>, String> {
    let (color, data): (png::ColorType, Vec<u8>) = if let Some(rgb) = opaque_rgb(pixmap.data()) {
        (png::ColorType::Rgb, rgb)
    } else {
        let rgba = pixmap
            .pixels()
            .iter()
            .flat_map(|p| {
                let c = p.demultiply();
                [c.red(), c.green(), c.blue(), c.alpha()]
            })
            .collect();
        (png::ColorType::Rgba, rgba)
    };
    let mut out = Vec::with_capacity(data.len() / 8);
    let mut encoder = png::Encoder::new(&mut out, pixmap.width(), pixmap.height());
    encoder.set_color(color);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    encoder.set_filter(png::Filter::Paeth);
    let mut writer = encoder
        .write_header()
        .map_err(|e| format!("PNG encoding failed: {e}"))?;
    writer
        .write_image_data(&data)
        .map_err(|e| format!("PNG encoding failed: {e}"))?;
    writer
        .finish()
        .map_err(|e| format!("PNG encoding failed: {e}"))?;
    Ok(out)
}

/// The pixels without their alpha byte, when every pixel is opaque (premultiplied opaque
/// pixels are their own colour). This runs over every pixel of every card: copying into a
/// sized buffer is three times faster than pushing onto a growing one.
fn opaque_rgb(rgba: &[u8]) -> Option<Vec<u8>> {
    if !rgba.chunks_exact(4).all(|p| p[3] == 255) {
        return None;
    }
    let mut rgb = vec![0; rgba.len() / 4 * 3];
    for (to, from) in rgb.chunks_exact_mut(3).zip(rgba.chunks_exact(4)) {
        to.copy_from_slice(&from[..3]);
    }
    Some(rgb)
}

/// A picture (PNG bytes) scaled to cover `width`×`height` and cropped to it, centred:
/// how a screenshot becomes a card.
pub fn cover(picture: &[u8], width: u32, height: u32) -> Result<Vec<u8>, String> {
    use resvg::tiny_skia::{FilterQuality, PixmapPaint, Transform};
    let source = Pixmap::decode_png(picture)
        .map_err(|e| format!("the screenshot is not a PNG it can read: {e}"))?;
    let mut card = Pixmap::new(width, height).ok_or("the card size is invalid")?;
    let scale = (width as f32 / source.width() as f32).max(height as f32 / source.height() as f32);
    let dx = (width as f32 - source.width() as f32 * scale) / 2.0;
    let dy = (height as f32 - source.height() as f32 * scale) / 2.0;
    let paint = PixmapPaint {
        quality: FilterQuality::Bicubic,
        ..PixmapPaint::default()
    };
    card.draw_pixmap(
        0,
        0,
        source.as_ref(),
        &paint,
        Transform::from_row(scale, 0.0, 0.0, scale, dx, dy),
        None,
    );
    encode(&card)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_pixels_lose_their_alpha_and_any_other_keeps_it() {
        let opaque: Vec<u8> = (0..20).map(|i| if i % 4 == 3 { 255 } else { i }).collect();
        assert_eq!(
            opaque_rgb(&opaque).unwrap(),
            [0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 16, 17, 18]
        );
        for at in [3, 19] {
            let mut see_through = opaque.clone();
            see_through[at] = 254;
            assert_eq!(opaque_rgb(&see_through), None, "alpha at {at}");
        }
    }

    #[test]
    fn cover_fills_the_card_from_the_centre() {
        // A 400×400 picture: left half red, right half blue, drawn into 200×100.
        let mut src = Pixmap::new(400, 400).unwrap();
        for (i, p) in src.pixels_mut().iter_mut().enumerate() {
            let red = (i % 400) < 200;
            *p = resvg::tiny_skia::ColorU8::from_rgba(
                if red { 255 } else { 0 },
                0,
                if red { 0 } else { 255 },
                255,
            )
            .premultiply();
        }
        let png = cover(&encode(&src).unwrap(), 200, 100).unwrap();
        let card = Pixmap::decode_png(&png).unwrap();
        assert_eq!((card.width(), card.height()), (200, 100));
        let at = |x: u32, y: u32| card.pixel(x, y).unwrap();
        assert!(
            at(20, 50).red() > 200 && at(180, 50).blue() > 200,
            "centre crop keeps both halves"
        );
    }
}
