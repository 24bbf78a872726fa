//! Auto-loan methodologies (`methodology/auto-loans/<version>.yaml`, docs/auto.md): per rating
//! level a multiple of the deal's base-case expected cumulative net loss (ECNL), loss-timing
//! curves and prepayment speeds that every level must survive (the worse result counts), a
//! recovery haircut and lag, and the pass criteria.
//!
//! Read strictly (unknown keys are located errors), every number with its `source`; anchors are
//! interpolated linearly in the notch position like the BTC methodologies' (6 places, half to
//! even), and a higher rating never has a milder multiple or haircut than the notch below it.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::MethodologyError;
use super::notch::Notch;
use super::wire::{PassCriteria, Rounding, Sourced};
use crate::yaml;

/// The one asset class these files rate; a file says so (`asset_class: auto_loans`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum AssetClassWire {
    AutoLoans,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelWire {
    /// Multiple of the deal's ECNL the note must survive.
    cnl_multiple: Sourced<Decimal>,
    /// Share of the base-case recovery rate taken away.
    recovery_haircut: Sourced<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct CurveWire {
    /// Share of the cumulative net loss in each 12 months from closing; sums to 1.
    annual_shares: Sourced<Vec<Decimal>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourcedCriteria {
    value: PassCriteria,
    source: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct AutoMethodologyFile {
    id: String,
    version: String,
    asset_class: AssetClassWire,
    effective_date: NaiveDate,
    #[serde(default)]
    supersedes: Option<String>,
    title: String,
    description: String,
    rounding: Rounding,
    pass_criteria: SourcedCriteria,
    clean_up_call_exercised: Sourced<bool>,
    /// Named loss-timing curves; every level is run under each.
    loss_timing: std::collections::BTreeMap<String, CurveWire>,
    /// Named prepayment speeds (ABS); every level is run under each.
    prepayment_abs: std::collections::BTreeMap<String, Sourced<Decimal>>,
    recovery_lag_months: Sourced<u32>,
    /// Anchors by notch; `AAA` and `B-` given.
    levels: std::collections::BTreeMap<String, LevelWire>,
}

/// A loss-timing curve: its name, the annual shares as written, and the monthly shares the
/// collateral model takes (each year's share over its 12 months, the last month of a year taking
/// what the other eleven leave, so the months sum to 1 exactly).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LossCurve {
    pub name: String,
    pub annual: Vec<Decimal>,
    pub monthly: Vec<Decimal>,
    pub source: String,
}

/// A prepayment speed (ABS).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Speed {
    pub name: String,
    pub abs: Decimal,
    pub source: String,
}

/// One notch of an auto-loan methodology.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AutoLevel {
    pub notch: Notch,
    pub cnl_multiple: Decimal,
    pub recovery_haircut: Decimal,
    /// `None` for an anchor; else the anchors it lies between.
    pub interpolated: Option<(Notch, Notch)>,
    pub source: String,
}

/// A validated auto-loan methodology.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AutoMethodology {
    pub path: PathBuf,
    pub id: String,
    pub version: String,
    pub sha256: String,
    pub effective_date: NaiveDate,
    pub supersedes: Option<String>,
    pub title: String,
    pub description: String,
    #[serde(skip)]
    pub rounding: Rounding,
    #[serde(skip)]
    pub pass_criteria: PassCriteria,
    pub pass_criteria_source: String,
    pub clean_up_call_exercised: bool,
    pub clean_up_call_source: String,
    pub curves: Vec<LossCurve>,
    pub speeds: Vec<Speed>,
    pub recovery_lag_months: u32,
    pub recovery_lag_source: String,
    /// All 16 notches, 'AAA' first.
    pub levels: Vec<AutoLevel>,
}

impl AutoMethodology {
    pub fn name(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }

    pub fn level(&self, notch: Notch) -> &AutoLevel {
        &self.levels[notch.index()]
    }

    /// Whether the methodology file at `path` is an auto-loan one (a top-level
    /// `asset_class: auto_loans`), so `methodology list` and `check` read it as one.
    pub fn is_auto_file(path: &Path) -> bool {
        std::fs::read_to_string(path).is_ok_and(|t| {
            t.lines().any(|l| {
                l.strip_prefix("asset_class:")
                    .is_some_and(|v| v.split('#').next().unwrap_or("").trim() == "auto_loans")
            })
        })
    }

    pub fn load(path: &Path) -> Result<AutoMethodology, MethodologyError> {
        let bytes = crate::input::read(path).map_err(|message| MethodologyError::Read {
            path: path.to_path_buf(),
            message,
        })?;
        let text = String::from_utf8(bytes.clone()).map_err(|_| MethodologyError::Read {
            path: path.to_path_buf(),
            message: "not UTF-8 text".into(),
        })?;
        let file: AutoMethodologyFile = yaml::from_str(path, &text)
            .map_err(|source| MethodologyError::Yaml { source, hint: None })?;
        let sha256 = super::model::hex(&Sha256::digest(&bytes));
        resolve(path, file, sha256)
    }

    /// Looks `spec` up as `rate` looks up a methodology (a file path, `id@version` or `id`, in
    /// the registry directories beside the deal and above it).
    pub fn resolve(
        lookup: &super::Lookup,
        spec: &str,
    ) -> Result<AutoMethodology, MethodologyError> {
        let as_path = Path::new(spec);
        if as_path.is_file() {
            return AutoMethodology::load(as_path);
        }
        let (id, version) = match spec.split_once('@') {
            Some((id, v)) => (id, Some(v)),
            None => (spec, None),
        };
        let found = lookup
            .entries()
            .into_iter()
            .filter(|e| e.id == id && e.place != super::Place::Builtin)
            .filter(|e| version.is_none_or(|v| e.version.to_string() == v))
            .max_by(|a, b| a.version.cmp(&b.version));
        match found {
            Some(e) => {
                let m = AutoMethodology::load(&e.path)?;
                if m.id != e.id || m.version != e.version.to_string() {
                    return Err(MethodologyError::Misplaced {
                        path: e.path.clone(),
                        found: m.name(),
                        expected: e.name(),
                    });
                }
                Ok(m)
            }
            None => Err(MethodologyError::NotFound {
                spec: spec.to_string(),
                looked: lookup.looked(),
            }),
        }
    }
}

fn invalid(path: &Path, where_: &str, field: &str, message: impl Into<String>) -> MethodologyError {
    MethodologyError::Invalid {
        path: path.to_path_buf(),
        where_: where_.into(),
        field: field.into(),
        message: message.into(),
    }
}

fn resolve(
    path: &Path,
    f: AutoMethodologyFile,
    sha256: String,
) -> Result<AutoMethodology, MethodologyError> {
    let AssetClassWire::AutoLoans = f.asset_class;
    if semver::Version::parse(&f.version).is_err() {
        return Err(invalid(
            path,
            "version",
            "version",
            format!("`{}` is not a semantic version (e.g. 1.0.0)", f.version),
        ));
    }
    let twelve = Decimal::from(12);
    let mut curves = Vec::new();
    for (name, c) in &f.loss_timing {
        let a = &c.annual_shares.value;
        let where_ = format!("loss_timing.{name}");
        if a.is_empty() || a.iter().any(|s| *s < Decimal::ZERO) {
            return Err(invalid(
                path,
                &where_,
                "annual_shares",
                "needs shares >= 0, at least one",
            ));
        }
        let sum: Decimal = a.iter().sum();
        if sum != Decimal::ONE {
            return Err(invalid(
                path,
                &where_,
                "annual_shares",
                format!("must sum to 1, sums to {sum}"),
            ));
        }
        let mut monthly = Vec::with_capacity(a.len() * 12);
        for year in a {
            let m = (year / twelve).round_dp(12);
            for _ in 0..11 {
                monthly.push(m);
            }
            monthly.push(year - m * Decimal::from(11));
        }
        curves.push(LossCurve {
            name: name.clone(),
            annual: a.clone(),
            monthly,
            source: c.annual_shares.source.clone(),
        });
    }
    if curves.is_empty() {
        return Err(invalid(
            path,
            "loss_timing",
            "loss_timing",
            "needs at least one curve",
        ));
    }
    let mut speeds = Vec::new();
    for (name, s) in &f.prepayment_abs {
        if s.value < Decimal::ZERO || s.value >= Decimal::ONE {
            return Err(invalid(
                path,
                "prepayment_abs",
                name,
                format!("must be within [0, 1), got {}", s.value),
            ));
        }
        speeds.push(Speed {
            name: name.clone(),
            abs: s.value,
            source: s.source.clone(),
        });
    }
    if speeds.is_empty() {
        return Err(invalid(
            path,
            "prepayment_abs",
            "prepayment_abs",
            "needs at least one speed",
        ));
    }
    if f.recovery_lag_months.value > crate::limits::MONTHS_MAX {
        return Err(invalid(
            path,
            "recovery_lag_months",
            "recovery_lag_months",
            format!(
                "must be at most {} {}",
                crate::limits::MONTHS_MAX,
                crate::limits::CITE
            ),
        ));
    }
    // Anchors, on the scale.
    let mut anchors: Vec<(Notch, &LevelWire)> = Vec::new();
    for (name, l) in &f.levels {
        let notch: Notch = name
            .parse()
            .map_err(|e: String| invalid(path, "levels", name, e))?;
        let where_ = format!("level '{notch}'");
        if l.cnl_multiple.value < Decimal::ONE
            || l.cnl_multiple.value > crate::limits::MULTIPLIER_MAX
        {
            return Err(invalid(
                path,
                &where_,
                "cnl_multiple",
                format!("must be within [1, 100], got {}", l.cnl_multiple.value),
            ));
        }
        if l.recovery_haircut.value < Decimal::ZERO || l.recovery_haircut.value > Decimal::ONE {
            return Err(invalid(
                path,
                &where_,
                "recovery_haircut",
                format!("must be within [0, 1], got {}", l.recovery_haircut.value),
            ));
        }
        anchors.push((notch, l));
    }
    anchors.sort_by_key(|(n, _)| *n);
    if anchors.first().map(|a| a.0) != Some(Notch::AAA)
        || anchors.last().map(|a| a.0) != Some(Notch::B_MINUS)
    {
        return Err(invalid(
            path,
            "levels",
            "levels",
            "`AAA` and `B-` must be given; notches between them are interpolated",
        ));
    }
    let mut levels = Vec::with_capacity(16);
    for notch in Notch::all() {
        let hi = anchors
            .iter()
            .rev()
            .find(|(n, _)| *n <= notch)
            .expect("AAA");
        let lo = anchors.iter().find(|(n, _)| *n >= notch).expect("B-");
        let level = if hi.0 == notch {
            AutoLevel {
                notch,
                cnl_multiple: hi.1.cnl_multiple.value,
                recovery_haircut: hi.1.recovery_haircut.value,
                interpolated: None,
                source: hi.1.cnl_multiple.source.clone(),
            }
        } else {
            let span = Decimal::from((lo.0.index() - hi.0.index()) as u32);
            let x = Decimal::from((notch.index() - hi.0.index()) as u32) / span;
            let lerp = |a: Decimal, b: Decimal| {
                (a + (b - a) * x)
                    .round_dp_with_strategy(6, rust_decimal::RoundingStrategy::MidpointNearestEven)
            };
            AutoLevel {
                notch,
                cnl_multiple: lerp(hi.1.cnl_multiple.value, lo.1.cnl_multiple.value),
                recovery_haircut: lerp(hi.1.recovery_haircut.value, lo.1.recovery_haircut.value),
                interpolated: Some((hi.0, lo.0)),
                source: format!("interpolated between '{}' and '{}'", hi.0, lo.0),
            }
        };
        levels.push(level);
    }
    // Monotone stress: going down the scale, nothing gets harsher.
    for w in levels.windows(2) {
        let (up, down) = (&w[0], &w[1]);
        for (field, a, b) in [
            ("cnl_multiple", up.cnl_multiple, down.cnl_multiple),
            (
                "recovery_haircut",
                up.recovery_haircut,
                down.recovery_haircut,
            ),
        ] {
            if b > a {
                return Err(invalid(
                    path,
                    &format!("level '{}'", down.notch),
                    field,
                    format!(
                        "{b} is harsher than '{}' above it ({a}): a lower rating never has a harsher stress",
                        up.notch
                    ),
                ));
            }
        }
    }
    Ok(AutoMethodology {
        path: path.to_path_buf(),
        id: f.id,
        version: f.version,
        sha256,
        effective_date: f.effective_date,
        supersedes: f.supersedes,
        title: f.title,
        description: f.description,
        rounding: f.rounding,
        pass_criteria: f.pass_criteria.value,
        pass_criteria_source: f.pass_criteria.source,
        clean_up_call_exercised: f.clean_up_call_exercised.value,
        clean_up_call_source: f.clean_up_call_exercised.source,
        curves,
        speeds,
        recovery_lag_months: f.recovery_lag_months.value,
        recovery_lag_source: f.recovery_lag_months.source,
        levels,
    })
}
