//! Slugs: `slugify` on any text gives a slug `check_slug` accepts (or nothing), made only of
//! lower-case letters, digits and single inner dashes, and slugifying it again changes
//! nothing; `check_slug` never accepts a slug that could leave the output folder.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ogforge::url::{check_slug, slugify};

fuzz_target!(|text: &str| {
    let slug = slugify(text);
    if !slug.is_empty() {
        assert!(check_slug(&slug).is_ok(), "{text:?} -> {slug:?}");
        assert!(
            slug.chars().all(|c| c == '-' || c.is_alphanumeric()),
            "{text:?} -> {slug:?} keeps a character that is neither a letter nor a digit"
        );
        assert!(!slug.starts_with('-') && !slug.ends_with('-') && !slug.contains("--"));
    }
    assert_eq!(
        slugify(&slug),
        slug,
        "slugify is not idempotent on {text:?}"
    );

    if check_slug(text).is_ok() {
        // One path segment that stays inside the output folder.
        assert!(!text.trim().is_empty());
        assert!(!text.contains(['/', '\\', ':']) && !text.chars().any(char::is_control));
        assert!(text != "." && text != ".." && !text.starts_with('.'));
        let path = std::path::Path::new("out").join(text);
        assert_eq!(path.components().count(), 2, "{text:?}");
        assert!(path.starts_with("out"));
    }
});
