//! The synthetic pool generator: a tape whose aggregates equal a pool's published figures exactly,
//! built the way such a book arises.
//!
//! Loans are originated (or renewed) month by month at about the profile's LTV at that month's BTC
//! price, held by borrowers with one or several loans, some of them renewals whose unpaid interest
//! was capitalized. Draws come from one ChaCha8 stream seeded by `--seed`, so a seed always gives
//! the same tape. Published totals are then met exactly: principal is scaled and rounded to the
//! cent with the residual on the largest loan; collateral likewise to the satoshi; rates are fitted
//! on a 0.01-point grid until the balance-weighted average equals the target.

use chrono::{Datelike, Months, NaiveDate};
use rand::distr::Distribution as _;
use rand::distr::weighted::WeightedIndex;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::{Decimal, RoundingStrategy};
use statrs::distribution::Normal;

use super::file::{GeneratorProfile, PoolError, PoolFile, Weighted};
use crate::tape::LoanRecord;

/// A generated tape and what the generator did to meet its targets.
#[derive(Debug, Clone)]
pub struct Generated {
    pub loans: Vec<LoanRecord>,
    pub seed: u64,
    pub borrowers: u64,
    /// Factor applied to every loan's drawn collateral so the BTC total meets its target
    /// (about 1 when the profile's origination LTVs and prices fit the published pool).
    pub collateral_scale: f64,
    /// Loans that would have been above `max_cutoff_ltv` at the cut-off price and were given
    /// collateral back to the cure LTV, as a margin call answered.
    pub margin_calls_answered: usize,
}

fn round(d: Decimal, dp: u32) -> Decimal {
    d.round_dp_with_strategy(dp, RoundingStrategy::MidpointNearestEven)
}

fn dec(v: f64) -> Decimal {
    Decimal::from_f64(v).unwrap_or(Decimal::ZERO)
}

fn weighted<T>(items: &[Weighted<T>], field: &str) -> Result<WeightedIndex<f64>, PoolError> {
    WeightedIndex::new(items.iter().map(|w| w.weight)).map_err(|e| invalid(field, e.to_string()))
}

fn invalid(field: &str, message: String) -> PoolError {
    PoolError::Invalid {
        path: "generator".into(),
        field: field.into(),
        message,
    }
}

/// Generates a tape from `pool`'s profile with `loans` loans (the published count by default).
/// Other sizes scale every target in proportion (for benchmarks).
pub fn generate(pool: &PoolFile, seed: u64, loans: Option<u64>) -> Result<Generated, PoolError> {
    let g: &GeneratorProfile = pool
        .generator
        .as_ref()
        .ok_or_else(|| PoolError::NoGenerator {
            path: pool.path.clone(),
        })?;
    let t = &g.targets;
    let n = loans.unwrap_or(t.loans);
    if n == 0 {
        return Err(invalid("--loans", "must be at least 1".into()));
    }
    let ratio = Decimal::from(n) / Decimal::from(t.loans);
    let nb = ((t.borrowers as f64) * (n as f64) / (t.loans as f64))
        .round()
        .clamp(1.0, n as f64) as usize;
    let target_principal = round(t.principal * ratio, 2);
    let target_btc = round(t.collateral_btc * ratio, 8);
    if target_principal < Decimal::new(n as i64, 2) || target_btc < Decimal::new(n as i64, 8) {
        return Err(invalid(
            "--loans",
            format!("{n} loans cannot share the target principal and BTC"),
        ));
    }
    let n = n as usize;
    let price = pool.cutoff.btc_price.to_f64().unwrap_or(f64::NAN);
    let cure = pool
        .collateral_terms
        .margin_call_cure_ltv
        .to_f64()
        .unwrap_or(0.5);

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let z = Normal::standard();

    // Borrowers: everyone holds one loan; the rest go to borrowers in proportion to a lognormal
    // propensity, so a few hold many.
    let activity: Vec<f64> = (0..nb)
        .map(|_| (g.borrowers.activity_sigma * z.sample(&mut rng)).exp())
        .collect();
    let pick_borrower =
        WeightedIndex::new(&activity).map_err(|e| invalid("borrowers", e.to_string()))?;
    let months = &g.origination.months;
    let pick_month = WeightedIndex::new(months.iter().map(|m| m.weight))
        .map_err(|e| invalid("origination.months", e.to_string()))?;
    let pick_renewals = WeightedIndex::new(&g.renewals.count_weights)
        .map_err(|e| invalid("renewals.count_weights", e.to_string()))?;
    let pick_rate = weighted(&g.interest_rates, "interest_rates")?;
    let pick_state = weighted(&g.states, "states")?;

    struct Draw {
        borrower: usize,
        month: usize,
        origination: NaiveDate,
        renewals: u32,
        rate: Decimal,
        principal: f64,
        /// Growth of the balance through capitalized interest: principal / original principal.
        growth: f64,
        btc: f64,
        state: usize,
    }
    let cutoff = pool.cutoff.date;
    let size_mu = g.loan_size.median.ln();
    let mut draws = Vec::with_capacity(n);
    for i in 0..n {
        let borrower = if i < nb {
            i
        } else {
            pick_borrower.sample(&mut rng)
        };
        let month = pick_month.sample(&mut rng);
        let first = months[month]
            .month
            .with_day(1)
            .unwrap_or(months[month].month);
        let days_in_month = (first + Months::new(1) - first).num_days() as u32;
        let day = rng.random_range(1..=days_in_month);
        let origination = first.with_day(day).unwrap_or(first).min(cutoff);
        let renewals = if rng.random::<f64>() < g.renewals.share {
            1 + pick_renewals.sample(&mut rng) as u32
        } else {
            0
        };
        let rate = g.interest_rates[pick_rate.sample(&mut rng)].value;
        let size = (size_mu + g.loan_size.sigma * z.sample(&mut rng))
            .exp()
            .clamp(g.loan_size.min, g.loan_size.max);
        let growth =
            (1.0 + g.renewals.capitalized * rate.to_f64().unwrap_or(0.0)).powi(renewals as i32);
        let principal = size * growth;
        let o = &g.origination;
        let ltv = (o.ltv_mean + o.ltv_sd * z.sample(&mut rng)).clamp(o.ltv_min, o.ltv_max);
        let btc = principal / (ltv * months[month].btc_price.to_f64().unwrap_or(f64::NAN));
        let state = pick_state.sample(&mut rng);
        draws.push(Draw {
            borrower,
            month,
            origination,
            renewals,
            rate,
            principal,
            growth,
            btc,
            state,
        });
    }

    // Principal: scale to the target, round to the cent, residual on the largest loan.
    let raw_total: f64 = draws.iter().map(|d| d.principal).sum();
    let scale = target_principal.to_f64().unwrap_or(0.0) / raw_total;
    let mut principal: Vec<Decimal> = draws
        .iter()
        .map(|d| round(dec(d.principal * scale), 2).max(Decimal::new(1, 2)))
        .collect();
    let largest = argmax(&principal);
    let short = target_principal - principal.iter().sum::<Decimal>();
    principal[largest] += short;

    // Collateral: scale to the target; a loan above max_cutoff_ltv at the cut-off price answered
    // its margin call (collateral back to the cure LTV). Repeat until no loan is above.
    let original_btc: Vec<f64> = draws.iter().map(|d| d.btc).collect();
    let mut btc = original_btc.clone();
    let p_f: Vec<f64> = principal
        .iter()
        .map(|p| p.to_f64().unwrap_or(0.0))
        .collect();
    let target_btc_f = target_btc.to_f64().unwrap_or(0.0);
    let mut k = 1.0;
    let mut topped = vec![false; n];
    for _ in 0..100 {
        k = target_btc_f / btc.iter().sum::<f64>();
        let mut changed = false;
        for i in 0..n {
            if p_f[i] / (btc[i] * k * price) > g.max_cutoff_ltv {
                btc[i] = p_f[i] / (cure * price * k);
                topped[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut collateral: Vec<Decimal> = btc
        .iter()
        .map(|b| round(dec(b * k), 8).max(Decimal::new(1, 8)))
        .collect();
    let largest_btc = argmax(&collateral);
    let short_btc = target_btc - collateral.iter().sum::<Decimal>();
    collateral[largest_btc] += short_btc;

    let rates = fit_rates(
        &principal,
        draws.iter().map(|d| d.rate).collect(),
        t.wa_interest_rate,
        target_principal,
    );

    // Loans in origination order; ids follow that order.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (draws[i].origination, draws[i].borrower, i));
    let loan_width = n.to_string().len().max(6);
    let borrower_width = nb.to_string().len().max(5);
    let term = Months::new(g.origination.term_months);
    let loans = order
        .iter()
        .enumerate()
        .map(|(pos, &i)| {
            let d = &draws[i];
            let p = principal[i];
            let cap_share = 1.0 - 1.0 / d.growth;
            let capitalized = round(p * dec(cap_share), 2).min(p);
            let month_price = months[d.month].btc_price;
            let origination_btc = round(dec(original_btc[i] * k), 8).max(Decimal::new(1, 8));
            LoanRecord {
                loan_id: format!("L{:0loan_width$}", pos + 1),
                borrower_id: format!("B{:0borrower_width$}", d.borrower + 1),
                origination_date: d.origination,
                maturity_date: d.origination + term,
                principal: p,
                interest_rate: rates[i],
                collateral_btc: collateral[i],
                original_principal: p - capitalized,
                capitalized_interest: capitalized,
                renewal_count: d.renewals,
                accrued_interest: accrued(p, rates[i], d.origination, cutoff),
                state: g.states[d.state].value.clone(),
                origination_ltv: Some(round(p / (origination_btc * month_price), 6)),
            }
        })
        .collect();
    Ok(Generated {
        loans,
        seed,
        borrowers: nb as u64,
        collateral_scale: k,
        margin_calls_answered: topped.iter().filter(|t| **t).count(),
    })
}

fn argmax(v: &[Decimal]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

/// Interest accrued since the last monthly due date (interest is taken as payable monthly on the
/// origination day of month), actual/365, to the cent.
fn accrued(
    principal: Decimal,
    rate: Decimal,
    origination: NaiveDate,
    cutoff: NaiveDate,
) -> Decimal {
    let mut due = origination;
    let mut k = 1;
    while let Some(next) = origination.checked_add_months(Months::new(k)) {
        if next > cutoff {
            break;
        }
        due = next;
        k += 1;
    }
    let days = (cutoff - due).num_days().max(0);
    round(
        principal * rate * Decimal::from(days) / Decimal::from(365),
        2,
    )
}

/// Moves rates on a 0.0001 grid until the balance-weighted average equals `target` to within
/// half a grid step of the smallest loan's weight (far below 0.01 point): first one common shift,
/// then single steps on individual loans.
fn fit_rates(
    principal: &[Decimal],
    mut rates: Vec<Decimal>,
    target: Decimal,
    total: Decimal,
) -> Vec<Decimal> {
    let step = Decimal::new(1, 4);
    let lowest = step;
    let highest = Decimal::ONE - step;
    let residual = |rates: &[Decimal]| {
        target * total
            - principal
                .iter()
                .zip(rates)
                .map(|(p, r)| p * r)
                .sum::<Decimal>()
    };
    let shift = round(residual(&rates) / total / step, 0) * step;
    for r in rates.iter_mut() {
        *r = (*r + shift).clamp(lowest, highest);
    }
    let mut r = residual(&rates);
    loop {
        let mut changed = false;
        for (p, rate) in principal.iter().zip(rates.iter_mut()) {
            let move_by = p * step;
            if r.abs() * Decimal::TWO < move_by {
                continue;
            }
            let signed = if r > Decimal::ZERO { step } else { -step };
            let next = *rate + signed;
            if next < lowest || next > highest {
                continue;
            }
            *rate = next;
            r -= p * signed;
            changed = true;
        }
        if !changed {
            break;
        }
    }
    rates
}
