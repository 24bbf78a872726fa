//! Versioned rating methodologies: the agency's rule book as data.
//!
//! A methodology file (`methodology/<id>/<version>.yaml`, documented in `docs/methodology.md`)
//! gives the stress of every rating level from 'AAA' to 'B-', directly or by anchors and an
//! interpolation rule, each calibrated number with its provenance. Loading is strict (unknown keys
//! are located errors with a suggestion), every invariant has its own error, and published versions
//! are pinned by SHA-256 in `methodology/published.lock`. The published versions are built into the
//! binary, so a deal rates from any directory (`lookup.rs` says where a methodology is looked for).

mod auto;
mod builtin;
mod diff;
mod error;
mod json;
mod lookup;
mod model;
mod notch;
mod registry;
mod simulation;
mod stress;
mod suggest;
mod wire;

pub use auto::{AutoLevel, AutoMethodology, LossCurve, Speed};
pub use builtin::{BUILTIN, entries as builtin_entries, published_files as builtin_files};
pub use diff::{Change, OVERLAYS, diff};
pub use error::{Looked, MethodologyError};
pub use json::{DiffJson, ShowJson};
pub use lookup::{DIR_NAME, Lookup};
pub use model::{Level, Methodology};
pub use notch::{Notch, SCALE};
pub use registry::{Entry, LOCK_FILE, Place, Registry, sha256_of, versioned_files};
pub use simulation::IdealizedTable;
pub use stress::{
    Applies, DefaultRecovery, FIELDS, Field, Group, Harsher, Kind, MarketStress, Param, Stress,
    StressKind, Unit, Value,
};
pub use wire::{
    Adjustment, BaseCase, CalibrationFile, DefaultOrder, IdealizedMeasure, InterestCriterion,
    Interpolation, MarketFile, MethodologyFile, Mode, Overlay, PassCriteria, PrincipalCriterion,
    Rounding, RoundingStrategy, ShapeFile, SimulationFile, SimulationTermsFile, Sourced,
    StressFile,
};

/// The idealized table of a `simulation` section, checked and resolved onto the scale.
pub fn idealized_table(
    path: &std::path::Path,
    s: &SimulationFile,
) -> Result<IdealizedTable, MethodologyError> {
    simulation::check(path, Mode::MarketValue, Some(s))?.ok_or_else(|| MethodologyError::Invalid {
        path: path.to_path_buf(),
        where_: "simulation".into(),
        field: "idealized_table".into(),
        message: "is missing".into(),
    })
}

/// The JSON Schema of a methodology file, for editor completion.
pub fn json_schema() -> serde_json::Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(MethodologyFile)).unwrap_or_default();
    stress::annotate_schema(&mut schema);
    schema
}
