//! The error catalogue for tapes: one fixture per kind of bad input, its exact text, exit code 3,
//! and no output written.

use crate::util::absrate;

const INVALID_INPUT: i32 = 3;

/// Runs `tape check` on a fixture and returns stderr, requiring the invalid-input exit code.
fn check(name: &str) -> String {
    let path = format!("tests/fixtures/tape/{name}");
    let r = absrate(&["tape", "check", &path]);
    assert_eq!(
        r.code, INVALID_INPUT,
        "{name}: stdout {}\nstderr {}",
        r.stdout, r.stderr
    );
    assert_eq!(r.stdout, "", "{name}: nothing on stdout");
    r.stderr
}

#[test]
fn a_missing_required_column_is_named() {
    assert_eq!(
        check("missing_column.csv"),
        "error: tests/fixtures/tape/missing_column.csv: missing required column `collateral_btc` \
         (the tape has: loan_id, borrower_id, origination_date, maturity_date, principal, interest_rate)\n"
    );
}

#[test]
fn every_row_of_a_duplicated_loan_id_is_reported() {
    assert_eq!(
        check("duplicate_id.csv"),
        "error: tests/fixtures/tape/duplicate_id.csv: 2 invalid values in 2 of 3 rows
  row 1, loan L1, loan_id = \"L1\": duplicate loan_id
  row 3, loan L1, loan_id = \"L1\": duplicate loan_id
violations per rule:
  2  loan_id: duplicate loan_id
"
    );
}

#[test]
fn blank_ids_are_missing_values() {
    assert_eq!(
        check("empty_id.csv"),
        "error: tests/fixtures/tape/empty_id.csv: 2 invalid values in 2 of 3 rows
  row 2, (no loan_id), loan_id = \"\": missing value
  row 3, loan L3, borrower_id = \"\": missing value
violations per rule:
  1  loan_id: missing value
  1  borrower_id: missing value
"
    );
}

#[test]
fn principal_must_be_positive() {
    assert_eq!(
        check("principal_not_positive.csv"),
        "error: tests/fixtures/tape/principal_not_positive.csv: 2 invalid values in 2 of 2 rows
  row 1, loan L1, principal = \"0.00\": must be > 0
  row 2, loan L2, principal = \"-100.00\": must be > 0
violations per rule:
  2  principal: must be > 0
"
    );
}

#[test]
fn a_rate_given_in_percent_gets_a_hint() {
    assert_eq!(
        check("rate_percent.csv"),
        "error: tests/fixtures/tape/rate_percent.csv: 2 invalid values in 2 of 2 rows
  row 1, loan L1, interest_rate = \"11.8\": must be >= 0 and < 1 (percent given where a decimal is expected?)
  row 2, loan L2, interest_rate = \"-0.01\": must be >= 0 and < 1
violations per rule:
  1  interest_rate: must be >= 0 and < 1
  1  interest_rate: must be >= 0 and < 1 (percent given where a decimal is expected?)
"
    );
}

#[test]
fn collateral_must_be_positive() {
    assert_eq!(
        check("collateral_not_positive.csv"),
        "error: tests/fixtures/tape/collateral_not_positive.csv: 1 invalid value in 1 of 1 row
  row 1, loan L1, collateral_btc = \"0\": must be > 0
violations per rule:
  1  collateral_btc: must be > 0
"
    );
}

#[test]
fn maturity_must_follow_origination() {
    assert_eq!(
        check("maturity_not_after.csv"),
        "error: tests/fixtures/tape/maturity_not_after.csv: 2 invalid values in 2 of 2 rows
  row 1, loan L1, maturity_date = \"2025-03-15\": must be after origination_date
  row 2, loan L2, maturity_date = \"2024-03-15\": must be after origination_date
violations per rule:
  2  maturity_date: must be after origination_date
"
    );
}

#[test]
fn capitalized_interest_cannot_exceed_principal() {
    assert_eq!(
        check("capitalized_exceeds.csv"),
        "error: tests/fixtures/tape/capitalized_exceeds.csv: 1 invalid value in 1 of 1 row
  row 1, loan L1, capitalized_interest = \"50000.01\": must not exceed principal
violations per rule:
  1  capitalized_interest: must not exceed principal
"
    );
}

#[test]
fn values_that_do_not_parse_are_reported_as_written() {
    assert_eq!(
        check("bad_values.csv"),
        "error: tests/fixtures/tape/bad_values.csv: 6 invalid values in 4 of 4 rows
  row 1, loan L1, origination_date = \"2025-02-30\": not a date (YYYY-MM-DD)
  row 2, loan L2, origination_date = \"15/03/2025\": not a date (YYYY-MM-DD)
  row 2, loan L2, principal = \"50,000\": not a number with at most 2 decimal places
  row 3, loan L3, principal = \"50000.001\": not a number with at most 2 decimal places
  row 3, loan L3, collateral_btc = \"1.123456789\": not a number with at most 8 decimal places
  row 4, loan L4, principal = \"abc\": not a number with at most 2 decimal places
violations per rule:
  2  origination_date: not a date (YYYY-MM-DD)
  3  principal: not a number with at most 2 decimal places
  1  collateral_btc: not a number with at most 8 decimal places
"
    );
}

#[test]
fn the_first_20_are_shown_with_counts_for_all() {
    let err = check("many_violations.csv");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[0],
        "error: tests/fixtures/tape/many_violations.csv: 25 invalid values in 25 of 30 rows"
    );
    assert_eq!(lines.iter().filter(|l| l.starts_with("  row ")).count(), 20);
    assert_eq!(
        lines[20],
        "  row 20, loan L20, interest_rate = \"11.5\": must be >= 0 and < 1 (percent given where a decimal is expected?)"
    );
    assert_eq!(
        lines[21..].join("\n"),
        "  ... showing the first 20 of 25
violations per rule:
  25  interest_rate: must be >= 0 and < 1 (percent given where a decimal is expected?)"
    );
}

#[test]
fn an_invalid_tape_writes_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("loans.csv");
    let r = absrate(&[
        "tape",
        "derive",
        "tests/fixtures/tape/rate_percent.csv",
        "--price",
        "87505",
        "--as-of",
        "2025-12-31",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, INVALID_INPUT);
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no temporary file left behind"
    );
}

#[test]
fn an_unknown_extension_and_a_missing_file_are_invalid_input() {
    let r = absrate(&["tape", "check", "tests/fixtures/tape/valid.txt"]);
    assert_eq!(r.code, INVALID_INPUT);
    assert_eq!(
        r.stderr,
        "error: tests/fixtures/tape/valid.txt: unsupported tape format: the name must end in .csv or .parquet\n"
    );
    let r = absrate(&["tape", "check", "tests/fixtures/tape/absent.csv"]);
    assert_eq!(r.code, INVALID_INPUT);
    assert_eq!(
        r.stderr,
        "error: tests/fixtures/tape/absent.csv: no such file\n"
    );
}
