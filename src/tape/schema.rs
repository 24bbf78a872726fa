//! The loan-tape schema: one row per loan, the columns absrate reads and what it makes of each.
//!
//! The schema is given to polars explicitly so that money and rates are never inferred as floats:
//! money is `Decimal(38, 2)` (cents), BTC `Decimal(38, 8)` (satoshis), rates and LTVs `Decimal(38, 6)`.
//! `docs/tape.md` documents the same table for users; keep the two in step.

use polars::prelude::DataType;

/// How a column's text is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text, surrounding blanks trimmed.
    Text,
    /// Calendar date, `YYYY-MM-DD`.
    Date,
    /// US dollars with at most 2 decimal places.
    Money,
    /// A decimal fraction (0.118 for 11.8%) with at most 6 decimal places.
    Rate,
    /// Bitcoin with at most 8 decimal places (one satoshi).
    Btc,
    /// A whole number >= 0.
    Count,
}

impl Kind {
    /// The polars type the column has after reading.
    pub fn dtype(self) -> DataType {
        match self {
            Kind::Text => DataType::String,
            Kind::Date => DataType::Date,
            Kind::Money => DataType::Decimal(38, 2),
            Kind::Rate => DataType::Decimal(38, 6),
            Kind::Btc => DataType::Decimal(38, 8),
            Kind::Count => DataType::UInt32,
        }
    }

    /// The rule broken when a value does not parse, as a user reads it.
    pub fn parse_rule(self) -> &'static str {
        match self {
            Kind::Text => "not text",
            Kind::Date => "not a date (YYYY-MM-DD)",
            Kind::Money => "not a number with at most 2 decimal places",
            Kind::Rate => "not a number with at most 6 decimal places",
            Kind::Btc => "not a number with at most 8 decimal places",
            Kind::Count => "not a whole number >= 0",
        }
    }
}

/// What an optional column holds when it is absent or empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// Required: absence is an error.
    Required,
    /// Zero.
    Zero,
    /// `principal - capitalized_interest`.
    PrincipalLessCapitalized,
    /// The text `unknown`.
    Unknown,
    /// Left empty: the figure is reported as not available.
    NotAvailable,
}

/// One column of the tape.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub default: Fallback,
}

impl Column {
    pub fn required(&self) -> bool {
        self.default == Fallback::Required
    }
}

const fn col(name: &'static str, kind: Kind, default: Fallback) -> Column {
    Column {
        name,
        kind,
        default,
    }
}

pub const LOAN_ID: &str = "loan_id";
pub const BORROWER_ID: &str = "borrower_id";
pub const ORIGINATION_DATE: &str = "origination_date";
pub const MATURITY_DATE: &str = "maturity_date";
pub const PRINCIPAL: &str = "principal";
pub const INTEREST_RATE: &str = "interest_rate";
pub const COLLATERAL_BTC: &str = "collateral_btc";
pub const ORIGINAL_PRINCIPAL: &str = "original_principal";
pub const CAPITALIZED_INTEREST: &str = "capitalized_interest";
pub const RENEWAL_COUNT: &str = "renewal_count";
pub const ACCRUED_INTEREST: &str = "accrued_interest";
pub const STATE: &str = "state";
pub const ORIGINATION_LTV: &str = "origination_ltv";

/// Every column absrate reads, in the order it writes them.
pub const COLUMNS: &[Column] = &[
    col(LOAN_ID, Kind::Text, Fallback::Required),
    col(BORROWER_ID, Kind::Text, Fallback::Required),
    col(ORIGINATION_DATE, Kind::Date, Fallback::Required),
    col(MATURITY_DATE, Kind::Date, Fallback::Required),
    col(PRINCIPAL, Kind::Money, Fallback::Required),
    col(INTEREST_RATE, Kind::Rate, Fallback::Required),
    col(COLLATERAL_BTC, Kind::Btc, Fallback::Required),
    col(
        ORIGINAL_PRINCIPAL,
        Kind::Money,
        Fallback::PrincipalLessCapitalized,
    ),
    col(CAPITALIZED_INTEREST, Kind::Money, Fallback::Zero),
    col(RENEWAL_COUNT, Kind::Count, Fallback::Zero),
    col(ACCRUED_INTEREST, Kind::Money, Fallback::Zero),
    col(STATE, Kind::Text, Fallback::Unknown),
    col(ORIGINATION_LTV, Kind::Rate, Fallback::NotAvailable),
];
