//! `absrate surveil ...`: following a deal from its servicer reports. `check` reads and
//! reconciles them ([`crate::surveil::check`]) and prints one line per report.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::deal::Deal;
use crate::error::Error;
use crate::money::{count, usd};
use crate::report::table::{Align, Table};
use crate::surveil::{self, Report};

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

pub fn run(c: SurveilCommand) -> Result<String, Error> {
    match c {
        SurveilCommand::Check(a) => check(a),
    }
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
