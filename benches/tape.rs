//! Reading + validating + summarizing generated Parquet tapes of 1M and 10M loans.
//!
//! Run: `cargo bench --bench tape` (tapes are generated once into the target directory; set
//! `ABSRATE_BENCH_SIZES=1000000` to run one size). Figures are recorded in BENCHMARKS.md.

use std::path::{Path, PathBuf};

use absrate::pool::{PoolFile, generate};
use absrate::tape::{Tape, Valuation, write_tape};
use criterion::{Criterion, criterion_group, criterion_main};

fn tape_of(n: u64, dir: &Path, pool: &PoolFile) -> PathBuf {
    let path = dir.join(format!("ledn-{n}.parquet"));
    if !path.exists() {
        let g = generate(pool, 1, Some(n)).expect("the profile generates");
        write_tape(&g.loans, &path).expect("the tape is written");
    }
    path
}

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pool = PoolFile::load(&root.join("pools/ledn-2026-1/pool.yaml")).expect("pool file");
    let at = Valuation {
        as_of: pool.cutoff.date,
        btc_price: pool.cutoff.btc_price,
        margin_call_ltv: pool.collateral_terms.margin_call_ltv,
        liquidation_ltv: pool.collateral_terms.liquidation_ltv,
    };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let sizes: Vec<u64> = std::env::var("ABSRATE_BENCH_SIZES")
        .unwrap_or_else(|_| "1000000,10000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let mut group = c.benchmark_group("tape");
    group.sample_size(10);
    for n in sizes {
        let path = tape_of(n, &dir, &pool);
        group.bench_function(format!("read_validate_summarize/{n}"), |b| {
            b.iter(|| {
                let tape = Tape::read(&path).expect("valid tape");
                tape.summary(&at).expect("summary")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
