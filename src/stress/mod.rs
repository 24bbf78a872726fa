//! Market-value stress: BTC price paths applied loan by loan (margin calls, liquidations).

mod replay;

pub use replay::{Execution, ReplayParams, ReplayResult, replay};
