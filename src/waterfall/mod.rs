//! The period engine: a deal's priority of payments over its state, one payment date at a time.
//!
//! The engine knows notes, accounts, fees and triggers; it knows nothing of the collateral but
//! the [`Collections`] a [`CollateralModel`] hands it each period and the cash it hands back for
//! reinvestment. `docs/model.md` states the order of operations, day count and rounding points;
//! every period checks, to the cent, that cash in equals cash paid out plus cash kept, and that the
//! pool's balance follows from its flows.
//!
//! One engine, two number types ([`Amount`]): exact `Decimal` for ratings and every output (the
//! checks exact), `f64` in whole cents for simulation and break-even searches (the checks to a
//! cent). [`Engine::run_outcomes`] runs without building period rows.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::asset::{CollateralModel, Collections, PeriodContext};
use crate::deal::{Deal, DealState, Phase, Seniority, Step};
use crate::limits;
use crate::methodology::{InterestCriterion, PassCriteria};
use crate::money::{Amount, Rounding};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WaterfallError {
    /// A broken reconciliation: a bug, reported with both sides (in USD).
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
    /// An amount of the run beyond [`limits::ENGINE_MONEY_MAX`]: the inputs are too large (a
    /// pool of trillions) or grow too far (interest capitalized for decades) to compute exactly.
    #[error(
        "{when}: {what} is {amount}, beyond absrate's limit of {} on an amount in a run (docs/reliability.md)",
        limits::ENGINE_MONEY_MAX_TEXT
    )]
    OutOfRange {
        /// `at closing`, or `period 12 (2030-01-20)`.
        when: String,
        what: &'static str,
        amount: Decimal,
    },
}

impl WaterfallError {
    /// True when the inputs are at fault (too large for the engine), not absrate.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, WaterfallError::OutOfRange { .. })
    }
}

/// One period's flows, as written to `cashflows.csv` (columns: docs/outputs.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period<A = Decimal> {
    pub period: u32,
    pub date: NaiveDate,
    pub revolving: bool,
    pub performing_start: A,
    pub defaults: A,
    pub recoveries: A,
    pub interest_due: A,
    pub interest_cash: A,
    pub interest_capitalized: A,
    pub maturities: A,
    pub prepayments: A,
    pub new_loans: A,
    pub reserve_release: A,
    pub available: A,
    pub fees_paid: A,
    /// Per class, in note order.
    pub interest_paid: Vec<A>,
    pub interest_shortfall: Vec<A>,
    pub principal_paid: Vec<A>,
    pub reserve_draw: A,
    pub reserve_top_up: A,
    pub reinvested: A,
    pub residual: A,
    pub performing_end: A,
    pub awaiting_reinvestment: A,
    pub reserve_end: A,
    pub note_balance_end: Vec<A>,
    pub cumulative_defaults: A,
}

/// How one note fared.
// Serialized (in `result.json`) for exact (`Decimal`) runs only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(bound(serialize = "A: Copy + Into<Decimal>"))]
#[schemars(rename = "NoteOutcome")]
pub struct NoteOutcome<A = Decimal> {
    pub class: String,
    pub passed: bool,
    /// The period in which its pass criterion was first broken.
    pub first_failing_period: Option<u32>,
    /// The largest interest shortfall on a payment date (timely), or the interest still unpaid at
    /// the end (ultimate).
    #[serde(serialize_with = "crate::money::json::money_of")]
    #[schemars(with = "String")]
    pub interest_shortfall: A,
    /// Principal still outstanding at the end.
    #[serde(serialize_with = "crate::money::json::money_of")]
    #[schemars(with = "String")]
    pub principal_loss: A,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = "A: Serialize + Copy + Into<Decimal>"))]
pub struct Run<A = Decimal> {
    pub periods: Vec<Period<A>>,
    pub notes: Vec<NoteOutcome<A>>,
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

/// A step of a priority of payments with its class resolved to the note's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pay {
    Fees,
    Interest(usize),
    ReserveTopUp,
    Principal(usize),
    Reinvest,
    Residual,
}

/// The deal's and the level's terms in the engine's number type, converted once per engine.
#[derive(Debug, Clone)]
struct Terms<A> {
    coupon: Vec<A>,
    /// Whether the class must be paid interest on time (else ultimately).
    timely: Vec<bool>,
    /// Whether the reserve covers the class's interest.
    covered: Vec<bool>,
    reserve_target_share: A,
    /// `round(trustee_fee / 12)`: the same every period.
    trustee_fee_monthly: A,
    servicing_fee_rate: A,
    default_trigger: A,
    revolving: Vec<Pay>,
    amortizing: Vec<Pay>,
    // Amortizing auto-loan deals (issue 16); `None` / empty in a BTC deal.
    /// A non-declining reserve: its fixed target, `round(target_share x initial pool)`.
    reserve_fixed: Option<A>,
    /// Overcollateralization: the target share of the pool, the floor amount, and whether the
    /// reserve's target is taken off the share.
    oc: Option<(A, A, bool)>,
    /// The clean-up call's threshold, `round(pool_share x initial pool)`.
    clean_up: Option<A>,
    /// Per class, the spread of a floating class over the index.
    floating: Vec<Option<A>>,
    /// The index path of the floating classes, per payment date; the last holds.
    index: Vec<A>,
}

impl<A: Amount> Terms<A> {
    /// The reserve's target with the notes at `notes`: a share of them, or the fixed
    /// (non-declining) target never above them.
    fn reserve_target(&self, notes: A, r: Rounding) -> A {
        match self.reserve_fixed {
            Some(fixed) => fixed.min(notes),
            None => (self.reserve_target_share * notes).round_by(r),
        }
    }

    /// A class's coupon in period `t`: fixed, or the index then plus its spread.
    fn coupon(&self, n: usize, t: u32) -> A {
        match self.floating[n] {
            Some(spread) if !self.index.is_empty() => {
                let i = (t.max(1) as usize - 1).min(self.index.len() - 1);
                self.index[i] + spread
            }
            _ => self.coupon[n],
        }
    }

    /// The amounts the auto-loan features fix at closing, from the initial pool.
    fn with_pool(mut self, deal: &Deal, pool: A, r: Rounding) -> Terms<A> {
        let share = |d: Decimal| (A::ratio(d) * pool).round_by(r);
        self.reserve_fixed = match deal.reserve_basis {
            crate::deal::ReserveBasis::Notes => None,
            crate::deal::ReserveBasis::InitialPool => Some(share(deal.reserve_target_share)),
        };
        self.oc = deal.overcollateralization.map(|o| {
            (
                A::ratio(o.target_share),
                share(o.floor_share),
                o.net_of_reserve,
            )
        });
        self.clean_up = deal.clean_up_call.map(share);
        self
    }

    fn of(deal: &Deal, terms: &WaterfallTerms) -> Terms<A> {
        let r = terms.rounding;
        let class = |c: &str| deal.notes.iter().position(|n| n.class == c);
        let steps = |steps: &[Step]| {
            steps
                .iter()
                .filter_map(|step| {
                    Some(match step {
                        Step::Fees => Pay::Fees,
                        Step::Interest { class: c } => Pay::Interest(class(c)?),
                        Step::ReserveTopUp => Pay::ReserveTopUp,
                        Step::Principal { class: c } => Pay::Principal(class(c)?),
                        Step::Reinvest => Pay::Reinvest,
                        Step::Residual => Pay::Residual,
                    })
                })
                .collect()
        };
        Terms {
            coupon: deal.notes.iter().map(|n| A::ratio(n.coupon)).collect(),
            timely: deal
                .notes
                .iter()
                .map(|n| terms.interest(n.seniority) == InterestCriterion::Timely)
                .collect(),
            covered: deal
                .notes
                .iter()
                .map(|n| deal.reserve_covers.contains(&n.class))
                .collect(),
            reserve_target_share: A::ratio(deal.reserve_target_share),
            trustee_fee_monthly: A::money(r.round(deal.trustee_fee / Decimal::from(12)), r),
            servicing_fee_rate: A::ratio(terms.servicing_fee_rate),
            default_trigger: A::ratio(deal.cumulative_default_trigger),
            revolving: steps(&deal.revolving_steps),
            amortizing: steps(&deal.amortizing_steps),
            reserve_fixed: None,
            oc: None,
            clean_up: None,
            floating: (0..deal.notes.len())
                .map(|k| {
                    deal.floating.as_ref().and_then(|f| {
                        f.spreads
                            .iter()
                            .find(|(j, _)| *j == k)
                            .map(|(_, s)| A::ratio(*s))
                    })
                })
                .collect(),
            index: deal
                .floating
                .as_ref()
                .map(|f| f.path.iter().map(|d| A::ratio(*d)).collect())
                .unwrap_or_default(),
        }
    }
}

/// What the waterfall paid in the period being run (the parts of a [`Period`] that are not the
/// pool's collections or the state after it), kept between periods so a run without rows
/// allocates nothing per period.
#[derive(Debug, Clone)]
struct Flows<A> {
    reserve_release: A,
    available: A,
    fees_paid: A,
    interest_paid: Vec<A>,
    interest_shortfall: Vec<A>,
    principal_paid: Vec<A>,
    reserve_draw: A,
    reserve_top_up: A,
    reinvested: A,
    residual: A,
}

impl<A: Amount> Flows<A> {
    fn new(notes: usize) -> Flows<A> {
        Flows {
            reserve_release: A::ZERO,
            available: A::ZERO,
            fees_paid: A::ZERO,
            interest_paid: vec![A::ZERO; notes],
            interest_shortfall: vec![A::ZERO; notes],
            principal_paid: vec![A::ZERO; notes],
            reserve_draw: A::ZERO,
            reserve_top_up: A::ZERO,
            reinvested: A::ZERO,
            residual: A::ZERO,
        }
    }
}

/// A deal on its way from one state to the next, computing in the number type `A` (exact
/// `Decimal` by default; `f64` for simulation).
#[derive(Debug, Clone)]
pub struct Engine<'a, C, A = Decimal> {
    deal: &'a Deal,
    terms: WaterfallTerms,
    /// The deal's and the level's terms in `A`.
    deal_terms: Terms<A>,
    dates: Vec<NaiveDate>,
    state: DealState<A>,
    collateral: C,
    flows: Flows<A>,
    /// Whether a period has been run.
    started: bool,
}

impl<'a, A: Amount, C: CollateralModel<A>> Engine<'a, C, A> {
    /// An engine resuming from `state` with the pool `collateral` as it stands then.
    pub fn new(
        deal: &'a Deal,
        terms: WaterfallTerms,
        state: DealState<A>,
        collateral: C,
    ) -> Result<Engine<'a, C, A>, WaterfallError> {
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
        let engine = Engine {
            deal,
            terms,
            deal_terms: Terms::of(deal, &terms).with_pool(deal, state.initial_pool, terms.rounding),
            dates,
            state,
            collateral,
            flows: Flows::new(n),
            started: false,
        };
        let pool = engine.state.initial_pool;
        engine.check_range(pool, || match engine.state.period {
            0 => "at closing".to_string(),
            t => format!("after period {t}"),
        })?;
        Ok(engine)
    }

    /// Every amount the run holds is below [`limits::ENGINE_MONEY_MAX`]: checked when the engine
    /// is built and after every period. A period grows an amount by less than a third (interest
    /// below 100% a year, a month at a time), so no sum or product inside the next period leaves
    /// the range of a `Decimal`, and an `f64` run stays exact to the cent.
    fn check_range(&self, pool: A, when: impl Fn() -> String) -> Result<(), WaterfallError> {
        let r = self.terms.rounding;
        let limit = A::money(limits::ENGINE_MONEY_MAX, r);
        let s = &self.state;
        let amounts = [
            ("the pool's performing balance", pool),
            (
                "the cash awaiting reinvestment",
                self.collateral.awaiting_reinvestment(),
            ),
            ("the notes' balance", s.note_total()),
            (
                "the notes' carried interest",
                s.interest_carried.iter().copied().sum(),
            ),
            ("the carried fees", s.fees_carried),
            ("the reserve", s.reserve),
            ("the collection account", s.collection_cash),
            ("the cumulative defaults", s.cumulative_defaults),
        ];
        // Not below the limit, or not comparable (a NaN in an `f64` run): out of range.
        let beyond = |a: &A| a.partial_cmp(&limit) != Some(std::cmp::Ordering::Less);
        match amounts.into_iter().find(|(_, a)| beyond(a)) {
            None => Ok(()),
            Some((what, amount)) => Err(WaterfallError::OutOfRange {
                when: when(),
                what,
                amount: amount.to_money(r),
            }),
        }
    }

    pub fn terms(&self) -> WaterfallTerms {
        self.terms
    }

    pub fn state(&self) -> &DealState<A> {
        &self.state
    }

    /// The pool, to be restated before the first period runs (a simulation builds the engine
    /// once and gives each path a copy with that path's defaults); `None` once a period has run.
    pub fn unstarted_collateral(&mut self) -> Option<&mut C> {
        (!self.started).then_some(&mut self.collateral)
    }

    pub fn collateral(&self) -> &C {
        &self.collateral
    }

    /// Runs every remaining payment date.
    pub fn run(mut self) -> Result<Run<A>, WaterfallError> {
        let mut periods = Vec::new();
        while let Some(p) = self.step()? {
            periods.push(p);
        }
        let notes = self.outcomes(periods.last().map(|p| p.period));
        Ok(Run { periods, notes })
    }

    /// Runs every remaining payment date and keeps only the notes' verdicts: no period rows are
    /// built (what simulation and break-even searches need).
    pub fn run_outcomes(mut self) -> Result<Vec<NoteOutcome<A>>, WaterfallError> {
        let mut end = None;
        while let Some(t) = self.advance()? {
            end = Some(t);
        }
        Ok(self.outcomes(end))
    }

    /// The notes' verdicts from the state; `end` is the last period run.
    pub fn outcomes(&self, end: Option<u32>) -> Vec<NoteOutcome<A>> {
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
                    InterestCriterion::Ultimate => (unpaid, (unpaid > A::ZERO).then_some(end)),
                };
                if principal_loss > A::ZERO && first.is_none() {
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
    pub fn step(&mut self) -> Result<Option<Period<A>>, WaterfallError> {
        let Some((ctx, c)) = self.next_period()? else {
            return Ok(None);
        };
        let (f, s) = (&self.flows, &self.state);
        Ok(Some(Period {
            period: ctx.period,
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
            reserve_release: f.reserve_release,
            available: f.available,
            fees_paid: f.fees_paid,
            interest_paid: f.interest_paid.clone(),
            interest_shortfall: f.interest_shortfall.clone(),
            principal_paid: f.principal_paid.clone(),
            reserve_draw: f.reserve_draw,
            reserve_top_up: f.reserve_top_up,
            reinvested: f.reinvested,
            residual: f.residual,
            performing_end: c.performing_end,
            awaiting_reinvestment: self.collateral.awaiting_reinvestment(),
            reserve_end: s.reserve,
            note_balance_end: s.note_balances.clone(),
            cumulative_defaults: s.cumulative_defaults,
        }))
    }

    /// Runs the next payment date without building its row; returns its index, `None` once the
    /// deal is wound up.
    pub fn advance(&mut self) -> Result<Option<u32>, WaterfallError> {
        Ok(self.next_period()?.map(|(ctx, _)| ctx.period))
    }

    /// One payment date: the pool's collections, the waterfall, the triggers.
    fn next_period(&mut self) -> Result<Option<(PeriodContext, Collections<A>)>, WaterfallError> {
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
        // A clean-up call the deal has (and the rating assumes) is exercised on the first
        // payment date the pool starts at or below its threshold: the pool is bought at par.
        let called = self
            .deal_terms
            .clean_up
            .is_some_and(|c| self.collateral.performing() <= c);
        let final_period =
            t == last || (t > 1 && self.collateral.exhausted(t)) || (t > 1 && called);
        let ctx = PeriodContext {
            period: t,
            date,
            revolving,
            final_period,
        };

        // Steps 1-5: the pool's collections.
        self.started = true;
        let c = self.collateral.collect(&ctx);
        if let Some(difference) = c.balance_break() {
            let usd = |a: A| a.to_money(self.terms.rounding);
            return Err(WaterfallError::PoolBalance {
                period: t,
                date,
                asserted: usd(c.performing_end - difference),
                calculated: usd(c.performing_end),
                difference: usd(difference),
            });
        }
        self.pay(&ctx, &c)?;
        self.check_range(c.performing_end, || format!("period {t} ({date})"))?;

        // 9. Triggers, tested after the waterfall; they end revolving from the next period.
        let s = &mut self.state;
        s.period = t;
        s.as_of = date;
        if s.phase == Phase::Revolving {
            let target = self
                .deal_terms
                .reserve_target(s.note_total(), self.terms.rounding);
            let default_ratio = s
                .cumulative_defaults
                .checked_div(s.initial_pool)
                .unwrap_or(A::ZERO);
            if t >= self.deal.revolving_months
                || default_ratio > self.deal_terms.default_trigger
                || (self.deal.reserve_trigger && s.reserve < target)
            {
                s.phase = Phase::Amortizing;
            }
        }
        // Nothing left to pay, or nothing left to pay with: the run is over.
        if s.notes_done() || final_period {
            s.phase = Phase::WoundUp;
        }
        Ok(Some((ctx, c)))
    }

    /// Steps 6-8: available funds, the phase's priority of payments, reconciliation. What was
    /// paid is left in `self.flows`.
    fn pay(&mut self, ctx: &PeriodContext, c: &Collections<A>) -> Result<(), WaterfallError> {
        let k = &self.deal_terms;
        let (t, final_period) = (ctx.period, ctx.final_period);
        let rounding = self.terms.rounding;
        let round = |a: A| a.round_by(rounding);
        self.state.cumulative_defaults += c.defaults;

        // 6. Available funds.
        let target = k.reserve_target(self.state.note_total(), rounding);
        // Overcollateralization: principal is paid only down to `pool_end - target` in all
        // (the rest of the cash goes on down the waterfall); while the notes stand above that,
        // excess spread pays principal (turbo). No cap in the last period.
        let mut principal_cap = match k.oc {
            Some((share, floor, net)) if !final_period => {
                let pool_end = c.performing_end;
                let gross = round(share * pool_end);
                let gross = if net {
                    (gross - target).max(A::ZERO)
                } else {
                    gross
                };
                let oc_target = gross.max(floor).min(pool_end);
                let notes = self.state.note_total();
                Some((notes - (pool_end - oc_target)).max(A::ZERO))
            }
            _ => None,
        };
        let reserve_release = if final_period {
            self.state.reserve
        } else if self.state.reserve > target {
            self.state.reserve - target
        } else {
            A::ZERO
        };
        let opening_cash = self.state.collection_cash;
        let fees_due = (c.performing_start * k.servicing_fee_rate).twelfth(rounding)
            + k.trustee_fee_monthly
            + self.state.fees_carried;
        let s = &mut self.state;
        s.reserve -= reserve_release;
        s.collection_cash = A::ZERO;
        let available_start = c.cash() + reserve_release + opening_cash;
        let mut available = available_start;

        // 7. The waterfall of the phase.
        let f = &mut self.flows;
        f.interest_paid.fill(A::ZERO);
        f.interest_shortfall.fill(A::ZERO);
        f.principal_paid.fill(A::ZERO);
        let mut fees_paid = A::ZERO;
        let mut reserve_draw = A::ZERO;
        let mut reserve_top_up = A::ZERO;
        let mut reinvested = A::ZERO;
        let mut residual = A::ZERO;
        let steps = if ctx.revolving {
            &k.revolving
        } else {
            &k.amortizing
        };
        for step in steps {
            match *step {
                Pay::Fees => {
                    fees_paid = available.min(fees_due);
                    available -= fees_paid;
                    s.fees_carried = fees_due - fees_paid;
                }
                Pay::Interest(n) => {
                    let due = (s.note_balances[n] * k.coupon(n, t)).twelfth(rounding)
                        + s.interest_carried[n];
                    let mut paid = available.min(due);
                    available -= paid;
                    if paid < due && k.covered[n] {
                        let draw = s.reserve.min(due - paid);
                        s.reserve -= draw;
                        reserve_draw += draw;
                        paid += draw;
                    }
                    f.interest_paid[n] = paid;
                    let short = due - paid;
                    f.interest_shortfall[n] = short;
                    s.interest_carried[n] = short;
                    if short > A::ZERO {
                        let rec = &mut s.records[n];
                        rec.max_shortfall = rec.max_shortfall.max(short);
                        if k.timely[n] && rec.first_shortfall_period.is_none() {
                            rec.first_shortfall_period = Some(t);
                        }
                    }
                }
                Pay::ReserveTopUp => {
                    // Nothing is kept back in the last period.
                    let target = if final_period {
                        A::ZERO
                    } else {
                        k.reserve_target(s.note_total(), rounding)
                    };
                    if s.reserve < target {
                        let add = available.min(target - s.reserve);
                        s.reserve += add;
                        reserve_top_up += add;
                        available -= add;
                    }
                }
                Pay::Principal(n) => {
                    let mut pay = available.min(s.note_balances[n]);
                    if let Some(cap) = principal_cap.as_mut() {
                        pay = pay.min(*cap);
                        *cap -= pay;
                    }
                    s.note_balances[n] -= pay;
                    f.principal_paid[n] += pay;
                    available -= pay;
                }
                Pay::Reinvest => {
                    let amount = available.min(c.principal() + opening_cash + c.released_cash);
                    self.collateral.reinvest(t, amount);
                    reinvested += amount;
                    available -= amount;
                }
                Pay::Residual => {
                    residual += available;
                    available = A::ZERO;
                }
            }
        }
        // Anything no step took stays in the collection account for the next period.
        s.collection_cash += available;

        // 8. Reconciliation, to the cent: in = paid out + kept.
        let paid_out = fees_paid
            + f.interest_paid.iter().copied().sum::<A>()
            + f.principal_paid.iter().copied().sum::<A>()
            + residual;
        let kept = reinvested + reserve_top_up + s.collection_cash;
        let cash_in = available_start + reserve_draw;
        if !A::reconciles(cash_in, paid_out + kept) {
            let usd = |a: A| a.to_money(rounding);
            return Err(WaterfallError::Conservation {
                period: t,
                date: ctx.date,
                cash_in: usd(cash_in),
                cash_out: usd(paid_out + kept),
                difference: usd(cash_in - paid_out - kept),
            });
        }
        f.reserve_release = reserve_release;
        f.available = available_start;
        f.fees_paid = fees_paid;
        f.reserve_draw = reserve_draw;
        f.reserve_top_up = reserve_top_up;
        f.reinvested = reinvested;
        f.residual = residual;
        Ok(())
    }
}
