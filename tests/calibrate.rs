//! `absrate methodology calibrate` (issue 14): the published 2.1.0 regenerates byte for byte
//! from the price file; the same bytes whatever the thread count; the ladder is monotone in the
//! exceedance probability; every computed value says how; bad input is refused, located.

use std::path::{Path, PathBuf};
use std::process::Command;

use absrate::calibrate::ladder::{self, Settings};
use absrate::methodology::{MethodologyFile, Notch};
use absrate::price::ModelLookup;
use proptest::prelude::*;

use crate::util::{absrate, fixture, read, root};

const PUBLISHED: &str = "methodology/btc-backed-consumer-loans/2.1.0.yaml";

fn history() -> Option<PathBuf> {
    let p = root().join("../shared/data/btc-usd-daily.csv");
    if p.is_file() {
        Some(p)
    } else {
        eprintln!("skipped: ../shared/data absent");
        None
    }
}

fn wire(path: &Path) -> MethodologyFile {
    let text = String::from_utf8(read(path)).unwrap();
    absrate::yaml::from_str(path, &text).unwrap()
}

/// The arguments 2.1.0 records in `calibration.command`, after `absrate`.
fn recorded_args() -> Vec<String> {
    let f = wire(&root().join(PUBLISHED));
    let command = f
        .calibration
        .expect("2.1.0 records its calibration")
        .command;
    let args: Vec<String> = command.split(' ').map(str::to_string).collect();
    assert_eq!(args[0], "absrate");
    args[1..].to_vec()
}

#[test]
fn the_published_2_1_0_regenerates_byte_for_byte_from_the_price_file() {
    let Some(_) = history() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("2.1.0.yaml");
    let mut args = recorded_args();
    assert_eq!(
        args,
        [
            "methodology",
            "calibrate",
            "--prices",
            "../shared/data/btc-usd-daily.csv",
            "--model",
            "btc-garch-t@1.0.0",
            "--from",
            "btc-backed-consumer-loans@2.0.1",
        ]
    );
    args.extend(["--out".to_string(), out.display().to_string()]);
    let r = absrate(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("wrote "), "{}", r.stdout);
    assert!(
        read(&out) == read(&root().join(PUBLISHED)),
        "the calibration no longer gives the published 2.1.0: diff {} {PUBLISHED}",
        out.display()
    );
}

/// A run of the small fixture recipe with `threads` rayon threads: the file's bytes.
fn small_run(dir: &Path, threads: &str) -> Vec<u8> {
    let out = dir.join(format!("m{threads}.yaml"));
    let o = Command::new(env!("CARGO_BIN_EXE_absrate"))
        .args([
            "methodology",
            "calibrate",
            "--prices",
            &fixture("calibrate/prices.csv").display().to_string(),
            "--model",
            "btc-garch-t@1.0.0",
            "--from",
            "btc-backed-consumer-loans@2.0.1",
            "--recipe",
            &fixture("calibrate/recipe.yaml").display().to_string(),
            "--out",
            &out.display().to_string(),
        ])
        .env("RAYON_NUM_THREADS", threads)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    read(&out)
}

#[test]
fn the_same_inputs_give_the_same_bytes_with_one_thread_or_two() {
    let dir = tempfile::tempdir().unwrap();
    let one = small_run(dir.path(), "1");
    let two = small_run(dir.path(), "2");
    assert!(one == two, "the file depends on the thread count");
    // It reads back as a methodology, under the recipe's version, superseding --from.
    let f = wire(&dir.path().join("m1.yaml"));
    assert_eq!(f.version.to_string(), "2.1.0");
    assert_eq!(
        f.supersedes.as_deref(),
        Some("btc-backed-consumer-loans@2.0.1")
    );
    let c = f.calibration.unwrap();
    assert_eq!((c.paths, c.seed), (2000, 7));
    assert_eq!(c.recipe, "recipe.yaml");
}

/// Every anchor's exceedance probability under `f`'s own table and severity 0.55, 'AAA' first.
fn anchors(f: &MethodologyFile) -> Vec<(Notch, f64)> {
    let mut v: Vec<(Notch, f64)> = f
        .levels
        .keys()
        .map(|k| {
            let n: Notch = k.parse().unwrap();
            let row = &f.simulation.as_ref().unwrap().idealized_table.ratings[k];
            let el: f64 = row[0].to_string().parse().unwrap();
            (n, el / 0.55)
        })
        .collect();
    v.sort_by_key(|(n, _)| *n);
    v
}

fn value(f: &MethodologyFile, n: Notch, field: &str) -> f64 {
    let l = &f.levels[n.name()];
    let d = match field {
        "btc_trough" => l.btc_trough.as_ref().unwrap().value,
        "liquidation_gap" => l.liquidation_gap.as_ref().unwrap().value,
        _ => unreachable!(),
    };
    d.to_string().parse().unwrap()
}

#[test]
fn in_the_published_ladder_a_rarer_level_has_a_trough_and_gap_at_least_as_deep() {
    let f = wire(&root().join(PUBLISHED));
    let a = anchors(&f);
    assert_eq!(a.len(), 8);
    for w in a.windows(2) {
        let ((hi, p_hi), (lo, p_lo)) = (w[0], w[1]);
        assert!(p_hi < p_lo, "{hi} {p_hi} vs {lo} {p_lo}");
        for field in ["btc_trough", "liquidation_gap"] {
            assert!(
                value(&f, hi, field) >= value(&f, lo, field),
                "{field}: '{hi}' {} is milder than '{lo}' {}",
                value(&f, hi, field),
                value(&f, lo, field)
            );
        }
    }
}

#[test]
fn every_computed_value_says_how_and_the_judgement_is_2_0_1s() {
    let f = wire(&root().join(PUBLISHED));
    let from = {
        let text = String::from_utf8(read(
            &root().join("methodology/btc-backed-consumer-loans/2.0.1.yaml"),
        ))
        .unwrap();
        absrate::yaml::from_str::<MethodologyFile>(Path::new("2.0.1.yaml"), &text).unwrap()
    };
    for (k, l) in &f.levels {
        for (name, source) in [
            ("btc_trough", &l.btc_trough.as_ref().unwrap().source),
            ("days_to_trough", &l.days_to_trough.as_ref().unwrap().source),
            ("path_shape", &l.path_shape.as_ref().unwrap().source),
            (
                "liquidation_gap",
                &l.liquidation_gap.as_ref().unwrap().source,
            ),
        ] {
            assert!(source.starts_with("Computed: "), "{k}.{name}: {source}");
        }
        let g = &from.levels[k];
        assert_eq!(l.slippage, g.slippage, "{k}");
        assert_eq!(l.crowding, g.crowding, "{k}");
        assert_eq!(
            l.margin_call_answer_share, g.margin_call_answer_share,
            "{k}"
        );
        assert_eq!(l.interest_cash_share, g.interest_cash_share, "{k}");
    }
    let (m, m0) = (f.market.unwrap(), from.market.unwrap());
    assert_eq!(m.daily_volatility, m0.daily_volatility);
    assert_eq!(f.simulation, from.simulation);
    assert_eq!(f.common, from.common);
}

fn calibrate_small(extra: &[&str]) -> crate::util::Run {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.yaml");
    let mut args: Vec<String> = [
        "methodology",
        "calibrate",
        "--prices",
        "tests/fixtures/calibrate/prices.csv",
        "--model",
        "btc-garch-t@1.0.0",
        "--out",
        &out.display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    let r = absrate(&args);
    assert!(
        !out.exists() || r.code == 0,
        "a failed run wrote its output"
    );
    r
}

#[test]
fn a_default_and_recovery_methodology_cannot_be_calibrated() {
    let r = calibrate_small(&[
        "--from",
        "btc-backed-consumer-loans@1.0.0",
        "--recipe",
        "tests/fixtures/calibrate/recipe.yaml",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "mode: a calibration computes the price paths of a `market_value` methodology"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn a_recipe_out_of_range_is_refused_naming_its_field() {
    let r = calibrate_small(&[
        "--from",
        "btc-backed-consumer-loans@2.0.1",
        "--recipe",
        "tests/fixtures/calibrate/bad_severity.yaml",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("bad_severity.yaml")
            && r.stderr
                .contains("severity: must be within (0, 1], got 1.5"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_built_in_version_needs_a_recipe() {
    let dir = tempfile::tempdir().unwrap();
    let r = crate::util::absrate_in(
        dir.path(),
        &[
            "methodology",
            "calibrate",
            "--prices",
            &fixture("calibrate/prices.csv").display().to_string(),
            "--model",
            "btc-garch-t@1.0.0",
            "--from",
            "btc-backed-consumer-loans@2.0.1",
            "--out",
            "x.yaml",
        ],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "btc-backed-consumer-loans@2.0.1 is built into absrate, with no recipe beside it: give --recipe FILE"
        ),
        "{}",
        r.stderr
    );
    assert!(!dir.path().join("x.yaml").exists());
}

#[test]
fn the_output_never_overwrites_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let recipe = dir.path().join("recipe.yaml");
    std::fs::copy(fixture("calibrate/recipe.yaml"), &recipe).unwrap();
    let before = read(&recipe);
    let r = absrate(&[
        "methodology",
        "calibrate",
        "--prices",
        "tests/fixtures/calibrate/prices.csv",
        "--model",
        "btc-garch-t@1.0.0",
        "--from",
        "btc-backed-consumer-loans@2.0.1",
        "--recipe",
        &recipe.display().to_string(),
        "--out",
        &recipe.display().to_string(),
    ]);
    assert_ne!(r.code, 0);
    assert_eq!(read(&recipe), before);
}

fn garch() -> absrate::price::PriceModel {
    ModelLookup::new(None, &root())
        .resolve("btc-garch-t@1.0.0")
        .unwrap()
        .model
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    /// Over generated ladders (any seed, path count and set of probabilities): a level with a
    /// smaller exceedance probability gets a trough and a gap at least as deep, and a time to its
    /// low at most as long.
    #[test]
    fn a_smaller_probability_never_gets_a_milder_level(
        seed in 0u64..10_000,
        paths in 1_000u64..2_500,
        mut ps in proptest::collection::vec(1e-7f64..0.4, 2..8),
    ) {
        let s = Settings {
            paths,
            seed,
            horizon_days: 365,
            window_days: 1.0 / 24.0,
            tail_share: 0.05,
            band_paths: 40,
        };
        let model = garch();
        let stats = ladder::simulate(&model, &s);
        ps.sort_by(f64::total_cmp);
        let l = ladder::ladder(&model, &s, &stats, None, &ps);
        for w in l.windows(2) {
            prop_assert!(w[0].trough >= w[1].trough, "{:?}", (w[0].probability, w[0].trough, w[1].probability, w[1].trough));
            prop_assert!(w[0].gap >= w[1].gap);
            prop_assert!(w[0].days_to_trough <= w[1].days_to_trough);
        }
    }
}

#[test]
fn methodology_show_says_how_a_calibrated_version_was_computed() {
    let out = crate::util::ok(&["methodology", "show", "btc-backed-consumer-loans@2.1.0"]);
    assert!(
        out.contains("\n  rerun: absrate methodology calibrate --prices ../shared/data/btc-usd-daily.csv --model btc-garch-t@1.0.0 --from btc-backed-consumer-loans@2.0.1 --out FILE\n"),
        "{out}"
    );
    assert!(out.contains("from btc-garch-t@1.0.0 (sha256 79676046f1992efe0d5e2be62a707fd32f4183075bb1bd732801677e48c5c081), 200000 paths, seed 1\n"), "{out}");
    // A version that was not calibrated says nothing of it.
    let out = crate::util::ok(&["methodology", "show", "btc-backed-consumer-loans@2.0.1"]);
    assert!(!out.contains("methodology calibrate"), "{out}");
}
