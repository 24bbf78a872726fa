//! Writing tapes and per-loan frames, CSV or Parquet, always atomically through
//! [`crate::output`], so a failed run never leaves a half-written output.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;

use chrono::NaiveDate;
use polars::prelude::*;
use rust_decimal::Decimal;

use super::error::TapeError;
use super::read::Format;
use super::schema::{COLUMNS, Kind};

/// One loan as the generator makes it; the fields follow `docs/tape.md`.
#[derive(Debug, Clone, PartialEq)]
pub struct LoanRecord {
    pub loan_id: String,
    pub borrower_id: String,
    pub origination_date: NaiveDate,
    pub maturity_date: NaiveDate,
    pub principal: Decimal,
    pub interest_rate: Decimal,
    pub collateral_btc: Decimal,
    pub original_principal: Decimal,
    pub capitalized_interest: Decimal,
    pub renewal_count: u32,
    pub accrued_interest: Decimal,
    pub state: String,
    /// LTV at the start of the current term, when known.
    pub origination_ltv: Option<Decimal>,
}

/// Runs `write` against a temporary file renamed to `out` ([`crate::output`]).
pub(crate) fn atomically(
    out: &Path,
    write: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), TapeError> {
    crate::output::write_with(out, write).map_err(|e| TapeError::Write {
        path: e.path,
        message: e.message,
    })
}

/// Writes a tape in the schema's column order, CSV or Parquet by the extension of `out`.
pub fn write_tape(loans: &[LoanRecord], out: &Path) -> Result<(), TapeError> {
    match Format::of(out)? {
        Format::Csv => atomically(out, |tmp| write_csv(loans, tmp).map_err(|e| e.to_string())),
        Format::Parquet => {
            let mut df = frame(loans).map_err(TapeError::internal("building the tape frame"))?;
            atomically(out, |tmp| write_parquet(&mut df, tmp))
        }
    }
}

/// A tape's bytes in the schema's column order, CSV or Parquet by the extension of `out` (for a
/// transaction of several outputs, [`crate::output::Transaction`]).
pub fn tape_bytes(loans: &[LoanRecord], out: &Path) -> Result<Vec<u8>, TapeError> {
    match Format::of(out)? {
        Format::Csv => {
            let mut v = Vec::new();
            write_csv_to(loans, &mut v).map_err(|e| TapeError::Internal {
                context: "writing the tape",
                message: e.to_string(),
            })?;
            Ok(v)
        }
        Format::Parquet => {
            let mut df = frame(loans).map_err(TapeError::internal("building the tape frame"))?;
            let mut c = std::io::Cursor::new(Vec::new());
            ParquetWriter::new(&mut c)
                .with_compression(ParquetCompression::Lz4Raw)
                .finish(&mut df)
                .map_err(TapeError::internal("writing the tape"))?;
            Ok(c.into_inner())
        }
    }
}

/// Any frame's bytes, CSV or Parquet by the extension of `out` (for a
/// [`crate::output::Transaction`]).
pub(crate) fn frame_bytes(df: &mut DataFrame, out: &Path) -> Result<Vec<u8>, TapeError> {
    let format = Format::of(out)?;
    let mut c = std::io::Cursor::new(Vec::new());
    match format {
        Format::Csv => CsvWriter::new(&mut c)
            .include_header(true)
            .finish(df)
            .map_err(TapeError::internal("writing the frame"))?,
        Format::Parquet => {
            ParquetWriter::new(&mut c)
                .with_compression(ParquetCompression::Lz4Raw)
                .finish(df)
                .map_err(TapeError::internal("writing the frame"))?;
        }
    }
    Ok(c.into_inner())
}

fn write_parquet(df: &mut DataFrame, path: &Path) -> Result<(), String> {
    let file = fs::File::create(path).map_err(|e| e.to_string())?;
    // LZ4: several times faster to decode than the default zstd, for a tape a little larger.
    ParquetWriter::new(file)
        .with_compression(ParquetCompression::Lz4Raw)
        .finish(df)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn write_csv(loans: &[LoanRecord], path: &Path) -> std::io::Result<()> {
    write_csv_to(loans, BufWriter::new(fs::File::create(path)?))
}

fn write_csv_to(loans: &[LoanRecord], mut w: impl Write) -> std::io::Result<()> {
    let header: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
    writeln!(w, "{}", header.join(","))?;
    for l in loans {
        writeln!(
            w,
            "{},{},{},{},{},{},{},{},{},{},{},{},{}",
            csv_field(&l.loan_id),
            csv_field(&l.borrower_id),
            l.origination_date,
            l.maturity_date,
            l.principal,
            l.interest_rate,
            l.collateral_btc,
            l.original_principal,
            l.capitalized_interest,
            l.renewal_count,
            l.accrued_interest,
            csv_field(&l.state),
            l.origination_ltv.map(|d| d.to_string()).unwrap_or_default(),
        )?;
    }
    w.flush()
}

/// Quotes a text field when it holds a comma, a quote or a line break (RFC 4180).
fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

fn scaled(d: Decimal, kind: Kind) -> i128 {
    let scale = match kind.dtype() {
        DataType::Decimal(_, s) => s as u32,
        _ => 0,
    };
    let mut d = d;
    d.rescale(scale);
    d.mantissa()
}

fn decimal_column(name: &str, kind: Kind, values: Vec<i128>) -> PolarsResult<Column> {
    let (p, s) = match kind.dtype() {
        DataType::Decimal(p, s) => (p, s),
        other => polars_bail!(ComputeError: "{name} is {other}, not a decimal"),
    };
    Ok(Int128Chunked::from_vec(name.into(), values)
        .into_decimal(p, s)?
        .into_series()
        .into_column())
}

fn date_column(name: &str, values: Vec<i32>) -> PolarsResult<Column> {
    Int32Chunked::from_vec(name.into(), values)
        .into_series()
        .cast(&DataType::Date)
        .map(|s| s.into_column())
}

fn days(d: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("1970-01-01 is a date");
    (d - epoch).num_days() as i32
}

fn frame(loans: &[LoanRecord]) -> PolarsResult<DataFrame> {
    let text = |name: &str, f: fn(&LoanRecord) -> &str| {
        Column::new(name.into(), loans.iter().map(f).collect::<Vec<&str>>())
    };
    let dec = |name: &str, kind: Kind, f: fn(&LoanRecord) -> Decimal| {
        decimal_column(
            name,
            kind,
            loans.iter().map(|l| scaled(f(l), kind)).collect(),
        )
    };
    let columns = vec![
        text("loan_id", |l| &l.loan_id),
        text("borrower_id", |l| &l.borrower_id),
        date_column(
            "origination_date",
            loans.iter().map(|l| days(l.origination_date)).collect(),
        )?,
        date_column(
            "maturity_date",
            loans.iter().map(|l| days(l.maturity_date)).collect(),
        )?,
        dec("principal", Kind::Money, |l| l.principal)?,
        dec("interest_rate", Kind::Rate, |l| l.interest_rate)?,
        dec("collateral_btc", Kind::Btc, |l| l.collateral_btc)?,
        dec("original_principal", Kind::Money, |l| l.original_principal)?,
        dec("capitalized_interest", Kind::Money, |l| {
            l.capitalized_interest
        })?,
        Column::new(
            "renewal_count".into(),
            loans.iter().map(|l| l.renewal_count).collect::<Vec<u32>>(),
        ),
        dec("accrued_interest", Kind::Money, |l| l.accrued_interest)?,
        text("state", |l| &l.state),
        {
            let kind = Kind::Rate;
            let (p, sc) = match kind.dtype() {
                DataType::Decimal(p, s) => (p, s),
                _ => (38, 6),
            };
            Int128Chunked::from_iter_options(
                "origination_ltv".into(),
                loans
                    .iter()
                    .map(|l| l.origination_ltv.map(|d| scaled(d, kind))),
            )
            .into_decimal(p, sc)?
            .into_series()
            .into_column()
        },
    ];
    DataFrame::new_infer_height(columns)
}

/// The validated frame back as records.
pub(crate) fn records(df: &DataFrame) -> Result<Vec<LoanRecord>, TapeError> {
    use super::value::{decimal_at, str_at, u64_at};
    let df = df
        .clone()
        .lazy()
        .with_columns([
            col("origination_date").cast(DataType::Int32),
            col("maturity_date").cast(DataType::Int32),
            col("origination_ltv").is_null().alias("__no_ltv"),
        ])
        .collect()
        .map_err(TapeError::internal("reading loans"))?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let date = |name: &str, i: usize| -> Result<NaiveDate, TapeError> {
        let d = match df.column(name).and_then(|c| c.get(i)) {
            Ok(AnyValue::Int32(v)) => v,
            _ => 0,
        };
        Ok(epoch + chrono::Duration::days(d as i64))
    };
    (0..df.height())
        .map(|i| {
            Ok(LoanRecord {
                loan_id: str_at(&df, "loan_id", i)?,
                borrower_id: str_at(&df, "borrower_id", i)?,
                origination_date: date("origination_date", i)?,
                maturity_date: date("maturity_date", i)?,
                principal: decimal_at(&df, "principal", i)?,
                interest_rate: decimal_at(&df, "interest_rate", i)?,
                collateral_btc: decimal_at(&df, "collateral_btc", i)?,
                original_principal: decimal_at(&df, "original_principal", i)?,
                capitalized_interest: decimal_at(&df, "capitalized_interest", i)?,
                renewal_count: u64_at(&df, "renewal_count", i)? as u32,
                accrued_interest: decimal_at(&df, "accrued_interest", i)?,
                state: str_at(&df, "state", i)?,
                origination_ltv: if super::value::bool_at(&df, "__no_ltv", i)? {
                    None
                } else {
                    Some(decimal_at(&df, "origination_ltv", i)?)
                },
            })
        })
        .collect()
}
