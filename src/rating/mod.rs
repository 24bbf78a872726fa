//! The rating grid: every note at every notch, the indicated ratings, break-even default rates
//! and coverage multiples.

use rayon::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;

pub mod market;

pub use market::{MarketOutcome, MarketPool};

use crate::asset::{BulletPool, BulletTerms, CollateralModel};
use crate::deal::Deal;
use crate::deal::DealState;
use crate::methodology::{DefaultOrder, Methodology, Notch, Stress};
use crate::money::Rounding;
use crate::tape::{
    AdjustedPool, AdjustmentReport, AdjustmentRule, PoolLoan, Tape, TapeError, Valuation,
};
use crate::waterfall::{Engine, NoteOutcome, Run, WaterfallError, WaterfallTerms};

#[derive(Debug, thiserror::Error)]
pub enum RatingError {
    #[error(transparent)]
    Tape(#[from] TapeError),
    #[error("{notch}: {source}")]
    Waterfall {
        notch: Notch,
        source: WaterfallError,
    },
}

/// One notch of the grid.
#[derive(Debug, Clone, Serialize)]
pub struct LevelResult {
    pub notch: Notch,
    pub adjustments: AdjustmentReport,
    /// Cumulative defaults assumed, USD (default rate, with the capitalized-interest multiplier).
    pub default_amount: Decimal,
    /// Market-value mode: what the level's price path did, loan by loan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub market: Option<MarketOutcome>,
    pub notes: Vec<NoteOutcome>,
    #[serde(skip)]
    pub run: Run,
}

/// What the grid says about one note.
#[derive(Debug, Clone, Serialize)]
pub struct NoteRating {
    pub class: String,
    /// Highest notch passed; `None` when the note fails at every notch.
    pub indicated: Option<Notch>,
    /// Passes are not monotone along the scale (a pass above a fail).
    pub non_monotone: bool,
    /// Largest default rate survived with the rest of the indicated level's stress held (to 0.1 point).
    pub break_even_default_rate: Decimal,
    /// The level whose stress the break-even holds.
    pub break_even_level: Notch,
    /// Break-even default rate / base-case default rate.
    pub coverage: Decimal,
    /// Market-value mode: the deepest BTC fall from the cut-off price (the level's path scaled,
    /// the rest of its stress held) the note survives, to 0.5 point; [`DECLINE_CEILING`] when it
    /// survives every fall tried (see [`NoteRating::binding_btc_decline`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub break_even_btc_decline: Option<Decimal>,
    /// Market-value mode: the largest liquidation gap (sale discount below the trigger price)
    /// the note survives with the rest of the level's stress held, to 0.1 point; 0 when it fails
    /// even with no gap, 1 when it survives any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub break_even_liquidation_gap: Option<Decimal>,
}

/// The deepest fall [`NoteRating::break_even_btc_decline`] tries: a note that survives it
/// survives any fall on that path.
pub const DECLINE_CEILING: Decimal = Decimal::from_parts(99, 0, 0, false, 2);

impl NoteRating {
    /// The break-even BTC decline where it binds: `None` outside market-value mode and when the
    /// note survives [`DECLINE_CEILING`] (its losses come from the terms of sale, not the depth).
    pub fn binding_btc_decline(&self) -> Option<Decimal> {
        self.break_even_btc_decline.filter(|d| *d < DECLINE_CEILING)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RatingResult {
    pub levels: Vec<LevelResult>,
    pub notes: Vec<NoteRating>,
    pub warnings: Vec<String>,
}

/// The valuation a deal's pool is adjusted at: its cut-off.
pub fn valuation(deal: &Deal) -> Valuation {
    Valuation {
        as_of: deal.pool.cutoff.date,
        btc_price: deal.pool.cutoff.btc_price,
        margin_call_ltv: deal.pool.collateral_terms.margin_call_ltv,
        liquidation_ltv: deal.pool.collateral_terms.liquidation_ltv,
    }
}

fn rule(m: &Methodology, s: &Stress) -> AdjustmentRule {
    AdjustmentRule {
        rounding: m.rounding,
        obligor_limit: s.obligor_limit,
        capitalized_interest_credit: s.capitalized_interest_credit,
        top_obligor_defaults: s.top_obligor_defaults,
        highest_ltv_first: s.default_order == DefaultOrder::HighestLtvFirst,
    }
}

/// Cumulative defaults of a level: `rate x (credited balance + (multiplier - 1) x balance of loans
/// carrying capitalized interest)`, capped at the credited balance, rounded to the money rule.
pub fn default_amount(m: &Methodology, s: &Stress, rate: Decimal, a: &AdjustmentReport) -> Decimal {
    let extra =
        (s.capitalized_interest_default_multiplier - Decimal::ONE) * a.capitalized_loans_balance;
    let d = m.rounding.round(rate * (a.credited_balance + extra));
    d.min(a.credited_balance)
}

fn run_level(
    deal: &Deal,
    m: &Methodology,
    s: &Stress,
    pool: &AdjustedPool,
    rate: Decimal,
    notch: Notch,
) -> Result<Run, RatingError> {
    let amount = default_amount(m, s, rate, &pool.report);
    project(deal, m.rounding, s, &pool.loans, amount)
        .map_err(|source| RatingError::Waterfall { notch, source })
}

/// The deal from closing through the legal final: the collections of `loans` (credited, in
/// default order) under `s` with `default_amount` of defaults, through the waterfall.
pub fn project(
    deal: &Deal,
    rounding: Rounding,
    s: &Stress,
    loans: &[PoolLoan],
    default_amount: Decimal,
) -> Result<Run, WaterfallError> {
    engine(deal, rounding, s, loans, default_amount)?.run()
}

/// The engine at closing for one level: the BTC bullet-loan pool and the deal's closing state.
pub fn engine<'a>(
    deal: &'a Deal,
    rounding: Rounding,
    s: &Stress,
    loans: &[PoolLoan],
    default_amount: Decimal,
) -> Result<Engine<'a, BulletPool>, WaterfallError> {
    let terms = BulletTerms {
        default_amount,
        default_timing: s.default_timing.clone(),
        default_order: s.default_order,
        recovery_rate: s.recovery_rate,
        recovery_lag_months: s.recovery_lag_months,
        interest_cash_share: s.interest_cash_share,
        reinvestment_yield: s.reinvestment_yield,
        reinvestment_ltv: s.reinvestment_ltv,
        cash_drag_months: s.cash_drag_months,
        new_loan_term_months: deal.new_loan_term_months,
        rounding,
    };
    let collateral = BulletPool::new(loans, &deal.payment_dates(), terms);
    let initial_pool = collateral.performing();
    let state = DealState::at_closing(deal, initial_pool, rounding);
    Engine::new(
        deal,
        WaterfallTerms {
            servicing_fee_rate: s.servicing_fee_rate,
            rounding,
        },
        state,
        collateral,
    )
}

/// A market-value level: the path (at `trough`, or the level's own) through the liquidation
/// engine, then the period engine with the defaults and recoveries it produced.
fn run_market_level(
    deal: &Deal,
    m: &Methodology,
    s: &Stress,
    pool: &AdjustedPool,
    market: &MarketPool,
    trough: Option<Decimal>,
    notch: Notch,
) -> Result<(Run, Decimal, Option<MarketOutcome>), RatingError> {
    let Some(ms) = s.market.as_ref() else {
        let run = run_level(deal, m, s, pool, s.default_rate, notch)?;
        return Ok((
            run,
            default_amount(m, s, s.default_rate, &pool.report),
            None,
        ));
    };
    let trough = trough.unwrap_or(ms.btc_trough);
    let (stress, amount, outcome) =
        market::derive(m, deal, s, ms, market, trough, pool.report.credited_balance);
    let run = project(deal, m.rounding, &stress, &pool.loans, amount)
        .map_err(|source| RatingError::Waterfall { notch, source })?;
    Ok((run, amount, Some(outcome)))
}

/// The engine at closing for a level under its own stress: default-and-recovery as stated, or
/// market value through the liquidation engine (at `trough`, or the level's own).
pub fn level_engine<'a>(
    deal: &'a Deal,
    m: &Methodology,
    s: &Stress,
    pool: &AdjustedPool,
    market: Option<&MarketPool>,
    trough: Option<Decimal>,
) -> Result<Engine<'a, BulletPool>, WaterfallError> {
    match (s.market.as_ref(), market) {
        (Some(ms), Some(mp)) => {
            let trough = trough.unwrap_or(ms.btc_trough);
            let (stress, amount, _) =
                market::derive(m, deal, s, ms, mp, trough, pool.report.credited_balance);
            engine(deal, m.rounding, &stress, &pool.loans, amount)
        }
        _ => engine(
            deal,
            m.rounding,
            s,
            &pool.loans,
            default_amount(m, s, s.default_rate, &pool.report),
        ),
    }
}

/// The deepest BTC fall note `k` survives on `level`'s path shape with the rest of its stress
/// held: bisection on [0, 0.99] to 0.5 point, truncated.
fn break_even_decline(
    deal: &Deal,
    m: &Methodology,
    pool: &AdjustedPool,
    market: &MarketPool,
    level: Notch,
    k: usize,
) -> Result<Option<Decimal>, RatingError> {
    let s = &m.level(level).stress;
    if s.market.is_none() {
        return Ok(None);
    }
    let passes_at = |trough: Decimal| -> Result<bool, RatingError> {
        let (run, _, _) = run_market_level(deal, m, s, pool, market, Some(trough), level)?;
        Ok(run.notes[k].passed)
    };
    let step = Decimal::new(5, 3);
    let (mut lo, mut hi) = (Decimal::ZERO, DECLINE_CEILING);
    if passes_at(hi)? {
        return Ok(Some(hi));
    }
    if !passes_at(lo)? {
        return Ok(Some(lo));
    }
    while hi - lo > step {
        let mid = ((lo + hi) / Decimal::TWO).round_dp(4);
        if passes_at(mid)? { lo = mid } else { hi = mid }
    }
    Ok(Some((lo * Decimal::from(200)).floor() / Decimal::from(200)))
}

/// Resolution of [`break_even_liquidation_gap`]: 0.1 point.
pub const GAP_STEP: Decimal = Decimal::from_parts(1, 0, 0, false, 3);

/// The largest liquidation gap note `k` survives on `level` with the rest of its stress held
/// (trough, path, slippage, impact, answer share): bisection over whole steps of [`GAP_STEP`] in
/// [0, 1] until the bracket is one step wide. The result is the bracket's lower end, a tested
/// pass (or 0 when the note fails with no gap); one step above it is a tested fail (unless the
/// note survives a gap of 100%, reported as 1). `None` outside market-value mode.
pub fn break_even_liquidation_gap(
    deal: &Deal,
    m: &Methodology,
    pool: &AdjustedPool,
    market: &MarketPool,
    level: Notch,
    k: usize,
) -> Result<Option<Decimal>, RatingError> {
    if m.level(level).stress.market.is_none() {
        return Ok(None);
    }
    let gap = |steps: i64| Decimal::from(steps) * GAP_STEP;
    let steps = last_pass(1000, |i| {
        passes_with_gap(deal, m, pool, market, level, k, gap(i))
    })?;
    Ok(Some(gap(steps.max(0))))
}

/// The largest whole step in [0, `top`] at which `passes` holds, by bisection (passes assumed
/// monotone: harsher steps fail). The bracket `(pass, fail)` starts at the virtual `(-1, top +
/// 1)` and halves until one step wide; only its midpoints are run, so the result is a tested
/// pass and the step above it a tested fail. -1 when step 0 fails.
fn last_pass(
    top: i64,
    passes: impl Fn(i64) -> Result<bool, RatingError>,
) -> Result<i64, RatingError> {
    let (mut pass, mut fail) = (-1i64, top + 1);
    while fail - pass > 1 {
        let mid = pass + (fail - pass) / 2;
        *(if passes(mid)? { &mut pass } else { &mut fail }) = mid;
    }
    Ok(pass)
}

/// Whether note `k` passes `level` with its liquidation gap replaced by `gap`.
fn passes_with_gap(
    deal: &Deal,
    m: &Methodology,
    pool: &AdjustedPool,
    market: &MarketPool,
    level: Notch,
    k: usize,
    gap: Decimal,
) -> Result<bool, RatingError> {
    let mut held = m.level(level).stress.clone();
    if let Some(ms) = held.market.as_mut() {
        ms.liquidation_gap = gap;
    }
    let (run, _, _) = run_market_level(deal, m, &held, pool, market, None, level)?;
    Ok(run.notes[k].passed)
}

#[cfg(test)]
mod gap_tests;

/// Adjusted pools by rule: levels, methodology versions and attribution runs that share an
/// adjustment rule share one pass of the tape pipeline.
#[derive(Debug, Default)]
pub struct PoolCache {
    pools: Vec<(AdjustmentRule, AdjustedPool)>,
}

impl PoolCache {
    fn get(
        &mut self,
        tape: &Tape,
        at: &Valuation,
        r: &AdjustmentRule,
    ) -> Result<AdjustedPool, RatingError> {
        if let Some((_, p)) = self.pools.iter().find(|(k, _)| k == r) {
            return Ok(p.clone());
        }
        let p = tape.adjust(at, r)?;
        self.pools.push((r.clone(), p.clone()));
        Ok(p)
    }
}

/// Whether to search break-even default rates (the costly part of a rating).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakEvens {
    Search,
    Skip,
}

/// Break-even default rates are searched and reported on a grid of this step (0.1 point).
pub const BREAK_EVEN_STEP: Decimal = Decimal::from_parts(1, 0, 0, false, 3);

/// The largest default rate on the grid `0, 0.001, ..., 1` that note `k` survives with the rest
/// of `level`'s stress held. The end points are tried first (1: survives everything; 0: fails
/// even without defaults); then bisection on whole grid steps keeps a passing lower end and a
/// failing upper end until they are one step apart, and the lower end is the break-even: a rate
/// that was run and passed, one step below a rate that was run and failed.
fn break_even(
    deal: &Deal,
    m: &Methodology,
    pool: &AdjustedPool,
    level: Notch,
    k: usize,
) -> Result<Decimal, RatingError> {
    let s = &m.level(level).stress;
    let passes_at = |rate: Decimal| -> Result<bool, RatingError> {
        Ok(run_level(deal, m, s, pool, rate, level)?.notes[k].passed)
    };
    let steps = (Decimal::ONE / BREAK_EVEN_STEP).trunc();
    let steps: i64 = steps.try_into().unwrap_or(1000);
    let at = |i: i64| Decimal::from(i) * BREAK_EVEN_STEP;
    let (mut lo, mut hi) = (0i64, steps);
    if passes_at(at(hi))? {
        return Ok(at(hi));
    }
    if !passes_at(at(lo))? {
        return Ok(at(lo));
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if passes_at(at(mid))? {
            lo = mid
        } else {
            hi = mid
        }
    }
    Ok(at(lo))
}

/// Rates every note of `deal` on `tape` under every notch of `m`.
pub fn rate(tape: &Tape, deal: &Deal, m: &Methodology) -> Result<RatingResult, RatingError> {
    rate_with(tape, deal, m, &mut PoolCache::default(), BreakEvens::Search)
}

/// [`rate`], sharing adjusted pools through `cache`; with [`BreakEvens::Skip`] the break-even
/// fields are left at zero.
pub fn rate_with(
    tape: &Tape,
    deal: &Deal,
    m: &Methodology,
    cache: &mut PoolCache,
    break_evens: BreakEvens,
) -> Result<RatingResult, RatingError> {
    let at = valuation(deal);
    let market = match m.mode {
        crate::methodology::Mode::MarketValue => Some(MarketPool::from_tape(tape, deal, m)?),
        crate::methodology::Mode::DefaultAndRecovery => None,
    };
    let mut levels = Vec::with_capacity(m.levels.len());
    let mut pools: Vec<AdjustedPool> = Vec::with_capacity(m.levels.len());
    for level in &m.levels {
        pools.push(cache.get(tape, &at, &rule(m, &level.stress))?);
    }
    // Each level's run is independent of the others: run them in parallel. Results do not depend
    // on the number of threads (every run is a pure function of its inputs).
    type LevelRun = (Run, Decimal, Option<MarketOutcome>);
    let runs: Vec<Result<LevelRun, RatingError>> = m
        .levels
        .par_iter()
        .zip(pools.par_iter())
        .map(|(level, pool)| {
            let s = &level.stress;
            match &market {
                Some(mp) => run_market_level(deal, m, s, pool, mp, None, level.notch),
                None => Ok((
                    run_level(deal, m, s, pool, s.default_rate, level.notch)?,
                    default_amount(m, s, s.default_rate, &pool.report),
                    None,
                )),
            }
        })
        .collect();
    for ((level, pool), run) in m.levels.iter().zip(&pools).zip(runs) {
        let (run, default_amount, market) = run?;
        levels.push(LevelResult {
            notch: level.notch,
            adjustments: pool.report.clone(),
            default_amount,
            market,
            notes: run.notes.clone(),
            run,
        });
    }

    let mut warnings = Vec::new();
    let mut ratings = Vec::new();
    for (k, note) in deal.notes.iter().enumerate() {
        let passes: Vec<bool> = levels.iter().map(|l| l.notes[k].passed).collect();
        let indicated = passes.iter().position(|p| *p).map(|i| levels[i].notch);
        let non_monotone = match passes.iter().position(|p| *p) {
            Some(i) => passes[i..].iter().any(|p| !p),
            None => false,
        };
        if non_monotone {
            warnings.push(format!(
                "Class {}: passes are not monotone along the scale (it passes at {} but fails at a lower notch)",
                note.class,
                indicated.map(|n| n.to_string()).unwrap_or_default()
            ));
        }
        ratings.push((k, indicated, non_monotone));
    }
    let notes = ratings
        .par_iter()
        .map(|&(k, indicated, non_monotone)| {
            let level = indicated.unwrap_or(Notch::B_MINUS);
            let pool = &pools[level.index()];
            let decline = match (break_evens, &market) {
                (BreakEvens::Search, Some(mp)) => break_even_decline(deal, m, pool, mp, level, k)?,
                _ => None,
            };
            let gap = match (break_evens, &market) {
                (BreakEvens::Search, Some(mp)) => {
                    break_even_liquidation_gap(deal, m, pool, mp, level, k)?
                }
                _ => None,
            };
            let break_even = match (break_evens, &market, decline) {
                (BreakEvens::Skip, _, _) => Decimal::ZERO,
                // Market value: the default rate the path produces at the break-even decline.
                (BreakEvens::Search, Some(mp), Some(d)) => {
                    let s = &m.level(level).stress;
                    run_market_level(deal, m, s, pool, mp, Some(d), level)?
                        .2
                        .map_or(Decimal::ZERO, |o| o.default_rate)
                        .round_dp_with_strategy(3, rust_decimal::RoundingStrategy::ToZero)
                }
                (BreakEvens::Search, _, _) => break_even(deal, m, pool, level, k)?,
            };
            let base = m.base_case.default_rate.value;
            Ok(NoteRating {
                class: deal.notes[k].class.clone(),
                indicated,
                non_monotone,
                break_even_default_rate: break_even,
                break_even_level: level,
                coverage: if base > Decimal::ZERO && break_evens == BreakEvens::Search {
                    (break_even / base).round_dp(2)
                } else {
                    Decimal::ZERO
                },
                break_even_btc_decline: decline,
                break_even_liquidation_gap: gap,
            })
        })
        .collect::<Result<Vec<_>, RatingError>>()?;
    Ok(RatingResult {
        levels,
        notes,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::methodology::Registry;

    /// Every note's break-even default rate under 1.0.0 and 1.1.0 passes when run, and one search
    /// step above it fails: the reported digit is the last one that holds.
    #[test]
    fn a_break_even_passes_and_one_step_above_fails() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let deal = Deal::load(&root.join("pools/ledn-2026-1/deal.yaml")).expect("deal");
        let tape = Tape::read(&deal.pool.tape).expect("tape");
        let registry = Registry::new(root.join("methodology"));
        for version in ["1.0.0", "1.1.0"] {
            let m = registry
                .resolve(&format!("btc-backed-consumer-loans@{version}"))
                .expect("methodology");
            let r = rate(&tape, &deal, &m).expect("rating");
            for (k, note) in r.notes.iter().enumerate() {
                let level = note.break_even_level;
                let s = &m.level(level).stress;
                let pool = tape.adjust(&valuation(&deal), &rule(&m, s)).expect("pool");
                let passes = |rate: Decimal| {
                    run_level(&deal, &m, s, &pool, rate, level)
                        .expect("run")
                        .notes[k]
                        .passed
                };
                let be = note.break_even_default_rate;
                assert!(
                    passes(be),
                    "{version} {}: fails at its break-even {be}",
                    note.class
                );
                if be < Decimal::ONE {
                    let above = be + BREAK_EVEN_STEP;
                    assert!(
                        !passes(above),
                        "{version} {}: passes at {above}",
                        note.class
                    );
                }
            }
        }
    }

    /// The deal's state and the pool captured after period k of a full run, fed back into a new
    /// engine, reproduce periods k+1.. and every note's verdict to the cent, at every level of a
    /// default-and-recovery methodology (1.0.0) and a market-value one (2.0.0).
    #[test]
    fn a_run_resumed_from_its_state_after_period_k_reproduces_the_rest() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let deal = Deal::load(&root.join("pools/ledn-2026-1/deal.yaml")).expect("deal");
        let tape = Tape::read(&deal.pool.tape).expect("tape");
        let registry = Registry::new(root.join("methodology"));
        let mut checked = 0;
        for version in ["1.0.0", "2.0.0"] {
            let m = registry
                .resolve(&format!("btc-backed-consumer-loans@{version}"))
                .expect("methodology");
            let market = match m.mode {
                crate::methodology::Mode::MarketValue => {
                    Some(MarketPool::from_tape(&tape, &deal, &m).expect("market pool"))
                }
                crate::methodology::Mode::DefaultAndRecovery => None,
            };
            let mut cache = PoolCache::default();
            for level in &m.levels {
                let pool = cache
                    .get(&tape, &valuation(&deal), &rule(&m, &level.stress))
                    .expect("pool");
                let start = level_engine(&deal, &m, &level.stress, &pool, market.as_ref(), None)
                    .expect("engine");
                let full = start.clone().run().expect("full run");
                let n = full.periods.len();
                for k in [1, 6, 12, 13, n / 2, n - 1] {
                    if k == 0 || k >= n {
                        continue;
                    }
                    let mut e = start.clone();
                    for _ in 0..k {
                        e.step().expect("step");
                    }
                    let state = e.state().clone();
                    assert_eq!(state.period as usize, k);
                    let resumed = Engine::new(&deal, e.terms(), state, e.collateral().clone())
                        .expect("engine from state")
                        .run()
                        .expect("resumed run");
                    assert_eq!(
                        resumed.periods,
                        full.periods[k..],
                        "{version} '{}' resumed after period {k}",
                        level.notch
                    );
                    assert_eq!(resumed.notes, full.notes, "{version} '{}'", level.notch);
                    checked += 1;
                }
            }
        }
        assert!(checked >= 2 * 16 * 4, "only {checked} resumptions checked");
    }
}
