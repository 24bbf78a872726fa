//! The view model of the rationale: every figure preformatted as a string, so templates hold no
//! arithmetic and an analyst's copy of a template cannot get a number wrong.

use rust_decimal::Decimal;
use serde::Serialize;

use super::charts;
use crate::deal::{Deal, Seniority};
use crate::methodology::{InterestCriterion, Methodology, Notch};
use crate::money::{btc, count, pct, pct_dec, usd, usd_millions};
use crate::rating::RatingResult;
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
    pub indicated: String,
    pub published: String,
}

#[derive(Debug, Serialize)]
pub struct NoteText {
    pub class: String,
    pub sentences: Vec<String>,
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
    pub rationale: Vec<NoteText>,
    pub strengths: Vec<String>,
    pub weaknesses: Vec<String>,
    pub pool: Vec<Row>,
    pub trigger_prices: Vec<Row>,
    pub strats: Vec<StratView>,
    pub stresses: Vec<StressRow>,
    pub classes: Vec<String>,
    pub grid: Vec<GridRow>,
    pub break_evens: Vec<BreakEven>,
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
            indicated: nr
                .indicated
                .map(|x| x.to_string())
                .unwrap_or_else(|| "below B-".into()),
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
        match nr.indicated {
            Some(level) => {
                let st = &m.level(level).stress;
                s.push(format!(
                    "Under the '{level}' stress ({} default, {} recovery) it receives {interest} and full principal by the legal final maturity of {}.",
                    pct_dec(st.default_rate, 1),
                    pct_dec(st.recovery_rate, 1),
                    deal.legal_final
                ));
                s.push(format!(
                    "Its break-even default rate is {} against {} at its level, {} times the base case of {}.",
                    pct_dec(nr.break_even_default_rate, 1),
                    pct_dec(st.default_rate, 1),
                    nr.coverage.normalize(),
                    pct_dec(m.base_case.default_rate.value, 1)
                ));
            }
            None => s.push(format!(
                "It does not pass at any level, not even 'B-': break-even default rate {}.",
                pct_dec(nr.break_even_default_rate, 1)
            )),
        }
        let up = match nr.indicated {
            Some(level) => level.up(),
            None => Some(Notch::B_MINUS),
        };
        if let Some(up) = up {
            let l = &r.levels[up.index()];
            let o = &l.notes[k];
            let st = &m.level(up).stress;
            let why = if o.principal_loss > Decimal::ZERO {
                format!("a principal loss of {}", usd(o.principal_loss))
            } else {
                format!("an interest shortfall of {}", usd(o.interest_shortfall))
            };
            s.push(format!(
                "It first fails at '{up}' ({} default, {} recovery): {why}, in period {}.",
                pct_dec(st.default_rate, 1),
                pct_dec(st.recovery_rate, 1),
                o.first_failing_period.unwrap_or(0)
            ));
        }
        texts.push(NoteText {
            class: n.class.clone(),
            sentences: s,
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
    let stresses = r
        .levels
        .iter()
        .map(|l| {
            let st = &m.level(l.notch).stress;
            StressRow {
                notch: l.notch.to_string(),
                anchor: m.level(l.notch).anchor,
                default_rate: pct_dec(st.default_rate, 1),
                recovery_rate: pct_dec(st.recovery_rate, 1),
                recovery_lag: format!("{} mo", st.recovery_lag_months),
                interest_cash: pct_dec(st.interest_cash_share, 1),
                servicing_fee: pct_dec(st.servicing_fee_rate, 2),
                top_obligors: st.top_obligor_defaults.to_string(),
                obligor_limit: pct_dec(st.obligor_limit, 2),
                capitalized_credit: pct_dec(st.capitalized_interest_credit, 0),
                capitalized_multiplier: format!(
                    "{}x",
                    st.capitalized_interest_default_multiplier.normalize()
                ),
                defaults: usd(l.default_amount),
                capitalized_disallowed: usd(l.adjustments.capitalized_interest_disallowed),
                obligor_disallowed: usd(l.adjustments.obligor_excess_disallowed),
            }
        })
        .collect();
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
    let break_evens = deal
        .notes
        .iter()
        .zip(&r.notes)
        .map(|(n, nr)| BreakEven {
            class: n.class.clone(),
            level: nr.break_even_level.to_string(),
            rate: pct_dec(nr.break_even_default_rate, 1),
            level_rate: pct_dec(m.level(nr.break_even_level).stress.default_rate, 1),
            coverage: format!("{}x", nr.coverage.normalize()),
            base: pct_dec(m.base_case.default_rate.value, 1),
        })
        .collect();

    Rationale {
        deal: deal.name.clone(),
        methodology: m.name(),
        methodology_title: m.title.clone(),
        cutoff: deal.pool.cutoff.date.to_string(),
        closing: deal.closing.to_string(),
        legal_final: deal.legal_final.to_string(),
        ratings,
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
        charts: charts_of(deal, strats, r),
        warnings: r.warnings.clone(),
        provenance,
    }
}

fn charts_of(deal: &Deal, strats: &[Strat], r: &RatingResult) -> Charts {
    let ltv: Vec<f64> = strats
        .iter()
        .find(|s| s.key == "ltv")
        .map(|s| s.rows.iter().map(|r| r.share * 100.0).collect())
        .unwrap_or_default();
    // The senior class's indicated level and the notch above it.
    let level = r
        .notes
        .first()
        .and_then(|n| n.indicated)
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
            "LTV bucket (0 = below 40%, then 5-point steps)",
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
