//! Break-evens: how far one term of a note's level can go before the note fails, the rest of the
//! level held. Every search runs on a grid of whole steps of the resolution it reports, so the
//! reported value is a run that passed and one step harsher is a run that failed.
//!
//! - default and recovery: the default rate, 0 to 1 in steps of 0.1 point;
//! - market value: the liquidation gap (sale discount below the trigger price), 0 to 1 in steps
//!   of 0.1 point; and the BTC fall to the path's trough, 0 to 99% in steps of 0.5 point, reported
//!   only where it binds (a note that survives a 99% fall loses money from the terms of its
//!   sales, not from the depth of the fall).
//!
//! The searches run on the period engine in `f64` (fast, agreeing with `Decimal` to the cent) and
//! confirm their answer in exact `Decimal`: the reported value passes in `Decimal` and one step
//! harsher fails in `Decimal`. Where the two disagree at the bracket, the grid is walked in
//! `Decimal` from there until that holds ([`last_pass_confirmed`]).

use rust_decimal::Decimal;

use super::{BreakEven, Market, RatingError, Rules, Vary, engine, scenario};
use crate::deal::Deal;
use crate::methodology::{Methodology, Notch, StressKind};
use crate::money::Amount;
use crate::tape::AdjustedPool;

/// Resolution of the break-even default rate: 0.1 point.
pub const BREAK_EVEN_STEP: Decimal = Decimal::from_parts(1, 0, 0, false, 3);
/// Resolution of the break-even liquidation gap: 0.1 point.
pub const GAP_STEP: Decimal = Decimal::from_parts(1, 0, 0, false, 3);
/// Resolution of the break-even BTC decline: 0.5 point.
pub const DECLINE_STEP: Decimal = Decimal::from_parts(5, 0, 0, false, 3);
/// The deepest fall tried: a note that survives it survives any fall on that path.
pub const DECLINE_CEILING: Decimal = Decimal::from_parts(99, 0, 0, false, 2);

/// The largest whole step in `0..=top` at which `passes` holds, passes assumed monotone (harsher
/// steps fail). The end points are run first: `top` passing returns `top`; 0 failing returns
/// `None`. Then bisection on whole steps keeps a passing lower end and a failing upper end until
/// they are one step apart (midpoint `lo + (hi - lo) / 2`, rounded down), and returns the lower.
pub(super) fn last_pass(
    top: i64,
    passes: impl Fn(i64) -> Result<bool, RatingError>,
) -> Result<Option<i64>, RatingError> {
    if passes(top)? {
        return Ok(Some(top));
    }
    if !passes(0)? {
        return Ok(None);
    }
    let (mut lo, mut hi) = (0i64, top);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if passes(mid)? { lo = mid } else { hi = mid }
    }
    Ok(Some(lo))
}

/// [`last_pass`] searched with `fast`, an approximation of `exact`, and confirmed with `exact`:
/// the answer `i` passes in `exact` and `i + 1` fails in `exact` (or `i` is `top`, passing; or
/// `None`, 0 failing). Where `exact` disagrees at the bracket `fast` found, the grid is walked in
/// `exact` from there, down while `i` fails, up while `i + 1` passes: two exact runs when the two
/// agree, one more per step of disagreement.
pub(super) fn last_pass_confirmed(
    top: i64,
    fast: impl Fn(i64) -> Result<bool, RatingError>,
    exact: impl Fn(i64) -> Result<bool, RatingError>,
) -> Result<Option<i64>, RatingError> {
    // -1 stands for "0 fails".
    let mut i = last_pass(top, fast)?.unwrap_or(-1);
    if i >= 0 && !exact(i)? {
        i -= 1;
        while i >= 0 && !exact(i)? {
            i -= 1;
        }
        // `i + 1` was run and failed.
        return Ok((i >= 0).then_some(i));
    }
    while i < top && exact(i + 1)? {
        i += 1;
    }
    Ok((i >= 0).then_some(i))
}

/// Steps of `step` in `0..=ceiling`.
fn steps(ceiling: Decimal, step: Decimal) -> i64 {
    (ceiling / step).trunc().try_into().unwrap_or(0)
}

/// One note at one level of one deal: what a break-even search runs again and again.
pub(super) struct Probe<'a> {
    pub deal: &'a Deal,
    pub m: &'a Methodology,
    pub pool: &'a AdjustedPool,
    pub market: Option<&'a Market<'a>>,
    pub level: Notch,
    /// The note, by position.
    pub k: usize,
}

impl Probe<'_> {
    /// Whether the note passes its level with `vary` applied, exactly (`Decimal`).
    #[cfg(test)]
    pub fn passes(&self, vary: Vary) -> Result<bool, RatingError> {
        self.passes_in::<Decimal>(vary)
    }

    /// Whether the note passes its level with `vary` applied, the period engine computing in `A`
    /// (no period rows are kept).
    pub fn passes_in<A: Amount>(&self, vary: Vary) -> Result<bool, RatingError> {
        let s = &self.m.level(self.level).stress;
        let sc = scenario(self.deal, self.m, s, self.pool, self.market, vary)?;
        let notes = engine::<A>(self.deal, Rules::of(self.m), s, &self.pool.loans, &sc)
            .and_then(|e| e.run_outcomes())
            .map_err(|source| RatingError::Waterfall {
                notch: self.level,
                source,
            })?;
        Ok(notes[self.k].passed)
    }

    /// The largest whole step of `step` in `0..=top` that the note passes with `vary` at it:
    /// searched in `f64`, confirmed in `Decimal`.
    fn last_pass(
        &self,
        top: i64,
        vary: fn(Decimal) -> Vary,
        step: Decimal,
    ) -> Result<Option<i64>, RatingError> {
        let at = |i: i64| vary(Decimal::from(i) * step);
        last_pass_confirmed(
            top,
            |i| self.passes_in::<f64>(at(i)),
            |i| self.passes_in::<Decimal>(at(i)),
        )
    }

    /// The break-evens of the note, by the level's mode.
    pub fn search(&self) -> Result<BreakEven, RatingError> {
        match &self.m.level(self.level).stress.kind {
            StressKind::DefaultAndRecovery(_) => {
                let top = steps(Decimal::ONE, BREAK_EVEN_STEP);
                let i = self
                    .last_pass(top, Vary::DefaultRate, BREAK_EVEN_STEP)?
                    .unwrap_or(0);
                let default_rate = Decimal::from(i) * BREAK_EVEN_STEP;
                let base = self.m.base_case.default_rate.value;
                Ok(BreakEven::DefaultAndRecovery {
                    default_rate,
                    coverage: default_rate
                        .checked_div(base)
                        .unwrap_or_default()
                        .round_dp(2),
                })
            }
            StressKind::MarketValue(_) => {
                let top = steps(Decimal::ONE, GAP_STEP);
                let gap = self
                    .last_pass(top, Vary::LiquidationGap, GAP_STEP)?
                    .unwrap_or(0);
                let top = steps(DECLINE_CEILING, DECLINE_STEP);
                let decline = self.last_pass(top, Vary::BtcTrough, DECLINE_STEP)?;
                Ok(BreakEven::MarketValue {
                    liquidation_gap: Decimal::from(gap) * GAP_STEP,
                    btc_decline: match decline {
                        Some(i) if i == top => None,
                        other => Some(Decimal::from(other.unwrap_or(0)) * DECLINE_STEP),
                    },
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_pass_is_a_tested_pass_one_step_below_a_tested_fail() {
        for threshold in [-1i64, 0, 1, 2, 499, 999, 1000] {
            let tried = std::cell::RefCell::new(Vec::new());
            let found = last_pass(1000, |i| {
                tried.borrow_mut().push(i);
                Ok(i <= threshold)
            })
            .expect("search");
            let expected = (threshold >= 0).then_some(threshold);
            assert_eq!(found, expected, "threshold {threshold}");
            let tried = tried.into_inner();
            if let Some(i) = found {
                assert!(tried.contains(&i), "{i} was not run");
                if i < 1000 {
                    assert!(tried.contains(&(i + 1)), "{} was not run", i + 1);
                }
            }
            assert!(tried.len() <= 12, "{} runs", tried.len());
        }
    }

    /// A fast probe that is wrong by a few steps (here and there, high or low) still yields the
    /// exact answer: a pass in the exact probe one step below a fail in the exact probe, as the
    /// exact search alone would find, walking the grid from where the fast search ended.
    #[test]
    fn a_fast_search_that_is_off_is_walked_to_the_exact_answer() {
        let top = 1000;
        for exact_last in [-1i64, 0, 1, 2, 499, 998, 999, 1000] {
            for off in -3i64..=3 {
                let exact_runs = std::cell::RefCell::new(Vec::new());
                let found = last_pass_confirmed(
                    top,
                    |i| Ok(i <= exact_last + off),
                    |i| {
                        exact_runs.borrow_mut().push(i);
                        Ok(i <= exact_last)
                    },
                )
                .expect("search");
                let alone = last_pass(top, |i| Ok(i <= exact_last)).expect("search");
                assert_eq!(found, alone, "exact {exact_last}, fast off by {off}");
                let runs = exact_runs.into_inner();
                match found {
                    Some(i) => {
                        assert!(runs.contains(&i), "{i} not confirmed");
                        if i < top {
                            assert!(runs.contains(&(i + 1)), "{} not confirmed", i + 1);
                        }
                    }
                    None => assert!(runs.contains(&0), "0 not confirmed"),
                }
                assert!(
                    runs.len() as i64 <= 2 + off.abs(),
                    "exact {exact_last}, off {off}: {runs:?}"
                );
            }
        }
    }

    /// Where fast and exact agree, the exact probe runs twice: the answer and one step above.
    #[test]
    fn an_agreeing_fast_search_costs_two_exact_runs() {
        let runs = std::cell::Cell::new(0);
        let found = last_pass_confirmed(
            1000,
            |i| Ok(i <= 790),
            |i| {
                runs.set(runs.get() + 1);
                Ok(i <= 790)
            },
        )
        .expect("search");
        assert_eq!((found, runs.get()), (Some(790), 2));
    }
}
