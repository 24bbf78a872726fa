//! The rationale's sentence setting each note's rating against its published one, from the
//! figures: the first level the note loses at and what that level does, the note's break-even,
//! and what the agency's own published stress (the deal's `published_stress`) implies. The
//! agency's figures come from the deal file, never from code; where the deal has none, or the note
//! has no published rating, the sentence says only what is known.

use rust_decimal::Decimal;

use super::overlays::quoted;
use crate::deal::{Deal, PublishedStress};
use crate::methodology::{Methodology, Notch};
use crate::money::{pct, pct_dec};
use crate::rating::{BreakEven, NoteRating, RatingResult};

/// An exact published share as a percentage with the digits it has: `0.68` -> `68%`.
fn pct_exact(d: Decimal) -> String {
    format!("{}%", (d * Decimal::ONE_HUNDRED).normalize())
}

/// `S&P's`; a name already ending in `s` takes the apostrophe alone.
fn possessive(agency: &str) -> String {
    if agency.ends_with("'s") {
        agency.to_string()
    } else if agency.ends_with('s') {
        format!("{agency}'")
    } else {
        format!("{agency}'s")
    }
}

/// The sale discount below the trigger price that a recovery implies for a loan sold at the
/// liquidation LTV `trigger`: the collateral is worth `balance / trigger` there, and recovering
/// `recovery x balance` means selling it for `recovery x trigger` of that value:
/// `1 - recovery x trigger` (at least 0).
pub fn implied_sale_discount(recovery: Decimal, trigger: Decimal) -> Decimal {
    (Decimal::ONE - recovery * trigger).max(Decimal::ZERO)
}

/// The deepest sale of a level below its trigger price, from the highest execution LTV:
/// `1 - trigger / LTV` (a sale at the trigger price executes at the trigger LTV); `None` when
/// nothing was sold.
fn deepest_sale(max_execution_ltv: f64, trigger: Decimal) -> Option<f64> {
    use rust_decimal::prelude::ToPrimitive;
    let t = trigger.to_f64()?;
    (max_execution_ltv > 0.0).then(|| (1.0 - t / max_execution_ltv).max(0.0))
}

/// A break-even liquidation gap as the note's survival: `survives liquidation gaps up to 35.0%`.
fn survives_gaps(gap: Decimal) -> String {
    if gap >= Decimal::ONE {
        "survives any liquidation gap, even sales for nothing".into()
    } else if gap.is_zero() {
        "fails even with no liquidation gap".into()
    } else {
        format!("survives liquidation gaps up to {}", pct_dec(gap, 1))
    }
}

/// Class `k`'s sentence.
pub fn sentence(deal: &Deal, m: &Methodology, r: &RatingResult, k: usize) -> String {
    let (n, nr) = (&deal.notes[k], &r.notes[k]);
    let agency = deal.published_stress.as_ref().map(|p| p.agency.as_str());
    let mut s = format!("Class {} is rated {}", n.class, quoted(nr.indicated));
    if nr.indicated != nr.quantitative {
        s.push_str(&format!(" ({} before overlays)", quoted(nr.quantitative)));
    }
    match (&n.rating_published, agency) {
        (Some(p), Some(a)) => s.push_str(&format!(" against {} '{p}'", possessive(a))),
        (Some(p), None) => s.push_str(&format!(" against the published '{p}'")),
        (None, _) => s.push_str(" (no published rating)"),
    }
    s.push_str(": ");
    s.push_str(&first_loss(deal, m, r, nr));
    if let Some(p) = &deal.published_stress {
        s.push_str("; ");
        s.push_str(&published(p, deal.pool.collateral_terms.liquidation_ltv));
    }
    s.push('.');
    s
}

/// The level the note first loses at, what that level does, and the note's break-even.
fn first_loss(deal: &Deal, m: &Methodology, r: &RatingResult, nr: &NoteRating) -> String {
    let trigger = deal.pool.collateral_terms.liquidation_ltv;
    // The level just above the quantitative rating ('B-' for a note that passes nowhere).
    let failing = match nr.quantitative {
        Some(q) => q.up(),
        None => Some(Notch::B_MINUS),
    };
    let mut s = match failing {
        None => "it passes at every level, 'AAA' included".to_string(),
        Some(u) => {
            let head = if nr.quantitative.is_some() {
                format!("it first loses at '{u}'")
            } else {
                format!("it loses at every level, '{u}' included")
            };
            let level = &r.levels[u.index()];
            let stress = &m.level(u).stress;
            match (stress.market(), &level.market, stress.default_recovery()) {
                (Some(k), Some(o), _) => {
                    let deepest = deepest_sale(o.max_execution_ltv, trigger)
                        .map(|d| {
                            format!(
                                " and whose deepest sale lands {} below its trigger price",
                                pct(d, 1)
                            )
                        })
                        .unwrap_or_default();
                    format!(
                        "{head}, whose liquidation gap is {}{deepest}",
                        pct_dec(k.liquidation_gap, 1)
                    )
                }
                (_, _, Some(d)) => format!(
                    "{head}, whose stress is a default of {} with a recovery of {}",
                    pct_dec(d.default_rate, 1),
                    pct_dec(d.recovery_rate, 1)
                ),
                _ => head,
            }
        }
    };
    let level = nr.break_even_level;
    let joint = if failing.is_some() {
        ", while"
    } else {
        ", and"
    };
    match nr.break_even {
        Some(BreakEven::MarketValue {
            liquidation_gap, ..
        }) => s.push_str(&format!(
            "{joint} under the '{level}' stress it {} (break-even)",
            survives_gaps(liquidation_gap)
        )),
        Some(BreakEven::DefaultAndRecovery { default_rate, .. }) => s.push_str(&format!(
            "{joint} under the '{level}' stress it survives defaults up to {} (break-even)",
            pct_dec(default_rate, 1)
        )),
        None => {}
    }
    s
}

/// What the agency published, and the sale discount its recovery implies at the trigger.
fn published(p: &PublishedStress, trigger: Decimal) -> String {
    let who = possessive(&p.agency);
    let level = p.level;
    match (&p.recovery_rate, &p.default_rate) {
        (Some(rec), default) => format!(
            "{who} {} recovery{} at '{level}' implies sales {} below the {} liquidation trigger",
            pct_exact(rec.value),
            default
                .as_ref()
                .map(|d| format!(" on a {} default", pct_exact(d.value)))
                .unwrap_or_default(),
            pct_dec(implied_sale_discount(rec.value, trigger), 1),
            pct_exact(trigger)
        ),
        (None, Some(d)) => format!(
            "{who} stress at '{level}' defaults {} of the pool",
            pct_exact(d.value)
        ),
        (None, None) => format!("{who} stress at '{level}' states no rate"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// S&P's 68% recovery at an 80% trigger: sales 45.6% below the trigger price
    /// (ledn-2026-1.md, derived figures: "about 46%").
    #[test]
    fn a_recovery_implies_a_sale_discount_at_the_trigger() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(implied_sale_discount(d("0.68"), d("0.80")), d("0.456"));
        assert_eq!(implied_sale_discount(d("1"), d("0.80")), d("0.2"));
        assert_eq!(implied_sale_discount(d("1"), d("1.5")), Decimal::ZERO);
        assert_eq!(pct_exact(d("0.68")), "68%");
        assert_eq!(pct_exact(d("0.825")), "82.5%");
        assert_eq!(possessive("S&P"), "S&P's");
        assert_eq!(possessive("Moody's"), "Moody's");
        assert_eq!(possessive("KBRA Analytics"), "KBRA Analytics'");
    }
}
