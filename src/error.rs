//! The crate's top-level error and the process exit codes (documented in README.md).

use std::path::PathBuf;

use crate::deal::DealError;
use crate::methodology::MethodologyError;
use crate::pool::PoolError;
use crate::price::PriceError;
use crate::rating::RatingError;
use crate::report::ReportError;
use crate::surveil::SurveilError;
use crate::tape::TapeError;
use crate::yaml::YamlError;

/// Process exit codes. Stable: scripts rely on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    Success = 0,
    /// A bug in absrate or an unexpected system failure.
    Internal = 1,
    /// The command line could not be parsed (clap's own code).
    Usage = 2,
    /// An input file or argument value is invalid: nothing was written.
    InvalidInput = 3,
    /// The run completed but a note missed the rating given with `--expect`.
    TargetMissed = 4,
    /// An output file could not be written.
    Output = 5,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Tape(#[from] TapeError),

    #[error(transparent)]
    Pool(#[from] PoolError),

    #[error(transparent)]
    Yaml(#[from] YamlError),

    /// A price model file, its lookup, or a fit (`absrate simulate fit`).
    #[error(transparent)]
    Price(Box<PriceError>),

    #[error(transparent)]
    Methodology(Box<MethodologyError>),

    #[error(transparent)]
    Deal(#[from] DealError),

    #[error(transparent)]
    Rating(#[from] RatingError),

    #[error(transparent)]
    Report(#[from] ReportError),

    /// A servicer report, its tape, or two reports that do not reconcile (`absrate surveil`).
    #[error(transparent)]
    Surveil(Box<SurveilError>),

    /// The run completed and printed `output`; a note missed its `--expect` target.
    #[error("{message}")]
    TargetMissed { output: String, message: String },

    /// Several files checked, some failed: each failure on its own line.
    #[error("{} of {checked} files failed the check:\n{}", failures.len(), failures.iter().map(|f| format!("  {f}")).collect::<Vec<_>>().join("\n"))]
    Checks {
        checked: usize,
        failures: Vec<String>,
    },

    /// An argument value the command line parser could not judge alone.
    #[error("{0}")]
    Argument(String),

    #[error("{}: cannot write: {message}", path.display())]
    Output { path: PathBuf, message: String },
}

impl From<crate::output::OutputError> for Error {
    fn from(e: crate::output::OutputError) -> Self {
        Error::Output {
            path: e.path,
            message: e.message,
        }
    }
}

impl From<MethodologyError> for Error {
    fn from(e: MethodologyError) -> Self {
        Error::Methodology(Box::new(e))
    }
}

impl From<SurveilError> for Error {
    fn from(e: SurveilError) -> Self {
        Error::Surveil(Box::new(e))
    }
}

impl From<PriceError> for Error {
    fn from(e: PriceError) -> Self {
        Error::Price(Box::new(e))
    }
}

impl Error {
    pub fn exit(&self) -> Exit {
        match self {
            Error::Tape(TapeError::Write { .. }) | Error::Output { .. } => Exit::Output,
            Error::Tape(e) if !e.is_invalid_input() => Exit::Internal,
            Error::Rating(e) if e.is_invalid_input() => Exit::InvalidInput,
            Error::Rating(_) => Exit::Internal,
            Error::Report(e) if e.is_invalid_input() => Exit::InvalidInput,
            Error::Report(ReportError::Workbook(_) | ReportError::Internal(_)) => Exit::Internal,
            Error::Report(_) => Exit::Output,
            Error::TargetMissed { .. } => Exit::TargetMissed,
            Error::Methodology(e) if e.is_internal() => Exit::Internal,
            Error::Price(e) if e.is_internal() => Exit::Internal,
            Error::Surveil(e) if !e.is_invalid_input() => Exit::Internal,
            Error::Methodology(e) if !e.is_invalid_input() => Exit::Output,
            Error::Tape(_)
            | Error::Pool(_)
            | Error::Yaml(_)
            | Error::Methodology(_)
            | Error::Price(_)
            | Error::Deal(_)
            | Error::Surveil(_)
            | Error::Checks { .. }
            | Error::Argument(_) => Exit::InvalidInput,
        }
    }
}
