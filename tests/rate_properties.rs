//! Properties of the period engine on random pools and stresses: cash reconciles in every period
//! (the engine checks it and fails otherwise), no balance goes negative, a junior class is never
//! paid principal ahead of a senior one in the sequential phase, and a harsher default or recovery
//! never turns a failing note into a passing one.

use std::path::Path;

use absrate::deal::Deal;
use absrate::methodology::{Notch, Registry, Stress};
use absrate::rating::{Rules, Scenario};
use absrate::tape::PoolLoan;
use absrate::waterfall::Run;
use chrono::{Months, NaiveDate};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn deal() -> Deal {
    Deal::load(Path::new("pools/ledn-2026-1/deal.yaml")).unwrap()
}

fn base_stress() -> (Stress, Rules) {
    let m = Registry::new("methodology")
        .resolve("btc-backed-consumer-loans@1.0.0")
        .unwrap();
    (
        m.level("BBB-".parse::<Notch>().unwrap()).stress.clone(),
        Rules::of(&m),
    )
}

fn loans() -> impl Strategy<Value = Vec<PoolLoan>> {
    // Pools of the deal's size ($199.1M), so that notes can pass or fail either way.
    prop::collection::vec(
        (
            1_000i64..50_000_000,
            0u32..2_000,
            1u32..=12,
            100_000u64..900_000,
        ),
        1..25,
    )
    .prop_map(|v| {
        let start = NaiveDate::from_ymd_opt(2026, 2, 18).unwrap();
        let total: i64 = v.iter().map(|x| x.0).sum();
        let scale = Decimal::new(199_100_000, 0) / Decimal::new(total, 2);
        v.into_iter()
            .enumerate()
            .map(|(i, (cents, bp, months, ltv))| PoolLoan {
                loan_id: format!("L{i}").into(),
                balance: (Decimal::new(cents, 2) * scale).round_dp(2),
                rate: Decimal::new(bp as i64, 4),
                maturity: start + Months::new(months),
                ltv_ppm: ltv,
                forced_default: false,
                capitalized: false,
            })
            .collect()
    })
}

fn project(
    deal: &Deal,
    stress: &Stress,
    rules: Rules,
    pool: &[PoolLoan],
    rate: Decimal,
    recovery_rate: Decimal,
) -> Run {
    let total: Decimal = pool.iter().map(|l| l.balance).sum();
    let stated = stress
        .default_recovery()
        .expect("a default-and-recovery level");
    let scenario = Scenario {
        default_amount: (rate * total).round_dp(2).min(total),
        default_timing: stated.default_timing.clone(),
        recovery_rate,
        market: None,
    };
    absrate::rating::project(deal, rules, stress, pool, &scenario)
        .expect("cash reconciles in every period")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn balances_stay_non_negative_and_seniority_holds(pool in loans(), d in 0u32..=100, rec in 0u32..=100) {
        let deal = deal();
        let (stress, rules) = base_stress();
        let run = project(&deal, &stress, rules, &pool, Decimal::new(d as i64, 2), Decimal::new(rec as i64, 2));
        for p in &run.periods {
            prop_assert!(p.performing_end >= Decimal::ZERO && p.reserve_end >= Decimal::ZERO);
            prop_assert!(p.note_balance_end.iter().all(|b| *b >= Decimal::ZERO));
            prop_assert!(p.interest_paid.iter().chain(&p.principal_paid).all(|x| *x >= Decimal::ZERO));
            if !p.revolving && p.principal_paid[1] > Decimal::ZERO {
                prop_assert_eq!(p.note_balance_end[0], Decimal::ZERO, "B repaid ahead of A in period {}", p.period);
            }
        }
    }

    #[test]
    fn a_harsher_default_rate_or_recovery_never_helps(pool in loans(), d1 in 0u32..=100, d2 in 0u32..=100, r1 in 0u32..=100, r2 in 0u32..=100) {
        let deal = deal();
        let (stress, rules) = base_stress();
        let (mild_d, harsh_d) = (d1.min(d2), d1.max(d2));
        let (harsh_r, mild_r) = (r1.min(r2), r1.max(r2));
        let pct = |x: u32| Decimal::new(x as i64, 2);
        let mild = project(&deal, &stress, rules, &pool, pct(mild_d), pct(mild_r));
        let harsher_default = project(&deal, &stress, rules, &pool, pct(harsh_d), pct(mild_r));
        let harsher_recovery = project(&deal, &stress, rules, &pool, pct(mild_d), pct(harsh_r));
        // The rating outcome (pass or fail) is what must never improve. A principal loss alone
        // can shrink under a harsher stress when the deal winds up sooner and the reserve goes to
        // principal rather than to further months of interest.
        for harsh in [&harsher_default, &harsher_recovery] {
            for (m, h) in mild.notes.iter().zip(&harsh.notes) {
                prop_assert!(m.passed || !h.passed, "class {} passes only under the harsher stress", m.class);
            }
        }
    }
}
