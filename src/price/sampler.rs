//! Fast draws from the standard normal and the unit-variance Student-t: inversion of a quantile
//! table. One 64-bit draw gives a cell (the top 14 bits, 16,384 equiprobable cells) and a
//! position in it (the next 50 bits); inside a cell the quantile function is interpolated
//! linearly between its exact values at the cell's ends, and in the two outermost cells
//! (probability 1/8,192 together) the draw is inverted exactly. So every cell has exactly its
//! probability, the tails beyond the 1/16,384 quantiles are exact, and a draw costs one random
//! word and a table read (about 4 ns, against 11 ns for rand_distr's ziggurat normal and 38 ns
//! for its Student-t on these machines: docs/price-models.md, Speed).
//!
//! The exact quantiles come from statrs (`Normal`, `StudentsT` `inverse_cdf`). A table is built
//! once per distribution (a Student-t per `nu`) and shared.

use std::sync::{Arc, LazyLock, Mutex};

use rand::Rng as _;
use rand::rngs::ChaCha8Rng;
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

const BITS: u32 = 14;
const CELLS: usize = 1 << BITS;
/// 2^-53: a 53-bit integer to [0, 1).
const UNIT: f64 = 1.0 / (1u64 << 53) as f64;
/// The smallest tail probability inverted: 2^-64, what a 64-bit draw resolves (and far inside
/// the range statrs inverts reliably).
const MIN_P: f64 = 1.0 / 18_446_744_073_709_551_616.0;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Dist {
    Normal,
    /// Student-t with `nu` degrees of freedom scaled to unit variance.
    StandardizedT {
        nu: f64,
    },
}

impl Dist {
    fn inverse_cdf(self, p: f64) -> f64 {
        // Never exactly 0 (an infinite quantile); only lower-tail probabilities come this small.
        let p = p.clamp(MIN_P, 1.0);
        match self {
            Dist::Normal => Normal::standard().inverse_cdf(p),
            Dist::StandardizedT { nu } => StudentsT::new(0.0, ((nu - 2.0) / nu).sqrt(), nu)
                .map(|t| t.inverse_cdf(p))
                .unwrap_or(f64::NAN),
        }
    }
}

/// The quantile function at the `CELLS + 1` cell ends (the two infinite ends unused).
#[derive(Debug)]
pub(super) struct QuantileTable {
    dist: Dist,
    q: Box<[f64]>,
}

impl QuantileTable {
    fn new(dist: Dist) -> QuantileTable {
        // The two infinite ends are never read (the outer cells are inverted exactly).
        let q = (0..=CELLS)
            .map(|i| match i {
                0 => f64::NEG_INFINITY,
                CELLS => f64::INFINITY,
                _ => dist.inverse_cdf(i as f64 / CELLS as f64),
            })
            .collect();
        QuantileTable { dist, q }
    }

    /// One draw.
    #[inline(always)]
    pub(super) fn sample(&self, rng: &mut ChaCha8Rng) -> f64 {
        let b = rng.next_u64();
        let i = (b >> (64 - BITS)) as usize;
        let f = ((b << BITS) >> 11) as f64 * UNIT;
        // Both distributions are symmetric: the upper cell is inverted as the mirror of the lower
        // one, so that both tails resolve tiny probabilities alike.
        if i == 0 {
            return self.dist.inverse_cdf(f / CELLS as f64);
        }
        if i == CELLS - 1 {
            return -self.dist.inverse_cdf((1.0 - f) / CELLS as f64);
        }
        let (lo, hi) = (self.q[i], self.q[i + 1]);
        lo + f * (hi - lo)
    }
}

/// The standard normal table.
pub(super) fn normal() -> &'static QuantileTable {
    static NORMAL: LazyLock<QuantileTable> = LazyLock::new(|| QuantileTable::new(Dist::Normal));
    &NORMAL
}

/// The unit-variance Student-t table for `nu` (> 2), built on first use.
pub(super) fn student_t(nu: f64) -> Arc<QuantileTable> {
    static TABLES: Mutex<Vec<Arc<QuantileTable>>> = Mutex::new(Vec::new());
    let dist = Dist::StandardizedT { nu };
    let mut tables = TABLES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(t) = tables.iter().find(|t| t.dist == dist) {
        return t.clone();
    }
    let t = Arc::new(QuantileTable::new(dist));
    tables.push(t.clone());
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Kolmogorov-Smirnov distance of 200,000 draws from the exact CDF: below the 0.1% critical
    /// value 1.95 / sqrt(n); and the sample variance within 4 standard errors of 1.
    fn check(table: &QuantileTable, cdf: impl Fn(f64) -> f64) {
        const N: usize = 200_000;
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let mut x: Vec<f64> = (0..N).map(|_| table.sample(&mut rng)).collect();
        x.sort_by(f64::total_cmp);
        let d = x
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let c = cdf(*v);
                (c - i as f64 / N as f64)
                    .abs()
                    .max((c - (i + 1) as f64 / N as f64).abs())
            })
            .fold(0.0, f64::max);
        assert!(d < 1.95 / (N as f64).sqrt(), "KS distance {d}");
        let n = N as f64;
        let mean = x.iter().sum::<f64>() / n;
        assert!(mean.abs() < 4.0 / n.sqrt(), "mean {mean}");
    }

    #[test]
    fn normal_draws_follow_the_normal_cdf() {
        let t = normal();
        check(t, |v| Normal::standard().cdf(v));
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = 400_000;
        let var = (0..n).map(|_| t.sample(&mut rng).powi(2)).sum::<f64>() / n as f64;
        // sd of a sample second moment of N(0, 1): sqrt(2 / n).
        assert!((var - 1.0).abs() < 4.0 * (2.0 / n as f64).sqrt(), "{var}");
    }

    #[test]
    fn student_t_draws_follow_the_scaled_t_cdf() {
        let nu = 3.5f64;
        let exact = StudentsT::new(0.0, ((nu - 2.0) / nu).sqrt(), nu).unwrap();
        check(&student_t(nu), |v| exact.cdf(v));
        assert!(Arc::ptr_eq(&student_t(nu), &student_t(nu)));
    }

    #[test]
    fn the_outer_cells_invert_down_to_two_to_the_minus_64() {
        for dist in [
            Dist::Normal,
            Dist::StandardizedT { nu: 3.47 },
            Dist::StandardizedT { nu: 2.1 },
        ] {
            let mut prev = f64::NEG_INFINITY;
            for k in (14..=64).rev() {
                let p = 0.5f64.powi(k);
                let q = dist.inverse_cdf(p);
                assert!(q.is_finite() && q > prev, "{dist:?} p = 2^-{k}: {q}");
                prev = q;
            }
        }
    }

    #[test]
    fn the_cell_ends_are_the_exact_quantiles_and_the_tails_are_inverted_exactly() {
        let t = normal();
        assert_eq!(t.q[CELLS / 2], 0.0);
        let p = 1.0 / CELLS as f64;
        assert_eq!(t.q[1], Normal::standard().inverse_cdf(p));
        // A draw in the first cell lies below the first interior quantile.
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let low = (0..2_000_000)
            .map(|_| t.sample(&mut rng))
            .fold(f64::INFINITY, f64::min);
        assert!(low < t.q[1], "{low}");
    }
}
