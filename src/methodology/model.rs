//! From a [`MethodologyFile`] to a checked [`Methodology`]: every notch resolved (given, or
//! interpolated between anchors), every value in range, stress monotone along the scale.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::error::MethodologyError;
use super::notch::{Notch, SCALE};
use super::simulation::{self, IdealizedTable};
use super::stress::{self, FIELDS, Harsher, Param, Partial, Stress};
use super::suggest::closest;
use super::wire::{
    BaseCase, Interpolation, MarketFile, MethodologyFile, Mode, Overlay, PassCriteria, Rounding,
    SimulationFile,
};
use crate::limits;
use crate::stress::path::Shape;
use crate::yaml::{self, YamlError};

/// One resolved rating level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Level {
    pub notch: Notch,
    /// True when the file gives this level; false when it is interpolated.
    pub anchor: bool,
    /// Every parameter, in [`FIELDS`] order, with its provenance.
    pub params: Vec<Param>,
    pub stress: Stress,
}

/// A validated methodology: the rule book of one `id@version`.
#[derive(Debug, Clone, PartialEq)]
pub struct Methodology {
    pub path: PathBuf,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    pub id: String,
    pub version: semver::Version,
    pub effective_date: NaiveDate,
    pub supersedes: Option<String>,
    pub title: String,
    pub description: String,
    pub rounding: Rounding,
    pub interpolation: Interpolation,
    pub pass_criteria: PassCriteria,
    pub base_case: BaseCase,
    pub mode: Mode,
    /// Market facts (market-value mode).
    pub market: Option<MarketFile>,
    /// The Monte Carlo second opinion's terms and table (market-value mode, optional).
    pub simulation: Option<SimulationFile>,
    /// The idealized table of `simulation`, resolved onto the scale.
    pub idealized: Option<IdealizedTable>,
    /// All 16 notches, 'AAA' first.
    pub levels: Vec<Level>,
    /// Caps and adjustments applied after the quantitative result, in the file's order; names
    /// unique.
    pub overlays: Vec<Overlay>,
    /// How a calibrated version was computed (`absrate methodology calibrate`), if it was.
    pub calibration: Option<super::wire::CalibrationFile>,
}

impl Methodology {
    /// `id@version`.
    pub fn name(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }

    pub fn level(&self, notch: Notch) -> &Level {
        &self.levels[notch.index()]
    }

    /// A path shape by the name a level gives (`linear`, `front_loaded`, or `market.shapes`).
    pub fn shape(&self, name: &str) -> Option<Shape> {
        match name {
            "linear" => Some(Shape::Linear),
            "front_loaded" => Some(Shape::FrontLoaded),
            _ => {
                let f = self.market.as_ref()?.shapes.get(name)?;
                let f64_of = |d: &Decimal| rust_decimal::prelude::ToPrimitive::to_f64(d);
                let points = f
                    .points
                    .iter()
                    .map(|[u, s]| Some((f64_of(u)?, f64_of(s)?)))
                    .collect::<Option<Vec<_>>>()?;
                Some(Shape::Points {
                    name: name.to_string(),
                    points,
                })
            }
        }
    }

    /// Reads and checks a methodology file.
    pub fn load(path: &Path) -> Result<Methodology, MethodologyError> {
        let bytes = crate::input::read(path).map_err(|message| MethodologyError::Read {
            path: path.to_path_buf(),
            message,
        })?;
        Methodology::from_bytes(path, bytes)
    }

    /// Checks a methodology file's bytes; `path` names it in messages (a file, or a methodology
    /// built into absrate).
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Methodology, MethodologyError> {
        if bytes.len() as u64 > yaml::MAX_BYTES {
            return Err(MethodologyError::Yaml {
                source: YamlError::TooLarge {
                    path: path.to_path_buf(),
                    size: bytes.len() as u64,
                    max: yaml::MAX_BYTES,
                },
                hint: None,
            });
        }
        let text = String::from_utf8(bytes.clone()).map_err(|_| MethodologyError::Read {
            path: path.to_path_buf(),
            message: "not UTF-8 text".into(),
        })?;
        let file: MethodologyFile = yaml::from_str(path, &text).map_err(|e| {
            let hint = unknown_field_hint(&e);
            MethodologyError::Yaml { source: e, hint }
        })?;
        let sha256 = hex(&Sha256::digest(&bytes));
        resolve(path, file, sha256)
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// For serde's "unknown field `x`, expected one of `a`, `b`": the closest expected name.
fn unknown_field_hint(e: &YamlError) -> Option<String> {
    let YamlError::Parse { message, .. } = e else {
        return None;
    };
    let rest = message.split("unknown field `").nth(1)?;
    let (unknown, rest) = rest.split_once('`')?;
    let list = rest.split_once("expected one of ")?.1;
    let expected = list.split(',').map(|s| s.trim().trim_matches('`'));
    closest(unknown, expected).map(|s| format!("did you mean `{s}`?"))
}

fn invalid(path: &Path, where_: &str, field: &str, message: String) -> MethodologyError {
    MethodologyError::Invalid {
        path: path.to_path_buf(),
        where_: where_.to_string(),
        field: field.to_string(),
        message,
    }
}

fn check_range(
    path: &Path,
    where_: &str,
    partial: &Partial,
    mode: Mode,
) -> Result<(), MethodologyError> {
    for (f, p) in FIELDS.iter().zip(partial) {
        if p.is_some() && !f.applies.to(mode) {
            let why = match mode {
                Mode::MarketValue => {
                    "is not stated in `market_value` mode: the liquidation engine derives it from the price path"
                }
                Mode::DefaultAndRecovery => {
                    "is only used in `market_value` mode (set `mode: market_value`)"
                }
            };
            return Err(invalid(path, where_, f.name, why.into()));
        }
        if let Some(p) = p
            && let Some(msg) = stress::out_of_range(f.kind, &p.value)
        {
            return Err(invalid(path, where_, f.name, msg));
        }
    }
    Ok(())
}

fn resolve(
    path: &Path,
    file: MethodologyFile,
    sha256: String,
) -> Result<Methodology, MethodologyError> {
    for (name, v) in [
        ("default_rate", &file.base_case.default_rate.value),
        ("recovery_rate", &file.base_case.recovery_rate.value),
    ] {
        if *v < Decimal::ZERO || *v > Decimal::ONE {
            return Err(invalid(
                path,
                "base_case",
                name,
                format!("must be within [0, 1], got {}", v.normalize()),
            ));
        }
    }
    if file.rounding.money_places > 8 {
        return Err(invalid(
            path,
            "rounding",
            "money_places",
            format!("must be at most 8, got {}", file.rounding.money_places),
        ));
    }
    check_market(path, &file)?;
    let idealized = simulation::check(path, file.mode, file.simulation.as_ref())?;
    let mode = file.mode;
    let common = stress::partial(&file.common);
    check_range(path, "common", &common, mode)?;

    // Anchors: the levels the file gives, merged over `common`, each complete.
    let mut anchors: Vec<Option<Vec<Param>>> = vec![None; SCALE.len()];
    for (key, level) in &file.levels {
        let notch: Notch = key.parse().map_err(|_| MethodologyError::UnknownNotch {
            path: path.to_path_buf(),
            key: key.clone(),
            suggestion: closest(key, SCALE.iter().copied()).map(str::to_string),
        })?;
        let where_ = format!("level '{notch}'");
        let own = stress::partial(level);
        check_range(path, &where_, &own, mode)?;
        let mut merged = Vec::with_capacity(FIELDS.len());
        for ((f, mine), shared) in FIELDS.iter().zip(own).zip(&common) {
            if !f.applies.to(mode) {
                merged.push(Param {
                    value: stress::Value::NotStated,
                    source: match mode {
                        Mode::MarketValue => "derived by the liquidation engine".into(),
                        Mode::DefaultAndRecovery => "not used in this mode".into(),
                    },
                });
                continue;
            }
            if f.name == "path_shape"
                && let Some(Param {
                    value: stress::Value::Text(name),
                    ..
                }) = mine.as_ref().or(shared.as_ref())
            {
                check_shape(path, &where_, &file, name)?;
            }
            match mine.or_else(|| shared.clone()) {
                Some(p) => merged.push(p),
                None => {
                    return Err(invalid(
                        path,
                        &where_,
                        f.name,
                        "missing (give it in the level or in `common`)".into(),
                    ));
                }
            }
        }
        anchors[notch.index()] = Some(merged);
    }

    // Every notch: its anchor, or interpolated between the nearest anchors above and below.
    let mut levels = Vec::with_capacity(SCALE.len());
    for notch in Notch::all() {
        let i = notch.index();
        let params = match &anchors[i] {
            Some(p) => p.clone(),
            None => {
                let above = (0..i).rev().find(|j| anchors[*j].is_some());
                let below = (i + 1..SCALE.len()).find(|j| anchors[*j].is_some());
                let (hi, lo) = match (above, below) {
                    (Some(h), Some(l)) => (h, l),
                    _ => {
                        let reason = match (above, below) {
                            (None, _) => "no level above it is given ('AAA' must be given)",
                            _ => "no level below it is given ('B-' must be given)",
                        };
                        return Err(MethodologyError::MissingNotch {
                            path: path.to_path_buf(),
                            notch: notch.to_string(),
                            reason: reason.to_string(),
                        });
                    }
                };
                let (hp, lp) = (
                    anchors[hi].as_ref().unwrap_or(&Vec::new()).clone(),
                    anchors[lo].clone().unwrap_or_default(),
                );
                let t = Decimal::from((i - hi) as u64) / Decimal::from((lo - hi) as u64);
                let (hn, ln) = (SCALE[hi], SCALE[lo]);
                hp.iter()
                    .zip(&lp)
                    .map(|(h, l)| {
                        let value = match file.interpolation {
                            Interpolation::Linear => stress::interpolate(&h.value, &l.value, t),
                            Interpolation::Step => h.value.clone(),
                        };
                        let source = if value == h.value && h.value == l.value {
                            format!("as at '{hn}' and '{ln}'")
                        } else if value == h.value {
                            format!("from '{hn}', the nearest level above")
                        } else {
                            format!("interpolated between '{hn}' and '{ln}'")
                        };
                        Param { value, source }
                    })
                    .collect()
            }
        };
        let stress = Stress::from_params(&params).ok_or_else(|| {
            invalid(
                path,
                &format!("level '{notch}'"),
                "stress",
                "a value has the wrong type".into(),
            )
        })?;
        levels.push(Level {
            notch,
            anchor: anchors[i].is_some(),
            params,
            stress,
        });
    }

    check_monotone(path, &levels)?;
    check_overlays(path, &file.overlays)?;
    Ok(Methodology {
        path: path.to_path_buf(),
        sha256,
        id: file.id,
        version: file.version,
        effective_date: file.effective_date,
        supersedes: file.supersedes,
        title: file.title,
        description: file.description,
        rounding: file.rounding,
        interpolation: file.interpolation,
        pass_criteria: file.pass_criteria,
        base_case: file.base_case,
        mode: file.mode,
        market: file.market,
        simulation: file.simulation,
        idealized,
        levels,
        overlays: file.overlays,
        calibration: file.calibration,
    })
}

/// Overlay names are unique: the grid and the rationale name an overlay by it. (Each overlay's
/// own fields were checked where the parser read them.)
fn check_overlays(path: &Path, overlays: &[Overlay]) -> Result<(), MethodologyError> {
    for (i, o) in overlays.iter().enumerate() {
        if let Some(first) = overlays[..i].iter().position(|x| x.name == o.name) {
            return Err(invalid(
                path,
                &format!("overlays[{}]", i + 1),
                "name",
                format!(
                    "`{}` is the name of overlays[{}] too: each overlay needs its own name",
                    o.name,
                    first + 1
                ),
            ));
        }
    }
    Ok(())
}

/// The `market` section: present exactly in market-value mode, every number in range, every
/// shape well formed.
fn check_market(path: &Path, file: &MethodologyFile) -> Result<(), MethodologyError> {
    let m = match (file.mode, &file.market) {
        (Mode::MarketValue, Some(m)) => m,
        (Mode::MarketValue, None) => {
            return Err(invalid(
                path,
                "market",
                "market",
                "missing: `market_value` mode needs the `market` section (docs/methodology.md)"
                    .into(),
            ));
        }
        (Mode::DefaultAndRecovery, Some(_)) => {
            return Err(invalid(
                path,
                "market",
                "market",
                "is only used in `market_value` mode (set `mode: market_value`)".into(),
            ));
        }
        (Mode::DefaultAndRecovery, None) => return Ok(()),
    };
    let bad = |field: &str, message: String| Err(invalid(path, "market", field, message));
    if m.horizon_days.value == 0 || m.horizon_days.value > limits::HORIZON_DAYS_MAX {
        return bad(
            "horizon_days",
            format!(
                "must be within [1, {}], got {}",
                limits::HORIZON_DAYS_MAX,
                m.horizon_days.value
            ),
        );
    }
    let cure = m.cure_ltv.value;
    if cure <= Decimal::ZERO || cure >= Decimal::ONE {
        return bad(
            "cure_ltv",
            format!("must be within (0, 1), got {}", cure.normalize()),
        );
    }
    // Impact is `coefficient x daily volatility x sqrt(sold / volume)`: a coefficient up to the
    // multiplier limit, a daily volatility up to 100%, a day's volume below the money limit.
    for (name, v, max, max_text) in [
        (
            "impact_coefficient",
            m.impact_coefficient.value,
            limits::MULTIPLIER_MAX,
            limits::MULTIPLIER_MAX_TEXT,
        ),
        (
            "daily_volatility",
            m.daily_volatility.value,
            Decimal::ONE,
            "1",
        ),
    ] {
        if v < Decimal::ZERO {
            return bad(name, format!("must be >= 0, got {}", v.normalize()));
        }
        if v > max {
            return bad(
                name,
                format!(
                    "must be at most {max_text} ({}), got {}",
                    stress::LIMIT,
                    v.normalize()
                ),
            );
        }
    }
    if m.daily_volume_usd.value <= Decimal::ZERO {
        return bad(
            "daily_volume_usd",
            format!("must be > 0, got {}", m.daily_volume_usd.value.normalize()),
        );
    }
    if m.daily_volume_usd.value >= limits::MONEY_MAX {
        return bad(
            "daily_volume_usd",
            format!(
                "must be below {} ({}), got {}",
                limits::MONEY_MAX_TEXT,
                stress::LIMIT,
                m.daily_volume_usd.value.normalize()
            ),
        );
    }
    for (name, shape) in &m.shapes {
        let field = format!("shapes.{name}");
        let pts = &shape.points;
        let (Some(first), Some(last)) = (pts.first(), pts.last()) else {
            return bad(&field, "must list at least two points".into());
        };
        if first[0] != Decimal::ZERO || first[1] != Decimal::ZERO {
            return bad(&field, "must start at [0, 0]".into());
        }
        if last[0] != Decimal::ONE || last[1] != Decimal::ONE {
            return bad(&field, "must end at [1, 1] (the trough)".into());
        }
        if let Some(w) = pts.windows(2).find(|w| w[1][0] <= w[0][0]) {
            return bad(
                &field,
                format!(
                    "the times (first numbers) must rise: {} after {}",
                    w[1][0].normalize(),
                    w[0][0].normalize()
                ),
            );
        }
        if let Some(p) = pts.iter().find(|p| p[1] > Decimal::ONE) {
            return bad(
                &field,
                format!(
                    "no point may fall below the trough (share {} > 1)",
                    p[1].normalize()
                ),
            );
        }
    }
    Ok(())
}

/// A level's `path_shape` names a built-in or a shape of `market.shapes`.
fn check_shape(
    path: &Path,
    where_: &str,
    file: &MethodologyFile,
    name: &str,
) -> Result<(), MethodologyError> {
    let known: Vec<&str> = ["linear", "front_loaded"]
        .into_iter()
        .chain(
            file.market
                .iter()
                .flat_map(|m| m.shapes.keys().map(String::as_str)),
        )
        .collect();
    if known.contains(&name) {
        return Ok(());
    }
    let hint = closest(name, known.iter().copied())
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default();
    Err(invalid(
        path,
        where_,
        "path_shape",
        format!("unknown shape `{name}`{hint}; known: {}", known.join(", ")),
    ))
}

/// A higher rating never has a milder parameter than the notch below it.
fn check_monotone(path: &Path, levels: &[Level]) -> Result<(), MethodologyError> {
    for pair in levels.windows(2) {
        let (higher, lower) = (&pair[0], &pair[1]);
        for (k, f) in FIELDS.iter().enumerate() {
            let (Some(h), Some(l)) = (
                higher.params[k].value.number(),
                lower.params[k].value.number(),
            ) else {
                continue;
            };
            let milder = match f.harsher {
                Harsher::Higher => h < l,
                Harsher::Lower => h > l,
                Harsher::Unordered => false,
            };
            if milder {
                return Err(MethodologyError::NotMonotone {
                    path: path.to_path_buf(),
                    field: f.name,
                    higher: higher.notch,
                    lower: lower.notch,
                    values: Box::new((
                        higher.params[k].value.to_string(),
                        lower.params[k].value.to_string(),
                    )),
                });
            }
        }
    }
    Ok(())
}
