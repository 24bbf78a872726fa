//! `compare` as a library call: the deal, the methodology versions and the tape read once, the
//! comparison, its view and the report files written as one transaction.

use std::path::PathBuf;

use crate::compare::{Comparison, compare};
use crate::deal::Deal;
use crate::error::Error;
use crate::methodology::Lookup;
use crate::report::{self, comparison::View};
use crate::tape::Tape;

/// What `absrate compare` was asked for.
#[derive(Debug, Clone, Default)]
pub struct CompareRequest {
    pub deal: PathBuf,
    /// Two or more `ID@VERSION`, `ID` or files, compared each with the next.
    pub methodologies: Vec<String>,
    pub methodology_dir: Option<PathBuf>,
    /// Directory for comparison.md and comparison.html.
    pub report: Option<PathBuf>,
}

#[derive(Debug)]
pub struct CompareRun {
    pub deal: Deal,
    pub comparison: Comparison,
    pub view: View,
}

pub fn run(a: &CompareRequest) -> Result<CompareRun, Error> {
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
    let comparison = compare(&tape, &deal, &versions)?;
    let view = report::comparison::view(&deal, &comparison);
    if let Some(dir) = &a.report {
        let (md, html) =
            report::render_named(&view, report::COMPARISON_MD, report::COMPARISON_HTML)?;
        // One transaction (docs/reliability.md): both files or neither, a file already there
        // kept if the run fails, and never over an input of the run.
        let mut tx = crate::output::Transaction::new();
        tx.protect(&deal.path);
        tx.protect(&deal.pool.path);
        tx.protect(&deal.pool.tape);
        for m in &versions {
            tx.protect(&m.path);
        }
        tx.add_set(
            dir,
            vec![
                (report::COMPARISON_MD, md.into_bytes()),
                (report::COMPARISON_HTML, html.into_bytes()),
            ],
        );
        tx.commit()?;
    }
    Ok(CompareRun {
        deal,
        comparison,
        view,
    })
}
