//! The deal: dates, notes, accounts, fees, triggers and the priority of payments as data.
//!
//! `pools/<name>/deal.yaml` is read strictly (unknown keys are located errors) into a wire struct,
//! then checked into a [`Deal`]: every class the notes name is paid interest and principal by the
//! amortizing waterfall, every step names a class or account that exists and appears once in its
//! phase, class names are plain (letters, digits, `-`, `_`, `.`), dates run in order. Each error
//! names the file and its own key, and the line of a note or step. Documented field by field in
//! `docs/deal.md`.

use std::path::{Path, PathBuf};

use chrono::{Months, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::limits::{self, Written};
use crate::methodology::Notch;
use crate::pool::{PoolError, PoolFile};

pub mod opening;
pub mod state;

use crate::yaml::{self, YamlError};
pub use opening::Opening;
pub use state::{DealState, NoteRecord, Phase};

#[derive(Debug, thiserror::Error)]
pub enum DealError {
    #[error(transparent)]
    Yaml(#[from] YamlError),

    #[error(transparent)]
    Pool(#[from] PoolError),

    /// A rule of `docs/deal.md` broken; located (line, column) where the value is a list item.
    #[error("{}{}: {field}: {message}", path.display(), location.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        location: Option<(usize, usize)>,
        /// `trustee_fee`, `notes[2].class`, `waterfall.revolving[3]`, ...
        field: String,
        message: String,
    },
}

fn invalid(path: &Path, field: &str, message: impl Into<String>) -> DealError {
    DealError::Invalid {
        path: path.to_path_buf(),
        location: None,
        field: field.to_string(),
        message: message.into(),
    }
}

/// Where the parser found a value, when it knows.
fn located<T>(s: &Spanned<T>) -> Option<(usize, usize)> {
    let l = s.referenced;
    (l.line() > 0).then(|| (l.line() as usize, l.column() as usize))
}

/// A number with the reason it was chosen (published fact or assumption).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sourced<T> {
    pub value: T,
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Seniority {
    Senior,
    Subordinate,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct CouponWire {
    /// Benchmark rate (annual); the coupon is benchmark + spread.
    benchmark: Sourced<Written>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteWire {
    class: String,
    balance: Sourced<Written>,
    seniority: Seniority,
    /// Fixed annual coupon, or `spread` over the deal's benchmark: exactly one.
    #[serde(default)]
    fixed_coupon: Option<Sourced<Written>>,
    #[serde(default)]
    spread: Option<Sourced<Written>>,
    rating_published: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct DatesWire {
    closing: NaiveDate,
    first_payment: NaiveDate,
    legal_final: Sourced<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReserveWire {
    /// Target as a share of the outstanding note balance.
    target_share: Sourced<Decimal>,
    /// Classes whose interest shortfalls the reserve covers, in order.
    covers: Vec<Spanned<String>>,
    /// What `target_share` is a share of: the outstanding notes (the default) or the initial
    /// pool (a non-declining reserve; issue 16).
    #[serde(default)]
    basis: Option<Sourced<ReserveBasis>>,
}

/// What a reserve's target is a share of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReserveBasis {
    /// The outstanding note balance at the start of the period: the target declines.
    #[default]
    Notes,
    /// The pool balance at closing: a fixed target (non-declining), never above the notes.
    InitialPool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevolvingWire {
    months: Sourced<u32>,
    /// Term of loans bought while revolving.
    new_loan_term_months: Sourced<u32>,
    /// The terms new loans are made on (`absrate replay --monthly-reports`).
    #[serde(default)]
    new_loans: Option<NewLoansWire>,
}

/// `revolving.new_loans` as written: each term with its source.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewLoansWire {
    ltv: Spanned<Sourced<Written>>,
    interest_rate: Spanned<Sourced<Written>>,
    loan_size: Spanned<Sourced<Written>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggersWire {
    /// Early amortization when cumulative defaults exceed this share of the initial pool.
    cumulative_default_ratio: Sourced<Decimal>,
    /// Early amortization when the reserve stays below its target after the top-up.
    reserve_below_target: Sourced<bool>,
}

/// One step of a priority of payments. Read from a deal file as a [`StepWire`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "pay", rename_all = "snake_case")]
pub enum Step {
    /// Servicing and trustee fees due this period.
    Fees,
    /// Interest due (and any unpaid interest carried) on a class.
    Interest { class: String },
    /// Bring the reserve account up to its target.
    ReserveTopUp,
    /// Principal of a class, as much as is available up to its balance.
    Principal { class: String },
    /// Move the period's principal collections to the reinvestment account (revolving only).
    Reinvest,
    /// Whatever is left, to the residual holder. Must be last.
    Residual,
}

/// A step as written: `pay`, and `class` for `interest` and `principal`. Read through this
/// struct rather than as a tagged enum, whose unit variants would take `{ pay: fees, class: A }`
/// and ignore the class: here a class where none belongs is an error, as a missing one is.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepWire {
    pay: Pay,
    #[serde(default)]
    class: Option<String>,
}

/// What a step pays (`pay:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Pay {
    Fees,
    Interest,
    ReserveTopUp,
    Principal,
    Reinvest,
    Residual,
}

impl StepWire {
    /// The step, or why it is not one.
    fn step(&self) -> Result<Step, String> {
        let name = match self.pay {
            Pay::Fees => "fees",
            Pay::Interest => "interest",
            Pay::ReserveTopUp => "reserve_top_up",
            Pay::Principal => "principal",
            Pay::Reinvest => "reinvest",
            Pay::Residual => "residual",
        };
        match (self.pay, &self.class) {
            (Pay::Interest, Some(c)) => Ok(Step::Interest { class: c.clone() }),
            (Pay::Principal, Some(c)) => Ok(Step::Principal { class: c.clone() }),
            (Pay::Interest | Pay::Principal, None) => {
                Err(format!("`{{ pay: {name} }}` needs the `class` it pays"))
            }
            (_, Some(c)) => Err(format!(
                "`{{ pay: {name} }}` pays no class: remove `class: {c}`"
            )),
            (Pay::Fees, None) => Ok(Step::Fees),
            (Pay::ReserveTopUp, None) => Ok(Step::ReserveTopUp),
            (Pay::Reinvest, None) => Ok(Step::Reinvest),
            (Pay::Residual, None) => Ok(Step::Residual),
        }
    }
}

/// The step as it is written in a deal file: `{ pay: interest, class: A }`.
impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Fees => write!(f, "{{ pay: fees }}"),
            Step::Interest { class } => write!(f, "{{ pay: interest, class: {class} }}"),
            Step::ReserveTopUp => write!(f, "{{ pay: reserve_top_up }}"),
            Step::Principal { class } => write!(f, "{{ pay: principal, class: {class} }}"),
            Step::Reinvest => write!(f, "{{ pay: reinvest }}"),
            Step::Residual => write!(f, "{{ pay: residual }}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct WaterfallWire {
    revolving: Vec<Spanned<StepWire>>,
    amortizing: Vec<Spanned<StepWire>>,
}

/// An agency's published stress at one level, as written (`published_stress:`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishedStressWire {
    agency: String,
    level: Notch,
    #[serde(default)]
    default_rate: Option<Sourced<Written>>,
    #[serde(default)]
    recovery_rate: Option<Sourced<Written>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct DealWire {
    name: String,
    /// The methodology id rated against by default (its newest version).
    methodology: String,
    /// The pool file (cut-off, tape, collateral terms), relative to the deal file.
    pool: PathBuf,
    dates: DatesWire,
    cash_at_closing: Sourced<Written>,
    coupon: CouponWire,
    notes: Vec<Spanned<NoteWire>>,
    reserve: ReserveWire,
    /// Annual fee of trustee, custodian and administrator, USD.
    trustee_fee: Sourced<Written>,
    revolving: RevolvingWire,
    triggers: TriggersWire,
    waterfall: WaterfallWire,
    /// What the rating agency published of its own stress, for the rationale's comparison.
    #[serde(default)]
    published_stress: Option<PublishedStressWire>,
    /// The deal's state at closing when it is not a new deal's (a deal rated from a servicer
    /// report).
    #[serde(default)]
    opening: Option<opening::OpeningWire>,
    // Amortizing auto-loan deals (issue 16): each section optional, absent in a BTC deal.
    #[serde(default)]
    auto_loans: Option<AutoLoansWire>,
    #[serde(default)]
    overcollateralization: Option<OcWire>,
    #[serde(default)]
    clean_up_call: Option<CleanUpCallWire>,
    #[serde(default)]
    floating_index: Option<FloatingWire>,
}

// ---- Amortizing auto-loan deals (issue 16) ----------------------------------------------------

/// `auto_loans:` the deal's collateral is amortizing auto loans, with the agency's base case.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct AutoLoansWire {
    /// The agency's base-case (expected) cumulative net loss, share of the initial pool.
    expected_cnl: Sourced<Written>,
    /// Share of a defaulted balance recovered in the base case.
    recovery_rate: Sourced<Written>,
    /// Annual servicing fee, share of the pool balance.
    servicing_fee_rate: Sourced<Written>,
    /// The speed the notes were priced at (ABS, monthly share of the original count).
    pricing_abs_speed: Sourced<Written>,
}

/// `overcollateralization:` a target reached by paying principal from excess spread (turbo).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct OcWire {
    /// Target, share of the pool balance at the end of the period.
    target_share: Sourced<Written>,
    /// Floor, share of the initial pool balance.
    floor_share: Sourced<Written>,
    /// The target is `target_share` of the pool less the reserve's target (AmeriCredit's form).
    #[serde(default)]
    net_of_reserve: Option<Sourced<bool>>,
}

/// `clean_up_call:` the servicer may buy the pool back once it is this small.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct CleanUpCallWire {
    /// Share of the initial pool balance at or below which the call may be exercised.
    pool_share: Sourced<Written>,
}

/// `floating_index:` classes paying an index plus their `spread`, along a stated index path.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct FloatingWire {
    /// The index's name, as reports print it (`one-month LIBOR`).
    name: String,
    /// Classes paying the index plus their `spread` (instead of `coupon.benchmark` plus it).
    classes: Vec<Spanned<String>>,
    /// The index for payment dates 1, 2, ...; the last value holds afterwards.
    path: Sourced<Vec<Written>>,
}

/// The collateral and base case of an auto-loan deal (`auto_loans:` in the deal file).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AutoLoanTerms {
    pub expected_cnl: Decimal,
    pub expected_cnl_source: String,
    pub recovery_rate: Decimal,
    pub recovery_rate_source: String,
    pub servicing_fee_rate: Decimal,
    pub pricing_abs_speed: Decimal,
}

/// An overcollateralization target: `max(target_share x pool [- reserve target], floor_share x
/// initial pool)`, never above the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OcTarget {
    pub target_share: Decimal,
    pub floor_share: Decimal,
    pub net_of_reserve: bool,
}

/// Floating-rate classes and the index path they pay over.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FloatingIndex {
    pub name: String,
    /// Index rate for payment dates 1, 2, ...; the last holds afterwards. Never empty.
    pub path: Vec<Decimal>,
    /// (note position, spread) of each floating class.
    pub spreads: Vec<(usize, Decimal)>,
}

impl FloatingIndex {
    /// The index in period `t` (1-based).
    pub fn at(&self, t: u32) -> Decimal {
        let i = (t.max(1) as usize - 1).min(self.path.len() - 1);
        self.path[i]
    }
}

/// A share within [0, 1], named by its key.
fn share_of(p: &Path, field: &str, w: &Sourced<Written>) -> Result<Decimal, DealError> {
    let v = w.value.rate().map_err(|e| invalid(p, field, e))?;
    if v > Decimal::ONE {
        return Err(invalid(p, field, format!("must be within [0, 1], got {v}")));
    }
    Ok(v)
}

/// The auto-loan sections of a deal file, checked.
struct AutoSections {
    auto_loans: Option<AutoLoanTerms>,
    overcollateralization: Option<OcTarget>,
    clean_up_call: Option<Decimal>,
    floating: Option<FloatingIndex>,
    reserve_basis: ReserveBasis,
}

fn auto_sections(p: &Path, w: &DealWire, notes: &[Note]) -> Result<AutoSections, DealError> {
    let auto_loans = match &w.auto_loans {
        None => None,
        Some(a) => Some(AutoLoanTerms {
            expected_cnl: share_of(p, "auto_loans.expected_cnl", &a.expected_cnl)?,
            expected_cnl_source: a.expected_cnl.source.clone(),
            recovery_rate: {
                let r = share_of(p, "auto_loans.recovery_rate", &a.recovery_rate)?;
                if r >= Decimal::ONE {
                    return Err(invalid(
                        p,
                        "auto_loans.recovery_rate",
                        "must be below 1: a net loss needs a gross default to come from",
                    ));
                }
                r
            },
            recovery_rate_source: a.recovery_rate.source.clone(),
            servicing_fee_rate: share_of(
                p,
                "auto_loans.servicing_fee_rate",
                &a.servicing_fee_rate,
            )?,
            pricing_abs_speed: share_of(p, "auto_loans.pricing_abs_speed", &a.pricing_abs_speed)?,
        }),
    };
    let overcollateralization = match &w.overcollateralization {
        None => None,
        Some(o) => Some(OcTarget {
            target_share: share_of(p, "overcollateralization.target_share", &o.target_share)?,
            floor_share: share_of(p, "overcollateralization.floor_share", &o.floor_share)?,
            net_of_reserve: o.net_of_reserve.as_ref().is_some_and(|n| n.value),
        }),
    };
    let clean_up_call = w
        .clean_up_call
        .as_ref()
        .map(|c| share_of(p, "clean_up_call.pool_share", &c.pool_share))
        .transpose()?;
    let floating = match &w.floating_index {
        None => None,
        Some(f) => {
            if f.path.value.is_empty() {
                return Err(invalid(
                    p,
                    "floating_index.path",
                    "needs at least one rate (the last holds afterwards)",
                ));
            }
            let path = f
                .path
                .value
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let v = r
                        .rate()
                        .map_err(|e| invalid(p, &format!("floating_index.path[{}]", i + 1), e))?;
                    if v > Decimal::ONE {
                        return Err(invalid(
                            p,
                            &format!("floating_index.path[{}]", i + 1),
                            format!("must be within [0, 1], got {v}"),
                        ));
                    }
                    Ok(v)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut spreads = Vec::new();
            for (i, c) in f.classes.iter().enumerate() {
                let at = |message: String| DealError::Invalid {
                    path: p.to_path_buf(),
                    location: located(c),
                    field: format!("floating_index.classes[{}]", i + 1),
                    message,
                };
                let Some(k) = notes.iter().position(|n| n.class == c.value) else {
                    return Err(at(format!("unknown class `{}`", c.value)));
                };
                let Some(spread) = w.notes[k].value.spread.as_ref() else {
                    return Err(at(format!(
                        "class `{}` has a fixed coupon: a floating class states its `spread`",
                        c.value
                    )));
                };
                let s = spread.value.rate().map_err(at)?;
                if spreads.iter().any(|(j, _)| *j == k) {
                    return Err(at(format!("class `{}` is listed twice", c.value)));
                }
                spreads.push((k, s));
            }
            Some(FloatingIndex {
                name: f.name.clone(),
                path,
                spreads,
            })
        }
    };
    Ok(AutoSections {
        auto_loans,
        overcollateralization,
        clean_up_call,
        floating,
        reserve_basis: w
            .reserve
            .basis
            .as_ref()
            .map(|b| b.value)
            .unwrap_or_default(),
    })
}

/// The stress a rating agency published for the deal at one level (S&P on Ledn 2026-1: 79%
/// default and 68% recovery at 'BBB-'). absrate does not rate with it: the rationale sets each
/// note's result against it (`docs/deal.md`).
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedStress {
    /// Who published it, as the rationale names it (`S&P`); the deal's published ratings are
    /// taken to be this agency's.
    pub agency: String,
    pub level: Notch,
    /// Cumulative default rate, share of the pool, with its source.
    pub default_rate: Option<Sourced<Decimal>>,
    /// Share of a defaulted balance recovered, with its source.
    pub recovery_rate: Option<Sourced<Decimal>>,
}

/// The terms on which the deal makes new loans while it revolves (`revolving.new_loans`), each
/// with its source: what `absrate replay --monthly-reports` buys with the cash it redeploys.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLoanTerms {
    /// LTV at origination: collateral is `loan_size / (ltv x price)` BTC on the day of purchase.
    pub ltv: Sourced<Decimal>,
    /// Annual interest rate.
    pub interest_rate: Sourced<Decimal>,
    /// Principal of each new loan, USD.
    pub loan_size: Sourced<Decimal>,
}

/// A note class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    pub class: String,
    pub balance: Decimal,
    pub seniority: Seniority,
    /// Annual coupon (benchmark + spread, or fixed).
    pub coupon: Decimal,
    pub rating_published: Option<String>,
}

/// A validated deal.
#[derive(Debug, Clone, PartialEq)]
pub struct Deal {
    pub path: PathBuf,
    pub name: String,
    pub methodology: String,
    pub pool: PoolFile,
    pub closing: NaiveDate,
    pub first_payment: NaiveDate,
    pub legal_final: NaiveDate,
    pub cash_at_closing: Decimal,
    pub notes: Vec<Note>,
    pub reserve_target_share: Decimal,
    pub reserve_covers: Vec<String>,
    pub trustee_fee: Decimal,
    pub revolving_months: u32,
    pub new_loan_term_months: u32,
    /// `revolving.new_loans`, when the deal file states them.
    pub new_loans: Option<NewLoanTerms>,
    pub cumulative_default_trigger: Decimal,
    pub reserve_trigger: bool,
    pub revolving_steps: Vec<Step>,
    pub amortizing_steps: Vec<Step>,
    pub published_stress: Option<PublishedStress>,
    /// The state the deal opens with when it is not a new deal's; `None`: a new deal
    /// ([`DealState::at_closing`]).
    pub opening: Option<Opening>,
    // Amortizing auto-loan deals (issue 16): absent (`None`, `Notes`) in a BTC deal.
    /// The collateral is amortizing auto loans, with the agency's base case.
    pub auto_loans: Option<AutoLoanTerms>,
    /// Principal is paid only down to this target (turbo until it is reached).
    pub overcollateralization: Option<OcTarget>,
    /// Share of the initial pool at or below which the pool may be called; whether a rating
    /// assumes the call is the methodology's choice.
    pub clean_up_call: Option<Decimal>,
    pub floating: Option<FloatingIndex>,
    pub reserve_basis: ReserveBasis,
}

impl Deal {
    /// The deal's expected cumulative net loss (zero if the deal has none: not an auto deal).
    pub fn expected_cnl(&self) -> Decimal {
        self.auto_loans
            .as_ref()
            .map(|a| a.expected_cnl)
            .unwrap_or_default()
    }

    /// Monthly payment dates from the first payment to the legal final maturity, inclusive.
    pub fn payment_dates(&self) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        let mut k = 0;
        while let Some(d) = self.first_payment.checked_add_months(Months::new(k)) {
            if d > self.legal_final {
                break;
            }
            out.push(d);
            k += 1;
        }
        out
    }

    pub fn note_total(&self) -> Decimal {
        self.notes.iter().map(|n| n.balance).sum()
    }

    /// Checks cash at closing, USD: not negative, below absrate's limit on money
    /// ([`limits::MONEY_MAX`]). The one check of it, for the deal file's `cash_at_closing` and
    /// for `rate --cash-at-closing`; the caller names the value.
    pub fn check_cash_at_closing(cash: Decimal) -> Result<Decimal, String> {
        Written::exact(cash).money(false)
    }

    pub fn load(path: &Path) -> Result<Deal, DealError> {
        let w: DealWire = yaml::load(path)?;
        let dir = path.parent().unwrap_or(Path::new(""));
        // The pool file cannot be opened: the deal's `pool` key is what is wrong. Its contents'
        // errors name the pool file and their own keys.
        let pool = PoolFile::load(&dir.join(&w.pool)).map_err(|e| match e {
            PoolError::Yaml(YamlError::Read { message, .. }) => invalid(
                path,
                "pool",
                format!("{}: cannot read: {message}", w.pool.display()),
            ),
            e => e.into(),
        })?;
        let p = path;
        if w.dates.closing < pool.cutoff.date {
            return Err(invalid(
                p,
                "dates.closing",
                "must not be before the pool's cut-off date",
            ));
        }
        if w.dates.first_payment <= w.dates.closing {
            return Err(invalid(
                p,
                "dates.first_payment",
                "must be after the closing date",
            ));
        }
        if w.dates.legal_final.value <= w.dates.first_payment {
            return Err(invalid(
                p,
                "dates.legal_final",
                "must be after the first payment date",
            ));
        }
        let unit = |v: Decimal| v >= Decimal::ZERO && v <= Decimal::ONE;
        // The benchmark is checked once, before the notes that add their spreads to it.
        let benchmark = w
            .coupon
            .benchmark
            .value
            .rate()
            .map_err(|e| invalid(p, "coupon.benchmark", e))?;
        if w.notes.is_empty() {
            return Err(invalid(p, "notes", "a deal needs at least one note"));
        }
        let mut notes: Vec<Note> = Vec::new();
        for (i, sn) in w.notes.iter().enumerate() {
            let n = &sn.value;
            // Each note's errors name its key within the note, `notes[2].balance`, at its line.
            let at = |key: &str, message: String| DealError::Invalid {
                path: p.to_path_buf(),
                location: located(sn),
                field: format!("notes[{}]{key}", i + 1),
                message,
            };
            check_class_name(&n.class).map_err(|e| at(".class", e))?;
            if let Some(first) = notes.iter().position(|x| x.class == n.class) {
                return Err(at(
                    ".class",
                    format!(
                        "class `{}` is listed twice (first as notes[{}])",
                        n.class,
                        first + 1
                    ),
                ));
            }
            let balance = n.balance.value.money(true).map_err(|e| at(".balance", e))?;
            let coupon = match (&n.fixed_coupon, &n.spread) {
                (Some(c), None) => {
                    let c = c.value.rate().map_err(|e| at(".fixed_coupon", e))?;
                    if !unit(c) {
                        return Err(at(
                            ".fixed_coupon",
                            format!("must be within [0, 1], got {c}"),
                        ));
                    }
                    c
                }
                (None, Some(s)) => {
                    let s = s.value.rate().map_err(|e| at(".spread", e))?;
                    // Both within [0, 10]: the sum is a decimal.
                    let c = benchmark + s;
                    if !unit(c) {
                        return Err(at(
                            ".spread",
                            format!(
                                "the coupon, coupon.benchmark {benchmark} + spread {s} = {c}, must be within [0, 1]"
                            ),
                        ));
                    }
                    c
                }
                _ => {
                    return Err(at(
                        "",
                        "give exactly one of `fixed_coupon` and `spread`".into(),
                    ));
                }
            };
            notes.push(Note {
                class: n.class.clone(),
                balance,
                seniority: n.seniority,
                coupon,
                rating_published: n.rating_published.clone(),
            });
        }
        if let Some(pos) = notes
            .iter()
            .position(|n| n.seniority == Seniority::Subordinate)
            && notes[pos..]
                .iter()
                .any(|n| n.seniority == Seniority::Senior)
        {
            return Err(invalid(
                p,
                "notes",
                "list senior classes before subordinate ones",
            ));
        }
        if !unit(w.reserve.target_share.value) {
            return Err(invalid(
                p,
                "reserve.target_share",
                format!(
                    "must be within [0, 1], got {}",
                    w.reserve.target_share.value
                ),
            ));
        }
        let class_list = notes
            .iter()
            .map(|n| n.class.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        for (i, c) in w.reserve.covers.iter().enumerate() {
            let at = |message: String| DealError::Invalid {
                path: p.to_path_buf(),
                location: located(c),
                field: format!("reserve.covers[{}]", i + 1),
                message,
            };
            if !notes.iter().any(|n| n.class == c.value) {
                return Err(at(format!(
                    "unknown class `{}` (classes: {class_list})",
                    c.value
                )));
            }
            if let Some(first) = w.reserve.covers[..i]
                .iter()
                .position(|x| x.value == c.value)
            {
                return Err(at(format!(
                    "class `{}` repeats reserve.covers[{}]",
                    c.value,
                    first + 1
                )));
            }
        }
        let cash_at_closing = w
            .cash_at_closing
            .value
            .money(false)
            .map_err(|e| invalid(p, "cash_at_closing", e))?;
        let trustee_fee = w
            .trustee_fee
            .value
            .money(false)
            .map_err(|e| invalid(p, "trustee_fee", e))?;
        if !unit(w.triggers.cumulative_default_ratio.value) {
            return Err(invalid(
                p,
                "triggers.cumulative_default_ratio",
                format!(
                    "must be within [0, 1], got {}",
                    w.triggers.cumulative_default_ratio.value
                ),
            ));
        }
        for (key, months) in [
            ("revolving.months", w.revolving.months.value),
            (
                "revolving.new_loan_term_months",
                w.revolving.new_loan_term_months.value,
            ),
        ] {
            if months > limits::MONTHS_MAX {
                return Err(invalid(
                    p,
                    key,
                    format!(
                        "must be at most {} {}, got {months}",
                        limits::MONTHS_MAX,
                        limits::CITE
                    ),
                ));
            }
        }
        if w.revolving.new_loan_term_months.value == 0 {
            return Err(invalid(p, "revolving.new_loan_term_months", "must be > 0"));
        }
        let revolving_steps = phase_steps(p, true, &w.waterfall.revolving, &notes)?;
        let amortizing_steps = phase_steps(p, false, &w.waterfall.amortizing, &notes)?;
        let auto = auto_sections(p, &w, &notes)?;
        let new_loans = w
            .revolving
            .new_loans
            .map(|n| new_loan_terms(p, n, &pool))
            .transpose()?;
        if auto.auto_loans.is_some() != (pool.asset_class == crate::pool::AssetClass::AutoLoans) {
            return Err(invalid(
                p,
                "auto_loans",
                format!(
                    "the deal {} an `auto_loans` section but its pool is `asset_class: {}`",
                    if auto.auto_loans.is_some() {
                        "has"
                    } else {
                        "has no"
                    },
                    pool.asset_class.name()
                ),
            ));
        }
        let published_stress = w
            .published_stress
            .map(|s| published_stress(p, s))
            .transpose()?;
        let opening = w
            .opening
            .map(|o| opening::check(p, o, &notes, w.revolving.months.value))
            .transpose()?;
        Ok(Deal {
            path: path.to_path_buf(),
            name: w.name,
            methodology: w.methodology,
            pool,
            closing: w.dates.closing,
            first_payment: w.dates.first_payment,
            legal_final: w.dates.legal_final.value,
            cash_at_closing,
            notes,
            reserve_target_share: w.reserve.target_share.value,
            reserve_covers: w.reserve.covers.into_iter().map(|c| c.value).collect(),
            trustee_fee,
            revolving_months: w.revolving.months.value,
            new_loan_term_months: w.revolving.new_loan_term_months.value,
            new_loans,
            cumulative_default_trigger: w.triggers.cumulative_default_ratio.value,
            reserve_trigger: w.triggers.reserve_below_target.value,
            revolving_steps,
            amortizing_steps,
            published_stress,
            opening,
            auto_loans: auto.auto_loans,
            overcollateralization: auto.overcollateralization,
            clean_up_call: auto.clean_up_call,
            floating: auto.floating,
            reserve_basis: auto.reserve_basis,
        })
    }
}

/// Checks `revolving.new_loans`: an LTV above 0 and below the pool's margin-call LTV (a loan
/// made at or above it would be called the day it is made), a rate as a loan tape holds it
/// (at least 0, below 1), a loan size of money above 0 in whole cents. Each error is located at
/// its key.
fn new_loan_terms(p: &Path, w: NewLoansWire, pool: &PoolFile) -> Result<NewLoanTerms, DealError> {
    let at = |s: &Spanned<Sourced<Written>>, key: &str, message: String| DealError::Invalid {
        path: p.to_path_buf(),
        location: located(s),
        field: format!("revolving.new_loans.{key}"),
        message,
    };
    let sourced = |s: &Spanned<Sourced<Written>>, value: Decimal| Sourced {
        value,
        source: s.value.source.clone(),
    };
    let call = pool.collateral_terms.margin_call_ltv;
    let ltv = w.ltv.value.value.rate().map_err(|e| at(&w.ltv, "ltv", e))?;
    if ltv <= Decimal::ZERO || ltv >= call {
        return Err(at(
            &w.ltv,
            "ltv",
            format!(
                "must be above 0 and below the pool's margin-call LTV {call} (a loan made at it would be called the day it is made), got {ltv}"
            ),
        ));
    }
    let rate = w
        .interest_rate
        .value
        .value
        .rate()
        .map_err(|e| at(&w.interest_rate, "interest_rate", e))?;
    if rate >= Decimal::ONE {
        return Err(at(
            &w.interest_rate,
            "interest_rate",
            format!("must be below 1 (a share: 0.118 is 11.8%), got {rate}"),
        ));
    }
    let size = w
        .loan_size
        .value
        .value
        .money(true)
        .map_err(|e| at(&w.loan_size, "loan_size", e))?;
    if size.round_dp(2) != size {
        return Err(at(
            &w.loan_size,
            "loan_size",
            format!("must be in whole cents, got {size}"),
        ));
    }
    Ok(NewLoanTerms {
        ltv: sourced(&w.ltv, ltv),
        interest_rate: sourced(&w.interest_rate, rate),
        loan_size: sourced(&w.loan_size, size),
    })
}

/// Checks `published_stress`: an agency named, at least one rate, each rate a share.
fn published_stress(p: &Path, w: PublishedStressWire) -> Result<PublishedStress, DealError> {
    if w.agency.trim().is_empty() {
        return Err(invalid(
            p,
            "published_stress.agency",
            "must name the agency (e.g. S&P)",
        ));
    }
    let share = |key: &str, r: Option<Sourced<Written>>| -> Result<_, DealError> {
        let Some(r) = r else { return Ok(None) };
        let field = format!("published_stress.{key}");
        let v = r.value.rate().map_err(|e| invalid(p, &field, e))?;
        if v > Decimal::ONE {
            return Err(invalid(
                p,
                &field,
                format!("must be within [0, 1], got {v}"),
            ));
        }
        Ok(Some(Sourced {
            value: v,
            source: r.source,
        }))
    };
    let default_rate = share("default_rate", w.default_rate)?;
    let recovery_rate = share("recovery_rate", w.recovery_rate)?;
    if default_rate.is_none() && recovery_rate.is_none() {
        return Err(invalid(
            p,
            "published_stress",
            "give the published `default_rate`, `recovery_rate` or both",
        ));
    }
    Ok(PublishedStress {
        agency: w.agency,
        level: w.level,
        default_rate,
        recovery_rate,
    })
}

/// Checks a class name: letters, digits, `-`, `_` and `.` (ASCII), at most 32 of them.
///
/// A class name heads columns of `cashflows.csv` and the workbook (`interest_paid_A`), is typed
/// in `--expect A=BBB-` and appears in reports: a comma, a quote, `=`, a space or a line break
/// would break one of them, so they are refused at load rather than escaped in each.
fn check_class_name(name: &str) -> Result<(), String> {
    const MAX: usize = 32;
    if name.is_empty() {
        return Err("a class needs a name (letters, digits, `-`, `_` and `.`)".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "`{}` has {c:?}: a class name may hold only letters, digits, `-`, `_` and `.` (it heads columns of cashflows.csv)",
            name.escape_debug()
        ));
    }
    if name.len() > MAX {
        return Err(format!(
            "`{name}` is {} characters long: a class name has at most {MAX}",
            name.len()
        ));
    }
    Ok(())
}

/// Checks the priority of payments of one phase, revolving or amortizing (`docs/deal.md`,
/// Rules), and returns its steps.
///
/// A step listed twice is refused rather than given a meaning: the engine pays each step once
/// per period, so a second `{ pay: fees }` or `{ pay: interest, class: A }` would either pay
/// nothing or pay twice what is due, and a deal file that lists one twice is a mistake.
fn phase_steps(
    p: &Path,
    revolving: bool,
    wire: &[Spanned<StepWire>],
    notes: &[Note],
) -> Result<Vec<Step>, DealError> {
    let field = if revolving {
        "waterfall.revolving"
    } else {
        "waterfall.amortizing"
    };
    let at = |i: usize, message: String| DealError::Invalid {
        path: p.to_path_buf(),
        location: located(&wire[i]),
        field: format!("{field}[{}]", i + 1),
        message,
    };
    let steps = wire
        .iter()
        .enumerate()
        .map(|(i, s)| s.value.step().map_err(|e| at(i, e)))
        .collect::<Result<Vec<Step>, DealError>>()?;
    let class_list = notes
        .iter()
        .map(|n| n.class.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    for (i, step) in steps.iter().enumerate() {
        if let Some(first) = steps[..i].iter().position(|t| t == step) {
            return Err(at(
                i,
                format!(
                    "`{step}` repeats {field}[{}]: list each step once per phase",
                    first + 1
                ),
            ));
        }
        match step {
            Step::Interest { class } | Step::Principal { class }
                if !notes.iter().any(|n| n.class == *class) =>
            {
                return Err(at(
                    i,
                    format!("unknown class `{class}` (classes: {class_list})"),
                ));
            }
            Step::Reinvest if !revolving => {
                return Err(at(
                    i,
                    "`reinvest` belongs to the revolving phase only".into(),
                ));
            }
            Step::Residual if i + 1 != steps.len() => {
                return Err(at(i, "`residual` must be the last step".into()));
            }
            _ => {}
        }
    }
    if steps.last() != Some(&Step::Residual) {
        return Err(invalid(p, field, "must end with the `residual` step"));
    }
    for n in notes {
        if !steps
            .iter()
            .any(|s| matches!(s, Step::Interest { class } if *class == n.class))
        {
            return Err(invalid(
                p,
                field,
                format!("class {} is never paid interest", n.class),
            ));
        }
        if !revolving
            && !steps
                .iter()
                .any(|s| matches!(s, Step::Principal { class } if *class == n.class))
        {
            return Err(invalid(
                p,
                field,
                format!(
                    "class {} is never paid principal: the waterfall cannot address its {}",
                    n.class, n.balance
                ),
            ));
        }
    }
    Ok(steps)
}
