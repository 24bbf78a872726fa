//! Everything that can go wrong loading, checking or choosing a methodology. Each message names
//! the file, and where it applies the level and the field.

use std::path::PathBuf;

use super::notch::Notch;
use super::registry::Place;
use crate::yaml::YamlError;

#[derive(Debug, thiserror::Error)]
pub enum MethodologyError {
    /// A syntax, type or unknown-key error, located by the parser; `hint` adds a suggestion.
    #[error("{source}{}", hint.as_ref().map(|h| format!("\n  hint: {h}")).unwrap_or_default())]
    Yaml {
        source: YamlError,
        hint: Option<String>,
    },

    #[error("{}: level `{key}` is not a notch of the scale (AAA, AA+, AA, ..., B-){}", path.display(), suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownNotch {
        path: PathBuf,
        key: String,
        suggestion: Option<String>,
    },

    /// A value outside its range, or a field missing after merging with `common`.
    #[error("{}: {where_}: {field}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        /// `level 'A'`, `common`, `base_case`, ...
        where_: String,
        field: String,
        message: String,
    },

    #[error("{}: notch '{notch}' is not given and cannot be interpolated: {reason}", path.display())]
    MissingNotch {
        path: PathBuf,
        notch: String,
        reason: String,
    },

    #[error("{}: {field} is milder at '{higher}' ({}) than at '{lower}' ({}): a higher rating must never have a milder stress", path.display(), values.0, values.1)]
    NotMonotone {
        path: PathBuf,
        field: &'static str,
        higher: Notch,
        lower: Notch,
        /// The values at the higher and the lower notch, as written.
        values: Box<(String, String)>,
    },

    #[error("{}: the file's id@version is {found} but its place in the registry says {expected}", path.display())]
    Misplaced {
        path: PathBuf,
        found: String,
        expected: String,
    },

    /// Nothing matched `spec`: every place looked in, with what it holds.
    #[error("no methodology `{spec}`; looked in:{}", looked.iter().map(|l| format!("\n  {l}")).collect::<String>())]
    NotFound { spec: String, looked: Vec<Looked> },

    /// A registry file has the id@version of a published version built into absrate, not its bytes.
    #[error("{}: is {name}, which is published and built into absrate with sha256 {published}, but the file has sha256 {actual}; a published version never changes: copy it to a new version instead", path.display())]
    Conflict {
        path: PathBuf,
        name: String,
        published: String,
        actual: String,
    },

    /// A built-in file does not match the built-in lock: the binary was built wrongly (a bug).
    #[error(
        "{key} built into absrate has sha256 {actual}, but the lock built with it records {published}: this binary was built from a changed published file"
    )]
    Builtin {
        key: String,
        published: String,
        actual: String,
    },

    #[error("{}: changed after publication: the lock file {} records sha256 {published}, the file now has {actual}; a published version never changes: copy it to a new version instead", path.display(), lock.display())]
    Changed {
        path: PathBuf,
        lock: PathBuf,
        published: String,
        actual: String,
    },

    #[error("{}: line {line}: {message}", path.display())]
    Lock {
        path: PathBuf,
        line: usize,
        message: String,
    },

    #[error("{}: cannot read: {message}", path.display())]
    Read { path: PathBuf, message: String },

    #[error("{}: cannot write: {message}", path.display())]
    Write { path: PathBuf, message: String },
}

impl MethodologyError {
    /// False for failures to write and for a wrongly built binary (everything else is the
    /// input's fault).
    pub fn is_invalid_input(&self) -> bool {
        !matches!(
            self,
            MethodologyError::Write { .. } | MethodologyError::Builtin { .. }
        )
    }

    /// A bug in absrate rather than a fault of the input or the system.
    pub fn is_internal(&self) -> bool {
        matches!(self, MethodologyError::Builtin { .. })
    }
}

/// One place a methodology was looked for, and the versions there (`None`: no such directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Looked {
    pub place: Place,
    pub versions: Option<Vec<String>>,
}

impl std::fmt::Display for Looked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.versions {
            None => write!(f, "{} (no such directory)", self.place),
            Some(v) if v.is_empty() => write!(f, "{} (none)", self.place),
            Some(v) => write!(f, "{} ({})", self.place, v.join(", ")),
        }
    }
}
