//! The view model of the comparison report (`compare --report`, `compare` text): every figure
//! preformatted, built once from a [`Comparison`].

use serde::Serialize;

use crate::compare::Comparison;
use crate::deal::Deal;
use crate::money::pct_dec;
use crate::rating::{BreakEven, NoteRating};

#[derive(Debug, Serialize)]
pub struct View {
    pub deal: String,
    pub versions: Vec<String>,
    pub pairs: Vec<PairView>,
}

#[derive(Debug, Serialize)]
pub struct Cell {
    pub text: String,
    pub flipped: bool,
}

#[derive(Debug, Serialize)]
pub struct GridRow {
    pub notch: String,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Serialize)]
pub struct PairView {
    pub from: String,
    pub to: String,
    pub note: String,
    pub moves: Vec<String>,
    pub flips: Vec<String>,
    pub header: Vec<String>,
    pub grid: Vec<GridRow>,
    pub break_evens: Vec<String>,
    pub changes: Vec<[String; 4]>,
    pub attribution: Vec<String>,
}

/// The comparison as a report shows it.
pub fn view(deal: &Deal, c: &Comparison) -> View {
    let mut pairs = Vec::new();
    for (i, p) in c.pairs.iter().enumerate() {
        let (va, vb) = (&c.versions[i], &c.versions[i + 1]);
        // Versions of one methodology are labelled by version number alone.
        let label = |name: &str| -> String {
            if p.different_ids {
                name.to_string()
            } else {
                name.rsplit('@').next().unwrap_or(name).to_string()
            }
        };
        let mut header = Vec::new();
        for n in &deal.notes {
            header.push(format!("Class {} {}", n.class, label(&va.name)));
            header.push(format!("Class {} {}", n.class, label(&vb.name)));
        }
        let grid = va
            .result
            .levels
            .iter()
            .zip(&vb.result.levels)
            .map(|(la, lb)| GridRow {
                notch: la.notch.to_string(),
                cells: la
                    .notes
                    .iter()
                    .zip(&lb.notes)
                    .flat_map(|(oa, ob)| {
                        let flipped = oa.passed != ob.passed;
                        let word = |p: bool| if p { "pass" } else { "fail" }.to_string();
                        [
                            Cell {
                                text: word(oa.passed),
                                flipped,
                            },
                            Cell {
                                text: word(ob.passed),
                                flipped,
                            },
                        ]
                    })
                    .collect(),
            })
            .collect();
        let break_evens = va
            .result
            .notes
            .iter()
            .zip(&vb.result.notes)
            .map(|(a, b)| format!("{}: {}", a.class, break_evens_moved(a, b)))
            .collect();
        let attribution = p
            .attribution
            .iter()
            .map(|a| {
                let effect = if a.notches == 0 {
                    "no move".to_string()
                } else {
                    format!("{:+} notches", a.notches)
                };
                match &a.break_even {
                    Some(n) => format!(
                        "{}: {} alone -> {} ({effect}), {}",
                        a.class,
                        a.group,
                        a.alone,
                        break_even_of(n)
                    ),
                    None => format!("{}: {} alone -> {} ({effect})", a.class, a.group, a.alone),
                }
            })
            .collect();
        pairs.push(PairView {
            from: p.from.clone(),
            to: p.to.clone(),
            note: if p.different_ids {
                "Note: these are versions of different methodologies (different ids).".into()
            } else {
                String::new()
            },
            moves: p.moves.iter().map(|m| m.text()).collect(),
            flips: p
                .flips
                .iter()
                .map(|f| format!("{} Class {}: {} -> {}", f.notch, f.class, f.from, f.to))
                .collect(),
            header,
            grid,
            break_evens,
            changes: p
                .changes
                .iter()
                .map(|c| {
                    [
                        c.level.clone(),
                        c.field.clone(),
                        c.old.clone(),
                        c.new.clone(),
                    ]
                })
                .collect(),
            attribution,
        });
    }
    View {
        deal: deal.name.clone(),
        versions: c.versions.iter().map(|v| v.name.clone()).collect(),
        pairs,
    }
}

/// A note's break-even as the comparison prints it: `break-even liquidation gap 44.2% ('A-'
/// stress)`.
fn break_even_of(n: &NoteRating) -> String {
    one_break_even(n, true)
}

fn one_break_even(n: &NoteRating, named: bool) -> String {
    let level = n.break_even_level;
    match &n.break_even {
        Some(BreakEven::DefaultAndRecovery {
            default_rate,
            coverage,
        }) => format!(
            "{}{} ({}x base, '{level}' stress)",
            if named { "break-even default " } else { "" },
            pct_dec(*default_rate, 1),
            coverage.normalize()
        ),
        Some(BreakEven::MarketValue {
            liquidation_gap,
            btc_decline,
        }) => format!(
            "{}{} ('{level}' stress{})",
            if named {
                "break-even liquidation gap "
            } else {
                ""
            },
            pct_dec(*liquidation_gap, 1),
            btc_decline
                .map(|d| format!(", BTC decline {}", pct_dec(d, 1)))
                .unwrap_or_default()
        ),
        None => "no break-even searched".into(),
    }
}

fn break_evens_moved(a: &NoteRating, b: &NoteRating) -> String {
    let same_kind = matches!(
        (&a.break_even, &b.break_even),
        (
            Some(BreakEven::DefaultAndRecovery { .. }),
            Some(BreakEven::DefaultAndRecovery { .. })
        ) | (
            Some(BreakEven::MarketValue { .. }),
            Some(BreakEven::MarketValue { .. })
        )
    );
    format!(
        "{} -> {}",
        one_break_even(a, true),
        one_break_even(b, !same_kind)
    )
}
