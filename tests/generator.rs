//! `absrate pool generate`: reproducible, exact, and the committed tape is what the recorded
//! command makes.

use crate::util::{absrate, bundled_tape, ok, read};
use rust_decimal::Decimal;
use serde_json::Value;
use std::str::FromStr;

/// The seed recorded in pools/ledn-2026-1/README.md.
const RECORDED_SEED: &str = "20260218";

fn generate(
    dir: &tempfile::TempDir,
    name: &str,
    seed: &str,
    loans: Option<&str>,
) -> std::path::PathBuf {
    let out = dir.path().join(name);
    let mut args = vec![
        "pool".to_string(),
        "generate".into(),
        "--profile".into(),
        "ledn-2026-1".into(),
        "--seed".into(),
        seed.into(),
        "--out".into(),
        out.display().to_string(),
    ];
    if let Some(n) = loans {
        args.extend(["--loans".into(), n.into()]);
    }
    ok(&args);
    out
}

fn summary(tape: &std::path::Path) -> Value {
    let out = ok(&[
        "tape",
        "summary",
        tape.to_str().unwrap(),
        "--pool",
        "pools/ledn-2026-1/pool.yaml",
        "--format",
        "json",
    ]);
    serde_json::from_str::<Value>(&out).unwrap()["summary"].clone()
}

#[test]
fn the_committed_tape_is_what_the_recorded_command_makes() {
    let dir = tempfile::tempdir().unwrap();
    let made = generate(&dir, "tape.csv", RECORDED_SEED, None);
    assert!(
        read(&made) == read(&bundled_tape()),
        "pools/ledn-2026-1/tape.csv differs from a fresh run with seed {RECORDED_SEED}"
    );
}

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_another_tape_with_the_same_totals() {
    let dir = tempfile::tempdir().unwrap();
    let a = generate(&dir, "a.csv", "7", Some("800"));
    let b = generate(&dir, "b.csv", "7", Some("800"));
    let c = generate(&dir, "c.csv", "8", Some("800"));
    assert!(read(&a) == read(&b));
    assert!(read(&a) != read(&c));
    let (sa, sc) = (summary(&a), summary(&c));
    for key in ["loans", "borrowers", "principal", "collateral_btc"] {
        assert_eq!(sa[key], sc[key], "{key}");
    }
}

#[test]
fn other_sizes_scale_the_published_totals() {
    let dir = tempfile::tempdir().unwrap();
    let t = generate(&dir, "small.parquet", "3", Some("1000"));
    let s = summary(&t);
    assert_eq!(s["loans"].as_u64(), Some(1000));
    // 2,914 x 1,000 / 5,441 = 535.6 borrowers; $199.1M x 1,000 / 5,441 to the cent.
    assert_eq!(s["borrowers"].as_u64(), Some(536));
    let principal = Decimal::from_str(s["principal"].as_str().unwrap()).unwrap();
    let expected = (Decimal::from_str("199100000.00").unwrap() * Decimal::from(1000)
        / Decimal::from(5441))
    .round_dp(2);
    assert_eq!(principal, expected);
    assert_eq!(
        format!("{:.2}", s["wa_interest_rate"].as_f64().unwrap() * 100.0),
        "11.80"
    );
}

#[test]
fn an_unknown_profile_is_named_with_the_ones_available() {
    let r = absrate(&[
        "pool",
        "generate",
        "--profile",
        "nope",
        "--seed",
        "1",
        "--out",
        "/tmp/absrate-never.csv",
    ]);
    assert_eq!(r.code, 3);
    assert_eq!(
        r.stderr,
        "error: no pool profile `nope`: expected pools/nope/pool.yaml (profiles here: amcar-2016-3, ledn-2026-1)\n"
    );
    assert!(!std::path::Path::new("/tmp/absrate-never.csv").exists());
}
