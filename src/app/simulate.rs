//! `simulate` and `simulate merge` as library calls: read the deal, tape, methodology and price
//! model; run the paths (all of them, or one shard's); summarize; write the per-path table
//! (`--out`, Parquet, stamped with the run's inputs) and the report. `merge` reads shard tables
//! back, refuses shards of different runs, and summarizes the union exactly as one run would.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use crate::deal::Deal;
use crate::error::Error;
use crate::methodology::{Lookup, Methodology, Notch};
use crate::money::count;
use crate::price::ModelLookup;
use crate::rating::{self, BreakEvens, PoolCache};
use crate::report::Inputs;
use crate::report::table::{Align, Table};
use crate::simulate::summary::{self, NoteTerms};
use crate::simulate::{Grouping, NotePath, PathResult, Setup, shard_range};
use crate::tape::{NumericTable, Tape, numeric_table_bytes, read_numeric_table};

pub use crate::simulate::run::{
    Context, ModelView, NoteContext, NoteView, ParamView, RunInputs, ShardView, Summary,
};

/// The metadata key of a path table.
pub const META_KEY: &str = "absrate.simulate";

/// What `absrate simulate` was asked for.
#[derive(Clone)]
pub struct SimulateRequest {
    pub deal: PathBuf,
    pub methodology: Option<String>,
    pub methodology_dir: Option<PathBuf>,
    /// The price model; the methodology's `simulation.price_model` when `None`.
    pub model: Option<String>,
    /// The price file a bootstrap model resamples (else looked for beside the repository).
    pub prices: Option<PathBuf>,
    pub paths: u64,
    pub seed: u64,
    /// `(I, N)`: run only the `I`-th of `N` slices of the paths (0-based).
    pub shard: Option<(u64, u64)>,
    /// Every loan its own position (no cohorts).
    pub loan_level: bool,
    /// One row per path, Parquet.
    pub out: Option<PathBuf>,
    /// The simulation's section of the rationale.
    pub report: Option<PathBuf>,
    /// Called once per path done.
    pub progress: Option<std::sync::Arc<dyn Fn() + Send + Sync>>,
}

/// A finished run (or merge): the summary, and the per-path results it came from.
#[derive(Debug)]
pub struct SimulateRun {
    pub summary: Summary,
    pub context: Context,
    pub results: Vec<PathResult>,
}

fn model_view(l: &crate::price::LoadedModel) -> ModelView {
    let f = &l.file;
    let ff = &f.fitted_from;
    ModelView {
        name: f.name(),
        kind: f.kind().name().to_string(),
        title: f.title.clone(),
        parameters: f
            .params
            .iter()
            .map(|p| ParamView {
                name: p.name.to_string(),
                value: p.value.to_string(),
                source: p.source.clone(),
            })
            .collect(),
        fitted_from: format!(
            "{} (sha256 {}), {} to {}, {} daily log returns, {}",
            ff.prices,
            &ff.sha256[..ff.sha256.len().min(12)],
            ff.since,
            ff.until,
            ff.observations,
            ff.method
        ),
    }
}

fn terms_view(m: &Methodology) -> Vec<ParamView> {
    let Some(s) = &m.simulation else {
        return Vec::new();
    };
    let t = &s.terms;
    let d = |x: rust_decimal::Decimal| x.normalize().to_string();
    let n = |x: u32| x.to_string();
    let balloon = serde_json::to_value(t.balloon_in_margin_call.value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    [
        (
            "margin_call_answer_share",
            d(t.margin_call_answer_share.value),
            &t.margin_call_answer_share.source,
        ),
        (
            "execution_window_hours",
            d(t.execution_window_hours.value),
            &t.execution_window_hours.source,
        ),
        ("slippage", d(t.slippage.value), &t.slippage.source),
        ("crowding", d(t.crowding.value), &t.crowding.source),
        (
            "liquidation_lag_days",
            n(t.liquidation_lag_days.value),
            &t.liquidation_lag_days.source,
        ),
        (
            "balloon_in_margin_call",
            balloon,
            &t.balloon_in_margin_call.source,
        ),
        (
            "recovery_lag_months",
            n(t.recovery_lag_months.value),
            &t.recovery_lag_months.source,
        ),
        (
            "interest_cash_share",
            d(t.interest_cash_share.value),
            &t.interest_cash_share.source,
        ),
        (
            "reinvestment_yield",
            d(t.reinvestment_yield.value),
            &t.reinvestment_yield.source,
        ),
        (
            "reinvestment_ltv",
            d(t.reinvestment_ltv.value),
            &t.reinvestment_ltv.source,
        ),
        (
            "cash_drag_months",
            n(t.cash_drag_months.value),
            &t.cash_drag_months.source,
        ),
        (
            "servicing_fee_rate",
            d(t.servicing_fee_rate.value),
            &t.servicing_fee_rate.source,
        ),
        (
            "obligor_limit",
            d(t.obligor_limit.value),
            &t.obligor_limit.source,
        ),
        (
            "capitalized_interest_credit",
            d(t.capitalized_interest_credit.value),
            &t.capitalized_interest_credit.source,
        ),
    ]
    .into_iter()
    .map(|(name, value, source)| ParamView {
        name: name.to_string(),
        value,
        source: source.clone(),
    })
    .collect()
}

fn summarize(ctx: &Context, results: &[PathResult], shard: Option<(u64, u64)>) -> Summary {
    let terms: Vec<NoteTerms> = ctx
        .notes
        .iter()
        .map(|n| NoteTerms {
            class: n.class.clone(),
            balance: n.balance,
        })
        .collect();
    let (pool, notes) =
        summary::summarize(results, &terms, ctx.loans, ctx.pool_balance, &ctx.table);
    Summary {
        deal: ctx.deal_name.clone(),
        inputs: ctx.inputs.clone(),
        shard: shard.map(|(shard, shards)| ShardView { shard, shards }),
        paths_run: results.len() as u64,
        model: ctx.model.clone(),
        terms: ctx.terms.clone(),
        horizon_days: ctx.horizon_days,
        start_price: ctx.start_price,
        positions: ctx.positions,
        pool,
        notes: notes
            .into_iter()
            .zip(&ctx.notes)
            .map(|(summary, n)| NoteView {
                published_rating: n.published_rating.clone(),
                deterministic_rating: n.deterministic_rating.clone(),
                summary,
            })
            .collect(),
        idealized_table_source: ctx.table.source.clone(),
    }
}

/// Runs the simulation the request describes and writes its outputs.
pub fn simulate(a: &SimulateRequest) -> Result<SimulateRun, Error> {
    if a.paths == 0 {
        return Err(Error::Argument("--paths must be at least 1".into()));
    }
    if let Some((i, n)) = a.shard
        && (n == 0 || i >= n)
    {
        return Err(Error::Argument(format!(
            "--shard {i}/{n}: the shard index runs from 0 to N-1 (as a Kubernetes Indexed Job numbers its pods)"
        )));
    }
    let deal = super::load_deal(&a.deal)?;
    let registry = Lookup::for_deal(a.methodology_dir.as_deref(), &deal.path);
    let m = registry.resolve(a.methodology.as_deref().unwrap_or(&deal.methodology))?;
    let Some(sim) = &m.simulation else {
        return Err(Error::Argument(format!(
            "{} has no `simulation` section (the Monte Carlo's terms and idealized table): use btc-backed-consumer-loans@2.0.1 or later, e.g. --methodology btc-backed-consumer-loans@2.0.1",
            m.name()
        )));
    };
    let (Some(table), Some(facts)) = (&m.idealized, &m.market) else {
        return Err(Error::Argument(format!(
            "{}: a `simulation` section needs the market facts and its table",
            m.name()
        )));
    };
    let model_spec = a
        .model
        .clone()
        .unwrap_or_else(|| sim.price_model.value.clone());
    let start = deal.path.parent().unwrap_or(Path::new("."));
    let loaded = ModelLookup::new(a.methodology_dir.as_deref(), start)
        .with_prices(a.prices.clone())
        .resolve(&model_spec)?;
    let tape = Tape::read(&deal.pool.tape)?;
    let grouping = (!a.loan_level).then_some(Grouping::DEFAULT);
    let setup = Setup::new(&deal, &m, &tape, &loaded.model, grouping)?;

    // The deterministic rating under the same methodology, for comparison.
    let det = rating::rate_with(
        &tape,
        &deal,
        &m,
        &mut PoolCache::default(),
        BreakEvens::Skip,
    )?;
    // The files and engine as `rate` records them, then what makes this a run.
    let base = Inputs::of(&deal, m.name(), m.sha256.clone())?;
    let inputs = RunInputs {
        deal: base.deal,
        deal_sha256: base.deal_sha256,
        tape: base.tape,
        tape_sha256: base.tape_sha256,
        methodology: base.methodology,
        methodology_sha256: base.methodology_sha256,
        model: loaded.file.name(),
        model_sha256: loaded.file.sha256.clone(),
        seed: a.seed,
        paths: a.paths,
        positions: if a.loan_level { "loans" } else { "cohorts" }.into(),
        engine: base.engine,
    };
    let ctx = Context {
        deal_name: deal.name.clone(),
        inputs,
        model: model_view(&loaded),
        terms: terms_view(&m),
        horizon_days: facts.horizon_days.value,
        start_price: deal.pool.cutoff.btc_price.to_f64().unwrap_or(f64::NAN),
        notes: notes_context(&deal, &det),
        loans: setup.loans,
        pool_balance: setup.pool_balance,
        positions: setup.positions(),
        table: table.clone(),
    };
    let range = match a.shard {
        Some((i, n)) => shard_range(a.paths, i, n),
        None => 0..a.paths,
    };
    let noop = || {};
    let tick: &(dyn Fn() + Sync) = match &a.progress {
        Some(p) => p.as_ref(),
        None => &noop,
    };
    let results = setup.run_range(a.seed, range, tick)?;
    let summary = summarize(&ctx, &results, a.shard);
    let mut inputs = vec![
        deal.path.as_path(),
        deal.pool.path.as_path(),
        deal.pool.tape.as_path(),
        m.path.as_path(),
        loaded.file.path.as_path(),
    ];
    inputs.extend(loaded.prices.as_deref());
    write_outputs(
        a.out.as_deref(),
        a.report.as_deref(),
        &ctx,
        &summary,
        &results,
        a.shard,
        &inputs,
    )?;
    Ok(SimulateRun {
        summary,
        context: ctx,
        results,
    })
}

fn notes_context(deal: &Deal, det: &rating::RatingResult) -> Vec<NoteContext> {
    deal.notes
        .iter()
        .map(|n| NoteContext {
            class: n.class.clone(),
            balance: n.balance.to_f64().unwrap_or(f64::NAN),
            published_rating: n.rating_published.clone(),
            deterministic_rating: det
                .notes
                .iter()
                .find(|r| r.class == n.class)
                .and_then(|r| r.indicated)
                .map(|r: Notch| r.to_string()),
        })
        .collect()
}

/// The column names of a path table, in order (after the key `path`).
fn columns(ctx: &Context) -> Vec<String> {
    let mut c = vec![
        "pool_loss".to_string(),
        "liquidated_loans".to_string(),
        "sold_principal".to_string(),
    ];
    for n in &ctx.notes {
        for f in [
            "principal_loss",
            "interest_loss",
            "max_interest_shortfall",
            "wal_years",
        ] {
            c.push(format!("{}_{f}", n.class));
        }
    }
    c
}

/// The path table's metadata: the run's context and which shard it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TableMeta {
    run_id: String,
    shard: Option<(u64, u64)>,
    context: Context,
}

fn table_of(
    ctx: &Context,
    results: &[PathResult],
    shard: Option<(u64, u64)>,
) -> Result<NumericTable, Error> {
    let names = columns(ctx);
    let mut cols: Vec<Vec<f64>> = vec![Vec::with_capacity(results.len()); names.len()];
    for r in results {
        cols[0].push(r.pool_loss);
        cols[1].push(r.liquidated);
        cols[2].push(r.sold_principal);
        for (k, n) in r.notes.iter().enumerate() {
            let base = 3 + 4 * k;
            cols[base].push(n.principal_loss);
            cols[base + 1].push(n.interest_loss);
            cols[base + 2].push(n.max_interest_shortfall);
            cols[base + 3].push(n.wal_years);
        }
    }
    let meta = TableMeta {
        run_id: ctx.inputs.run_id(),
        shard,
        context: ctx.clone(),
    };
    let meta = serde_json::to_string(&meta)
        .map_err(|e| Error::Argument(format!("cannot serialize the run's metadata: {e}")))?;
    Ok(NumericTable {
        key_name: "path".into(),
        keys: results.iter().map(|r| r.path).collect(),
        columns: names.into_iter().zip(cols).collect(),
        metadata: vec![(META_KEY.into(), meta)],
    })
}

fn write_outputs(
    out: Option<&Path>,
    report: Option<&Path>,
    ctx: &Context,
    summary: &Summary,
    results: &[PathResult],
    shard: Option<(u64, u64)>,
    inputs: &[&Path],
) -> Result<(), Error> {
    // Every output is built first, then written as one transaction: all or nothing.
    let mut tx = crate::output::Transaction::new();
    for i in inputs {
        tx.protect(i);
    }
    if let Some(path) = out {
        tx.add(path, numeric_table_bytes(&table_of(ctx, results, shard)?)?);
    }
    if let Some(dir) = report {
        let mut files = crate::report::simulation::render(summary, results)?;
        files.push(("simulation.json", super::json(summary)?.into_bytes()));
        tx.add_set(dir, files);
    }
    tx.commit().map_err(|e| Error::Output {
        path: e.path,
        message: e.message,
    })
}

/// `simulate merge`: shard tables of one run, combined.
pub fn merge(
    files: &[PathBuf],
    out: Option<&Path>,
    report: Option<&Path>,
) -> Result<SimulateRun, Error> {
    if files.is_empty() {
        return Err(Error::Argument(
            "simulate merge: give the shard files to merge".into(),
        ));
    }
    let mut first: Option<(PathBuf, TableMeta)> = None;
    let mut seen: Vec<(u64, PathBuf)> = Vec::new();
    let mut results: Vec<PathResult> = Vec::new();
    for f in files {
        let t = read_numeric_table(f)?;
        let meta_text = t
            .metadata
            .iter()
            .find(|(k, _)| k == META_KEY)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| {
                Error::Argument(format!(
                    "{}: not a path table of absrate simulate (no `{META_KEY}` metadata)",
                    f.display()
                ))
            })?;
        let meta: TableMeta = serde_json::from_str(&meta_text).map_err(|e| {
            Error::Argument(format!(
                "{}: unreadable `{META_KEY}` metadata: {e}",
                f.display()
            ))
        })?;
        if meta.run_id != meta.context.inputs.run_id() {
            return Err(Error::Argument(format!(
                "{}: its run id does not match its inputs: the file was altered",
                f.display()
            )));
        }
        let (shard, shards) = meta.shard.unwrap_or((0, 1));
        match &first {
            None => first = Some((f.clone(), meta.clone())),
            Some((f0, m0)) => {
                let a = m0.context.inputs.identity();
                let b = meta.context.inputs.identity();
                if let Some(((name, x), (_, y))) = a.iter().zip(&b).find(|(x, y)| x.1 != y.1) {
                    return Err(Error::Argument(format!(
                        "{} and {} are shards of different runs: {name} {x} vs {y}",
                        f0.display(),
                        f.display()
                    )));
                }
                let n0 = m0.shard.unwrap_or((0, 1)).1;
                if shards != n0 {
                    return Err(Error::Argument(format!(
                        "{} is shard {shard}/{shards} but {} is of {n0} shards",
                        f.display(),
                        f0.display()
                    )));
                }
            }
        }
        if let Some((_, other)) = seen.iter().find(|(s, _)| *s == shard) {
            return Err(Error::Argument(format!(
                "{} and {} are both shard {shard}/{shards}",
                other.display(),
                f.display()
            )));
        }
        seen.push((shard, f.clone()));
        let ctx = &meta.context;
        let col = |name: String| -> Result<&Vec<f64>, Error> {
            t.columns
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v)
                .ok_or_else(|| Error::Argument(format!("{}: no column `{name}`", f.display())))
        };
        let pool_loss = col("pool_loss".into())?;
        let liquidated = col("liquidated_loans".into())?;
        let sold = col("sold_principal".into())?;
        let per_note: Vec<[&Vec<f64>; 4]> = ctx
            .notes
            .iter()
            .map(|n| {
                Ok([
                    col(format!("{}_principal_loss", n.class))?,
                    col(format!("{}_interest_loss", n.class))?,
                    col(format!("{}_max_interest_shortfall", n.class))?,
                    col(format!("{}_wal_years", n.class))?,
                ])
            })
            .collect::<Result<_, Error>>()?;
        let expected = shard_range(ctx.inputs.paths, shard, shards);
        if t.keys.len() as u64 != expected.end - expected.start
            || t.keys.iter().zip(expected.clone()).any(|(k, e)| *k != e)
        {
            return Err(Error::Argument(format!(
                "{}: shard {shard}/{shards} should hold paths {} to {}, it holds {} rows",
                f.display(),
                expected.start,
                expected.end.saturating_sub(1),
                t.keys.len()
            )));
        }
        for (i, key) in t.keys.iter().enumerate() {
            results.push(PathResult {
                path: *key,
                pool_loss: pool_loss[i],
                liquidated: liquidated[i],
                sold_principal: sold[i],
                notes: per_note
                    .iter()
                    .map(|c| NotePath {
                        principal_loss: c[0][i],
                        interest_loss: c[1][i],
                        max_interest_shortfall: c[2][i],
                        wal_years: c[3][i],
                    })
                    .collect(),
            });
        }
    }
    let Some((_, meta)) = first else {
        return Err(Error::Argument("simulate merge: no shard files".into()));
    };
    let shards = meta.shard.unwrap_or((0, 1)).1;
    let mut missing: Vec<u64> = (0..shards)
        .filter(|s| !seen.iter().any(|(x, _)| x == s))
        .collect();
    missing.truncate(10);
    if !missing.is_empty() {
        return Err(Error::Argument(format!(
            "missing shard{} {} of {shards}: every shard 0 to {} is needed",
            if missing.len() > 1 { "s" } else { "" },
            missing
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            shards - 1
        )));
    }
    results.sort_by_key(|r| r.path);
    let ctx = meta.context;
    let summary = summarize(&ctx, &results, None);
    let inputs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    write_outputs(out, report, &ctx, &summary, &results, None, &inputs)?;
    Ok(SimulateRun {
        summary,
        context: ctx,
        results,
    })
}

fn pct(x: f64, places: usize) -> String {
    format!("{:.*}%", places, x * 100.0)
}

fn rating_text(n: Option<Notch>) -> String {
    n.map_or_else(|| "below B-".to_string(), |n| n.to_string())
}

fn whole(x: f64) -> String {
    count(x.round().max(0.0) as u64)
}

/// The text `simulate` prints.
pub fn text(s: &Summary) -> String {
    let mut o = String::new();
    let inp = &s.inputs;
    let _ = writeln!(
        o,
        "{} under {}: Monte Carlo, {} paths{} of {} (seed {})",
        s.deal,
        inp.methodology,
        count(s.paths_run),
        s.shard
            .map(|sh| format!(
                " (shard {}/{} of {})",
                sh.shard,
                sh.shards,
                count(inp.paths)
            ))
            .unwrap_or_default(),
        inp.model,
        inp.seed
    );
    let _ = writeln!(
        o,
        "  {} days from ${} per BTC; {} loans, ${} at cut-off; {} ({} liquidation positions, {} pool positions)",
        s.horizon_days,
        whole(s.start_price),
        count(s.pool.loans),
        whole(s.pool.balance),
        if inp.positions == "loans" {
            "loan by loan"
        } else {
            "loans grouped in cohorts"
        },
        count(s.positions.0 as u64),
        count(s.positions.1 as u64)
    );
    let q = |d: &summary::Distribution, level: f64| {
        d.quantiles
            .iter()
            .find(|x| x.q == level)
            .map_or(f64::NAN, |x| x.value)
    };
    let tail = |d: &summary::Distribution, level: f64| {
        d.tails
            .iter()
            .find(|t| t.level == level)
            .map_or(f64::NAN, |t| t.expected_shortfall)
    };
    let _ = writeln!(o, "\nPool (share of the cut-off loans or balance)");
    let mut pool = Table::new([
        "", "mean", "median", "90%", "99%", "99.9%", "ES 95%", "ES 99%", "ES 99.9%",
    ]);
    for (name, d, places) in [
        ("loans liquidated", &s.pool.liquidated_share, 1),
        ("loss on sales", &s.pool.loss, 4),
    ] {
        pool.row([
            name.to_string(),
            pct(d.mean, places),
            pct(q(d, 0.5), places),
            pct(q(d, 0.9), places),
            pct(q(d, 0.99), places),
            pct(q(d, 0.999), places),
            pct(tail(d, 0.95), places),
            pct(tail(d, 0.99), places),
            pct(tail(d, 0.999), places),
        ]);
    }
    o.push_str(&pool.render("  "));
    let _ = writeln!(
        o,
        "  (value at risk at a level is its quantile; ES, expected shortfall, the mean of the worst paths beyond it)"
    );
    let _ = writeln!(o, "\nNotes (losses: share of the original balance)");
    let mut notes = Table::new([
        "class",
        "P(loss)",
        "P(interest short)",
        "expected loss",
        "std error",
        "99% loss",
        "WAL",
        "EL rating (-2 SE / +2 SE)",
        "deterministic",
        "published",
    ])
    .align(7, Align::Left)
    .align(8, Align::Left)
    .align(9, Align::Left);
    for n in &s.notes {
        let el = &n.summary.expected_loss_rating;
        notes.row([
            n.summary.class.clone(),
            pct(n.summary.probability_of_loss, 2),
            pct(n.summary.probability_of_interest_shortfall, 2),
            pct(n.summary.loss.mean, 4),
            pct(n.summary.loss.standard_error, 4),
            pct(q(&n.summary.loss, 0.99), 2),
            format!("{:.2}y", n.summary.expected_wal_years),
            format!(
                "{} ({} / {}){}",
                rating_text(el.rating),
                rating_text(el.rating_minus_2se),
                rating_text(el.rating_plus_2se),
                if el.holds { "" } else { " *" }
            ),
            n.deterministic_rating
                .clone()
                .unwrap_or_else(|| "below B-".into()),
            n.published_rating.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    o.push_str(&notes.render("  "));
    let _ = writeln!(
        o,
        "  (P(interest short): a shortfall on some payment date; where a note's criterion is ultimate interest, interest deferred and paid later is no loss)"
    );
    if s.notes
        .iter()
        .any(|n| !n.summary.expected_loss_rating.holds)
    {
        let _ = writeln!(
            o,
            "  * the rating changes within two standard errors of the expected loss (or, where no path loses, below the rule-of-three bound 3 / paths): run more paths to settle it"
        );
    }
    let _ = writeln!(
        o,
        "\nExpected-loss rating: the highest notch whose idealized cumulative expected loss at the note's expected weighted average life covers its expected loss (principal and interest unpaid at the legal final). Deterministic: `absrate rate` under {}. Table: docs/idealized-tables.md.",
        inp.methodology
    );
    o
}
