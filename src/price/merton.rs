//! Merton jump diffusion: daily log returns `r_t = mu + sigma * z_t + sum_{j=1}^{N_t} Y_j`,
//! `N_t ~ Poisson(lambda)`, `Y_j ~ N(jump_mean, jump_sd^2)`, all independent. Fitted by maximum
//! likelihood: the density of a day's return is a Poisson mixture of normals, truncated where the
//! Poisson tail is below 1e-12.

use rand::RngExt as _;
use rand::rngs::ChaCha8Rng;

use super::{SimPath, sampler};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Merton {
    /// Mean daily log return of the diffusion part.
    pub mu: f64,
    /// Daily standard deviation of the diffusion part.
    pub sigma: f64,
    /// Expected number of jumps per day.
    pub lambda: f64,
    /// Mean log size of a jump.
    pub jump_mean: f64,
    /// Standard deviation of a jump's log size.
    pub jump_sd: f64,
}

/// Largest number of jumps counted in one day (or window): with lambda below 1 per day the
/// Poisson probability beyond it is below 1e-20.
const MAX_JUMPS: usize = 24;

impl Merton {
    /// Writes `ln(P_t / P_0)` into `out.prices[1..=days]` (`out.vol` already holds the constant
    /// volatility).
    pub(super) fn simulate(&self, days: usize, rng: &mut ChaCha8Rng, out: &mut SimPath) {
        // Like GBM, the drift is a product so that a path without jumps and with sigma = 0 is
        // exactly start * exp(mu * t). Given the day's jump count k, the diffusion and the jumps
        // together are one normal, N(k m, sigma^2 + k s^2): one draw a day besides the count.
        let p0 = (-self.lambda).exp();
        let normal = sampler::normal();
        let mut moves = [(0.0, 0.0); MAX_JUMPS + 1];
        for (k, s) in moves.iter_mut().enumerate() {
            let k = k as f64;
            *s = (
                k * self.jump_mean,
                (self.sigma * self.sigma + k * self.jump_sd * self.jump_sd).sqrt(),
            );
        }
        // P(N <= k), k = 0..8, for a branch-free Poisson count (the same sums as
        // `count_after_zero`, which takes over on the rare day with 8 jumps or more).
        let mut cum = [0.0; 8];
        let (mut pk, mut c) = (p0, p0);
        for (k, slot) in cum.iter_mut().enumerate() {
            *slot = c;
            pk *= self.lambda / (k + 1) as f64;
            c += pk;
        }
        let mut acc = 0.0;
        for (t, p) in out.prices.iter_mut().enumerate().skip(1).take(days) {
            let u: f64 = rng.random();
            let mut k: usize = cum.iter().map(|c| usize::from(u > *c)).sum();
            if k == cum.len() {
                k = count_after_zero(u, p0, self.lambda);
            }
            let (m, sd) = moves[k];
            acc += m + sd * normal.sample(rng);
            *p = self.mu * t as f64 + acc;
        }
    }

    /// The sum of the log sizes of the jumps in a window with `lambda_w` expected jumps.
    pub(super) fn jumps(&self, lambda_w: f64, rng: &mut ChaCha8Rng) -> f64 {
        let p0 = (-lambda_w).exp();
        let u: f64 = rng.random();
        if u <= p0 {
            return 0.0;
        }
        self.jump_sum(count_after_zero(u, p0, lambda_w), rng)
    }

    /// The sum of `k` jump log sizes: one normal draw, N(k m, k s^2).
    #[inline]
    fn jump_sum(&self, k: usize, rng: &mut ChaCha8Rng) -> f64 {
        let z = sampler::normal().sample(rng);
        let k = k as f64;
        k * self.jump_mean + k.sqrt() * self.jump_sd * z
    }

    pub(super) fn terminal_log_moments(&self, days: usize) -> (f64, f64) {
        let t = days as f64;
        let (m, s) = (self.jump_mean, self.jump_sd);
        (
            t * (self.mu + self.lambda * m),
            t * (self.sigma * self.sigma + self.lambda * (s * s + m * m)),
        )
    }

    /// Log-likelihood of daily log returns.
    pub fn log_likelihood(&self, r: &[f64]) -> f64 {
        // Mixture weights and component moments, computed once.
        let mut comps: Vec<(f64, f64, f64)> = Vec::new();
        let mut pk = (-self.lambda).exp();
        for k in 0..=MAX_JUMPS {
            if k > 0 {
                pk *= self.lambda / k as f64;
            }
            if k > 0 && pk < 1e-12 {
                break;
            }
            let kf = k as f64;
            let var = self.sigma * self.sigma + kf * self.jump_sd * self.jump_sd;
            let c = pk / (2.0 * std::f64::consts::PI * var).sqrt();
            comps.push((c, self.mu + kf * self.jump_mean, -0.5 / var));
        }
        r.iter()
            .map(|x| {
                let d: f64 = comps
                    .iter()
                    .map(|(c, m, h)| c * ((x - m) * (x - m) * h).exp())
                    .sum();
                d.max(f64::MIN_POSITIVE).ln()
            })
            .sum()
    }
}

/// The Poisson count for a uniform `u` above `P(N = 0) = p0`.
#[inline]
fn count_after_zero(u: f64, p0: f64, lambda: f64) -> usize {
    let (mut k, mut p, mut cum) = (0usize, p0, p0);
    while u > cum && k < MAX_JUMPS {
        k += 1;
        p *= lambda / k as f64;
        cum += p;
    }
    k.max(1)
}
