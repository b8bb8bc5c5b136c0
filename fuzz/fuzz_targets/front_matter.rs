//! Front matter on arbitrary bytes: `split` and `parse` on any UTF-8 text, and the whole
//! read of a post (BOM, CRLF, not UTF-8, file names with dates) on any bytes.
//!
//! Input: an optional file name, then a NUL byte, then the file's bytes; without a NUL the
//! whole input is the file `post.md`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ogforge::content::frontmatter::{parse, split};
use ogforge::content::post_from_bytes;
use ogforge::url::check_slug;

fuzz_target!(|data: &[u8]| {
    let (name, bytes) = match data.iter().position(|&b| b == 0) {
        Some(at) => match std::str::from_utf8(&data[..at]) {
            Ok(name) => (name, &data[at + 1..]),
            Err(_) => return,
        },
        None => ("post.md", data),
    };

    if let Ok(text) = std::str::from_utf8(bytes) {
        // Lines in errors are lines of the file: at most one past its last line.
        let last_line = text.split('\n').count();
        match split(text) {
            Ok(s) => {
                assert!(text.contains(s.matter) && text.ends_with(s.body));
                match parse(&s) {
                    Ok(_) => {}
                    Err(e) => assert!(
                        e.line.is_none_or(|l| (1..=last_line).contains(&l)),
                        "line {:?} of {last_line}: {e:?}",
                        e.line
                    ),
                }
            }
            Err(e) => assert_eq!(e.line, Some(1)),
        }
    }

    match post_from_bytes(name, bytes.to_vec()) {
        Ok(post) => {
            assert!(check_slug(&post.slug).is_ok(), "{:?}", post.slug);
            assert_eq!(post.path, format!("/{}/", post.slug));
            assert!(!post.title.is_empty() && post.title.trim() == post.title);
        }
        Err(problem) => assert!(problem.line.is_none_or(|l| l >= 1), "{problem:?}"),
    }
});
