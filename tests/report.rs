//! `absrate rate --report DIR`: the five files, reproducibility, escaping, the Markdown as an
//! analyst reads it, and the HTML in a real browser when one is installed.

use std::path::Path;

use crate::util::{absrate, ok};

const FILES: [&str; 5] = [
    "rationale.md",
    "rationale.html",
    "result.json",
    "cashflows.csv",
    "cashflows.xlsx",
];

fn report(dir: &Path) {
    ok(&[
        "rate",
        "--methodology",
        "btc-backed-consumer-loans@1.0.0",
        "--report",
        dir.to_str().unwrap(),
    ]);
}

fn without_run_date(text: &str) -> String {
    text.lines()
        .filter(|l| !l.contains("Run date: "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn two_runs_write_the_same_five_files_but_for_the_run_date() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    report(a.path());
    report(b.path());
    for f in FILES {
        let (x, y) = (
            std::fs::read(a.path().join(f)).unwrap(),
            std::fs::read(b.path().join(f)).unwrap(),
        );
        assert!(!x.is_empty(), "{f} is empty");
        if f.starts_with("rationale") {
            let (x, y) = (String::from_utf8(x).unwrap(), String::from_utf8(y).unwrap());
            assert_eq!(
                x.lines().filter(|l| l.contains("Run date: ")).count(),
                1,
                "{f}"
            );
            assert_eq!(without_run_date(&x), without_run_date(&y), "{f}");
        } else {
            assert!(x == y, "{f} differs between runs");
        }
    }
    // Nothing else is left in the directory (no temporary files).
    assert_eq!(std::fs::read_dir(a.path()).unwrap().count(), FILES.len());
}

#[test]
fn the_markdown_rationale_is_what_a_committee_reads() {
    let dir = tempfile::tempdir().unwrap();
    report(dir.path());
    let md = std::fs::read_to_string(dir.path().join("rationale.md")).unwrap();
    let md: Vec<String> = md
        .lines()
        .map(|l| {
            if l.contains("Run date: ") {
                "- Run date: [RUN DATE]".to_string()
            } else {
                l.to_string()
            }
        })
        .collect();
    insta::assert_snapshot!(md.join("\n"));
}

#[test]
fn text_from_the_deal_is_escaped_in_html() {
    let dir = tempfile::tempdir().unwrap();
    let path = crate::util::deal_named_with_a_script(dir.path());
    let out = dir.path().join("out");
    ok(&[
        "rate",
        "--deal",
        path.to_str().unwrap(),
        "--report",
        out.to_str().unwrap(),
    ]);
    crate::util::assert_script_escaped(
        &std::fs::read_to_string(out.join("rationale.html")).unwrap(),
    );
}

#[test]
fn a_template_directory_replaces_the_bundled_templates() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rationale.md"),
        "# {{ deal }} ({{ ratings[0].indicated }})\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("rationale.html"), "<h1>{{ deal }}</h1>\n").unwrap();
    let out = dir.path().join("out");
    ok(&[
        "rate",
        "--methodology",
        "btc-backed-consumer-loans@1.0.0",
        "--report",
        out.to_str().unwrap(),
        "--templates",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(out.join("rationale.md")).unwrap(),
        "# Ledn Issuer Trust 2026-1 (BBB-)\n"
    );
    // A template naming an unknown variable is refused and nothing is written.
    std::fs::write(dir.path().join("rationale.md"), "{{ no_such_thing }}\n").unwrap();
    let out2 = dir.path().join("out2");
    let r = absrate(&[
        "rate",
        "--report",
        out2.to_str().unwrap(),
        "--templates",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("error: cannot render rationale.md: "),
        "{}",
        r.stderr
    );
    assert!(!out2.join("rationale.html").exists());
}

/// The browser check ([`crate::util::open_in_chromium`]): the page parses, shows the grid and
/// the four charts, and renders to a screenshot.
#[test]
fn the_html_opens_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    report(dir.path());
    let Some(dom) = crate::util::open_in_chromium(&dir.path().join("rationale.html")) else {
        return;
    };
    assert!(
        dom.contains("<table id=\"grid\">"),
        "no grid in the rendered page"
    );
    assert_eq!(dom.matches("<svg").count(), 4, "expected four charts");
}

const V2: &str = "btc-backed-consumer-loans@2.0.0";

fn report_v2(dir: &Path) -> (String, String) {
    ok(&[
        "rate",
        "--methodology",
        V2,
        "--report",
        dir.to_str().unwrap(),
    ]);
    (
        std::fs::read_to_string(dir.join("rationale.md")).unwrap(),
        std::fs::read_to_string(dir.join("rationale.html")).unwrap(),
    )
}

#[test]
fn issue_11_the_market_value_rationale_is_what_a_committee_reads() {
    let dir = tempfile::tempdir().unwrap();
    let (md, _) = report_v2(dir.path());
    let md: Vec<&str> = md
        .lines()
        .map(|l| {
            if l.contains("Run date: ") {
                "- Run date: [RUN DATE]"
            } else {
                l
            }
        })
        .collect();
    insta::assert_snapshot!(md.join("\n"));
}

/// Issue 11: under 2.0.0 the rationale printed the default-and-recovery placeholders of a
/// market-value level ("0.0% default, 100.0% recovery", "break-even default rate 100.0% against
/// 0.0%"). Every figure must come from what the level's price path did.
#[test]
fn issue_11_the_market_value_rationale_states_the_market_figures() {
    let dir = tempfile::tempdir().unwrap();
    let (md, html) = report_v2(dir.path());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("result.json")).unwrap())
            .unwrap();
    for text in [&md, &html] {
        assert!(!text.contains("0.0% default, 100.0% recovery"), "{text}");
        assert!(!text.contains("break-even default rate"), "{text}");
        assert!(!text.contains("Break-even default rates"), "{text}");
        assert!(text.contains("Break-even liquidation gaps"), "{text}");
        assert!(text.contains("Price paths"), "{text}");
        assert!(text.contains("Default (derived)"), "{text}");
        assert!(text.contains("Max execution LTV"), "{text}");
    }
    // Class A's sentence names its level's path as the liquidation engine ran it.
    let a = v["notes"][0]["indicated"].as_str().unwrap();
    let i = absrate::methodology::SCALE
        .iter()
        .position(|n| *n == a)
        .unwrap();
    let level = &v["levels"][i];
    assert_eq!(level["notch"], a);
    let k = &level["market"];
    let pct = |x: &serde_json::Value| {
        format!(
            "{:.1}%",
            x.as_str().unwrap().parse::<f64>().unwrap() * 100.0
        )
    };
    let count = |x: &serde_json::Value| {
        let n = x.as_u64().unwrap();
        format!("{},{:03}", n / 1000, n % 1000)
    };
    let sentence = format!(
        "Under the '{a}' stress (BTC falls {} to ",
        pct(&k["btc_trough"])
    );
    assert!(md.contains(&sentence), "{sentence}\n{md}");
    for figure in [
        format!(
            "of {} loans, {} receive a margin call",
            count(&k["loans"]),
            count(&k["loans_margin_called"])
        ),
        format!("and {} are liquidated", count(&k["loans_liquidated"])),
        format!(
            "a derived {} default and {} recovery",
            pct(&k["default_rate"]),
            pct(&k["recovery_rate"])
        ),
    ] {
        assert!(md.contains(&figure), "{figure}\n{md}");
    }
    let gap = pct(&v["notes"][0]["break_even_liquidation_gap"]);
    assert!(
        md.contains(&format!(
            "the rest of the '{a}' stress held) is {gap} against "
        )),
        "{md}"
    );
    assert!(
        md.contains(&format!(
            "Its break-even BTC decline does not bind: it survives any BTC fall on the '{a}' path"
        )),
        "{md}"
    );
    assert!(md.contains(&format!("| A | '{a}' | {gap} | ")), "{md}");
    // The stated terms of sale are shown as inputs.
    assert!(
        md.contains("| Level | BTC trough | Days to trough | Path shape | Liquidation gap | Sale lag (days) | Slippage | Crowding | Margin calls answered | Balloon in margin call |"),
        "{md}"
    );
    assert!(
        md.contains(
            "| A* | 72.5% | 60 | black_thursday_2020 | 35.0% | 0 | 4.0% | 2x | 20.0% | default |"
        ),
        "{md}"
    );
}

/// Issue 11: the charts read without their captions: whole legend names, and the LTV histogram
/// labelled with its buckets.
#[test]
fn issue_11_charts_carry_whole_legends_and_bucket_names() {
    let dir = tempfile::tempdir().unwrap();
    report(dir.path());
    let html = std::fs::read_to_string(dir.path().join("rationale.html")).unwrap();
    for legend in [
        "Balance by current LTV bucket",
        "Class A at 'BBB-'",
        "Class B at 'BBB-'",
        "Class A at 'BBB'",
        "cumulative defaults at 'BBB-'",
        "cumulative recoveries at 'BBB-'",
        "reserve at 'BBB'",
    ] {
        let legend = legend.replace('\'', "&#x27;");
        let escaped = format!(">{legend}</text>");
        let plain = escaped.replace("&#x27;", "'");
        assert!(
            html.contains(&escaped) || html.contains(&plain),
            "{legend} missing"
        );
    }
    for bucket in ["&lt;40%", "40-45%", "65-70%", "75-80%", "&gt;=80%"] {
        assert!(
            html.contains(&format!(">{bucket}</text>")),
            "{bucket} missing"
        );
    }
    assert!(!html.contains("0 = below 40%"));
}
