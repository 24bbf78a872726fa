//! `absrate simulate --report DIR`: the three files, the same bytes from the same inputs, the
//! Markdown's figures against `simulation.json`, the charts, the HTML in a real browser, and a
//! failed write that leaves nothing behind.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use crate::util::{absrate, ok, root};

const FILES: [&str; 3] = ["simulation.md", "simulation.html", "simulation.json"];

fn simulate_report(dir: &Path, extra: &[&str]) {
    let mut args = vec![
        "simulate",
        "--paths",
        "300",
        "--seed",
        "1",
        "--report",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ok(&args);
}

/// One run of the bundled deal under its methodology's default model, shared by the tests that
/// only read it.
fn bundled() -> &'static Path {
    static RUN: OnceLock<tempfile::TempDir> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        simulate_report(dir.path(), &[]);
        dir
    })
    .path()
}

/// 2.0.1 with harsher terms of sale (a day's move before each sale, 30% slippage, five times the
/// market impact): the sales lose money and the subordinate note loses on some paths, so that
/// the histograms and exceedance curves have something to draw.
fn harsh() -> &'static Path {
    static RUN: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, out) = RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut text = std::fs::read_to_string(
            root().join("methodology/btc-backed-consumer-loans/2.0.1.yaml"),
        )
        .unwrap();
        for (from, to) in [
            (
                "execution_window_hours: { value: \"1\"",
                "execution_window_hours: { value: \"24\"",
            ),
            (
                "slippage: { value: \"0.002\"",
                "slippage: { value: \"0.30\"",
            ),
            (
                "crowding: { value: \"1.0\", source: \"Expected case",
                "crowding: { value: \"5.0\", source: \"Expected case",
            ),
        ] {
            assert!(text.contains(from), "2.0.1 no longer states `{from}`");
            text = text.replacen(from, to, 1);
        }
        let methodology = dir.path().join("harsh.yaml");
        std::fs::write(&methodology, text).unwrap();
        let out = dir.path().join("report");
        simulate_report(&out, &["--methodology", methodology.to_str().unwrap()]);
        (dir, out)
    });
    out
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

fn summary(dir: &Path) -> Value {
    serde_json::from_str(&read(dir, "simulation.json")).unwrap()
}

/// The report's percent: `places` decimals, more for a small nonzero figure so that it keeps two
/// significant digits (at most 8).
fn percent(x: &Value, places: usize) -> String {
    let v = x.as_f64().unwrap() * 100.0;
    let p = if v == 0.0 {
        places
    } else {
        ((1 - v.abs().log10().floor() as i64).clamp(0, 8) as usize).max(places)
    };
    format!("{v:.p$}%")
}

fn dollars(x: f64) -> String {
    let s = (x.round() as u64).to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("${out}")
}

fn rating(x: &Value) -> String {
    x.as_str().unwrap_or("below B-").to_string()
}

#[test]
fn the_report_is_three_files_and_the_same_bytes_from_the_same_inputs() {
    let again = tempfile::tempdir().unwrap();
    simulate_report(again.path(), &[]);
    for f in FILES {
        let (a, b) = (
            std::fs::read(bundled().join(f)).unwrap(),
            std::fs::read(again.path().join(f)).unwrap(),
        );
        assert!(!a.is_empty(), "{f} is empty");
        assert!(a == b, "{f} differs between two runs of the same inputs");
    }
    // Nothing else in the directory (no temporary files).
    let mut names: Vec<String> = std::fs::read_dir(bundled())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["simulation.html", "simulation.json", "simulation.md"]
    );
}

/// Every figure of a note, of the pool, and of the run in the Markdown is the one
/// `simulation.json` holds, formatted for people.
#[test]
fn the_markdown_states_the_figures_of_simulation_json() {
    for dir in [bundled(), harsh()] {
        let md = read(dir, "simulation.md");
        let s = summary(dir);
        let paths = s["paths_run"].as_u64().unwrap();
        assert_eq!(paths, 300);
        for n in s["notes"].as_array().unwrap() {
            let class = n["class"].as_str().unwrap();
            let row = format!(
                "| {class} | {} | {} | {} | {} | {} | {:.2} years |",
                dollars(n["balance"].as_f64().unwrap()),
                percent(&n["probability_of_loss"], 2),
                percent(&n["probability_of_interest_shortfall"], 2),
                percent(&n["loss"]["mean"], 2),
                percent(&n["loss"]["standard_error"], 2),
                n["expected_wal_years"].as_f64().unwrap()
            );
            assert!(md.contains(&row), "{row}\n{md}");
            let quantiles: String = n["loss"]["quantiles"]
                .as_array()
                .unwrap()
                .iter()
                .map(|q| format!(" {} |", percent(&q["value"], 2)))
                .collect();
            let row = format!("| {class} |{quantiles}\n");
            assert!(md.contains(&row), "{row}\n{md}");
            let el = &n["expected_loss_rating"];
            let row = format!(
                "| {class} | **{}** | {} | {} | {} | {:.2} years | {} | {} | {} |",
                rating(&el["rating"]),
                rating(&el["rating_minus_2se"]),
                rating(&el["rating_plus_2se"]),
                if el["holds"].as_bool().unwrap() {
                    "yes"
                } else {
                    "no"
                },
                el["horizon_years"].as_f64().unwrap(),
                percent(&el["allowance"], 2),
                rating(&n["deterministic_rating"]),
                n["published_rating"].as_str().unwrap_or("-"),
            );
            assert!(md.contains(&row), "{row}\n{md}");
            // The sentence names the three ratings.
            let sentence = md
                .lines()
                .find(|l| l.starts_with(&format!("Class {class}: ")))
                .unwrap_or_else(|| panic!("no sentence for class {class}\n{md}"));
            for r in [
                rating(&el["rating"]),
                rating(&n["deterministic_rating"]),
                n["published_rating"].as_str().unwrap().to_string(),
            ] {
                assert!(sentence.contains(&format!("'{r}'")), "{r}: {sentence}");
            }
        }
        // The pool: loss quantiles in percent and dollars, VaR and expected shortfall.
        let balance = s["pool"]["balance"].as_f64().unwrap();
        let loss = &s["pool"]["loss"];
        let quantiles = |f: &dyn Fn(&Value) -> String| -> String {
            loss["quantiles"]
                .as_array()
                .unwrap()
                .iter()
                .map(|q| format!(" {} |", f(&q["value"])))
                .collect()
        };
        let row = format!(
            "| Loss on sales (share of the cut-off balance) | {} | {} |{}",
            percent(&loss["mean"], 2),
            percent(&loss["standard_error"], 2),
            quantiles(&|v| percent(v, 2))
        );
        assert!(md.contains(&row), "{row}\n{md}");
        let row = format!(
            "| Loss on sales ($) | {} | {} |{}",
            dollars(loss["mean"].as_f64().unwrap() * balance),
            dollars(loss["standard_error"].as_f64().unwrap() * balance),
            quantiles(&|v| dollars(v.as_f64().unwrap() * balance))
        );
        assert!(md.contains(&row), "{row}\n{md}");
        for t in loss["tails"].as_array().unwrap() {
            let row = format!(
                "| {}% | {} | {} | {} | {} |",
                t["level"].as_f64().unwrap() * 100.0,
                percent(&t["value_at_risk"], 2),
                dollars(t["value_at_risk"].as_f64().unwrap() * balance),
                percent(&t["expected_shortfall"], 2),
                dollars(t["expected_shortfall"].as_f64().unwrap() * balance),
            );
            assert!(md.contains(&row), "{row}\n{md}");
        }
        // What was run: the model's parameters, the window, the seed, the table's source.
        for p in s["model"]["parameters"].as_array().unwrap() {
            let row = format!(
                "| `{}` | {} | ",
                p["name"].as_str().unwrap(),
                p["value"].as_str().unwrap()
            );
            assert!(md.contains(&row), "{row}\n{md}");
        }
        assert!(md.contains(&format!(
            "Fitted on: {}.",
            s["model"]["fitted_from"].as_str().unwrap()
        )));
        assert!(md.contains("| Seed | 1; "), "{md}");
        assert!(md.contains("| Paths | 300 |"), "{md}");
        let source: Vec<&str> = s["idealized_table_source"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .collect();
        assert!(md.contains(&format!("Idealized table: {}", source.join(" "))));
    }
}

/// The pool's two histograms always; per note an exceedance curve where a path lost something,
/// and a sentence saying so where none did.
#[test]
fn the_charts_are_drawn_and_a_note_without_loss_says_so() {
    let mut curves = 0;
    for dir in [bundled(), harsh()] {
        let (md, html) = (read(dir, "simulation.md"), read(dir, "simulation.html"));
        let s = summary(dir);
        for title in [
            "Pool loss on sales over 300 paths",
            "Loans liquidated over 300 paths",
        ] {
            assert!(html.contains(&format!("<title>{title}</title>")), "{title}");
        }
        for n in s["notes"].as_array().unwrap() {
            let class = n["class"].as_str().unwrap();
            let chart = format!("<title>Class {class}: loss exceedance</title>");
            let none =
                format!("No path of 300 left class {class} with any principal or interest unpaid");
            if n["loss"]["mean"].as_f64().unwrap() > 0.0 {
                curves += 1;
                assert!(html.contains(&chart), "{chart}");
                assert!(!md.contains(&none) && !html.contains(&none), "{none}");
            } else {
                assert!(!html.contains(&chart), "{chart}");
                assert!(md.contains(&none) && html.contains(&none), "{none}");
            }
        }
        let notes_with_loss = s["notes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["loss"]["mean"].as_f64().unwrap() > 0.0)
            .count();
        assert_eq!(html.matches("<svg").count(), 2 + notes_with_loss);
    }
    // The harsh terms make at least one note lose on some path: a curve is drawn.
    assert!(curves > 0, "no exceedance curve in either run");
}

#[test]
fn the_simulation_html_opens_in_headless_chromium() {
    for dir in [bundled(), harsh()] {
        let Some(dom) = crate::util::open_in_chromium(&dir.join("simulation.html")) else {
            return;
        };
        for table in ["notes", "ratings", "pool"] {
            assert!(
                dom.contains(&format!("<table id=\"{table}\">")),
                "no {table} table in the rendered page"
            );
        }
        let svgs = read(dir, "simulation.html").matches("<svg").count();
        assert!(svgs >= 2);
        assert_eq!(
            dom.matches("<svg").count(),
            svgs,
            "charts missing in the DOM"
        );
    }
}

/// A report directory that cannot be written: exit 5, the message names it, and nothing is left.
#[test]
fn a_failed_report_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    // DIR is a file.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "mine").unwrap();
    let report_into = |dir: &Path| {
        absrate(&[
            "simulate",
            "--paths",
            "20",
            "--report",
            dir.to_str().unwrap(),
        ])
    };
    let r = report_into(&file);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with(&format!("error: {}: cannot write: ", file.display())),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    // One of the three files cannot be put in place (a directory holds its name): the files
    // already moved are taken back out.
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join("simulation.html/in-the-way")).unwrap();
    let r = report_into(&out);
    assert_eq!(r.code, 5, "{}", r.stderr);
    let mut left: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["simulation.html"], "{}", r.stderr);
}

/// Text from the deal stays text in the HTML (Tera escapes it; the charts escape their labels).
#[test]
fn text_from_the_deal_is_escaped_in_the_simulation_html() {
    let dir = tempfile::tempdir().unwrap();
    let path = crate::util::deal_named_with_a_script(dir.path());
    let out = dir.path().join("out");
    ok(&[
        "simulate",
        "--paths",
        "20",
        "--deal",
        path.to_str().unwrap(),
        "--report",
        out.to_str().unwrap(),
    ]);
    crate::util::assert_script_escaped(&read(&out, "simulation.html"));
}
