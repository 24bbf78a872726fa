//! Stationary block bootstrap (Politis & Romano 1994) of historical daily log returns: a path
//! strings together blocks of consecutive historical returns, each starting at a uniformly drawn
//! day and lasting a geometric number of days with mean `mean_block_length` (the history wraps
//! around at its end). Volatility clustering and fat tails come from the history itself, up to
//! the block length.
//!
//! The mean block length comes from the automatic rule of Politis & White (2004), with the
//! correction of Patton, Politis & White (2009), see [`politis_white`].

use std::sync::Arc;

use rand::RngExt as _;
use rand::rngs::ChaCha8Rng;

use super::SimPath;

#[derive(Debug, Clone, PartialEq)]
pub struct Bootstrap {
    /// The historical daily log returns resampled, in date order.
    returns: Arc<[f64]>,
    mean_block_length: f64,
    mean: f64,
    sd: f64,
}

impl Bootstrap {
    /// `returns` must not be empty; `mean_block_length` >= 1 (both are checked where a model file
    /// is read).
    pub fn new(returns: Vec<f64>, mean_block_length: f64) -> Bootstrap {
        let n = returns.len().max(1) as f64;
        let mean = returns.iter().sum::<f64>() / n;
        let var = returns.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        Bootstrap {
            returns: returns.into(),
            mean_block_length: mean_block_length.max(1.0),
            mean,
            sd: var.sqrt(),
        }
    }

    pub fn returns(&self) -> &[f64] {
        &self.returns
    }

    pub fn mean_block_length(&self) -> f64 {
        self.mean_block_length
    }

    /// Mean of the historical daily log returns.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Standard deviation of the historical daily log returns (divisor n, the resampled
    /// distribution's own).
    pub fn sd(&self) -> f64 {
        self.sd
    }

    /// Writes `ln(P_t / P_0)` into `out.prices[1..=days]` (`out.vol` already holds the constant
    /// volatility).
    pub(super) fn simulate(&self, days: usize, rng: &mut ChaCha8Rng, out: &mut SimPath) {
        let n = self.returns.len();
        if n == 0 {
            return;
        }
        let p_new = 1.0 / self.mean_block_length;
        let mut i = rng.random_range(0..n);
        let mut x = 0.0;
        for (t, p) in out.prices.iter_mut().enumerate().skip(1).take(days) {
            if t > 1 {
                let u: f64 = rng.random();
                i = if u < p_new {
                    rng.random_range(0..n)
                } else if i + 1 == n {
                    0
                } else {
                    i + 1
                };
            }
            x += self.returns[i];
            *p = x;
        }
    }

    pub(super) fn terminal_log_moments(&self, days: usize) -> (f64, f64) {
        // Each day's return is uniform over the history; two days k apart are in one block with
        // probability (1 - p)^k, then k days apart in the (circular) history, else independent.
        let t = days as f64;
        let q = 1.0 - 1.0 / self.mean_block_length;
        let mut var = t * self.circular_autocovariance(0);
        let mut qk = 1.0;
        for k in 1..days {
            qk *= q;
            if qk < 1e-300 {
                break;
            }
            var += 2.0 * (t - k as f64) * qk * self.circular_autocovariance(k);
        }
        (t * self.mean, var)
    }

    /// `1/n sum_i (r_i - mean)(r_{(i+k) mod n} - mean)`.
    fn circular_autocovariance(&self, k: usize) -> f64 {
        let r = &self.returns;
        let n = r.len();
        if n == 0 {
            return 0.0;
        }
        (0..n)
            .map(|i| (r[i] - self.mean) * (r[(i + k) % n] - self.mean))
            .sum::<f64>()
            / n as f64
    }
}

/// The mean block length of the stationary bootstrap for the sample mean of `x`, by the rule of
/// Politis & White (2004) as corrected by Patton, Politis & White (2009):
/// `b = (2 G^2 / D)^(1/3) n^(1/3)`, `G = sum_{|k|<=M} w(k/M) |k| R(k)`, `D = 2 g^2`,
/// `g = sum_{|k|<=M} w(k/M) R(k)`, with the flat-top window `w` (1 up to 1/2, then linear to
/// 0 at 1) and `M = 2 m`, where `m` is the smallest lag after which
/// `K = max(5, ceil(sqrt(log10 n)))` autocorrelations in a row lie within
/// `2 sqrt(log10 n / n)` (at least 1, at most `ceil(sqrt n) + K`). The result lies between 1
/// and `min(3 sqrt n, n / 3)`.
pub fn politis_white(x: &[f64]) -> f64 {
    let n = x.len();
    if n < 8 {
        return 1.0;
    }
    let nf = n as f64;
    let mean = x.iter().sum::<f64>() / nf;
    let e: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let kn = 5usize.max(nf.log10().sqrt().ceil() as usize);
    let m_max = (nf.sqrt().ceil() as usize + kn).min(n - 1);
    let acov = |k: usize| {
        e[k..]
            .iter()
            .zip(&e[..n - k])
            .map(|(a, b)| a * b)
            .sum::<f64>()
            / nf
    };
    let r: Vec<f64> = (0..=m_max).map(acov).collect();
    let rho = |k: usize| r[k] / r[0];
    let bound = 2.0 * (nf.log10() / nf).sqrt();
    let m_hat = (0..=m_max.saturating_sub(kn))
        .find(|&m| (1..=kn).all(|k| rho(m + k).abs() < bound))
        .unwrap_or(m_max);
    let big_m = (2 * m_hat.max(1)).min(m_max);
    let w = |s: f64| {
        if s <= 0.5 {
            1.0
        } else if s <= 1.0 {
            2.0 * (1.0 - s)
        } else {
            0.0
        }
    };
    let (mut g, mut big_g) = (r[0], 0.0);
    for (k, rk) in r.iter().enumerate().take(big_m + 1).skip(1) {
        let wk = w(k as f64 / big_m as f64);
        g += 2.0 * wk * rk;
        big_g += 2.0 * wk * k as f64 * rk;
    }
    let d = 2.0 * g * g;
    let b = if d > 0.0 {
        (2.0 * big_g * big_g / d).cbrt() * nf.cbrt()
    } else {
        1.0
    };
    let b_max = (3.0 * nf.sqrt()).min(nf / 3.0).ceil();
    b.clamp(1.0, b_max)
}
