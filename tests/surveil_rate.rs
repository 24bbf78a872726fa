//! `absrate surveil`: every servicer report rated from its payment date to the legal final.
//!
//! The seam: rating a report's deal state equals rating a deal file whose closing is that state
//! (its `opening` section), to the cent, at every level, with the same ratings and break-evens.

use std::path::{Path, PathBuf};

use absrate::deal::Deal;
use absrate::methodology::Registry;
use absrate::rating::{self, BreakEvens};
use absrate::surveil;
use absrate::surveil::rate::Origin;
use absrate::tape::Tape;
use rust_decimal::Decimal;

use crate::util::{absrate, ok, root};

const DEAL: &str = "pools/ledn-2026-1/deal.yaml";
/// Loans of the bundled tape the report's tape keeps: enough for every stress to bite, few
/// enough for a debug build.
const LOANS: usize = 600;

/// The figures of the report the seam test rates (a revolving deal after its first payment date,
/// with defaults since closing near the 15% trigger, cash awaiting reinvestment, interest carried
/// on Class B and an earlier shortfall on it).
struct Figures {
    a: Decimal,
    b: Decimal,
    reserve: Decimal,
    collection: Decimal,
    reinvestment: Decimal,
    defaults: Decimal,
    b_carried: Decimal,
}

/// Writes a one-report directory under `dir`: the first `LOANS` loans of the bundled tape, the
/// notes sized to that pool. Returns the reports directory and the figures written.
fn report_dir(dir: &Path) -> (PathBuf, Figures) {
    report_dir_with(dir, &[])
}

/// [`report_dir`], and a report after it for each `(period, date, price)` of `more` (same loans,
/// notes and accounts).
fn report_dir_with(dir: &Path, more: &[(u32, &str, &str)]) -> (PathBuf, Figures) {
    let tape = std::fs::read_to_string(root().join("pools/ledn-2026-1/tape.csv")).expect("tape");
    let kept: Vec<&str> = tape.lines().take(LOANS + 1).collect();
    let principal_col = kept[0]
        .split(',')
        .position(|c| c == "principal")
        .expect("principal column");
    let pool: Decimal = kept[1..]
        .iter()
        .map(|l| {
            l.split(',')
                .nth(principal_col)
                .expect("principal")
                .parse::<Decimal>()
                .expect("number")
        })
        .sum();
    let round = |d: Decimal| d.round_dp(2);
    let f = Figures {
        a: round(pool * Decimal::new(75, 2)),
        b: round(pool * Decimal::new(12, 2)),
        reserve: round(pool * Decimal::new(87, 2) * Decimal::new(5, 2)),
        collection: round(pool * Decimal::new(1, 2)),
        reinvestment: round(pool * Decimal::new(3, 2)),
        defaults: rust_decimal::dec!(29000000.00),
        b_carried: rust_decimal::dec!(1250.00),
    };
    let reports = dir.join("reports");
    write_report(&reports, &kept, &f, (1, "2026-03-20", "70000.00"));
    for m in more {
        write_report(&reports, &kept, &f, *m);
    }
    (reports, f)
}

/// Writes the report of `(period, date, price)` with the figures `f` over the tape `rows`.
fn write_report(
    reports: &Path,
    rows: &[&str],
    f: &Figures,
    (period, date, price): (u32, &str, &str),
) {
    let folder = reports.join(date);
    std::fs::create_dir_all(&folder).expect("folder");
    std::fs::write(folder.join("tape.csv"), rows.join("\n") + "\n").expect("tape");
    std::fs::write(
        folder.join("report.yaml"),
        format!(
            r#"deal: Ledn Issuer Trust 2026-1
payment_date: {date}
period: {period}
btc_price: "{price}"
phase: revolving
triggers_breached: []
notes:
  - {{ class: A, balance: "{a}", interest_carried: "0.00" }}
  - {{ class: B, balance: "{b}", interest_carried: "{bc}" }}
fees_carried: "0.00"
reserve: "{reserve}"
collection_account: "{collection}"
reinvestment_account: "{reinvestment}"
cumulative_defaults: "{defaults}"
cumulative_losses: "0.00"
cumulative_liquidations: {{ count: 0, balance: "0.00" }}
tape: tape.csv
"#,
            a = f.a,
            b = f.b,
            bc = f.b_carried,
            reserve = f.reserve,
            collection = f.collection,
            reinvestment = f.reinvestment,
            defaults = f.defaults,
        ),
    )
    .expect("report");
}

/// Writes a deal file whose closing is the report: the bundled deal's text with the report's
/// date, notes and cash, its pool valued on the report's date at its price, and, with `opening`,
/// the `opening` section stating the rest of the report's state.
fn deal_at_report(dir: &Path, f: &Figures, initial_pool: Decimal, opening: bool) -> PathBuf {
    let here = dir.join(if opening { "with-opening" } else { "new-deal" });
    std::fs::create_dir_all(&here).expect("dir");
    let pool = std::fs::read_to_string(root().join("pools/ledn-2026-1/pool.yaml")).expect("pool");
    let pool = pool
        .replace("date: 2025-12-31", "date: 2026-03-20")
        .replace("btc_price: \"87505.00\"", "btc_price: \"70000.00\"")
        .replace("tape: tape.csv", "tape: ../reports/2026-03-20/tape.csv");
    std::fs::write(here.join("pool.yaml"), pool).expect("pool");
    let deal = std::fs::read_to_string(root().join(DEAL)).expect("deal");
    let mut deal = deal
        .replace("closing: 2026-02-18", "closing: 2026-03-20")
        .replace("first_payment: 2026-03-20", "first_payment: 2026-04-20")
        .replace(
            "value: \"1000000.00\"",
            &format!("value: \"{}\"", f.collection),
        )
        .replace("value: \"160000000.00\"", &format!("value: \"{}\"", f.a))
        .replace("value: \"28000000.00\"", &format!("value: \"{}\"", f.b))
        .replace("months:\n    value: 12", "months:\n    value: 11");
    assert!(
        deal.contains("value: 11"),
        "the revolving months were replaced"
    );
    if opening {
        deal.push_str(&format!(
            r#"
opening:
  source: "the servicer report of 2026-03-20 (tests/surveil_rate.rs)"
  phase: revolving
  reserve: "{reserve}"
  reinvestment_account: "{reinvestment}"
  fees_carried: "0.00"
  cumulative_defaults: "{defaults}"
  initial_pool: "{initial_pool}"
  notes:
    - {{ class: A, interest_carried: "0.00", shortfall_before: "0.00" }}
    - {{ class: B, interest_carried: "{bc}", shortfall_before: "{bc}" }}
"#,
            reserve = f.reserve,
            reinvestment = f.reinvestment,
            defaults = f.defaults,
            bc = f.b_carried,
        ));
    }
    let path = here.join("deal.yaml");
    std::fs::write(&path, deal).expect("deal");
    path
}

/// Rating the report's state (what `absrate surveil` rates) equals rating the deal file whose
/// closing is that state, to the cent: every level's periods and note outcomes, every note's
/// ratings and break-evens; under a default-and-recovery methodology (1.0.0) and a market-value
/// one (2.1.0). The same deal without its `opening` (a new deal on the report's date) rates
/// differently: the state is what carries the difference.
#[test]
fn rating_a_report_equals_rating_a_deal_whose_closing_is_that_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (reports_dir, figures) = report_dir(dir.path());
    let deal = Deal::load(&root().join(DEAL)).expect("deal");
    let reports = surveil::check(&reports_dir, &deal).expect("the report reads");
    let origin = Origin::of(
        &Tape::read(&deal.pool.tape)
            .expect("cut-off tape")
            .records()
            .expect("records"),
    );
    assert_eq!(origin.pool, rust_decimal::dec!(199100000.00));
    let states = surveil::deal_states(&reports, origin.pool);
    let with_opening = Deal::load(&deal_at_report(dir.path(), &figures, origin.pool, true))
        .expect("the deal whose closing is the report");
    let new_deal =
        Deal::load(&deal_at_report(dir.path(), &figures, origin.pool, false)).expect("new deal");
    let tape = Tape::read(&with_opening.pool.tape).expect("report tape");
    let registry = Registry::new(root().join("methodology"));
    for version in ["1.0.0", "2.1.0"] {
        let m = registry
            .resolve(&format!("btc-backed-consumer-loans@{version}"))
            .expect("methodology");
        let from_state =
            surveil::rate::rate_report(&deal, &reports[0], &states[0], &m, BreakEvens::Search)
                .expect("rating the report")
                .expect("a report before the legal final is rated");
        let from_file = rating::rate(&tape, &with_opening, &m).expect("rating the deal file");
        assert_eq!(from_state.levels.len(), 16);
        for (a, b) in from_state.levels.iter().zip(&from_file.levels) {
            assert_eq!(
                a.run.periods, b.run.periods,
                "{version} '{}' periods",
                a.notch
            );
            assert_eq!(a.notes, b.notes, "{version} '{}' outcomes", a.notch);
            assert_eq!(
                a.default_amount, b.default_amount,
                "{version} '{}'",
                a.notch
            );
        }
        for (a, b) in from_state.notes.iter().zip(&from_file.notes) {
            assert_eq!(
                (a.indicated, a.quantitative, &a.break_even),
                (b.indicated, b.quantitative, &b.break_even),
                "{version} Class {}",
                a.class
            );
        }
        // The opening matters: without it the same date, notes and pool rate otherwise.
        let fresh = rating::rate(&tape, &new_deal, &m).expect("rating the new deal");
        let differs = from_state
            .levels
            .iter()
            .zip(&fresh.levels)
            .any(|(a, b)| a.run.periods != b.run.periods);
        assert!(differs, "{version}: the opening changed nothing");
    }
}

/// The text printed for the consistent fixture series: one row per report with its figures and
/// each note's rating and credit support, the moves, the break-evens.
#[test]
fn surveil_prints_one_row_per_report_with_ratings_and_figures() {
    let out = ok(&[
        "surveil",
        "--reports",
        "tests/fixtures/surveillance/consistent",
        "--methodology",
        "btc-backed-consumer-loans@1.0.0",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "Ledn Issuer Trust 2026-1: 3 reports from tests/fixtures/surveillance/consistent rated under btc-backed-consumer-loans@1.0.0"
    );
    assert!(
        out.contains(
            "  2026-03-20       1  revolving   $70,000.00      7   $137,634.46  $1,000,000.00       87.9%     70.7%      $61,884.68       $49,507.74              0.0%"
        ),
        "{out}"
    );
    assert!(out.contains("\nRating moves:\n"), "{out}");
    assert!(out.contains("\nBreak-evens (the stress of the level each note is rated at):\n"));
}

/// JSON and CSV carry the same figures; `--report` writes the four files.
#[test]
fn surveil_json_csv_and_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let args = |format: &str| {
        vec![
            "surveil".to_string(),
            "--reports".into(),
            "tests/fixtures/surveillance/consistent".into(),
            "--methodology".into(),
            "btc-backed-consumer-loans@1.0.0".into(),
            "--format".into(),
            format.into(),
        ]
    };
    let json: serde_json::Value =
        serde_json::from_str(&ok(&args("json"))).expect("surveil --format json is JSON");
    let w = &json["watches"];
    assert_eq!(w.as_array().map(Vec::len), Some(3));
    assert_eq!(w[0]["payment_date"], "2026-03-20");
    assert_eq!(w[0]["loan_balance"], "137634.46");
    assert_eq!(w[0]["price_at_liquidation"], "61884.68");
    assert_eq!(json["cutoff_loans"], 5441);
    let csv = ok(&args("csv"));
    assert_eq!(
        csv.lines().count(),
        1 + 3 * 2,
        "one row per report and note"
    );
    assert!(csv.starts_with("payment_date,period,phase,btc_price,"));
    let mut with_report = args("text");
    with_report.extend(["--report".into(), out.display().to_string()]);
    let r = absrate(&with_report);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for f in [
        "surveillance.md",
        "surveillance.html",
        "surveillance.json",
        "surveillance.csv",
    ] {
        assert!(out.join(f).is_file(), "{f} written");
    }
    assert_eq!(
        std::fs::read_to_string(out.join("surveillance.csv")).expect("csv"),
        csv
    );
}

/// The browser check: the surveillance HTML opens in headless Chromium with its four charts.
#[test]
fn the_surveillance_html_opens_in_headless_chromium_with_every_chart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    ok(&[
        "surveil",
        "--reports",
        "tests/fixtures/surveillance/consistent",
        "--methodology",
        "btc-backed-consumer-loans@1.0.0",
        "--report",
        &out.display().to_string(),
    ]);
    let Some(dom) = crate::util::open_in_chromium(&out.join("surveillance.html")) else {
        return;
    };
    for id in [
        "chart-ratings",
        "chart-credit-support",
        "chart-price",
        "chart-collateral",
    ] {
        let at = dom
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("{id} in the DOM"));
        assert!(
            dom[at..].trim_start().contains("<svg"),
            "{id} holds an SVG chart"
        );
    }
    assert_eq!(dom.matches("<svg").count(), 4, "four charts");
    assert!(dom.contains("Indicated rating by report"));
    assert!(dom.contains("BTC price against the pool's trigger prices"));
}

/// Without --reports: a usage error naming it.
#[test]
fn surveil_without_reports_is_a_usage_error() {
    let r = absrate(&["surveil"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--reports"), "{}", r.stderr);
}

/// A month in which only the BTC price falls: the notes' ratings fall and the move names the
/// price as its cause (the pool and the note balances, taken alone, move nothing).
#[test]
fn a_move_caused_by_the_price_alone_names_the_price() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (reports, _) = report_dir_with(dir.path(), &[(2, "2026-04-20", "35000.00")]);
    let out = ok(&[
        "surveil",
        "--reports",
        &reports.display().to_string(),
        "--methodology",
        "btc-backed-consumer-loans@2.1.0",
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&out).expect("json");
    let second = &json["watches"][1];
    let mut moved = 0;
    for note in second["notes"].as_array().expect("notes") {
        if let Some(m) = note.get("move") {
            moved += 1;
            assert_eq!(m["causes"], serde_json::json!(["price"]), "{note}");
            assert_ne!(m["from"], m["to"]);
        }
    }
    assert!(moved > 0, "the price halving moves a rating: {second}");
}

/// On the real history (skipped without ../shared/data): the reports `replay --monthly-reports`
/// writes are every one rated, from the closing report to the last payment date of the price
/// file, and each class's credit support is what the report's own figures give.
#[test]
fn surveil_rates_every_report_of_the_real_history() {
    if !crate::replay::have_prices() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let reports = dir.path().join("reports");
    ok(&[
        "replay",
        "--prices",
        "../shared/data/btc-usd-daily.csv",
        "--monthly-reports",
        &reports.display().to_string(),
    ]);
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "surveil",
        "--reports",
        &reports.display().to_string(),
        "--format",
        "json",
    ]))
    .expect("json");
    let watches = json["watches"].as_array().expect("watches");
    let deal = Deal::load(&root().join(DEAL)).expect("deal");
    let read = surveil::check(&reports, &deal).expect("reports");
    assert_eq!(watches.len(), read.len());
    assert_eq!(watches[0]["payment_date"], "2026-02-18");
    assert_eq!(watches[0]["period"], 0);
    for (w, r) in watches.iter().zip(&read) {
        assert_eq!(w["rated"], true, "{}", w["payment_date"]);
        assert_eq!(w["payment_date"], r.payment_date.to_string());
        let loans = r.pool_balance();
        let collateral = loans + r.collection_cash + r.reinvestment_cash + r.reserve;
        let mut above = Decimal::ZERO;
        for (n, f) in w["notes"].as_array().expect("notes").iter().zip(&r.notes) {
            assert!(
                n["indicated"].as_str().is_some(),
                "{}: every class rated",
                w["payment_date"]
            );
            above += f.balance;
            let support = ((collateral - above) / loans).round_dp(6);
            assert_eq!(
                n["credit_support"]
                    .as_str()
                    .map(|s| s.parse::<Decimal>().expect("decimal")),
                Some(support),
                "{} Class {}",
                w["payment_date"],
                f.class
            );
        }
    }
}

/// An `opening` that lists the classes out of order is refused at its line, naming both orders.
#[test]
fn an_opening_out_of_class_order_is_refused_at_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, figures) = report_dir(dir.path());
    let path = deal_at_report(dir.path(), &figures, rust_decimal::dec!(199100000.00), true);
    let text = std::fs::read_to_string(&path).expect("deal");
    let swapped = text
        .replace(
            "    - { class: A, interest_carried",
            "    - { class: X, interest_carried",
        )
        .replace(
            "    - { class: B, interest_carried",
            "    - { class: A, interest_carried",
        )
        .replace(
            "    - { class: X, interest_carried",
            "    - { class: B, interest_carried",
        );
    std::fs::write(&path, &swapped).expect("deal");
    let line = swapped
        .lines()
        .position(|l| l.starts_with("    - { class: B, interest_carried"))
        .expect("the opening's first class")
        + 1;
    let r = absrate(&["rate", "--deal", &path.display().to_string()]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "error: {}:{line}:7: opening.notes: lists classes [B, A]: it must list the deal's notes in order, [A, B]\n",
            path.display()
        )
    );
}
