//! The error catalogue for hostile input (issue 13, classes 3, 4, 7 and 8): each case has its
//! fixture in `tests/fixtures/hostile-input/`, and its test asserts the exit code (3, invalid
//! input), the whole of stderr, and that nothing was printed on stdout.

use crate::util::absrate;

const INVALID_INPUT: i32 = 3;
const DIR: &str = "tests/fixtures/hostile-input";
const METHODOLOGY: &str = "tests/fixtures/rate/methodology.yaml";

/// Runs `absrate args`, requires exit code 3 and an empty stdout, and returns stderr.
fn refused(args: &[&str]) -> String {
    let r = absrate(args);
    assert_eq!(
        r.code, INVALID_INPUT,
        "{args:?}: stdout {}\nstderr {}",
        r.stdout, r.stderr
    );
    assert_eq!(r.stdout, "", "{args:?}: nothing on stdout");
    r.stderr
}

/// `rate` of the deal fixture `name` under the hand-worked methodology.
fn rate(name: &str) -> String {
    let deal = format!("{DIR}/{name}");
    refused(&["rate", "--deal", &deal, "--methodology", METHODOLOGY])
}

// Class 3: a waterfall listing the same step twice.

#[test]
fn fees_listed_twice_in_a_phase_are_refused_at_load() {
    assert_eq!(
        rate("repeated_fees.yaml"),
        "error: tests/fixtures/hostile-input/repeated_fees.yaml:28:31: waterfall.revolving[2]: \
         `{ pay: fees }` repeats waterfall.revolving[1]: list each step once per phase\n"
    );
}

#[test]
fn interest_of_a_class_listed_twice_is_refused_at_load() {
    assert_eq!(
        rate("repeated_interest.yaml"),
        "error: tests/fixtures/hostile-input/repeated_interest.yaml:29:116: waterfall.amortizing[5]: \
         `{ pay: interest, class: A }` repeats waterfall.amortizing[2]: list each step once per phase\n"
    );
}

// Class 4: one validation path per input, and each message names its own key.

/// The pool file's market terms are checked when it is loaded, so every command that reads the
/// deal refuses them alike, naming the pool file and the key (never a flag not given).
#[test]
fn out_of_range_market_terms_in_the_pool_file_are_refused_by_replay_and_backtest_alike() {
    let cases = [
        (
            "answer_share_above_one",
            "market.margin_call_answer_share: must be within [0, 1], got 1.5",
        ),
        (
            "answer_share_nan",
            "market.margin_call_answer_share: must be within [0, 1], got NaN",
        ),
        (
            "gap_negative",
            "market.liquidation_gap: must be within [0, 1), got -0.5",
        ),
        (
            "gap_above_one",
            "market.liquidation_gap: must be within [0, 1), got 1.5",
        ),
    ];
    let prices = "tests/fixtures/replay/prices.csv";
    for (name, message) in cases {
        let deal = format!("{DIR}/deal_{name}.yaml");
        let expected = format!("error: {DIR}/pool_{name}.yaml: {message}\n");
        let replay = refused(&[
            "replay",
            "--deal",
            &deal,
            "--prices",
            prices,
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-02",
        ]);
        assert_eq!(replay, expected, "replay, {name}");
        let backtest = refused(&[
            "backtest",
            "--deal",
            &deal,
            "--prices",
            prices,
            "--methodology",
            "btc-backed-consumer-loans@2.0.1",
        ]);
        assert_eq!(backtest, expected, "backtest, {name}");
    }
}

/// `--answer-share` and `--gap` go through the pool file's check, and are named as flags.
#[test]
fn market_flags_are_checked_as_the_pool_file_is_and_named_as_flags() {
    let replay = |flag: &str| {
        refused(&[
            "replay",
            "--deal",
            "tests/fixtures/replay/probe-deal.yaml",
            "--prices",
            "tests/fixtures/replay/prices.csv",
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-02",
            flag,
        ])
    };
    assert_eq!(
        replay("--answer-share=1.5"),
        "error: --answer-share: must be within [0, 1], got 1.5\n"
    );
    assert_eq!(
        replay("--answer-share=NaN"),
        "error: --answer-share: must be within [0, 1], got NaN\n"
    );
    assert_eq!(
        replay("--gap=-0.5"),
        "error: --gap: must be within [0, 1), got -0.5\n"
    );
    assert_eq!(
        replay("--gap=1.5"),
        "error: --gap: must be within [0, 1), got 1.5\n"
    );
}

#[test]
fn each_money_field_of_a_deal_is_named_by_its_own_key() {
    assert_eq!(
        rate("negative_cash_at_closing.yaml"),
        "error: tests/fixtures/hostile-input/negative_cash_at_closing.yaml: cash_at_closing: \
         must be >= 0, got -1000.00\n"
    );
    assert_eq!(
        rate("negative_trustee_fee.yaml"),
        "error: tests/fixtures/hostile-input/negative_trustee_fee.yaml: trustee_fee: \
         must be >= 0, got -12000\n"
    );
    assert_eq!(
        rate("zero_balance.yaml"),
        "error: tests/fixtures/hostile-input/zero_balance.yaml:13:5: notes[1].balance: \
         must be > 0, got 0\n"
    );
    // The command line's override goes through the deal's check, named as the flag.
    assert_eq!(
        refused(&[
            "rate",
            "--deal",
            "tests/fixtures/rate/deal.yaml",
            "--methodology",
            METHODOLOGY,
            "--cash-at-closing=-5"
        ]),
        "error: --cash-at-closing: must be >= 0, got -5\n"
    );
}

// Class 8: loose fields.

#[test]
fn a_class_name_that_would_break_a_csv_header_is_refused() {
    assert_eq!(
        rate("class_name_comma.yaml"),
        "error: tests/fixtures/hostile-input/class_name_comma.yaml:13:5: notes[1].class: `A,x` \
         has ',': a class name may hold only letters, digits, `-`, `_` and `.` (it heads columns \
         of cashflows.csv)\n"
    );
}

#[test]
fn the_generator_refuses_a_negative_ltv_spread() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tape.csv");
    assert_eq!(
        refused(&[
            "pool",
            "generate",
            "--profile",
            &format!("{DIR}/negative_ltv_sd.yaml"),
            "--seed",
            "1",
            "--out",
            out.to_str().unwrap(),
        ]),
        "error: tests/fixtures/hostile-input/negative_ltv_sd.yaml: generator.origination.ltv_sd: \
         must be a finite number >= 0, got -0.03\n"
    );
    assert!(!out.exists(), "nothing written");
}
