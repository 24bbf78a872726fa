//! Backtest: the pool as of every start date in a price history, run through the next horizon
//! of real daily closes, scaled so that the start date's close is the pool's cut-off price.
//!
//! Each window is an independent run of the liquidation engine (range-minimum crossings), so the
//! windows run in parallel; results come back in date order and do not depend on the number of
//! threads. Loans stay exposed for the whole horizon (maturities roll over, as in `replay`).

use chrono::NaiveDate;
use rayon::prelude::*;
use serde::Serialize;

use super::liquidation::{self, End, MarketLoan, MarketParams, Minima};

/// One start date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    pub start: NaiveDate,
    /// Deepest close within the horizon, as a fall from the start's close.
    pub trough: f64,
    pub trough_date: NaiveDate,
    pub loans_liquidated: u64,
    /// Liquidated loans / loans.
    pub liquidated_share: f64,
    pub liquidated_balance: f64,
    pub losses: f64,
    /// Losses / pool balance.
    pub loss_share: f64,
}

/// Distribution of a window figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quantiles {
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Quantiles {
    fn of(mut v: Vec<f64>) -> Quantiles {
        v.sort_by(f64::total_cmp);
        let q = |p: f64| {
            if v.is_empty() {
                return 0.0;
            }
            let i = ((v.len() - 1) as f64 * p).round() as usize;
            v[i]
        };
        Quantiles {
            p50: q(0.50),
            p90: q(0.90),
            p95: q(0.95),
            p99: q(0.99),
            max: q(1.0),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Backtest {
    pub horizon_days: u32,
    pub first_start: NaiveDate,
    pub last_start: NaiveDate,
    pub windows: usize,
    pub liquidated_share: Quantiles,
    pub loss_share: Quantiles,
    pub trough: Quantiles,
    /// The windows with the largest losses, then the largest liquidated share.
    pub worst_by_loss: Vec<Window>,
    /// The windows with the deepest falls.
    pub worst_by_trough: Vec<Window>,
    #[serde(skip)]
    pub all: Vec<Window>,
}

/// Which windows to run and how to report them.
#[derive(Debug, Clone, PartialEq)]
pub struct Windows {
    /// The first start date (earlier dates in the price file are skipped).
    pub first_start: NaiveDate,
    pub horizon_days: u32,
    /// The pool's cut-off price: each start date's close is scaled to it.
    pub start_price: f64,
    /// How many windows to list among the worst.
    pub worst: usize,
}

/// Runs every start date from `w.first_start` with a full horizon left in `prices` (daily closes
/// from `first`). `loans` are as at the cut-off.
pub fn backtest(
    loans: &[MarketLoan],
    prices: &[f64],
    first: NaiveDate,
    w: &Windows,
    p: &MarketParams,
) -> Result<Backtest, String> {
    let (first_start, horizon_days, start_price, worst) =
        (w.first_start, w.horizon_days, w.start_price, w.worst);
    let h = horizon_days as usize;
    let from = (first_start - first).num_days().max(0) as usize;
    if h == 0 || prices.len() < h + 1 || from + h >= prices.len() {
        return Err(format!(
            "the price file ({} to {}) has no {}-day window starting on or after {}",
            first,
            first + chrono::Duration::days(prices.len() as i64 - 1),
            horizon_days,
            first_start.max(first)
        ));
    }
    let balance: f64 = loans.iter().map(|l| l.balance).sum();
    let exposed: Vec<MarketLoan> = loans
        .iter()
        .map(|l| MarketLoan {
            maturity_day: u32::MAX,
            ..l.clone()
        })
        .collect();
    let starts: Vec<usize> = (from..prices.len() - h).collect();
    let all: Vec<Window> = starts
        .par_iter()
        .map(|&i| {
            let scale = start_price / prices[i];
            let path: Vec<f64> = prices[i..=i + h].iter().map(|x| x * scale).collect();
            let (low_day, low) = path
                .iter()
                .copied()
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
                .unwrap_or((0, start_price));
            let outcomes = liquidation::run_on(&exposed, &Minima::new(&path), p);
            let (mut n, mut sold, mut lost) = (0u64, 0.0, 0.0);
            for o in &outcomes {
                if let End::Liquidated(s) = o.end {
                    n += 1;
                    sold += s.balance;
                    lost += s.loss;
                }
            }
            let start = first + chrono::Duration::days(i as i64);
            Window {
                start,
                trough: 1.0 - low / start_price,
                trough_date: start + chrono::Duration::days(low_day as i64),
                loans_liquidated: n,
                liquidated_share: n as f64 / loans.len().max(1) as f64,
                liquidated_balance: sold,
                losses: lost,
                loss_share: if balance > 0.0 { lost / balance } else { 0.0 },
            }
        })
        .collect();
    let pick = |key: &dyn Fn(&Window) -> (f64, f64)| {
        let mut v = all.clone();
        v.sort_by(|a, b| {
            let (ka, kb) = (key(a), key(b));
            kb.0.total_cmp(&ka.0)
                .then(kb.1.total_cmp(&ka.1))
                .then(a.start.cmp(&b.start))
        });
        // One window per episode: skip starts within a horizon of one already listed.
        let mut out: Vec<Window> = Vec::new();
        for w in v {
            if out.len() == worst {
                break;
            }
            if out
                .iter()
                .all(|o| (o.start - w.start).num_days().unsigned_abs() > u64::from(horizon_days))
            {
                out.push(w);
            }
        }
        out
    };
    Ok(Backtest {
        horizon_days,
        first_start: all.first().map_or(first, |w| w.start),
        last_start: all.last().map_or(first, |w| w.start),
        windows: all.len(),
        liquidated_share: Quantiles::of(all.iter().map(|w| w.liquidated_share).collect()),
        loss_share: Quantiles::of(all.iter().map(|w| w.loss_share).collect()),
        trough: Quantiles::of(all.iter().map(|w| w.trough).collect()),
        worst_by_loss: pick(&|w| (w.losses, w.liquidated_share)),
        worst_by_trough: pick(&|w| (w.trough, 0.0)),
        all,
    })
}
