//! absrate rates asset-backed notes the way a rating agency does.
//!
//! The data flows one way, each stage handing a typed value on:
//!
//! ```text
//! CLI args -> Config -> Methodology + Deal + Tape -> Pool (adjusted) -> Scenarios per rating level
//!          -> cash-flow runs (waterfall) -> RatingResult -> Report
//! ```
//!
//! This crate is the library behind the `absrate` binary; `src/main.rs` only parses, calls
//! [`cli::run`] and maps errors to exit codes ([`error::Exit`]).

pub mod app;
pub mod asset;
pub mod calibrate;
pub mod cli;
pub mod compare;
pub mod deal;
pub mod error;
pub mod fuzzing;
pub mod input;
pub mod limits;
pub mod methodology;
pub mod money;
pub mod output;
pub mod pool;
pub mod price;
pub mod rating;
pub mod report;
pub mod simulate;
pub mod stress;
pub mod surveil;
pub mod tape;
pub mod waterfall;
pub mod yaml;

pub use error::{Error, Exit};
