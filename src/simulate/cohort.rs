//! Cohorts: loans alike enough to follow one path together, for speed.
//!
//! A Monte Carlo run repeats the liquidation engine and the period engine on every path; the cost
//! of a path grows with the number of positions each engine walks. Grouping loans that share
//! their borrower's behaviour, their maturity and (nearly) their LTV makes each engine walk a few
//! hundred positions instead of 5,441 loans. What a cohort keeps exactly: its balance, principal,
//! BTC and accrued interest (so its trigger price is the balance-weighted trigger of its loans, and
//! its interest the sum of theirs). What it approximates: every loan of a cohort is sold on the
//! same day, and matures on the cohort's balance-weighted maturity day. `tests/simulate.rs` checks,
//! over 1,000 paths at four seeds, that the means of the sales, losses and note losses agree with
//! loan-level runs within 0.1% of the pool balance; their quantiles agree less closely (the
//! principal sold's 99% quantile by up to about 1%: a cohort sells on one day where its loans
//! would sell over a few; docs/simulate.md#cohorts). `--loan-level` runs without cohorts.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::stress::liquidation::MarketLoan;
use crate::tape::PoolLoan;

/// How finely loans are grouped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grouping {
    /// Width of an LTV band of the liquidation engine's cohorts of borrowers who do not answer
    /// margin calls (0.01: a point of LTV): their LTV decides the day they are called and sold.
    pub ltv_band: f64,
    /// The same for borrowers who answer: their LTV at cut-off decides only the day of their first
    /// call (each answered call restores the cure LTV, from which the next call and any sale
    /// follow), so their bands can be wider.
    pub answering_ltv_band: f64,
    /// Width of an LTV band of the period engine's positions, where LTV only orders defaults.
    pub pool_ltv_band: f64,
    /// Days of maturity grouped together.
    pub maturity_days: u32,
}

impl Grouping {
    /// The grouping `simulate` uses unless `--loan-level`.
    pub const DEFAULT: Grouping = Grouping {
        ltv_band: 0.01,
        answering_ltv_band: 0.015,
        pool_ltv_band: 0.025,
        maturity_days: 14,
    };
}

/// The liquidation engine's positions: cohorts of loans, each with the number of loans it holds.
pub fn market_cohorts(
    loans: &[MarketLoan],
    start_price: f64,
    g: Grouping,
) -> (Vec<MarketLoan>, Vec<u32>) {
    // Per cohort: the loan, its count, its principal x rate, its balance x maturity day.
    type Sums = (MarketLoan, u32, f64, f64);
    let mut groups: BTreeMap<(bool, u32, i64), Sums> = BTreeMap::new();
    for l in loans {
        let ltv = l.balance / (l.btc * start_price);
        let band = if l.answers {
            g.answering_ltv_band
        } else {
            g.ltv_band
        };
        let key = (
            l.answers,
            l.maturity_day / g.maturity_days.max(1),
            (ltv / band).floor() as i64,
        );
        let e = groups.entry(key).or_insert_with(|| {
            (
                MarketLoan {
                    balance: 0.0,
                    principal: 0.0,
                    rate: 0.0,
                    btc: 0.0,
                    maturity_day: 0,
                    answers: l.answers,
                },
                0,
                0.0,
                0.0,
            )
        });
        e.0.balance += l.balance;
        e.0.principal += l.principal;
        e.0.btc += l.btc;
        e.3 += l.balance * f64::from(l.maturity_day);
        // Interest per day, kept exactly: the cohort's rate is principal-weighted.
        e.2 += l.principal * l.rate;
        e.1 += 1;
    }
    groups
        .into_values()
        .map(|(mut l, n, interest, maturity)| {
            l.rate = if l.principal > 0.0 {
                interest / l.principal
            } else {
                0.0
            };
            if l.balance > 0.0 {
                l.maturity_day = (maturity / l.balance).round() as u32;
            }
            (l, n)
        })
        .unzip()
}

/// The period engine's positions: loans with the same maturity period, the same forced-default
/// flag and LTV in the same band merged into one position (balance summed, rate
/// balance-weighted), in the order of their first loan (the default order is kept across bands).
pub fn pool_cohorts(loans: &[PoolLoan], dates: &[NaiveDate], g: Grouping) -> Vec<PoolLoan> {
    let band_ppm = ((g.pool_ltv_band * 1e6) as u64).max(1);
    let period = |d: NaiveDate| dates.iter().position(|x| *x >= d).unwrap_or(dates.len());
    let mut order: Vec<(usize, u64, bool)> = Vec::new();
    let mut groups: BTreeMap<(usize, u64, bool), (PoolLoan, Decimal)> = BTreeMap::new();
    for l in loans {
        let key = (period(l.maturity), l.ltv_ppm / band_ppm, l.forced_default);
        let e = groups.entry(key).or_insert_with(|| {
            order.push(key);
            (
                PoolLoan {
                    loan_id: format!("cohort-{}", order.len()).into(),
                    balance: Decimal::ZERO,
                    ..l.clone()
                },
                Decimal::ZERO,
            )
        });
        e.0.balance += l.balance;
        e.0.ltv_ppm = e.0.ltv_ppm.max(l.ltv_ppm);
        e.0.capitalized |= l.capitalized;
        e.1 += l.balance * l.rate;
    }
    order
        .into_iter()
        .filter_map(|k| groups.remove(&k))
        .map(|(mut l, interest)| {
            if l.balance > Decimal::ZERO {
                l.rate = (interest / l.balance).round_dp(10);
            }
            l
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cohort_keeps_its_loans_balance_btc_and_daily_interest() {
        let loan = |balance: f64, btc: f64, rate: f64| MarketLoan {
            balance,
            principal: balance,
            rate,
            btc,
            maturity_day: 100,
            answers: false,
        };
        let loans = [loan(50_000.0, 1.0, 0.10), loan(50_100.0, 1.0, 0.14)];
        let (c, n) = market_cohorts(&loans, 100_000.0, Grouping::DEFAULT);
        assert_eq!((c.len(), n), (1, vec![2]));
        assert_eq!(c[0].balance, 100_100.0);
        assert_eq!(c[0].btc, 2.0);
        let daily = |l: &MarketLoan| l.principal * l.rate / 365.0;
        approx::assert_relative_eq!(
            daily(&c[0]),
            daily(&loans[0]) + daily(&loans[1]),
            max_relative = 1e-12
        );
    }
}
