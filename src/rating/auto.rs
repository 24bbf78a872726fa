//! The rating grid of an auto-loan deal (docs/auto.md, "Rating"): every note at every notch of an
//! auto-loan methodology, each notch run under every loss-timing curve and prepayment speed (the
//! worse result counts), and per note the break-even cumulative net loss with its multiple of the
//! deal's expected cumulative net loss (ECNL).
//!
//! The same period engine as the BTC deals ([`crate::waterfall::Engine`]) over the amortizing
//! collateral model ([`AmortizingPool`]); the grid runs in exact `Decimal`, break-even searches in
//! `f64` with their bracket confirmed in `Decimal` (`break_even::last_pass_confirmed`).

use rayon::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;

use super::RatingError;
use super::break_even::last_pass_confirmed;
use crate::asset::auto_loan::Tables;
use crate::asset::{AmortizingPool, AmortizingTerms, Grouping, Line};
use crate::deal::{AutoLoanTerms, Deal, DealState};
use crate::methodology::{AutoMethodology, Notch};
use crate::money::Amount;
use crate::tape::AutoTape;
use crate::waterfall::{Engine, NoteOutcome, Run, WaterfallError, WaterfallTerms};

/// Resolution of the break-even cumulative net loss: 0.1 point of the initial pool.
pub const CNL_STEP: Decimal = Decimal::from_parts(1, 0, 0, false, 3);

/// How the tape's contracts are grouped into the lines the engine amortizes: same remaining
/// term, APR within 2 points, age within 12 months. `auto_loan::tests` holds the pool's scheduled
/// cash flows within 0.01% of contract by contract under it.
pub const GROUPING: Grouping = Grouping {
    apr_bucket: Decimal::from_parts(2, 0, 0, false, 2),
    age_bucket_months: 12,
};

/// One loss-timing curve and one prepayment speed of the methodology.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Case {
    pub curve: usize,
    pub speed: usize,
}

/// A note's result under one case at one notch.
#[derive(Debug, Clone, Serialize)]
pub struct CaseRun {
    /// `front_loaded / slow`: the curve's and the speed's names.
    pub case: String,
    pub notes: Vec<NoteOutcome>,
    #[serde(skip)]
    pub run: Run,
}

/// One notch of the grid.
#[derive(Debug, Clone, Serialize)]
pub struct AutoLevelResult {
    pub notch: Notch,
    pub cnl_multiple: Decimal,
    /// Stressed cumulative net loss, share of the initial pool (multiple x ECNL).
    pub cnl: Decimal,
    /// Gross defaults that give it at the base-case recovery rate, USD.
    #[serde(serialize_with = "crate::money::json::money")]
    pub default_amount: Decimal,
    /// Recovery rate run (base case less the level's haircut).
    pub recovery_rate: Decimal,
    pub cases: Vec<CaseRun>,
    /// Per note: passed only if it passes every case; the outcome shown is the first failing
    /// case's, else the first case's.
    pub notes: Vec<NoteOutcome>,
    /// Per note: the case that failed it first, if any.
    pub failing_case: Vec<Option<String>>,
}

/// What the grid says about one note.
#[derive(Debug, Clone, Serialize)]
pub struct AutoNoteRating {
    pub class: String,
    /// The methodology has no overlays: the quantitative rating.
    pub indicated: Option<Notch>,
    pub quantitative: Option<Notch>,
    pub non_monotone: bool,
    /// The notch whose recovery haircut the break-even holds: the quantitative one, or 'B-'.
    pub break_even_level: Notch,
    /// The largest cumulative net loss (share of the initial pool, at the base-case recovery
    /// rate) the note survives under every case, on a grid of 0.1 point.
    pub break_even_cnl: Decimal,
    /// `break_even_cnl / ECNL`, two places half to even.
    pub break_even_multiple: Decimal,
    /// The case that fails one step above the break-even (`None` when it survives every
    /// contract defaulting).
    pub binding_case: Option<String>,
    /// The note survives the default of every contract (the break-even is the top of the grid).
    pub survives_total_default: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct AutoRatingResult {
    pub levels: Vec<AutoLevelResult>,
    pub notes: Vec<AutoNoteRating>,
    pub warnings: Vec<String>,
    /// Pool balance at the cut-off, contracts and the lines they were grouped into.
    #[serde(serialize_with = "crate::money::json::money")]
    pub pool_balance: Decimal,
    pub contracts: usize,
    pub lines: usize,
}

/// The deal as a rating runs it: the clean-up call only if the methodology assumes it.
pub fn deal_for_rating(deal: &Deal, m: &AutoMethodology) -> Deal {
    let mut d = deal.clone();
    if !m.clean_up_call_exercised {
        d.clean_up_call = None;
    }
    d
}

fn auto_terms(deal: &Deal) -> Result<&AutoLoanTerms, RatingError> {
    deal.auto_loans.as_ref().ok_or_else(|| {
        RatingError::Internal(format!(
            "{}: an auto-loan rating of a deal without an `auto_loans` section",
            deal.path.display()
        ))
    })
}

/// The terms of one run: a cumulative net loss `cnl` at a notch under a case.
pub fn amortizing_terms(
    deal: &Deal,
    m: &AutoMethodology,
    pool: Decimal,
    notch: Notch,
    cnl: Decimal,
    case: Case,
) -> Result<AmortizingTerms, RatingError> {
    let a = auto_terms(deal)?;
    let r = m.rounding;
    // Gross defaults giving the net loss at the base-case recovery rate; the level's haircut
    // then lowers what is recovered (docs/auto.md, "Scenario").
    let gross = (cnl * pool / (Decimal::ONE - a.recovery_rate)).min(pool);
    Ok(AmortizingTerms {
        default_amount: r.round(gross).min(pool),
        default_timing: m.curves[case.curve].monthly.clone(),
        recovery_rate: a.recovery_rate * (Decimal::ONE - m.level(notch).recovery_haircut),
        recovery_lag_months: m.recovery_lag_months,
        abs_speed: m.speeds[case.speed].abs,
        rounding: r,
    })
}

/// The engine at closing for one run, computing in `A`.
pub fn auto_engine<'a, A: Amount>(
    deal: &'a Deal,
    m: &AutoMethodology,
    lines: &[Line],
    tables: &Tables<A>,
    terms: &AmortizingTerms,
) -> Result<Engine<'a, AmortizingPool<A>, A>, RatingError> {
    let a = auto_terms(deal)?;
    let mut pool = AmortizingPool::<A>::with_tables(lines, tables, terms);
    let state = DealState::open(deal, &mut pool, m.rounding);
    Engine::new(
        deal,
        WaterfallTerms {
            servicing_fee_rate: a.servicing_fee_rate,
            rounding: m.rounding,
            pass_criteria: m.pass_criteria,
        },
        state,
        pool,
    )
    .map_err(|source| RatingError::Waterfall {
        notch: Notch::AAA,
        source,
    })
}

/// Every case of the methodology, curves outer, speeds inner.
pub fn cases(m: &AutoMethodology) -> Vec<Case> {
    (0..m.curves.len())
        .flat_map(|curve| (0..m.speeds.len()).map(move |speed| Case { curve, speed }))
        .collect()
}

pub fn case_name(m: &AutoMethodology, c: Case) -> String {
    format!("{} / {}", m.curves[c.curve].name, m.speeds[c.speed].name)
}

fn waterfall(notch: Notch) -> impl Fn(WaterfallError) -> RatingError {
    move |source| RatingError::Waterfall { notch, source }
}

/// Rates every note of `deal` on `tape` under every notch of `m`.
pub fn rate_auto(
    tape: &AutoTape,
    deal: &Deal,
    m: &AutoMethodology,
) -> Result<AutoRatingResult, RatingError> {
    let deal = &deal_for_rating(deal, m);
    let a = auto_terms(deal)?;
    let lines = crate::asset::auto_loan::group(tape.loans(), Some(GROUPING));
    let pool: Decimal = lines.iter().map(|l| l.balance).sum();
    let (exact_tables, fast_tables) = (Tables::<Decimal>::of(&lines), Tables::<f64>::of(&lines));
    let cases = cases(m);
    let n = deal.notes.len();

    // The grid, exact: every notch under every case, in parallel (each run a pure function of
    // its inputs, so results do not depend on the number of threads).
    let jobs: Vec<(Notch, Case)> = Notch::all()
        .flat_map(|notch| cases.iter().map(move |c| (notch, *c)))
        .collect();
    let runs: Vec<Result<Run, RatingError>> = jobs
        .par_iter()
        .map(|&(notch, case)| {
            let cnl = m.level(notch).cnl_multiple * a.expected_cnl;
            let t = amortizing_terms(deal, m, pool, notch, cnl, case)?;
            auto_engine::<Decimal>(deal, m, &lines, &exact_tables, &t)?
                .run()
                .map_err(waterfall(notch))
        })
        .collect();
    let mut runs = runs.into_iter();
    let mut levels = Vec::with_capacity(16);
    for notch in Notch::all() {
        let level = m.level(notch);
        let cnl = level.cnl_multiple * a.expected_cnl;
        let t = amortizing_terms(deal, m, pool, notch, cnl, cases[0])?;
        let mut case_runs = Vec::with_capacity(cases.len());
        for c in &cases {
            let run = runs
                .next()
                .ok_or_else(|| RatingError::Internal("a grid run is missing".into()))??;
            case_runs.push(CaseRun {
                case: case_name(m, *c),
                notes: run.notes.clone(),
                run,
            });
        }
        let mut notes = Vec::with_capacity(n);
        let mut failing_case = Vec::with_capacity(n);
        for k in 0..n {
            match case_runs.iter().find(|c| !c.notes[k].passed) {
                Some(c) => {
                    notes.push(c.notes[k].clone());
                    failing_case.push(Some(c.case.clone()));
                }
                None => {
                    notes.push(case_runs[0].notes[k].clone());
                    failing_case.push(None);
                }
            }
        }
        levels.push(AutoLevelResult {
            notch,
            cnl_multiple: level.cnl_multiple,
            cnl,
            default_amount: t.default_amount,
            recovery_rate: t.recovery_rate,
            cases: case_runs,
            notes,
            failing_case,
        });
    }

    let mut warnings = Vec::new();
    let mut ratings = Vec::with_capacity(n);
    for (k, note) in deal.notes.iter().enumerate() {
        let passes: Vec<bool> = levels.iter().map(|l| l.notes[k].passed).collect();
        let first = passes.iter().position(|p| *p);
        let quantitative = first.map(|i| levels[i].notch);
        let non_monotone = first.is_some_and(|i| passes[i..].iter().any(|p| !p));
        if non_monotone {
            warnings.push(format!(
                "Class {}: passes are not monotone along the scale (it passes at {} but fails at a lower notch)",
                note.class,
                quantitative.map(|q| q.to_string()).unwrap_or_default()
            ));
        }
        ratings.push((k, quantitative, non_monotone));
    }

    // Break-evens: the cumulative net loss on a 0.1-point grid, every case at once, up to the
    // loss at which every contract defaults (`1 - recovery rate`): beyond it the run is the same.
    let top = ((Decimal::ONE - a.recovery_rate) / CNL_STEP)
        .floor()
        .try_into()
        .unwrap_or(0i64);
    let cnl_at = |i: i64| Decimal::from(i) * CNL_STEP;
    let notes = ratings
        .par_iter()
        .map(|&(k, quantitative, non_monotone)| {
            let level = quantitative.unwrap_or(Notch::B_MINUS);
            let passes = |i: i64, exact: bool| -> Result<Option<Case>, RatingError> {
                for c in &cases {
                    let t = amortizing_terms(deal, m, pool, level, cnl_at(i), *c)?;
                    let ok = if exact {
                        auto_engine::<Decimal>(deal, m, &lines, &exact_tables, &t)?
                            .run_outcomes()
                            .map_err(waterfall(level))?[k]
                            .passed
                    } else {
                        auto_engine::<f64>(deal, m, &lines, &fast_tables, &t)?
                            .run_outcomes()
                            .map_err(waterfall(level))?[k]
                            .passed
                    };
                    if !ok {
                        return Ok(Some(*c));
                    }
                }
                Ok(None)
            };
            // The case each exact run failed under, by grid step: the binding case is the one
            // that fails one step above the break-even.
            let failed = std::sync::Mutex::new(std::collections::HashMap::new());
            let found = last_pass_confirmed(
                top,
                |i| Ok(passes(i, false)?.is_none()),
                |i| {
                    let f = passes(i, true)?;
                    if let (Some(c), Ok(mut map)) = (f, failed.lock()) {
                        map.insert(i, c);
                    }
                    Ok(f.is_none())
                },
            )?;
            let be = found.map(cnl_at).unwrap_or(Decimal::ZERO);
            let next = found.map(|i| i + 1).unwrap_or(0);
            let survives_total_default = found == Some(top);
            let known = failed.lock().ok().and_then(|m| m.get(&next).copied());
            let binding_case = match known {
                Some(c) => Some(case_name(m, c)),
                None if next <= top => passes(next, true)?.map(|c| case_name(m, c)),
                None => None,
            };
            let multiple = if a.expected_cnl.is_zero() {
                Decimal::ZERO
            } else {
                (be / a.expected_cnl)
                    .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointNearestEven)
            };
            Ok(AutoNoteRating {
                class: deal.notes[k].class.clone(),
                indicated: quantitative,
                quantitative,
                non_monotone,
                break_even_level: level,
                break_even_cnl: be,
                break_even_multiple: multiple,
                binding_case,
                survives_total_default,
            })
        })
        .collect::<Result<Vec<_>, RatingError>>()?;
    Ok(AutoRatingResult {
        levels,
        notes,
        warnings,
        pool_balance: pool,
        contracts: tape.loans().len(),
        lines: lines.len(),
    })
}
