//! Market-value stress: BTC price paths applied loan by loan (margin calls, liquidations).

pub mod backtest;
pub mod history;
pub mod liquidation;
pub mod path;
mod replay;

pub use replay::{Execution, ReplayParams, ReplayResult, replay};
