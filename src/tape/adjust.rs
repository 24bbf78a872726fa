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

use std::sync::Arc;

use polars::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;

use super::Valuation;
use super::derive::{self, f};
use super::error::TapeError;
use super::schema::*;
use super::value::{decimal_at, f64_at, str_at, u64_at};
use crate::money::{DecimalTotal, Rounding, Total};

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
    /// Shared by every rule's pool (a count, not a copy).
    pub loan_id: Arc<str>,
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

/// One loan of the tape with what every adjustment rule starts from.
#[derive(Debug, Clone, PartialEq)]
struct BaseLoan {
    loan_id: Arc<str>,
    borrower_id: String,
    principal: Decimal,
    capitalized_interest: Decimal,
    rate: Decimal,
    maturity: chrono::NaiveDate,
    /// Current LTV at the valuation price, unrounded: the default order's key.
    ltv: f64,
    ltv_ppm: u64,
    /// The borrower's exposure (sum of its loans' principal) and its rank by exposure, largest
    /// first, ties by borrower id (0-based).
    exposure: Decimal,
    rank: u32,
}

/// A tape's loans at a valuation, read once for every adjustment rule: polars computes the
/// derived fields, each borrower's exposure and its rank; what differs between rules (which
/// borrowers are forced to default, the order, the credited amounts) is then a sort and exact
/// arithmetic per rule ([`AdjustBase::adjust`]), without polars.
#[derive(Debug, Clone, PartialEq)]
pub struct AdjustBase {
    valuation: Valuation,
    loans: Vec<BaseLoan>,
    /// Positions in `loans` by current LTV, highest first, ties by loan id; and by loan id.
    by_ltv: Vec<usize>,
    by_id: Vec<usize>,
}

pub(crate) fn base(df: &DataFrame, at: &Valuation) -> Result<AdjustBase, TapeError> {
    let err = TapeError::internal("adjusting the pool");
    // Borrowers by exposure, largest first (ties by id).
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
        .select([col(BORROWER_ID), col("exposure"), col("rank")]);
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
        .select([
            col(LOAN_ID),
            col(BORROWER_ID),
            col(PRINCIPAL),
            col(CAPITALIZED_INTEREST),
            col(INTEREST_RATE),
            col(MATURITY_DATE)
                .cast(DataType::Int32)
                .alias("maturity_days"),
            col(derive::LTV),
            (f(derive::LTV) * lit(1_000_000.0))
                .round(0, RoundMode::HalfToEven)
                .alias("ltv_ppm"),
            col("exposure"),
            col("rank"),
        ])
        .collect()
        .map_err(err)?;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let out = (0..loans.height())
        .map(|i| {
            let days = u64_at(&loans, "maturity_days", i).unwrap_or(0) as i64;
            Ok(BaseLoan {
                loan_id: str_at(&loans, LOAN_ID, i)?.into(),
                borrower_id: str_at(&loans, BORROWER_ID, i)?,
                principal: decimal_at(&loans, PRINCIPAL, i)?,
                capitalized_interest: decimal_at(&loans, CAPITALIZED_INTEREST, i)?,
                rate: decimal_at(&loans, INTEREST_RATE, i)?,
                maturity: epoch + chrono::Duration::days(days),
                ltv: f64_at(&loans, derive::LTV, i)?.unwrap_or(f64::NAN),
                ltv_ppm: f64_at(&loans, "ltv_ppm", i)?.unwrap_or(0.0) as u64,
                exposure: decimal_at(&loans, "exposure", i)?,
                rank: u64_at(&loans, "rank", i)? as u32,
            })
        })
        .collect::<Result<Vec<_>, TapeError>>()?;
    let mut by_id: Vec<usize> = (0..out.len()).collect();
    by_id.sort_by(|&a, &b| out[a].loan_id.cmp(&out[b].loan_id));
    let mut by_ltv = by_id.clone();
    // Stable: equal LTVs stay in loan id order.
    by_ltv.sort_by(|&a, &b| out[b].ltv.total_cmp(&out[a].ltv));
    Ok(AdjustBase {
        valuation: at.clone(),
        loans: out,
        by_ltv,
        by_id,
    })
}

impl AdjustBase {
    /// The valuation the loans were read at.
    pub fn valuation(&self) -> &Valuation {
        &self.valuation
    }

    /// The pool under `rule`: the `top_obligor_defaults` largest borrowers' loans first, then
    /// every other loan, each group by current LTV, highest first (or by loan id under pro
    /// rata), ties by loan id; credited balances after capitalized interest and the obligor
    /// limit, exactly.
    pub fn adjust(&self, rule: &AdjustmentRule) -> AdjustedPool {
        let forced = |l: &BaseLoan| l.rank < rule.top_obligor_defaults;
        // The forced defaults first, each group in the rule's order.
        let sorted = if rule.highest_ltv_first {
            &self.by_ltv
        } else {
            &self.by_id
        };
        let in_order = || sorted.iter().map(|&i| &self.loans[i]);
        let order: Vec<&BaseLoan> = in_order()
            .filter(|l| forced(l))
            .chain(in_order().filter(|l| !forced(l)))
            .collect();

        let pool_balance = DecimalTotal::of(order.iter().map(|l| l.principal));
        let limit = rule.rounding.round(rule.obligor_limit * pool_balance);
        let mut disallowed_total = DecimalTotal::default();
        let mut excess_total = DecimalTotal::default();
        let mut forced_total = DecimalTotal::default();
        let mut capitalized_total = DecimalTotal::default();
        let mut credited_total = DecimalTotal::default();
        let mut over_limit = std::collections::BTreeSet::new();
        let mut out = Vec::with_capacity(order.len());
        for l in order {
            let capitalized = l.capitalized_interest;
            let disallowed = rule
                .rounding
                .round((Decimal::ONE - rule.capitalized_interest_credit) * capitalized);
            let mut balance = l.principal - disallowed;
            disallowed_total.add(disallowed);
            if l.exposure > limit && l.exposure > Decimal::ZERO {
                let kept = rule.rounding.round(balance * limit / l.exposure);
                excess_total.add(balance - kept);
                balance = kept;
                over_limit.insert(l.borrower_id.as_str());
            }
            let forced = forced(l);
            if forced {
                forced_total.add(balance);
            }
            if capitalized > Decimal::ZERO {
                capitalized_total.add(balance);
            }
            credited_total.add(balance);
            out.push(PoolLoan {
                loan_id: Arc::clone(&l.loan_id),
                balance,
                rate: l.rate,
                maturity: l.maturity,
                ltv_ppm: l.ltv_ppm,
                forced_default: forced,
                capitalized: capitalized > Decimal::ZERO,
            });
        }
        let report = AdjustmentReport {
            pool_balance,
            capitalized_interest_disallowed: disallowed_total.get(),
            obligor_limit_amount: limit,
            borrowers_over_limit: over_limit.len() as u64,
            obligor_excess_disallowed: excess_total.get(),
            credited_balance: credited_total.get(),
            top_obligors: rule.top_obligor_defaults,
            top_obligor_balance: forced_total.get(),
            capitalized_loans_balance: capitalized_total.get(),
        };
        AdjustedPool { loans: out, report }
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::dec;

    use super::*;
    use crate::money::RoundingStrategy;
    use crate::tape::Tape;

    /// Five loans, four borrowers: B1 (L1, L4) has the largest exposure; L2 and L3 have the same
    /// LTV. One rule's order and credited balances, read from one base.
    #[test]
    fn each_rule_orders_and_credits_the_loans_of_one_base() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("tape.csv");
        std::fs::write(
            &path,
            "loan_id,borrower_id,origination_date,maturity_date,principal,interest_rate,collateral_btc\n\
             L1,B1,2025-06-01,2026-06-01,5000.00,0.12,0.1\n\
             L2,B2,2025-06-01,2026-06-01,3000.00,0.12,0.05\n\
             L3,B3,2025-06-01,2026-06-01,6000.00,0.12,0.1\n\
             L4,B1,2025-06-01,2026-06-01,4000.00,0.12,0.1\n\
             L5,B4,2025-06-01,2026-06-01,1000.00,0.12,0.01\n",
        )
        .expect("tape");
        let tape = Tape::read(&path).expect("read");
        let at = Valuation {
            as_of: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"),
            btc_price: dec!(100000),
            margin_call_ltv: dec!(0.70),
            liquidation_ltv: dec!(0.80),
        };
        let base = tape.adjust_base(&at).expect("base");
        let rule = |highest_ltv_first| AdjustmentRule {
            obligor_limit: dec!(0.3),
            capitalized_interest_credit: Decimal::ONE,
            top_obligor_defaults: 1,
            highest_ltv_first,
            rounding: Rounding {
                money_places: 2,
                strategy: RoundingStrategy::HalfEven,
            },
        };
        let ids = |p: &AdjustedPool| {
            p.loans
                .iter()
                .map(|l| l.loan_id.to_string())
                .collect::<Vec<_>>()
        };
        // B1's loans first (by LTV: 0.5, 0.4), then 1.0, 0.6 and 0.6 (by id).
        let by_ltv = base.adjust(&rule(true));
        assert_eq!(ids(&by_ltv), ["L1", "L4", "L5", "L2", "L3"]);
        assert_eq!(by_ltv, tape.adjust(&at, &rule(true)).expect("adjust"));
        let pro_rata = base.adjust(&rule(false));
        assert_eq!(ids(&pro_rata), ["L1", "L4", "L2", "L3", "L5"]);
        // Limit 0.3 x 19,000 = 5,700: B1 (9,000) cut pro rata, B3 (6,000) to the limit.
        let balances: Vec<Decimal> = by_ltv.loans.iter().map(|l| l.balance).collect();
        assert_eq!(
            balances,
            [
                dec!(3166.67),
                dec!(2533.33),
                dec!(1000.00),
                dec!(3000.00),
                dec!(5700.00)
            ]
        );
        let r = &by_ltv.report;
        assert_eq!(
            (r.borrowers_over_limit, r.obligor_excess_disallowed),
            (2, dec!(3600.00))
        );
        assert_eq!(r.top_obligor_balance, dec!(5700.00));
        assert_eq!(
            by_ltv.loans.iter().map(|l| l.ltv_ppm).collect::<Vec<_>>(),
            [500_000, 400_000, 1_000_000, 600_000, 600_000]
        );
    }
}
