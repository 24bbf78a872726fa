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

#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    #[error("{}: cannot read: {message}", path.display())]
    Read { path: PathBuf, message: String },

    #[error("{}: the file is {size} bytes, more than the {max} a YAML file may have", path.display())]
    TooLarge { path: PathBuf, size: u64, max: u64 },

    /// A syntax, type or unknown-field error, with the parser's own location and snippet.
    #[error("{}{}: {message}", path.display(), location.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
    Parse {
        path: PathBuf,
        /// Line and column, 1-based, where the parser located the error.
        location: Option<(usize, usize)>,
        message: String,
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
    serde_saphyr::from_str::<T>(text).map_err(|e| {
        let location = e
            .location()
            .map(|l| (l.line() as usize, l.column() as usize));
        YamlError::Parse {
            path: path.to_path_buf(),
            location,
            message: e.to_string(),
        }
    })
}
