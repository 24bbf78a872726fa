//! Everything that can go wrong reading, finding or fitting a price model. Each message names
//! the file, and where it applies the line, column and field.

use std::path::PathBuf;

use chrono::NaiveDate;

use crate::methodology::MethodologyError;
use crate::tape::TapeError;
use crate::yaml::YamlError;

#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    /// A syntax, type or unknown-key error, located by the parser.
    #[error(transparent)]
    Yaml(#[from] YamlError),

    /// A value outside its range; located when it comes from a file.
    #[error("{}{}: {field}: {message}", path.display(), location.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        location: Option<(usize, usize)>,
        /// `model.garch-t.nu`, `fitted_from.sha256`, ...
        field: String,
        message: String,
    },

    #[error("{}: the file's id@version is {found} but its place in the registry says {expected}", path.display())]
    Misplaced {
        path: PathBuf,
        found: String,
        expected: String,
    },

    /// Nothing matched `spec`: every place looked in, with what it holds.
    #[error("no price model `{spec}`; looked in:{}", looked.iter().map(|l| format!("\n  {l}")).collect::<String>())]
    NotFound { spec: String, looked: Vec<String> },

    #[error("{}: changed after publication: the lock file {} records sha256 {published}, the file now has {actual}; a published model never changes: fit a new version instead", path.display(), lock.display())]
    Changed {
        path: PathBuf,
        lock: PathBuf,
        published: String,
        actual: String,
    },

    /// A registry file has the id@version of a model built into absrate, not its bytes.
    #[error("{}: is {name}, which is published and built into absrate with sha256 {published}, but the file has sha256 {actual}; a published model never changes: fit a new version instead", path.display())]
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

    /// The lock file could not be read or parsed.
    #[error(transparent)]
    Lock(Box<MethodologyError>),

    /// The price file itself is unreadable or malformed.
    #[error(transparent)]
    Prices(#[from] TapeError),

    /// A bootstrap model's price file is nowhere to be found.
    #[error("{model} resamples the returns of {file} (sha256 {sha256}), which was not found; looked for:{}\n  hint: give the price file's path (it is never copied into the repository)", looked.iter().map(|p| format!("\n  {}", p.display())).collect::<String>())]
    PricesNotFound {
        model: String,
        file: String,
        sha256: String,
        looked: Vec<PathBuf>,
    },

    /// A bootstrap model's price file has other bytes than the ones it was fitted to.
    #[error("{}: has sha256 {actual}, but {model} was fitted to {file} with sha256 {expected}: refusing to resample other data (fit a new model version on this file instead)", path.display())]
    PricesChanged {
        path: PathBuf,
        model: String,
        file: String,
        expected: String,
        actual: String,
    },

    /// A window date the price file does not cover, or an empty window.
    #[error("{}: {option} {date}: {message} (the file covers {first} to {last})", path.display())]
    Window {
        path: PathBuf,
        option: &'static str,
        date: NaiveDate,
        message: &'static str,
        first: NaiveDate,
        last: NaiveDate,
    },

    #[error("{}: {since} to {until} gives {observations} daily returns; fitting {model} needs at least {min}", path.display())]
    TooShort {
        path: PathBuf,
        model: &'static str,
        since: NaiveDate,
        until: NaiveDate,
        observations: usize,
        min: usize,
    },

    /// The optimizer failed (a bug or a numerical breakdown, not the input's fault).
    #[error("fitting {model}: the optimizer failed: {message}")]
    Fit {
        model: &'static str,
        message: String,
    },

    #[error("{}: cannot read: {message}", path.display())]
    Read { path: PathBuf, message: String },
}

impl PriceError {
    /// A bug in absrate rather than a fault of the input.
    pub fn is_internal(&self) -> bool {
        match self {
            PriceError::Builtin { .. } | PriceError::Fit { .. } => true,
            PriceError::Prices(e) => !e.is_invalid_input(),
            PriceError::Lock(e) => e.is_internal(),
            _ => false,
        }
    }
}

impl From<MethodologyError> for PriceError {
    fn from(e: MethodologyError) -> Self {
        PriceError::Lock(Box::new(e))
    }
}
