//! Fuzz target: a loan tape as CSV bytes, through `absrate::fuzzing::tape_csv` (src/fuzzing.rs). A
//! panic, or a refusal that would exit 1 (an internal error), is a finding; a refusal as invalid
//! input is not.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = absrate::fuzzing::tape_csv(data);
});
