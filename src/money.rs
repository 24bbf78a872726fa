//! Money: the rounding rule, the number types the period engine computes in ([`Amount`]: exact
//! `Decimal`, or `f64` for simulation), and the display of money, BTC and rates. Values stay exact
//! `Decimal` until they are displayed; display only chooses how many places to show and groups
//! thousands.

use rust_decimal::Decimal;
use rust_decimal::RoundingStrategy as Midpoint;
use schemars::JsonSchema;
use serde::Deserialize;

mod amount;

pub use amount::{Amount, DecimalTotal, Total, round_units, snap_tolerance};

/// How money is rounded wherever a product or a ratio becomes an amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundingStrategy {
    /// Half to even (banker's rounding).
    HalfEven,
    /// Half away from zero.
    HalfUp,
    /// Toward zero (truncate).
    Down,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, JsonSchema, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rounding {
    /// Decimal places money is kept to (2 = cents).
    pub money_places: u32,
    pub strategy: RoundingStrategy,
}

impl Rounding {
    /// Rounds an amount by this rule: every place the model turns a product or a ratio into money
    /// (docs/model.md) goes through here.
    pub fn round(self, d: Decimal) -> Decimal {
        let dp = self.money_places;
        let scale = d.scale();
        if scale <= dp || d.is_zero() {
            return d.round_dp_with_strategy(dp, self.midpoint());
        }
        // rust_decimal's `round_dp_with_strategy` divides and multiplies digit group by digit
        // group (a product divided by 12 carries 28 places); one 128-bit division by 10^(scale -
        // dp) gives the same quotient and remainder. Same value, scale and sign as rust_decimal's
        // (`the_fast_rounding_is_rust_decimals`).
        self.quotient(d, 10u128.pow(scale - dp))
    }

    /// `round(d / 12)`: a month's part of an annual amount (30/360), as `docs/model.md` accrues
    /// interest and fees. The same value, scale and sign as rounding rust_decimal's quotient
    /// (`a_twelfth_is_rust_decimals`), computed with one 128-bit division where the quotient is
    /// known to keep enough digits (see below), else through rust_decimal.
    pub fn twelfth(self, d: Decimal) -> Decimal {
        let (dp, scale) = (self.money_places, d.scale());
        let m = d.mantissa().unsigned_abs();
        // With a mantissa below 2^64 and at most 25 places, rust_decimal's quotient keeps at least
        // `scale + 3` places: exact when `d / 12` ends (at most `scale + 2` places), else its
        // digits after `scale + 2` are a run of 3s or 6s cut at a nonzero digit, on the same
        // side of any midpoint as the exact value. Rounding it to `dp < scale` places is then
        // rounding the exact value.
        if scale <= dp || scale > 25 || m >= 1 << 64 || m == 0 {
            return self.round(d / Decimal::from(12));
        }
        self.quotient(d, 12 * 10u128.pow(scale - dp))
    }

    /// `d`'s mantissa divided by `p` (below 2^97), rounded by the strategy, with `d`'s sign and
    /// `money_places` places.
    fn quotient(self, d: Decimal, p: u128) -> Decimal {
        let m = d.mantissa().unsigned_abs();
        // A 64-bit division where both fit (amounts of money and their products with rates).
        let (q, r) = match (u64::try_from(m), u64::try_from(p)) {
            (Ok(m), Ok(p)) => (u128::from(m / p), u128::from(m % p)),
            _ => (m / p, m % p),
        };
        let up = match self.strategy {
            RoundingStrategy::HalfEven => 2 * r > p || (2 * r == p && q % 2 == 1),
            RoundingStrategy::HalfUp => 2 * r >= p,
            RoundingStrategy::Down => false,
        };
        let q = q + u128::from(up);
        Decimal::from_parts(
            q as u32,
            (q >> 32) as u32,
            (q >> 64) as u32,
            d.is_sign_negative(),
            self.money_places,
        )
    }

    fn midpoint(self) -> Midpoint {
        match self.strategy {
            RoundingStrategy::HalfEven => Midpoint::MidpointNearestEven,
            RoundingStrategy::HalfUp => Midpoint::MidpointAwayFromZero,
            RoundingStrategy::Down => Midpoint::ToZero,
        }
    }
}

/// Groups the integer part of a plain decimal string in thousands: `1234567.8` -> `1,234,567.8`.
fn group(s: &str) -> String {
    let (sign, rest) = s.strip_prefix('-').map(|r| ("-", r)).unwrap_or(("", s));
    let (int, frac) = rest
        .split_once('.')
        .map(|(i, f)| (i, Some(f)))
        .unwrap_or((rest, None));
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

/// `$199,100,000.00`: rounded half to even to the cent for display.
pub fn usd(d: Decimal) -> String {
    let r = d.round_dp_with_strategy(2, Midpoint::MidpointNearestEven);
    let s = format!("{r:.2}");
    match s.strip_prefix('-') {
        Some(rest) => format!("-${}", group(rest)),
        None => format!("${}", group(&s)),
    }
}

/// `$356.9M`: millions to one decimal, as presales quote pool sizes.
pub fn usd_millions(d: Decimal) -> String {
    let m = (d / Decimal::from(1_000_000)).round_dp_with_strategy(1, Midpoint::MidpointNearestEven);
    format!("${m:.1}M")
}

/// `4,078.87000000`: BTC to the satoshi.
pub fn btc(d: Decimal) -> String {
    group(&format!(
        "{:.8}",
        d.round_dp_with_strategy(8, Midpoint::MidpointNearestEven)
    ))
}

/// `55.78%` from `0.5578`.
pub fn pct(v: f64, places: usize) -> String {
    format!("{:.places$}%", v * 100.0)
}

/// `55.78%` from an exact fraction.
pub fn pct_dec(d: Decimal, places: u32) -> String {
    let p =
        (d * Decimal::ONE_HUNDRED).round_dp_with_strategy(places, Midpoint::MidpointNearestEven);
    format!("{p:.prec$}%", prec = places as usize)
}

/// A percentage, or `-` where there is none (a figure that does not apply).
pub fn pct_or_dash(d: Option<Decimal>, places: u32) -> String {
    d.map_or_else(|| "-".into(), |d| pct_dec(d, places))
}

/// `5,441`.
pub fn count(n: u64) -> String {
    group(&n.to_string())
}

/// How numbers are written in JSON outputs (`result.json`, `--format json`): one format per kind.
///
/// - money: a string with at least two decimals (`"0.00"`, `"1234.50"`), more only when the
///   methodology's money rule keeps more;
/// - rates, shares and multiples: a string with as few digits as exact (`"0.79"`, `"1"`, `"6.87"`);
/// - counts: JSON integers.
pub mod json {
    use rust_decimal::Decimal;
    use serde::Serializer;

    pub fn money_text(d: &Decimal) -> String {
        let mut d = *d;
        if d.scale() < 2 {
            d.rescale(2);
        }
        d.to_string()
    }

    pub fn rate_text(d: &Decimal) -> String {
        d.normalize().to_string()
    }

    pub fn money<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&money_text(d))
    }

    /// Money in a type generic over the engine's number type: only exact amounts are written.
    pub fn money_of<A: Copy + Into<Decimal>, S: Serializer>(
        d: &A,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&money_text(&(*d).into()))
    }

    pub fn money_vec<S: Serializer>(v: &[Decimal], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(money_text))
    }

    pub fn rate<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&rate_text(d))
    }

    pub fn rate_opt<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&rate_text(d)),
            None => s.serialize_none(),
        }
    }

    pub fn rate_vec<S: Serializer>(v: &[Decimal], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(rate_text))
    }

    /// A simulated ratio (f64) as a rate string, rounded half to even to 6 places.
    pub fn ratio<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        let d = Decimal::from_f64_retain(*x)
            .unwrap_or_default()
            .round_dp_with_strategy(6, rust_decimal::RoundingStrategy::MidpointNearestEven);
        s.serialize_str(&rate_text(&d))
    }

    #[cfg(test)]
    mod tests {
        use rust_decimal::dec;

        #[test]
        fn money_has_two_decimals_and_rates_as_few_as_exact() {
            assert_eq!(super::money_text(&dec!(0)), "0.00");
            assert_eq!(super::money_text(&dec!(1234.5)), "1234.50");
            assert_eq!(super::money_text(&dec!(0.1234)), "0.1234");
            assert_eq!(super::rate_text(&dec!(0.790)), "0.79");
            assert_eq!(super::rate_text(&dec!(1.000)), "1");
            assert_eq!(super::rate_text(&dec!(10)), "10");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::ChaCha8Rng;
    use rand::{RngExt, SeedableRng};
    use rust_decimal::dec;

    #[test]
    fn money_is_grouped_and_rounded_to_the_cent() {
        assert_eq!(usd(dec!(199100000)), "$199,100,000.00");
        assert_eq!(usd(dec!(999.995)), "$1,000.00");
        assert_eq!(usd(dec!(0.125)), "$0.12");
        assert_eq!(usd(dec!(-1234.5)), "-$1,234.50");
        assert_eq!(usd_millions(dec!(356921521.35)), "$356.9M");
    }

    /// Asserts that `fast` and `reference` give the same bits (value, scale, sign) for `d` at
    /// `dp` places under every strategy.
    fn same_bits(
        d: Decimal,
        dp: u32,
        fast: impl Fn(Rounding, Decimal) -> Decimal,
        reference: impl Fn(Rounding, Decimal) -> Decimal,
    ) {
        for strategy in [
            RoundingStrategy::HalfEven,
            RoundingStrategy::HalfUp,
            RoundingStrategy::Down,
        ] {
            let r = Rounding {
                money_places: dp,
                strategy,
            };
            let (got, want) = (fast(r, d), reference(r, d));
            assert_eq!(
                got.serialize(),
                want.serialize(),
                "{d} to {dp} places by {strategy:?}: {got} against {want}"
            );
        }
    }

    /// `Rounding::round` gives rust_decimal's `round_dp_with_strategy` to the bit (value, scale,
    /// sign) on random values of every size and scale, midpoints and negative values included.
    #[test]
    fn the_fast_rounding_is_rust_decimals() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for i in 0..300_000u32 {
            let bits = rng.random_range(1..=96u32);
            let m: u128 = rng.random::<u128>() >> (128 - bits);
            let scale = rng.random_range(0..=28u32);
            let dp = rng.random_range(0..=6u32);
            let mut d = Decimal::from_i128_with_scale(m as i128, scale);
            if i % 4 == 0 && scale > dp {
                // A midpoint: the digits after `dp` are 5000...
                let p = 10i128.pow(scale - dp);
                let q = (m as i128 / p) / 10 * 10 + i128::from(i % 8 == 0);
                d = Decimal::from_i128_with_scale(q * p + p / 2, scale);
            }
            if i % 3 == 0 {
                d.set_sign_negative(true);
            }
            same_bits(d, dp, Rounding::round, |r, d| {
                d.round_dp_with_strategy(dp, r.midpoint())
            });
        }
    }

    /// `Rounding::twelfth` gives rust_decimal's `(d / 12)` rounded, to the bit, on the products
    /// the engine divides (money x rate, up to 28 places), exact quotients and midpoints
    /// included.
    #[test]
    fn a_twelfth_is_rust_decimals() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        for i in 0..300_000u32 {
            // Mostly below 2^64 (the one-division path), some above.
            let bits = rng.random_range(1..=72u32);
            let mut m: u128 = rng.random::<u128>() >> (128 - bits);
            match i % 4 {
                // An exact quotient, and a midpoint at 2 places for scales of 4 and more.
                0 => m = m / 12 * 12,
                1 => m = (m / 1200 * 2 + 1) * 600,
                _ => {}
            }
            let scale = rng.random_range(0..=28u32);
            let dp = [2, 2, 0, 3, 4][i as usize % 5];
            let mut d = Decimal::from_i128_with_scale(m as i128, scale);
            if i % 3 == 0 {
                d.set_sign_negative(true);
            }
            same_bits(d, dp, Rounding::twelfth, |r, d| {
                r.round(d / Decimal::from(12))
            });
        }
    }

    #[test]
    fn btc_shows_satoshis() {
        assert_eq!(btc(dec!(4078.87)), "4,078.87000000");
        assert_eq!(btc(dec!(0.00000001)), "0.00000001");
    }

    #[test]
    fn rates_and_counts() {
        assert_eq!(pct(0.5578, 2), "55.78%");
        assert_eq!(pct_dec(dec!(0.557826), 2), "55.78%");
        assert_eq!(count(5441), "5,441");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000_000), "1,000,000");
    }
}
