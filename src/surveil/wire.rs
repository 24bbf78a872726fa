//! `report.yaml` as written: strict serde structs (an unknown key is a located error) that also
//! generate the format's JSON Schema ([`super::json_schema`]). Nothing here is checked beyond
//! types; `report.rs` turns a [`ReportFile`] into a checked [`super::Report`]. The format is
//! documented key by key in `docs/surveillance.md`.

use std::path::PathBuf;

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::limits::Written;

/// One servicer report: the deal's figures after one payment date.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportFile {
    /// The deal's name, exactly as its deal file gives it (`name`).
    #[schemars(with = "String")]
    pub deal: Spanned<String>,
    /// The payment date this report follows (one of the deal's monthly payment dates), or the
    /// deal's closing date for the closing report.
    #[schemars(with = "NaiveDate")]
    pub payment_date: Spanned<NaiveDate>,
    /// Payment dates passed since closing, this one included (1 for the first payment date, 0
    /// for the closing report).
    #[schemars(with = "u32")]
    pub period: Spanned<u32>,
    /// USD per BTC the servicer valued the collateral at.
    #[schemars(with = "String")]
    pub btc_price: Spanned<Written>,
    /// Which priority of payments applies from this payment date on.
    #[schemars(with = "ReportPhase")]
    pub phase: Spanned<ReportPhase>,
    /// The deal's triggers that are breached (an empty list when none is).
    #[schemars(with = "Vec<Trigger>")]
    pub triggers_breached: Vec<Spanned<Trigger>>,
    /// One entry per note class, in the deal file's order.
    #[schemars(with = "Vec<NoteFile>")]
    pub notes: Vec<Spanned<NoteFile>>,
    /// Fees due and unpaid, carried to the next payment date, USD.
    #[schemars(with = "String")]
    pub fees_carried: Spanned<Written>,
    /// Reserve account balance, USD.
    #[schemars(with = "String")]
    pub reserve: Spanned<Written>,
    /// Cash left in the collection account after the payment date, USD.
    #[schemars(with = "String")]
    pub collection_account: Spanned<Written>,
    /// Cash in the reinvestment account, awaiting new loans, USD.
    #[schemars(with = "String")]
    pub reinvestment_account: Spanned<Written>,
    /// Balance of the loans that defaulted since closing, USD.
    #[schemars(with = "String")]
    pub cumulative_defaults: Spanned<Written>,
    /// Part of the defaulted balance not recovered, since closing, USD.
    #[schemars(with = "String")]
    pub cumulative_losses: Spanned<Written>,
    /// Loans liquidated since the pool's cut-off.
    pub cumulative_liquidations: LiquidationsFile,
    /// The loan tape as of the payment date, relative to this file (CSV or Parquet, docs/tape.md).
    pub tape: PathBuf,
}

/// A note class's figures after the payment date.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteFile {
    pub class: String,
    /// Outstanding principal, USD.
    #[schemars(with = "String")]
    pub balance: Spanned<Written>,
    /// Interest due and unpaid, carried to the next payment date, USD.
    #[schemars(with = "String")]
    pub interest_carried: Spanned<Written>,
}

/// Loans liquidated since the pool's cut-off: how many, and the balance each had on the last
/// tape that listed it (the cut-off tape for a loan liquidated before closing).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LiquidationsFile {
    pub count: u64,
    #[schemars(with = "String")]
    pub balance: Spanned<Written>,
}

/// The phase a report states, onto [`crate::deal::Phase`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportPhase {
    Revolving,
    Amortizing,
    Accelerated,
}

/// A trigger of the deal file (`triggers.*` in docs/deal.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// Cumulative defaults above the deal's share of the initial pool.
    CumulativeDefaultRatio,
    /// The reserve below its target after the top-up.
    ReserveBelowTarget,
}

impl Trigger {
    pub fn name(self) -> &'static str {
        match self {
            Trigger::CumulativeDefaultRatio => "cumulative_default_ratio",
            Trigger::ReserveBelowTarget => "reserve_below_target",
        }
    }
}
