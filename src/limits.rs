//! The limits absrate puts on the values it reads, in one place.
//!
//! `rust_decimal` panics when a sum or product leaves its range (about 7.9e28), and an `f64`
//! amount stops being exact to the cent above 2^53 cents (about $9e13). Rather than let a typo
//! (a loan of 1e26, a price of 1e30, a lag of 4294967295 months) reach the engines, every loader
//! refuses a value outside a plausible range for its field, with a located error, and the period
//! engine refuses a run whose amounts would leave [`ENGINE_MONEY_MAX`]. Each limit is far beyond
//! any real deal and says why it is where it is; `docs/reliability.md` lists them for users.
//!
//! The deal file and the pool file state money and rates too: they use the same limits
//! ([`MONEY_MAX`] for amounts, [`RATE_MAX`] for annual rates, [`BTC_MAX`], [`PRICE_MIN`] and
//! [`PRICE_MAX`] for prices, [`MONTHS_MAX`] for month counts), reading their numbers as
//! [`Written`] so that one beyond a decimal's range is refused by its field's limit too.

use rust_decimal::{Decimal, dec};

/// An amount of money in an input, USD, exclusive: a loan's principal, original principal,
/// capitalized and accrued interest (the tape); note balances, cash at closing, fees (the
/// deal); a pool's target principal (the pool file); a day's market volume (the methodology).
/// $1 trillion: about 5,000 times the largest ABS pool, and with 10 million loans at the limit
/// the pool total (1e19) still sums exactly in `Decimal`.
pub const MONEY_MAX: Decimal = dec!(1_000_000_000_000);
/// [`MONEY_MAX`] as messages print it.
pub const MONEY_MAX_TEXT: &str = "1000000000000";

/// A loan's collateral, BTC, exclusive: 10 million, about half of the 21 million bitcoin that
/// will ever exist.
pub const BTC_MAX: Decimal = dec!(10_000_000);
/// [`BTC_MAX`] as messages print it.
pub const BTC_MAX_TEXT: &str = "10000000";

/// A BTC price, USD per BTC, inclusive: $0.0001, below the first price bitcoin was ever quoted
/// at (about $0.0008, October 2009). A lower price is a typo; it would let a borrower answering
/// a margin call add more bitcoin than a `Decimal` can count.
pub const PRICE_MIN: Decimal = dec!(0.0001);
/// [`PRICE_MIN`] as messages print it.
pub const PRICE_MIN_TEXT: &str = "0.0001";

/// A BTC price, USD per BTC, exclusive: $1 billion, about 8,000 times the 2025 high ($126,000).
pub const PRICE_MAX: Decimal = dec!(1_000_000_000);
/// [`PRICE_MAX`] as messages print it.
pub const PRICE_MAX_TEXT: &str = "1000000000";

/// An annual interest rate, coupon, benchmark, margin or fee rate that is not a loan's (the
/// tape's `interest_rate` is below 1), inclusive: 10, i.e. 1,000% a year.
pub const RATE_MAX: Decimal = dec!(10);
/// [`RATE_MAX`] as messages print it.
pub const RATE_MAX_TEXT: &str = "10";

/// A loan-to-value ratio on the tape (`origination_ltv`), inclusive: 5 (500%), the same bound
/// as the margin-call and liquidation LTVs of a valuation.
pub const LTV_MAX: Decimal = dec!(5);
/// [`LTV_MAX`] as messages print it.
pub const LTV_MAX_TEXT: &str = "5";

/// Times a loan was renewed (`renewal_count`), inclusive: a monthly renewal for 83 years.
pub const RENEWALS_MAX: u32 = 1000;

/// A count of months in a methodology (`recovery_lag_months`, `cash_drag_months`, in a level
/// or in the simulation terms), inclusive: 10 years. A longer lag is already "never" for a deal
/// of a few years (what is still to come is collected in the final period), and 4294967295 would
/// wrap the period arithmetic.
pub const MONTHS_MAX: u32 = 120;

/// Days from a liquidation trigger to the sale in a rating level (`liquidation_lag_days`),
/// inclusive: a year, the longest price path a level runs on (`market.horizon_days` is 365 in
/// every published version); a lag past the path's end sells on its last day.
pub const SALE_LAG_DAYS_MAX: u32 = 365;

/// The same lag in a Monte Carlo path's expected terms (`simulation.terms.liquidation_lag_days`),
/// inclusive: a month (an expectation, not a stress).
pub const SIMULATION_SALE_LAG_DAYS_MAX: u32 = 30;

/// Days a price path covers (`market.horizon_days`, `backtest --horizon`) and days from the
/// cut-off to a level's trough (`days_to_trough`), inclusive: ten years.
pub const HORIZON_DAYS_MAX: u32 = 3660;

/// The largest borrowers a level defaults at the start (`top_obligor_defaults`), inclusive.
pub const TOP_OBLIGORS_MAX: u32 = 1_000_000;

/// A methodology multiplier (`capitalized_interest_default_multiplier`, `crowding`),
/// inclusive: 100 times.
pub const MULTIPLIER_MAX: Decimal = dec!(100);
/// [`MULTIPLIER_MAX`] as messages print it.
pub const MULTIPLIER_MAX_TEXT: &str = "100";

/// A price model's daily log-return parameters (`mu`, `sigma`, Merton's `jump_mean` and
/// `jump_sd` in absolute value; GARCH's `omega`, a daily variance), inclusive: 1, a day's move
/// of 172% (BTC's largest daily log return is about 0.4, its daily standard deviation 0.04).
pub const DAILY_LOG_RETURN_MAX: f64 = 1.0;

/// A bootstrap's mean block length, days, inclusive: [`HORIZON_DAYS_MAX`].
pub const BLOCK_DAYS_MAX: f64 = HORIZON_DAYS_MAX as f64;

/// The largest amount the period engine holds in any account, balance or carried amount,
/// USD, exclusive: $10 trillion. Below 2^53 cents an `f64` engine counts cents exactly, and the
/// product of two amounts (a loan's share of the period's defaults) stays far inside `Decimal`'s
/// range. A run that starts above it, or grows past it (capitalized interest compounding for
/// decades), is refused with the period it reached it in.
pub const ENGINE_MONEY_MAX: Decimal = dec!(10_000_000_000_000);
/// [`ENGINE_MONEY_MAX`] as messages print it.
pub const ENGINE_MONEY_MAX_TEXT: &str = "10000000000000";

/// Where a limit is explained, as messages cite it: `must be below 1000000000000 (absrate's
/// limit, docs/reliability.md), got 1e30`.
pub const CITE: &str = "(absrate's limit, docs/reliability.md)";

/// A decimal number as a deal or pool file writes it (quoted or not), kept even when it is beyond
/// the range of a `Decimal` (about 7.9e28): the loader then refuses it against its field's limit,
/// naming the key, instead of the parser's "expected a Decimal type". In range, the value is what
/// `rust_decimal` reads (`"0.0525"` and `0.0525` arrive exact).
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// The value, when a `Decimal` holds it.
    decimal: Option<Decimal>,
    /// A number beyond `Decimal`: its sign and size, for the message.
    approx: f64,
    /// As written (a number beyond `Decimal` is shown so).
    text: String,
}

impl Written {
    /// A number from its text: `Decimal`'s plain or scientific form, else a finite `f64` (beyond
    /// `Decimal`); `None` when it is no number.
    pub fn parse(text: &str) -> Option<Written> {
        let t = text.trim();
        let decimal = t
            .parse::<Decimal>()
            .or_else(|_| Decimal::from_scientific(t))
            .ok();
        let approx = t.parse::<f64>().ok().filter(|x| x.is_finite());
        match (decimal, approx) {
            (Some(d), _) => Some(Written {
                decimal: Some(d),
                approx: 0.0,
                text: d.to_string(),
            }),
            (None, Some(x)) => Some(Written {
                decimal: None,
                approx: x,
                text: t.to_string(),
            }),
            (None, None) => None,
        }
    }

    /// A value held exactly (tests, command-line values).
    pub fn exact(d: Decimal) -> Written {
        Written {
            decimal: Some(d),
            approx: 0.0,
            text: d.to_string(),
        }
    }

    /// Below zero (a number beyond `Decimal` by its sign).
    fn negative(&self) -> bool {
        self.decimal
            .map_or(self.approx < 0.0, |d| d < Decimal::ZERO)
    }

    /// Checks an amount of money: not negative (`positive`: above zero), below [`MONEY_MAX`].
    pub fn money(&self, positive: bool) -> Result<Decimal, String> {
        let got = &self.text;
        match self.decimal {
            Some(d) if positive && d <= Decimal::ZERO => Err(format!("must be > 0, got {got}")),
            _ if self.negative() => Err(format!(
                "must be {} 0, got {got}",
                if positive { ">" } else { ">=" }
            )),
            Some(d) if d < MONEY_MAX => Ok(d),
            _ => Err(format!("must be below {MONEY_MAX_TEXT} {CITE}, got {got}")),
        }
    }

    /// Checks an annual rate (a coupon's benchmark or spread): within [0, [`RATE_MAX`]].
    pub fn rate(&self) -> Result<Decimal, String> {
        match self.decimal {
            Some(d) if d >= Decimal::ZERO && d <= RATE_MAX => Ok(d),
            _ => Err(format!(
                "must be within [0, {RATE_MAX_TEXT}] {CITE}, got {}",
                self.text
            )),
        }
    }

    /// Checks a BTC price: within [[`PRICE_MIN`], [`PRICE_MAX`]).
    pub fn price(&self) -> Result<Decimal, String> {
        match self.decimal {
            Some(d) if d >= PRICE_MIN && d < PRICE_MAX => Ok(d),
            _ => Err(format!(
                "must be at least {PRICE_MIN_TEXT} and below {PRICE_MAX_TEXT} (absrate's limits, docs/reliability.md), got {}",
                self.text
            )),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Written {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Written, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Written;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Written, E> {
                Written::parse(v).ok_or_else(|| E::custom(format!("`{v}` is not a number")))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Written, E> {
                // As rust_decimal reads a float: by its shortest text, so 0.0525 is exact.
                self.visit_str(&v.to_string())
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Written, E> {
                Ok(Written::exact(Decimal::from(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Written, E> {
                Ok(Written::exact(Decimal::from(v)))
            }
            fn visit_i128<E: serde::de::Error>(self, v: i128) -> Result<Written, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<Written, E> {
                self.visit_str(&v.to_string())
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Paths a calibration simulates (`methodology calibrate`, its recipe's `paths`), inclusive:
/// ten million, about 10 s a million on these 2-core machines (release), kept in memory (24 bytes each).
pub const CALIBRATION_PATHS_MAX: u64 = 10_000_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_number_beyond_a_decimal_is_refused_by_its_limit() {
        let w = |t: &str| Written::parse(t).expect("a number");
        assert_eq!(w("0.0525").rate(), Ok(dec!(0.0525)));
        assert_eq!(w("2000.00").money(true), Ok(dec!(2000.00)));
        assert_eq!(
            w("1e30").money(true),
            Err(format!("must be below 1000000000000 {CITE}, got 1e30"))
        );
        assert_eq!(
            w("-1e30").money(false),
            Err("must be >= 0, got -1e30".into())
        );
        assert_eq!(w("0").money(true), Err("must be > 0, got 0".into()));
        assert_eq!(
            w("-1000.00").money(false),
            Err("must be >= 0, got -1000.00".into())
        );
        assert_eq!(
            w("1e20").rate(),
            Err(format!(
                "must be within [0, 10] {CITE}, got 100000000000000000000"
            ))
        );
        assert!(w("1e12").price().is_err());
        assert_eq!(w("87505.12").price(), Ok(dec!(87505.12)));
        assert_eq!(Written::parse("abc"), None);
        assert_eq!(Written::parse("inf"), None);
    }

    #[test]
    fn each_limit_prints_as_its_text() {
        for (value, text) in [
            (MONEY_MAX, MONEY_MAX_TEXT),
            (BTC_MAX, BTC_MAX_TEXT),
            (PRICE_MIN, PRICE_MIN_TEXT),
            (PRICE_MAX, PRICE_MAX_TEXT),
            (RATE_MAX, RATE_MAX_TEXT),
            (LTV_MAX, LTV_MAX_TEXT),
            (MULTIPLIER_MAX, MULTIPLIER_MAX_TEXT),
            (ENGINE_MONEY_MAX, ENGINE_MONEY_MAX_TEXT),
        ] {
            assert_eq!(value.to_string(), text);
        }
    }

    #[test]
    fn the_engine_limit_is_exact_in_f64_cents_and_its_square_fits_a_decimal() {
        let cents = ENGINE_MONEY_MAX * Decimal::ONE_HUNDRED;
        assert!(cents < Decimal::from(1u64 << 53));
        // Three times the limit (a period's growth at most) squared: still a Decimal.
        let three = ENGINE_MONEY_MAX * Decimal::from(3);
        assert!(three.checked_mul(three).is_some());
    }
}
