//! BTC-backed bullet loans: interest monthly (part in cash, the rest capitalized), principal at a
//! balloon date, defaults scheduled by a cumulative amount and a timing curve, recoveries after a
//! lag, and, while the deal revolves, new loans bought with principal collections.
//!
//! Steps 1-5 of each period in `docs/model.md` section 2, in that order; every amount is rounded
//! by the methodology's money rule at the points the model names.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{CollateralModel, Collections, PeriodContext};
use crate::methodology::DefaultOrder;
use crate::money::{Amount, Rounding, Total};
use crate::tape::PoolLoan;

/// A level's terms for this collateral: how much defaults and when, what is recovered, how
/// interest is paid and what reinvestment buys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulletTerms {
    /// Cumulative defaults over the run, in money.
    pub default_amount: Decimal,
    /// Share of `default_amount` scheduled in each month from closing; sums to 1.
    pub default_timing: Vec<Decimal>,
    pub default_order: DefaultOrder,
    pub recovery_rate: Decimal,
    pub recovery_lag_months: u32,
    pub interest_cash_share: Decimal,
    pub reinvestment_yield: Decimal,
    pub reinvestment_ltv: Decimal,
    pub cash_drag_months: u32,
    /// Term of loans bought while revolving (the deal's).
    pub new_loan_term_months: u32,
    pub rounding: Rounding,
}

/// [`BulletTerms`] in the pool's number type, converted once when the pool is built.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Terms<A> {
    default_amount: A,
    /// `round(default_amount x timing[t])` for each month of the curve (exact, in `Decimal`);
    /// the curve's last month takes what is left instead.
    scheduled: Vec<A>,
    default_order: DefaultOrder,
    recovery_rate: A,
    recovery_lag_months: u32,
    interest_cash_share: A,
    reinvestment_yield: A,
    /// `reinvestment_ltv` in millionths, truncated: where new loans stand in the default order.
    reinvestment_ltv_ppm: u64,
    cash_drag_months: u32,
    new_loan_term_months: u32,
    rounding: Rounding,
}

impl<A: Amount> Terms<A> {
    fn of(t: &BulletTerms) -> Terms<A> {
        let r = t.rounding;
        let ppm = (t.reinvestment_ltv * Decimal::from(1_000_000)).trunc();
        Terms {
            default_amount: A::money(t.default_amount, r),
            scheduled: t
                .default_timing
                .iter()
                .map(|share| A::money(r.round(t.default_amount * share), r))
                .collect(),
            default_order: t.default_order,
            recovery_rate: A::ratio(t.recovery_rate),
            recovery_lag_months: t.recovery_lag_months,
            interest_cash_share: A::ratio(t.interest_cash_share),
            reinvestment_yield: A::ratio(t.reinvestment_yield),
            reinvestment_ltv_ppm: ppm.try_into().unwrap_or(0),
            cash_drag_months: t.cash_drag_months,
            new_loan_term_months: t.new_loan_term_months,
            rounding: r,
        }
    }
}

/// One loan of the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position<A> {
    balance: A,
    rate: A,
    /// Period in which it repays.
    maturity: u32,
    /// Current LTV in millionths; `u64::MAX` for a forced default (a top obligor).
    ltv_ppm: u64,
}

const FORCED: u64 = u64::MAX;

/// The pool as it stands between two periods, in the number type `A` (exact `Decimal` by
/// default; `f64` for simulation, see [`Amount`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulletPool<A = Decimal> {
    terms: Terms<A>,
    /// Performing loans in default order.
    positions: Vec<Position<A>>,
    /// Cash awaiting reinvestment, by the period it becomes new loans.
    queue: BTreeMap<u32, A>,
    /// Recoveries by the period they are collected.
    recoveries_due: BTreeMap<u32, A>,
    /// Defaults taken so far (the schedule's progress).
    defaulted: A,
}

/// The first period whose payment date is on or after `date` (1-based; the last period for dates
/// after the legal final). `dates` ascend.
fn period_of(dates: &[NaiveDate], date: NaiveDate) -> u32 {
    let i = dates.partition_point(|d| *d < date);
    if i < dates.len() {
        i as u32 + 1
    } else {
        dates.len() as u32
    }
}

impl<A: Amount> BulletPool<A> {
    /// The pool at closing: `loans` (credited balances, in default order) with maturities mapped
    /// onto the payment `dates`.
    pub fn new(loans: &[PoolLoan], dates: &[NaiveDate], terms: BulletTerms) -> BulletPool<A> {
        let r = terms.rounding;
        let positions = loans
            .iter()
            .filter(|l| l.balance > Decimal::ZERO)
            .map(|l| Position {
                balance: A::money(l.balance, r),
                rate: A::ratio(l.rate),
                maturity: period_of(dates, l.maturity),
                // The largest obligors default first: ahead of any LTV.
                ltv_ppm: if l.forced_default { FORCED } else { l.ltv_ppm },
            })
            .collect();
        BulletPool {
            terms: Terms::of(&terms),
            positions,
            queue: BTreeMap::new(),
            recoveries_due: BTreeMap::new(),
            defaulted: A::ZERO,
        }
    }

    /// The pool under other terms (another scenario's defaults and recoveries), for a pool that
    /// has not yet collected a period: `BulletPool::new(loans, dates, terms)` without converting
    /// the loans again.
    pub fn restate(&mut self, terms: &BulletTerms) {
        self.terms = Terms::of(terms);
    }

    /// Step 1: cash awaiting reinvestment becomes new loans while revolving, else cash.
    fn buy(&mut self, ctx: &PeriodContext) -> (A, A) {
        let t = ctx.period;
        let mut new_loans = A::ZERO;
        let mut released = A::ZERO;
        while let Some(entry) = self.queue.first_entry() {
            if *entry.key() > t {
                break;
            }
            let amount = entry.remove();
            if ctx.revolving && amount.is_positive() {
                new_loans += amount;
                let pos = Position {
                    balance: amount,
                    rate: self.terms.reinvestment_yield,
                    // Saturating: a term past the last period repays in the final period.
                    maturity: t.saturating_add(self.terms.new_loan_term_months),
                    ltv_ppm: self.terms.reinvestment_ltv_ppm,
                };
                // After every loan of equal or higher LTV (highest LTV first), or last (pro rata).
                let at = match self.terms.default_order {
                    DefaultOrder::HighestLtvFirst => {
                        self.positions.partition_point(|p| p.ltv_ppm >= pos.ltv_ppm)
                    }
                    DefaultOrder::ProRata => self.positions.len(),
                };
                self.positions.insert(at, pos);
            } else {
                released += amount;
            }
        }
        if !ctx.revolving {
            released += self.queue.values().copied().sum::<A>();
            self.queue.clear();
        }
        (new_loans, released)
    }

    /// Step 2: the scheduled defaults of the period, taken in default order. Returns the amount
    /// actually taken (never more than scheduled, never more than the pool).
    fn default_scheduled(&mut self, period: u32, performing_start: A) -> A {
        let idx = (period - 1) as usize;
        let months = self.terms.scheduled.len();
        let remaining = (self.terms.default_amount - self.defaulted).max(A::ZERO);
        let scheduled = if idx + 1 == months {
            remaining
        } else if idx < months {
            self.terms.scheduled[idx].min(remaining)
        } else {
            A::ZERO
        };
        let target = scheduled.min(performing_start);
        match self.terms.default_order {
            DefaultOrder::HighestLtvFirst => take_in_order(&mut self.positions, target),
            DefaultOrder::ProRata => {
                // The largest obligors first, then every other loan in proportion to its balance.
                let forced =
                    take_in_order_where(&mut self.positions, target, |p| p.ltv_ppm == FORCED);
                forced + self.take_pro_rata(target - forced)
            }
        }
    }

    /// `amount` taken from the loans other than forced defaults in proportion to their balances,
    /// each share rounded by the money rule; the rounding residual is settled on the last loan
    /// still performing (a positive residual, taking from the loans before it if the last cannot
    /// bear it) or on the last loan that took a share (a negative residual, given back). The
    /// amount taken is exactly `amount`, or the whole rest of the pool if it is smaller.
    fn take_pro_rata(&mut self, amount: A) -> A {
        let rest: A = self
            .positions
            .iter()
            .filter(|p| p.ltv_ppm != FORCED)
            .map(|p| p.balance)
            .sum();
        if rest <= A::ZERO || amount <= A::ZERO {
            return A::ZERO;
        }
        if amount >= rest {
            return take_in_order_where(&mut self.positions, amount, |p| p.ltv_ppm != FORCED);
        }
        let rounding = self.terms.rounding;
        let mut taken = A::ZERO;
        let mut shares = vec![A::ZERO; self.positions.len()];
        for (i, p) in self.positions.iter_mut().enumerate() {
            if p.ltv_ppm == FORCED {
                continue;
            }
            let d = p
                .balance
                .min((p.balance * amount / rest).round_by(rounding));
            p.balance -= d;
            shares[i] = d;
            taken += d;
        }
        let residual = amount - taken;
        if residual > A::ZERO {
            // From the last loan still performing backwards.
            let mut left = residual;
            for p in self.positions.iter_mut().rev() {
                if left <= A::ZERO {
                    break;
                }
                if p.ltv_ppm == FORCED || p.balance <= A::ZERO {
                    continue;
                }
                let d = p.balance.min(left);
                p.balance -= d;
                left -= d;
            }
            taken += residual - left;
        } else if residual < A::ZERO {
            // Given back to the last loans that took a share, at most what each took.
            let mut over = -residual;
            for (p, s) in self.positions.iter_mut().zip(&shares).rev() {
                if over <= A::ZERO {
                    break;
                }
                let back = (*s).min(over);
                p.balance += back;
                over -= back;
            }
            taken -= -residual - over;
        }
        taken
    }
}

/// Takes up to `amount` from the positions in order; returns what was taken.
fn take_in_order<A: Amount>(positions: &mut [Position<A>], amount: A) -> A {
    take_in_order_where(positions, amount, |_| true)
}

fn take_in_order_where<A: Amount>(
    positions: &mut [Position<A>],
    amount: A,
    eligible: impl Fn(&Position<A>) -> bool,
) -> A {
    let mut left = amount;
    for p in positions.iter_mut().filter(|p| eligible(p)) {
        if !left.is_positive() {
            break;
        }
        let d = p.balance.min(left);
        p.balance -= d;
        left -= d;
    }
    amount - left
}

impl<A: Amount> CollateralModel<A> for BulletPool<A> {
    fn collect(&mut self, ctx: &PeriodContext) -> Collections<A> {
        let t = ctx.period;
        // 1. New loans, or cash released once revolving has ended.
        let (new_loans, released_cash) = self.buy(ctx);
        let performing_start = self.performing();

        // 2. Scheduled defaults.
        let mut defaults = self.default_scheduled(t, performing_start);

        // 3. Interest on performing loans (30/360: a month is 1/12 of a year), part in cash, the
        //    rest capitalized onto the loan.
        let rounding = self.terms.rounding;
        let cash_share = self.terms.interest_cash_share;
        // The performing balance after capitalization is summed on the way (the pool's sums are
        // the engine's costliest loops: `Amount::Total`).
        let (mut due_total, mut cash_total, mut now_total) = (
            A::Total::default(),
            A::Total::default(),
            A::Total::default(),
        );
        for p in self.positions.iter_mut() {
            if p.balance.is_positive() {
                let due = (p.balance * p.rate).twelfth(rounding);
                let cash = (due * cash_share).round_by(rounding);
                due_total.add(due);
                cash_total.add(cash);
                p.balance += due - cash;
            }
            now_total.add(p.balance);
        }
        let (interest_due, interest_cash) = (due_total.get(), cash_total.get());
        let interest_capitalized = interest_due - interest_cash;
        let performing_now = now_total.get();

        // 4. Balloon maturities. While defaults are still to come, a maturing loan defaults on its
        //    balloon in the share `defaults still to come / performing balance` (computed once per
        //    period, after capitalization); the rest repays in full, capitalized interest
        //    included. In the final period everything still performing is taken to repay.
        let still_to_come = (self.terms.default_amount - self.defaulted - defaults).max(A::ZERO);
        let (mut maturities, mut balloon_defaults) = (A::ZERO, A::ZERO);
        // What stays performing, summed on the way; the loans kept are moved up in place (the
        // loop of `Vec::retain`, written out so that it compiles to one loop).
        let mut end_total = A::Total::default();
        let mut kept = 0;
        for i in 0..self.positions.len() {
            let p = self.positions[i];
            if !p.balance.is_positive() {
                continue;
            }
            if p.maturity > t && !ctx.final_period {
                end_total.add(p.balance);
                self.positions[kept] = p;
                kept += 1;
                continue;
            }
            let d = if ctx.final_period || performing_now.is_zero() {
                A::ZERO
            } else {
                p.balance
                    .min((p.balance * still_to_come / performing_now).round_by(rounding))
                    .min(still_to_come - balloon_defaults)
            };
            balloon_defaults += d;
            maturities += p.balance - d;
        }
        self.positions.truncate(kept);
        defaults += balloon_defaults;
        self.defaulted += defaults;
        let recovery = (defaults * self.terms.recovery_rate).round_by(rounding);
        *self
            .recoveries_due
            .entry(t.saturating_add(self.terms.recovery_lag_months))
            .or_default() += recovery;

        // 5. Recoveries due now (and, in the final period, every recovery still to come).
        let mut recoveries = self.recoveries_due.remove(&t).unwrap_or_default();
        if ctx.final_period {
            recoveries += self.recoveries_due.values().copied().sum::<A>();
            self.recoveries_due.clear();
        }

        Collections {
            performing_start,
            new_loans,
            released_cash,
            defaults,
            interest_due,
            interest_cash,
            interest_capitalized,
            scheduled_principal: maturities,
            unscheduled_principal: A::ZERO,
            recoveries,
            performing_end: end_total.get(),
        }
    }

    fn reinvest(&mut self, period: u32, amount: A) {
        if amount > A::ZERO {
            let at = period
                .saturating_add(1)
                .saturating_add(self.terms.cash_drag_months);
            *self.queue.entry(at).or_default() += amount;
        }
    }

    fn awaiting_reinvestment(&self) -> A {
        self.queue.values().copied().sum()
    }

    fn exhausted(&self, period: u32) -> bool {
        self.positions.iter().all(|p| p.balance.is_zero())
            && self.queue.values().all(|v| v.is_zero())
            && self
                .recoveries_due
                .range(period..)
                .all(|(_, v)| v.is_zero())
    }

    fn performing(&self) -> A {
        A::Total::of(self.positions.iter().map(|p| p.balance))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::RoundingStrategy;
    use rust_decimal::dec;

    const FIRST: PeriodContext = PeriodContext {
        period: 1,
        date: NaiveDate::from_ymd_opt(2026, 2, 1).expect("a date"),
        revolving: false,
        final_period: false,
    };

    fn loan(id: &str, balance: Decimal) -> PoolLoan {
        PoolLoan {
            loan_id: id.into(),
            balance,
            rate: dec!(0.12),
            maturity: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
            ltv_ppm: 500_000,
            forced_default: false,
            capitalized: false,
        }
    }

    fn dates() -> Vec<NaiveDate> {
        (1..=24)
            .map(|m| NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Months::new(m))
            .collect()
    }

    fn pro_rata_pool(
        balances: &[Decimal],
        amount: Decimal,
        strategy: RoundingStrategy,
    ) -> BulletPool {
        let loans: Vec<PoolLoan> = balances
            .iter()
            .enumerate()
            .map(|(i, b)| loan(&format!("L{i}"), *b))
            .collect();
        BulletPool::new(
            &loans,
            &dates(),
            BulletTerms {
                default_amount: amount,
                ..terms(DefaultOrder::ProRata, strategy)
            },
        )
    }

    fn terms(default_order: DefaultOrder, strategy: RoundingStrategy) -> BulletTerms {
        BulletTerms {
            default_amount: Decimal::ZERO,
            default_timing: vec![dec!(0.5), dec!(0.5)],
            default_order,
            recovery_rate: dec!(0.5),
            recovery_lag_months: 1,
            interest_cash_share: Decimal::ONE,
            reinvestment_yield: dec!(0.1),
            reinvestment_ltv: dec!(0.5),
            cash_drag_months: 0,
            new_loan_term_months: 12,
            rounding: Rounding {
                money_places: 2,
                strategy,
            },
        }
    }

    /// Three equal loans sharing a default of $0.02 each round up to a cent: the shares add to
    /// $0.03 against $0.02 scheduled. The residual is given back, so the pool loses exactly what
    /// defaults say, and the balance identity holds.
    #[test]
    fn pro_rata_shares_that_round_up_are_given_back() {
        for strategy in [
            RoundingStrategy::HalfEven,
            RoundingStrategy::HalfUp,
            RoundingStrategy::Down,
        ] {
            let mut pool = pro_rata_pool(&[dec!(1); 3], dec!(0.04), strategy);
            let c = pool.collect(&FIRST);
            assert_eq!(c.defaults, dec!(0.02), "{strategy:?}");
            assert_eq!(c.balance_break(), None, "{strategy:?}: {c:?}");
            assert_eq!(c.performing_start - c.defaults, dec!(2.98));
        }
    }

    #[test]
    fn pro_rata_shares_that_round_down_take_the_residual_from_the_last_loan() {
        let mut pool = pro_rata_pool(
            &[dec!(1), dec!(1), dec!(1)],
            dec!(0.02),
            RoundingStrategy::Down,
        );
        let c = pool.collect(&FIRST);
        // $0.01 scheduled: each share 0.00333 rounds down to 0; the last loan takes the cent.
        assert_eq!(c.defaults, dec!(0.01));
        assert_eq!(c.balance_break(), None);
        assert_eq!(
            pool.positions[2].balance,
            dec!(0.99) + c.interest_capitalized
        );
    }

    /// Random pools collected period by period in both number types, pro rata (not a shipped
    /// methodology's order, so not in the engines' agreement test) and highest LTV first, every
    /// strategy, revolving then not: the same collections to the cent, every period.
    #[test]
    fn the_pool_collects_the_same_in_f64_and_decimal() {
        use rand::rngs::ChaCha8Rng;
        use rand::{RngExt, SeedableRng};
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let dates = dates();
        let cent = dec!(0.01);
        for case in 0..60 {
            let loans: Vec<PoolLoan> = (0..rng.random_range(1..300))
                .map(|i| PoolLoan {
                    loan_id: format!("L{i}").into(),
                    balance: Decimal::new(rng.random_range(1..500_000_000), 2),
                    rate: Decimal::new(rng.random_range(500..1800), 4),
                    maturity: dates[rng.random_range(0..dates.len())],
                    ltv_ppm: rng.random_range(300_000..900_000),
                    forced_default: rng.random_range(0..20) == 0,
                    capitalized: false,
                })
                .collect();
            let total: Decimal = loans.iter().map(|l| l.balance).sum();
            let strategy = [
                RoundingStrategy::HalfEven,
                RoundingStrategy::HalfUp,
                RoundingStrategy::Down,
            ][case % 3];
            let order = [DefaultOrder::ProRata, DefaultOrder::HighestLtvFirst][case % 2];
            let terms = BulletTerms {
                default_amount: (total * Decimal::new(rng.random_range(0..=100), 2)).round_dp(2),
                default_timing: vec![dec!(0.3), dec!(0.3), dec!(0.2), dec!(0.2)],
                recovery_rate: Decimal::new(rng.random_range(0..=1_000_000), 6),
                recovery_lag_months: rng.random_range(0..4),
                interest_cash_share: dec!(0.8),
                reinvestment_ltv: dec!(0.55),
                cash_drag_months: 1,
                new_loan_term_months: 6,
                ..terms(order, strategy)
            };
            let r = terms.rounding;
            let mut exact: BulletPool = BulletPool::new(&loans, &dates, terms.clone());
            let mut fast: BulletPool<f64> = BulletPool::new(&loans, &dates, terms);
            for t in 1..=dates.len() as u32 {
                let ctx = PeriodContext {
                    period: t,
                    date: dates[t as usize - 1],
                    revolving: t <= 6,
                    final_period: t == dates.len() as u32,
                };
                let (e, f) = (exact.collect(&ctx), fast.collect(&ctx));
                assert_eq!(e.balance_break(), None);
                assert_eq!(f.balance_break(), None);
                let pairs = [
                    (e.performing_start, f.performing_start),
                    (e.new_loans, f.new_loans),
                    (e.released_cash, f.released_cash),
                    (e.defaults, f.defaults),
                    (e.interest_due, f.interest_due),
                    (e.interest_cash, f.interest_cash),
                    (e.scheduled_principal, f.scheduled_principal),
                    (e.recoveries, f.recoveries),
                    (e.performing_end, f.performing_end),
                ];
                for (k, (a, b)) in pairs.into_iter().enumerate() {
                    let b = b.to_money(r);
                    assert!(
                        (a - b).abs() <= cent,
                        "case {case} period {t} figure {k}: {a} / {b}"
                    );
                }
                // Reinvest what matured, as a revolving deal would.
                exact.reinvest(t, e.scheduled_principal);
                fast.reinvest(t, f.scheduled_principal);
            }
        }
    }
}
