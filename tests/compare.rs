//! `absrate compare`: every reported move is what two separate `absrate rate` runs give; a
//! version compared with itself moves nothing.

use serde_json::Value;

use crate::util::ok;

const V1: &str = "btc-backed-consumer-loans@1.0.0";
const V11: &str = "btc-backed-consumer-loans@1.1.0";

fn indicated(version: &str) -> Vec<Value> {
    let v: Value =
        serde_json::from_str(&ok(&["rate", "--methodology", version, "--format", "json"])).unwrap();
    v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["indicated"].clone())
        .collect()
}

#[test]
fn each_move_equals_two_separate_rate_runs() {
    let c: Value = serde_json::from_str(&ok(&[
        "compare",
        "--methodology",
        V1,
        "--methodology",
        V11,
        "--format",
        "json",
    ]))
    .unwrap();
    let (a, b) = (indicated(V1), indicated(V11));
    let name = |v: &Value| {
        v.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| "below B-".into())
    };
    let moves = c["pairs"][0]["moves"].as_array().unwrap();
    assert!(!moves.is_empty(), "1.1.0 moves at least one rating");
    for (k, class) in ["A", "B"].iter().enumerate() {
        let reported = moves.iter().find(|m| m["class"] == *class);
        if name(&a[k]) == name(&b[k]) {
            assert!(reported.is_none(), "class {class} reported as moved");
        } else {
            let m = reported.unwrap_or_else(|| panic!("class {class} moved but was not reported"));
            assert_eq!(m["from"].as_str().unwrap(), name(&a[k]));
            assert_eq!(m["to"].as_str().unwrap(), name(&b[k]));
        }
    }
    // The attribution names the group that moves the rating on its own.
    let attribution = c["pairs"][0]["attribution"].as_array().unwrap();
    assert!(
        attribution
            .iter()
            .any(|a| a["notches"].as_i64().unwrap() != 0),
        "no group explains the move"
    );
    let text = ok(&["compare", "--methodology", V1, "--methodology", V11]);
    assert!(text.contains("Rating moves:\n  A: "), "{text}");
    assert!(
        text.contains(
            "Attribution (each changed group applied alone to btc-backed-consumer-loans@1.0.0):"
        ),
        "{text}"
    );
}

#[test]
fn a_version_compared_with_itself_moves_nothing() {
    let text = ok(&["compare", "--methodology", V1, "--methodology", V1]);
    assert!(text.contains("Rating moves:\n  none\n"), "{text}");
    assert!(text.contains("Flipped cells: none\n"), "{text}");
    assert!(text.contains("Parameter changes: 0\n"), "{text}");
}

#[test]
fn the_comparison_report_is_written() {
    let dir = tempfile::tempdir().unwrap();
    ok(&[
        "compare",
        "--methodology",
        V1,
        "--methodology",
        V11,
        "--report",
        dir.path().to_str().unwrap(),
    ]);
    let md = std::fs::read_to_string(dir.path().join("comparison.md")).unwrap();
    assert!(
        md.contains("## btc-backed-consumer-loans@1.0.0 -> btc-backed-consumer-loans@1.1.0"),
        "{md}"
    );
    assert!(md.contains("capitalized interest alone"), "{md}");
    // The browser check: the page loads and shows the move's heading and both tables.
    let Some(dom) = crate::util::open_in_chromium(&dir.path().join("comparison.html")) else {
        return;
    };
    assert!(
        dom.contains("btc-backed-consumer-loans@1.0.0 \u{2192} btc-backed-consumer-loans@1.1.0"),
        "no comparison heading in the rendered page"
    );
    assert!(
        dom.contains("<th>Class A 1.0.0</th><th>Class A 1.1.0</th>"),
        "no pass/fail table side by side in the rendered page"
    );
    assert!(
        dom.contains("<th>Level</th><th>Field</th><th>Old</th><th>New</th>"),
        "no parameter-change table in the rendered page"
    );
}

/// 2.0.0 against the calibrated 2.1.0 (issue 14): no rating moves, but each note's break-even
/// does, so each changed group, market fields included, is applied alone to 2.0.0 and its effect
/// on the rating and the break-even shown; what the text prints is what `rate` gives for the
/// hybrid's figures, and the groups that moved in opposite directions are named.
#[test]
fn two_versions_with_the_same_ratings_show_what_each_group_does_to_the_break_evens() {
    let out = ok(&[
        "compare",
        "--methodology",
        "btc-backed-consumer-loans@2.0.0",
        "--methodology",
        "btc-backed-consumer-loans@2.1.0",
    ]);
    let section: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("Attribution"))
        .collect();
    assert_eq!(
        section,
        [
            "Attribution (each changed group applied alone to btc-backed-consumer-loans@2.0.0):",
            "  A: price path alone -> A (+1 notches), break-even liquidation gap 38.9% ('A' stress)",
            "  B: price path alone -> BBB+ (+1 notches), break-even liquidation gap 25.8% ('BBB+' stress)",
            "  A: terms of sale alone -> BBB+ (-1 notches), break-even liquidation gap 36.3% ('BBB+' stress)",
            "  B: terms of sale alone -> BBB (no move), break-even liquidation gap 25.0% ('BBB' stress)",
            "  A: market facts alone -> A- (no move), break-even liquidation gap 35.0% ('A-' stress)",
            "  B: market facts alone -> BBB (no move), break-even liquidation gap 25.0% ('BBB' stress)",
            "  A: overlays alone -> A- (no move), break-even liquidation gap 35.0% ('A-' stress)",
            "  B: overlays alone -> BBB (no move), break-even liquidation gap 25.0% ('BBB' stress)",
        ],
        "{out}"
    );
    assert!(out.contains("Rating moves:\n  none\n"), "{out}");
    assert!(
        out.contains(
            "  A: break-even liquidation gap 35.0% ('A-' stress) -> 44.2% ('A-' stress)\n"
        ),
        "{out}"
    );
    // The market fields are in the parameter diff: the computed shapes and their levels' choice.
    assert!(
        out.contains("  market        shapes.calibrated_A "),
        "{out}"
    );
}
