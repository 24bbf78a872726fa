//! Market-value levels: a level's price path through the liquidation engine, loan by loan, then
//! the liquidated balances (by month of sale) and the sale proceeds into the period engine as
//! that level's defaults and recoveries.
//!
//! What the period engine receives: the cumulative default amount (the cut-off principal of every
//! loan sold, capped at the credited pool), its timing (the share sold in each month of the path),
//! and one recovery rate (principal recovered / principal sold over the level). Proceeds above a
//! loan's balance go back to the borrower; interest accrued up to the sale and recovered from
//! proceeds is not counted as collections (conservative).

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use super::{Market, RatingError, Scenario};
use crate::deal::Deal;
use crate::methodology::{MarketFile, MarketStress, Methodology};
use crate::money::Rounding;
use crate::stress::liquidation::{self, End, Execution, Impact, MarketLoan, MarketParams};
use crate::stress::path::PathSpec;
use crate::tape::{LoanRecord, Tape, TapeError};

/// The loans of the cut-off pool as the liquidation engine sees them, with one uniform draw per
/// loan deciding (against each level's answer share) whether its borrower answers margin calls.
#[derive(Debug, Clone)]
pub struct MarketPool {
    loans: Vec<MarketLoan>,
    draws: Vec<f64>,
    start_price: f64,
}

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(f64::NAN)
}

/// Where the simulation (f64) meets money (Decimal): the amount rounded by the methodology's
/// money rule. The one place in this module an f64 becomes money.
fn dec(x: f64, rounding: Rounding) -> Decimal {
    rounding.round(Decimal::from_f64(x).unwrap_or_default())
}

impl MarketPool {
    pub fn new(records: &[LoanRecord], deal: &Deal, seed: u64) -> MarketPool {
        let cutoff = deal.pool.cutoff.date;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let loans = records
            .iter()
            .map(|r| MarketLoan {
                balance: f(r.principal + r.accrued_interest),
                principal: f(r.principal),
                rate: f(r.interest_rate),
                btc: f(r.collateral_btc),
                maturity_day: (r.maturity_date - cutoff).num_days().max(0) as u32,
                answers: false,
            })
            .collect();
        let draws = records.iter().map(|_| rng.random::<f64>()).collect();
        MarketPool {
            loans,
            draws,
            start_price: f(deal.pool.cutoff.btc_price),
        }
    }

    /// The loans, with the borrowers who answer margin calls at `answer_share` marked.
    pub fn loans(&self, answer_share: f64) -> Vec<MarketLoan> {
        self.loans
            .iter()
            .zip(&self.draws)
            .map(|(l, u)| MarketLoan {
                answers: *u < answer_share,
                ..l.clone()
            })
            .collect()
    }

    pub fn start_price(&self) -> f64 {
        self.start_price
    }

    /// The tape's loans, with the methodology's seed for who answers margin calls.
    pub fn from_tape(
        tape: &Tape,
        deal: &Deal,
        facts: &MarketFile,
    ) -> Result<MarketPool, TapeError> {
        Ok(MarketPool::new(
            &tape.records()?,
            deal,
            facts.answer_seed.value,
        ))
    }
}

/// What the path did to the pool at one level.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct MarketOutcome {
    #[serde(serialize_with = "crate::money::json::rate")]
    #[schemars(with = "String")]
    pub btc_trough: Decimal,
    #[serde(serialize_with = "crate::money::json::money")]
    #[schemars(with = "String")]
    pub trough_price: Decimal,
    pub loans: u64,
    pub loans_margin_called: u64,
    pub loans_liquidated: u64,
    /// Cut-off principal of the loans sold.
    #[serde(serialize_with = "crate::money::json::money")]
    #[schemars(with = "String")]
    pub liquidated_principal: Decimal,
    /// Sale proceeds applied to principal.
    #[serde(serialize_with = "crate::money::json::money")]
    #[schemars(with = "String")]
    pub recovered_principal: Decimal,
    /// Balance owed at the sales less proceeds, where short.
    #[serde(serialize_with = "crate::money::json::money")]
    #[schemars(with = "String")]
    pub losses: Decimal,
    #[serde(serialize_with = "crate::money::json::ratio")]
    #[schemars(with = "String")]
    pub max_execution_ltv: f64,
    /// The default rate and recovery rate the period engine was given.
    #[serde(serialize_with = "crate::money::json::rate")]
    #[schemars(with = "String")]
    pub default_rate: Decimal,
    #[serde(serialize_with = "crate::money::json::rate")]
    #[schemars(with = "String")]
    pub recovery_rate: Decimal,
    /// Share of the liquidated principal sold in each month of the path.
    #[serde(serialize_with = "crate::money::json::rate_vec")]
    #[schemars(with = "Vec<String>")]
    pub default_timing: Vec<Decimal>,
}

/// The engine's parameters of a level.
pub fn params(facts: &MarketFile, deal: &Deal, s: &MarketStress) -> MarketParams {
    let terms = &deal.pool.collateral_terms;
    MarketParams {
        margin_call_ltv: f(terms.margin_call_ltv),
        liquidation_ltv: f(terms.liquidation_ltv),
        cure_ltv: f(facts.cure_ltv.value),
        gap: f(s.liquidation_gap),
        lag_days: s.liquidation_lag_days,
        slippage: f(s.slippage),
        impact: Some(Impact {
            coefficient: f(facts.impact_coefficient.value),
            daily_volatility: f(facts.daily_volatility.value),
            daily_volume_usd: f(facts.daily_volume_usd.value),
            crowding: f(s.crowding),
        }),
        balloon: s.balloon_in_margin_call,
        execution: Execution::Trigger,
    }
}

/// The level's daily price path from the cut-off price.
pub fn path(
    m: &Methodology,
    facts: &MarketFile,
    s: &MarketStress,
    start: f64,
) -> Result<Vec<f64>, RatingError> {
    let shape = m.shape(&s.path_shape).ok_or_else(|| {
        RatingError::Internal(format!(
            "{}: path shape `{}` passed validation but is unknown",
            m.name(),
            s.path_shape
        ))
    })?;
    Ok(PathSpec {
        trough: f(s.btc_trough),
        days_to_trough: s.days_to_trough,
        horizon_days: facts.horizon_days.value,
        shape,
    }
    .prices(start))
}

/// Months the liquidation engine's horizon spans (the scenario's timing has one share each).
pub fn months(horizon_days: u32) -> usize {
    (horizon_days * 12).div_ceil(365).max(1) as usize
}

/// What a path's sales add up to, loan by loan (or cohort by cohort): the period engine's
/// scenario is made from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tally {
    /// Cut-off principal of the loans sold, by month of sale.
    pub by_month: Vec<f64>,
    /// Cut-off principal of the loans sold.
    pub sold: f64,
    /// Sale proceeds applied to principal.
    pub recovered: f64,
    /// Balance owed at the sales less proceeds, where short.
    pub losses: f64,
    pub max_execution_ltv: f64,
    /// Loans that received a margin call.
    pub called_loans: f64,
    pub liquidated_loans: f64,
}

impl Tally {
    /// The sales of `outcomes` (one per position of `loans`, a position holding `counts` loans).
    pub fn of(
        loans: &[MarketLoan],
        outcomes: &[liquidation::Outcome],
        counts: &[u32],
        months: usize,
    ) -> Tally {
        Tally::sum(
            loans
                .iter()
                .zip(outcomes)
                .zip(counts)
                .map(|((l, o), n)| (l, o, *n)),
            months,
        )
    }

    /// The sales of the positions a path reached (`liquidation::Book::run`; a position left out
    /// was never called nor sold): the same tally as [`Tally::of`] over every position.
    pub fn of_touched(
        loans: &[MarketLoan],
        touched: &liquidation::Touched<'_>,
        counts: &[u32],
        months: usize,
    ) -> Tally {
        Tally::sum(
            touched
                .iter()
                .map(|(i, o)| (&loans[i as usize], o, counts[i as usize])),
            months,
        )
    }

    fn sum<'a>(
        positions: impl Iterator<Item = (&'a MarketLoan, &'a liquidation::Outcome, u32)>,
        months: usize,
    ) -> Tally {
        let mut t = Tally {
            by_month: vec![0.0f64; months],
            sold: 0.0,
            recovered: 0.0,
            losses: 0.0,
            max_execution_ltv: 0.0,
            called_loans: 0.0,
            liquidated_loans: 0.0,
        };
        for (l, o, n) in positions {
            let n = f64::from(n);
            if o.margin_calls > 0 {
                t.called_loans += n;
            }
            if let End::Liquidated(sale) = o.end {
                t.liquidated_loans += n;
                t.sold += l.principal;
                t.recovered += sale.proceeds.min(l.principal);
                t.losses += sale.loss;
                // A sale for nothing (a 100% gap) has no execution LTV (balance / 0).
                if sale.proceeds > 0.0 {
                    t.max_execution_ltv = t.max_execution_ltv.max(sale.execution_ltv);
                }
                let month = ((f64::from(sale.sale_day) / (365.0 / 12.0)) as usize).min(months - 1);
                t.by_month[month] += l.principal;
            }
        }
        t
    }

    /// The period engine's scenario: the principal sold as defaults (capped at the credited pool),
    /// by month of sale, and the principal recovered from the proceeds as the recovery rate.
    pub fn scenario(&self, credited_balance: Decimal, rounding: Rounding) -> Scenario {
        let sold = self.sold;
        let sold_dec = dec(sold, rounding);
        let default_amount = sold_dec.min(credited_balance);
        let share = |x: f64| {
            if sold > 0.0 {
                Decimal::from_f64(x / sold)
                    .unwrap_or_default()
                    .round_dp_with_strategy(6, RoundingStrategy::MidpointNearestEven)
            } else {
                Decimal::ZERO
            }
        };
        let mut timing: Vec<Decimal> = self.by_month.iter().map(|x| share(*x)).collect();
        // Shares sum to exactly 1: the last month with defaults takes the rounding.
        if sold > 0.0 {
            let lastnz = self.by_month.iter().rposition(|x| *x > 0.0).unwrap_or(0);
            let others: Decimal = timing
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != lastnz)
                .map(|(_, d)| *d)
                .sum();
            timing[lastnz] = Decimal::ONE - others;
        } else {
            timing = vec![Decimal::ONE];
        }
        let recovery_rate = if sold > 0.0 {
            share(self.recovered).min(Decimal::ONE)
        } else {
            Decimal::ONE
        };
        Scenario {
            default_amount: rounding.round(default_amount),
            default_timing: timing,
            recovery_rate,
            market: None,
        }
    }
}

/// Runs the level's path through the liquidation engine and returns the scenario the period
/// engine runs with: the principal sold as defaults (capped at the credited pool), by month of
/// sale, and the principal recovered from the proceeds as the recovery rate.
pub fn derive(
    m: &Methodology,
    mk: &Market<'_>,
    deal: &Deal,
    ms: &MarketStress,
    credited_balance: Decimal,
) -> Result<Scenario, RatingError> {
    let prices = path(m, mk.facts, ms, mk.pool.start_price)?;
    derive_on(m, mk, deal, ms, credited_balance, &prices)
}

/// [`derive()`] on a given daily path `prices` (day 0 at the cut-off) instead of the level's own:
/// the level's terms of sale and answer share apply; its path shape and trough do not (the
/// outcome still records the level's `btc_trough`).
pub fn derive_on(
    m: &Methodology,
    mk: &Market<'_>,
    deal: &Deal,
    ms: &MarketStress,
    credited_balance: Decimal,
    prices: &[f64],
) -> Result<Scenario, RatingError> {
    let (pool, facts) = (&mk.pool, mk.facts);
    let p = params(facts, deal, ms);
    let loans = pool.loans(f(ms.margin_call_answer_share));
    let outcomes = liquidation::run(&loans, prices, &p);
    let months = months(facts.horizon_days.value);
    let tally = Tally::of(&loans, &outcomes, &vec![1; loans.len()], months);
    let money = |x: f64| dec(x, m.rounding);
    let mut sc = tally.scenario(credited_balance, m.rounding);
    let default_rate = if credited_balance > Decimal::ZERO {
        (sc.default_amount / credited_balance).round_dp(6)
    } else {
        Decimal::ZERO
    };
    let trough = ms.btc_trough;
    sc.market = Some(MarketOutcome {
        btc_trough: trough,
        trough_price: money(pool.start_price * (1.0 - f(trough))),
        loans: loans.len() as u64,
        loans_margin_called: tally.called_loans as u64,
        loans_liquidated: tally.liquidated_loans as u64,
        liquidated_principal: money(tally.sold),
        recovered_principal: money(tally.recovered),
        losses: money(tally.losses),
        max_execution_ltv: tally.max_execution_ltv,
        default_rate,
        recovery_rate: sc.recovery_rate,
        default_timing: sc.default_timing.clone(),
    });
    Ok(sc)
}
