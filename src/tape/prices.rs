//! Daily BTC price files: any CSV with a date column and a price column (names configurable).
//! A gap (a missing day), an unsorted or duplicated date, or a price that is not positive or is
//! outside absrate's limits (`crate::limits`: at least $0.0001, below $1e9) is an error naming
//! the line.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use polars::prelude::*;
use rust_decimal::Decimal;

use super::error::TapeError;
use super::read::pl_path;
use super::value::str_at;
use crate::limits;

/// A daily price series, one price per calendar day, in date order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceSeries {
    pub path: PathBuf,
    pub first: NaiveDate,
    /// USD per BTC, one per day from `first`.
    pub prices: Vec<Decimal>,
}

impl PriceSeries {
    pub fn last(&self) -> NaiveDate {
        self.first + chrono::Duration::days(self.prices.len() as i64 - 1)
    }

    /// The price on `date`, if the series covers it.
    pub fn on(&self, date: NaiveDate) -> Option<Decimal> {
        let i = (date - self.first).num_days();
        (i >= 0)
            .then(|| self.prices.get(i as usize).copied())
            .flatten()
    }
}

fn bad(path: &Path, message: String) -> TapeError {
    TapeError::Prices {
        path: path.to_path_buf(),
        message,
    }
}

/// A price as written: `Ok(None)` when it is not a number, `Err` (the rule, as a message ends)
/// when it is one outside the limits of `crate::limits`.
fn price_of(text: &str) -> Result<Option<Decimal>, String> {
    let price = match text.parse().or_else(|_| Decimal::from_scientific(text)) {
        Ok(d) => d,
        // A number too large (or with too many places) for a decimal is still a number.
        Err(_) => match text.parse::<f64>() {
            Ok(x) if x.is_finite() && x > 0.0 => {
                return Err(if x < 1.0 {
                    format!(
                        "must be at least {} ({LIMIT}), got {text}",
                        limits::PRICE_MIN_TEXT
                    )
                } else {
                    format!(
                        "must be below {} ({LIMIT}), got {text}",
                        limits::PRICE_MAX_TEXT
                    )
                });
            }
            _ => return Ok(None),
        },
    };
    if price <= Decimal::ZERO {
        Err(format!("must be > 0, got {price}"))
    } else if price < limits::PRICE_MIN {
        Err(format!(
            "must be at least {} ({LIMIT}), got {price}",
            limits::PRICE_MIN_TEXT
        ))
    } else if price >= limits::PRICE_MAX {
        Err(format!(
            "must be below {} ({LIMIT}), got {price}",
            limits::PRICE_MAX_TEXT
        ))
    } else {
        Ok(Some(price))
    }
}

/// A record of a CSV file with a number of fields other than the header's.
#[derive(Debug, PartialEq, Eq)]
struct Ragged {
    /// 1-based line the record starts on.
    line: usize,
    fields: usize,
    header: usize,
}

fn fields(n: usize) -> String {
    if n == 1 {
        "1 field".into()
    } else {
        format!("{n} fields")
    }
}

/// The first record of `csv` (comma-separated, `"` quoting, a quoted field may span lines) whose
/// field count differs from the header's. Blank lines are left to the reader.
fn ragged(csv: &[u8]) -> Option<Ragged> {
    let mut header = None;
    let mut line = 1;
    let mut start = 1;
    let mut count = 1;
    let mut quoted = false;
    let mut blank = true;
    for &b in csv.iter().chain(std::iter::once(&b'\n')) {
        match b {
            b'"' => {
                quoted = !quoted;
                blank = false;
            }
            b',' if !quoted => {
                count += 1;
                blank = false;
            }
            b'\n' => {
                line += 1;
                if quoted {
                    continue;
                }
                if !blank {
                    match header {
                        None => header = Some(count),
                        Some(h) if h != count => {
                            return Some(Ragged {
                                line: start,
                                fields: count,
                                header: h,
                            });
                        }
                        Some(_) => {}
                    }
                }
                start = line;
                count = 1;
                blank = true;
            }
            b'\r' => {}
            _ => blank = false,
        }
    }
    None
}

/// Where a limit is explained.
const LIMIT: &str = "absrate's limit, docs/reliability.md";

/// Reads and checks a price file.
pub fn read_prices(
    path: &Path,
    date_column: &str,
    price_column: &str,
) -> Result<PriceSeries, TapeError> {
    crate::input::check(path).map_err(|e| TapeError::unreadable(path, &e))?;
    // polars would refuse a ragged line with its own advice and no line number; a price file is
    // small, so it is checked here first and the line named.
    let bytes = std::fs::read(path).map_err(|e| TapeError::unreadable(path, &e))?;
    if let Some(r) = ragged(&bytes) {
        return Err(bad(
            path,
            format!(
                "line {}: {} where the header has {}",
                r.line,
                fields(r.fields),
                r.header
            ),
        ));
    }
    // polars reads the file in these calls: a panic of its own there is bad input (guard.rs).
    let (lf, schema) = super::guard::reading(
        || {
            let mut lf = LazyCsvReader::new(pl_path(path)?)
                .with_has_header(true)
                .with_infer_schema_length(Some(0))
                .finish()
                .map_err(|e| bad(path, e.to_string()))?;
            let schema = lf.collect_schema().map_err(|e| bad(path, e.to_string()))?;
            Ok((lf, schema))
        },
        |m| bad(path, m),
    )?;
    for c in [date_column, price_column] {
        if schema.get(c).is_none() {
            let found: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
            return Err(bad(
                path,
                format!(
                    "no column `{c}` (the file has: {}); name the columns with --date-column and --price-column",
                    found.join(", ")
                ),
            ));
        }
    }
    let df = super::guard::reading(
        || {
            lf.select([col(date_column).alias("d"), col(price_column).alias("p")])
                .collect()
                .map_err(|e| bad(path, e.to_string()))
        },
        |m| bad(path, m),
    )?;
    if df.height() == 0 {
        return Err(bad(path, "no prices".into()));
    }
    let mut first = None;
    let mut prev: Option<NaiveDate> = None;
    let mut prices = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let line = i + 2;
        let d = str_at(&df, "d", i)?;
        let date = NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").map_err(|_| {
            bad(
                path,
                format!("line {line}: `{d}` is not a date (YYYY-MM-DD)"),
            )
        })?;
        let p = str_at(&df, "p", i)?;
        let price = price_of(p.trim())
            .map_err(|why| bad(path, format!("line {line}: the price on {date} {why}")))?
            .ok_or_else(|| bad(path, format!("line {line}: `{p}` is not a price")))?;
        if let Some(prev) = prev {
            if date == prev {
                return Err(bad(path, format!("line {line}: {date} appears twice")));
            }
            if date < prev {
                return Err(bad(
                    path,
                    format!(
                        "line {line}: {date} comes after {prev}: the file must be sorted by date"
                    ),
                ));
            }
            let expected = prev + chrono::Duration::days(1);
            if date != expected {
                let missing = (date - expected).num_days();
                let span = if missing == 1 {
                    format!("for {expected} (a gap of 1 day before {date})")
                } else {
                    format!(
                        "from {expected} to {} (a gap of {missing} days before {date})",
                        date - chrono::Duration::days(1)
                    )
                };
                return Err(bad(path, format!("line {line}: no price {span}")));
            }
        }
        first.get_or_insert(date);
        prev = Some(date);
        prices.push(price);
    }
    Ok(PriceSeries {
        path: path.to_path_buf(),
        first: first.unwrap_or_default(),
        prices,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ragged_record_is_found_at_its_first_line() {
        let r = |csv: &str| ragged(csv.as_bytes());
        assert_eq!(r("d,p\n1,2\r\n\n3,4\n"), None);
        assert_eq!(
            r("d,p\n1,2\n3,4,5\n"),
            Some(Ragged {
                line: 3,
                fields: 3,
                header: 2
            })
        );
        assert_eq!(
            r("d,p\n1\n"),
            Some(Ragged {
                line: 2,
                fields: 1,
                header: 2
            })
        );
        // Commas and line breaks inside quotes are text.
        assert_eq!(r("d,p\n\"a,\nb\",2\n3,4"), None);
        assert_eq!(
            r("d,p\n\"a,\nb\",2,x\n"),
            Some(Ragged {
                line: 2,
                fields: 3,
                header: 2
            })
        );
    }
}
