//! How a note's overlays read, in the grid of `rate` and in the rationale: the quantitative
//! rating, what each binding overlay did to it and why; or, when the methodology has overlays
//! and none binds, that none does.

use crate::methodology::{Adjustment, Methodology, Notch};
use crate::rating::NoteRating;

/// A rating in a sentence: `'A-'`, or `below 'B-'`.
pub fn quoted(n: Option<Notch>) -> String {
    match n {
        Some(n) => format!("'{n}'"),
        None => "below 'B-'".into(),
    }
}

/// `quantitative 'A-', capped at 'BBB' by <name>: <reason>` (every binding overlay, `; ` between
/// them); `no overlay binds (<name>: cap 'AA')` when the methodology has overlays and none binds;
/// `None` when it has none.
pub fn phrase(m: &Methodology, nr: &NoteRating) -> Option<String> {
    if m.overlays.is_empty() {
        return None;
    }
    if nr.overlays.is_empty() {
        let listed: Vec<String> = m
            .overlays
            .iter()
            .map(|o| format!("{}: {}", o.name, o.adjustment))
            .collect();
        return Some(format!("no overlay binds ({})", listed.join("; ")));
    }
    let to = quoted(nr.indicated);
    let each: Vec<String> = nr
        .overlays
        .iter()
        .map(|o| {
            let what = match o.adjustment {
                Adjustment::Cap(_) => format!("capped at {to}"),
                Adjustment::NotchesDown(1) => format!("lowered 1 notch to {to}"),
                Adjustment::NotchesDown(k) => format!("lowered {k} notches to {to}"),
            };
            // The reason closes the sentence it is quoted in.
            format!(
                "{what} by {}: {}",
                o.name,
                one_line(&o.reason).trim_end_matches('.')
            )
        })
        .collect();
    Some(format!(
        "quantitative {}, {}",
        quoted(nr.quantitative),
        each.join("; ")
    ))
}

/// The methodology's overlays as `methodology show` lists them, each with its reason and
/// source; empty when it has none.
pub fn listing(m: &Methodology) -> String {
    if m.overlays.is_empty() {
        return String::new();
    }
    let mut o = String::from(
        "\nOverlays (applied after the quantitative result; the lowest result wins)\n",
    );
    for x in &m.overlays {
        o.push_str(&format!(
            "  {}: {}\n    reason: {}\n    source: {}\n",
            x.name,
            x.adjustment,
            one_line(&x.reason),
            one_line(&x.source)
        ));
    }
    o
}

/// A text written over several YAML lines (a folded scalar ends in a newline) as one line: a
/// table cell or a sentence stays whole.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
