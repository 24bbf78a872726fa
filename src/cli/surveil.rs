//! `absrate surveil ...`: following a deal from its servicer reports. With no subcommand it rates
//! every report ([`crate::app::surveil`]) and prints the trajectory; `check` reads and reconciles
//! them ([`crate::surveil::check`]) and prints one line per report.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};

use super::OutputFormat as Format;
use crate::app::surveil::{self as app, SurveilRequest, SurveilRun};
use crate::deal::Deal;
use crate::error::Error;
use crate::money::{count, pct_dec, usd};
use crate::report::surveillance::{break_even_text, moves, rows};
use crate::report::table::{Align, Table};
use crate::surveil::{self, Report};

/// `absrate surveil ...`: the rating of every report, or a subcommand.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Examples:\n  absrate surveil --reports tests/fixtures/surveillance/consistent\n  absrate surveil --reports DIR --methodology btc-backed-consumer-loans@1.0.0 --format csv\n  absrate surveil --reports DIR --report out/surveillance/\n  absrate surveil check --reports DIR\n\nEach report (a folder with report.yaml and its tape, docs/surveillance.md) is read, reconciled\nwith the one before, and rated as the deal whose closing is that report: its loans at its BTC\nprice, its notes and accounts, every stress of the methodology from its date to the legal final.\nA rating move is explained by the group of figures (price, pool, note balances) that alone moves\nit. Exit code 3 when a report is invalid or does not reconcile."
)]
pub struct SurveilCli {
    #[command(subcommand)]
    command: Option<SurveilCommand>,
    #[command(flatten)]
    rate: RateArgs,
}

#[derive(Debug, Args)]
pub struct RateArgs {
    /// Deal file the reports are about
    #[arg(long, default_value = super::BUNDLED_DEAL)]
    deal: PathBuf,
    /// Directory of reports: one folder per payment date
    #[arg(long, required = true)]
    reports: Option<PathBuf>,
    /// Methodology: ID@VERSION, ID (newest version) or a file [default: the deal's methodology, newest]
    #[arg(long)]
    methodology: Option<String>,
    #[arg(long, help = super::METHODOLOGY_DIR_HELP)]
    methodology_dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Directory for the surveillance report (Markdown, HTML with charts, JSON, CSV), all or nothing
    #[arg(long)]
    report: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum SurveilCommand {
    /// Read a directory of servicer reports and reconcile each with the one before it
    #[command(
        after_help = "Example:\n  absrate surveil check --deal pools/ledn-2026-1/deal.yaml --reports tests/fixtures/surveillance/consistent\n\nA report is a folder holding report.yaml and its loan tape (docs/surveillance.md). The first\nreport that breaks a rule, or does not follow from the one before it, is refused (exit code 3)."
    )]
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Deal file the reports are about
    #[arg(long, default_value = super::BUNDLED_DEAL)]
    deal: PathBuf,
    /// Directory of reports: one folder per payment date
    #[arg(long)]
    reports: PathBuf,
}

pub fn run(c: SurveilCli) -> Result<String, Error> {
    match c.command {
        Some(SurveilCommand::Check(a)) => check(a),
        None => rate(c.rate),
    }
}

fn rate(a: RateArgs) -> Result<String, Error> {
    let reports = a
        .reports
        .ok_or_else(|| Error::Argument("--reports DIR is required".into()))?;
    // A progress bar on stderr when it is a terminal: each report is a full rating.
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} {pos}/{len} reports rated [{elapsed_precise}] {wide_bar}",
        ) {
            b.set_style(style);
        }
        b
    });
    let progress = bar.clone().map(|b| {
        let f: Arc<dyn Fn(usize, usize) + Send + Sync> = Arc::new(move |done, total| {
            b.set_length(total as u64);
            b.set_position(done as u64);
        });
        f
    });
    let run = app::surveil(&SurveilRequest {
        deal: a.deal,
        reports,
        methodology: a.methodology,
        methodology_dir: a.methodology_dir,
        report: a.report.clone(),
        progress,
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let run = run?;
    let mut out = match a.format {
        Format::Text => text(&run),
        Format::Json => app::json(&run)?,
        Format::Csv => app::csv(&run),
    };
    if let (Some(dir), Format::Text) = (&a.report, a.format) {
        let _ = writeln!(out, "\nReport written to {}", dir.display());
    }
    Ok(out)
}

/// The trajectory: one row per report, then each move with its cause, then the break-evens.
fn text(run: &SurveilRun) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}: {} reports from {} rated under {}",
        run.deal.name,
        run.watches.len(),
        run.reports.display(),
        run.methodology.name()
    );
    let _ = writeln!(
        o,
        "Each report rated as the deal whose closing is that report; liquidated share of the {} loans at the cut-off.\n",
        count(run.origin.loans)
    );
    let liquidation = pct_dec(run.deal.pool.collateral_terms.liquidation_ltv, 0);
    let mut header: Vec<String> = [
        "date",
        "period",
        "phase",
        "BTC",
        "loans",
        "loan balance",
        "cash",
        "cash share",
        "pool LTV",
        &format!("BTC at {liquidation} LTV"),
        "BTC at 100% LTV",
        "liquidated share",
    ]
    .map(String::from)
    .to_vec();
    header.extend(
        run.deal
            .notes
            .iter()
            .map(|n| format!("Class {} (support)", n.class)),
    );
    let mut t = Table::new(header).align(2, Align::Left);
    for r in rows(&run.watches) {
        let mut row = vec![
            r.date,
            r.period.to_string(),
            r.phase,
            r.btc_price,
            r.loans,
            r.loan_balance,
            r.cash,
            r.cash_share,
            r.pool_ltv,
            r.price_at_liquidation,
            r.price_at_full_ltv,
            r.liquidated_share,
        ];
        row.extend(r.notes);
        t.row(row);
    }
    o.push_str(&t.render("  "));
    let moves = moves(&run.watches);
    o.push_str("\nRating moves:\n");
    if moves.is_empty() {
        o.push_str("  none: every note keeps its rating from one report to the next\n");
    }
    for m in moves {
        let _ = writeln!(o, "  {m}");
    }
    o.push_str("\nBreak-evens (the stress of the level each note is rated at):\n");
    let mut b = Table::new(
        std::iter::once("date".to_string())
            .chain(run.deal.notes.iter().map(|n| format!("Class {}", n.class)))
            .collect::<Vec<String>>(),
    );
    for w in run.watches.iter().filter(|w| w.rated) {
        b.row(
            std::iter::once(w.payment_date.to_string())
                .chain(
                    w.notes
                        .iter()
                        .map(|n| break_even_text(n.break_even.as_ref())),
                )
                .collect::<Vec<String>>(),
        );
    }
    o.push_str(&b.render("  "));
    o
}

fn check(a: CheckArgs) -> Result<String, Error> {
    let deal = Deal::load(&a.deal)?;
    let reports = surveil::check(&a.reports, &deal)?;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}: {} reports from {}, each reconciled with the one before",
        deal.name,
        reports.len(),
        a.reports.display()
    );
    o.push('\n');
    o.push_str(&lines(&deal, &reports).render("  "));
    Ok(o)
}

/// One row per report: date, period, phase, note balances, pool, loans and cash.
fn lines(deal: &Deal, reports: &[Report]) -> Table {
    let mut header = vec!["date".to_string(), "period".into(), "phase".into()];
    header.extend(deal.notes.iter().map(|n| format!("Class {}", n.class)));
    header.extend(["pool", "loans", "collection", "reinvestment", "reserve"].map(String::from));
    let mut t = Table::new(header).align(2, Align::Left);
    for r in reports {
        let mut row = vec![
            r.payment_date.to_string(),
            r.period.to_string(),
            crate::surveil::phase_name(r.phase).to_string(),
        ];
        row.extend(r.notes.iter().map(|n| usd(n.balance)));
        row.extend([
            usd(r.pool_balance()),
            count(r.loans.len() as u64),
            usd(r.collection_cash),
            usd(r.reinvestment_cash),
            usd(r.reserve),
        ]);
        t.row(row);
    }
    t
}
