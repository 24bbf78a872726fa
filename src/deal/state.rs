//! The deal's state between two payment dates, as a value: what a servicer report states and what
//! the waterfall needs to go on. A run starts from a state; closing is one state
//! ([`DealState::at_closing`]).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use super::Deal;
use crate::asset::CollateralModel;
use crate::money::{Amount, Rounding};

/// Which priority of payments applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Principal collections buy new loans (the revolving waterfall).
    Revolving,
    /// Principal collections pay the notes (the amortizing waterfall).
    Amortizing,
    /// After an event of default: the amortizing waterfall, and revolving never resumes. No rule
    /// of today's deal files enters it; a state read from a servicer report may be in it.
    Accelerated,
    /// The notes are paid off, or the legal final has passed: nothing more is paid.
    WoundUp,
}

/// What a note has met so far, for its pass/fail verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NoteRecord<A = Decimal> {
    /// The largest interest shortfall on a payment date.
    pub max_shortfall: A,
    /// The first period the note's interest fell short, for a note that must be paid interest on
    /// time (the methodology's pass criteria).
    pub first_shortfall_period: Option<u32>,
}

/// Balances, accounts, carried amounts and phase after `period` payment dates, in the engine's
/// number type (exact `Decimal` by default; `f64` in whole units of the money rule, see
/// [`Amount`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DealState<A = Decimal> {
    /// Payment dates passed (0 at closing).
    pub period: u32,
    /// Closing date, or the last payment date passed.
    pub as_of: NaiveDate,
    pub phase: Phase,
    /// Outstanding principal per class, in note order.
    pub note_balances: Vec<A>,
    /// Interest due and unpaid per class, carried to the next payment date.
    pub interest_carried: Vec<A>,
    /// Fees due and unpaid, carried.
    pub fees_carried: A,
    pub reserve: A,
    /// Cash in the collection account that no step took.
    pub collection_cash: A,
    /// Defaults since closing.
    pub cumulative_defaults: A,
    /// The pool balance at closing: the base of the cumulative-default trigger.
    pub initial_pool: A,
    /// Per class, in note order.
    pub records: Vec<NoteRecord<A>>,
}

impl<A: Amount> DealState<A> {
    /// The deal at closing over a pool of `initial_pool`: notes at their original balances, the
    /// reserve funded at its target (rounded by the money rule), the deal's cash at closing in
    /// the collection account.
    pub fn at_closing(deal: &Deal, initial_pool: A, rounding: Rounding) -> DealState<A> {
        let n = deal.notes.len();
        let money = |d: Decimal| A::money(d, rounding);
        DealState {
            period: 0,
            as_of: deal.closing,
            phase: if deal.revolving_months > 0 {
                Phase::Revolving
            } else {
                Phase::Amortizing
            },
            note_balances: deal.notes.iter().map(|n| money(n.balance)).collect(),
            interest_carried: vec![A::ZERO; n],
            fees_carried: A::ZERO,
            reserve: match deal.reserve_basis {
                super::ReserveBasis::Notes => {
                    money(rounding.round(deal.reserve_target_share * deal.note_total()))
                }
                // A non-declining reserve: its share of the pool at closing, never above the notes.
                super::ReserveBasis::InitialPool => (A::ratio(deal.reserve_target_share)
                    * initial_pool)
                    .round_by(rounding)
                    .min(money(deal.note_total())),
            },
            collection_cash: money(deal.cash_at_closing),
            cumulative_defaults: A::ZERO,
            initial_pool,
            records: vec![NoteRecord::default(); n],
        }
    }

    /// The state `deal` opens with over `collateral`: its `opening` (a deal rated from a servicer
    /// report: the reinvestment account handed to the collateral model as cash awaiting new
    /// loans), else a new deal's state at closing over the collateral's performing balance.
    pub fn open<C: CollateralModel<A>>(
        deal: &Deal,
        collateral: &mut C,
        rounding: Rounding,
    ) -> DealState<A> {
        match &deal.opening {
            Some(o) => {
                collateral.reinvest(0, A::money(o.reinvestment_cash, rounding));
                o.state(deal.closing, &deal.notes, deal.cash_at_closing, rounding)
            }
            None => DealState::at_closing(deal, collateral.performing(), rounding),
        }
    }

    pub fn note_total(&self) -> A {
        self.note_balances.iter().copied().sum()
    }

    /// Every note repaid and no interest carried.
    pub fn notes_done(&self) -> bool {
        self.note_balances.iter().all(|b| b.is_zero())
            && self.interest_carried.iter().all(|c| c.is_zero())
    }
}
