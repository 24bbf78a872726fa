//! Collateral models: what a pool of loans collects each period under a scenario.
//!
//! The waterfall ([`crate::waterfall`]) never knows what the collateral is; a collateral model
//! never knows the notes. They meet in one value per period, [`Collections`], and in the cash the
//! waterfall hands back for reinvestment while the deal revolves. A new asset class is a new file
//! here implementing [`CollateralModel`] (docs/architecture.md).

use chrono::NaiveDate;
use rust_decimal::Decimal;

pub mod btc_bullet;

pub use btc_bullet::{BulletPool, BulletTerms};

/// The period the waterfall is about to run, as a collateral model needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodContext {
    /// 1-based period index from closing.
    pub period: u32,
    pub date: NaiveDate,
    /// Whether cash awaiting reinvestment buys new loans this period (the deal revolves).
    pub revolving: bool,
    /// The legal final, or the period in which the deal is wound up: every loan still performing
    /// is taken to repay and every recovery still to come is collected.
    pub final_period: bool,
}

/// What the pool hands the waterfall in one period. Amounts are exact and already rounded by the
/// methodology's money rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Collections {
    /// Performing balance at the start of the period, after this period's new loans.
    pub performing_start: Decimal,
    /// Loans bought this period with cash awaiting reinvestment.
    pub new_loans: Decimal,
    /// Cash awaiting reinvestment released to available funds (revolving has ended).
    pub released_cash: Decimal,
    /// Balance that defaulted this period (scheduled and at balloon dates).
    pub defaults: Decimal,
    pub interest_due: Decimal,
    pub interest_cash: Decimal,
    /// Interest due and not paid in cash, added to the loans' balances.
    pub interest_capitalized: Decimal,
    /// Principal repaid on schedule (balloon maturities, amortization).
    pub scheduled_principal: Decimal,
    /// Principal repaid ahead of schedule (prepayments).
    pub unscheduled_principal: Decimal,
    pub recoveries: Decimal,
    /// Performing balance at the end of the period.
    pub performing_end: Decimal,
}

impl Collections {
    /// Principal collections: what the reinvestment step may buy new loans with.
    pub fn principal(&self) -> Decimal {
        self.scheduled_principal + self.unscheduled_principal + self.recoveries
    }

    /// Cash available to the waterfall from the pool.
    pub fn cash(&self) -> Decimal {
        self.interest_cash + self.principal() + self.released_cash
    }

    /// The pool's balance identity: `end = start - defaults + capitalized - scheduled -
    /// unscheduled` (new loans are already in `start`). `None` when it holds, else the difference.
    pub fn balance_break(&self) -> Option<Decimal> {
        let expected = self.performing_start - self.defaults + self.interest_capitalized
            - self.scheduled_principal
            - self.unscheduled_principal;
        (expected != self.performing_end).then(|| self.performing_end - expected)
    }
}

/// A pool of loans that collects period by period under one scenario.
///
/// Implementations are values (`Clone`): the state of the pool after period k, with the deal's
/// state, is enough to resume a run from period k + 1.
pub trait CollateralModel {
    /// Collects one period.
    fn collect(&mut self, ctx: &PeriodContext) -> Collections;

    /// Cash the waterfall sets aside for reinvestment in period `period`.
    fn reinvest(&mut self, period: u32, amount: Decimal);

    /// Cash awaiting reinvestment, not yet spent on new loans.
    fn awaiting_reinvestment(&self) -> Decimal;

    /// Nothing left to collect from period `period` on: no performing loan, no cash awaiting
    /// reinvestment, no recovery to come.
    fn exhausted(&self, period: u32) -> bool;

    /// Performing balance now.
    fn performing(&self) -> Decimal;
}
