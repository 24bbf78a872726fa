//! The one place YAML is read. Every YAML file absrate takes (pools, methodologies, deals) comes
//! through [`load`], which applies serde-saphyr's default budget (refusing alias bombs and deeply
//! nested documents quickly, with bounded memory) and turns its located errors into [`YamlError`].
//!
//! Wire structs are strict (`#[serde(deny_unknown_fields)]`) and converted into validated models
//! by their own modules; nothing here knows what a file means.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// Largest YAML file absrate reads: methodologies and deals are a few kilobytes.
pub const MAX_BYTES: u64 = 4 * 1024 * 1024;

/// The parser's limits that a hostile file meets first, stated in its messages.
const MAX_EVENTS: usize = 200_000;
const MAX_ALIASES: usize = 1_000;
const MAX_ANCHORS: usize = 1_000;
const MAX_DEPTH: usize = 64;
const MAX_RECORDED_ANCHOR_EVENTS: usize = 20_000;
const MAX_RECORDED_ANCHOR_BYTES: usize = 1024 * 1024;

/// Parser budget, far above what a methodology, deal or pool file needs (a few thousand events,
/// a handful of aliases) and far below what an alias bomb or a nesting attack requires, so such
/// input is refused after a few milliseconds with bounded memory.
fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: MAX_EVENTS,
            max_aliases: MAX_ALIASES,
            max_anchors: MAX_ANCHORS,
            max_depth: MAX_DEPTH,
            max_recorded_anchor_events: MAX_RECORDED_ANCHOR_EVENTS,
            max_recorded_anchor_bytes: MAX_RECORDED_ANCHOR_BYTES,
        },
    }
}

#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    /// The file cannot be read: `message` says why in the user's words ([`crate::input`]).
    #[error("{}: cannot read: {message}", path.display())]
    Read { path: PathBuf, message: String },

    #[error("{}: the file is {size} bytes, more than the {max} a YAML file may have", path.display())]
    TooLarge { path: PathBuf, size: u64, max: u64 },

    /// A syntax, type or unknown-field error, with the parser's own location and, for a file
    /// named `.yaml` or `.yml`, a source excerpt with a caret under the spot.
    #[error("{}{}: {message}{}", path.display(), location.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default(), if excerpt.is_empty() { String::new() } else { format!("\n{excerpt}") })]
    Parse {
        path: PathBuf,
        /// Line and column, 1-based, where the parser located the error.
        location: Option<(usize, usize)>,
        message: String,
        excerpt: String,
    },
}

/// Reads and deserializes a YAML file.
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<T, YamlError> {
    let read_err = |e: std::io::Error| YamlError::Read {
        path: path.to_path_buf(),
        message: crate::input::reason(&e),
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if meta.is_dir() {
        return Err(YamlError::Read {
            path: path.to_path_buf(),
            message: crate::input::IS_A_DIRECTORY.into(),
        });
    }
    let size = meta.len();
    if size > MAX_BYTES {
        return Err(YamlError::TooLarge {
            path: path.to_path_buf(),
            size,
            max: MAX_BYTES,
        });
    }
    let text = std::fs::read_to_string(path).map_err(read_err)?;
    from_str(path, &text)
}

/// Whether `path` names a YAML file (`.yaml`, `.yml`): only those have their text quoted in an
/// error, as an excerpt or in the parser's message. A deal whose `pool` names some other file (a
/// tape, `/etc/passwd`) gets the location where parsing stopped, never a line of a file that was
/// not meant to be shown.
fn is_yaml(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

/// Deserializes YAML text; `path` is only used in messages.
pub fn from_str<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, YamlError> {
    serde_saphyr::from_str_with_options::<T>(text, options()).map_err(|e| {
        let location = e
            .location()
            .map(|l| (l.line() as usize, l.column() as usize));
        let parse = |location, message: String, excerpt: String| YamlError::Parse {
            path: path.to_path_buf(),
            location,
            message,
            excerpt,
        };
        if text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            return parse(None, "the file is empty".into(), String::new());
        }
        if !is_yaml(path) {
            // Neither an excerpt nor the parser's message, which may quote the text ("unknown
            // field `<the first line>`"): only where the parser stopped.
            return parse(
                location,
                "not YAML, or not the YAML expected here (the file's name does not end in .yaml or .yml: its lines are not shown)".into(),
                String::new(),
            );
        }
        let messages = Messages { text };
        // The bare message, without the renderer's own "line L column C: " prefix.
        let bare = e.without_snippet().render_with_formatter(&messages);
        let mut message = bare.trim_start_matches("error: ").to_string();
        if let Some((l, c)) = location {
            let prefix = format!("line {l} column {c}: ");
            if let Some(rest) = message.strip_prefix(&prefix) {
                message = rest.to_string();
            }
            let suffix = format!(" at line {l}, column {c}");
            if let Some(rest) = message.strip_suffix(&suffix) {
                message = rest.to_string();
            }
        }
        // The excerpt with its caret, naming the file rather than `<input>`.
        let name = path.display().to_string();
        let mut options = serde_saphyr::RenderOptions::new(&messages);
        options.source_name = Some(&name);
        let excerpt = e
            .render_with_options(options)
            .split_once('\n')
            .map(|(_, rest)| rest.replace("<input>", &name))
            .unwrap_or_default();
        parse(location, message, excerpt.trim_end().to_string())
    })
}

/// The parser's messages in the user's terms. serde-saphyr's own are written for the program
/// that calls it ("set DuplicateKeyPolicy in Options", "use from_str_multiple", "use
/// Option<String>", "budget breached: Aliases { aliases: 1001 }"): each of those is said here as
/// what is wrong with the file. Every other message is the parser's.
struct Messages<'a> {
    /// The whole document, to find where a duplicated key was first given.
    text: &'a str,
}

impl serde_saphyr::MessageFormatter for Messages<'_> {
    fn format_message<'b>(&self, err: &'b serde_saphyr::Error) -> Cow<'b, str> {
        use serde_saphyr::Error as E;
        match err {
            E::WithSnippet { error, .. } => self.format_message(error),
            E::AliasError { error, .. } => self.format_message(error),
            E::DuplicateMappingKey { key, location } => {
                let line = location.line() as usize;
                let first = key
                    .as_deref()
                    .and_then(|k| first_line_of_key(self.text, k, line));
                Cow::Owned(match (key, first) {
                    (Some(k), Some(f)) => {
                        format!("duplicate key `{k}` at line {line} (first at line {f})")
                    }
                    (Some(k), None) => format!("duplicate key `{k}` at line {line}"),
                    (None, _) => format!("duplicate key at line {line}"),
                })
            }
            E::MultipleDocuments { .. } => Cow::Borrowed(
                "a second YAML document starts here (after a `---` line): the file must hold one",
            ),
            E::Budget { breach, .. } => Cow::Owned(budget_message(breach)),
            E::AliasReplayCounterOverflow { .. }
            | E::AliasReplayLimitExceeded { .. }
            | E::AliasExpansionLimitExceeded { .. } => Cow::Owned(format!(
                "aliases expand to more than {MAX_RECORDED_ANCHOR_EVENTS} values: refused"
            )),
            E::AliasReplayStackDepthExceeded { .. } => Cow::Owned(format!(
                "aliases nest more than {MAX_DEPTH} levels deep: refused"
            )),
            E::RecursiveReferencesRequireWeakTypes { .. } => {
                Cow::Borrowed("an alias refers to the value that contains it: refused")
            }
            E::NullIntoString { .. } | E::InvalidCharNull { .. } => {
                Cow::Borrowed("a value is needed here, not an empty one (null)")
            }
            // "invalid u32": the Rust type the value was read into, said as the number it must be.
            E::InvalidScalar { ty, .. } => Cow::Owned(match *ty {
                "u8" => format!("expected a whole number from 0 to {}", u8::MAX),
                "u16" => format!("expected a whole number from 0 to {}", u16::MAX),
                "u32" => format!("expected a whole number from 0 to {}", u32::MAX),
                "u64" | "usize" => format!("expected a whole number from 0 to {}", u64::MAX),
                "i8" | "i16" | "i32" | "i64" | "isize" => "expected a whole number".into(),
                "f32" | "f64" | "floating point" => "expected a number".into(),
                "bool" | "boolean" => "expected true or false".into(),
                "char" => "expected a single character".into(),
                _ => "not a value of the kind expected here".into(),
            }),
            // rust_decimal's name for itself: a number too large or too precise for a decimal.
            E::SerdeInvalidValue {
                unexpected,
                expected,
                ..
            } if expected == "a Decimal type representing a fixed-point number" => {
                Cow::Owned(format!(
                    "invalid value: {unexpected}, expected a decimal number of at most 28 digits (below about 7.9e28)"
                ))
            }
            E::NonFiniteFloat { value, .. } => {
                Cow::Owned(format!("`{value}` is not a finite number"))
            }
            E::BinaryNotUtf8 { .. } => Cow::Borrowed("a !!binary value that is not UTF-8 text"),
            E::CannotBorrowTransformedString { .. } => Cow::Borrowed("unexpected string form"),
            other => serde_saphyr::DefaultMessageFormatter.format_message(other),
        }
    }
}

/// A breach of [`options`]' budget: which limit, and that the file is refused for it.
fn budget_message(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    match breach {
        B::Aliases { .. } => format!("more than {MAX_ALIASES} aliases: refused"),
        B::Anchors { .. } => format!("more than {MAX_ANCHORS} anchors: refused"),
        B::Depth { .. } => format!("nested more than {MAX_DEPTH} levels deep: refused"),
        B::Events { .. } => format!("more than {MAX_EVENTS} YAML values and markers: refused"),
        B::RecordedAnchorEvents { .. } | B::RecordedAnchorBytes { .. } => format!(
            "anchored values larger than {MAX_RECORDED_ANCHOR_EVENTS} values or {MAX_RECORDED_ANCHOR_BYTES} bytes: refused"
        ),
        B::AliasAnchorRatio { aliases, anchors } => format!(
            "{aliases} aliases of {anchors} anchors: far more aliases than a file needs, refused"
        ),
        B::Documents { .. } => {
            "too many YAML documents (`---`): the file must hold one".to_string()
        }
        // Limits of the parser's defaults, unreachable under MAX_BYTES and MAX_EVENTS: named
        // plainly should one ever be met.
        _ => "the file is larger or more complex than any absrate input: refused".to_string(),
    }
}

/// The line where `key` was first given in the mapping that repeats it on line `line`. The
/// parser reports only the repetition; this walks the document's events again (no alias is
/// expanded, so the walk is linear in the text) and stops at the repetition.
fn first_line_of_key(text: &str, key: &str, line: usize) -> Option<usize> {
    use serde_saphyr::granit_parser::{Event, Parser};
    enum Frame {
        /// A mapping: whether the next node is a key, and the keys seen with their lines.
        Map {
            key_next: bool,
            keys: Vec<(String, usize)>,
        },
        Seq,
    }
    let mut frames: Vec<Frame> = Vec::new();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.ok()?;
        let at = span.start.line();
        let is_node = matches!(
            event,
            Event::Scalar(..)
                | Event::SequenceStart(..)
                | Event::MappingStart(..)
                | Event::Alias(_)
        );
        if is_node && let Some(Frame::Map { key_next, keys }) = frames.last_mut() {
            let is_key = *key_next;
            *key_next = !is_key;
            if is_key && let Event::Scalar(v, ..) = &event {
                if let Some((_, first)) = keys.iter().find(|(k, _)| k == v.as_ref()) {
                    if at == line && v.as_ref() == key {
                        return Some(*first);
                    }
                } else {
                    keys.push((v.to_string(), at));
                }
            }
        }
        match event {
            Event::MappingStart(..) => frames.push(Frame::Map {
                key_next: true,
                keys: Vec::new(),
            }),
            Event::SequenceStart(..) => frames.push(Frame::Seq),
            Event::MappingEnd | Event::SequenceEnd => {
                frames.pop();
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn refused_quickly(text: &str) -> YamlError {
        let start = Instant::now();
        // serde_json::Value accepts any shape, so only the parser's budget can stop the input.
        let r = from_str::<serde_json::Value>(Path::new("bomb.yaml"), text);
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "took {:?}",
            start.elapsed()
        );
        r.expect_err("refused")
    }

    #[test]
    fn a_billion_laughs_is_refused_within_a_second() {
        let mut doc = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            doc.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let e = refused_quickly(&doc);
        assert!(e.to_string().contains("bomb.yaml"), "{e}");
    }

    #[test]
    fn a_deeply_nested_document_is_refused_within_a_second() {
        let doc = format!("x: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        refused_quickly(&doc);
    }

    fn message(text: &str) -> String {
        match from_str::<serde_json::Value>(Path::new("x.yaml"), text) {
            Err(YamlError::Parse { message, .. }) => message,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_duplicate_key_is_traced_to_its_first_line_in_the_same_mapping() {
        // `value` appears in both mappings: the first of the repeating one is line 4, not 2.
        let text = "a:\n  value: 1\nb:\n  value: 2\n  other: 0\n  value: 3\n";
        assert_eq!(
            message(text),
            "duplicate key `value` at line 6 (first at line 4)"
        );
        // In a flow mapping on one line, and in a mapping inside a list.
        assert_eq!(
            message("x: { k: 1, j: 2, k: 3 }\n"),
            "duplicate key `k` at line 1 (first at line 1)"
        );
        assert_eq!(
            message("- k: 1\n- k: 2\n  j: 0\n  k: 3\n"),
            "duplicate key `k` at line 4 (first at line 2)"
        );
    }

    #[test]
    fn no_message_gives_the_parsers_advice_to_its_caller() {
        let aliases = format!("a: &a 1\nb: [{}]\n", vec!["*a"; 1001].join(", "));
        for (text, expected) in [
            (
                "a: 1\na: 2\n",
                "duplicate key `a` at line 2 (first at line 1)",
            ),
            (
                "a: 1\n---\nb: 2\n",
                "a second YAML document starts here (after a `---` line): the file must hold one",
            ),
            (aliases.as_str(), "more than 1000 aliases: refused"),
        ] {
            let m = message(text);
            assert_eq!(m, expected);
            for advice in ["Options", "from_str", "budget", "Option<"] {
                assert!(!m.contains(advice), "{m}");
            }
        }
    }

    #[test]
    fn a_file_not_named_yaml_is_never_quoted() {
        let e = from_str::<serde_json::Value>(Path::new("/etc/passwd"), "root:x:0:0\n: [\n")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("root"), "{e}");
        assert!(e.starts_with("/etc/passwd:"), "{e}");
    }

    #[test]
    fn a_quoted_decimal_arrives_exact() {
        #[derive(serde::Deserialize)]
        struct R {
            rate: rust_decimal::Decimal,
        }
        let r: R = from_str(Path::new("r.yaml"), "rate: \"0.0525\"\n").unwrap();
        assert_eq!(r.rate.to_string(), "0.0525");
    }
}
