//! The loan tape: the only module that uses polars.
//!
//! A tape file is read and validated once into a [`Tape`]; everything downstream (summary,
//! stratifications, the derived fields of each loan, later the pool adjustments of a rating level)
//! is a lazy query over that validated frame, computed at a [`Valuation`] (as-of date, BTC price,
//! trigger LTVs). polars stays behind this module's API so that its churn between minor releases
//! stays here: what leaves the module is plain Rust (`Decimal`, `f64`, `String`).

mod adjust;
mod auto;
mod derive;
mod error;
mod guard;
mod ids;
mod pages;
mod prices;
mod read;
mod schema;
mod strat;
mod summary;
mod table;
mod value;
mod write;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use polars::prelude::DataFrame;
use rust_decimal::Decimal;

use crate::limits;

pub use adjust::{AdjustBase, AdjustedPool, AdjustmentReport, AdjustmentRule, PoolLoan};
pub use auto::{
    AUTO_COLUMNS, AutoLoan, AutoSummary, AutoTape, auto_tape_csv, summarize as auto_summary,
};
pub use error::{RuleCount, TapeError, ValidationReport, Violation};
pub use prices::{PriceSeries, read_prices};
pub use read::Format;
pub use schema::{COLUMNS, Column, Kind};
pub use strat::{Strat, StratRow};
pub use summary::{Concentration, PoolSummary, TriggerPrice};
pub use table::{NumericTable, numeric_table_bytes, read_numeric_table, write_numeric_table};
pub use write::{LoanRecord, tape_bytes, write_tape};

/// What the derived fields of a loan are computed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Valuation {
    /// The date remaining terms are measured from (the pool's cut-off date).
    pub as_of: NaiveDate,
    /// USD per BTC.
    pub btc_price: Decimal,
    /// LTV at which the borrower gets a margin call (0.70 for Ledn).
    pub margin_call_ltv: Decimal,
    /// LTV at which the collateral is sold (0.80 for Ledn).
    pub liquidation_ltv: Decimal,
}

impl Valuation {
    pub fn validate(&self) -> Result<(), TapeError> {
        if self.btc_price <= Decimal::ZERO {
            return Err(TapeError::Argument(format!(
                "the BTC price must be > 0, got {}",
                self.btc_price
            )));
        }
        if self.btc_price < limits::PRICE_MIN || self.btc_price >= limits::PRICE_MAX {
            return Err(TapeError::Argument(format!(
                "the BTC price must be at least {} and below {} (absrate's limits, docs/reliability.md), got {}",
                limits::PRICE_MIN_TEXT,
                limits::PRICE_MAX_TEXT,
                self.btc_price
            )));
        }
        for (what, v) in [
            ("margin-call LTV", self.margin_call_ltv),
            ("liquidation LTV", self.liquidation_ltv),
        ] {
            if v <= Decimal::ZERO || v > Decimal::from(5) {
                return Err(TapeError::Argument(format!(
                    "the {what} must be a decimal in (0, 5], got {v} (0.70 means 70%)"
                )));
            }
        }
        if self.margin_call_ltv >= self.liquidation_ltv {
            return Err(TapeError::Argument(format!(
                "the margin-call LTV ({}) must be below the liquidation LTV ({})",
                self.margin_call_ltv, self.liquidation_ltv
            )));
        }
        Ok(())
    }
}

/// A validated loan tape. Construct with [`Tape::read`].
#[derive(Debug, Clone)]
pub struct Tape {
    path: PathBuf,
    df: DataFrame,
}

impl Tape {
    /// Reads a CSV or Parquet tape and checks every rule of `docs/tape.md`; every violation is
    /// reported at once in [`TapeError::Invalid`].
    pub fn read(path: &Path) -> Result<Tape, TapeError> {
        read::read(path)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn loans(&self) -> usize {
        self.df.height()
    }

    /// Pool totals, weighted averages, concentration and the BTC prices at which the pool LTV
    /// reaches the trigger levels.
    pub fn summary(&self, at: &Valuation) -> Result<PoolSummary, TapeError> {
        at.validate()?;
        summary::summarize(&self.df, at)
    }

    /// Stratification tables (LTV, rate, balance, remaining term, renewals, state).
    pub fn strats(&self, at: &Valuation) -> Result<Vec<Strat>, TapeError> {
        at.validate()?;
        strat::stratify(&self.df, at)
    }

    /// The pool as a rating level sees it: obligor-limit and capitalized-interest credit applied,
    /// loans in default order (see `adjust.rs`).
    pub fn adjust(&self, at: &Valuation, rule: &AdjustmentRule) -> Result<AdjustedPool, TapeError> {
        Ok(self.adjust_base(at)?.adjust(rule))
    }

    /// The loans at `at` as every adjustment rule starts from them: read once, adjusted by as
    /// many rules as needed ([`AdjustBase::adjust`]).
    pub fn adjust_base(&self, at: &Valuation) -> Result<AdjustBase, TapeError> {
        at.validate()?;
        adjust::base(&self.df, at)
    }

    /// Every loan as a plain record (for engines that work loan by loan, and to write tapes).
    pub fn records(&self) -> Result<Vec<LoanRecord>, TapeError> {
        write::records(&self.df)
    }

    /// Writes one row per loan with the derived fields at `at` (LTV, trigger prices, remaining term,
    /// capitalized-interest share), CSV or Parquet by the extension of `out`, as one
    /// [`crate::output::Transaction`] that never overwrites the tape nor any of `inputs` (the
    /// pool file the valuation came from).
    pub fn write_derived(
        &self,
        at: &Valuation,
        out: &Path,
        inputs: &[&Path],
    ) -> Result<(), TapeError> {
        if crate::output::same_file(out, self.path()) {
            return Err(TapeError::Argument(format!(
                "--out {}: is the tape being read: refusing to overwrite it (write the derived fields elsewhere)",
                out.display()
            )));
        }
        at.validate()?;
        let mut df = derive::loan_fields(&self.df, at)?;
        let mut tx = crate::output::Transaction::new();
        tx.protect(self.path());
        for i in inputs {
            tx.protect(i);
        }
        tx.add(out, write::frame_bytes(&mut df, out)?);
        tx.commit().map_err(|e| TapeError::Write {
            path: e.path,
            message: e.message,
        })
    }
}
