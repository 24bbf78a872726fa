//! The pool summary: exact totals, weighted averages, borrower concentration, trigger prices.
//!
//! Totals (principal, BTC, capitalized interest) are summed as decimals and are exact to the cent
//! and the satoshi. Weighted averages are balance-weighted `f64` (reported to 0.01 point).

use polars::prelude::*;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use super::Valuation;
use super::derive::{self, f};
use super::error::TapeError;
use super::schema::*;
use super::value::{decimal_at, f64_at, u64_at};

/// Money is rounded to the cent half to even wherever a product of decimals becomes an amount.
pub(crate) fn cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
}

/// The BTC price at which the pool's LTV reaches a level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriggerPrice {
    /// The LTV level, e.g. 0.80.
    pub ltv: Decimal,
    /// USD per BTC, rounded to the cent.
    pub btc_price: Decimal,
    /// The fall from the valuation price to this price, as a fraction (0.303 for 30.3%).
    pub fall: Decimal,
}

/// How much of the pool the largest borrowers hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Concentration {
    pub largest_borrower: Decimal,
    pub top1_share: f64,
    pub top10_share: f64,
    pub top20_share: f64,
    /// Herfindahl-Hirschman index of borrower exposures (sum of squared shares, 0 to 1).
    pub hhi: f64,
    /// 1 / HHI: the number of equal borrowers with the same concentration.
    pub effective_borrowers: f64,
    /// Borrowers with more than one loan.
    pub multi_loan_borrowers: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolSummary {
    pub as_of: chrono::NaiveDate,
    pub btc_price: Decimal,
    pub margin_call_ltv: Decimal,
    pub liquidation_ltv: Decimal,
    pub loans: u64,
    pub borrowers: u64,
    pub principal: Decimal,
    pub collateral_btc: Decimal,
    /// `collateral_btc * btc_price`, rounded to the cent.
    pub collateral_value: Decimal,
    /// Aggregate LTV: total principal / total collateral value. This equals the
    /// collateral-value-weighted average of the loans' LTVs.
    pub pool_ltv: Decimal,
    /// Balance-weighted average LTV. Never below `pool_ltv`; equal only when every loan has the
    /// same LTV.
    pub wa_ltv: f64,
    pub min_ltv: f64,
    pub max_ltv: f64,
    pub wa_interest_rate: f64,
    pub wa_remaining_term_months: f64,
    pub average_loan: Decimal,
    pub original_principal: Decimal,
    pub capitalized_interest: Decimal,
    /// Capitalized interest / principal.
    pub capitalized_interest_share: Decimal,
    pub renewed_loans: u64,
    pub renewed_balance: Decimal,
    pub accrued_interest: Decimal,
    /// Loans whose LTV is at or above the margin-call LTV at this price.
    pub loans_in_margin_call: u64,
    /// Loans whose LTV is at or above the liquidation LTV at this price.
    pub loans_at_liquidation: u64,
    pub concentration: Concentration,
    /// Pool LTV at the margin-call level, the liquidation level and 100%.
    pub trigger_prices: Vec<TriggerPrice>,
}

pub(crate) fn summarize(df: &DataFrame, at: &Valuation) -> Result<PoolSummary, TapeError> {
    let mc = rust_decimal::prelude::ToPrimitive::to_f64(&at.margin_call_ltv).unwrap_or(f64::NAN);
    let liq = rust_decimal::prelude::ToPrimitive::to_f64(&at.liquidation_ltv).unwrap_or(f64::NAN);
    let weighted = |name: &str| (f(PRINCIPAL) * col(name)).sum() / f(PRINCIPAL).sum();
    let totals = df
        .clone()
        .lazy()
        .with_columns(derive::fields(at))
        .with_columns([f(INTEREST_RATE).alias("__rate")])
        .select([
            len().cast(DataType::UInt64).alias("loans"),
            col(PRINCIPAL).sum().alias("principal"),
            col(COLLATERAL_BTC).sum().alias("btc"),
            col(ORIGINAL_PRINCIPAL).sum().alias("original"),
            col(CAPITALIZED_INTEREST).sum().alias("capitalized"),
            col(ACCRUED_INTEREST).sum().alias("accrued"),
            col(RENEWAL_COUNT)
                .gt(lit(0))
                .cast(DataType::UInt64)
                .sum()
                .alias("renewed"),
            col(PRINCIPAL)
                .filter(col(RENEWAL_COUNT).gt(lit(0)))
                .sum()
                .alias("renewed_balance"),
            weighted(derive::LTV).alias("wa_ltv"),
            col(derive::LTV).min().alias("min_ltv"),
            col(derive::LTV).max().alias("max_ltv"),
            weighted("__rate").alias("wa_rate"),
            weighted(derive::REMAINING_TERM).alias("wa_term"),
            col(derive::LTV)
                .gt_eq(lit(mc))
                .cast(DataType::UInt64)
                .sum()
                .alias("in_call"),
            col(derive::LTV)
                .gt_eq(lit(liq))
                .cast(DataType::UInt64)
                .sum()
                .alias("at_liq"),
        ])
        .collect()
        .map_err(TapeError::internal("summarizing the pool"))?;

    let principal = decimal_at(&totals, "principal", 0)?;
    let concentration = concentration(df, principal)?;
    let btc = decimal_at(&totals, "btc", 0)?;
    let loans = u64_at(&totals, "loans", 0)?;
    let collateral_value = cents(btc * at.btc_price);
    let capitalized = decimal_at(&totals, "capitalized", 0)?;
    let ratio = |num: Decimal, den: Decimal| num.checked_div(den).unwrap_or(Decimal::ZERO);
    let f = |name: &str| -> Result<f64, TapeError> { Ok(f64_at(&totals, name, 0)?.unwrap_or(0.0)) };

    let mut levels = vec![at.margin_call_ltv, at.liquidation_ltv, Decimal::ONE];
    levels.dedup();
    let trigger_prices = levels
        .into_iter()
        .map(|ltv| {
            let price = cents(ratio(principal, btc * ltv));
            TriggerPrice {
                ltv,
                btc_price: price,
                fall: ratio(at.btc_price - price, at.btc_price),
            }
        })
        .collect();

    Ok(PoolSummary {
        as_of: at.as_of,
        btc_price: at.btc_price,
        margin_call_ltv: at.margin_call_ltv,
        liquidation_ltv: at.liquidation_ltv,
        loans,
        borrowers: concentration.borrowers,
        principal,
        collateral_btc: btc,
        collateral_value,
        pool_ltv: ratio(principal, collateral_value),
        wa_ltv: f("wa_ltv")?,
        min_ltv: f("min_ltv")?,
        max_ltv: f("max_ltv")?,
        wa_interest_rate: f("wa_rate")?,
        wa_remaining_term_months: f("wa_term")?,
        average_loan: cents(ratio(principal, Decimal::from(loans))),
        original_principal: decimal_at(&totals, "original", 0)?,
        capitalized_interest: capitalized,
        capitalized_interest_share: ratio(capitalized, principal),
        renewed_loans: u64_at(&totals, "renewed", 0)?,
        renewed_balance: decimal_at(&totals, "renewed_balance", 0)?,
        accrued_interest: decimal_at(&totals, "accrued", 0)?,
        loans_in_margin_call: u64_at(&totals, "in_call", 0)?,
        loans_at_liquidation: u64_at(&totals, "at_liq", 0)?,
        concentration: concentration.shares,
        trigger_prices,
    })
}

struct Borrowers {
    borrowers: u64,
    shares: Concentration,
}

/// Exposure per borrower (one hash-and-sort pass over the borrower ids, see `ids.rs`, which also
/// counts the borrowers), then the shares of the largest 1, 10 and 20 and the HHI.
fn concentration(df: &DataFrame, principal: Decimal) -> Result<Borrowers, TapeError> {
    let internal = TapeError::internal("measuring borrower concentration");
    let ids = df
        .column(BORROWER_ID)
        .and_then(|c| c.str())
        .map_err(internal)?;
    let balances = df
        .column(PRINCIPAL)
        .and_then(|c| c.decimal())
        .map_err(TapeError::internal("measuring borrower concentration"))?;
    let scale = balances.scale() as u32;
    let mut exposures = super::ids::exposures(ids, balances.physical())?;
    let borrowers = exposures.len() as u64;
    let multi_loan_borrowers = exposures.iter().filter(|e| e.loans > 1).count() as u64;
    let total: i128 = exposures.iter().map(|e| e.units).sum();
    // HHI in the fixed group order of `ids.rs`: the same tape gives the same bits.
    let hhi = if total > 0 {
        let t = total as f64;
        exposures
            .iter()
            .map(|e| {
                let s = e.units as f64 / t;
                s * s
            })
            .sum()
    } else {
        0.0
    };
    // The largest 20, largest first.
    let top = 20.min(exposures.len());
    if top > 0 && top < exposures.len() {
        exposures.select_nth_unstable_by(top - 1, |a, b| b.units.cmp(&a.units));
    }
    let mut largest: Vec<i128> = exposures[..top].iter().map(|e| e.units).collect();
    largest.sort_unstable_by(|a, b| b.cmp(a));
    let amount = |units: i128| {
        Decimal::try_from_i128_with_scale(units, scale).map_err(|e| TapeError::Internal {
            context: "measuring borrower concentration",
            message: e.to_string(),
        })
    };
    let top_sum = |n: usize| amount(largest.iter().take(n).sum());
    let share_of = |d: Decimal| {
        rust_decimal::prelude::ToPrimitive::to_f64(&d.checked_div(principal).unwrap_or_default())
            .unwrap_or(0.0)
    };
    let top1 = top_sum(1)?;
    let shares = Concentration {
        largest_borrower: top1,
        top1_share: share_of(top1),
        top10_share: share_of(top_sum(10)?),
        top20_share: share_of(top_sum(20)?),
        hhi,
        effective_borrowers: if hhi > 0.0 { 1.0 / hhi } else { 0.0 },
        multi_loan_borrowers,
    };
    Ok(Borrowers { borrowers, shares })
}
