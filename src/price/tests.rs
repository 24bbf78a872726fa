//! The simulators against their closed forms, the fits against known parameters, the model
//! files against their format.

use std::path::Path;

use approx::assert_abs_diff_eq;
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

use super::file::ModelFile;
use super::fit::{fit_garch_t, round6};
use super::*;

/// Parameters of the size BTC has (daily sd 3-4%), with finite fourth moments so that the
/// standard error of a sample variance exists (GARCH: nu > 4 and
/// beta^2 + 2 alpha beta + kappa alpha^2 < 1, kappa = 3 (nu - 2) / (nu - 4) = 6).
fn models() -> Vec<(&'static str, PriceModel)> {
    let garch = GarchT::targeted(0.001, 0.0009, 0.08, 0.90, 6.0);
    assert_eq!(garch.variance_of_variance().0, 6.0);
    assert!(garch.variance_of_variance().1 < 1.0);
    // The bootstrap resamples a GARCH-t series (clustered, fat-tailed), not the price file.
    let returns = returns_of(&PriceModel::GarchT(garch), 4000, 7);
    vec![
        (
            "gbm",
            PriceModel::Gbm(Gbm {
                mu: 0.0015,
                sigma: 0.035,
            }),
        ),
        (
            "merton",
            PriceModel::Merton(Merton {
                mu: 0.0015,
                sigma: 0.025,
                lambda: 0.05,
                jump_mean: -0.02,
                jump_sd: 0.08,
            }),
        ),
        ("garch-t", PriceModel::GarchT(garch)),
        (
            "bootstrap",
            PriceModel::Bootstrap(Bootstrap::new(returns, 20.0)),
        ),
    ]
}

/// The daily log returns of one simulated path of `days` days.
fn returns_of(m: &PriceModel, days: usize, seed: u64) -> Vec<f64> {
    let mut out = SimPath::default();
    m.simulate(1.0, days, &mut ChaCha8Rng::seed_from_u64(seed), &mut out);
    out.prices.windows(2).map(|w| (w[1] / w[0]).ln()).collect()
}

/// Sample mean, variance (n - 1) and fourth central moment.
fn sample_moments(x: &[f64]) -> (f64, f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let m4 = x.iter().map(|v| (v - mean).powi(4)).sum::<f64>() / n;
    (mean, var, m4)
}

#[test]
fn gbm_with_zero_volatility_is_exactly_start_times_exp_mu_t_every_day() {
    let gbm = PriceModel::Gbm(Gbm {
        mu: 0.0013,
        sigma: 0.0,
    });
    // Merton without jumps and without diffusion is the same deterministic path.
    let merton = PriceModel::Merton(Merton {
        mu: 0.0013,
        sigma: 0.0,
        lambda: 0.0,
        jump_mean: -0.1,
        jump_sd: 0.1,
    });
    for m in [gbm, merton] {
        let mut out = SimPath::default();
        m.simulate(87_500.0, 365, &mut ChaCha8Rng::seed_from_u64(1), &mut out);
        assert_eq!(out.prices.len(), 366);
        for (t, p) in out.prices.iter().enumerate() {
            assert_eq!(*p, 87_500.0 * (0.0013 * t as f64).exp(), "{m:?} day {t}");
        }
        assert!(out.vol.iter().all(|v| *v == 0.0));
    }
}

#[test]
fn the_same_stream_gives_the_same_path_and_another_stream_another() {
    for (name, m) in models() {
        let (mut a, mut b, mut c) = (SimPath::default(), SimPath::default(), SimPath::default());
        m.simulate(100.0, 365, &mut ChaCha8Rng::seed_from_u64(42), &mut a);
        m.simulate(100.0, 365, &mut ChaCha8Rng::seed_from_u64(42), &mut b);
        m.simulate(100.0, 365, &mut ChaCha8Rng::seed_from_u64(43), &mut c);
        assert_eq!(a, b, "{name}");
        assert_ne!(a.prices, c.prices, "{name}");
        assert_eq!((a.prices.len(), a.vol.len()), (366, 366), "{name}");
        assert_eq!(a.prices[0], 100.0, "{name}");
    }
}

#[test]
fn buffers_are_reused_without_reallocating() {
    let (_, m) = models().remove(2);
    let mut out = SimPath::with_days(365);
    let (p, v) = (out.prices.as_ptr(), out.vol.as_ptr());
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for _ in 0..10 {
        m.simulate(1.0, 365, &mut rng, &mut out);
    }
    assert_eq!((out.prices.as_ptr(), out.vol.as_ptr()), (p, v));
}

/// 20,000 paths x 365 days per model: the sample mean and variance of ln(P_T / P_0) against
/// `terminal_log_moments`. Tolerance: 4 standard errors, `sqrt(s^2 / n)` for the mean and
/// `sqrt((m4 - s^4) / n)` for the variance (m4 the sample fourth central moment).
#[test]
fn terminal_log_moments_match_20_000_simulated_paths_within_4_standard_errors() {
    const PATHS: u64 = 20_000;
    const DAYS: usize = 365;
    for (name, m) in models() {
        let mut out = SimPath::with_days(DAYS);
        let x: Vec<f64> = (0..PATHS)
            .map(|i| {
                m.simulate(1.0, DAYS, &mut ChaCha8Rng::seed_from_u64(i), &mut out);
                out.prices[DAYS].ln()
            })
            .collect();
        let (mean, var, m4) = sample_moments(&x);
        let n = PATHS as f64;
        let (se_mean, se_var) = ((var / n).sqrt(), ((m4 - var * var) / n).sqrt());
        let (em, ev) = m.terminal_log_moments(DAYS);
        eprintln!(
            "{name}: mean {mean:.5} vs {em:.5} (se {se_mean:.5}); variance {var:.5} vs {ev:.5} (se {se_var:.5})"
        );
        assert_abs_diff_eq!(mean, em, epsilon = 4.0 * se_mean);
        assert_abs_diff_eq!(var, ev, epsilon = 4.0 * se_var);
    }
}

/// The move over a 4-hour window (w = 1/6): 200,000 draws against N(mu w, vol^2 w) plus, for
/// Merton, compound-Poisson jumps; 4 standard errors.
#[test]
fn window_moves_have_the_diffusion_and_jump_moments_of_the_window() {
    const N: usize = 200_000;
    let w = 1.0 / 6.0;
    for (name, m) in models() {
        let vol = 0.05;
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let x: Vec<f64> = (0..N).map(|_| m.window_move(vol, w, &mut rng)).collect();
        let (mean, var, m4) = sample_moments(&x);
        let (mut em, mut ev) = (m.mu() * w, vol * vol * w);
        if let PriceModel::Merton(j) = &m {
            em += j.lambda * w * j.jump_mean;
            ev += j.lambda * w * (j.jump_sd.powi(2) + j.jump_mean.powi(2));
        }
        let n = N as f64;
        assert_abs_diff_eq!(mean, em, epsilon = 4.0 * (var / n).sqrt());
        assert_abs_diff_eq!(var, ev, epsilon = 4.0 * ((m4 - var * var) / n).sqrt());
        eprintln!("{name}: window mean {mean:.6} vs {em:.6}, variance {var:.7} vs {ev:.7}");
    }
}

#[test]
fn garch_paths_report_the_conditional_volatility_of_each_day() {
    let (_, m) = models().remove(2);
    let PriceModel::GarchT(g) = m else {
        unreachable!()
    };
    let mut out = SimPath::default();
    m.simulate(1.0, 50, &mut ChaCha8Rng::seed_from_u64(3), &mut out);
    assert_eq!(out.vol[0], g.unconditional_variance().sqrt());
    assert_eq!(out.vol[1], out.vol[0]);
    // vol[t + 1]^2 = omega + alpha e_t^2 + beta vol[t]^2, e_t = r_t - mu.
    for t in 1..50 {
        let e = (out.prices[t] / out.prices[t - 1]).ln() - g.mu;
        let h = g.omega + g.alpha * e * e + g.beta * out.vol[t].powi(2);
        assert_abs_diff_eq!(out.vol[t + 1].powi(2), h, epsilon = 1e-12);
    }
}

/// GBM fitted to 5,000 simulated days: within 4 standard errors (`sigma / sqrt n` for mu,
/// `sigma / sqrt(2 n)` for sigma).
#[test]
fn fitting_a_simulated_gbm_recovers_its_parameters() {
    let truth = Gbm {
        mu: 0.001,
        sigma: 0.03,
    };
    let r = returns_of(&PriceModel::Gbm(truth), 5000, 11);
    let (g, _) = Gbm::fit(&r);
    let n = r.len() as f64;
    assert_abs_diff_eq!(g.mu, truth.mu, epsilon = 4.0 * truth.sigma / n.sqrt());
    assert_abs_diff_eq!(
        g.sigma,
        truth.sigma,
        epsilon = 4.0 * truth.sigma / (2.0 * n).sqrt()
    );
}

/// GARCH-t fitted to 10,000 simulated days: each of mu, alpha, beta, nu within 4 standard errors
/// of the truth, the standard errors from the observed information (numerical Hessian of the
/// variance-targeted log-likelihood at the estimate). The unconditional variance is targeted at
/// the sample variance: within 10%.
#[test]
fn fitting_a_simulated_garch_t_recovers_its_parameters() {
    let truth = GarchT::targeted(0.001, 0.0009, 0.10, 0.85, 5.0);
    let r = returns_of(&PriceModel::GarchT(truth), 10_000, 12);
    let fit = fit_garch_t(&r).unwrap();
    let g = fit.model;
    let se = garch_standard_errors(&r, &g);
    eprintln!("fitted {g:?}, standard errors {se:?}");
    for (name, got, want, se) in [
        ("mu", g.mu, truth.mu, se[0]),
        ("alpha", g.alpha, truth.alpha, se[1]),
        ("beta", g.beta, truth.beta, se[2]),
        ("nu", g.nu, truth.nu, se[3]),
    ] {
        assert!(se > 0.0 && se.is_finite(), "{name}: se {se}");
        assert!(
            (got - want).abs() <= 4.0 * se,
            "{name}: fitted {got}, true {want}, 4 se = {}",
            4.0 * se
        );
    }
    let rel = g.unconditional_variance() / truth.unconditional_variance() - 1.0;
    assert!(rel.abs() < 0.10, "unconditional variance off by {rel}");
    assert!(fit.unrestricted_log_likelihood >= fit.log_likelihood - 1e-6);
}

/// Standard errors of (mu, alpha, beta, nu) under variance targeting: the square roots of the
/// diagonal of the inverse of minus the numerical Hessian.
fn garch_standard_errors(r: &[f64], g: &GarchT) -> [f64; 4] {
    let n = r.len() as f64;
    let mean = r.iter().sum::<f64>() / n;
    let var = r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let ll = |t: &[f64; 4]| GarchT::targeted(t[0], var, t[1], t[2], t[3]).log_likelihood(r);
    let x = [g.mu, g.alpha, g.beta, g.nu];
    let h: Vec<f64> = x.iter().map(|v| 1e-4 * v.abs().max(1e-2)).collect();
    let mut info = [[0.0; 4]; 4];
    for i in 0..4 {
        for j in 0..4 {
            let at = |di: f64, dj: f64| {
                let mut t = x;
                t[i] += di * h[i];
                t[j] += dj * h[j];
                ll(&t)
            };
            let d2 = (at(1.0, 1.0) - at(1.0, -1.0) - at(-1.0, 1.0) + at(-1.0, -1.0))
                / (4.0 * h[i] * h[j]);
            info[i][j] = -d2;
        }
    }
    let inv = invert4(info);
    [0, 1, 2, 3].map(|i| inv[i][i].sqrt())
}

/// Gauss-Jordan inverse of a 4 x 4 matrix (with partial pivoting).
fn invert4(m: [[f64; 4]; 4]) -> [[f64; 4]; 4] {
    let mut a = m;
    let mut inv = [[0.0; 4]; 4];
    for (i, row) in inv.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for c in 0..4 {
        let p = (c..4)
            .max_by(|x, y| a[*x][c].abs().total_cmp(&a[*y][c].abs()))
            .unwrap_or(c);
        a.swap(c, p);
        inv.swap(c, p);
        let d = a[c][c];
        for k in 0..4 {
            a[c][k] /= d;
            inv[c][k] /= d;
        }
        for r in 0..4 {
            if r != c {
                let f = a[r][c];
                for k in 0..4 {
                    a[r][k] -= f * a[c][k];
                    inv[r][k] -= f * inv[c][k];
                }
            }
        }
    }
    inv
}

#[test]
fn the_block_length_rule_gives_one_day_for_noise_and_long_blocks_for_clustering() {
    let noise = returns_of(
        &PriceModel::Gbm(Gbm {
            mu: 0.0,
            sigma: 0.03,
        }),
        5000,
        2,
    );
    assert!(politis_white(&noise) < 2.0, "{}", politis_white(&noise));
    // An AR(1) with coefficient 0.8: long blocks.
    let mut x = vec![0.0; 5000];
    for t in 1..x.len() {
        x[t] = 0.8 * x[t - 1] + noise[t];
    }
    assert!(politis_white(&x) > 10.0, "{}", politis_white(&x));
}

#[test]
fn round6_keeps_six_significant_digits() {
    assert_eq!(round6(0.000_027_291_56), 0.000_027_291_6);
    assert_eq!(round6(0.859_934_49), 0.859_934);
    assert_eq!(round6(-0.020_000_04), -0.02);
    assert_eq!(round6(0.0), 0.0);
}

const GBM_FILE: &str = r#"id: btc-gbm
version: 1.0.0
title: "test"
fitted_from:
  prices: "btc-usd-daily.csv"
  sha256: c72660037761a50cece0187606c89102e1d5b4f54dd508884b568709b13683f7
  date_column: "date"
  price_column: "price_usd"
  since: 2012-01-01
  until: 2012-01-11
  observations: 10
  method: "closed form"
  log_likelihood: 12.5
model:
  gbm:
    mu:
      value: 0.001
      source: "fitted"
    sigma:
      value: 0.04
      source: "fitted"
"#;

#[test]
fn a_model_file_reads_and_writes_back_the_same_model() {
    let m = ModelFile::from_bytes(Path::new("m.yaml"), GBM_FILE.as_bytes()).unwrap();
    assert_eq!(m.name(), "btc-gbm@1.0.0");
    assert_eq!(
        m.spec,
        Spec::Gbm(Gbm {
            mu: 0.001,
            sigma: 0.04
        })
    );
    assert_eq!(m.params[1].location, Some((20, 14)));
    let again = ModelFile::from_bytes(Path::new("m.yaml"), m.to_yaml().as_bytes()).unwrap();
    assert_eq!(again.spec, m.spec);
    assert_eq!(again.fitted_from, m.fitted_from);
    assert_eq!(again.to_yaml(), m.to_yaml());
}

/// The message reading `text` as `m.yaml` gives.
fn error_of(text: &str) -> String {
    ModelFile::from_bytes(Path::new("m.yaml"), text.as_bytes())
        .unwrap_err()
        .to_string()
}

#[test]
fn an_unknown_field_is_a_located_error_naming_the_expected_fields() {
    let e = error_of(&GBM_FILE.replace("    sigma:", "    sigmaa:"));
    assert!(
        e.starts_with("m.yaml:19:5: unknown field `sigmaa`, expected"),
        "{e}"
    );
}

#[test]
fn a_value_out_of_range_is_an_error_at_its_line_and_column() {
    assert_eq!(
        error_of(&GBM_FILE.replace("value: 0.04", "value: -0.04")),
        "m.yaml:20:14: model.gbm.sigma: -0.04 is out of range: it must be from 0 to 1 (absrate's limit on a daily log return, docs/reliability.md)"
    );
    assert_eq!(
        error_of(&GBM_FILE.replace("value: 0.04", "value: 2.5")),
        "m.yaml:20:14: model.gbm.sigma: 2.5 is out of range: it must be from 0 to 1 (absrate's limit on a daily log return, docs/reliability.md)"
    );
    assert_eq!(
        error_of(&GBM_FILE.replace("observations: 10", "observations: 11")),
        "m.yaml:11:17: fitted_from.observations: 10 daily returns from 2012-01-01 to 2012-01-11, but observations says 11"
    );
}

#[test]
fn a_garch_file_whose_persistence_reaches_one_is_refused() {
    let head = &GBM_FILE[..GBM_FILE.find("model:").unwrap()];
    let text = head.to_string()
        + r#"model:
  garch-t:
    start_variance: unconditional
    mu: { value: 0.001, source: "s" }
    omega: { value: 0.00001, source: "s" }
    alpha: { value: 0.2, source: "s" }
    beta: { value: 0.8, source: "s" }
    nu: { value: 4, source: "s" }
"#;
    assert_eq!(
        error_of(&text),
        "m.yaml:20:20: model.garch-t.beta: alpha + beta = 1 must be below 1 (a finite unconditional variance)"
    );
}

#[test]
fn every_built_in_model_loads_with_its_published_sha256() {
    let entries = lookup::builtin_entries();
    let names: Vec<String> = entries.iter().map(ModelEntry::name).collect();
    assert_eq!(
        names,
        [
            "btc-bootstrap@1.0.0",
            "btc-garch-t@1.0.0",
            "btc-gbm@1.0.0",
            "btc-merton@1.0.0"
        ]
    );
    let lookup = ModelLookup::new(None, Path::new("/"));
    for e in entries {
        let f = lookup.file(&e.name()).unwrap();
        assert_eq!(f.name(), e.name());
        assert_eq!(f.path, e.path);
        let lock = crate::methodology::builtin_files(&e.key()).unwrap();
        assert_eq!(lock.len(), 1);
        assert_eq!(f.sha256, lock[0].2);
    }
}

#[test]
fn the_repository_models_are_the_published_ones() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("methodology");
    let lookup = ModelLookup::new(Some(&dir), Path::new("/"));
    for id in ["btc-gbm", "btc-merton", "btc-garch-t", "btc-bootstrap"] {
        let f = lookup.file(id).unwrap();
        assert!(f.path.starts_with(&dir), "{}", f.path.display());
        assert_eq!(f.id, id);
    }
}

/// The note on a GARCH-t whose variance process has no finite variance: from nu <= 4 (no fourth
/// moment), from `beta^2 + 2 alpha beta + kappa alpha^2 >= 1` with kappa finite, and none when
/// that sum is below 1.
#[test]
fn a_garch_t_whose_variance_has_no_finite_variance_is_noted() {
    let g = |alpha: f64, beta: f64, nu: f64| GarchT {
        mu: 0.0,
        omega: 1e-5,
        alpha,
        beta,
        nu,
        start: StartVariance::Unconditional,
    };
    let published = fit::garch_variance_note(&g(0.123741, 0.859934, 3.46909)).unwrap();
    assert!(published.starts_with("nu = 3.47 <= 4, "), "{published}");
    // nu 5: kappa = 3 x 3 / 1 = 9; 0.78^2 + 2 x 0.2 x 0.78 + 9 x 0.04 = 1.2804.
    let kurtotic = fit::garch_variance_note(&g(0.2, 0.78, 5.0)).unwrap();
    assert!(
        kurtotic.starts_with("beta^2 + 2 alpha beta + kappa alpha^2 = 1.2804 >= 1 (kappa = 9.0000"),
        "{kurtotic}"
    );
    // nu 10: kappa = 3 x 8 / 6 = 4; 0.81 + 0.09 + 0.01 = 0.91.
    assert_eq!(fit::garch_variance_note(&g(0.05, 0.9, 10.0)), None);
}
