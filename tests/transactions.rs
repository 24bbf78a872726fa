//! All outputs of one command are one transaction: a run that fails writes nothing new and
//! changes nothing that was there; no output overwrites an input of the run.

use std::path::Path;

use crate::util::{absrate, bundled_tape};

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn rate_writes_no_cash_flows_when_its_templates_are_missing() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("cf.csv");
    let report = dir.path().join("report");
    let r = absrate(&[
        "rate",
        "--methodology",
        "btc-backed-consumer-loans@1.0.0",
        "--cashflows",
        csv.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "--templates",
        dir.path().join("no-such-templates").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
}

#[test]
fn rate_writes_none_of_its_outputs_when_one_target_is_blocked() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("cf.csv");
    let out = dir.path().join("out");
    let report = dir.path().join("report");
    // One of the report's files cannot be written: a directory of its name is in the way.
    std::fs::create_dir_all(report.join("rationale.html/x")).unwrap();
    // A file from an earlier run is kept as it was.
    std::fs::write(&csv, "earlier run\n").unwrap();
    let r = absrate(&[
        "rate",
        "--methodology",
        "btc-backed-consumer-loans@1.0.0",
        "--cashflows",
        csv.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("rationale.html: cannot write: is a directory"),
        "{}",
        r.stderr
    );
    assert_eq!(names(dir.path()), ["cf.csv", "report"]);
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), "earlier run\n");
    assert_eq!(names(&report), ["rationale.html"]);
}

#[test]
fn simulate_writes_no_path_table_when_its_report_cannot_be_written() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("paths.parquet");
    let report = dir.path().join("report");
    std::fs::write(&report, "a file where the report directory should be").unwrap();
    let r = absrate(&[
        "simulate",
        "--paths",
        "20",
        "--out",
        table.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert_eq!(names(dir.path()), ["report"]);
}

#[test]
fn tape_derive_refuses_to_overwrite_its_own_input() {
    let dir = tempfile::tempdir().unwrap();
    let tape = dir.path().join("tape.csv");
    std::fs::copy(bundled_tape(), &tape).unwrap();
    let before = std::fs::read(&tape).unwrap();
    let t = tape.to_str().unwrap();
    let r = absrate(&[
        "tape",
        "derive",
        t,
        "--price",
        "87505",
        "--as-of",
        "2025-12-31",
        "--out",
        t,
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "error: --out {t}: is the tape being read: refusing to overwrite it (write the derived fields elsewhere)\n"
        )
    );
    assert_eq!(std::fs::read(&tape).unwrap(), before);
}

#[test]
fn rate_refuses_to_write_over_its_own_tape() {
    let dir = tempfile::tempdir().unwrap();
    let tape = dir.path().join("tape.csv");
    std::fs::copy(bundled_tape(), &tape).unwrap();
    std::fs::copy(
        bundled_tape().with_file_name("pool.yaml"),
        dir.path().join("pool.yaml"),
    )
    .unwrap();
    let before = std::fs::read(&tape).unwrap();
    let r = absrate(&[
        "rate",
        "--methodology",
        "btc-backed-consumer-loans@1.0.0",
        "--tape",
        tape.to_str().unwrap(),
        "--cashflows",
        tape.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("it is an input of this run: refusing to overwrite it"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(&tape).unwrap(), before);
}

#[test]
fn replay_writes_no_tape_when_its_pool_file_cannot_be_written() {
    let prices = crate::util::root().join("../shared/data/btc-usd-daily.csv");
    if !prices.is_file() {
        eprintln!("skipped: {} is absent", prices.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let after = dir.path().join("after");
    // pool.yaml cannot be written beside the tape: a directory of that name is in the way.
    std::fs::create_dir_all(after.join("pool.yaml/x")).unwrap();
    let r = absrate(&[
        "replay",
        "--prices",
        prices.to_str().unwrap(),
        "--from",
        "2025-12-31",
        "--to",
        "2026-02-18",
        "--out-tape",
        after.join("tape.csv").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(
        r.stderr.contains("pool.yaml: cannot write: is a directory"),
        "{}",
        r.stderr
    );
    assert_eq!(names(&after), ["pool.yaml"]);
}

#[test]
fn pool_generate_refuses_to_overwrite_its_profile() {
    let dir = tempfile::tempdir().unwrap();
    // A pool file whose name a tape could have: the run's only input.
    let profile = dir.path().join("profile.csv");
    std::fs::copy(
        crate::util::root().join("pools/ledn-2026-1/pool.yaml"),
        &profile,
    )
    .unwrap();
    let before = std::fs::read(&profile).unwrap();
    let p = profile.to_str().unwrap();
    let r = absrate(&[
        "pool",
        "generate",
        "--profile",
        p,
        "--seed",
        "1",
        "--loans",
        "10",
        "--out",
        p,
    ]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "error: {p}: cannot write: it is an input of this run: refusing to overwrite it (write elsewhere)\n"
        )
    );
    assert_eq!(std::fs::read(&profile).unwrap(), before);
    assert_eq!(names(dir.path()), ["profile.csv"]);
}

#[test]
fn pool_generate_leaves_nothing_when_its_tape_cannot_be_written() {
    let dir = tempfile::tempdir().unwrap();
    // The tape's directory cannot be made: a file of that name is in the way.
    std::fs::write(dir.path().join("blocked"), "a file").unwrap();
    let out = dir.path().join("blocked/sub/tape.csv");
    let r = absrate(&[
        "pool",
        "generate",
        "--profile",
        "ledn-2026-1",
        "--seed",
        "1",
        "--loans",
        "10",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert_eq!(names(dir.path()), ["blocked"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("blocked")).unwrap(),
        "a file"
    );
}

#[test]
fn compare_refuses_to_write_its_report_over_a_methodology_it_reads() {
    let dir = tempfile::tempdir().unwrap();
    // A draft methodology kept under the name of a report file, in the report directory.
    let draft = dir.path().join("comparison.md");
    std::fs::copy(
        crate::util::root().join("methodology/btc-backed-consumer-loans/1.1.0.yaml"),
        &draft,
    )
    .unwrap();
    let before = std::fs::read(&draft).unwrap();
    let r = absrate(&[
        "compare",
        "--methodology",
        "btc-backed-consumer-loans@1.0.0",
        "--methodology",
        draft.to_str().unwrap(),
        "--report",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "error: {}: cannot write: it is an input of this run: refusing to overwrite it (write elsewhere)\n",
            draft.display()
        )
    );
    assert_eq!(std::fs::read(&draft).unwrap(), before);
    assert_eq!(names(dir.path()), ["comparison.md"], "no comparison.html");
}

#[test]
fn compare_writes_neither_report_file_when_one_is_blocked_and_keeps_the_earlier_one() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report");
    // comparison.html cannot be written: a directory of that name is in the way.
    std::fs::create_dir_all(report.join("comparison.html/x")).unwrap();
    std::fs::write(report.join("comparison.md"), "earlier run\n").unwrap();
    let r = absrate(&[
        "compare",
        "--methodology",
        "btc-backed-consumer-loans@1.0.0",
        "--methodology",
        "btc-backed-consumer-loans@1.1.0",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("comparison.html: cannot write: is a directory"),
        "{}",
        r.stderr
    );
    assert_eq!(names(&report), ["comparison.html", "comparison.md"]);
    assert_eq!(
        std::fs::read_to_string(report.join("comparison.md")).unwrap(),
        "earlier run\n"
    );
}
