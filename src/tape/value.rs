//! Reading single values out of small polars results into plain Rust types.
//!
//! Summaries and strats are computed in polars and collected into frames of a handful of rows;
//! these helpers are where those values leave polars. A type mismatch here is a bug in the query
//! that produced the frame, hence [`TapeError::Internal`].

use polars::prelude::*;
use rust_decimal::Decimal;

use super::error::TapeError;

fn get<'a>(df: &'a DataFrame, name: &str, row: usize) -> Result<AnyValue<'a>, TapeError> {
    df.column(name)
        .and_then(|c| c.get(row))
        .map_err(TapeError::internal("reading a result"))
}

fn mismatch(name: &str, want: &str, got: &AnyValue<'_>) -> TapeError {
    TapeError::Internal {
        context: "reading a result",
        message: format!("column {name}: expected {want}, found {got:?}"),
    }
}

pub(crate) fn u64_at(df: &DataFrame, name: &str, row: usize) -> Result<u64, TapeError> {
    match get(df, name, row)? {
        AnyValue::UInt64(v) => Ok(v),
        AnyValue::UInt32(v) => Ok(v.into()),
        AnyValue::Int64(v) if v >= 0 => Ok(v as u64),
        AnyValue::Int32(v) if v >= 0 => Ok(v as u64),
        AnyValue::Null => Ok(0),
        other => Err(mismatch(name, "a count", &other)),
    }
}

pub(crate) fn bool_at(df: &DataFrame, name: &str, row: usize) -> Result<bool, TapeError> {
    match get(df, name, row)? {
        AnyValue::Boolean(v) => Ok(v),
        AnyValue::Null => Ok(false),
        other => Err(mismatch(name, "a boolean", &other)),
    }
}

pub(crate) fn str_at(df: &DataFrame, name: &str, row: usize) -> Result<String, TapeError> {
    match get(df, name, row)? {
        AnyValue::String(s) => Ok(s.to_string()),
        AnyValue::StringOwned(s) => Ok(s.to_string()),
        AnyValue::Null => Ok(String::new()),
        other => Err(mismatch(name, "text", &other)),
    }
}

/// An `f64`; null (an empty group) reads as `None`.
pub(crate) fn f64_at(df: &DataFrame, name: &str, row: usize) -> Result<Option<f64>, TapeError> {
    match get(df, name, row)? {
        AnyValue::Float64(v) => Ok(Some(v)),
        AnyValue::Float32(v) => Ok(Some(v.into())),
        AnyValue::Null => Ok(None),
        other => Err(mismatch(name, "a float", &other)),
    }
}

/// An exact decimal; null (an empty sum) reads as zero.
pub(crate) fn decimal_at(df: &DataFrame, name: &str, row: usize) -> Result<Decimal, TapeError> {
    match get(df, name, row)? {
        AnyValue::Decimal(v, _precision, scale) => {
            Decimal::try_from_i128_with_scale(v, scale as u32).map_err(|e| TapeError::Internal {
                context: "reading a result",
                message: format!("column {name}: {e}"),
            })
        }
        AnyValue::Null => Ok(Decimal::ZERO),
        other => Err(mismatch(name, "a decimal", &other)),
    }
}
