//! Slugs and URLs: the only place that turns names into paths of the output folder.
//!
//! A slug is one path segment that cannot climb out of the output folder; every page's
//! output path is made of slugs, so nothing is ever written outside it.

/// Makes a slug from a title or file name: lower case, letters and digits kept (any
/// script), every run of other characters one `-`.
pub fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    let mut dash = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if dash && !slug.is_empty() {
                slug.push('-');
            }
            dash = false;
            // `İ` lower-cases to `i` and a combining dot, which is no letter: keep the `i`
            // only, or slugifying the slug again would change it.
            slug.extend(c.to_lowercase().filter(|l| l.is_alphanumeric()));
        } else {
            dash = true;
        }
    }
    slug
}

/// Checks a slug the user wrote; the error says what is wrong with it.
pub fn check_slug(slug: &str) -> Result<(), String> {
    if slug.trim().is_empty() {
        return Err("the slug is empty".into());
    }
    if slug == "." || slug == ".." {
        return Err(format!("the slug `{slug}` would leave the output folder"));
    }
    if let Some(c) = slug
        .chars()
        .find(|&c| matches!(c, '/' | '\\' | ':') || c.is_control())
    {
        return Err(format!(
            "the slug `{}` contains `{}`; a slug is one path segment",
            slug.escape_debug(),
            c.escape_debug()
        ));
    }
    if slug.starts_with('.') {
        return Err(format!(
            "the slug `{slug}` starts with `.`, which hides the page"
        ));
    }
    Ok(())
}

/// Whether `url` is an absolute http or https URL with a host (scheme in any case, no
/// whitespace).
pub fn is_http_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return false;
    };
    !rest.is_empty() && !rest.starts_with('/') && !url.contains(char::is_whitespace)
}

/// Percent-encodes a URL path, keeping `/` and the characters that need no escaping.
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes the `%XX` escapes of a URL path; `None` when what they give is not UTF-8 or
/// names a NUL byte, which no file has.
pub fn decode_path(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h)? * 16 + hex(l)?) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok().filter(|s| !s.contains('\0'))
}

/// The absolute URL of a site path (`/posts/a/`) under `base_url` (no trailing `/`).
pub fn absolute(base_url: &str, path: &str) -> String {
    if path.starts_with("http://") || path.starts_with("https://") {
        return path.to_string();
    }
    format!("{base_url}{}", encode_path(&ensure_leading_slash(path)))
}

fn ensure_leading_slash(path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugify_cases() {
        for (input, want) in [
            ("Hello, World!", "hello-world"),
            ("  Rust & <HTML>  ", "rust-html"),
            ("Café déjà vu", "café-déjà-vu"),
            ("日本語のタイトル", "日本語のタイトル"),
            ("a--b__c", "a-b-c"),
            ("🚀", ""),
        ] {
            assert_eq!(slugify(input), want, "{input}");
        }
    }

    #[test]
    fn slugify_keeps_only_letters_digits_and_dashes_so_it_is_idempotent() {
        // Found by the `slug` fuzz target: `İ` lower-cases to `i` + U+0307.
        for input in ["He[İHello,.", "İstanbul"] {
            let slug = slugify(input);
            assert!(
                slug.chars().all(|c| c == '-' || c.is_alphanumeric()),
                "{slug:?}"
            );
            assert_eq!(slugify(&slug), slug);
        }
        assert_eq!(slugify("He[İHello,."), "he-ihello");
    }

    #[test]
    fn slugs_that_leave_the_output_folder_are_refused() {
        for bad in [
            "..",
            ".",
            "../etc",
            "/etc/passwd",
            "a\\b",
            "C:evil",
            "",
            " ",
            ".hidden",
            "a\nb",
        ] {
            assert!(check_slug(bad).is_err(), "{bad:?} should be refused");
        }
        for good in ["hello-world", "café", "2024-recap", "v1.2"] {
            assert!(check_slug(good).is_ok(), "{good:?} should be accepted");
        }
    }

    #[test]
    fn http_urls() {
        for good in [
            "https://a.test",
            "HTTP://A.test/x",
            "http://127.0.0.1:8080/",
        ] {
            assert!(is_http_url(good), "{good}");
        }
        for bad in [
            "https://",
            "http:///x",
            "ftp://a",
            "file:///etc/passwd",
            "https://a b",
            "a.test",
            "",
        ] {
            assert!(!is_http_url(bad), "{bad}");
        }
    }

    #[test]
    fn paths_decode() {
        assert_eq!(
            decode_path("caf%C3%A9/a%20b.png").as_deref(),
            Some("café/a b.png")
        );
        assert_eq!(decode_path("100%25%zz%4").as_deref(), Some("100%%zz%4"));
        assert_eq!(decode_path("%FF"), None);
        assert_eq!(decode_path("a%00b"), None);
        let path = "/posts/café et thé/";
        assert_eq!(decode_path(&encode_path(path)).as_deref(), Some(path));
    }

    #[test]
    fn absolute_urls_are_encoded() {
        assert_eq!(
            absolute("https://e.com", "/posts/a b/"),
            "https://e.com/posts/a%20b/"
        );
        assert_eq!(
            absolute("https://e.com", "og/x.png"),
            "https://e.com/og/x.png"
        );
        assert_eq!(
            absolute("https://e.com/blog", "/café/"),
            "https://e.com/blog/caf%C3%A9/"
        );
        assert_eq!(
            absolute("https://e.com", "https://cdn.x/y.png"),
            "https://cdn.x/y.png"
        );
    }
}
