//! BTC price models for the Monte Carlo simulation (issue 12): geometric Brownian motion, Merton
//! jump diffusion, GARCH(1,1) with Student-t innovations, and a stationary block bootstrap of
//! historical daily log returns.
//!
//! A model is stated in a model file (`methodology/models/<id>/<version>.yaml`, strict YAML,
//! every parameter with its source, published versions pinned in `methodology/published.lock`
//! and built into the binary like the methodologies): [`file`] reads and writes it, [`lookup`]
//! finds it by name or path, [`fit`] estimates it from a price history (`absrate simulate fit`).
//! The simulation itself is `f64` and allocation-free once a [`SimPath`]'s buffers are warm:
//! one `ChaCha8Rng` stream per path, chosen by the caller.
//!
//! Every model works on daily log returns `r_t = ln(P_t / P_{t-1})`; `docs/price-models.md`
//! gives the equations, the fits and the window-move approximation behind forced-sale gaps.

mod bootstrap;
mod error;
pub mod file;
pub mod fit;
mod garch;
mod gbm;
mod history;
mod kind;
pub mod lookup;
mod merton;
mod sampler;

pub use bootstrap::{Bootstrap, politis_white};
pub use error::PriceError;
pub use file::{FittedFrom, ModelFile, Param, Spec};
pub use fit::{FitRequest, Fitted, fit, garch_variance_note};
pub use garch::{GarchT, StartVariance};
pub use gbm::Gbm;
pub use history::{DATE_COLUMN, History, PRICE_COLUMN};
pub use kind::ModelKind;
pub use lookup::{LoadedModel, ModelEntry, ModelLookup, load, models_dir};
pub use merton::Merton;

use rand::rngs::ChaCha8Rng;

/// One simulated path: daily prices and the conditional daily volatility behind each day.
///
/// `prices[0]` is the start and `prices[t]` the close of day `t` (`days + 1` values).
/// `vol[t]` (t >= 1) is the conditional daily standard deviation of day `t`'s diffusion part,
/// known at the close of day `t - 1`; `vol[0]` is the starting value (the same as `vol[1]`).
/// So a move just after the close of day `t` has daily sd `vol[t + 1]` (for the last day, use
/// `vol[days]`): for GBM, Merton and the bootstrap every entry is the same.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimPath {
    pub prices: Vec<f64>,
    pub vol: Vec<f64>,
}

impl SimPath {
    /// Empty buffers with room for `days` days, so the first path does not reallocate.
    pub fn with_days(days: usize) -> SimPath {
        SimPath {
            prices: Vec::with_capacity(days + 1),
            vol: Vec::with_capacity(days + 1),
        }
    }

    /// `days + 1` prices at `start` and volatilities at `vol`, for a model to overwrite.
    fn reset(&mut self, days: usize, start: f64, vol: f64) {
        self.prices.clear();
        self.vol.clear();
        self.prices.resize(days + 1, start);
        self.vol.resize(days + 1, vol);
    }
}

/// A price model with its parameters, ready to simulate.
#[derive(Debug, Clone, PartialEq)]
pub enum PriceModel {
    Gbm(Gbm),
    Merton(Merton),
    GarchT(GarchT),
    Bootstrap(Bootstrap),
}

impl PriceModel {
    /// The model's kind, as `simulate fit --model` and the model file name it.
    pub fn kind(&self) -> ModelKind {
        match self {
            PriceModel::Gbm(_) => ModelKind::Gbm,
            PriceModel::Merton(_) => ModelKind::Merton,
            PriceModel::GarchT(_) => ModelKind::GarchT,
            PriceModel::Bootstrap(_) => ModelKind::Bootstrap,
        }
    }

    /// Simulates `days` daily closes from `start` into `out` (its buffers are reused: no
    /// allocation once they hold `days + 1` values). The draws come from `rng` alone, so the
    /// same stream gives the same path.
    pub fn simulate(&self, start: f64, days: usize, rng: &mut ChaCha8Rng, out: &mut SimPath) {
        out.reset(days, start, self.start_vol());
        // Each model writes the cumulative log move ln(P_t / P_0) into prices[1..]; the
        // exponentials follow in a loop of their own (independent, so they pipeline).
        match self {
            PriceModel::Gbm(m) => m.simulate(days, rng, out),
            PriceModel::Merton(m) => m.simulate(days, rng, out),
            PriceModel::GarchT(m) => m.simulate(days, rng, out),
            PriceModel::Bootstrap(m) => m.simulate(days, rng, out),
        }
        for p in out.prices.iter_mut().skip(1) {
            *p = price(start, *p);
        }
    }

    /// Log move over a sub-daily window of `window_days` (4 hours = 1/6) starting at a moment
    /// whose conditional daily sd is `vol`: the diffusion `N(mu * w, vol^2 * w)` plus, for
    /// Merton, `Poisson(lambda * w)` jumps; for the bootstrap, a normal with the history's mean
    /// and the `vol` given (its daily sd).
    ///
    /// This is how a forced sale's discount below its trigger comes from the path. The
    /// approximation: the move after the trigger is drawn independently of the day's close
    /// (the Markov property of the diffusion), ignoring the conditioning a Brownian bridge
    /// between the two closes would impose; GARCH's Student-t shape is not used inside a day.
    pub fn window_move(&self, vol: f64, window_days: f64, rng: &mut ChaCha8Rng) -> f64 {
        let w = window_days.max(0.0);
        let z = sampler::normal().sample(rng);
        let diffusion = self.mu() * w + vol * w.sqrt() * z;
        match self {
            PriceModel::Merton(m) => diffusion + m.jumps(m.lambda * w, rng),
            _ => diffusion,
        }
    }

    /// Words (32-bit) of the random stream one [`PriceModel::window_move`] takes, when fixed: one
    /// 64-bit draw of the normal table for GBM, GARCH and the bootstrap; `None` for Merton,
    /// whose jump count draws more.
    pub fn window_move_words(&self) -> Option<u128> {
        match self {
            PriceModel::Merton(_) => None,
            PriceModel::Gbm(_) | PriceModel::GarchT(_) | PriceModel::Bootstrap(_) => Some(2),
        }
    }

    /// Mean and variance of `ln(P_T / P_0)` after `days`, in closed form: GARCH from the
    /// unconditional variance (its simulation starts there), the bootstrap from the history's
    /// sample moments and circular autocovariances under the block scheme.
    pub fn terminal_log_moments(&self, days: usize) -> (f64, f64) {
        match self {
            PriceModel::Gbm(m) => m.terminal_log_moments(days),
            PriceModel::Merton(m) => m.terminal_log_moments(days),
            PriceModel::GarchT(m) => m.terminal_log_moments(days),
            PriceModel::Bootstrap(m) => m.terminal_log_moments(days),
        }
    }

    /// The daily drift of the diffusion part (the bootstrap: the history's mean log return).
    pub fn mu(&self) -> f64 {
        match self {
            PriceModel::Gbm(m) => m.mu,
            PriceModel::Merton(m) => m.mu,
            PriceModel::GarchT(m) => m.mu,
            PriceModel::Bootstrap(m) => m.mean(),
        }
    }

    /// The conditional daily sd a path starts from (`SimPath::vol[0]`).
    pub fn start_vol(&self) -> f64 {
        match self {
            PriceModel::Gbm(m) => m.sigma,
            PriceModel::Merton(m) => m.sigma,
            PriceModel::GarchT(m) => m.start_variance().sqrt(),
            PriceModel::Bootstrap(m) => m.sd(),
        }
    }
}

/// `start * exp(x)` for each cumulative log move `x`: the one place log moves become prices.
#[inline(always)]
fn price(start: f64, x: f64) -> f64 {
    start * x.exp()
}

#[cfg(test)]
mod tests;
