//! `absrate simulate fit`: a price model's parameters estimated from a price history, printed as
//! a complete model file (docs/price-models.md). Parsing and printing only; the fitting is
//! `crate::price::fit`.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, ValueEnum};

use crate::error::Error;
use crate::price::{self, FitRequest, ModelKind};

/// The models `--model` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Model {
    Gbm,
    Merton,
    GarchT,
    Bootstrap,
}

impl From<Model> for ModelKind {
    fn from(m: Model) -> ModelKind {
        match m {
            Model::Gbm => ModelKind::Gbm,
            Model::Merton => ModelKind::Merton,
            Model::GarchT => ModelKind::GarchT,
            Model::Bootstrap => ModelKind::Bootstrap,
        }
    }
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  absrate simulate fit --prices ../shared/data/btc-usd-daily.csv --model garch-t\n  absrate simulate fit --prices ../shared/data/btc-usd-daily.csv --model bootstrap --since 2016-01-01 > model.yaml\n\nPrints a complete model file (YAML) on standard output: every parameter with its source (method,\nwindow, observations, log-likelihood). Publish it as methodology/models/<id>/<version>.yaml and\nrecord its SHA-256 in methodology/published.lock (docs/price-models.md)."
)]
pub struct FitArgs {
    /// Daily price file (CSV with a date and a price column)
    #[arg(long)]
    prices: PathBuf,
    /// The model to fit
    #[arg(long, value_enum)]
    model: Model,
    /// First price of the window [default: the file's first date]
    #[arg(long)]
    since: Option<NaiveDate>,
    /// Last price of the window [default: the file's last date]
    #[arg(long)]
    until: Option<NaiveDate>,
    #[arg(long, default_value = price::DATE_COLUMN)]
    date_column: String,
    #[arg(long, default_value = price::PRICE_COLUMN)]
    price_column: String,
    /// The model file's id [default: btc-<model>]
    #[arg(long)]
    id: Option<String>,
    /// The model file's version
    #[arg(long, default_value = "1.0.0")]
    version: semver::Version,
}

pub fn run(a: FitArgs) -> Result<String, Error> {
    let fitted = price::fit(&FitRequest {
        prices: a.prices,
        date_column: a.date_column,
        price_column: a.price_column,
        model: a.model.into(),
        since: a.since,
        until: a.until,
        id: a.id,
        version: a.version,
    })?;
    for note in &fitted.notes {
        eprintln!("note: {note}");
    }
    Ok(fitted.file.to_yaml())
}
