//! The period engine: a deal's priority of payments over its state, one payment date at a time.
//!
//! The engine knows notes, accounts, fees and triggers; it knows nothing of the collateral but
//! the [`Collections`] a [`CollateralModel`] hands it each period and the cash it hands back for
//! reinvestment. `docs/model.md` states the order of operations, day count and rounding points;
//! every period checks, to the cent, that cash in equals cash paid out plus cash kept, and that the
//! pool's balance follows from its flows.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::asset::{CollateralModel, Collections, PeriodContext};
use crate::deal::{Deal, DealState, Phase, Seniority, Step};
use crate::methodology::{InterestCriterion, PassCriteria};
use crate::money::Rounding;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WaterfallError {
    /// A broken reconciliation: a bug, reported with both sides.
    #[error(
        "period {period} ({date}): cash does not reconcile: cash in {cash_in} / paid and kept {cash_out} / difference {difference}"
    )]
    Conservation {
        period: u32,
        date: NaiveDate,
        cash_in: Decimal,
        cash_out: Decimal,
        difference: Decimal,
    },
    /// The pool's balance does not follow from its flows: a bug of the collateral model.
    #[error(
        "period {period} ({date}): the performing balance does not follow from the flows: asserted {asserted} (start - defaults + capitalized - principal) / calculated {calculated} / difference {difference}"
    )]
    PoolBalance {
        period: u32,
        date: NaiveDate,
        asserted: Decimal,
        calculated: Decimal,
        difference: Decimal,
    },
    #[error("the deal has no payment date between its first payment and its legal final maturity")]
    NoPeriods,
    #[error("the deal state has {state} note balances, the deal {deal} classes")]
    StateShape { state: usize, deal: usize },
}

/// One period's flows, as written to `cashflows.csv` (columns: docs/outputs.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    pub period: u32,
    pub date: NaiveDate,
    pub revolving: bool,
    pub performing_start: Decimal,
    pub defaults: Decimal,
    pub recoveries: Decimal,
    pub interest_due: Decimal,
    pub interest_cash: Decimal,
    pub interest_capitalized: Decimal,
    pub maturities: Decimal,
    pub prepayments: Decimal,
    pub new_loans: Decimal,
    pub reserve_release: Decimal,
    pub available: Decimal,
    pub fees_paid: Decimal,
    /// Per class, in note order.
    pub interest_paid: Vec<Decimal>,
    pub interest_shortfall: Vec<Decimal>,
    pub principal_paid: Vec<Decimal>,
    pub reserve_draw: Decimal,
    pub reserve_top_up: Decimal,
    pub reinvested: Decimal,
    pub residual: Decimal,
    pub performing_end: Decimal,
    pub awaiting_reinvestment: Decimal,
    pub reserve_end: Decimal,
    pub note_balance_end: Vec<Decimal>,
    pub cumulative_defaults: Decimal,
}

/// How one note fared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct NoteOutcome {
    pub class: String,
    pub passed: bool,
    /// The period in which its pass criterion was first broken.
    pub first_failing_period: Option<u32>,
    /// The largest interest shortfall on a payment date (timely), or the interest still unpaid at
    /// the end (ultimate).
    #[serde(serialize_with = "crate::money::json::money")]
    #[schemars(with = "String")]
    pub interest_shortfall: Decimal,
    /// Principal still outstanding at the end.
    #[serde(serialize_with = "crate::money::json::money")]
    #[schemars(with = "String")]
    pub principal_loss: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    pub periods: Vec<Period>,
    pub notes: Vec<NoteOutcome>,
}

/// Deal terms the waterfall applies that a methodology sets per level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaterfallTerms {
    /// Annual servicing fee, share of the performing balance at the start of the period.
    pub servicing_fee_rate: Decimal,
    pub rounding: Rounding,
    /// What a senior and a subordinate note must receive to pass.
    pub pass_criteria: PassCriteria,
}

impl WaterfallTerms {
    fn interest(&self, s: Seniority) -> InterestCriterion {
        match s {
            Seniority::Senior => self.pass_criteria.senior.interest,
            Seniority::Subordinate => self.pass_criteria.subordinate.interest,
        }
    }
}

/// A deal on its way from one state to the next.
#[derive(Debug, Clone)]
pub struct Engine<'a, C> {
    deal: &'a Deal,
    terms: WaterfallTerms,
    dates: Vec<NaiveDate>,
    state: DealState,
    collateral: C,
}

impl<'a, C: CollateralModel> Engine<'a, C> {
    /// An engine resuming from `state` with the pool `collateral` as it stands then.
    pub fn new(
        deal: &'a Deal,
        terms: WaterfallTerms,
        state: DealState,
        collateral: C,
    ) -> Result<Engine<'a, C>, WaterfallError> {
        let dates = deal.payment_dates();
        if dates.is_empty() {
            return Err(WaterfallError::NoPeriods);
        }
        let n = deal.notes.len();
        if state.note_balances.len() != n
            || state.interest_carried.len() != n
            || state.records.len() != n
        {
            return Err(WaterfallError::StateShape {
                state: state.note_balances.len(),
                deal: n,
            });
        }
        Ok(Engine {
            deal,
            terms,
            dates,
            state,
            collateral,
        })
    }

    pub fn terms(&self) -> WaterfallTerms {
        self.terms
    }

    pub fn state(&self) -> &DealState {
        &self.state
    }

    pub fn collateral(&self) -> &C {
        &self.collateral
    }

    fn r(&self, d: Decimal) -> Decimal {
        self.terms.rounding.round(d)
    }

    /// Runs every remaining payment date.
    pub fn run(mut self) -> Result<Run, WaterfallError> {
        let mut periods = Vec::new();
        while let Some(p) = self.step()? {
            periods.push(p);
        }
        let notes = self.outcomes(periods.last().map(|p| p.period));
        Ok(Run { periods, notes })
    }

    /// The notes' verdicts from the state; `end` is the last period run.
    pub fn outcomes(&self, end: Option<u32>) -> Vec<NoteOutcome> {
        let end = end.unwrap_or(self.state.period);
        let s = &self.state;
        self.deal
            .notes
            .iter()
            .enumerate()
            .map(|(k, n)| {
                let principal_loss = s.note_balances[k];
                let unpaid = s.interest_carried[k];
                let (interest_shortfall, mut first) = match self.terms.interest(n.seniority) {
                    InterestCriterion::Timely => (
                        s.records[k].max_shortfall,
                        s.records[k].first_shortfall_period,
                    ),
                    InterestCriterion::Ultimate => {
                        (unpaid, (unpaid > Decimal::ZERO).then_some(end))
                    }
                };
                if principal_loss > Decimal::ZERO && first.is_none() {
                    first = Some(end);
                }
                NoteOutcome {
                    class: n.class.clone(),
                    passed: first.is_none(),
                    first_failing_period: first,
                    interest_shortfall,
                    principal_loss,
                }
            })
            .collect()
    }

    /// Runs the next payment date; `None` once the deal is wound up.
    pub fn step(&mut self) -> Result<Option<Period>, WaterfallError> {
        if self.state.phase == Phase::WoundUp {
            return Ok(None);
        }
        let last = self.dates.len() as u32;
        let t = self.state.period + 1;
        if t > last {
            self.state.phase = Phase::WoundUp;
            return Ok(None);
        }
        let date = self.dates[(t - 1) as usize];
        let revolving = self.state.phase == Phase::Revolving;
        // The last period: the legal final, or the first period with no collateral left to collect
        // (no performing loan, no cash awaiting reinvestment, no recovery to come), when the deal
        // is wound up and the reserve released.
        let final_period = t == last || (t > 1 && self.collateral.exhausted(t));
        let ctx = PeriodContext {
            period: t,
            date,
            revolving,
            final_period,
        };

        // Steps 1-5: the pool's collections.
        let c = self.collateral.collect(&ctx);
        if let Some(difference) = c.balance_break() {
            return Err(WaterfallError::PoolBalance {
                period: t,
                date,
                asserted: c.performing_end - difference,
                calculated: c.performing_end,
                difference,
            });
        }
        let period = self.pay(&ctx, &c)?;

        // 9. Triggers, tested after the waterfall; they end revolving from the next period.
        let s = &mut self.state;
        s.period = t;
        s.as_of = date;
        if s.phase == Phase::Revolving {
            let target = self
                .terms
                .rounding
                .round(self.deal.reserve_target_share * s.note_total());
            let default_ratio = s
                .cumulative_defaults
                .checked_div(s.initial_pool)
                .unwrap_or(Decimal::ZERO);
            if t >= self.deal.revolving_months
                || default_ratio > self.deal.cumulative_default_trigger
                || (self.deal.reserve_trigger && s.reserve < target)
            {
                s.phase = Phase::Amortizing;
            }
        }
        // Nothing left to pay, or nothing left to pay with: the run is over.
        if s.notes_done() || final_period {
            s.phase = Phase::WoundUp;
        }
        Ok(Some(period))
    }

    /// Steps 6-8: available funds, the phase's priority of payments, reconciliation.
    fn pay(&mut self, ctx: &PeriodContext, c: &Collections) -> Result<Period, WaterfallError> {
        let deal = self.deal;
        let (t, final_period) = (ctx.period, ctx.final_period);
        let twelve = Decimal::from(12);
        let n_notes = deal.notes.len();
        self.state.cumulative_defaults += c.defaults;

        // 6. Available funds.
        let target = self.r(deal.reserve_target_share * self.state.note_total());
        let reserve_release = if final_period {
            self.state.reserve
        } else if self.state.reserve > target {
            self.state.reserve - target
        } else {
            Decimal::ZERO
        };
        let opening_cash = self.state.collection_cash;
        let fees_due = self.r(c.performing_start * self.terms.servicing_fee_rate / twelve)
            + self.r(deal.trustee_fee / twelve)
            + self.state.fees_carried;
        let s = &mut self.state;
        s.reserve -= reserve_release;
        s.collection_cash = Decimal::ZERO;
        let available_start = c.cash() + reserve_release + opening_cash;
        let mut available = available_start;

        // 7. The waterfall of the phase.
        let rounding = self.terms.rounding;
        let mut fees_paid = Decimal::ZERO;
        let mut interest_paid = vec![Decimal::ZERO; n_notes];
        let mut interest_short = vec![Decimal::ZERO; n_notes];
        let mut principal_paid = vec![Decimal::ZERO; n_notes];
        let mut reserve_draw = Decimal::ZERO;
        let mut reserve_top_up = Decimal::ZERO;
        let mut reinvested = Decimal::ZERO;
        let mut residual = Decimal::ZERO;
        let timely: Vec<bool> = deal
            .notes
            .iter()
            .map(|n| self.terms.interest(n.seniority) == InterestCriterion::Timely)
            .collect();
        let steps = if ctx.revolving {
            &deal.revolving_steps
        } else {
            &deal.amortizing_steps
        };
        for step in steps {
            match step {
                Step::Fees => {
                    fees_paid = available.min(fees_due);
                    available -= fees_paid;
                    s.fees_carried = fees_due - fees_paid;
                }
                Step::Interest { class } => {
                    let Some(k) = deal.notes.iter().position(|n| n.class == *class) else {
                        continue;
                    };
                    let due = rounding.round(s.note_balances[k] * deal.notes[k].coupon / twelve)
                        + s.interest_carried[k];
                    let mut paid = available.min(due);
                    available -= paid;
                    if paid < due && deal.reserve_covers.iter().any(|c| c == class) {
                        let draw = s.reserve.min(due - paid);
                        s.reserve -= draw;
                        reserve_draw += draw;
                        paid += draw;
                    }
                    interest_paid[k] = paid;
                    let short = due - paid;
                    interest_short[k] = short;
                    s.interest_carried[k] = short;
                    if short > Decimal::ZERO {
                        let rec = &mut s.records[k];
                        rec.max_shortfall = rec.max_shortfall.max(short);
                        if timely[k] && rec.first_shortfall_period.is_none() {
                            rec.first_shortfall_period = Some(t);
                        }
                    }
                }
                Step::ReserveTopUp => {
                    // Nothing is kept back in the last period.
                    let target = if final_period {
                        Decimal::ZERO
                    } else {
                        rounding.round(deal.reserve_target_share * s.note_total())
                    };
                    if s.reserve < target {
                        let add = available.min(target - s.reserve);
                        s.reserve += add;
                        reserve_top_up += add;
                        available -= add;
                    }
                }
                Step::Principal { class } => {
                    let Some(k) = deal.notes.iter().position(|n| n.class == *class) else {
                        continue;
                    };
                    let pay = available.min(s.note_balances[k]);
                    s.note_balances[k] -= pay;
                    principal_paid[k] += pay;
                    available -= pay;
                }
                Step::Reinvest => {
                    let amount = available.min(c.principal() + opening_cash + c.released_cash);
                    self.collateral.reinvest(t, amount);
                    reinvested += amount;
                    available -= amount;
                }
                Step::Residual => {
                    residual += available;
                    available = Decimal::ZERO;
                }
            }
        }
        // Anything no step took stays in the collection account for the next period.
        s.collection_cash += available;

        // 8. Reconciliation, to the cent: in = paid out + kept.
        let paid_out = fees_paid
            + interest_paid.iter().sum::<Decimal>()
            + principal_paid.iter().sum::<Decimal>()
            + residual;
        let kept = reinvested + reserve_top_up + s.collection_cash;
        let cash_in = available_start + reserve_draw;
        if cash_in != paid_out + kept {
            return Err(WaterfallError::Conservation {
                period: t,
                date: ctx.date,
                cash_in,
                cash_out: paid_out + kept,
                difference: cash_in - paid_out - kept,
            });
        }

        Ok(Period {
            period: t,
            date: ctx.date,
            revolving: ctx.revolving,
            performing_start: c.performing_start,
            defaults: c.defaults,
            recoveries: c.recoveries,
            interest_due: c.interest_due,
            interest_cash: c.interest_cash,
            interest_capitalized: c.interest_capitalized,
            maturities: c.scheduled_principal,
            prepayments: c.unscheduled_principal,
            new_loans: c.new_loans,
            reserve_release,
            available: available_start,
            fees_paid,
            interest_paid,
            interest_shortfall: interest_short,
            principal_paid,
            reserve_draw,
            reserve_top_up,
            reinvested,
            residual,
            performing_end: c.performing_end,
            awaiting_reinvestment: self.collateral.awaiting_reinvestment(),
            reserve_end: s.reserve,
            note_balance_end: s.note_balances.clone(),
            cumulative_defaults: s.cumulative_defaults,
        })
    }
}
