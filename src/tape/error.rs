//! Everything that can go wrong between a tape file and a validated [`super::Tape`].
//!
//! Each variant carries what its message needs (path, columns, rows, rules), so the text a user
//! sees is built in one place and tested word for word in `tests/`.

use std::fmt;
use std::path::PathBuf;

/// One broken rule on one value of one loan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// 1-based data row (the header is not counted; in a CSV file the line is `row + 1`).
    pub row: u64,
    /// The loan's id as written in the tape (empty when the id itself is missing).
    pub loan_id: String,
    pub column: &'static str,
    /// The value as written, before parsing.
    pub value: String,
    pub rule: &'static str,
}

/// How often one rule was broken across the whole tape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleCount {
    pub column: &'static str,
    pub rule: &'static str,
    pub count: u64,
}

/// Every violation found in a tape: the first [`ValidationReport::SHOWN`] in full, counts for all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationReport {
    pub path: PathBuf,
    pub loans: u64,
    /// Rows that break at least one rule.
    pub bad_rows: u64,
    /// Per rule, in the order the rules are listed in `docs/tape.md`; rules never broken are left out.
    pub counts: Vec<RuleCount>,
    /// The first violations in row order (then rule order within a row).
    pub shown: Vec<Violation>,
}

impl ValidationReport {
    /// How many violations are printed in full.
    pub const SHOWN: usize = 20;

    pub fn total(&self) -> u64 {
        self.counts.iter().map(|c| c.count).sum()
    }
}

impl fmt::Display for ValidationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.total();
        writeln!(
            f,
            "{}: {} in {} of {} {}",
            self.path.display(),
            plural(total, "invalid value", "invalid values"),
            self.bad_rows,
            self.loans,
            if self.loans == 1 { "row" } else { "rows" },
        )?;
        for v in &self.shown {
            let id = if v.loan_id.is_empty() {
                "(no loan_id)".to_string()
            } else {
                format!("loan {}", v.loan_id)
            };
            writeln!(
                f,
                "  row {}, {}, {} = {:?}: {}",
                v.row, id, v.column, v.value, v.rule
            )?;
        }
        if (self.shown.len() as u64) < total {
            writeln!(
                f,
                "  ... showing the first {} of {}",
                self.shown.len(),
                total
            )?;
        }
        writeln!(f, "violations per rule:")?;
        let width = self
            .counts
            .iter()
            .map(|c| c.count.to_string().len())
            .max()
            .unwrap_or(1);
        for (i, c) in self.counts.iter().enumerate() {
            write!(f, "  {:>width$}  {}: {}", c.count, c.column, c.rule)?;
            if i + 1 < self.counts.len() {
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TapeError {
    #[error("{}: no such file", path.display())]
    NotFound { path: PathBuf },

    /// An input that exists but cannot be read as a file: a directory, no permission
    /// (`crate::input::reason`).
    #[error("{}: cannot read: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },

    #[error("{}: unsupported tape format: the name must end in .csv or .parquet", path.display())]
    Format { path: PathBuf },

    #[error("{}: cannot read the tape: {message}", path.display())]
    Read { path: PathBuf, message: String },

    /// A table of `simulate --out` (`read_numeric_table`) that cannot be read back.
    #[error("{}: cannot read the table: {message}", path.display())]
    TableRead { path: PathBuf, message: String },

    #[error("{}: missing required column{} {} (the tape has: {})",
        path.display(),
        if missing.len() == 1 { "" } else { "s" },
        missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", "),
        found.join(", "))]
    MissingColumns {
        path: PathBuf,
        missing: Vec<&'static str>,
        found: Vec<String>,
    },

    /// A price file that is not a clean daily series.
    #[error("{}: {message}", path.display())]
    Prices { path: PathBuf, message: String },

    #[error("{}: the tape has no loans", path.display())]
    Empty { path: PathBuf },

    #[error("{0}")]
    Invalid(Box<ValidationReport>),

    #[error("{}: cannot write: {message}", path.display())]
    Write { path: PathBuf, message: String },

    #[error("{0}")]
    Argument(String),

    /// A polars failure on data that already passed validation: a bug, not a user mistake.
    #[error("internal error in the tape pipeline ({context}): {message}")]
    Internal {
        context: &'static str,
        message: String,
    },
}

impl TapeError {
    /// True when the user's input (file, arguments) is at fault rather than absrate or the system.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            TapeError::NotFound { .. }
                | TapeError::Unreadable { .. }
                | TapeError::Format { .. }
                | TapeError::Read { .. }
                | TapeError::TableRead { .. }
                | TapeError::MissingColumns { .. }
                | TapeError::Empty { .. }
                | TapeError::Prices { .. }
                | TapeError::Invalid(_)
                | TapeError::Argument(_)
        )
    }

    /// Why the input `path` cannot be opened (`crate::input::check`): a missing file is
    /// [`TapeError::NotFound`], anything else [`TapeError::Unreadable`] in the user's words.
    pub(crate) fn unreadable(path: &std::path::Path, e: &std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::NotFound => TapeError::NotFound {
                path: path.to_path_buf(),
            },
            _ => TapeError::Unreadable {
                path: path.to_path_buf(),
                reason: crate::input::reason(e),
            },
        }
    }

    pub(crate) fn internal(
        context: &'static str,
    ) -> impl FnOnce(polars::error::PolarsError) -> Self {
        move |e| TapeError::Internal {
            context,
            message: e.to_string(),
        }
    }
}
