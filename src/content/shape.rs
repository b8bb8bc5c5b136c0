//! Front matter built to hurt: checked before the real parser sees it.
//!
//! YAML can make a few lines stand for billions of values (anchors and aliases, the
//! "billion laughs") and nest without end in block form (`- - - - ...`); the loader
//! would copy every alias and recurse through every level, exhausting memory or the
//! stack. So the text is first run through yaml-rust2's event parser, which keeps no
//! tree and never recurses, adding up the size and depth each alias stands for. TOML
//! needs no such pass: the `toml` crate stops nesting itself, at 80 levels.

use std::collections::HashMap;

use yaml_rust2::Event;
use yaml_rust2::parser::Parser;

/// Tables and lists inside one another, at most; real front matter uses three or four.
pub const MAX_DEPTH: usize = 64;

/// Values that aliases may stand for in one front matter, all aliases together.
pub const MAX_ALIAS_VALUES: u64 = 100_000;

/// What is wrong with the shape of a front matter, and on which line of it (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    pub line: usize,
    pub message: String,
    pub hint: &'static str,
}

/// A collection being read: its anchor, and the values and depth inside it so far.
struct Open {
    anchor: usize,
    values: u64,
    depth: usize,
}

/// Checks that `yaml` nests at most [`MAX_DEPTH`] deep and that its aliases stand for at
/// most [`MAX_ALIAS_VALUES`] values. Text that does not parse passes: the real parser
/// reports it with its own message.
pub fn check_yaml(yaml: &str) -> Result<(), ShapeError> {
    let mut parser = Parser::new_from_str(yaml);
    let mut open: Vec<Open> = Vec::new();
    // Per anchor: how many values it stands for and how deep it nests.
    let mut anchors: HashMap<usize, (u64, usize)> = HashMap::new();
    let mut alias_values: u64 = 0;
    loop {
        let Ok((event, mark)) = parser.next_token() else {
            return Ok(());
        };
        let (anchor, values, depth) = match event {
            Event::StreamEnd => return Ok(()),
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if open.len() >= MAX_DEPTH {
                    return Err(too_deep(mark.line()));
                }
                open.push(Open {
                    anchor,
                    values: 0,
                    depth: 0,
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match open.pop() {
                Some(done) => (done.anchor, done.values + 1, done.depth + 1),
                None => continue,
            },
            Event::Scalar(_, _, anchor, _) => (anchor, 1, 0),
            Event::Alias(id) => {
                let (values, depth) = anchors.get(&id).copied().unwrap_or((1, 0));
                alias_values = alias_values.saturating_add(values);
                if alias_values > MAX_ALIAS_VALUES {
                    return Err(ShapeError {
                        line: mark.line(),
                        message: format!(
                            "the front matter's aliases (`*name`) stand for more than {MAX_ALIAS_VALUES} values"
                        ),
                        hint: "write the values out instead of repeating anchors (`&name`) inside one another",
                    });
                }
                (0, values, depth)
            }
            _ => continue,
        };
        if open.len() + depth > MAX_DEPTH {
            return Err(too_deep(mark.line()));
        }
        if anchor != 0 {
            anchors.insert(anchor, (values, depth));
        }
        if let Some(parent) = open.last_mut() {
            parent.values = parent.values.saturating_add(values);
            parent.depth = parent.depth.max(depth);
        }
    }
}

fn too_deep(line: usize) -> ShapeError {
    ShapeError {
        line,
        message: format!("the front matter nests lists and tables more than {MAX_DEPTH} deep"),
        hint: "front matter holds a few keys and short lists; move deep data into a file of its own",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The "billion laughs": nine levels of ten aliases each.
    fn laughs() -> String {
        let mut text = String::from("a0: &a0 [lol]\n");
        for level in 1..=9 {
            let previous = format!("*a{}", level - 1);
            let items = [previous.as_str(); 10].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
        }
        text
    }

    #[test]
    fn ordinary_front_matter_passes() {
        for text in [
            "",
            "title: Hello\ntags: [a, b]\nog:\n  alt: x\n",
            "defaults: &d {a: 1, b: 2}\none: *d\ntwo: *d\n",
            "title: [unclosed\n",
            "x: *undefined\n",
        ] {
            assert_eq!(check_yaml(text), Ok(()), "{text:?}");
        }
    }

    #[test]
    fn alias_bombs_are_refused() {
        let err = check_yaml(&laughs()).unwrap_err();
        assert!(err.message.contains("aliases"), "{err:?}");
        assert!((1..=10).contains(&err.line), "{err:?}");
    }

    #[test]
    fn deep_nesting_is_refused_in_every_form() {
        // Unclosed flow collections this deep are the parser's own error (it stops at
        // 255 levels); closed ones below that are ours.
        for text in [
            "- ".repeat(100_000) + "x\n",
            "[".repeat(100) + &"]".repeat(100),
            "{a: ".repeat(100) + &"}".repeat(100),
            (0..100)
                .map(|i| format!("{}a:\n", "  ".repeat(i)))
                .collect(),
        ] {
            let Err(err) = check_yaml(&text) else {
                panic!("{:?}... passed", &text[..text.len().min(40)]);
            };
            assert!(err.message.contains("64 deep"), "{err:?}");
        }
    }

    #[test]
    fn depth_through_aliases_counts() {
        let mut text = String::from("l0: &l0 [x]\n");
        for level in 1..70 {
            text.push_str(&format!("l{level}: &l{level} [*l{}]\n", level - 1));
        }
        let err = check_yaml(&text).unwrap_err();
        assert!(err.message.contains("deep"), "{err:?}");
    }

    #[test]
    fn sixty_four_levels_are_allowed() {
        let text = "[".repeat(MAX_DEPTH - 1) + &"]".repeat(MAX_DEPTH - 1);
        assert_eq!(check_yaml(&format!("a: {text}\n")), Ok(()));
    }
}
