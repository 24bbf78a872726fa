//! Stressed BTC price paths: a fall to a trough over a number of days, in a given shape, then flat
//! at the trough to the end of the horizon.
//!
//! A shape is a function `s(u)` on `u = day / days_to_trough` in [0, 1] with `s(1) = 1`: the
//! price on day `t <= days_to_trough` is `start x (1 - trough x s(t / days_to_trough))`.
//! Historical shapes are tables of `(u, s)` points computed from a real episode (see
//! [`shape_of`]) and scaled to the level's trough and time to trough; between points the shape is
//! linear. A historical shape may rise above the start (`s < 0`) or bounce on the way down.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// `s(u) = u`.
    Linear,
    /// `s(u) = 1 - (1 - u)^3`: seven eighths of the fall in the first half of the time.
    FrontLoaded,
    /// A named historical shape: `(u, s)` points, `u` rising from 0 to 1, `s(0) = 0`, `s(1) = 1`.
    Points {
        name: String,
        points: Vec<(f64, f64)>,
    },
}

impl Shape {
    pub fn name(&self) -> &str {
        match self {
            Shape::Linear => "linear",
            Shape::FrontLoaded => "front_loaded",
            Shape::Points { name, .. } => name,
        }
    }

    /// Share of the trough reached at `u` (clamped to [0, 1]).
    pub fn at(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        match self {
            Shape::Linear => u,
            Shape::FrontLoaded => 1.0 - (1.0 - u).powi(3),
            Shape::Points { points, .. } => {
                let k = points.partition_point(|(pu, _)| *pu <= u);
                if k == 0 {
                    return points.first().map_or(u, |p| p.1);
                }
                if k == points.len() {
                    return points[k - 1].1;
                }
                let ((u0, s0), (u1, s1)) = (points[k - 1], points[k]);
                if u1 > u0 {
                    s0 + (s1 - s0) * (u - u0) / (u1 - u0)
                } else {
                    s1
                }
            }
        }
    }
}

/// A stressed path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathSpec {
    /// Fall from the start price to the trough, as a share (0.58 for -58%).
    pub trough: f64,
    pub days_to_trough: u32,
    /// Days the path covers after day 0.
    pub horizon_days: u32,
    pub shape: Shape,
}

impl PathSpec {
    /// Daily prices from `start` on day 0 to day `horizon_days`.
    pub fn prices(&self, start: f64) -> Vec<f64> {
        let t_trough = f64::from(self.days_to_trough.max(1));
        (0..=self.horizon_days)
            .map(|t| {
                let u = f64::from(t) / t_trough;
                start * (1.0 - self.trough * self.shape.at(u))
            })
            .collect()
    }
}

/// The shape of a real fall: `prices` from the episode's start to its end, sampled every
/// `step_days` days and at the lowest price (which becomes `u = 1`). `None` when the episode
/// never falls below its start.
pub fn shape_of(prices: &[f64], step_days: usize) -> Option<Vec<(f64, f64)>> {
    let start = *prices.first()?;
    let (low_day, low) = prices
        .iter()
        .copied()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))?;
    if low >= start || low_day == 0 {
        return None;
    }
    let fall = start - low;
    let mut days: Vec<usize> = (0..low_day).step_by(step_days.max(1)).collect();
    days.push(low_day);
    Some(
        days.into_iter()
            .map(|d| {
                let u = d as f64 / low_day as f64;
                let s = (start - prices[d]) / fall;
                ((u * 1e4).round() / 1e4, (s * 1e4).round() / 1e4)
            })
            .collect(),
    )
}
