//! `absrate replay`: the arguments and the text printer; the work is [`crate::app::replay::run`].

use std::fmt::Write as _;
use std::path::PathBuf;

use chrono::NaiveDate;
use clap::Args;
use rust_decimal::Decimal;

use super::{TextOrJson as Format, json};
use crate::app::replay::{self, ReplayRequest};
use crate::error::Error;
use crate::money::{btc, count, pct_dec, pct_or_dash, usd};
use crate::stress::Execution;

#[derive(Debug, Args)]
#[command(
    after_help = "Example (the early-2026 sell-off, with the bundled price history):\n  absrate replay --prices ../shared/data/btc-usd-daily.csv --from 2025-12-31 --to 2026-02-18 --out-tape /tmp/after/tape.csv\n  absrate rate --tape /tmp/after/tape.csv --cash-at-closing <cash printed by replay>\n\nDaily closes cannot see intraday falls: --execution trigger (the default) sells at the trigger\nprice as continuous monitoring would; --execution close sells at the day's close; --gap lowers\nthe sale price further, standing in for lag and slippage."
)]
pub struct ReplayArgs {
    /// Daily price file (CSV with a date and a price column)
    #[arg(long)]
    prices: PathBuf,
    /// First day (the pool as on the tape)
    #[arg(long)]
    from: NaiveDate,
    /// Last day
    #[arg(long)]
    to: NaiveDate,
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
    #[arg(long)]
    out_tape: Option<PathBuf>,
}

pub fn run(a: ReplayArgs) -> Result<String, Error> {
    let run = replay::run(&ReplayRequest {
        prices: a.prices.clone(),
        from: a.from,
        to: a.to,
        deal: a.deal,
        date_column: a.date_column,
        price_column: a.price_column,
        answer_share: a.answer_share,
        gap: a.gap,
        execution: a.execution,
        seed: a.seed,
        out_tape: a.out_tape.clone(),
    })?;
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
