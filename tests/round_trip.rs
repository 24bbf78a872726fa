//! Every file absrate writes reads back (issue 13, class 5): by absrate itself where absrate reads
//! it (a tape, a pool file, a path table), else by a strict reader of its documented format
//! (result.json as JSON, cashflows.csv as the comma-separated text docs/outputs.md describes), and
//! what is read back equals what the run reported.

use std::path::Path;

use rust_decimal::Decimal;
use serde_json::Value;

use crate::util::{absrate, bundled_tape, ok, root};

const V1: &str = "btc-backed-consumer-loans@1.0.0";

/// A CSV file read strictly as docs/outputs.md describes absrate's: comma-separated, no quoting,
/// each line ended by `\n` (the last one too, no `\r`), every row as many fields as the header.
fn strict_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        text.ends_with('\n'),
        "{}: no final line end",
        path.display()
    );
    assert!(
        !text.contains('\r'),
        "{}: a carriage return",
        path.display()
    );
    assert!(!text.contains('"'), "{}: a quote", path.display());
    let mut lines = text.lines();
    let split = |l: &str| -> Vec<String> { l.split(',').map(str::to_string).collect() };
    let header = split(lines.next().expect("a header"));
    let rows: Vec<Vec<String>> = lines.map(split).collect();
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(
            r.len(),
            header.len(),
            "{}: line {} has {} fields, the header {}",
            path.display(),
            i + 2,
            r.len(),
            header.len()
        );
    }
    (header, rows)
}

/// The names in the first column of the tables of `doc` between the lines starting with `from`
/// and `to`, e.g. the columns of cashflows.csv in docs/outputs.md.
fn documented(doc: &str, from: &str, to: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join(doc)).unwrap();
    text.lines()
        .skip_while(|l| !l.starts_with(from))
        .take_while(|l| !l.starts_with(to))
        .filter_map(|l| l.strip_prefix("| `"))
        .map(|l| l.split('`').next().unwrap().to_string())
        .collect()
}

/// The columns of cashflows.csv as docs/outputs.md lists them, each `_X` group once per class.
fn documented_cashflow_columns(classes: &[String]) -> Vec<String> {
    let doc = documented("docs/outputs.md", "## cashflows.csv", "## result.json");
    let group: Vec<&String> = doc.iter().filter(|c| c.ends_with("_X")).collect();
    assert_eq!(
        group.len(),
        4,
        "one group of four columns per class: {doc:?}"
    );
    let mut out = Vec::new();
    for c in &doc {
        if c.ends_with("_X") {
            if *c == *group[0] {
                for class in classes {
                    for g in &group {
                        out.push(format!("{}{class}", g.trim_end_matches('X')));
                    }
                }
            }
        } else {
            out.push(c.clone());
        }
    }
    out
}

fn json_file(path: &Path) -> Value {
    serde_json::from_slice(&crate::util::read(path))
        .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()))
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap_or_else(|e| panic!("`{s}`: {e}"))
}

#[test]
fn rates_result_json_and_cashflows_csv_read_back_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let report = dir.path().join("report");
    let cashflows = dir.path().join("cf.csv");
    let printed: Value =
        serde_json::from_str(&ok(&["rate", "--methodology", V1, "--format", "json"])).unwrap();
    ok(&[
        "rate",
        "--methodology",
        V1,
        "--out",
        out.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "--cashflows",
        cashflows.to_str().unwrap(),
    ]);

    // result.json: JSON, and the figures `--format json` prints, in --out and in the report.
    let result = json_file(&out.join("result.json"));
    assert_eq!(result, printed);
    assert_eq!(json_file(&report.join("result.json")), printed);

    // cashflows.csv: the same bytes wherever it is written; the documented columns; every row
    // whole, every amount a decimal.
    let csv = crate::util::read(&out.join("cashflows.csv"));
    assert_eq!(crate::util::read(&report.join("cashflows.csv")), csv);
    assert_eq!(crate::util::read(&cashflows), csv);
    let classes: Vec<String> = result["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["class"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(classes, ["A", "B"]);
    let (header, rows) = strict_csv(&out.join("cashflows.csv"));
    assert_eq!(header, documented_cashflow_columns(&classes));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for r in &rows {
        let d = |name: &str| dec(&r[col(name)]);
        // docs/outputs.md's first identity, on the numbers read back.
        assert_eq!(
            d("performing_end"),
            d("performing_start") - d("defaults") + d("interest_capitalized") - d("maturities"),
            "{r:?}"
        );
    }

    // The rows agree with result.json: levels in order, each level's first row starting from
    // the credited balance, its last row's balances and shortfalls the notes' losses.
    let levels = result["levels"].as_array().unwrap();
    let mut order: Vec<&str> = Vec::new();
    for r in &rows {
        if order.last() != Some(&r[0].as_str()) {
            order.push(&r[0]);
        }
    }
    let notches: Vec<&str> = levels
        .iter()
        .map(|l| l["notch"].as_str().unwrap())
        .collect();
    assert_eq!(order, notches);
    for level in levels {
        let notch = level["notch"].as_str().unwrap();
        let of: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == notch).collect();
        assert_eq!(
            of[0][col("performing_start")],
            level["adjustments"]["credited_balance"].as_str().unwrap(),
            "{notch}"
        );
        let last = of.last().unwrap();
        for n in level["notes"].as_array().unwrap() {
            let class = n["class"].as_str().unwrap();
            assert_eq!(
                last[col(&format!("balance_{class}"))],
                n["principal_loss"].as_str().unwrap(),
                "{notch} {class}"
            );
            assert_eq!(
                last[col(&format!("interest_shortfall_{class}"))],
                n["interest_shortfall"].as_str().unwrap(),
                "{notch} {class}"
            );
        }
    }
}

#[test]
fn simulates_path_table_and_simulation_json_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("paths.parquet");
    let report = dir.path().join("report");
    let args = ["simulate", "--paths", "20", "--seed", "7"];
    let printed: Value = serde_json::from_str(&ok(&[&args[..], &["--format", "json"]].concat()))
        .expect("simulate prints JSON");
    ok(&[
        &args[..],
        &[
            "--out",
            table.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ],
    ]
    .concat());

    // The path table through absrate's own reader: one row per path, its run's metadata.
    let t = absrate::tape::read_numeric_table(&table).expect("the path table reads back");
    assert_eq!(t.key_name, "path");
    assert_eq!(t.keys, (0..20).collect::<Vec<u64>>());
    assert!(!t.columns.is_empty());
    for (name, values) in &t.columns {
        assert_eq!(values.len(), 20, "{name}");
        assert!(values.iter().all(|v| v.is_finite()), "{name}");
    }
    assert!(
        t.metadata
            .iter()
            .any(|(k, v)| k == "absrate.simulate" && serde_json::from_str::<Value>(v).is_ok()),
        "{:?}",
        t.metadata
    );
    // ... and what it holds is the run: merged alone, it prints what the run printed.
    let merged: Value = serde_json::from_str(&ok(&[
        "simulate",
        "merge",
        table.to_str().unwrap(),
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(merged, printed);

    // simulation.json: JSON, the figures printed.
    assert_eq!(json_file(&report.join("simulation.json")), printed);
}

/// `tape summary --format json` of `tape` at a fixed valuation: the summary only.
fn summary_at(tape: &Path, pool: Option<&Path>) -> Value {
    let mut args = vec![
        "tape",
        "summary",
        tape.to_str().unwrap(),
        "--format",
        "json",
    ];
    match pool {
        Some(p) => args.extend(["--pool", p.to_str().unwrap()]),
        None => args.extend(["--price", "87505", "--as-of", "2025-12-31"]),
    }
    let v: Value = serde_json::from_str(&ok(&args)).unwrap();
    v["summary"].clone()
}

/// Two JSON documents with the same figures: money, BTC and rates (strings) and counts exactly;
/// `f64` figures (weighted averages) within 1e-12 relative. The derived tape writes each column at
/// its schema's scale (`0.137200` for the tape's `0.1372`): the same decimal, whose conversion to
/// `f64` may differ in the last bit.
fn same_figures(a: &Value, b: &Value, what: &str) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{what}"
            );
            for (k, v) in x {
                same_figures(v, &y[k], &format!("{what}.{k}"));
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{what}");
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                same_figures(v, w, &format!("{what}[{i}]"));
            }
        }
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            approx::assert_relative_eq!(x, y, max_relative = 1e-12);
        }
        _ => assert_eq!(a, b, "{what}"),
    }
}

#[test]
fn a_derived_tape_reads_back_as_the_same_pool_with_its_documented_fields() {
    let dir = tempfile::tempdir().unwrap();
    let pool = bundled_tape().with_file_name("pool.yaml");
    let (input_header, _) = strict_csv(&bundled_tape());
    let derived_fields = documented(
        "docs/tape.md",
        "| field | definition |",
        "`absrate tape derive",
    );
    assert_eq!(derived_fields[0], "ltv", "{derived_fields:?}");
    for name in ["loans.csv", "loans.parquet"] {
        let out = dir.path().join(name);
        ok(&[
            "tape",
            "derive",
            bundled_tape().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        // A valid tape still, of the same pool.
        let check = ok(&["tape", "check", out.to_str().unwrap()]);
        assert!(check.contains("5,441 loans, every rule holds"), "{check}");
        same_figures(
            &summary_at(&out, Some(&pool)),
            &summary_at(&bundled_tape(), Some(&pool)),
            name,
        );
    }
    // The CSV: the tape's columns, then the documented derived fields; the LTV as defined.
    let (header, rows) = strict_csv(&dir.path().join("loans.csv"));
    assert_eq!(header, [input_header, derived_fields].concat());
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for r in &rows {
        let f = |name: &str| r[col(name)].parse::<f64>().unwrap();
        let ltv = f("principal") / (f("collateral_btc") * 87505.0);
        // Written to 6 places: within half a unit of the sixth.
        assert!((f("ltv") - ltv).abs() <= 0.5e-6 + 1e-12, "{r:?}");
    }
}

#[test]
fn a_generated_tape_reads_back_in_csv_and_parquet_alike() {
    let dir = tempfile::tempdir().unwrap();
    let mut summaries = Vec::new();
    for name in ["tape.csv", "tape.parquet"] {
        let out = dir.path().join(name);
        ok(&[
            "pool",
            "generate",
            "--profile",
            "ledn-2026-1",
            "--seed",
            "3",
            "--loans",
            "300",
            "--out",
            out.to_str().unwrap(),
        ]);
        let check = ok(&["tape", "check", out.to_str().unwrap()]);
        assert_eq!(
            check,
            format!("{}: 300 loans, every rule holds\n", out.display())
        );
        summaries.push(summary_at(&out, None));
    }
    assert_eq!(summaries[0], summaries[1]);
    let (header, _) = strict_csv(&dir.path().join("tape.csv"));
    let schema: Vec<&str> = absrate::tape::COLUMNS.iter().map(|c| c.name).collect();
    assert_eq!(header, schema);
}

/// The pool file `replay --out-tape` writes reads back through absrate (its title holds ": "
/// and " #", the tape's name " #", the directory ": "), and `tape summary` and `rate --tape`
/// value the tape at the replay's end.
#[test]
fn the_replayed_tape_and_its_pool_file_read_back_with_awkward_names() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("after: the sell-off #1");
    let tape = sub.join("survivors #1.csv");
    let printed: Value = serde_json::from_str(&ok(&[
        "replay",
        "--deal",
        "tests/fixtures/replay/path-deal.yaml",
        "--prices",
        "tests/fixtures/replay/prices.csv",
        "--from",
        "2026-01-01",
        "--to",
        "2026-01-05",
        "--out-tape",
        tape.to_str().unwrap(),
        "--format",
        "json",
    ]))
    .unwrap();
    let pool = absrate::pool::PoolFile::load(&sub.join("pool.yaml")).expect("pool.yaml reads back");
    assert_eq!(
        pool.title,
        "Replay path: five loans #2 after the replay to 2026-01-05"
    );
    assert_eq!(pool.tape, tape);
    assert_eq!(
        pool.cutoff.btc_price.to_string(),
        printed["end_price"].as_str().unwrap()
    );
    let summary: Value = serde_json::from_str(&ok(&[
        "tape",
        "summary",
        tape.to_str().unwrap(),
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(
        summary["source"]["pool_file"].as_str(),
        sub.join("pool.yaml").to_str()
    );
    assert_eq!(summary["summary"]["as_of"], "2026-01-05");
    assert_eq!(summary["summary"]["btc_price"], printed["end_price"]);
    assert_eq!(
        summary["summary"]["loans"].as_u64(),
        printed["loans_surviving"].as_u64()
    );
    // The survivors' balances include the interest accrued in the window.
    assert_eq!(
        dec(summary["summary"]["principal"].as_str().unwrap())
            + dec(summary["summary"]["accrued_interest"].as_str().unwrap()),
        dec(printed["surviving_balance"].as_str().unwrap())
    );
    let rated: Value = serde_json::from_str(&ok(&[
        "rate",
        "--deal",
        "tests/fixtures/replay/path-deal.yaml",
        "--methodology",
        "tests/fixtures/rate/methodology.yaml",
        "--tape",
        tape.to_str().unwrap(),
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(rated["inputs"]["tape"].as_str(), tape.to_str());
}

/// The bundled deal after the early-2026 sell-off (../shared/data): its tape and pool.yaml read
/// back by `rate --tape`, with the cash the replay reports.
#[test]
fn the_bundled_pool_after_the_sell_off_is_rated_from_what_replay_wrote() {
    let prices = root().join("../shared/data/btc-usd-daily.csv");
    if !prices.is_file() {
        eprintln!("skipped: {} is absent", prices.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tape = dir.path().join("after #2.csv");
    let printed: Value = serde_json::from_str(&ok(&[
        "replay",
        "--prices",
        prices.to_str().unwrap(),
        "--from",
        "2025-12-31",
        "--to",
        "2026-02-18",
        "--out-tape",
        tape.to_str().unwrap(),
        "--format",
        "json",
    ]))
    .unwrap();
    let cash = printed["cash"].as_str().unwrap();
    let r = absrate(&[
        "rate",
        "--methodology",
        V1,
        "--tape",
        tape.to_str().unwrap(),
        "--cash-at-closing",
        cash,
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rated: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(rated["inputs"]["tape"].as_str(), tape.to_str());
    assert!(rated["notes"][0]["indicated"].is_string(), "{rated}");
    let summary: Value = serde_json::from_str(&ok(&[
        "tape",
        "summary",
        tape.to_str().unwrap(),
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(summary["summary"]["as_of"], "2026-02-18");
    assert_eq!(summary["summary"]["btc_price"], printed["end_price"]);
    // The survivors' balances include the interest accrued in the window.
    assert_eq!(
        dec(summary["summary"]["principal"].as_str().unwrap())
            + dec(summary["summary"]["accrued_interest"].as_str().unwrap()),
        dec(printed["surviving_balance"].as_str().unwrap())
    );
}
