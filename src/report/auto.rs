//! The rationale and workbook of an auto-loan deal: the grid, the indicated ratings against the
//! published ones, each class's break-even cumulative net loss, and strengths and weaknesses
//! drawn from the asset class and the pool's figures (never a BTC sentence in an auto report).
//!
//! One view ([`Section`]s of paragraphs, lists and tables of preformatted strings) renders to
//! Markdown and to HTML; every text from a deal or tape is escaped in HTML.

use rust_decimal::Decimal;
use rust_xlsxwriter::Format;

use super::Inputs;
use super::ReportError;
use crate::deal::Deal;
use crate::methodology::{AutoMethodology, Notch};
use crate::money::{count, pct_dec, usd};
use crate::rating::auto::AutoRatingResult;
use crate::tape::AutoSummary;

/// A block of a section.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Block {
    Para {
        text: String,
    },
    List {
        items: Vec<String>,
    },
    Table {
        head: Vec<String>,
        rows: Vec<Vec<String>>,
    },
}

impl Block {
    fn para(text: String) -> Block {
        Block::Para { text }
    }

    fn list(items: Vec<String>) -> Block {
        Block::List { items }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Section {
    pub title: String,
    pub blocks: Vec<Block>,
}

/// A published rating as a notch of the long-term scale: `AA+ (sf)` -> `AA+`; `None` for a
/// short-term rating (`A-1+ (sf)`) or none.
pub fn published_notch(s: Option<&str>) -> Option<Notch> {
    let s = s?;
    let core = s.split_whitespace().next().unwrap_or(s);
    core.parse().ok()
}

/// Class `k`'s rating set against its published one, from the figures.
pub fn against_published(
    deal: &Deal,
    m: &AutoMethodology,
    r: &AutoRatingResult,
    k: usize,
) -> String {
    let n = &deal.notes[k];
    let nr = &r.notes[k];
    let ecnl = deal.expected_cnl();
    let ours = nr
        .indicated
        .map(|x| format!("'{x}'"))
        .unwrap_or_else(|| "below 'B-'".into());
    let be = if nr.survives_total_default {
        format!(
            "it survives every contract defaulting ({} of the initial pool lost, {:.2}x the {} expected)",
            pct_dec(nr.break_even_cnl, 1),
            nr.break_even_multiple,
            pct_dec(ecnl, 2)
        )
    } else {
        format!(
            "it survives a cumulative net loss of {} of the initial pool under every case, {:.2}x the {} expected",
            pct_dec(nr.break_even_cnl, 1),
            nr.break_even_multiple,
            pct_dec(ecnl, 2)
        )
    };
    let published = n.rating_published.as_deref();
    let cmp = match (published, published_notch(published)) {
        (None, _) => "not rated by the agency; modelled for the structure it supports".to_string(),
        (Some(p), None) => format!(
            "published {p}, a short-term rating; absrate rates the class on the long-term scale as a senior class"
        ),
        (Some(p), Some(pn)) => {
            let quantitative = nr.indicated;
            let diff = match quantitative {
                Some(q) => pn.index() as i64 - q.index() as i64,
                None => -16,
            };
            let rel = match diff {
                0 => "the same rating".to_string(),
                d if d > 0 => format!("{} notch{} higher", d, if d == 1 { "" } else { "es" }),
                d => format!("{} notch{} lower", -d, if d == -1 { "" } else { "es" }),
            };
            let level = m.level(pn);
            format!(
                "published {p}: {rel}. At '{pn}' {} stresses {:.2}x the expected loss, {}",
                m.name(),
                level.cnl_multiple.round_dp(2),
                pct_dec(level.cnl_multiple * ecnl, 2)
            )
        }
    };
    format!("Class {}: indicated {ours}, {cmp}; {be}.", n.class)
}

/// Strengths of the pool and structure, from the asset class and the figures.
pub fn strengths(deal: &Deal, m: &AutoMethodology, s: &AutoSummary) -> Vec<String> {
    let mut out = Vec::new();
    let avg = if s.loans > 0 {
        s.principal / Decimal::from(s.loans)
    } else {
        Decimal::ZERO
    };
    out.push(format!(
        "A granular pool: {} contracts averaging {}; no single obligor matters to the notes.",
        count(s.loans),
        usd(avg.round_dp(0))
    ));
    out.push(format!(
        "Amortizing collateral: every contract pays down monthly (weighted remaining term {:.0} months, {:.0} months seasoned), and the notes pay sequentially, so credit enhancement grows as a share of the notes.",
        s.wa_remaining_term, s.wa_age
    ));
    if let Some(a) = &deal.auto_loans {
        let notes = deal.note_total();
        let coupon = if notes.is_zero() {
            Decimal::ZERO
        } else {
            deal.notes
                .iter()
                .map(|n| n.balance * n.coupon)
                .sum::<Decimal>()
                / notes
        };
        let spread = s.wa_interest_rate
            - rust_decimal::prelude::ToPrimitive::to_f64(&(coupon * notes / s.principal))
                .unwrap_or(0.0)
            - rust_decimal::prelude::ToPrimitive::to_f64(&a.servicing_fee_rate).unwrap_or(0.0);
        out.push(format!(
            "Excess spread: a weighted APR of {:.2}% against note interest of {} of the pool and a {} servicing fee leaves about {:.2}% a year to absorb losses before any enhancement is touched.",
            s.wa_interest_rate * 100.0,
            pct_dec(coupon * notes / s.principal, 2),
            pct_dec(a.servicing_fee_rate, 2),
            spread * 100.0
        ));
        out.push(format!(
            "The vehicle secures each contract: {} of a defaulted balance recovered in the base case, received {} months after the charge-off.",
            pct_dec(a.recovery_rate, 0),
            m.recovery_lag_months
        ));
    }
    let oc = if s.principal.is_zero() {
        Decimal::ZERO
    } else {
        Decimal::ONE - deal.note_total() / s.principal
    };
    let mut hard = vec![format!(
        "overcollateralization of {} at closing",
        pct_dec(oc, 2)
    )];
    if let Some(o) = &deal.overcollateralization {
        hard.push(format!(
            "building to {} of the pool{} with a floor of {} of the initial pool, paid from excess spread",
            pct_dec(o.target_share, 2),
            if o.net_of_reserve { " (less the reserve)" } else { "" },
            pct_dec(o.floor_share, 2)
        ));
    }
    let reserve = match deal.reserve_basis {
        crate::deal::ReserveBasis::InitialPool => format!(
            "a non-declining reserve of {} of the initial pool",
            pct_dec(deal.reserve_target_share, 2)
        ),
        crate::deal::ReserveBasis::Notes => format!(
            "a reserve of {} of the notes",
            pct_dec(deal.reserve_target_share, 2)
        ),
    };
    hard.push(reserve);
    hard.push("subordination of each class to those above it".into());
    out.push(format!("Hard credit enhancement: {}.", hard.join(", ")));
    out
}

/// Weaknesses of the pool and structure, from the asset class and the figures.
pub fn weaknesses(deal: &Deal, m: &AutoMethodology, s: &AutoSummary) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(a) = &deal.auto_loans {
        out.push(format!(
            "Credit quality: the agency expects a cumulative net loss of {} of the pool{}; losses track unemployment, and a recession multiplies them.",
            pct_dec(a.expected_cnl, 2),
            s.wa_credit_score
                .map(|c| format!(" (weighted credit score {c:.0}, subprime)"))
                .unwrap_or_default()
        ));
    }
    out.push(format!(
        "Long contracts: {:.1}% of the balance is in contracts of 60 months or longer (weighted original term {:.0} months); borrowers build equity in the vehicle slowly, and the loss record of the longest terms is short.",
        s.term_60_plus_share * 100.0,
        s.wa_original_term
    ));
    out.push(format!(
        "Used vehicles: {:.1}% of the balance; used-vehicle prices fall furthest in a downturn, when recoveries matter most.",
        (1.0 - s.new_vehicle_share) * 100.0
    ));
    let fast = m
        .speeds
        .iter()
        .map(|x| x.abs)
        .max()
        .unwrap_or(Decimal::ZERO);
    out.push(format!(
        "Prepayments: at {} ABS the pool and the excess spread it earns run off fast, leaving less to absorb back-loaded losses.",
        pct_dec(fast, 1)
    ));
    if let Some(f) = &deal.floating {
        let classes: Vec<&str> = f
            .spreads
            .iter()
            .map(|(k, _)| deal.notes[*k].class.as_str())
            .collect();
        out.push(format!(
            "Interest-rate risk: Class {} pays {} plus a spread against fixed-rate contracts, with no hedge in the model; a rising index takes excess spread (the path run rises to {}).",
            classes.join(", "),
            f.name,
            pct_dec(f.path.iter().copied().max().unwrap_or_default(), 2)
        ));
    }
    if !m.clean_up_call_exercised && deal.clean_up_call.is_some() {
        out.push(
            "The clean-up call is the servicer's option: the rating does not assume it, so the junior classes carry the pool's tail.".into(),
        );
    }
    out
}

/// The rationale's sections.
pub fn sections(
    deal: &Deal,
    m: &AutoMethodology,
    s: &AutoSummary,
    r: &AutoRatingResult,
    inputs: &Inputs,
) -> Vec<Section> {
    let ecnl = deal.expected_cnl();
    let mut out = Vec::new();
    out.push(Section {
        title: "Summary".into(),
        blocks: vec![
            Block::para(format!(
                "{} rated under {}: {} contracts, {} at the cut-off ({} lines as the engine amortizes them); the deal's expected cumulative net loss is {}. Each notch stresses it by a multiple and runs it under every loss-timing curve ({}) and prepayment speed ({}); a class passes a notch only if it passes every case.",
                deal.name,
                m.name(),
                count(r.contracts as u64),
                usd(r.pool_balance),
                count(r.lines as u64),
                pct_dec(ecnl, 2),
                m.curves.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", "),
                m.speeds
                    .iter()
                    .map(|x| format!("{} {} ABS", x.name, pct_dec(x.abs, 1)))
                    .collect::<Vec<_>>()
                    .join(", "),
            )),
            Block::Table {
                head: [
                    "class",
                    "balance",
                    "coupon",
                    "published",
                    "indicated",
                    "break-even CNL",
                    "x ECNL",
                    "binding case",
                ]
                .map(String::from)
                .to_vec(),
                rows: deal
                    .notes
                    .iter()
                    .zip(&r.notes)
                    .map(|(n, nr)| {
                        vec![
                            n.class.clone(),
                            usd(n.balance),
                            pct_dec(n.coupon, 2),
                            n.rating_published.clone().unwrap_or_else(|| "NR".into()),
                            nr.indicated
                                .map(|x| x.to_string())
                                .unwrap_or_else(|| "below B-".into()),
                            pct_dec(nr.break_even_cnl, 1),
                            format!("{:.2}x", nr.break_even_multiple),
                            nr.binding_case.clone().unwrap_or_else(|| "-".into()),
                        ]
                    })
                    .collect(),
            },
        ],
    });
    out.push(Section {
        title: "Against the published ratings".into(),
        blocks: vec![Block::list(
            (0..deal.notes.len())
                .map(|k| against_published(deal, m, r, k))
                .collect(),
        )],
    });
    out.push(Section {
        title: "Strengths".into(),
        blocks: vec![Block::list(strengths(deal, m, s))],
    });
    out.push(Section {
        title: "Weaknesses".into(),
        blocks: vec![Block::list(weaknesses(deal, m, s))],
    });
    out.push(Section {
        title: "The grid".into(),
        blocks: vec![Block::Table {
            head: ["level", "multiple", "CNL", "gross defaults"]
                .map(String::from)
                .into_iter()
                .chain(deal.notes.iter().map(|n| format!("Class {}", n.class)))
                .collect(),
            rows: r
                .levels
                .iter()
                .map(|l| {
                    [
                        l.notch.to_string(),
                        format!("{:.2}x", l.cnl_multiple.round_dp(2)),
                        pct_dec(l.cnl, 2),
                        usd(l.default_amount),
                    ]
                    .into_iter()
                    .chain(l.notes.iter().map(|o| {
                        if o.passed {
                            "pass".to_string()
                        } else {
                            format!("FAIL p{}", o.first_failing_period.unwrap_or(0))
                        }
                    }))
                    .collect()
                })
                .collect(),
        }],
    });
    out.push(Section {
        title: "Methodology".into(),
        blocks: vec![Block::list(
            m.curves
                .iter()
                .map(|c| {
                    format!(
                        "Loss timing `{}`: {} of the loss in years 1 to {} ({})",
                        c.name,
                        c.annual
                            .iter()
                            .map(|a| pct_dec(*a, 0))
                            .collect::<Vec<_>>()
                            .join(" / "),
                        c.annual.len(),
                        c.source
                    )
                })
                .chain(m.speeds.iter().map(|x| {
                    format!(
                        "Prepayments `{}`: {} ABS ({})",
                        x.name,
                        pct_dec(x.abs, 1),
                        x.source
                    )
                }))
                .chain([
                    format!(
                        "Recovery lag: {} months ({})",
                        m.recovery_lag_months, m.recovery_lag_source
                    ),
                    format!(
                        "Pass criteria: timely interest and principal by the legal final ({})",
                        m.pass_criteria_source
                    ),
                    format!(
                        "Clean-up call {} ({})",
                        if m.clean_up_call_exercised {
                            "assumed exercised"
                        } else {
                            "not assumed"
                        },
                        m.clean_up_call_source
                    ),
                ])
                .collect(),
        )],
    });
    out.push(Section {
        title: "Provenance".into(),
        blocks: vec![Block::list(vec![
            format!("engine {}", inputs.engine),
            format!(
                "methodology {} (sha256 {})",
                inputs.methodology, inputs.methodology_sha256
            ),
            format!("deal {} (sha256 {})", inputs.deal, inputs.deal_sha256),
            format!("tape {} (sha256 {})", inputs.tape, inputs.tape_sha256),
            match deal.pool.generated_with_seed {
                Some(seed) => format!(
                    "seed {seed} (synthetic tape; the rating itself draws no random numbers)"
                ),
                None => "seed none (the rating draws no random numbers)".into(),
            },
        ])],
    });
    out
}

/// The view the templates `auto-rationale.md` and `auto-rationale.html` render.
#[derive(Debug, serde::Serialize)]
struct View<'a> {
    title: &'a str,
    sections: &'a [Section],
}

/// The Markdown and HTML rationales, through the Tera templates (HTML auto-escaped): the
/// analyst's `templates` directory where given, else the bundled ones.
pub fn render(
    title: &str,
    sections: &[Section],
    templates: Option<&std::path::Path>,
) -> Result<(String, String), ReportError> {
    super::render_named_in(&View { title, sections }, templates, MARKDOWN, HTML)
}

pub const MARKDOWN: &str = "auto-rationale.md";
pub const HTML: &str = "auto-rationale.html";

/// The workbook: the grid, the break-evens, and every period of every notch and case (the
/// rows of `cashflows.csv`, numbers as numbers).
pub fn workbook(
    deal: &Deal,
    r: &AutoRatingResult,
    csv: &str,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut wb = super::xlsx::new_workbook(deal)?;
    let bold = Format::new().set_bold();
    super::xlsx::grid_sheet(
        &mut wb,
        deal,
        r.levels.iter().map(|l| (l.notch, l.notes.as_slice())),
        &bold,
    )?;
    let be = wb.add_worksheet();
    be.set_name("break-evens")?;
    for (j, h) in [
        "class",
        "indicated",
        "break-even level",
        "break-even CNL",
        "multiple of ECNL",
        "binding case",
    ]
    .iter()
    .enumerate()
    {
        be.write_string_with_format(0, j as u16, *h, &bold)?;
    }
    for (i, n) in r.notes.iter().enumerate() {
        let row = 1 + i as u32;
        be.write_string(row, 0, &n.class)?;
        be.write_string(
            row,
            1,
            n.indicated
                .map(|x| x.to_string())
                .unwrap_or_else(|| "below B-".into()),
        )?;
        be.write_string(row, 2, n.break_even_level.to_string())?;
        be.write_number(
            row,
            3,
            rust_decimal::prelude::ToPrimitive::to_f64(&n.break_even_cnl).unwrap_or(0.0),
        )?;
        be.write_number(
            row,
            4,
            rust_decimal::prelude::ToPrimitive::to_f64(&n.break_even_multiple).unwrap_or(0.0),
        )?;
        be.write_string(row, 5, n.binding_case.clone().unwrap_or_default())?;
    }
    let flows = wb.add_worksheet();
    flows.set_name("cashflows")?;
    for (i, line) in csv.lines().enumerate() {
        for (j, cell) in line.split(',').enumerate() {
            let (row, col) = (i as u32, j as u16);
            match (i, cell.parse::<f64>()) {
                (0, _) => flows.write_string_with_format(row, col, cell, &bold)?,
                (_, Ok(v)) if j != 2 => flows.write_number(row, col, v)?,
                _ => flows.write_string(row, col, cell)?,
            };
        }
    }
    wb.save_to_buffer()
}

/// The rationale (Markdown, HTML) and the workbook of `rate --report` for an auto-loan deal;
/// `result.json` and `cashflows.csv` join them in the same directory
/// (`crate::app::rate::build_outputs`).
pub fn files(
    deal: &Deal,
    m: &AutoMethodology,
    s: &AutoSummary,
    r: &AutoRatingResult,
    inputs: &Inputs,
    csv: &str,
    templates: Option<&std::path::Path>,
) -> Result<Vec<(&'static str, Vec<u8>)>, ReportError> {
    let view = sections(deal, m, s, r, inputs);
    let title = format!("Rating rationale: {}", deal.name);
    let xlsx = workbook(deal, r, csv).map_err(|e| ReportError::Workbook(e.to_string()))?;
    let (md, html) = render(&title, &view, templates)?;
    Ok(vec![
        (super::MARKDOWN, md.into_bytes()),
        (super::HTML, html.into_bytes()),
        ("cashflows.xlsx", xlsx),
    ])
}
