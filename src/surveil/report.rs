//! One servicer report, checked: its figures against the limits and against the deal file, its
//! tape validated, and the deal state it describes ([`Report::deal_state`]).

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_saphyr::Spanned;

use super::error::SurveilError;
use super::wire::{ReportFile, ReportPhase, Trigger};
use crate::deal::{Deal, DealState, NoteRecord, Phase};
use crate::limits::Written;
use crate::tape::{LoanRecord, Tape};

/// A note class's figures after the payment date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteFigures {
    pub class: String,
    pub balance: Decimal,
    pub interest_carried: Decimal,
}

/// Loans liquidated since the pool's cut-off (before closing included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Liquidations {
    pub count: u64,
    /// The balance each liquidated loan had on the last tape that listed it, summed.
    pub balance: Decimal,
}

/// A checked servicer report and its tape.
#[derive(Debug, Clone)]
pub struct Report {
    /// The `report.yaml` it was read from.
    pub path: PathBuf,
    /// The payment date the report follows, or the closing date for the closing report.
    pub payment_date: NaiveDate,
    /// 0 for the closing report, else the payment date's number (1 for the first).
    pub period: u32,
    pub btc_price: Decimal,
    /// Revolving, amortizing or accelerated (never wound up: a report follows a payment date of
    /// a live deal).
    pub phase: Phase,
    pub triggers_breached: Vec<Trigger>,
    /// In the deal file's note order.
    pub notes: Vec<NoteFigures>,
    pub fees_carried: Decimal,
    pub reserve: Decimal,
    pub collection_cash: Decimal,
    pub reinvestment_cash: Decimal,
    pub cumulative_defaults: Decimal,
    pub cumulative_losses: Decimal,
    pub liquidations: Liquidations,
    pub tape: Tape,
    /// The tape's loans, in its row order.
    pub loans: Vec<LoanRecord>,
}

/// Where the parser found a value, when it knows.
fn located<T>(s: &Spanned<T>) -> Option<(usize, usize)> {
    let l = s.referenced;
    (l.line() > 0).then(|| (l.line() as usize, l.column() as usize))
}

/// Order of the phases: a deal moves only forward through them (docs/surveillance.md).
pub(crate) fn phase_rank(p: Phase) -> u8 {
    match p {
        Phase::Revolving => 0,
        Phase::Amortizing => 1,
        Phase::Accelerated => 2,
        Phase::WoundUp => 3,
    }
}

/// The phase as a report writes it.
pub fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::Revolving => "revolving",
        Phase::Amortizing => "amortizing",
        Phase::Accelerated => "accelerated",
        Phase::WoundUp => "wound_up",
    }
}

impl Report {
    /// Reads `path` (a `report.yaml`) and its tape, and checks every rule of
    /// docs/surveillance.md that concerns one report: limits, the deal's name, its classes, its
    /// dates (a payment date, or the closing for the closing report, period 0), the period, the
    /// phase and the triggers.
    pub fn load(path: &Path, deal: &Deal) -> Result<Report, SurveilError> {
        let w: ReportFile = crate::yaml::load(path)?;
        let invalid = |location: Option<(usize, usize)>, field: &str, message: String| {
            SurveilError::Invalid {
                path: path.to_path_buf(),
                location,
                field: field.to_string(),
                message,
            }
        };
        let money = |field: &str, s: &Spanned<Written>| {
            s.value
                .money(false)
                .map_err(|e| invalid(located(s), field, e))
        };
        if w.deal.value != deal.name {
            return Err(invalid(
                located(&w.deal),
                "deal",
                format!(
                    "`{}` is not the deal being followed: {} names it `{}`",
                    w.deal.value,
                    deal.path.display(),
                    deal.name
                ),
            ));
        }
        let date = w.payment_date.value;
        if date < deal.closing {
            return Err(invalid(
                located(&w.payment_date),
                "payment_date",
                format!("{date} is before the deal's closing, {}", deal.closing),
            ));
        }
        // The closing report is period 0, dated the closing (the deal as delivered); every
        // other report follows a payment date.
        let index = deal.payment_dates().iter().position(|d| *d == date);
        let period = match index {
            Some(i) => i as u32 + 1,
            None if date == deal.closing => 0,
            None => {
                return Err(invalid(
                    located(&w.payment_date),
                    "payment_date",
                    format!(
                        "{date} is not a payment date of the deal (monthly from {} to {})",
                        deal.first_payment, deal.legal_final
                    ),
                ));
            }
        };
        if w.period.value != period {
            let date_is = match period {
                0 => "the deal's closing: the closing report is period 0".to_string(),
                _ => format!("the deal's payment date number {period}"),
            };
            return Err(invalid(
                located(&w.period),
                "period",
                format!("is {}, but {date} is {date_is}", w.period.value),
            ));
        }
        let btc_price = w
            .btc_price
            .value
            .price()
            .map_err(|e| invalid(located(&w.btc_price), "btc_price", e))?;
        let phase = match w.phase.value {
            ReportPhase::Revolving => Phase::Revolving,
            ReportPhase::Amortizing => Phase::Amortizing,
            ReportPhase::Accelerated => Phase::Accelerated,
        };
        // The engine leaves the revolving phase after payment date `revolving.months`
        // (`waterfall::Engine`, step 9): a report from that date on cannot revolve.
        if phase == Phase::Revolving && period >= deal.revolving_months {
            return Err(invalid(
                located(&w.phase),
                "phase",
                format!(
                    "revolving after payment date {period}, but the deal revolves for {} months (its revolving period ends with payment date {})",
                    deal.revolving_months, deal.revolving_months
                ),
            ));
        }
        let mut triggers_breached = Vec::new();
        for (i, t) in w.triggers_breached.iter().enumerate() {
            let field = format!("triggers_breached[{}]", i + 1);
            if triggers_breached.contains(&t.value) {
                return Err(invalid(
                    located(t),
                    &field,
                    format!("`{}` is listed twice", t.value.name()),
                ));
            }
            // A breached trigger ends the revolving period (docs/deal.md, triggers).
            if phase == Phase::Revolving {
                return Err(invalid(
                    located(t),
                    &field,
                    format!(
                        "`{}` is breached but the phase is revolving: a breached trigger ends the revolving period",
                        t.value.name()
                    ),
                ));
            }
            triggers_breached.push(t.value);
        }
        let classes = deal
            .notes
            .iter()
            .map(|n| n.class.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        if w.notes.len() != deal.notes.len() {
            return Err(invalid(
                None,
                "notes",
                format!(
                    "lists {} classes, the deal has {} ({classes}): list each class once, in the deal's order",
                    w.notes.len(),
                    deal.notes.len()
                ),
            ));
        }
        let mut notes = Vec::new();
        for (i, (sn, dn)) in w.notes.iter().zip(&deal.notes).enumerate() {
            let n = &sn.value;
            let field = |key: &str| format!("notes[{}].{key}", i + 1);
            if n.class != dn.class {
                return Err(invalid(
                    located(sn),
                    &field("class"),
                    format!(
                        "is `{}`, the deal's class {} is `{}` (classes: {classes}, in this order)",
                        n.class,
                        i + 1,
                        dn.class
                    ),
                ));
            }
            notes.push(NoteFigures {
                class: n.class.clone(),
                balance: money(&field("balance"), &n.balance)?,
                interest_carried: money(&field("interest_carried"), &n.interest_carried)?,
            });
        }
        let cumulative_defaults = money("cumulative_defaults", &w.cumulative_defaults)?;
        let cumulative_losses = money("cumulative_losses", &w.cumulative_losses)?;
        // Defaults and losses count from closing: at closing there are none (loans liquidated
        // between the cut-off and closing are in `cumulative_liquidations`, their cash in the
        // reinvestment account).
        if period == 0 {
            for (field, value, s) in [
                (
                    "cumulative_defaults",
                    cumulative_defaults,
                    &w.cumulative_defaults,
                ),
                ("cumulative_losses", cumulative_losses, &w.cumulative_losses),
            ] {
                if value != Decimal::ZERO {
                    return Err(invalid(
                        located(s),
                        field,
                        format!(
                            "is {value} in the closing report: defaults and losses count from closing (a loan liquidated before closing is counted in cumulative_liquidations only)"
                        ),
                    ));
                }
            }
        }
        // A loss is the part of a defaulted balance that was not recovered.
        if cumulative_losses > cumulative_defaults {
            return Err(invalid(
                located(&w.cumulative_losses),
                "cumulative_losses",
                format!(
                    "{cumulative_losses} is above cumulative_defaults {cumulative_defaults}: a loss is the part of a defaulted balance that was not recovered"
                ),
            ));
        }
        let report = Report {
            path: path.to_path_buf(),
            payment_date: date,
            period,
            btc_price,
            phase,
            triggers_breached,
            notes,
            fees_carried: money("fees_carried", &w.fees_carried)?,
            reserve: money("reserve", &w.reserve)?,
            collection_cash: money("collection_account", &w.collection_account)?,
            reinvestment_cash: money("reinvestment_account", &w.reinvestment_account)?,
            cumulative_defaults,
            cumulative_losses,
            liquidations: Liquidations {
                count: w.cumulative_liquidations.count,
                balance: money(
                    "cumulative_liquidations.balance",
                    &w.cumulative_liquidations.balance,
                )?,
            },
            tape: Tape::read(&path.parent().unwrap_or(Path::new("")).join(&w.tape)).map_err(
                |e| SurveilError::Tape {
                    report: path.to_path_buf(),
                    source: Box::new(e),
                },
            )?,
            loans: Vec::new(),
        };
        let loans = report.tape.records().map_err(|e| SurveilError::Tape {
            report: path.to_path_buf(),
            source: Box::new(e),
        })?;
        Ok(Report { loans, ..report })
    }

    /// The pool balance: the tape's principal, summed exactly.
    pub fn pool_balance(&self) -> Decimal {
        self.loans.iter().map(|l| l.principal).sum()
    }

    /// The deal state this report describes, for the engine to resume from
    /// (`Engine::new(deal, terms, state, collateral)`), with `initial_pool` the base of the
    /// cumulative-default trigger as the rating sees the closing pool (a report does not state
    /// it: the methodology's credit decides it). The reinvestment account is not part of the
    /// deal state: it is cash awaiting new loans, held by the collateral model with the tape's
    /// loans ([`crate::asset::CollateralModel::awaiting_reinvestment`]).
    ///
    /// A note's record is what this report shows: interest carried is the shortfall of this
    /// payment date. [`super::deal_states`] carries records through a series of reports.
    pub fn deal_state(&self, initial_pool: Decimal) -> DealState {
        DealState {
            period: self.period,
            as_of: self.payment_date,
            phase: self.phase,
            note_balances: self.notes.iter().map(|n| n.balance).collect(),
            interest_carried: self.notes.iter().map(|n| n.interest_carried).collect(),
            fees_carried: self.fees_carried,
            reserve: self.reserve,
            collection_cash: self.collection_cash,
            cumulative_defaults: self.cumulative_defaults,
            initial_pool,
            records: self
                .notes
                .iter()
                .map(|n| NoteRecord {
                    max_shortfall: n.interest_carried,
                    first_shortfall_period: (n.interest_carried > Decimal::ZERO)
                        .then_some(self.period),
                })
                .collect(),
        }
    }
}
