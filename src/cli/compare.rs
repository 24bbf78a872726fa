//! `absrate compare`: methodology versions side by side on the same tape and deal.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::{TextOrJson as Format, json};
use crate::compare::{Comparison, compare};
use crate::deal::Deal;
use crate::error::Error;
use crate::methodology::Lookup;
use crate::money::pct_dec;
use crate::rating::{BreakEven, NoteRating};
use crate::report;
use crate::tape::Tape;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  absrate compare --methodology btc-backed-consumer-loans@1.0.0 --methodology btc-backed-consumer-loans@1.1.0\n  absrate compare --methodology btc-backed-consumer-loans@1.0.0 --methodology draft.yaml --report out/compare\n\nEach version is compared with the next. The tape is read once and adjusted once per distinct rule."
)]
pub struct CompareArgs {
    /// A methodology (ID@VERSION, ID or file); give two or more, in order
    #[arg(long = "methodology", required = true, num_args = 1)]
    methodologies: Vec<String>,
    /// Deal file
    #[arg(long, default_value = super::BUNDLED_DEAL)]
    deal: PathBuf,
    #[arg(long, help = super::METHODOLOGY_DIR_HELP)]
    methodology_dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Write comparison.md and comparison.html into this directory
    #[arg(long)]
    report: Option<PathBuf>,
}

/// The comparison as preformatted strings, for text and templates alike.
#[derive(Serialize)]
struct View {
    deal: String,
    versions: Vec<String>,
    pairs: Vec<PairView>,
}

#[derive(Serialize)]
struct Cell {
    text: String,
    flipped: bool,
}

#[derive(Serialize)]
struct GridRow {
    notch: String,
    cells: Vec<Cell>,
}

#[derive(Serialize)]
struct PairView {
    from: String,
    to: String,
    note: String,
    moves: Vec<String>,
    flips: Vec<String>,
    header: Vec<String>,
    grid: Vec<GridRow>,
    break_evens: Vec<String>,
    changes: Vec<[String; 4]>,
    attribution: Vec<String>,
}

fn view(deal: &Deal, c: &Comparison) -> View {
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
                format!("{}: {} alone -> {} ({effect})", a.class, a.group, a.alone)
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

fn text(v: &View) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{}: {}", v.deal, v.versions.join(" vs "));
    for p in &v.pairs {
        let _ = writeln!(o, "\n{} -> {}", p.from, p.to);
        if !p.note.is_empty() {
            let _ = writeln!(o, "{}", p.note);
        }
        let _ = writeln!(o, "Rating moves:");
        if p.moves.is_empty() {
            let _ = writeln!(o, "  none");
        }
        for m in &p.moves {
            let _ = writeln!(o, "  {m}");
        }
        let _ = writeln!(o, "Pass/fail grid (* = flipped):");
        let _ = write!(o, "  {:<7}", "level");
        for h in &p.header {
            let _ = write!(o, "{h:>16}");
        }
        o.push('\n');
        for r in &p.grid {
            let _ = write!(o, "  {:<7}", r.notch);
            for c in &r.cells {
                let t = if c.flipped {
                    format!("{}*", c.text)
                } else {
                    c.text.clone()
                };
                let _ = write!(o, "{t:>16}");
            }
            o.push('\n');
        }
        let _ = writeln!(
            o,
            "Flipped cells: {}",
            if p.flips.is_empty() {
                "none".to_string()
            } else {
                p.flips.len().to_string()
            }
        );
        for f in &p.flips {
            let _ = writeln!(o, "  {f}");
        }
        let _ = writeln!(o, "Break-evens:");
        for b in &p.break_evens {
            let _ = writeln!(o, "  {b}");
        }
        let _ = writeln!(o, "Parameter changes: {}", p.changes.len());
        for c in &p.changes {
            let _ = writeln!(o, "  {:<14}{:<42}{:>12} -> {}", c[0], c[1], c[2], c[3]);
        }
        if !p.attribution.is_empty() {
            let _ = writeln!(
                o,
                "Attribution (each changed group applied alone to {}):",
                p.from
            );
            for a in &p.attribution {
                let _ = writeln!(o, "  {a}");
            }
        }
    }
    o
}

pub fn run(a: CompareArgs) -> Result<String, Error> {
    if a.methodologies.len() < 2 {
        return Err(Error::Argument(
            "compare needs at least two --methodology".into(),
        ));
    }
    let deal = super::load_deal(&a.deal)?;
    let registry = Lookup::for_deal(a.methodology_dir.as_deref(), &deal.path);
    let versions = a
        .methodologies
        .iter()
        .map(|s| registry.resolve(s))
        .collect::<Result<Vec<_>, _>>()?;
    let tape = Tape::read(&deal.pool.tape)?;
    let c = compare(&tape, &deal, &versions)?;
    let v = view(&deal, &c);
    if let Some(dir) = &a.report {
        let (md, html) = report::render_named(&v, report::COMPARISON_MD, report::COMPARISON_HTML)?;
        report::write_all(
            dir,
            &[
                (report::COMPARISON_MD, md.into_bytes()),
                (report::COMPARISON_HTML, html.into_bytes()),
            ],
        )?;
    }
    match a.format {
        Format::Text => Ok(text(&v)),
        Format::Json => json(&c),
    }
}

/// A note's break-evens under two versions: `break-even default 79.0% (7.9x base, 'BBB-'
/// stress) -> 68.7% (6.87x base, 'BB' stress)`, or each version's own kind when they differ.
fn break_evens_moved(a: &NoteRating, b: &NoteRating) -> String {
    let one = |n: &NoteRating, named: bool| -> String {
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
    };
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
    format!("{} -> {}", one(a, true), one(b, !same_kind))
}
