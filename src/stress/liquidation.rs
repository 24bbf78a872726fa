//! The liquidation engine: a daily BTC price path applied to a pool, loan by loan.
//!
//! This is simulation, so it is `f64` (style.md); the amounts it hands to the period engine (and
//! `replay` to its report) are rounded to cents there. Day 0 is tested like every other day. For
//! each loan it finds the days its LTV is at or above the margin-call level but below the
//! liquidation level: each is a margin call, which the borrower answers (adding BTC back to the
//! cure LTV) or not; a borrower who does not answer is called once. The first day the LTV is at or
//! above the liquidation level the collateral is sold (no call that day: a loan can go straight
//! past both levels). The sale's reference price ([`Execution`]): under `Trigger`, the price at
//! the moment the LTV reached the liquidation level, the prices between two closes taken to move
//! continuously (intraday monitoring): the trigger price when the price fell through it during the
//! day (the trigger is at or below the previous close), the previous close when the trigger rose
//! above it overnight with a day's interest, and the day's price on day 0, the first price seen;
//! so a sale is never priced above the market. Under `Close`, the day's close. After `lag_days`
//! days the sale takes the lower of that reference and that day's price, less the gap and the
//! slippage. A sale at the trigger price yields `balance x (1 - gap) x (1 - slippage) /
//! liquidation LTV` directly. Interest accrues (simple, actual/365), so a loan's trigger prices
//! rise over time.
//!
//! **Crossings.** A naive engine walks every loan through every day (days x loans). Here a sparse
//! table of path minima (`Minima`) answers "the first day from `t` on which the price is at or
//! below `x`" in O(log days), so the work is O(days log days) once per path plus O(log days) per
//! event of each loan: sorting the loans' trigger prices against the running minimum of the path,
//! generalized to triggers that move (accrual, top-ups). [`run_naive`] is the day-by-day loop
//! kept as the reference: tests and `benches/market.rs` check both give the same outcomes.

use serde::Serialize;

/// One loan as the engine sees it, amounts in USD.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarketLoan {
    /// Balance owed at day 0 (principal plus accrued interest).
    pub balance: f64,
    /// Principal at day 0 (the part the period engine counts).
    pub principal: f64,
    /// Annual interest rate; interest accrues on `principal`, simple, actual/365.
    pub rate: f64,
    pub btc: f64,
    /// Day of the balloon maturity, counted from day 0 (may lie beyond the path).
    pub maturity_day: u32,
    /// Whether this borrower answers margin calls.
    pub answers: bool,
}

impl MarketLoan {
    /// Balance owed on `day`: day 0 balance plus simple interest on the principal, actual/365.
    pub fn balance_at(&self, day: u32) -> f64 {
        self.balance + self.principal * self.rate * f64::from(day) / 365.0
    }
}

/// What a borrower in margin call does at the balloon date.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Balloon {
    /// Repays in full (refinances elsewhere or sells other assets): the exposure ends.
    Repay,
    /// The loan is renewed for another term with interest capitalized: the exposure continues.
    RollOver,
    /// Walks away: the collateral is sold that day like a liquidation.
    Default,
}

/// Market impact of the pool's own sales: `coefficient x daily_volatility x
/// sqrt(sold that day / daily_volume) x crowding`, added to the fixed slippage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Impact {
    pub coefficient: f64,
    pub daily_volatility: f64,
    pub daily_volume_usd: f64,
    pub crowding: f64,
}

/// The price a liquidation is taken at on its trigger day (before lag, gap and slippage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Execution {
    /// At the trigger price (intraday monitoring); at the previous close when interest lifted
    /// the trigger above it, at the day's price on day 0 (docs/replay.md).
    Trigger,
    /// At the day's closing price.
    Close,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarketParams {
    pub margin_call_ltv: f64,
    pub liquidation_ltv: f64,
    /// LTV a borrower who answers a margin call restores by adding BTC.
    pub cure_ltv: f64,
    /// Fall from the reference price to the sale (intraday move daily data cannot see).
    pub gap: f64,
    /// Days from the trigger to the sale (0: the same day, at the trigger price).
    pub lag_days: u32,
    /// Fixed slippage on every sale.
    pub slippage: f64,
    pub impact: Option<Impact>,
    pub balloon: Balloon,
    pub execution: Execution,
}

/// How a loan ended.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum End {
    /// Still outstanding at the end of the path.
    Outstanding,
    /// Repaid at its balloon date.
    Repaid { day: u32 },
    /// Collateral sold.
    Liquidated(Sale),
}

/// A liquidation (or a walk-away at the balloon date).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sale {
    /// Day the trigger was reached.
    pub trigger_day: u32,
    /// Day of the sale (`trigger_day + lag`, within the path).
    pub sale_day: u32,
    /// Balance owed at the trigger.
    pub balance: f64,
    pub btc: f64,
    /// Price before gap and slippage.
    pub reference_price: f64,
    /// Price after gap and slippage.
    pub execution_price: f64,
    pub proceeds: f64,
    /// Balance / proceeds.
    pub execution_ltv: f64,
    pub loss: f64,
    /// Proceeds above the balance, returned to the borrower.
    pub surplus: f64,
    /// True for a walk-away at the balloon date rather than a margin liquidation.
    pub at_balloon: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Outcome {
    /// Margin calls received: days at or above the margin-call LTV and below the liquidation
    /// LTV (a borrower who does not answer is called once). The sale day is not a call.
    pub margin_calls: u32,
    /// Calls answered (each adding BTC back to the cure LTV).
    pub answered: u32,
    pub btc_added: f64,
    /// Collateral at the end of the path, or at the sale.
    pub btc: f64,
    pub end: End,
}

impl Outcome {
    /// No call, no sale yet.
    fn untouched(l: &MarketLoan) -> Outcome {
        Outcome {
            margin_calls: 0,
            answered: 0,
            btc_added: 0.0,
            btc: l.btc,
            end: End::Outstanding,
        }
    }
}

/// Range minima of a path: level `k` holds `min(p[i .. i + 2^k])` for each start `i`, the
/// levels one after another in one table (level `k` at `k x n`, `n` the path's length).
#[derive(Default)]
pub struct Minima {
    table: Vec<f64>,
    n: usize,
    depth: usize,
}

impl Minima {
    pub fn new(prices: &[f64]) -> Minima {
        let mut m = Minima::default();
        m.rebuild(prices);
        m
    }

    /// The minima of `prices`, reusing this table's memory (one per worker in a simulation).
    pub fn rebuild(&mut self, prices: &[f64]) {
        let n = prices.len();
        let mut depth = 1;
        while (1usize << depth) <= n {
            depth += 1;
        }
        self.n = n;
        self.depth = depth;
        self.table.clear();
        self.table.resize(depth * n, f64::INFINITY);
        self.table[..n].copy_from_slice(prices);
        for k in 1..depth {
            let width = 1usize << (k - 1);
            let (done, rest) = self.table.split_at_mut(k * n);
            let prev = &done[(k - 1) * n..];
            for (i, x) in rest[..=n - 2 * width].iter_mut().enumerate() {
                *x = prev[i].min(prev[i + width]);
            }
        }
    }

    /// The minimum of the `2^k` days from `i` (`i + 2^k <= n`).
    #[inline]
    fn block(&self, k: usize, i: usize) -> f64 {
        self.table[k * self.n + i]
    }

    pub fn prices(&self) -> &[f64] {
        &self.table[..self.n]
    }

    /// The lowest price of the whole path.
    pub fn min_all(&self) -> f64 {
        if self.n == 0 {
            return f64::INFINITY;
        }
        let k = self.depth - 1;
        self.block(k, 0).min(self.block(k, self.n - (1 << k)))
    }

    /// The first day in `from ..= to` on which `price <= a + c x day` (a threshold rising with
    /// accrued interest, `c >= 0`). An exponential search over the blocks of the table: a block
    /// of `2^k` days is skipped when its minimum is above the highest threshold inside it (the
    /// one on its last day); after a skip the next block tried is twice as wide, after a block
    /// that cannot be skipped half as wide, down to the single day, which is then the crossing.
    /// The work is O(log distance to the crossing), whatever the threshold's slope.
    fn first_below_rising(&self, from: u32, to: u32, a: f64, c: f64) -> Option<u32> {
        let p = self.prices();
        let to = (to as usize).min(p.len().checked_sub(1)?);
        let top = self.depth - 1;
        let (mut i, mut k) = (from as usize, 0usize);
        while i <= to {
            let end = i + (1usize << k) - 1;
            if end <= to && self.block(k, i) > a + c * end as f64 {
                i = end + 1;
                k = (k + 1).min(top);
            } else if k == 0 {
                // A single day inside the range that cannot be skipped: its price is at or
                // below its threshold.
                return Some(i as u32);
            } else {
                k -= 1;
            }
        }
        None
    }

    /// The lowest price of days `l ..= r` (`l <= r`, within the path), in O(1): two blocks of
    /// the table that cover the range.
    fn range_min(&self, l: usize, r: usize) -> f64 {
        let k = (usize::BITS - 1 - (r - l + 1).leading_zeros()) as usize;
        self.block(k, l).min(self.block(k, r + 1 - (1 << k)))
    }

    /// [`Minima::first_below_rising`] started at `hint`, a guess of the answer (another loan's
    /// crossing with a threshold close to this one): when no day in `from .. hint` can be at or
    /// below the threshold (the range's minimum is above its highest threshold, one O(1) check),
    /// the search starts at `hint` instead of `from`. The answer is the same either way.
    fn first_below_from(&self, from: u32, to: u32, a: f64, c: f64, hint: u32) -> Option<u32> {
        let last = u32::try_from(self.prices().len().checked_sub(1)?).ok()?;
        let to = to.min(last);
        if from > to || self.range_min(from as usize, to as usize) > a + c * f64::from(to) {
            return None;
        }
        if hint > from
            && hint <= to
            && self.range_min(from as usize, hint as usize - 1) > a + c * f64::from(hint - 1)
        {
            return self.first_below_rising(hint, to, a, c);
        }
        self.first_below_rising(from, to, a, c)
    }

    /// Whether some day in `from ..= to` has `price <= a + c x day` (`c >= 0`), without
    /// finding the first: the range's lowest price above its highest threshold (the last day's)
    /// says no, at or below its lowest (the first day's) yes, each in O(1); a range between the
    /// two is split in halves, each tested alike. The band between the two thresholds narrows
    /// with the range, so few ranges are split.
    fn any_below(&self, from: u32, to: u32, a: f64, c: f64) -> bool {
        let Some(last) = self.prices().len().checked_sub(1) else {
            return false;
        };
        let to = to.min(u32::try_from(last).unwrap_or(u32::MAX));
        if from > to {
            return false;
        }
        let low = self.range_min(from as usize, to as usize);
        if low > a + c * f64::from(to) {
            return false;
        }
        if low <= a + c * f64::from(from) || from == to {
            return true;
        }
        let mid = from + (to - from) / 2;
        self.any_below(from, mid, a, c) || self.any_below(mid + 1, to, a, c)
    }
}

/// Guesses of the next crossing for [`Minima::first_below_from`], carried from one loan to the
/// next when loans are walked in order of their trigger prices (a simulation's [`Book`]): the
/// previous sale of a loan that does not answer, and the previous answering loan's calls.
#[derive(Default)]
struct Hints {
    sale: u32,
    /// The previous answering loan's `k`-th call (calls after these start without a guess).
    answered: [u32; 8],
}

/// The trigger prices of a loan with `btc` BTC: price at or below `a + c x day` means the LTV
/// is at or above `ltv`.
fn threshold(l: &MarketLoan, btc: f64, ltv: f64) -> (f64, f64) {
    let per_day = l.principal * l.rate / 365.0;
    (l.balance / (btc * ltv), per_day / (btc * ltv))
}

/// A loan's liquidation and margin-call prices with `btc` BTC, each `a + c x day`.
#[derive(Debug, Clone, Copy)]
struct Triggers {
    la: f64,
    lc: f64,
    ma: f64,
    mc: f64,
}

impl Triggers {
    fn of(l: &MarketLoan, btc: f64, p: &MarketParams) -> Triggers {
        let (la, lc) = threshold(l, btc, p.liquidation_ltv);
        let (ma, mc) = threshold(l, btc, p.margin_call_ltv);
        Triggers { la, lc, ma, mc }
    }

    /// The margin-call price on day `last`, the highest on a path of `last + 1` days. A path whose
    /// lowest price is above it never calls nor sells the loan: it repays at its balloon date, or
    /// is still outstanding.
    fn highest_call(&self, last: u32) -> f64 {
        self.ma + self.mc * f64::from(last)
    }
}

/// The balloon date: what a loan still outstanding does there.
enum AtBalloon {
    Sell,
    Roll,
    Repay,
}

fn at_balloon(l: &MarketLoan, btc: f64, t: u32, price: f64, p: &MarketParams) -> AtBalloon {
    let in_call = l.balance_at(t) >= p.margin_call_ltv * btc * price;
    match (in_call, p.balloon) {
        (true, Balloon::Default) => AtBalloon::Sell,
        (true, Balloon::RollOver) => AtBalloon::Roll,
        _ => AtBalloon::Repay,
    }
}

/// One loan through the path, crossings found on the range minima. The rules, day by day, are
/// those of [`run_naive`]: at or below the liquidation price the collateral is sold; else at or
/// below the margin-call price the borrower is called (and answers, or not); then, on the
/// balloon date, the loan repays, rolls over or is sold (`Balloon`, for a loan in margin call).
fn walk(l: &MarketLoan, m: &Minima, p: &MarketParams) -> (Outcome, Option<Pending>) {
    let last = (m.prices().len() - 1) as u32;
    let first = Triggers::of(l, l.btc, p);
    let mut o = Outcome::untouched(l);
    if m.min_all() > first.highest_call(last) {
        if l.maturity_day <= last {
            o.end = End::Repaid {
                day: l.maturity_day,
            };
        }
        return (o, None);
    }
    let s = walk_reached(l, m, p, first, &mut Hints::default(), &mut o);
    (o, s)
}

/// [`walk`] for a loan the path reaches, its outcome written into `o` (untouched on entry); the
/// sale, if any, returned to be priced.
fn walk_reached(
    l: &MarketLoan,
    m: &Minima,
    p: &MarketParams,
    first: Triggers,
    h: &mut Hints,
    o: &mut Outcome,
) -> Option<Pending> {
    let prices = m.prices();
    let last = (prices.len() - 1) as u32;
    let mut from = 0u32;
    let mut maturity = l.maturity_day;
    // The triggers of the loan's BTC at day 0, then after each top-up.
    let mut triggers = first;
    loop {
        let until = maturity.min(last);
        let btc = o.btc;
        let Triggers { la, lc, ma, mc } = triggers;
        let trigger = |t: u32| la + lc * f64::from(t);
        if from <= until {
            if l.answers {
                // Each call is answered: the liquidation can only come on a day the price falls
                // through both triggers at once (and that day is not a call).
                let k = o.answered as usize;
                let hint = h.answered.get(k).copied().unwrap_or(0);
                if let Some(t) = m.first_below_from(from, until, ma, mc, hint) {
                    if let Some(x) = h.answered.get_mut(k) {
                        *x = t;
                    }
                    if prices[t as usize] <= trigger(t) {
                        return Some(Pending::sale(l, btc, t, trigger(t), prices, p));
                    }
                    o.margin_calls += 1;
                    o.answered += 1;
                    let needed = l.balance_at(t) / (p.cure_ltv * prices[t as usize]);
                    if needed > btc {
                        o.btc_added += needed - btc;
                        o.btc = needed;
                        triggers = Triggers::of(l, needed, p);
                    }
                    from = t + 1;
                    continue;
                }
            } else {
                // Called once, on the first day in the call band before the sale. The liquidation
                // price is below the call price on every day, so the sale (the first day at or
                // below the liquidation price) never comes before the first call: the sale is
                // searched first, then whether a call came before it, which a range-minimum
                // check answers in O(1) in most cases (`Minima::any_below`).
                let sale = m.first_below_from(from, until, la, lc, h.sale);
                let before_sale = match sale {
                    Some(t) => t.checked_sub(1).filter(|end| *end >= from),
                    None => Some(until),
                };
                if before_sale.is_some_and(|end| m.any_below(from, end, ma, mc)) {
                    o.margin_calls = 1;
                }
                if let Some(t) = sale {
                    h.sale = t;
                    return Some(Pending::sale(l, btc, t, trigger(t), prices, p));
                }
            }
        }
        if maturity > last {
            return None;
        }
        let t = maturity;
        match at_balloon(l, btc, t, prices[t as usize], p) {
            AtBalloon::Sell => return Some(Pending::balloon(l, btc, t, prices[t as usize])),
            AtBalloon::Roll => {
                maturity = u32::MAX;
                from = from.max(t + 1);
            }
            AtBalloon::Repay => {
                o.end = End::Repaid { day: t };
                return None;
            }
        }
    }
}

/// A sale decided but not yet priced (slippage depends on everything sold that day).
#[derive(Debug, Clone, Copy)]
struct Pending {
    trigger_day: u32,
    balance: f64,
    btc: f64,
    /// The reference price on the trigger day: the trigger price, or the day's close.
    reference: f64,
    /// True when `reference` is the trigger price (proceeds then come from the balance).
    at_trigger: bool,
    at_balloon: bool,
}

impl Pending {
    /// A liquidation on day `t`, whose trigger price that day is `trigger_price` (see
    /// [`Execution`] and the module documentation for the reference price).
    fn sale(
        l: &MarketLoan,
        btc: f64,
        t: u32,
        trigger_price: f64,
        prices: &[f64],
        p: &MarketParams,
    ) -> Pending {
        let t_ = t as usize;
        let (reference, at_trigger) = match p.execution {
            Execution::Close => (prices[t_], false),
            Execution::Trigger if t == 0 => (prices[0], false),
            Execution::Trigger if trigger_price <= prices[t_ - 1] => (trigger_price, true),
            Execution::Trigger => (prices[t_ - 1], false),
        };
        Pending {
            trigger_day: t,
            balance: l.balance_at(t),
            btc,
            reference,
            at_trigger,
            at_balloon: false,
        }
    }

    /// A walk-away at the balloon date `t`, sold at the day's price.
    fn balloon(l: &MarketLoan, btc: f64, t: u32, price: f64) -> Pending {
        Pending {
            trigger_day: t,
            balance: l.balance_at(t),
            btc,
            reference: price,
            at_trigger: false,
            at_balloon: true,
        }
    }
}

/// Memory a simulation worker reuses from path to path: the range minima, the decisions and the
/// day totals of [`settle`], and the outcomes of [`Book::run`].
#[derive(Default)]
pub struct Work {
    minima: Minima,
    /// The decisions, then the outcomes, of the loans a path reached.
    slots: Vec<(Outcome, Option<Pending>)>,
    sold: Vec<f64>,
    gaps: Vec<f64>,
}

/// The loans a path reached and their outcomes ([`Book::run`]).
pub struct Touched<'w> {
    slots: &'w [(Outcome, Option<Pending>)],
}

impl<'w> Touched<'w> {
    /// Each loan reached (its place in the book) and its outcome, in the book's order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &'w Outcome)> + use<'w> {
        self.slots
            .iter()
            .enumerate()
            .map(|(i, (o, _))| (i as u32, o))
    }
}

/// Prices the sales: lag, gap, fixed slippage and the pool's own impact per sale day. `gap_of`
/// gives the gap of the sales on a day; it is asked once per day with sales, in day order. Each
/// outcome is written back in place; `sold` and `gaps` are scratch.
fn settle(
    prices: &[f64],
    p: &MarketParams,
    decided: &mut [(Outcome, Option<Pending>)],
    sold: &mut Vec<f64>,
    gaps: &mut Vec<f64>,
    gap_of: &mut dyn FnMut(u32) -> f64,
) {
    let last = prices.len() - 1;
    let sale_day = |s: &Pending| (s.trigger_day as usize + p.lag_days as usize).min(last);
    // Whether the sale is at the trigger-day reference (else at the lower price of the sale day).
    let at_reference =
        |s: &Pending| s.at_balloon || p.lag_days == 0 || s.reference <= prices[sale_day(s)];
    let reference = |s: &Pending| {
        if at_reference(s) {
            s.reference
        } else {
            prices[sale_day(s)]
        }
    };
    sold.clear();
    sold.resize(prices.len(), 0.0);
    for s in decided.iter().filter_map(|(_, s)| s.as_ref()) {
        sold[sale_day(s)] += s.btc * reference(s);
    }
    gaps.clear();
    gaps.extend(
        sold.iter()
            .enumerate()
            .map(|(day, v)| if *v > 0.0 { gap_of(day as u32) } else { 0.0 }),
    );
    for (o, s) in decided.iter_mut() {
        let Some(s) = s else { continue };
        let day = sale_day(s);
        let impact = p.impact.map_or(0.0, |i| {
            i.coefficient
                * i.daily_volatility
                * (sold[day] / i.daily_volume_usd).sqrt()
                * i.crowding
        });
        let slip = (p.slippage + impact).min(0.99);
        let reference_price = reference(s);
        let gap = gaps[day];
        let execution_price = reference_price * (1.0 - gap) * (1.0 - slip);
        // At the trigger price, btc x price is balance / liquidation LTV: computed from the
        // balance directly, so no rounding of the trigger price reaches the proceeds.
        let proceeds = if s.at_trigger && at_reference(s) {
            s.balance * (1.0 - gap) * (1.0 - slip) / p.liquidation_ltv
        } else {
            s.btc * execution_price
        };
        let repaid = proceeds.min(s.balance);
        o.end = End::Liquidated(Sale {
            trigger_day: s.trigger_day,
            sale_day: day as u32,
            balance: s.balance,
            btc: s.btc,
            reference_price,
            execution_price,
            proceeds,
            execution_ltv: s.balance / proceeds,
            loss: s.balance - repaid,
            surplus: proceeds - repaid,
            at_balloon: s.at_balloon,
        });
    }
}

/// The loans of a pool made ready for many paths of the same length (a simulation): each loan's
/// highest margin-call price on such a path, so that a path passes over every loan it cannot
/// reach with one comparison.
pub struct Book {
    /// The loans in the book's order: highest margin-call price on the path's last day first.
    loans: Vec<MarketLoan>,
    /// Each loan's index in the list the book was made from.
    original: Vec<u32>,
    /// Each loan's highest margin-call price (non-increasing).
    highest_call: Vec<f64>,
    /// Each loan's triggers at day 0.
    triggers: Vec<Triggers>,
    params: MarketParams,
}

impl Book {
    /// `loans` on paths of `days + 1` prices (day 0 to day `days`) under `params`, put in the
    /// book's order (ties in their given order).
    pub fn new(loans: Vec<MarketLoan>, days: u32, params: MarketParams) -> Book {
        let mut order: Vec<(f64, u32, Triggers)> = loans
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let t = Triggers::of(l, l.btc, &params);
                (t.highest_call(days), i as u32, t)
            })
            .collect();
        order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        Book {
            loans: order
                .iter()
                .map(|(_, i, _)| loans[*i as usize].clone())
                .collect(),
            original: order.iter().map(|(_, i, _)| *i).collect(),
            highest_call: order.iter().map(|(h, _, _)| *h).collect(),
            triggers: order.iter().map(|(_, _, t)| *t).collect(),
            params,
        }
    }

    /// The loans, in the book's order.
    pub fn loans(&self) -> &[MarketLoan] {
        &self.loans
    }

    /// For each loan in the book's order, its index in the list the book was made from.
    pub fn original(&self) -> &[u32] {
        &self.original
    }

    pub fn params(&self) -> &MarketParams {
        &self.params
    }

    /// The loans the path `prices` (of the book's length) reaches, with their outcomes, in the
    /// book's order: every loan it calls or sells is listed; a loan left out is never called nor
    /// sold (repaid at its balloon date or still outstanding). Each listed outcome is the one
    /// [`run_with_gaps`] gives that loan, but for the last bits of a sale under market impact: a
    /// day's sales are added up in the book's order, not the list's.
    ///
    /// The loans a path can reach are those whose highest margin-call price is at or above the
    /// path's lowest price: the first loans of the book, found by one binary search. They are
    /// walked in order, each search starting from the previous loan's crossing ([`Hints`]).
    pub fn run<'w>(
        &self,
        prices: &[f64],
        gap_of: &mut dyn FnMut(u32) -> f64,
        w: &'w mut Work,
    ) -> Touched<'w> {
        let mut reached = 0;
        if !prices.is_empty() {
            let m = &mut w.minima;
            m.rebuild(prices);
            let low = m.min_all();
            // As `walk` decides (a loan is passed over when the lowest price is above its highest
            // call price).
            reached = self
                .highest_call
                .partition_point(|top| low.partial_cmp(top) != Some(std::cmp::Ordering::Greater));
            if w.slots.len() < self.loans.len() {
                w.slots = self
                    .loans
                    .iter()
                    .map(|l| (Outcome::untouched(l), None))
                    .collect();
            }
            let mut hints = Hints::default();
            for ((l, t), (o, sale)) in self.loans[..reached]
                .iter()
                .zip(&self.triggers)
                .zip(w.slots.iter_mut())
            {
                *o = Outcome::untouched(l);
                *sale = walk_reached(l, m, &self.params, *t, &mut hints, o);
            }
            settle(
                prices,
                &self.params,
                &mut w.slots[..reached],
                &mut w.sold,
                &mut w.gaps,
                gap_of,
            );
        }
        Touched {
            slots: &w.slots[..reached],
        }
    }
}

/// Every loan through the path `prices` (USD per BTC, day 0 first).
pub fn run(loans: &[MarketLoan], prices: &[f64], p: &MarketParams) -> Vec<Outcome> {
    if prices.is_empty() {
        return Vec::new();
    }
    let m = Minima::new(prices);
    run_on(loans, &m, p)
}

/// [`run`] on a path whose minima are already built.
pub fn run_on(loans: &[MarketLoan], m: &Minima, p: &MarketParams) -> Vec<Outcome> {
    run_with_gaps(loans, m, p, &mut |_| p.gap)
}

/// [`run_on`] with the gap of each day's sales given by `gap_of(day)` instead of the constant
/// `p.gap`: a simulated path's own move between trigger and sale. `gap_of` is called once per day
/// with sales, in day order, so a random draw inside it is reproducible.
pub fn run_with_gaps(
    loans: &[MarketLoan],
    m: &Minima,
    p: &MarketParams,
    gap_of: &mut dyn FnMut(u32) -> f64,
) -> Vec<Outcome> {
    let decided = loans.iter().map(|l| walk(l, m, p));
    settle_all(m.prices(), p, decided, gap_of)
}

/// [`settle`] for every loan of a pool, in loan order.
fn settle_all(
    prices: &[f64],
    p: &MarketParams,
    decided: impl Iterator<Item = (Outcome, Option<Pending>)>,
    gap_of: &mut dyn FnMut(u32) -> f64,
) -> Vec<Outcome> {
    let mut decided: Vec<_> = decided.collect();
    settle(
        prices,
        p,
        &mut decided,
        &mut Vec::new(),
        &mut Vec::new(),
        gap_of,
    );
    decided.into_iter().map(|(o, _)| o).collect()
}

/// The reference engine: every loan checked on every day. Same rules, same results as [`run`].
pub fn run_naive(loans: &[MarketLoan], prices: &[f64], p: &MarketParams) -> Vec<Outcome> {
    if prices.is_empty() {
        return Vec::new();
    }
    let last = (prices.len() - 1) as u32;
    let decided = loans.iter().map(|l| {
        let mut o = Outcome::untouched(l);
        let mut maturity = l.maturity_day;
        for t in 0..=last {
            let price = prices[t as usize];
            let btc = o.btc;
            let (la, lc) = threshold(l, btc, p.liquidation_ltv);
            let (ma, mc) = threshold(l, btc, p.margin_call_ltv);
            let tf = f64::from(t);
            if price <= la + lc * tf {
                return (o, Some(Pending::sale(l, btc, t, la + lc * tf, prices, p)));
            }
            if price <= ma + mc * tf {
                if l.answers {
                    o.margin_calls += 1;
                    o.answered += 1;
                    let needed = l.balance_at(t) / (p.cure_ltv * price);
                    if needed > btc {
                        o.btc_added += needed - btc;
                        o.btc = needed;
                    }
                } else {
                    o.margin_calls = 1;
                }
            }
            if t == maturity {
                match at_balloon(l, o.btc, t, price, p) {
                    AtBalloon::Sell => {
                        return (o, Some(Pending::balloon(l, o.btc, t, price)));
                    }
                    AtBalloon::Roll => maturity = u32::MAX,
                    AtBalloon::Repay => {
                        o.end = End::Repaid { day: t };
                        return (o, None);
                    }
                }
            }
        }
        (o, None)
    });
    settle_all(prices, p, decided, &mut |_| p.gap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(execution: Execution) -> MarketParams {
        MarketParams {
            margin_call_ltv: 0.70,
            liquidation_ltv: 0.80,
            cure_ltv: 0.50,
            gap: 0.0,
            lag_days: 0,
            slippage: 0.0,
            impact: None,
            balloon: Balloon::RollOver,
            execution,
        }
    }

    fn loan(balance: f64, rate: f64, answers: bool) -> MarketLoan {
        MarketLoan {
            balance,
            principal: balance,
            rate,
            btc: 1.0,
            maturity_day: u32::MAX,
            answers,
        }
    }

    /// Both engines, which must agree.
    fn both(loans: &[MarketLoan], prices: &[f64], p: &MarketParams) -> Vec<Outcome> {
        let fast = run(loans, prices, p);
        assert_eq!(fast, run_naive(loans, prices, p));
        fast
    }

    fn sale(o: &Outcome) -> Sale {
        match o.end {
            End::Liquidated(s) => s,
            other => panic!("expected a sale, got {other:?}"),
        }
    }

    const PATH: [f64; 4] = [100_000.0, 100_000.0, 90_000.0, 60_000.0];

    #[test]
    fn a_loan_past_its_trigger_on_day_0_sells_at_day_0s_price_uncalled() {
        let o = both(
            &[loan(250_000.0, 0.0, false)],
            &PATH,
            &params(Execution::Trigger),
        );
        let s = sale(&o[0]);
        assert_eq!(
            (s.trigger_day, s.reference_price, s.proceeds),
            (0, 100_000.0, 100_000.0)
        );
        assert_eq!(o[0].margin_calls, 0);
    }

    #[test]
    fn a_trigger_lifted_above_the_previous_close_by_interest_sells_at_that_close() {
        // 79,990 at 36.5%: 79.99 a day; day 1 owes 80,069.99, trigger 100,087.49 > 100,000:
        // the LTV reached 80% at the day's start, at the previous close.
        let l = [loan(79_990.0, 0.365, false)];
        let o = both(&l, &[100_000.0, 90_000.0], &params(Execution::Trigger));
        let s = sale(&o[0]);
        assert_eq!((s.trigger_day, s.reference_price), (1, 100_000.0));
        assert_eq!(o[0].margin_calls, 1);
        let o = both(&l, &[100_000.0, 90_000.0], &params(Execution::Close));
        assert_eq!(sale(&o[0]).reference_price, 90_000.0);
    }

    #[test]
    fn a_fall_through_the_trigger_sells_at_the_trigger_or_at_the_close() {
        let l = [loan(68_000.0, 0.0, false), loan(60_000.0, 0.0, false)];
        let o = both(&l, &PATH, &params(Execution::Trigger));
        assert_eq!(sale(&o[0]).proceeds, 85_000.0);
        assert_eq!(sale(&o[1]).proceeds, 75_000.0);
        // Called on day 2 (75.6%); the other goes from 66.7% straight past 80% on day 3.
        assert_eq!((o[0].margin_calls, o[1].margin_calls), (1, 0));
        let o = both(&l, &PATH, &params(Execution::Close));
        assert_eq!(sale(&o[0]).proceeds, 60_000.0);
        assert_eq!(sale(&o[1]).proceeds, 60_000.0);
    }

    #[test]
    fn an_answering_borrower_sold_on_a_straight_fall_has_no_call_that_day() {
        // Answers on day 0 (79.99%), back to 50%; day 3 goes from 55.7% to 83.6%.
        let o = both(
            &[loan(79_990.0, 0.365, true)],
            &PATH,
            &params(Execution::Trigger),
        );
        assert_eq!((o[0].margin_calls, o[0].answered), (1, 1));
        assert_eq!(sale(&o[0]).trigger_day, 3);
        assert_eq!(o[0].btc, sale(&o[0]).btc);
    }
}
