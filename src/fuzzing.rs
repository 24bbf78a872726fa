//! The fuzz harness: one entry point per input file absrate reads, taking the file's raw bytes.
//! The cargo-fuzz targets in `fuzz/fuzz_targets/` call these, and so does `tests/fuzz_corpus.rs`,
//! which runs every file of every target's corpus (`fuzz/corpus/<target>/`) once on the stable
//! toolchain, so a regression fails CI without nightly. How to run them: docs/reliability.md.
//!
//! Each entry point hands the bytes to the loader a command uses, through a file where that
//! loader takes a path (the tape, the deal, the pool file, the price file), and returns what it
//! returned, its message rendered as a user would see it. Whatever the bytes, it returns: an
//! input is either read or refused as invalid input (exit code 3). A refusal that would exit 1
//! (an internal error, docs/reliability.md: a bug) is a bug found, and the entry point panics
//! with it so that libFuzzer and the corpus test report it like any other panic.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::deal::Deal;
use crate::error::{Error, Exit};
use crate::methodology::Methodology;
use crate::pool::PoolFile;
use crate::price::{DATE_COLUMN, History, PRICE_COLUMN};
use crate::tape::{Tape, Valuation};

/// The pool file a fuzzed deal finds beside it as `pool.yaml` (the seeds name it so): the
/// hand-worked pool of `tests/fixtures/rate`, so that a deal that parses goes on to the checks
/// against its pool (dates after the cut-off, ...).
const POOL: &str = "\
name: hand
title: Two-loan pool for the hand-worked waterfall
tape: tape.csv
cutoff: { date: 2026-01-31, btc_price: \"100000\" }
collateral_terms: { margin_call_ltv: \"0.70\", liquidation_ltv: \"0.80\", margin_call_cure_ltv: \"0.50\" }
";

/// A tape as CSV: read and checked ([`Tape::read`]) and, when valid, summarized and stratified.
pub fn tape_csv(bytes: &[u8]) -> Result<(), String> {
    tape(bytes, "tape.csv")
}

/// A tape as Parquet, as [`tape_csv`].
pub fn tape_parquet(bytes: &[u8]) -> Result<(), String> {
    tape(bytes, "tape.parquet")
}

fn tape(bytes: &[u8], name: &str) -> Result<(), String> {
    let dir = Scratch::new();
    let path = dir.write(name, bytes);
    judge((|| -> Result<(), Error> {
        let tape = Tape::read(&path)?;
        // What `tape summary` and `tape strat` do with a tape that passed: the limits of
        // docs/reliability.md are there so that no sum or product over valid loans overflows.
        let at = Valuation {
            as_of: NaiveDate::from_ymd_opt(2025, 12, 31).expect("a date"),
            btc_price: Decimal::from(87_505),
            margin_call_ltv: Decimal::new(70, 2),
            liquidation_ltv: Decimal::new(80, 2),
        };
        tape.summary(&at)?;
        tape.strats(&at)?;
        Ok(())
    })())
}

/// A methodology file ([`Methodology::from_bytes`], as `methodology.yaml`).
pub fn methodology(bytes: &[u8]) -> Result<(), String> {
    judge(
        Methodology::from_bytes(Path::new("methodology.yaml"), bytes.to_vec())
            .map(drop)
            .map_err(Error::from),
    )
}

/// A deal file ([`Deal::load`], as `deal.yaml` with [`POOL`] beside it as `pool.yaml`).
pub fn deal(bytes: &[u8]) -> Result<(), String> {
    let dir = Scratch::new();
    dir.write("pool.yaml", POOL.as_bytes());
    let path = dir.write("deal.yaml", bytes);
    judge(Deal::load(&path).map(drop).map_err(Error::from))
}

/// A pool file ([`PoolFile::load`], as `pool.yaml`).
pub fn pool(bytes: &[u8]) -> Result<(), String> {
    let dir = Scratch::new();
    let path = dir.write("pool.yaml", bytes);
    judge(PoolFile::load(&path).map(drop).map_err(Error::from))
}

/// A price file with the default columns: read and checked as `replay` and `backtest` read it,
/// and its daily returns taken as `simulate fit` does ([`History::read`], as `prices.csv`).
pub fn prices(bytes: &[u8]) -> Result<(), String> {
    let dir = Scratch::new();
    let path = dir.write("prices.csv", bytes);
    judge(
        History::read(&path, DATE_COLUMN, PRICE_COLUMN, None, None)
            .map(drop)
            .map_err(Error::from),
    )
}

/// The message a user would see, for a refusal as invalid input; a panic for an internal error.
fn judge(result: Result<(), Error>) -> Result<(), String> {
    result.map_err(|e| {
        let message = e.to_string();
        assert!(
            e.exit() == Exit::InvalidInput,
            "bad input must be refused as invalid input (exit 3), got exit {}: {message}",
            e.exit() as u8
        );
        message
    })
}

/// A directory of its own under the system's temporary directory, removed when dropped: each
/// call writes its file there, so that calls on several threads (the corpus test) never meet.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("absrate-fuzz-{}-{n}", std::process::id()));
        // Left over by a run of the same process id that was killed: start afresh.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("{}: cannot create: {e}", dir.display()));
        Scratch(dir)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes)
            .unwrap_or_else(|e| panic!("{}: cannot write: {e}", path.display()));
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
