//! The auto-loan generator profile (`pool.yaml`, `auto_generator:`) and the synthetic tape it
//! makes: retail instalment contracts whose pool aggregates equal the published (or assumed)
//! figures.
//!
//! Each contract is drawn (vehicle new or used, original term, months since origination, amount
//! financed, APR, state, credit score) from one ChaCha8 stream seeded by `--seed`, and its balance
//! at the cut-off is its level-payment schedule after the payments made. Then the targets are met:
//! the balance total exactly (scaled, rounded to the cent, the residual on the largest contract),
//! the balance-weighted APR to the published 0.01 point (every APR moved by one whole number of
//! 0.01 points); the weighted terms and the new-vehicle share are what the profile's draws give,
//! reported by `absrate pool generate` and checked against the targets by a test.

use chrono::{Datelike, Months, NaiveDate};
use rand::distr::Distribution as _;
use rand::distr::weighted::WeightedIndex;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Deserialize;
use statrs::distribution::Normal;

use super::file::{LoanSize, PoolError, PoolFile, Weighted};
use crate::tape::{AutoLoan, AutoSummary, auto_summary};

/// Pool figures the generator reproduces (principal exactly; the rest to their stated precision).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoTargets {
    pub loans: u64,
    pub principal: Decimal,
    /// Balance-weighted APR, to 0.01 point (`0.1210`).
    pub wa_interest_rate: Decimal,
    /// Balance-weighted remaining and original terms, whole months.
    pub wa_remaining_term_months: u32,
    pub wa_original_term_months: u32,
    /// Share of balance on new vehicles, to a whole percent.
    pub new_vehicle_share: Decimal,
    /// Share of balance in contracts of 60 months or longer, to 0.1 point.
    pub term_60_plus_share: Decimal,
}

/// Months since origination at the cut-off, drawn uniformly.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seasoning {
    pub min_months: u32,
    pub max_months: u32,
    /// Fewest payments a contract has left at the cut-off.
    pub min_remaining_months: u32,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditScore {
    pub mean: f64,
    pub sd: f64,
    pub min: u32,
    pub max: u32,
}

/// How a synthetic auto-loan tape is generated.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoProfile {
    pub targets: AutoTargets,
    /// Share of contracts (by count) on new vehicles.
    pub new_vehicle_count_share: f64,
    pub original_terms: Vec<Weighted<u32>>,
    pub seasoning: Seasoning,
    /// Amount financed, new and used vehicles.
    pub loan_size_new: LoanSize,
    pub loan_size_used: LoanSize,
    /// APRs drawn before the weighted average is fitted, new and used vehicles.
    pub interest_rates_new: Vec<Weighted<Decimal>>,
    pub interest_rates_used: Vec<Weighted<Decimal>>,
    pub credit_score: CreditScore,
    pub states: Vec<Weighted<String>>,
}

impl AutoProfile {
    /// Every term in its range: `(field, message)` of the first that is not.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let err = |f: &str, m: String| Err((f.to_string(), m));
        let t = &self.targets;
        if t.loans == 0 {
            return err("targets.loans", "must be > 0".into());
        }
        if t.principal <= Decimal::ZERO || t.principal >= crate::limits::MONEY_MAX {
            return err(
                "targets.principal",
                format!("must be > 0 and below {}", crate::limits::MONEY_MAX_TEXT),
            );
        }
        if t.wa_interest_rate <= Decimal::ZERO || t.wa_interest_rate >= Decimal::ONE {
            return err(
                "targets.wa_interest_rate",
                "must be a decimal in (0, 1)".into(),
            );
        }
        if !(0.0..=1.0).contains(&self.new_vehicle_count_share) {
            return err("new_vehicle_count_share", "must be within [0, 1]".into());
        }
        let months = crate::limits::MONTHS_MAX;
        for (i, w) in self.original_terms.iter().enumerate() {
            if w.value == 0 || w.value > months || !(w.weight >= 0.0 && w.weight.is_finite()) {
                return err(
                    &format!("original_terms[{}]", i + 1),
                    format!("a term within [1, {months}] with a finite weight >= 0"),
                );
            }
        }
        let s = &self.seasoning;
        if s.min_months > s.max_months || s.min_remaining_months == 0 {
            return err(
                "seasoning",
                "need min_months <= max_months and min_remaining_months > 0".into(),
            );
        }
        for (name, l) in [
            ("loan_size_new", &self.loan_size_new),
            ("loan_size_used", &self.loan_size_used),
        ] {
            let ordered = 0.0 < l.min && l.min <= l.median && l.median <= l.max;
            if !(ordered && l.max.is_finite() && l.sigma >= 0.0 && l.sigma.is_finite()) {
                return err(name, "need 0 < min <= median <= max, sigma >= 0".into());
            }
        }
        for (name, rates) in [
            ("interest_rates_new", &self.interest_rates_new),
            ("interest_rates_used", &self.interest_rates_used),
        ] {
            if rates.is_empty()
                || rates.iter().any(|w| {
                    w.value < Decimal::ZERO
                        || w.value >= Decimal::ONE
                        || w.weight.is_nan()
                        || w.weight < 0.0
                })
            {
                return err(name, "need rates in [0, 1) with weights >= 0".into());
            }
        }
        if self.states.is_empty() {
            return err("states", "need at least one state".into());
        }
        Ok(())
    }
}

/// A generated auto-loan tape and its aggregates.
#[derive(Debug, Clone)]
pub struct AutoGenerated {
    pub loans: Vec<AutoLoan>,
    pub summary: AutoSummary,
    /// The whole number of 0.01 points every APR was moved by to meet the weighted average.
    pub rate_shift: Decimal,
}

fn invalid(field: &str, message: String) -> PoolError {
    PoolError::Invalid {
        path: "auto_generator".into(),
        field: field.into(),
        message,
    }
}

fn weighted<T>(items: &[Weighted<T>], field: &str) -> Result<WeightedIndex<f64>, PoolError> {
    WeightedIndex::new(items.iter().map(|w| w.weight)).map_err(|e| invalid(field, e.to_string()))
}

/// The balance of a level-payment contract of `amount` at annual rate `apr` over `term` months
/// after `paid` payments, in `f64` (the generator's draw; the tape stores it to the cent).
pub fn scheduled_balance(amount: f64, apr: f64, term: u32, paid: u32) -> f64 {
    let r = apr / 12.0;
    if r == 0.0 {
        return amount * f64::from(term - paid) / f64::from(term);
    }
    let g = 1.0 + r;
    amount * (g.powi(term as i32) - g.powi(paid as i32)) / (g.powi(term as i32) - 1.0)
}

/// Generates the tape of `pool`'s `auto_generator` profile.
pub fn generate_auto(pool: &PoolFile, seed: u64) -> Result<AutoGenerated, PoolError> {
    let g = pool
        .auto_generator
        .as_ref()
        .ok_or_else(|| PoolError::NoGenerator {
            path: pool.path.clone(),
        })?;
    let t = &g.targets;
    let n = t.loans as usize;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let z = Normal::standard();
    let pick_term = weighted(&g.original_terms, "original_terms")?;
    let pick_new = weighted(&g.interest_rates_new, "interest_rates_new")?;
    let pick_used = weighted(&g.interest_rates_used, "interest_rates_used")?;
    let pick_state = weighted(&g.states, "states")?;
    let cutoff = pool.cutoff.date;
    let s = &g.seasoning;

    struct Draw {
        new: bool,
        term: u32,
        age: u32,
        amount: f64,
        rate: Decimal,
        balance: f64,
        state: usize,
        score: u32,
        origination: NaiveDate,
    }
    let mut draws = Vec::with_capacity(n);
    for _ in 0..n {
        let new = rng.random::<f64>() < g.new_vehicle_count_share;
        let term = g.original_terms[pick_term.sample(&mut rng)].value;
        let most = s
            .max_months
            .min(term.saturating_sub(s.min_remaining_months));
        let least = s.min_months.min(most);
        let age = rng.random_range(least..=most);
        let size = if new {
            &g.loan_size_new
        } else {
            &g.loan_size_used
        };
        let amount = (size.median.ln() + size.sigma * z.sample(&mut rng))
            .exp()
            .clamp(size.min, size.max);
        let rate = if new {
            g.interest_rates_new[pick_new.sample(&mut rng)].value
        } else {
            g.interest_rates_used[pick_used.sample(&mut rng)].value
        };
        let balance = scheduled_balance(amount, rate.to_f64().unwrap_or(0.0), term, age);
        let state = pick_state.sample(&mut rng);
        let c = &g.credit_score;
        let score = (c.mean + c.sd * z.sample(&mut rng))
            .round()
            .clamp(f64::from(c.min), f64::from(c.max)) as u32;
        let first = cutoff
            .checked_sub_months(Months::new(age))
            .unwrap_or(cutoff)
            .with_day(1)
            .unwrap_or(cutoff);
        let day = rng.random_range(0..28);
        let origination = (first + chrono::Days::new(day)).min(cutoff);
        draws.push(Draw {
            new,
            term,
            age,
            amount,
            rate,
            balance,
            state,
            score,
            origination,
        });
    }

    // Balances: scaled to the target total, to the cent, the residual on the largest.
    let total: f64 = draws.iter().map(|d| d.balance).sum();
    let scale = t.principal.to_f64().unwrap_or(0.0) / total;
    let cents = |v: f64| {
        Decimal::from_f64(v)
            .unwrap_or(Decimal::ZERO)
            .round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
            .max(Decimal::new(1, 2))
    };
    let mut principal: Vec<Decimal> = draws.iter().map(|d| cents(d.balance * scale)).collect();
    let short = t.principal - principal.iter().copied().sum::<Decimal>();
    let largest = (0..n).max_by_key(|&i| principal[i]).unwrap_or(0);
    principal[largest] += short;
    if principal[largest] <= Decimal::ZERO {
        return Err(invalid(
            "targets.principal",
            "too small for the number of contracts".into(),
        ));
    }

    // APRs: every rate moved by the same whole number of 0.01 points, so the balance-weighted
    // average rounds to the target's 0.01 point.
    let step = Decimal::new(1, 4);
    let wa = |rates: &[Decimal]| {
        rates
            .iter()
            .zip(&principal)
            .map(|(r, p)| r * p)
            .sum::<Decimal>()
            / t.principal
    };
    let mut rates: Vec<Decimal> = draws.iter().map(|d| d.rate).collect();
    let shift = ((t.wa_interest_rate - wa(&rates)) / step).round() * step;
    for r in &mut rates {
        *r = (*r + shift).clamp(Decimal::ZERO, Decimal::new(9999, 4));
    }
    let got = wa(&rates).round_dp_with_strategy(4, RoundingStrategy::MidpointNearestEven);
    if got != t.wa_interest_rate {
        return Err(invalid(
            "targets.wa_interest_rate",
            format!(
                "the drawn rates cannot be moved to {} (got {got}): widen the rate lists",
                t.wa_interest_rate
            ),
        ));
    }

    let loans: Vec<AutoLoan> = draws
        .iter()
        .enumerate()
        .map(|(i, d)| {
            // The amount financed in proportion to the scaled balance, never below it.
            let original = cents(d.amount * scale).max(principal[i]);
            AutoLoan {
                loan_id: format!("AC{:06}", i + 1),
                origination_date: d.origination,
                original_principal: original,
                principal: principal[i],
                interest_rate: rates[i],
                original_term_months: d.term,
                remaining_term_months: d.term - d.age,
                new_vehicle: Some(d.new),
                state: g.states[d.state].value.clone(),
                credit_score: Some(d.score),
            }
        })
        .collect();
    let summary = auto_summary(&loans);
    Ok(AutoGenerated {
        loans,
        summary,
        rate_shift: shift,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scheduled_balance_runs_to_zero_at_the_term() {
        assert!((scheduled_balance(10_000.0, 0.12, 60, 0) - 10_000.0).abs() < 1e-9);
        assert!(scheduled_balance(10_000.0, 0.12, 60, 60).abs() < 1e-6);
        // 12% over 60 months: the payment is 222.44; after one payment 10,000 + 100 - 222.44.
        assert!((scheduled_balance(10_000.0, 0.12, 60, 1) - 9_877.56).abs() < 0.01);
    }
}
