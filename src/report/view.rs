//! The view model of the rationale: every figure preformatted as a string, so templates hold no
//! arithmetic and an analyst's copy of a template cannot get a number wrong.

use rust_decimal::Decimal;
use serde::Serialize;

use super::charts;
use crate::compare::rating_name;
use crate::deal::{Deal, Seniority};
use crate::methodology::{InterestCriterion, Methodology, Notch};
use crate::money::{btc, count, pct, pct_dec, pct_or_dash, usd, usd_millions};
use crate::rating::{DECLINE_CEILING, LevelResult, MarketOutcome, RatingResult};
use crate::stress::liquidation::Balloon;
use crate::tape::{PoolSummary, Strat};

/// Where a report's numbers came from; `run_date` is the only line that differs between two runs
/// of the same inputs.
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    pub engine: String,
    pub methodology: String,
    pub methodology_sha256: String,
    pub deal_sha256: String,
    pub tape_sha256: String,
    pub seed: String,
    pub run_date: String,
}

/// Where a result came from.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Inputs {
    pub deal: String,
    pub deal_sha256: String,
    pub tape: String,
    pub tape_sha256: String,
    pub methodology: String,
    pub methodology_sha256: String,
    pub engine: String,
}

impl Inputs {
    /// The deal file, its tape and the methodology `methodology` (name and hash), each file
    /// hashed (a pass over the tape), and this engine's version.
    pub fn of(
        deal: &Deal,
        methodology: String,
        methodology_sha256: String,
    ) -> Result<Inputs, crate::methodology::MethodologyError> {
        Ok(Inputs {
            deal: deal.path.display().to_string(),
            deal_sha256: crate::methodology::sha256_of(&deal.path)?,
            tape: deal.pool.tape.display().to_string(),
            tape_sha256: crate::methodology::sha256_of(&deal.pool.tape)?,
            methodology,
            methodology_sha256,
            engine: format!("absrate {}", env!("CARGO_PKG_VERSION")),
        })
    }
}

#[derive(Debug, Serialize)]
pub struct Row {
    pub label: String,
    pub value: String,
}

#[derive(Debug, Serialize)]
pub struct RatingRow {
    pub class: String,
    pub amount: String,
    pub coupon: String,
    pub seniority: String,
    pub subordination: String,
    pub overcollateralization: String,
    pub reserve: String,
    pub total: String,
    /// The rating given, after the methodology's overlays.
    pub indicated: String,
    /// The grid's rating, before overlays.
    pub quantitative: String,
    pub published: String,
}

/// One of the methodology's overlays, as the rationale lists it.
#[derive(Debug, Serialize)]
pub struct OverlayRow {
    pub name: String,
    pub adjustment: String,
    pub reason: String,
    pub source: String,
    /// The classes it binds, `-` when none.
    pub binds: String,
}

#[derive(Debug, Serialize)]
pub struct NoteText {
    pub class: String,
    pub sentences: Vec<String>,
    /// What the methodology's overlays did (`Overlays: quantitative 'A-', capped at ...`);
    /// `None` when it has none.
    pub overlays: Option<String>,
    /// The rating set against the published one, from the figures.
    pub against_published: String,
}

#[derive(Debug, Serialize)]
pub struct StratRowView {
    pub bucket: String,
    pub loans: String,
    pub balance: String,
    pub share: String,
    pub wa_ltv: String,
    pub wa_rate: String,
}

#[derive(Debug, Serialize)]
pub struct StratView {
    pub title: String,
    pub rows: Vec<StratRowView>,
}

#[derive(Debug, Serialize)]
pub struct StressRow {
    pub notch: String,
    pub anchor: bool,
    pub default_rate: String,
    pub recovery_rate: String,
    pub recovery_lag: String,
    pub interest_cash: String,
    pub servicing_fee: String,
    pub top_obligors: String,
    pub obligor_limit: String,
    pub capitalized_credit: String,
    pub capitalized_multiplier: String,
    pub defaults: String,
    pub capitalized_disallowed: String,
    pub obligor_disallowed: String,
}

#[derive(Debug, Serialize)]
pub struct Cell {
    pub text: String,
    pub pass: bool,
}

#[derive(Debug, Serialize)]
pub struct GridRow {
    pub notch: String,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Serialize)]
pub struct BreakEven {
    pub class: String,
    pub level: String,
    pub rate: String,
    pub level_rate: String,
    pub coverage: String,
    pub base: String,
}

/// A market-value level's stated price path and terms of sale.
#[derive(Debug, Serialize)]
pub struct MarketStressRow {
    pub notch: String,
    pub anchor: bool,
    pub trough: String,
    pub days_to_trough: String,
    pub shape: String,
    pub gap: String,
    pub lag_days: String,
    pub slippage: String,
    pub crowding: String,
    pub answer_share: String,
    pub balloon: String,
}

/// What a market-value level's path did to the pool.
#[derive(Debug, Serialize)]
pub struct PathRow {
    pub notch: String,
    pub trough: String,
    pub price_at_low: String,
    pub loans: String,
    pub called: String,
    pub liquidated: String,
    pub sold: String,
    pub recovered: String,
    pub losses: String,
    pub max_execution_ltv: String,
}

#[derive(Debug, Serialize)]
pub struct MarketBreakEven {
    pub class: String,
    pub level: String,
    pub gap: String,
    pub level_gap: String,
    pub decline: String,
    pub level_trough: String,
}

/// The market-value part of the rationale (`None` under a default-and-recovery methodology).
#[derive(Debug, Serialize)]
pub struct MarketView {
    pub stresses: Vec<MarketStressRow>,
    pub paths: Vec<PathRow>,
    pub break_evens: Vec<MarketBreakEven>,
}

#[derive(Debug, Serialize)]
pub struct Charts {
    pub ltv: String,
    pub balances: String,
    pub defaults: String,
    pub reserve: String,
}

#[derive(Debug, Serialize)]
pub struct Rationale {
    pub deal: String,
    pub methodology: String,
    pub methodology_title: String,
    pub cutoff: String,
    pub closing: String,
    pub legal_final: String,
    pub ratings: Vec<RatingRow>,
    /// The methodology's overlays (empty when it has none).
    pub overlays: Vec<OverlayRow>,
    pub rationale: Vec<NoteText>,
    pub strengths: Vec<String>,
    pub weaknesses: Vec<String>,
    pub pool: Vec<Row>,
    pub trigger_prices: Vec<Row>,
    pub strats: Vec<StratView>,
    pub stresses: Vec<StressRow>,
    pub classes: Vec<String>,
    pub grid: Vec<GridRow>,
    /// Default-and-recovery methodologies: the break-even default rates.
    pub break_evens: Vec<BreakEven>,
    pub market: Option<MarketView>,
    pub charts: Charts,
    pub warnings: Vec<String>,
    pub provenance: Provenance,
}

fn share(part: Decimal, whole: Decimal) -> Decimal {
    part.checked_div(whole).unwrap_or_default()
}

/// Builds the rationale's view model from a completed rating run.
pub fn rationale(
    deal: &Deal,
    m: &Methodology,
    summary: &PoolSummary,
    strats: &[Strat],
    r: &RatingResult,
    provenance: Provenance,
) -> Rationale {
    let pool = summary.principal;
    let notes_total = deal.note_total();
    let reserve0 = (deal.reserve_target_share * notes_total).round_dp(2);
    let oc = pool + deal.cash_at_closing - notes_total;

    let mut ratings = Vec::new();
    let mut texts = Vec::new();
    for (k, (n, nr)) in deal.notes.iter().zip(&r.notes).enumerate() {
        let below: Decimal = deal.notes[k + 1..].iter().map(|x| x.balance).sum();
        let support = below + oc + reserve0;
        ratings.push(RatingRow {
            class: n.class.clone(),
            amount: usd(n.balance),
            coupon: pct_dec(n.coupon, 2),
            seniority: match n.seniority {
                Seniority::Senior => "senior".into(),
                Seniority::Subordinate => "subordinate".into(),
            },
            subordination: pct_dec(share(below, pool), 1),
            overcollateralization: pct_dec(share(oc, pool), 1),
            reserve: pct_dec(share(reserve0, pool), 1),
            total: pct_dec(share(support, pool), 1),
            indicated: rating_name(nr.indicated),
            quantitative: rating_name(nr.quantitative),
            published: n.rating_published.clone().unwrap_or_else(|| "-".into()),
        });

        let mut s = Vec::new();
        s.push(format!(
            "Class {} ({}, coupon {}) has credit support of {} of the pool: subordination {}, overcollateralization {} and the reserve {}.",
            n.class,
            usd(n.balance),
            pct_dec(n.coupon, 2),
            pct_dec(share(support, pool), 1),
            pct_dec(share(below, pool), 1),
            pct_dec(share(oc, pool), 1),
            pct_dec(share(reserve0, pool), 1)
        ));
        let criterion = match n.seniority {
            Seniority::Senior => m.pass_criteria.senior,
            Seniority::Subordinate => m.pass_criteria.subordinate,
        };
        let interest = match criterion.interest {
            InterestCriterion::Timely => "timely interest",
            InterestCriterion::Ultimate => "ultimate interest",
        };
        let legal_final = deal.legal_final;
        match (nr.quantitative, nr.break_even_liquidation_gap()) {
            (Some(level), Some(gap)) => {
                s.push(format!(
                    "Under the '{level}' stress ({}) it receives {interest} and full principal by the legal final maturity of {legal_final}.",
                    level_clause(m, &r.levels[level.index()])
                ));
                s.push(format!(
                    "Its break-even liquidation gap (the sale discount below the trigger price it survives, the rest of the '{level}' stress held) is {}.",
                    gap_phrase(gap, stated_gap(m, level))
                ));
                s.push(format!(
                    "Its break-even BTC decline {}.",
                    decline_phrase(nr.binding_btc_decline(), deal.pool.cutoff.btc_price, level)
                ));
            }
            (Some(level), None) => {
                s.push(format!(
                    "Under the '{level}' stress ({}) it receives {interest} and full principal by the legal final maturity of {legal_final}.",
                    level_clause(m, &r.levels[level.index()])
                ));
                if let (Some(be), Some(cov), Some((default_rate, _))) = (
                    nr.break_even_default_rate(),
                    nr.coverage(),
                    stated_rates(m, level),
                ) {
                    s.push(format!(
                        "Its break-even default rate is {} against {} at its level, {} times the base case of {}.",
                        pct_dec(be, 1),
                        pct_dec(default_rate, 1),
                        cov.normalize(),
                        pct_dec(m.base_case.default_rate.value, 1)
                    ));
                }
            }
            (None, Some(gap)) => s.push(format!(
                "It does not pass at any level, not even 'B-': break-even liquidation gap {} at 'B-'.",
                gap_phrase(gap, stated_gap(m, Notch::B_MINUS))
            )),
            (None, None) => s.push(format!(
                "It does not pass at any level, not even 'B-': break-even default rate {}.",
                pct_dec(nr.break_even_default_rate().unwrap_or_default(), 1)
            )),
        }
        let up = match nr.quantitative {
            Some(level) => level.up(),
            None => Some(Notch::B_MINUS),
        };
        if let Some(up) = up {
            let l = &r.levels[up.index()];
            let o = &l.notes[k];
            let why = if o.principal_loss > Decimal::ZERO {
                format!("a principal loss of {}", usd(o.principal_loss))
            } else {
                format!("an interest shortfall of {}", usd(o.interest_shortfall))
            };
            s.push(format!(
                "It first fails at '{up}' ({}): {why}, in period {}.",
                level_clause(m, l),
                o.first_failing_period.unwrap_or(0)
            ));
        }
        texts.push(NoteText {
            class: n.class.clone(),
            sentences: s,
            overlays: super::overlays::phrase(m, nr).map(|p| format!("Overlays: {p}.")),
            against_published: super::published::sentence(deal, m, r, k),
        });
    }

    // Strengths and weaknesses, each stated from the data.
    let c = &summary.concentration;
    let mut strengths = Vec::new();
    let mut weaknesses = Vec::new();
    let concentration = format!(
        "The 20 largest borrowers hold {} of the pool (largest {}; {} loans across {} borrowers, {:.2} per borrower).",
        pct(c.top20_share, 1),
        pct(c.top1_share, 2),
        count(summary.loans),
        count(summary.borrowers),
        summary.loans as f64 / summary.borrowers.max(1) as f64
    );
    if c.top20_share < 0.10 {
        strengths.push(concentration)
    } else {
        weaknesses.push(concentration)
    }
    let cap = format!(
        "Capitalized interest is {} of principal ({} renewed loans, {}); rollovers that capitalize unpaid interest are a weakness S&P named.",
        pct_dec(summary.capitalized_interest_share, 2),
        count(summary.renewed_loans),
        usd_millions(summary.renewed_balance)
    );
    if summary.capitalized_interest_share > Decimal::new(2, 2) {
        weaknesses.push(cap)
    } else {
        strengths.push(cap)
    }
    if let Some(t) = summary
        .trigger_prices
        .iter()
        .find(|t| t.ltv == summary.liquidation_ltv)
    {
        strengths.push(format!(
            "Pool LTV is {} at {} per BTC; BTC would have to fall {} (to {}) before the pool LTV reaches the {} liquidation level.",
            pct_dec(summary.pool_ltv, 2),
            usd(summary.btc_price),
            pct_dec(t.fall, 1),
            usd(t.btc_price),
            pct_dec(t.ltv, 0)
        ));
    }
    let high: Decimal = strats
        .iter()
        .find(|s| s.key == "ltv")
        .map(|s| {
            s.rows
                .iter()
                .filter(|r| {
                    r.bucket.starts_with("65%")
                        || r.bucket.starts_with("70%")
                        || r.bucket.starts_with("75%")
                        || r.bucket.starts_with(">=")
                })
                .map(|r| r.balance)
                .sum()
        })
        .unwrap_or_default();
    weaknesses.push(format!(
        "{} of the balance is at 65% LTV or more at the cut-off price (balance-weighted LTV {}, highest {}): a BTC fall brings these loans to margin calls and liquidation first.",
        pct_dec(share(high, pool), 1),
        pct(summary.wa_ltv, 2),
        pct(summary.max_ltv, 2)
    ));
    weaknesses.push("BTC is volatile and its falls are correlated across every loan: margin-driven defaults are the most acute stress.".into());

    let pool_rows = vec![
        Row {
            label: "Loans".into(),
            value: count(summary.loans),
        },
        Row {
            label: "Borrowers".into(),
            value: count(summary.borrowers),
        },
        Row {
            label: "Principal".into(),
            value: usd(summary.principal),
        },
        Row {
            label: "Collateral".into(),
            value: format!("{} BTC", btc(summary.collateral_btc)),
        },
        Row {
            label: "Collateral value".into(),
            value: format!(
                "{} at {} per BTC",
                usd(summary.collateral_value),
                usd(summary.btc_price)
            ),
        },
        Row {
            label: "Pool LTV".into(),
            value: pct_dec(summary.pool_ltv, 2),
        },
        Row {
            label: "Balance-weighted LTV".into(),
            value: pct(summary.wa_ltv, 2),
        },
        Row {
            label: "Balance-weighted rate".into(),
            value: pct(summary.wa_interest_rate, 2),
        },
        Row {
            label: "Balance-weighted remaining term".into(),
            value: format!("{:.2} months", summary.wa_remaining_term_months),
        },
        Row {
            label: "Capitalized interest".into(),
            value: format!(
                "{} ({} of principal)",
                usd(summary.capitalized_interest),
                pct_dec(summary.capitalized_interest_share, 2)
            ),
        },
        Row {
            label: "Top 1 / 10 / 20 borrowers".into(),
            value: format!(
                "{} / {} / {}",
                pct(c.top1_share, 2),
                pct(c.top10_share, 2),
                pct(c.top20_share, 2)
            ),
        },
        Row {
            label: "HHI (effective borrowers)".into(),
            value: format!("{:.6} ({:.0})", c.hhi, c.effective_borrowers),
        },
    ];
    let trigger_prices = summary
        .trigger_prices
        .iter()
        .map(|t| Row {
            label: format!("Pool LTV {}", pct_dec(t.ltv, 0)),
            value: format!(
                "{} per BTC (a fall of {})",
                usd(t.btc_price),
                pct_dec(t.fall, 1)
            ),
        })
        .collect();
    let strat_views = strats
        .iter()
        .map(|s| StratView {
            title: s.title.to_string(),
            rows: s
                .rows
                .iter()
                .map(|r| StratRowView {
                    bucket: r.bucket.clone(),
                    loans: count(r.loans),
                    balance: usd(r.balance),
                    share: pct(r.share, 2),
                    wa_ltv: pct(r.wa_ltv, 2),
                    wa_rate: pct(r.wa_rate, 2),
                })
                .collect(),
        })
        .collect();
    let stresses = r.levels.iter().map(|l| stress_row(m, l)).collect();
    let grid = r
        .levels
        .iter()
        .map(|l| GridRow {
            notch: l.notch.to_string(),
            cells: l
                .notes
                .iter()
                .map(|o| Cell {
                    text: if o.passed {
                        "pass".into()
                    } else {
                        format!("fail (period {})", o.first_failing_period.unwrap_or(0))
                    },
                    pass: o.passed,
                })
                .collect(),
        })
        .collect();
    let market = (m.mode == crate::methodology::Mode::MarketValue).then(|| market_view(deal, m, r));
    // Under a market-value methodology the break-even is a liquidation gap (`market`).
    let break_evens = match market {
        Some(_) => Vec::new(),
        None => deal
            .notes
            .iter()
            .zip(&r.notes)
            .map(|(n, nr)| BreakEven {
                class: n.class.clone(),
                level: nr.break_even_level.to_string(),
                rate: pct_or_dash(nr.break_even_default_rate(), 1),
                level_rate: pct_or_dash(stated_rates(m, nr.break_even_level).map(|r| r.0), 1),
                coverage: nr
                    .coverage()
                    .map_or_else(|| "-".into(), |c| format!("{}x", c.normalize())),
                base: pct_dec(m.base_case.default_rate.value, 1),
            })
            .collect(),
    };

    Rationale {
        deal: deal.name.clone(),
        methodology: m.name(),
        methodology_title: m.title.clone(),
        cutoff: deal.pool.cutoff.date.to_string(),
        closing: deal.closing.to_string(),
        legal_final: deal.legal_final.to_string(),
        ratings,
        overlays: m
            .overlays
            .iter()
            .map(|o| {
                let binds: Vec<String> = r
                    .notes
                    .iter()
                    .filter(|nr| nr.overlays.iter().any(|b| b.name == o.name))
                    .map(|nr| format!("Class {}", nr.class))
                    .collect();
                OverlayRow {
                    name: o.name.clone(),
                    adjustment: o.adjustment.to_string(),
                    reason: super::overlays::one_line(&o.reason),
                    source: super::overlays::one_line(&o.source),
                    binds: if binds.is_empty() {
                        "-".into()
                    } else {
                        binds.join(", ")
                    },
                }
            })
            .collect(),
        rationale: texts,
        strengths,
        weaknesses,
        pool: pool_rows,
        trigger_prices,
        strats: strat_views,
        stresses,
        classes: deal.notes.iter().map(|n| n.class.clone()).collect(),
        grid,
        break_evens,
        market,
        charts: charts_of(deal, strats, r),
        warnings: r.warnings.clone(),
        provenance,
    }
}

/// The "as applied" row of a level: the common parameters as stated, the default and recovery
/// rates as stated or, under a market-value methodology, as derived from the level's path.
fn stress_row(m: &Methodology, l: &LevelResult) -> StressRow {
    let st = &m.level(l.notch).stress;
    let rates = match &l.market {
        Some(o) => Some((o.default_rate, o.recovery_rate)),
        None => stated_rates(m, l.notch),
    };
    let multiplier = st
        .default_recovery()
        .map(|d| d.capitalized_interest_default_multiplier);
    StressRow {
        notch: l.notch.to_string(),
        anchor: m.level(l.notch).anchor,
        default_rate: pct_or_dash(rates.map(|r| r.0), 1),
        recovery_rate: pct_or_dash(rates.map(|r| r.1), 1),
        recovery_lag: format!("{} mo", st.recovery_lag_months),
        interest_cash: pct_dec(st.interest_cash_share, 1),
        servicing_fee: pct_dec(st.servicing_fee_rate, 2),
        top_obligors: st.top_obligor_defaults.to_string(),
        obligor_limit: pct_dec(st.obligor_limit, 2),
        capitalized_credit: pct_dec(st.capitalized_interest_credit, 0),
        capitalized_multiplier: multiplier
            .map_or_else(|| "-".into(), |x| format!("{}x", x.normalize())),
        defaults: usd(l.default_amount),
        capitalized_disallowed: usd(l.adjustments.capitalized_interest_disallowed),
        obligor_disallowed: usd(l.adjustments.obligor_excess_disallowed),
    }
}

/// A level's stress in a few words: the stated rates, or what its price path did.
fn level_clause(m: &Methodology, l: &LevelResult) -> String {
    match (m.level(l.notch).stress.market(), &l.market) {
        (Some(k), Some(o)) => format!(
            "BTC falls {} to {} over {} days on the '{}' path; of {} loans, {} receive a margin call and {} are liquidated (a loan can be sold without a call when the price goes through both triggers at once), selling {} of principal with losses of {} on the sales, executed at up to {} LTV: a derived {} default and {} recovery",
            pct_dec(o.btc_trough, 1),
            usd(o.trough_price.round_dp(0)),
            k.days_to_trough,
            k.path_shape,
            count(o.loans),
            count(o.loans_margin_called),
            count(o.loans_liquidated),
            usd(o.liquidated_principal),
            usd(o.losses),
            ltv(o),
            pct_dec(o.default_rate, 1),
            pct_dec(o.recovery_rate, 1)
        ),
        _ => match stated_rates(m, l.notch) {
            Some((d, r)) => format!("{} default, {} recovery", pct_dec(d, 1), pct_dec(r, 1)),
            None => "a market-value level whose path was not run".into(),
        },
    }
}

fn ltv(o: &MarketOutcome) -> String {
    pct(o.max_execution_ltv, 1)
}

/// The liquidation gap a market-value level states.
pub fn stated_gap(m: &Methodology, notch: Notch) -> Option<Decimal> {
    m.level(notch).stress.market().map(|k| k.liquidation_gap)
}

/// A break-even liquidation gap against the level's own, in words.
pub fn gap_phrase(gap: Decimal, stated: Option<Decimal>) -> String {
    let against = stated
        .map(|g| format!(" against {} at its level", pct_dec(g, 1)))
        .unwrap_or_default();
    if gap >= Decimal::ONE {
        format!(
            "{}{against}: it survives any gap, even sales for nothing",
            pct_dec(gap, 1)
        )
    } else if gap.is_zero() {
        format!("{}{against}: it fails even with no gap", pct_dec(gap, 1))
    } else {
        format!("{}{against}", pct_dec(gap, 1))
    }
}

/// A break-even BTC decline where it binds, or why it does not: the predicate of a sentence
/// whose subject is the decline.
pub fn decline_phrase(binding: Option<Decimal>, cutoff_price: Decimal, level: Notch) -> String {
    match binding {
        Some(d) => format!(
            "is {} from the cut-off price (BTC at {}) on the '{level}' path",
            pct_dec(d, 1),
            usd((cutoff_price * (Decimal::ONE - d)).round_dp(0))
        ),
        None => format!(
            "does not bind: it survives any BTC fall on the '{level}' path ({} tried); its losses come from the terms of each sale, not the depth of the fall",
            pct_dec(DECLINE_CEILING, 0)
        ),
    }
}

fn balloon(b: Balloon) -> &'static str {
    match b {
        Balloon::Repay => "repay",
        Balloon::RollOver => "roll over",
        Balloon::Default => "default",
    }
}

fn market_view(deal: &Deal, m: &Methodology, r: &RatingResult) -> MarketView {
    let stresses = r
        .levels
        .iter()
        .filter_map(|l| {
            let k = m.level(l.notch).stress.market()?;
            Some(MarketStressRow {
                notch: l.notch.to_string(),
                anchor: m.level(l.notch).anchor,
                trough: pct_dec(k.btc_trough, 1),
                days_to_trough: k.days_to_trough.to_string(),
                shape: k.path_shape.clone(),
                gap: pct_dec(k.liquidation_gap, 1),
                lag_days: k.liquidation_lag_days.to_string(),
                slippage: pct_dec(k.slippage, 1),
                crowding: format!("{}x", k.crowding.round_dp(2).normalize()),
                answer_share: pct_dec(k.margin_call_answer_share, 1),
                balloon: balloon(k.balloon_in_margin_call).into(),
            })
        })
        .collect();
    let paths = r
        .levels
        .iter()
        .filter_map(|l| {
            let o = l.market.as_ref()?;
            Some(PathRow {
                notch: l.notch.to_string(),
                trough: pct_dec(o.btc_trough, 1),
                price_at_low: usd(o.trough_price.round_dp(0)),
                loans: count(o.loans),
                called: count(o.loans_margin_called),
                liquidated: count(o.loans_liquidated),
                sold: usd(o.liquidated_principal),
                recovered: usd(o.recovered_principal),
                losses: usd(o.losses),
                max_execution_ltv: ltv(o),
            })
        })
        .collect();
    let break_evens = deal
        .notes
        .iter()
        .zip(&r.notes)
        .map(|(n, nr)| {
            let level = nr.break_even_level;
            let stated = m.level(level).stress.market();
            let trough = stated.map_or_else(|| "-".into(), |k| pct_dec(k.btc_trough, 1));
            MarketBreakEven {
                class: n.class.clone(),
                level: level.to_string(),
                gap: nr
                    .break_even_liquidation_gap()
                    .map_or_else(|| "-".into(), |g| pct_dec(g, 1)),
                level_gap: stated.map_or_else(|| "-".into(), |k| pct_dec(k.liquidation_gap, 1)),
                decline: match nr.binding_btc_decline() {
                    Some(d) => pct_dec(d, 1),
                    None => format!(
                        "not binding (survives a {} fall)",
                        pct_dec(DECLINE_CEILING, 0)
                    ),
                },
                level_trough: trough,
            }
        })
        .collect();
    MarketView {
        stresses,
        paths,
        break_evens,
    }
}

/// A stratification bucket as short as a bar's width allows: `40% - 45%` -> `40-45%`,
/// `< 40%` -> `<40%`.
fn bucket_name(bucket: &str) -> String {
    match bucket.split_once(" - ") {
        Some((lo, hi)) => format!("{}-{hi}", lo.trim_end_matches('%')),
        None => bucket.replace(' ', ""),
    }
}

fn charts_of(deal: &Deal, strats: &[Strat], r: &RatingResult) -> Charts {
    let ltv: Vec<(String, f64)> = strats
        .iter()
        .find(|s| s.key == "ltv")
        .map(|s| {
            s.rows
                .iter()
                .map(|r| (bucket_name(&r.bucket), r.share * 100.0))
                .collect()
        })
        .unwrap_or_default();
    // The senior class's quantitative level and the notch above it.
    let level = r
        .notes
        .first()
        .and_then(|n| n.quantitative)
        .unwrap_or(Notch::B_MINUS);
    let levels: Vec<Notch> = [Some(level), level.up()].into_iter().flatten().collect();
    let mut balances = Vec::new();
    let mut reserve = Vec::new();
    for l in &levels {
        let run = &r.levels[l.index()].run;
        for (k, n) in deal.notes.iter().enumerate() {
            balances.push((
                format!("Class {} at '{l}'", n.class),
                charts::series(
                    std::iter::once((0, n.balance)).chain(
                        run.periods
                            .iter()
                            .map(|p| (p.period, p.note_balance_end[k])),
                    ),
                ),
            ));
        }
        reserve.push((
            format!("reserve at '{l}'"),
            charts::series(run.periods.iter().map(|p| (p.period, p.reserve_end))),
        ));
    }
    let run = &r.levels[level.index()].run;
    let mut recovered = Decimal::ZERO;
    let defaults = vec![
        (
            format!("cumulative defaults at '{level}'"),
            charts::series(
                run.periods
                    .iter()
                    .map(|p| (p.period, p.cumulative_defaults)),
            ),
        ),
        (
            format!("cumulative recoveries at '{level}'"),
            charts::series(run.periods.iter().map(|p| {
                recovered += p.recoveries;
                (p.period, recovered)
            })),
        ),
    ];
    Charts {
        ltv: charts::bars(
            "Balance by current LTV bucket",
            "current LTV at the cut-off price",
            "% of balance",
            &ltv,
        ),
        balances: charts::lines("Note balances", "period", "$M", &balances),
        defaults: charts::lines(
            "Cumulative defaults and recoveries",
            "period",
            "$M",
            &defaults,
        ),
        reserve: charts::lines("Reserve balance", "period", "$M", &reserve),
    }
}

/// The default and recovery rates a default-and-recovery level states; `None` for a market-value
/// level (its rates are derived: read them from its `MarketOutcome`).
fn stated_rates(m: &Methodology, notch: Notch) -> Option<(Decimal, Decimal)> {
    m.level(notch)
        .stress
        .default_recovery()
        .map(|d| (d.default_rate, d.recovery_rate))
}
