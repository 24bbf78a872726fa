//! `absrate replay`: a real BTC price path applied to the pool, loan by loan.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use clap::Args;
use rust_decimal::Decimal;

use super::{TextOrJson as Format, json};
use crate::error::Error;
use crate::money::{btc, count, pct_dec, usd};
use crate::pool::{Cutoff, FILE_NAME, PoolFileOut};
use crate::rating::MarketPool;
use crate::stress::{Execution, ReplayParams, replay};
use crate::tape::{Tape, read_prices, write_tape};

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

/// `x` as a percentage, or `-` when there is none.
fn pct_or_dash(x: Option<Decimal>) -> String {
    x.map_or_else(|| "-".into(), |d| pct_dec(d, 2))
}

pub fn run(a: ReplayArgs) -> Result<String, Error> {
    let deal = super::load_deal(&a.deal)?;
    let pool = &deal.pool;
    let market = pool.market.as_ref();
    let answer_share = a
        .answer_share
        .or(market.map(|m| m.margin_call_answer_share))
        .ok_or_else(|| Error::Argument("no margin-call answer share: pass --answer-share or give `market` in the pool file".into()))?;
    if !(0.0..=1.0).contains(&answer_share) {
        return Err(Error::Argument(format!(
            "--answer-share must be within [0, 1], got {answer_share}"
        )));
    }
    let gap = a
        .gap
        .or(market.map(|m| m.liquidation_gap))
        .unwrap_or(Decimal::ZERO);
    if gap < Decimal::ZERO || gap >= Decimal::ONE {
        return Err(Error::Argument(format!(
            "--gap must be within [0, 1), got {gap}"
        )));
    }
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
        from: a.from,
        to: a.to,
        margin_call_ltv: pool.collateral_terms.margin_call_ltv,
        liquidation_ltv: pool.collateral_terms.liquidation_ltv,
        cure_ltv: pool.collateral_terms.margin_call_cure_ltv,
        gap,
        execution: a.execution,
    };
    let r = replay(&records, &loans, &prices, &params).map_err(Error::Argument)?;
    if let (Some(out), Some(path)) = (&a.out_tape, &pool_out) {
        write_tape(&r.survivors, out)?;
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
        let tmp = path.with_extension(format!("yaml.tmp-{}", std::process::id()));
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                err(e.to_string())
            })?;
    }
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
                pct_or_dash(r.mean_execution_ltv),
                pct_or_dash(r.max_execution_ltv),
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
                    r.cash + deal.cash_at_closing
                );
            }
            Ok(o)
        }
    }
}
