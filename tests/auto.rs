//! Amortizing auto loans (issue 16): a two-loan deal amortized by hand to the cent, the AMCAR
//! 2016-3 grid, the generator's aggregates, and the grouping of contracts into lines.

use absrate::asset::auto_loan::{group, scheduled_flows};
use absrate::money::{Rounding, RoundingStrategy};
use absrate::rating::auto::GROUPING;
use absrate::tape::AutoTape;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::util::{absrate, fixture, ok, root};

/// The rows of `cashflows.csv` for one level, as maps of column -> text.
fn rows(csv: &str, level: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut lines = csv.lines();
    let head: Vec<&str> = lines.next().expect("header").split(',').collect();
    lines
        .filter(|l| l.starts_with(&format!("{level},")))
        .map(|l| {
            head.iter()
                .zip(l.split(','))
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// Two contracts, two classes, 2% ABS, a 4% cumulative net loss, worked by hand with the rules
/// of docs/auto.md (every `round` half to even, to the cent). The methodology has one timing
/// curve and one speed and a multiple of 1 at every notch, so every level runs this one case.
///
/// Pool: L1 $10,000.00 at 12% (monthly 1%), 3 payments left, new (age 0); L2 $5,000.00 at 6%
/// (monthly 0.5%), 2 left, 2 made (age 2). Lines in remaining-term order: L2, then L1.
/// Gross defaults: round(0.04 x 15,000.00 / (1 - 0.50)) = 1,200.00, over one year: the monthly
/// share round(1/12, 12 places) = 0.083333333333, so round(1,200.00 x 0.083333333333) = 100.00 a
/// month. Recoveries: 50% one month later. Servicing 1.2% a year; A $12,000 at 6%, B $2,000 at 12%.
///
/// Period 1: defaults 100.00 shared by balance: L2 round(5,000 x 100 / 15,000) = 33.33, L1 66.67.
///   L2: b = 4,966.67; interest round(4,966.67 x 0.005) = 24.83; annuity for 2 payments
///   0.005 / (1 - 1.005^-2) = 0.5037531172; payment round(4,966.67 x 0.5037531172) = 2,501.98;
///   scheduled 2,501.98 - 24.83 = 2,477.15; rest 2,489.52; age 3: SMM 0.02 / (1 - 0.02 x 2) =
///   0.0208333; prepaid round(2,489.52 x 0.0208333) = 51.86; end 2,437.66.
///   L1: b = 9,933.33; interest 99.33; annuity for 3 payments 0.01 / (1 - 1.01^-3) = 0.3400221115;
///   payment round(9,933.33 x 0.3400221115) = 3,377.55; scheduled 3,278.22; rest 6,655.11;
///   age 1: SMM 0.02; prepaid round(133.1022) = 133.10; end 6,522.01.
///   Interest 124.16, scheduled 5,755.37, prepaid 184.96, pool end 8,959.67.
///   Available 124.16 + 5,755.37 + 184.96 = 6,064.49; fees round(15,000.00 x 0.012 / 12) = 15.00;
///   interest A round(12,000 x 0.06 / 12) = 60.00, B round(2,000 x 0.12 / 12) = 20.00;
///   principal A 6,064.49 - 95.00 = 5,969.49 (A 6,030.51 left); B nothing.
/// Period 2: defaults 100.00: L2 round(2,437.66 x 100 / 8,959.67) = 27.21, L1 72.79.
///   L2: b = 2,410.45, interest 12.05, its last payment: scheduled 2,410.45.
///   L1: b = 6,449.22, interest 64.49; annuity for 2 payments at 1% 0.5075124378; payment
///   round(3,273.0586) = 3,273.06; scheduled 3,208.57; rest 3,240.65; age 2: SMM 0.02 / 0.98;
///   prepaid round(66.1357) = 66.14; end 3,174.51.
///   Recoveries of period 1: round(100.00 x 0.5) = 50.00. Available 76.54 + 5,619.02 + 66.14 +
///   50.00 = 5,811.70; fees round(8,959.67 x 0.001) = 8.96; interest A round(6,030.51 x 0.005) =
///   30.15, B 20.00; principal A 5,811.70 - 58.11 = 5,752.59 (277.92 left).
/// Period 3: defaults 100.00, all L1 (L2 is paid off): b = 3,074.51, interest 30.75, its last
///   payment 3,074.51; recoveries 50.00. Available 3,155.26; fees round(3.17451) = 3.17;
///   interest A round(277.92 x 0.005) = 1.39, B 20.00; principal A 277.92, B 2,000.00; residual
///   3,155.26 - 3.17 - 21.39 - 2,277.92 = 852.78. Both classes are paid: the run ends.
#[test]
fn a_two_loan_two_class_deal_amortizes_to_the_cent_as_worked_by_hand() {
    let dir = tempfile::tempdir().expect("dir");
    let csv_path = dir.path().join("flows.csv");
    let deal = fixture("auto-hand/deal.yaml");
    let out = ok(&[
        "rate",
        "--deal",
        deal.to_str().unwrap(),
        "--cashflows",
        csv_path.to_str().unwrap(),
    ]);
    assert!(out.contains("Class A $12,000.00 at 6.00%: AAA"), "{out}");
    let csv = std::fs::read_to_string(&csv_path).expect("csv");
    let r = rows(&csv, "AAA");
    assert_eq!(r.len(), 3, "three periods:\n{csv}");
    let expect: [&[(&str, &str)]; 3] = [
        &[
            ("case", "flat / two_percent"),
            ("performing_start", "15000.00"),
            ("defaults", "100.00"),
            ("interest_cash", "124.16"),
            ("maturities", "5755.37"),
            ("prepayments", "184.96"),
            ("recoveries", "0.00"),
            ("performing_end", "8959.67"),
            ("available", "6064.49"),
            ("fees_paid", "15.00"),
            ("interest_paid_A", "60.00"),
            ("interest_paid_B", "20.00"),
            ("principal_paid_A", "5969.49"),
            ("balance_A", "6030.51"),
            ("principal_paid_B", "0.00"),
            ("residual", "0.00"),
        ],
        &[
            ("defaults", "100.00"),
            ("interest_cash", "76.54"),
            ("maturities", "5619.02"),
            ("prepayments", "66.14"),
            ("recoveries", "50.00"),
            ("performing_end", "3174.51"),
            ("available", "5811.70"),
            ("fees_paid", "8.96"),
            ("interest_paid_A", "30.15"),
            ("principal_paid_A", "5752.59"),
            ("balance_A", "277.92"),
            ("cumulative_defaults", "200.00"),
        ],
        &[
            ("defaults", "100.00"),
            ("interest_cash", "30.75"),
            ("maturities", "3074.51"),
            ("prepayments", "0.00"),
            ("recoveries", "50.00"),
            ("performing_end", "0.00"),
            ("available", "3155.26"),
            ("fees_paid", "3.17"),
            ("interest_paid_A", "1.39"),
            ("interest_paid_B", "20.00"),
            ("principal_paid_A", "277.92"),
            ("principal_paid_B", "2000.00"),
            ("balance_B", "0.00"),
            ("residual", "852.78"),
        ],
    ];
    for (t, (row, want)) in r.iter().zip(expect).enumerate() {
        for (col, v) in want {
            assert_eq!(row[*col], *v, "period {}: {col}", t + 1);
        }
    }
}

fn cnls(out: &str) -> Vec<(String, f64)> {
    out.lines()
        .filter_map(|l| {
            let l = l.trim();
            let class = l.strip_prefix("Class ")?.split(' ').next()?.to_string();
            let be = l.split("break-even CNL ").nth(1)?.split('%').next()?;
            Some((class, be.parse().ok()?))
        })
        .collect()
}

/// Acceptance of issue 16: the grid of all eight classes, A-1 rated on the long-term scale as a
/// senior class, E unrated but modelled, break-even CNLs in seniority order.
#[test]
fn amcar_2016_3_prints_the_grid_of_all_eight_classes_with_break_even_cnls_in_seniority_order() {
    let out = ok(&["rate", "--deal", "pools/amcar-2016-3/deal.yaml"]);
    let classes = ["A-1", "A-2-A", "A-2-B", "A-3", "B", "C", "D", "E"];
    let head = out
        .lines()
        .find(|l| l.trim_start().starts_with("level"))
        .expect("grid header");
    for c in classes {
        assert!(head.contains(&format!("Class {c}")), "{head}");
    }
    assert_eq!(
        out.lines()
            .filter(|l| l.trim_start().starts_with("AAA ") || l.trim_start().starts_with("B- "))
            .count(),
        2,
        "{out}"
    );
    let be = cnls(&out);
    assert_eq!(
        be.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(),
        classes,
        "{out}"
    );
    for w in be.windows(2) {
        assert!(w[0].1 >= w[1].1, "not in seniority order: {be:?}");
    }
    // a long-term notch as a senior class; E: modelled with no published rating.
    assert!(
        out.contains("Class A-1 $221,000,000.00 at 0.75%: AAA (published A-1+ (sf))"),
        "{out}"
    );
    let e = out
        .lines()
        .find(|l| l.trim_start().starts_with("Class E $33,240,000.00"))
        .expect("class E");
    assert!(e.contains("(not rated)"), "{e}");
    assert!(!out.contains("BTC"), "{out}");
}

/// The rationale of an auto deal speaks of auto loans, never of BTC, and every file is written.
#[test]
fn an_auto_report_has_auto_sentences_and_no_btc_ones() {
    let dir = tempfile::tempdir().expect("dir");
    let deal = fixture("auto-hand/deal.yaml");
    ok(&[
        "rate",
        "--deal",
        deal.to_str().unwrap(),
        "--report",
        dir.path().to_str().unwrap(),
    ]);
    for f in [
        "rationale.md",
        "rationale.html",
        "result.json",
        "cashflows.csv",
        "cashflows.xlsx",
    ] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
    let md = std::fs::read_to_string(dir.path().join("rationale.md")).expect("md");
    for word in ["BTC", "bitcoin", "LTV", "margin call", "liquidation"] {
        assert!(!md.contains(word), "`{word}` in an auto rationale:\n{md}");
    }
    for phrase in [
        "Amortizing collateral",
        "Excess spread",
        "Used vehicles",
        "break-even CNL",
    ] {
        assert!(md.contains(phrase), "`{phrase}` missing:\n{md}");
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("result.json")).unwrap())
            .expect("json");
    assert_eq!(json["asset_class"], "auto_loans");
    assert_eq!(json["notes"][0]["break_even_cnl"], "0.5");
    assert_eq!(json["notes"][0]["survives_total_default"], true);
    // The same inputs give the same bytes, the workbook included (its document date is fixed).
    let again = tempfile::tempdir().expect("dir");
    ok(&[
        "rate",
        "--deal",
        deal.to_str().unwrap(),
        "--report",
        again.path().to_str().unwrap(),
    ]);
    for f in [
        "rationale.md",
        "rationale.html",
        "cashflows.xlsx",
        "result.json",
    ] {
        assert_eq!(
            std::fs::read(dir.path().join(f)).expect("first"),
            std::fs::read(again.path().join(f)).expect("second"),
            "{f} differs between two runs"
        );
    }
    // The HTML, rendered by the Tera template, opens in the browser with its grid and no BTC.
    if let Some(dom) = crate::util::open_in_chromium(&dir.path().join("rationale.html")) {
        assert!(dom.contains("<table"), "the grid is a table");
        assert!(dom.contains("break-even CNL"));
        assert!(!dom.contains("BTC"));
    }
}

/// The synthetic AMCAR tape meets the pool's targets (principal exactly, the rest to their
/// published precision), and the seed reproduces it byte for byte.
#[test]
fn the_amcar_tape_meets_its_targets_and_its_seed_reproduces_it() {
    let tape = root().join("pools/amcar-2016-3/tape.csv");
    let t = AutoTape::read(&tape).expect("tape");
    let s = t.summary();
    assert_eq!(s.loans, 69_000);
    assert_eq!(s.principal, "1414578249.34".parse::<Decimal>().unwrap());
    assert_eq!(format!("{:.2}", s.wa_interest_rate * 100.0), "12.10");
    assert_eq!(s.wa_remaining_term.round(), 63.0);
    assert_eq!(s.wa_original_term.round(), 71.0);
    assert_eq!((s.new_vehicle_share * 100.0).round(), 57.0);
    assert_eq!(format!("{:.1}", s.term_60_plus_share * 100.0), "93.5");
    let dir = tempfile::tempdir().expect("dir");
    let again = dir.path().join("tape.csv");
    ok(&[
        "pool",
        "generate",
        "--profile",
        "amcar-2016-3",
        "--seed",
        "20160811",
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(
        std::fs::read(&tape).unwrap() == std::fs::read(&again).unwrap(),
        "the bundled tape is not what its seed generates"
    );
}

/// Grouping the contracts into representative lines keeps the pool's scheduled cash flows
/// (interest plus scheduled principal, each period, no defaults and no prepayments) within
/// 0.01% of contract by contract, every period of the AMCAR pool.
#[test]
fn grouping_keeps_scheduled_cash_flows_within_a_hundredth_of_a_percent() {
    let t = AutoTape::read(&root().join("pools/amcar-2016-3/tape.csv")).expect("tape");
    let rounding = Rounding {
        money_places: 2,
        strategy: RoundingStrategy::HalfEven,
    };
    let by_loan = group(t.loans(), None);
    let grouped = group(t.loans(), Some(GROUPING));
    assert!(
        grouped.len() * 50 < by_loan.len(),
        "{} lines",
        grouped.len()
    );
    let a = scheduled_flows(&by_loan, 80, rounding);
    let b = scheduled_flows(&grouped, 80, rounding);
    let total: Decimal = a.iter().sum();
    let mut worst = 0.0f64;
    for (t, (x, y)) in a.iter().zip(&b).enumerate() {
        // Each period's flow within 0.01% of the loan-by-loan figure (periods with flows of at
        // least $1M; the tail, where a few contracts remain, against the pool's total flow).
        let base = if *x >= Decimal::from(1_000_000) {
            *x
        } else {
            total
        };
        let rel = ((x - y).abs() / base).to_f64().unwrap_or(1.0);
        worst = worst.max(rel);
        assert!(
            rel <= 0.0001,
            "period {}: loan by loan {x}, grouped {y}, {:.5}%",
            t + 1,
            rel * 100.0
        );
    }
    let sum_b: Decimal = b.iter().sum();
    assert!(((total - sum_b).abs() / total).to_f64().unwrap() <= 0.0001);
    eprintln!("worst period difference {:.6}%", worst * 100.0);
}

/// An auto deal whose pool file is a BTC pool is refused, naming the key.
#[test]
fn an_auto_deal_over_a_btc_pool_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let src = fixture("auto-hand/deal.yaml");
    let text = std::fs::read_to_string(&src).unwrap().replace(
        "pool: pool.yaml",
        &format!(
            "pool: {}",
            root().join("pools/ledn-2026-1/pool.yaml").display()
        ),
    );
    let deal = dir.path().join("deal.yaml");
    std::fs::write(&deal, text).unwrap();
    let r = absrate(&["rate", "--deal", deal.to_str().unwrap()]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "auto_loans: the deal has an `auto_loans` section but its pool is `asset_class: btc_backed_consumer_loans`"
        ),
        "{}",
        r.stderr
    );
}

/// `methodology show` reads an auto-loan methodology with its own loader and prints its ladder
/// (multiples to two places, half to even, as the grid prints them); `diff` refuses it by name.
#[test]
fn methodology_show_prints_an_auto_ladder_and_diff_refuses_it() {
    let out = ok(&["methodology", "show", "auto-loans@1.0.0"]);
    assert!(out.starts_with("auto-loans@1.0.0 ("), "{out}");
    assert!(out.contains("\n  AAA      4.00 "), "{out}");
    assert!(out.contains("\n  AA-      2.67 "), "{out}");
    assert!(
        out.contains("front_loaded: 40% / 30% / 20% / 10% by year"),
        "{out}"
    );
    let r = crate::util::absrate(&[
        "methodology",
        "diff",
        "auto-loans@1.0.0",
        "btc-backed-consumer-loans@1.0.0",
    ]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("auto-loans@1.0.0 is an auto-loan methodology: `methodology diff` reads"),
        "{}",
        r.stderr
    );
}

/// `--templates DIR` replaces the auto rationale's templates like the BTC rationale's.
#[test]
fn an_auto_report_uses_the_analysts_templates() {
    let dir = tempfile::tempdir().expect("dir");
    let templates = dir.path().join("templates");
    std::fs::create_dir_all(&templates).expect("templates");
    for name in ["rationale.md", "rationale.html"] {
        std::fs::copy(
            root().join("reports/templates").join(name),
            templates.join(name),
        )
        .expect("copy");
    }
    std::fs::write(
        templates.join("auto-rationale.md"),
        "# {{ title }} (analyst's copy)\n",
    )
    .expect("template");
    let out = dir.path().join("out");
    ok(&[
        "rate",
        "--deal",
        fixture("auto-hand/deal.yaml").to_str().unwrap(),
        "--report",
        out.to_str().unwrap(),
        "--templates",
        templates.to_str().unwrap(),
    ]);
    let md = std::fs::read_to_string(out.join("rationale.md")).expect("md");
    assert!(md.ends_with("(analyst's copy)\n"), "{md}");
}
