//! Methodologies: the published calibration read back through the loader, the error catalogue
//! (one fixture per invariant), publication locks, diff and schema.

use std::path::Path;

use absrate::methodology::{Notch, Registry};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::util::{absrate, ok, root};

const INVALID_INPUT: i32 = 3;
const V1: &str = "btc-backed-consumer-loans@1.0.0";

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[test]
fn version_1_0_0_reproduces_what_sp_published_for_ledn_2026_1() {
    // Read through the loader, from the file.
    let m = Registry::new(root().join("methodology"))
        .resolve(V1)
        .unwrap();
    assert_eq!(m.levels.len(), 16);
    let stated = |n: &str| {
        m.level(n.parse::<Notch>().unwrap())
            .stress
            .default_recovery()
            .expect("a default-and-recovery level")
            .clone()
    };
    assert_eq!(stated("A").default_rate, dec("1.00"));
    let bbb_minus = stated("BBB-");
    assert_eq!(bbb_minus.default_rate, dec("0.79"));
    assert_eq!(bbb_minus.recovery_rate, dec("0.68"));
}

#[test]
fn show_prints_all_16_notches_with_the_published_figures() {
    let out = ok(&["methodology", "show", V1]);
    for notch in absrate::methodology::SCALE {
        assert!(
            out.lines()
                .any(|l| l.trim_start().starts_with(&format!("{notch} "))
                    || l.trim_start().starts_with(&format!("{notch} ~"))),
            "{notch} missing:\n{out}"
        );
    }
    let row = |notch: &str| -> Vec<String> {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(notch))
            .unwrap()
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(row("A")[1], "100%");
    assert_eq!(row("BBB-")[1..3], ["79%".to_string(), "68%".to_string()]);

    let json: Value =
        serde_json::from_str(&ok(&["methodology", "show", V1, "--format", "json"])).unwrap();
    let levels = json["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 16);
    let bbb_minus = levels.iter().find(|l| l["notch"] == "BBB-").unwrap();
    assert_eq!(bbb_minus["params"][0]["field"], "default_rate");
    assert_eq!(bbb_minus["params"][0]["value"], "0.79");
    assert!(
        bbb_minus["params"][0]["source"]
            .as_str()
            .unwrap()
            .starts_with("Published")
    );
    let a_minus = levels.iter().find(|l| l["notch"] == "A-").unwrap();
    assert_eq!(a_minus["anchor"], false);
    assert_eq!(
        a_minus["params"][0]["source"],
        "interpolated between 'A' and 'BBB'"
    );
}

fn fails(fixture: &str) -> String {
    let path = format!("tests/fixtures/methodology/{fixture}");
    let r = absrate(&["methodology", "show", &path]);
    assert_eq!(r.code, INVALID_INPUT, "{fixture}: {}", r.stderr);
    assert_eq!(r.stdout, "", "{fixture}: no output");
    r.stderr
}

#[test]
fn each_invariant_has_its_own_error() {
    let cases = [
        (
            "rate_out_of_range.yaml",
            "level 'AAA': recovery_rate: must be within [0, 1], got 1.2",
        ),
        (
            "timing_sum.yaml",
            "common: default_timing: must sum to 1, sums to 0.99",
        ),
        (
            "multiplier_below_one.yaml",
            "common: capitalized_interest_default_multiplier: must be at least 1, got 0.9",
        ),
        (
            "missing_field.yaml",
            "level 'AAA': cash_drag_months: missing (give it in the level or in `common`)",
        ),
        (
            "missing_notch.yaml",
            "notch 'BB+' is not given and cannot be interpolated: no level below it is given ('B-' must be given)",
        ),
        (
            "unknown_notch.yaml",
            "level `BBB_` is not a notch of the scale (AAA, AA+, AA, ..., B-); did you mean `BBB`?",
        ),
        (
            "not_monotone.yaml",
            "recovery_rate is milder at 'BBB-' (0.68) than at 'BB+' (0.666667): a higher rating must never have a milder stress",
        ),
    ];
    for (fixture, message) in cases {
        assert_eq!(
            fails(fixture),
            format!("error: tests/fixtures/methodology/{fixture}: {message}\n"),
            "{fixture}"
        );
    }
}

#[test]
fn an_unknown_key_is_located_with_a_suggestion() {
    assert_eq!(
        fails("unknown_key.yaml"),
        "error: tests/fixtures/methodology/unknown_key.yaml:35:5: unknown field `recovry_rate`, expected one of default_rate, default_timing, default_order, recovery_rate, recovery_lag_months, interest_cash_share, servicing_fee_rate, reinvestment_yield, reinvestment_ltv, cash_drag_months, top_obligor_defaults, obligor_limit, capitalized_interest_credit, capitalized_interest_default_multiplier, btc_trough, days_to_trough, path_shape, liquidation_gap, liquidation_lag_days, slippage, crowding, margin_call_answer_share, balloon_in_margin_call
  --> tests/fixtures/methodology/unknown_key.yaml:35:5
   |
33 |   BBB-:
34 |     default_rate: { value: \"0.79\", source: test }
35 |     recovry_rate: { value: \"0.68\", source: test }
   |     ^ unknown field `recovry_rate`, expected one of default_rate, default_timing, default_order, recovery_rate, recovery_lag_months, interest_cash_share, servicing_fee_rate, reinvestment_yield, reinvestment_ltv, cash_drag_months, top_obligor_defaults, obligor_limit, capitalized_interest_credit, capitalized_interest_default_multiplier, btc_trough, days_to_trough, path_shape, liquidation_gap, liquidation_lag_days, slippage, crowding, margin_call_answer_share, balloon_in_margin_call
36 |   B-:
37 |     default_rate: { value: \"0.40\", source: test }
   |
  hint: did you mean `recovery_rate`?
"
    );
}

/// `supersedes` is `ID@VERSION` with a semantic version, or null: anything else is refused where
/// it is written (issue 13, class 8).
#[test]
fn supersedes_must_be_id_at_a_semantic_version() {
    for (name, value) in [
        (
            "supersedes_not_semver.yaml",
            "btc-backed-consumer-loans@1.0",
        ),
        ("supersedes_free_text.yaml", "the previous version"),
    ] {
        let message = format!(
            "supersedes: `{value}` is not ID@VERSION (the id of a methodology, `@`, and a semantic version such as 1.0.0), nor null"
        );
        assert_eq!(
            fails(name),
            format!(
                "error: tests/fixtures/methodology/{name}:5:13: {message}
 --> tests/fixtures/methodology/{name}:5:13
  |
3 | version: 0.1.0
4 | effective_date: 2026-01-01
5 | supersedes: {value}
  |             ^ {message}
6 | title: Minimal test methodology
7 | description: Fixture for tests.
  |
"
            ),
            "{name}"
        );
    }
}

#[test]
fn a_billion_laughs_file_is_refused_within_a_second() {
    let start = std::time::Instant::now();
    let err = fails("billion_laughs.yaml");
    assert!(
        start.elapsed() < std::time::Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert!(
        err.starts_with("error: tests/fixtures/methodology/billion_laughs.yaml:8:18: "),
        "{err}"
    );
    let start = std::time::Instant::now();
    fails("deeply_nested.yaml");
    assert!(start.elapsed() < std::time::Duration::from_secs(1));
}

/// A copy of the registry in a temporary directory.
fn registry_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    // Every file the lock lists (methodologies and price models), and the lock.
    let lock = std::fs::read_to_string(root().join("methodology/published.lock")).unwrap();
    let files = lock
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once("  ").map(|(_, f)| f.trim().to_string()))
        .chain(["published.lock".to_string()]);
    for f in files {
        let to = dir.path().join(&f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(root().join("methodology").join(&f), to).unwrap();
    }
    dir
}

/// A registry copy whose 1.0.0 has one number changed: the copy, the file, its original text.
fn registry_copy_with_1_0_0_changed() -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = registry_copy();
    let file = dir.path().join("btc-backed-consumer-loans/1.0.0.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replacen("value: \"0.79\"", "value: \"0.78\"", 1),
    )
    .unwrap();
    (dir, file, text)
}

#[test]
fn the_registry_checks_clean_and_lists_1_0_0_as_published() {
    let out = ok(&["methodology", "check"]);
    assert!(
        out.contains("(btc-backed-consumer-loans@1.0.0, sha256 "),
        "{out}"
    );
    assert!(out.contains("published, unchanged)"), "{out}");
    let list = ok(&["methodology", "list"]);
    assert!(
        list.contains("btc-backed-consumer-loans         1.0.0     2026-02-18  published"),
        "{list}"
    );
}

#[test]
fn changing_a_published_number_fails_the_check_and_names_the_file() {
    let (dir, file, text) = registry_copy_with_1_0_0_changed();
    let d = dir.path().to_str().unwrap();
    let r = absrate(&["methodology", "check", "--dir", d]);
    assert_eq!(r.code, INVALID_INPUT);
    // Every file of the registry is checked; the changed one is named with its hashes.
    let expected = format!(
        "  {}: changed after publication: the lock file {} records sha256 ",
        file.display(),
        Path::new(d).join("published.lock").display()
    );
    // Every published methodology of the lock is checked (price models have their own check).
    let published = std::fs::read_to_string(Path::new(d).join("published.lock"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#') && !l.contains("  models/"))
        .count();
    assert!(
        r.stderr.starts_with(&format!(
            "error: 1 of {published} files failed the check:\n"
        )),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains(&expected), "{}", r.stderr);
    assert!(
        r.stderr
            .ends_with("a published version never changes: copy it to a new version instead\n"),
        "{}",
        r.stderr
    );
    // Checking that file alone gives its message on its own.
    let r = absrate(&["methodology", "check", "--dir", d, file.to_str().unwrap()]);
    assert_eq!(r.code, INVALID_INPUT);
    assert!(
        r.stderr.starts_with(&format!(
            "error: {}: changed after publication",
            file.display()
        )),
        "{}",
        r.stderr
    );
    // The same file copied to a new version, then published, checks clean.
    std::fs::write(
        dir.path().join("btc-backed-consumer-loans/1.0.1.yaml"),
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("version: 1.0.0", "version: 1.0.1"),
    )
    .unwrap();
    std::fs::write(&file, text).unwrap();
    let out = ok(&[
        "methodology",
        "publish",
        "btc-backed-consumer-loans@1.0.1",
        "--dir",
        d,
    ]);
    assert!(
        out.starts_with("published btc-backed-consumer-loans@1.0.1 (sha256 "),
        "{out}"
    );
    ok(&["methodology", "check", "--dir", d]);
}

#[test]
fn diff_lists_exactly_the_changed_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("draft.yaml");
    let text =
        std::fs::read_to_string(root().join("methodology/btc-backed-consumer-loans/1.0.0.yaml"))
            .unwrap();
    let changed = text
        .replacen("value: \"0.98\"", "value: \"0.97\"", 1) // base-case recovery
        .replacen(
            "default_rate: { value: \"0.40\"",
            "default_rate: { value: \"0.38\"",
            1,
        ); // B- default
    assert_ne!(changed, text);
    std::fs::write(&copy, changed).unwrap();
    let c = copy.to_str().unwrap();
    let json: Value =
        serde_json::from_str(&ok(&["methodology", "diff", V1, c, "--format", "json"])).unwrap();
    let changes: Vec<(String, String, String, String)> = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["level"].as_str().unwrap().into(),
                c["field"].as_str().unwrap().into(),
                c["old"].as_str().unwrap().into(),
                c["new"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            (
                "base_case".into(),
                "recovery_rate".into(),
                "0.98".into(),
                "0.97".into()
            ),
            (
                "B-".into(),
                "default_rate".into(),
                "0.4".into(),
                "0.38".into()
            ),
        ]
    );
    let text = ok(&["methodology", "diff", V1, c]);
    assert!(text.starts_with("btc-backed-consumer-loans@1.0.0 -> btc-backed-consumer-loans@1.0.0: 2 parameters differ\n"), "{text}");
    assert_eq!(
        ok(&["methodology", "diff", V1, V1]),
        "btc-backed-consumer-loans@1.0.0 -> btc-backed-consumer-loans@1.0.0: no parameter differs\n"
    );
}

#[test]
fn an_unknown_methodology_names_every_place_looked_in_with_the_versions_there() {
    let r = absrate(&["methodology", "show", "btc-backed-consumer-loans@9.9.9"]);
    assert_eq!(r.code, INVALID_INPUT);
    let all = "btc-backed-consumer-loans@1.0.0, btc-backed-consumer-loans@1.1.0, btc-backed-consumer-loans@2.0.0, btc-backed-consumer-loans@2.0.1, btc-backed-consumer-loans@2.1.0";
    // From the repository's root: its registry, each parent directory's (absent), the built-in set.
    // The repository's registry also holds the auto-loan methodology (docs/auto.md).
    let mut expected = format!(
        "error: no methodology `btc-backed-consumer-loans@9.9.9`; looked in:\n  {} (auto-loans@1.0.0, {all})\n",
        root().join("methodology").display()
    );
    for dir in root().ancestors().skip(1) {
        let dir = dir.join("methodology");
        if dir.exists() {
            eprintln!("skipped: {} exists above the repository", dir.display());
            return;
        }
        expected.push_str(&format!("  {} (no such directory)\n", dir.display()));
    }
    expected.push_str(&format!("  the methodologies built into absrate ({all})\n"));
    assert_eq!(r.stderr, expected);
}

#[test]
fn a_registry_file_that_differs_from_the_built_in_published_version_is_an_error_naming_both() {
    let (dir, file, _) = registry_copy_with_1_0_0_changed();
    let (published, actual) = (
        absrate::methodology::sha256_of(
            &root().join("methodology/btc-backed-consumer-loans/1.0.0.yaml"),
        )
        .unwrap(),
        absrate::methodology::sha256_of(&file).unwrap(),
    );
    let d = dir.path().to_str().unwrap();
    let r = absrate(&["rate", "--methodology-dir", d, "--methodology", V1]);
    assert_eq!(r.code, INVALID_INPUT, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "error: {}: is {V1}, which is published and built into absrate with sha256 {published}, but the file has sha256 {actual}; a published version never changes: copy it to a new version instead\n",
            file.display()
        )
    );
    // The list says so too, and where each version comes from.
    let list = ok(&["methodology", "list", "--dir", d]);
    let row = |v: &str| {
        list.lines()
            .find(|l| {
                let mut w = l.split_whitespace();
                w.next() == Some("btc-backed-consumer-loans") && w.next() == Some(v)
            })
            .unwrap_or_else(|| panic!("{v}:\n{list}"))
            .to_string()
    };
    assert!(
        row("1.0.0").contains(&format!("CHANGED         {d} ")),
        "{list}"
    );
    assert!(
        row("1.1.0").contains(&format!("published       {d} ")),
        "{list}"
    );
}

#[test]
fn the_schema_describes_the_file_format() {
    let schema: Value = serde_json::from_str(&ok(&["methodology", "schema"])).unwrap();
    let props = schema["properties"].as_object().unwrap();
    for key in [
        "id",
        "version",
        "levels",
        "common",
        "base_case",
        "pass_criteria",
        "rounding",
    ] {
        assert!(props.contains_key(key), "{key}");
    }
}

/// `diff` covers the mode and every market fact: 1.1.0 -> 2.0.0 lists the change of mode and the
/// market section, and every market-value field of a level.
#[test]
fn issue_11_diff_covers_the_mode_and_the_market_value_fields() {
    let v: Value = serde_json::from_str(&ok(&[
        "methodology",
        "diff",
        "btc-backed-consumer-loans@1.1.0",
        "btc-backed-consumer-loans@2.0.0",
        "--format",
        "json",
    ]))
    .unwrap();
    let changes = v["changes"].as_array().unwrap();
    let has = |level: &str, field: &str| {
        changes
            .iter()
            .any(|c| c["level"] == level && c["field"] == field)
    };
    assert!(has("mode", "mode"), "{v}");
    for fact in [
        "horizon_days",
        "cure_ltv",
        "answer_seed",
        "daily_volume_usd",
    ] {
        assert!(has("market", fact), "market.{fact} missing");
    }
    for field in [
        "btc_trough",
        "liquidation_gap",
        "margin_call_answer_share",
        "path_shape",
    ] {
        assert!(has("AAA", field), "AAA {field} missing");
    }
    let mode = changes.iter().find(|c| c["level"] == "mode").unwrap();
    assert_eq!(mode["old"], "default_and_recovery");
    assert_eq!(mode["new"], "market_value");
}
