//! The judgement a calibration reads: what the new version is called, how many paths it
//! simulates and how it reads the tail, the severity that turns the idealized expected-loss table
//! into default probabilities, and the overlays. Strict YAML, every number with its source
//! (docs/calibration.md). It sits beside the versions it produces, as
//! `methodology/<id>/calibration.yaml`; the registry reads only `<version>.yaml` files.

use std::path::Path;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::methodology::{MethodologyError, Overlay, Sourced};
use crate::yaml;

/// `methodology/<id>/calibration.yaml`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipeFile {
    /// The version the calibration writes.
    pub version: semver::Version,
    pub effective_date: NaiveDate,
    pub title: String,
    pub description: String,
    /// Expected loss = default probability x severity in the idealized table's source: a level's
    /// exceedance probability is the table's expected loss / severity, in (0, 1].
    pub severity: Sourced<Decimal>,
    /// Simulated one-year paths, at least 1,000.
    pub paths: Sourced<u64>,
    /// Seed of the paths' ChaCha8 streams (stream = path index).
    pub seed: Sourced<u64>,
    /// Share of paths above the tail fit's threshold, in (0, 0.5].
    pub tail_share: Sourced<Decimal>,
    /// Paths around a level's quantile that give its time to the low and its shape, at least 1.
    pub band_paths: Sourced<u64>,
    /// First start of the historical one-year windows (as `absrate backtest`).
    pub history_since: Sourced<NaiveDate>,
    /// The new version's overlays (caps and notch adjustments after the quantitative result),
    /// in the methodology's own format; they replace `--from`'s.
    #[serde(default)]
    pub overlays: Vec<Overlay>,
}

/// The recipe's numbers, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipe {
    pub file: RecipeFile,
    pub severity: f64,
    pub tail_share: f64,
}

fn invalid(path: &Path, field: &str, message: String) -> MethodologyError {
    MethodologyError::Invalid {
        path: path.to_path_buf(),
        where_: "calibration recipe".into(),
        field: field.into(),
        message,
    }
}

impl Recipe {
    pub fn parse(path: &Path, text: &str) -> Result<Recipe, MethodologyError> {
        let file: RecipeFile = yaml::from_str(path, text).map_err(|e| MethodologyError::Yaml {
            source: e,
            hint: None,
        })?;
        let severity = file.severity.value.to_f64().unwrap_or(0.0);
        if !(severity > 0.0 && severity <= 1.0) {
            return Err(invalid(
                path,
                "severity",
                format!("must be within (0, 1], got {}", file.severity.value),
            ));
        }
        let tail_share = file.tail_share.value.to_f64().unwrap_or(0.0);
        if !(tail_share > 0.0 && tail_share <= 0.5) {
            return Err(invalid(
                path,
                "tail_share",
                format!("must be within (0, 0.5], got {}", file.tail_share.value),
            ));
        }
        if !(1_000..=crate::limits::CALIBRATION_PATHS_MAX).contains(&file.paths.value) {
            return Err(invalid(
                path,
                "paths",
                format!(
                    "must be within [1000, {}], got {}",
                    crate::limits::CALIBRATION_PATHS_MAX,
                    file.paths.value
                ),
            ));
        }
        if file.band_paths.value == 0 || file.band_paths.value > file.paths.value {
            return Err(invalid(
                path,
                "band_paths",
                format!(
                    "must be within [1, paths = {}], got {}",
                    file.paths.value, file.band_paths.value
                ),
            ));
        }
        for (field, text) in [("title", &file.title), ("description", &file.description)] {
            if text.trim().is_empty() {
                return Err(invalid(path, field, "must not be empty".into()));
            }
        }
        Ok(Recipe {
            file,
            severity,
            tail_share,
        })
    }
}
