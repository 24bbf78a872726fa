//! `absrate methodology calibrate` (issue 14, docs/calibration.md): a market-value methodology
//! whose path-driven fields are computed, level by level, at the probability the methodology's
//! idealized table gives each rating over the path's horizon.
//!
//! The judgement is read, never computed: the `--from` methodology (its market facts, borrower
//! behaviour, terms of sale other than the gap, collections, the idealized table and the
//! execution window of its `simulation` section) and the recipe (paths, seed, tail fit, the
//! severity that turns the table's expected losses into default probabilities, the new version's
//! name). Computed, for every anchor level of `--from`: `btc_trough`, `days_to_trough`,
//! `path_shape` (a shape of its own in `market.shapes`) and `liquidation_gap`, each with a
//! `source` saying how. The same inputs give the same file, byte for byte, whatever the thread
//! count ([`ladder`] keeps path order).

pub mod ladder;
pub mod recipe;
pub mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};

use crate::methodology::{IdealizedTable, MethodologyError, MethodologyFile, Mode, Notch};
use crate::price::{History, LoadedModel};
use ladder::{LevelFigures, Read, Settings};
pub use recipe::{Recipe, RecipeFile};

/// Everything a calibration reads, loaded.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The methodology the judgement comes from, as written, and its name.
    pub from: MethodologyFile,
    pub from_path: PathBuf,
    pub model: LoadedModel,
    /// The price file from the recipe's `history_since` to its last date.
    pub history: History,
    pub recipe: Recipe,
    pub recipe_name: String,
    pub recipe_sha256: String,
    /// The command line that writes the file (recorded in it).
    pub command: String,
}

/// A calibration's result: the new methodology as written, and each anchor's figures.
#[derive(Debug, Clone)]
pub struct Calibrated {
    pub file: MethodologyFile,
    pub levels: Vec<(Notch, LevelFigures)>,
    pub settings: Settings,
}

fn invalid(path: &Path, where_: &str, field: &str, message: String) -> MethodologyError {
    MethodologyError::Invalid {
        path: path.to_path_buf(),
        where_: where_.into(),
        field: field.into(),
        message,
    }
}

/// Four places, rounded up: a computed depth is never made milder by its rounding.
fn up4(x: f64) -> Decimal {
    let d = Decimal::from_f64((x * 10_000.0).ceil() / 10_000.0).unwrap_or(Decimal::ONE);
    d.round_dp(4).normalize()
}

fn dp4(x: f64) -> Decimal {
    Decimal::from_f64(x)
        .unwrap_or_default()
        .round_dp(4)
        .normalize()
}

fn pct(x: f64, places: usize) -> String {
    format!("{:.*}%", places, x * 100.0)
}

/// A probability as a reader compares them: `0.0001%` rather than `1e-6`.
fn prob(p: f64) -> String {
    let digits = (-(p * 100.0).log10()).ceil().max(0.0) as usize + 1;
    format!("{:.*}%", digits.min(8), p * 100.0)
}

fn read_text(r: &Read, what: &str) -> String {
    match r {
        Read::Empirical { rank } => format!("the {rank}-th deepest {what} of the simulated paths"),
        Read::Tail {
            threshold,
            xi,
            sigma,
            exceedances,
        } => format!(
            "a generalized Pareto tail fitted by maximum likelihood to -ln(1 - {what}) over the {exceedances} paths beyond {} (shape {xi:.4}, scale {sigma:.4}), extrapolated",
            pct(*threshold, 2)
        ),
    }
}

/// The shape name a calibrated level's path takes: `calibrated_AAA`, `calibrated_BBB-`.
pub fn shape_name(n: Notch) -> String {
    format!("calibrated_{n}")
}

/// Calibrates `inputs.from`'s anchor levels.
pub fn calibrate(inputs: &Inputs) -> Result<Calibrated, MethodologyError> {
    let from = &inputs.from;
    let fp = &inputs.from_path;
    if from.mode != Mode::MarketValue {
        return Err(invalid(
            fp,
            "methodology",
            "mode",
            "a calibration computes the price paths of a `market_value` methodology".into(),
        ));
    }
    let (Some(market), Some(sim)) = (&from.market, &from.simulation) else {
        return Err(invalid(
            fp,
            "methodology",
            "simulation",
            "a calibration reads the idealized table and the execution window of the methodology's `simulation` section: add one".into(),
        ));
    };
    let table: IdealizedTable = crate::methodology::idealized_table(fp, sim)?;
    let horizon_days = market.horizon_days.value as usize;
    let years = horizon_days as f64 / 365.0;
    let window_hours = sim
        .terms
        .execution_window_hours
        .value
        .to_f64()
        .unwrap_or(1.0);
    let r = &inputs.recipe;
    let settings = Settings {
        paths: r.file.paths.value,
        seed: r.file.seed.value,
        horizon_days,
        window_days: window_hours / 24.0,
        tail_share: r.tail_share,
        band_paths: r.file.band_paths.value as usize,
    };
    // The anchor levels, 'AAA' first, each with its key as the file writes it.
    let mut anchors: Vec<(Notch, &String)> = Vec::new();
    for key in from.levels.keys() {
        let n: Notch = key
            .parse()
            .map_err(|m: String| invalid(fp, &format!("levels.{key}"), "level", m))?;
        anchors.push((n, key));
    }
    anchors.sort();
    let probabilities: Vec<f64> = anchors
        .iter()
        .map(|(n, _)| (table.at(*n, years) / r.severity).min(1.0))
        .collect();

    let stats = ladder::simulate(&inputs.model.model, &settings);
    let closes = closes(&inputs.history);
    let figures = ladder::ladder(
        &inputs.model.model,
        &settings,
        &stats,
        Some(&closes),
        &probabilities,
    );

    let model_name = inputs.model.file.name();
    let h = &inputs.history;
    let windows = closes.len().saturating_sub(horizon_days);
    let history_text = format!(
        "{} from {} to {}: {} one-year windows (one start a day, as `absrate backtest`), {:.1} years of starts",
        h.name,
        h.since,
        h.until,
        windows,
        windows as f64 / 365.0
    );
    let mut out = from.clone();
    out.version = r.file.version.clone();
    out.effective_date = r.file.effective_date;
    out.supersedes = Some(format!("{}@{}", from.id, from.version));
    out.title = r.file.title.clone();
    out.description = r.file.description.clone();
    out.overlays = r.file.overlays.clone();
    let mut market_out = market.clone();
    let paths = settings.paths;
    let seed = settings.seed;
    let common = format!("{model_name}, {paths} one-year paths, seed {seed}");
    let mut levels = BTreeMap::new();
    let mut result = Vec::new();
    for ((n, key), f) in anchors.iter().zip(&figures) {
        let p = f.probability;
        let pd = format!(
            "exceeded with probability {} over {} days: the idealized table's '{n}' expected loss at {years:.2} years, {}, / severity {}",
            prob(p),
            horizon_days,
            prob(table.at(*n, years)),
            r.file.severity.value
        );
        let mut l = from.levels[*key].clone();
        let hist = match f.history_fall {
            Some(hf) => format!("; the history's fall at that probability {}", pct(hf, 2)),
            None => "; the history is too short for this probability".into(),
        };
        let envelope = |own: f64, used: f64| {
            if used > own {
                format!(
                    "; raised from {} to the next milder level's (the ladder never gets milder upward)",
                    pct(own, 2)
                )
            } else {
                String::new()
            }
        };
        let own_trough = f.model_fall.max(f.history_fall.unwrap_or(0.0));
        l.btc_trough = Some(crate::methodology::Sourced {
            value: up4(f.trough),
            source: format!(
                "Computed: the fall from the cut-off price to the year's low {pd}. Model: {} ({}); {common}{hist}; the deeper of the two{}.",
                pct(f.model_fall, 2),
                read_text(&f.fall_read, "fall"),
                envelope(own_trough, f.trough)
            ),
        });
        l.days_to_trough = Some(crate::methodology::Sourced {
            value: f.days_to_trough,
            source: format!(
                "Computed: median day of the low of the {} paths ranked {} to {} by fall (nearest the level's quantile), {}{}; {common}.",
                f.band.1 + 1 - f.band.0,
                f.band.0,
                f.band.1,
                f.band_days,
                if f.days_to_trough < f.band_days {
                    "; shortened to the next milder level's (a faster fall is the harsher)"
                } else {
                    ""
                }
            ),
        });
        l.path_shape = Some(crate::methodology::Sourced {
            value: shape_name(*n),
            source: "Computed: market.shapes.".to_string() + &shape_name(*n),
        });
        l.liquidation_gap = Some(crate::methodology::Sourced {
            value: up4(f.gap),
            source: format!(
                "Computed: the deepest move of the year over the {window_hours}-hour execution window (simulation.terms) below a trigger, {pd}. Model: {} ({}); {common}{}.",
                pct(f.model_gap, 2),
                read_text(&f.gap_read, "gap"),
                envelope(f.model_gap, f.gap)
            ),
        });
        market_out.shapes.insert(
            shape_name(*n),
            crate::methodology::ShapeFile {
                source: format!(
                    "Computed for '{n}': the pointwise median of the profiles (u = day / day of the low, s = fall so far / fall to the low) of the {} paths ranked {} to {} by fall; {common}.",
                    f.band.1 + 1 - f.band.0,
                    f.band.0,
                    f.band.1
                ),
                points: f.shape.iter().map(|[u, s]| [dp4(*u), dp4(*s)]).collect(),
            },
        );
        levels.insert((*key).clone(), l);
        result.push((*n, f.clone()));
    }
    out.levels = levels;
    out.market = Some(market_out);
    out.calibration = Some(crate::methodology::CalibrationFile {
        command: inputs.command.clone(),
        method: format!(
            "Each anchor level's btc_trough, days_to_trough, path_shape and liquidation_gap are computed at the probability the idealized table (simulation.idealized_table) gives its rating over market.horizon_days, divided by the recipe's severity. Paths from the price model exactly as `absrate simulate` draws them; values exceeded with probability at least {} read empirically, rarer ones from a generalized Pareto tail; the trough is the deeper of the model's and the history's where the history holds one such year; every value at least as deep as the next milder level's. Everything else is the judgement of {}@{} and the recipe.",
            r.file.tail_share.value, from.id, from.version
        ),
        price_model: model_name,
        price_model_sha256: inputs.model.file.sha256.clone(),
        prices: h.name.clone(),
        prices_sha256: h.sha256.clone(),
        history: history_text,
        recipe: inputs.recipe_name.clone(),
        recipe_sha256: inputs.recipe_sha256.clone(),
        paths,
        seed,
    });
    Ok(Calibrated {
        file: out,
        levels: result,
        settings,
    })
}

/// Daily closes from 1, rebuilt from the history's log returns.
fn closes(h: &History) -> Vec<f64> {
    let mut c = Vec::with_capacity(h.returns.len() + 1);
    let mut x = 1.0f64;
    c.push(x);
    for r in &h.returns {
        x *= r.exp();
        c.push(x);
    }
    c
}
