//! Reading a tape (CSV or Parquet) into a typed, validated frame.
//!
//! Every column is first taken as text (CSV) or as stored (Parquet), then parsed to the schema's
//! type without failing: a value that does not parse becomes a violation, not an abort, so one
//! pass reports every problem in the file. Only a tape with no violation becomes a [`Tape`].

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::Tape;
use super::error::{RuleCount, TapeError, ValidationReport, Violation};
use super::schema::{self, COLUMNS, Column, Kind};
use super::{guard, pages};
use crate::limits;

const ROW: &str = "__row";

/// The file formats a tape may come in, chosen by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
}

impl Format {
    pub fn of(path: &Path) -> Result<Format, TapeError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .as_deref()
        {
            Some("csv") => Ok(Format::Csv),
            Some("parquet") | Some("pq") => Ok(Format::Parquet),
            _ => Err(TapeError::Format {
                path: path.to_path_buf(),
            }),
        }
    }
}

pub(crate) fn pl_path(path: &Path) -> Result<PlRefPath, TapeError> {
    let s = path.to_str().ok_or_else(|| TapeError::Read {
        path: path.to_path_buf(),
        message: "the path is not valid UTF-8".into(),
    })?;
    Ok(PlRefPath::new(s.to_string()))
}

pub(super) fn scan(path: &Path, format: Format) -> Result<LazyFrame, TapeError> {
    let read_err = |e: PolarsError| TapeError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    match format {
        // No inference: every column arrives as text and is parsed by the schema below.
        Format::Csv => LazyCsvReader::new(pl_path(path)?)
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .finish()
            .map_err(read_err),
        Format::Parquet => {
            LazyFrame::scan_parquet(pl_path(path)?, Default::default()).map_err(read_err)
        }
    }
}

/// A Parquet tape's page headers, before polars decodes its pages ([`pages`]).
fn check_pages(path: &Path) -> Result<(), TapeError> {
    let mut file = File::open(path).map_err(|e| TapeError::unreadable(path, &e))?;
    let reader = file
        .try_clone()
        .map_err(|e| TapeError::unreadable(path, &e))?;
    let metadata = ParquetReader::new(reader)
        .get_metadata()
        .map_err(|e| TapeError::Read {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?
        .clone();
    pages::check(&mut file, &metadata, stopped(path))
}

/// The error for a file polars stopped on ([`guard::reading`]).
pub(super) fn stopped(path: &Path) -> impl FnOnce(String) -> TapeError {
    let path = path.to_path_buf();
    move |message| TapeError::Read { path, message }
}

fn raw_name(name: &str) -> String {
    format!("__raw_{name}")
}

fn null_of(dtype: DataType) -> Expr {
    lit(NULL).cast(dtype)
}

/// A column as it is present in the file.
struct Present {
    column: &'static Column,
    /// False when the file already stores the schema's type (typed Parquet): nothing to parse.
    parsed: bool,
}

/// One rule of `docs/tape.md`: the column it is reported on, its text, and the rows it flags.
struct Rule {
    column: &'static str,
    text: &'static str,
    violated: Expr,
}

/// Reads and validates `path`. On any violation, returns [`TapeError::Invalid`] with all of them.
pub fn read(path: &Path) -> Result<Tape, TapeError> {
    let format = Format::of(path)?;
    crate::input::check(path).map_err(|e| TapeError::unreadable(path, &e))?;
    // polars reads the file in these two calls: a panic of its own there is bad input (guard.rs).
    let (lf, file_schema) = guard::reading(
        || {
            if matches!(format, Format::Parquet) {
                check_pages(path)?;
            }
            let mut lf = scan(path, format)?;
            let file_schema = lf.collect_schema().map_err(|e| TapeError::Read {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
            Ok((lf, file_schema))
        },
        stopped(path),
    )?;

    let missing: Vec<&'static str> = COLUMNS
        .iter()
        .filter(|c| c.required() && file_schema.get(c.name).is_none())
        .map(|c| c.name)
        .collect();
    if !missing.is_empty() {
        return Err(TapeError::MissingColumns {
            path: path.to_path_buf(),
            missing,
            found: file_schema.iter_names().map(|n| n.to_string()).collect(),
        });
    }

    let present: Vec<Present> = COLUMNS
        .iter()
        .filter_map(|c| {
            file_schema.get(c.name).map(|dt| Present {
                column: c,
                // CSV text is trimmed (a blank id is a missing id); Parquet text is taken as
                // stored, an empty string counting as missing (see `rules`).
                parsed: *dt != c.kind.dtype() || (c.kind == Kind::Text && format == Format::Csv),
            })
        })
        .collect();

    // Stage 1: the raw text of every column that needs parsing (trimmed; blank means missing),
    // and the parsed value under the column's own name.
    let mut exprs = Vec::new();
    for p in &present {
        let name = p.column.name;
        if p.parsed {
            let text = col(name)
                .cast(DataType::String)
                .str()
                .strip_chars(lit(NULL));
            let raw = when(text.clone().eq(lit("")))
                .then(null_of(DataType::String))
                .otherwise(text);
            exprs.push(raw.alias(raw_name(name)));
        } else {
            exprs.push(col(name));
        }
    }
    let parse_exprs: Vec<Expr> = present
        .iter()
        .filter(|p| p.parsed)
        .map(|p| parse(p.column).alias(p.column.name))
        .collect();
    let staged = guard::reading(
        || {
            lf.select(exprs)
                .with_columns(parse_exprs)
                .collect()
                .map_err(|e| TapeError::Read {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })
        },
        stopped(path),
    )?;

    let loans = staged.height() as u64;
    if loans == 0 {
        return Err(TapeError::Empty {
            path: path.to_path_buf(),
        });
    }

    // Hashing each id once and sorting is much cheaper than a hash table of 10M strings; the
    // per-row duplicate flags are only computed when there are duplicates to report.
    let loan_ids = staged
        .column(schema::LOAN_ID)
        .and_then(|c| c.str())
        .map_err(TapeError::internal("reading loan ids"))?;
    let ids_unique = super::ids::distinct(loan_ids)?;
    let rules = rules(&present, ids_unique);
    check(path, &staged, &present, &rules, loans)?;

    let df = staged
        .lazy()
        .select(finish(&present))
        .collect()
        .map_err(TapeError::internal("applying column defaults"))?;
    Ok(Tape {
        path: path.to_path_buf(),
        df,
    })
}

/// The expression parsing a column's raw text to its schema type; a failure gives null.
fn parse(c: &Column) -> Expr {
    let raw = col(raw_name(c.name));
    match c.kind {
        Kind::Text => raw,
        Kind::Date => raw.str().to_date(StrptimeOptions {
            format: Some("%Y-%m-%d".into()),
            strict: false,
            exact: true,
            cache: true,
        }),
        Kind::Money | Kind::Rate | Kind::Btc | Kind::Count => raw.cast_with_options(
            c.kind.dtype(),
            polars::chunked_array::cast::CastOptions::NonStrict,
        ),
    }
}

/// polars rounds a decimal with more places than the column's scale; absrate refuses it. The value
/// is read again at a finer scale and compared with what was kept.
fn rounded(c: &Column) -> Expr {
    match c.kind {
        Kind::Money | Kind::Rate | Kind::Btc => {
            let fine = DataType::Decimal(38, FINE_SCALE);
            col(raw_name(c.name))
                .cast_with_options(
                    fine.clone(),
                    polars::chunked_array::cast::CastOptions::NonStrict,
                )
                .neq(col(c.name).cast(fine))
        }
        _ => lit(false),
    }
}

/// Places kept when checking that no decimal place was dropped (more than any column's scale).
const FINE_SCALE: usize = 18;

fn zero() -> Expr {
    lit(0)
}

/// A whole-number limit as a literal (the limits on tape columns are whole numbers).
fn whole(limit: Decimal) -> Expr {
    lit(limit.to_i64().unwrap_or(i64::MAX))
}

// The limits of `crate::limits` as the rules print them (a test checks they agree).
const MONEY_RULE: &str = "must be < 1000000000000 (absrate's limit, docs/reliability.md)";
const BTC_RULE: &str = "must be < 10000000 (absrate's limit, docs/reliability.md)";
const LTV_RULE: &str = "must be <= 5 (absrate's limit, docs/reliability.md)";
const RENEWALS_RULE: &str = "must be <= 1000 (absrate's limit, docs/reliability.md)";

/// The rules of `docs/tape.md`, for the columns present. Order here is the order of reports.
fn rules(present: &[Present], ids_unique: bool) -> Vec<Rule> {
    let has = |name: &str| present.iter().any(|p| p.column.name == name);
    let mut rules = Vec::new();
    for p in present {
        let name = p.column.name;
        if p.column.required() {
            let missing = if p.parsed {
                col(raw_name(name)).is_null()
            } else if p.column.kind == Kind::Text {
                col(name).is_null().or(col(name).eq(lit("")))
            } else {
                col(name).is_null()
            };
            rules.push(Rule {
                column: name,
                text: "missing value",
                violated: missing,
            });
        }
        if p.parsed && p.column.kind != Kind::Text {
            rules.push(Rule {
                column: name,
                text: p.column.kind.parse_rule(),
                violated: col(raw_name(name))
                    .is_not_null()
                    .and(col(name).is_null().or(rounded(p.column))),
            });
        }
    }
    use schema::*;
    rules.push(Rule {
        column: LOAN_ID,
        text: "duplicate loan_id",
        violated: if ids_unique {
            lit(false)
        } else {
            col(LOAN_ID).is_not_null().and(col(LOAN_ID).is_duplicated())
        },
    });
    rules.push(Rule {
        column: PRINCIPAL,
        text: "must be > 0",
        violated: col(PRINCIPAL).lt_eq(zero()),
    });
    rules.push(Rule {
        column: PRINCIPAL,
        text: MONEY_RULE,
        violated: col(PRINCIPAL).gt_eq(whole(limits::MONEY_MAX)),
    });
    rules.push(Rule {
        column: INTEREST_RATE,
        text: "must be >= 0 and < 1",
        violated: col(INTEREST_RATE).lt(zero()),
    });
    rules.push(Rule {
        column: INTEREST_RATE,
        text: "must be >= 0 and < 1 (percent given where a decimal is expected?)",
        violated: col(INTEREST_RATE).gt_eq(lit(1)),
    });
    rules.push(Rule {
        column: COLLATERAL_BTC,
        text: "must be > 0",
        violated: col(COLLATERAL_BTC).lt_eq(zero()),
    });
    rules.push(Rule {
        column: COLLATERAL_BTC,
        text: BTC_RULE,
        violated: col(COLLATERAL_BTC).gt_eq(whole(limits::BTC_MAX)),
    });
    rules.push(Rule {
        column: MATURITY_DATE,
        text: "must be after origination_date",
        violated: col(MATURITY_DATE).lt_eq(col(ORIGINATION_DATE)),
    });
    if has(CAPITALIZED_INTEREST) {
        rules.push(Rule {
            column: CAPITALIZED_INTEREST,
            text: "must be >= 0",
            violated: col(CAPITALIZED_INTEREST).lt(zero()),
        });
        rules.push(Rule {
            column: CAPITALIZED_INTEREST,
            text: "must not exceed principal",
            // Only against a valid principal: a bad principal is reported once, on its own.
            violated: col(PRINCIPAL)
                .gt(zero())
                .and(col(CAPITALIZED_INTEREST).gt(col(PRINCIPAL))),
        });
        rules.push(Rule {
            column: CAPITALIZED_INTEREST,
            text: MONEY_RULE,
            violated: col(CAPITALIZED_INTEREST).gt_eq(whole(limits::MONEY_MAX)),
        });
    }
    if has(ORIGINAL_PRINCIPAL) {
        rules.push(Rule {
            column: ORIGINAL_PRINCIPAL,
            text: "must be > 0",
            violated: col(ORIGINAL_PRINCIPAL).lt_eq(zero()),
        });
        rules.push(Rule {
            column: ORIGINAL_PRINCIPAL,
            text: MONEY_RULE,
            violated: col(ORIGINAL_PRINCIPAL).gt_eq(whole(limits::MONEY_MAX)),
        });
    }
    if has(ACCRUED_INTEREST) {
        rules.push(Rule {
            column: ACCRUED_INTEREST,
            text: "must be >= 0",
            violated: col(ACCRUED_INTEREST).lt(zero()),
        });
        rules.push(Rule {
            column: ACCRUED_INTEREST,
            text: MONEY_RULE,
            violated: col(ACCRUED_INTEREST).gt_eq(whole(limits::MONEY_MAX)),
        });
    }
    if has(ORIGINATION_LTV) {
        rules.push(Rule {
            column: ORIGINATION_LTV,
            text: "must be > 0",
            violated: col(ORIGINATION_LTV).lt_eq(zero()),
        });
        rules.push(Rule {
            column: ORIGINATION_LTV,
            text: LTV_RULE,
            violated: col(ORIGINATION_LTV).gt(whole(limits::LTV_MAX)),
        });
    }
    if has(RENEWAL_COUNT) {
        rules.push(Rule {
            column: RENEWAL_COUNT,
            text: RENEWALS_RULE,
            violated: col(RENEWAL_COUNT).gt(lit(limits::RENEWALS_MAX)),
        });
    }
    rules
}

fn rule_flag(i: usize) -> String {
    format!("__rule{i}")
}

/// Counts every rule over the whole tape in one pass; on any violation, details the first rows.
fn check(
    path: &Path,
    staged: &DataFrame,
    present: &[Present],
    rules: &[Rule],
    loans: u64,
) -> Result<(), TapeError> {
    let flags: Vec<Expr> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| r.violated.clone().fill_null(lit(false)).alias(rule_flag(i)))
        .collect();
    let any = rules
        .iter()
        .enumerate()
        .map(|(i, _)| col(rule_flag(i)))
        .reduce(|a, b| a.or(b))
        .unwrap_or_else(|| lit(false));
    let mut sums: Vec<Expr> = (0..rules.len())
        .map(|i| col(rule_flag(i)).cast(DataType::UInt64).sum())
        .collect();
    sums.push(any.clone().cast(DataType::UInt64).sum().alias("__bad_rows"));
    let counts_df = staged
        .clone()
        .lazy()
        .with_columns(flags.clone())
        .select(sums)
        .collect()
        .map_err(TapeError::internal("counting violations"))?;
    let bad_rows = super::value::u64_at(&counts_df, "__bad_rows", 0)?;
    if bad_rows == 0 {
        return Ok(());
    }
    let mut counts = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let count = super::value::u64_at(&counts_df, &rule_flag(i), 0)?;
        if count > 0 {
            counts.push(RuleCount {
                column: r.column,
                rule: r.text,
                count,
            });
        }
    }

    // Every bad row holds at least one violation, so the first SHOWN bad rows hold the first
    // SHOWN violations.
    let shown_value = |name: &str| -> Expr {
        let parsed = present
            .iter()
            .find(|p| p.column.name == name)
            .is_some_and(|p| p.parsed);
        let v = if parsed {
            col(raw_name(name))
        } else {
            col(name).cast(DataType::String)
        };
        v.fill_null(lit("")).alias(format!("__value_{name}"))
    };
    let mut detail_cols = vec![col(ROW), shown_value(schema::LOAN_ID)];
    detail_cols.extend((0..rules.len()).map(|i| col(rule_flag(i))));
    let mut valued: Vec<&str> = rules.iter().map(|r| r.column).collect();
    valued.sort_unstable();
    valued.dedup();
    detail_cols.extend(
        valued
            .iter()
            .filter(|c| **c != schema::LOAN_ID)
            .map(|c| shown_value(c)),
    );
    // Row numbers (1-based, in file order) are only needed for the rows shown.
    let detail = staged
        .clone()
        .lazy()
        .with_row_index(ROW, Some(1))
        .with_columns(flags)
        .filter(any)
        .limit(ValidationReport::SHOWN as IdxSize)
        .select(detail_cols)
        .collect()
        .map_err(TapeError::internal("listing violations"))?;

    let mut shown = Vec::new();
    'rows: for row in 0..detail.height() {
        let row_no = super::value::u64_at(&detail, ROW, row)?;
        let loan_id = super::value::str_at(&detail, &format!("__value_{}", schema::LOAN_ID), row)?;
        for (i, r) in rules.iter().enumerate() {
            if !super::value::bool_at(&detail, &rule_flag(i), row)? {
                continue;
            }
            if shown.len() == ValidationReport::SHOWN {
                break 'rows;
            }
            shown.push(Violation {
                row: row_no,
                loan_id: loan_id.clone(),
                column: r.column,
                value: super::value::str_at(&detail, &format!("__value_{}", r.column), row)?,
                rule: r.text,
            });
        }
    }
    Err(TapeError::Invalid(Box::new(ValidationReport {
        path: PathBuf::from(path),
        loans,
        bad_rows,
        counts,
        shown,
    })))
}

/// The final typed columns, with the documented defaults for optional columns.
fn finish(present: &[Present]) -> Vec<Expr> {
    use schema::Fallback as D;
    let has = |name: &str| present.iter().any(|p| p.column.name == name);
    COLUMNS
        .iter()
        .map(|c| {
            let dtype = c.kind.dtype();
            let default = match c.default {
                D::Required | D::NotAvailable => null_of(dtype.clone()),
                D::Zero => lit(0).cast(dtype.clone()),
                D::Unknown => lit("unknown"),
                D::PrincipalLessCapitalized => {
                    let cap = if has(schema::CAPITALIZED_INTEREST) {
                        col(schema::CAPITALIZED_INTEREST).fill_null(lit(0).cast(dtype.clone()))
                    } else {
                        lit(0).cast(dtype.clone())
                    };
                    (col(schema::PRINCIPAL) - cap).cast(dtype.clone())
                }
            };
            let e = if has(c.name) {
                col(c.name).fill_null(default)
            } else {
                default
            };
            e.alias(c.name)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_rules_print_the_limits() {
        for (rule, limit) in [
            (MONEY_RULE, format!("< {}", limits::MONEY_MAX_TEXT)),
            (BTC_RULE, format!("< {}", limits::BTC_MAX_TEXT)),
            (LTV_RULE, format!("<= {}", limits::LTV_MAX_TEXT)),
            (RENEWALS_RULE, format!("<= {}", limits::RENEWALS_MAX)),
        ] {
            assert!(rule.starts_with(&format!("must be {limit} ")), "{rule}");
        }
    }
}
