//! The `simulation` section of a market-value methodology: the terms a Monte Carlo path runs on
//! and the idealized table its expected-loss rating reads. Checked here; used by
//! `crate::simulate`.

use std::path::Path;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use super::error::MethodologyError;
use super::notch::{Notch, SCALE};
use super::stress::{self, Value};
use super::wire::{IdealizedMeasure, Mode, SimulationFile};
use crate::limits;

/// An idealized table resolved onto the scale: one row per notch, 'AAA' first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdealizedTable {
    pub source: String,
    pub measure: IdealizedMeasure,
    pub horizons_years: Vec<f64>,
    /// `rows[notch.index()][k]`: the share at `horizons_years[k]`.
    pub rows: Vec<Vec<f64>>,
}

impl IdealizedTable {
    /// The row's value at `years`: between two columns a power law through both (the log of the
    /// value linear in the log of the horizon; linear where a value is zero); before the first
    /// column, the first column (a shorter life is not given a smaller allowance than one
    /// year's); after the last, the last.
    pub fn at(&self, notch: Notch, years: f64) -> f64 {
        let row = &self.rows[notch.index()];
        let h = &self.horizons_years;
        if years <= h[0] {
            return row[0];
        }
        let k = h.partition_point(|x| *x <= years);
        if k >= h.len() {
            return row[h.len() - 1];
        }
        let (x0, x1, y0, y1) = (h[k - 1], h[k], row[k - 1], row[k]);
        if y0 > 0.0 && y1 > 0.0 {
            let u = (years / x0).ln() / (x1 / x0).ln();
            (y0.ln() + (y1 / y0).ln() * u).exp()
        } else {
            y0 + (y1 - y0) * (years - x0) / (x1 - x0)
        }
    }

    /// The highest notch whose idealized value at `years` is at least `value`; `None` when the
    /// value is above even the lowest notch's (below 'B-').
    pub fn rating(&self, value: f64, years: f64) -> Option<Notch> {
        Notch::all().find(|n| value <= self.at(*n, years))
    }
}

fn invalid(path: &Path, field: &str, message: String) -> MethodologyError {
    MethodologyError::Invalid {
        path: path.to_path_buf(),
        where_: "simulation".into(),
        field: field.into(),
        message,
    }
}

/// Checks the section and resolves its table; `None` without one.
pub fn check(
    path: &Path,
    mode: Mode,
    s: Option<&SimulationFile>,
) -> Result<Option<IdealizedTable>, MethodologyError> {
    let Some(s) = s else { return Ok(None) };
    if mode != Mode::MarketValue {
        return Err(invalid(
            path,
            "simulation",
            "is only used in `market_value` mode: a simulated path acts through the liquidation engine"
                .into(),
        ));
    }
    let t = &s.terms;
    let share = |name: &str, v: Decimal| {
        if v < Decimal::ZERO || v > Decimal::ONE {
            Err(invalid(
                path,
                &format!("terms.{name}"),
                format!("must be within [0, 1], got {}", v.normalize()),
            ))
        } else {
            Ok(())
        }
    };
    share("interest_cash_share", t.interest_cash_share.value)?;
    share("servicing_fee_rate", t.servicing_fee_rate.value)?;
    share("reinvestment_yield", t.reinvestment_yield.value)?;
    share("reinvestment_ltv", t.reinvestment_ltv.value)?;
    share("obligor_limit", t.obligor_limit.value)?;
    share(
        "capitalized_interest_credit",
        t.capitalized_interest_credit.value,
    )?;
    share("slippage", t.slippage.value)?;
    share("margin_call_answer_share", t.margin_call_answer_share.value)?;
    if let Some(why) =
        stress::out_of_range(stress::Kind::Multiplier, &Value::Decimal(t.crowding.value))
    {
        return Err(invalid(path, "terms.crowding", why));
    }
    let w = t.execution_window_hours.value;
    if w <= Decimal::ZERO || w > Decimal::from(24) {
        return Err(invalid(
            path,
            "terms.execution_window_hours",
            format!("must be within (0, 24], got {}", w.normalize()),
        ));
    }
    for (name, v) in [
        ("recovery_lag_months", t.recovery_lag_months.value),
        ("cash_drag_months", t.cash_drag_months.value),
    ] {
        if v > limits::MONTHS_MAX {
            return Err(invalid(
                path,
                &format!("terms.{name}"),
                format!(
                    "must be at most {} months ({}), got {v}",
                    limits::MONTHS_MAX,
                    stress::LIMIT
                ),
            ));
        }
    }
    if t.liquidation_lag_days.value > limits::SIMULATION_SALE_LAG_DAYS_MAX {
        return Err(invalid(
            path,
            "terms.liquidation_lag_days",
            format!(
                "must be at most {} days ({}), got {}",
                limits::SIMULATION_SALE_LAG_DAYS_MAX,
                stress::LIMIT,
                t.liquidation_lag_days.value
            ),
        ));
    }
    table(path, s).map(Some)
}

fn table(path: &Path, s: &SimulationFile) -> Result<IdealizedTable, MethodologyError> {
    let f = &s.idealized_table;
    let bad = |field: &str, message: String| Err(invalid(path, field, message));
    let h = &f.horizons_years;
    if h.is_empty() {
        return bad(
            "idealized_table.horizons_years",
            "must list at least one horizon".into(),
        );
    }
    if h[0] <= Decimal::ZERO || h.windows(2).any(|w| w[1] <= w[0]) {
        return bad(
            "idealized_table.horizons_years",
            "must be positive and rising".into(),
        );
    }
    for key in f.ratings.keys() {
        if key.parse::<Notch>().is_err() {
            return bad(
                &format!("idealized_table.ratings.{key}"),
                "is not a notch of the scale (AAA, AA+, ..., B-)".into(),
            );
        }
    }
    let mut rows: Vec<Vec<f64>> = Vec::with_capacity(SCALE.len());
    let mut previous: Option<(&str, &Vec<Decimal>)> = None;
    for name in SCALE {
        let field = format!("idealized_table.ratings.{name}");
        let Some(row) = f.ratings.get(name) else {
            return bad(&field, "missing: the table gives every notch".into());
        };
        if row.len() != h.len() {
            return bad(
                &field,
                format!("has {} values for {} horizons", row.len(), h.len()),
            );
        }
        if let Some(v) = row
            .iter()
            .find(|v| **v < Decimal::ZERO || **v > Decimal::ONE)
        {
            return bad(
                &field,
                format!("must be within [0, 1], got {}", v.normalize()),
            );
        }
        if row.windows(2).any(|w| w[1] < w[0]) {
            return bad(&field, "must not fall as the horizon grows".into());
        }
        if let Some((above, prev)) = previous
            && let Some(k) = (0..row.len()).find(|k| row[*k] < prev[*k])
        {
            return bad(
                &field,
                format!(
                    "is below '{above}' at {} years ({} < {}): a lower rating must allow at least as much",
                    h[k].normalize(),
                    row[k].normalize(),
                    prev[k].normalize()
                ),
            );
        }
        previous = Some((name, row));
        rows.push(row.iter().map(|v| v.to_f64().unwrap_or(f64::NAN)).collect());
    }
    Ok(IdealizedTable {
        source: f.source.clone(),
        measure: f.measure,
        horizons_years: h.iter().map(|v| v.to_f64().unwrap_or(f64::NAN)).collect(),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> IdealizedTable {
        IdealizedTable {
            source: "test".into(),
            measure: IdealizedMeasure::ExpectedLoss,
            horizons_years: vec![1.0, 2.0],
            rows: (0..16)
                .map(|i| vec![0.001 * f64::from(i + 1), 0.002 * f64::from(i + 1)])
                .collect(),
        }
    }

    #[test]
    fn a_value_is_read_between_columns_and_held_outside_them() {
        let t = table();
        assert_eq!(t.at(Notch::AAA, 0.5), 0.001);
        // A power law through (1, 0.001) and (2, 0.002) is linear: 0.0015 at 1.5 years.
        assert!((t.at(Notch::AAA, 1.5) - 0.0015).abs() < 1e-15);
        // Through (1, 0.001) and (2, 0.004): value = 0.001 x t^2.
        let mut q = t.clone();
        q.rows[0] = vec![0.001, 0.004];
        assert!((q.at(Notch::AAA, 1.5) - 0.00225).abs() < 1e-15);
        assert_eq!(t.at(Notch::AAA, 9.0), 0.002);
    }

    #[test]
    fn the_rating_is_the_highest_notch_whose_allowance_covers_the_value() {
        let t = table();
        assert_eq!(t.rating(0.0, 1.0), Some(Notch::AAA));
        assert_eq!(t.rating(0.001, 1.0), Some(Notch::AAA));
        assert_eq!(t.rating(0.0011, 1.0).map(|n| n.name()), Some("AA+"));
        assert_eq!(t.rating(0.5, 1.0), None);
    }
}
