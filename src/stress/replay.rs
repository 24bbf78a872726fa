//! Replay: a real daily BTC price path applied to a pool, loan by loan.
//!
//! Replay has no rules of its own: the loans go through the liquidation engine
//! ([`liquidation::run`]) that rating and backtest use, with the same margin-call, answer and
//! sale rules (docs/replay.md states them). Which borrowers answer is drawn by the caller, the
//! way the rating draws it (`rating::MarketPool`). What replay adds is the window (day 0 is
//! `--from`, every day to `--to` inclusive, maturities rolled over) and the conversion of the
//! engine's `f64` figures into money, here and nowhere else ([`exact`]).

use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;

use super::liquidation::{self, Balloon, End, MarketLoan, MarketParams};
use crate::tape::{LoanRecord, PriceSeries};

pub use super::liquidation::Execution;

#[derive(Debug, Clone, PartialEq)]
pub struct ReplayParams {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub margin_call_ltv: Decimal,
    pub liquidation_ltv: Decimal,
    pub cure_ltv: Decimal,
    /// Fall from the execution reference price to the sale price (0.02 = 2%).
    pub gap: Decimal,
    pub execution: Execution,
}

/// What happened to the pool. Money is cents (half to even) of each loan's figure, summed.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayResult {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub start_price: Decimal,
    pub end_price: Decimal,
    pub trough_date: NaiveDate,
    pub trough_price: Decimal,
    pub loans: u64,
    pub balance_start: Decimal,
    /// Loans that received at least one margin call.
    pub loans_margin_called: u64,
    /// Margin calls received (a borrower who answers can be called again).
    pub margin_calls: u64,
    /// Loans whose borrower answered at least one call.
    pub loans_answering: u64,
    /// Margin calls answered.
    pub calls_answered: u64,
    pub btc_added: Decimal,
    pub loans_liquidated: u64,
    /// Loans sold without ever receiving a margin call (straight past the liquidation LTV).
    pub loans_liquidated_without_a_call: u64,
    pub liquidated_balance: Decimal,
    pub proceeds: Decimal,
    /// Balance / proceeds, mean and max over the loans sold for at least a cent (a sale whose
    /// proceeds round to nothing has no execution LTV); `None` when none was.
    pub mean_execution_ltv: Option<Decimal>,
    pub max_execution_ltv: Option<Decimal>,
    pub losses: Decimal,
    pub surplus_returned: Decimal,
    /// Cash the pool holds after the window: what liquidations repaid.
    pub cash: Decimal,
    pub loans_surviving: u64,
    pub surviving_balance: Decimal,
    /// The surviving loans, balances including the interest accrued in the window.
    #[serde(skip)]
    pub survivors: Vec<LoanRecord>,
}

/// The one place an engine figure becomes a reported one: the `f64`'s exact binary value rounded
/// half to even to `places` decimals (Rust's `{:.N}` formatting is exact and rounds ties to even,
/// as C's `printf("%.Nf")` and Python's `Decimal(x).quantize(..., ROUND_HALF_EVEN)` do). Cents for
/// money, 8 places for BTC, 6 for LTVs.
pub(crate) fn exact(x: f64, places: usize) -> Result<Decimal, String> {
    Decimal::from_str(&format!("{x:.places$}"))
        .map_err(|e| format!("internal error: {x} is not a reportable amount ({e})"))
}

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(f64::NAN)
}

/// The close on `date`, or why there is none.
pub(crate) fn price_on(prices: &PriceSeries, date: NaiveDate) -> Result<Decimal, String> {
    prices.on(date).ok_or_else(|| {
        format!(
            "{}: no price on {} (the file covers {} to {})",
            prices.path.display(),
            date,
            prices.first,
            prices.last()
        )
    })
}

/// Runs the daily closes from `p.from` (day 0) to `p.to` over `records`; `loans` are the same
/// loans as the engine sees them, in the same order, with who answers margin calls drawn.
pub fn replay(
    records: &[LoanRecord],
    loans: &[MarketLoan],
    prices: &PriceSeries,
    p: &ReplayParams,
) -> Result<ReplayResult, String> {
    let start_price = price_on(prices, p.from)?;
    let end_price = price_on(prices, p.to)?;
    if p.to <= p.from {
        return Err(format!("--to {} must be after --from {}", p.to, p.from));
    }
    let days = (p.to - p.from).num_days();
    let path: Vec<Decimal> = (0..=days)
        .map(|d| price_on(prices, p.from + chrono::Duration::days(d)))
        .collect::<Result<_, _>>()?;
    let (mut trough_day, mut trough_price) = (0, start_price);
    for (d, price) in path.iter().enumerate() {
        if *price < trough_price {
            (trough_day, trough_price) = (d, *price);
        }
    }
    // Loans stay exposed for the whole window: maturities inside it roll over.
    let exposed: Vec<MarketLoan> = loans
        .iter()
        .map(|l| MarketLoan {
            maturity_day: u32::MAX,
            ..l.clone()
        })
        .collect();
    let engine = MarketParams {
        margin_call_ltv: f(p.margin_call_ltv),
        liquidation_ltv: f(p.liquidation_ltv),
        cure_ltv: f(p.cure_ltv),
        gap: f(p.gap),
        lag_days: 0,
        slippage: 0.0,
        impact: None,
        balloon: Balloon::RollOver,
        execution: p.execution,
    };
    let path_f64: Vec<f64> = path.iter().map(|d| f(*d)).collect();
    let outcomes = liquidation::run(&exposed, &path_f64, &engine);

    let mut r = ReplayResult {
        from: p.from,
        to: p.to,
        start_price,
        end_price,
        trough_date: p.from + chrono::Duration::days(trough_day as i64),
        trough_price,
        loans: records.len() as u64,
        balance_start: records
            .iter()
            .map(|l| l.principal + l.accrued_interest)
            .sum(),
        loans_margin_called: 0,
        margin_calls: 0,
        loans_answering: 0,
        calls_answered: 0,
        btc_added: Decimal::ZERO,
        loans_liquidated: 0,
        loans_liquidated_without_a_call: 0,
        liquidated_balance: Decimal::ZERO,
        proceeds: Decimal::ZERO,
        mean_execution_ltv: None,
        max_execution_ltv: None,
        losses: Decimal::ZERO,
        surplus_returned: Decimal::ZERO,
        cash: Decimal::ZERO,
        loans_surviving: 0,
        surviving_balance: Decimal::ZERO,
        survivors: Vec::new(),
    };
    let (mut ltv_sum, mut ltv_max, mut ltv_count) = (0.0f64, f64::NEG_INFINITY, 0u64);
    for ((record, loan), o) in records.iter().zip(&exposed).zip(&outcomes) {
        r.margin_calls += u64::from(o.margin_calls);
        r.calls_answered += u64::from(o.answered);
        r.loans_margin_called += u64::from(o.margin_calls > 0);
        r.loans_answering += u64::from(o.answered > 0);
        // Collateral to the satoshi: each loan's BTC after its last top-up, less the tape's.
        let btc = exact(o.btc, 8)?;
        r.btc_added += btc - record.collateral_btc;
        match o.end {
            End::Liquidated(sale) => {
                let balance = exact(sale.balance, 2)?;
                let proceeds = exact(sale.proceeds, 2)?;
                let repaid = proceeds.min(balance);
                r.loans_liquidated += 1;
                r.loans_liquidated_without_a_call += u64::from(o.margin_calls == 0);
                r.liquidated_balance += balance;
                r.proceeds += proceeds;
                r.losses += balance - repaid;
                r.surplus_returned += proceeds - repaid;
                r.cash += repaid;
                // balance / 0 is no LTV: a sale for nothing (a gap that rounds to 100%) is left
                // out, so the figures stay finite and reportable.
                if proceeds > Decimal::ZERO {
                    ltv_sum += sale.execution_ltv;
                    ltv_max = ltv_max.max(sale.execution_ltv);
                    ltv_count += 1;
                }
            }
            End::Outstanding | End::Repaid { .. } => {
                let balance = exact(loan.balance_at(days as u32), 2)?;
                r.loans_surviving += 1;
                r.surviving_balance += balance;
                r.survivors.push(LoanRecord {
                    collateral_btc: btc,
                    accrued_interest: balance - record.principal,
                    ..record.clone()
                });
            }
        }
    }
    if ltv_count > 0 {
        r.mean_execution_ltv = Some(exact(ltv_sum / ltv_count as f64, 6)?);
        r.max_execution_ltv = Some(exact(ltv_max, 6)?);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn engine_figures_become_money_by_their_exact_value_half_to_even() {
        // 0.125 and 0.375 are exact in binary: ties, to even.
        assert_eq!(exact(0.125, 2).unwrap(), dec!(0.12));
        assert_eq!(exact(0.375, 2).unwrap(), dec!(0.38));
        assert_eq!(exact(2.5, 0).unwrap(), dec!(2));
        // 1.005 is 1.00499999999999989... in binary: below the tie.
        assert_eq!(exact(1.005, 2).unwrap(), dec!(1.00));
        assert_eq!(exact(0.1 + 0.2, 8).unwrap(), dec!(0.30000000));
        assert!(exact(f64::INFINITY, 2).is_err());
    }
}
