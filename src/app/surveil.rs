//! `absrate surveil` as a library call: read and reconcile the servicer reports, rate each one
//! from its payment date to the legal final ([`crate::surveil::rate`]), build the outputs once
//! and write them (all or nothing). `src/cli/surveil.rs` parses and prints.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use crate::compare::rating_name;
use crate::error::Error;
use crate::methodology::Lookup;
use crate::money::json::{money_text, rate_text};
use crate::rating::BreakEven;
use crate::surveil::rate::{Origin, Watch, watch};
use crate::tape::Tape;

/// What `absrate surveil` was asked for.
#[derive(Clone, Default)]
pub struct SurveilRequest {
    pub deal: PathBuf,
    pub reports: PathBuf,
    /// `ID@VERSION`, `ID` or a file; the deal's methodology (newest) when `None`.
    pub methodology: Option<String>,
    pub methodology_dir: Option<PathBuf>,
    /// Directory for the surveillance report (Markdown, HTML, JSON, CSV), all or nothing.
    pub report: Option<PathBuf>,
    /// Called with the number of reports rated so far, out of `reports` (a progress bar).
    pub progress: Option<Arc<dyn Fn(usize, usize) + Send + Sync>>,
}

pub use crate::surveil::rate::SurveilRun;

/// Reads, reconciles and rates every report; writes `--report` when asked.
pub fn surveil(a: &SurveilRequest) -> Result<SurveilRun, Error> {
    let deal = super::load_deal(&a.deal)?;
    let registry = Lookup::for_deal(a.methodology_dir.as_deref(), &deal.path);
    let m = registry.resolve(a.methodology.as_deref().unwrap_or(&deal.methodology))?;
    let reports = crate::surveil::check(&a.reports, &deal)?;
    let origin = Origin::of(&Tape::read(&deal.pool.tape)?.records()?);
    let total = reports.len();
    let tick = |done: usize| {
        if let Some(p) = &a.progress {
            p(done, total);
        }
    };
    let watches = watch(&deal, &reports, origin, &m, &tick)?;
    let run = SurveilRun {
        deal,
        methodology: m,
        reports: a.reports.clone(),
        origin,
        watches,
    };
    if let Some(dir) = &a.report {
        let mut files = crate::report::surveillance::render(&run)?;
        files.push(("surveillance.json", json(&run)?.into_bytes()));
        files.push(("surveillance.csv", csv(&run).into_bytes()));
        let mut tx = crate::output::Transaction::new();
        tx.protect(&run.deal.path);
        tx.protect(&run.methodology.path);
        for r in &reports {
            tx.protect(&r.path);
            tx.protect(r.tape.path());
        }
        tx.add_set(dir, files);
        tx.commit()?;
    }
    Ok(run)
}

/// A break-even as written in JSON and CSV: the mode's figures as decimal strings.
#[derive(Debug, Serialize)]
struct BreakEvenJson {
    mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_rate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    liquidation_gap: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    btc_decline: Option<String>,
}

fn break_even_json(b: &BreakEven) -> BreakEvenJson {
    match b {
        BreakEven::DefaultAndRecovery { default_rate, .. } => BreakEvenJson {
            mode: "default_and_recovery",
            default_rate: Some(rate_text(default_rate)),
            liquidation_gap: None,
            btc_decline: None,
        },
        BreakEven::MarketValue {
            liquidation_gap,
            btc_decline,
        } => BreakEvenJson {
            mode: "market_value",
            default_rate: None,
            liquidation_gap: Some(rate_text(liquidation_gap)),
            btc_decline: btc_decline.as_ref().map(rate_text),
        },
    }
}

#[derive(Debug, Serialize)]
struct NoteJson<'a> {
    class: &'a str,
    balance: String,
    credit_support: Option<String>,
    indicated: Option<String>,
    quantitative: Option<String>,
    published: Option<&'a str>,
    break_even: Option<BreakEvenJson>,
    #[serde(rename = "move", skip_serializing_if = "Option::is_none")]
    moved: Option<MoveJson>,
}

#[derive(Debug, Serialize)]
struct MoveJson {
    from: String,
    to: String,
    causes: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
struct WatchJson<'a> {
    payment_date: String,
    period: u32,
    phase: &'a str,
    btc_price: String,
    loans: u64,
    loan_balance: String,
    collateral_btc: String,
    cash: String,
    reserve: String,
    cash_share: Option<String>,
    pool_ltv: Option<String>,
    price_at_margin_call: Option<String>,
    price_at_liquidation: Option<String>,
    price_at_full_ltv: Option<String>,
    liquidated_loans: u64,
    liquidated_share: Option<String>,
    rated: bool,
    notes: Vec<NoteJson<'a>>,
}

#[derive(Debug, Serialize)]
struct SurveilJson<'a> {
    deal: &'a str,
    methodology: String,
    methodology_sha256: &'a str,
    reports: String,
    cutoff_loans: u64,
    cutoff_pool: String,
    watches: Vec<WatchJson<'a>>,
}

fn opt_rate(d: Option<rust_decimal::Decimal>) -> Option<String> {
    d.as_ref().map(rate_text)
}

fn opt_money(d: Option<rust_decimal::Decimal>) -> Option<String> {
    d.as_ref().map(money_text)
}

fn watch_json(w: &Watch) -> WatchJson<'_> {
    WatchJson {
        payment_date: w.payment_date.to_string(),
        period: w.period,
        phase: w.phase,
        btc_price: money_text(&w.btc_price),
        loans: w.loans,
        loan_balance: money_text(&w.loan_balance),
        collateral_btc: w.collateral_btc.normalize().to_string(),
        cash: money_text(&w.cash),
        reserve: money_text(&w.reserve),
        cash_share: opt_rate(w.cash_share),
        pool_ltv: opt_rate(w.pool_ltv),
        price_at_margin_call: opt_money(w.price_at_margin_call),
        price_at_liquidation: opt_money(w.price_at_liquidation),
        price_at_full_ltv: opt_money(w.price_at_full_ltv),
        liquidated_loans: w.liquidated_loans,
        liquidated_share: opt_rate(w.liquidated_share),
        rated: w.rated,
        notes: w
            .notes
            .iter()
            .map(|n| NoteJson {
                class: &n.class,
                balance: money_text(&n.balance),
                credit_support: opt_rate(n.credit_support),
                indicated: w.rated.then(|| rating_name(n.indicated)),
                quantitative: w.rated.then(|| rating_name(n.quantitative)),
                published: n.published.as_deref(),
                break_even: n.break_even.as_ref().map(break_even_json),
                moved: n.moved.as_ref().map(|m| MoveJson {
                    from: rating_name(m.from),
                    to: rating_name(m.to),
                    causes: m.causes.iter().map(|c| c.key()).collect(),
                }),
            })
            .collect(),
    }
}

/// `--format json` and `surveillance.json`.
pub fn json(run: &SurveilRun) -> Result<String, Error> {
    super::json(&SurveilJson {
        deal: &run.deal.name,
        methodology: run.methodology.name(),
        methodology_sha256: &run.methodology.sha256,
        reports: run.reports.display().to_string(),
        cutoff_loans: run.origin.loans,
        cutoff_pool: money_text(&run.origin.pool),
        watches: run.watches.iter().map(watch_json).collect(),
    })
}

/// The CSV's columns (docs/surveillance.md): one row per report and note.
pub const CSV_HEADER: &str = "payment_date,period,phase,btc_price,loans,loan_balance,cash,cash_share,pool_ltv,price_at_margin_call,price_at_liquidation,price_at_full_ltv,liquidated_loans,liquidated_share,class,balance,credit_support,indicated,quantitative,published,break_even_default_rate,break_even_liquidation_gap,break_even_btc_decline,moved_from,causes";

/// `--format csv` and `surveillance.csv`.
pub fn csv(run: &SurveilRun) -> String {
    let mut o = String::from(CSV_HEADER);
    o.push('\n');
    let s = |d: Option<String>| d.unwrap_or_default();
    for w in &run.watches {
        let j = watch_json(w);
        for n in j.notes {
            let be = n.break_even.as_ref();
            let _ = writeln!(
                o,
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                j.payment_date,
                j.period,
                j.phase,
                j.btc_price,
                j.loans,
                j.loan_balance,
                j.cash,
                s(j.cash_share.clone()),
                s(j.pool_ltv.clone()),
                s(j.price_at_margin_call.clone()),
                s(j.price_at_liquidation.clone()),
                s(j.price_at_full_ltv.clone()),
                j.liquidated_loans,
                s(j.liquidated_share.clone()),
                n.class,
                n.balance,
                s(n.credit_support),
                s(n.indicated),
                s(n.quantitative),
                n.published.unwrap_or_default(),
                s(be.and_then(|b| b.default_rate.clone())),
                s(be.and_then(|b| b.liquidation_gap.clone())),
                s(be.and_then(|b| b.btc_decline.clone())),
                s(n.moved.as_ref().map(|m| m.from.clone())),
                n.moved
                    .as_ref()
                    .map(|m| m.causes.join(";"))
                    .unwrap_or_default(),
            );
        }
    }
    o
}
