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

/// While there: a step that pays no class refuses one, rather than ignoring it.
#[test]
fn a_class_on_a_step_that_pays_none_is_refused() {
    assert_eq!(
        rate("step_with_a_class.yaml"),
        "error: tests/fixtures/hostile-input/step_with_a_class.yaml:28:16: waterfall.revolving[1]: \
         `{ pay: fees }` pays no class: remove `class: A`\n"
    );
}

/// While there: every class the reserve covers is listed once, located like a step.
#[test]
fn a_class_the_reserve_covers_twice_is_refused_at_load() {
    assert_eq!(
        rate("covers_repeated.yaml"),
        "error: tests/fixtures/hostile-input/covers_repeated.yaml:19:15: reserve.covers[2]: \
         class `A` repeats reserve.covers[1]\n"
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

// Class 7: messages in the user's terms, never the YAML library's advice to its caller.

#[test]
fn a_duplicate_key_names_both_lines() {
    assert_eq!(
        rate("duplicate_key.yaml"),
        r#"error: tests/fixtures/hostile-input/duplicate_key.yaml:21:1: duplicate key `trustee_fee` at line 21 (first at line 20)
  --> tests/fixtures/hostile-input/duplicate_key.yaml:21:1
   |
19 |   covers: [A]
20 | trustee_fee: { value: "0", source: test }
21 | trustee_fee: { value: "50000", source: test }
   | ^ duplicate key `trustee_fee` at line 21 (first at line 20)
22 | revolving:
23 |   months: { value: 0, source: test }
   |
"#
    );
}

#[test]
fn a_second_yaml_document_is_refused_in_the_users_terms() {
    assert_eq!(
        rate("two_documents.yaml"),
        r#"error: tests/fixtures/hostile-input/two_documents.yaml:31:1: a second YAML document starts here (after a `---` line): the file must hold one
  --> tests/fixtures/hostile-input/two_documents.yaml:31:1
   |
29 |   amortizing: [ { pay: fees }, { pay: interest, class: A }, { pay…
30 | ---
31 | name: a second deal
   | ^ a second YAML document starts here (after a `---` line): the file must hold one
"#
    );
}

#[test]
fn more_aliases_than_the_budget_are_refused_in_the_users_terms() {
    assert_eq!(
        rate("alias_bomb.yaml"),
        r#"error: tests/fixtures/hostile-input/alias_bomb.yaml:70:5: more than 1000 aliases: refused
  --> tests/fixtures/hostile-input/alias_bomb.yaml:70:5
   |
68 |     *n, *n, *n, *n, *n, *n, *n, *n, *n, *n, *n, *n, *n, *n, *n, *n, *…
69 |     *n, *n, *n, *n, *n, *n, *n, *n, *n, *n, *n, *n, *n, *n, *n, *n, *…
70 |     *n
   |     ^ more than 1000 aliases: refused
71 |   ]
72 | trustee_fee: { value: "0", source: test }
   |
"#
    );
}

#[test]
fn an_empty_value_where_text_is_needed_says_so() {
    assert_eq!(
        rate("empty_value.yaml"),
        r#"error: tests/fixtures/hostile-input/empty_value.yaml:2:5: a value is needed here, not an empty one (null)
 --> tests/fixtures/hostile-input/empty_value.yaml:2:5
  |
1 | # The hand-worked deal with an empty name.
2 | name:
  |     ^ a value is needed here, not an empty one (null)
3 | methodology: hand
4 | pool: ../rate/pool.yaml
  |
"#
    );
}

/// "invalid u32", said as the number the key takes.
#[test]
fn a_number_out_of_its_type_says_which_numbers_are_taken() {
    assert_eq!(
        rate("negative_months.yaml"),
        r#"error: tests/fixtures/hostile-input/negative_months.yaml:22:20: expected a whole number from 0 to 4294967295
  --> tests/fixtures/hostile-input/negative_months.yaml:22:20
   |
20 | trustee_fee: { value: "0", source: test }
21 | revolving:
22 |   months: { value: -1, source: test }
   |                    ^ expected a whole number from 0 to 4294967295
23 |   new_loan_term_months: { value: 12, source: test }
24 | triggers:
   |
"#
    );
}

#[test]
fn a_file_with_nothing_in_it_is_called_empty() {
    assert_eq!(
        rate("empty.yaml"),
        "error: tests/fixtures/hostile-input/empty.yaml: the file is empty\n"
    );
}

/// A deal whose `pool` names a file that is not YAML: where parsing stopped, but no line of that
/// file, in an excerpt or in the message (the parser would quote its first line as a key).
#[test]
fn a_file_that_is_not_yaml_is_never_quoted() {
    let stderr = rate("pool_not_yaml.yaml");
    assert_eq!(
        stderr,
        "error: tests/fixtures/hostile-input/not_yaml.txt:1:1: not YAML, or not the YAML expected \
         here (the file's name does not end in .yaml or .yml: its lines are not shown)\n"
    );
    assert!(!stderr.contains("4242") && !stderr.contains("private"));
}

// A path that is a directory is "is a directory", for every input.

#[test]
fn a_deal_path_that_is_a_directory_says_so() {
    assert_eq!(
        refused(&["rate", "--deal", DIR, "--methodology", METHODOLOGY]),
        "error: tests/fixtures/hostile-input: cannot read: is a directory\n"
    );
}

#[test]
fn a_pool_path_that_is_a_directory_says_so() {
    assert_eq!(
        rate("pool_is_a_directory.yaml"),
        "error: tests/fixtures/hostile-input/pool_is_a_directory.yaml: pool: ../rate: cannot read: \
         is a directory\n"
    );
    // A pool profile named by the path of a directory with no pool.yaml in it.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tape.csv");
    assert_eq!(
        refused(&[
            "pool",
            "generate",
            "--profile",
            DIR,
            "--seed",
            "1",
            "--out",
            out.to_str().unwrap(),
        ]),
        "error: tests/fixtures/hostile-input: cannot read: is a directory\n"
    );
}

/// A pool file that cannot be opened is the deal's `pool` key's error: file, key, value.
#[test]
fn a_missing_pool_file_names_the_deals_key() {
    assert_eq!(
        rate("pool_missing.yaml"),
        "error: tests/fixtures/hostile-input/pool_missing.yaml: pool: no_such_pool.yaml: cannot \
         read: no such file\n"
    );
}

#[test]
fn templates_that_are_not_files_or_not_a_directory_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report");
    let run = |templates: &std::path::Path| {
        refused(&[
            "rate",
            "--deal",
            "tests/fixtures/rate/deal.yaml",
            "--methodology",
            METHODOLOGY,
            "--report",
            report.to_str().unwrap(),
            "--templates",
            templates.to_str().unwrap(),
        ])
    };
    // A directory where the template file should be.
    let templates = dir.path().join("templates");
    std::fs::create_dir_all(templates.join("rationale.md")).unwrap();
    assert_eq!(
        run(&templates),
        format!(
            "error: {}: cannot read template: is a directory\n",
            templates.join("rationale.md").display()
        )
    );
    // An optional template (the comparison's) that is a directory is not silently replaced.
    let optional = dir.path().join("optional");
    std::fs::create_dir_all(optional.join("comparison.md")).unwrap();
    for t in ["rationale.md", "rationale.html"] {
        std::fs::copy(
            crate::util::root().join("reports/templates").join(t),
            optional.join(t),
        )
        .unwrap();
    }
    assert_eq!(
        run(&optional),
        format!(
            "error: {}: cannot read template: is a directory\n",
            optional.join("comparison.md").display()
        )
    );
    // A file, and nothing, where the directory should be.
    let file = crate::util::root().join(DIR).join("not_yaml.txt");
    assert_eq!(
        run(&file),
        format!(
            "error: {}: not a directory (--templates names a directory of templates)\n",
            file.display()
        )
    );
    let missing = dir.path().join("missing");
    assert_eq!(
        run(&missing),
        format!(
            "error: {}: no such directory (--templates names a directory of templates)\n",
            missing.display()
        )
    );
    assert!(!report.exists(), "nothing written");
}

// A path that is a directory, for the inputs polars reads (the tape, the price file) and for a
// methodology named by its path.

#[test]
fn a_tape_path_that_is_a_directory_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let tape = dir.path().join("tape.csv");
    std::fs::create_dir(&tape).unwrap();
    assert_eq!(
        refused(&["tape", "check", tape.to_str().unwrap()]),
        format!("error: {}: cannot read: is a directory\n", tape.display())
    );
}

#[test]
fn a_price_path_that_is_a_directory_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let prices = dir.path().join("prices.csv");
    std::fs::create_dir(&prices).unwrap();
    assert_eq!(
        refused(&[
            "replay",
            "--deal",
            "tests/fixtures/replay/probe-deal.yaml",
            "--prices",
            prices.to_str().unwrap(),
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-02",
        ]),
        format!("error: {}: cannot read: is a directory\n", prices.display())
    );
}

#[test]
fn a_methodology_path_that_is_a_directory_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("methodology.yaml");
    std::fs::create_dir(&m).unwrap();
    assert_eq!(
        refused(&[
            "rate",
            "--deal",
            "tests/fixtures/rate/deal.yaml",
            "--methodology",
            m.to_str().unwrap(),
        ]),
        format!("error: {}: cannot read: is a directory\n", m.display())
    );
}

/// A price file with a row of three fields under a header of two: the line, in the file's terms,
/// never polars' advice to its caller ("Consider setting 'truncate_ragged_lines=true'").
#[test]
fn a_ragged_price_file_names_the_line() {
    assert_eq!(
        refused(&[
            "replay",
            "--deal",
            "tests/fixtures/replay/probe-deal.yaml",
            "--prices",
            "tests/fixtures/hostile-input/ragged_prices.csv",
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-03",
        ]),
        "error: tests/fixtures/hostile-input/ragged_prices.csv: line 3: 3 fields where the header \
         has 2\n"
    );
}

#[test]
fn a_price_model_path_that_is_a_directory_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("model.yaml");
    std::fs::create_dir(&m).unwrap();
    assert_eq!(
        refused(&["simulate", "--paths", "10", "--model", m.to_str().unwrap()]),
        format!("error: {}: cannot read: is a directory\n", m.display())
    );
}

/// `methodology show` resolves a path as `rate` does.
#[test]
fn a_methodology_directory_says_so_to_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("draft.yaml");
    std::fs::create_dir(&m).unwrap();
    assert_eq!(
        refused(&["methodology", "show", m.to_str().unwrap()]),
        format!("error: {}: cannot read: is a directory\n", m.display())
    );
}
