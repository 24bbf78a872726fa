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
