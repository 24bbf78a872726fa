//! The backtest over every start date since 2014 on the bundled pool, and the range-minimum
//! crossings against the day-by-day loop on the same pool and path.
//!
//! Run: `cargo bench --bench market` (needs ../shared/data/btc-usd-daily.csv beside the clone).
//! Figures are recorded in BENCHMARKS.md.

use std::path::Path;

use absrate::deal::Deal;
use absrate::methodology::Registry;
use absrate::rating::MarketPool;
use absrate::stress::backtest::{Windows, backtest};
use absrate::stress::liquidation::{self, Balloon, Execution, MarketParams};
use absrate::tape::{Tape, read_prices};
use criterion::{Criterion, criterion_group, criterion_main};
use rust_decimal::prelude::ToPrimitive;

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let prices_path = root.join("../shared/data/btc-usd-daily.csv");
    if !prices_path.is_file() {
        eprintln!("skipped: {} is absent", prices_path.display());
        return;
    }
    let deal = Deal::load(&root.join("pools/ledn-2026-1/deal.yaml")).expect("deal");
    let m = Registry::new(root.join("methodology"))
        .resolve("btc-backed-consumer-loans@2.0.0")
        .expect("methodology");
    let tape = Tape::read(&deal.pool.tape).expect("tape");
    let facts = m.market.as_ref().expect("a market-value methodology");
    let pool = MarketPool::from_tape(&tape, &deal, facts).expect("pool");
    let series = read_prices(&prices_path, "date", "price_usd").expect("prices");
    let prices: Vec<f64> = series
        .prices
        .iter()
        .map(|d| d.to_f64().unwrap_or(0.0))
        .collect();
    let params = MarketParams {
        margin_call_ltv: 0.70,
        liquidation_ltv: 0.80,
        cure_ltv: 0.50,
        gap: 0.004,
        lag_days: 0,
        slippage: 0.0,
        impact: None,
        balloon: Balloon::RollOver,
        execution: Execution::Trigger,
    };
    let loans = pool.loans(0.5);
    let since = chrono::NaiveDate::from_ymd_opt(2014, 1, 1).expect("date");

    let mut g = c.benchmark_group("market");
    g.sample_size(10);
    g.bench_function("backtest_since_2014/ledn-2026-1", |b| {
        b.iter(|| {
            backtest(
                &loans,
                &prices,
                series.first,
                &Windows {
                    first_start: since,
                    horizon_days: 365,
                    start_price: pool.start_price(),
                    worst: 5,
                },
                &params,
            )
            .expect("backtest")
        })
    });
    // One real year (from the December 2017 top), scaled to the cut-off price.
    let i = (chrono::NaiveDate::from_ymd_opt(2017, 12, 17).expect("date") - series.first).num_days()
        as usize;
    let path: Vec<f64> = prices[i..=i + 365]
        .iter()
        .map(|p| p * pool.start_price() / prices[i])
        .collect();
    assert_eq!(
        liquidation::run(&loans, &path, &params),
        liquidation::run_naive(&loans, &path, &params)
    );
    g.bench_function("crossings/range_minimum", |b| {
        b.iter(|| liquidation::run(&loans, &path, &params))
    });
    g.bench_function("crossings/day_by_day", |b| {
        b.iter(|| liquidation::run_naive(&loans, &path, &params))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
