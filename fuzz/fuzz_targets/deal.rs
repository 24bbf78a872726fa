//! Fuzz target: a deal file, with a valid pool file beside it, through `absrate::fuzzing::deal`
//! (src/fuzzing.rs). A panic, or a refusal that would exit 1 (an internal error), is a finding; a
//! refusal as invalid input is not.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = absrate::fuzzing::deal(data);
});
