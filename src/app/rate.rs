//! `rate` as a library call: read the deal, the methodology and the tape, rate, build every
//! output once, write the files (atomically, through [`crate::output`]) and check the `--expect`
//! targets. `src/cli/rate.rs` only turns arguments into a [`RateRequest`] and prints.

use std::fmt::Write as _;
use std::path::PathBuf;

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Serialize;

use crate::deal::{Deal, Seniority};
use crate::error::Error;
use crate::methodology::{Lookup, Methodology, Notch, Overlay};
use crate::money::json::{money_text, rate_text};
use crate::rating::{self, LevelResult, RatingResult};
use crate::report;
use crate::tape::Tape;
use crate::waterfall::Period;

/// What `absrate rate` was asked for.
#[derive(Debug, Clone, Default)]
pub struct RateRequest {
    pub deal: PathBuf,
    /// `ID@VERSION`, `ID` or a file; the deal's methodology (newest) when `None`.
    pub methodology: Option<String>,
    pub methodology_dir: Option<PathBuf>,
    /// Another tape of the same deal (a `pool.yaml` beside it gives its valuation).
    pub tape: Option<PathBuf>,
    pub cash_at_closing: Option<Decimal>,
    /// Target ratings by class.
    pub expect: Vec<(String, Notch)>,
    /// Where to write the cash flows CSV.
    pub cashflows: Option<PathBuf>,
    /// Directory for result.json and cashflows.csv.
    pub out: Option<PathBuf>,
    /// Directory for the rationale and every output, all or nothing.
    pub report: Option<PathBuf>,
    /// The analyst's own Tera templates.
    pub templates: Option<PathBuf>,
    /// Build the result JSON even if no file needs it (it is to be printed).
    pub want_json: bool,
}

impl RateRequest {
    /// The request's overrides of the deal file (the closing cash) applied to `deal`, and its
    /// `--expect` classes checked against the deal's notes. (A `--tape` is the caller's: the
    /// BTC path also reads the `pool.yaml` beside it.)
    pub(crate) fn apply_to(&self, deal: &mut Deal) -> Result<(), Error> {
        if let Some(cash) = self.cash_at_closing {
            deal.cash_at_closing = Deal::check_cash_at_closing(cash)
                .map_err(|e| Error::Argument(format!("--cash-at-closing: {e}")))?;
        }
        for (class, _) in &self.expect {
            if !deal.notes.iter().any(|n| n.class == *class) {
                return Err(Error::Argument(format!(
                    "--expect {class}=...: the deal has no class {class}"
                )));
            }
        }
        Ok(())
    }

    /// Whether the result JSON is built: to be printed, or for a file of `--out` or `--report`
    /// (which also records the inputs' hashes).
    pub(crate) fn needs_json(&self) -> bool {
        self.want_json || self.out.is_some() || self.report.is_some()
    }

    /// Whether the cash flows CSV is built: for `--cashflows`, `--out` or `--report`.
    pub(crate) fn needs_csv(&self) -> bool {
        self.cashflows.is_some() || self.out.is_some() || self.report.is_some()
    }
}

/// A completed rating and what was built from it.
#[derive(Debug)]
pub struct RateRun {
    pub deal: Deal,
    pub methodology: Methodology,
    pub tape: Tape,
    pub result: RatingResult,
    /// The result JSON, when asked for or written.
    pub json: Option<String>,
    /// One line per note that missed its `--expect` target.
    pub missed: Vec<String>,
}

pub use crate::report::Inputs;

/// One note's verdict in `result.json`. Money and rates are strings (docs/outputs.md).
#[derive(Debug, Serialize, JsonSchema)]
pub struct NoteJson {
    pub class: String,
    /// Original balance, money.
    pub balance: String,
    /// Annual coupon, rate.
    pub coupon: String,
    pub seniority: Seniority,
    pub published_rating: Option<String>,
    /// The rating given: `quantitative` after the methodology's overlays; `null` below 'B-'.
    pub indicated: Option<String>,
    /// Highest notch passed (the grid's result, before overlays); `null` when it fails at every
    /// notch.
    pub quantitative: Option<String>,
    /// The overlays that set `indicated` below `quantitative`, as the methodology states them;
    /// empty when none binds.
    pub overlays: Vec<Overlay>,
    pub non_monotone: bool,
    /// Default and recovery: the break-even default rate; absent under market value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub break_even_default_rate: Option<String>,
    pub break_even_level: String,
    /// Default and recovery: break-even / base-case default rate; absent under market value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<String>,
    /// Market value: the break-even BTC decline, `null` when not binding (the note survives a
    /// 99% fall on its level's path); absent under default and recovery.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub break_even_btc_decline: Option<Option<String>>,
    /// Market value: the largest liquidation gap the note survives, the rest of its level held.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub break_even_liquidation_gap: Option<String>,
    /// The rationale's sentence setting the rating against the published one, from the figures.
    pub against_published: String,
}

/// `result.json`: its JSON Schema is `docs/result.schema.json` (`absrate rate --schema`; fields
/// explained in docs/outputs.md).
#[derive(Debug, Serialize, JsonSchema)]
pub struct ResultJson<'a> {
    pub deal: &'a str,
    pub inputs: &'a Inputs,
    pub notes: Vec<NoteJson>,
    pub levels: &'a [LevelResult],
    pub warnings: &'a [String],
}

/// The JSON Schema of `result.json`.
pub fn result_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(ResultJson<'static>)).unwrap_or_default()
}

/// The rationale's files (name, bytes) a rating writes under `--report`, beside `result.json`
/// and `cashflows.csv`.
pub(crate) type ReportFiles = Vec<(&'static str, Vec<u8>)>;

/// Builds the outputs the request names, each once however many files and streams carry it, and
/// writes them as one transaction ([`commit_outputs`]): the result JSON `json_of(inputs)` (the
/// inputs' hashes, a pass over the tape, taken only when an output records them), the cash flows
/// CSV `csv_of()`, and under `--report` the files `report_of(inputs, csv)`. `methodology` is the
/// methodology's name, hash and file. Returns the JSON when it was built (to be printed).
pub(crate) fn build_outputs(
    a: &RateRequest,
    deal: &Deal,
    methodology: (String, String, &std::path::Path),
    json_of: impl FnOnce(&Inputs) -> Result<String, Error>,
    csv_of: impl FnOnce() -> String,
    report_of: impl FnOnce(&Inputs, &str) -> Result<ReportFiles, Error>,
) -> Result<Option<String>, Error> {
    let (name, sha256, path) = methodology;
    let (json_text, inputs) = if a.needs_json() {
        let inputs = Inputs::of(deal, name, sha256)?;
        (Some(json_of(&inputs)?), Some(inputs))
    } else {
        (None, None)
    };
    let csv = if a.needs_csv() {
        csv_of()
    } else {
        String::new()
    };
    let report_files = match (&a.report, &inputs) {
        (Some(_), Some(inputs)) => report_of(inputs, &csv)?,
        _ => Vec::new(),
    };
    commit_outputs(
        a,
        [&deal.path, &deal.pool.path, &deal.pool.tape, path],
        json_text.as_deref().unwrap_or_default(),
        &csv,
        report_files,
    )?;
    Ok(json_text)
}

/// Every output a rating writes, as one transaction: all written, or none
/// (docs/reliability.md). `--cashflows` gets `csv`; `--out` gets `result.json` and
/// `cashflows.csv`; `--report` gets those two with `report_files` (the rationale and workbook).
/// `inputs` (deal, pool, tape, methodology) are never written over.
fn commit_outputs(
    a: &RateRequest,
    inputs: [&std::path::Path; 4],
    json: &str,
    csv: &str,
    mut report_files: ReportFiles,
) -> Result<(), Error> {
    let mut tx = crate::output::Transaction::new();
    for input in inputs {
        tx.protect(input);
    }
    let pair = || {
        vec![
            ("result.json", json.as_bytes().to_vec()),
            ("cashflows.csv", csv.as_bytes().to_vec()),
        ]
    };
    if let Some(path) = &a.cashflows {
        tx.add(path, csv.as_bytes().to_vec());
    }
    if let Some(dir) = &a.out {
        tx.add_set(dir, pair());
    }
    if let Some(dir) = &a.report {
        let mut files = pair();
        files.append(&mut report_files);
        tx.add_set(dir, files);
    }
    tx.commit().map_err(|e| Error::Output {
        path: e.path,
        message: e.message,
    })
}

/// Rates the deal and writes the outputs the request names.
pub fn rate(a: &RateRequest) -> Result<RateRun, Error> {
    let mut deal = super::load_deal(&a.deal)?;
    if let Some(tape) = &a.tape {
        if let Some(beside) = crate::pool::PoolFile::beside(tape) {
            let p = crate::pool::PoolFile::load(&beside)?;
            deal.pool.cutoff = p.cutoff;
            deal.pool.collateral_terms = p.collateral_terms;
        }
        deal.pool.tape = tape.clone();
    }
    a.apply_to(&mut deal)?;
    let registry = Lookup::for_deal(a.methodology_dir.as_deref(), &deal.path);
    let m = registry.resolve(a.methodology.as_deref().unwrap_or(&deal.methodology))?;
    let tape = Tape::read(&deal.pool.tape)?;
    let result = rating::rate(&tape, &deal, &m)?;

    let json_text = build_outputs(
        a,
        &deal,
        (m.name(), m.sha256.clone(), &m.path),
        |inputs| {
            super::json(&ResultJson {
                deal: &deal.name,
                inputs,
                notes: notes_json(&deal, &m, &result),
                levels: &result.levels,
                warnings: &result.warnings,
            })
        },
        || cashflows_csv(&deal, &result),
        |inputs, _csv| {
            let at = rating::valuation(&deal);
            let summary = tape.summary(&at)?;
            let strats = tape.strats(&at)?;
            let provenance = report::Provenance {
                engine: inputs.engine.clone(),
                methodology: m.name(),
                methodology_sha256: m.sha256.clone(),
                deal_sha256: inputs.deal_sha256.clone(),
                tape_sha256: inputs.tape_sha256.clone(),
                seed: deal
                    .pool
                    .generated_with_seed
                    .map(|s| {
                        format!("{s} (synthetic tape; the rating itself draws no random numbers)")
                    })
                    .unwrap_or_else(|| "none (the rating draws no random numbers)".into()),
                run_date: run_date(),
            };
            let view = report::rationale(&deal, &m, &summary, &strats, &result, provenance);
            let (md, html) = report::render(&view, a.templates.as_deref())?;
            let xlsx = report::workbook(&deal, &result)
                .map_err(|e| report::ReportError::Workbook(e.to_string()))?;
            Ok(vec![
                (report::MARKDOWN, md.into_bytes()),
                (report::HTML, html.into_bytes()),
                ("cashflows.xlsx", xlsx),
            ])
        },
    )?;
    let missed = missed_targets(&a.expect, &result);
    Ok(RateRun {
        deal,
        methodology: m,
        tape,
        result,
        json: json_text,
        missed,
    })
}

/// One line per class whose indicated rating is below its target.
pub fn missed_targets(expect: &[(String, Notch)], result: &RatingResult) -> Vec<String> {
    missed_targets_of(
        expect,
        result.notes.iter().map(|n| (n.class.as_str(), n.indicated)),
    )
}

/// [`missed_targets`] over (class, indicated rating) pairs, whichever engine rated them.
pub(crate) fn missed_targets_of<'a>(
    expect: &[(String, Notch)],
    got: impl Iterator<Item = (&'a str, Option<Notch>)>,
) -> Vec<String> {
    let got: Vec<(&str, Option<Notch>)> = got.collect();
    expect
        .iter()
        .filter_map(|(class, target)| {
            let got = got.iter().find(|(c, _)| *c == class)?.1;
            match got {
                Some(n) if n <= *target => None,
                other => Some(format!(
                    "Class {class}: expected {target} or better, indicated {}",
                    other
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "below B-".into())
                )),
            }
        })
        .collect()
}

fn run_date() -> String {
    let at = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .unwrap_or_else(chrono::Utc::now);
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn notes_json(deal: &Deal, m: &Methodology, r: &RatingResult) -> Vec<NoteJson> {
    deal.notes
        .iter()
        .zip(&r.notes)
        .enumerate()
        .map(|(k, (n, nr))| NoteJson {
            class: n.class.clone(),
            balance: money_text(&n.balance),
            coupon: rate_text(&n.coupon),
            seniority: n.seniority,
            published_rating: n.rating_published.clone(),
            indicated: nr.indicated.map(|x| x.to_string()),
            quantitative: nr.quantitative.map(|x| x.to_string()),
            overlays: nr.overlays.clone(),
            non_monotone: nr.non_monotone,
            break_even_default_rate: nr.break_even_default_rate().as_ref().map(rate_text),
            break_even_level: nr.break_even_level.to_string(),
            coverage: nr.coverage().as_ref().map(rate_text),
            break_even_btc_decline: nr
                .break_even_liquidation_gap()
                .map(|_| nr.binding_btc_decline().as_ref().map(rate_text)),
            break_even_liquidation_gap: nr.break_even_liquidation_gap().as_ref().map(rate_text),
            against_published: report::published::sentence(deal, m, r, k),
        })
        .collect()
}

/// Every level's periods, one row each (columns: docs/outputs.md).
pub fn cashflows_csv(deal: &Deal, r: &RatingResult) -> String {
    let mut o = cashflows_header(deal, "level");
    for l in &r.levels {
        for p in &l.run.periods {
            row(&mut o, l.notch, p);
        }
    }
    o
}

/// The header of `cashflows.csv`, its first column named `first`.
pub(crate) fn cashflows_header(deal: &Deal, first: &str) -> String {
    let mut o = format!(
        "{first},period,date,phase,performing_start,defaults,recoveries,interest_due,interest_cash,interest_capitalized,maturities,new_loans,available,fees_paid",
    );
    for n in &deal.notes {
        let _ = write!(
            o,
            ",interest_paid_{c},interest_shortfall_{c},principal_paid_{c},balance_{c}",
            c = n.class
        );
    }
    o.push_str(",reserve_draw,reserve_top_up,reserve_release,reserve_end,reinvested,awaiting_reinvestment,residual,performing_end,cumulative_defaults\n");
    o
}

/// Money in the CSV as in the JSON: at least two places, more when the methodology's money rule
/// keeps more (never cut), so files compare byte for byte.
fn m(d: Decimal) -> String {
    money_text(&d)
}

fn row(o: &mut String, notch: Notch, p: &Period) {
    period_row(o, notch.name(), p)
}

/// One period's row of `cashflows.csv` after its `label` (the level, or for an auto-loan deal
/// the level and the case).
pub(crate) fn period_row(o: &mut String, label: &str, p: &Period) {
    let _ = write!(
        o,
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
        label,
        p.period,
        p.date,
        if p.revolving {
            "revolving"
        } else {
            "amortizing"
        },
        m(p.performing_start),
        m(p.defaults),
        m(p.recoveries),
        m(p.interest_due),
        m(p.interest_cash),
        m(p.interest_capitalized),
        m(p.maturities),
        m(p.new_loans),
        m(p.available),
        m(p.fees_paid)
    );
    for k in 0..p.interest_paid.len() {
        let _ = write!(
            o,
            ",{},{},{},{}",
            m(p.interest_paid[k]),
            m(p.interest_shortfall[k]),
            m(p.principal_paid[k]),
            m(p.note_balance_end[k])
        );
    }
    let _ = writeln!(
        o,
        ",{},{},{},{},{},{},{},{},{}",
        m(p.reserve_draw),
        m(p.reserve_top_up),
        m(p.reserve_release),
        m(p.reserve_end),
        m(p.reinvested),
        m(p.awaiting_reinvestment),
        m(p.residual),
        m(p.performing_end),
        m(p.cumulative_defaults)
    );
}
