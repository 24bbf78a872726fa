//! The Monte Carlo second opinion: thousands of BTC price paths from a fitted price model, each
//! through the loan-by-loan liquidation engine and the deal's waterfall, summarized as loss
//! distributions and an expected-loss rating per note (docs/simulate.md).
//!
//! One path, in order:
//! 1. its random stream: ChaCha8 seeded with the run's seed, stream = the path's index, so a path
//!    is the same whichever thread, shard or run computes it;
//! 2. daily prices from the price model (`crate::price`);
//! 3. the liquidation engine over the pool's loans (or cohorts, [`cohort`]): margin calls,
//!    answers, sales; the sale's discount below its trigger is the model's own move over the
//!    execution window after the trigger (each day's at its own place in the path's stream, read
//!    on the days with sales: [`WindowMoves`]), plus the
//!    methodology's slippage and the pool's own market impact;
//! 4. the sales become the period engine's scenario exactly as a market-value rating level's do
//!    (`rating::market`): principal sold by month, principal recovered;
//! 5. the deal's waterfall, the same code as `rate` (in `f64`);
//! 6. the path's result: pool loss, loans liquidated, each note's losses, shortfalls and life.

pub mod cohort;
pub mod run;
pub mod summary;

use std::ops::Range;

use chrono::NaiveDate;
use rand::rngs::ChaCha8Rng;
use rand::{Rng as _, SeedableRng};
use rayon::prelude::*;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::asset::{BulletPool, BulletTerms};
use crate::deal::{Deal, DealState};
use crate::methodology::{Methodology, SimulationTermsFile};
use crate::money::Amount;
use crate::price::{PriceModel, SimPath};
use crate::rating::Scenario;
use crate::rating::market::{self, MarketPool, Tally};
use crate::rating::{RatingError, Rules};
use crate::stress::liquidation::{self, Book, Execution, Impact, MarketParams};
use crate::tape::{AdjustmentRule, PoolLoan, Tape};
use crate::waterfall::{Engine, WaterfallError, WaterfallTerms};

pub use cohort::Grouping;
pub use summary::{NotePath, PathResult};

/// Path `index` of a run seeded `seed` (`run = (seed, index)`: its own ChaCha8 stream): the
/// model's `days` closes from `start` into `path`, then into `moves` the log move `X` over the
/// execution window of `window_days` after a trigger on each day, at that day's volatility, drawn
/// for every day in day order after the prices. A sale's discount below its trigger that day is
/// [`gap`]`(X)` (a day's gap is the same whichever loans sell that day, so cohorts and loans see
/// the same market). `absrate simulate` and `absrate methodology calibrate` both draw their paths
/// here; `simulate` reads the moves of the days with sales only ([`WindowMoves`]), which gives
/// the same numbers.
pub fn draw_path(
    model: &PriceModel,
    start: f64,
    days: usize,
    window_days: f64,
    run: (u64, u64),
    path: &mut SimPath,
    moves: &mut Vec<f64>,
) {
    let mut rng = draw_prices(model, start, days, run, path);
    moves.clear();
    moves.extend(
        path.vol
            .iter()
            .map(|v| model.window_move(*v, window_days, &mut rng)),
    );
}

/// The prices of [`draw_path`]; the stream is returned where the window moves start.
fn draw_prices(
    model: &PriceModel,
    start: f64,
    days: usize,
    run: (u64, u64),
    path: &mut SimPath,
) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(run.0);
    rng.set_stream(run.1);
    model.simulate(start, days, &mut rng, path);
    rng
}

/// The window moves of [`draw_path`], each drawn when a day with sales asks for it: for a model
/// whose window move takes a fixed number of words of the stream
/// ([`PriceModel::window_move_words`]), day `d`'s move starts `d` moves after the first, so the
/// stream is set there (or read forward to it) instead of drawing every day's move. A path sells
/// on a few days of its 365.
pub struct WindowMoves<'p> {
    model: &'p PriceModel,
    vol: &'p [f64],
    window_days: f64,
    rng: &'p mut ChaCha8Rng,
    /// Word position of day 0's move, and the words each move takes.
    first: u128,
    words: u128,
}

impl<'p> WindowMoves<'p> {
    /// The moves of a path whose prices `path` holds and whose stream `rng` stands just after
    /// them; `None` for a model whose moves take a varying number of words (Merton's jumps), to
    /// be drawn day by day.
    fn new(
        model: &'p PriceModel,
        path: &'p SimPath,
        window_days: f64,
        rng: &'p mut ChaCha8Rng,
    ) -> Option<WindowMoves<'p>> {
        Some(WindowMoves {
            model,
            vol: &path.vol,
            window_days,
            first: rng.get_word_pos(),
            words: model.window_move_words()?,
            rng,
        })
    }

    /// Day `day`'s log move over the window (the same number as `draw_path`'s `moves[day]`).
    pub fn at(&mut self, day: u32) -> f64 {
        let target = self.first + self.words * u128::from(day);
        let now = self.rng.get_word_pos();
        match target.checked_sub(now) {
            Some(0) => {}
            // Close ahead (the next days' sales, in day order): read forward inside the buffer.
            Some(ahead) if ahead <= 64 => {
                for _ in 0..ahead {
                    self.rng.next_u32();
                }
            }
            _ => self.rng.set_word_pos(target),
        }
        let v = self.vol.get(day as usize).copied().unwrap_or(f64::NAN);
        self.model.window_move(v, self.window_days, self.rng)
    }
}

/// The discount below the trigger of a sale after the log move `x`: `1 - exp(x)` (negative when
/// the price rose).
pub fn gap(x: f64) -> f64 {
    1.0 - x.exp()
}

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(f64::NAN)
}

/// The paths `--shard I/N` runs: the `I`-th of `N` contiguous slices of `0..paths` (0-based).
pub fn shard_range(paths: u64, shard: u64, shards: u64) -> Range<u64> {
    let at = |i: u64| ((u128::from(paths) * u128::from(i)) / u128::from(shards.max(1))) as u64;
    at(shard)..at(shard + 1)
}

/// Everything a path needs, built once per run.
pub struct Setup<'a> {
    deal: &'a Deal,
    model: &'a PriceModel,
    rules: Rules,
    /// The liquidation engine's positions (with its terms) and how many loans each holds.
    book: Book,
    loan_counts: Vec<u32>,
    start_price: f64,
    days: usize,
    /// Execution window, in days.
    window: f64,
    months: usize,
    /// The period engine's positions at closing.
    pool_loans: Vec<PoolLoan>,
    credited: Decimal,
    bullet: BulletTerms,
    servicing_fee_rate: Decimal,
    /// Payment dates, and years from closing to each.
    dates: Vec<NaiveDate>,
    years: Vec<f64>,
    legal_final_years: f64,
    /// Cut-off balance (principal and accrued interest) and loan count.
    pub pool_balance: f64,
    pub loans: u64,
    /// The scenario of a path without sales and its notes' results (the same on every such
    /// path, so projected once).
    quiet: Option<(Scenario, Vec<NotePath>)>,
    /// The deal's engine at closing in `f64`, copied for each path ([`Setup::project_path`]);
    /// `None` when it cannot be built (each path then reports the error).
    engine: Option<Engine<'a, BulletPool<f64>, f64>>,
}

/// Reusable buffers of one worker.
#[derive(Default)]
pub struct Scratch {
    path: SimPath,
    /// Each day's log move over the execution window after a trigger.
    moves: Vec<f64>,
    work: liquidation::Work,
}

impl<'a> Setup<'a> {
    /// The run's fixed part: the pool as both engines see it, the terms, the model.
    pub fn new(
        deal: &'a Deal,
        m: &'a Methodology,
        tape: &Tape,
        model: &'a PriceModel,
        grouping: Option<Grouping>,
    ) -> Result<Setup<'a>, RatingError> {
        let name = m.name();
        let (Some(facts), Some(sim)) = (&m.market, &m.simulation) else {
            return Err(RatingError::Internal(format!(
                "{name} has no `simulation` section: simulate needs a market-value methodology with one (btc-backed-consumer-loans@2.0.1 or later)"
            )));
        };
        let t: &SimulationTermsFile = &sim.terms;
        let rules = Rules::of(m);
        let pool = MarketPool::from_tape(tape, deal, facts)?;
        let all = pool.loans(f(t.margin_call_answer_share.value));
        let pool_balance: f64 = all.iter().map(|l| l.balance).sum();
        let loans = all.len() as u64;
        let (market_loans, loan_counts) = match grouping {
            Some(g) => cohort::market_cohorts(&all, pool.start_price(), g),
            None => (all.clone(), vec![1; all.len()]),
        };
        let terms = &deal.pool.collateral_terms;
        let params = MarketParams {
            margin_call_ltv: f(terms.margin_call_ltv),
            liquidation_ltv: f(terms.liquidation_ltv),
            cure_ltv: f(facts.cure_ltv.value),
            gap: 0.0,
            lag_days: t.liquidation_lag_days.value,
            slippage: f(t.slippage.value),
            impact: Some(Impact {
                coefficient: f(facts.impact_coefficient.value),
                daily_volatility: f(facts.daily_volatility.value),
                daily_volume_usd: f(facts.daily_volume_usd.value),
                crowding: f(t.crowding.value),
            }),
            balloon: t.balloon_in_margin_call.value,
            execution: Execution::Trigger,
        };
        let adjusted = tape.adjust(
            &crate::rating::valuation(deal),
            &AdjustmentRule {
                obligor_limit: t.obligor_limit.value,
                capitalized_interest_credit: t.capitalized_interest_credit.value,
                top_obligor_defaults: 0,
                highest_ltv_first: t.default_order.value
                    == crate::methodology::DefaultOrder::HighestLtvFirst,
                rounding: m.rounding,
            },
        )?;
        let dates = deal.payment_dates();
        let pool_loans = match grouping {
            Some(g) => cohort::pool_cohorts(&adjusted.loans, &dates, g),
            None => adjusted.loans.clone(),
        };
        let years_of = |d: NaiveDate| (d - deal.closing).num_days() as f64 / 365.25;
        let horizon = facts.horizon_days.value;
        let book = Book::new(market_loans, horizon, params);
        let mut setup = Setup {
            deal,
            model,
            rules,
            loan_counts: book
                .original()
                .iter()
                .map(|i| loan_counts[*i as usize])
                .collect(),
            book,
            start_price: pool.start_price(),
            days: horizon as usize,
            window: f(t.execution_window_hours.value) / 24.0,
            months: market::months(horizon),
            pool_loans,
            credited: adjusted.report.credited_balance,
            bullet: BulletTerms {
                default_amount: Decimal::ZERO,
                default_timing: vec![Decimal::ONE],
                default_order: t.default_order.value,
                recovery_rate: Decimal::ONE,
                recovery_lag_months: t.recovery_lag_months.value,
                interest_cash_share: t.interest_cash_share.value,
                reinvestment_yield: t.reinvestment_yield.value,
                reinvestment_ltv: t.reinvestment_ltv.value,
                cash_drag_months: t.cash_drag_months.value,
                new_loan_term_months: deal.new_loan_term_months,
                rounding: m.rounding,
            },
            servicing_fee_rate: t.servicing_fee_rate.value,
            years: dates.iter().map(|d| years_of(*d)).collect(),
            dates,
            legal_final_years: years_of(deal.legal_final),
            pool_balance,
            loans,
            quiet: None,
            engine: None,
        };
        // A path without sales has this one scenario, and so these results: projected once (if
        // that fails, each such path projects it and reports the error with its index).
        let sc =
            Tally::of(&[], &[], &[], setup.months).scenario(setup.credited, setup.rules.rounding);
        setup.engine = setup.engine::<f64>(&sc).ok();
        setup.quiet = setup.project_path(&sc).ok().map(|notes| (sc, notes));
        Ok(setup)
    }

    /// Positions the liquidation engine walks per path.
    pub fn positions(&self) -> (usize, usize) {
        (self.book.loans().len(), self.pool_loans.len())
    }

    /// One path's sales (the liquidation engine on the model's prices).
    fn sales(&self, seed: u64, index: u64, s: &mut Scratch) -> Tally {
        let mut rng = draw_prices(
            self.model,
            self.start_price,
            self.days,
            (seed, index),
            &mut s.path,
        );
        let touched = match WindowMoves::new(self.model, &s.path, self.window, &mut rng) {
            Some(mut moves) => {
                self.book
                    .run(&s.path.prices, &mut |day| gap(moves.at(day)), &mut s.work)
            }
            None => {
                s.moves.clear();
                s.moves.extend(
                    s.path
                        .vol
                        .iter()
                        .map(|v| self.model.window_move(*v, self.window, &mut rng)),
                );
                let moves = &s.moves;
                self.book.run(
                    &s.path.prices,
                    &mut |day| gap(moves[day as usize]),
                    &mut s.work,
                )
            }
        };
        Tally::of_touched(self.book.loans(), &touched, &self.loan_counts, self.months)
    }

    /// Runs path `index`.
    pub fn run(&self, seed: u64, index: u64, s: &mut Scratch) -> Result<PathResult, RatingError> {
        let tally = self.sales(seed, index, s);
        let sc = tally.scenario(self.credited, self.rules.rounding);
        let notes = match &self.quiet {
            Some((quiet, notes)) if *quiet == sc => notes.clone(),
            _ => self
                .project_path(&sc)
                .map_err(|source| RatingError::Path { index, source })?,
        };
        Ok(PathResult {
            path: index,
            pool_loss: tally.losses,
            liquidated: tally.liquidated_loans,
            sold_principal: tally.sold,
            notes,
        })
    }

    /// The path's scenario through the deal's waterfall, computing in `A`: each note's losses,
    /// largest interest shortfall and weighted average life, in USD and years.
    pub fn project<A: Amount>(&self, sc: &Scenario) -> Result<Vec<NotePath>, WaterfallError> {
        self.notes(self.engine::<A>(sc)?)
    }

    /// [`Setup::project`] in `f64`, as each path runs it: a copy of the engine built at setup,
    /// its pool restated with the path's defaults (the same engine as one built for the path).
    pub fn project_path(&self, sc: &Scenario) -> Result<Vec<NotePath>, WaterfallError> {
        let Some(proto) = &self.engine else {
            return self.project::<f64>(sc);
        };
        let mut e = proto.clone();
        if let Some(pool) = e.unstarted_collateral() {
            pool.restate(&self.bullet_terms(sc));
        }
        self.notes(e)
    }

    /// The pool's terms under `sc`.
    fn bullet_terms(&self, sc: &Scenario) -> BulletTerms {
        BulletTerms {
            default_amount: sc.default_amount,
            default_timing: sc.default_timing.clone(),
            recovery_rate: sc.recovery_rate,
            ..self.bullet.clone()
        }
    }

    /// The deal's engine at closing under `sc`, computing in `A`.
    fn engine<A: Amount>(
        &self,
        sc: &Scenario,
    ) -> Result<Engine<'a, BulletPool<A>, A>, WaterfallError> {
        let r = self.rules.rounding;
        let mut collateral =
            BulletPool::<A>::new(&self.pool_loans, &self.dates, self.bullet_terms(sc));
        let state = DealState::open(self.deal, &mut collateral, r);
        Engine::new(
            self.deal,
            WaterfallTerms {
                servicing_fee_rate: self.servicing_fee_rate,
                rounding: r,
                pass_criteria: self.rules.pass_criteria,
            },
            state,
            collateral,
        )
    }

    /// Each note's results from the engine `e`, run to the end.
    fn notes<A: Amount>(
        &self,
        mut e: Engine<'a, BulletPool<A>, A>,
    ) -> Result<Vec<NotePath>, WaterfallError> {
        let r = self.rules.rounding;
        let usd = |x: A| f(x.to_money(r));
        let n = self.deal.notes.len();
        let mut before: Vec<A> = e.state().note_balances.clone();
        let (mut paid, mut weighted) = (vec![0.0f64; n], vec![0.0f64; n]);
        while let Some(t) = e.advance()? {
            let years = self.years[(t - 1) as usize];
            for (k, b) in e.state().note_balances.iter().enumerate() {
                if *b != before[k] {
                    let x = usd(before[k] - *b);
                    paid[k] += x;
                    weighted[k] += x * years;
                    before[k] = *b;
                }
            }
        }
        let st = e.state();
        Ok((0..n)
            .map(|k| NotePath {
                principal_loss: usd(st.note_balances[k]),
                interest_loss: usd(st.interest_carried[k]),
                max_interest_shortfall: usd(st.records[k].max_shortfall),
                wal_years: if paid[k] > 0.0 {
                    weighted[k] / paid[k]
                } else {
                    self.legal_final_years
                },
            })
            .collect())
    }

    /// Path `index`'s scenario (its sales, as the period engine takes them).
    pub fn scenario(&self, seed: u64, index: u64, s: &mut Scratch) -> Scenario {
        self.sales(seed, index, s)
            .scenario(self.credited, self.rules.rounding)
    }

    /// Runs the paths `range`, in parallel; results in path order. `tick` is called once per
    /// path done (for a progress bar).
    pub fn run_range(
        &self,
        seed: u64,
        range: Range<u64>,
        tick: &(dyn Fn() + Sync),
    ) -> Result<Vec<PathResult>, RatingError> {
        range
            .into_par_iter()
            .map_init(Scratch::default, |s, i| {
                let r = self.run(seed, i, s);
                tick();
                r
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methodology::Registry;
    use crate::price::Gbm;
    use crate::rating::market::Tally;
    use std::path::Path;

    fn bundled() -> (Deal, Methodology, Tape) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let deal = Deal::load(&root.join("pools/ledn-2026-1/deal.yaml")).expect("deal");
        let m = Registry::new(root.join("methodology"))
            .resolve("btc-backed-consumer-loans@2.0.1")
            .expect("methodology");
        let tape = Tape::read(&deal.pool.tape).expect("tape");
        (deal, m, tape)
    }

    /// A GBM without volatility is a deterministic path, `start x exp(mu t)`: the simulation's
    /// sales on it are exactly those of the liquidation engine on that path, with the constant
    /// gap the window's drift gives (`1 - exp(mu w)`), and so is the scenario.
    #[test]
    fn a_gbm_without_volatility_reproduces_the_deterministic_path_exactly() {
        let (deal, m, tape) = bundled();
        // Half the price gone in 120 days, then on down at the same rate.
        let mu = 0.5f64.ln() / 120.0;
        let model = PriceModel::Gbm(Gbm { mu, sigma: 0.0 });
        let setup = Setup::new(&deal, &m, &tape, &model, None).expect("setup");
        let start = setup.start_price;
        let prices: Vec<f64> = (0..=setup.days)
            .map(|t| start * (mu * t as f64).exp())
            .collect();
        let mut s = Scratch::default();
        let simulated = setup.sales(1, 0, &mut s);
        assert_eq!(s.path.prices, prices);
        let params = MarketParams {
            gap: 1.0 - (mu * setup.window).exp(),
            ..setup.book.params().clone()
        };
        let outcomes = liquidation::run(setup.book.loans(), &prices, &params);
        let deterministic = Tally::of(
            setup.book.loans(),
            &outcomes,
            &setup.loan_counts,
            setup.months,
        );
        assert_eq!(simulated, deterministic);
        assert!(deterministic.liquidated_loans > 1000.0, "{deterministic:?}");
        // Any seed and path index: no randomness is left.
        assert_eq!(setup.sales(99, 7, &mut s), deterministic);
        assert_eq!(
            setup.scenario(5, 3, &mut s),
            deterministic.scenario(setup.credited, setup.rules.rounding)
        );
    }

    /// The moves `simulate` draws only on days with sales are the moves `draw_path` draws for
    /// every day, bit for bit, whichever days are asked for (far apart, adjacent, the same day
    /// twice, going back), for each model with a fixed-size move; Merton's are drawn day by day.
    #[test]
    fn window_moves_drawn_on_demand_are_those_of_every_day() {
        use crate::price::{Bootstrap, GarchT, Merton, StartVariance};
        let returns: Vec<f64> = (0..500)
            .map(|i| ((i * 37 % 101) as f64 - 50.0) / 1e3)
            .collect();
        let models = [
            PriceModel::Gbm(Gbm {
                mu: -0.001,
                sigma: 0.04,
            }),
            PriceModel::GarchT(GarchT {
                mu: 0.0005,
                omega: 2e-5,
                alpha: 0.1,
                beta: 0.85,
                nu: 4.0,
                start: StartVariance::Unconditional,
            }),
            PriceModel::Bootstrap(Bootstrap::new(returns, 20.0)),
        ];
        let (days, w) = (365, 1.0 / 6.0);
        let (mut path, mut eager) = (SimPath::default(), Vec::new());
        for model in &models {
            for index in 0..20u64 {
                draw_path(model, 100.0, days, w, (7, index), &mut path, &mut eager);
                let mut lazy_path = SimPath::default();
                let mut rng = draw_prices(model, 100.0, days, (7, index), &mut lazy_path);
                assert_eq!(lazy_path, path);
                let Some(mut lazy) = WindowMoves::new(model, &lazy_path, w, &mut rng) else {
                    panic!("{model:?} has fixed-size moves");
                };
                let step = 1 + index as usize * 7;
                let mut asked: Vec<u32> = (0..=days as u32).step_by(step).collect();
                asked.extend([3, 4, 4, 5, 40, 365, 0, 200, 201]);
                for d in asked {
                    assert_eq!(
                        lazy.at(d).to_bits(),
                        eager[d as usize].to_bits(),
                        "{model:?} path {index} day {d}"
                    );
                }
            }
        }
        let merton = PriceModel::Merton(Merton {
            mu: 0.0,
            sigma: 0.03,
            lambda: 0.05,
            jump_mean: -0.05,
            jump_sd: 0.1,
        });
        assert_eq!(merton.window_move_words(), None);
    }

    /// The simulation's waterfall in `f64` agrees with the exact `Decimal` engine on its own
    /// paths (and the copy of the engine built at setup with an engine built for the path, to
    /// the bit): every note's losses and largest interest shortfall within a cent, its life
    /// within a day, over 50 random paths of the bundled model under harsh terms of sale (a day's move
    /// before each sale, 30% slippage): the 50 with the largest pool losses of 1,000, so that
    /// losses reach the notes.
    #[test]
    fn the_f64_and_decimal_waterfalls_agree_on_simulated_paths() {
        let (deal, mut m, tape) = bundled();
        let sim = m.simulation.as_mut().expect("a simulation section");
        sim.terms.execution_window_hours.value = Decimal::from(24);
        sim.terms.slippage.value = Decimal::new(30, 2);
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let model = crate::price::ModelLookup::new(None, root)
            .resolve("btc-garch-t@1.0.0")
            .expect("model")
            .model;
        let setup = Setup::new(&deal, &m, &tape, &model, Some(Grouping::DEFAULT)).expect("setup");
        let mut s = Scratch::default();
        let mut worst: Vec<(f64, u64)> = (0..1000)
            .map(|i| (setup.sales(20261121, i, &mut s).losses, i))
            .collect();
        worst.sort_by(|a, b| b.0.total_cmp(&a.0));
        let (mut losing, mut short, mut pool) = (0, 0, 0);
        for &(_, i) in &worst[..50] {
            let tally = setup.sales(20261121, i, &mut s);
            pool += usize::from(tally.losses > 0.0);
            let sc = tally.scenario(setup.credited, setup.rules.rounding);
            let fast = setup.project::<f64>(&sc).expect("f64");
            let exact = setup.project::<Decimal>(&sc).expect("Decimal");
            // What a path runs: the engine built at setup, its pool restated for the path.
            assert_eq!(setup.project_path(&sc).expect("f64"), fast, "path {i}");
            for (a, b) in fast.iter().zip(&exact) {
                assert!(
                    (a.principal_loss - b.principal_loss).abs() <= 0.01,
                    "path {i}: {a:?} {b:?}"
                );
                assert!(
                    (a.interest_loss - b.interest_loss).abs() <= 0.01,
                    "path {i}: {a:?} {b:?}"
                );
                assert!(
                    (a.max_interest_shortfall - b.max_interest_shortfall).abs() <= 0.01,
                    "path {i}: {a:?} {b:?}"
                );
                assert!(
                    (a.wal_years - b.wal_years).abs() < 1.0 / 365.0,
                    "path {i}: {a:?} {b:?}"
                );
                losing += usize::from(b.principal_loss > 0.0);
                short += usize::from(b.max_interest_shortfall > 0.0);
            }
        }
        assert!(
            pool == 50 && losing >= 5 && short >= 5,
            "paths with pool losses {pool}, note losses {losing}, shortfalls {short}"
        );
    }

    /// A path without sales takes the results projected once at setup: the same as projecting
    /// its scenario (a rising GBM without volatility sells nothing), and a path with sales
    /// projects its own.
    #[test]
    fn a_path_without_sales_has_the_results_of_its_scenario() {
        let (deal, m, tape) = bundled();
        let model = PriceModel::Gbm(Gbm {
            mu: 0.001,
            sigma: 0.0,
        });
        let setup = Setup::new(&deal, &m, &tape, &model, None).expect("setup");
        let mut s = Scratch::default();
        let quiet = setup.run(1, 0, &mut s).expect("path");
        assert_eq!(quiet.sold_principal, 0.0);
        let sc = setup.scenario(1, 0, &mut s);
        assert_eq!(quiet.notes, setup.project::<f64>(&sc).expect("f64"));
        assert_eq!(setup.quiet.as_ref().map(|q| &q.0), Some(&sc));
        let falling = PriceModel::Gbm(Gbm {
            mu: 0.5f64.ln() / 120.0,
            sigma: 0.0,
        });
        let setup = Setup::new(&deal, &m, &tape, &falling, None).expect("setup");
        let sold = setup.run(1, 0, &mut s).expect("path");
        let sc = setup.scenario(1, 0, &mut s);
        assert!(sold.sold_principal > 0.0);
        assert_eq!(sold.notes, setup.project::<f64>(&sc).expect("f64"));
        assert_ne!(sold.notes, setup.quiet.as_ref().expect("quiet").1);
    }

    #[test]
    fn shards_cover_every_path_once() {
        for (paths, shards) in [(10, 3), (100_000, 4), (5, 8), (0, 2)] {
            let mut next = 0;
            for i in 0..shards {
                let r = shard_range(paths, i, shards);
                assert_eq!(r.start, next);
                next = r.end;
            }
            assert_eq!(next, paths);
        }
    }
}
