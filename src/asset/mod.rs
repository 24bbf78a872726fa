//! Collateral models: what a pool of loans collects each period under a scenario.
//!
//! The waterfall ([`crate::waterfall`]) never knows what the collateral is; a collateral model
//! never knows the notes. They meet in one value per period, [`Collections`], and in the cash the
//! waterfall hands back for reinvestment while the deal revolves. A new asset class is a new file
//! here implementing [`CollateralModel`] (docs/architecture.md).

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::money::Amount;

pub mod auto_loan;
pub mod btc_bullet;

pub use auto_loan::{AmortizingPool, AmortizingTerms, Grouping, Line};
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

/// What the pool hands the waterfall in one period. Amounts are already rounded by the
/// methodology's money rule (exact in `Decimal`; whole units in `f64`, see [`Amount`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Collections<A = Decimal> {
    /// Performing balance at the start of the period, after this period's new loans.
    pub performing_start: A,
    /// Loans bought this period with cash awaiting reinvestment.
    pub new_loans: A,
    /// Cash awaiting reinvestment released to available funds (revolving has ended).
    pub released_cash: A,
    /// Balance that defaulted this period (scheduled and at balloon dates).
    pub defaults: A,
    pub interest_due: A,
    pub interest_cash: A,
    /// Interest due and not paid in cash, added to the loans' balances.
    pub interest_capitalized: A,
    /// Principal repaid on schedule (balloon maturities, amortization).
    pub scheduled_principal: A,
    /// Principal repaid ahead of schedule (prepayments).
    pub unscheduled_principal: A,
    pub recoveries: A,
    /// Performing balance at the end of the period.
    pub performing_end: A,
}

impl<A: Amount> Collections<A> {
    /// Principal collections: what the reinvestment step may buy new loans with.
    pub fn principal(&self) -> A {
        self.scheduled_principal + self.unscheduled_principal + self.recoveries
    }

    /// Cash available to the waterfall from the pool.
    pub fn cash(&self) -> A {
        self.interest_cash + self.principal() + self.released_cash
    }

    /// The pool's balance identity: `end = start - defaults + capitalized - scheduled -
    /// unscheduled` (new loans are already in `start`). `None` when it holds (exactly in
    /// `Decimal`, to a cent in `f64`), else the difference.
    pub fn balance_break(&self) -> Option<A> {
        let expected = self.performing_start - self.defaults + self.interest_capitalized
            - self.scheduled_principal
            - self.unscheduled_principal;
        (!A::reconciles(expected, self.performing_end)).then(|| self.performing_end - expected)
    }
}

/// A pool of loans that collects period by period under one scenario, in the number type `A`.
///
/// Implementations are values (`Clone`): the state of the pool after period k, with the deal's
/// state, is enough to resume a run from period k + 1.
pub trait CollateralModel<A: Amount = Decimal> {
    /// Collects one period.
    fn collect(&mut self, ctx: &PeriodContext) -> Collections<A>;

    /// Cash the waterfall sets aside for reinvestment in period `period`.
    fn reinvest(&mut self, period: u32, amount: A);

    /// Cash awaiting reinvestment, not yet spent on new loans.
    fn awaiting_reinvestment(&self) -> A;

    /// Nothing left to collect from period `period` on: no performing loan, no cash awaiting
    /// reinvestment, no recovery to come.
    fn exhausted(&self, period: u32) -> bool;

    /// Performing balance now.
    fn performing(&self) -> A;
}
