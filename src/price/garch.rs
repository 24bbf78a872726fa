//! GARCH(1,1) with Student-t innovations: daily log returns `r_t = mu + e_t`,
//! `e_t = sqrt(h_t) z_t`, `h_t = omega + alpha e_{t-1}^2 + beta h_{t-1}`, with `z_t` a Student-t
//! of `nu` degrees of freedom scaled to unit variance (`t_nu * sqrt((nu - 2) / nu)`).
//!
//! Fitted by maximum likelihood, the recursion started at the sample variance of the fitted
//! returns (the usual backcast). A simulated path starts at the unconditional variance
//! `omega / (1 - alpha - beta)` ([`StartVariance::Unconditional`]), so it describes a year drawn
//! from the model's long-run state, not from the state on the last day of the history.

use rand::rngs::ChaCha8Rng;

use super::{SimPath, sampler};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GarchT {
    /// Mean daily log return.
    pub mu: f64,
    pub omega: f64,
    pub alpha: f64,
    pub beta: f64,
    /// Degrees of freedom of the Student-t innovations (> 2).
    pub nu: f64,
    pub start: StartVariance,
}

/// The conditional variance a simulated path starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartVariance {
    /// `omega / (1 - alpha - beta)`, the long-run mean of `h_t`.
    Unconditional,
}

impl StartVariance {
    pub fn name(self) -> &'static str {
        match self {
            StartVariance::Unconditional => "unconditional",
        }
    }
}

impl GarchT {
    /// The innovations' fourth moment `kappa = 3 (nu - 2) / (nu - 4)` (infinite for nu <= 4), and
    /// `beta^2 + 2 alpha beta + kappa alpha^2`: the variance process has a finite variance exactly
    /// when the second is below 1.
    pub fn variance_of_variance(&self) -> (f64, f64) {
        let kappa = if self.nu > 4.0 {
            3.0 * (self.nu - 2.0) / (self.nu - 4.0)
        } else {
            f64::INFINITY
        };
        let (a, b) = (self.alpha, self.beta);
        (kappa, b * b + 2.0 * a * b + kappa * a * a)
    }

    /// The model whose unconditional variance is `variance` (variance targeting:
    /// `omega = (1 - alpha - beta) * variance`), started there.
    pub fn targeted(mu: f64, variance: f64, alpha: f64, beta: f64, nu: f64) -> GarchT {
        GarchT {
            mu,
            omega: variance * (1.0 - alpha - beta),
            alpha,
            beta,
            nu,
            start: StartVariance::Unconditional,
        }
    }

    /// `omega / (1 - alpha - beta)`.
    pub fn unconditional_variance(&self) -> f64 {
        self.omega / (1.0 - self.alpha - self.beta)
    }

    pub fn start_variance(&self) -> f64 {
        match self.start {
            StartVariance::Unconditional => self.unconditional_variance(),
        }
    }

    /// Writes `ln(P_t / P_0)` into `out.prices[1..=days]` and each day's conditional sd into
    /// `out.vol[1..=days]`.
    pub(super) fn simulate(&self, days: usize, rng: &mut ChaCha8Rng, out: &mut SimPath) {
        // nu > 2 is checked when the model is built; a bad value gives a flat path, not a panic.
        if self.nu.partial_cmp(&2.0) != Some(std::cmp::Ordering::Greater) {
            return;
        }
        // Unit-variance Student-t draws.
        let t = sampler::student_t(self.nu);
        let mut h = self.start_variance();
        let mut x = 0.0;
        let days = days.min(out.prices.len() - 1);
        // The variance recursion is written `h' = omega + (alpha z^2 + beta) h` (the same as
        // `omega + alpha e^2 + beta h`, `e = sqrt(h) z`): one multiply-add from one day's variance
        // to the next, the square root off that chain.
        for (p, v) in out.prices[1..=days].iter_mut().zip(&mut out.vol[1..=days]) {
            let z = t.sample(rng);
            let sd = h.sqrt();
            x += self.mu + sd * z;
            *p = x;
            *v = sd;
            h = self.omega + (self.alpha * z * z + self.beta) * h;
        }
    }

    pub(super) fn terminal_log_moments(&self, days: usize) -> (f64, f64) {
        // Started at the unconditional variance, E[h_t] stays there; the e_t are uncorrelated.
        let t = days as f64;
        (self.mu * t, self.unconditional_variance() * t)
    }

    /// Log-likelihood of daily log returns, the recursion started at their sample variance.
    pub fn log_likelihood(&self, r: &[f64]) -> f64 {
        let n = r.len() as f64;
        let mean = r.iter().sum::<f64>() / n;
        let mut h = r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        let nu = self.nu;
        let c = ln_gamma((nu + 1.0) / 2.0)
            - ln_gamma(nu / 2.0)
            - 0.5 * (std::f64::consts::PI * (nu - 2.0)).ln();
        let mut ll = 0.0;
        for x in r {
            let e = x - self.mu;
            ll += c - 0.5 * h.ln() - (nu + 1.0) / 2.0 * (e * e / ((nu - 2.0) * h)).ln_1p();
            h = self.omega + self.alpha * e * e + self.beta * h;
        }
        ll
    }

    /// The conditional variances the fitted recursion gives each day of `r` (for diagnostics).
    pub fn filtered_variances(&self, r: &[f64]) -> Vec<f64> {
        let n = r.len() as f64;
        let mean = r.iter().sum::<f64>() / n;
        let mut h = r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        r.iter()
            .map(|x| {
                let out = h;
                let e = x - self.mu;
                h = self.omega + self.alpha * e * e + self.beta * h;
                out
            })
            .collect()
    }
}

fn ln_gamma(x: f64) -> f64 {
    statrs::function::gamma::ln_gamma(x)
}
