//! The local backend (the default): a card template is an SVG file with minijinja
//! placeholders, rendered in-process with resvg to a PNG. No system library, no browser,
//! no host font: output is the same on every machine.
//!
//! Templates get the card's variables (XML-escaped when printed) and two functions that
//! lay text out with real font metrics:
//! - `text_box(text, x=, y=, width=, size=, min_size=, max_lines=, weight=, family=,
//!   line_height=, fill=, align=, valign=)` → `{svg, size, height, top, bottom, lines,
//!   truncated}`: wraps, shrinks to `min_size`, then ends in `…`; print `.svg`.
//! - `text_width(text, size=, weight=, family=)` → width in px, for pills and rules.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Result, anyhow};
use minijinja::value::{Kwargs, Serde};
use minijinja::{Environment, Error as TemplateError, ErrorKind, Value, context};
use resvg::{tiny_skia, usvg};

use super::fonts::{DEFAULT_FAMILY, FontSet};
use super::layers::{self, BackgroundCache};
use super::layout::{Align, TextStyle, layout};
use super::{Backend, CardRequest, RenderError};
use crate::config::ImageFormat;
use crate::fingerprint::FingerprintBuilder;
use crate::report::display_path;
use crate::site::templates::escape_xml;

/// Built-in card templates, by name; `templates/og/<name>.svg` in a site overrides them.
pub const BUILT_IN: &[(&str, &str)] = &[(
    "blog-post",
    include_str!("../../templates/og/blog-post.svg"),
)];

pub struct LocalBackend {
    env: Environment<'static>,
    /// Template sources by name, for the fingerprint.
    sources: BTreeMap<String, String>,
    fonts: Arc<FontSet>,
    options: usvg::Options<'static>,
    backgrounds: BackgroundCache,
}

impl LocalBackend {
    /// The built-in card templates plus `templates_dir/*.svg`, drawn with `fonts`.
    pub fn new(site_dir: &Path, templates_dir: &Path, fonts: Arc<FontSet>) -> Result<LocalBackend> {
        let mut sources: BTreeMap<String, String> = BUILT_IN
            .iter()
            .map(|(n, s)| (n.to_string(), s.to_string()))
            .collect();
        if let Ok(entries) = std::fs::read_dir(templates_dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_none_or(|e| e != "svg") {
                    continue;
                }
                let name = path
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    anyhow!(
                        "could not read {}: {e}",
                        display_path(site_dir, &path).display()
                    )
                })?;
                sources.insert(name, text);
            }
        }

        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.set_formatter(|out, state, value| {
            if value.is_none() || value.is_undefined() {
                return Ok(());
            }
            if value.is_safe() {
                return minijinja::escape_formatter(out, state, value);
            }
            write!(out, "{}", escape_xml(&value.to_string())).map_err(|_| {
                TemplateError::new(ErrorKind::WriteFailure, "could not write the card")
            })
        });
        // A card template that loops forever must not hang the build.
        env.set_fuel(Some(2_000_000));
        let text_fonts = fonts.clone();
        env.add_function("text_box", move |text: String, kwargs: Kwargs| {
            text_box(&text_fonts, &text, &kwargs)
        });
        let width_fonts = fonts.clone();
        env.add_function("text_width", move |text: String, kwargs: Kwargs| {
            let style = style_from(&kwargs, 1_000_000.0)?;
            kwargs.assert_all_used()?;
            let b = layout(&width_fonts, &text, &style);
            Ok(b.lines.first().map_or(0.0, |l| l.width))
        });
        for (name, src) in &sources {
            let file = format!("{name}.svg");
            env.add_template_owned(file.clone(), src.clone())
                .map_err(|e| {
                    let shown = if BUILT_IN.iter().any(|(n, s)| n == name && s == src) {
                        format!("built-in card template {file}")
                    } else {
                        display_path(site_dir, &templates_dir.join(&file))
                            .display()
                            .to_string()
                    };
                    anyhow!(
                        "{shown}:{}: {}",
                        e.line().unwrap_or(1),
                        e.detail().unwrap_or("syntax error")
                    )
                })?;
        }

        let mut options = usvg::Options {
            font_family: DEFAULT_FAMILY.to_string(),
            ..usvg::Options::default()
        };
        options.fontdb = fonts.db.clone();
        Ok(LocalBackend {
            env,
            sources,
            fonts,
            options,
            backgrounds: BackgroundCache::default(),
        })
    }

    pub fn has_template(&self, name: &str) -> bool {
        self.sources.contains_key(name)
    }

    /// The card's SVG: its template rendered with its variables.
    pub fn render_svg(&self, card: &CardRequest) -> Result<String, String> {
        let template = self
            .env
            .get_template(&format!("{}.svg", card.template))
            .map_err(|_| format!("there is no card template `{}`", card.template))?;
        let mut ctx: BTreeMap<String, Value> = card
            .variables
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(Serde(v))))
            .collect();
        ctx.insert("width".into(), Value::from(card.width));
        ctx.insert("height".into(), Value::from(card.height));
        template.render(Value::from(ctx)).map_err(|e| {
            let mut text = format!("card template {}.svg", card.template);
            if let Some(line) = e.line() {
                text.push_str(&format!(":{line}"));
            }
            text.push_str(&format!(": {}", e.kind()));
            if let Some(detail) = e.detail() {
                text.push_str(&format!(": {detail}"));
            }
            text
        })
    }

    /// Draws an SVG at the card's size: its static background from the cache (see
    /// [`layers`]), the rest over a copy of it.
    pub fn rasterize(
        &self,
        svg: &str,
        width: u32,
        height: u32,
    ) -> Result<tiny_skia::Pixmap, String> {
        let Some(split) = layers::split(svg) else {
            return self.draw(svg, width, height, None);
        };
        let mut key = blake3::Hasher::new();
        key.update(&width.to_le_bytes())
            .update(&height.to_le_bytes())
            .update(split.background.as_bytes());
        let background = self.backgrounds.get_or_draw(key.finalize(), || {
            self.draw(&split.background, width, height, None)
        })?;
        self.draw(&split.foreground, width, height, Some(&background))
    }

    /// Draws `svg` scaled to `width`×`height`, onto a copy of `under` when given.
    fn draw(
        &self,
        svg: &str,
        width: u32,
        height: u32,
        under: Option<&tiny_skia::Pixmap>,
    ) -> Result<tiny_skia::Pixmap, String> {
        let tree = usvg::Tree::from_str(svg, &self.options)
            .map_err(|e| format!("the card template made invalid SVG: {e}"))?;
        let mut pixmap = match under {
            Some(under) => under.clone(),
            None => tiny_skia::Pixmap::new(width, height).ok_or("the card size is invalid")?,
        };
        let size = tree.size();
        let transform = tiny_skia::Transform::from_scale(
            width as f32 / size.width(),
            height as f32 / size.height(),
        );
        resvg::render(&tree, transform, &mut pixmap.as_mut());
        Ok(pixmap)
    }
}

impl Backend for LocalBackend {
    fn name(&self) -> &'static str {
        "local"
    }

    fn fingerprint_inputs(
        &self,
        card: &CardRequest,
        fp: &mut FingerprintBuilder,
    ) -> Result<(), String> {
        let source = self
            .sources
            .get(&card.template)
            .ok_or_else(|| format!("there is no card template `{}`", card.template))?;
        fp.add("template", source.as_bytes())
            .add_hash("fonts", self.fonts.digest);
        Ok(())
    }

    fn render(&self, card: &CardRequest) -> Result<Vec<u8>, RenderError> {
        if card.format != ImageFormat::Png {
            return Err(RenderError::permanent(format!(
                "the local backend draws PNG cards only, not {}",
                card.format.extension()
            )));
        }
        let svg = self.render_svg(card)?;
        let pixmap = self.rasterize(&svg, card.width, card.height)?;
        Ok(super::png::encode(&pixmap)?)
    }
}

fn style_from(kwargs: &Kwargs, default_width: f32) -> Result<TextStyle, TemplateError> {
    let size: f32 = kwargs.get::<Option<f32>>("size")?.unwrap_or(32.0);
    Ok(TextStyle {
        family: kwargs
            .get::<Option<String>>("family")?
            .unwrap_or_else(|| DEFAULT_FAMILY.to_string()),
        weight: kwargs.get::<Option<u16>>("weight")?.unwrap_or(400),
        size,
        min_size: kwargs.get::<Option<f32>>("min_size")?.unwrap_or(size),
        max_lines: kwargs.get::<Option<usize>>("max_lines")?.unwrap_or(1),
        line_height: kwargs.get::<Option<f32>>("line_height")?.unwrap_or(1.2),
        width: kwargs.get::<Option<f32>>("width")?.unwrap_or(default_width),
    })
}

fn text_box(fonts: &FontSet, text: &str, kwargs: &Kwargs) -> Result<Value, TemplateError> {
    let style = style_from(kwargs, 1000.0)?;
    let x: f32 = kwargs.get::<Option<f32>>("x")?.unwrap_or(0.0);
    let y: f32 = kwargs.get::<Option<f32>>("y")?.unwrap_or(0.0);
    let fill: Option<String> = kwargs.get("fill")?;
    let align = match kwargs.get::<Option<&str>>("align")?.unwrap_or("start") {
        "start" => Align::Start,
        "middle" => Align::Middle,
        "end" => Align::End,
        other => {
            return Err(TemplateError::new(
                ErrorKind::InvalidOperation,
                format!("align is `{other}`; use start, middle or end"),
            ));
        }
    };
    let valign = kwargs
        .get::<Option<String>>("valign")?
        .unwrap_or_else(|| "top".into());
    kwargs.assert_all_used()?;

    let b = layout(fonts, text, &style);
    let height = b.height();
    let top = match valign.as_str() {
        "top" => y,
        "middle" => y - height / 2.0,
        "bottom" => y - height,
        other => {
            return Err(TemplateError::new(
                ErrorKind::InvalidOperation,
                format!("valign is `{other}`; use top, middle or bottom"),
            ));
        }
    };
    let attrs = fill
        .map(|f| format!(r#" fill="{}""#, escape_xml(&f)))
        .unwrap_or_default();
    let svg = b.to_svg(fonts, &style, x, top, align, &attrs);
    Ok(context! {
        svg => Value::from_safe_string(svg),
        size => b.size,
        height => height,
        top => top,
        bottom => top + height,
        lines => b.lines.iter().map(|l| l.text.clone()).collect::<Vec<_>>(),
        truncated => b.truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn card(title: &str) -> CardRequest {
        let variables = json!({
            "site_title": "Field Notes & <Co>",
            "title": title,
            "description": "A description that is long enough to wrap onto a second line of the card, maybe even a third one.",
            "author": "Mara",
            "date": "May 17, 2024",
            "tags": ["rust", "performance"],
        });
        CardRequest {
            template: "blog-post".into(),
            variables: variables.as_object().unwrap().clone(),
            width: 1200,
            height: 630,
            format: ImageFormat::Png,
        }
    }

    fn backend() -> LocalBackend {
        let dir = tempfile::tempdir().unwrap();
        LocalBackend::new(dir.path(), &dir.path().join("og"), FontSet::built_in()).unwrap()
    }

    #[test]
    fn builtin_template_escapes_and_renders_a_png_of_the_size() {
        let b = backend();
        let svg = b.render_svg(&card("Fish & <Chips>")).unwrap();
        assert!(svg.contains("Fish &amp; &lt;Chips&gt;"), "{svg}");
        assert!(svg.contains("Field Notes &amp; &lt;Co&gt;"));
        let png = b.render(&card("Hello")).unwrap();
        let size = imagesize::blob_size(&png).unwrap();
        assert_eq!((size.width, size.height), (1200, 630));
    }

    #[test]
    fn a_card_drawn_over_the_cached_background_is_the_card_drawn_whole() {
        let b = backend();
        for title in [
            "Hello",
            "A title long enough to wrap onto a second and a third line",
        ] {
            let svg = b.render_svg(&card(title)).unwrap();
            assert!(
                layers::split(&svg).is_some(),
                "the built-in template splits"
            );
            let whole = b.draw(&svg, 1200, 630, None).unwrap();
            let layered = b.rasterize(&svg, 1200, 630).unwrap();
            assert!(whole.data() == layered.data(), "{title}: pixels differ");
        }
    }

    #[test]
    fn a_template_that_never_ends_runs_out_of_fuel() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("loop.svg"),
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
        )
        .unwrap();
        let b = LocalBackend::new(dir.path(), dir.path(), FontSet::built_in()).unwrap();
        let err = b
            .render_svg(&CardRequest {
                template: "loop".into(),
                ..card("t")
            })
            .unwrap_err();
        assert!(err.contains("fuel"), "{err}");
    }
}
