//! Break-evens: how far one term of a note's level can go before the note fails, the rest of the
//! level held. Every search runs on a grid of whole steps of the resolution it reports, so the
//! reported value is a run that passed and one step harsher is a run that failed.
//!
//! - default and recovery: the default rate, 0 to 1 in steps of 0.1 point;
//! - market value: the liquidation gap (sale discount below the trigger price), 0 to 1 in steps
//!   of 0.1 point; and the BTC fall to the path's trough, 0 to 99% in steps of 0.5 point, reported
//!   only where it binds (a note that survives a 99% fall loses money from the terms of its
//!   sales, not from the depth of the fall).

use rust_decimal::Decimal;

use super::{BreakEven, Market, RatingError, Vary, run_level};
use crate::deal::Deal;
use crate::methodology::{Methodology, Notch, StressKind};
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
    /// Whether the note passes its level with `vary` applied.
    pub fn passes(&self, vary: Vary) -> Result<bool, RatingError> {
        let (_, run) = run_level(self.deal, self.m, self.level, self.pool, self.market, vary)?;
        Ok(run.notes[self.k].passed)
    }

    /// The break-evens of the note, by the level's mode.
    pub fn search(&self) -> Result<BreakEven, RatingError> {
        let at = |vary: fn(Decimal) -> Vary, step: Decimal| {
            move |i: i64| self.passes(vary(Decimal::from(i) * step))
        };
        match &self.m.level(self.level).stress.kind {
            StressKind::DefaultAndRecovery(_) => {
                let top = steps(Decimal::ONE, BREAK_EVEN_STEP);
                let i = last_pass(top, at(Vary::DefaultRate, BREAK_EVEN_STEP))?.unwrap_or(0);
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
                let gap = last_pass(top, at(Vary::LiquidationGap, GAP_STEP))?.unwrap_or(0);
                let top = steps(DECLINE_CEILING, DECLINE_STEP);
                let decline = last_pass(top, at(Vary::BtcTrough, DECLINE_STEP))?;
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
}
