//! What changed between two methodologies, parameter by parameter, on the fully resolved tables
//! (so a changed anchor shows every interpolated notch it moves).

use serde::Serialize;

use super::model::Methodology;
use super::stress::FIELDS;

/// One changed parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// A notch (`BBB-`), or a section (`base_case`, `rounding`, `interpolation`, `pass_criteria`).
    pub level: String,
    pub field: String,
    pub old: String,
    pub new: String,
}

fn push(out: &mut Vec<Change>, level: &str, field: &str, old: String, new: String) {
    if old != new {
        out.push(Change {
            level: level.into(),
            field: field.into(),
            old,
            new,
        });
    }
}

/// Every parameter whose value differs from `a` to `b`; provenance notes are not compared.
pub fn diff(a: &Methodology, b: &Methodology) -> Vec<Change> {
    let mut out = Vec::new();
    push(
        &mut out,
        "base_case",
        "default_rate",
        a.base_case.default_rate.value.normalize().to_string(),
        b.base_case.default_rate.value.normalize().to_string(),
    );
    push(
        &mut out,
        "base_case",
        "recovery_rate",
        a.base_case.recovery_rate.value.normalize().to_string(),
        b.base_case.recovery_rate.value.normalize().to_string(),
    );
    push(
        &mut out,
        "rounding",
        "money_places",
        a.rounding.money_places.to_string(),
        b.rounding.money_places.to_string(),
    );
    push(
        &mut out,
        "rounding",
        "strategy",
        format!("{:?}", a.rounding.strategy),
        format!("{:?}", b.rounding.strategy),
    );
    push(
        &mut out,
        "interpolation",
        "rule",
        format!("{:?}", a.interpolation),
        format!("{:?}", b.interpolation),
    );
    for (name, x, y) in [
        ("senior", a.pass_criteria.senior, b.pass_criteria.senior),
        (
            "subordinate",
            a.pass_criteria.subordinate,
            b.pass_criteria.subordinate,
        ),
    ] {
        push(
            &mut out,
            "pass_criteria",
            name,
            format!("{x:?}"),
            format!("{y:?}"),
        );
    }
    for (la, lb) in a.levels.iter().zip(&b.levels) {
        for (k, f) in FIELDS.iter().enumerate() {
            push(
                &mut out,
                la.notch.name(),
                f.name,
                la.params[k].value.to_string(),
                lb.params[k].value.to_string(),
            );
        }
    }
    out
}
