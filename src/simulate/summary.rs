//! From one result per path to the distribution a reader sees: the pool's loss (mean, quantiles,
//! value at risk and expected shortfall), the share of loans liquidated, and per note the
//! probability of a loss or an interest shortfall, the expected loss with its standard error, loss
//! quantiles, the expected weighted average life and the expected-loss rating.
//!
//! Every figure is a function of the results in path order only (sums in path order, quantiles
//! of the sorted values), so a run on any number of threads, or the merge of its shards, prints
//! the same bytes.

use serde::{Deserialize, Serialize};

use crate::methodology::{IdealizedTable, Notch};

/// What one path did, as `--out` writes it (one row per path).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathResult {
    /// Index of the path in the run (its random stream).
    pub path: u64,
    /// Losses on the pool's sales (balance owed less proceeds, where short), USD.
    pub pool_loss: f64,
    /// Loans liquidated (sold, or walked away at the balloon date).
    pub liquidated: f64,
    /// Cut-off principal of the loans liquidated, USD: the period engine's defaults.
    pub sold_principal: f64,
    pub notes: Vec<NotePath>,
}

/// One note on one path.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NotePath {
    /// Principal unpaid at the end, USD.
    pub principal_loss: f64,
    /// Interest unpaid at the end, USD (a loss to the holder like principal).
    pub interest_loss: f64,
    /// The largest interest shortfall on any payment date, USD.
    pub max_interest_shortfall: f64,
    /// Weighted average life of the principal paid, years from closing.
    pub wal_years: f64,
}

/// The quantiles every distribution reports.
pub const QUANTILES: [f64; 6] = [0.5, 0.9, 0.95, 0.99, 0.995, 0.999];
/// The confidence levels of value at risk and expected shortfall.
pub const TAILS: [f64; 3] = [0.95, 0.99, 0.999];

/// `q` of sorted values, linear between order statistics (type 7).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (h - lo as f64)
}

/// Mean of the worst `1 - q` share of the paths (at least one path): expected shortfall.
pub fn tail_mean(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let n = sorted.len();
    // A hair below the product before rounding up: 0.05 x 100 is 5 paths, not 6.
    let k = (((1.0 - q) * n as f64 - 1e-9).ceil() as usize).clamp(1, n);
    sorted[n - k..].iter().sum::<f64>() / k as f64
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Standard error of the mean (sample standard deviation / sqrt n).
fn standard_error(xs: &[f64], m: f64) -> f64 {
    let n = xs.len();
    if n < 2 {
        return f64::NAN;
    }
    let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64;
    (var / n as f64).sqrt()
}

fn sorted(mut xs: Vec<f64>) -> Vec<f64> {
    xs.sort_by(f64::total_cmp);
    xs
}

/// A quantile in a report: its level and value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quantile {
    pub q: f64,
    pub value: f64,
}

/// Value at risk and expected shortfall at one confidence level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tail {
    pub level: f64,
    pub value_at_risk: f64,
    pub expected_shortfall: f64,
}

/// A distribution of a share (of the pool, of a note's balance) over the paths.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Distribution {
    pub mean: f64,
    pub standard_error: f64,
    pub quantiles: Vec<Quantile>,
    pub tails: Vec<Tail>,
}

impl Distribution {
    pub fn of(xs: Vec<f64>) -> Distribution {
        let m = mean(&xs);
        let se = standard_error(&xs, m);
        let s = sorted(xs);
        Distribution {
            mean: m,
            standard_error: se,
            quantiles: QUANTILES
                .iter()
                .map(|q| Quantile {
                    q: *q,
                    value: quantile(&s, *q),
                })
                .collect(),
            tails: TAILS
                .iter()
                .map(|l| Tail {
                    level: *l,
                    value_at_risk: quantile(&s, *l),
                    expected_shortfall: tail_mean(&s, *l),
                })
                .collect(),
        }
    }
}

/// The expected-loss rating of a note: its expected loss against the idealized table at its
/// expected weighted average life, and whether it holds two standard errors either side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ElRating {
    /// The table's horizon used: the note's expected weighted average life, years.
    pub horizon_years: f64,
    /// `None`: the expected loss is above the table's 'B-' allowance.
    pub rating: Option<Notch>,
    /// The rating of the expected loss less two standard errors (the better case).
    pub rating_minus_2se: Option<Notch>,
    /// The rating of the expected loss plus two standard errors (the worse case). When no path
    /// loses anything the standard error is zero and says nothing: the worse case is then the
    /// rule of three, an expected loss of `3 / paths` (95% confidence that fewer than 3 in
    /// `paths` lose, each losing at most everything).
    pub rating_plus_2se: Option<Notch>,
    /// The expected loss the worse case was rated at.
    pub expected_loss_upper: f64,
    /// Both of the above equal `rating`: the simulation has enough paths to tell this notch.
    pub holds: bool,
    /// The table's allowance at the rating (at the horizon).
    pub allowance: Option<f64>,
}

impl ElRating {
    pub fn of(
        table: &IdealizedTable,
        el: f64,
        se: f64,
        horizon: f64,
        paths: usize,
        losing_paths: usize,
    ) -> ElRating {
        let rating = table.rating(el, horizon);
        let minus = table.rating((el - 2.0 * se).max(0.0), horizon);
        let upper = if losing_paths == 0 {
            3.0 / paths.max(1) as f64
        } else {
            el + 2.0 * se
        };
        let plus = table.rating(upper, horizon);
        ElRating {
            horizon_years: horizon,
            rating,
            rating_minus_2se: minus,
            rating_plus_2se: plus,
            expected_loss_upper: upper,
            holds: minus == rating && plus == rating,
            allowance: rating.map(|n| table.at(n, horizon)),
        }
    }
}

/// One note over every path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoteSummary {
    pub class: String,
    pub balance: f64,
    /// Share of paths with any principal unpaid at the end.
    pub probability_of_loss: f64,
    /// Share of paths with an interest shortfall on some payment date.
    pub probability_of_interest_shortfall: f64,
    /// Loss (principal and interest unpaid at the end) as a share of the original balance.
    pub loss: Distribution,
    /// Expected weighted average life, years.
    pub expected_wal_years: f64,
    pub expected_loss_rating: ElRating,
}

/// The pool over every path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolSummary {
    pub loans: u64,
    /// Cut-off balance the shares are of, USD.
    pub balance: f64,
    /// Sale losses as a share of the cut-off balance.
    pub loss: Distribution,
    /// Share of the cut-off loans liquidated.
    pub liquidated_share: Distribution,
}

/// What a note's figures are taken against.
#[derive(Debug, Clone, PartialEq)]
pub struct NoteTerms {
    pub class: String,
    pub balance: f64,
}

/// Summarizes the results, in path order.
pub fn summarize(
    results: &[PathResult],
    notes: &[NoteTerms],
    loans: u64,
    pool_balance: f64,
    table: &IdealizedTable,
) -> (PoolSummary, Vec<NoteSummary>) {
    let n = results.len() as f64;
    let pool = PoolSummary {
        loans,
        balance: pool_balance,
        loss: Distribution::of(results.iter().map(|r| r.pool_loss / pool_balance).collect()),
        liquidated_share: Distribution::of(
            results
                .iter()
                .map(|r| r.liquidated / loans.max(1) as f64)
                .collect(),
        ),
    };
    let notes = notes
        .iter()
        .enumerate()
        .map(|(k, t)| {
            let of = |r: &PathResult| r.notes[k];
            let losses: Vec<f64> = results
                .iter()
                .map(|r| (of(r).principal_loss + of(r).interest_loss) / t.balance)
                .collect();
            let share = |f: &dyn Fn(&NotePath) -> bool| {
                results.iter().filter(|r| f(&of(r))).count() as f64 / n
            };
            let wal = mean(&results.iter().map(|r| of(r).wal_years).collect::<Vec<_>>());
            let losing = losses.iter().filter(|x| **x > 0.0).count();
            let loss = Distribution::of(losses);
            let el = ElRating::of(
                table,
                loss.mean,
                loss.standard_error,
                wal,
                results.len(),
                losing,
            );
            NoteSummary {
                class: t.class.clone(),
                balance: t.balance,
                probability_of_loss: share(&|p| p.principal_loss > 0.0),
                probability_of_interest_shortfall: share(&|p| p.max_interest_shortfall > 0.0),
                loss,
                expected_wal_years: wal,
                expected_loss_rating: el,
            }
        })
        .collect();
    (pool, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_order_statistics() {
        let s = [0.0, 1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&s, 0.5), 2.0);
        assert_eq!(quantile(&s, 0.9), 3.6);
        assert_eq!(quantile(&s, 1.0), 4.0);
    }

    #[test]
    fn expected_shortfall_is_the_mean_of_the_worst_paths() {
        let s: Vec<f64> = (1..=100).map(f64::from).collect();
        // Worst 5 of 100: 96..100.
        assert_eq!(tail_mean(&s, 0.95), 98.0);
        // Worst 0.1% of 100 paths rounds up to one path.
        assert_eq!(tail_mean(&s, 0.999), 100.0);
    }
}
