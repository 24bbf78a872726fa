//! The path-driven fields of each rating level at the level's exceedance probability, from a
//! price model's simulated years (and, where the history is deep enough, from its one-year
//! windows). Pure `f64`; the caller turns the figures into a methodology file.
//!
//! Per simulated path (its own ChaCha8 stream: seed, stream = path index, exactly as
//! `absrate simulate` draws it: the model's daily closes, then one execution-window move per day):
//! - the **fall**: `1 - min_t P_t / P_0` over the horizon, the depth a level's `btc_trough` states
//!   (a fall from the cut-off price, not a peak-to-trough drawdown), and the day of that low;
//! - the **gap**: the deepest execution-window move of the horizon, `1 - exp(min_d X_d)`, the
//!   discount below its trigger of the worst-placed sale of the year.
//!
//! A level's value is the one exceeded with the level's probability `p`. Where `p` leaves at least
//! the tail share of paths beyond it, the empirical quantile is used; deeper in the tail, a
//! generalized Pareto distribution fitted by maximum likelihood to the exceedances of
//! `-ln(1 - value)` over the tail-share quantile extrapolates it.
//! Finally every value is at least as deep as the next milder level's (the ladder's envelope).

use rayon::prelude::*;

use crate::price::{PriceModel, SimPath};

/// What a calibration simulates and how it reads the tail.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    pub paths: u64,
    pub seed: u64,
    pub horizon_days: usize,
    /// The execution window, in days (1 hour = 1/24).
    pub window_days: f64,
    /// Share of paths above the threshold of the tail fit; levels with a larger probability read
    /// the empirical quantile.
    pub tail_share: f64,
    /// Paths around a level's quantile whose times to the low and profiles give the level's
    /// `days_to_trough` and shape.
    pub band_paths: usize,
}

/// One simulated year.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PathStats {
    /// `1 - min P_t / P_0`, in [0, 1).
    pub fall: f64,
    /// The day of the low (0 when the path never falls below its start).
    pub day: u32,
    /// `1 - exp(min_d X_d)` over the window moves of the horizon (0 when none is negative).
    pub gap: f64,
}

/// How a level's value was read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Read {
    /// The `rank`-th largest of the simulated values.
    Empirical { rank: usize },
    /// A generalized Pareto tail over `threshold` (the tail-share quantile), shape `xi`, scale
    /// `sigma` (maximum likelihood), on the log scale `-ln(1 - value)`.
    Tail {
        threshold: f64,
        xi: f64,
        sigma: f64,
        exceedances: usize,
    },
}

/// One level's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelFigures {
    pub probability: f64,
    /// The model's fall at `probability`, and how it was read.
    pub model_fall: f64,
    pub fall_read: Read,
    /// The historical fall at `probability` where the history is deep enough.
    pub history_fall: Option<f64>,
    /// The level's trough: the deepest of the model's, the history's and the next milder
    /// level's.
    pub trough: f64,
    /// The median day of the low of the band's paths (`band_days`), or the next milder level's
    /// when that is shorter.
    pub days_to_trough: u32,
    pub band_days: u32,
    /// `[u, s]` points, `u` the share of the time to the low, `s` the share of the fall reached
    /// (pointwise median of the band's paths).
    pub shape: Vec<[f64; 2]>,
    pub model_gap: f64,
    pub gap_read: Read,
    /// The level's gap: the deeper of the model's and the next milder level's.
    pub gap: f64,
    /// The ranks (1 = deepest fall) of the paths whose time and profile were read.
    pub band: (usize, usize),
}

/// Points of a level's shape: u = 0, 0.05, ..., 1.
pub const SHAPE_POINTS: usize = 21;

/// Path `index` as `absrate simulate` draws it (closes from 1), into `path` and `gaps` (each
/// day's discount below a trigger).
fn draw(model: &PriceModel, s: &Settings, index: u64, path: &mut SimPath, gaps: &mut Vec<f64>) {
    crate::simulate::draw_path(
        model,
        1.0,
        s.horizon_days,
        s.window_days,
        (s.seed, index),
        path,
        gaps,
    );
    for x in gaps.iter_mut() {
        *x = crate::simulate::gap(*x);
    }
}

fn stats_of(path: &SimPath, gaps: &[f64]) -> PathStats {
    let (day, low) = path
        .prices
        .iter()
        .enumerate()
        .fold(
            (0usize, 1.0f64),
            |(d, m), (t, p)| {
                if *p < m { (t, *p) } else { (d, m) }
            },
        );
    PathStats {
        fall: 1.0 - low,
        day: day as u32,
        gap: gaps.iter().copied().fold(0.0, f64::max),
    }
}

/// Every path's statistics, in path order (the same whatever the thread count).
pub fn simulate(model: &PriceModel, s: &Settings) -> Vec<PathStats> {
    (0..s.paths)
        .into_par_iter()
        .map_init(
            || (SimPath::with_days(s.horizon_days), Vec::new()),
            |(path, gaps), i| {
                draw(model, s, i, path, gaps);
                stats_of(path, gaps)
            },
        )
        .collect()
}

/// `-ln(1 - x)`: the log scale the tail is fitted on (unbounded as a fall nears 100%).
fn to_log(x: f64) -> f64 {
    -(1.0 - x).max(f64::MIN_POSITIVE).ln()
}

fn from_log(y: f64) -> f64 {
    1.0 - (-y).exp()
}

/// Generalized Pareto shape and scale of exceedances by maximum likelihood (argmin's
/// Nelder-Mead over `xi` and `ln sigma`, started at the probability-weighted-moments estimate,
/// which is consistent only for `xi < 1/2`); `None` with fewer than 10 exceedances.
pub fn gpd_mle(exceedances: &[f64]) -> Option<(f64, f64)> {
    let (xi0, sigma0) = gpd_pwm_sorted(exceedances)?;
    let nll = |p: &[f64]| -> f64 {
        let (xi, sigma) = (p[0], p[1].exp());
        let n = exceedances.len() as f64;
        if xi.abs() < 1e-9 {
            return n * sigma.ln() + exceedances.iter().sum::<f64>() / sigma;
        }
        let mut s = 0.0;
        for y in exceedances {
            let z = 1.0 + xi * y / sigma;
            if z <= 0.0 {
                return f64::INFINITY;
            }
            s += z.ln();
        }
        n * sigma.ln() + (1.0 + 1.0 / xi) * s
    };
    let (p, _) = crate::price::fit::minimize(
        "generalized Pareto tail",
        nll,
        vec![xi0.clamp(-0.4, 0.9), sigma0.max(1e-12).ln()],
        &[0.05, 0.1],
    )
    .ok()?;
    Some((p[0], p[1].exp()))
}

fn gpd_pwm_sorted(exceedances: &[f64]) -> Option<(f64, f64)> {
    let mut asc = exceedances.to_vec();
    asc.sort_by(f64::total_cmp);
    gpd_pwm(&asc)
}

/// Generalized Pareto shape and scale of exceedances by probability-weighted moments
/// (Hosking & Wallis 1987): with `a0 = mean`, `a1 = mean of (1 - p_j) y_(j)`, `p_j = (j - 0.35)
/// / n` over the ascending exceedances, `k = a0 / (a0 - 2 a1) - 2`, `sigma = 2 a0 a1 / (a0 - 2
/// a1)`, `xi = -k`.
pub fn gpd_pwm(exceedances_ascending: &[f64]) -> Option<(f64, f64)> {
    let n = exceedances_ascending.len();
    if n < 10 {
        return None;
    }
    let nf = n as f64;
    let a0 = exceedances_ascending.iter().sum::<f64>() / nf;
    let a1 = exceedances_ascending
        .iter()
        .enumerate()
        .map(|(j, y)| (1.0 - (j as f64 + 1.0 - 0.35) / nf) * y)
        .sum::<f64>()
        / nf;
    let d = a0 - 2.0 * a1;
    if d <= 0.0 || a0 <= 0.0 {
        return None;
    }
    let k = a0 / d - 2.0;
    let sigma = 2.0 * a0 * a1 / d;
    Some((-k, sigma))
}

/// The value exceeded with probability `p` among `values` (any order): the empirical quantile
/// while `p` is at least `tail_share`, else the tail fit's.
pub fn quantile(values: &[f64], p: f64, tail_share: f64) -> (f64, Read) {
    let mut desc: Vec<f64> = values.to_vec();
    desc.sort_by(|a, b| b.total_cmp(a));
    let n = desc.len();
    let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
    let empirical = (desc[rank - 1], Read::Empirical { rank });
    if p >= tail_share {
        return empirical;
    }
    let k = ((tail_share * n as f64).round() as usize).clamp(1, n);
    let u = to_log(desc[k - 1]);
    let mut exc: Vec<f64> = desc[..k - 1].iter().map(|x| to_log(*x) - u).collect();
    exc.reverse();
    let Some((xi, sigma)) = gpd_mle(&exc) else {
        return empirical;
    };
    let ratio = p / tail_share;
    let y = if xi.abs() < 1e-9 {
        u - sigma * ratio.ln()
    } else {
        u + sigma / xi * (ratio.powf(-xi) - 1.0)
    };
    (
        from_log(y),
        Read::Tail {
            threshold: from_log(u),
            xi,
            sigma,
            exceedances: exc.len(),
        },
    )
}

/// The historical falls of every one-year window: for each start, `1 - min P / P_start` over
/// the next `horizon_days` closes.
pub fn history_falls(prices: &[f64], horizon_days: usize) -> Vec<f64> {
    if prices.len() <= horizon_days {
        return Vec::new();
    }
    (0..prices.len() - horizon_days)
        .map(|i| {
            let w = &prices[i..=i + horizon_days];
            let low = w.iter().copied().fold(f64::INFINITY, f64::min);
            1.0 - low / w[0]
        })
        .collect()
}

/// The historical fall exceeded with probability `p` when the history holds at least `1 / p`
/// years of window starts (a one-in-`1/p`-years event has been seen at least once); else `None`.
pub fn history_quantile(falls: &[f64], p: f64, horizon_days: usize) -> Option<f64> {
    let years = falls.len() as f64 / horizon_days as f64;
    if falls.is_empty() || p * years < 1.0 {
        return None;
    }
    let mut desc = falls.to_vec();
    desc.sort_by(|a, b| b.total_cmp(a));
    let rank = ((p * desc.len() as f64).ceil() as usize).clamp(1, desc.len());
    Some(desc[rank - 1])
}

/// The shape of one path from its start to its low: `s(u) = (1 - P(u T)) / fall` at
/// [`SHAPE_POINTS`] points, linear between days.
fn profile(prices: &[f64], day: u32, fall: f64) -> [f64; SHAPE_POINTS] {
    let mut out = [0.0; SHAPE_POINTS];
    for (j, o) in out.iter_mut().enumerate() {
        let u = j as f64 / (SHAPE_POINTS - 1) as f64;
        let t = u * day as f64;
        let (i, f) = (t.floor() as usize, t - t.floor());
        let p = if i + 1 < prices.len() {
            prices[i] * (1.0 - f) + prices[i + 1] * f
        } else {
            prices[i.min(prices.len() - 1)]
        };
        *o = if fall > 0.0 { (1.0 - p) / fall } else { u };
    }
    out[0] = 0.0;
    out[SHAPE_POINTS - 1] = 1.0;
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return 0.0;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The figures of each level, `probabilities` in any order (each level's probability, the
/// result in the same order). `history` is the daily closes of the price file, if any.
pub fn ladder(
    model: &PriceModel,
    s: &Settings,
    stats: &[PathStats],
    history: Option<&[f64]>,
    probabilities: &[f64],
) -> Vec<LevelFigures> {
    let falls: Vec<f64> = stats.iter().map(|x| x.fall).collect();
    let gaps: Vec<f64> = stats.iter().map(|x| x.gap).collect();
    let hist = history
        .map(|h| history_falls(h, s.horizon_days))
        .unwrap_or_default();
    // Paths by fall, deepest first (ties by path index: deterministic).
    let mut order: Vec<usize> = (0..stats.len()).collect();
    order.sort_by(|a, b| falls[*b].total_cmp(&falls[*a]).then(a.cmp(b)));
    let n = stats.len();
    let band = s.band_paths.clamp(1, n.max(1));
    let mut out: Vec<LevelFigures> = probabilities
        .iter()
        .map(|p| {
            let (model_fall, fall_read) = quantile(&falls, *p, s.tail_share);
            let (model_gap, gap_read) = quantile(&gaps, *p, s.tail_share);
            let history_fall = history_quantile(&hist, *p, s.horizon_days);
            // The band: `band` paths centred on the quantile's rank, inside the simulated range.
            let rank = ((p * n as f64).ceil() as usize).clamp(1, n.max(1));
            let lo = rank.saturating_sub(band / 2).max(1).min(n + 1 - band);
            let hi = lo + band - 1;
            let chosen = &order[lo - 1..hi];
            let days = median(chosen.iter().map(|i| stats[*i].day as f64).collect());
            let (mut path, mut gaps) = (SimPath::with_days(s.horizon_days), Vec::new());
            let profiles: Vec<[f64; SHAPE_POINTS]> = chosen
                .iter()
                .map(|i| {
                    draw(model, s, *i as u64, &mut path, &mut gaps);
                    profile(&path.prices, stats[*i].day, stats[*i].fall)
                })
                .collect();
            let shape = (0..SHAPE_POINTS)
                .map(|j| {
                    [
                        j as f64 / (SHAPE_POINTS - 1) as f64,
                        median(profiles.iter().map(|pr| pr[j]).collect()),
                    ]
                })
                .collect();
            LevelFigures {
                probability: *p,
                model_fall,
                fall_read,
                history_fall,
                trough: model_fall.max(history_fall.unwrap_or(0.0)),
                days_to_trough: (days.round() as u32).max(1),
                band_days: (days.round() as u32).max(1),
                shape,
                model_gap,
                gap_read,
                gap: model_gap,
                band: (lo, hi),
            }
        })
        .collect();
    // The envelope: from the mildest level up, each at least as deep as the milder ones.
    let mut idx: Vec<usize> = (0..out.len()).collect();
    idx.sort_by(|a, b| probabilities[*b].total_cmp(&probabilities[*a]));
    // A shorter time to the low is the harsher (the methodology's rule): never longer upward.
    let (mut trough, mut gap, mut days) = (0.0f64, 0.0f64, u32::MAX);
    for i in idx {
        trough = trough.max(out[i].trough);
        gap = gap.max(out[i].gap);
        days = days.min(out[i].days_to_trough);
        out[i].trough = trough;
        out[i].gap = gap;
        out[i].days_to_trough = days;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::price::Gbm;

    #[test]
    fn both_fits_recover_an_exponential_tail() {
        // Exponential exceedances (xi = 0, sigma = 2) at their exact quantiles.
        let n = 4000;
        let y: Vec<f64> = (1..=n)
            .map(|j| -2.0 * (1.0 - (j as f64 - 0.5) / n as f64).ln())
            .collect();
        let (xi, sigma) = gpd_pwm(&y).unwrap();
        assert!(xi.abs() < 0.02, "{xi}");
        assert!((sigma - 2.0).abs() < 0.05, "{sigma}");
        let (xi, sigma) = gpd_mle(&y).unwrap();
        assert!(xi.abs() < 0.02, "{xi}");
        assert!((sigma - 2.0).abs() < 0.05, "{sigma}");
    }

    #[test]
    fn maximum_likelihood_recovers_a_tail_of_infinite_variance() {
        // Exact quantiles of a generalized Pareto with xi = 0.6 (infinite variance), sigma = 1.
        let n = 10_000;
        let y: Vec<f64> = (1..=n)
            .map(|j| ((1.0 - (j as f64 - 0.5) / n as f64).powf(-0.6) - 1.0) / 0.6)
            .collect();
        let (xi, sigma) = gpd_mle(&y).unwrap();
        assert!((xi - 0.6).abs() < 0.02, "{xi}");
        assert!((sigma - 1.0).abs() < 0.03, "{sigma}");
    }

    #[test]
    fn the_tail_quantile_of_an_exponential_sample_is_its_exact_quantile() {
        // -ln(1 - x) exponential with rate 1: x = 1 - exp(-E); P(x > q) = 1 - q, so the value
        // exceeded with probability p is 1 - p.
        let n = 200_000;
        let v: Vec<f64> = (1..=n)
            .map(|j| from_log(-(1.0 - (j as f64 - 0.5) / n as f64).ln()))
            .collect();
        for p in [1e-6, 1e-4, 0.003] {
            let (q, read) = quantile(&v, p, 0.05);
            assert!(matches!(read, Read::Tail { .. }));
            let exact = 1.0 - p;
            assert!(
                (to_log(q) - to_log(exact)).abs() < 0.05 * to_log(exact),
                "{p}: {q} vs {exact}"
            );
        }
        let (q, read) = quantile(&v, 0.1, 0.05);
        assert_eq!(read, Read::Empirical { rank: 20_000 });
        assert!((q - 0.9).abs() < 1e-4, "{q}");
    }

    #[test]
    fn a_zero_volatility_path_falls_only_by_its_drift() {
        let model = PriceModel::Gbm(Gbm {
            mu: -0.001,
            sigma: 0.0,
        });
        let s = Settings {
            paths: 4,
            seed: 1,
            horizon_days: 100,
            window_days: 1.0 / 24.0,
            tail_share: 0.05,
            band_paths: 2,
        };
        let stats = simulate(&model, &s);
        for x in &stats {
            assert!((x.fall - (1.0 - (-0.1f64).exp())).abs() < 1e-12);
            assert_eq!(x.day, 100);
            // The window move is the drift over an hour alone.
            assert!((x.gap - (1.0 - (-0.001f64 / 24.0).exp())).abs() < 1e-12);
        }
        let l = ladder(&model, &s, &stats, None, &[0.5]);
        // A linear fall in log terms is close to linear in price: s(1/2) a little above 1/2.
        let mid = l[0].shape[SHAPE_POINTS / 2][1];
        assert!(mid > 0.5 && mid < 0.52, "{mid}");
    }

    #[test]
    fn the_history_is_read_only_where_it_holds_one_event_of_the_level() {
        let falls: Vec<f64> = (0..3650).map(|i| i as f64 / 3650.0).collect();
        assert_eq!(history_quantile(&falls, 0.05, 365), None);
        let q = history_quantile(&falls, 0.1, 365).unwrap();
        assert!((q - 0.9).abs() < 1e-3, "{q}");
    }
}
