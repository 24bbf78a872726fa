//! `absrate backtest`: every start date in a price history, the pool run through the next horizon.

use std::fmt::Write as _;
use std::path::PathBuf;

use chrono::NaiveDate;
use clap::Args;
use rust_decimal::Decimal;

use super::{TextOrJson as Format, json};
use crate::app::backtest::{self, BacktestRequest, Output};
use crate::error::Error;
use crate::methodology::Notch;
use crate::money::{count, usd};
use crate::stress::backtest::Window;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  absrate backtest --prices ../shared/data/btc-usd-daily.csv\n  absrate backtest --prices ../shared/data/btc-usd-daily.csv --horizon 90d --since 2018-01-01 --format json\n  absrate backtest --prices ../shared/data/btc-usd-daily.csv --level BBB\n\nEach start date's close is scaled to the pool's cut-off price and the pool (as on the tape) is\nrun through the next horizon of daily closes; loans stay exposed for the whole horizon. Sale\nterms: the pool file's market assumptions (base case), or a market-value level with --level.\nThe break-even BTC decline of each note comes from `rate` under the methodology."
)]
pub struct BacktestArgs {
    /// Daily price file (CSV with a date and a price column)
    #[arg(long)]
    prices: PathBuf,
    /// Days each window covers, e.g. 365d or 365
    #[arg(long, default_value = "365d", value_parser = parse_days)]
    horizon: u32,
    /// First start date [default: 2014-01-01]
    #[arg(long, default_value = "2014-01-01")]
    since: NaiveDate,
    /// Deal file (its pool's tape, collateral terms and market assumptions)
    #[arg(long, default_value = super::BUNDLED_DEAL)]
    deal: PathBuf,
    /// Market-value methodology for the break-even declines (and --level) [default: the deal's, newest]
    #[arg(long)]
    methodology: Option<String>,
    #[arg(long, help = super::METHODOLOGY_DIR_HELP)]
    methodology_dir: Option<PathBuf>,
    /// Use this level's sale terms and margin-call behaviour instead of the pool file's
    #[arg(long)]
    level: Option<Notch>,
    #[arg(long, default_value = "date")]
    date_column: String,
    #[arg(long, default_value = "price_usd")]
    price_column: String,
    /// Windows listed among the worst
    #[arg(long, default_value_t = 5)]
    worst: usize,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// `--horizon`: days, at most [`crate::limits::HORIZON_DAYS_MAX`] (ten years of daily prices).
fn parse_days(s: &str) -> Result<u32, String> {
    let max = crate::limits::HORIZON_DAYS_MAX;
    let n = s.strip_suffix('d').unwrap_or(s);
    match n.parse::<u32>() {
        Ok(d) if (1..=max).contains(&d) => Ok(d),
        _ => Err(format!(
            "expected a number of days from 1 to {max}, like 365d; got `{s}`"
        )),
    }
}

pub fn run(a: BacktestArgs) -> Result<String, Error> {
    let out = backtest::run(&BacktestRequest {
        prices: a.prices,
        horizon: a.horizon,
        since: a.since,
        deal: a.deal,
        methodology: a.methodology,
        methodology_dir: a.methodology_dir,
        level: a.level,
        date_column: a.date_column,
        price_column: a.price_column,
        worst: a.worst,
    })?;
    match a.format {
        Format::Json => json(&out),
        Format::Text => Ok(text(&out)),
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn window_line(o: &mut String, w: &Window) {
    let _ = writeln!(
        o,
        "  {}  fall {:>6} (low {})  liquidated {:>6} loans ({:>6}), {:>16}  losses {:>14} ({})",
        w.start,
        pct(w.trough),
        w.trough_date,
        count(w.loans_liquidated),
        pct(w.liquidated_share),
        usd(Decimal::from_f64_retain(w.liquidated_balance)
            .unwrap_or_default()
            .round_dp(2)),
        usd(Decimal::from_f64_retain(w.losses)
            .unwrap_or_default()
            .round_dp(2)),
        pct(w.loss_share)
    );
}

fn text(o: &Output) -> String {
    let b = &o.backtest;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: {} windows of {} days, starts {} to {}\nsale terms: {}",
        o.deal, b.windows, b.horizon_days, b.first_start, b.last_start, o.terms
    );
    let _ = writeln!(
        s,
        "\n  {:<22}{:>8}{:>8}{:>8}{:>8}{:>8}",
        "", "p50", "p90", "p95", "p99", "max"
    );
    for (name, q) in [
        ("BTC fall to the low", &b.trough),
        ("loans liquidated", &b.liquidated_share),
        ("losses / pool", &b.loss_share),
    ] {
        let _ = writeln!(
            s,
            "  {:<22}{:>8}{:>8}{:>8}{:>8}{:>8}",
            name,
            pct(q.p50),
            pct(q.p90),
            pct(q.p95),
            pct(q.p99),
            pct(q.max)
        );
    }
    let _ = writeln!(s, "\nWorst windows by losses (one per episode)");
    for w in &b.worst_by_loss {
        window_line(&mut s, w);
    }
    let _ = writeln!(s, "\nDeepest falls (one per episode)");
    for w in &b.worst_by_trough {
        window_line(&mut s, w);
    }
    let _ = writeln!(
        s,
        "\nBreak-even BTC decline under {} vs history",
        o.methodology
    );
    for n in &o.notes {
        let _ = writeln!(
            s,
            "  Class {} ({}): break-even {}; {} of {} windows fell deeper (deepest {})",
            n.class,
            n.indicated.as_deref().unwrap_or("below B-"),
            n.break_even_btc_decline
                .map(|d| format!("{}%", (d * Decimal::ONE_HUNDRED).normalize()))
                .unwrap_or_else(|| "not binding (survives a 99% fall on its path)".into()),
            count(n.windows_deeper as u64),
            count(b.windows as u64),
            pct(b.trough.max)
        );
    }
    s
}
