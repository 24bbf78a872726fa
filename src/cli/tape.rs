//! `absrate tape ...`: check, summary, strat, derive.

use std::fmt::Write as _;
use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Subcommand};
use rust_decimal::Decimal;

use super::{OutputFormat, json};
use crate::app::tape::{Source, StratJson, SummaryJson, ValuationRequest};
use crate::error::Error;
use crate::money::{btc, count, pct, pct_dec, usd, usd_millions};
use crate::tape::{PoolSummary, Strat, Tape, Valuation};

#[derive(Debug, Subcommand)]
pub enum TapeCommand {
    /// Validate a tape: every rule of docs/tape.md, every violation reported at once
    #[command(
        after_help = "Example:\n  absrate tape check pools/ledn-2026-1/tape.csv\n\nExit code 3 and a report of the first 20 violations (with counts per rule) when the tape is invalid."
    )]
    Check {
        /// Loan tape, .csv or .parquet
        tape: PathBuf,
    },
    /// Pool summary: totals, weighted averages, concentration, trigger prices
    #[command(
        after_help = "Examples:\n  absrate tape summary pools/ledn-2026-1/tape.csv\n  absrate tape summary pools/ledn-2026-1/tape.csv --price 62930 --format json\n\nWithout --price/--as-of, the cut-off price and date come from the pool.yaml beside the tape."
    )]
    Summary(ValuedArgs),
    /// Stratification tables: LTV, rate, balance, remaining term, renewals, state
    #[command(
        after_help = "Examples:\n  absrate tape strat pools/ledn-2026-1/tape.csv\n  absrate tape strat pools/ledn-2026-1/tape.csv --format csv > strats.csv"
    )]
    Strat(ValuedArgs),
    /// Write each loan with its derived fields (LTV, trigger prices, remaining term)
    #[command(
        after_help = "Example:\n  absrate tape derive pools/ledn-2026-1/tape.csv --out /tmp/loans.csv"
    )]
    Derive {
        #[command(flatten)]
        valued: ValuedArgs,
        /// Output file, .csv or .parquet (written atomically)
        #[arg(long)]
        out: PathBuf,
    },
}

/// A tape and the valuation it is read at.
#[derive(Debug, Args)]
pub struct ValuedArgs {
    /// Loan tape, .csv or .parquet
    tape: PathBuf,
    /// BTC price in USD [default: the cut-off price in the pool file]
    #[arg(long)]
    price: Option<Decimal>,
    /// Date remaining terms are measured from, YYYY-MM-DD [default: the pool's cut-off date]
    #[arg(long)]
    as_of: Option<NaiveDate>,
    /// Margin-call LTV as a decimal [default: the pool file's, else 0.70]
    #[arg(long)]
    margin_call: Option<Decimal>,
    /// Liquidation LTV as a decimal [default: the pool file's, else 0.80]
    #[arg(long)]
    liquidation: Option<Decimal>,
    /// Pool file with the cut-off date, price and collateral terms [default: pool.yaml beside the tape]
    #[arg(long)]
    pool: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

impl ValuedArgs {
    fn valuation(&self) -> Result<(Valuation, Source), Error> {
        ValuationRequest {
            tape: self.tape.clone(),
            price: self.price,
            as_of: self.as_of,
            margin_call: self.margin_call,
            liquidation: self.liquidation,
            pool: self.pool.clone(),
        }
        .valuation()
    }
}

pub fn run(cmd: TapeCommand) -> Result<String, Error> {
    match cmd {
        TapeCommand::Check { tape } => {
            let t = Tape::read(&tape)?;
            Ok(format!(
                "{}: {} loans, every rule holds\n",
                tape.display(),
                count(t.loans() as u64)
            ))
        }
        TapeCommand::Summary(a) => {
            let (v, source) = a.valuation()?;
            let s = Tape::read(&a.tape)?.summary(&v)?;
            match a.format {
                OutputFormat::Text => Ok(summary_text(&s, &source)),
                OutputFormat::Json => json(&SummaryJson {
                    source,
                    summary: &s,
                }),
                OutputFormat::Csv => Ok(summary_csv(&s)),
            }
        }
        TapeCommand::Strat(a) => {
            let (v, source) = a.valuation()?;
            let tape = Tape::read(&a.tape)?;
            let strats = tape.strats(&v)?;
            let s = tape.summary(&v)?;
            match a.format {
                OutputFormat::Text => Ok(strat_text(&strats, &s, &source)),
                OutputFormat::Json => json(&StratJson {
                    source,
                    strats: &strats,
                    trigger_prices: &s.trigger_prices,
                }),
                OutputFormat::Csv => Ok(strat_csv(&strats)),
            }
        }
        TapeCommand::Derive { valued, out } => {
            let (v, source) = valued.valuation()?;
            let tape = Tape::read(&valued.tape)?;
            let pool: Vec<&std::path::Path> = source.pool_file.as_deref().into_iter().collect();
            tape.write_derived(&v, &out, &pool)?;
            Ok(format!(
                "wrote {}: {} loans with derived fields at BTC {}\n",
                out.display(),
                count(tape.loans() as u64),
                usd(v.btc_price)
            ))
        }
    }
}

fn valued_at(s: &PoolSummary, source: &Source) -> String {
    let from = match &source.pool_file {
        Some(p) => format!(" (pool file {})", p.display()),
        None => String::new(),
    };
    format!(
        "Tape {}\nValued at {} with BTC at {}{}\n",
        source.tape.display(),
        s.as_of,
        usd(s.btc_price),
        from
    )
}

fn line(out: &mut String, label: &str, value: &str, note: &str) {
    let _ = if note.is_empty() {
        writeln!(out, "  {label:<34}{value:>20}")
    } else {
        writeln!(out, "  {label:<34}{value:>20}   {note}")
    };
}

fn trigger_lines(out: &mut String, s: &PoolSummary) {
    let _ = writeln!(out, "BTC price at which the pool LTV reaches");
    for t in &s.trigger_prices {
        line(
            out,
            &pct_dec(t.ltv, 0),
            &usd(t.btc_price),
            &format!("a fall of {}", pct_dec(t.fall, 2)),
        );
    }
}

fn summary_text(s: &PoolSummary, source: &Source) -> String {
    let mut o = valued_at(s, source);
    let c = &s.concentration;
    o.push_str("\nPool\n");
    line(&mut o, "Loans", &count(s.loans), "");
    let per = if s.borrowers > 0 {
        s.loans as f64 / s.borrowers as f64
    } else {
        0.0
    };
    line(
        &mut o,
        "Borrowers",
        &count(s.borrowers),
        &format!(
            "{per:.2} loans per borrower; {} with more than one",
            count(c.multi_loan_borrowers)
        ),
    );
    line(&mut o, "Principal", &usd(s.principal), "");
    line(&mut o, "Average loan", &usd(s.average_loan), "");
    line(&mut o, "Collateral (BTC)", &btc(s.collateral_btc), "");
    line(
        &mut o,
        "Collateral value",
        &usd(s.collateral_value),
        &usd_millions(s.collateral_value),
    );
    line(
        &mut o,
        "Pool LTV",
        &pct_dec(s.pool_ltv, 2),
        "total principal / total collateral value",
    );
    line(
        &mut o,
        "Balance-weighted LTV",
        &pct(s.wa_ltv, 2),
        &format!("min {}, max {}", pct(s.min_ltv, 2), pct(s.max_ltv, 2)),
    );
    line(
        &mut o,
        "Balance-weighted rate",
        &pct(s.wa_interest_rate, 2),
        "",
    );
    line(
        &mut o,
        "Balance-weighted remaining term",
        &format!("{:.2} months", s.wa_remaining_term_months),
        "",
    );
    line(
        &mut o,
        "Capitalized interest",
        &usd(s.capitalized_interest),
        &format!("{} of principal", pct_dec(s.capitalized_interest_share, 2)),
    );
    line(
        &mut o,
        "Renewed loans",
        &count(s.renewed_loans),
        &format!("balance {}", usd(s.renewed_balance)),
    );
    line(&mut o, "Accrued interest", &usd(s.accrued_interest), "");
    line(
        &mut o,
        &format!("Loans at or above {} LTV", pct_dec(s.margin_call_ltv, 0)),
        &count(s.loans_in_margin_call),
        "margin call",
    );
    line(
        &mut o,
        &format!("Loans at or above {} LTV", pct_dec(s.liquidation_ltv, 0)),
        &count(s.loans_at_liquidation),
        "liquidation",
    );
    o.push_str("\nBorrower concentration\n");
    line(
        &mut o,
        "Largest borrower",
        &usd(c.largest_borrower),
        &format!("{} of principal", pct(c.top1_share, 2)),
    );
    line(&mut o, "Top 10 borrowers", &pct(c.top10_share, 2), "");
    line(&mut o, "Top 20 borrowers", &pct(c.top20_share, 2), "");
    line(
        &mut o,
        "HHI",
        &format!("{:.6}", c.hhi),
        &format!("{:.0} effective borrowers", c.effective_borrowers),
    );
    o.push('\n');
    trigger_lines(&mut o, s);
    o
}

fn summary_csv(s: &PoolSummary) -> String {
    let c = &s.concentration;
    let rows: Vec<(&str, String)> = vec![
        ("as_of", s.as_of.to_string()),
        ("btc_price", s.btc_price.to_string()),
        ("margin_call_ltv", s.margin_call_ltv.to_string()),
        ("liquidation_ltv", s.liquidation_ltv.to_string()),
        ("loans", s.loans.to_string()),
        ("borrowers", s.borrowers.to_string()),
        ("principal", s.principal.to_string()),
        ("collateral_btc", s.collateral_btc.to_string()),
        ("collateral_value", s.collateral_value.to_string()),
        ("pool_ltv", s.pool_ltv.round_dp(8).to_string()),
        ("wa_ltv", format!("{:.8}", s.wa_ltv)),
        ("min_ltv", format!("{:.8}", s.min_ltv)),
        ("max_ltv", format!("{:.8}", s.max_ltv)),
        ("wa_interest_rate", format!("{:.8}", s.wa_interest_rate)),
        (
            "wa_remaining_term_months",
            format!("{:.4}", s.wa_remaining_term_months),
        ),
        ("average_loan", s.average_loan.to_string()),
        ("original_principal", s.original_principal.to_string()),
        ("capitalized_interest", s.capitalized_interest.to_string()),
        (
            "capitalized_interest_share",
            s.capitalized_interest_share.round_dp(8).to_string(),
        ),
        ("renewed_loans", s.renewed_loans.to_string()),
        ("renewed_balance", s.renewed_balance.to_string()),
        ("accrued_interest", s.accrued_interest.to_string()),
        ("loans_in_margin_call", s.loans_in_margin_call.to_string()),
        ("loans_at_liquidation", s.loans_at_liquidation.to_string()),
        ("largest_borrower", c.largest_borrower.to_string()),
        ("top1_share", format!("{:.8}", c.top1_share)),
        ("top10_share", format!("{:.8}", c.top10_share)),
        ("top20_share", format!("{:.8}", c.top20_share)),
        ("hhi", format!("{:.8}", c.hhi)),
        ("multi_loan_borrowers", c.multi_loan_borrowers.to_string()),
    ];
    let mut o = String::from("metric,value\n");
    for (k, v) in rows {
        let _ = writeln!(o, "{k},{v}");
    }
    for t in &s.trigger_prices {
        let _ = writeln!(o, "btc_price_at_ltv_{},{}", t.ltv, t.btc_price);
    }
    o
}

fn strat_text(strats: &[Strat], s: &PoolSummary, source: &Source) -> String {
    let mut o = valued_at(s, source);
    for st in strats {
        let _ = writeln!(o, "\n{}", st.title);
        let _ = writeln!(
            o,
            "  {:<22}{:>8}{:>20}{:>9}{:>9}{:>9}",
            "bucket", "loans", "balance", "share", "WA LTV", "WA rate"
        );
        for r in &st.rows {
            let _ = writeln!(
                o,
                "  {:<22}{:>8}{:>20}{:>9}{:>9}{:>9}",
                r.bucket,
                count(r.loans),
                usd(r.balance),
                pct(r.share, 2),
                pct(r.wa_ltv, 2),
                pct(r.wa_rate, 2)
            );
        }
        let loans: u64 = st.rows.iter().map(|r| r.loans).sum();
        let balance: Decimal = st.rows.iter().map(|r| r.balance).sum();
        let _ = writeln!(
            o,
            "  {:<22}{:>8}{:>20}{:>9}{:>9}{:>9}",
            "total",
            count(loans),
            usd(balance),
            pct_dec(balance.checked_div(s.principal).unwrap_or_default(), 2),
            pct(s.wa_ltv, 2),
            pct(s.wa_interest_rate, 2)
        );
    }
    o.push('\n');
    trigger_lines(&mut o, s);
    o
}

fn strat_csv(strats: &[Strat]) -> String {
    let mut o = String::from("strat,bucket,loans,balance,share,wa_ltv,wa_rate\n");
    for st in strats {
        for r in &st.rows {
            let bucket = if r.bucket.contains([',', '"']) {
                format!("\"{}\"", r.bucket.replace('"', "\"\""))
            } else {
                r.bucket.clone()
            };
            let _ = writeln!(
                o,
                "{},{},{},{},{:.8},{:.8},{:.8}",
                st.key, bucket, r.loans, r.balance, r.share, r.wa_ltv, r.wa_rate
            );
        }
    }
    o
}
