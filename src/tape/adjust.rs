//! Pool adjustments of a rating level, before any cash flow: obligor concentration and
//! capitalized interest, and the order in which loans default.
//!
//! polars groups exposures by borrower, ranks borrowers and sorts the loans into default order;
//! the credited amounts are then computed exactly in `Decimal`:
//!
//! - capitalized interest: only `capitalized_interest_credit` of it counts, so a loan's credited
//!   balance is `principal - (1 - credit) x capitalized_interest` (the disallowed part rounded by
//!   the methodology's money rule);
//! - obligor limit: a borrower counts for at most `obligor_limit x pool balance`; above that, each of
//!   its loans is cut pro rata (rounded by the methodology's money rule) and the excess gets no credit;
//! - the `top_obligor_defaults` largest borrowers (by exposure, ties by id) default first, at the
//!   start of the stress; then loans default by the level's order (highest LTV first, ties by
//!   loan id, or pro rata).

use polars::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;

use super::Valuation;
use super::derive::{self, f};
use super::error::TapeError;
use super::schema::*;
use super::value::{decimal_at, f64_at, str_at, u64_at};
use crate::money::Rounding;

/// What a level's adjustments need to know (copied from its stress by the caller).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AdjustmentRule {
    pub obligor_limit: Decimal,
    pub capitalized_interest_credit: Decimal,
    pub top_obligor_defaults: u32,
    pub highest_ltv_first: bool,
    /// The methodology's money rule: the obligor limit, disallowed capitalized interest and each
    /// loan's cut above the limit are rounded by it.
    pub rounding: Rounding,
}

/// One loan as the cash-flow engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolLoan {
    pub loan_id: String,
    /// Credited balance after the adjustments.
    pub balance: Decimal,
    pub rate: Decimal,
    pub maturity: chrono::NaiveDate,
    /// Current LTV at the valuation price, in millionths (an exact ordering key).
    pub ltv_ppm: u64,
    /// Defaults at the start of the stress (one of the largest borrowers).
    pub forced_default: bool,
    /// Carries capitalized interest (a rolled-over loan).
    pub capitalized: bool,
}

/// What the adjustments did, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct AdjustmentReport {
    #[serde(serialize_with = "crate::money::json::money")]
    #[schemars(with = "String")]
    pub pool_balance: Decimal,
    #[serde(serialize_with = "crate::money::json::money")]
    #[schemars(with = "String")]
    pub capitalized_interest_disallowed: Decimal,
    #[serde(serialize_with = "crate::money::json::money")]
    #[schemars(with = "String")]
    pub obligor_limit_amount: Decimal,
    pub borrowers_over_limit: u64,
    #[serde(serialize_with = "crate::money::json::money")]
    #[schemars(with = "String")]
    pub obligor_excess_disallowed: Decimal,
    #[serde(serialize_with = "crate::money::json::money")]
    #[schemars(with = "String")]
    pub credited_balance: Decimal,
    pub top_obligors: u32,
    #[serde(serialize_with = "crate::money::json::money")]
    #[schemars(with = "String")]
    pub top_obligor_balance: Decimal,
    /// Balance of loans that carry capitalized interest (subject to the default multiplier).
    #[serde(serialize_with = "crate::money::json::money")]
    #[schemars(with = "String")]
    pub capitalized_loans_balance: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdjustedPool {
    /// In default order.
    pub loans: Vec<PoolLoan>,
    pub report: AdjustmentReport,
}

pub(crate) fn adjust(
    df: &DataFrame,
    at: &Valuation,
    rule: &AdjustmentRule,
) -> Result<AdjustedPool, TapeError> {
    let err = TapeError::internal("adjusting the pool");
    // Borrowers by exposure, largest first (ties by id); the first N are forced to default.
    let borrowers = df
        .clone()
        .lazy()
        .group_by([col(BORROWER_ID)])
        .agg([col(PRINCIPAL).sum().alias("exposure")])
        .sort_by_exprs(
            [col("exposure"), col(BORROWER_ID)],
            SortMultipleOptions::default().with_order_descending_multi([true, false]),
        )
        .with_row_index("rank", None)
        .select([
            col(BORROWER_ID),
            col("exposure"),
            col("rank")
                .lt(lit(rule.top_obligor_defaults))
                .alias("forced"),
        ]);
    let order = if rule.highest_ltv_first {
        vec![col("forced"), col(derive::LTV), col(LOAN_ID)]
    } else {
        vec![col("forced"), col(LOAN_ID)]
    };
    let loans = df
        .clone()
        .lazy()
        .with_columns(derive::fields(at))
        .join(
            borrowers,
            [col(BORROWER_ID)],
            [col(BORROWER_ID)],
            JoinArgs {
                maintain_order: MaintainOrderJoin::Left,
                ..JoinArgs::new(JoinType::Left)
            },
        )
        .sort_by_exprs(
            order,
            SortMultipleOptions::default().with_order_descending_multi(if rule.highest_ltv_first {
                vec![true, true, false]
            } else {
                vec![true, false]
            }),
        )
        .select([
            col(LOAN_ID),
            col(BORROWER_ID),
            col(PRINCIPAL),
            col(CAPITALIZED_INTEREST),
            col(INTEREST_RATE),
            col(MATURITY_DATE)
                .cast(DataType::Int32)
                .alias("maturity_days"),
            (f(derive::LTV) * lit(1_000_000.0))
                .round(0, RoundMode::HalfToEven)
                .alias("ltv_ppm"),
            col("exposure"),
            col("forced"),
        ])
        .collect()
        .map_err(err)?;

    let n = loans.height();
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let mut pool_balance = Decimal::ZERO;
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        let principal = decimal_at(&loans, PRINCIPAL, i)?;
        pool_balance += principal;
        rows.push((i, principal));
    }
    let limit = rule.rounding.round(rule.obligor_limit * pool_balance);
    let mut report = AdjustmentReport {
        pool_balance,
        capitalized_interest_disallowed: Decimal::ZERO,
        obligor_limit_amount: limit,
        borrowers_over_limit: 0,
        obligor_excess_disallowed: Decimal::ZERO,
        credited_balance: Decimal::ZERO,
        top_obligors: rule.top_obligor_defaults,
        top_obligor_balance: Decimal::ZERO,
        capitalized_loans_balance: Decimal::ZERO,
    };
    let mut over_limit = std::collections::BTreeSet::new();
    let mut out = Vec::with_capacity(n);
    for (i, principal) in rows {
        let capitalized = decimal_at(&loans, CAPITALIZED_INTEREST, i)?;
        let disallowed = rule
            .rounding
            .round((Decimal::ONE - rule.capitalized_interest_credit) * capitalized);
        let mut balance = principal - disallowed;
        report.capitalized_interest_disallowed += disallowed;
        let exposure = decimal_at(&loans, "exposure", i)?;
        let borrower = str_at(&loans, BORROWER_ID, i)?;
        if exposure > limit && exposure > Decimal::ZERO {
            let kept = rule.rounding.round(balance * limit / exposure);
            report.obligor_excess_disallowed += balance - kept;
            balance = kept;
            over_limit.insert(borrower);
        }
        let forced = super::value::bool_at(&loans, "forced", i)?;
        if forced {
            report.top_obligor_balance += balance;
        }
        if capitalized > Decimal::ZERO {
            report.capitalized_loans_balance += balance;
        }
        report.credited_balance += balance;
        let days = u64_at(&loans, "maturity_days", i).unwrap_or(0) as i64;
        out.push(PoolLoan {
            loan_id: str_at(&loans, LOAN_ID, i)?,
            balance,
            rate: decimal_at(&loans, INTEREST_RATE, i)?,
            maturity: epoch + chrono::Duration::days(days),
            ltv_ppm: f64_at(&loans, "ltv_ppm", i)?.unwrap_or(0.0) as u64,
            forced_default: forced,
            capitalized: capitalized > Decimal::ZERO,
        });
    }
    report.borrowers_over_limit = over_limit.len() as u64;
    Ok(AdjustedPool { loans: out, report })
}
