//! `absrate rate` of an auto-loan deal: the text printer of its grid, indicated ratings and
//! break-even cumulative net losses. The work is [`crate::app::rate_auto`].

use std::fmt::Write as _;

use crate::app::rate_auto::AutoRateRun;
use crate::money::{count, pct_dec, usd};
use crate::report::table::Table;

pub fn text(run: &AutoRateRun) -> String {
    let (deal, m, r) = (&run.deal, &run.methodology, &run.result);
    let s = &run.summary;
    let mut o = String::new();
    let _ = writeln!(o, "{} under {}", deal.name, m.name());
    let _ = writeln!(
        o,
        "pool {} contracts ({} lines), {}; weighted APR {:.2}%, remaining term {:.1} months; expected cumulative net loss {}",
        count(r.contracts as u64),
        count(r.lines as u64),
        usd(r.pool_balance),
        s.wa_interest_rate * 100.0,
        s.wa_remaining_term,
        pct_dec(deal.expected_cnl(), 2)
    );
    let _ = writeln!(o, "{}", super::notes_and_periods(deal));
    let _ = writeln!(
        o,
        "cases: loss timing {} x prepayments {}; a class passes a notch only under every case",
        m.curves
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        m.speeds
            .iter()
            .map(|x| format!("{} ({} ABS)", x.name, pct_dec(x.abs, 1)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut grid = Table::new(
        ["level", "x ECNL", "CNL", "gross defaults (USD)"]
            .into_iter()
            .map(String::from)
            .chain(deal.notes.iter().map(|n| format!("Class {}", n.class))),
    );
    for l in &r.levels {
        grid.row(
            [
                l.notch.to_string(),
                format!("{:.2}", l.cnl_multiple.round_dp(2)),
                pct_dec(l.cnl, 2),
                usd(l.default_amount),
            ]
            .into_iter()
            .chain(l.notes.iter().map(super::grid_cell)),
        );
    }
    o.push('\n');
    o.push_str(&grid.render("  "));
    let _ = writeln!(
        o,
        "\nIndicated ratings and break-even cumulative net losses"
    );
    for (n, nr) in deal.notes.iter().zip(&r.notes) {
        let _ = writeln!(
            o,
            "  Class {} {} at {}: {}{}; break-even CNL {} ({:.2}x the ECNL){}{}",
            n.class,
            usd(n.balance),
            pct_dec(n.coupon, 2),
            nr.indicated
                .map(|x| x.to_string())
                .unwrap_or_else(|| "below B-".into()),
            n.rating_published
                .as_deref()
                .map(|p| format!(" (published {p})"))
                .unwrap_or_else(|| " (not rated)".into()),
            pct_dec(nr.break_even_cnl, 1),
            nr.break_even_multiple,
            if nr.survives_total_default {
                ", survives every contract defaulting"
            } else {
                ""
            },
            nr.binding_case
                .as_deref()
                .map(|c| format!(", binding {c}"))
                .unwrap_or_default()
        );
    }
    for (k, n) in deal.notes.iter().enumerate() {
        let q = r.notes[k].quantitative;
        let first = match q {
            Some(q) => q.up(),
            None => Some(crate::methodology::Notch::B_MINUS),
        };
        if let Some(f) = first {
            let l = &r.levels[f.index()];
            let out = &l.notes[k];
            if !out.passed {
                let _ = writeln!(
                    o,
                    "  Class {} first fails at '{}' ({}): period {}, interest shortfall {}, principal loss {}",
                    n.class,
                    f,
                    l.failing_case[k].as_deref().unwrap_or("-"),
                    out.first_failing_period.unwrap_or(0),
                    usd(out.interest_shortfall),
                    usd(out.principal_loss)
                );
            }
        }
    }
    for w in &r.warnings {
        let _ = writeln!(o, "warning: {w}");
    }
    o
}
