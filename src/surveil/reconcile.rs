//! The reconciliation of each report with the one before it (and of the first with the deal
//! file): figures that cannot follow from one payment date to the next. Each rule is stated,
//! with its reason, in docs/surveillance.md; money is compared exactly.

use std::collections::HashMap;
use std::path::Path;

use rust_decimal::Decimal;

use super::error::{Mismatch, SurveilError};
use super::report::{Report, phase_name, phase_rank};
use crate::deal::{Deal, Phase};
use crate::tape::LoanRecord;

/// A failed rule between `previous` and `current`.
struct Pair<'a> {
    previous: &'a Path,
    current: &'a Path,
}

impl Pair<'_> {
    fn fail(
        &self,
        figure: String,
        loan: Option<&str>,
        previous: impl ToString,
        current: impl ToString,
        rule: &str,
    ) -> SurveilError {
        SurveilError::Reconcile(Box::new(Mismatch {
            previous: self.previous.to_path_buf(),
            current: self.current.to_path_buf(),
            figure,
            loan: loan.map(str::to_string),
            previous_value: previous.to_string(),
            current_value: current.to_string(),
            rule: rule.to_string(),
        }))
    }
}

/// Checks the first report against the deal file and every later one against the one before.
/// `reports` are sorted by date (as [`super::read_dir`] returns them).
pub fn reconcile(deal: &Deal, reports: &[Report]) -> Result<(), SurveilError> {
    if let Some(first) = reports.first() {
        let pair = Pair {
            previous: &deal.path,
            current: &first.path,
        };
        let at_closing = deal.notes.iter().map(|n| n.balance);
        notes_never_rise(
            &pair,
            at_closing,
            first,
            "a note's balance never rises above its balance at closing",
        )?;
    }
    for w in reports.windows(2) {
        pair(&w[0], &w[1])?;
    }
    Ok(())
}

/// No note of `cur` above its balance `before` (in note order).
fn notes_never_rise(
    p: &Pair,
    before: impl Iterator<Item = Decimal>,
    cur: &Report,
    rule: &str,
) -> Result<(), SurveilError> {
    for (a, n) in before.zip(&cur.notes) {
        if n.balance > a {
            return Err(p.fail(
                format!("notes[{}].balance", n.class),
                None,
                a,
                n.balance,
                rule,
            ));
        }
    }
    Ok(())
}

fn pair(prev: &Report, cur: &Report) -> Result<(), SurveilError> {
    let p = Pair {
        previous: &prev.path,
        current: &cur.path,
    };
    notes_never_rise(
        &p,
        prev.notes.iter().map(|n| n.balance),
        cur,
        "a note's balance never rises (principal is only ever paid)",
    )?;
    let since_closing = "a figure since closing never falls";
    for (figure, a, b) in [
        (
            "cumulative_defaults",
            prev.cumulative_defaults,
            cur.cumulative_defaults,
        ),
        (
            "cumulative_losses",
            prev.cumulative_losses,
            cur.cumulative_losses,
        ),
        (
            "cumulative_liquidations.balance",
            prev.liquidations.balance,
            cur.liquidations.balance,
        ),
    ] {
        if b < a {
            return Err(p.fail(figure.into(), None, a, b, since_closing));
        }
    }
    if cur.liquidations.count < prev.liquidations.count {
        return Err(p.fail(
            "cumulative_liquidations.count".into(),
            None,
            prev.liquidations.count,
            cur.liquidations.count,
            since_closing,
        ));
    }
    if phase_rank(cur.phase) < phase_rank(prev.phase) {
        return Err(p.fail(
            "phase".into(),
            None,
            phase_name(prev.phase),
            phase_name(cur.phase),
            "a deal never goes back to an earlier phase (revolving, then amortizing, then accelerated)",
        ));
    }
    // The period between the two payment dates revolved when the previous report's phase was
    // revolving (the engine decides at the start of a period: `waterfall::Engine`).
    let revolved = prev.phase == Phase::Revolving;
    if !revolved && cur.reinvestment_cash > prev.reinvestment_cash {
        return Err(p.fail(
            "reinvestment_account".into(),
            None,
            prev.reinvestment_cash,
            cur.reinvestment_cash,
            "the reinvestment account grows only while the deal revolves (`reinvest` is a step of the revolving waterfall)",
        ));
    }
    loans(&p, prev, cur, revolved)
}

/// The rules on the two tapes: the pool's roll-forward, liquidations against the loans that
/// left, and each loan on both tapes.
fn loans(p: &Pair, prev: &Report, cur: &Report, revolved: bool) -> Result<(), SurveilError> {
    let before: HashMap<&str, &LoanRecord> =
        prev.loans.iter().map(|l| (l.loan_id.as_str(), l)).collect();
    let now: HashMap<&str, &LoanRecord> =
        cur.loans.iter().map(|l| (l.loan_id.as_str(), l)).collect();
    let gone: Vec<&LoanRecord> = prev
        .loans
        .iter()
        .filter(|l| !now.contains_key(l.loan_id.as_str()))
        .collect();
    let gone_balance: Decimal = gone.iter().map(|l| l.principal).sum();
    let liquidated = cur.liquidations.count - prev.liquidations.count;
    let liquidated_balance = cur.liquidations.balance - prev.liquidations.balance;
    // A liquidated loan is sold whole and leaves the tape; its balance is counted as on the
    // last tape that listed it.
    if liquidated > gone.len() as u64 {
        return Err(p.fail(
            "cumulative_liquidations.count".into(),
            None,
            prev.liquidations.count,
            format!(
                "{} ({liquidated} more, but {} loans left the tape)",
                cur.liquidations.count,
                gone.len()
            ),
            "a liquidated loan leaves the tape",
        ));
    }
    if liquidated_balance > gone_balance {
        return Err(p.fail(
            "cumulative_liquidations.balance".into(),
            None,
            prev.liquidations.balance,
            format!(
                "{} ({liquidated_balance} more, but the loans that left the tape had {gone_balance} on the previous one)",
                cur.liquidations.balance
            ),
            "a liquidated loan is counted at its balance on the last tape that listed it",
        ));
    }
    // Roll-forward of a period that did not revolve: no loan is bought, so what is on the tape
    // plus what was liquidated comes from the previous tape, grown only by interest
    // capitalized on the loans still there.
    let capitalized: Decimal = cur
        .loans
        .iter()
        .filter_map(|l| {
            before
                .get(l.loan_id.as_str())
                .map(|b| (l.capitalized_interest - b.capitalized_interest).max(Decimal::ZERO))
        })
        .sum();
    let (pool_prev, pool_now) = (prev.pool_balance(), cur.pool_balance());
    if !revolved && pool_now + liquidated_balance > pool_prev + capitalized {
        return Err(p.fail(
            "pool balance".into(),
            None,
            format!(
                "{} ({pool_prev} on its tape + {capitalized} of interest capitalized since)",
                pool_prev + capitalized
            ),
            format!(
                "{} ({pool_now} on the tape + {liquidated_balance} liquidated since)",
                pool_now + liquidated_balance
            ),
            "while the deal does not revolve no loan is bought: the pool and what was liquidated cannot exceed the previous pool and the interest capitalized on it",
        ));
    }
    for l in &cur.loans {
        let id = l.loan_id.as_str();
        let figure = |what: &str| format!("loan {id} {what}");
        let Some(b) = before.get(id) else {
            if !revolved {
                return Err(p.fail(
                    figure("loan_id"),
                    Some(id),
                    "absent",
                    "on the tape",
                    "a loan appears only while the deal revolves (new loans are bought with principal collections)",
                ));
            }
            continue;
        };
        if l.borrower_id != b.borrower_id {
            return Err(p.fail(
                figure("borrower_id"),
                Some(id),
                &b.borrower_id,
                &l.borrower_id,
                "a loan's borrower never changes",
            ));
        }
        if l.original_principal != b.original_principal {
            return Err(p.fail(
                figure("original_principal"),
                Some(id),
                b.original_principal,
                l.original_principal,
                "the balance a loan was first made at never changes",
            ));
        }
        let (advanced_before, advanced_now) = (
            b.principal - b.capitalized_interest,
            l.principal - l.capitalized_interest,
        );
        if advanced_now > advanced_before {
            return Err(p.fail(
                figure("principal - capitalized_interest"),
                Some(id),
                advanced_before,
                advanced_now,
                "a bullet loan takes no further advance: its balance grows only by capitalized interest",
            ));
        }
        if l.renewal_count < b.renewal_count {
            return Err(p.fail(
                figure("renewal_count"),
                Some(id),
                b.renewal_count,
                l.renewal_count,
                "a loan's renewals never fall",
            ));
        }
        if l.renewal_count == b.renewal_count
            && (l.origination_date, l.maturity_date) != (b.origination_date, b.maturity_date)
        {
            return Err(p.fail(
                figure("term"),
                Some(id),
                format!("{} to {}", b.origination_date, b.maturity_date),
                format!("{} to {}", l.origination_date, l.maturity_date),
                "a loan's term changes only with a renewal (renewal_count + 1)",
            ));
        }
    }
    Ok(())
}
