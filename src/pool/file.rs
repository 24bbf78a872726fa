//! `pool.yaml`: wire structs (strict) and the validated model.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::limits::{self, Written};
use crate::yaml::{self, YamlError};

/// The name of the pool file in a pool directory.
pub const FILE_NAME: &str = "pool.yaml";

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error(transparent)]
    Yaml(#[from] YamlError),

    #[error("{}: {field}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        field: String,
        message: String,
    },

    #[error("no pool profile `{name}`: expected {} (profiles here: {})", expected.display(), if available.is_empty() { "none".to_string() } else { available.join(", ") })]
    UnknownProfile {
        name: String,
        expected: PathBuf,
        available: Vec<String>,
    },

    #[error("{}: has no `generator` section, so it cannot generate a tape", path.display())]
    NoGenerator { path: PathBuf },
}

/// The date and price a pool is valued at.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Cutoff {
    pub date: NaiveDate,
    /// USD per BTC used for LTVs at the cut-off date.
    pub btc_price: Decimal,
}

/// The loans' margin terms.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CollateralTerms {
    pub margin_call_ltv: Decimal,
    pub liquidation_ltv: Decimal,
    /// The LTV a borrower restores by adding BTC after a margin call.
    pub margin_call_cure_ltv: Decimal,
}

/// Borrower and market behaviour assumed when a price path is applied (`absrate replay`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Market {
    /// Share of borrowers who answer a margin call by adding BTC.
    pub margin_call_answer_share: f64,
    /// Fall from the reference price to the sale price of a liquidation.
    pub liquidation_gap: Decimal,
}

impl Market {
    /// Checks a margin-call answer share: a share of borrowers, within [0, 1] (NaN is not).
    ///
    /// The one check of this term, wherever it comes from: the pool file's
    /// `market.margin_call_answer_share` when the file is loaded, `--answer-share` when given.
    /// The caller names the value (its key or its flag) in front of the message.
    pub fn check_answer_share(share: f64) -> Result<f64, String> {
        if (0.0..=1.0).contains(&share) {
            Ok(share)
        } else {
            Err(format!("must be within [0, 1], got {share}"))
        }
    }

    /// Checks a liquidation gap: the fall from the reference price to the sale price, within
    /// [0, 1) (a gap of 1 would sell for nothing). The one check of this term, as
    /// [`Market::check_answer_share`] is of the answer share: `market.liquidation_gap`, `--gap`.
    pub fn check_gap(gap: Decimal) -> Result<Decimal, String> {
        if gap >= Decimal::ZERO && gap < Decimal::ONE {
            Ok(gap)
        } else {
            Err(format!("must be within [0, 1), got {gap}"))
        }
    }
}

/// A published figure the generator must reproduce exactly.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    pub loans: u64,
    pub borrowers: u64,
    pub principal: Decimal,
    pub collateral_btc: Decimal,
    pub wa_interest_rate: Decimal,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OriginationMonth {
    /// First day of the month, `YYYY-MM-01`.
    pub month: NaiveDate,
    /// Average BTC price of the month: loans of that month were made at their LTV at this price.
    pub btc_price: Decimal,
    /// Relative share of loans originated (or renewed) in the month.
    pub weight: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Origination {
    pub term_months: u32,
    pub months: Vec<OriginationMonth>,
    pub ltv_mean: f64,
    pub ltv_sd: f64,
    pub ltv_min: f64,
    pub ltv_max: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoanSize {
    /// Median original principal, USD.
    pub median: f64,
    /// Standard deviation of log principal.
    pub sigma: f64,
    pub min: f64,
    pub max: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Borrowers {
    /// Standard deviation of the log of a borrower's propensity to hold more loans.
    pub activity_sigma: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Renewals {
    /// Share of loans whose current term is a renewal.
    pub share: f64,
    /// Relative weights of 1, 2, 3, ... renewals among renewed loans.
    pub count_weights: Vec<f64>,
    /// Share of a term's interest that was capitalized at renewal rather than paid.
    pub capitalized: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weighted<T> {
    pub value: T,
    pub weight: f64,
}

/// How a synthetic tape of this pool is generated (`absrate pool generate`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorProfile {
    pub targets: Targets,
    /// Highest LTV a loan may have at the cut-off price; a loan above it is taken to have answered
    /// a margin call (collateral added back to `margin_call_cure_ltv`).
    pub max_cutoff_ltv: f64,
    pub origination: Origination,
    pub loan_size: LoanSize,
    pub borrowers: Borrowers,
    pub renewals: Renewals,
    /// Rates drawn before the balance-weighted average is fitted to the target.
    pub interest_rates: Vec<Weighted<Decimal>>,
    pub states: Vec<Weighted<String>>,
}

/// [`Cutoff`] as written: a price beyond a decimal is refused by its limit, not by the parser.
/// The price is required of a BTC pool and refused in an auto-loan pool.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct CutoffWire {
    date: NaiveDate,
    #[serde(default)]
    btc_price: Option<Written>,
}

/// What a pool holds, as `pool.yaml` names it (`asset_class:`); a file without the key is a BTC
/// pool, as every pool file was before there were two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetClass {
    /// Bullet loans secured by bitcoin (`src/asset/btc_bullet.rs`).
    #[default]
    BtcBackedConsumerLoans,
    /// Amortizing retail auto loans (`src/asset/auto_loan.rs`, docs/auto.md).
    AutoLoans,
}

impl AssetClass {
    pub fn name(self) -> &'static str {
        match self {
            AssetClass::BtcBackedConsumerLoans => "btc_backed_consumer_loans",
            AssetClass::AutoLoans => "auto_loans",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    name: String,
    title: String,
    #[serde(default)]
    asset_class: AssetClass,
    /// The tape, relative to the pool file.
    tape: PathBuf,
    cutoff: CutoffWire,
    /// Required of a BTC pool; an auto-loan pool has none.
    #[serde(default)]
    collateral_terms: Option<CollateralTerms>,
    /// How a synthetic auto-loan tape is generated (`absrate pool generate`).
    #[serde(default)]
    auto_generator: Option<super::auto::AutoProfile>,
    #[serde(default)]
    generator: Option<GeneratorProfile>,
    /// The seed the tape was generated with, when it is synthetic (shown in report provenance).
    #[serde(default)]
    generated_with_seed: Option<u64>,
    #[serde(default)]
    market: Option<Market>,
}

/// A pool file as written (`absrate replay --out-tape`): the fields of the wire struct a derived
/// pool carries, in its order. Written as JSON, which YAML 1.2 reads as a flow mapping: every
/// string is quoted and escaped by serde_json, and `PoolFile::load` reads it back strictly.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolFileOut {
    pub name: String,
    pub title: String,
    /// The tape, relative to the pool file.
    pub tape: PathBuf,
    pub cutoff: Cutoff,
    pub collateral_terms: CollateralTerms,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub market: Option<Market>,
}

impl PoolFileOut {
    /// The file's text: `comment` as `#` lines, then the fields.
    pub fn to_yaml(&self, comment: &str) -> Result<String, serde_json::Error> {
        let mut out: String = comment.lines().map(|l| format!("# {l}\n")).collect();
        out.push_str(&serde_json::to_string_pretty(self)?);
        out.push('\n');
        Ok(out)
    }
}

/// A validated pool file.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolFile {
    pub path: PathBuf,
    pub name: String,
    pub title: String,
    /// What the pool holds. For an auto-loan pool `cutoff.btc_price` is zero and
    /// `collateral_terms` all zero: no BTC code path runs on it (`rate` chooses the auto engine
    /// by the deal's `auto_loans` section, which must agree with this).
    pub asset_class: AssetClass,
    pub auto_generator: Option<super::auto::AutoProfile>,
    /// The tape, resolved against the pool file's directory.
    pub tape: PathBuf,
    pub cutoff: Cutoff,
    pub collateral_terms: CollateralTerms,
    pub generator: Option<GeneratorProfile>,
    pub generated_with_seed: Option<u64>,
    pub market: Option<Market>,
}

impl PoolFile {
    pub fn load(path: &Path) -> Result<PoolFile, PoolError> {
        let wire: Wire = yaml::load(path)?;
        let invalid = |field: &str, message: String| PoolError::Invalid {
            path: path.to_path_buf(),
            field: field.to_string(),
            message,
        };
        let is_btc = wire.asset_class == AssetClass::BtcBackedConsumerLoans;
        if !is_btc {
            for (given, field) in [
                (wire.cutoff.btc_price.is_some(), "cutoff.btc_price"),
                (wire.collateral_terms.is_some(), "collateral_terms"),
                (wire.generator.is_some(), "generator"),
                (wire.market.is_some(), "market"),
            ] {
                if given {
                    return Err(invalid(
                        field,
                        format!(
                            "belongs to a BTC pool, not to an `asset_class: {}` pool",
                            wire.asset_class.name()
                        ),
                    ));
                }
            }
            if let Some(g) = &wire.auto_generator {
                g.validate().map_err(|(field, message)| {
                    invalid(&format!("auto_generator.{field}"), message)
                })?;
            }
            let dir = path.parent().unwrap_or(Path::new(""));
            return Ok(PoolFile {
                path: path.to_path_buf(),
                name: wire.name,
                title: wire.title,
                asset_class: wire.asset_class,
                auto_generator: wire.auto_generator,
                tape: dir.join(&wire.tape),
                cutoff: Cutoff {
                    date: wire.cutoff.date,
                    btc_price: Decimal::ZERO,
                },
                collateral_terms: CollateralTerms {
                    margin_call_ltv: Decimal::ZERO,
                    liquidation_ltv: Decimal::ZERO,
                    margin_call_cure_ltv: Decimal::ZERO,
                },
                generator: None,
                generated_with_seed: wire.generated_with_seed,
                market: None,
            });
        }
        if wire.auto_generator.is_some() {
            return Err(invalid(
                "auto_generator",
                "belongs to an `asset_class: auto_loans` pool".into(),
            ));
        }
        let Some(collateral_terms) = wire.collateral_terms else {
            return Err(invalid(
                "collateral_terms",
                "missing: a BTC pool states its margin-call, liquidation and cure LTVs".into(),
            ));
        };
        let Some(btc_price) = wire.cutoff.btc_price else {
            return Err(invalid(
                "cutoff.btc_price",
                "missing: a BTC pool is valued at a BTC price".into(),
            ));
        };
        let t = &collateral_terms;
        let unit = |v: Decimal| v > Decimal::ZERO && v <= Decimal::ONE;
        if !(unit(t.margin_call_cure_ltv) && unit(t.margin_call_ltv) && unit(t.liquidation_ltv)) {
            return Err(invalid(
                "collateral_terms",
                "LTVs must be decimals in (0, 1]".into(),
            ));
        }
        if !(t.margin_call_cure_ltv < t.margin_call_ltv && t.margin_call_ltv < t.liquidation_ltv) {
            return Err(invalid(
                "collateral_terms",
                "expected margin_call_cure_ltv < margin_call_ltv < liquidation_ltv".into(),
            ));
        }
        let cutoff = Cutoff {
            date: wire.cutoff.date,
            btc_price: btc_price
                .price()
                .map_err(|e| invalid("cutoff.btc_price", e))?,
        };
        if let Some(m) = &wire.market {
            Market::check_answer_share(m.margin_call_answer_share)
                .map_err(|e| invalid("market.margin_call_answer_share", e))?;
            Market::check_gap(m.liquidation_gap)
                .map_err(|e| invalid("market.liquidation_gap", e))?;
        }
        if let Some(g) = &wire.generator {
            validate_generator(g).map_err(|(field, message)| invalid(&field, message))?;
        }
        let dir = path.parent().unwrap_or(Path::new(""));
        Ok(PoolFile {
            path: path.to_path_buf(),
            name: wire.name,
            title: wire.title,
            asset_class: wire.asset_class,
            auto_generator: None,
            tape: dir.join(&wire.tape),
            cutoff,
            collateral_terms,
            generator: wire.generator,
            generated_with_seed: wire.generated_with_seed,
            market: wire.market,
        })
    }

    /// The pool file for a profile argument: a path to a YAML file, the name of a directory
    /// under `pools_dir` holding a `pool.yaml`, or the path of such a directory.
    pub fn resolve(profile: &str, pools_dir: &Path) -> Result<PoolFile, PoolError> {
        let as_path = Path::new(profile);
        if as_path.is_file() {
            return PoolFile::load(as_path);
        }
        let expected = pools_dir.join(profile).join(FILE_NAME);
        if expected.is_file() {
            return PoolFile::load(&expected);
        }
        if as_path.is_dir() {
            // A pool directory named by its path: its pool file, or "is a directory".
            let inside = as_path.join(FILE_NAME);
            return PoolFile::load(if inside.is_file() { &inside } else { as_path });
        }
        let mut available: Vec<String> = std::fs::read_dir(pools_dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().join(FILE_NAME).is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        available.sort();
        Err(PoolError::UnknownProfile {
            name: profile.to_string(),
            expected,
            available,
        })
    }

    /// The `pool.yaml` in the same directory as a tape, if there is one.
    pub fn beside(tape: &Path) -> Option<PathBuf> {
        let p = tape.parent().unwrap_or(Path::new("")).join(FILE_NAME);
        p.is_file().then_some(p)
    }
}

/// A spread, a weight or a sigma: a finite number >= 0.
fn non_negative(field: &str, v: f64) -> Result<(), (String, String)> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err((
            format!("generator.{field}"),
            format!("must be a finite number >= 0, got {v}"),
        ))
    }
}

/// Relative weights: at least one, each finite and >= 0, not all zero. `key` names a weight
/// within its entry (`.weight`), or is empty where the entries are the weights.
fn weights(
    field: &str,
    key: &str,
    ws: impl ExactSizeIterator<Item = f64>,
) -> Result<(), (String, String)> {
    let n = ws.len();
    let mut total = 0.0;
    for (i, w) in ws.enumerate() {
        non_negative(&format!("{field}[{}]{key}", i + 1), w)?;
        total += w;
    }
    if n == 0 || total <= 0.0 {
        return Err((
            format!("generator.{field}"),
            "need at least one entry with a weight > 0".into(),
        ));
    }
    Ok(())
}

/// Checks a generator profile: every term in its range, so that `generate` draws from
/// well-formed distributions (a negative spread, a NaN or an all-zero set of weights is refused
/// here, named by its key, never reported by the sampling library).
fn validate_generator(g: &GeneratorProfile) -> Result<(), (String, String)> {
    let err = |f: &str, m: &str| Err((format!("generator.{f}"), m.to_string()));
    let t = &g.targets;
    if t.loans == 0 || t.borrowers == 0 || t.borrowers > t.loans {
        return err("targets", "need 0 < borrowers <= loans");
    }
    if t.principal <= Decimal::ZERO || t.collateral_btc <= Decimal::ZERO {
        return err("targets", "principal and collateral_btc must be > 0");
    }
    if t.principal >= limits::MONEY_MAX {
        return err(
            "targets.principal",
            &format!(
                "must be below {} {}, got {}",
                limits::MONEY_MAX_TEXT,
                limits::CITE,
                t.principal
            ),
        );
    }
    if t.wa_interest_rate <= Decimal::ZERO || t.wa_interest_rate >= Decimal::ONE {
        return err("targets.wa_interest_rate", "must be a decimal in (0, 1)");
    }
    let o = &g.origination;
    weights(
        "origination.months",
        ".weight",
        o.months.iter().map(|m| m.weight),
    )?;
    for (i, m) in o.months.iter().enumerate() {
        if let Err(e) = Written::exact(m.btc_price).price() {
            return err(&format!("origination.months[{}].btc_price", i + 1), &e);
        }
    }
    if !(0.0 < o.ltv_min && o.ltv_min <= o.ltv_mean && o.ltv_mean <= o.ltv_max && o.ltv_max < 1.0) {
        return err("origination", "need 0 < ltv_min <= ltv_mean <= ltv_max < 1");
    }
    non_negative("origination.ltv_sd", o.ltv_sd)?;
    if o.term_months == 0 {
        return err("origination.term_months", "must be > 0");
    }
    if o.term_months > limits::MONTHS_MAX {
        return err(
            "origination.term_months",
            &format!(
                "must be at most {} {}, got {}",
                limits::MONTHS_MAX,
                limits::CITE,
                o.term_months
            ),
        );
    }
    if !(0.0 < g.max_cutoff_ltv && g.max_cutoff_ltv < 1.0) {
        return err("max_cutoff_ltv", "must be a decimal in (0, 1)");
    }
    let s = &g.loan_size;
    if !(0.0 < s.min && s.min <= s.median && s.median <= s.max && s.max.is_finite()) {
        return err("loan_size", "need 0 < min <= median <= max, all finite");
    }
    non_negative("loan_size.sigma", s.sigma)?;
    non_negative("borrowers.activity_sigma", g.borrowers.activity_sigma)?;
    let r = &g.renewals;
    if !(0.0..=1.0).contains(&r.share) || !(0.0..=1.0).contains(&r.capitalized) {
        return err("renewals", "share and capitalized must be in [0, 1]");
    }
    weights(
        "renewals.count_weights",
        "",
        r.count_weights.iter().copied(),
    )?;
    weights(
        "interest_rates",
        ".weight",
        g.interest_rates.iter().map(|w| w.weight),
    )?;
    if let Some(i) = g
        .interest_rates
        .iter()
        .position(|w| w.value < Decimal::ZERO || w.value >= Decimal::ONE)
    {
        return err(
            &format!("interest_rates[{}].value", i + 1),
            "must be in [0, 1)",
        );
    }
    weights("states", ".weight", g.states.iter().map(|w| w.weight))?;
    Ok(())
}
