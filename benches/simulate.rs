//! The Monte Carlo on the bundled deal: 100,000 one-year paths (365 daily steps) of the bundled
//! GARCH-t model through the liquidation engine (cohorts of the 5,441 loans) and the waterfall,
//! and 1,000 paths loan by loan for comparison.
//!
//! Run: `cargo bench --bench simulate`. Figures are recorded in BENCHMARKS.md (with loan-days per
//! second: paths x 365 x 5,441 / time).

use std::path::Path;

use absrate::deal::Deal;
use absrate::methodology::Registry;
use absrate::price::ModelLookup;
use absrate::simulate::{Grouping, Setup};
use absrate::tape::Tape;
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let deal = Deal::load(&root.join("pools/ledn-2026-1/deal.yaml")).expect("deal");
    let m = Registry::new(root.join("methodology"))
        .resolve("btc-backed-consumer-loans@2.0.1")
        .expect("methodology");
    let model = ModelLookup::new(None, root)
        .resolve("btc-garch-t@1.0.0")
        .expect("model");
    let tape = Tape::read(&deal.pool.tape).expect("tape");
    let cohorts =
        Setup::new(&deal, &m, &tape, &model.model, Some(Grouping::DEFAULT)).expect("setup");
    let loans = Setup::new(&deal, &m, &tape, &model.model, None).expect("setup");
    let mut g = c.benchmark_group("simulate");
    g.sample_size(10);
    g.bench_function("100000 paths x 365 days, cohorts", |b| {
        b.iter(|| cohorts.run_range(1, 0..100_000, &|| {}).expect("run"))
    });
    g.bench_function("1000 paths x 365 days, loan by loan", |b| {
        b.iter(|| loans.run_range(1, 0..1_000, &|| {}).expect("run"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
