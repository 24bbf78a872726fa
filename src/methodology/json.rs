//! The JSON documents `absrate methodology show` and `methodology diff` print (`--format json`).

use serde::Serialize;

use super::{Change, FIELDS, Interpolation, Methodology, Overlay, PassCriteria, Rounding, Value};

/// What `methodology show --format json` prints: the methodology as loaded, each level's
/// parameters (the mode's fields) with their sources.
#[derive(Serialize)]
pub struct ShowJson<'a> {
    pub id: &'a str,
    pub version: String,
    pub effective_date: String,
    pub supersedes: Option<&'a str>,
    pub title: &'a str,
    pub sha256: &'a str,
    pub base_case: BaseCaseJson,
    pub rounding: Rounding,
    pub interpolation: Interpolation,
    pub pass_criteria: PassCriteria,
    pub levels: Vec<LevelJson<'a>>,
    pub overlays: &'a [Overlay],
}

#[derive(Serialize)]
pub struct BaseCaseJson {
    pub default_rate: String,
    pub recovery_rate: String,
}

#[derive(Serialize)]
pub struct LevelJson<'a> {
    pub notch: String,
    pub anchor: bool,
    pub params: Vec<ParamJson<'a>>,
}

#[derive(Serialize)]
pub struct ParamJson<'a> {
    pub field: &'static str,
    pub value: &'a Value,
    pub source: &'a str,
}

impl<'a> ShowJson<'a> {
    pub fn of(m: &'a Methodology) -> ShowJson<'a> {
        ShowJson {
            id: &m.id,
            version: m.version.to_string(),
            effective_date: m.effective_date.to_string(),
            supersedes: m.supersedes.as_deref(),
            title: &m.title,
            sha256: &m.sha256,
            base_case: BaseCaseJson {
                default_rate: m.base_case.default_rate.value.to_string(),
                recovery_rate: m.base_case.recovery_rate.value.to_string(),
            },
            rounding: m.rounding,
            interpolation: m.interpolation,
            pass_criteria: m.pass_criteria,
            levels: m
                .levels
                .iter()
                .map(|l| LevelJson {
                    notch: l.notch.to_string(),
                    anchor: l.anchor,
                    params: FIELDS
                        .iter()
                        .zip(&l.params)
                        .filter(|(f, _)| f.applies.to(m.mode))
                        .map(|(f, p)| ParamJson {
                            field: f.name,
                            value: &p.value,
                            source: &p.source,
                        })
                        .collect(),
                })
                .collect(),
            overlays: &m.overlays,
        }
    }
}

/// What `methodology diff --format json` prints.
#[derive(Serialize)]
pub struct DiffJson<'a> {
    pub a: String,
    pub b: String,
    pub changes: &'a [Change],
}
