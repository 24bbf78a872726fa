//! Hostile input (issue 13): values near the largest decimal, counts that would wrap, a price of a
//! cent on one day. One fixture per case under `tests/fixtures/hostile/`, the exact text a user
//! sees, exit code 3 (invalid input), never 101 (a panic) or 1 (an internal error), and nothing
//! on stdout. The limits themselves are `src/limits.rs`, listed in docs/reliability.md.

use crate::util::{absrate, ok};

const INVALID_INPUT: i32 = 3;

const DIR: &str = "tests/fixtures/hostile";

/// Runs absrate and returns stderr, requiring the invalid-input exit code and no output.
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

fn fixture(name: &str) -> String {
    format!("{DIR}/{name}")
}

// ---- the tape: every amount, BTC, LTV and count within its limit ----

#[test]
fn a_loan_of_1e26_is_refused_at_its_row() {
    let tape = fixture("loan_1e26.csv");
    assert_eq!(
        refused(&["tape", "check", &tape]),
        format!(
            "error: {tape}: 1 invalid value in 1 of 2 rows
  row 1, loan L1, principal = \"100000000000000000000000000.00\": must be < 1000000000000 (absrate's limit, docs/reliability.md)
violations per rule:
  1  principal: must be < 1000000000000 (absrate's limit, docs/reliability.md)
"
        )
    );
    // And by every command that reads it, not only `tape check`.
    let summary = refused(&[
        "tape",
        "summary",
        &tape,
        "--price",
        "100000",
        "--as-of",
        "2026-01-01",
    ]);
    assert!(summary.starts_with(&format!("error: {tape}: 1 invalid value")));
}

#[test]
fn each_limit_of_the_tape_is_checked_and_a_value_just_below_it_passes() {
    let tape = fixture("tape_limits.csv");
    let limit = "(absrate's limit, docs/reliability.md)";
    assert_eq!(
        refused(&["tape", "check", &tape]),
        format!(
            "error: {tape}: 8 invalid values in 7 of 8 rows
  row 2, loan P, principal = \"1000000000000.00\": must be < 1000000000000 {limit}
  row 3, loan C, collateral_btc = \"10000000\": must be < 10000000 {limit}
  row 4, loan O, original_principal = \"1000000000000\": must be < 1000000000000 {limit}
  row 5, loan K, principal = \"1000000000000.00\": must be < 1000000000000 {limit}
  row 5, loan K, capitalized_interest = \"1000000000000.00\": must be < 1000000000000 {limit}
  row 6, loan R, renewal_count = \"1001\": must be <= 1000 {limit}
  row 7, loan A, accrued_interest = \"1000000000000\": must be < 1000000000000 {limit}
  row 8, loan V, origination_ltv = \"5.000001\": must be <= 5 {limit}
violations per rule:
  2  principal: must be < 1000000000000 {limit}
  1  collateral_btc: must be < 10000000 {limit}
  1  capitalized_interest: must be < 1000000000000 {limit}
  1  original_principal: must be < 1000000000000 {limit}
  1  accrued_interest: must be < 1000000000000 {limit}
  1  origination_ltv: must be <= 5 {limit}
  1  renewal_count: must be <= 1000 {limit}
"
        )
    );
}

// ---- the price file: each day's price within [0.0001, 1e9), a cent allowed ----

/// `replay` of the fixture deal `path` (tests/fixtures/replay) over a hostile price file.
fn replay(prices: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "replay",
        "--deal",
        "tests/fixtures/replay/path-deal.yaml",
        "--prices",
        prices,
        "--from",
        "2026-01-01",
        "--to",
        "2026-01-05",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn run_replay(prices: &str, extra: &[&str]) -> String {
    let args = replay(prices, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&args)
}

fn refuse_replay(prices: &str) -> String {
    let args = replay(prices, &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    refused(&args)
}

#[test]
fn a_price_of_1e30_is_refused_at_its_line_after_a_day_at_a_cent() {
    let prices = fixture("prices_0.01_and_1e30.csv");
    assert_eq!(
        refuse_replay(&prices),
        format!(
            "error: {prices}: line 4: the price on 2026-01-03 must be below 1000000000 (absrate's limit, docs/reliability.md), got 1e30\n"
        )
    );
}

#[test]
fn a_price_below_a_hundredth_of_a_cent_and_a_billion_dollars_are_refused() {
    let below = fixture("prices_below_limit.csv");
    assert_eq!(
        refuse_replay(&below),
        format!(
            "error: {below}: line 3: the price on 2026-01-02 must be at least 0.0001 (absrate's limit, docs/reliability.md), got 0.00001\n"
        )
    );
    let at = fixture("prices_at_limit.csv");
    assert_eq!(
        refuse_replay(&at),
        format!(
            "error: {at}: line 3: the price on 2026-01-02 must be below 1000000000 (absrate's limit, docs/reliability.md), got 1000000000\n"
        )
    );
}

#[test]
fn a_day_at_a_cent_is_a_price_like_any_other() {
    // 2026-01-04 at $0.01: every loan still open is sold for cents, at execution LTVs in the
    // millions of percent; the run completes and reports them.
    let out = run_replay(&fixture("prices_0.01.csv"), &["--execution", "close"]);
    assert!(
        out.contains("(trough $0.01 on 2026-01-04, -100.0% from the start)"),
        "the cent is the trough:\n{out}"
    );
    assert!(
        out.contains(
            "execution LTV           mean 423032892.73%, max 680000000.00%; proceeds $100,000.04"
        ),
        "{out}"
    );
}

#[test]
fn a_sale_whose_proceeds_round_to_nothing_has_no_execution_ltv() {
    // A gap that is 1 in f64: proceeds of exactly 0, balance / 0 = infinity. The sales for
    // nothing are left out of the execution LTV (none is left: `-`), not reported as an error.
    let out = run_replay(
        "tests/fixtures/replay/prices.csv",
        &["--gap", "0.99999999999999999999"],
    );
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("execution LTV"))
        .unwrap_or_else(|| panic!("no execution LTV line:\n{out}"));
    assert_eq!(
        line.trim(),
        "execution LTV           mean -, max -; proceeds $0.00"
    );
}

// ---- methodologies: month and day counts, multipliers, market facts ----

#[test]
fn each_count_and_multiplier_of_a_methodology_is_bounded() {
    let limit = "(absrate's limit, docs/reliability.md)";
    let cases = [
        (
            "lag_4294967295.yaml",
            format!("common: recovery_lag_months: must be at most 120 {limit}, got 4294967295"),
        ),
        (
            "cash_drag_4294967295.yaml",
            format!("common: cash_drag_months: must be at most 120 {limit}, got 4294967295"),
        ),
        (
            "top_obligors_4294967295.yaml",
            format!(
                "common: top_obligor_defaults: must be at most 1000000 {limit}, got 4294967295"
            ),
        ),
        (
            "multiplier_7e28.yaml",
            format!(
                "common: capitalized_interest_default_multiplier: must be at most 100 {limit}, got 70000000000000000000000000000"
            ),
        ),
        (
            "liquidation_lag_4294967295.yaml",
            format!("common: liquidation_lag_days: must be at most 365 {limit}, got 4294967295"),
        ),
        (
            "crowding_1e20.yaml",
            format!("common: crowding: must be at most 100 {limit}, got 100000000000000000000"),
        ),
        (
            "daily_volume_1e12.yaml",
            format!(
                "market: daily_volume_usd: must be below 1000000000000 {limit}, got 1000000000000"
            ),
        ),
    ];
    for (name, message) in cases {
        let path = fixture(name);
        assert_eq!(
            refused(&["methodology", "show", &path]),
            format!("error: {path}: {message}\n"),
            "{name}"
        );
    }
}

#[test]
fn a_lag_of_4294967295_months_is_refused_by_rate_before_anything_runs() {
    let path = fixture("lag_4294967295.yaml");
    let err = refused(&[
        "rate",
        "--deal",
        "tests/fixtures/rate/deal.yaml",
        "--methodology",
        &path,
    ]);
    assert_eq!(
        err,
        format!(
            "error: {path}: common: recovery_lag_months: must be at most 120 (absrate's limit, docs/reliability.md), got 4294967295\n"
        )
    );
}

// ---- the period engine: amounts beyond $10 trillion, at closing or grown ----

#[test]
fn a_pool_of_eleven_trillion_dollars_is_refused_at_closing() {
    assert_eq!(
        refused(&[
            "rate",
            "--deal",
            &fixture("trillions/deal.yaml"),
            "--methodology",
            "tests/fixtures/rate/methodology.yaml",
        ]),
        "error: AAA: at closing: the pool's performing balance is 10999999999999.89, beyond absrate's limit of 10000000000000 on an amount in a run (docs/reliability.md)\n"
    );
}

#[test]
fn a_pool_capitalizing_past_ten_trillion_dollars_is_refused_in_the_period_it_gets_there() {
    assert_eq!(
        refused(&[
            "rate",
            "--deal",
            &fixture("growth/deal.yaml"),
            "--methodology",
            &fixture("growth/methodology.yaml"),
        ]),
        "error: AAA: period 21 (2027-11-20): the pool's performing balance is 10740723226294.58, beyond absrate's limit of 10000000000000 on an amount in a run (docs/reliability.md)\n"
    );
}

// ---- the valuation: the price a tape is valued at has the price file's limits ----

#[test]
fn a_valuation_price_outside_the_limits_is_refused() {
    for price in ["1000000000", "0.00001"] {
        assert_eq!(
            refused(&[
                "tape",
                "summary",
                "tests/fixtures/tape/valid.csv",
                "--price",
                price,
                "--as-of",
                "2026-01-01",
            ]),
            format!(
                "error: the BTC price must be at least 0.0001 and below 1000000000 (absrate's limits, docs/reliability.md), got {price}\n"
            )
        );
    }
}

// ---- the deal file and the pool file: money, rates, prices and months within their limits ----

/// `rate` of the hostile deal fixture `name` under the hand-worked methodology.
fn rate_deal(name: &str) -> String {
    refused(&[
        "rate",
        "--deal",
        &fixture(name),
        "--methodology",
        "tests/fixtures/rate/methodology.yaml",
    ])
}

#[test]
fn a_note_of_1e30_is_refused_by_the_money_limit_not_the_parser() {
    let path = fixture("note_balance_1e30.yaml");
    assert_eq!(
        rate_deal("note_balance_1e30.yaml"),
        format!(
            "error: {path}:13:5: notes[1].balance: must be below 1000000000000 (absrate's limit, docs/reliability.md), got 1e30\n"
        )
    );
}

#[test]
fn each_amount_of_a_deal_is_below_the_money_limit() {
    let limit = "(absrate's limit, docs/reliability.md)";
    for (name, key) in [
        ("cash_at_closing_1e12.yaml", "cash_at_closing"),
        ("trustee_fee_1e12.yaml", "trustee_fee"),
    ] {
        assert_eq!(
            rate_deal(name),
            format!(
                "error: {}: {key}: must be below 1000000000000 {limit}, got 1000000000000\n",
                fixture(name)
            ),
            "{name}"
        );
    }
    // The command line's cash at closing goes through the same check, named as the flag.
    assert_eq!(
        refused(&[
            "rate",
            "--deal",
            "tests/fixtures/rate/deal.yaml",
            "--methodology",
            "tests/fixtures/rate/methodology.yaml",
            "--cash-at-closing=1000000000000",
        ]),
        format!(
            "error: --cash-at-closing: must be below 1000000000000 {limit}, got 1000000000000\n"
        )
    );
}

#[test]
fn a_coupon_of_1e20_is_refused_by_the_rate_limit() {
    let limit = "(absrate's limit, docs/reliability.md)";
    let got = "got 100000000000000000000";
    for (name, at) in [
        ("coupon_benchmark_1e20.yaml", ": coupon.benchmark"),
        ("fixed_coupon_1e20.yaml", ":13:5: notes[1].fixed_coupon"),
        ("spread_1e20.yaml", ":13:5: notes[1].spread"),
    ] {
        assert_eq!(
            rate_deal(name),
            format!(
                "error: {}{at}: must be within [0, 10] {limit}, {got}\n",
                fixture(name)
            ),
            "{name}"
        );
    }
}

#[test]
fn a_revolving_period_of_4294967295_months_is_refused() {
    let limit = "(absrate's limit, docs/reliability.md)";
    assert_eq!(
        rate_deal("revolving_4294967295.yaml"),
        format!(
            "error: {}: revolving.months: must be at most 120 {limit}, got 4294967295\n",
            fixture("revolving_4294967295.yaml")
        )
    );
    assert_eq!(
        rate_deal("new_loan_term_121.yaml"),
        format!(
            "error: {}: revolving.new_loan_term_months: must be at most 120 {limit}, got 121\n",
            fixture("new_loan_term_121.yaml")
        )
    );
}

#[test]
fn a_cut_off_price_of_1e12_is_refused_naming_the_pool_file() {
    assert_eq!(
        rate_deal("cutoff_1e12.yaml"),
        format!(
            "error: {}: cutoff.btc_price: must be at least 0.0001 and below 1000000000 (absrate's limits, docs/reliability.md), got 1000000000000\n",
            fixture("pool_cutoff_1e12.yaml")
        )
    );
}

#[test]
fn a_generator_targeting_a_trillion_dollars_or_endless_loans_is_refused() {
    let limit = "(absrate's limit, docs/reliability.md)";
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tape.csv");
    for (name, message) in [
        (
            "target_principal_1e12.yaml",
            format!(
                "generator.targets.principal: must be below 1000000000000 {limit}, got 1000000000000"
            ),
        ),
        (
            "loan_term_4294967295.yaml",
            format!(
                "generator.origination.term_months: must be at most 120 {limit}, got 4294967295"
            ),
        ),
    ] {
        let profile = fixture(name);
        assert_eq!(
            refused(&[
                "pool",
                "generate",
                "--profile",
                &profile,
                "--seed",
                "1",
                "--out",
                out.to_str().unwrap(),
            ]),
            format!("error: {profile}: {message}\n"),
            "{name}"
        );
        assert!(!out.exists(), "nothing written");
    }
}

// ---- Parquet files polars panics on (found by the `tape_parquet` fuzz target) ----

/// What polars said, as the user sees it after the file's name and what was being read.
const POLARS_STOPPED: &str = "polars cannot read this file";

/// Each kind of malformed Parquet file the fuzzer found polars 0.55.2 panicking on
/// (`tests/fixtures/fuzz/`, docs/reliability.md, "Fuzzing"), and the line a user sees for it:
/// the file, then the polars crate that stopped and the first line of what it said. These are
/// the texts of a build with debug assertions (this suite's); a release build stops on two of
/// them at a later assertion, with the same error and exit code otherwise.
/// Two files stop polars at a debug assertion of polars-parquet, compiled out of a release
/// build: there polars-stream stops on the same file a step later (`cargo test --release`).
const DEBUG_OR_RELEASE: (&str, &str) = if cfg!(debug_assertions) {
    (
        "polars-parquet-0.55.2 stopped: assertion `left == right` failed",
        "polars-parquet-0.55.2 stopped: assertion failed: self.total_num_values >= 0",
    )
} else {
    (
        "polars-stream-0.55.2 stopped: assertion `left == right` failed",
        "polars-stream-0.55.2 stopped: assertion `left == right` failed",
    )
};

const POLARS_PANICS: [(&str, &str); 7] = [
    (
        "thrift_bool.parquet",
        "polars-parquet-0.55.2 stopped: thrift bool field",
    ),
    (
        "row_group_rows.parquet",
        "polars-stream-0.55.2 stopped: assertion `left == right` failed",
    ),
    ("dictionary_rows.parquet", DEBUG_OR_RELEASE.0),
    (
        "thrift_out_of_range.parquet",
        "polars-parquet-0.55.2 stopped: called `Result::unwrap()` on an `Err` value: \
         OutOfSpec(\"Thrift out of range\")",
    ),
    ("negative_value_count.parquet", DEBUG_OR_RELEASE.1),
    (
        "slice_past_end.parquet",
        "polars-arrow-0.55.2 stopped: assertion failed: offset + length <= self.length",
    ),
    (
        "unwrap_none.parquet",
        "polars-parquet-0.55.2 stopped: called `Option::unwrap()` on a `None` value",
    ),
];

fn fuzz_fixture(name: &str) -> String {
    format!("tests/fixtures/fuzz/{name}")
}

#[test]
fn a_parquet_tape_polars_panics_on_is_refused_naming_the_file() {
    for (name, stopped) in POLARS_PANICS {
        let tape = fuzz_fixture(name);
        assert_eq!(
            refused(&["tape", "check", &tape]),
            format!("error: {tape}: cannot read the tape: {POLARS_STOPPED} ({stopped})\n"),
        );
    }
}

/// Two more stop polars on an arithmetic overflow, which only a build with overflow checks (this
/// test's) catches: the message depends on the build, the refusal does not.
#[test]
fn a_parquet_tape_overflowing_polars_arithmetic_is_refused_naming_the_file() {
    for name in ["shift_overflow.parquet", "subtract_overflow.parquet"] {
        let tape = fuzz_fixture(name);
        let stderr = refused(&["tape", "check", &tape]);
        assert!(
            stderr.starts_with(&format!("error: {tape}: cannot read the tape: ")),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

/// Every command that reads the tape goes through the same reader: `rate --tape` with the file
/// whose panic is raised on one of polars's own threads and handed on.
#[test]
fn rate_refuses_a_parquet_tape_polars_panics_on() {
    let tape = fuzz_fixture("row_group_rows.parquet");
    assert_eq!(
        refused(&[
            "rate",
            "--deal",
            "tests/fixtures/rate/deal.yaml",
            "--methodology",
            "tests/fixtures/rate/methodology.yaml",
            "--tape",
            &tape,
        ]),
        format!(
            "error: {tape}: cannot read the tape: {POLARS_STOPPED} \
             (polars-stream-0.55.2 stopped: assertion `left == right` failed)\n"
        ),
    );
}

/// A page header declaring a negative count made polars reserve about 2^61 bytes and abort
/// (exit 134, beyond any guard): the headers are read first, and the file refused at the page.
#[test]
fn a_parquet_page_declaring_a_negative_count_is_refused_before_polars_decodes_it() {
    let file = fuzz_fixture("negative_page_count.parquet");
    let at = "row group 1, column `collateral_btc`, page 1: the page header's \
              data_page_header.num_values is -42, and a count cannot be negative: the file is damaged";
    assert_eq!(
        refused(&["tape", "check", &file]),
        format!("error: {file}: cannot read the tape: {at}\n")
    );
    assert_eq!(
        refused(&["simulate", "merge", &file]),
        format!("error: {file}: cannot read the table: {at}\n")
    );
}

/// A column chunk at a negative offset made polars-stream slice the file out of bounds
/// (`get_unchecked`: an abort in this build, undefined behaviour in a release one): every chunk
/// is checked to lie within the file first.
#[test]
fn a_parquet_column_chunk_outside_the_file_is_refused_before_polars_slices_it() {
    let file = fuzz_fixture("chunk_outside_file.parquet");
    assert_eq!(
        refused(&["tape", "check", &file]),
        format!(
            "error: {file}: cannot read the tape: row group 1, column `original_principal`: \
             the column's bytes (offset -932, 79 bytes, first data page at -932) are not within \
             the file (9828 bytes): the file is damaged\n"
        )
    );
}

/// The path tables of `simulate --out` are read back by `simulate merge` through the same guard.
/// (A file whose footer stops polars: `merge` reads the columns on several threads at once, and
/// which of two damaged ones stops it first, by a panic or an error, varies from run to run.)
#[test]
fn simulate_merge_refuses_a_table_polars_panics_on() {
    let table = fuzz_fixture("thrift_bool.parquet");
    assert_eq!(
        refused(&["simulate", "merge", &table]),
        format!(
            "error: {table}: cannot read the table: {POLARS_STOPPED} \
             (polars-parquet-0.55.2 stopped: thrift bool field)\n"
        ),
    );
}
