//! The bundled pool against the published figures of Ledn Issuer Trust 2026-1
//! (../shared/domain/ledn-2026-1.md). The figures below are the published ones; every assertion
//! compares them with what `absrate tape summary` computes from the tape.

use crate::util::{absrate, bundled_tape, ok};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::Value;
use std::str::FromStr;

const PUBLISHED_LOANS: u64 = 5_441;
const PUBLISHED_BORROWERS: u64 = 2_914;
const PUBLISHED_PRINCIPAL: &str = "199100000.00";
const PUBLISHED_BTC: &str = "4078.87";
/// "$356.9M", to the tenth of a million.
const PUBLISHED_COLLATERAL_MILLIONS: &str = "356.9";
/// "weighted average LTV 55.78%": the aggregate LTV (see docs/tape.md and pools/ledn-2026-1/README.md).
const PUBLISHED_LTV_PCT: &str = "55.78";
const PUBLISHED_RATE_PCT: &str = "11.80";
/// Derived in the domain file: pool LTV reaches 80% near $61,000 and 100% near $48,800.
const DERIVED_PRICE_AT_80: f64 = 61_000.0;
const DERIVED_PRICE_AT_100: f64 = 48_800.0;

fn summary() -> Value {
    let tape = bundled_tape();
    let out = ok(&[
        "tape".as_ref(),
        "summary".as_ref(),
        tape.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    serde_json::from_str(&out).expect("summary --format json is JSON")
}

fn dec(v: &Value) -> Decimal {
    Decimal::from_str(v.as_str().expect("money is a JSON string")).expect("a decimal")
}

fn pct2(v: f64) -> String {
    format!("{:.2}", v * 100.0)
}

#[test]
fn the_bundled_tape_reproduces_every_published_aggregate() {
    let s = &summary()["summary"];
    assert_eq!(s["loans"].as_u64(), Some(PUBLISHED_LOANS));
    assert_eq!(s["borrowers"].as_u64(), Some(PUBLISHED_BORROWERS));
    // Exact to the cent and the satoshi.
    assert_eq!(
        dec(&s["principal"]),
        Decimal::from_str(PUBLISHED_PRINCIPAL).unwrap()
    );
    assert_eq!(
        dec(&s["collateral_btc"]),
        Decimal::from_str(PUBLISHED_BTC).unwrap()
    );
    let millions = (dec(&s["collateral_value"]) / Decimal::from(1_000_000)).round_dp(1);
    assert_eq!(millions.to_string(), PUBLISHED_COLLATERAL_MILLIONS);
    // Weighted averages to 0.01 point.
    let pool_ltv = dec(&s["pool_ltv"]).to_f64().unwrap();
    assert_eq!(pct2(pool_ltv), PUBLISHED_LTV_PCT);
    assert_eq!(
        pct2(s["wa_interest_rate"].as_f64().unwrap()),
        PUBLISHED_RATE_PCT
    );
}

#[test]
fn pool_ltv_reaches_80_and_100_percent_near_the_derived_prices() {
    let s = &summary()["summary"];
    let prices: Vec<(f64, f64)> = s["trigger_prices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                dec(&t["ltv"]).to_f64().unwrap(),
                dec(&t["btc_price"]).to_f64().unwrap(),
            )
        })
        .collect();
    let at = |ltv: f64| {
        prices
            .iter()
            .find(|(l, _)| (*l - ltv).abs() < 1e-9)
            .map(|(_, p)| *p)
            .unwrap()
    };
    // "near": within $100 of the rounded figures the domain file derives.
    approx::assert_abs_diff_eq!(at(0.80), DERIVED_PRICE_AT_80, epsilon = 100.0);
    approx::assert_abs_diff_eq!(at(1.0), DERIVED_PRICE_AT_100, epsilon = 100.0);
}

#[test]
fn the_book_looks_like_a_lending_book() {
    let s = &summary()["summary"];
    let wa_ltv = s["wa_ltv"].as_f64().unwrap();
    let pool_ltv = dec(&s["pool_ltv"]).to_f64().unwrap();
    // Balance weighting can only raise the average LTV above the aggregate one.
    assert!(wa_ltv >= pool_ltv, "{wa_ltv} < {pool_ltv}");
    // No loan is in margin call at the cut-off, and LTVs are spread (needed for realistic liquidations).
    assert_eq!(s["loans_in_margin_call"].as_u64(), Some(0));
    assert!(s["max_ltv"].as_f64().unwrap() - s["min_ltv"].as_f64().unwrap() > 0.15);
    // Borrowers hold one or several loans; some loans carry capitalized interest.
    assert!(s["concentration"]["multi_loan_borrowers"].as_u64().unwrap() > 0);
    assert!(dec(&s["capitalized_interest"]) > Decimal::ZERO);
    // Every maturity falls within 12 months of the cut-off.
    assert!(s["wa_remaining_term_months"].as_f64().unwrap() <= 12.0);
}

#[test]
fn the_summary_text_is_what_an_analyst_reads() {
    let tape = bundled_tape();
    let r = absrate(&["tape".as_ref(), "summary".as_ref(), tape.as_os_str()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = r
        .stdout
        .replace(&crate::util::root().display().to_string(), "[ROOT]");
    insta::assert_snapshot!(text);
}
