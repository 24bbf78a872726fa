//! `replay` as a library call: the deal's pool through a real daily price path on the liquidation
//! engine, and the pool after it written as a tape with its pool file (never over an input); or,
//! with `--monthly-reports`, the deal's waterfall run over the pool on that path and the servicer
//! reports it would have published written as a directory ([`monthly`]).

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::deal::Deal;
use crate::error::Error;
use crate::methodology::Lookup;
use crate::pool::{Cutoff, FILE_NAME, Market, PoolFileOut};
use crate::rating::{MarketPool, RatingError};
use crate::stress::history::{HistoryPool, HistoryTerms};
use crate::stress::{Execution, ReplayParams, ReplayResult, replay};
use crate::surveil::REPORT_FILE;
use crate::surveil::history::{self, Generated, HistoryError};
use crate::tape::{Tape, read_prices, tape_bytes};
use crate::waterfall::WaterfallTerms;

/// What `absrate replay` was asked for.
#[derive(Debug, Clone)]
pub struct ReplayRequest {
    pub prices: PathBuf,
    /// Day 0; required but with `monthly_reports` (where it defaults to the pool's cut-off).
    pub from: Option<NaiveDate>,
    /// The last day; required but with `monthly_reports` (the price file's last date).
    pub to: Option<NaiveDate>,
    pub deal: PathBuf,
    pub date_column: String,
    pub price_column: String,
    /// Share of borrowers who answer a margin call; the pool file's when `None`.
    pub answer_share: Option<f64>,
    /// Sale discount below the reference price; the pool file's (or 0) when `None`.
    pub gap: Option<Decimal>,
    pub execution: Execution,
    pub seed: u64,
    pub out_tape: Option<PathBuf>,
    /// Write the servicer reports of every payment date into this directory ([`monthly`]).
    pub monthly_reports: Option<PathBuf>,
    /// With `monthly_reports`: the methodology whose `simulation.terms` give the expected
    /// interest paid in cash and the servicing fee; the deal's (newest version) when `None`.
    pub methodology: Option<String>,
    pub methodology_dir: Option<PathBuf>,
}

#[derive(Debug)]
pub struct ReplayRun {
    pub deal: Deal,
    pub result: ReplayResult,
    /// The answer share and gap used.
    pub answer_share: f64,
    pub gap: Decimal,
}

/// The answer share and the gap: the flags', checked, else the pool file's.
fn market_terms(a: &ReplayRequest, deal: &Deal) -> Result<(f64, Decimal), Error> {
    let market = deal.pool.market.as_ref();
    // The pool file's terms were checked when it was loaded; a flag goes through the same check.
    let flag = |name: &str, e: String| Error::Argument(format!("{name}: {e}"));
    let answer_share = match (a.answer_share, market) {
        (Some(s), _) => Market::check_answer_share(s).map_err(|e| flag("--answer-share", e))?,
        (None, Some(m)) => m.margin_call_answer_share,
        (None, None) => {
            return Err(Error::Argument(
                "no margin-call answer share: pass --answer-share or give `market` in the pool file"
                    .into(),
            ));
        }
    };
    let gap = match (a.gap, market) {
        (Some(g), _) => Market::check_gap(g).map_err(|e| flag("--gap", e))?,
        (None, Some(m)) => m.liquidation_gap,
        (None, None) => Decimal::ZERO,
    };
    Ok((answer_share, gap))
}

/// A date the mode needs: given, or refused naming its flag.
fn required(d: Option<NaiveDate>, flag: &str) -> Result<NaiveDate, Error> {
    d.ok_or_else(|| {
        Error::Argument(format!(
            "{flag} is required (it may be left out only with --monthly-reports)"
        ))
    })
}

pub fn run(a: &ReplayRequest) -> Result<ReplayRun, Error> {
    let (from, to) = (required(a.from, "--from")?, required(a.to, "--to")?);
    let deal = super::load_deal(&a.deal)?;
    let pool = &deal.pool;
    let (answer_share, gap) = market_terms(a, &deal)?;
    let pool_out = a.out_tape.as_ref().map(|t| t.with_file_name(FILE_NAME));
    if let (Some(tape), Some(yaml)) = (&a.out_tape, &pool_out) {
        refuse_overwrite(
            &[tape, yaml],
            &[
                ("the deal's pool file", &pool.path),
                ("the input tape", &pool.tape),
                ("the deal file", &deal.path),
                ("the price file", &a.prices),
            ],
        )?;
    }
    let prices = read_prices(&a.prices, &a.date_column, &a.price_column)?;
    let records = Tape::read(&pool.tape)?.records()?;
    // Who answers margin calls: one ChaCha8 uniform per loan from --seed, as the rating draws it.
    let loans = MarketPool::new(&records, &deal, a.seed).loans(answer_share);
    let params = ReplayParams {
        from,
        to,
        margin_call_ltv: pool.collateral_terms.margin_call_ltv,
        liquidation_ltv: pool.collateral_terms.liquidation_ltv,
        cure_ltv: pool.collateral_terms.margin_call_cure_ltv,
        gap,
        execution: a.execution,
    };
    let r = replay(&records, &loans, &prices, &params).map_err(Error::Argument)?;
    if let (Some(out), Some(path)) = (&a.out_tape, &pool_out) {
        // The tape and its pool.yaml are one transaction: both written, or neither.
        let tape = tape_bytes(&r.survivors, out)?;
        let after = PoolFileOut {
            name: format!("{}-after-{}", pool.name, r.to),
            title: format!("{} after the replay to {}", pool.title, r.to),
            tape: out.file_name().map(PathBuf::from).unwrap_or_default(),
            cutoff: Cutoff {
                date: r.to,
                btc_price: r.end_price,
            },
            collateral_terms: pool.collateral_terms.clone(),
            market: pool.market.clone(),
        };
        let comment = format!(
            "The pool after `absrate replay` from {} to {} ({} loans liquidated); cash {} is held beside it.\nWritten as JSON, which YAML reads.",
            r.from, r.to, r.loans_liquidated, r.cash
        );
        let err = |message: String| Error::Output {
            path: path.clone(),
            message,
        };
        let text = after.to_yaml(&comment).map_err(|e| err(e.to_string()))?;
        let mut tx = crate::output::Transaction::new();
        tx.protect(&deal.path);
        tx.protect(&deal.pool.path);
        tx.protect(&deal.pool.tape);
        tx.protect(&a.prices);
        tx.add(out, tape);
        tx.add(path, text.into_bytes());
        tx.commit().map_err(|e| Error::Output {
            path: e.path,
            message: e.message,
        })?;
    }
    Ok(ReplayRun {
        deal,
        result: r,
        answer_share,
        gap,
    })
}

/// Where `p` is (or would be) on disk, for comparing an output with the inputs.
fn resolved(p: &Path) -> Option<PathBuf> {
    if let Ok(c) = p.canonicalize() {
        return Some(c);
    }
    let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
    Some(
        dir.unwrap_or(Path::new("."))
            .canonicalize()
            .ok()?
            .join(p.file_name()?),
    )
}

/// Refuses an output that would overwrite one of the run's own inputs.
fn refuse_overwrite(outputs: &[&Path], inputs: &[(&str, &Path)]) -> Result<(), Error> {
    for out in outputs {
        let Some(o) = resolved(out) else { continue };
        for (what, input) in inputs {
            if resolved(input).as_ref() == Some(&o) {
                return Err(Error::Argument(format!(
                    "--out-tape would overwrite {what} {}: write the replayed pool to another directory",
                    input.display()
                )));
            }
        }
    }
    Ok(())
}

/// `replay --monthly-reports`: what was written and the figures of each report.
#[derive(Debug)]
pub struct MonthlyRun {
    pub deal: Deal,
    pub dir: PathBuf,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub answer_share: f64,
    pub gap: Decimal,
    /// The methodology whose expected terms were used, and its share of interest paid in cash.
    pub methodology: String,
    pub interest_cash_share: Decimal,
    pub cutoff_loans: u64,
    pub reports: Vec<Generated>,
}

/// `replay --monthly-reports --format json`: the run and each report's figures.
#[derive(Debug, serde::Serialize)]
struct MonthlyJson<'a> {
    deal: &'a str,
    from: NaiveDate,
    to: NaiveDate,
    cutoff_loans: u64,
    methodology: &'a str,
    reports: &'a [Generated],
}

/// The JSON `replay --monthly-reports --format json` prints.
pub fn monthly_json(run: &MonthlyRun) -> Result<String, Error> {
    super::json(&MonthlyJson {
        deal: &run.deal.name,
        from: run.from,
        to: run.to,
        cutoff_loans: run.cutoff_loans,
        methodology: &run.methodology,
        reports: &run.reports,
    })
}

/// The servicer reports the deal would have published on the price file's history: the pool at
/// `--from` (the cut-off by default) through the daily closes to closing, the closing report,
/// then the deal's waterfall over the pool on the real path, one report per payment date up to
/// `--to` (the price file's last date by default), written into a new or empty directory as one
/// transaction (docs/replay.md, "Monthly reports").
pub fn monthly(a: &ReplayRequest) -> Result<MonthlyRun, Error> {
    let Some(dir) = a.monthly_reports.clone() else {
        return Err(Error::Argument("--monthly-reports DIR is required".into()));
    };
    let deal = super::load_deal(&a.deal)?;
    let (answer_share, gap) = market_terms(a, &deal)?;
    let lookup = Lookup::for_deal(a.methodology_dir.as_deref(), &deal.path);
    let m = lookup.resolve(a.methodology.as_deref().unwrap_or(&deal.methodology))?;
    let Some(sim) = &m.simulation else {
        return Err(Error::Argument(format!(
            "{} has no `simulation` section: --monthly-reports takes the expected share of interest paid in cash and the servicing fee from its terms; use btc-backed-consumer-loans@2.0.1 or later, e.g. --methodology btc-backed-consumer-loans@2.0.1",
            m.name()
        )));
    };
    if deal.revolving_months > 0 && deal.new_loans.is_none() {
        return Err(Error::Argument(format!(
            "{}: no `revolving.new_loans`: while the deal revolves --monthly-reports buys new loans on the terms the deal file states (docs/deal.md)",
            deal.path.display()
        )));
    }
    let pool = &deal.pool;
    let from = a.from.unwrap_or(pool.cutoff.date);
    if from > deal.closing {
        return Err(Error::Argument(format!(
            "--from {from} is after the deal's closing, {}: the reports start from the pool before closing (the default is its cut-off, {})",
            deal.closing, pool.cutoff.date
        )));
    }
    let prices = read_prices(&a.prices, &a.date_column, &a.price_column)?;
    let to = a.to.unwrap_or_else(|| prices.last());
    if to < deal.closing {
        return Err(Error::Argument(format!(
            "--to {to} is before the deal's closing, {}: the first report is the closing report",
            deal.closing
        )));
    }
    for (flag, date) in [("--from", from), ("--to", to)] {
        if prices.on(date).is_none() {
            return Err(Error::Argument(format!(
                "{flag} {date}: {} has no price that day (it covers {} to {})",
                a.prices.display(),
                prices.first,
                prices.last()
            )));
        }
    }
    refuse_occupied(&dir)?;
    let records = Tape::read(&pool.tape)?.records()?;
    let cutoff_loans = records.len() as u64;
    let terms = HistoryTerms {
        margin_call_ltv: pool.collateral_terms.margin_call_ltv,
        liquidation_ltv: pool.collateral_terms.liquidation_ltv,
        cure_ltv: pool.collateral_terms.margin_call_cure_ltv,
        gap,
        execution: a.execution,
        answer_share,
        seed: a.seed,
        interest_cash_share: sim.terms.interest_cash_share.value,
        new_loans: deal.new_loans.clone(),
        new_loan_term_months: deal.new_loan_term_months,
        rounding: m.rounding,
    };
    let mut history = HistoryPool::new(records, prices, from, terms).map_err(Error::Argument)?;
    history.to_closing(deal.closing).map_err(Error::Argument)?;
    let waterfall = WaterfallTerms {
        servicing_fee_rate: sim.terms.servicing_fee_rate.value,
        rounding: m.rounding,
        pass_criteria: m.pass_criteria,
    };
    let prices_name = a
        .prices
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let header = format!(
        "Generated by `absrate replay --monthly-reports` (docs/replay.md); not published by the servicer.\n\
         The pool from {from} on the daily closes of {prices_name}: answer share {answer_share} (seed {}),\n\
         sales at the {} price less a {gap} gap; interest {} paid in cash ({}).",
        a.seed,
        match a.execution {
            Execution::Trigger => "trigger",
            Execution::Close => "closing",
        },
        sim.terms.interest_cash_share.value,
        m.name()
    );
    let reports = history::generate(&deal, waterfall, history, to, cutoff_loans, &header).map_err(
        |e| match e {
            HistoryError::Tape(e) => Error::Tape(e),
            e if e.is_invalid_input() => Error::Argument(e.to_string()),
            e => Error::Rating(RatingError::Internal(e.to_string())),
        },
    )?;
    let mut tx = crate::output::Transaction::new();
    for input in [&deal.path, &pool.path, &pool.tape, &a.prices] {
        tx.protect(input);
    }
    for r in &reports {
        let folder = dir.join(r.date.to_string());
        tx.add(folder.join(REPORT_FILE), r.report_yaml.clone().into_bytes());
        tx.add(folder.join(history::TAPE_FILE), r.tape_csv.clone());
    }
    tx.commit()?;
    Ok(MonthlyRun {
        dir,
        from,
        to,
        answer_share,
        gap,
        methodology: m.name(),
        interest_cash_share: sim.terms.interest_cash_share.value,
        cutoff_loans,
        reports,
        deal,
    })
}

/// Refuses a reports directory that holds anything (a report left from another run would join
/// the series) or is not a directory.
fn refuse_occupied(dir: &Path) -> Result<(), Error> {
    if !dir.exists() {
        return Ok(());
    }
    let occupied = |why: &str| {
        Error::Argument(format!(
            "--monthly-reports {}: {why}: the reports are written into a new or empty directory",
            dir.display()
        ))
    };
    if !dir.is_dir() {
        return Err(occupied("is not a directory"));
    }
    let mut entries = std::fs::read_dir(dir).map_err(|e| Error::Output {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    if entries.next().is_some() {
        return Err(occupied("is not empty"));
    }
    Ok(())
}
