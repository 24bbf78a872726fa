//! The full rating of AmeriCredit Automobile Receivables Trust 2016-3 under auto-loans 1.0.0:
//! every notch under every loss-timing curve and prepayment speed, every class, the break-even
//! cumulative net losses (issue 16; target 1 s in release). Also one case's run through the
//! period engine in `Decimal` and in `f64`.
//!
//! Run: `cargo bench --bench auto`. Figures are recorded in BENCHMARKS.md.

use std::path::Path;

use absrate::asset::auto_loan::{Tables, group};
use absrate::deal::Deal;
use absrate::methodology::{AutoMethodology, Notch};
use absrate::rating::auto::{self, Case, GROUPING};
use absrate::tape::AutoTape;
use criterion::{Criterion, criterion_group, criterion_main};
use rust_decimal::Decimal;

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let deal = Deal::load(&root.join("pools/amcar-2016-3/deal.yaml")).expect("deal");
    let m = AutoMethodology::load(&root.join("methodology/auto-loans/1.0.0.yaml"))
        .expect("auto-loans 1.0.0");
    let tape = AutoTape::read(&deal.pool.tape).expect("tape");
    let mut group_ = c.benchmark_group("auto");
    group_.sample_size(10);
    group_.bench_function("grid_and_break_evens/amcar-2016-3", |b| {
        b.iter(|| auto::rate_auto(&tape, &deal, &m).expect("rating"))
    });
    let d = auto::deal_for_rating(&deal, &m);
    let lines = group(tape.loans(), Some(GROUPING));
    let pool: Decimal = lines.iter().map(|l| l.balance).sum();
    let (exact, fast) = (Tables::<Decimal>::of(&lines), Tables::<f64>::of(&lines));
    let case = Case { curve: 0, speed: 0 };
    let terms =
        auto::amortizing_terms(&d, &m, pool, Notch::AAA, Decimal::new(42, 2), case).expect("terms");
    group_.bench_function("one_case_decimal/amcar-2016-3", |b| {
        b.iter(|| {
            auto::auto_engine::<Decimal>(&d, &m, &lines, &exact, &terms)
                .expect("engine")
                .run_outcomes()
                .expect("run")
        })
    });
    group_.bench_function("one_case_f64/amcar-2016-3", |b| {
        b.iter(|| {
            auto::auto_engine::<f64>(&d, &m, &lines, &fast, &terms)
                .expect("engine")
                .run_outcomes()
                .expect("run")
        })
    });
    group_.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
