//! `absrate replay` against what really happened in the early-2026 sell-off, price-file errors,
//! re-rating the pool afterwards, and the engine's rules on loans worked by hand
//! (tests/fixtures/replay/).

use std::path::Path;

use absrate::pool::PoolFile;
use absrate::tape::Tape;
use rust_decimal::dec;
use serde_json::{Value, json};

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
    // Loans called, calls and answers are different figures.
    assert!(f("margin_calls") >= f("loans_margin_called"));
    assert!(f("calls_answered") >= f("loans_answering"));
    assert!(f("loans_liquidated_without_a_call") <= f("loans_liquidated"));
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

const FIXTURE_PRICES: &str = "tests/fixtures/replay/prices.csv";

/// `absrate replay` of a fixture deal (`probe` or `path`) over tests/fixtures/replay/prices.csv
/// ($100,000, $100,000, $90,000, $60,000, $42,000, $100,000 from 2026-01-01).
fn replay_fixture(deal: &str, from: &str, to: &str, extra: &[&str]) -> String {
    let deal = format!("tests/fixtures/replay/{deal}-deal.yaml");
    let mut args = vec![
        "replay",
        "--deal",
        &deal,
        "--prices",
        FIXTURE_PRICES,
        "--from",
        from,
        "--to",
        to,
    ];
    args.extend(extra);
    ok(&args)
}

fn replay_fixture_json(deal: &str, from: &str, to: &str, extra: &[&str]) -> Value {
    let mut extra = extra.to_vec();
    extra.extend(["--format", "json"]);
    serde_json::from_str(&replay_fixture(deal, from, to, &extra)).unwrap()
}

/// Each `(field, value)` of a JSON result, named in the failure.
fn expect(r: &Value, want: &[(&str, Value)]) {
    for (field, value) in want {
        assert_eq!(&r[*field], value, "{field}");
    }
}

/// The text line starting with `label`.
fn line<'a>(out: &'a str, label: &str) -> &'a str {
    out.lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no line `{label}` in:\n{out}"))
}

#[test]
fn a_loan_past_its_trigger_on_the_first_day_sells_at_that_days_price() {
    // 250% LTV at $100,000: the trigger price is $312,500, but BTC trades at $100,000.
    let r = replay_fixture_json("probe", "2026-01-01", "2026-01-05", &[]);
    expect(
        &r,
        &[
            ("loans_liquidated", json!(1)),
            ("loans_liquidated_without_a_call", json!(1)),
            ("loans_margin_called", json!(0)),
            ("proceeds", json!("100000.00")),
            ("losses", json!("150000.00")),
            ("cash", json!("100000.00")),
            ("max_execution_ltv", json!("2.500000")),
        ],
    );
    let out = replay_fixture("probe", "2026-01-01", "2026-01-05", &[]);
    assert_eq!(
        line(&out, "execution LTV"),
        "  execution LTV           mean 250.00%, max 250.00%; proceeds $100,000.00"
    );
}

#[test]
fn the_from_day_is_tested_for_triggers() {
    // On 2026-01-05 ($42,000) every loan but Q1 is past 80%; the next day BTC is back at $100,000.
    let r = replay_fixture_json("path", "2026-01-05", "2026-01-06", &[]);
    assert_eq!(r["loans_liquidated"], 4);
    // Sold at $42,000 each (the first day seen), not at their trigger prices.
    assert_eq!(r["proceeds"], "168000.00");
    assert_eq!(r["losses"], "103490.00");
    // G1: $79,990.00 / $42,000.00.
    assert_eq!(r["max_execution_ltv"], "1.904524");
}

#[test]
fn sales_at_the_trigger_the_close_and_through_a_gap_are_worked_by_hand() {
    let r = replay_fixture_json("path", "2026-01-01", "2026-01-05", &[]);
    // G1 (called on day 0) is pushed past 80% on day 1 by a day's interest, $80,069.99 owed: its
    // trigger price, $100,087.49, is above the previous close, so it sells at the day's $100,000.
    // F1 (called on day 2) and A1 (called on day 2) fall through their triggers ($85,000,
    // $79,375) on day 3 and sell there; S1 goes from 66.7% straight past 80% ($75,000) uncalled.
    expect(
        &r,
        &[
            ("loans_liquidated", json!(4)),
            ("loans_liquidated_without_a_call", json!(1)),
            ("loans_margin_called", json!(3)),
            ("margin_calls", json!(3)),
            ("calls_answered", json!(0)),
            ("liquidated_balance", json!("271569.99")),
            ("proceeds", json!("339375.00")),
            ("losses", json!("0.00")),
            ("surplus_returned", json!("67805.01")),
            ("cash", json!("271569.99")),
            ("max_execution_ltv", json!("0.800700")),
            ("mean_execution_ltv", json!("0.800175")),
        ],
    );
    // Q1: $20,000 at 10% for 4 days.
    assert_eq!(r["loans_surviving"], 1);
    assert_eq!(r["surviving_balance"], "20021.92");

    // At the close: F1, S1 and A1 sell at $60,000 on day 3; G1 at $100,000 on day 1.
    let r = replay_fixture_json(
        "path",
        "2026-01-01",
        "2026-01-05",
        &["--execution", "close"],
    );
    expect(
        &r,
        &[
            ("proceeds", json!("280000.00")),
            ("losses", json!("11500.00")),
            ("max_execution_ltv", json!("1.133333")),
        ],
    );

    // With a 0.4% gap, a sale at the trigger yields balance x (1 - gap) / 80% to the cent
    // (F1: $84,660.00; A1: $79,057.50; S1: $74,700.00), G1 $99,600.00 at the close.
    let r = replay_fixture_json("path", "2026-01-01", "2026-01-05", &["--gap", "0.004"]);
    assert_eq!(r["proceeds"], "338017.50");
    // G1: $80,069.99 / $99,600.00.
    assert_eq!(r["max_execution_ltv"], "0.803916");
    // Sold at their triggers only (G1 and S1, every borrower answering): 0.8 / 0.996.
    let r = replay_fixture_json(
        "path",
        "2026-01-01",
        "2026-01-05",
        &["--gap", "0.004", "--answer-share", "1"],
    );
    assert_eq!(r["max_execution_ltv"], "0.803213");
    assert_eq!(r["mean_execution_ltv"], "0.803213");
    let out = replay_fixture("path", "2026-01-01", "2026-01-05", &["--gap", "0.004"]);
    assert_eq!(
        line(&out, "loans liquidated"),
        "  loans liquidated               4   80.0% of loans (1 never called); balance $271,569.99 (93.2% of the pool)"
    );
}

#[test]
fn calls_and_the_loans_called_are_counted_apart() {
    // Every borrower answers: F1 and A1 answer three calls each as BTC falls to $90,000,
    // $60,000 and $42,000; G1 answers one on day 0, then goes straight past 80% on day 3.
    let out = replay_fixture("path", "2026-01-01", "2026-01-05", &["--answer-share", "1"]);
    assert_eq!(
        line(&out, "loans margin-called"),
        "  loans margin-called            3   7 calls; 7 answered, by 3 loans; 4.86170476 BTC added"
    );
    let r = replay_fixture_json("path", "2026-01-01", "2026-01-05", &["--answer-share", "1"]);
    expect(
        &r,
        &[
            ("loans_margin_called", json!(3)),
            ("margin_calls", json!(7)),
            ("calls_answered", json!(7)),
            ("loans_answering", json!(3)),
            ("loans_liquidated", json!(2)),
            ("loans_liquidated_without_a_call", json!(1)),
        ],
    );
}

#[test]
fn with_no_sale_the_execution_ltvs_are_absent_not_zero() {
    let out = replay_fixture("path", "2026-01-01", "2026-01-02", &["--answer-share", "1"]);
    assert_eq!(
        line(&out, "execution LTV"),
        "  execution LTV           mean -, max -; proceeds $0.00"
    );
    let r = replay_fixture_json("path", "2026-01-01", "2026-01-02", &["--answer-share", "1"]);
    assert_eq!(r["loans_liquidated"], 0);
    assert!(
        r["max_execution_ltv"].is_null(),
        "{}",
        r["max_execution_ltv"]
    );
    assert!(r["mean_execution_ltv"].is_null());
}

#[test]
fn the_pool_written_after_the_replay_reads_back_title_and_all() {
    let dir = tempfile::tempdir().unwrap();
    let tape = dir.path().join("after.csv");
    replay_fixture(
        "path",
        "2026-01-01",
        "2026-01-05",
        &["--out-tape", tape.to_str().unwrap()],
    );
    let pool = PoolFile::load(&dir.path().join("pool.yaml")).unwrap();
    // The title has ": " and " #": written unquoted, YAML would read a mapping and a comment.
    assert_eq!(
        pool.title,
        "Replay path: five loans #2 after the replay to 2026-01-05"
    );
    assert_eq!(pool.name, "path-after-2026-01-05");
    assert_eq!(pool.tape, tape);
    assert_eq!(pool.cutoff.btc_price, dec!(42000));
    assert_eq!(pool.collateral_terms.liquidation_ltv, dec!(0.80));
    let loans = Tape::read(&tape).unwrap().records().unwrap();
    assert_eq!(loans.len(), 1);
    assert_eq!(loans[0].loan_id, "Q1");
    assert_eq!(loans[0].accrued_interest, dec!(21.92));
    assert_eq!(loans[0].collateral_btc, dec!(1));
}

#[test]
fn the_replay_never_overwrites_its_own_inputs() {
    // On a copy of the path deal (its pool file named pool.yaml), so a failure cannot clobber
    // the fixtures.
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new("tests/fixtures/replay");
    let deal = std::fs::read_to_string(fixtures.join("path-deal.yaml")).unwrap();
    std::fs::write(
        dir.path().join("deal.yaml"),
        deal.replace("pool: path-pool.yaml", "pool: pool.yaml"),
    )
    .unwrap();
    std::fs::copy(
        fixtures.join("path-pool.yaml"),
        dir.path().join("pool.yaml"),
    )
    .unwrap();
    std::fs::copy(
        fixtures.join("path-tape.csv"),
        dir.path().join("path-tape.csv"),
    )
    .unwrap();
    let refused = |out: &str| {
        let r = absrate(&[
            "replay",
            "--deal",
            dir.path().join("deal.yaml").to_str().unwrap(),
            "--prices",
            FIXTURE_PRICES,
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-05",
            "--out-tape",
            dir.path().join(out).to_str().unwrap(),
        ]);
        assert_eq!(r.code, 3, "{}", r.stderr);
        r.stderr.replace(dir.path().to_str().unwrap(), "DIR")
    };
    let before = std::fs::read(dir.path().join("path-tape.csv")).unwrap();
    assert_eq!(
        refused("path-tape.csv"),
        "error: --out-tape would overwrite the input tape DIR/path-tape.csv: write the replayed pool to another directory\n"
    );
    // Any tape beside the deal's own pool.yaml would replace it.
    assert_eq!(
        refused("after.csv"),
        "error: --out-tape would overwrite the deal's pool file DIR/pool.yaml: write the replayed pool to another directory\n"
    );
    assert!(!dir.path().join("after.csv").exists());
    assert_eq!(
        std::fs::read(dir.path().join("path-tape.csv")).unwrap(),
        before
    );
}
