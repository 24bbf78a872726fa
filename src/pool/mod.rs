//! A pool directory (`pools/<name>/pool.yaml`): the cut-off date and BTC price a tape is valued at,
//! the loans' collateral terms, and optionally the generator profile the synthetic tape came from.
//!
//! `absrate tape summary TAPE` reads the `pool.yaml` beside the tape when no `--price` is given, and
//! `absrate pool generate --profile NAME` reads `pools/NAME/pool.yaml`.

mod file;
mod generate;

pub use file::{
    CollateralTerms, Cutoff, FILE_NAME, GeneratorProfile, Market, PoolError, PoolFile, PoolFileOut,
};
pub use generate::{Generated, generate};
