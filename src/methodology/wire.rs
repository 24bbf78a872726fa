//! The methodology file as written: strict serde structs (unknown keys are errors) that also
//! generate the JSON Schema (`absrate methodology schema`). Nothing here is validated beyond
//! types; `model.rs` turns a [`MethodologyFile`] into a checked [`super::Methodology`].

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Deserialize;

use super::notch::Notch;

/// A calibrated number and where it comes from (a published fact, or the reasoning behind an
/// assumption).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Sourced<T> {
    pub value: T,
    /// Provenance: which published fact, or why this value.
    pub source: String,
}

/// Which loans default first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultOrder {
    /// Every loan defaults in proportion to its balance.
    ProRata,
    /// Loans default in order of current LTV, highest first.
    HighestLtvFirst,
}

/// The stress parameters of a rating level. Every field is optional here: a level may take any
/// of them from `common`; after merging, every field must be present.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct StressFile {
    /// Cumulative default rate, share of the pool balance, in [0, 1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_rate: Option<Sourced<Decimal>>,
    /// Share of all defaults in each month from closing; non-negative, sums to 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_timing: Option<Sourced<Vec<Decimal>>>,
    /// Which loans default first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_order: Option<Sourced<DefaultOrder>>,
    /// Share of a defaulted balance recovered, in [0, 1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_rate: Option<Sourced<Decimal>>,
    /// Months from default to recovery cash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_lag_months: Option<Sourced<u32>>,
    /// Share of interest due that is collected in cash (the rest is capitalized), in [0, 1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interest_cash_share: Option<Sourced<Decimal>>,
    /// Annual servicing fee under stress, share of the pool balance, in [0, 1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub servicing_fee_rate: Option<Sourced<Decimal>>,
    /// Annual yield of loans bought while the deal revolves, in [0, 1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reinvestment_yield: Option<Sourced<Decimal>>,
    /// LTV of loans bought while the deal revolves, in [0, 1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reinvestment_ltv: Option<Sourced<Decimal>>,
    /// Months cash stays idle before it is reinvested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cash_drag_months: Option<Sourced<u32>>,
    /// The N largest borrowers default at the start of the stress.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_obligor_defaults: Option<Sourced<u32>>,
    /// Largest share of the pool one borrower may count for; exposure above it gets no credit
    /// (1 = no limit), in [0, 1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub obligor_limit: Option<Sourced<Decimal>>,
    /// Share of capitalized interest that counts in the pool balance, in [0, 1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capitalized_interest_credit: Option<Sourced<Decimal>>,
    /// Default-rate multiplier for loans that carry capitalized interest, at least 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capitalized_interest_default_multiplier: Option<Sourced<Decimal>>,
    /// Market-value mode: fall of the BTC price from the cut-off price to the path's trough, in [0, 1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub btc_trough: Option<Sourced<Decimal>>,
    /// Market-value mode: days from the cut-off to the trough.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_to_trough: Option<Sourced<u32>>,
    /// Market-value mode: `linear`, `front_loaded`, or the name of a shape in `market.shapes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_shape: Option<Sourced<String>>,
    /// Market-value mode: fall from the reference price to the sale price, in [0, 1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liquidation_gap: Option<Sourced<Decimal>>,
    /// Market-value mode: days from the liquidation trigger to the sale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liquidation_lag_days: Option<Sourced<u32>>,
    /// Market-value mode: fixed slippage on every sale, in [0, 1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slippage: Option<Sourced<Decimal>>,
    /// Market-value mode: multiplier on the square-root market impact of the pool's own sales
    /// (crowded exits), at least 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crowding: Option<Sourced<Decimal>>,
    /// Market-value mode: share of borrowers who answer a margin call by adding BTC, in [0, 1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub margin_call_answer_share: Option<Sourced<Decimal>>,
    /// Market-value mode: what a borrower in margin call does at the balloon date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balloon_in_margin_call: Option<Sourced<crate::stress::liquidation::Balloon>>,
}

/// How a methodology states its stress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Each level states a cumulative default rate, its timing and a recovery rate.
    #[default]
    DefaultAndRecovery,
    /// Each level states a BTC price path and the terms of sale; the liquidation engine turns
    /// them into defaults and recoveries loan by loan (docs/market.md).
    MarketValue,
}

/// A historical path shape: `[u, s]` points, `u` the share of the time to the trough (0 to 1),
/// `s` the share of the trough's fall reached (0 at the start, 1 at the trough).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ShapeFile {
    /// Where the points come from (episode, price file, sampling).
    pub source: String,
    pub points: Vec<[Decimal; 2]>,
}

/// Market facts shared by every level of a market-value methodology.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct MarketFile {
    /// Days the price path covers (the loans' one-year term: 365).
    pub horizon_days: Sourced<u32>,
    /// LTV a borrower who answers a margin call restores, in (0, 1).
    pub cure_ltv: Sourced<Decimal>,
    /// Seed of the ChaCha8 stream that picks which borrowers answer margin calls (one draw per
    /// loan, shared by every level, so a harsher level's answerers are a subset of a milder one's).
    pub answer_seed: Sourced<u64>,
    /// Square-root impact: `impact_coefficient x daily_volatility x sqrt(sold / daily_volume_usd)`.
    pub impact_coefficient: Sourced<Decimal>,
    pub daily_volatility: Sourced<Decimal>,
    pub daily_volume_usd: Sourced<Decimal>,
    /// Historical shapes by name, for `path_shape`.
    #[serde(default)]
    pub shapes: BTreeMap<String, ShapeFile>,
}

/// The terms a Monte Carlo path runs on (`absrate simulate`): not a rating stress but the
/// expected behaviour of borrowers, servicer and market, each with its provenance. Everything the
/// price path decides (falls, troughs, the move between a trigger and its sale) comes from the
/// price model instead.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SimulationTermsFile {
    /// Which loans default first in the period engine.
    pub default_order: Sourced<DefaultOrder>,
    /// Months from a sale to its proceeds reaching the trust.
    pub recovery_lag_months: Sourced<u32>,
    /// Share of interest due collected in cash, in [0, 1].
    pub interest_cash_share: Sourced<Decimal>,
    /// Annual servicing fee, share of the pool balance, in [0, 1].
    pub servicing_fee_rate: Sourced<Decimal>,
    /// Annual yield of loans bought while the deal revolves, in [0, 1].
    pub reinvestment_yield: Sourced<Decimal>,
    /// LTV of loans bought while the deal revolves, in [0, 1].
    pub reinvestment_ltv: Sourced<Decimal>,
    /// Months cash stays idle before it is reinvested.
    pub cash_drag_months: Sourced<u32>,
    /// Largest share of the pool one borrower counts for (1 = no limit), in [0, 1].
    pub obligor_limit: Sourced<Decimal>,
    /// Share of capitalized interest that counts in the pool balance, in [0, 1].
    pub capitalized_interest_credit: Sourced<Decimal>,
    /// Days from the liquidation trigger to the sale (0: within the day, after the execution
    /// window).
    pub liquidation_lag_days: Sourced<u32>,
    /// Hours from the moment a loan reaches its liquidation LTV to the sale: the window over which
    /// the price model's move sets the sale's discount below the trigger, in (0, 24].
    pub execution_window_hours: Sourced<Decimal>,
    /// Fixed slippage on every sale, in [0, 1].
    pub slippage: Sourced<Decimal>,
    /// Multiplier on the square-root impact of the pool's own sales, at least 1.
    pub crowding: Sourced<Decimal>,
    /// Share of borrowers who answer a margin call by adding BTC, in [0, 1].
    pub margin_call_answer_share: Sourced<Decimal>,
    /// What a borrower in margin call does at the balloon date.
    pub balloon_in_margin_call: Sourced<crate::stress::liquidation::Balloon>,
}

/// An idealized table: for each rating, the cumulative expected loss (or default probability) a
/// note of that rating may have at each horizon.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct IdealizedTableFile {
    /// The published table this is, and how its cells were read or derived.
    pub source: String,
    /// What the cells measure.
    pub measure: IdealizedMeasure,
    /// Horizons of the columns, in years, rising.
    pub horizons_years: Vec<Decimal>,
    /// Per rating (`AAA` ... `B-`, every notch), one share per horizon, in [0, 1], rising with
    /// the horizon and with each notch down the scale.
    pub ratings: BTreeMap<String, Vec<Decimal>>,
}

/// What an idealized table's cells measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdealizedMeasure {
    /// Cumulative expected loss, share of the note's balance.
    ExpectedLoss,
}

/// The Monte Carlo second opinion's section of a market-value methodology.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SimulationFile {
    /// The price model `simulate` draws paths from unless `--model` names another
    /// (`ID@VERSION` in `methodology/models/`).
    pub price_model: Sourced<String>,
    pub terms: SimulationTermsFile,
    /// The table a note's expected loss is rated against, at the note's expected weighted
    /// average life.
    pub idealized_table: IdealizedTableFile,
}

/// The record of a calibration (`absrate methodology calibrate`, docs/calibration.md): what the
/// path-driven fields of the levels were computed from, so anyone can rerun it.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationFile {
    /// The command that writes this file, byte for byte.
    pub command: String,
    /// How each computed field was computed.
    pub method: String,
    /// The price model (`ID@VERSION`) and the SHA-256 of its file.
    pub price_model: String,
    pub price_model_sha256: String,
    /// The price file's name, its SHA-256, and the historical windows read from it.
    pub prices: String,
    pub prices_sha256: String,
    pub history: String,
    /// The judgement the calibration read (paths, seed, tail, severity, overlays), and its SHA-256.
    pub recipe: String,
    pub recipe_sha256: String,
    /// Simulated one-year paths, and the seed of their ChaCha8 streams (stream = path index).
    pub paths: u64,
    pub seed: u64,
}

/// How interest on a note must be paid to pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InterestCriterion {
    /// In full on every payment date.
    Timely,
    /// In full by the legal final maturity, shortfalls carried forward.
    Ultimate,
}

/// How principal on a note must be paid to pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalCriterion {
    /// In full by the legal final maturity.
    UltimateByLegalFinal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    pub interest: InterestCriterion,
    pub principal: PrincipalCriterion,
}

/// What a note must receive under a level's stress to pass at that level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct PassCriteria {
    pub senior: Criterion,
    pub subordinate: Criterion,
}

pub use crate::money::{Rounding, RoundingStrategy};

/// How notches between two anchor levels get their parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Interpolation {
    /// Rates and multipliers linear in the notch position (rounded half-even to 6 places);
    /// whole numbers, curves and choices from the nearest anchor above (the harsher one).
    Linear,
    /// Every parameter from the nearest anchor above.
    Step,
}

/// The expected case, with no rating stress: coverage multiples are measured against it.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct BaseCase {
    pub default_rate: Sourced<Decimal>,
    pub recovery_rate: Sourced<Decimal>,
}

/// `ID@VERSION` or nothing: the text of a reference to a methodology version (a type, like the
/// file's own `version`), refused where it is written when it is not one.
fn id_at_version<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let Some(text) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    let valid = text.split_once('@').is_some_and(|(id, version)| {
        !id.trim().is_empty() && id.trim() == id && semver::Version::parse(version).is_ok()
    });
    if valid {
        Ok(Some(text))
    } else {
        Err(serde::de::Error::custom(format!(
            "supersedes: `{text}` is not ID@VERSION (the id of a methodology, `@`, and a semantic version such as 1.0.0), nor null"
        )))
    }
}

/// A rating cap or adjustment an agency applies beyond the cash flows (an asset class with a
/// short record, an unrated custodian, the sponsor's own standing), applied to every note after
/// its quantitative result (docs/methodology.md, "Overlays"). Every field is checked here, where
/// the parser can locate it; that names are unique is checked on the whole list (`model.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Overlay {
    /// Short name, unique in the file: the grid and the rationale name the overlay by it.
    #[serde(deserialize_with = "overlay_name")]
    #[schemars(length(min = 1))]
    pub name: String,
    pub adjustment: Adjustment,
    /// Why it applies to this asset class or deal.
    #[serde(deserialize_with = "overlay_reason")]
    #[schemars(length(min = 1))]
    pub reason: String,
    /// The published criteria it comes from.
    #[serde(deserialize_with = "overlay_source")]
    #[schemars(length(min = 1))]
    pub source: String,
}

/// What an overlay does to a note's quantitative rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Adjustment {
    /// No note is rated above this notch (`{ cap: "A+" }`).
    Cap(Notch),
    /// The rating is lowered by this many notches, 1 to 16 (`{ notches_down: 1 }`); below 'B-'
    /// is "below B-".
    NotchesDown(
        #[serde(deserialize_with = "notches_down")]
        #[schemars(range(min = 1, max = 16))]
        u8,
    ),
}

impl std::fmt::Display for Adjustment {
    /// As the grid and the rationale say it: `cap 'A+'`, `1 notch down`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Adjustment::Cap(n) => write!(f, "cap '{n}'"),
            Adjustment::NotchesDown(1) => write!(f, "1 notch down"),
            Adjustment::NotchesDown(k) => write!(f, "{k} notches down"),
        }
    }
}

/// Text an overlay must state: refused where it is written when empty.
fn stated<'de, D: serde::Deserializer<'de>>(d: D, field: &str) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    if text.trim().is_empty() {
        return Err(serde::de::Error::custom(format!(
            "overlay {field}: must not be empty (an overlay states its name, its reason and its source)"
        )));
    }
    Ok(text)
}

fn overlay_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    stated(d, "name")
}

fn overlay_reason<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    stated(d, "reason")
}

fn overlay_source<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    stated(d, "source")
}

/// 1 to 16: the whole scale is 16 notches, so 16 takes any rating below 'B-'.
fn notches_down<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    let n = u64::deserialize(d)?;
    match u8::try_from(n) {
        Ok(k @ 1..=16) => Ok(k),
        _ => Err(serde::de::Error::custom(format!(
            "notches_down: must be within [1, 16] (the scale has 16 notches), got {n}"
        ))),
    }
}

/// A methodology file, `methodology/<id>/<version>.yaml`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct MethodologyFile {
    /// Stable name of the rule book, e.g. `btc-backed-consumer-loans`.
    pub id: String,
    /// Semantic version; a published version never changes.
    pub version: semver::Version,
    /// Date from which the version applies.
    pub effective_date: NaiveDate,
    /// The version this one replaces (`ID@VERSION`, the version a semantic version), if any.
    #[serde(default, deserialize_with = "id_at_version")]
    pub supersedes: Option<String>,
    pub title: String,
    /// What the methodology covers and how it was calibrated.
    pub description: String,
    pub rounding: Rounding,
    pub interpolation: Interpolation,
    pub pass_criteria: PassCriteria,
    pub base_case: BaseCase,
    /// `default_and_recovery` (the default) or `market_value`.
    #[serde(default)]
    pub mode: Mode,
    /// Market facts; required in `market_value` mode, refused otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market: Option<MarketFile>,
    /// The Monte Carlo second opinion (`absrate simulate`); market-value mode only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulation: Option<SimulationFile>,
    /// How a calibrated version was computed (`absrate methodology calibrate`): a record, not a
    /// stress; every computed value's own `source` says the same in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<CalibrationFile>,
    /// Parameters shared by every level unless the level gives its own.
    #[serde(default)]
    pub common: StressFile,
    /// Stress per rating level, keyed by notch (`AAA` ... `B-`). Notches not given are interpolated
    /// between the anchors given; `AAA` and `B-` must be given.
    pub levels: BTreeMap<String, StressFile>,
    /// Caps and adjustments applied after the quantitative result, each with its reason and
    /// source; none by default.
    #[serde(default)]
    pub overlays: Vec<Overlay>,
}
