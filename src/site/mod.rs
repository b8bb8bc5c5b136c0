//! The website: pages rendered from the theme's templates, and the meta tags put into them.

pub mod charset;
pub mod inject;
pub mod pages;
pub mod templates;

pub use pages::{PageMeta, RenderedPage, render_all};
pub use templates::Theme;
