//! The `tape` commands' library side: the valuation a tape is read at (the options given, else
//! the pool file beside the tape, else the defaults), and the JSON documents `tape summary` and
//! `tape strat` print. `src/cli/tape.rs` parses the arguments and prints.

use std::path::PathBuf;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::error::Error;
use crate::pool::PoolFile;
use crate::tape::{PoolSummary, Strat, TriggerPrice, Valuation};

/// A tape and what its valuation was asked at (each `None`: the pool file's, else the default).
#[derive(Debug, Clone)]
pub struct ValuationRequest {
    pub tape: PathBuf,
    /// BTC price in USD.
    pub price: Option<Decimal>,
    /// Date remaining terms are measured from.
    pub as_of: Option<NaiveDate>,
    /// Margin-call LTV (default 0.70).
    pub margin_call: Option<Decimal>,
    /// Liquidation LTV (default 0.80).
    pub liquidation: Option<Decimal>,
    /// The pool file (default: `pool.yaml` beside the tape).
    pub pool: Option<PathBuf>,
}

/// Where the valuation came from, for the reader of a summary.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    pub tape: PathBuf,
    pub pool_file: Option<PathBuf>,
}

impl ValuationRequest {
    /// The valuation, and where it came from.
    pub fn valuation(&self) -> Result<(Valuation, Source), Error> {
        let pool_path = self.pool.clone().or_else(|| PoolFile::beside(&self.tape));
        let pool = pool_path.as_deref().map(PoolFile::load).transpose()?;
        let missing = |what: &str, flag: &str| {
            Error::Argument(format!(
                "no {what} for {}: pass {flag}, or keep a pool.yaml with the pool's cut-off beside the tape (see docs/tape.md)",
                self.tape.display()
            ))
        };
        let btc_price = match (self.price, &pool) {
            (Some(p), _) => p,
            (None, Some(pool)) => pool.cutoff.btc_price,
            (None, None) => return Err(missing("BTC price", "--price")),
        };
        let as_of = match (self.as_of, &pool) {
            (Some(d), _) => d,
            (None, Some(pool)) => pool.cutoff.date,
            (None, None) => return Err(missing("as-of date", "--as-of")),
        };
        let terms = pool.as_ref().map(|p| &p.collateral_terms);
        let v = Valuation {
            as_of,
            btc_price,
            margin_call_ltv: self
                .margin_call
                .or(terms.map(|t| t.margin_call_ltv))
                .unwrap_or(Decimal::new(70, 2)),
            liquidation_ltv: self
                .liquidation
                .or(terms.map(|t| t.liquidation_ltv))
                .unwrap_or(Decimal::new(80, 2)),
        };
        v.validate()?;
        Ok((
            v,
            Source {
                tape: self.tape.clone(),
                pool_file: pool_path,
            },
        ))
    }
}

/// What `tape summary --format json` prints.
#[derive(Serialize)]
pub struct SummaryJson<'a> {
    pub source: Source,
    pub summary: &'a PoolSummary,
}

/// What `tape strat --format json` prints.
#[derive(Serialize)]
pub struct StratJson<'a> {
    pub source: Source,
    pub strats: &'a [Strat],
    pub trigger_prices: &'a [TriggerPrice],
}
