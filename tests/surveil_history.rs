//! `absrate replay --monthly-reports` (issue 15): the servicer reports Ledn 2026-1 would have
//! published on the real BTC history, read back and reconciled through `absrate::surveil`, set
//! against what was published of the early-2026 sell-off (../shared/domain/ledn-2026-1.md); the
//! same inputs give the same bytes; bad requests are refused with nothing written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use absrate::deal::Deal;
use absrate::surveil;
use absrate::tape::Tape;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::Value;

use crate::replay::have_prices;
use crate::util::{absrate, ok};

const PRICES: &str = "../shared/data/btc-usd-daily.csv";
const DEAL: &str = "pools/ledn-2026-1/deal.yaml";
const INVALID_INPUT: i32 = 3;

/// Published for the pool meant for Ledn 2026-1: about a quarter of the loans liquidated in the
/// early-2026 sell-off, all below 81.4% LTV; about $150M of loans plus $50M of cash afterwards.
const LIQUIDATED_SHARE: (f64, f64) = (0.20, 0.30);
const LOANS_AFTER: f64 = 150e6;
const CASH_AFTER: f64 = 50e6;
const MAX_SALE_LTV: f64 = 0.814;

/// `replay --monthly-reports DIR` with `extra` arguments, JSON summary parsed.
fn generate(dir: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "replay",
        "--monthly-reports",
        dir.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend(extra);
    serde_json::from_str(&ok(&args)).unwrap()
}

fn usd(d: Decimal) -> f64 {
    d.to_f64().unwrap()
}

/// Every file under `dir`, by its path relative to it.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn the_closing_report_shows_the_early_2026_sell_off_and_the_series_runs_to_the_last_price() {
    if !have_prices() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports");
    let summary = generate(&out, &["--prices", PRICES]);
    let deal = Deal::load(Path::new(DEAL)).unwrap();
    // Read back and reconciled, each report with the one before it.
    let reports = surveil::check(&out, &deal).unwrap();
    let cutoff = Tape::read(&deal.pool.tape)
        .unwrap()
        .records()
        .unwrap()
        .len() as f64;

    let closing = &reports[0];
    assert_eq!((closing.period, closing.payment_date), (0, deal.closing));
    assert_eq!(closing.payment_date.to_string(), "2026-02-18");
    let share = closing.liquidations.count as f64 / cutoff;
    let loans = usd(closing.pool_balance());
    let cash = usd(closing.reinvestment_cash);
    eprintln!(
        "closing report {}: {} of {cutoff} loans liquidated ({share:.4}), balance {}; loans {} ({loans}), reinvestment account {cash}, collection account {}",
        closing.payment_date,
        closing.liquidations.count,
        closing.liquidations.balance,
        closing.loans.len(),
        closing.collection_cash
    );
    assert!(
        (LIQUIDATED_SHARE.0..=LIQUIDATED_SHARE.1).contains(&share),
        "{share}"
    );
    approx::assert_abs_diff_eq!(loans, LOANS_AFTER, epsilon = 10e6);
    approx::assert_abs_diff_eq!(cash, CASH_AFTER, epsilon = 10e6);
    // The loans and the cash make the published $200M package, nothing lost.
    assert_eq!(closing.cumulative_losses, Decimal::ZERO);

    // No sale above 81.4% LTV, before closing or after: the largest execution LTV of each
    // report's days, from the command's summary.
    let rows = summary["reports"].as_array().unwrap();
    assert_eq!(rows.len(), reports.len());
    let max_ltv = rows
        .iter()
        .filter_map(|r| r["days"]["max_execution_ltv"].as_str())
        .map(|s| s.parse::<f64>().unwrap())
        .fold(0.0f64, f64::max);
    eprintln!("largest execution LTV over the series: {max_ltv}");
    assert!(max_ltv > 0.80 && max_ltv < MAX_SALE_LTV, "{max_ltv}");

    // The trajectory runs to the end of the price file: every payment date up to its last date.
    let last_price = NaiveDate::from_ymd_opt(2026, 8, 22).unwrap();
    let last = reports.last().unwrap();
    eprintln!(
        "last report {} (period {}): {} loans, {}, reinvestment {}, {} liquidated since the cut-off",
        last.payment_date,
        last.period,
        last.loans.len(),
        last.pool_balance(),
        last.reinvestment_cash,
        last.liquidations.count
    );
    assert_eq!(last.payment_date.to_string(), "2026-08-20");
    let next = deal.payment_dates()[last.period as usize];
    assert!(next > last_price, "{next}");
    assert_eq!(summary["to"], "2026-08-22");
    // While the deal revolves, the cash is redeployed: new loans on the deal's terms.
    let first = &reports[1];
    assert!(first.reinvestment_cash < Decimal::from(36_600));
    assert!(first.loans.iter().any(|l| l.loan_id.starts_with('N')));
    assert!(first.pool_balance() > closing.pool_balance() + closing.reinvestment_cash);
}

/// The same inputs give the same bytes, every report and every tape.
#[test]
fn the_reports_are_byte_identical_on_a_rerun() {
    if !have_prices() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let args = ["--prices", PRICES, "--to", "2026-07-20"];
    generate(&a, &args);
    generate(&b, &args);
    let (fa, fb) = (files(&a), files(&b));
    assert_eq!(fa.len(), 12, "{:?}", fa.keys().collect::<Vec<_>>());
    assert!(fa == fb, "the two runs differ");
}

/// A flat price file written for the test, from the cut-off to `to`.
fn flat_prices(dir: &Path, to: &str) -> PathBuf {
    let path = dir.join("flat.csv");
    let mut text = String::from("date,price_usd\n");
    let mut d = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
    let to: NaiveDate = to.parse().unwrap();
    while d <= to {
        text.push_str(&format!("{d},87505\n"));
        d = d.succ_opt().unwrap();
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// Without the price history: on a flat price no loan is called or sold; the closing report
/// holds the cut-off pool, the first payment date redeploys the cash at closing, and the series
/// passes `absrate surveil check`.
#[test]
fn on_a_flat_price_nothing_is_sold_and_the_series_reconciles() {
    let dir = tempfile::tempdir().unwrap();
    let prices = flat_prices(dir.path(), "2026-04-25");
    let out = dir.path().join("reports");
    let summary = generate(&out, &["--prices", prices.to_str().unwrap()]);
    let dates: Vec<&str> = summary["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["date"].as_str().unwrap())
        .collect();
    assert_eq!(dates, ["2026-02-18", "2026-03-20", "2026-04-20"]);
    let check = ok(&[
        "surveil",
        "check",
        "--deal",
        DEAL,
        "--reports",
        out.to_str().unwrap(),
    ]);
    assert!(check.contains("3 reports"), "{check}");
    let deal = Deal::load(Path::new(DEAL)).unwrap();
    let reports = surveil::check(&out, &deal).unwrap();
    assert_eq!(reports[0].liquidations.count, 0);
    assert_eq!(reports[0].loans.len(), 5441);
    assert_eq!(reports[0].reinvestment_cash, Decimal::ZERO);
    assert_eq!(reports[0].collection_cash, deal.cash_at_closing);
    // The $1M at closing buys 27 loans of $36,600 on the first payment date.
    assert_eq!(reports[1].loans.len(), 5441 + 27);
    assert_eq!(reports[2].liquidations.count, 0);
    assert_eq!(reports[2].cumulative_defaults, Decimal::ZERO);
}

/// Refused, exit code 3, nothing written: `--to` before closing, an occupied directory, new-loan
/// terms the deal file gets wrong.
#[test]
fn a_bad_request_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let prices = flat_prices(dir.path(), "2026-03-01");
    let out = dir.path().join("reports");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "replay",
            "--prices",
            prices.to_str().unwrap(),
            "--monthly-reports",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        absrate(&args)
    };
    let r = run(&["--to", "2026-02-17"]);
    assert_eq!(r.code, INVALID_INPUT, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "error: --to 2026-02-17 is before the deal's closing, 2026-02-18: the first report is the closing report\n"
    );
    assert!(!out.exists());
    let r = run(&["--to", "2026-03-02"]);
    assert_eq!(r.code, INVALID_INPUT, "{}", r.stderr);
    assert!(
        r.stderr
            .ends_with("flat.csv has no price that day (it covers 2025-12-31 to 2026-03-01)\n"),
        "{}",
        r.stderr
    );
    assert!(!out.exists());

    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let r = run(&[]);
    assert_eq!(r.code, INVALID_INPUT, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "error: --monthly-reports {}: is not empty: the reports are written into a new or empty directory\n",
            out.display()
        )
    );
    assert_eq!(files(&out).len(), 1);

    // New loans made at the margin-call LTV: the deal file's error, at its line.
    let deal = dir.path().join("deal.yaml");
    let text = std::fs::read_to_string(DEAL).unwrap();
    let pool = crate::util::root().join("pools/ledn-2026-1/pool.yaml");
    let text = text
        .replace("pool: pool.yaml", &format!("pool: {}", pool.display()))
        .replace("ltv: { value: \"0.50\"", "ltv: { value: \"0.70\"");
    std::fs::write(&deal, text).unwrap();
    let r = run(&["--deal", deal.to_str().unwrap()]);
    assert_eq!(r.code, INVALID_INPUT, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "error: {}:54:10: revolving.new_loans.ltv: must be above 0 and below the pool's margin-call LTV 0.70 (a loan made at it would be called the day it is made), got 0.70\n",
            deal.display()
        )
    );
}
