//! Geometric Brownian motion: daily log returns `r_t = mu + sigma * z_t`, `z_t` iid N(0, 1).
//! Fitted in closed form (sample mean and standard deviation of the log returns).

use rand::rngs::ChaCha8Rng;

use super::{SimPath, sampler};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gbm {
    /// Mean daily log return.
    pub mu: f64,
    /// Standard deviation of the daily log return.
    pub sigma: f64,
}

impl Gbm {
    /// Writes `ln(P_t / P_0)` into `out.prices[1..=days]` (`out.vol` already holds the constant
    /// volatility).
    pub(super) fn simulate(&self, days: usize, rng: &mut ChaCha8Rng, out: &mut SimPath) {
        // ln(P_t / P_0) = mu * t + sigma * W_t, the drift taken as a product rather than a running
        // sum, so that sigma = 0 gives exactly start * exp(mu * t).
        let normal = sampler::normal();
        let mut w = 0.0;
        for (t, p) in out.prices.iter_mut().enumerate().skip(1).take(days) {
            w += normal.sample(rng);
            *p = self.mu * t as f64 + self.sigma * w;
        }
    }

    pub(super) fn terminal_log_moments(&self, days: usize) -> (f64, f64) {
        let t = days as f64;
        (self.mu * t, self.sigma * self.sigma * t)
    }

    /// Closed-form fit and the Gaussian log-likelihood at it: the sample mean and the sample
    /// standard deviation (divisor n - 1).
    pub fn fit(r: &[f64]) -> (Gbm, f64) {
        let n = r.len() as f64;
        let mu = r.iter().sum::<f64>() / n;
        let var = r.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        let g = Gbm {
            mu,
            sigma: var.sqrt(),
        };
        (g, g.log_likelihood(r))
    }

    pub fn log_likelihood(&self, r: &[f64]) -> f64 {
        let v = self.sigma * self.sigma;
        let c = -0.5 * (2.0 * std::f64::consts::PI * v).ln();
        r.iter()
            .map(|x| c - (x - self.mu).powi(2) / (2.0 * v))
            .sum()
    }
}
