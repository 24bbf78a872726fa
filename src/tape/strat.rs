//! Stratification tables: the pool cut by LTV, rate, balance, remaining term, renewals and state.
//!
//! Bucket edges are presentation (what an analyst expects in a presale), not credit assumptions.
//! Numeric strats list every bucket, empty ones included, so two pools line up row by row.

use polars::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;

use super::Valuation;
use super::derive::{self, f};
use super::error::TapeError;
use super::schema::*;
use super::value::{decimal_at, f64_at, str_at, u64_at};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StratRow {
    pub bucket: String,
    pub loans: u64,
    pub balance: Decimal,
    /// Share of the pool's balance.
    pub share: f64,
    /// Balance-weighted LTV and rate within the bucket (0 for an empty bucket).
    pub wa_ltv: f64,
    pub wa_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Strat {
    /// Machine name: `ltv`, `rate`, `balance`, `remaining_term`, `renewals`, `state`.
    pub key: &'static str,
    pub title: &'static str,
    pub rows: Vec<StratRow>,
}

/// Numeric buckets: `[.., e0)`, `[e0, e1)`, ..., `[en, ..)`.
struct Edges {
    key: &'static str,
    title: &'static str,
    value: Expr,
    edges: &'static [f64],
    label: fn(f64) -> String,
}

/// A bucket edge without float noise: `55`, `12.5`.
fn num(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn pct(v: f64) -> String {
    format!("{}%", num(v * 100.0))
}

fn usd_k(v: f64) -> String {
    if v >= 1_000_000.0 {
        format!("${}M", num(v / 1_000_000.0))
    } else {
        format!("${}k", num(v / 1000.0))
    }
}

fn months(v: f64) -> String {
    format!("{} mo", num(v))
}

fn labels(e: &Edges) -> Vec<String> {
    let l = e.label;
    let mut out = vec![format!("< {}", l(e.edges[0]))];
    for w in e.edges.windows(2) {
        out.push(format!("{} - {}", l(w[0]), l(w[1])));
    }
    out.push(format!(">= {}", l(e.edges[e.edges.len() - 1])));
    out
}

fn bucket_index(value: Expr, edges: &[f64]) -> Expr {
    let mut chain = lit(edges.len() as u32);
    for (i, e) in edges.iter().enumerate().rev() {
        chain = when(value.clone().lt(lit(*e)))
            .then(lit(i as u32))
            .otherwise(chain);
    }
    chain
}

fn aggregates() -> Vec<Expr> {
    let weighted = |e: Expr| (f(PRINCIPAL) * e).sum() / f(PRINCIPAL).sum();
    vec![
        len().cast(DataType::UInt64).alias("loans"),
        col(PRINCIPAL).sum().alias("balance"),
        weighted(col(derive::LTV)).alias("wa_ltv"),
        weighted(f(INTEREST_RATE)).alias("wa_rate"),
    ]
}

fn row(df: &DataFrame, i: usize, bucket: String, total: Decimal) -> Result<StratRow, TapeError> {
    let balance = decimal_at(df, "balance", i)?;
    Ok(StratRow {
        bucket,
        loans: u64_at(df, "loans", i)?,
        balance,
        share: rust_decimal::prelude::ToPrimitive::to_f64(
            &balance.checked_div(total).unwrap_or_default(),
        )
        .unwrap_or(0.0),
        wa_ltv: f64_at(df, "wa_ltv", i)?.unwrap_or(0.0),
        wa_rate: f64_at(df, "wa_rate", i)?.unwrap_or(0.0),
    })
}

pub(crate) fn stratify(df: &DataFrame, at: &Valuation) -> Result<Vec<Strat>, TapeError> {
    let lf = df.clone().lazy().with_columns(derive::fields(at));
    let total = {
        let t = df
            .clone()
            .lazy()
            .select([col(PRINCIPAL).sum()])
            .collect()
            .map_err(TapeError::internal("stratifying"))?;
        decimal_at(&t, PRINCIPAL, 0)?
    };
    let numeric = [
        Edges {
            key: "ltv",
            title: "Current LTV",
            value: col(derive::LTV),
            edges: &[0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80],
            label: pct,
        },
        Edges {
            key: "rate",
            title: "Interest rate",
            value: f(INTEREST_RATE),
            edges: &[0.09, 0.10, 0.11, 0.12, 0.13, 0.14],
            label: pct,
        },
        Edges {
            key: "balance",
            title: "Current balance",
            value: f(PRINCIPAL),
            edges: &[
                5_000.0,
                10_000.0,
                25_000.0,
                50_000.0,
                100_000.0,
                250_000.0,
                500_000.0,
                1_000_000.0,
            ],
            label: usd_k,
        },
        Edges {
            key: "remaining_term",
            title: "Remaining term",
            value: col(derive::REMAINING_TERM),
            edges: &[1.0, 3.0, 6.0, 9.0, 12.0],
            label: months,
        },
        Edges {
            key: "renewals",
            title: "Renewals",
            value: col(RENEWAL_COUNT).cast(DataType::Float64),
            edges: &[1.0, 2.0, 3.0],
            label: num,
        },
    ];

    let mut out = Vec::new();
    for e in numeric {
        let grouped = lf
            .clone()
            .with_columns([bucket_index(e.value.clone(), e.edges).alias("__bucket")])
            .group_by([col("__bucket")])
            .agg(aggregates())
            .sort(["__bucket"], SortMultipleOptions::default())
            .collect()
            .map_err(TapeError::internal("stratifying"))?;
        let names = if e.key == "renewals" {
            vec!["0".into(), "1".into(), "2".into(), "3 or more".into()]
        } else {
            labels(&e)
        };
        let mut rows: Vec<StratRow> = names
            .into_iter()
            .map(|bucket| StratRow {
                bucket,
                loans: 0,
                balance: Decimal::ZERO,
                share: 0.0,
                wa_ltv: 0.0,
                wa_rate: 0.0,
            })
            .collect();
        for i in 0..grouped.height() {
            let b = u64_at(&grouped, "__bucket", i)? as usize;
            let name = std::mem::take(&mut rows[b].bucket);
            rows[b] = row(&grouped, i, name, total)?;
        }
        out.push(Strat {
            key: e.key,
            title: e.title,
            rows,
        });
    }

    // State: one row per state, largest balance first (ties by name, for a stable order).
    let states = lf
        .group_by([col(STATE)])
        .agg(aggregates())
        .sort_by_exprs(
            [col("balance"), col(STATE)],
            SortMultipleOptions::default().with_order_descending_multi([true, false]),
        )
        .collect()
        .map_err(TapeError::internal("stratifying by state"))?;
    let rows = (0..states.height())
        .map(|i| row(&states, i, str_at(&states, STATE, i)?, total))
        .collect::<Result<_, _>>()?;
    out.push(Strat {
        key: "state",
        title: "State",
        rows,
    });
    Ok(out)
}
