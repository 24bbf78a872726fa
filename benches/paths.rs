//! Path generation of each published price model: 10,000 paths x 365 days, one ChaCha8 stream
//! per path, buffers reused (as `absrate simulate` draws them).
//!
//! Run: `cargo bench --bench paths`. The bootstrap needs ../shared/data/btc-usd-daily.csv beside
//! the clone (it is skipped otherwise). Figures (ns per day step) are recorded in BENCHMARKS.md.

use std::path::Path;

use absrate::price::{ModelLookup, SimPath};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

const PATHS: u64 = 10_000;
const DAYS: usize = 365;

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lookup = ModelLookup::new(Some(&root.join("methodology")), root);
    let mut g = c.benchmark_group("paths");
    g.sample_size(10);
    g.throughput(Throughput::Elements(PATHS * DAYS as u64));
    for id in ["btc-gbm", "btc-merton", "btc-garch-t", "btc-bootstrap"] {
        let model = match lookup.resolve(id) {
            Ok(m) => m.model,
            Err(e) => {
                eprintln!("skipped {id}: {e}");
                continue;
            }
        };
        let mut out = SimPath::with_days(DAYS);
        g.bench_function(format!("10k_x_365/{id}"), |b| {
            b.iter(|| {
                let mut last = 0.0;
                for path in 0..PATHS {
                    let mut rng = ChaCha8Rng::seed_from_u64(path);
                    model.simulate(87_500.0, DAYS, &mut rng, &mut out);
                    last += out.prices[DAYS];
                }
                last
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
