//! Rating a deal from its servicer reports: each report's deal state rated from its payment date
//! to the legal final, the figures an analyst follows month by month, and the cause of every
//! rating move.
//!
//! A report is rated as the deal whose closing is that report ([`rebase`]): closing on the
//! report's date, notes at the reported balances, the pool of its tape valued at its BTC price,
//! and an [`Opening`] carrying what the report states that a new deal does not have (reserve,
//! reinvestment account, carried amounts, defaults since the original closing, the trigger's
//! base). The methodology's stresses run from that date; the engine starts from the report's
//! state (`DealState::open`), the seam a test holds to a deal file stating the same opening.

use rust_decimal::Decimal;
use serde::Serialize;

use super::Report;
use crate::deal::{Deal, DealState, Opening, Phase};
use crate::methodology::{Methodology, Notch};
use crate::rating::{self, BreakEven, BreakEvens, PoolCache, RatingError, RatingResult};
use crate::tape::LoanRecord;

/// A surveillance run: every report of a deal rated (`absrate surveil`, built by
/// `crate::app::surveil`).
#[derive(Debug)]
pub struct SurveilRun {
    pub deal: Deal,
    pub methodology: Methodology,
    /// The directory of the reports.
    pub reports: std::path::PathBuf,
    pub origin: Origin,
    pub watches: Vec<Watch>,
}

/// What the deal looked like at its cut-off, the base of "to date" figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    /// Loans on the cut-off tape.
    pub loans: u64,
    /// Their principal: the base of the cumulative-default trigger.
    pub pool: Decimal,
}

impl Origin {
    pub fn of(loans: &[LoanRecord]) -> Origin {
        Origin {
            loans: loans.len() as u64,
            pool: loans.iter().map(|l| l.principal).sum(),
        }
    }
}

/// The deal whose closing is `report`: rated from its payment date to the legal final. `state`
/// is the report's deal state with each note's record carried through the series
/// ([`super::deal_states`]). `None` when the report is dated the last payment date: nothing is
/// left to rate.
pub fn rebase(deal: &Deal, report: &Report, state: &DealState) -> Option<Deal> {
    let first_payment = *deal.payment_dates().get(report.period as usize)?;
    let mut d = deal.clone();
    d.closing = report.payment_date;
    d.first_payment = first_payment;
    d.cash_at_closing = report.collection_cash;
    for (n, f) in d.notes.iter_mut().zip(&report.notes) {
        n.balance = f.balance;
    }
    d.revolving_months = match report.phase {
        Phase::Revolving => deal.revolving_months.saturating_sub(report.period),
        _ => 0,
    };
    d.pool.tape = report.tape.path().to_path_buf();
    d.pool.cutoff.date = report.payment_date;
    d.pool.cutoff.btc_price = report.btc_price;
    d.opening = Some(Opening {
        phase: report.phase,
        reserve: report.reserve,
        reinvestment_cash: report.reinvestment_cash,
        fees_carried: report.fees_carried,
        interest_carried: report.notes.iter().map(|n| n.interest_carried).collect(),
        shortfall_before: state.records.iter().map(|r| r.max_shortfall).collect(),
        cumulative_defaults: report.cumulative_defaults,
        initial_pool: state.initial_pool,
    });
    Some(d)
}

/// Rates `report` (its state `state`) under `m`.
pub fn rate_report(
    deal: &Deal,
    report: &Report,
    state: &DealState,
    m: &Methodology,
    break_evens: BreakEvens,
) -> Result<Option<RatingResult>, RatingError> {
    let Some(d) = rebase(deal, report, state) else {
        return Ok(None);
    };
    rating::rate_with(&report.tape, &d, m, &mut PoolCache::default(), break_evens).map(Some)
}

/// What changed from one report to the next, tried one at a time on the earlier report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// The BTC price the collateral is valued at.
    Price,
    /// The loans (the tape) and the cash of the collection and reinvestment accounts.
    Pool,
    /// The note balances, the reserve and the carried amounts.
    Notes,
}

impl Cause {
    pub const ALL: [Cause; 3] = [Cause::Price, Cause::Pool, Cause::Notes];

    /// As JSON and CSV write it.
    pub fn key(self) -> &'static str {
        match self {
            Cause::Price => "price",
            Cause::Pool => "pool",
            Cause::Notes => "notes",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Cause::Price => "the price",
            Cause::Pool => "the pool",
            Cause::Notes => "the note balances",
        }
    }

    /// The earlier report with this group of figures taken from the later one.
    fn apply(self, before: &Report, after: &Report) -> Report {
        let mut r = before.clone();
        match self {
            Cause::Price => r.btc_price = after.btc_price,
            Cause::Pool => {
                r.tape = after.tape.clone();
                r.loans = after.loans.clone();
                r.collection_cash = after.collection_cash;
                r.reinvestment_cash = after.reinvestment_cash;
            }
            Cause::Notes => {
                r.notes = after.notes.clone();
                r.reserve = after.reserve;
                r.fees_carried = after.fees_carried;
            }
        }
        r
    }
}

/// A note's rating move from one report to the next and what moves it alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Move {
    pub from: Option<Notch>,
    pub to: Option<Notch>,
    /// The groups of figures that, taken alone from the later report into the earlier one, move
    /// the note's rating in the same direction. Empty: no group alone does (the month passing,
    /// or the groups together).
    pub causes: Vec<Cause>,
}

/// One note on one report.
#[derive(Debug, Clone, Serialize)]
pub struct NoteWatch {
    pub class: String,
    pub balance: Decimal,
    /// (Loans + cash + reserve - this class and those senior to it) / loans.
    pub credit_support: Option<Decimal>,
    pub indicated: Option<Notch>,
    pub quantitative: Option<Notch>,
    pub break_even: Option<BreakEven>,
    pub published: Option<String>,
    /// Against the report before; `None` on the first report or when the rating held.
    #[serde(skip_serializing_if = "Option::is_none", rename = "move")]
    pub moved: Option<Move>,
}

/// One report: its figures and its notes' ratings.
#[derive(Debug, Clone, Serialize)]
pub struct Watch {
    pub payment_date: chrono::NaiveDate,
    pub period: u32,
    pub phase: &'static str,
    pub btc_price: Decimal,
    pub loans: u64,
    pub loan_balance: Decimal,
    pub collateral_btc: Decimal,
    /// Collection and reinvestment accounts.
    pub cash: Decimal,
    pub reserve: Decimal,
    /// Cash / (loans + cash).
    pub cash_share: Option<Decimal>,
    /// Loan balance / (collateral BTC x price).
    pub pool_ltv: Option<Decimal>,
    /// The BTC prices at which the pool's LTV reaches the margin-call LTV, the liquidation LTV
    /// and 100%.
    pub price_at_margin_call: Option<Decimal>,
    pub price_at_liquidation: Option<Decimal>,
    pub price_at_full_ltv: Option<Decimal>,
    pub liquidated_loans: u64,
    /// Loans liquidated since closing / loans on the cut-off tape.
    pub liquidated_share: Option<Decimal>,
    pub notes: Vec<NoteWatch>,
    /// The report is dated the last payment date: nothing is left to rate.
    pub rated: bool,
}

fn ratio(a: Decimal, b: Decimal) -> Option<Decimal> {
    (b > Decimal::ZERO).then(|| a / b)
}

/// Rounded for display and JSON: ratios to 6 places, prices to the cent (half to even).
fn r6(d: Option<Decimal>) -> Option<Decimal> {
    d.map(|d| d.round_dp(6))
}

impl Watch {
    /// The report's figures; notes without ratings.
    pub fn figures(deal: &Deal, report: &Report, origin: Origin) -> Watch {
        let loan_balance = report.pool_balance();
        let collateral_btc: Decimal = report.loans.iter().map(|l| l.collateral_btc).sum();
        let cash = report.collection_cash + report.reinvestment_cash;
        let terms = &deal.pool.collateral_terms;
        let price_at =
            |ltv: Decimal| ratio(loan_balance, ltv * collateral_btc).map(|p| p.round_dp(2));
        let mut above = Decimal::ZERO;
        let collateral = loan_balance + cash + report.reserve;
        let notes = deal
            .notes
            .iter()
            .zip(&report.notes)
            .map(|(n, f)| {
                above += f.balance;
                NoteWatch {
                    class: n.class.clone(),
                    balance: f.balance,
                    credit_support: r6(ratio(collateral - above, loan_balance)),
                    indicated: None,
                    quantitative: None,
                    break_even: None,
                    published: n.rating_published.clone(),
                    moved: None,
                }
            })
            .collect();
        Watch {
            payment_date: report.payment_date,
            period: report.period,
            phase: super::phase_name(report.phase),
            btc_price: report.btc_price,
            loans: report.loans.len() as u64,
            loan_balance,
            collateral_btc,
            cash,
            reserve: report.reserve,
            cash_share: r6(ratio(cash, loan_balance + cash)),
            pool_ltv: r6(ratio(loan_balance, collateral_btc * report.btc_price)),
            price_at_margin_call: price_at(terms.margin_call_ltv),
            price_at_liquidation: price_at(terms.liquidation_ltv),
            price_at_full_ltv: price_at(Decimal::ONE),
            liquidated_loans: report.liquidations.count,
            liquidated_share: r6(ratio(
                Decimal::from(report.liquidations.count),
                Decimal::from(origin.loans),
            )),
            notes,
            rated: false,
        }
    }
}

/// Every report rated under `m`, in date order, each note's move against the report before
/// with its causes. `progress` is called after each report.
pub fn watch(
    deal: &Deal,
    reports: &[Report],
    origin: Origin,
    m: &Methodology,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<Watch>, RatingError> {
    let states = super::deal_states(reports, origin.pool);
    let mut out: Vec<Watch> = Vec::with_capacity(reports.len());
    for (i, (report, state)) in reports.iter().zip(&states).enumerate() {
        let mut w = Watch::figures(deal, report, origin);
        if let Some(result) = rate_report(deal, report, state, m, BreakEvens::Search)? {
            w.rated = true;
            for (nw, nr) in w.notes.iter_mut().zip(&result.notes) {
                nw.indicated = nr.indicated;
                nw.quantitative = nr.quantitative;
                nw.break_even = nr.break_even.clone();
            }
        }
        if let Some(prev) = out.last().filter(|p| p.rated && w.rated) {
            let moved: Vec<usize> = (0..w.notes.len())
                .filter(|&k| prev.notes[k].indicated != w.notes[k].indicated)
                .collect();
            if !moved.is_empty() {
                let before = &reports[i - 1];
                let mut alone = Vec::new();
                for cause in Cause::ALL {
                    let hybrid = cause.apply(before, report);
                    let r = rate_report(deal, &hybrid, &states[i - 1], m, BreakEvens::Skip)?
                        .ok_or_else(|| {
                            RatingError::Internal("an earlier report has nothing to rate".into())
                        })?;
                    alone.push((cause, r));
                }
                for k in moved {
                    let (from, to) = (prev.notes[k].indicated, w.notes[k].indicated);
                    let causes = alone
                        .iter()
                        .filter(|(_, r)| {
                            let got = r.notes[k].indicated;
                            got != from && direction(from, got) == direction(from, to)
                        })
                        .map(|(c, _)| *c)
                        .collect();
                    w.notes[k].moved = Some(Move { from, to, causes });
                }
            }
        }
        out.push(w);
        progress(i + 1);
    }
    Ok(out)
}

/// Up (+1), down (-1) or none, on the rating scale ('B-' above no rating).
fn direction(from: Option<Notch>, to: Option<Notch>) -> i8 {
    // A lower index is a higher rating; no rating is below 'B-'.
    let rank = |n: Option<Notch>| n.map_or(-1, |n| 100 - n.index() as i32);
    (rank(to) - rank(from)).signum() as i8
}
