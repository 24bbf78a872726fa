//! A deal's opening state when it is not a new deal's: the accounts, carried amounts, phase and
//! history a deal followed after closing brings to the date it is rated from.
//!
//! A new deal opens with its reserve at target, nothing carried, nothing defaulted
//! ([`DealState::at_closing`]). A deal rated from a servicer report opens with what the report
//! states. `absrate surveil` builds one from each report ([`crate::surveil`]); a deal file may
//! state one in its `opening` section (`docs/deal.md`), which makes "a deal whose closing is that
//! state" a file anyone can rate with `absrate rate`.

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::state::{DealState, NoteRecord, Phase};
use super::{DealError, Note, invalid, located};
use crate::limits::Written;
use crate::money::{Amount, Rounding};

/// What a deal brings to its opening date, in the deal's note order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    /// Revolving, amortizing or accelerated.
    pub phase: Phase,
    pub reserve: Decimal,
    /// Cash awaiting new loans: the collateral model holds it and buys with it from the first
    /// payment date while the deal revolves (released to the waterfall otherwise).
    pub reinvestment_cash: Decimal,
    pub fees_carried: Decimal,
    /// Per class: interest due and unpaid.
    pub interest_carried: Vec<Decimal>,
    /// Per class: the largest interest shortfall before the opening date (a class that must be
    /// paid interest on time and was not has already failed).
    pub shortfall_before: Vec<Decimal>,
    /// Defaults since the deal's original closing.
    pub cumulative_defaults: Decimal,
    /// The base of the cumulative-default trigger: the pool at the original closing.
    pub initial_pool: Decimal,
}

impl Opening {
    /// The deal state at the opening date (period 0 of the deal it opens), in the number type `A`.
    pub fn state<A: Amount>(
        &self,
        as_of: chrono::NaiveDate,
        notes: &[Note],
        collection_cash: Decimal,
        rounding: Rounding,
    ) -> DealState<A> {
        let money = |d: Decimal| A::money(d, rounding);
        DealState {
            period: 0,
            as_of,
            phase: self.phase,
            note_balances: notes.iter().map(|n| money(n.balance)).collect(),
            interest_carried: self.interest_carried.iter().map(|d| money(*d)).collect(),
            fees_carried: money(self.fees_carried),
            reserve: money(self.reserve),
            collection_cash: money(collection_cash),
            cumulative_defaults: money(self.cumulative_defaults),
            initial_pool: money(self.initial_pool),
            records: self
                .shortfall_before
                .iter()
                .map(|s| NoteRecord {
                    max_shortfall: money(*s),
                    first_shortfall_period: (*s > Decimal::ZERO).then_some(0),
                })
                .collect(),
        }
    }
}

/// The deal file's `opening` section, as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OpeningWire {
    /// Where the figures come from (a servicer report).
    source: String,
    phase: Spanned<OpeningPhase>,
    reserve: Spanned<Written>,
    reinvestment_account: Spanned<Written>,
    fees_carried: Spanned<Written>,
    cumulative_defaults: Spanned<Written>,
    initial_pool: Spanned<Written>,
    /// Per class, in the deal's note order.
    notes: Vec<Spanned<OpeningNoteWire>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum OpeningPhase {
    Revolving,
    Amortizing,
    Accelerated,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpeningNoteWire {
    class: String,
    interest_carried: Written,
    shortfall_before: Written,
}

/// Checks `opening` against the deal's notes and revolving period.
pub(super) fn check(
    p: &std::path::Path,
    w: OpeningWire,
    notes: &[Note],
    revolving_months: u32,
) -> Result<Opening, DealError> {
    if w.source.trim().is_empty() {
        return Err(invalid(
            p,
            "opening.source",
            "must say where the figures come from (a servicer report)",
        ));
    }
    let at = |s_loc: Option<(usize, usize)>, field: String, message: String| DealError::Invalid {
        path: p.to_path_buf(),
        location: s_loc,
        field,
        message,
    };
    let money = |key: &str, s: &Spanned<Written>| {
        s.value
            .money(false)
            .map_err(|e| at(located(s), format!("opening.{key}"), e))
    };
    let phase = match w.phase.value {
        OpeningPhase::Revolving if revolving_months == 0 => {
            return Err(at(
                located(&w.phase),
                "opening.phase".into(),
                "`revolving` with `revolving.months: 0`: the deal has no revolving period left"
                    .into(),
            ));
        }
        OpeningPhase::Revolving => Phase::Revolving,
        OpeningPhase::Amortizing => Phase::Amortizing,
        OpeningPhase::Accelerated => Phase::Accelerated,
    };
    let classes: Vec<&str> = notes.iter().map(|n| n.class.as_str()).collect();
    let listed: Vec<&str> = w.notes.iter().map(|n| n.value.class.as_str()).collect();
    if listed != classes {
        return Err(at(
            w.notes.first().and_then(located),
            "opening.notes".into(),
            format!(
                "lists classes [{}]: it must list the deal's notes in order, [{}]",
                listed.join(", "),
                classes.join(", ")
            ),
        ));
    }
    let mut interest_carried = Vec::with_capacity(notes.len());
    let mut shortfall_before = Vec::with_capacity(notes.len());
    for n in &w.notes {
        let field = |key: &str| format!("opening.notes[{}].{key}", n.value.class);
        interest_carried.push(
            n.value
                .interest_carried
                .money(false)
                .map_err(|e| at(located(n), field("interest_carried"), e))?,
        );
        shortfall_before.push(
            n.value
                .shortfall_before
                .money(false)
                .map_err(|e| at(located(n), field("shortfall_before"), e))?,
        );
    }
    Ok(Opening {
        phase,
        reserve: money("reserve", &w.reserve)?,
        reinvestment_cash: money("reinvestment_account", &w.reinvestment_account)?,
        fees_carried: money("fees_carried", &w.fees_carried)?,
        cumulative_defaults: money("cumulative_defaults", &w.cumulative_defaults)?,
        initial_pool: money("initial_pool", &w.initial_pool)?,
        interest_carried,
        shortfall_before,
    })
}
