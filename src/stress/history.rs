//! The pool on the real BTC history, period by period: a [`CollateralModel`] that moves the loans
//! through the daily closes between two payment dates on the liquidation engine, and buys new
//! loans with the cash the waterfall redeploys while the deal revolves.
//!
//! `absrate replay --monthly-reports` runs the deal's waterfall over it (docs/replay.md, "Monthly
//! reports"). Nothing here is a rule of its own: each window of days goes through
//! [`liquidation::run`] with replay's terms (margin calls, answers, sales at the execution rule
//! less the gap); who answers is drawn as `rating::MarketPool` draws it (one ChaCha8 uniform per
//! loan, in tape order, from the seed), the stream going on for the loans bought later. The
//! engine's `f64` figures become money loan by loan through replay's one conversion
//! ([`super::replay::exact`]). What this model decides, and docs/replay.md states with sources:
//!
//! - **Interest** accrues daily (actual/365, simple, on the principal), rounded to the cent by
//!   the methodology's money rule over each window. On each payment date the interest accrued
//!   is due: the methodology's expected `interest_cash_share` of it is paid in cash, the rest is
//!   capitalized onto the loan (`capitalized_interest` grows with `principal`).
//! - **Maturities** renew: a loan reaching its balloon date rolls into a new term of the same
//!   length at its balance (`renewal_count` + 1), as Ledn renewed loans by capitalizing unpaid
//!   interest (published; the methodology's `balloon_in_margin_call: roll_over`). No maturity
//!   is repaid in cash, so principal collections are liquidation proceeds.
//! - **Liquidations**: a sold loan's principal on the last tape is a default; what the sale
//!   repaid is a recovery up to that principal, the rest (its accrued interest) interest
//!   collected; a shortfall is a loss; a surplus goes back to the borrower.
//! - **New loans** are bought on the payment date, at that day's close, on the deal file's
//!   `revolving.new_loans` terms: whole loans of `loan_size`, each to a new borrower; what does
//!   not make a whole loan waits in the reinvestment account for the next payment date.

use std::collections::HashSet;

use chrono::{Months, NaiveDate};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::liquidation::{self, Balloon, End, Execution, MarketLoan, MarketParams};
use super::replay::{exact, price_on};
use crate::asset::{CollateralModel, Collections, PeriodContext};
use crate::deal::NewLoanTerms;
use crate::money::Rounding;
use crate::tape::{LoanRecord, PriceSeries};

/// What the history model runs on: the pool file's collateral and market terms, the
/// methodology's expected interest behaviour, the deal's terms for new loans.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryTerms {
    pub margin_call_ltv: Decimal,
    pub liquidation_ltv: Decimal,
    pub cure_ltv: Decimal,
    /// Fall from the execution reference price to the sale price.
    pub gap: Decimal,
    pub execution: Execution,
    /// Share of borrowers who answer margin calls, and the seed of the draw.
    pub answer_share: f64,
    pub seed: u64,
    /// Share of the interest due on a payment date paid in cash; the rest is capitalized.
    pub interest_cash_share: Decimal,
    /// The deal's `revolving.new_loans` (a deal that never revolves buys none).
    pub new_loans: Option<NewLoanTerms>,
    /// Term of a new loan.
    pub new_loan_term_months: u32,
    pub rounding: Rounding,
}

/// One loan of the pool and whether its borrower answers margin calls.
#[derive(Debug, Clone, PartialEq)]
struct Position {
    record: LoanRecord,
    answers: bool,
}

/// A loan sold in a window, in money.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sold {
    /// Principal on the last tape that listed it.
    pub principal: Decimal,
    /// Balance owed at the sale: principal and interest accrued.
    pub balance: Decimal,
    /// What the sale repaid: `min(proceeds, balance)`.
    pub repaid: Decimal,
}

/// What one window of days did to the pool.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Window {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub sold: Vec<Sold>,
    /// Margin calls received and answered in the window.
    pub margin_calls: u64,
    pub calls_answered: u64,
    /// Balance / proceeds, largest over the loans sold for at least a cent (6 places).
    pub max_execution_ltv: Option<Decimal>,
    /// Loans that reached their balloon date and renewed.
    pub renewals: u64,
}

/// Loans liquidated since the cut-off: how many, and their principal on the last tape that
/// listed each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Liquidated {
    pub count: u64,
    pub balance: Decimal,
}

/// The pool on the real path: the loans as of `as_of`, the cash awaiting new loans, and what it
/// has liquidated so far. Not `Clone`: its answer draw is a stream that goes on (rand's
/// generators do not clone), so a run is not resumed from a copy of the pool.
#[derive(Debug)]
pub struct HistoryPool {
    terms: HistoryTerms,
    prices: PriceSeries,
    params: MarketParams,
    loans: Vec<Position>,
    /// The day the loans stand at (the last day of the last window).
    as_of: NaiveDate,
    /// Cash awaiting new loans.
    cash: Decimal,
    /// New loans bought since the last collection (the next period's `new_loans`).
    bought: Decimal,
    /// The answer draw, going on from the cut-off tape's loans to the loans bought later.
    draws: ChaCha8Rng,
    ids: HashSet<String>,
    new_count: u64,
    liquidated: Liquidated,
    /// Defaulted principal not recovered, since closing.
    losses: Decimal,
    /// The last window run.
    last: Window,
    /// The first engine figure that could not become money: reported by [`HistoryPool::failure`]
    /// (a [`CollateralModel`] call cannot fail).
    failure: Option<String>,
}

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(f64::NAN)
}

/// Whole months from `a` to `b` (at least 1): the length of a loan's term.
fn months_between(a: NaiveDate, b: NaiveDate) -> u32 {
    use chrono::Datelike;
    let m = (b.year() - a.year()) * 12 + b.month() as i32 - a.month() as i32;
    m.max(1) as u32
}

impl HistoryPool {
    /// The tape's loans as at `from` (day 0 of the first window), with who answers margin calls
    /// drawn from `terms.seed` in tape order, as `rating::MarketPool` draws it.
    pub fn new(
        records: Vec<LoanRecord>,
        prices: PriceSeries,
        from: NaiveDate,
        terms: HistoryTerms,
    ) -> Result<HistoryPool, String> {
        price_on(&prices, from)?;
        let mut draws = ChaCha8Rng::seed_from_u64(terms.seed);
        let loans: Vec<Position> = records
            .into_iter()
            .map(|record| Position {
                record,
                answers: draws.random::<f64>() < terms.answer_share,
            })
            .collect();
        let params = MarketParams {
            margin_call_ltv: f(terms.margin_call_ltv),
            liquidation_ltv: f(terms.liquidation_ltv),
            cure_ltv: f(terms.cure_ltv),
            gap: f(terms.gap),
            lag_days: 0,
            slippage: 0.0,
            impact: None,
            // Maturities renew (the module's documentation): the engine sees no balloon.
            balloon: Balloon::RollOver,
            execution: terms.execution,
        };
        Ok(HistoryPool {
            ids: loans.iter().map(|l| l.record.loan_id.clone()).collect(),
            terms,
            prices,
            params,
            loans,
            as_of: from,
            cash: Decimal::ZERO,
            bought: Decimal::ZERO,
            draws,
            new_count: 0,
            liquidated: Liquidated::default(),
            losses: Decimal::ZERO,
            last: Window {
                from,
                to: from,
                ..Window::default()
            },
            failure: None,
        })
    }

    /// Runs the days from the cut-off to `closing`: what was liquidated before closing, its
    /// repaid cash awaiting reinvestment (the deal as delivered at closing). These sales are not
    /// the deal's defaults; they count in [`HistoryPool::liquidated`].
    pub fn to_closing(&mut self, closing: NaiveDate) -> Result<&Window, String> {
        let w = self.advance(closing)?;
        self.cash += w.sold.iter().map(|s| s.repaid).sum::<Decimal>();
        self.last = w;
        Ok(&self.last)
    }

    /// The loans, in tape order then in the order bought.
    pub fn records(&self) -> impl Iterator<Item = &LoanRecord> {
        self.loans.iter().map(|l| &l.record)
    }

    pub fn loan_count(&self) -> usize {
        self.loans.len()
    }

    pub fn as_of(&self) -> NaiveDate {
        self.as_of
    }

    pub fn liquidated(&self) -> Liquidated {
        self.liquidated
    }

    /// Defaulted principal not recovered, since closing.
    pub fn losses(&self) -> Decimal {
        self.losses
    }

    /// Principal of the loans bought on the last payment date (not yet collected on).
    pub fn bought(&self) -> Decimal {
        self.bought
    }

    /// The last window of days run.
    pub fn last_window(&self) -> &Window {
        &self.last
    }

    /// The close on `date`.
    pub fn price_on(&self, date: NaiveDate) -> Result<Decimal, String> {
        price_on(&self.prices, date)
    }

    /// Why a collection could not be computed, if one could not.
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// The daily closes from `as_of` (day 0) to `to` through the liquidation engine: loans sold
    /// leave the pool, survivors keep their top-ups and accrue interest to `to`, balloon dates
    /// on or before `to` renew.
    fn advance(&mut self, to: NaiveDate) -> Result<Window, String> {
        let from = self.as_of;
        let days = (to - from).num_days();
        if days < 0 {
            return Err(format!(
                "internal error: the pool stands at {from}, cannot go back to {to}"
            ));
        }
        let path: Vec<f64> = (0..=days)
            .map(|d| price_on(&self.prices, from + chrono::Duration::days(d)).map(f))
            .collect::<Result<_, _>>()?;
        let market: Vec<MarketLoan> = self
            .loans
            .iter()
            .map(|l| MarketLoan {
                balance: f(l.record.principal + l.record.accrued_interest),
                principal: f(l.record.principal),
                rate: f(l.record.interest_rate),
                btc: f(l.record.collateral_btc),
                maturity_day: u32::MAX,
                answers: l.answers,
            })
            .collect();
        let outcomes = liquidation::run(&market, &path, &self.params);
        let r = self.terms.rounding;
        let mut w = Window {
            from,
            to,
            ..Window::default()
        };
        let mut max_ltv = f64::NEG_INFINITY;
        let mut kept = Vec::with_capacity(self.loans.len());
        for (mut l, o) in std::mem::take(&mut self.loans).into_iter().zip(&outcomes) {
            w.margin_calls += u64::from(o.margin_calls);
            w.calls_answered += u64::from(o.answered);
            match o.end {
                End::Liquidated(sale) => {
                    let balance = exact(sale.balance, 2)?;
                    let proceeds = exact(sale.proceeds, 2)?;
                    if proceeds > Decimal::ZERO {
                        max_ltv = max_ltv.max(sale.execution_ltv);
                    }
                    w.sold.push(Sold {
                        principal: l.record.principal,
                        balance,
                        repaid: proceeds.min(balance),
                    });
                }
                End::Outstanding | End::Repaid { .. } => {
                    let rec = &mut l.record;
                    rec.collateral_btc = exact(o.btc, 8)?;
                    rec.accrued_interest += r.round(
                        rec.principal * rec.interest_rate * Decimal::from(days)
                            / Decimal::from(365),
                    );
                    while rec.maturity_date <= to {
                        let term = months_between(rec.origination_date, rec.maturity_date);
                        let Some(next) = rec.maturity_date.checked_add_months(Months::new(term))
                        else {
                            break;
                        };
                        let price = price_on(&self.prices, rec.maturity_date)?;
                        rec.origination_ltv = ltv(rec.principal, rec.collateral_btc, price);
                        rec.origination_date = rec.maturity_date;
                        rec.maturity_date = next;
                        rec.renewal_count += 1;
                        w.renewals += 1;
                    }
                    kept.push(l);
                }
            }
        }
        self.loans = kept;
        if max_ltv.is_finite() {
            w.max_execution_ltv = Some(exact(max_ltv, 6)?);
        }
        self.liquidated.count += w.sold.len() as u64;
        self.liquidated.balance += w.sold.iter().map(|s| s.principal).sum::<Decimal>();
        self.as_of = to;
        Ok(w)
    }

    /// Whole loans of the deal's `loan_size` bought with the cash awaiting reinvestment, on
    /// `as_of` at that day's close.
    fn buy(&mut self) -> Result<(), String> {
        let Some(t) = &self.terms.new_loans else {
            return Err("the deal revolves but states no `revolving.new_loans`".into());
        };
        let size = t.loan_size.value;
        let price = price_on(&self.prices, self.as_of)?;
        let maturity = self
            .as_of
            .checked_add_months(Months::new(self.terms.new_loan_term_months))
            .ok_or_else(|| format!("a loan made on {} has no maturity date", self.as_of))?;
        while self.cash >= size {
            self.new_count += 1;
            let mut id = format!("N{:06}", self.new_count);
            while self.ids.contains(&id) {
                self.new_count += 1;
                id = format!("N{:06}", self.new_count);
            }
            self.ids.insert(id.clone());
            let btc = (size / (t.ltv.value * price))
                .round_dp_with_strategy(8, rust_decimal::RoundingStrategy::MidpointNearestEven);
            let record = LoanRecord {
                borrower_id: format!("NB{:06}", self.new_count),
                loan_id: id,
                origination_date: self.as_of,
                maturity_date: maturity,
                principal: size,
                interest_rate: t.interest_rate.value,
                collateral_btc: btc,
                original_principal: size,
                capitalized_interest: Decimal::ZERO,
                renewal_count: 0,
                accrued_interest: Decimal::ZERO,
                state: "other".into(),
                origination_ltv: Some(t.ltv.value),
            };
            self.loans.push(Position {
                record,
                answers: self.draws.random::<f64>() < self.terms.answer_share,
            });
            self.cash -= size;
            self.bought += size;
        }
        Ok(())
    }
}

/// `principal / (btc x price)` to 6 places (a tape's LTV), or `None` without collateral.
fn ltv(principal: Decimal, btc: Decimal, price: Decimal) -> Option<Decimal> {
    principal
        .checked_div(btc * price)
        .map(|x| x.round_dp_with_strategy(6, rust_decimal::RoundingStrategy::MidpointNearestEven))
        .filter(|x| *x > Decimal::ZERO)
}

impl CollateralModel<Decimal> for HistoryPool {
    fn collect(&mut self, ctx: &PeriodContext) -> Collections<Decimal> {
        let r = self.terms.rounding;
        // Cash awaiting reinvestment once revolving has ended goes to available funds.
        let released_cash = if ctx.revolving {
            Decimal::ZERO
        } else {
            std::mem::take(&mut self.cash)
        };
        let new_loans = std::mem::take(&mut self.bought);
        let performing_start = self.performing();
        let w = match self.advance(ctx.date) {
            Ok(w) => w,
            Err(e) => {
                self.failure.get_or_insert(e);
                return Collections {
                    performing_start,
                    new_loans,
                    released_cash,
                    performing_end: performing_start,
                    ..Collections::default()
                };
            }
        };
        // Sales: principal recovered first, the rest of what was repaid is interest collected.
        let defaults: Decimal = w.sold.iter().map(|s| s.principal).sum();
        let recoveries: Decimal = w.sold.iter().map(|s| s.repaid.min(s.principal)).sum();
        let sale_interest: Decimal = w
            .sold
            .iter()
            .map(|s| s.repaid - s.repaid.min(s.principal))
            .sum();
        self.losses += defaults - recoveries;
        // The payment date: interest accrued is due, part paid in cash, the rest capitalized.
        let (mut due, mut cash) = (Decimal::ZERO, Decimal::ZERO);
        for l in &mut self.loans {
            let rec = &mut l.record;
            let d = rec.accrued_interest;
            let c = r.round(d * self.terms.interest_cash_share);
            rec.principal += d - c;
            rec.capitalized_interest += d - c;
            rec.accrued_interest = Decimal::ZERO;
            due += d;
            cash += c;
        }
        // The final period: every loan still performing repays.
        let scheduled_principal = if ctx.final_period {
            let repaid = self.performing();
            self.loans.clear();
            repaid
        } else {
            Decimal::ZERO
        };
        self.last = w;
        Collections {
            performing_start,
            new_loans,
            released_cash,
            defaults,
            interest_due: due + sale_interest,
            interest_cash: cash + sale_interest,
            interest_capitalized: due - cash,
            scheduled_principal,
            unscheduled_principal: Decimal::ZERO,
            recoveries,
            performing_end: self.performing(),
        }
    }

    /// Called on the payment date while the deal revolves: the cash joins what awaits
    /// reinvestment, and whole new loans are bought with it that day.
    fn reinvest(&mut self, _period: u32, amount: Decimal) {
        self.cash += amount;
        if let Err(e) = self.buy() {
            self.failure.get_or_insert(e);
        }
    }

    fn awaiting_reinvestment(&self) -> Decimal {
        self.cash
    }

    fn exhausted(&self, _period: u32) -> bool {
        self.loans.is_empty() && self.cash.is_zero()
    }

    fn performing(&self) -> Decimal {
        self.loans.iter().map(|l| l.record.principal).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deal::Sourced;
    use crate::money::RoundingStrategy;
    use rust_decimal::dec;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn sourced(value: Decimal) -> Sourced<Decimal> {
        Sourced {
            value,
            source: "test".into(),
        }
    }

    fn terms() -> HistoryTerms {
        HistoryTerms {
            margin_call_ltv: dec!(0.70),
            liquidation_ltv: dec!(0.80),
            cure_ltv: dec!(0.50),
            gap: dec!(0.004),
            execution: Execution::Trigger,
            answer_share: 0.0,
            seed: 1,
            interest_cash_share: dec!(0.9),
            new_loans: Some(NewLoanTerms {
                ltv: sourced(dec!(0.5)),
                interest_rate: sourced(dec!(0.1)),
                loan_size: sourced(dec!(1000)),
            }),
            new_loan_term_months: 12,
            rounding: Rounding {
                money_places: 2,
                strategy: RoundingStrategy::HalfEven,
            },
        }
    }

    fn loan(id: &str, principal: Decimal, btc: Decimal) -> LoanRecord {
        LoanRecord {
            loan_id: id.into(),
            borrower_id: format!("B{id}"),
            origination_date: day("2025-06-01"),
            maturity_date: day("2026-01-10"),
            principal,
            interest_rate: dec!(0.0365),
            collateral_btc: btc,
            original_principal: principal,
            capitalized_interest: Decimal::ZERO,
            renewal_count: 0,
            accrued_interest: Decimal::ZERO,
            state: "CA".into(),
            origination_ltv: Some(dec!(0.5)),
        }
    }

    /// Ten days at $100,000 then a fall to $60,000: the loan at 75% LTV is sold on the fall, the
    /// one at 25% accrues, renews at its balloon date and is charged its interest on the
    /// payment date, 90% in cash.
    #[test]
    fn a_period_on_a_path_sells_accrues_renews_and_collects() {
        let mut prices: Vec<Decimal> = vec![dec!(100000); 10];
        prices.extend([dec!(60000); 11]);
        let series = PriceSeries {
            path: "p.csv".into(),
            first: day("2026-01-01"),
            prices,
        };
        let loans = vec![
            loan("L1", dec!(75000), dec!(1)),
            loan("L2", dec!(25000), dec!(1)),
        ];
        let mut pool = HistoryPool::new(loans, series, day("2026-01-01"), terms()).unwrap();
        let ctx = PeriodContext {
            period: 1,
            date: day("2026-01-21"),
            revolving: true,
            final_period: false,
        };
        let c = pool.collect(&ctx);
        assert_eq!(pool.failure(), None);
        assert_eq!(c.balance_break(), None);
        assert_eq!(c.defaults, dec!(75000));
        // Sold on day 10 at the trigger price less 0.4%: 75,075 owed, proceeds 93,468.38.
        assert_eq!(c.recoveries, dec!(75000));
        assert_eq!(c.interest_cash - c.interest_capitalized * dec!(9), dec!(75));
        // 25,000 x 3.65% x 20 / 365 = 50.00: 45.00 in cash, 5.00 capitalized.
        assert_eq!(c.interest_capitalized, dec!(5.00));
        assert_eq!(c.performing_end, dec!(25005.00));
        let l2: Vec<&LoanRecord> = pool.records().collect();
        assert_eq!(l2.len(), 1);
        assert_eq!(l2[0].capitalized_interest, dec!(5.00));
        assert_eq!(l2[0].renewal_count, 1);
        assert_eq!(
            (l2[0].origination_date, l2[0].maturity_date),
            (day("2026-01-10"), day("2026-08-10"))
        );
        assert_eq!(
            pool.liquidated(),
            Liquidated {
                count: 1,
                balance: dec!(75000)
            }
        );
        // The recovered $75,000 buys 75 loans of $1,000 at 50% LTV at $60,000.
        pool.reinvest(1, c.principal());
        assert_eq!(pool.awaiting_reinvestment(), Decimal::ZERO);
        let new: Vec<&LoanRecord> = pool.records().skip(1).collect();
        assert_eq!(new.len(), 75);
        assert_eq!(new[0].collateral_btc, dec!(0.03333333));
        assert_eq!(new[0].loan_id, "N000001");
        assert_eq!(new[0].maturity_date, day("2027-01-21"));
    }

    /// The answer draw is the rating's (`MarketPool`): one uniform per tape loan from the seed.
    #[test]
    fn who_answers_is_drawn_as_the_rating_draws_it() {
        let deal =
            crate::deal::Deal::load(std::path::Path::new("pools/ledn-2026-1/deal.yaml")).unwrap();
        let records = crate::tape::Tape::read(&deal.pool.tape)
            .unwrap()
            .records()
            .unwrap();
        let expected = crate::rating::MarketPool::new(&records, &deal, 7).loans(0.5);
        let series = PriceSeries {
            path: "p.csv".into(),
            first: deal.pool.cutoff.date,
            prices: vec![dec!(100000)],
        };
        let t = HistoryTerms {
            answer_share: 0.5,
            seed: 7,
            ..terms()
        };
        let pool = HistoryPool::new(records, series, deal.pool.cutoff.date, t).unwrap();
        assert_eq!(pool.loans.len(), expected.len());
        assert!(pool.loans.iter().any(|l| l.answers));
        for (l, m) in pool.loans.iter().zip(&expected) {
            assert_eq!(l.answers, m.answers, "{}", l.record.loan_id);
        }
    }
}
