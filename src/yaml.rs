//! The one place YAML is read. Every YAML file absrate takes (pools, methodologies, deals) comes
//! through [`load`], which applies serde-saphyr's default budget (refusing alias bombs and deeply
//! nested documents quickly, with bounded memory) and turns its located errors into [`YamlError`].
//!
//! Wire structs are strict (`#[serde(deny_unknown_fields)]`) and converted into validated models
//! by their own modules; nothing here knows what a file means.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// Largest YAML file absrate reads: methodologies and deals are a few kilobytes.
pub const MAX_BYTES: u64 = 4 * 1024 * 1024;

/// Parser budget, far above what a methodology, deal or pool file needs (a few thousand events,
/// a handful of aliases) and far below what an alias bomb or a nesting attack requires, so such
/// input is refused after a few milliseconds with bounded memory.
fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: 200_000,
            max_aliases: 1_000,
            max_anchors: 1_000,
            max_depth: 64,
            max_recorded_anchor_events: 20_000,
            max_recorded_anchor_bytes: 1024 * 1024,
        },
    }
}

#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    #[error("{}: cannot read: {message}", path.display())]
    Read { path: PathBuf, message: String },

    #[error("{}: the file is {size} bytes, more than the {max} a YAML file may have", path.display())]
    TooLarge { path: PathBuf, size: u64, max: u64 },

    /// A syntax, type or unknown-field error, with the parser's own location and a source
    /// excerpt with a caret under the spot.
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
        message: e.to_string(),
    };
    let size = std::fs::metadata(path).map_err(read_err)?.len();
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

/// Deserializes YAML text; `path` is only used in messages.
pub fn from_str<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, YamlError> {
    serde_saphyr::from_str_with_options::<T>(text, options()).map_err(|e| {
        let location = e
            .location()
            .map(|l| (l.line() as usize, l.column() as usize));
        // The bare message, without serde-saphyr's own "error: line L column C: " prefix.
        let bare = e.without_snippet().to_string();
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
        let full = e.to_string();
        let excerpt = full
            .split_once('\n')
            .map(|(_, rest)| rest.replace("<input>", &path.display().to_string()))
            .unwrap_or_default();
        YamlError::Parse {
            path: path.to_path_buf(),
            location,
            message,
            excerpt: excerpt.trim_end().to_string(),
        }
    })
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
