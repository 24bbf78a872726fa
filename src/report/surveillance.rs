//! The surveillance report (`absrate surveil --report DIR`): per servicer report the figures an
//! analyst follows and each note's rating from that date, the month-on-month moves with their
//! causes, and the trajectories as SVG charts (ratings, credit support, BTC price against the
//! pool's trigger prices, loans and cash). A view model of preformatted strings, like the
//! rationale: the templates (`surveillance.md`, `surveillance.html`) hold no arithmetic.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;

use super::{ReportError, charts};
use crate::compare::rating_name;
use crate::money::{count, pct_dec, pct_or_dash, usd};
use crate::rating::BreakEven;
use crate::surveil::rate::SurveilRun;
use crate::surveil::rate::{Move, Watch};

pub const MARKDOWN: &str = "surveillance.md";
pub const HTML: &str = "surveillance.html";

#[derive(Debug, Serialize)]
pub struct ReportRow {
    pub date: String,
    pub period: u32,
    pub phase: String,
    pub btc_price: String,
    pub loans: String,
    pub loan_balance: String,
    pub cash: String,
    pub cash_share: String,
    pub pool_ltv: String,
    pub price_at_margin_call: String,
    pub price_at_liquidation: String,
    pub price_at_full_ltv: String,
    pub liquidated: String,
    pub liquidated_share: String,
    /// Per note: "A- (41.2%)", rating and credit support.
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct NoteRow {
    pub date: String,
    pub class: String,
    pub balance: String,
    pub credit_support: String,
    pub indicated: String,
    pub quantitative: String,
    pub published: String,
    pub break_even: String,
}

#[derive(Debug, Serialize)]
pub struct Charts {
    pub ratings: String,
    pub credit_support: String,
    pub price: String,
    pub collateral: String,
}

#[derive(Debug, Serialize)]
pub struct SurveillanceView {
    pub deal: String,
    pub methodology: String,
    pub reports_dir: String,
    pub first: String,
    pub last: String,
    pub reports: usize,
    pub classes: Vec<String>,
    pub summary: String,
    pub rows: Vec<ReportRow>,
    pub notes: Vec<NoteRow>,
    /// One sentence per rating move, with its cause.
    pub moves: Vec<String>,
    pub charts: Charts,
}

/// A break-even in words, for the table.
pub fn break_even_text(b: Option<&BreakEven>) -> String {
    match b {
        None => "-".into(),
        Some(BreakEven::DefaultAndRecovery { default_rate, .. }) => {
            format!("default {}", pct_dec(*default_rate, 1))
        }
        Some(BreakEven::MarketValue {
            liquidation_gap,
            btc_decline,
        }) => match btc_decline {
            Some(d) => format!(
                "gap {}, BTC fall {}",
                pct_dec(*liquidation_gap, 1),
                pct_dec(*d, 1)
            ),
            None => format!("gap {}", pct_dec(*liquidation_gap, 1)),
        },
    }
}

/// "Class A 'A-' to 'BBB+' on 2026-04-20: the price alone moves it."
pub fn move_sentence(w: &Watch, class: &str, m: &Move) -> String {
    let causes: Vec<&str> = m.causes.iter().map(|c| c.name()).collect();
    let why = match causes.len() {
        0 => "no one group of figures moves it alone: the month passing (a shorter run to the legal final) or the groups together".to_string(),
        1 => format!("{} alone moves it", causes[0]),
        _ => format!("each of {} alone moves it", causes.join(", ")),
    };
    format!(
        "{}: Class {class} moves from '{}' to '{}': {why}.",
        w.payment_date,
        rating_name(m.from),
        rating_name(m.to)
    )
}

/// Every rating move of the run, one sentence each, in date order.
pub fn moves(ws: &[Watch]) -> Vec<String> {
    ws.iter()
        .flat_map(|w| {
            w.notes
                .iter()
                .filter_map(move |n| n.moved.as_ref().map(|m| move_sentence(w, &n.class, m)))
        })
        .collect()
}

fn price(d: Option<Decimal>) -> String {
    d.map(usd).unwrap_or_else(|| "-".into())
}

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// One row of preformatted figures per report (what the text, Markdown and HTML tables show).
pub fn rows(ws: &[Watch]) -> Vec<ReportRow> {
    ws.iter()
        .map(|w| ReportRow {
            date: w.payment_date.to_string(),
            period: w.period,
            phase: w.phase.to_string(),
            btc_price: usd(w.btc_price),
            loans: count(w.loans),
            loan_balance: usd(w.loan_balance),
            cash: usd(w.cash),
            cash_share: pct_or_dash(w.cash_share, 1),
            pool_ltv: pct_or_dash(w.pool_ltv, 1),
            price_at_margin_call: price(w.price_at_margin_call),
            price_at_liquidation: price(w.price_at_liquidation),
            price_at_full_ltv: price(w.price_at_full_ltv),
            liquidated: count(w.liquidated_loans),
            liquidated_share: pct_or_dash(w.liquidated_share, 1),
            notes: w
                .notes
                .iter()
                .map(|n| {
                    let rating = if w.rated {
                        rating_name(n.indicated)
                    } else {
                        "not rated".into()
                    };
                    format!("{rating} ({})", pct_or_dash(n.credit_support, 1))
                })
                .collect(),
        })
        .collect()
}

pub fn view(run: &SurveilRun) -> SurveillanceView {
    let ws = &run.watches;
    let classes: Vec<String> = run.deal.notes.iter().map(|n| n.class.clone()).collect();
    let rows = rows(ws);
    let notes = ws
        .iter()
        .flat_map(|w| {
            w.notes.iter().map(move |n| NoteRow {
                date: w.payment_date.to_string(),
                class: n.class.clone(),
                balance: usd(n.balance),
                credit_support: pct_or_dash(n.credit_support, 1),
                indicated: rating_name(n.indicated),
                quantitative: rating_name(n.quantitative),
                published: n.published.clone().unwrap_or_else(|| "-".into()),
                break_even: break_even_text(n.break_even.as_ref()),
            })
        })
        .collect();
    let moves = moves(ws);
    let first = ws
        .first()
        .map(|w| w.payment_date.to_string())
        .unwrap_or_default();
    let last = ws
        .last()
        .map(|w| w.payment_date.to_string())
        .unwrap_or_default();
    let summary = match (ws.first(), ws.last()) {
        (Some(a), Some(b)) => {
            let ratings = |w: &Watch| {
                w.notes
                    .iter()
                    .map(|n| format!("Class {} '{}'", n.class, rating_name(n.indicated)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            format!(
                "{} reports from {first} to {last} under {}: {} on the first, {} on the last; {} rating moves.",
                ws.len(),
                run.methodology.name(),
                ratings(a),
                ratings(b),
                moves.len()
            )
        }
        _ => String::new(),
    };

    let x = |w: &Watch| f64::from(w.period);
    let per_note =
        |value: &dyn Fn(&Watch, usize) -> Option<f64>| -> Vec<(String, Vec<(f64, f64)>)> {
            classes
                .iter()
                .enumerate()
                .map(|(k, c)| {
                    (
                        format!("Class {c}"),
                        ws.iter()
                            .filter_map(|w| value(w, k).map(|v| (x(w), v)))
                            .collect(),
                    )
                })
                .collect()
        };
    let ratings = charts::rating_lines(
        "Indicated rating by report",
        "period (payment dates since closing)",
        &per_note(&|w, k| w.rated.then(|| charts::rating_rank(w.notes[k].indicated))),
    );
    let credit_support = charts::lines(
        "Credit support by report",
        "period (payment dates since closing)",
        "% of the loan balance",
        &per_note(&|w, k| w.notes[k].credit_support.map(|s| f(s) * 100.0)),
    );
    let thousands = |d: Decimal| f(d) / 1000.0;
    let price_series = |name: &str, get: &dyn Fn(&Watch) -> Option<Decimal>| {
        (
            name.to_string(),
            ws.iter()
                .filter_map(|w| get(w).map(|p| (x(w), thousands(p))))
                .collect::<Vec<_>>(),
        )
    };
    let terms = &run.deal.pool.collateral_terms;
    let price = charts::lines(
        "BTC price against the pool's trigger prices",
        "period (payment dates since closing)",
        "USD thousands per BTC",
        &[
            price_series("BTC price on the report", &|w| Some(w.btc_price)),
            price_series(
                &format!(
                    "price at which the pool's LTV is {} (margin call)",
                    pct_dec(terms.margin_call_ltv, 0)
                ),
                &|w| w.price_at_margin_call,
            ),
            price_series(
                &format!(
                    "price at which the pool's LTV is {} (liquidation)",
                    pct_dec(terms.liquidation_ltv, 0)
                ),
                &|w| w.price_at_liquidation,
            ),
            price_series("price at which the pool's LTV is 100%", &|w| {
                w.price_at_full_ltv
            }),
        ],
    );
    let collateral = charts::lines(
        "Loans and cash",
        "period (payment dates since closing)",
        "USD millions",
        &[
            (
                "loan balance".to_string(),
                charts::series(ws.iter().map(|w| (w.period, w.loan_balance))),
            ),
            (
                "cash (collection and reinvestment accounts)".to_string(),
                charts::series(ws.iter().map(|w| (w.period, w.cash))),
            ),
        ],
    );
    SurveillanceView {
        deal: run.deal.name.clone(),
        methodology: run.methodology.name(),
        reports_dir: run.reports.display().to_string(),
        first,
        last,
        reports: ws.len(),
        classes,
        summary,
        rows,
        notes,
        moves,
        charts: Charts {
            ratings,
            credit_support,
            price,
            collateral,
        },
    }
}

/// The Markdown and HTML files.
pub fn render(run: &SurveilRun) -> Result<Vec<(&'static str, Vec<u8>)>, ReportError> {
    let (md, html) = super::render_named(&view(run), MARKDOWN, HTML)?;
    Ok(vec![(MARKDOWN, md.into_bytes()), (HTML, html.into_bytes())])
}
