//! `absrate rate`: the bundled deal against the published ratings, a waterfall worked by hand,
//! targets and exit codes, reproducibility, deal errors.

use serde_json::Value;

use crate::util::{absrate, ok};

const HAND: [&str; 4] = [
    "--deal",
    "tests/fixtures/rate/deal.yaml",
    "--methodology",
    "tests/fixtures/rate/methodology.yaml",
];

/// The version S&P's published figures calibrate (the newest, 1.1.0, is a stricter update).
const V1: &str = "btc-backed-consumer-loans@1.0.0";

fn bundled() -> Value {
    serde_json::from_str(&ok(&["rate", "--methodology", V1, "--format", "json"])).unwrap()
}

/// The entry of `v[key]` (levels of a rating or of a methodology) for `notch`.
fn at<'a>(v: &'a Value, key: &str, notch: &str) -> &'a Value {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["notch"] == notch)
        .unwrap()
}

fn passed(v: &Value, notch: &str, class: usize) -> bool {
    at(v, "levels", notch)["notes"][class]["passed"]
        .as_bool()
        .unwrap()
}

#[test]
fn the_bundled_deal_gets_the_published_ratings_from_its_own_run() {
    let v = bundled();
    // Class A: passes at 'BBB-' (S&P's rating), fails at 'A' (S&P's 100% default stress).
    assert!(passed(&v, "BBB-", 0));
    assert!(!passed(&v, "BBB", 0));
    assert!(!passed(&v, "A", 0));
    assert_eq!(v["notes"][0]["indicated"], "BBB-");
    // Class B: passes at 'B-'.
    assert!(passed(&v, "B-", 1));
    // Break-even and coverage are reported and consistent with the grid: Class A survives the
    // published 79% at 'BBB-' but not much more.
    let be: f64 = v["notes"][0]["break_even_default_rate"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((0.79..0.88).contains(&be), "{be}");
    let coverage: f64 = v["notes"][0]["coverage"].as_str().unwrap().parse().unwrap();
    approx::assert_abs_diff_eq!(coverage, be / 0.10, epsilon = 0.01);
    // Inputs are identified.
    assert_eq!(
        v["inputs"]["methodology"],
        "btc-backed-consumer-loans@1.0.0"
    );
    assert_eq!(v["inputs"]["tape_sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn the_text_grid_explains_the_ratings() {
    let out = ok(&["rate", "--methodology", V1]);
    assert!(
        out.contains(
            "Class A $160,000,000.00 at 7.35%: BBB- (published BBB-); break-even default "
        ),
        "{out}"
    );
    assert!(
        out.contains("Class A first fails at 'BBB': period "),
        "{out}"
    );
}

#[test]
fn a_waterfall_worked_by_hand_matches_to_the_cent() {
    // Two loans: L1 $1,000 at 12% (LTV 50%), L2 $2,000 at 6% (LTV 20%); note A $2,000 at 3%.
    // Half the pool ($1,500) defaults in month 1, highest LTV first: all of L1, $500 of L2.
    // Period 1: L2 pays 1,500 x 6% / 12 = 7.50; A interest 2,000 x 3% / 12 = 5.00; principal 2.50.
    // Period 2: recovery 60% x 1,500 = 900.00 plus 7.50 interest; A interest 1,997.50 x 0.25%
    //           = 4.99375 -> 4.99 (half-even); principal 902.51, leaving 1,094.99.
    // Period 3: L2 matures (1,500.00) plus 7.50; A interest 1,094.99 x 0.25% = 2.7374... -> 2.74;
    //           principal 1,094.99; residual 1,507.50 - 2.74 - 1,094.99 = 409.77.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("flows.csv");
    let mut args = vec!["rate"];
    args.extend(HAND);
    let c = csv.to_str().unwrap();
    args.extend(["--cashflows", c]);
    ok(&args);
    let text = std::fs::read_to_string(&csv).unwrap();
    let aaa: Vec<&str> = text.lines().filter(|l| l.starts_with("AAA,")).collect();
    assert_eq!(
        aaa,
        [
            "AAA,1,2026-03-20,amortizing,3000.00,1500.00,0.00,7.50,7.50,0.00,0.00,0.00,7.50,0.00,5.00,0.00,2.50,1997.50,0.00,0.00,0.00,0.00,0.00,0.00,0.00,1500.00,1500.00",
            "AAA,2,2026-04-20,amortizing,1500.00,0.00,900.00,7.50,7.50,0.00,0.00,0.00,907.50,0.00,4.99,0.00,902.51,1094.99,0.00,0.00,0.00,0.00,0.00,0.00,0.00,1500.00,1500.00",
            "AAA,3,2026-05-20,amortizing,1500.00,0.00,0.00,7.50,7.50,0.00,1500.00,0.00,1507.50,0.00,2.74,0.00,1094.99,0.00,0.00,0.00,0.00,0.00,0.00,0.00,409.77,0.00,1500.00",
        ]
    );
}

#[test]
fn expect_sets_the_exit_code_and_still_prints_the_grid() {
    let r = absrate(&[
        "rate",
        "--methodology",
        V1,
        "--expect",
        "A=BBB-",
        "--expect",
        "B=B-",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = absrate(&["rate", "--methodology", V1, "--expect", "A=A"]);
    assert_eq!(r.code, 4);
    assert!(r.stdout.contains("Indicated ratings"));
    assert_eq!(
        r.stderr,
        "error: target rating missed:\n  Class A: expected A or better, indicated BBB-\n"
    );
    let r = absrate(&["rate", "--expect", "C=A"]);
    assert_eq!(r.code, 3);
    assert_eq!(r.stderr, "error: --expect C=...: the deal has no class C\n");
}

#[test]
fn the_same_inputs_give_identical_json() {
    let a = ok(&["rate", "--methodology", V1, "--format", "json"]);
    let b = ok(&["rate", "--methodology", V1, "--format", "json"]);
    assert!(a == b);
}

#[test]
fn a_deal_whose_waterfall_cannot_pay_a_class_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string("tests/fixtures/rate/deal.yaml").unwrap();
    std::fs::copy(
        "tests/fixtures/rate/pool.yaml",
        dir.path().join("pool.yaml"),
    )
    .unwrap();
    std::fs::copy("tests/fixtures/rate/tape.csv", dir.path().join("tape.csv")).unwrap();
    let cases = [
        (
            base.replace("{ pay: principal, class: A }, ", ""),
            ": waterfall.amortizing: class A is never paid principal: the waterfall cannot address its 2000.00",
        ),
        (
            base.replace(
                "{ pay: interest, class: A }, { pay: reinvest }",
                "{ pay: interest, class: Z }, { pay: reinvest }",
            ),
            ":28:31: waterfall.revolving[2]: unknown class `Z` (classes: A)",
        ),
        (
            base.replace("covers: [A]", "covers: [C]"),
            ":19:12: reserve.covers[1]: unknown class `C` (classes: A)",
        ),
    ];
    for (i, (text, message)) in cases.iter().enumerate() {
        assert_ne!(*text, base, "case {i} changed nothing");
        let path = dir.path().join(format!("deal{i}.yaml"));
        std::fs::write(&path, text).unwrap();
        let p = path.to_str().unwrap();
        let r = absrate(&[
            "rate",
            "--deal",
            p,
            "--methodology",
            "tests/fixtures/rate/methodology.yaml",
        ]);
        assert_eq!(r.code, 3, "{}", r.stderr);
        assert_eq!(r.stderr, format!("error: {p}{message}\n"));
    }
    // An unknown key is located.
    let path = dir.path().join("typo.yaml");
    std::fs::write(&path, base.replace("trustee_fee:", "trustee_fees:")).unwrap();
    let r = absrate(&["rate", "--deal", path.to_str().unwrap()]);
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains("unknown field `trustee_fees`"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_readme_main_job_rates_under_the_newest_version() {
    let out = ok(&["rate"]);
    assert!(
        out.starts_with("Ledn Issuer Trust 2026-1 under btc-backed-consumer-loans@2.1.0\n"),
        "{out}"
    );
    // The README's figures for 2.1.0: the ratings, the overlay that does not bind, the margins.
    for line in [
        "  Class A $160,000,000.00 at 7.35%: A- (published BBB-)",
        "  Class B $28,000,000.00 at 10.00%: BBB (published B-)",
        "    no overlay binds (short performance record: cap 'A+')",
        "    break-even liquidation gap (sale discount below the trigger price) under the 'A-' stress: 44.2% against 43.0% at its level",
        "    break-even liquidation gap (sale discount below the trigger price) under the 'BBB' stress: 26.6% against 22.5% at its level",
    ] {
        assert!(out.lines().any(|l| l == line), "{line}\n{out}");
    }
}

/// Splits a text table's line into its cells: columns are at least two spaces apart.
fn cells(line: &str) -> Vec<&str> {
    line.trim()
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

/// The rows of the table that follows the line `title` (up to a blank or unindented line).
fn table<'a>(out: &'a str, title: &str) -> Vec<Vec<&'a str>> {
    out.lines()
        .skip_while(|l| *l != title)
        .skip(1)
        .take_while(|l| l.starts_with("  ") && !l.trim().is_empty())
        .filter(|l| !l.trim_start().starts_with("Class "))
        .map(cells)
        .collect()
}

const V2: &str = "btc-backed-consumer-loans@2.0.0";

#[test]
fn issue_11_text_tables_keep_every_column_apart() {
    let out = ok(&["rate", "--methodology", V2]);
    let paths = table(&out, "Price paths (market value)");
    assert_eq!(paths.len(), 17, "{out}");
    for row in &paths {
        assert_eq!(row.len(), 8, "values run together: {row:?}\n{out}");
    }
    // The two money columns, sold and losses, are two cells on every level's row.
    for row in &paths[1..] {
        assert!(
            row[5].starts_with('$') && row[6].starts_with('$'),
            "{row:?}"
        );
    }
    assert_eq!(paths[0][5..7], ["sold (USD)", "losses (USD)"]);
    // The grid: level, two derived rates, defaults and one cell per class.
    let grid: Vec<Vec<&str>> = out
        .lines()
        .skip(3)
        .take_while(|l| !l.is_empty())
        .map(cells)
        .collect();
    assert_eq!(grid.len(), 17, "{out}");
    for row in &grid {
        assert_eq!(row.len(), 6, "{row:?}\n{out}");
    }
    assert_eq!(grid[0][1], "default (derived)");

    let show = ok(&["methodology", "show", V2]);
    for title in [
        "Price path",
        "Terms of sale",
        "Borrower behaviour",
        "Collections and reinvestment",
    ] {
        let rows = table(&show, title);
        assert_eq!(rows.len(), 17, "{title}\n{show}");
        let n = rows[0].len();
        for row in &rows {
            // An interpolated level is marked `~` one space after its notch.
            let row: Vec<&str> = row.iter().copied().filter(|c| *c != "~").collect();
            assert_eq!(
                row.len(),
                n,
                "{title}: values run together: {row:?}\n{show}"
            );
        }
    }
    assert!(show.contains("black_thursday_2020"), "{show}");
}

#[test]
fn issue_11_the_break_even_liquidation_gap_is_reported_and_the_decline_only_where_it_binds() {
    let v: Value =
        serde_json::from_str(&ok(&["rate", "--methodology", V2, "--format", "json"])).unwrap();
    let show: Value =
        serde_json::from_str(&ok(&["methodology", "show", V2, "--format", "json"])).unwrap();
    let stated_gap = |notch: &str| -> f64 {
        let p = at(&show, "levels", notch)["params"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["field"] == "liquidation_gap")
            .unwrap();
        p["value"].as_str().unwrap().parse().unwrap()
    };
    let text = ok(&["rate", "--methodology", V2]);
    for n in v["notes"].as_array().unwrap() {
        let level = n["break_even_level"].as_str().unwrap();
        let gap: f64 = n["break_even_liquidation_gap"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        // The note passes its level, so it survives at least the level's own gap; to 0.1 point.
        assert!(gap >= stated_gap(level) && gap <= 1.0, "{n}");
        assert_eq!((gap * 1000.0).round() / 1000.0, gap, "{n}");
        // Both notes survive any fall on their level's path: the decline does not bind.
        assert!(n["break_even_btc_decline"].is_null(), "{n}");
        let line = format!(
            "    break-even liquidation gap (sale discount below the trigger price) under the '{level}' stress: {:.1}% against {:.1}% at its level\n    break-even BTC decline does not bind: it survives any BTC fall on the '{level}' path (99% tried)",
            gap * 100.0,
            stated_gap(level) * 100.0
        );
        assert!(text.contains(&line), "{line}\n{text}");
    }
    assert!(!text.contains("99.0%"), "{text}");
    // Under a default-and-recovery methodology neither field is written.
    let v1 = bundled();
    assert!(v1["notes"][0].get("break_even_liquidation_gap").is_none());
    assert!(v1["notes"][0].get("break_even_btc_decline").is_none());
}

/// The result JSON of each bundled methodology, as a script reads it (hashes and the engine
/// version filtered): money as strings with two decimals, rates as exact decimal strings.
#[test]
fn issue_11_the_result_json_of_each_bundled_methodology() {
    for version in ["1.0.0", "1.1.0", "2.0.0"] {
        let out = ok(&[
            "rate",
            "--methodology",
            &format!("btc-backed-consumer-loans@{version}"),
            "--format",
            "json",
        ]);
        let mut v: serde_json::Value = serde_json::from_str(&out).unwrap();
        for key in ["deal_sha256", "tape_sha256", "methodology_sha256", "engine"] {
            v["inputs"][key] = "[filtered]".into();
        }
        // One format per kind of number.
        assert_eq!(
            v["levels"][0]["default_amount"]
                .as_str()
                .map(|s| s.split('.').nth(1).map(str::len)),
            Some(Some(2))
        );
        insta::assert_json_snapshot!(format!("result_json_{version}"), v);
    }
}

/// `--schema` prints the JSON Schema of the result, and docs/result.schema.json is that schema.
#[test]
fn issue_11_the_result_schema_is_documented() {
    let out = ok(&["rate", "--schema"]);
    let schema: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(schema["title"], "ResultJson");
    for field in ["deal", "inputs", "notes", "levels", "warnings"] {
        assert!(schema["properties"][field].is_object(), "{field}");
    }
    let documented = std::fs::read_to_string(crate::util::root().join("docs/result.schema.json"))
        .expect("docs/result.schema.json");
    assert_eq!(
        out, documented,
        "docs/result.schema.json is stale: absrate rate --schema > docs/result.schema.json"
    );
}

/// 2.0.1 adds the Monte Carlo section and changes no rating level: `rate` gives the same result
/// as under 2.0.0, every figure, only the methodology's name and hash differ.
#[test]
fn two_zero_one_rates_exactly_as_two_zero_zero() {
    let json = |v: &str| {
        let out = ok(&[
            "rate",
            "--format",
            "json",
            "--methodology",
            &format!("btc-backed-consumer-loans@{v}"),
        ]);
        let mut j: serde_json::Value = serde_json::from_str(&out).unwrap();
        let inputs = j["inputs"].as_object_mut().unwrap();
        assert_eq!(
            inputs.remove("methodology").unwrap(),
            format!("btc-backed-consumer-loans@{v}")
        );
        inputs.remove("methodology_sha256").unwrap();
        j
    };
    assert_eq!(json("2.0.0"), json("2.0.1"));
}
