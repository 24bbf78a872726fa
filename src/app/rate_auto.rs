//! `rate` of an amortizing auto-loan deal (a deal file with an `auto_loans` section): read the
//! deal, its auto-loan methodology and tape, rate ([`crate::rating::auto`]), build every output
//! once and write the files atomically. `src/cli/rate.rs` chooses this path by the deal's asset
//! class and prints; the BTC path ([`super::rate`]) is unchanged.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::RateRequest;
use super::json;
use super::rate::{Inputs, cashflows_header, missed_targets_of, period_row};
use crate::deal::{Deal, Seniority};
use crate::error::Error;
use crate::methodology::{AutoMethodology, Lookup};
use crate::money::json::{money_text, rate_text};
use crate::rating::auto::{AutoRatingResult, rate_auto};
use crate::report;
use crate::tape::{AutoSummary, AutoTape};

/// A completed auto-loan rating and what was built from it.
#[derive(Debug)]
pub struct AutoRateRun {
    pub deal: Deal,
    pub methodology: AutoMethodology,
    pub summary: AutoSummary,
    pub result: AutoRatingResult,
    pub json: Option<String>,
    pub missed: Vec<String>,
}

/// One note's verdict in an auto-loan `result.json`. Money and rates are strings.
#[derive(Debug, Serialize)]
pub struct AutoNoteJson {
    pub class: String,
    pub balance: String,
    pub coupon: String,
    /// The index a floating class pays its spread over, else absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub floating_index: Option<String>,
    pub seniority: Seniority,
    pub published_rating: Option<String>,
    pub indicated: Option<String>,
    pub quantitative: Option<String>,
    pub non_monotone: bool,
    pub break_even_level: String,
    /// The largest cumulative net loss survived under every case, share of the initial pool.
    pub break_even_cnl: String,
    /// `break_even_cnl / ECNL`.
    pub break_even_multiple: String,
    /// The case that fails one step above the break-even.
    pub binding_case: Option<String>,
    /// The break-even is the loss at which every contract defaults.
    pub survives_total_default: bool,
    pub against_published: String,
}

/// An auto-loan deal's `result.json`.
#[derive(Debug, Serialize)]
pub struct AutoResultJson<'a> {
    pub deal: &'a str,
    pub asset_class: &'static str,
    pub inputs: &'a Inputs,
    /// The deal's base case: expected cumulative net loss, share of the initial pool.
    pub expected_cnl: String,
    pub pool_balance: String,
    pub contracts: usize,
    pub lines: usize,
    pub notes: Vec<AutoNoteJson>,
    pub levels: &'a [crate::rating::auto::AutoLevelResult],
    pub warnings: &'a [String],
}

/// Whether the deal file at `path` is an auto-loan deal (it has an `auto_loans` section).
pub fn is_auto_deal(path: &Path) -> Result<bool, Error> {
    Ok(super::load_deal(path)?.auto_loans.is_some())
}

/// Rates an auto-loan deal and writes the outputs the request names.
pub fn rate(a: &RateRequest) -> Result<AutoRateRun, Error> {
    let mut deal = super::load_deal(&a.deal)?;
    if let Some(tape) = &a.tape {
        deal.pool.tape = tape.clone();
    }
    a.apply_to(&mut deal)?;
    let lookup = Lookup::for_deal(a.methodology_dir.as_deref(), &deal.path);
    let m = AutoMethodology::resolve(
        &lookup,
        a.methodology.as_deref().unwrap_or(&deal.methodology),
    )?;
    let tape = AutoTape::read(&deal.pool.tape)?;
    let result = rate_auto(&tape, &deal, &m)?;
    let summary = tape.summary();

    let json_text = super::rate::build_outputs(
        a,
        &deal,
        (m.name(), m.sha256.clone(), &m.path),
        |inputs| {
            json(&AutoResultJson {
                deal: &deal.name,
                asset_class: "auto_loans",
                inputs,
                expected_cnl: rate_text(&deal.expected_cnl()),
                pool_balance: money_text(&result.pool_balance),
                contracts: result.contracts,
                lines: result.lines,
                notes: notes_json(&deal, &m, &result),
                levels: &result.levels,
                warnings: &result.warnings,
            })
        },
        || cashflows_csv(&deal, &result),
        |inputs, csv| {
            Ok(report::auto::files(
                &deal,
                &m,
                &summary,
                &result,
                inputs,
                csv,
                a.templates.as_deref(),
            )?)
        },
    )?;
    let missed = missed_targets_of(
        &a.expect,
        result.notes.iter().map(|n| (n.class.as_str(), n.indicated)),
    );
    Ok(AutoRateRun {
        deal,
        methodology: m,
        summary,
        result,
        json: json_text,
        missed,
    })
}

fn notes_json(deal: &Deal, m: &AutoMethodology, r: &AutoRatingResult) -> Vec<AutoNoteJson> {
    deal.notes
        .iter()
        .zip(&r.notes)
        .enumerate()
        .map(|(k, (n, nr))| AutoNoteJson {
            class: n.class.clone(),
            balance: money_text(&n.balance),
            coupon: rate_text(&n.coupon),
            floating_index: deal
                .floating
                .as_ref()
                .filter(|f| f.spreads.iter().any(|(j, _)| *j == k))
                .map(|f| f.name.clone()),
            seniority: n.seniority,
            published_rating: n.rating_published.clone(),
            indicated: nr.indicated.map(|x| x.to_string()),
            quantitative: nr.quantitative.map(|x| x.to_string()),
            non_monotone: nr.non_monotone,
            break_even_level: nr.break_even_level.to_string(),
            break_even_cnl: rate_text(&nr.break_even_cnl),
            break_even_multiple: rate_text(&nr.break_even_multiple),
            binding_case: nr.binding_case.clone(),
            survives_total_default: nr.survives_total_default,
            against_published: report::auto::against_published(deal, m, r, k),
        })
        .collect()
}

/// Every notch and case's periods, one row each: the BTC columns with `case` after `level`
/// and `prepayments` last (docs/auto.md, "Outputs").
pub fn cashflows_csv(deal: &Deal, r: &AutoRatingResult) -> String {
    let mut o = cashflows_header(deal, "level,case");
    o.pop();
    o.push_str(",prepayments\n");
    for l in &r.levels {
        for c in &l.cases {
            let label = format!("{},{}", l.notch, c.case);
            for p in &c.run.periods {
                period_row(&mut o, &label, p);
                o.pop();
                let _ = writeln!(o, ",{}", money_text(&p.prepayments));
            }
        }
    }
    o
}
