//! `replay` as a library call: the deal's pool through a real daily price path on the liquidation
//! engine, and the pool after it written as a tape with its pool file (never over an input).

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::deal::Deal;
use crate::error::Error;
use crate::pool::{Cutoff, FILE_NAME, Market, PoolFileOut};
use crate::rating::MarketPool;
use crate::stress::{Execution, ReplayParams, ReplayResult, replay};
use crate::tape::{Tape, read_prices, tape_bytes};

/// What `absrate replay` was asked for.
#[derive(Debug, Clone)]
pub struct ReplayRequest {
    pub prices: PathBuf,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub deal: PathBuf,
    pub date_column: String,
    pub price_column: String,
    /// Share of borrowers who answer a margin call; the pool file's when `None`.
    pub answer_share: Option<f64>,
    /// Sale discount below the reference price; the pool file's (or 0) when `None`.
    pub gap: Option<Decimal>,
    pub execution: Execution,
    pub seed: u64,
    pub out_tape: Option<PathBuf>,
}

#[derive(Debug)]
pub struct ReplayRun {
    pub deal: Deal,
    pub result: ReplayResult,
    /// The answer share and gap used.
    pub answer_share: f64,
    pub gap: Decimal,
}

pub fn run(a: &ReplayRequest) -> Result<ReplayRun, Error> {
    let deal = super::load_deal(&a.deal)?;
    let pool = &deal.pool;
    let market = pool.market.as_ref();
    // The pool file's terms were checked when it was loaded; a flag goes through the same check.
    let flag = |name: &str, e: String| Error::Argument(format!("{name}: {e}"));
    let answer_share = match (a.answer_share, market) {
        (Some(s), _) => Market::check_answer_share(s).map_err(|e| flag("--answer-share", e))?,
        (None, Some(m)) => m.margin_call_answer_share,
        (None, None) => {
            return Err(Error::Argument(
                "no margin-call answer share: pass --answer-share or give `market` in the pool file"
                    .into(),
            ));
        }
    };
    let gap = match (a.gap, market) {
        (Some(g), _) => Market::check_gap(g).map_err(|e| flag("--gap", e))?,
        (None, Some(m)) => m.liquidation_gap,
        (None, None) => Decimal::ZERO,
    };
    let pool_out = a.out_tape.as_ref().map(|t| t.with_file_name(FILE_NAME));
    if let (Some(tape), Some(yaml)) = (&a.out_tape, &pool_out) {
        refuse_overwrite(
            &[tape, yaml],
            &[
                ("the deal's pool file", &pool.path),
                ("the input tape", &pool.tape),
                ("the deal file", &deal.path),
                ("the price file", &a.prices),
            ],
        )?;
    }
    let prices = read_prices(&a.prices, &a.date_column, &a.price_column)?;
    let records = Tape::read(&pool.tape)?.records()?;
    // Who answers margin calls: one ChaCha8 uniform per loan from --seed, as the rating draws it.
    let loans = MarketPool::new(&records, &deal, a.seed).loans(answer_share);
    let params = ReplayParams {
        from: a.from,
        to: a.to,
        margin_call_ltv: pool.collateral_terms.margin_call_ltv,
        liquidation_ltv: pool.collateral_terms.liquidation_ltv,
        cure_ltv: pool.collateral_terms.margin_call_cure_ltv,
        gap,
        execution: a.execution,
    };
    let r = replay(&records, &loans, &prices, &params).map_err(Error::Argument)?;
    if let (Some(out), Some(path)) = (&a.out_tape, &pool_out) {
        // The tape and its pool.yaml are one transaction: both written, or neither.
        let tape = tape_bytes(&r.survivors, out)?;
        let after = PoolFileOut {
            name: format!("{}-after-{}", pool.name, r.to),
            title: format!("{} after the replay to {}", pool.title, r.to),
            tape: out.file_name().map(PathBuf::from).unwrap_or_default(),
            cutoff: Cutoff {
                date: r.to,
                btc_price: r.end_price,
            },
            collateral_terms: pool.collateral_terms.clone(),
            market: pool.market.clone(),
        };
        let comment = format!(
            "The pool after `absrate replay` from {} to {} ({} loans liquidated); cash {} is held beside it.\nWritten as JSON, which YAML reads.",
            r.from, r.to, r.loans_liquidated, r.cash
        );
        let err = |message: String| Error::Output {
            path: path.clone(),
            message,
        };
        let text = after.to_yaml(&comment).map_err(|e| err(e.to_string()))?;
        let mut tx = crate::output::Transaction::new();
        tx.protect(&deal.path);
        tx.protect(&deal.pool.path);
        tx.protect(&deal.pool.tape);
        tx.protect(&a.prices);
        tx.add(out, tape);
        tx.add(path, text.into_bytes());
        tx.commit().map_err(|e| Error::Output {
            path: e.path,
            message: e.message,
        })?;
    }
    Ok(ReplayRun {
        deal,
        result: r,
        answer_share,
        gap,
    })
}

/// Where `p` is (or would be) on disk, for comparing an output with the inputs.
fn resolved(p: &Path) -> Option<PathBuf> {
    if let Ok(c) = p.canonicalize() {
        return Some(c);
    }
    let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
    Some(
        dir.unwrap_or(Path::new("."))
            .canonicalize()
            .ok()?
            .join(p.file_name()?),
    )
}

/// Refuses an output that would overwrite one of the run's own inputs.
fn refuse_overwrite(outputs: &[&Path], inputs: &[(&str, &Path)]) -> Result<(), Error> {
    for out in outputs {
        let Some(o) = resolved(out) else { continue };
        for (what, input) in inputs {
            if resolved(input).as_ref() == Some(&o) {
                return Err(Error::Argument(format!(
                    "--out-tape would overwrite {what} {}: write the replayed pool to another directory",
                    input.display()
                )));
            }
        }
    }
    Ok(())
}
