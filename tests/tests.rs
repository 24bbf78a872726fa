//! Integration tests: one binary that runs the real `absrate` executable and asserts what a user
//! sees (stdout, stderr, exit code, files written or not).

mod util;

mod auto;
mod calibrate;
mod compare;
mod fuzz_corpus;
mod generator;
mod harsher;
mod hostile;
mod hostile_input;
mod install;
mod ledn_pool;
mod market;
mod methodology;
mod overlays;
mod price;
mod rate;
mod rate_properties;
mod replay;
mod report;
mod round_trip;
mod simulate;
mod simulate_report;
mod surveil_history;
mod surveil_rate;
mod surveil_reports;
mod tape_errors;
mod tape_formats;
mod transactions;
