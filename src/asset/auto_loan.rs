//! Amortizing auto loans: level monthly payments, prepayments at an ABS speed, defaults from a
//! cumulative amount spread by a timing curve, recoveries after a lag (docs/auto.md, "The
//! collateral model").
//!
//! The pool is a list of [`Line`]s: each contract alone, or contracts grouped by remaining term,
//! APR and age ([`group`]); a line amortizes as one contract of its balance. Within a period, in
//! this order: defaults (shared pro rata by balance), interest, the scheduled payment, prepayment,
//! recoveries. Every amount is rounded by the methodology's money rule where docs/auto.md says.
//! The model never knows the notes; the waterfall never knows these are auto loans.

use rust_decimal::Decimal;

use super::{CollateralModel, Collections, PeriodContext};
use crate::money::{Amount, Rounding};
use crate::tape::AutoLoan;

/// A level's terms for this collateral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmortizingTerms {
    /// Gross defaults over the run, USD.
    pub default_amount: Decimal,
    /// Share of `default_amount` in each month from closing; sums to 1.
    pub default_timing: Vec<Decimal>,
    pub recovery_rate: Decimal,
    pub recovery_lag_months: u32,
    /// Prepayment speed, ABS convention: the share of the original number of contracts that
    /// prepays each month (`0.015` is 1.5% ABS).
    pub abs_speed: Decimal,
    pub rounding: Rounding,
}

/// One contract, or contracts grouped into one that amortizes alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub balance: Decimal,
    /// Annual rate (`0.121`).
    pub apr: Decimal,
    /// Scheduled payments left at the cut-off (at least 1).
    pub remaining: u32,
    /// Months since origination at the cut-off.
    pub age: u32,
    /// Contracts in the line.
    pub contracts: u32,
}

impl Line {
    pub fn of(l: &AutoLoan) -> Line {
        Line {
            balance: l.principal,
            apr: l.interest_rate,
            remaining: l.remaining_term_months,
            age: l.age_months(),
            contracts: 1,
        }
    }
}

/// How contracts are grouped into lines: same remaining term, APR within the same `apr_bucket`
/// (`0.01`: one point), age within the same `age_bucket_months`. A line's APR is the
/// balance-weighted APR of its contracts (6 places, half to even), its age the balance-weighted
/// age (whole months).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grouping {
    pub apr_bucket: Decimal,
    pub age_bucket_months: u32,
}

/// A group being built: balance, sum of balance x APR, sum of balance x age, contracts.
type Bucket = (Decimal, Decimal, Decimal, u32);

/// `loans` grouped into lines (see [`Grouping`]), in order of remaining term, APR bucket, age
/// bucket; `None` keeps one line per contract, in tape order.
pub fn group(loans: &[AutoLoan], g: Option<Grouping>) -> Vec<Line> {
    let Some(g) = g else {
        return loans.iter().map(Line::of).collect();
    };
    use std::collections::BTreeMap;
    // key -> (balance, sum balance x apr, sum balance x age, contracts)
    let mut buckets: BTreeMap<(u32, i64, u32), Bucket> = BTreeMap::new();
    for l in loans {
        let apr_key = (l.interest_rate / g.apr_bucket).floor();
        let apr_key = i64::try_from(apr_key.mantissa()).unwrap_or(0) / 10i64.pow(apr_key.scale());
        let age_key = l.age_months() / g.age_bucket_months.max(1);
        let e = buckets
            .entry((l.remaining_term_months, apr_key, age_key))
            .or_default();
        e.0 += l.principal;
        e.1 += l.principal * l.interest_rate;
        e.2 += l.principal * Decimal::from(l.age_months());
        e.3 += 1;
    }
    buckets
        .into_iter()
        .map(|((remaining, _, _), (b, ba, bage, n))| Line {
            balance: b,
            apr: (ba / b).round_dp(6),
            remaining,
            age: (bage / b).round().try_into().unwrap_or(0),
            contracts: n,
        })
        .collect()
}

/// Places kept of the factors the model multiplies balances by (annuity factors, single monthly
/// mortalities): 12, half to even. A balance below 10^12 cents moves
/// by less than a hundredth of a cent, and products of such a factor and an amount of money stay
/// within 96 bits, rust_decimal's fast path.
pub const FACTOR_PLACES: u32 = 12;

fn factor(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(
        FACTOR_PLACES,
        rust_decimal::RoundingStrategy::MidpointNearestEven,
    )
}

/// The annuity factors of a monthly rate `r`: `a[m - 1] = r / (1 - (1 + r)^-m)`, the level
/// payment per unit of balance with `m` payments left (`1 / m` when `r` is zero).
fn annuity(r: Decimal, months: u32) -> Vec<Decimal> {
    let v = Decimal::ONE / (Decimal::ONE + r);
    let mut vm = Decimal::ONE;
    (1..=months)
        .map(|m| {
            if r.is_zero() {
                return Decimal::ONE / Decimal::from(m);
            }
            vm *= v;
            r / (Decimal::ONE - vm)
        })
        .collect()
}

#[derive(Debug, Clone)]
struct LineState<A> {
    balance: A,
    /// Annual rate; a month's interest is `round(balance x apr / 12)`.
    apr: A,
    /// Annuity factors by payments left (index `m - 1`).
    annuity: std::sync::Arc<Vec<A>>,
    remaining: u32,
    age: u32,
}

/// An amortizing auto-loan pool under one scenario, in the number type `A`.
#[derive(Debug, Clone)]
pub struct AmortizingPool<A = Decimal> {
    lines: Vec<LineState<A>>,
    /// `round(default_amount x timing[t])`, the last month of the curve taking what is left.
    scheduled: Vec<A>,
    default_amount: A,
    defaulted: A,
    recovery_rate: A,
    recovery_lag: u32,
    /// Single monthly mortality by loan age (index = age), from the ABS speed.
    smm: Vec<A>,
    /// Recoveries due, by period index.
    recoveries: Vec<A>,
    /// Cash handed back for reinvestment (an auto deal does not revolve): released next period.
    held: A,
    performing: A,
    rounding: Rounding,
    /// Each line's share of the period's defaults (kept to reuse its allocation).
    parts: Vec<A>,
}

/// The single monthly mortality of a contract `age` months old at ABS speed `abs`:
/// `abs / (1 - abs x (age - 1))`, 1 once the denominator reaches `abs` (every contract of the
/// original count has then prepaid).
pub fn smm(abs: Decimal, age: u32) -> Decimal {
    let d = Decimal::ONE - abs * Decimal::from(age.saturating_sub(1));
    if d <= abs { Decimal::ONE } else { abs / d }
}

/// The annuity tables of a set of lines in the number type `A`, computed once and shared by every
/// run over those lines (a rating runs the same lines a few hundred times).
#[derive(Debug, Clone)]
pub struct Tables<A> {
    /// Per line, its annuity factors by payments left (lines of one APR share a table).
    per_line: Vec<std::sync::Arc<Vec<A>>>,
}

impl<A: Amount> Tables<A> {
    pub fn of(lines: &[Line]) -> Tables<A> {
        let twelve = Decimal::from(12);
        let max_remaining = lines.iter().map(|l| l.remaining).max().unwrap_or(0);
        let mut by_apr: std::collections::HashMap<Decimal, std::sync::Arc<Vec<A>>> =
            std::collections::HashMap::new();
        let per_line = lines
            .iter()
            .map(|l| {
                by_apr
                    .entry(l.apr)
                    .or_insert_with(|| {
                        std::sync::Arc::new(
                            annuity(l.apr / twelve, max_remaining)
                                .into_iter()
                                .map(|a| A::ratio(factor(a)))
                                .collect(),
                        )
                    })
                    .clone()
            })
            .collect();
        Tables { per_line }
    }
}

impl<A: Amount> AmortizingPool<A> {
    pub fn new(lines: &[Line], terms: &AmortizingTerms) -> AmortizingPool<A> {
        AmortizingPool::with_tables(lines, &Tables::of(lines), terms)
    }

    /// The pool over `lines` whose annuity tables are `tables` ([`Tables::of`] the same lines).
    pub fn with_tables(
        lines: &[Line],
        tables: &Tables<A>,
        terms: &AmortizingTerms,
    ) -> AmortizingPool<A> {
        let r = terms.rounding;
        let states = lines
            .iter()
            .zip(&tables.per_line)
            .map(|(l, table)| LineState {
                balance: A::money(l.balance, r),
                apr: A::ratio(l.apr),
                annuity: table.clone(),
                remaining: l.remaining,
                age: l.age,
            })
            .collect::<Vec<_>>();
        let max_age = lines.iter().map(|l| l.age + l.remaining).max().unwrap_or(0) + 2;
        let performing = states.iter().map(|s| s.balance).sum();
        AmortizingPool {
            parts: Vec::with_capacity(states.len()),
            lines: states,
            scheduled: terms
                .default_timing
                .iter()
                .map(|share| A::money(r.round(terms.default_amount * share), r))
                .collect(),
            default_amount: A::money(terms.default_amount, r),
            defaulted: A::ZERO,
            recovery_rate: A::ratio(terms.recovery_rate),
            recovery_lag: terms.recovery_lag_months,
            smm: (0..=max_age)
                .map(|age| A::ratio(factor(smm(terms.abs_speed, age))))
                .collect(),
            recoveries: Vec::new(),
            held: A::ZERO,
            performing,
            rounding: r,
        }
    }

    /// The defaults scheduled for period `t` (1-based), at most the performing balance.
    fn scheduled_defaults(&self, t: u32) -> A {
        let left = self.default_amount - self.defaulted;
        let n = self.scheduled.len() as u32;
        let d = if t == 0 || t > n {
            A::ZERO
        } else if t == n {
            left
        } else {
            self.scheduled[(t - 1) as usize].min(left)
        };
        d.max(A::ZERO).min(self.performing)
    }

    /// Shares `amount` among the lines pro rata by balance (`round(balance x (amount /
    /// performing))`, at most the balance), the rounding residual settled from the last line
    /// backwards, so exactly `amount` is taken. Returns each line's part.
    fn share(&self, amount: A, out: &mut Vec<A>) {
        out.clear();
        let r = self.rounding;
        let total = self.performing;
        if amount.is_zero() || total.is_zero() {
            out.resize(self.lines.len(), A::ZERO);
            return;
        }
        let mut taken = A::ZERO;
        // One division a period: every line takes `round(balance x (amount / performing))`.
        let ratio = amount / total;
        for l in &self.lines {
            let part = if amount >= total {
                l.balance
            } else {
                (l.balance * ratio).round_by(r).min(l.balance)
            };
            taken += part;
            out.push(part);
        }
        let mut residual = amount - taken;
        for (k, l) in self.lines.iter().enumerate().rev() {
            if residual.is_zero() {
                break;
            }
            if residual > A::ZERO {
                let room = l.balance - out[k];
                let add = residual.min(room);
                out[k] += add;
                residual -= add;
            } else {
                let back = (-residual).min(out[k]);
                out[k] -= back;
                residual += back;
            }
        }
    }
}

impl<A: Amount> CollateralModel<A> for AmortizingPool<A> {
    fn collect(&mut self, ctx: &PeriodContext) -> Collections<A> {
        let t = ctx.period;
        let r = self.rounding;
        let performing_start = self.performing;
        let released = std::mem::replace(&mut self.held, A::ZERO);

        // 1. Defaults, shared pro rata by balance.
        let defaults = self.scheduled_defaults(t);
        let mut parts = std::mem::take(&mut self.parts);
        self.share(defaults, &mut parts);

        // 2-4. Interest, the scheduled payment, prepayment, line by line.
        let (mut interest, mut scheduled, mut prepaid) = (A::ZERO, A::ZERO, A::ZERO);
        let mut end = A::ZERO;
        for (l, d) in self.lines.iter_mut().zip(&parts) {
            let b = l.balance - *d;
            if b.is_zero() || l.remaining == 0 {
                l.balance = b;
                end += b;
                continue;
            }
            let i = (b * l.apr).twelfth(r);
            let sched = if l.remaining == 1 {
                b
            } else {
                let payment = (b * l.annuity[(l.remaining - 1) as usize]).round_by(r);
                (payment - i).max(A::ZERO).min(b)
            };
            let rest = b - sched;
            let age = (l.age + t) as usize;
            let pp = if ctx.final_period {
                rest
            } else {
                let m = self.smm[age.min(self.smm.len() - 1)];
                if m >= A::ONE {
                    rest
                } else {
                    (rest * m).round_by(r).min(rest)
                }
            };
            interest += i;
            scheduled += sched;
            prepaid += pp;
            l.balance = rest - pp;
            l.remaining -= 1;
            end += l.balance;
        }
        self.parts = parts;
        self.defaulted += defaults;
        self.performing = end;

        // 5. Recoveries: this period's defaults recover after the lag; in the last period,
        // everything still to come.
        let due_at = (t + self.recovery_lag) as usize;
        if self.recoveries.len() <= due_at {
            self.recoveries.resize(due_at + 1, A::ZERO);
        }
        self.recoveries[due_at] += (defaults * self.recovery_rate).round_by(r);
        let recoveries = if ctx.final_period {
            let all = self.recoveries[t as usize..].iter().copied().sum();
            self.recoveries.truncate(t as usize);
            all
        } else {
            std::mem::replace(&mut self.recoveries[t as usize], A::ZERO)
        };

        Collections {
            performing_start,
            new_loans: A::ZERO,
            released_cash: released,
            defaults,
            interest_due: interest,
            interest_cash: interest,
            interest_capitalized: A::ZERO,
            scheduled_principal: scheduled,
            unscheduled_principal: prepaid,
            recoveries,
            performing_end: end,
        }
    }

    fn reinvest(&mut self, _period: u32, amount: A) {
        self.held += amount;
    }

    fn awaiting_reinvestment(&self) -> A {
        self.held
    }

    fn exhausted(&self, period: u32) -> bool {
        self.performing.is_zero()
            && self.held.is_zero()
            && self
                .recoveries
                .get(period as usize..)
                .is_none_or(|r| r.iter().all(|a| a.is_zero()))
    }

    fn performing(&self) -> A {
        self.performing
    }
}

/// The pool's scheduled cash flows (interest and scheduled principal per period, no defaults
/// and no prepayments) over `periods` periods, in `Decimal`: what [`group`] must keep.
pub fn scheduled_flows(lines: &[Line], periods: u32, rounding: Rounding) -> Vec<Decimal> {
    let mut pool = AmortizingPool::<Decimal>::new(
        lines,
        &AmortizingTerms {
            default_amount: Decimal::ZERO,
            default_timing: vec![Decimal::ONE],
            recovery_rate: Decimal::ZERO,
            recovery_lag_months: 0,
            abs_speed: Decimal::ZERO,
            rounding,
        },
    );
    (1..=periods)
        .map(|t| {
            let c = pool.collect(&PeriodContext {
                period: t,
                date: chrono::NaiveDate::MIN,
                revolving: false,
                final_period: false,
            });
            c.interest_cash + c.scheduled_principal
        })
        .collect()
}
