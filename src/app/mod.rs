//! The commands as library calls: each file reads its inputs, runs the engine, builds every
//! output once and writes the files, returning what the command line prints from. `src/cli/`
//! parses arguments into these requests and prints; nothing here reads the command line.

pub mod backtest;
pub mod calibrate;
pub mod compare;
pub mod rate;
pub mod rate_auto;
pub mod replay;
pub mod simulate;
pub mod surveil;
pub mod tape;

pub use rate::{RateRequest, RateRun, rate, result_schema};

use std::path::Path;

use crate::deal::Deal;
use crate::error::Error;

/// A value as pretty JSON with a final newline: what every command's `--format json` prints and
/// its `.json` files hold.
pub fn json<T: serde::Serialize>(v: &T) -> Result<String, Error> {
    serde_json::to_string_pretty(v)
        .map(|s| s + "\n")
        .map_err(|e| Error::Argument(format!("cannot serialize the result: {e}")))
}

/// The default `--deal`: the bundled deal, relative to the repository's root.
pub const BUNDLED_DEAL: &str = "pools/ledn-2026-1/deal.yaml";

/// Loads the deal; the default `--deal` missing from the current directory says so.
pub fn load_deal(path: &Path) -> Result<Deal, Error> {
    if path == Path::new(BUNDLED_DEAL) && !path.exists() {
        let here = std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|_| "the current directory".into());
        return Err(Error::Argument(format!(
            "no deal file {BUNDLED_DEAL} in {here}: the default --deal is the bundled deal, relative to the repository's root; give --deal FILE (or run from the repository's root)"
        )));
    }
    Ok(Deal::load(path)?)
}
