//! Derived loan fields at a [`Valuation`]: LTV, trigger prices, remaining term, and the share of
//! the balance that is capitalized interest.
//!
//! These are indicative figures for analysis (strats, concentration, the trigger prices of each
//! loan), so they are `f64`; pool totals stay exact `Decimal` (see `summary.rs`).

use polars::prelude::*;
use rust_decimal::prelude::ToPrimitive;

use super::Valuation;
use super::error::TapeError;
use super::schema::*;

/// Average days in a month (365.25 / 12): remaining terms are reported in these months.
pub(crate) const DAYS_PER_MONTH: f64 = 365.25 / 12.0;

pub(crate) const LTV: &str = "ltv";
pub(crate) const MARGIN_CALL_PRICE: &str = "margin_call_price";
pub(crate) const LIQUIDATION_PRICE: &str = "liquidation_price";
pub(crate) const REMAINING_TERM: &str = "remaining_term_months";
pub(crate) const CAPITALIZED_SHARE: &str = "capitalized_interest_share";

pub(crate) fn f(name: &str) -> Expr {
    col(name).cast(DataType::Float64)
}

fn days_since_epoch(d: chrono::NaiveDate) -> i32 {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("1970-01-01 is a date");
    (d - epoch).num_days() as i32
}

/// The derived columns, as expressions over a validated tape.
pub(crate) fn fields(at: &Valuation) -> Vec<Expr> {
    let price = at.btc_price.to_f64().unwrap_or(f64::NAN);
    let mc = at.margin_call_ltv.to_f64().unwrap_or(f64::NAN);
    let liq = at.liquidation_ltv.to_f64().unwrap_or(f64::NAN);
    // Balance per BTC of collateral: the BTC price at which the loan's LTV would be 100%.
    let par = f(PRINCIPAL) / f(COLLATERAL_BTC);
    let days = col(MATURITY_DATE).cast(DataType::Int32) - lit(days_since_epoch(at.as_of));
    let months = days.cast(DataType::Float64) / lit(DAYS_PER_MONTH);
    vec![
        (par.clone() / lit(price)).alias(LTV),
        (par.clone() / lit(mc)).alias(MARGIN_CALL_PRICE),
        (par / lit(liq)).alias(LIQUIDATION_PRICE),
        when(months.clone().lt(lit(0.0)))
            .then(lit(0.0))
            .otherwise(months)
            .alias(REMAINING_TERM),
        (f(CAPITALIZED_INTEREST) / f(PRINCIPAL)).alias(CAPITALIZED_SHARE),
    ]
}

/// The tape with its derived fields, one row per loan, for `tape derive`.
pub(crate) fn loan_fields(df: &DataFrame, at: &Valuation) -> Result<DataFrame, TapeError> {
    df.clone()
        .lazy()
        .with_columns(fields(at))
        .with_columns([
            col(LTV).round(6, RoundMode::HalfToEven),
            col(MARGIN_CALL_PRICE).round(2, RoundMode::HalfToEven),
            col(LIQUIDATION_PRICE).round(2, RoundMode::HalfToEven),
            col(REMAINING_TERM).round(2, RoundMode::HalfToEven),
            col(CAPITALIZED_SHARE).round(6, RoundMode::HalfToEven),
        ])
        .collect()
        .map_err(TapeError::internal("deriving loan fields"))
}
