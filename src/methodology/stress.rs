//! The stress parameters of one rating level as a table of named values: one place that knows
//! each field's kind, its admissible range and which direction is harsher, used for merging,
//! interpolation, the monotonicity check, `show` and `diff`.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use super::wire::{DefaultOrder, Mode, Sourced, StressFile};
use crate::limits;
use crate::stress::liquidation::Balloon;

/// Which way a parameter gets harsher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Harsher {
    Higher,
    Lower,
    /// Not ordered (curves, choices).
    Unordered,
}

/// The kind of value a parameter holds, with its admissible range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A share in [0, 1].
    Share,
    /// A whole number, at most the limit it holds (`crate::limits`).
    Count(u32),
    /// A decimal of at least 1, at most [`limits::MULTIPLIER_MAX`].
    Multiplier,
    /// Non-negative shares summing to 1.
    Curve,
    /// A choice.
    Order,
    /// A name (a path shape, a borrower behaviour).
    Text,
}

/// Which methodologies a parameter belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    Both,
    /// Stated in `default_and_recovery` mode; derived by the liquidation engine in `market_value`.
    DefaultAndRecovery,
    MarketValue,
}

impl Applies {
    pub fn to(self, mode: Mode) -> bool {
        matches!(
            (self, mode),
            (Applies::Both, _)
                | (Applies::DefaultAndRecovery, Mode::DefaultAndRecovery)
                | (Applies::MarketValue, Mode::MarketValue)
        )
    }
}

/// The parameter groups: `show` prints one table per group, `compare` attributes rating moves to
/// groups, and the JSON Schema names each field's group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    DefaultAndRecovery,
    CollectionsAndReinvestment,
    ObligorConcentration,
    CapitalizedInterest,
    PricePath,
    SaleTerms,
    BorrowerBehaviour,
}

impl Group {
    /// Every group, in the order reports list them.
    pub const ALL: [Group; 7] = [
        Group::DefaultAndRecovery,
        Group::CollectionsAndReinvestment,
        Group::ObligorConcentration,
        Group::CapitalizedInterest,
        Group::PricePath,
        Group::SaleTerms,
        Group::BorrowerBehaviour,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Group::DefaultAndRecovery => "default and recovery",
            Group::CollectionsAndReinvestment => "collections and reinvestment",
            Group::ObligorConcentration => "obligor concentration",
            Group::CapitalizedInterest => "capitalized interest",
            Group::PricePath => "price path",
            Group::SaleTerms => "terms of sale",
            Group::BorrowerBehaviour => "borrower behaviour",
        }
    }

    /// The title as a heading: `Default and recovery`.
    pub fn heading(self) -> String {
        let t = self.title();
        let mut c = t.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect())
            .unwrap_or_default()
    }

    /// The fields of this group, in [`FIELDS`] order.
    pub fn fields(self) -> impl Iterator<Item = &'static Field> {
        FIELDS.iter().filter(move |f| f.group == self)
    }
}

/// The unit a parameter is stated in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A share, written as a decimal fraction (0.79 = 79%).
    Fraction,
    /// A share a year.
    FractionPerYear,
    Months,
    Days,
    Loans,
    /// A multiplier (1 = none).
    Times,
    /// Shares per month from closing.
    MonthlyShares,
    /// A named choice.
    Choice,
}

impl Unit {
    pub fn text(self) -> &'static str {
        match self {
            Unit::Fraction => "share (0.79 = 79%)",
            Unit::FractionPerYear => "share a year",
            Unit::Months => "months",
            Unit::Days => "days",
            Unit::Loans => "borrowers",
            Unit::Times => "multiplier",
            Unit::MonthlyShares => "share of defaults per month",
            Unit::Choice => "choice",
        }
    }
}

/// One parameter of the table: declared once, and `show`, `diff`, `compare` attribution and the
/// JSON Schema all read it from here.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub harsher: Harsher,
    pub applies: Applies,
    pub group: Group,
    /// Column header in reports.
    pub label: &'static str,
    pub unit: Unit,
}

use Applies::{Both, DefaultAndRecovery as DR, MarketValue as MV};
use Group::{
    BorrowerBehaviour as Behaviour, CapitalizedInterest as Capitalized,
    CollectionsAndReinvestment as Collections, DefaultAndRecovery as Defaults,
    ObligorConcentration as Obligors, PricePath as Path, SaleTerms as Sale,
};

#[allow(clippy::too_many_arguments)]
const fn f(
    applies: Applies,
    name: &'static str,
    kind: Kind,
    harsher: Harsher,
    group: Group,
    label: &'static str,
    unit: Unit,
) -> Field {
    Field {
        name,
        kind,
        harsher,
        applies,
        group,
        label,
        unit,
    }
}

use Harsher::{Higher, Lower, Unordered};
use Kind::{Count, Curve, Multiplier, Order, Share, Text};

/// Every stress parameter, in the order files and reports list them.
#[rustfmt::skip]
pub const FIELDS: &[Field] = &[
    f(DR, "default_rate", Share, Higher, Defaults, "default", Unit::Fraction),
    f(DR, "default_timing", Curve, Unordered, Defaults, "timing", Unit::MonthlyShares),
    f(Both, "default_order", Order, Unordered, Defaults, "order", Unit::Choice),
    f(DR, "recovery_rate", Share, Lower, Defaults, "recovery", Unit::Fraction),
    f(Both, "recovery_lag_months", Count(limits::MONTHS_MAX), Higher, Defaults, "lag (mo)", Unit::Months),
    f(Both, "interest_cash_share", Share, Lower, Collections, "cash int.", Unit::Fraction),
    f(Both, "servicing_fee_rate", Share, Higher, Collections, "serv. fee", Unit::FractionPerYear),
    f(Both, "reinvestment_yield", Share, Lower, Collections, "reinv. yield", Unit::FractionPerYear),
    f(Both, "reinvestment_ltv", Share, Higher, Collections, "reinv. LTV", Unit::Fraction),
    f(Both, "cash_drag_months", Count(limits::MONTHS_MAX), Higher, Collections, "drag (mo)", Unit::Months),
    f(Both, "top_obligor_defaults", Count(limits::TOP_OBLIGORS_MAX), Higher, Obligors, "top obligors", Unit::Loans),
    f(Both, "obligor_limit", Share, Lower, Obligors, "obligor limit", Unit::Fraction),
    f(Both, "capitalized_interest_credit", Share, Lower, Capitalized, "cap. credit", Unit::Fraction),
    f(DR, "capitalized_interest_default_multiplier", Multiplier, Higher, Capitalized, "cap. multiplier", Unit::Times),
    f(MV, "btc_trough", Share, Higher, Path, "BTC trough", Unit::Fraction),
    f(MV, "days_to_trough", Count(limits::HORIZON_DAYS_MAX), Lower, Path, "days to trough", Unit::Days),
    f(MV, "path_shape", Text, Unordered, Path, "shape", Unit::Choice),
    f(MV, "liquidation_gap", Share, Higher, Sale, "gap", Unit::Fraction),
    f(MV, "liquidation_lag_days", Count(limits::SALE_LAG_DAYS_MAX), Higher, Sale, "lag (days)", Unit::Days),
    f(MV, "slippage", Share, Higher, Sale, "slippage", Unit::Fraction),
    f(MV, "crowding", Multiplier, Higher, Sale, "crowding", Unit::Times),
    f(MV, "margin_call_answer_share", Share, Lower, Behaviour, "answer share", Unit::Fraction),
    f(MV, "balloon_in_margin_call", Text, Unordered, Behaviour, "balloon in call", Unit::Choice),
];

impl Field {
    /// One line on the parameter for the JSON Schema and help texts.
    pub fn describe(&self) -> String {
        let harsher = match self.harsher {
            Harsher::Higher => "higher is harsher",
            Harsher::Lower => "lower is harsher",
            Harsher::Unordered => "not ordered",
        };
        let mode = match self.applies {
            Applies::Both => "both modes",
            Applies::DefaultAndRecovery => "default_and_recovery mode only",
            Applies::MarketValue => "market_value mode only",
        };
        format!(
            "{} ({}): {}; group: {}; {}",
            self.label,
            self.unit.text(),
            harsher,
            self.group.title(),
            mode
        )
    }
}

/// Writes each stress field's declaration into a JSON Schema of the methodology file: the
/// `StressFile` properties get their description and an `x-absrate` object (group, unit,
/// harsher direction, mode) from [`FIELDS`].
pub fn annotate_schema(schema: &mut serde_json::Value) {
    let Some(props) = schema
        .pointer_mut("/$defs/StressFile/properties")
        .and_then(|p| p.as_object_mut())
    else {
        return;
    };
    for f in FIELDS {
        if let Some(p) = props.get_mut(f.name).and_then(|p| p.as_object_mut()) {
            p.insert("description".into(), f.describe().into());
            p.insert(
                "x-absrate".into(),
                serde_json::json!({
                    "group": f.group,
                    "unit": f.unit,
                    "label": f.label,
                    "harsher": format!("{:?}", f.harsher).to_lowercase(),
                    "mode": format!("{:?}", f.applies).to_lowercase(),
                }),
            );
        }
    }
}

/// A parameter's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Decimal(Decimal),
    Count(u32),
    Curve(Vec<Decimal>),
    Order(DefaultOrder),
    Text(String),
    /// Not stated in this methodology's mode: derived (market value) or unused.
    NotStated,
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Decimal(d) => write!(f, "{}", d.normalize()),
            Value::Count(n) => write!(f, "{n}"),
            Value::Curve(c) => {
                let parts: Vec<String> = c.iter().map(|d| d.normalize().to_string()).collect();
                write!(f, "[{}]", parts.join(", "))
            }
            Value::Order(DefaultOrder::ProRata) => f.write_str("pro_rata"),
            Value::Order(DefaultOrder::HighestLtvFirst) => f.write_str("highest_ltv_first"),
            Value::Text(t) => f.write_str(t),
            Value::NotStated => f.write_str("-"),
        }
    }
}

impl Value {
    /// How a report shows the value: shares as percentages (`79%`, `56.6667%`), the rest as is.
    pub fn show(&self, kind: Kind) -> String {
        match (kind, self) {
            (Kind::Share, Value::Decimal(d)) => {
                let p = (d * Decimal::ONE_HUNDRED)
                    .round_dp_with_strategy(4, RoundingStrategy::MidpointNearestEven)
                    .normalize();
                format!("{p}%")
            }
            (Kind::Multiplier, Value::Decimal(d)) => format!("{}x", d.normalize()),
            _ => self.to_string(),
        }
    }

    /// Ordering for the monotonicity check (numbers only).
    pub fn number(&self) -> Option<Decimal> {
        match self {
            Value::Decimal(d) => Some(*d),
            Value::Count(n) => Some(Decimal::from(*n)),
            _ => None,
        }
    }
}

/// A value with its provenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Param {
    pub value: Value,
    pub source: String,
}

/// The parameters of a file's level or `common` section, by position in [`FIELDS`].
pub type Partial = Vec<Option<Param>>;

fn take<T>(s: &Option<Sourced<T>>, f: impl Fn(&T) -> Value) -> Option<Param> {
    s.as_ref().map(|s| Param {
        value: f(&s.value),
        source: s.source.clone(),
    })
}

/// The file's fields as a partial table, in [`FIELDS`] order.
pub fn partial(s: &StressFile) -> Partial {
    let dec = |d: &Decimal| Value::Decimal(*d);
    let count = |n: &u32| Value::Count(*n);
    vec![
        take(&s.default_rate, dec),
        take(&s.default_timing, |c| Value::Curve(c.clone())),
        take(&s.default_order, |o| Value::Order(*o)),
        take(&s.recovery_rate, dec),
        take(&s.recovery_lag_months, count),
        take(&s.interest_cash_share, dec),
        take(&s.servicing_fee_rate, dec),
        take(&s.reinvestment_yield, dec),
        take(&s.reinvestment_ltv, dec),
        take(&s.cash_drag_months, count),
        take(&s.top_obligor_defaults, count),
        take(&s.obligor_limit, dec),
        take(&s.capitalized_interest_credit, dec),
        take(&s.capitalized_interest_default_multiplier, dec),
        take(&s.btc_trough, dec),
        take(&s.days_to_trough, count),
        take(&s.path_shape, |t| Value::Text(t.clone())),
        take(&s.liquidation_gap, dec),
        take(&s.liquidation_lag_days, count),
        take(&s.slippage, dec),
        take(&s.crowding, dec),
        take(&s.margin_call_answer_share, dec),
        take(&s.balloon_in_margin_call, |b| {
            Value::Text(
                match b {
                    Balloon::Repay => "repay",
                    Balloon::RollOver => "roll_over",
                    Balloon::Default => "default",
                }
                .into(),
            )
        }),
    ]
}

/// Why a value is out of its range, if it is.
pub fn out_of_range(kind: Kind, v: &Value) -> Option<String> {
    match (kind, v) {
        (Kind::Count(max), Value::Count(n)) if *n > max => {
            Some(format!("must be at most {max} ({LIMIT}), got {n}"))
        }
        (Kind::Multiplier, Value::Decimal(d)) if *d > limits::MULTIPLIER_MAX => Some(format!(
            "must be at most {} ({LIMIT}), got {}",
            limits::MULTIPLIER_MAX_TEXT,
            d.normalize()
        )),
        (Kind::Share, Value::Decimal(d)) if *d < Decimal::ZERO || *d > Decimal::ONE => {
            Some(format!("must be within [0, 1], got {}", d.normalize()))
        }
        (Kind::Multiplier, Value::Decimal(d)) if *d < Decimal::ONE => {
            Some(format!("must be at least 1, got {}", d.normalize()))
        }
        (Kind::Curve, Value::Curve(c)) => {
            if c.is_empty() {
                return Some("must list at least one month".into());
            }
            if let Some((i, d)) = c.iter().enumerate().find(|(_, d)| **d < Decimal::ZERO) {
                return Some(format!("month {} is negative ({})", i + 1, d.normalize()));
            }
            let sum: Decimal = c.iter().sum();
            (sum != Decimal::ONE).then(|| format!("must sum to 1, sums to {}", sum.normalize()))
        }
        _ => None,
    }
}

/// Where a limit of `crate::limits` is explained, as messages cite it.
pub const LIMIT: &str = "absrate's limit, docs/reliability.md";

/// Linear interpolation between the values of two anchors, `t` of the way from `hi` to `lo`.
pub fn interpolate(hi: &Value, lo: &Value, t: Decimal) -> Value {
    match (hi, lo) {
        (Value::Decimal(a), Value::Decimal(b)) => Value::Decimal(
            (a + (b - a) * t).round_dp_with_strategy(6, RoundingStrategy::MidpointNearestEven),
        ),
        _ => hi.clone(),
    }
}

/// The fully resolved stress of one level, typed for the engines: what both modes share, and
/// the terms of the level's mode ([`StressKind`]). No field stands in for another mode's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stress {
    pub default_order: DefaultOrder,
    pub recovery_lag_months: u32,
    pub interest_cash_share: Decimal,
    pub servicing_fee_rate: Decimal,
    pub reinvestment_yield: Decimal,
    pub reinvestment_ltv: Decimal,
    pub cash_drag_months: u32,
    pub top_obligor_defaults: u32,
    pub obligor_limit: Decimal,
    pub capitalized_interest_credit: Decimal,
    pub kind: StressKind,
}

/// How a level states its defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum StressKind {
    /// A cumulative default rate, its timing and a recovery rate, as stated.
    DefaultAndRecovery(DefaultRecovery),
    /// A BTC price path and the terms of sale; the liquidation engine derives defaults and
    /// recoveries loan by loan.
    MarketValue(MarketStress),
}

/// A default-and-recovery level's own terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DefaultRecovery {
    pub default_rate: Decimal,
    pub default_timing: Vec<Decimal>,
    pub recovery_rate: Decimal,
    pub capitalized_interest_default_multiplier: Decimal,
}

/// One level's market-value stress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MarketStress {
    pub btc_trough: Decimal,
    pub days_to_trough: u32,
    pub path_shape: String,
    pub liquidation_gap: Decimal,
    pub liquidation_lag_days: u32,
    pub slippage: Decimal,
    pub crowding: Decimal,
    pub margin_call_answer_share: Decimal,
    pub balloon_in_margin_call: Balloon,
}

impl Stress {
    /// The default-and-recovery terms, for a level of that mode.
    pub fn default_recovery(&self) -> Option<&DefaultRecovery> {
        match &self.kind {
            StressKind::DefaultAndRecovery(d) => Some(d),
            StressKind::MarketValue(_) => None,
        }
    }

    /// The price path and terms of sale, for a market-value level.
    pub fn market(&self) -> Option<&MarketStress> {
        match &self.kind {
            StressKind::MarketValue(m) => Some(m),
            StressKind::DefaultAndRecovery(_) => None,
        }
    }

    /// Builds the typed stress from a complete table (in [`FIELDS`] order): market value when the
    /// table states a BTC trough, else default and recovery. `None` if a value is missing or has
    /// the wrong kind, which validation rules out.
    pub fn from_params(p: &[Param]) -> Option<Stress> {
        let at = |name: &str| {
            FIELDS
                .iter()
                .position(|f| f.name == name)
                .and_then(|i| p.get(i))
        };
        let dec = |name: &str| match at(name)?.value {
            Value::Decimal(d) => Some(d),
            _ => None,
        };
        let count = |name: &str| match at(name)?.value {
            Value::Count(n) => Some(n),
            _ => None,
        };
        let text = |name: &str| match &at(name)?.value {
            Value::Text(t) => Some(t.clone()),
            _ => None,
        };
        let stated = |name: &str| !matches!(at(name).map(|p| &p.value), Some(Value::NotStated));
        let kind = if stated("btc_trough") {
            StressKind::MarketValue(MarketStress {
                btc_trough: dec("btc_trough")?,
                days_to_trough: count("days_to_trough")?,
                path_shape: text("path_shape")?,
                liquidation_gap: dec("liquidation_gap")?,
                liquidation_lag_days: count("liquidation_lag_days")?,
                slippage: dec("slippage")?,
                crowding: dec("crowding")?,
                margin_call_answer_share: dec("margin_call_answer_share")?,
                balloon_in_margin_call: match text("balloon_in_margin_call")?.as_str() {
                    "repay" => Balloon::Repay,
                    "roll_over" => Balloon::RollOver,
                    "default" => Balloon::Default,
                    _ => return None,
                },
            })
        } else {
            StressKind::DefaultAndRecovery(DefaultRecovery {
                default_rate: dec("default_rate")?,
                default_timing: match &at("default_timing")?.value {
                    Value::Curve(c) => c.clone(),
                    _ => return None,
                },
                recovery_rate: dec("recovery_rate")?,
                capitalized_interest_default_multiplier: dec(
                    "capitalized_interest_default_multiplier",
                )?,
            })
        };
        Some(Stress {
            default_order: match at("default_order")?.value {
                Value::Order(o) => o,
                _ => return None,
            },
            recovery_lag_months: count("recovery_lag_months")?,
            interest_cash_share: dec("interest_cash_share")?,
            servicing_fee_rate: dec("servicing_fee_rate")?,
            reinvestment_yield: dec("reinvestment_yield")?,
            reinvestment_ltv: dec("reinvestment_ltv")?,
            cash_drag_months: count("cash_drag_months")?,
            top_obligor_defaults: count("top_obligor_defaults")?,
            obligor_limit: dec("obligor_limit")?,
            capitalized_interest_credit: dec("capitalized_interest_credit")?,
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wire struct and the declaration list the same fields: a field added to one and not
    /// the other fails here.
    #[test]
    fn the_schema_fields_are_the_declared_fields() {
        let mut schema = crate::methodology::json_schema();
        let props = schema
            .pointer("/$defs/StressFile/properties")
            .and_then(|p| p.as_object())
            .expect("StressFile properties");
        let mut in_schema: Vec<&str> = props.keys().map(String::as_str).collect();
        let mut declared: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
        in_schema.sort_unstable();
        declared.sort_unstable();
        assert_eq!(in_schema, declared);
        annotate_schema(&mut schema);
        let gap = schema
            .pointer("/$defs/StressFile/properties/liquidation_gap/x-absrate/group")
            .and_then(|g| g.as_str());
        assert_eq!(gap, Some("sale_terms"));
    }
}
