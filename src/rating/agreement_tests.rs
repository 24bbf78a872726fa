//! Issue 12's acceptance line for the f64 engine: on random BTC paths through the loan-by-loan
//! liquidation engine, the period engine in `f64` and in exact `Decimal` agree within one cent,
//! period by period and in every note's verdict.

use std::path::Path;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rust_decimal::dec;

use super::*;
use crate::methodology::Registry;
use crate::waterfall::Period;

/// A daily geometric Brownian motion from `start` without drift (`days` steps, `days + 1`
/// prices), normal draws by Box-Muller.
fn gbm(rng: &mut ChaCha8Rng, start: f64, days: u32, daily_vol: f64) -> Vec<f64> {
    let mut prices = Vec::with_capacity(days as usize + 1);
    let mut p = start;
    prices.push(p);
    for _ in 0..days {
        let (u1, u2): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random::<f64>());
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        p *= (daily_vol * z - daily_vol * daily_vol / 2.0).exp();
        prices.push(p);
    }
    prices
}

/// Every money figure of a period, in USD, named.
fn figures(p: &Period<Decimal>) -> Vec<(String, Decimal)> {
    let mut out: Vec<(String, Decimal)> = [
        ("performing_start", p.performing_start),
        ("defaults", p.defaults),
        ("recoveries", p.recoveries),
        ("interest_due", p.interest_due),
        ("interest_cash", p.interest_cash),
        ("interest_capitalized", p.interest_capitalized),
        ("maturities", p.maturities),
        ("new_loans", p.new_loans),
        ("reserve_release", p.reserve_release),
        ("available", p.available),
        ("fees_paid", p.fees_paid),
        ("reserve_draw", p.reserve_draw),
        ("reserve_top_up", p.reserve_top_up),
        ("reinvested", p.reinvested),
        ("residual", p.residual),
        ("performing_end", p.performing_end),
        ("awaiting_reinvestment", p.awaiting_reinvestment),
        ("reserve_end", p.reserve_end),
        ("cumulative_defaults", p.cumulative_defaults),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for k in 0..p.interest_paid.len() {
        out.push((format!("interest_paid[{k}]"), p.interest_paid[k]));
        out.push((format!("interest_shortfall[{k}]"), p.interest_shortfall[k]));
        out.push((format!("principal_paid[{k}]"), p.principal_paid[k]));
        out.push((format!("balance[{k}]"), p.note_balance_end[k]));
    }
    out
}

/// The f64 period in USD.
fn in_usd(p: &Period<f64>, r: Rounding) -> Period<Decimal> {
    let usd = |a: f64| a.to_money(r);
    let all = |v: &[f64]| v.iter().map(|a| usd(*a)).collect::<Vec<_>>();
    Period {
        period: p.period,
        date: p.date,
        revolving: p.revolving,
        performing_start: usd(p.performing_start),
        defaults: usd(p.defaults),
        recoveries: usd(p.recoveries),
        interest_due: usd(p.interest_due),
        interest_cash: usd(p.interest_cash),
        interest_capitalized: usd(p.interest_capitalized),
        maturities: usd(p.maturities),
        prepayments: usd(p.prepayments),
        new_loans: usd(p.new_loans),
        reserve_release: usd(p.reserve_release),
        available: usd(p.available),
        fees_paid: usd(p.fees_paid),
        interest_paid: all(&p.interest_paid),
        interest_shortfall: all(&p.interest_shortfall),
        principal_paid: all(&p.principal_paid),
        reserve_draw: usd(p.reserve_draw),
        reserve_top_up: usd(p.reserve_top_up),
        reinvested: usd(p.reinvested),
        residual: usd(p.residual),
        performing_end: usd(p.performing_end),
        awaiting_reinvestment: usd(p.awaiting_reinvestment),
        reserve_end: usd(p.reserve_end),
        note_balance_end: all(&p.note_balance_end),
        cumulative_defaults: usd(p.cumulative_defaults),
    }
}

/// 50 GBM paths at 6% daily volatility (seeded ChaCha8) through the liquidation engine under
/// 2.0.0's 'A' terms of sale (`derive_on`, as `derive` does for the level's own path), then
/// through the period engine in both number types, stepped together: the same periods, every
/// figure of every period (each note's interest paid and short, principal paid, balance; the
/// pool's flows) within one cent, and the same verdicts with the same losses and shortfalls
/// within one cent. Not vacuous: most paths must lose note principal, some must fall short of
/// interest.
#[test]
fn f64_and_decimal_engines_agree_within_a_cent_on_50_random_paths() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let deal = Deal::load(&root.join("pools/ledn-2026-1/deal.yaml")).expect("deal");
    let tape = Tape::read(&deal.pool.tape).expect("tape");
    let m = Registry::new(root.join("methodology"))
        .resolve("btc-backed-consumer-loans@2.0.0")
        .expect("2.0.0");
    let market = Market::of(&tape, &deal, &m)
        .expect("market pool")
        .expect("market value");
    let level: Notch = "A".parse().expect("notch");
    let s = &m.level(level).stress;
    let ms = s.market().expect("market-value level");
    let pool = tape.adjust(&valuation(&deal), &rule(&m, s)).expect("pool");
    let rules = Rules::of(&m);
    let cent = dec!(0.01);

    let mut rng = ChaCha8Rng::seed_from_u64(1212);
    let (mut with_loss, mut with_shortfall, mut periods) = (0, 0, 0);
    let mut largest = (Decimal::ZERO, String::new());
    for path in 0..50 {
        let prices = gbm(
            &mut rng,
            market.pool.start_price(),
            market.facts.horizon_days.value,
            0.06,
        );
        let sc = market::derive_on(
            &m,
            &market,
            &deal,
            ms,
            pool.report.credited_balance,
            &prices,
        )
        .expect("scenario");
        let mut exact = engine::<Decimal>(&deal, rules, s, &pool.loans, &sc).expect("engine");
        let mut fast = engine::<f64>(&deal, rules, s, &pool.loans, &sc).expect("engine");
        loop {
            let (e, f) = (
                exact.step().expect("Decimal period"),
                fast.step().expect("f64 period"),
            );
            let (e, f) = match (e, f) {
                (None, None) => break,
                (Some(e), Some(f)) => (e, in_usd(&f, rules.rounding)),
                (e, f) => panic!(
                    "path {path}: one engine stopped first: Decimal {:?}, f64 {:?}",
                    e.map(|p| p.period),
                    f.map(|p| p.period)
                ),
            };
            assert_eq!(
                (e.period, e.revolving),
                (f.period, f.revolving),
                "path {path}"
            );
            for ((name, a), (_, b)) in figures(&e).iter().zip(figures(&f)) {
                let d = (a - b).abs();
                assert!(
                    d <= cent,
                    "path {path} period {}: {name}: Decimal {a} / f64 {b} / difference {d}",
                    e.period
                );
                if d > largest.0 {
                    largest = (d, format!("path {path} period {} {name}", e.period));
                }
            }
            periods += 1;
        }
        let end = exact.state().period;
        let (e, f) = (exact.outcomes(Some(end)), fast.outcomes(Some(end)));
        for (e, f) in e.iter().zip(&f) {
            assert_eq!(
                (e.passed, e.first_failing_period),
                (f.passed, f.first_failing_period),
                "path {path} class {}",
                e.class
            );
            for (what, a, b) in [
                ("principal loss", e.principal_loss, f.principal_loss),
                (
                    "interest shortfall",
                    e.interest_shortfall,
                    f.interest_shortfall,
                ),
            ] {
                let d = (a - b.to_money(rules.rounding)).abs();
                assert!(
                    d <= cent,
                    "path {path} class {}: {what}: {a} / {b}",
                    e.class
                );
            }
        }
        with_loss += usize::from(e.iter().any(|o| o.principal_loss > Decimal::ZERO));
        with_shortfall += usize::from(e.iter().any(|o| o.interest_shortfall > Decimal::ZERO));
    }
    eprintln!(
        "50 paths, {periods} periods: {with_loss} with a principal loss, {with_shortfall} with an interest shortfall; largest difference {} ({})",
        largest.0, largest.1
    );
    assert!(
        with_loss >= 15,
        "only {with_loss} of 50 paths lose principal"
    );
    assert!(
        with_shortfall >= 3,
        "only {with_shortfall} of 50 paths fall short of interest"
    );
}

/// The auto-loan engine (issue 16) in both number types: AMCAR 2016-3 at every notch under every
/// case of auto-loans 1.0.0, stepped together: the same periods, every figure of every period
/// within one cent, the same verdicts. Not vacuous: some runs must lose principal.
#[test]
fn f64_and_decimal_auto_engines_agree_within_a_cent_at_every_notch_and_case() {
    use crate::asset::auto_loan::{Tables, group};
    use crate::methodology::AutoMethodology;
    use crate::tape::AutoTape;

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let deal = Deal::load(&root.join("pools/amcar-2016-3/deal.yaml")).expect("deal");
    let m = AutoMethodology::load(&root.join("methodology/auto-loans/1.0.0.yaml"))
        .expect("auto-loans 1.0.0");
    let deal = auto::deal_for_rating(&deal, &m);
    let tape = AutoTape::read(&deal.pool.tape).expect("tape");
    let lines = group(tape.loans(), Some(auto::GROUPING));
    let pool: Decimal = lines.iter().map(|l| l.balance).sum();
    let (exact_tables, fast_tables) = (Tables::<Decimal>::of(&lines), Tables::<f64>::of(&lines));
    let ecnl = deal.auto_loans.as_ref().expect("auto deal").expected_cnl;
    let cent = dec!(0.01);
    let (mut runs, mut losing) = (0, 0);
    for level in &m.levels {
        for case in auto::cases(&m) {
            let cnl = ecnl * level.cnl_multiple;
            let t = auto::amortizing_terms(&deal, &m, pool, level.notch, cnl, case).expect("terms");
            let mut exact =
                auto::auto_engine::<Decimal>(&deal, &m, &lines, &exact_tables, &t).expect("engine");
            let mut fast =
                auto::auto_engine::<f64>(&deal, &m, &lines, &fast_tables, &t).expect("engine");
            let at = format!("'{}' {}", level.notch, auto::case_name(&m, case));
            loop {
                let (e, f) = match (exact.step().expect("Decimal"), fast.step().expect("f64")) {
                    (None, None) => break,
                    (Some(e), Some(f)) => (e, in_usd(&f, m.rounding)),
                    (e, f) => panic!(
                        "{at}: one engine stopped first: {:?} / {:?}",
                        e.map(|p| p.period),
                        f.map(|p| p.period)
                    ),
                };
                for ((name, a), (_, b)) in figures(&e).iter().zip(figures(&f)) {
                    assert!(
                        (a - b).abs() <= cent,
                        "{at} period {}: {name}: Decimal {a} / f64 {b}",
                        e.period
                    );
                }
            }
            let end = exact.state().period;
            let (e, f) = (exact.outcomes(Some(end)), fast.outcomes(Some(end)));
            for (e, f) in e.iter().zip(&f) {
                assert_eq!(e.passed, f.passed, "{at} class {}", e.class);
                assert!(
                    (e.principal_loss - f.principal_loss.to_money(m.rounding)).abs() <= cent,
                    "{at} class {}",
                    e.class
                );
            }
            runs += 1;
            losing += usize::from(e.iter().any(|o| o.principal_loss > Decimal::ZERO));
        }
    }
    assert_eq!(runs, 16 * auto::cases(&m).len());
    assert!(losing >= 10, "only {losing} of {runs} runs lose principal");
}
