//! CSV and Parquet tapes read alike; every output format of summary and strat is well formed.

use crate::util::{absrate, fixture, ok};
use serde_json::Value;

const VALUATION: [&str; 4] = ["--price", "87505", "--as-of", "2025-12-31"];

fn args<'a>(cmd: &'a str, tape: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["tape", cmd, tape];
    a.extend(VALUATION);
    a.extend(extra);
    a
}

#[test]
fn a_parquet_copy_of_a_tape_summarizes_exactly_like_the_csv() {
    let dir = tempfile::tempdir().unwrap();
    let csv = fixture("tape/valid.csv");
    let pq = dir.path().join("valid.parquet");
    let csv_s = csv.to_str().unwrap();
    let pq_s = pq.to_str().unwrap();
    // `tape derive` to Parquet keeps the tape's columns and types.
    ok(&args("derive", csv_s, &["--out", pq_s]));
    let a = ok(&args("summary", csv_s, &["--format", "json"]));
    let b = ok(&args("summary", pq_s, &["--format", "json"]));
    let (a, b): (Value, Value) = (
        serde_json::from_str(&a).unwrap(),
        serde_json::from_str(&b).unwrap(),
    );
    assert_eq!(a["summary"], b["summary"]);
}

#[test]
fn the_valid_fixture_has_the_figures_worked_out_by_hand() {
    let tape = fixture("tape/valid.csv");
    let out = ok(&args(
        "summary",
        tape.to_str().unwrap(),
        &["--format", "json"],
    ));
    let s = &serde_json::from_str::<Value>(&out).unwrap()["summary"];
    // 50,000.00 + 25,000.50 + 100,000.00
    assert_eq!(s["principal"], "175000.50");
    // 1.1 + 0.45 + 2.0 BTC
    assert_eq!(s["collateral_btc"], "3.55000000");
    // 3.55 x 87,505 = 310,642.75
    assert_eq!(s["collateral_value"], "310642.75");
    assert_eq!(s["borrowers"], 2);
    // B2's one loan of 100,000.00 is larger than B1's two (75,000.50).
    assert_eq!(s["concentration"]["largest_borrower"], "100000.00");
    // Balance-weighted rate: (50,000 x 0.119 + 25,000.5 x 0.129 + 100,000 x 0.109) / 175,000.5
    let rate = (50_000.0 * 0.119 + 25_000.5 * 0.129 + 100_000.0 * 0.109) / 175_000.5;
    approx::assert_abs_diff_eq!(
        s["wa_interest_rate"].as_f64().unwrap(),
        rate,
        epsilon = 1e-12
    );
    // Original principal defaults to principal - capitalized interest.
    assert_eq!(s["original_principal"], "172500.50");
    // Pool LTV reaches 100% at 175,000.50 / 3.55 = 49,295.92 per BTC.
    assert_eq!(s["trigger_prices"][2]["btc_price"], "49295.92");
}

#[test]
fn strat_buckets_add_up_to_the_pool_in_every_format() {
    let tape = fixture("tape/valid.csv");
    let t = tape.to_str().unwrap();
    let json: Value = serde_json::from_str(&ok(&args("strat", t, &["--format", "json"]))).unwrap();
    for strat in json["strats"].as_array().unwrap() {
        let loans: u64 = strat["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["loans"].as_u64().unwrap())
            .sum();
        assert_eq!(loans, 3, "{}", strat["key"]);
    }
    let csv = ok(&args("strat", t, &["--format", "csv"]));
    assert!(csv.starts_with("strat,bucket,loans,balance,share,wa_ltv,wa_rate\n"));
    assert!(
        csv.contains("\nstate,unknown,3,175000.50,1.00000000,"),
        "{csv}"
    );
    let text = ok(&args("strat", t, &[]));
    assert!(text.contains("Current LTV"), "{text}");
}

#[test]
fn without_a_pool_file_the_price_must_be_given() {
    let tape = fixture("tape/valid.csv");
    let r = absrate(&["tape", "summary", tape.to_str().unwrap()]);
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.starts_with("error: no BTC price for "),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("pass --price"), "{}", r.stderr);
}

#[test]
fn every_command_explains_itself_with_an_example() {
    for cmd in [
        vec!["--help"],
        vec!["tape", "check", "--help"],
        vec!["tape", "summary", "--help"],
        vec!["tape", "strat", "--help"],
        vec!["tape", "derive", "--help"],
        vec!["pool", "generate", "--help"],
        vec!["methodology", "list", "--help"],
        vec!["methodology", "show", "--help"],
        vec!["methodology", "check", "--help"],
        vec!["methodology", "diff", "--help"],
        vec!["methodology", "publish", "--help"],
        vec!["methodology", "schema", "--help"],
    ] {
        let r = absrate(&cmd);
        assert_eq!(r.code, 0);
        assert!(
            r.stdout.contains("Example"),
            "{cmd:?} has no example:\n{}",
            r.stdout
        );
    }
}
