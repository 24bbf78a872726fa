//! Market-value stress: the loss identity on hand-computed loans, the range-minimum crossings
//! against the day-by-day loop, the provenance of the historical shapes, and `rate` under 2.0.0.

use std::path::Path;

use absrate::methodology::Registry;
use absrate::stress::liquidation::{
    self, Balloon, End, Execution, Impact, MarketLoan, MarketParams, Outcome,
};
use absrate::stress::path::{PathSpec, Shape, shape_of};
use absrate::tape::{Tape, read_prices};
use approx::assert_relative_eq;
use proptest::prelude::*;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde_json::Value;

use crate::replay::have_prices;
use crate::util::{absrate, fixture, ok, root};

const PRICES: &str = "../shared/data/btc-usd-daily.csv";
const V2: &str = "btc-backed-consumer-loans@2.0.0";

fn params(gap: f64, slippage: f64) -> MarketParams {
    MarketParams {
        margin_call_ltv: 0.70,
        liquidation_ltv: 0.80,
        cure_ltv: 0.50,
        gap,
        lag_days: 0,
        slippage,
        impact: None,
        balloon: Balloon::Repay,
        execution: Execution::Trigger,
    }
}

/// $800 owed on 1 BTC: LTV 80% at $1,000, the liquidation price. No interest.
fn loan_at_trigger_price_1000() -> MarketLoan {
    MarketLoan {
        balance: 800.0,
        principal: 800.0,
        rate: 0.0,
        btc: 1.0,
        maturity_day: 1000,
        answers: false,
    }
}

/// $1,250 falling $50 a day to $500.
fn falling() -> Vec<f64> {
    (0..=15).map(|d| 1250.0 - 50.0 * f64::from(d)).collect()
}

fn sale(o: &Outcome) -> liquidation::Sale {
    match o.end {
        End::Liquidated(s) => s,
        other => panic!("expected a liquidation, got {other:?}"),
    }
}

/// btc-stress.md: `LTV_exec = T (1 + a) / ((1 - g)(1 - s))`, `loss = balance x max(0, 1 - 1 /
/// LTV_exec)`; here a = 0 (the trigger is on the whole balance).
fn identity_loss(balance: f64, t: f64, g: f64, s: f64) -> f64 {
    let ltv_exec = t / ((1.0 - g) * (1.0 - s));
    balance * (1.0 - 1.0 / ltv_exec).max(0.0)
}

#[test]
fn a_loan_sold_at_80_percent_with_a_10_percent_gap_loses_nothing() {
    let o = liquidation::run(
        &[loan_at_trigger_price_1000()],
        &falling(),
        &params(0.10, 0.0),
    );
    let s = sale(&o[0]);
    // Day 5: $1,000, the trigger price; sold at $900 for 1 BTC.
    assert_eq!(s.trigger_day, 5);
    assert_relative_eq!(s.reference_price, 1000.0, epsilon = 1e-9);
    assert_relative_eq!(s.execution_price, 900.0, epsilon = 1e-9);
    assert_relative_eq!(s.execution_ltv, 0.8 / 0.9, epsilon = 1e-12);
    assert_eq!(s.loss, 0.0);
    assert_relative_eq!(s.surplus, 100.0, epsilon = 1e-9);
    assert_eq!(identity_loss(800.0, 0.8, 0.10, 0.0), 0.0);
}

#[test]
fn a_30_percent_gap_loses_what_the_identity_says() {
    let o = liquidation::run(
        &[loan_at_trigger_price_1000()],
        &falling(),
        &params(0.30, 0.0),
    );
    let s = sale(&o[0]);
    // Sold at $700: $100 short, 12.5% of the balance (LTV_exec 0.8 / 0.7).
    assert_relative_eq!(s.execution_ltv, 0.8 / 0.7, epsilon = 1e-12);
    assert_relative_eq!(s.loss, 100.0, epsilon = 1e-9);
    assert_relative_eq!(s.loss, identity_loss(800.0, 0.8, 0.30, 0.0), epsilon = 1e-9);
    assert_eq!(s.surplus, 0.0);
    // With 5% slippage on top: sold at $665, $135 short.
    let o = liquidation::run(
        &[loan_at_trigger_price_1000()],
        &falling(),
        &params(0.30, 0.05),
    );
    let s = sale(&o[0]);
    assert_relative_eq!(s.loss, 135.0, epsilon = 1e-9);
    assert_relative_eq!(
        s.loss,
        identity_loss(800.0, 0.8, 0.30, 0.05),
        epsilon = 1e-9
    );
}

#[test]
fn a_lag_sells_at_the_later_close_when_it_is_lower() {
    let mut p = params(0.0, 0.0);
    p.lag_days = 2;
    let o = liquidation::run(&[loan_at_trigger_price_1000()], &falling(), &p);
    let s = sale(&o[0]);
    assert_eq!((s.trigger_day, s.sale_day), (5, 7));
    assert_relative_eq!(s.execution_price, 900.0, epsilon = 1e-9);
    assert_relative_eq!(s.loss, 0.0);
}

#[test]
fn an_answered_margin_call_restores_the_cure_ltv_and_avoids_the_sale() {
    let mut l = loan_at_trigger_price_1000();
    l.answers = true;
    // LTV 70% at $1,142.86: day 3 ($1,100) is the first close at or below it.
    let o = liquidation::run(&[l], &falling(), &params(0.10, 0.0));
    assert_eq!(o[0].answered, o[0].margin_calls);
    // At $1,100, 50% LTV needs 800 / 550 = 1.4545 BTC: 0.4545 added. Later calls add more.
    assert!(o[0].btc_added >= 800.0 / 550.0 - 1.0 - 1e-9, "{:?}", o[0]);
    assert!(matches!(o[0].end, End::Outstanding), "{:?}", o[0]);
}

#[test]
fn the_pools_own_sales_move_the_price_by_the_square_root_law() {
    let mut p = params(0.0, 0.0);
    p.impact = Some(Impact {
        coefficient: 1.0,
        daily_volatility: 0.03,
        daily_volume_usd: 1_000_000.0,
        crowding: 2.0,
    });
    let loans = vec![loan_at_trigger_price_1000(); 4];
    let o = liquidation::run(&loans, &falling(), &p);
    // 4 BTC sold at $1,000 the same day: impact 1 x 0.03 x sqrt(4,000 / 1,000,000) x 2 = 0.38%.
    let want = 0.03 * (4000.0f64 / 1e6).sqrt() * 2.0;
    assert_relative_eq!(
        sale(&o[0]).execution_price,
        1000.0 * (1.0 - want),
        epsilon = 1e-9
    );
}

fn random_loans(seed: u64, n: usize) -> Vec<MarketLoan> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let balance = 1000.0 + rng.random::<f64>() * 99_000.0;
            let ltv = 0.3 + rng.random::<f64>() * 0.45;
            MarketLoan {
                balance,
                principal: balance * 0.98,
                rate: 0.08 + rng.random::<f64>() * 0.08,
                btc: balance / (ltv * 87_505.0),
                maturity_day: rng.random_range(1..400u32),
                answers: rng.random::<f64>() < 0.5,
            }
        })
        .collect()
}

fn same(fast: &[Outcome], naive: &[Outcome]) {
    assert_eq!(fast.len(), naive.len());
    for (i, (a, b)) in fast.iter().zip(naive).enumerate() {
        assert_eq!(a, b, "loan {i}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The range-minimum crossings and the day-by-day loop agree loan by loan, on random
    /// pools, paths (with bounces), gaps, lags, balloon behaviours and execution prices.
    #[test]
    fn crossings_match_the_day_by_day_loop(
        seed in 0u64..1_000_000,
        trough in 0.0f64..0.95,
        days_to_trough in 1u32..300,
        lag in 0u32..4,
        balloon in prop_oneof![Just(Balloon::Repay), Just(Balloon::RollOver), Just(Balloon::Default)],
        bounce in 0.0f64..0.3,
        execution in prop_oneof![Just(Execution::Trigger), Just(Execution::Close)],
    ) {
        let loans = random_loans(seed, 200);
        let mut prices = PathSpec {
            trough,
            days_to_trough,
            horizon_days: 365,
            shape: Shape::Linear,
        }
        .prices(87_505.0);
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
        for p in prices.iter_mut().skip(1) {
            *p *= 1.0 + bounce * (rng.random::<f64>() - 0.5);
        }
        let mut p = params(0.15, 0.01);
        p.lag_days = lag;
        p.balloon = balloon;
        p.execution = execution;
        let all = liquidation::run(&loans, &prices, &p);
        same(&all, &liquidation::run_naive(&loans, &prices, &p));
        // The simulation's book gives the same outcome for every loan it lists, and leaves out
        // only loans never called nor sold.
        let book = liquidation::Book::new(loans.clone(), 365, p.clone());
        let mut work = liquidation::Work::default();
        // A worker's memory carries over from path to path: another path first.
        let other: Vec<f64> = prices.iter().rev().copied().collect();
        book.run(&other, &mut |_| p.gap, &mut work);
        let touched: Vec<(u32, Outcome)> = book
            .run(&prices, &mut |_| p.gap, &mut work)
            .iter()
            .map(|(i, o)| (book.original()[i as usize], *o))
            .collect();
        let mut listed = vec![false; loans.len()];
        for (i, o) in &touched {
            prop_assert_eq!(o, &all[*i as usize]);
            listed[*i as usize] = true;
        }
        for (o, listed) in all.iter().zip(listed) {
            prop_assert!(listed || (o.margin_calls == 0 && !matches!(o.end, End::Liquidated(_))));
        }
        // The book holds every loan once.
        let mut seen = book.original().to_vec();
        seen.sort_unstable();
        prop_assert_eq!(seen, (0..loans.len() as u32).collect::<Vec<_>>());
    }
}

#[test]
fn crossings_match_the_loop_on_the_bundled_pool_over_real_history() {
    if !have_prices() {
        return;
    }
    let series = read_prices(Path::new(PRICES), "date", "price_usd").unwrap();
    let tape = Tape::read(&crate::util::bundled_tape()).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let loans: Vec<MarketLoan> = tape
        .records()
        .unwrap()
        .iter()
        .map(|r| {
            let f =
                |d: rust_decimal::Decimal| rust_decimal::prelude::ToPrimitive::to_f64(&d).unwrap();
            MarketLoan {
                balance: f(r.principal + r.accrued_interest),
                principal: f(r.principal),
                rate: f(r.interest_rate),
                btc: f(r.collateral_btc),
                maturity_day: (r.maturity_date
                    - chrono::NaiveDate::from_ymd_opt(2026, 2, 18).unwrap())
                .num_days() as u32,
                answers: rng.random::<f64>() < 0.5,
            }
        })
        .collect();
    let all: Vec<f64> = series
        .prices
        .iter()
        .map(|d| rust_decimal::prelude::ToPrimitive::to_f64(d).unwrap())
        .collect();
    // Three real years (2018, 2020, 2022), each scaled so day 0 is the cut-off price.
    for start in ["2017-12-17", "2020-02-13", "2022-04-01"] {
        let from = chrono::NaiveDate::parse_from_str(start, "%Y-%m-%d").unwrap();
        let i = (from - series.first).num_days() as usize;
        let prices: Vec<f64> = all[i..=i + 365]
            .iter()
            .map(|p| p * 87_505.0 / all[i])
            .collect();
        let p = params(0.004, 0.0);
        let fast = liquidation::run(&loans, &prices, &p);
        same(&fast, &liquidation::run_naive(&loans, &prices, &p));
        let sold = fast
            .iter()
            .filter(|o| matches!(o.end, End::Liquidated(_)))
            .count();
        assert!(sold > 0, "{start}: a real bear year liquidates loans");
    }
}

#[test]
fn the_historical_shapes_are_what_the_price_file_says() {
    if !have_prices() {
        return;
    }
    let series = read_prices(Path::new(PRICES), "date", "price_usd").unwrap();
    let m = Registry::new(root().join("methodology"))
        .resolve(V2)
        .unwrap();
    let market = m.market.as_ref().unwrap();
    // (name, first day, last day of the window searched for the low, sampling step)
    for (name, from, to, step) in [
        ("bear_2018", "2017-12-17", "2018-12-31", 7),
        ("black_thursday_2020", "2020-02-13", "2020-03-31", 1),
        ("early_2026", "2026-01-14", "2026-02-18", 1),
    ] {
        let day = |s: &str| {
            (chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap() - series.first).num_days()
                as usize
        };
        let window: Vec<f64> = series.prices[day(from)..=day(to)]
            .iter()
            .map(|d| rust_decimal::prelude::ToPrimitive::to_f64(d).unwrap())
            .collect();
        let computed = shape_of(&window, step).unwrap();
        let shipped: Vec<(f64, f64)> = market.shapes[name]
            .points
            .iter()
            .map(|[u, s]| {
                let f = |d: &rust_decimal::Decimal| {
                    rust_decimal::prelude::ToPrimitive::to_f64(d).unwrap()
                };
                (f(u), f(s))
            })
            .collect();
        assert_eq!(computed.len(), shipped.len(), "{name}");
        for (c, s) in computed.iter().zip(&shipped) {
            assert_relative_eq!(c.0, s.0, epsilon = 1.01e-4);
            assert_relative_eq!(c.1, s.1, epsilon = 1.01e-4);
        }
    }
}

fn rate_v2() -> Value {
    let out = ok(&["rate", "--methodology", V2, "--format", "json"]);
    serde_json::from_str(&out).unwrap()
}

#[test]
fn rate_under_2_0_0_runs_every_level_through_the_liquidation_engine() {
    let r = rate_v2();
    let levels = r["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 16);
    let dec = |v: &Value| v.as_str().unwrap().parse::<f64>().unwrap();
    for l in levels {
        let m = &l["market"];
        // What the period engine was given is what the liquidation engine produced.
        assert_eq!(
            l["default_amount"], m["liquidated_principal"],
            "{}",
            l["notch"]
        );
        let timing: f64 = m["default_timing"]
            .as_array()
            .unwrap()
            .iter()
            .map(dec)
            .sum();
        assert_relative_eq!(timing, 1.0, epsilon = 1e-12);
        // A loan can be sold without a call (straight past 80% in a day), so the two counts are
        // bounded by the pool, not by each other.
        let loans = m["loans"].as_u64().unwrap();
        assert!(m["loans_liquidated"].as_u64().unwrap() <= loans);
        assert!(m["loans_margin_called"].as_u64().unwrap() <= loans);
    }
    let losses = |i: usize| dec(&levels[i]["market"]["losses"]);
    // AAA: an 88% fall sold through a 66.5% gap loses money; B-: a 30% fall with a 6% gap
    // sells every loan above its balance (0.8 / (0.94 x 0.995) < 1).
    assert!(losses(0) > 0.0);
    assert_eq!(losses(15), 0.0);
    for n in r["notes"].as_array().unwrap() {
        // The decline where it binds (below the 99% tried), `null` when the note survives any fall.
        let d = &n["break_even_btc_decline"];
        assert!(d.is_null() || (0.0..0.99).contains(&dec(d)), "{n}");
        assert!(n["break_even_liquidation_gap"].is_string(), "{n}");
        assert!(!n["non_monotone"].as_bool().unwrap(), "{n}");
    }
    // Class A ranks at least as high as Class B.
    let notches = absrate::methodology::SCALE;
    let pos = |c: usize| {
        r["notes"][c]["indicated"]
            .as_str()
            .and_then(|s| notches.iter().position(|n| *n == s))
            .unwrap_or(notches.len())
    };
    assert!(pos(0) <= pos(1));
}

#[test]
fn rate_under_2_0_0_is_byte_identical_run_to_run() {
    let a = ok(&["rate", "--methodology", V2, "--format", "json"]);
    let b = ok(&["rate", "--methodology", V2, "--format", "json"]);
    assert_eq!(a, b);
}

#[test]
fn market_methodology_errors_name_the_field() {
    let r = absrate(&[
        "methodology",
        "show",
        fixture("methodology/market_with_default_rate.yaml")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("level 'AAA': default_rate: is not stated in `market_value` mode: the liquidation engine derives it from the price path"),
        "{}",
        r.stderr
    );
    let r = absrate(&[
        "methodology",
        "show",
        fixture("methodology/market_unknown_shape.yaml")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("path_shape: unknown shape `bear_2019` (did you mean `bear_2018`?)"),
        "{}",
        r.stderr
    );
}

#[test]
fn backtest_lists_the_distribution_the_worst_windows_and_the_break_evens() {
    if !have_prices() {
        return;
    }
    let out = ok(&[
        "backtest",
        "--prices",
        PRICES,
        "--since",
        "2025-06-01",
        "--horizon",
        "60d",
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["horizon_days"], 60);
    assert_eq!(v["first_start"], "2025-06-01");
    let windows = v["windows"].as_u64().unwrap();
    // Every start with 60 days of prices after it.
    assert!(windows > 200, "{windows}");
    let worst = v["worst_by_trough"].as_array().unwrap();
    assert!(!worst.is_empty());
    // The deepest fall listed is the distribution's maximum.
    assert_eq!(worst[0]["trough"], v["trough"]["max"]);
    for n in v["notes"].as_array().unwrap() {
        // A decline that does not bind is null, and no window went deeper than it.
        let d = &n["break_even_btc_decline"];
        assert!(d.is_string() || d.is_null(), "{n}");
        let deeper = n["windows_deeper"].as_u64().unwrap();
        assert!(deeper <= windows);
        if d.is_null() {
            assert_eq!(deeper, 0, "{n}");
        }
    }
    let r = absrate(&["backtest", "--prices", PRICES, "--horizon", "0d"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = absrate(&[
        "backtest",
        "--prices",
        PRICES,
        "--methodology",
        "btc-backed-consumer-loans@1.0.0",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("is not a market-value methodology"),
        "{}",
        r.stderr
    );
}
