//! Overlays: the caps and adjustments a methodology applies after the quantitative result
//! (docs/methodology.md, "Overlays"). The grid and the break-evens are those of the quantitative
//! rating; an overlay only lowers the rating a note is given, and says why.

use crate::methodology::{Adjustment, Notch, Overlay};

/// A note's rating after the overlays, and the overlays that set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlaid {
    /// The rating given: the lowest of the quantitative rating and every overlay's result.
    pub rating: Option<Notch>,
    /// The overlays whose result is that rating, when it is below the quantitative one (in the
    /// methodology's order); empty when no overlay binds.
    pub binding: Vec<Overlay>,
}

/// Position on the scale, 'AAA' 0, "below B-" one step under 'B-'.
fn position(n: Option<Notch>) -> usize {
    n.map_or(Notch::B_MINUS.index() + 1, Notch::index)
}

/// One overlay applied alone to a quantitative rating. A cap lowers only a rating above it; a
/// note already below 'B-' stays there.
pub fn adjust(quantitative: Option<Notch>, a: Adjustment) -> Option<Notch> {
    match (quantitative, a) {
        (Some(q), Adjustment::Cap(cap)) => Some(q.max(cap)),
        (Some(q), Adjustment::NotchesDown(k)) => q.down(k),
        (None, _) => None,
    }
}

/// Every overlay applied to the quantitative rating, each alone: the lowest result wins, and
/// every overlay that reaches it is named.
pub fn apply(quantitative: Option<Notch>, overlays: &[Overlay]) -> Overlaid {
    let results: Vec<Option<Notch>> = overlays
        .iter()
        .map(|o| adjust(quantitative, o.adjustment))
        .collect();
    let rating = results
        .iter()
        .copied()
        .chain([quantitative])
        .max_by_key(|r| position(*r))
        .unwrap_or(quantitative);
    let binding = if position(rating) > position(quantitative) {
        overlays
            .iter()
            .zip(&results)
            .filter(|(_, r)| **r == rating)
            .map(|(o, _)| o.clone())
            .collect()
    } else {
        Vec::new()
    };
    Overlaid { rating, binding }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Notch {
        s.parse().unwrap()
    }

    fn overlay(name: &str, adjustment: Adjustment) -> Overlay {
        Overlay {
            name: name.into(),
            adjustment,
            reason: "r".into(),
            source: "s".into(),
        }
    }

    fn names(o: &Overlaid) -> Vec<&str> {
        o.binding.iter().map(|x| x.name.as_str()).collect()
    }

    #[test]
    fn a_cap_lowers_only_a_rating_above_it() {
        let cap = [overlay("cap", Adjustment::Cap(n("A+")))];
        let above = apply(Some(n("AA")), &cap);
        assert_eq!(above.rating, Some(n("A+")));
        assert_eq!(names(&above), ["cap"]);
        for q in [Some(n("A+")), Some(n("BBB")), None] {
            let o = apply(q, &cap);
            assert_eq!(o.rating, q);
            assert!(o.binding.is_empty(), "{q:?}");
        }
    }

    #[test]
    fn notches_down_go_below_b_minus_and_leave_below_b_minus_alone() {
        let down = [overlay("down", Adjustment::NotchesDown(2))];
        assert_eq!(apply(Some(n("A-")), &down).rating, Some(n("BBB")));
        let off = apply(Some(n("B")), &down);
        assert_eq!(off.rating, None);
        assert_eq!(names(&off), ["down"]);
        let none = apply(None, &down);
        assert_eq!(none.rating, None);
        assert!(none.binding.is_empty());
    }

    #[test]
    fn the_lowest_result_wins_and_every_overlay_reaching_it_is_named() {
        let all = [
            overlay("loose cap", Adjustment::Cap(n("AA"))),
            overlay("one down", Adjustment::NotchesDown(1)),
            overlay("cap BBB+", Adjustment::Cap(n("BBB+"))),
            overlay("two down", Adjustment::NotchesDown(2)),
        ];
        // A-: one down -> BBB+, cap -> BBB+, two down -> BBB: two down alone binds.
        let o = apply(Some(n("A-")), &all);
        assert_eq!(o.rating, Some(n("BBB")));
        assert_eq!(names(&o), ["two down"]);
        // A: one down -> A-, cap -> BBB+, two down -> BBB+: both reach BBB+.
        let o = apply(Some(n("A")), &all);
        assert_eq!(o.rating, Some(n("BBB+")));
        assert_eq!(names(&o), ["cap BBB+", "two down"]);
        assert_eq!(apply(Some(n("A")), &[]).rating, Some(n("A")));
    }
}
