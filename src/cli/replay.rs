//! `absrate replay`: the arguments and the text printer; the work is [`crate::app::replay::run`].

use std::fmt::Write as _;
use std::path::PathBuf;

use chrono::NaiveDate;
use clap::Args;
use rust_decimal::Decimal;

use super::{TextOrJson as Format, json};
use crate::app::replay::{self, MonthlyRun, ReplayRequest};
use crate::error::Error;
use crate::money::{btc, count, pct_dec, pct_or_dash, usd};
use crate::report::table::{Align, Table};
use crate::stress::Execution;

#[derive(Debug, Args)]
#[command(
    after_help = "Example (the early-2026 sell-off, with the bundled price history):\n  absrate replay --prices ../shared/data/btc-usd-daily.csv --from 2025-12-31 --to 2026-02-18 --out-tape /tmp/after/tape.csv\n  absrate rate --tape /tmp/after/tape.csv --cash-at-closing <cash printed by replay>\n\nThe servicer reports the deal would have published, cut-off to the price file's last date:\n  absrate replay --prices ../shared/data/btc-usd-daily.csv --monthly-reports /tmp/reports\n  absrate surveil check --reports /tmp/reports\n\nDaily closes cannot see intraday falls: --execution trigger (the default) sells at the trigger\nprice as continuous monitoring would; --execution close sells at the day's close; --gap lowers\nthe sale price further, standing in for lag and slippage."
)]
pub struct ReplayArgs {
    /// Daily price file (CSV with a date and a price column)
    #[arg(long)]
    prices: PathBuf,
    /// First day (the pool as on the tape) [with --monthly-reports: default the pool's cut-off]
    #[arg(long, required_unless_present = "monthly_reports")]
    from: Option<NaiveDate>,
    /// Last day [with --monthly-reports: default the price file's last date]
    #[arg(long, required_unless_present = "monthly_reports")]
    to: Option<NaiveDate>,
    /// Deal file (its pool's tape and collateral terms)
    #[arg(long, default_value = super::BUNDLED_DEAL)]
    deal: PathBuf,
    #[arg(long, default_value = "date")]
    date_column: String,
    #[arg(long, default_value = "price_usd")]
    price_column: String,
    /// Share of borrowers who answer a margin call [default: the pool file's market assumptions]
    #[arg(long)]
    answer_share: Option<f64>,
    /// Fall from the reference price to the sale price, e.g. 0.02 [default: the pool file's]
    #[arg(long)]
    gap: Option<Decimal>,
    #[arg(long, value_enum, default_value_t = Execution::Trigger)]
    execution: Execution,
    /// Seed of the draw of which borrowers answer margin calls
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Write the surviving loans as a tape (with a pool.yaml valued at --to beside it)
    #[arg(long, conflicts_with = "monthly_reports")]
    out_tape: Option<PathBuf>,
    /// Write the servicer reports the deal would have published, closing and every payment date to --to, into this new or empty directory
    #[arg(long, value_name = "DIR")]
    monthly_reports: Option<PathBuf>,
    /// With --monthly-reports: the methodology whose `simulation` terms give the interest paid in cash and the servicing fee [default: the deal's methodology, newest version]
    #[arg(long, requires = "monthly_reports")]
    methodology: Option<String>,
    #[arg(long, help = super::METHODOLOGY_DIR_HELP, requires = "monthly_reports")]
    methodology_dir: Option<PathBuf>,
}

pub fn run(a: ReplayArgs) -> Result<String, Error> {
    let request = ReplayRequest {
        prices: a.prices.clone(),
        from: a.from,
        to: a.to,
        deal: a.deal.clone(),
        date_column: a.date_column.clone(),
        price_column: a.price_column.clone(),
        answer_share: a.answer_share,
        gap: a.gap,
        execution: a.execution,
        seed: a.seed,
        out_tape: a.out_tape.clone(),
        monthly_reports: a.monthly_reports.clone(),
        methodology: a.methodology.clone(),
        methodology_dir: a.methodology_dir.clone(),
    };
    if a.monthly_reports.is_some() {
        return monthly(&a, &replay::monthly(&request)?);
    }
    let run = replay::run(&request)?;
    let (r, pool, answer_share, gap) = (&run.result, &run.deal.pool, run.answer_share, run.gap);
    match a.format {
        Format::Json => json(&r),
        Format::Text => {
            let mut o = String::new();
            let _ = writeln!(
                o,
                "Replay of {} from {} to {} ({} days, daily closes from {})",
                pool.name,
                r.from,
                r.to,
                (r.to - r.from).num_days(),
                a.prices.display()
            );
            let _ = writeln!(
                o,
                "  BTC {} -> {} (trough {} on {}, {} from the start)",
                usd(r.start_price),
                usd(r.end_price),
                usd(r.trough_price),
                r.trough_date,
                pct_dec((r.trough_price - r.start_price) / r.start_price, 1)
            );
            let _ = writeln!(
                o,
                "  assumptions: {} of borrowers answer margin calls (seed {}); sale at the {} price less a {} gap",
                pct_dec(Decimal::try_from(answer_share).unwrap_or_default(), 0),
                a.seed,
                match a.execution {
                    Execution::Trigger => "trigger",
                    Execution::Close => "closing",
                },
                pct_dec(gap, 1)
            );
            let _ = writeln!(
                o,
                "  loans at start          {:>8}   balance {}",
                count(r.loans),
                usd(r.balance_start)
            );
            let _ = writeln!(
                o,
                "  loans margin-called     {:>8}   {} calls; {} answered, by {} loans; {} BTC added",
                count(r.loans_margin_called),
                count(r.margin_calls),
                count(r.calls_answered),
                count(r.loans_answering),
                btc(r.btc_added)
            );
            let _ = writeln!(
                o,
                "  loans liquidated        {:>8}   {} of loans ({} never called); balance {} ({} of the pool)",
                count(r.loans_liquidated),
                pct_dec(
                    Decimal::from(r.loans_liquidated) / Decimal::from(r.loans.max(1)),
                    1
                ),
                count(r.loans_liquidated_without_a_call),
                usd(r.liquidated_balance),
                pct_dec(
                    r.liquidated_balance
                        .checked_div(r.balance_start)
                        .unwrap_or_default(),
                    1
                )
            );
            let _ = writeln!(
                o,
                "  execution LTV           mean {}, max {}; proceeds {}",
                pct_or_dash(r.mean_execution_ltv, 2),
                pct_or_dash(r.max_execution_ltv, 2),
                usd(r.proceeds)
            );
            let _ = writeln!(
                o,
                "  principal losses        {}   surplus returned to borrowers {}",
                usd(r.losses),
                usd(r.surplus_returned)
            );
            let _ = writeln!(
                o,
                "Pool afterwards: {} loans, balance {} ({}), plus cash {} ({}); total {}",
                count(r.loans_surviving),
                usd(r.surviving_balance),
                crate::money::usd_millions(r.surviving_balance),
                usd(r.cash),
                crate::money::usd_millions(r.cash),
                crate::money::usd_millions(r.surviving_balance + r.cash)
            );
            if let Some(out) = &a.out_tape {
                let _ = writeln!(
                    o,
                    "wrote {} and {}; re-rate with: absrate rate --tape {} --cash-at-closing {}",
                    out.display(),
                    out.with_file_name("pool.yaml").display(),
                    out.display(),
                    r.cash + run.deal.cash_at_closing
                );
            }
            Ok(o)
        }
    }
}

/// The reports written: one line each (date, loans, loan balance, cash awaiting new loans,
/// loans liquidated since the cut-off and their share of the cut-off count, note balances).
fn monthly(a: &ReplayArgs, run: &MonthlyRun) -> Result<String, Error> {
    if a.format == Format::Json {
        return replay::monthly_json(run);
    }
    let mut o = String::new();
    let _ = writeln!(
        o,
        "Servicer reports of {} from its cut-off pool on {} to {} (daily closes from {}), written to {}",
        run.deal.name,
        run.from,
        run.to,
        a.prices.display(),
        run.dir.display()
    );
    let new_loans = run.deal.new_loans.as_ref().map_or(String::new(), |t| {
        format!(
            "; new loans of {} at {} LTV and {}",
            usd(t.loan_size.value),
            pct_dec(t.ltv.value, 0),
            pct_dec(t.interest_rate.value, 2)
        )
    });
    let _ = writeln!(
        o,
        "  assumptions: {} of borrowers answer margin calls (seed {}); sale at the {} price less a {} gap; {} of interest paid in cash ({}){new_loans}",
        pct_dec(Decimal::try_from(run.answer_share).unwrap_or_default(), 0),
        a.seed,
        match a.execution {
            Execution::Trigger => "trigger",
            Execution::Close => "closing",
        },
        pct_dec(run.gap, 1),
        pct_dec(run.interest_cash_share, 0),
        run.methodology,
    );
    o.push('\n');
    let mut header: Vec<String> = [
        "date",
        "period",
        "phase",
        "loans",
        "loan balance",
        "reinvestment",
        "liquidated",
        "share",
    ]
    .map(String::from)
    .to_vec();
    header.extend(run.deal.notes.iter().map(|n| format!("Class {}", n.class)));
    let mut t = Table::new(header).align(2, Align::Left);
    for r in &run.reports {
        let mut row = vec![
            r.date.to_string(),
            r.period.to_string(),
            r.phase.to_string(),
            count(r.loans),
            usd(r.loan_balance),
            usd(r.reinvestment_account),
            count(r.loans_liquidated),
            pct_dec(r.liquidated_share, 1),
        ];
        row.extend(r.notes.iter().map(|n| usd(n.balance)));
        t.row(row);
    }
    o.push_str(&t.render("  "));
    Ok(o)
}
