//! The commands as library calls: each file reads its inputs, runs the engine, builds every
//! output once and writes the files, returning what the command line prints from. `src/cli/`
//! parses arguments into these requests and prints; nothing here reads the command line.

pub mod backtest;
pub mod compare;
pub mod rate;
pub mod replay;

pub use rate::{RateRequest, RateRun, rate, result_schema};
