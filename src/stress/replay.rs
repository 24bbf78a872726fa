//! Replay: a real daily BTC price path applied to a pool, loan by loan.
//!
//! Each day, every loan's LTV is its balance (principal, plus interest accrued at its rate,
//! actual/365, since the start) over its collateral at that day's price. At the margin-call LTV a
//! borrower either answers, adding BTC back to the cure LTV, or does not; at the liquidation LTV the
//! collateral is sold. Which borrowers answer is drawn once per loan from a seeded ChaCha8 stream
//! (`answer_share` of them). Daily closes cannot see intraday falls: with `Execution::Trigger` the
//! sale is taken at the trigger price (continuous monitoring, as Ledn's history of sales near 80%
//! suggests), with `Execution::Close` at the day's close; `gap` then lowers the execution price
//! further (lag, slippage). Maturities within the window are taken to roll over.

use chrono::NaiveDate;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use crate::tape::{LoanRecord, PriceSeries};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Execution {
    /// At the liquidation trigger price (intraday monitoring), less the gap.
    Trigger,
    /// At the day's closing price, less the gap.
    Close,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReplayParams {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub margin_call_ltv: Decimal,
    pub liquidation_ltv: Decimal,
    pub cure_ltv: Decimal,
    /// Share of borrowers who answer a margin call.
    pub answer_share: f64,
    /// Fall from the execution reference price to the sale price (0.02 = 2%).
    pub gap: Decimal,
    pub execution: Execution,
    pub seed: u64,
}

/// What happened to the pool.
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
    pub loans_margin_called: u64,
    pub margin_calls_answered: u64,
    pub btc_added: Decimal,
    pub loans_liquidated: u64,
    pub liquidated_balance: Decimal,
    pub mean_execution_ltv: Decimal,
    pub max_execution_ltv: Decimal,
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

fn cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
}

/// Applies the daily path from `p.from` to `p.to` (both covered by `prices`) to `loans`.
pub fn replay(
    loans: &[LoanRecord],
    prices: &PriceSeries,
    p: &ReplayParams,
) -> Result<ReplayResult, String> {
    let start_price = prices.on(p.from).ok_or_else(|| {
        format!(
            "{}: no price on {} (the file covers {} to {})",
            prices.path.display(),
            p.from,
            prices.first,
            prices.last()
        )
    })?;
    let end_price = prices.on(p.to).ok_or_else(|| {
        format!(
            "{}: no price on {} (the file covers {} to {})",
            prices.path.display(),
            p.to,
            prices.first,
            prices.last()
        )
    })?;
    if p.to <= p.from {
        return Err(format!("--to {} must be after --from {}", p.to, p.from));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
    struct State {
        btc: Decimal,
        answers: bool,
        called: bool,
        in_call: bool,
        alive: bool,
    }
    let mut state: Vec<State> = loans
        .iter()
        .map(|l| State {
            btc: l.collateral_btc,
            answers: rng.random::<f64>() < p.answer_share,
            called: false,
            in_call: false,
            alive: true,
        })
        .collect();
    let year = Decimal::from(365);
    let balance_at = |l: &LoanRecord, days: i64| {
        cents(
            l.principal
                + l.accrued_interest
                + l.principal * l.interest_rate * Decimal::from(days) / year,
        )
    };

    let mut r = ReplayResult {
        from: p.from,
        to: p.to,
        start_price,
        end_price,
        trough_date: p.from,
        trough_price: start_price,
        loans: loans.len() as u64,
        balance_start: loans.iter().map(|l| l.principal + l.accrued_interest).sum(),
        loans_margin_called: 0,
        margin_calls_answered: 0,
        btc_added: Decimal::ZERO,
        loans_liquidated: 0,
        liquidated_balance: Decimal::ZERO,
        mean_execution_ltv: Decimal::ZERO,
        max_execution_ltv: Decimal::ZERO,
        losses: Decimal::ZERO,
        surplus_returned: Decimal::ZERO,
        cash: Decimal::ZERO,
        loans_surviving: 0,
        surviving_balance: Decimal::ZERO,
        survivors: Vec::new(),
    };
    let mut exec_ltv_sum = Decimal::ZERO;
    let days = (p.to - p.from).num_days();
    for d in 1..=days {
        let date = p.from + chrono::Duration::days(d);
        let price = prices
            .on(date)
            .ok_or_else(|| format!("no price on {date}"))?;
        if price < r.trough_price {
            r.trough_price = price;
            r.trough_date = date;
        }
        for (l, s) in loans.iter().zip(state.iter_mut()) {
            if !s.alive {
                continue;
            }
            let balance = balance_at(l, d);
            let value = s.btc * price;
            let ltv = balance.checked_div(value).unwrap_or(Decimal::MAX);
            if ltv >= p.liquidation_ltv {
                let reference = match p.execution {
                    Execution::Trigger => balance / (s.btc * p.liquidation_ltv),
                    Execution::Close => price,
                };
                let exec_price = reference * (Decimal::ONE - p.gap);
                let proceeds = cents(s.btc * exec_price);
                let exec_ltv = balance.checked_div(proceeds).unwrap_or(Decimal::MAX);
                let repaid = proceeds.min(balance);
                r.loans_liquidated += 1;
                r.liquidated_balance += balance;
                r.losses += balance - repaid;
                r.surplus_returned += proceeds - repaid;
                r.cash += repaid;
                exec_ltv_sum += exec_ltv;
                r.max_execution_ltv = r.max_execution_ltv.max(exec_ltv);
                s.alive = false;
                if !s.called {
                    s.called = true;
                    r.loans_margin_called += 1;
                }
            } else if ltv >= p.margin_call_ltv {
                if !s.in_call {
                    s.in_call = true;
                    if !s.called {
                        s.called = true;
                        r.loans_margin_called += 1;
                    }
                    if s.answers {
                        let needed = balance / (p.cure_ltv * price);
                        let added = (needed - s.btc)
                            .round_dp_with_strategy(8, RoundingStrategy::AwayFromZero);
                        if added > Decimal::ZERO {
                            s.btc += added;
                            r.btc_added += added;
                        }
                        r.margin_calls_answered += 1;
                        s.in_call = false;
                    }
                }
            } else {
                s.in_call = false;
            }
        }
    }
    if r.loans_liquidated > 0 {
        r.mean_execution_ltv = (exec_ltv_sum / Decimal::from(r.loans_liquidated)).round_dp(6);
    }
    r.max_execution_ltv = r.max_execution_ltv.round_dp(6);
    for (l, s) in loans.iter().zip(&state) {
        if s.alive {
            let balance = balance_at(l, days);
            let accrued = balance - l.principal;
            r.loans_surviving += 1;
            r.surviving_balance += balance;
            let mut out = l.clone();
            out.collateral_btc = s.btc;
            out.accrued_interest = accrued;
            r.survivors.push(out);
        }
    }
    Ok(r)
}
