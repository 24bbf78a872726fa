//! The simulation's section of the rationale (`absrate simulate --report DIR`): what was run
//! (model and fitted parameters, terms, seed, paths), the pool's liquidations and losses over the
//! paths, and per note the loss distribution and the expected-loss rating beside the
//! deterministic and published ratings. Like the rationale ([`super::Rationale`]) it is a view
//! model of preformatted strings, so the Tera templates (`simulation.md`, `simulation.html`) hold
//! no arithmetic; the charts are hand-written SVG ([`super::charts`]).
//!
//! Every figure comes from the run's [`Summary`] (what `simulation.json` holds) or, for the
//! charts and path counts, from its per-path results: the report computes no statistic the
//! summary states.

use serde::Serialize;

use super::ReportError;
use super::charts;
use super::view::Row;
use crate::methodology::{FIELDS, Notch, Unit};
use crate::money::count;
use crate::simulate::PathResult;
use crate::simulate::run::{NoteView, ParamView, Summary};
use crate::simulate::summary::{Distribution, ElRating};

pub const MARKDOWN: &str = "simulation.md";
pub const HTML: &str = "simulation.html";

/// A parameter of the model or a term of the simulation: name, value as written for people,
/// where it comes from.
#[derive(Debug, Serialize)]
pub struct Parameter {
    pub name: String,
    pub value: String,
    pub source: String,
}

#[derive(Debug, Serialize)]
pub struct ModelSection {
    pub name: String,
    pub title: String,
    pub kind: String,
    pub sha256: String,
    pub parameters: Vec<Parameter>,
    /// The history it was fitted to: file, window, observations, method.
    pub fitted_from: String,
}

/// A distribution over the paths as a table row: mean, standard error and the quantiles of
/// [`SimulationView::quantile_levels`].
#[derive(Debug, Serialize)]
pub struct DistributionRow {
    pub measure: String,
    pub mean: String,
    pub standard_error: String,
    pub quantiles: Vec<String>,
}

/// Value at risk and expected shortfall of the pool loss at one level, as a share of the
/// cut-off balance and in dollars.
#[derive(Debug, Serialize)]
pub struct TailRow {
    pub level: String,
    pub value_at_risk: String,
    pub value_at_risk_usd: String,
    pub expected_shortfall: String,
    pub expected_shortfall_usd: String,
}

#[derive(Debug, Serialize)]
pub struct NoteRow {
    pub class: String,
    pub balance: String,
    pub probability_of_loss: String,
    pub probability_of_interest_shortfall: String,
    pub expected_loss: String,
    pub standard_error: String,
    pub expected_wal: String,
    /// Loss quantiles at [`SimulationView::quantile_levels`].
    pub quantiles: Vec<String>,
    pub el_rating: String,
    pub rating_minus_2se: String,
    pub rating_plus_2se: String,
    pub holds: bool,
    /// The idealized table's allowance at the expected-loss rating and the note's horizon.
    pub allowance: String,
    pub horizon: String,
    pub deterministic: String,
    pub published: String,
    /// Where the three ratings differ, and on what, in one sentence.
    pub sentence: String,
    /// The loss exceedance curve (SVG), or `None` when no path lost anything.
    pub exceedance: Option<String>,
    /// Said instead of the curve when no path lost anything.
    pub no_loss: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SimulationCharts {
    pub pool_loss: String,
    pub liquidated: String,
}

#[derive(Debug, Serialize)]
pub struct SimulationView {
    pub deal: String,
    pub methodology: String,
    /// Paths the figures are over, e.g. `10,000`.
    pub paths: String,
    /// Length of a path, e.g. `365 days`.
    pub horizon: String,
    pub run: Vec<Row>,
    pub model: ModelSection,
    pub terms: Vec<Parameter>,
    /// Headers of the quantile columns, e.g. `99.5%`.
    pub quantile_levels: Vec<String>,
    pub pool: Vec<DistributionRow>,
    pub pool_tails: Vec<TailRow>,
    pub pool_sentence: String,
    pub notes: Vec<NoteRow>,
    pub charts: SimulationCharts,
    pub idealized_table_source: String,
}

/// The report's files: `(name, bytes)`.
pub fn render(
    s: &Summary,
    results: &[PathResult],
) -> Result<Vec<(&'static str, Vec<u8>)>, ReportError> {
    let view = view(s, results)?;
    let (md, html) = super::render_named(&view, MARKDOWN, HTML)?;
    Ok(vec![(MARKDOWN, md.into_bytes()), (HTML, html.into_bytes())])
}

/// `x` (a share) in percent with `places` decimals, more for a small figure so that it keeps two
/// significant digits (at most 8 places): `0.0000013` is `0.00013%`, not `0.00%`.
pub fn percent(x: f64, places: usize) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    let v = x * 100.0;
    let p = if v == 0.0 {
        places
    } else {
        let wanted = 1 - v.abs().log10().floor() as i64;
        (wanted.clamp(0, 8) as usize).max(places)
    };
    format!("{v:.p$}%")
}

/// A stated share with as few digits as it needs: `0.118` is `11.8%`, `0.5` is `50%`.
fn stated_percent(x: f64) -> String {
    let s = format!("{:.4}", x * 100.0);
    format!("{}%", s.trim_end_matches('0').trim_end_matches('.'))
}

/// Dollars to the dollar: `$200,081,346` (simulated amounts are `f64`; cents would be noise).
fn dollars(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    let sign = if x < 0.0 { "-" } else { "" };
    format!("{sign}${}", count(x.abs().round() as u64))
}

fn years(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.2} years")
    } else {
        "-".into()
    }
}

fn notch_text(n: Option<Notch>) -> String {
    n.map_or_else(|| "below B-".into(), |n| n.to_string())
}

fn plural(n: f64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1.0 { one } else { many })
}

/// A term's value in its unit ([`FIELDS`] declares the unit of each stress term; the execution
/// window is the simulation's own). A choice arrives as `name: choice` with no number.
fn term(p: &ParamView) -> Parameter {
    let (name, value) = match p.value.parse::<f64>() {
        Err(_) => (p.name.clone(), p.value.replace('_', " ")),
        Ok(v) => {
            let unit = FIELDS.iter().find(|f| f.name == p.name).map(|f| f.unit);
            let value = match (p.name.as_str(), unit) {
                ("execution_window_hours", _) => plural(v, "hour", "hours"),
                (_, Some(Unit::Fraction)) => stated_percent(v),
                (_, Some(Unit::FractionPerYear)) => format!("{} a year", stated_percent(v)),
                (_, Some(Unit::Months)) => plural(v, "month", "months"),
                (_, Some(Unit::Days)) => plural(v, "day", "days"),
                (_, Some(Unit::Times)) => format!("{v}x"),
                _ => p.value.clone(),
            };
            (p.name.clone(), value)
        }
    };
    Parameter {
        name,
        value,
        source: p.source.clone(),
    }
}

/// The model's parameters as stated in its file (`f64` printed shortest, as written there); a
/// source the parameter above already gave is not repeated.
fn parameters(ps: &[ParamView]) -> Vec<Parameter> {
    ps.iter()
        .enumerate()
        .map(|(i, p)| Parameter {
            name: p.name.clone(),
            value: p.value.to_string(),
            source: match i.checked_sub(1).map(|j| &ps[j].source) {
                Some(prev) if *prev == p.source => "as above".into(),
                _ => p.source.clone(),
            },
        })
        .collect()
}

fn quantiles(d: &Distribution, places: usize) -> Vec<String> {
    d.quantiles
        .iter()
        .map(|q| percent(q.value, places))
        .collect()
}

/// Notches from `a` down to `b` (positive: `a` is the better rating); `None` when either is below
/// the scale, where no count of notches applies.
fn notches_between(a: Option<Notch>, b: Option<Notch>) -> Option<i64> {
    Some(b?.index() as i64 - a?.index() as i64)
}

/// `a` against `b` in words: "6 notches above", "the same as", "below".
fn relation(a: Option<Notch>, b: Option<Notch>) -> String {
    match (a == b, notches_between(a, b)) {
        (true, _) => "the same as".into(),
        (false, Some(d)) => format!(
            "{} {} {}",
            d.abs(),
            if d.abs() == 1 { "notch" } else { "notches" },
            if d > 0 { "above" } else { "below" }
        ),
        // One side is below 'B-': the other is above it.
        (false, None) => if a.is_some() { "above" } else { "below" }.into(),
    }
}

/// One sentence: where the expected-loss, deterministic and published ratings differ, and what
/// the expected-loss rating rests on.
fn sentence(n: &NoteView, paths: u64, paths_with_loss: usize) -> String {
    let ns = &n.summary;
    let el: &ElRating = &ns.expected_loss_rating;
    let det: Option<Notch> = n
        .deterministic_rating
        .as_deref()
        .and_then(|r| r.parse().ok());
    let det_text = n
        .deterministic_rating
        .clone()
        .unwrap_or_else(|| "below B-".into());
    let published: Option<(String, Option<Notch>)> = n
        .published_rating
        .as_ref()
        .map(|p| (p.clone(), p.parse().ok()));
    let comparison = match &published {
        Some((p, pn)) if el.rating == det && *pn == det && pn.is_some() => format!(
            "the expected-loss rating, the deterministic indicated rating and the published rating all agree at '{p}'"
        ),
        _ => {
            let mut c = format!(
                "the expected-loss rating '{}' is {} the deterministic indicated rating '{det_text}'",
                notch_text(el.rating),
                relation(el.rating, det)
            );
            match &published {
                Some((p, Some(pn))) => c.push_str(&format!(
                    " and {} the published rating '{p}'",
                    relation(el.rating, Some(*pn))
                )),
                Some((p, None)) => c.push_str(&format!(" (published: '{p}')")),
                None => c.push_str(" (the deal states no published rating)"),
            }
            c
        }
    };
    let basis = if paths_with_loss == 0 {
        let late = match ns.probability_of_interest_shortfall {
            p if p > 0.0 => format!(
                " (its interest is short on some payment date on {} of the paths, and caught up by the end)",
                percent(p, 2)
            ),
            _ => String::new(),
        };
        format!(
            "no path of {} left it short of principal or interest at the end{late}",
            count(paths)
        )
    } else {
        let within = match (el.rating, el.allowance) {
            (Some(r), Some(a)) => format!("within the '{r}' allowance of {}", percent(a, 2)),
            _ => "above even the 'B-' allowance".into(),
        };
        format!(
            "it rests on an expected loss of {} (standard error {}) over an expected life of {}, {within}",
            percent(ns.loss.mean, 2),
            percent(ns.loss.standard_error, 2),
            years(ns.expected_wal_years)
        )
    };
    let settled = if el.holds {
        String::new()
    } else if paths_with_loss == 0 {
        format!(
            ", but no loss in {} paths bounds the expected loss only below {} (the rule of three, at 95%), which supports '{}' and not yet '{}': {} paths do not settle the notch",
            count(paths),
            percent(el.expected_loss_upper, 4),
            notch_text(el.rating_plus_2se),
            notch_text(el.rating),
            count(paths)
        )
    } else {
        format!(
            ", but two standard errors either side span '{}' to '{}', so {} paths do not settle the notch",
            notch_text(el.rating_minus_2se),
            notch_text(el.rating_plus_2se),
            count(paths)
        )
    };
    format!("Class {}: {comparison}; {basis}{settled}.", ns.class)
}

fn internal(message: String) -> ReportError {
    ReportError::Internal(message)
}

/// The view model of the simulation's section.
pub fn view(s: &Summary, results: &[PathResult]) -> Result<SimulationView, ReportError> {
    if results.len() as u64 != s.paths_run {
        return Err(internal(format!(
            "the report got {} path results for a summary of {} paths",
            results.len(),
            s.paths_run
        )));
    }
    if let Some(r) = results.iter().find(|r| r.notes.len() != s.notes.len()) {
        return Err(internal(format!(
            "path {} has {} notes, the summary {}",
            r.path,
            r.notes.len(),
            s.notes.len()
        )));
    }
    let inp = &s.inputs;
    let paths = count(s.paths_run);
    let positions = if inp.positions == "loans" {
        "loan by loan"
    } else {
        "loans grouped in cohorts of alike loans"
    };
    let run = vec![
        Row {
            label: "Deal".into(),
            value: format!("{} ({}, sha256 {})", s.deal, inp.deal, inp.deal_sha256),
        },
        Row {
            label: "Tape".into(),
            value: format!("{} (sha256 {})", inp.tape, inp.tape_sha256),
        },
        Row {
            label: "Methodology".into(),
            value: format!("{} (sha256 {})", inp.methodology, inp.methodology_sha256),
        },
        Row {
            label: "Price model".into(),
            value: format!("{} (sha256 {})", s.model.name, inp.model_sha256),
        },
        Row {
            label: "Seed".into(),
            value: format!(
                "{}; path i draws from the ChaCha8 stream (seed, i)",
                inp.seed
            ),
        },
        Row {
            label: "Paths".into(),
            value: match s.shard {
                Some(sh) => format!(
                    "{paths} of {}: shard {}/{} (0-based) of the run",
                    count(inp.paths),
                    sh.shard,
                    sh.shards
                ),
                None => paths.clone(),
            },
        },
        Row {
            label: "Positions".into(),
            value: format!(
                "{positions}: {} positions in the liquidation engine, {} in the waterfall's pool",
                count(s.positions.0 as u64),
                count(s.positions.1 as u64)
            ),
        },
        Row {
            label: "Horizon".into(),
            value: format!(
                "{} days of daily prices from {} per BTC (the cut-off price)",
                s.horizon_days,
                dollars(s.start_price)
            ),
        },
        Row {
            label: "Pool at cut-off".into(),
            value: format!(
                "{} loans, {} (principal and accrued interest)",
                count(s.pool.loans),
                dollars(s.pool.balance)
            ),
        },
        Row {
            label: "Engine".into(),
            value: inp.engine.clone(),
        },
    ];

    let quantile_levels = s
        .pool
        .loss
        .quantiles
        .iter()
        .map(|q| stated_percent(q.q))
        .collect();
    let dollars_of = |share: f64| dollars(share * s.pool.balance);
    let pool_losses: Vec<f64> = results
        .iter()
        .map(|r| r.pool_loss / s.pool.balance)
        .collect();
    let liquidated: Vec<f64> = results
        .iter()
        .map(|r| r.liquidated / s.pool.loans.max(1) as f64)
        .collect();
    let loss = &s.pool.loss;
    let pool = vec![
        DistributionRow {
            measure: "Loans liquidated (share of the loans)".into(),
            mean: percent(s.pool.liquidated_share.mean, 1),
            standard_error: percent(s.pool.liquidated_share.standard_error, 1),
            quantiles: quantiles(&s.pool.liquidated_share, 1),
        },
        DistributionRow {
            measure: "Loss on sales (share of the cut-off balance)".into(),
            mean: percent(loss.mean, 2),
            standard_error: percent(loss.standard_error, 2),
            quantiles: quantiles(loss, 2),
        },
        DistributionRow {
            measure: "Loss on sales ($)".into(),
            mean: dollars_of(loss.mean),
            standard_error: dollars_of(loss.standard_error),
            quantiles: loss.quantiles.iter().map(|q| dollars_of(q.value)).collect(),
        },
    ];
    let pool_tails = loss
        .tails
        .iter()
        .map(|t| TailRow {
            level: stated_percent(t.level),
            value_at_risk: percent(t.value_at_risk, 2),
            value_at_risk_usd: dollars_of(t.value_at_risk),
            expected_shortfall: percent(t.expected_shortfall, 2),
            expected_shortfall_usd: dollars_of(t.expected_shortfall),
        })
        .collect();
    let short = pool_losses.iter().filter(|x| **x > 0.0).count();
    let median = |d: &Distribution| {
        d.quantiles
            .iter()
            .find(|q| q.q == 0.5)
            .map_or(f64::NAN, |q| q.value)
    };
    let losses_text = match short {
        0 => "no sale on any path fell short of the balance it repaid, so the pool lost nothing on its sales".to_string(),
        _ => format!(
            "sales fall short of the balance owed on {} paths ({} of them), for an average loss of {} a path ({} of the cut-off balance)",
            count(short as u64),
            percent(short as f64 / s.paths_run.max(1) as f64, 2),
            dollars_of(loss.mean),
            percent(loss.mean, 2)
        ),
    };
    let pool_sentence = format!(
        "Over {paths} paths, {} of the loans are liquidated on average (median {}); {losses_text}.",
        percent(s.pool.liquidated_share.mean, 1),
        percent(median(&s.pool.liquidated_share), 1),
    );

    let mut notes = Vec::new();
    for (k, n) in s.notes.iter().enumerate() {
        let ns = &n.summary;
        let mut losses: Vec<f64> = results
            .iter()
            .map(|r| (r.notes[k].principal_loss + r.notes[k].interest_loss) / ns.balance)
            .collect();
        losses.sort_by(f64::total_cmp);
        let with_loss = losses.iter().filter(|x| **x > 0.0).count();
        let exceedance = charts::exceedance(
            &format!("Class {}: loss exceedance", ns.class),
            &format!("loss, % of the class {} balance", ns.class),
            &format!(
                "Class {}: share of the {paths} paths whose loss is above x",
                ns.class
            ),
            &losses,
        );
        let no_loss = exceedance.is_none().then(|| {
            format!(
                "No path of {paths} left class {} with any principal or interest unpaid: there is no loss to draw.",
                ns.class
            )
        });
        let el = &ns.expected_loss_rating;
        notes.push(NoteRow {
            class: ns.class.clone(),
            balance: dollars(ns.balance),
            probability_of_loss: percent(ns.probability_of_loss, 2),
            probability_of_interest_shortfall: percent(ns.probability_of_interest_shortfall, 2),
            expected_loss: percent(ns.loss.mean, 2),
            standard_error: percent(ns.loss.standard_error, 2),
            expected_wal: years(ns.expected_wal_years),
            quantiles: quantiles(&ns.loss, 2),
            el_rating: notch_text(el.rating),
            rating_minus_2se: notch_text(el.rating_minus_2se),
            rating_plus_2se: notch_text(el.rating_plus_2se),
            holds: el.holds,
            allowance: el.allowance.map_or_else(|| "-".into(), |a| percent(a, 2)),
            horizon: years(el.horizon_years),
            deterministic: n
                .deterministic_rating
                .clone()
                .unwrap_or_else(|| "below B-".into()),
            published: n.published_rating.clone().unwrap_or_else(|| "-".into()),
            sentence: sentence(n, s.paths_run, with_loss),
            exceedance,
            no_loss,
        });
    }

    Ok(SimulationView {
        deal: s.deal.clone(),
        methodology: inp.methodology.clone(),
        paths,
        horizon: format!("{} days", s.horizon_days),
        run,
        model: ModelSection {
            name: s.model.name.clone(),
            title: s.model.title.clone(),
            kind: s.model.kind.clone(),
            sha256: inp.model_sha256.clone(),
            parameters: parameters(&s.model.parameters),
            fitted_from: s.model.fitted_from.clone(),
        },
        terms: s.terms.iter().map(term).collect(),
        quantile_levels,
        pool,
        pool_tails,
        pool_sentence,
        notes,
        charts: SimulationCharts {
            pool_loss: charts::share_histogram(
                &format!("Pool loss on sales over {} paths", count(s.paths_run)),
                "loss on sales, % of the cut-off balance",
                &pool_losses,
            ),
            liquidated: charts::share_histogram(
                &format!("Loans liquidated over {} paths", count(s.paths_run)),
                "loans liquidated, % of the loans at cut-off",
                &liquidated,
            ),
        },
        idealized_table_source: s
            .idealized_table_source
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_shares_keep_two_significant_digits() {
        assert_eq!(percent(0.001323, 2), "0.13%");
        assert_eq!(percent(0.0000013, 2), "0.00013%");
        assert_eq!(percent(0.138, 1), "13.8%");
        assert_eq!(percent(0.0, 2), "0.00%");
        assert_eq!(percent(f64::NAN, 2), "-");
        assert_eq!(stated_percent(0.118), "11.8%");
        assert_eq!(stated_percent(0.5), "50%");
        assert_eq!(stated_percent(0.995), "99.5%");
        assert_eq!(dollars(200_081_346.45), "$200,081,346");
    }

    #[test]
    fn ratings_are_compared_in_notches() {
        let n = |s: &str| s.parse::<Notch>().ok();
        assert_eq!(relation(n("AAA"), n("A-")), "6 notches above");
        assert_eq!(relation(n("BBB"), n("BBB")), "the same as");
        assert_eq!(relation(n("BBB-"), n("BBB")), "1 notch below");
        assert_eq!(relation(None, n("B-")), "below");
        assert_eq!(relation(n("B-"), None), "above");
    }

    #[test]
    fn a_choice_term_shows_its_choice() {
        let t = term(&ParamView {
            name: "balloon_in_margin_call".into(),
            value: "roll_over".into(),
            source: "s".into(),
        });
        assert_eq!(
            (t.name.as_str(), t.value.as_str()),
            ("balloon_in_margin_call", "roll over")
        );
        let t = term(&ParamView {
            name: "reinvestment_yield".into(),
            value: "0.118".into(),
            source: "s".into(),
        });
        assert_eq!(t.value, "11.8% a year");
    }
}
