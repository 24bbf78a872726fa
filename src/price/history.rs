//! Daily log returns of a price file over a window, with the file's name and SHA-256: what a
//! model is fitted to and what the bootstrap resamples. The file is read (and checked: no gaps,
//! sorted dates, positive prices) by `src/tape/prices.rs`, the one place polars reads it.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use sha2::{Digest, Sha256};

use super::error::PriceError;
use crate::tape::read_prices;

/// Default column names of a price file (those of `../shared/data/btc-usd-daily.csv`).
pub const DATE_COLUMN: &str = "date";
pub const PRICE_COLUMN: &str = "price_usd";

#[derive(Debug, Clone, PartialEq)]
pub struct History {
    pub path: PathBuf,
    /// The file's name without its directory, as model files cite it.
    pub name: String,
    pub sha256: String,
    pub date_column: String,
    pub price_column: String,
    /// The first price used; the first return is the move from it to the next day.
    pub since: NaiveDate,
    /// The last price used.
    pub until: NaiveDate,
    /// `ln(P_t / P_{t-1})` for each day after `since` up to `until`.
    pub returns: Vec<f64>,
}

impl History {
    /// The returns of `path` from `since` (default: the first date) to `until` (default: the
    /// last date). A date outside the file is an error naming the option and the file's range.
    pub fn read(
        path: &Path,
        date_column: &str,
        price_column: &str,
        since: Option<NaiveDate>,
        until: Option<NaiveDate>,
    ) -> Result<History, PriceError> {
        let series = read_prices(path, date_column, price_column)?;
        let (first, last) = (series.first, series.last());
        let window =
            |option: &'static str, date: NaiveDate, message: &'static str| PriceError::Window {
                path: path.to_path_buf(),
                option,
                date,
                message,
                first,
                last,
            };
        let since_d = since.unwrap_or(first);
        let until_d = until.unwrap_or(last);
        if since_d < first {
            return Err(window(
                "--since",
                since_d,
                "before the first date of the file",
            ));
        }
        if since_d >= last {
            return Err(window(
                "--since",
                since_d,
                "on or after the last date of the file: no returns to fit",
            ));
        }
        if until_d > last {
            return Err(window(
                "--until",
                until_d,
                "after the last date of the file",
            ));
        }
        if until_d <= since_d {
            return Err(window(
                "--until",
                until_d,
                "not after --since: no returns to fit",
            ));
        }
        let i0 = (since_d - first).num_days() as usize;
        let i1 = (until_d - first).num_days() as usize;
        let p: Vec<f64> = series.prices[i0..=i1]
            .iter()
            .map(|d| d.to_f64().unwrap_or(f64::NAN))
            .collect();
        let returns = p.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
        Ok(History {
            path: path.to_path_buf(),
            name: file_name(path),
            sha256: sha256_file(path)?,
            date_column: date_column.to_string(),
            price_column: price_column.to_string(),
            since: since_d,
            until: until_d,
            returns,
        })
    }

    /// `btc-usd-daily.csv 2012-01-01 to 2026-08-22, 5,347 daily log returns`.
    pub fn describe(&self) -> String {
        format!(
            "{} {} to {}, {} daily log returns",
            self.name,
            self.since,
            self.until,
            crate::money::count(self.returns.len() as u64)
        )
    }
}

pub(super) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// SHA-256 of a file's bytes, lowercase hex.
pub(super) fn sha256_file(path: &Path) -> Result<String, PriceError> {
    let bytes = crate::input::read(path).map_err(|message| PriceError::Read {
        path: path.to_path_buf(),
        message,
    })?;
    Ok(sha256_hex(&bytes))
}

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}
