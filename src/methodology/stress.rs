//! The stress parameters of one rating level as a table of named values: one place that knows
//! each field's kind, its admissible range and which direction is harsher, used for merging,
//! interpolation, the monotonicity check, `show` and `diff`.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use super::wire::{DefaultOrder, Sourced, StressFile};

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
    /// A whole number.
    Count,
    /// A decimal of at least 1.
    Multiplier,
    /// Non-negative shares summing to 1.
    Curve,
    /// A choice.
    Order,
}

/// One parameter of the table.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub harsher: Harsher,
}

const fn field(name: &'static str, kind: Kind, harsher: Harsher) -> Field {
    Field {
        name,
        kind,
        harsher,
    }
}

/// Every stress parameter, in the order files and reports list them.
pub const FIELDS: &[Field] = &[
    field("default_rate", Kind::Share, Harsher::Higher),
    field("default_timing", Kind::Curve, Harsher::Unordered),
    field("default_order", Kind::Order, Harsher::Unordered),
    field("recovery_rate", Kind::Share, Harsher::Lower),
    field("recovery_lag_months", Kind::Count, Harsher::Higher),
    field("interest_cash_share", Kind::Share, Harsher::Lower),
    field("servicing_fee_rate", Kind::Share, Harsher::Higher),
    field("reinvestment_yield", Kind::Share, Harsher::Lower),
    field("reinvestment_ltv", Kind::Share, Harsher::Higher),
    field("cash_drag_months", Kind::Count, Harsher::Higher),
    field("top_obligor_defaults", Kind::Count, Harsher::Higher),
    field("obligor_limit", Kind::Share, Harsher::Lower),
    field("capitalized_interest_credit", Kind::Share, Harsher::Lower),
    field(
        "capitalized_interest_default_multiplier",
        Kind::Multiplier,
        Harsher::Higher,
    ),
];

/// A parameter's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Decimal(Decimal),
    Count(u32),
    Curve(Vec<Decimal>),
    Order(DefaultOrder),
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
    ]
}

/// Why a value is out of its range, if it is.
pub fn out_of_range(kind: Kind, v: &Value) -> Option<String> {
    match (kind, v) {
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

/// Linear interpolation between the values of two anchors, `t` of the way from `hi` to `lo`.
pub fn interpolate(hi: &Value, lo: &Value, t: Decimal) -> Value {
    match (hi, lo) {
        (Value::Decimal(a), Value::Decimal(b)) => Value::Decimal(
            (a + (b - a) * t).round_dp_with_strategy(6, RoundingStrategy::MidpointNearestEven),
        ),
        _ => hi.clone(),
    }
}

/// The fully resolved stress of one level, typed for the cash-flow engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stress {
    pub default_rate: Decimal,
    pub default_timing: Vec<Decimal>,
    pub default_order: DefaultOrder,
    pub recovery_rate: Decimal,
    pub recovery_lag_months: u32,
    pub interest_cash_share: Decimal,
    pub servicing_fee_rate: Decimal,
    pub reinvestment_yield: Decimal,
    pub reinvestment_ltv: Decimal,
    pub cash_drag_months: u32,
    pub top_obligor_defaults: u32,
    pub obligor_limit: Decimal,
    pub capitalized_interest_credit: Decimal,
    pub capitalized_interest_default_multiplier: Decimal,
}

impl Stress {
    /// Builds the typed stress from a complete table (in [`FIELDS`] order). `None` if a value has
    /// the wrong kind, which validation rules out.
    pub fn from_params(p: &[Param]) -> Option<Stress> {
        let dec = |i: usize| match p.get(i)?.value {
            Value::Decimal(d) => Some(d),
            _ => None,
        };
        let count = |i: usize| match p.get(i)?.value {
            Value::Count(n) => Some(n),
            _ => None,
        };
        Some(Stress {
            default_rate: dec(0)?,
            default_timing: match &p.get(1)?.value {
                Value::Curve(c) => c.clone(),
                _ => return None,
            },
            default_order: match p.get(2)?.value {
                Value::Order(o) => o,
                _ => return None,
            },
            recovery_rate: dec(3)?,
            recovery_lag_months: count(4)?,
            interest_cash_share: dec(5)?,
            servicing_fee_rate: dec(6)?,
            reinvestment_yield: dec(7)?,
            reinvestment_ltv: dec(8)?,
            cash_drag_months: count(9)?,
            top_obligor_defaults: count(10)?,
            obligor_limit: dec(11)?,
            capitalized_interest_credit: dec(12)?,
            capitalized_interest_default_multiplier: dec(13)?,
        })
    }
}
