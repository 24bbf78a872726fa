//! What changed between two methodologies, parameter by parameter, on the fully resolved tables
//! (so a changed anchor shows every interpolated notch it moves).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::model::Methodology;
use super::stress::FIELDS;
use super::wire::Mode;

/// The `level` of a change to an overlay (its `field` is the overlay's name).
pub const OVERLAYS: &str = "overlays";

/// One changed parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// A notch (`BBB-`), or a section (`base_case`, `rounding`, `interpolation`, `pass_criteria`,
    /// `mode`, `market`, `simulation`, `overlays`).
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
    push(
        &mut out,
        "mode",
        "mode",
        mode_name(a.mode).into(),
        mode_name(b.mode).into(),
    );
    let (ma, mb) = (market_facts(a), market_facts(b));
    let keys: BTreeSet<&String> = ma.keys().chain(mb.keys()).collect();
    for key in keys {
        let side = |m: &BTreeMap<String, String>| m.get(key).cloned().unwrap_or_else(|| "-".into());
        push(&mut out, "market", key, side(&ma), side(&mb));
    }
    let (sa, sb) = (simulation_facts(a), simulation_facts(b));
    let keys: BTreeSet<&String> = sa.keys().chain(sb.keys()).collect();
    for key in keys {
        let side = |m: &BTreeMap<String, String>| m.get(key).cloned().unwrap_or_else(|| "-".into());
        push(&mut out, "simulation", key, side(&sa), side(&sb));
    }
    // Overlays by name, in the order they appear (`a`'s, then those only `b` has); the
    // adjustment is compared, the reason and source are provenance, as a level's source is.
    let mut names: Vec<&str> = a.overlays.iter().map(|o| o.name.as_str()).collect();
    for o in &b.overlays {
        if !names.contains(&o.name.as_str()) {
            names.push(&o.name);
        }
    }
    for name in names {
        let side = |m: &Methodology| {
            m.overlays
                .iter()
                .find(|o| o.name == name)
                .map_or_else(|| "-".into(), |o| o.adjustment.to_string())
        };
        push(&mut out, OVERLAYS, name, side(a), side(b));
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

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::DefaultAndRecovery => "default_and_recovery",
        Mode::MarketValue => "market_value",
    }
}

/// The `market` section as `field -> value`, shapes as their points; empty without one.
fn market_facts(m: &Methodology) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(k) = &m.market else {
        return out;
    };
    let d = |v: &rust_decimal::Decimal| v.normalize().to_string();
    out.insert("horizon_days".into(), k.horizon_days.value.to_string());
    out.insert("cure_ltv".into(), d(&k.cure_ltv.value));
    out.insert("answer_seed".into(), k.answer_seed.value.to_string());
    out.insert("impact_coefficient".into(), d(&k.impact_coefficient.value));
    out.insert("daily_volatility".into(), d(&k.daily_volatility.value));
    out.insert("daily_volume_usd".into(), d(&k.daily_volume_usd.value));
    for (name, shape) in &k.shapes {
        let points: Vec<String> = shape
            .points
            .iter()
            .map(|[u, s]| format!("[{}, {}]", d(u), d(s)))
            .collect();
        out.insert(format!("shapes.{name}"), points.join(" "));
    }
    out
}

/// The `simulation` section as `field -> value` (sources left out, as for levels); empty without
/// one.
fn simulation_facts(m: &Methodology) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(s) = &m.simulation else {
        return out;
    };
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut BTreeMap<String, String>) {
        match v {
            serde_json::Value::Object(o) => {
                if let (Some(value), true) = (o.get("value"), o.contains_key("source")) {
                    walk(prefix, value, out);
                    return;
                }
                for (k, x) in o {
                    if k == "source" {
                        continue;
                    }
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, x, out);
                }
            }
            serde_json::Value::Array(a) => {
                let items: Vec<String> = a
                    .iter()
                    .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                    .collect();
                out.insert(prefix.to_string(), items.join(", "));
            }
            serde_json::Value::String(t) => {
                out.insert(prefix.to_string(), t.clone());
            }
            other => {
                out.insert(prefix.to_string(), other.to_string());
            }
        }
    }
    if let Ok(v) = serde_json::to_value(s) {
        walk("", &v, &mut out);
    }
    out
}
