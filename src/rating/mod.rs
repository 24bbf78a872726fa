//! The rating grid: every note at every notch, the indicated ratings and the break-evens.
//!
//! A level's stress becomes a [`Scenario`] (its defaults, stated or derived from a price path by
//! the liquidation engine), the scenario drives the collateral model, and the waterfall runs over
//! the deal's state from closing. Break-even searches (`break_even.rs`) vary one term of a level
//! and hold the rest.

use std::sync::Arc;

use rayon::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;

#[cfg(test)]
mod agreement_tests;
pub mod auto;
mod break_even;
#[cfg(test)]
mod gap_tests;
pub mod market;
pub mod overlay;

pub use break_even::{BREAK_EVEN_STEP, DECLINE_CEILING, DECLINE_STEP, GAP_STEP};
pub use market::{MarketOutcome, MarketPool};

use crate::asset::{BulletPool, BulletTerms};
use crate::deal::{Deal, DealState};
use crate::methodology::{
    DefaultOrder, DefaultRecovery, MarketFile, Methodology, Notch, Overlay, PassCriteria, Stress,
    StressKind,
};
use crate::money::{Amount, Rounding};
use crate::tape::{
    AdjustBase, AdjustedPool, AdjustmentReport, AdjustmentRule, PoolLoan, Tape, TapeError,
    Valuation,
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
    /// A Monte Carlo path's run (`absrate simulate`).
    #[error("path {index}: {source}")]
    Path { index: u64, source: WaterfallError },
    /// A state validation rules out: a bug.
    #[error("internal error: {0}")]
    Internal(String),
}

impl RatingError {
    /// True when the inputs are at fault rather than absrate.
    pub fn is_invalid_input(&self) -> bool {
        match self {
            RatingError::Tape(e) => e.is_invalid_input(),
            RatingError::Waterfall { source, .. } | RatingError::Path { source, .. } => {
                source.is_invalid_input()
            }
            RatingError::Internal(_) => false,
        }
    }
}

/// One notch of the grid.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LevelResult {
    pub notch: Notch,
    pub adjustments: AdjustmentReport,
    /// Cumulative defaults the period engine was given, USD (stated default rate with the
    /// capitalized-interest multiplier, or the principal the price path liquidated).
    #[serde(serialize_with = "crate::money::json::money")]
    #[schemars(with = "String")]
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
    /// The rating given: the quantitative rating after the methodology's overlays; `None` below
    /// 'B-'. What `rate` prints as the indicated rating.
    pub indicated: Option<Notch>,
    /// Highest notch passed (the grid's result, before overlays); `None` when the note fails at
    /// every notch.
    pub quantitative: Option<Notch>,
    /// The overlays that set `indicated` below `quantitative` (all that reach it); empty when
    /// none binds.
    pub overlays: Vec<Overlay>,
    /// Passes are not monotone along the scale (a pass above a fail).
    pub non_monotone: bool,
    /// The level whose stress the break-evens hold: the quantitative level, or 'B-'.
    pub break_even_level: Notch,
    /// The break-evens of the methodology's mode; `None` when they were not searched.
    pub break_even: Option<BreakEven>,
}

/// A note's break-evens, by the mode of the methodology.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum BreakEven {
    /// The largest default rate survived with the rest of the level held ([`BREAK_EVEN_STEP`]),
    /// and its multiple of the base-case default rate (two places, half to even).
    DefaultAndRecovery {
        default_rate: Decimal,
        coverage: Decimal,
    },
    /// The largest liquidation gap survived with the rest of the level held ([`GAP_STEP`]), and
    /// the deepest BTC fall on the level's path ([`DECLINE_STEP`]); `btc_decline` is `None` when
    /// the note survives [`DECLINE_CEILING`]: it does not bind.
    MarketValue {
        liquidation_gap: Decimal,
        btc_decline: Option<Decimal>,
    },
}

impl NoteRating {
    pub fn break_even_default_rate(&self) -> Option<Decimal> {
        match self.break_even {
            Some(BreakEven::DefaultAndRecovery { default_rate, .. }) => Some(default_rate),
            _ => None,
        }
    }

    pub fn coverage(&self) -> Option<Decimal> {
        match self.break_even {
            Some(BreakEven::DefaultAndRecovery { coverage, .. }) => Some(coverage),
            _ => None,
        }
    }

    pub fn break_even_liquidation_gap(&self) -> Option<Decimal> {
        match self.break_even {
            Some(BreakEven::MarketValue {
                liquidation_gap, ..
            }) => Some(liquidation_gap),
            _ => None,
        }
    }

    /// The break-even BTC decline where it binds.
    pub fn binding_btc_decline(&self) -> Option<Decimal> {
        match self.break_even {
            Some(BreakEven::MarketValue { btc_decline, .. }) => btc_decline,
            _ => None,
        }
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

/// The adjustment rule of a level's stress under `m`.
pub fn rule(m: &Methodology, s: &Stress) -> AdjustmentRule {
    AdjustmentRule {
        rounding: m.rounding,
        obligor_limit: s.obligor_limit,
        capitalized_interest_credit: s.capitalized_interest_credit,
        top_obligor_defaults: s.top_obligor_defaults,
        highest_ltv_first: s.default_order == DefaultOrder::HighestLtvFirst,
    }
}

/// Cumulative defaults of a default-and-recovery level at `rate`: `rate x (credited balance +
/// (multiplier - 1) x balance of loans carrying capitalized interest)`, rounded by the money
/// rule, capped at the credited balance.
pub fn default_amount(
    rounding: Rounding,
    d: &DefaultRecovery,
    rate: Decimal,
    a: &AdjustmentReport,
) -> Decimal {
    let extra =
        (d.capitalized_interest_default_multiplier - Decimal::ONE) * a.capitalized_loans_balance;
    rounding
        .round(rate * (a.credited_balance + extra))
        .min(a.credited_balance)
}

/// A level's defaults as the collateral model takes them, however they were found.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Cumulative defaults, USD.
    pub default_amount: Decimal,
    /// Share of the defaults in each month from closing; sums to 1.
    pub default_timing: Vec<Decimal>,
    pub recovery_rate: Decimal,
    /// What the price path did (market value).
    pub market: Option<MarketOutcome>,
}

/// One term of a level replaced, the rest held: what break-even searches vary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vary {
    Nothing,
    DefaultRate(Decimal),
    BtcTrough(Decimal),
    LiquidationGap(Decimal),
}

/// A market-value methodology's pool and facts, shared by every level.
#[derive(Debug, Clone)]
pub struct Market<'a> {
    pub pool: MarketPool,
    pub facts: &'a MarketFile,
}

impl<'a> Market<'a> {
    /// The market context of `m` over `tape`; `None` for a default-and-recovery methodology.
    pub fn of(
        tape: &Tape,
        deal: &Deal,
        m: &'a Methodology,
    ) -> Result<Option<Market<'a>>, RatingError> {
        match &m.market {
            Some(facts) => Ok(Some(Market {
                pool: MarketPool::from_tape(tape, deal, facts)?,
                facts,
            })),
            None => Ok(None),
        }
    }
}

/// The scenario of a level under its stress with `vary` applied.
pub fn scenario(
    deal: &Deal,
    m: &Methodology,
    s: &Stress,
    pool: &AdjustedPool,
    market: Option<&Market<'_>>,
    vary: Vary,
) -> Result<Scenario, RatingError> {
    match (&s.kind, market) {
        (StressKind::DefaultAndRecovery(d), _) => {
            let rate = match vary {
                Vary::DefaultRate(r) => r,
                _ => d.default_rate,
            };
            Ok(Scenario {
                default_amount: default_amount(m.rounding, d, rate, &pool.report),
                default_timing: d.default_timing.clone(),
                recovery_rate: d.recovery_rate,
                market: None,
            })
        }
        (StressKind::MarketValue(ms), Some(mk)) => {
            let mut ms = ms.clone();
            match vary {
                Vary::BtcTrough(t) => ms.btc_trough = t,
                Vary::LiquidationGap(g) => ms.liquidation_gap = g,
                Vary::Nothing | Vary::DefaultRate(_) => {}
            }
            market::derive(m, mk, deal, &ms, pool.report.credited_balance)
        }
        (StressKind::MarketValue(_), None) => Err(RatingError::Internal(format!(
            "{}: a market-value level without the methodology's `market` facts",
            m.name()
        ))),
    }
}

/// The engine at closing for one level: the BTC bullet-loan pool under the scenario and the
/// deal's closing state, computing in `A` (exact `Decimal`, or `f64`: see [`Amount`]).
pub fn engine<'a, A: Amount>(
    deal: &'a Deal,
    rules: Rules,
    s: &Stress,
    loans: &[PoolLoan],
    sc: &Scenario,
) -> Result<Engine<'a, BulletPool<A>, A>, WaterfallError> {
    let terms = BulletTerms {
        default_amount: sc.default_amount,
        default_timing: sc.default_timing.clone(),
        default_order: s.default_order,
        recovery_rate: sc.recovery_rate,
        recovery_lag_months: s.recovery_lag_months,
        interest_cash_share: s.interest_cash_share,
        reinvestment_yield: s.reinvestment_yield,
        reinvestment_ltv: s.reinvestment_ltv,
        cash_drag_months: s.cash_drag_months,
        new_loan_term_months: deal.new_loan_term_months,
        rounding: rules.rounding,
    };
    let mut collateral = BulletPool::new(loans, &deal.payment_dates(), terms);
    let state = DealState::open(deal, &mut collateral, rules.rounding);
    Engine::new(
        deal,
        WaterfallTerms {
            servicing_fee_rate: s.servicing_fee_rate,
            rounding: rules.rounding,
            pass_criteria: rules.pass_criteria,
        },
        state,
        collateral,
    )
}

/// The deal from closing through the legal final under a scenario.
pub fn project(
    deal: &Deal,
    rules: Rules,
    s: &Stress,
    loans: &[PoolLoan],
    sc: &Scenario,
) -> Result<Run, WaterfallError> {
    engine(deal, rules, s, loans, sc)?.run()
}

/// The methodology-wide rules a projection follows: money rounding and what a note must receive
/// to pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    pub rounding: Rounding,
    pub pass_criteria: PassCriteria,
}

impl Rules {
    pub fn of(m: &Methodology) -> Rules {
        Rules {
            rounding: m.rounding,
            pass_criteria: m.pass_criteria,
        }
    }
}

/// A level under its stress with `vary` applied: the scenario and the run.
pub fn run_level(
    deal: &Deal,
    m: &Methodology,
    level: Notch,
    pool: &AdjustedPool,
    market: Option<&Market<'_>>,
    vary: Vary,
) -> Result<(Scenario, Run), RatingError> {
    let s = &m.level(level).stress;
    let sc = scenario(deal, m, s, pool, market, vary)?;
    let run = project(deal, Rules::of(m), s, &pool.loans, &sc).map_err(|source| {
        RatingError::Waterfall {
            notch: level,
            source,
        }
    })?;
    Ok((sc, run))
}

/// Adjusted pools by rule: levels, methodology versions and attribution runs that share an
/// adjustment rule share one adjusted pool, and every rule starts from one read of the tape's
/// loans at the valuation.
#[derive(Debug, Default)]
pub struct PoolCache {
    base: Option<AdjustBase>,
    pools: Vec<(AdjustmentRule, Arc<AdjustedPool>)>,
}

impl PoolCache {
    pub fn get(
        &mut self,
        tape: &Tape,
        at: &Valuation,
        r: &AdjustmentRule,
    ) -> Result<Arc<AdjustedPool>, RatingError> {
        if let Some((_, p)) = self.pools.iter().find(|(k, _)| k == r) {
            return Ok(Arc::clone(p));
        }
        let base = match &mut self.base {
            Some(b) if b.valuation() == at => b,
            slot => slot.insert(tape.adjust_base(at)?),
        };
        let p = Arc::new(base.adjust(r));
        self.pools.push((r.clone(), Arc::clone(&p)));
        Ok(p)
    }
}

/// Whether to search break-evens (the costly part of a rating).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakEvens {
    Search,
    Skip,
}

/// Rates every note of `deal` on `tape` under every notch of `m`.
pub fn rate(tape: &Tape, deal: &Deal, m: &Methodology) -> Result<RatingResult, RatingError> {
    rate_with(tape, deal, m, &mut PoolCache::default(), BreakEvens::Search)
}

/// [`rate`], sharing adjusted pools through `cache`; with [`BreakEvens::Skip`] no break-even is
/// searched (`NoteRating::break_even` is `None`).
pub fn rate_with(
    tape: &Tape,
    deal: &Deal,
    m: &Methodology,
    cache: &mut PoolCache,
    break_evens: BreakEvens,
) -> Result<RatingResult, RatingError> {
    let at = valuation(deal);
    let market = Market::of(tape, deal, m)?;
    let mut pools: Vec<Arc<AdjustedPool>> = Vec::with_capacity(m.levels.len());
    for level in &m.levels {
        pools.push(cache.get(tape, &at, &rule(m, &level.stress))?);
    }
    // Each level's run is independent of the others: run them in parallel. Results do not depend
    // on the number of threads (every run is a pure function of its inputs).
    let runs: Vec<Result<(Scenario, Run), RatingError>> = m
        .levels
        .par_iter()
        .zip(pools.par_iter())
        .map(|(level, pool)| run_level(deal, m, level.notch, pool, market.as_ref(), Vary::Nothing))
        .collect();
    let mut levels = Vec::with_capacity(m.levels.len());
    for ((level, pool), run) in m.levels.iter().zip(&pools).zip(runs) {
        let (sc, run) = run?;
        levels.push(LevelResult {
            notch: level.notch,
            adjustments: pool.report.clone(),
            default_amount: sc.default_amount,
            market: sc.market,
            notes: run.notes.clone(),
            run,
        });
    }

    let mut warnings = Vec::new();
    let mut ratings = Vec::new();
    for (k, note) in deal.notes.iter().enumerate() {
        let passes: Vec<bool> = levels.iter().map(|l| l.notes[k].passed).collect();
        let quantitative = passes.iter().position(|p| *p).map(|i| levels[i].notch);
        let non_monotone = match passes.iter().position(|p| *p) {
            Some(i) => passes[i..].iter().any(|p| !p),
            None => false,
        };
        if non_monotone {
            warnings.push(format!(
                "Class {}: passes are not monotone along the scale (it passes at {} but fails at a lower notch)",
                note.class,
                quantitative.map(|n| n.to_string()).unwrap_or_default()
            ));
        }
        ratings.push((k, quantitative, non_monotone));
    }
    let notes = ratings
        .par_iter()
        .map(|&(k, quantitative, non_monotone)| {
            let level = quantitative.unwrap_or(Notch::B_MINUS);
            let pool = &pools[level.index()];
            let break_even = match break_evens {
                BreakEvens::Skip => None,
                BreakEvens::Search => Some(
                    break_even::Probe {
                        deal,
                        m,
                        pool,
                        market: market.as_ref(),
                        level,
                        k,
                    }
                    .search()?,
                ),
            };
            let overlaid = overlay::apply(quantitative, &m.overlays);
            Ok(NoteRating {
                class: deal.notes[k].class.clone(),
                indicated: overlaid.rating,
                quantitative,
                overlays: overlaid.binding,
                non_monotone,
                break_even_level: level,
                break_even,
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
                let probe = break_even::Probe {
                    deal: &deal,
                    m: &m,
                    pool: &pool,
                    market: None,
                    level,
                    k,
                };
                let passes = |rate| probe.passes(Vary::DefaultRate(rate)).expect("run");
                let be = note
                    .break_even_default_rate()
                    .expect("default and recovery");
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
            let market = Market::of(&tape, &deal, &m).expect("market pool");
            let mut cache = PoolCache::default();
            for level in &m.levels {
                let pool = cache
                    .get(&tape, &valuation(&deal), &rule(&m, &level.stress))
                    .expect("pool");
                let s = &level.stress;
                let sc = scenario(&deal, &m, s, &pool, market.as_ref(), Vary::Nothing)
                    .expect("scenario");
                let start =
                    engine::<Decimal>(&deal, Rules::of(&m), s, &pool.loans, &sc).expect("engine");
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
