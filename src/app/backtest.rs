//! `backtest` as a library call: every start date of a price history through the next horizon,
//! on the liquidation engine, against each note's break-even BTC decline from `rate`.

use std::path::PathBuf;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;

use crate::error::Error;
use crate::methodology::{Lookup, Mode, Notch};
use crate::rating::{self, MarketPool};
use crate::stress::backtest::{Backtest, Windows, backtest};
use crate::stress::liquidation::{Balloon, Execution, MarketParams};
use crate::tape::{Tape, read_prices};

/// What `absrate backtest` was asked for.
#[derive(Debug, Clone)]
pub struct BacktestRequest {
    pub prices: PathBuf,
    pub horizon: u32,
    pub since: NaiveDate,
    pub deal: PathBuf,
    pub methodology: Option<String>,
    pub methodology_dir: Option<PathBuf>,
    /// A market-value level whose sale terms replace the pool file's.
    pub level: Option<Notch>,
    pub date_column: String,
    pub price_column: String,
    pub worst: usize,
}

/// A note's break-even BTC decline against the history.
#[derive(Debug, Serialize)]
pub struct BreakEven {
    pub class: String,
    pub indicated: Option<String>,
    /// `null` when the decline does not bind (the note survives a 99% fall on its path).
    pub break_even_btc_decline: Option<Decimal>,
    /// Windows whose fall went deeper than the break-even decline (0 when it does not bind).
    pub windows_deeper: usize,
}

/// What `backtest` prints (text or JSON).
#[derive(Debug, Serialize)]
pub struct Output {
    pub deal: String,
    pub methodology: String,
    pub terms: String,
    #[serde(flatten)]
    pub backtest: Backtest,
    pub notes: Vec<BreakEven>,
}

pub fn run(a: &BacktestRequest) -> Result<Output, Error> {
    let deal = super::load_deal(&a.deal)?;
    let registry = Lookup::for_deal(a.methodology_dir.as_deref(), &deal.path);
    let m = registry.resolve(a.methodology.as_deref().unwrap_or(&deal.methodology))?;
    if m.mode != Mode::MarketValue {
        return Err(Error::Argument(format!(
            "{} is not a market-value methodology: backtest needs one for the break-even declines (e.g. --methodology btc-backed-consumer-loans@2.0.0)",
            m.name()
        )));
    }
    let prices = read_prices(&a.prices, &a.date_column, &a.price_column)?;
    let tape = Tape::read(&deal.pool.tape)?;
    let Some(facts) = m.market.as_ref() else {
        return Err(Error::Argument(format!(
            "{} has no `market` facts: backtest needs a market-value methodology",
            m.name()
        )));
    };
    let pool = MarketPool::from_tape(&tape, &deal, facts)?;
    let f = |d: Decimal| d.to_f64().unwrap_or(f64::NAN);
    let (params, answer, terms) = match a.level {
        Some(n) => {
            let Some(ms) = m.level(n).stress.market() else {
                return Err(Error::Argument(format!(
                    "{} has no market stress at '{n}'",
                    m.name()
                )));
            };
            let mut p = rating::market::params(facts, &deal, ms);
            p.balloon = Balloon::RollOver;
            (
                p,
                f(ms.margin_call_answer_share),
                format!("level '{n}' of {}", m.name()),
            )
        }
        None => {
            let market = deal.pool.market.as_ref().ok_or_else(|| {
                Error::Argument("the pool file has no `market` assumptions: pass --level".into())
            })?;
            let terms = &deal.pool.collateral_terms;
            (
                MarketParams {
                    margin_call_ltv: f(terms.margin_call_ltv),
                    liquidation_ltv: f(terms.liquidation_ltv),
                    cure_ltv: f(terms.margin_call_cure_ltv),
                    gap: f(market.liquidation_gap),
                    lag_days: 0,
                    slippage: 0.0,
                    impact: None,
                    balloon: Balloon::RollOver,
                    execution: Execution::Trigger,
                },
                market.margin_call_answer_share,
                format!(
                    "the pool file's market assumptions (gap {}, {}% of margin calls answered)",
                    market.liquidation_gap.normalize(),
                    market.margin_call_answer_share * 100.0
                ),
            )
        }
    };
    let all: Vec<f64> = prices.prices.iter().map(|d| f(*d)).collect();
    let b = backtest(
        &pool.loans(answer),
        &all,
        prices.first,
        &Windows {
            first_start: a.since,
            horizon_days: a.horizon,
            start_price: pool.start_price(),
            worst: a.worst,
        },
        &params,
    )
    .map_err(Error::Argument)?;
    let r = rating::rate(&tape, &deal, &m)?;
    let notes: Vec<BreakEven> = deal
        .notes
        .iter()
        .zip(&r.notes)
        .map(|(n, nr)| {
            let d = nr.binding_btc_decline();
            BreakEven {
                class: n.class.clone(),
                indicated: nr.indicated.map(|x| x.to_string()),
                break_even_btc_decline: d,
                windows_deeper: d.map_or(0, |d| b.all.iter().filter(|w| w.trough > f(d)).count()),
            }
        })
        .collect();
    Ok(Output {
        deal: deal.name.clone(),
        methodology: m.name(),
        terms,
        backtest: b,
        notes,
    })
}
