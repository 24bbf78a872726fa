//! `absrate replay` against what really happened in the early-2026 sell-off, price-file errors,
//! and re-rating the pool afterwards.

use std::path::Path;

use serde_json::Value;

use crate::util::{absrate, ok};

const PRICES: &str = "../shared/data/btc-usd-daily.csv";

/// Reported for the pool meant for Ledn 2026-1 (../shared/domain/ledn-2026-1.md): about one
/// quarter of the loans liquidated; about $150M of loans plus $50M of cash afterwards.
const REPORTED_LIQUIDATED_SHARE: f64 = 0.25;
const REPORTED_LOANS_AFTER: f64 = 150e6;
const REPORTED_CASH_AFTER: f64 = 50e6;

/// `absrate replay` over the early-2026 sell-off, with `extra` arguments.
fn replay_sell_off(extra: &[&str]) -> String {
    let mut args = vec![
        "replay",
        "--prices",
        PRICES,
        "--from",
        "2025-12-31",
        "--to",
        "2026-02-18",
    ];
    args.extend(extra);
    ok(&args)
}

pub fn have_prices() -> bool {
    if Path::new(PRICES).is_file() {
        return true;
    }
    eprintln!("skipped: {PRICES} is absent (the shared BTC price history sits beside the clone)");
    false
}

#[test]
fn the_early_2026_sell_off_liquidates_about_a_quarter_of_the_loans() {
    if !have_prices() {
        return;
    }
    let out = replay_sell_off(&["--format", "json"]);
    let r: Value = serde_json::from_str(&out).unwrap();
    let f = |k: &str| -> f64 {
        r[k].as_str()
            .map(|s| s.parse().unwrap())
            .unwrap_or_else(|| r[k].as_f64().unwrap())
    };
    let share = f("loans_liquidated") / f("loans");
    approx::assert_abs_diff_eq!(share, REPORTED_LIQUIDATED_SHARE, epsilon = 0.05);
    approx::assert_abs_diff_eq!(f("surviving_balance"), REPORTED_LOANS_AFTER, epsilon = 10e6);
    approx::assert_abs_diff_eq!(f("cash"), REPORTED_CASH_AFTER, epsilon = 10e6);
    // Ledn's sales all happened below 81.4% LTV; so do the replay's, with no principal loss.
    assert!(f("max_execution_ltv") < 0.814, "{}", r["max_execution_ltv"]);
    assert_eq!(r["losses"], "0.00");
    assert_eq!(r["trough_date"], "2026-02-06");
}

#[test]
fn the_pool_after_the_replay_can_be_re_rated() {
    if !have_prices() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tape = dir.path().join("tape.csv");
    let out = replay_sell_off(&["--out-tape", tape.to_str().unwrap()]);
    assert!(dir.path().join("pool.yaml").is_file());
    let cash = out
        .lines()
        .find_map(|l| l.split("--cash-at-closing ").nth(1))
        .unwrap()
        .trim()
        .to_string();
    let rated = ok(&[
        "rate",
        "--methodology",
        "btc-backed-consumer-loans@1.0.0",
        "--tape",
        tape.to_str().unwrap(),
        "--cash-at-closing",
        &cash,
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&rated).unwrap();
    assert!(v["notes"][0]["indicated"].is_string());
    // The survivors' tape reads back as a valid tape with fewer loans.
    let check = ok(&["tape", "check", tape.to_str().unwrap()]);
    assert!(check.contains("every rule holds"), "{check}");
}

#[test]
fn a_bad_price_file_is_refused_with_its_line() {
    let cases = [
        (
            "gap.csv",
            "line 4: no price for 2026-01-03 (a gap of 1 day before 2026-01-04)",
        ),
        (
            "unsorted.csv",
            "line 3: 2026-01-01 comes after 2026-01-02: the file must be sorted by date",
        ),
        ("duplicate.csv", "line 3: 2026-01-01 appears twice"),
        (
            "nonpositive.csv",
            "line 3: the price on 2026-01-02 must be > 0, got 0",
        ),
        (
            "columns.csv",
            "no column `date` (the file has: day, close); name the columns with --date-column and --price-column",
        ),
    ];
    for (file, message) in cases {
        let path = format!("tests/fixtures/prices/{file}");
        let r = absrate(&[
            "replay",
            "--prices",
            &path,
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-02",
        ]);
        assert_eq!(r.code, 3, "{file}: {}", r.stderr);
        assert_eq!(r.stderr, format!("error: {path}: {message}\n"), "{file}");
    }
}
