//! `absrate compare`: the arguments, and the text printer of a comparison. The work is
//! [`crate::app::compare::run`].

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;

use super::{TextOrJson as Format, json};
use crate::app::compare::{self, CompareRequest};
use crate::error::Error;
use crate::report::comparison::View;

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
    let run = compare::run(&CompareRequest {
        deal: a.deal,
        methodologies: a.methodologies,
        methodology_dir: a.methodology_dir,
        report: a.report,
    })?;
    match a.format {
        Format::Text => Ok(text(&run.view)),
        Format::Json => json(&run.comparison),
    }
}
