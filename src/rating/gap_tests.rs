//! The break-even liquidation gap of the bundled deal under 2.0.0 is a tested pass, and one
//! resolution step above it a tested fail.

use std::path::Path;

use super::*;
use crate::methodology::Registry;

#[test]
fn the_break_even_gap_passes_and_one_step_above_fails() {
    let deal = Deal::load(Path::new("pools/ledn-2026-1/deal.yaml")).unwrap();
    let m = Registry::new("methodology")
        .resolve("btc-backed-consumer-loans@2.0.0")
        .unwrap();
    let tape = Tape::read(&deal.pool.tape).unwrap();
    let r = rate(&tape, &deal, &m).unwrap();
    let market = Market::of(&tape, &deal, &m).unwrap();
    for (k, nr) in r.notes.iter().enumerate() {
        let level = nr.break_even_level;
        let pool = tape
            .adjust(&valuation(&deal), &rule(&m, &m.level(level).stress))
            .unwrap();
        let gap = nr.break_even_liquidation_gap().expect("market-value mode");
        let stated = m.level(level).stress.market().unwrap().liquidation_gap;
        // The note passes its level, so it survives at least the level's own gap.
        if nr.quantitative.is_some() {
            assert!(gap >= stated, "class {}: {gap} < {stated}", nr.class);
        }
        let probe = break_even::Probe {
            deal: &deal,
            m: &m,
            pool: &pool,
            market: market.as_ref(),
            level,
            k,
        };
        let passes = |g| probe.passes(Vary::LiquidationGap(g)).unwrap();
        assert!(
            passes(gap),
            "class {} fails at its break-even {gap}",
            nr.class
        );
        if gap < Decimal::ONE {
            assert!(
                !passes(gap + GAP_STEP),
                "class {} passes one step above its break-even {gap}",
                nr.class
            );
        }
    }
}
