//! The period engine: a deal's monthly cash flows under one rating level's stress.
//!
//! `docs/model.md` states the order of operations, day count and rounding points precisely; this
//! file follows it step for step. All money is `Decimal`, rounded by the methodology's rule at the
//! points the model names; every period checks that cash in equals cash paid out plus cash kept,
//! to the cent.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::deal::{Deal, Seniority, Step};
use crate::methodology::{DefaultOrder, Rounding, RoundingStrategy, Stress};
use crate::tape::PoolLoan;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CashflowError {
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
    #[error("the deal has no payment date between its first payment and its legal final maturity")]
    NoPeriods,
}

/// The inputs of one run: the level's stress applied to the adjusted pool.
#[derive(Debug, Clone)]
pub struct Scenario<'a> {
    pub deal: &'a Deal,
    pub stress: &'a Stress,
    pub rounding: Rounding,
    /// Credited loans in default order.
    pub loans: &'a [PoolLoan],
    /// Cumulative defaults over the run, USD.
    pub default_amount: Decimal,
}

/// One period's flows, as written to `--cashflows`.
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoteOutcome {
    pub class: String,
    pub passed: bool,
    /// The period in which its pass criterion was first broken.
    pub first_failing_period: Option<u32>,
    /// The largest interest shortfall on a payment date (timely), or the interest still unpaid at
    /// the end (ultimate).
    pub interest_shortfall: Decimal,
    /// Principal still outstanding at the end.
    pub principal_loss: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    pub periods: Vec<Period>,
    pub notes: Vec<NoteOutcome>,
}

/// Rounds money by the methodology's rule.
pub fn round(d: Decimal, r: Rounding) -> Decimal {
    let strategy = match r.strategy {
        RoundingStrategy::HalfEven => rust_decimal::RoundingStrategy::MidpointNearestEven,
        RoundingStrategy::HalfUp => rust_decimal::RoundingStrategy::MidpointAwayFromZero,
        RoundingStrategy::Down => rust_decimal::RoundingStrategy::ToZero,
    };
    d.round_dp_with_strategy(r.money_places, strategy)
}

struct Position {
    balance: Decimal,
    rate: Decimal,
    /// Period in which it repays.
    maturity: u32,
    ltv_ppm: u64,
}

/// The first period whose payment date is on or after `date` (1-based; 1 for dates before).
fn period_of(dates: &[NaiveDate], date: NaiveDate) -> u32 {
    dates
        .iter()
        .position(|d| *d >= date)
        .map(|i| i as u32 + 1)
        .unwrap_or(dates.len() as u32)
}

fn min(a: Decimal, b: Decimal) -> Decimal {
    if a < b { a } else { b }
}

/// Projects the deal's cash flows under the scenario.
pub fn run(s: &Scenario<'_>) -> Result<Run, CashflowError> {
    let deal = s.deal;
    let st = s.stress;
    let r = |d: Decimal| round(d, s.rounding);
    let twelve = Decimal::from(12);
    let dates = deal.payment_dates();
    if dates.is_empty() {
        return Err(CashflowError::NoPeriods);
    }
    let last = dates.len() as u32;
    let n_notes = deal.notes.len();

    let mut positions: Vec<Position> = s
        .loans
        .iter()
        .filter(|l| l.balance > Decimal::ZERO)
        .map(|l| Position {
            balance: l.balance,
            rate: l.rate,
            maturity: period_of(&dates, l.maturity),
            // The largest obligors default first: ahead of any LTV.
            ltv_ppm: if l.forced_default {
                u64::MAX
            } else {
                l.ltv_ppm
            },
        })
        .collect();
    let initial_pool: Decimal = positions.iter().map(|p| p.balance).sum();
    let mut balances: Vec<Decimal> = deal.notes.iter().map(|n| n.balance).collect();
    let mut carried: Vec<Decimal> = vec![Decimal::ZERO; n_notes];
    let mut shortfall_total: Vec<Decimal> = vec![Decimal::ZERO; n_notes];
    let mut first_fail: Vec<Option<u32>> = vec![None; n_notes];
    let mut reserve = r(deal.reserve_target_share * deal.note_total());
    let mut cash_on_hand = deal.cash_at_closing;
    let mut queue: BTreeMap<u32, Decimal> = BTreeMap::new();
    let mut recoveries_due: BTreeMap<u32, Decimal> = BTreeMap::new();
    let mut fees_carried = Decimal::ZERO;
    let mut cumulative = Decimal::ZERO;
    let mut revolving = deal.revolving_months > 0;
    let mut periods = Vec::new();
    let reinvest_ltv_ppm = (st.reinvestment_ltv * Decimal::from(1_000_000)).trunc();
    let reinvest_ltv_ppm: u64 = reinvest_ltv_ppm.try_into().unwrap_or(0);

    for t in 1..=last {
        let date = dates[(t - 1) as usize];
        // The last period: the legal final, or the first period with no collateral left to
        // collect (no performing loan, no cash awaiting reinvestment, no recovery to come), when
        // the deal is wound up and the reserve released.
        let exhausted = positions.iter().all(|p| p.balance.is_zero())
            && queue.values().all(|v| v.is_zero())
            && recoveries_due.range(t..).all(|(_, v)| v.is_zero())
            && t > 1;
        let final_period = t == last || exhausted;

        // 1. Cash awaiting reinvestment becomes new loans (or, once revolving has ended, cash).
        let mut new_loans = Decimal::ZERO;
        let mut released_queue = Decimal::ZERO;
        let ready: Vec<u32> = queue.range(..=t).map(|(k, _)| *k).collect();
        for k in ready {
            let amount = queue.remove(&k).unwrap_or_default();
            if revolving && amount > Decimal::ZERO {
                new_loans += amount;
                let pos = Position {
                    balance: amount,
                    rate: st.reinvestment_yield,
                    maturity: t + deal.new_loan_term_months,
                    ltv_ppm: reinvest_ltv_ppm,
                };
                let at = match st.default_order {
                    DefaultOrder::HighestLtvFirst => {
                        positions.partition_point(|p| p.ltv_ppm >= pos.ltv_ppm)
                    }
                    DefaultOrder::ProRata => positions.len(),
                };
                positions.insert(at, pos);
            } else {
                released_queue += amount;
            }
        }
        if !revolving {
            released_queue += queue.values().copied().sum::<Decimal>();
            queue.clear();
        }
        let performing_start: Decimal = positions.iter().map(|p| p.balance).sum();

        // 2. Defaults scheduled by the timing curve, taken from performing loans in default order;
        //    never more than the defaults still to come.
        let idx = (t - 1) as usize;
        let remaining = (s.default_amount - cumulative).max(Decimal::ZERO);
        let scheduled = if idx + 1 == st.default_timing.len() {
            remaining
        } else if idx < st.default_timing.len() {
            min(r(s.default_amount * st.default_timing[idx]), remaining)
        } else {
            Decimal::ZERO
        };
        let mut to_default = min(scheduled, performing_start);
        let mut defaults = to_default;
        match st.default_order {
            DefaultOrder::HighestLtvFirst => {
                for p in positions.iter_mut() {
                    if to_default <= Decimal::ZERO {
                        break;
                    }
                    let d = min(p.balance, to_default);
                    p.balance -= d;
                    to_default -= d;
                }
            }
            DefaultOrder::ProRata => {
                // The largest obligors first, then every other loan in proportion to its balance.
                for p in positions.iter_mut().filter(|p| p.ltv_ppm == u64::MAX) {
                    let d = min(p.balance, to_default);
                    p.balance -= d;
                    to_default -= d;
                }
                let rest: Decimal = positions
                    .iter()
                    .filter(|p| p.ltv_ppm != u64::MAX)
                    .map(|p| p.balance)
                    .sum();
                if rest > Decimal::ZERO && to_default > Decimal::ZERO {
                    let share = to_default;
                    let mut taken = Decimal::ZERO;
                    let mut largest = 0;
                    for (i, p) in positions
                        .iter_mut()
                        .enumerate()
                        .filter(|(_, p)| p.ltv_ppm != u64::MAX)
                    {
                        let d = min(p.balance, r(p.balance * share / rest));
                        p.balance -= d;
                        taken += d;
                        if p.balance > Decimal::ZERO {
                            largest = i;
                        }
                    }
                    // The rounding residual on the last loan still performing.
                    let residual = share - taken;
                    if let Some(p) = positions.get_mut(largest) {
                        let d = min(p.balance, residual.max(Decimal::ZERO));
                        p.balance -= d;
                    }
                }
            }
        }

        // 3. Interest on performing loans (30/360: a month is 1/12 of a year), part in cash,
        //    the rest capitalized onto the loan.
        let mut interest_due = Decimal::ZERO;
        let mut interest_cash = Decimal::ZERO;
        for p in positions.iter_mut().filter(|p| p.balance > Decimal::ZERO) {
            let due = r(p.balance * p.rate / twelve);
            let cash = r(due * st.interest_cash_share);
            interest_due += due;
            interest_cash += cash;
            p.balance += due - cash;
        }
        let interest_capitalized = interest_due - interest_cash;

        // 4. Balloon maturities. While defaults are still to come, a maturing loan defaults on its
        //    balloon in the share `defaults still to come / performing balance` (all of it under a
        //    100% default rate); the rest repays in full, capitalized interest included. At the
        //    legal final everything still performing is taken to repay.
        let performing_now: Decimal = positions.iter().map(|p| p.balance).sum();
        let still_to_come = (s.default_amount - cumulative - defaults).max(Decimal::ZERO);
        let mut maturities = Decimal::ZERO;
        let mut balloon_defaults = Decimal::ZERO;
        positions.retain(|p| {
            if p.balance <= Decimal::ZERO {
                return false;
            }
            if p.maturity <= t || final_period {
                let d = if final_period || performing_now.is_zero() {
                    Decimal::ZERO
                } else {
                    min(
                        p.balance,
                        min(
                            r(p.balance * still_to_come / performing_now),
                            still_to_come - balloon_defaults,
                        ),
                    )
                };
                balloon_defaults += d;
                maturities += p.balance - d;
                false
            } else {
                true
            }
        });
        defaults += balloon_defaults;
        cumulative += defaults;
        let recovery = r(defaults * st.recovery_rate);
        *recoveries_due
            .entry(t + st.recovery_lag_months)
            .or_default() += recovery;

        // 5. Recoveries due now (and, at the legal final, every recovery still to come).
        let mut recoveries = recoveries_due.remove(&t).unwrap_or_default();
        if final_period {
            recoveries += recoveries_due.values().copied().sum::<Decimal>();
            recoveries_due.clear();
        }

        // 6. Available funds.
        let note_total: Decimal = balances.iter().sum();
        let target = r(deal.reserve_target_share * note_total);
        let reserve_release = if final_period {
            reserve
        } else if reserve > target {
            reserve - target
        } else {
            Decimal::ZERO
        };
        reserve -= reserve_release;
        let opening_cash = cash_on_hand;
        cash_on_hand = Decimal::ZERO;
        let available_start = interest_cash
            + maturities
            + recoveries
            + released_queue
            + reserve_release
            + opening_cash;
        let mut available = available_start;
        let principal_collections = maturities + recoveries;

        // 7. The waterfall of the phase.
        let fees_due = r(performing_start * st.servicing_fee_rate / twelve)
            + r(deal.trustee_fee / twelve)
            + fees_carried;
        let mut fees_paid = Decimal::ZERO;
        let mut interest_paid = vec![Decimal::ZERO; n_notes];
        let mut interest_short = vec![Decimal::ZERO; n_notes];
        let mut principal_paid = vec![Decimal::ZERO; n_notes];
        let mut reserve_draw = Decimal::ZERO;
        let mut reserve_top_up = Decimal::ZERO;
        let mut reinvested = Decimal::ZERO;
        let mut residual = Decimal::ZERO;
        let steps = if revolving {
            &deal.revolving_steps
        } else {
            &deal.amortizing_steps
        };
        for step in steps {
            match step {
                Step::Fees => {
                    fees_paid = min(available, fees_due);
                    available -= fees_paid;
                    fees_carried = fees_due - fees_paid;
                }
                Step::Interest { class } => {
                    let Some(k) = deal.notes.iter().position(|n| n.class == *class) else {
                        continue;
                    };
                    let due = r(balances[k] * deal.notes[k].coupon / twelve) + carried[k];
                    let mut paid = min(available, due);
                    available -= paid;
                    if paid < due && deal.reserve_covers.iter().any(|c| c == class) {
                        let draw = min(reserve, due - paid);
                        reserve -= draw;
                        reserve_draw += draw;
                        paid += draw;
                    }
                    interest_paid[k] = paid;
                    let short = due - paid;
                    interest_short[k] = short;
                    carried[k] = short;
                    if short > Decimal::ZERO {
                        shortfall_total[k] = shortfall_total[k].max(short);
                        if deal.notes[k].seniority == Seniority::Senior && first_fail[k].is_none() {
                            first_fail[k] = Some(t);
                        }
                    }
                }
                Step::ReserveTopUp => {
                    // Nothing is kept back in the last period.
                    let target = if final_period {
                        Decimal::ZERO
                    } else {
                        r(deal.reserve_target_share * balances.iter().sum::<Decimal>())
                    };
                    if reserve < target {
                        let add = min(available, target - reserve);
                        reserve += add;
                        reserve_top_up += add;
                        available -= add;
                    }
                }
                Step::Principal { class } => {
                    let Some(k) = deal.notes.iter().position(|n| n.class == *class) else {
                        continue;
                    };
                    let pay = min(available, balances[k]);
                    balances[k] -= pay;
                    principal_paid[k] += pay;
                    available -= pay;
                }
                Step::Reinvest => {
                    let amount = min(
                        available,
                        principal_collections + opening_cash + released_queue,
                    );
                    if amount > Decimal::ZERO {
                        *queue.entry(t + 1 + st.cash_drag_months).or_default() += amount;
                    }
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
        cash_on_hand += available;

        // 8. Reconciliation, to the cent: in = paid out + kept.
        let paid_out = fees_paid
            + interest_paid.iter().sum::<Decimal>()
            + principal_paid.iter().sum::<Decimal>()
            + residual;
        let kept = reinvested + reserve_top_up + cash_on_hand;
        let cash_in = available_start + reserve_draw;
        if cash_in != paid_out + kept {
            return Err(CashflowError::Conservation {
                period: t,
                date,
                cash_in,
                cash_out: paid_out + kept,
                difference: cash_in - paid_out - kept,
            });
        }

        let performing_end: Decimal = positions.iter().map(|p| p.balance).sum();
        periods.push(Period {
            period: t,
            date,
            revolving,
            performing_start,
            defaults,
            recoveries,
            interest_due,
            interest_cash,
            interest_capitalized,
            maturities,
            new_loans,
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
            performing_end,
            awaiting_reinvestment: queue.values().copied().sum(),
            reserve_end: reserve,
            note_balance_end: balances.clone(),
            cumulative_defaults: cumulative,
        });

        // 9. Triggers, tested after the waterfall; they end revolving from the next period.
        if revolving {
            let target = r(deal.reserve_target_share * balances.iter().sum::<Decimal>());
            let default_ratio = if initial_pool > Decimal::ZERO {
                cumulative / initial_pool
            } else {
                Decimal::ZERO
            };
            if t >= deal.revolving_months
                || default_ratio > deal.cumulative_default_trigger
                || (deal.reserve_trigger && reserve < target)
            {
                revolving = false;
            }
        }

        // Nothing left to pay, or nothing left to pay with: the run is over.
        let notes_done =
            balances.iter().all(|b| b.is_zero()) && carried.iter().all(|c| c.is_zero());
        if notes_done || final_period {
            break;
        }
    }

    let end = periods.last().map(|p| p.period).unwrap_or(last);
    let notes = deal
        .notes
        .iter()
        .enumerate()
        .map(|(k, n)| {
            let principal_loss = balances[k];
            let unpaid = carried[k];
            let (interest_shortfall, mut first) = match n.seniority {
                Seniority::Senior => (shortfall_total[k], first_fail[k]),
                Seniority::Subordinate => (unpaid, (unpaid > Decimal::ZERO).then_some(end)),
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
        .collect();
    Ok(Run { periods, notes })
}
