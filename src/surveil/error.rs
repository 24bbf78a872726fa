//! What can be wrong with a directory of servicer reports: a report's own figures, its tape, the
//! sequence of reports, or two consecutive reports that do not reconcile. Every variant names the
//! file (both files for a reconciliation) and the figure; all are invalid input (exit code 3),
//! but a tape that fails inside the tape pipeline ([`TapeError::is_invalid_input`]).

use std::path::PathBuf;

use crate::tape::TapeError;
use crate::yaml::YamlError;

#[derive(Debug, thiserror::Error)]
pub enum SurveilError {
    #[error(transparent)]
    Yaml(#[from] YamlError),

    /// The reports directory cannot be listed, holds no report, or a folder of it has no
    /// `report.yaml`.
    #[error("{}: {message}", path.display())]
    Directory { path: PathBuf, message: String },

    /// A report's figure breaks a rule of docs/surveillance.md on its own (or against the deal
    /// file); located (line, column) where the parser knows.
    #[error("{}{}: {field}: {message}", path.display(), location.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        location: Option<(usize, usize)>,
        /// `reserve`, `notes[2].balance`, `triggers_breached[1]`, ...
        field: String,
        message: String,
    },

    /// The report's tape does not read or does not validate (docs/tape.md).
    #[error("{}: tape: {source}", report.display())]
    Tape {
        report: PathBuf,
        source: Box<TapeError>,
    },

    /// Two reports that cannot both be right: the same date twice, or a period missing between
    /// them.
    #[error("{}: {field}: {message} ({})", current.display(), previous.display())]
    Sequence {
        previous: PathBuf,
        current: PathBuf,
        field: String,
        message: String,
    },

    /// A figure that cannot follow from the previous report's (or, for the first report, from
    /// the deal file's).
    #[error("{0}")]
    Reconcile(Box<Mismatch>),
}

impl SurveilError {
    /// True when the user's input is at fault (exit code 3) rather than absrate.
    pub fn is_invalid_input(&self) -> bool {
        match self {
            SurveilError::Tape { source, .. } => source.is_invalid_input(),
            _ => true,
        }
    }
}

/// A figure of two consecutive reports that do not reconcile: both values, both files, and the
/// rule they break.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub previous: PathBuf,
    pub current: PathBuf,
    /// `notes[A].balance`, `cumulative_losses`, `loan L000003 borrower_id`, ...
    pub figure: String,
    /// The loan the figure belongs to, for a rule on one loan.
    pub loan: Option<String>,
    pub previous_value: String,
    pub current_value: String,
    pub rule: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}: {} in {}, {} here: {}",
            self.current.display(),
            self.figure,
            self.previous_value,
            self.previous.display(),
            self.current_value,
            self.rule
        )
    }
}
