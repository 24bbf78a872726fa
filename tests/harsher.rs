//! A harsher stress never rates a note better (issue 13), on the bundled deal under a
//! default-and-recovery methodology (1.0.0) and a market-value one (2.0.1):
//!
//! - a longer lag (`recovery_lag_months`, `cash_drag_months`, `liquidation_lag_days`) at every
//!   level never gives a better indicated rating: a lag of 4294967295 months once wrapped
//!   `t + lag` into a past period and rated the notes better than a lag of 1,000;
//! - every numeric parameter of [`FIELDS`] with a harsher direction, moved that way at one level
//!   (by a random share of the room its range leaves), never turns a note's indicated rating into
//!   a better one.
//!
//! The methodology's copy is changed in its resolved levels (`Level::params`, rebuilt into
//! `Level::stress`); only the changed level is run again, the others keep the grid's verdicts.

use std::path::Path;
use std::sync::OnceLock;

use absrate::deal::Deal;
use absrate::limits;
use absrate::methodology::{FIELDS, Field, Harsher, Kind, Methodology, Registry, Stress, Value};
use absrate::rating::{self, BreakEvens, Market, PoolCache, Vary};
use absrate::tape::Tape;
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

const V1: &str = "btc-backed-consumer-loans@1.0.0";
const V2: &str = "btc-backed-consumer-loans@2.0.1";

/// The bundled deal, its tape, a methodology and the grid's verdicts under it.
struct Case {
    deal: Deal,
    tape: Tape,
    m: Methodology,
    /// `passes[level][note]`, levels 'AAA' first.
    passes: Vec<Vec<bool>>,
}

fn load(version: &str) -> Case {
    let deal = Deal::load(Path::new("pools/ledn-2026-1/deal.yaml")).unwrap();
    let tape = Tape::read(&deal.pool.tape).unwrap();
    let m = Registry::new("methodology").resolve(version).unwrap();
    let passes = grid(&tape, &deal, &m);
    Case {
        deal,
        tape,
        m,
        passes,
    }
}

fn case(version: &str) -> &'static Case {
    static V1_CASE: OnceLock<Case> = OnceLock::new();
    static V2_CASE: OnceLock<Case> = OnceLock::new();
    let cell = if version == V1 { &V1_CASE } else { &V2_CASE };
    cell.get_or_init(|| load(version))
}

/// Every level's verdict per note (no break-even searched).
fn grid(tape: &Tape, deal: &Deal, m: &Methodology) -> Vec<Vec<bool>> {
    let r = rating::rate_with(tape, deal, m, &mut PoolCache::default(), BreakEvens::Skip)
        .expect("the bundled deal rates");
    r.levels
        .iter()
        .map(|l| l.notes.iter().map(|n| n.passed).collect())
        .collect()
}

/// The verdicts of one level of `m`, run alone.
fn level_passes(c: &Case, m: &Methodology, level: usize) -> Vec<bool> {
    let at = rating::valuation(&c.deal);
    let market = Market::of(&c.tape, &c.deal, m).unwrap();
    let l = &m.levels[level];
    let pool = PoolCache::default()
        .get(&c.tape, &at, &rating::rule(m, &l.stress))
        .unwrap();
    let (_, run) = rating::run_level(&c.deal, m, l.notch, &pool, market.as_ref(), Vary::Nothing)
        .expect("the level runs");
    run.notes.iter().map(|n| n.passed).collect()
}

/// Position on the scale of the indicated rating of note `k` (0 = 'AAA'; 16 = below 'B-'):
/// larger is worse.
fn indicated(passes: &[Vec<bool>], k: usize) -> usize {
    passes.iter().position(|l| l[k]).unwrap_or(passes.len())
}

/// `m` with parameter `field` of level `level` set to `value`, its stress rebuilt.
fn with(m: &Methodology, level: usize, field: usize, value: Value) -> Methodology {
    let mut m = m.clone();
    let l = &mut m.levels[level];
    l.params[field].value = value;
    l.stress = Stress::from_params(&l.params).expect("a value of the field's kind");
    m
}

/// The value of `field` moved harsher by `share` (0 to 1) of the room its range leaves; `None`
/// when it is already at its harshest, or not a number of this mode.
fn harsher(f: &Field, v: &Value, share: Decimal) -> Option<Value> {
    let up = match f.harsher {
        Harsher::Higher => true,
        Harsher::Lower => false,
        Harsher::Unordered => return None,
    };
    match (f.kind, v) {
        (Kind::Share | Kind::Multiplier, Value::Decimal(d)) => {
            let (low, high) = match f.kind {
                Kind::Share => (Decimal::ZERO, Decimal::ONE),
                _ => (Decimal::ONE, limits::MULTIPLIER_MAX),
            };
            let room = if up { high - d } else { d - low };
            let step = (room * share).round_dp(6).max(Decimal::new(1, 6)).min(room);
            (room > Decimal::ZERO).then(|| Value::Decimal(if up { d + step } else { d - step }))
        }
        (Kind::Count(max), Value::Count(n)) => {
            let room = if up { max - n } else { *n };
            let step = (Decimal::from(room) * share).round().to_u32().unwrap_or(1);
            let step = step.clamp(1, room.max(1));
            (room > 0).then(|| Value::Count(if up { n + step } else { n - step }))
        }
        _ => None,
    }
}

/// Every numeric parameter of `version` moved harsher at `level`: no note rates better.
fn no_harsher_parameter_helps(version: &str, level: usize, share: Decimal) -> Result<(), String> {
    let c = case(version);
    let mut moved = 0;
    for (field, f) in FIELDS.iter().enumerate() {
        let Some(value) = harsher(f, &c.m.levels[level].params[field].value, share) else {
            continue;
        };
        moved += 1;
        let m = with(&c.m, level, field, value.clone());
        let mut passes = c.passes.clone();
        passes[level] = level_passes(c, &m, level);
        for k in 0..c.deal.notes.len() {
            let (before, after) = (indicated(&c.passes, k), indicated(&passes, k));
            if after < before {
                return Err(format!(
                    "{version}: {} = {value} at '{}' (was {}) rates Class {} at '{}' instead of '{}'",
                    f.name,
                    c.m.levels[level].notch,
                    c.m.levels[level].params[field].value,
                    c.deal.notes[k].class,
                    c.m.levels[after].notch,
                    c.m.levels
                        .get(before)
                        .map_or("below B-".into(), |l| l.notch.to_string()),
                ));
            }
        }
    }
    // A level with no parameter left to move would make the case vacuous.
    if moved == 0 {
        return Err(format!("{version}: nothing to move at level {level}"));
    }
    Ok(())
}

/// `m` with `field` set to `lag` at every level.
fn lagged(m: &Methodology, field: &str, lag: u32) -> Methodology {
    let i = FIELDS.iter().position(|f| f.name == field).unwrap();
    (0..m.levels.len()).fold(m.clone(), |m, level| with(&m, level, i, Value::Count(lag)))
}

fn longer_lag_never_helps(version: &str, field: &str, a: u32, b: u32) -> Result<(), String> {
    let c = case(version);
    let (short, long) = (a.min(b), a.max(b));
    let g_short = grid(&c.tape, &c.deal, &lagged(&c.m, field, short));
    let g_long = grid(&c.tape, &c.deal, &lagged(&c.m, field, long));
    for k in 0..c.deal.notes.len() {
        if indicated(&g_long, k) < indicated(&g_short, k) {
            return Err(format!(
                "{version}: Class {} rates better with {field} = {long} than {short}",
                c.deal.notes[k].class
            ));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn a_longer_lag_never_rates_better_under_1_0_0(
        field in prop::sample::select(vec!["recovery_lag_months", "cash_drag_months"]),
        a in 0u32..=limits::MONTHS_MAX,
        b in 0u32..=limits::MONTHS_MAX,
    ) {
        longer_lag_never_helps(V1, field, a, b).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn a_longer_lag_never_rates_better_under_2_0_1(
        (field, max) in prop::sample::select(vec![
            ("recovery_lag_months", limits::MONTHS_MAX),
            ("cash_drag_months", limits::MONTHS_MAX),
            ("liquidation_lag_days", limits::SALE_LAG_DAYS_MAX),
        ]),
        a in 0u32..=1000,
        b in 0u32..=1000,
    ) {
        longer_lag_never_helps(V2, field, a % (max + 1), b % (max + 1)).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn a_harsher_parameter_at_one_level_never_rates_better_under_1_0_0(
        level in 0usize..16,
        percent in 1u32..=100,
    ) {
        no_harsher_parameter_helps(V1, level, Decimal::new(percent.into(), 2))
            .map_err(TestCaseError::fail)?;
    }

    #[test]
    fn a_harsher_parameter_at_one_level_never_rates_better_under_2_0_1(
        level in 0usize..16,
        percent in 1u32..=100,
    ) {
        no_harsher_parameter_helps(V2, level, Decimal::new(percent.into(), 2))
            .map_err(TestCaseError::fail)?;
    }
}

/// The largest lags of all against none: the limits themselves, deterministically.
#[test]
fn the_longest_lags_allowed_rate_no_better_than_none() {
    for (version, field, max) in [
        (V1, "recovery_lag_months", limits::MONTHS_MAX),
        (V1, "cash_drag_months", limits::MONTHS_MAX),
        (V2, "liquidation_lag_days", limits::SALE_LAG_DAYS_MAX),
    ] {
        longer_lag_never_helps(version, field, 0, max).unwrap();
    }
}
