//! Overlays (issue 14, item 3) and the rationale's sentence against the published rating (item
//! 5), as a user sees them: the `rate` grid, result.json, the rationale, `methodology show` and
//! `diff`, `compare`'s attribution, and the error catalogue of both new sections. The fixtures in
//! `tests/fixtures/overlays/` are published methodologies under another id with overlays added.

use std::path::Path;

use serde_json::Value;

use crate::util::{absrate, ok, root};

const INVALID_INPUT: i32 = 3;
const DR: &str = "tests/fixtures/overlays/default-and-recovery.yaml";
const MV: &str = "tests/fixtures/overlays/market-value.yaml";
const V1: &str = "btc-backed-consumer-loans@1.0.0";
const V201: &str = "btc-backed-consumer-loans@2.0.1";

/// The lines of `text` from the one starting with `from` up to, not including, the one starting
/// with `to`.
fn section<'a>(text: &'a str, from: &str, to: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|l| !l.starts_with(from))
        .take_while(|l| !l.starts_with(to))
        .collect()
}

fn report(args: &[&str], dir: &Path) -> (String, String, Value) {
    let mut all = vec!["rate"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--report", dir.to_str().unwrap()]);
    ok(&all);
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    (
        read("rationale.md"),
        read("rationale.html"),
        serde_json::from_str(&read("result.json")).unwrap(),
    )
}

/// The lines of `text` from the one starting with `from` to the end.
fn rest<'a>(text: &'a str, from: &str) -> Vec<&'a str> {
    text.lines().skip_while(|l| !l.starts_with(from)).collect()
}

/// The paragraph of the rationale that starts with `start`.
fn paragraph<'a>(md: &'a str, start: &str) -> &'a str {
    md.lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no paragraph starting {start:?} in\n{md}"))
}

const SPONSOR: &str = "quantitative 'BBB-', lowered 1 notch to 'BB+' by sponsor standing: The servicer and sponsor is unrated and the sole source of the loans and their margin calls";

#[test]
fn the_grid_gives_the_rating_after_overlays_and_says_which_bind() {
    let out = ok(&["rate", "--methodology", DR]);
    assert_eq!(
        section(&out, "Indicated ratings", "  Class A first fails"),
        [
            "Indicated ratings",
            "  Class A $160,000,000.00 at 7.35%: BB+ (published BBB-); break-even default 79.0% under the 'BBB-' stress, 7.9x the base case 10.0%",
            &format!("    {SPONSOR}"),
            "  Class B $28,000,000.00 at 10.00%: B- (published B-); break-even default 46.3% under the 'B' stress, 4.63x the base case 10.0%",
            "    quantitative 'B', lowered 1 notch to 'B-' by sponsor standing: The servicer and sponsor is unrated and the sole source of the loans and their margin calls",
        ]
    );
    // The grid and the first failing level are the quantitative result's.
    assert!(
        out.contains("  Class A first fails at 'BBB': period 12"),
        "{out}"
    );
    // `--expect` is checked against the rating given.
    let r = absrate(&["rate", "--methodology", DR, "--expect", "A=BBB-"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "error: target rating missed:\n  Class A: expected BBB- or better, indicated BB+\n"
    );
}

/// A methodology without overlays prints nothing about them; one whose overlays do not bind says
/// so, naming them.
#[test]
fn the_grid_says_no_overlay_binds_only_when_there_are_overlays() {
    let out = ok(&["rate", "--methodology", V1]);
    assert!(!out.contains("overlay"), "{out}");
    let out = ok(&["rate", "--methodology", MV]);
    assert_eq!(
        section(&out, "Indicated ratings", "Price paths"),
        [
            "Indicated ratings",
            "  Class A $160,000,000.00 at 7.35%: BBB+ (published BBB-)",
            "    quantitative 'A-', capped at 'BBB+' by market-value asset class: One public securitization of BTC-backed consumer loans: a short performance record",
            "    break-even liquidation gap (sale discount below the trigger price) under the 'A-' stress: 35.0% against 30.0% at its level",
            "    break-even BTC decline does not bind: it survives any BTC fall on the 'A-' path (99% tried); its losses come from the terms of each sale, not the depth of the fall",
            "  Class B $28,000,000.00 at 10.00%: BBB (published B-)",
            "    no overlay binds (market-value asset class: cap 'BBB+'; unrated custodian: cap 'A')",
            "    break-even liquidation gap (sale discount below the trigger price) under the 'BBB' stress: 25.0% against 20.0% at its level",
            "    break-even BTC decline does not bind: it survives any BTC fall on the 'BBB' path (99% tried); its losses come from the terms of each sale, not the depth of the fall",
            "",
        ]
    );
}

#[test]
fn result_json_keeps_the_quantitative_rating_and_the_binding_overlays() {
    let out = ok(&["rate", "--methodology", DR, "--format", "json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let a = &v["notes"][0];
    assert_eq!(a["indicated"], "BB+");
    assert_eq!(a["quantitative"], "BBB-");
    assert_eq!(
        a["overlays"],
        serde_json::json!([{
            "name": "sponsor standing",
            "adjustment": { "notches_down": 1 },
            "reason": "The servicer and sponsor is unrated and the sole source of the loans and their margin calls.",
            "source": "Test fixture: stands for an agency's counterparty criteria (a notch for an unrated sponsor)."
        }])
    );
    // Break-evens stay those of the quantitative level.
    assert_eq!(a["break_even_level"], "BBB-");
    assert_eq!(a["break_even_default_rate"], "0.79");
    // Without overlays: the same rating twice, and no overlay.
    let out = ok(&["rate", "--methodology", V1, "--format", "json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["notes"][0]["indicated"], "BBB-");
    assert_eq!(v["notes"][0]["quantitative"], "BBB-");
    assert_eq!(v["notes"][0]["overlays"], serde_json::json!([]));
}

#[test]
fn the_rationale_says_what_each_overlay_did_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let (md, html, json) = report(&["--methodology", MV], dir.path());
    assert_eq!(
        section(&md, "## Ratings", "## Rationale"),
        [
            "## Ratings",
            "",
            "| Class | Amount | Coupon | Seniority | Subordination | Overcollateralization | Reserve | Credit support | Indicated rating | Before overlays | Published |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
            "| A | $160,000,000.00 | 7.35% | senior | 14.1% | 6.1% | 4.7% | 24.9% | **BBB+** | A- | BBB- |",
            "| B | $28,000,000.00 | 10.00% | subordinate | 0.0% | 6.1% | 4.7% | 10.8% | **BBB** | BBB | B- |",
            "",
            "### Overlays",
            "",
            "Caps and adjustments the methodology applies after the quantitative result (the grid's rating); the lowest result wins.",
            "",
            "| Overlay | Adjustment | Binds | Reason | Source |",
            "|---|---|---|---|---|",
            "| market-value asset class | cap 'BBB+' | Class A | One public securitization of BTC-backed consumer loans: a short performance record. | Test fixture: stands for Fitch, Criteria for Rating Caps and Limitations in Global Structured Finance Transactions. |",
            "| unrated custodian | cap 'A' | - | The BTC is held by a custodian without a rating. | Test fixture: stands for an agency's counterparty criteria. |",
            "",
        ]
    );
    let capped = "Overlays: quantitative 'A-', capped at 'BBB+' by market-value asset class: One public securitization of BTC-backed consumer loans: a short performance record.";
    let none = "Overlays: no overlay binds (market-value asset class: cap 'BBB+'; unrated custodian: cap 'A').";
    assert_eq!(paragraph(&md, "Overlays: quantitative"), capped);
    assert_eq!(paragraph(&md, "Overlays: no overlay"), none);
    let sentence_a = "Class A is rated 'BBB+' ('A-' before overlays) against S&P's 'BBB-': it first loses at 'A', whose liquidation gap is 35.0% and whose deepest sale lands 37.9% below its trigger price, while under the 'A-' stress it survives liquidation gaps up to 35.0% (break-even); S&P's 68% recovery on a 79% default at 'BBB-' implies sales 45.6% below the 80% liquidation trigger.";
    assert_eq!(paragraph(&md, "Class A is rated"), sentence_a);
    assert_eq!(json["notes"][0]["against_published"], sentence_a);
    // The HTML says the same, escaped.
    let esc = |s: &str| s.replace('&', "&amp;").replace('\'', "&#39;");
    for (class, text) in [
        ("overlays", capped),
        ("overlays", none),
        ("against-published", sentence_a),
    ] {
        let p = format!("<p class=\"{class}\">{}</p>", esc(text));
        assert!(html.contains(&p), "{p}\nmissing from the HTML");
    }
    assert!(html.contains("<table id=\"overlays\">"));
    // The page with overlays opens in a browser (`.ci/run` installs one).
    if let Some(dom) = crate::util::open_in_chromium(&dir.path().join("rationale.html")) {
        assert!(dom.contains("<table id=\"overlays\">"), "no overlays table");
        assert!(dom.contains("<table id=\"grid\">"), "no grid");
    }
    // The sentences about the levels are the quantitative rating's.
    assert!(
        md.contains("It first fails at 'A' (BTC falls 72.5%"),
        "{md}"
    );
}

/// Under the bundled deal's newest methodology (no overlays), the rationale says nothing about
/// overlays and sets each note against S&P's rating with the deal's published stress.
#[test]
fn issue_14_the_rationale_explains_the_difference_to_the_published_rating() {
    let dir = tempfile::tempdir().unwrap();
    let (md, html, _) = report(&["--methodology", V201], dir.path());
    assert!(!md.contains("verlay"), "{md}");
    for absent in ["Overlays", "overlay binds", "<p class=\"overlays\">"] {
        assert!(!html.contains(absent), "{absent}");
    }
    assert!(html.contains("<p class=\"against-published\">Class A is rated"));
    assert_eq!(
        paragraph(&md, "Class A is rated"),
        "Class A is rated 'A-' against S&P's 'BBB-': it first loses at 'A', whose liquidation gap is 35.0% and whose deepest sale lands 37.9% below its trigger price, while under the 'A-' stress it survives liquidation gaps up to 35.0% (break-even); S&P's 68% recovery on a 79% default at 'BBB-' implies sales 45.6% below the 80% liquidation trigger."
    );
    assert_eq!(
        paragraph(&md, "Class B is rated"),
        "Class B is rated 'BBB' against S&P's 'B-': it first loses at 'BBB+', whose liquidation gap is 25.0% and whose deepest sale lands 27.3% below its trigger price, while under the 'BBB' stress it survives liquidation gaps up to 25.0% (break-even); S&P's 68% recovery on a 79% default at 'BBB-' implies sales 45.6% below the 80% liquidation trigger."
    );
    // The default-and-recovery form: the first failing level's rates and the break-even default.
    let dir = tempfile::tempdir().unwrap();
    let (md, _, _) = report(&["--methodology", V1], dir.path());
    assert_eq!(
        paragraph(&md, "Class A is rated"),
        "Class A is rated 'BBB-' against S&P's 'BBB-': it first loses at 'BBB', whose stress is a default of 88.0% with a recovery of 65.0%, while under the 'BBB-' stress it survives defaults up to 79.0% (break-even); S&P's 68% recovery on a 79% default at 'BBB-' implies sales 45.6% below the 80% liquidation trigger."
    );
}

/// The published figures come from the deal file: with its `published_stress` gone the sentence
/// says nothing of S&P, and a note without a published rating says so.
#[test]
fn issue_14_without_published_figures_the_sentence_says_only_what_is_known() {
    let dir = tempfile::tempdir().unwrap();
    let deal = std::fs::read_to_string(root().join("pools/ledn-2026-1/deal.yaml")).unwrap();
    let cut = deal
        .find("\n# What S&P published of its own stress")
        .expect("the bundled deal's published_stress");
    let pool = root().join("pools/ledn-2026-1/pool.yaml");
    let patched = deal[..cut].replace("pool: pool.yaml", &format!("pool: {}", pool.display()));
    let path = dir.path().join("deal.yaml");
    std::fs::write(&path, format!("{patched}\n")).unwrap();
    let out = ok(&[
        "rate",
        "--deal",
        path.to_str().unwrap(),
        "--methodology",
        V1,
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["notes"][0]["against_published"],
        "Class A is rated 'BBB-' against the published 'BBB-': it first loses at 'BBB', whose stress is a default of 88.0% with a recovery of 65.0%, while under the 'BBB-' stress it survives defaults up to 79.0% (break-even)."
    );
    // The hand-worked deal: no published rating, no published stress, passes everywhere.
    let out = ok(&[
        "rate",
        "--deal",
        "tests/fixtures/rate/deal.yaml",
        "--methodology",
        "tests/fixtures/rate/methodology.yaml",
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["notes"][0]["against_published"],
        "Class A is rated 'AAA' (no published rating): it passes at every level, 'AAA' included, and under the 'AAA' stress it survives defaults up to 66.7% (break-even)."
    );
}

#[test]
fn methodology_show_and_diff_list_the_overlays() {
    let out = ok(&["methodology", "show", DR]);
    assert_eq!(
        section(&out, "Overlays", "~ interpolated"),
        [
            "Overlays (applied after the quantitative result; the lowest result wins)",
            "  sponsor standing: 1 notch down",
            "    reason: The servicer and sponsor is unrated and the sole source of the loans and their margin calls.",
            "    source: Test fixture: stands for an agency's counterparty criteria (a notch for an unrated sponsor).",
            "  asset class cap: cap 'BBB'",
            "    reason: One public securitization of BTC-backed consumer loans: a short performance record.",
            "    source: Test fixture: stands for an agency's cap on an asset class with a short record.",
            "",
        ]
    );
    assert!(!ok(&["methodology", "show", V1]).contains("Overlays"));
    let out = ok(&["methodology", "show", DR, "--format", "json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["overlays"][1]["adjustment"],
        serde_json::json!({ "cap": "BBB" })
    );
    assert_eq!(
        ok(&["methodology", "diff", V1, DR]),
        "btc-backed-consumer-loans@1.0.0 -> overlay-fixture@1.0.0: 2 parameters differ
  level     field             old           new
  overlays  sponsor standing    -  1 notch down
  overlays  asset class cap     -     cap 'BBB'
"
    );
}

/// Overlays that differ between two versions get their own group in the attribution.
#[test]
fn compare_attributes_moves_to_the_overlays() {
    let out = ok(&["compare", "--methodology", V1, "--methodology", DR]);
    assert_eq!(
        section(&out, "Rating moves:", "Pass/fail grid"),
        [
            "Rating moves:",
            "  A: BBB- -> BB+ (-1)",
            "  B: B -> B- (-1)"
        ]
    );
    assert!(out.contains("Flipped cells: none"), "{out}");
    assert_eq!(
        rest(&out, "Attribution"),
        [
            "Attribution (each changed group applied alone to btc-backed-consumer-loans@1.0.0):",
            "  A: overlays alone -> BB+ (-1 notches)",
            "  B: overlays alone -> B- (-1 notches)",
        ]
    );
}

/// `compare`'s attribution runs the first version with the second's price paths: a path shape
/// only the second version defines must come with them (it failed with an internal error, exit
/// code 1, before).
#[test]
fn issue_14_a_price_path_taken_alone_brings_its_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        std::fs::read_to_string(root().join("methodology/btc-backed-consumer-loans/2.0.1.yaml"))
            .unwrap();
    // A new shape at 'BBB', and a wider gap there so that Class B moves and the attribution runs.
    let old = "    path_shape: { value: early_2026, source: \"The early-2026 sell-off that hit this pool's book, scaled.\" }\n    liquidation_gap: { value: \"0.20\",";
    assert_eq!(text.matches(old).count(), 1, "2.0.1's 'BBB' level changed");
    let patched = text
        .replacen("id: btc-backed-consumer-loans", "id: shape-fixture", 1)
        .replacen(
            "  shapes:\n",
            "  shapes:\n    steep:\n      source: test\n      points: [[0.0, 0.0], [0.1, 0.9], [1.0, 1.0]]\n",
            1,
        )
        .replace(
            old,
            "    path_shape: { value: steep, source: test }\n    liquidation_gap: { value: \"0.27\",",
        );
    let path = dir.path().join("shape-fixture.yaml");
    std::fs::write(&path, patched).unwrap();
    let out = ok(&[
        "compare",
        "--methodology",
        V201,
        "--methodology",
        path.to_str().unwrap(),
    ]);
    assert!(out.contains("  B: BBB -> BBB- (-1)"), "{out}");
    assert_eq!(
        rest(&out, "Attribution"),
        [
            "Attribution (each changed group applied alone to btc-backed-consumer-loans@2.0.1):",
            "  B: price path alone -> BBB (no move)",
            "  B: terms of sale alone -> BBB- (-1 notches)",
            "  B: market facts alone -> BBB (no move)",
        ]
    );
}

/// Runs `args`, requires exit code 3 and nothing on stdout, and returns stderr.
fn refused(args: &[&str]) -> String {
    let r = absrate(args);
    assert_eq!(r.code, INVALID_INPUT, "{args:?}: {}", r.stderr);
    assert_eq!(r.stdout, "", "{args:?}");
    r.stderr
}

/// Each rule of an overlay has its error, located where the parser can locate it.
#[test]
fn each_overlay_rule_has_its_own_error() {
    let show = |name: &str| {
        refused(&[
            "methodology",
            "show",
            &format!("tests/fixtures/overlays/{name}.yaml"),
        ])
    };
    let first = |s: String| s.lines().next().unwrap_or_default().to_string();
    for (name, message) in [
        (
            "cap_not_a_notch",
            "41:24: `AAA+` is not a notch of the scale (AAA, AA+, ..., B-); did you mean `AAA`?",
        ),
        (
            "notches_down_17",
            "41:33: notches_down: must be within [1, 16] (the scale has 16 notches), got 17",
        ),
        (
            "empty_reason",
            "42:13: overlay reason: must not be empty (an overlay states its name, its reason and its source)",
        ),
        (
            "unknown_adjustment",
            "41:19: unknown variant `notch_down`, expected one of cap, notches_down",
        ),
        (
            "two_adjustments",
            "41:29: expected end of mapping after enum variant value",
        ),
    ] {
        assert_eq!(
            first(show(name)),
            format!("error: tests/fixtures/overlays/{name}.yaml:{message}"),
            "{name}"
        );
    }
    // The excerpt points at the value.
    assert!(
        show("cap_not_a_notch").contains(
            "41 |     adjustment: { cap: \"AAA+\" }\n   |                        ^ `AAA+` is not a notch"
        ),
        "{}",
        show("cap_not_a_notch")
    );
    assert_eq!(
        show("names_repeated"),
        "error: tests/fixtures/overlays/names_repeated.yaml: overlays[2]: name: `cap` is the name of overlays[1] too: each overlay needs its own name\n"
    );
}

#[test]
fn each_published_stress_rule_has_its_own_error() {
    let rate = |name: &str| {
        refused(&[
            "rate",
            "--deal",
            &format!("tests/fixtures/overlays/{name}.yaml"),
            "--methodology",
            "tests/fixtures/rate/methodology.yaml",
        ])
    };
    assert!(
        rate("deal_stress_level").starts_with(
            "error: tests/fixtures/overlays/deal_stress_level.yaml:32:10: `BBB--` is not a notch of the scale (AAA, AA+, ..., B-); did you mean `BBB-`?\n"
        ),
        "{}",
        rate("deal_stress_level")
    );
    assert_eq!(
        rate("deal_stress_recovery"),
        "error: tests/fixtures/overlays/deal_stress_recovery.yaml: published_stress.recovery_rate: must be within [0, 1], got 1.2\n"
    );
    assert_eq!(
        rate("deal_stress_no_rate"),
        "error: tests/fixtures/overlays/deal_stress_no_rate.yaml: published_stress: give the published `default_rate`, `recovery_rate` or both\n"
    );
}

/// A reason or source written as a folded YAML scalar (2.1.0's) stays one table row in the
/// rationale: the cell's text is on one line, and the row closes.
#[test]
fn a_folded_overlay_reason_stays_one_row_of_the_rationale_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let r = crate::util::absrate(&["rate", "--report", out.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let md = std::fs::read_to_string(out.join("rationale.md")).unwrap();
    let row = md
        .lines()
        .find(|l| l.starts_with("| short performance record | cap 'A+' | - | BTC-backed"))
        .unwrap_or_else(|| panic!("{md}"));
    assert!(
        row.ends_with("is the sponsor's, not the asset class's. |"),
        "{row}"
    );
}
