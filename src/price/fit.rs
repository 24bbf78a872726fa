//! `absrate simulate fit`: a model's parameters estimated from a price history. GBM in closed
//! form; Merton and GARCH-t by maximum likelihood with argmin's Nelder-Mead over unconstrained
//! transforms of the parameters (restarted from the best point until it stops improving); the
//! bootstrap's mean block length by the Politis-White rule. Every parameter's source says how it
//! was fitted, on which window, how many observations and with which log-likelihood.
//!
//! Parameters are rounded to 6 significant digits, and the model returned is the rounded one:
//! the file printed is exactly the model fitted.

use std::path::PathBuf;

use argmin::core::{CostFunction, Executor, State};
use argmin::solver::neldermead::NelderMead;
use chrono::NaiveDate;

use super::bootstrap::{Bootstrap, politis_white};
use super::error::PriceError;
use super::file::{FittedFrom, ModelFile, Param};
use super::garch::{GarchT, StartVariance};
use super::gbm::Gbm;
use super::kind::ModelKind;
use super::merton::Merton;
use super::{History, PriceModel};

impl ModelKind {
    /// Fewest daily returns a fit accepts.
    fn min_observations(self) -> usize {
        match self {
            ModelKind::Gbm => 2,
            ModelKind::Bootstrap => 30,
            ModelKind::Merton | ModelKind::GarchT => 100,
        }
    }
}

/// What to fit.
#[derive(Debug, Clone)]
pub struct FitRequest {
    pub prices: PathBuf,
    pub date_column: String,
    pub price_column: String,
    pub model: ModelKind,
    pub since: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    /// Default `btc-<model>`.
    pub id: Option<String>,
    pub version: semver::Version,
}

/// A fitted model: its file and the model itself.
#[derive(Debug, Clone)]
pub struct Fitted {
    pub file: ModelFile,
    pub model: PriceModel,
    /// What an analyst should know about the fitted values before publishing them (printed on
    /// standard error by `absrate simulate fit`; the file printed is unchanged by them).
    pub notes: Vec<String>,
}

/// Reads the window of the price file and fits the model.
pub fn fit(req: &FitRequest) -> Result<Fitted, PriceError> {
    let h = History::read(
        &req.prices,
        &req.date_column,
        &req.price_column,
        req.since,
        req.until,
    )?;
    fit_history(
        &h,
        req.model,
        req.id
            .clone()
            .unwrap_or_else(|| format!("btc-{}", req.model.name())),
        req.version.clone(),
    )
}

/// Fits `kind` to the returns of `h`.
pub fn fit_history(
    h: &History,
    kind: ModelKind,
    id: String,
    version: semver::Version,
) -> Result<Fitted, PriceError> {
    let r = &h.returns;
    if r.len() < kind.min_observations() {
        return Err(PriceError::TooShort {
            path: h.path.clone(),
            model: kind.name(),
            since: h.since,
            until: h.until,
            observations: r.len(),
            min: kind.min_observations(),
        });
    }
    let window = h.describe();
    let mut notes = Vec::new();
    let (params, method, ll) = match kind {
        ModelKind::Gbm => {
            let (g, _) = Gbm::fit(r);
            let g = Gbm {
                mu: round6(g.mu),
                sigma: round6(g.sigma),
            };
            let ll = g.log_likelihood(r);
            let method =
                "closed form: sample mean and standard deviation (n - 1) of the daily log returns";
            let src = |what: &str| {
                format!(
                    "fitted: {what} of {window} (absrate simulate fit); Gaussian log-likelihood {ll:.2}"
                )
            };
            (
                vec![
                    Param::new("mu", g.mu, src("sample mean")),
                    Param::new("sigma", g.sigma, src("sample standard deviation (n - 1)")),
                ],
                method.to_string(),
                Some(ll),
            )
        }
        ModelKind::Merton => {
            let m = fit_merton(r)?;
            let ll = m.log_likelihood(r);
            let method = mle_method("Merton jump diffusion (Poisson mixture of normals)");
            let src = format!(
                "fitted: maximum likelihood (see fitted_from.method), {window}; log-likelihood {ll:.2}"
            );
            (
                vec![
                    Param::new("mu", m.mu, &src),
                    Param::new("sigma", m.sigma, &src),
                    Param::new("lambda", m.lambda, &src),
                    Param::new("jump_mean", m.jump_mean, &src),
                    Param::new("jump_sd", m.jump_sd, &src),
                ],
                method,
                Some(ll),
            )
        }
        ModelKind::GarchT => {
            let f = fit_garch_t(r)?;
            let (g, ll, u) = (f.model, f.log_likelihood, f.unrestricted);
            notes.extend(garch_variance_note(&g));
            let method = format!(
                "{}; variance targeting: omega = (1 - alpha - beta) x the sample variance (divisor n), because the unrestricted maximum lies on the boundary alpha + beta = {:.6} (log-likelihood {:.2}), where the unconditional variance a path starts from does not exist",
                mle_method(
                    "GARCH(1,1) with standardized Student-t innovations, variance recursion started at the sample variance"
                ),
                u.alpha + u.beta,
                f.unrestricted_log_likelihood
            );
            let src = format!(
                "fitted: maximum likelihood with variance targeting (see fitted_from.method), {window}; log-likelihood {ll:.2}"
            );
            (
                vec![
                    Param::new("mu", g.mu, &src),
                    Param::new("omega", g.omega, &src),
                    Param::new("alpha", g.alpha, &src),
                    Param::new("beta", g.beta, &src),
                    Param::new("nu", g.nu, &src),
                ],
                method,
                Some(ll),
            )
        }
        ModelKind::Bootstrap => {
            let squared: Vec<f64> = r.iter().map(|x| x * x).collect();
            let on_squares = round6(politis_white(&squared));
            let on_returns = politis_white(r);
            let method = "stationary block bootstrap (Politis-Romano 1994) of the daily log returns in the window; mean block length by the Politis-White (2004) rule with the Patton-Politis-White (2009) correction, applied to the squared returns";
            let src = format!(
                "fitted: Politis-White automatic block length (2004, corrected 2009) of the squared daily log returns of {window}, chosen because the dependence that matters for paths is volatility clustering (the rule on the returns themselves gives {on_returns:.2} days) (absrate simulate fit)"
            );
            (
                vec![Param::new("mean_block_length", on_squares, src)],
                method.to_string(),
                None,
            )
        }
    };
    let title = format!("BTC/USD daily log returns: {}", kind.title());
    let file = ModelFile::new(
        std::path::Path::new("<fit>"),
        id,
        version,
        title,
        FittedFrom::of(h, method, ll.map(round2)),
        kind,
        params,
    )?;
    let model = match kind {
        ModelKind::Bootstrap => match file.spec {
            super::file::Spec::Bootstrap { mean_block_length } => {
                PriceModel::Bootstrap(Bootstrap::new(h.returns.clone(), mean_block_length))
            }
            _ => unreachable!("a bootstrap fit builds a bootstrap spec"),
        },
        _ => file.build(None)?,
    };
    Ok(Fitted { file, model, notes })
}

/// A note when the fitted GARCH-t's variance process has no finite variance
/// ([`GarchT::variance_of_variance`]): then the stationary variance is so skewed that most
/// simulated years are calmer than the unconditional variance and a few far wilder
/// (docs/price-models.md, "Against history").
pub fn garch_variance_note(g: &GarchT) -> Option<String> {
    let (kappa, second) = g.variance_of_variance();
    if second < 1.0 {
        return None;
    }
    let why = if g.nu <= 4.0 {
        format!(
            "nu = {:.2} <= 4, so the Student-t innovations have no finite fourth moment",
            g.nu
        )
    } else {
        format!(
            "beta^2 + 2 alpha beta + kappa alpha^2 = {second:.4} >= 1 (kappa = {kappa:.4}, the innovations' fourth moment)"
        )
    };
    Some(format!(
        "{why}: the conditional variance has no finite variance, so most simulated years are calmer than the unconditional variance and a few far wilder; compare the model's one-year drawdowns with history's before publishing it (docs/price-models.md, \"Against history\")"
    ))
}

fn mle_method(model: &str) -> String {
    format!(
        "maximum likelihood, {model}; Nelder-Mead (argmin {}) over unconstrained transforms, restarted until the log-likelihood stops improving",
        ARGMIN_VERSION
    )
}

const ARGMIN_VERSION: &str = "0.11";

/// `x` to 6 significant digits.
pub fn round6(x: f64) -> f64 {
    format!("{x:.5e}").parse().unwrap_or(x)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// A negative log-likelihood over an unconstrained parameter vector, for argmin.
struct Cost<F: Fn(&[f64]) -> f64>(F);

impl<F: Fn(&[f64]) -> f64> CostFunction for Cost<F> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, p: &Self::Param) -> Result<f64, argmin::core::Error> {
        let v = (self.0)(p);
        // Nelder-Mead only compares: an impossible point is merely very bad.
        Ok(if v.is_finite() { v } else { 1e300 })
    }
}

/// Minimizes `f` from `x0` (initial simplex: `x0` and `x0 + steps[i] e_i`), restarting from the
/// best point until a restart improves the cost by less than 1e-9 (at most 12 runs).
pub(crate) fn minimize(
    model: &'static str,
    f: impl Fn(&[f64]) -> f64 + Copy,
    x0: Vec<f64>,
    steps: &[f64],
) -> Result<(Vec<f64>, f64), PriceError> {
    let fail = |e: argmin::core::Error| PriceError::Fit {
        model,
        message: e.to_string(),
    };
    let mut best = x0;
    let mut best_cost = Cost(f).cost(&best).map_err(fail)?;
    for _ in 0..12 {
        let mut simplex = vec![best.clone()];
        for (i, s) in steps.iter().enumerate() {
            let mut v = best.clone();
            v[i] += s;
            simplex.push(v);
        }
        let solver = NelderMead::new(simplex)
            .with_sd_tolerance(1e-12)
            .map_err(fail)?;
        let res = Executor::new(Cost(f), solver)
            .configure(|s| s.max_iters(6000))
            .run()
            .map_err(fail)?;
        let state = res.state();
        let (Some(p), c) = (state.get_best_param(), state.get_best_cost()) else {
            return Err(PriceError::Fit {
                model,
                message: "no best point".into(),
            });
        };
        let improved = best_cost - c;
        if c < best_cost {
            best = p.clone();
            best_cost = c;
        }
        if improved.abs() < 1e-9 {
            break;
        }
    }
    if !best_cost.is_finite() || best_cost >= 1e300 {
        return Err(PriceError::Fit {
            model,
            message: "no finite log-likelihood found".into(),
        });
    }
    Ok((best, best_cost))
}

fn moments(r: &[f64]) -> (f64, f64) {
    let n = r.len() as f64;
    let mean = r.iter().sum::<f64>() / n;
    let var = r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (mean, var)
}

/// GARCH-t parameters from the unconstrained vector
/// `[mu, ln omega, logit(alpha + beta), logit(alpha / (alpha + beta)), ln(nu - 2)]`.
fn garch_of(x: &[f64]) -> GarchT {
    let persistence = logistic(x[2]);
    let share = logistic(x[3]);
    GarchT {
        mu: x[0],
        omega: x[1].exp(),
        alpha: persistence * share,
        beta: persistence * (1.0 - share),
        nu: 2.0 + x[4].exp(),
        start: StartVariance::Unconditional,
    }
}

/// A GARCH-t fit: the variance-targeted estimate and, for the record, the unrestricted one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GarchFit {
    /// Variance targeting: `omega = (1 - alpha - beta) * sample variance`; `mu`, `alpha`,
    /// `beta`, `nu` by maximum likelihood. Rounded to 6 significant digits.
    pub model: GarchT,
    pub log_likelihood: f64,
    /// The unrestricted maximum likelihood estimate (all five parameters free), unrounded.
    pub unrestricted: GarchT,
    pub unrestricted_log_likelihood: f64,
}

/// Maximum likelihood GARCH(1,1)-t with variance targeting (Engle & Mezrich 1996): the
/// unconditional variance is set to the sample variance of the returns (divisor n) and the other
/// four parameters are estimated by maximum likelihood.
///
/// Why targeting: on BTC the unrestricted likelihood rises all the way to the integrated
/// boundary `alpha + beta = 1` (on the full history and on every later start tried, 2014 to
/// 2020), where the unconditional variance, which a simulated path starts from and which fixes
/// its terminal variance, does not exist. Targeting keeps the model stationary with the
/// history's own variance; the unrestricted estimate and its log-likelihood are reported beside
/// it.
pub fn fit_garch_t(r: &[f64]) -> Result<GarchFit, PriceError> {
    let (mean, var) = moments(r);
    let sd_mean = (var / r.len() as f64).sqrt();
    let targeted = |x: &[f64]| {
        let g = garch_of(&[x[0], 0.0, x[1], x[2], x[3]]);
        GarchT::targeted(g.mu, var, g.alpha, g.beta, g.nu)
    };
    let x0 = vec![mean, logit(0.95), logit(0.1), 2f64.ln()];
    let steps = [2.0 * sd_mean, 0.5, 0.5, 0.5];
    let (x, _) = minimize("garch-t", |x| -targeted(x).log_likelihood(r), x0, &steps)?;
    let g = targeted(&x);
    let (alpha, beta) = (round6(g.alpha), round6(g.beta));
    let mut model = GarchT::targeted(round6(g.mu), var, alpha, beta, round6(g.nu));
    model.omega = round6(model.omega);
    let x0 = vec![mean, (var * 0.05).ln(), logit(0.95), logit(0.1), 2f64.ln()];
    let steps = [2.0 * sd_mean, 0.5, 0.5, 0.5, 0.5];
    let (xu, cu) = minimize("garch-t", |x| -garch_of(x).log_likelihood(r), x0, &steps)?;
    Ok(GarchFit {
        model,
        log_likelihood: model.log_likelihood(r),
        unrestricted: garch_of(&xu),
        unrestricted_log_likelihood: -cu,
    })
}

/// Merton parameters from `[mu, ln sigma, logit(lambda), jump_mean, ln jump_sd]`.
fn merton_of(x: &[f64]) -> Merton {
    Merton {
        mu: x[0],
        sigma: x[1].exp(),
        lambda: logistic(x[2]),
        jump_mean: x[3],
        jump_sd: x[4].exp(),
    }
}

/// Maximum likelihood Merton, from two starting points (rare large jumps, frequent small ones),
/// the better kept; rounded to 6 significant digits.
pub fn fit_merton(r: &[f64]) -> Result<Merton, PriceError> {
    let (mean, var) = moments(r);
    let sd_mean = (var / r.len() as f64).sqrt();
    let mut best: Option<(Vec<f64>, f64)> = None;
    for (lambda, diffusion_share) in [(0.02, 0.7), (0.2, 0.5)] {
        let sigma2 = var * diffusion_share;
        let jump_var = var * (1.0 - diffusion_share) / lambda;
        let x0 = vec![
            mean,
            0.5 * sigma2.ln(),
            logit(lambda),
            0.0,
            0.5 * jump_var.ln(),
        ];
        let steps = [2.0 * sd_mean, 0.3, 0.5, var.sqrt(), 0.3];
        let found = minimize("merton", |x| -merton_of(x).log_likelihood(r), x0, &steps)?;
        if best.as_ref().is_none_or(|b| found.1 < b.1) {
            best = Some(found);
        }
    }
    let (x, _) = best.ok_or(PriceError::Fit {
        model: "merton",
        message: "no starting point".into(),
    })?;
    let m = merton_of(&x);
    Ok(Merton {
        mu: round6(m.mu),
        sigma: round6(m.sigma),
        lambda: round6(m.lambda),
        jump_mean: round6(m.jump_mean),
        jump_sd: round6(m.jump_sd),
    })
}
