//! Surveillance: following a deal after closing from its servicer reports.
//!
//! Every month the servicer reports the pool (a loan tape), the notes, the accounts and what
//! happened since closing. A directory holds one folder per payment date with a `report.yaml`
//! and its tape (docs/surveillance.md). [`read_dir`] reads and checks each report on its own
//! and returns them in date order; [`reconcile`] checks that each follows from the one before
//! it. A report is a deal state ([`Report::deal_state`]) over the loans of its tape, which is
//! what the rating of a report starts from.

mod error;
pub mod history;
pub mod rate;
mod reconcile;
mod report;
mod wire;

use std::path::Path;

use rust_decimal::Decimal;

use crate::deal::{Deal, DealState};

pub use error::{Mismatch, SurveilError};
pub use reconcile::reconcile;
pub use report::{Liquidations, NoteFigures, Report, phase_name};
pub use wire::{LiquidationsFile, NoteFile, ReportFile, ReportPhase, Trigger};

/// The file each report folder holds.
pub const REPORT_FILE: &str = "report.yaml";

/// Reads every report under `dir` (each sub-folder holds a `report.yaml`; files beside the
/// folders are ignored) and checks each against the deal; returns them sorted by payment date,
/// with no date twice and no period missing between two of them.
pub fn read_dir(dir: &Path, deal: &Deal) -> Result<Vec<Report>, SurveilError> {
    let failed = |message: String| SurveilError::Directory {
        path: dir.to_path_buf(),
        message,
    };
    let entries = std::fs::read_dir(dir).map_err(|e| failed(crate::input::reason(&e)))?;
    let mut folders = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| failed(crate::input::reason(&e)))?;
        if entry.path().is_dir() {
            folders.push(entry.path());
        }
    }
    if folders.is_empty() {
        return Err(failed(format!(
            "no reports: each report is a folder holding a {REPORT_FILE} (docs/surveillance.md)"
        )));
    }
    folders.sort();
    let mut reports = Vec::with_capacity(folders.len());
    for folder in &folders {
        let file = folder.join(REPORT_FILE);
        if !file.is_file() {
            return Err(SurveilError::Directory {
                path: folder.clone(),
                message: format!(
                    "no {REPORT_FILE}: each folder of a reports directory is a report"
                ),
            });
        }
        reports.push(Report::load(&file, deal)?);
    }
    reports.sort_by_key(|r| r.payment_date);
    for w in reports.windows(2) {
        let sequence = |field: &str, message: String| SurveilError::Sequence {
            previous: w[0].path.clone(),
            current: w[1].path.clone(),
            field: field.into(),
            message,
        };
        if w[0].payment_date == w[1].payment_date {
            return Err(sequence(
                "payment_date",
                format!(
                    "{} is also the date of the report beside it: one report per payment date",
                    w[1].payment_date
                ),
            ));
        }
        if w[1].period != w[0].period + 1 {
            let missing = deal.payment_dates()[w[0].period as usize];
            return Err(sequence(
                "period",
                format!(
                    "{} follows period {}: the report of period {} ({missing}) is missing",
                    w[1].period,
                    w[0].period,
                    w[0].period + 1
                ),
            ));
        }
    }
    Ok(reports)
}

/// Reads the reports under `dir` and reconciles them: [`read_dir`], then [`reconcile`].
pub fn check(dir: &Path, deal: &Deal) -> Result<Vec<Report>, SurveilError> {
    let reports = read_dir(dir, deal)?;
    reconcile(deal, &reports)?;
    Ok(reports)
}

/// The deal state of each report, with each note's record carried through the series: the
/// largest interest carried on any report so far, and the first period that carried any.
pub fn deal_states(reports: &[Report], initial_pool: Decimal) -> Vec<DealState> {
    let mut out: Vec<DealState> = Vec::with_capacity(reports.len());
    for r in reports {
        let mut state = r.deal_state(initial_pool);
        if let Some(before) = out.last() {
            for (now, was) in state.records.iter_mut().zip(&before.records) {
                now.max_shortfall = now.max_shortfall.max(was.max_shortfall);
                now.first_shortfall_period =
                    was.first_shortfall_period.or(now.first_shortfall_period);
            }
        }
        out.push(state);
    }
    out
}

/// The JSON Schema of `report.yaml`, for editor completion.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(ReportFile)).unwrap_or_default()
}
