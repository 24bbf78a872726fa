//! The full rating grid (16 notches) plus the break-evens of both notes on the bundled Ledn deal
//! under 1.0.0 (default and recovery) and 2.0.0 (market value), a comparison of two methodology
//! versions, and one level's run through the period engine in `Decimal` and in `f64`.
//!
//! Run: `cargo bench --bench rate`. Figures are recorded in BENCHMARKS.md.

use std::path::Path;

use absrate::deal::Deal;
use absrate::methodology::{Notch, Registry};
use absrate::rating::{self, Rules, Vary};
use absrate::tape::Tape;
use criterion::{Criterion, criterion_group, criterion_main};
use rust_decimal::Decimal;

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let deal = Deal::load(&root.join("pools/ledn-2026-1/deal.yaml")).expect("deal");
    let m = Registry::new(root.join("methodology"))
        .resolve("btc-backed-consumer-loans@1.0.0")
        .expect("1.0.0");
    let v2 = Registry::new(root.join("methodology"))
        .resolve("btc-backed-consumer-loans@2.0.0")
        .expect("2.0.0");
    let tape = Tape::read(&deal.pool.tape).expect("tape");
    let mut group = c.benchmark_group("rate");
    group.sample_size(20);
    group.bench_function("grid_and_break_evens/ledn-2026-1", |b| {
        b.iter(|| rating::rate(&tape, &deal, &m).expect("rating"))
    });
    group.bench_function("grid_and_break_evens_market_value/ledn-2026-1", |b| {
        b.iter(|| rating::rate(&tape, &deal, &v2).expect("rating"))
    });
    // Two versions compared: the tape is read once and adjusted once per distinct rule; the target
    // is less than twice a single rating (which includes reading the tape).
    let v11 = Registry::new(root.join("methodology"))
        .resolve("btc-backed-consumer-loans@1.1.0")
        .expect("1.1.0");
    group.bench_function("read_and_rate/ledn-2026-1", |b| {
        b.iter(|| {
            let tape = Tape::read(&deal.pool.tape).expect("tape");
            rating::rate(&tape, &deal, &m).expect("rating")
        })
    });
    group.bench_function("read_and_compare_two_versions/ledn-2026-1", |b| {
        b.iter(|| {
            let tape = Tape::read(&deal.pool.tape).expect("tape");
            absrate::compare::compare(&tape, &deal, &[m.clone(), v11.clone()]).expect("comparison")
        })
    });
    group.finish();

    // One level of 1.0.0 ('BBB-', 5,441 loans, 12 periods) through the period engine: exact with
    // its period rows (what the grid runs), exact verdicts only (a break-even's confirmation),
    // and f64 verdicts only (a break-even probe, a Monte Carlo path).
    let level: Notch = "BBB-".parse().expect("notch");
    let s = &m.level(level).stress;
    let pool = tape
        .adjust(&rating::valuation(&deal), &rating::rule(&m, s))
        .expect("pool");
    let sc = rating::scenario(&deal, &m, s, &pool, None, Vary::Nothing).expect("scenario");
    let rules = Rules::of(&m);
    let mut group = c.benchmark_group("engine");
    group.bench_function("decimal_with_periods/ledn-2026-1-bbb-", |b| {
        b.iter(|| {
            rating::engine::<Decimal>(&deal, rules, s, &pool.loans, &sc)
                .and_then(|e| e.run())
                .expect("run")
        })
    });
    group.bench_function("decimal_outcomes/ledn-2026-1-bbb-", |b| {
        b.iter(|| {
            rating::engine::<Decimal>(&deal, rules, s, &pool.loans, &sc)
                .and_then(|e| e.run_outcomes())
                .expect("run")
        })
    });
    group.bench_function("f64_outcomes/ledn-2026-1-bbb-", |b| {
        b.iter(|| {
            rating::engine::<f64>(&deal, rules, s, &pool.loans, &sc)
                .and_then(|e| e.run_outcomes())
                .expect("run")
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
