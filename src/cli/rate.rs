//! `absrate rate`: the rating grid of a deal under a methodology.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;
use rust_decimal::Decimal;
use serde::Serialize;

use super::{TextOrJson as Format, json};
use crate::deal::Deal;
use crate::error::Error;
use crate::methodology::{Lookup, Methodology, Notch, sha256_of};
use crate::money::{count, pct_dec, usd};
use crate::rating::{self, RatingResult};
use crate::report::{self, table::Table};
use crate::tape::Tape;
use crate::waterfall::Period;

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
}

fn parse_expect(s: &str) -> Result<(String, Notch), String> {
    let (class, notch) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: expected CLASS=NOTCH, e.g. A=BBB-"))?;
    Ok((class.to_string(), notch.parse()?))
}

#[derive(Serialize)]
struct Inputs {
    deal: String,
    deal_sha256: String,
    tape: String,
    tape_sha256: String,
    methodology: String,
    methodology_sha256: String,
    engine: String,
}

#[derive(Serialize)]
struct NoteJson {
    class: String,
    balance: Decimal,
    coupon: Decimal,
    seniority: crate::deal::Seniority,
    published_rating: Option<String>,
    indicated: Option<String>,
    non_monotone: bool,
    /// Default and recovery: the break-even default rate and its multiple of the base case;
    /// absent under a market-value methodology.
    #[serde(skip_serializing_if = "Option::is_none")]
    break_even_default_rate: Option<Decimal>,
    break_even_level: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    coverage: Option<Decimal>,
    /// Market value: the break-even BTC decline, `null` when not binding (the note survives
    /// any fall on its level's path); absent under a default-and-recovery methodology.
    #[serde(skip_serializing_if = "Option::is_none")]
    break_even_btc_decline: Option<Option<Decimal>>,
    /// Market value: the largest liquidation gap the note survives, the rest of its level held.
    #[serde(skip_serializing_if = "Option::is_none")]
    break_even_liquidation_gap: Option<Decimal>,
}

#[derive(Serialize)]
struct ResultJson<'a> {
    deal: &'a str,
    inputs: &'a Inputs,
    notes: Vec<NoteJson>,
    levels: &'a [rating::LevelResult],
    warnings: &'a [String],
}

fn write_atomically(path: &Path, text: &str) -> Result<(), Error> {
    let err = |e: std::io::Error| Error::Output {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            err(e)
        })
}

pub fn run(a: RateArgs) -> Result<String, Error> {
    let mut deal = super::load_deal(&a.deal)?;
    if let Some(tape) = &a.tape {
        if let Some(beside) = crate::pool::PoolFile::beside(tape) {
            let p = crate::pool::PoolFile::load(&beside)?;
            deal.pool.cutoff = p.cutoff;
            deal.pool.collateral_terms = p.collateral_terms;
        }
        deal.pool.tape = tape.clone();
    }
    if let Some(cash) = a.cash_at_closing {
        if cash < Decimal::ZERO {
            return Err(Error::Argument(format!(
                "--cash-at-closing must be >= 0, got {cash}"
            )));
        }
        deal.cash_at_closing = cash;
    }
    let registry = Lookup::for_deal(a.methodology_dir.as_deref(), &deal.path);
    let m = registry.resolve(a.methodology.as_deref().unwrap_or(&deal.methodology))?;
    for (class, _) in &a.expect {
        if !deal.notes.iter().any(|n| n.class == *class) {
            return Err(Error::Argument(format!(
                "--expect {class}=...: the deal has no class {class}"
            )));
        }
    }
    let tape = Tape::read(&deal.pool.tape)?;
    let result = rating::rate(&tape, &deal, &m)?;

    let inputs = Inputs {
        deal: deal.path.display().to_string(),
        deal_sha256: sha256_of(&deal.path)?,
        tape: deal.pool.tape.display().to_string(),
        tape_sha256: sha256_of(&deal.pool.tape)?,
        methodology: m.name(),
        methodology_sha256: m.sha256.clone(),
        engine: format!("absrate {}", env!("CARGO_PKG_VERSION")),
    };
    // Each output is built once, however many files and streams carry it.
    let json_text = if a.format == Format::Json || a.out.is_some() || a.report.is_some() {
        Some(json(&ResultJson {
            deal: &deal.name,
            inputs: &inputs,
            notes: notes_json(&deal, &result),
            levels: &result.levels,
            warnings: &result.warnings,
        })?)
    } else {
        None
    };
    let csv_text = (a.cashflows.is_some() || a.out.is_some() || a.report.is_some())
        .then(|| cashflows_csv(&deal, &result));
    let (json_text, csv_text) = (json_text.unwrap_or_default(), csv_text.unwrap_or_default());
    if let Some(path) = &a.cashflows {
        write_atomically(path, &csv_text)?;
    }
    if let Some(dir) = &a.out {
        write_atomically(&dir.join("result.json"), &json_text)?;
        write_atomically(&dir.join("cashflows.csv"), &csv_text)?;
    }
    if let Some(dir) = &a.report {
        let at = rating::valuation(&deal);
        let summary = tape.summary(&at)?;
        let strats = tape.strats(&at)?;
        let provenance = report::Provenance {
            engine: inputs.engine.clone(),
            methodology: m.name(),
            methodology_sha256: m.sha256.clone(),
            deal_sha256: inputs.deal_sha256.clone(),
            tape_sha256: inputs.tape_sha256.clone(),
            seed: deal
                .pool
                .generated_with_seed
                .map(|s| format!("{s} (synthetic tape; the rating itself draws no random numbers)"))
                .unwrap_or_else(|| "none (the rating draws no random numbers)".into()),
            run_date: run_date(),
        };
        let view = report::rationale(&deal, &m, &summary, &strats, &result, provenance);
        let (md, html) = report::render(&view, a.templates.as_deref())?;
        let xlsx = report::workbook(&deal, &result)
            .map_err(|e| report::ReportError::Workbook(e.to_string()))?;
        report::write_all(
            dir,
            &[
                (report::MARKDOWN, md.into_bytes()),
                (report::HTML, html.into_bytes()),
                ("result.json", json_text.clone().into_bytes()),
                ("cashflows.csv", csv_text.into_bytes()),
                ("cashflows.xlsx", xlsx),
            ],
        )?;
    }
    let output = match a.format {
        Format::Text => text(&deal, &m, &tape, &result),
        Format::Json => json_text,
    };
    let missed: Vec<String> = a
        .expect
        .iter()
        .filter_map(|(class, target)| {
            let got = result.notes.iter().find(|n| n.class == *class)?.indicated;
            match got {
                Some(n) if n <= *target => None,
                other => Some(format!(
                    "Class {class}: expected {target} or better, indicated {}",
                    other
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "below B-".into())
                )),
            }
        })
        .collect();
    if missed.is_empty() {
        Ok(output)
    } else {
        Err(Error::TargetMissed {
            output,
            message: format!("error: target rating missed:\n  {}", missed.join("\n  ")),
        })
    }
}

/// The run date of a report: `SOURCE_DATE_EPOCH` when set (reproducible builds), else now (UTC).
fn run_date() -> String {
    let at = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .unwrap_or_else(chrono::Utc::now);
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn notes_json(deal: &Deal, r: &RatingResult) -> Vec<NoteJson> {
    deal.notes
        .iter()
        .zip(&r.notes)
        .map(|(n, nr)| NoteJson {
            class: n.class.clone(),
            balance: n.balance,
            coupon: n.coupon,
            seniority: n.seniority,
            published_rating: n.rating_published.clone(),
            indicated: nr.indicated.map(|x| x.to_string()),
            non_monotone: nr.non_monotone,
            break_even_default_rate: nr.break_even_default_rate(),
            break_even_level: nr.break_even_level.to_string(),
            coverage: nr.coverage(),
            break_even_btc_decline: nr
                .break_even_liquidation_gap()
                .map(|_| nr.binding_btc_decline()),
            break_even_liquidation_gap: nr.break_even_liquidation_gap(),
        })
        .collect()
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
        "pool {} loans, {}; notes {}; {} monthly periods to {}",
        count(tape.loans() as u64),
        usd(pool),
        deal.notes
            .iter()
            .map(|n| format!("{} {}", n.class, usd(n.balance)))
            .collect::<Vec<_>>()
            .join(", "),
        deal.payment_dates().len(),
        deal.legal_final
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
        let shown = |pick: fn((Decimal, Decimal)) -> Decimal| {
            rates.map_or_else(|| "-".to_string(), |r| pct_dec(pick(r), 1))
        };
        grid.row(
            [
                l.notch.to_string(),
                shown(|r| r.0),
                shown(|r| r.1),
                usd(l.default_amount),
            ]
            .into_iter()
            .chain(l.notes.iter().map(|n| {
                if n.passed {
                    "pass".to_string()
                } else {
                    format!("FAIL p{}", n.first_failing_period.unwrap_or(0))
                }
            })),
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
        match nr.break_even_liquidation_gap() {
            // Market value: losses come from the terms of each sale; the default rate is derived.
            Some(gap) => {
                let level = nr.break_even_level;
                let _ = writeln!(o, "{head}");
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

/// The highest-rated notch at which a class fails just above its indicated rating.
fn first_fail(r: &RatingResult, class: &str) -> Option<Notch> {
    let k = r.notes.iter().position(|n| n.class == class)?;
    match r.notes[k].indicated {
        Some(n) => n.up(),
        None => Some(Notch::B_MINUS),
    }
}

fn cashflows_csv(deal: &Deal, r: &RatingResult) -> String {
    let mut o = String::from(
        "level,period,date,phase,performing_start,defaults,recoveries,interest_due,interest_cash,interest_capitalized,maturities,new_loans,available,fees_paid",
    );
    for n in &deal.notes {
        let _ = write!(
            o,
            ",interest_paid_{c},interest_shortfall_{c},principal_paid_{c},balance_{c}",
            c = n.class
        );
    }
    o.push_str(",reserve_draw,reserve_top_up,reserve_release,reserve_end,reinvested,awaiting_reinvestment,residual,performing_end,cumulative_defaults\n");
    for l in &r.levels {
        for p in &l.run.periods {
            row(&mut o, l.notch, p);
        }
    }
    o
}

/// Money in the CSV always carries two places, so files compare byte for byte.
fn m(d: Decimal) -> String {
    format!("{d:.2}")
}

fn row(o: &mut String, notch: Notch, p: &Period) {
    let _ = write!(
        o,
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
        notch,
        p.period,
        p.date,
        if p.revolving {
            "revolving"
        } else {
            "amortizing"
        },
        m(p.performing_start),
        m(p.defaults),
        m(p.recoveries),
        m(p.interest_due),
        m(p.interest_cash),
        m(p.interest_capitalized),
        m(p.maturities),
        m(p.new_loans),
        m(p.available),
        m(p.fees_paid)
    );
    for k in 0..p.interest_paid.len() {
        let _ = write!(
            o,
            ",{},{},{},{}",
            m(p.interest_paid[k]),
            m(p.interest_shortfall[k]),
            m(p.principal_paid[k]),
            m(p.note_balance_end[k])
        );
    }
    let _ = writeln!(
        o,
        ",{},{},{},{},{},{},{},{},{}",
        m(p.reserve_draw),
        m(p.reserve_top_up),
        m(p.reserve_release),
        m(p.reserve_end),
        m(p.reinvested),
        m(p.awaiting_reinvestment),
        m(p.residual),
        m(p.performing_end),
        m(p.cumulative_defaults)
    );
}
