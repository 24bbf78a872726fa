//! `absrate rate`: the arguments, and the text printer of the rating grid. The work is
//! [`crate::app::rate`].

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use rust_decimal::Decimal;

use super::TextOrJson as Format;
use crate::app::{self, RateRequest};
use crate::deal::Deal;
use crate::error::Error;
use crate::methodology::{Methodology, Notch};
use crate::money::{count, pct_dec, pct_or_dash, usd};
use crate::rating::RatingResult;
use crate::report::{self, table::Table};
use crate::tape::Tape;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  absrate rate\n  absrate rate --methodology btc-backed-consumer-loans@1.0.0 --format json\n  absrate rate --expect A=BBB- --expect B=B-\n  absrate rate --cashflows /tmp/flows.csv\n  absrate rate --report out/\n\nWith no arguments: the bundled Ledn pool under the newest version of its methodology.\nExit code 4 when a note misses its --expect target (the grid is still printed)."
)]
pub struct RateArgs {
    /// Deal file
    #[arg(long, default_value = super::BUNDLED_DEAL)]
    deal: PathBuf,
    /// Methodology: ID@VERSION, ID (newest version) or a file [default: the deal's methodology, newest]
    #[arg(long)]
    methodology: Option<String>,
    #[arg(long, help = super::METHODOLOGY_DIR_HELP)]
    methodology_dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Target rating of a class, CLASS=NOTCH (repeatable): the exit code is 4 if one is missed
    #[arg(long, value_parser = parse_expect)]
    expect: Vec<(String, Notch)>,
    /// Write the period-by-period flows of every level to this CSV file
    #[arg(long)]
    cashflows: Option<PathBuf>,
    /// Write result.json and cashflows.csv into this directory
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write the rating rationale (rationale.md, rationale.html, result.json, cashflows.csv,
    /// cashflows.xlsx) into this directory, all or nothing
    #[arg(long)]
    report: Option<PathBuf>,
    /// Rate another tape of the same deal (e.g. the pool after `absrate replay`); a pool.yaml
    /// beside it gives its valuation
    #[arg(long)]
    tape: Option<PathBuf>,
    /// Cash the deal holds at closing (e.g. what a replay's liquidations repaid) [default: the deal's]
    #[arg(long)]
    cash_at_closing: Option<Decimal>,
    /// Directory with your own rationale.md and rationale.html Tera templates [default: the bundled ones]
    #[arg(long, requires = "report")]
    templates: Option<PathBuf>,
    /// Print the JSON Schema of result.json (the output of --format json) and exit
    #[arg(long)]
    schema: bool,
}

pub fn run(a: RateArgs) -> Result<String, Error> {
    if a.schema {
        return super::json(&app::result_schema());
    }
    let request = RateRequest {
        deal: a.deal,
        methodology: a.methodology,
        methodology_dir: a.methodology_dir,
        tape: a.tape,
        cash_at_closing: a.cash_at_closing,
        expect: a.expect,
        cashflows: a.cashflows,
        out: a.out,
        report: a.report,
        templates: a.templates,
        want_json: a.format == Format::Json,
    };
    // An auto-loan deal (issue 16) has its own engine path and printer.
    if app::rate_auto::is_auto_deal(&request.deal)? {
        let run = app::rate_auto::rate(&request)?;
        let output = match a.format {
            Format::Text => super::rate_auto::text(&run),
            Format::Json => run.json.clone().unwrap_or_default(),
        };
        return finish(output, run.missed);
    }
    let run = app::rate(&request)?;
    let output = match a.format {
        Format::Text => text(&run.deal, &run.methodology, &run.tape, &run.result),
        Format::Json => run.json.unwrap_or_default(),
    };
    finish(output, run.missed)
}

/// The printed output, or the error carrying it when a note missed its `--expect` target.
fn finish(output: String, missed: Vec<String>) -> Result<String, Error> {
    if missed.is_empty() {
        Ok(output)
    } else {
        Err(Error::TargetMissed {
            output,
            message: format!("error: target rating missed:\n  {}", missed.join("\n  ")),
        })
    }
}

fn parse_expect(s: &str) -> Result<(String, Notch), String> {
    let (class, notch) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: expected CLASS=NOTCH, e.g. A=BBB-"))?;
    Ok((class.to_string(), notch.parse()?))
}

fn text(deal: &Deal, m: &Methodology, tape: &Tape, r: &RatingResult) -> String {
    let mut o = String::new();
    let pool: Decimal = r
        .levels
        .first()
        .map(|l| l.adjustments.pool_balance)
        .unwrap_or_default();
    let _ = writeln!(o, "{} under {}", deal.name, m.name());
    let _ = writeln!(
        o,
        "pool {} loans, {}; {}",
        count(tape.loans() as u64),
        usd(pool),
        super::notes_and_periods(deal)
    );
    let market = r.levels.iter().any(|l| l.market.is_some());
    // Market value: the rates the liquidation engine derived from each level's path.
    let mut grid = Table::new(
        [
            "level",
            if market {
                "default (derived)"
            } else {
                "default"
            },
            if market {
                "recovery (derived)"
            } else {
                "recovery"
            },
            "defaults (USD)",
        ]
        .into_iter()
        .map(String::from)
        .chain(deal.notes.iter().map(|n| format!("Class {}", n.class))),
    );
    for l in &r.levels {
        // Market value: the rates the liquidation engine derived; else the stated ones.
        let rates = match (&l.market, m.level(l.notch).stress.default_recovery()) {
            (Some(k), _) => Some((k.default_rate, k.recovery_rate)),
            (None, Some(d)) => Some((d.default_rate, d.recovery_rate)),
            (None, None) => None,
        };

        grid.row(
            [
                l.notch.to_string(),
                pct_or_dash(rates.map(|r| r.0), 1),
                pct_or_dash(rates.map(|r| r.1), 1),
                usd(l.default_amount),
            ]
            .into_iter()
            .chain(l.notes.iter().map(super::grid_cell)),
        );
    }
    o.push('\n');
    o.push_str(&grid.render("  "));
    let _ = writeln!(o, "\nIndicated ratings");
    for (n, nr) in deal.notes.iter().zip(&r.notes) {
        let indicated = nr
            .indicated
            .map(|x| x.to_string())
            .unwrap_or_else(|| "below B-".into());
        let published = n
            .rating_published
            .as_deref()
            .map(|p| format!(" (published {p})"))
            .unwrap_or_default();
        let head = format!(
            "  Class {} {} at {}: {}{}",
            n.class,
            usd(n.balance),
            pct_dec(n.coupon, 2),
            indicated,
            published,
        );
        let overlays = report::overlays::phrase(m, nr)
            .map(|p| format!("    {p}\n"))
            .unwrap_or_default();
        match nr.break_even_liquidation_gap() {
            // Market value: losses come from the terms of each sale; the default rate is derived.
            Some(gap) => {
                let level = nr.break_even_level;
                let _ = writeln!(o, "{head}");
                o.push_str(&overlays);
                let _ = writeln!(
                    o,
                    "    break-even liquidation gap (sale discount below the trigger price) under the '{level}' stress: {}",
                    report::gap_phrase(gap, report::stated_gap(m, level))
                );
                let _ = writeln!(
                    o,
                    "    break-even BTC decline {}",
                    report::decline_phrase(
                        nr.binding_btc_decline(),
                        deal.pool.cutoff.btc_price,
                        level
                    )
                );
            }
            None => {
                let _ = writeln!(
                    o,
                    "{head}; break-even default {} under the '{}' stress, {}x the base case {}",
                    pct_dec(nr.break_even_default_rate().unwrap_or_default(), 1),
                    nr.break_even_level,
                    nr.coverage().unwrap_or_default().normalize(),
                    pct_dec(m.base_case.default_rate.value, 1),
                );
                o.push_str(&overlays);
            }
        }
    }
    if market {
        let _ = writeln!(o, "\nPrice paths (market value)");
        let mut paths = Table::new([
            "level",
            "trough",
            "BTC at low",
            "called",
            "liquidated",
            "sold (USD)",
            "losses (USD)",
            "max execution LTV",
        ]);
        for l in &r.levels {
            if let Some(k) = &l.market {
                paths.row([
                    l.notch.to_string(),
                    pct_dec(k.btc_trough, 1),
                    usd(k.trough_price.round_dp(0)),
                    count(k.loans_margin_called),
                    count(k.loans_liquidated),
                    usd(k.liquidated_principal),
                    usd(k.losses),
                    format!("{:.1}%", k.max_execution_ltv * 100.0),
                ]);
            }
        }
        o.push_str(&paths.render("  "));
    }
    for l in r.levels.iter() {
        for (n, out) in deal.notes.iter().zip(&l.notes) {
            if !out.passed && Some(l.notch) == first_fail(r, &n.class) {
                let _ = writeln!(
                    o,
                    "  Class {} first fails at '{}': period {}, interest shortfall {}, principal loss {}",
                    n.class,
                    l.notch,
                    out.first_failing_period.unwrap_or(0),
                    usd(out.interest_shortfall),
                    usd(out.principal_loss)
                );
            }
        }
    }
    for w in &r.warnings {
        let _ = writeln!(o, "warning: {w}");
    }
    o
}

/// The highest-rated notch at which a class fails just above its quantitative rating.
fn first_fail(r: &RatingResult, class: &str) -> Option<Notch> {
    let k = r.notes.iter().position(|n| n.class == class)?;
    match r.notes[k].quantitative {
        Some(n) => n.up(),
        None => Some(Notch::B_MINUS),
    }
}
