//! The error catalogue of servicer reports (`absrate surveil check`, docs/surveillance.md): a
//! consistent series, and one fixture per kind of inconsistency under
//! tests/fixtures/surveillance/, each refused with its exact message and exit code 3.

use std::path::Path;

use absrate::deal::{Deal, Phase};
use absrate::surveil;
use rust_decimal::{Decimal, dec};

use crate::util::{absrate, ok};

const INVALID_INPUT: i32 = 3;
const DEAL: &str = "pools/ledn-2026-1/deal.yaml";

/// Runs `surveil check` on a fixture directory and returns stderr, requiring exit code 3 and
/// nothing on stdout.
fn refused(variant: &str) -> String {
    let dir = format!("tests/fixtures/surveillance/{variant}");
    let r = absrate(&["surveil", "check", "--deal", DEAL, "--reports", &dir]);
    assert_eq!(
        r.code, INVALID_INPUT,
        "{variant}: stdout {}\nstderr {}",
        r.stdout, r.stderr
    );
    assert_eq!(r.stdout, "", "{variant}: nothing on stdout");
    r.stderr
}

/// An accelerated deal never returns to amortizing.
#[test]
fn accelerated_goes_back() {
    assert_eq!(
        refused("accelerated-goes-back"),
        "error: tests/fixtures/surveillance/accelerated-goes-back/2026-05-20/report.yaml: phase: accelerated in tests/fixtures/surveillance/accelerated-goes-back/2026-04-20/report.yaml, amortizing here: a deal never goes back to an earlier phase (revolving, then amortizing, then accelerated)
"
    );
}

/// A report dated before the deal closed.
#[test]
fn before_closing() {
    assert_eq!(
        refused("before-closing"),
        "error: tests/fixtures/surveillance/before-closing/2026-01-20/report.yaml:4:15: payment_date: 2026-01-20 is before the deal's closing, 2026-02-18
"
    );
}

/// A loan's borrower changes.
#[test]
fn borrower_changes() {
    assert_eq!(
        refused("borrower-changes"),
        "error: tests/fixtures/surveillance/borrower-changes/2026-05-20/report.yaml: loan L002022 borrower_id: B00956 in tests/fixtures/surveillance/borrower-changes/2026-04-20/report.yaml, B99999 here: a loan's borrower never changes
"
    );
}

/// Notes listed out of the deal's order.
#[test]
fn class_order() {
    assert_eq!(
        refused("class-order"),
        "error: tests/fixtures/surveillance/class-order/2026-03-20/report.yaml:10:5: notes[1].class: is `B`, the deal's class 1 is `A` (classes: A, B, in this order)
"
    );
}

/// Cumulative defaults fall.
#[test]
fn defaults_fall() {
    assert_eq!(
        refused("defaults-fall"),
        "error: tests/fixtures/surveillance/defaults-fall/2026-05-20/report.yaml: cumulative_defaults: 8169.80 in tests/fixtures/surveillance/defaults-fall/2026-04-20/report.yaml, 8000.00 here: a figure since closing never falls
"
    );
}

/// Two reports for the same payment date.
#[test]
fn duplicate_date() {
    assert_eq!(
        refused("duplicate-date"),
        "error: tests/fixtures/surveillance/duplicate-date/2026-04-20-resent/report.yaml: payment_date: 2026-04-20 is also the date of the report beside it: one report per payment date (tests/fixtures/surveillance/duplicate-date/2026-04-20/report.yaml)
"
    );
}

/// More balance liquidated than the loans that left the tape had.
#[test]
fn liquidated_balance_above_loans_gone() {
    assert_eq!(
        refused("liquidated-balance-above-loans-gone"),
        "error: tests/fixtures/surveillance/liquidated-balance-above-loans-gone/2026-05-20/report.yaml: cumulative_liquidations.balance: 8169.80 in tests/fixtures/surveillance/liquidated-balance-above-loans-gone/2026-04-20/report.yaml, 68169.80 (60000.00 more, but the loans that left the tape had 53476.09 on the previous one) here: a liquidated loan is counted at its balance on the last tape that listed it
"
    );
}

/// The cumulative liquidated balance falls.
#[test]
fn liquidation_balance_falls() {
    assert_eq!(
        refused("liquidation-balance-falls"),
        "error: tests/fixtures/surveillance/liquidation-balance-falls/2026-05-20/report.yaml: cumulative_liquidations.balance: 8169.80 in tests/fixtures/surveillance/liquidation-balance-falls/2026-04-20/report.yaml, 8000.00 here: a figure since closing never falls
"
    );
}

/// The cumulative liquidation count falls.
#[test]
fn liquidation_count_falls() {
    assert_eq!(
        refused("liquidation-count-falls"),
        "error: tests/fixtures/surveillance/liquidation-count-falls/2026-05-20/report.yaml: cumulative_liquidations.count: 1 in tests/fixtures/surveillance/liquidation-count-falls/2026-04-20/report.yaml, 0 here: a figure since closing never falls
"
    );
}

/// More loans liquidated than left the tape.
#[test]
fn liquidations_above_loans_gone() {
    assert_eq!(
        refused("liquidations-above-loans-gone"),
        "error: tests/fixtures/surveillance/liquidations-above-loans-gone/2026-05-20/report.yaml: cumulative_liquidations.count: 1 in tests/fixtures/surveillance/liquidations-above-loans-gone/2026-04-20/report.yaml, 4 (3 more, but 2 loans left the tape) here: a liquidated loan leaves the tape
"
    );
}

/// A loan grows by more than its capitalized interest.
#[test]
fn loan_advance() {
    assert_eq!(
        refused("loan-advance"),
        "error: tests/fixtures/surveillance/loan-advance/2026-05-20/report.yaml: loan L002022 principal - capitalized_interest: 3237.04 in tests/fixtures/surveillance/loan-advance/2026-04-20/report.yaml, 4000.00 here: a bullet loan takes no further advance: its balance grows only by capitalized interest
"
    );
}

/// A new loan while the deal does not revolve, the pool otherwise reconciling.
#[test]
fn loan_from_nowhere() {
    assert_eq!(
        refused("loan-from-nowhere"),
        "error: tests/fixtures/surveillance/loan-from-nowhere/2026-05-20/report.yaml: loan L900002 loan_id: absent in tests/fixtures/surveillance/loan-from-nowhere/2026-04-20/report.yaml, on the tape here: a loan appears only while the deal revolves (new loans are bought with principal collections)
"
    );
}

/// Cumulative losses above cumulative defaults.
#[test]
fn losses_above_defaults() {
    assert_eq!(
        refused("losses-above-defaults"),
        "error: tests/fixtures/surveillance/losses-above-defaults/2026-05-20/report.yaml:21:20: cumulative_losses: 60000.00 is above cumulative_defaults 51161.67: a loss is the part of a defaulted balance that was not recovered
"
    );
}

/// Cumulative losses fall.
#[test]
fn losses_fall() {
    assert_eq!(
        refused("losses-fall"),
        "error: tests/fixtures/surveillance/losses-fall/2026-05-20/report.yaml: cumulative_losses: 100.00 in tests/fixtures/surveillance/losses-fall/2026-04-20/report.yaml, 50.00 here: a figure since closing never falls
"
    );
}

/// An amount beyond absrate's limit.
#[test]
fn money_limit() {
    assert_eq!(
        refused("money-limit"),
        "error: tests/fixtures/surveillance/money-limit/2026-03-20/report.yaml:17:10: reserve: must be below 1000000000000 (absrate's limit, docs/reliability.md), got 10000000000000
"
    );
}

/// A folder without report.yaml.
#[test]
fn no_report_file() {
    assert_eq!(
        refused("no-report-file"),
        "error: tests/fixtures/surveillance/no-report-file/2026-03-20: no report.yaml: each folder of a reports directory is a report
"
    );
}

/// A directory with no report folder.
#[test]
fn no_reports() {
    assert_eq!(
        refused("no-reports"),
        "error: tests/fixtures/surveillance/no-reports: no reports: each report is a folder holding a report.yaml (docs/surveillance.md)
"
    );
}

/// A date that is not one of the deal's payment dates.
#[test]
fn not_a_payment_date() {
    assert_eq!(
        refused("not-a-payment-date"),
        "error: tests/fixtures/surveillance/not-a-payment-date/2026-03-21/report.yaml:4:15: payment_date: 2026-03-21 is not a payment date of the deal (monthly from 2026-03-20 to 2030-02-20)
"
    );
}

/// A first report with a note above its original balance.
#[test]
fn note_above_closing() {
    assert_eq!(
        refused("note-above-closing"),
        "error: tests/fixtures/surveillance/note-above-closing/2026-03-20/report.yaml: notes[A].balance: 160000000.00 in pools/ledn-2026-1/deal.yaml, 160000000.01 here: a note's balance never rises above its balance at closing
"
    );
}

/// A note balance rises.
#[test]
fn note_balance_rises() {
    assert_eq!(
        refused("note-balance-rises"),
        "error: tests/fixtures/surveillance/note-balance-rises/2026-05-20/report.yaml: notes[A].balance: 160000000.00 in tests/fixtures/surveillance/note-balance-rises/2026-04-20/report.yaml, 160000000.01 here: a note's balance never rises (principal is only ever paid)
"
    );
}

/// A loan's original principal changes.
#[test]
fn original_principal_changes() {
    assert_eq!(
        refused("original-principal-changes"),
        "error: tests/fixtures/surveillance/original-principal-changes/2026-05-20/report.yaml: loan L002022 original_principal: 3237.04 in tests/fixtures/surveillance/original-principal-changes/2026-04-20/report.yaml, 3000.00 here: the balance a loan was first made at never changes
"
    );
}

/// A month missing between two reports.
#[test]
fn period_gap() {
    assert_eq!(
        refused("period-gap"),
        "error: tests/fixtures/surveillance/period-gap/2026-05-20/report.yaml: period: 3 follows period 1: the report of period 2 (2026-04-20) is missing (tests/fixtures/surveillance/period-gap/2026-03-20/report.yaml)
"
    );
}

/// A period number that is not the date's.
#[test]
fn period_mismatch() {
    assert_eq!(
        refused("period-mismatch"),
        "error: tests/fixtures/surveillance/period-mismatch/2026-04-20/report.yaml:5:9: period: is 3, but 2026-04-20 is the deal's payment date number 2
"
    );
}

/// Amortizing back to revolving.
#[test]
fn phase_goes_back() {
    assert_eq!(
        refused("phase-goes-back"),
        "error: tests/fixtures/surveillance/phase-goes-back/2026-05-20/report.yaml: phase: amortizing in tests/fixtures/surveillance/phase-goes-back/2026-04-20/report.yaml, revolving here: a deal never goes back to an earlier phase (revolving, then amortizing, then accelerated)
"
    );
}

/// The pool grows while the deal does not revolve.
#[test]
fn pool_from_nowhere() {
    assert_eq!(
        refused("pool-from-nowhere"),
        "error: tests/fixtures/surveillance/pool-from-nowhere/2026-05-20/report.yaml: pool balance: 154794.77 (154628.98 on its tape + 165.79 of interest capitalized since) in tests/fixtures/surveillance/pool-from-nowhere/2026-04-20/report.yaml, 159804.64 (116812.77 on the tape + 42991.87 liquidated since) here: while the deal does not revolve no loan is bought: the pool and what was liquidated cannot exceed the previous pool and the interest capitalized on it
"
    );
}

/// The reinvestment account grows while the deal does not revolve.
#[test]
fn reinvestment_rises() {
    assert_eq!(
        refused("reinvestment-rises"),
        "error: tests/fixtures/surveillance/reinvestment-rises/2026-05-20/report.yaml: reinvestment_account: 975000.00 in tests/fixtures/surveillance/reinvestment-rises/2026-04-20/report.yaml, 1000000.00 here: the reinvestment account grows only while the deal revolves (`reinvest` is a step of the revolving waterfall)
"
    );
}

/// A loan's renewal count falls.
#[test]
fn renewals_fall() {
    assert_eq!(
        refused("renewals-fall"),
        "error: tests/fixtures/surveillance/renewals-fall/2026-05-20/report.yaml: loan L000891 renewal_count: 2 in tests/fixtures/surveillance/renewals-fall/2026-04-20/report.yaml, 1 here: a loan's renewals never fall
"
    );
}

/// Revolving past the revolving period.
#[test]
fn revolving_too_long() {
    assert_eq!(
        refused("revolving-too-long"),
        "error: tests/fixtures/surveillance/revolving-too-long/2027-02-20/report.yaml:7:8: phase: revolving after payment date 12, but the deal revolves for 12 months (its revolving period ends with payment date 12)
"
    );
}

/// A tape that does not validate.
#[test]
fn tape_invalid() {
    assert_eq!(
        refused("tape-invalid"),
        "error: tests/fixtures/surveillance/tape-invalid/2026-05-20/report.yaml: tape: tests/fixtures/surveillance/tape-invalid/2026-05-20/tape.csv: 1 invalid value in 1 of 5 rows
  row 1, loan L002022, principal = \"-5.00\": must be > 0
violations per rule:
  1  principal: must be > 0
"
    );
}

/// A loan's term changes without a renewal.
#[test]
fn term_without_renewal() {
    assert_eq!(
        refused("term-without-renewal"),
        "error: tests/fixtures/surveillance/term-without-renewal/2026-05-20/report.yaml: loan L000891 term: 2026-04-01 to 2027-04-01 in tests/fixtures/surveillance/term-without-renewal/2026-04-20/report.yaml, 2026-04-01 to 2027-05-01 here: a loan's term changes only with a renewal (renewal_count + 1)
"
    );
}

/// A breached trigger while revolving.
#[test]
fn trigger_while_revolving() {
    assert_eq!(
        refused("trigger-while-revolving"),
        "error: tests/fixtures/surveillance/trigger-while-revolving/2026-03-20/report.yaml:8:21: triggers_breached[1]: `cumulative_default_ratio` is breached but the phase is revolving: a breached trigger ends the revolving period
"
    );
}

/// An unknown key in report.yaml.
#[test]
fn unknown_field() {
    assert_eq!(
        refused("unknown-field"),
        "error: tests/fixtures/surveillance/unknown-field/2026-03-20/report.yaml:17:1: unknown field `reserv`, expected one of deal, payment_date, period, btc_price, phase, triggers_breached, notes, fees_carried, reserve, collection_account, reinvestment_account, cumulative_defaults, cumulative_losses, cumulative_liquidations, tape
  --> tests/fixtures/surveillance/unknown-field/2026-03-20/report.yaml:17:1
   |
15 |     interest_carried: \"0.00\"
16 | fees_carried: \"0.00\"
17 | reserv: \"9400000.00\"
   | ^ unknown field `reserv`, expected one of deal, payment_date, period, btc_price, phase, triggers_breached, notes, fees_carried, reserve, collection_account, reinvestment_account, cumulative_defaults, cumulative_losses, cumulative_liquidations, tape
18 | collection_account: \"0.00\"
19 | reinvestment_account: \"1000000.00\"
   |
"
    );
}

/// A report of another deal.
#[test]
fn wrong_deal() {
    assert_eq!(
        refused("wrong-deal"),
        "error: tests/fixtures/surveillance/wrong-deal/2026-03-20/report.yaml:3:7: deal: `Ledn Issuer Trust 2025-1` is not the deal being followed: pools/ledn-2026-1/deal.yaml names it `Ledn Issuer Trust 2026-1`
"
    );
}

/// Runs `surveil check` on a fixture directory that must pass, and returns stdout.
fn checked(variant: &str) -> String {
    let dir = format!("tests/fixtures/surveillance/{variant}");
    ok(&["surveil", "check", "--deal", DEAL, "--reports", &dir])
}

#[test]
fn a_consistent_series_prints_one_line_per_report() {
    assert_eq!(
        checked("consistent"),
        "Ledn Issuer Trust 2026-1: 3 reports from tests/fixtures/surveillance/consistent, each reconciled with the one before

  date        period  phase               Class A         Class B         pool  loans  collection   reinvestment        reserve
  2026-03-20       1  revolving   $160,000,000.00  $28,000,000.00  $137,634.46      7       $0.00  $1,000,000.00  $9,400,000.00
  2026-04-20       2  amortizing  $160,000,000.00  $28,000,000.00  $154,628.98      7       $0.00    $975,000.00  $9,350,000.00
  2026-05-20       3  amortizing  $159,000,000.00  $28,000,000.00   $96,812.77      5       $0.00          $0.00  $9,350,000.00
"
    );
}

/// Each report is the deal state it describes, figure for figure; a note's record (interest
/// shortfalls) is carried through the series.
#[test]
fn a_report_maps_onto_the_deal_state() {
    let deal = Deal::load(Path::new(DEAL)).unwrap();
    let reports =
        surveil::check(Path::new("tests/fixtures/surveillance/consistent"), &deal).unwrap();
    let dates: Vec<String> = reports.iter().map(|r| r.payment_date.to_string()).collect();
    assert_eq!(dates, ["2026-03-20", "2026-04-20", "2026-05-20"]);
    let initial_pool = dec!(199100000.00);
    let s = reports[2].deal_state(initial_pool);
    assert_eq!(s.period, 3);
    assert_eq!(s.as_of.to_string(), "2026-05-20");
    assert_eq!(s.phase, Phase::Amortizing);
    assert_eq!(s.note_balances, [dec!(159000000.00), dec!(28000000.00)]);
    assert_eq!(s.interest_carried, [Decimal::ZERO, dec!(12000.00)]);
    assert_eq!(s.fees_carried, Decimal::ZERO);
    assert_eq!(s.reserve, dec!(9350000.00));
    assert_eq!(s.collection_cash, Decimal::ZERO);
    assert_eq!(s.cumulative_defaults, dec!(51161.67));
    assert_eq!(s.initial_pool, initial_pool);
    assert_eq!(s.records[1].max_shortfall, dec!(12000.00));
    assert_eq!(s.records[1].first_shortfall_period, Some(3));
    assert_eq!(s.records[0].first_shortfall_period, None);
    // The pool is the tape's, exact; the reinvestment account stays with the collateral.
    assert_eq!(reports[2].pool_balance(), dec!(96812.77));
    assert_eq!(reports[2].loans.len(), 5);
    assert_eq!(reports[1].reinvestment_cash, dec!(975000.00));
    assert_eq!(reports[2].btc_price, dec!(72000.00));
    // Through the series, the record keeps the first shortfall and the largest one.
    let states = surveil::deal_states(&reports, initial_pool);
    assert_eq!(states.len(), 3);
    assert_eq!(states[2], s);
    let mut later = reports[2].clone();
    later.notes[1].interest_carried = dec!(5000.00);
    later.period = 4;
    let carried = surveil::deal_states(&[reports[2].clone(), later], initial_pool);
    assert_eq!(carried[1].records[1].max_shortfall, dec!(12000.00));
    assert_eq!(carried[1].records[1].first_shortfall_period, Some(3));
    assert_eq!(carried[1].interest_carried[1], dec!(5000.00));
}

#[test]
fn the_report_format_has_a_json_schema() {
    let schema = surveil::json_schema();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for key in [
        "deal",
        "payment_date",
        "period",
        "btc_price",
        "phase",
        "triggers_breached",
        "notes",
        "reserve",
        "collection_account",
        "reinvestment_account",
        "cumulative_defaults",
        "cumulative_losses",
        "cumulative_liquidations",
        "tape",
    ] {
        assert!(required.contains(&key), "{key} in {required:?}");
    }
    assert_eq!(schema["additionalProperties"], false);
}

/// A reports directory that does not exist.
#[test]
fn absent_directory() {
    assert_eq!(
        refused("absent"),
        "error: tests/fixtures/surveillance/absent: no such file\n"
    );
}

/// A closing report with defaults: they count from closing.
#[test]
fn closing_defaults() {
    assert_eq!(
        refused("closing-defaults"),
        "error: tests/fixtures/surveillance/closing-defaults/2026-02-18/report.yaml:21:22: cumulative_defaults: is 24000.00 in the closing report: defaults and losses count from closing (a loan liquidated before closing is counted in cumulative_liquidations only)
"
    );
}

/// A series may open with the closing report (period 0, dated the closing), which reconciles
/// with the first payment date's like any two reports.
#[test]
fn a_series_may_open_with_the_closing_report() {
    assert_eq!(
        checked("from-closing"),
        "Ledn Issuer Trust 2026-1: 2 reports from tests/fixtures/surveillance/from-closing, each reconciled with the one before

  date        period  phase              Class A         Class B         pool  loans     collection   reinvestment        reserve
  2026-02-18       0  revolving  $160,000,000.00  $28,000,000.00  $137,634.46      7  $1,000,000.00     $25,000.00  $9,400,000.00
  2026-03-20       1  revolving  $160,000,000.00  $28,000,000.00  $137,634.46      7          $0.00  $1,025,000.00  $9,400,000.00
"
    );
}

/// The closing report is the deal's state at closing, as the engine starts from it
/// (`DealState::at_closing`).
#[test]
fn the_closing_report_is_the_state_at_closing() {
    let deal = Deal::load(Path::new(DEAL)).unwrap();
    let reports =
        surveil::check(Path::new("tests/fixtures/surveillance/from-closing"), &deal).unwrap();
    let closing = &reports[0];
    assert_eq!((closing.period, closing.payment_date), (0, deal.closing));
    assert_eq!(closing.liquidations.count, 1);
    let pool = closing.pool_balance();
    let rounding = absrate::money::Rounding {
        money_places: 2,
        strategy: absrate::money::RoundingStrategy::HalfEven,
    };
    assert_eq!(
        closing.deal_state(pool),
        absrate::deal::DealState::at_closing(&deal, pool, rounding)
    );
}

/// A report dated the closing that does not say period 0.
#[test]
fn closing_period() {
    assert_eq!(
        refused("closing-period"),
        "error: tests/fixtures/surveillance/closing-period/2026-02-18/report.yaml:6:9: period: is 1, but 2026-02-18 is the deal's closing: the closing report is period 0
"
    );
}
