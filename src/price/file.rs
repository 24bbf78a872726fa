//! Model files: `methodology/models/<id>/<version>.yaml`, strict YAML read into wire structs
//! (`deny_unknown_fields`, no `flatten`) and checked into a [`ModelFile`]; every parameter is
//! `{ value, source }` and `fitted_from` names the price file (by name and SHA-256), the window
//! and the method. [`ModelFile::to_yaml`] writes the same format (`absrate simulate fit` prints
//! it), so a printed file reads back as the same model.
//!
//! ```yaml
//! id: btc-garch-t
//! version: 1.0.0
//! title: "BTC/USD daily log returns: GARCH(1,1) with Student-t innovations"
//! fitted_from:
//!   prices: btc-usd-daily.csv
//!   sha256: 3c9f...
//!   date_column: date
//!   price_column: price_usd
//!   since: 2012-01-01
//!   until: 2026-08-22
//!   observations: 5347
//!   method: "maximum likelihood ..."
//!   log_likelihood: 9876.54
//! model:
//!   garch-t:
//!     start_variance: unconditional
//!     mu: { value: 0.0021, source: "..." }
//!     ...
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::bootstrap::Bootstrap;
use super::error::PriceError;
use super::garch::{GarchT, StartVariance};
use super::gbm::Gbm;
use super::history::sha256_hex;
use super::kind::ModelKind;
use super::merton::Merton;
use super::{History, PriceModel};
use crate::limits;

// ---- wire structs: exactly what the file may hold ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireFile {
    id: Spanned<String>,
    version: semver::Version,
    title: String,
    fitted_from: WireFitted,
    model: WireModel,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireFitted {
    prices: String,
    sha256: Spanned<String>,
    date_column: String,
    price_column: String,
    since: Spanned<NaiveDate>,
    until: Spanned<NaiveDate>,
    observations: Spanned<usize>,
    method: String,
    #[serde(default)]
    log_likelihood: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
enum WireModel {
    Gbm(WireGbm),
    Merton(WireMerton),
    GarchT(WireGarch),
    Bootstrap(WireBootstrap),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireParam {
    value: Spanned<f64>,
    source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireGbm {
    mu: WireParam,
    sigma: WireParam,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireMerton {
    mu: WireParam,
    sigma: WireParam,
    lambda: WireParam,
    jump_mean: WireParam,
    jump_sd: WireParam,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireGarch {
    start_variance: WireStart,
    mu: WireParam,
    omega: WireParam,
    alpha: WireParam,
    beta: WireParam,
    nu: WireParam,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum WireStart {
    Unconditional,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireBootstrap {
    mean_block_length: WireParam,
}

// ---- the checked model file ----

/// One parameter as the file states it.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: &'static str,
    pub value: f64,
    pub source: String,
    /// Line and column of the value in the file it was read from.
    pub location: Option<(usize, usize)>,
}

impl Param {
    pub fn new(name: &'static str, value: f64, source: impl Into<String>) -> Param {
        Param {
            name,
            value,
            source: source.into(),
            location: None,
        }
    }

    fn wire(name: &'static str, w: WireParam) -> Param {
        Param {
            name,
            value: w.value.value,
            source: w.source,
            location: located(&w.value),
        }
    }
}

/// The price history a model was fitted to.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedFrom {
    /// The price file's name (never a path: the file is not part of the repository).
    pub prices: String,
    pub sha256: String,
    pub date_column: String,
    pub price_column: String,
    pub since: NaiveDate,
    pub until: NaiveDate,
    /// Daily log returns fitted.
    pub observations: usize,
    pub method: String,
    pub log_likelihood: Option<f64>,
}

impl FittedFrom {
    pub fn of(h: &History, method: impl Into<String>, log_likelihood: Option<f64>) -> FittedFrom {
        FittedFrom {
            prices: h.name.clone(),
            sha256: h.sha256.clone(),
            date_column: h.date_column.clone(),
            price_column: h.price_column.clone(),
            since: h.since,
            until: h.until,
            observations: h.returns.len(),
            method: method.into(),
            log_likelihood,
        }
    }
}

/// A model's parameters as the file gives them; a bootstrap needs its price history besides
/// (see [`ModelFile::build`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    Gbm(Gbm),
    Merton(Merton),
    GarchT(GarchT),
    Bootstrap { mean_block_length: f64 },
}

/// A model file, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFile {
    pub id: String,
    pub version: semver::Version,
    pub title: String,
    /// The file (for a built-in version, the name messages give it; for a fit, `<fit>`).
    pub path: PathBuf,
    /// SHA-256 of the file's bytes (empty for a model not read from a file).
    pub sha256: String,
    pub fitted_from: FittedFrom,
    /// The parameters in file order.
    pub params: Vec<Param>,
    pub spec: Spec,
}

impl ModelFile {
    /// Checks the parameters of a `kind` of model and builds the file (as a fit does).
    pub fn new(
        path: &Path,
        id: String,
        version: semver::Version,
        title: String,
        fitted_from: FittedFrom,
        kind: ModelKind,
        params: Vec<Param>,
    ) -> Result<ModelFile, PriceError> {
        check_id(path, &id, None)?;
        check_fitted(path, &fitted_from, [None; 3])?;
        let spec = spec_of(path, kind, &params)?;
        Ok(ModelFile {
            id,
            version,
            title,
            path: path.to_path_buf(),
            sha256: String::new(),
            fitted_from,
            params,
            spec,
        })
    }

    pub fn load(path: &Path) -> Result<ModelFile, PriceError> {
        let unreadable = |e: std::io::Error| PriceError::Read {
            path: path.to_path_buf(),
            message: crate::input::reason(&e),
        };
        crate::input::check(path).map_err(unreadable)?;
        let size = std::fs::metadata(path).map_err(unreadable)?.len();
        if size > crate::yaml::MAX_BYTES {
            return Err(crate::yaml::YamlError::TooLarge {
                path: path.to_path_buf(),
                size,
                max: crate::yaml::MAX_BYTES,
            }
            .into());
        }
        let bytes = std::fs::read(path).map_err(unreadable)?;
        ModelFile::from_bytes(path, &bytes)
    }

    /// Reads a model file's bytes; `path` is only used in messages.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<ModelFile, PriceError> {
        let text = std::str::from_utf8(bytes).map_err(|e| PriceError::Read {
            path: path.to_path_buf(),
            message: format!("not UTF-8: {e}"),
        })?;
        let w: WireFile = crate::yaml::from_str(path, text)?;
        let id_at = located(&w.id);
        let f = w.fitted_from;
        let at = [
            located(&f.sha256),
            located(&f.until),
            located(&f.observations),
        ];
        let fitted_from = FittedFrom {
            prices: f.prices,
            sha256: f.sha256.value,
            date_column: f.date_column,
            price_column: f.price_column,
            since: f.since.value,
            until: f.until.value,
            observations: f.observations.value,
            method: f.method,
            log_likelihood: f.log_likelihood,
        };
        check_id(path, &w.id.value, id_at)?;
        check_fitted(path, &fitted_from, at)?;
        let (kind, params) = match w.model {
            WireModel::Gbm(m) => (
                ModelKind::Gbm,
                vec![Param::wire("mu", m.mu), Param::wire("sigma", m.sigma)],
            ),
            WireModel::Merton(m) => (
                ModelKind::Merton,
                vec![
                    Param::wire("mu", m.mu),
                    Param::wire("sigma", m.sigma),
                    Param::wire("lambda", m.lambda),
                    Param::wire("jump_mean", m.jump_mean),
                    Param::wire("jump_sd", m.jump_sd),
                ],
            ),
            WireModel::GarchT(m) => {
                // The one start rule there is (spec_of sets it); a new one must be mapped here.
                let WireStart::Unconditional = m.start_variance;
                (
                    ModelKind::GarchT,
                    vec![
                        Param::wire("mu", m.mu),
                        Param::wire("omega", m.omega),
                        Param::wire("alpha", m.alpha),
                        Param::wire("beta", m.beta),
                        Param::wire("nu", m.nu),
                    ],
                )
            }
            WireModel::Bootstrap(m) => (
                ModelKind::Bootstrap,
                vec![Param::wire("mean_block_length", m.mean_block_length)],
            ),
        };
        let spec = spec_of(path, kind, &params)?;
        Ok(ModelFile {
            id: w.id.value,
            version: w.version,
            title: w.title,
            path: path.to_path_buf(),
            sha256: sha256_hex(bytes),
            fitted_from,
            params,
            spec,
        })
    }

    /// `id@version`.
    pub fn name(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }

    pub fn kind(&self) -> ModelKind {
        match self.spec {
            Spec::Gbm(_) => ModelKind::Gbm,
            Spec::Merton(_) => ModelKind::Merton,
            Spec::GarchT(_) => ModelKind::GarchT,
            Spec::Bootstrap { .. } => ModelKind::Bootstrap,
        }
    }

    /// The model ready to simulate. A bootstrap resamples its price file's returns over the
    /// fitted window: `prices` must be that file (same SHA-256), found by the caller.
    pub fn build(&self, prices: Option<&Path>) -> Result<PriceModel, PriceError> {
        Ok(match &self.spec {
            Spec::Gbm(m) => PriceModel::Gbm(*m),
            Spec::Merton(m) => PriceModel::Merton(*m),
            Spec::GarchT(m) => PriceModel::GarchT(*m),
            Spec::Bootstrap { mean_block_length } => {
                let f = &self.fitted_from;
                let Some(path) = prices else {
                    return Err(PriceError::PricesNotFound {
                        model: self.name(),
                        file: f.prices.clone(),
                        sha256: f.sha256.clone(),
                        looked: Vec::new(),
                    });
                };
                let actual = super::history::sha256_file(path)?;
                if actual != f.sha256 {
                    return Err(PriceError::PricesChanged {
                        path: path.to_path_buf(),
                        model: self.name(),
                        file: f.prices.clone(),
                        expected: f.sha256.clone(),
                        actual,
                    });
                }
                let h = History::read(
                    path,
                    &f.date_column,
                    &f.price_column,
                    Some(f.since),
                    Some(f.until),
                )?;
                PriceModel::Bootstrap(Bootstrap::new(h.returns, *mean_block_length))
            }
        })
    }

    /// The file as YAML, in the format [`ModelFile::load`] reads.
    pub fn to_yaml(&self) -> String {
        let f = &self.fitted_from;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "# absrate price model (docs/price-models.md). Published files never change: refit into a new version."
        );
        let _ = writeln!(o, "id: {}", self.id);
        let _ = writeln!(o, "version: {}", self.version);
        let _ = writeln!(o, "title: {}", quoted(&self.title));
        let _ = writeln!(o, "fitted_from:");
        let _ = writeln!(o, "  prices: {}", quoted(&f.prices));
        let _ = writeln!(o, "  sha256: {}", f.sha256);
        let _ = writeln!(o, "  date_column: {}", quoted(&f.date_column));
        let _ = writeln!(o, "  price_column: {}", quoted(&f.price_column));
        let _ = writeln!(o, "  since: {}", f.since);
        let _ = writeln!(o, "  until: {}", f.until);
        let _ = writeln!(o, "  observations: {}", f.observations);
        let _ = writeln!(o, "  method: {}", quoted(&f.method));
        if let Some(ll) = f.log_likelihood {
            let _ = writeln!(o, "  log_likelihood: {ll:.2}");
        }
        let _ = writeln!(o, "model:");
        let _ = writeln!(o, "  {}:", self.kind().name());
        if let Spec::GarchT(g) = &self.spec {
            let _ = writeln!(o, "    start_variance: {}", g.start.name());
        }
        for p in &self.params {
            let _ = writeln!(o, "    {}:", p.name);
            let _ = writeln!(o, "      value: {}", p.value);
            let _ = writeln!(o, "      source: {}", quoted(&p.source));
        }
        o
    }
}

fn located<T>(s: &Spanned<T>) -> Option<(usize, usize)> {
    let l = s.referenced;
    (l.line() > 0).then(|| (l.line() as usize, l.column() as usize))
}

/// A double-quoted YAML scalar.
fn quoted(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn invalid(
    path: &Path,
    location: Option<(usize, usize)>,
    field: &str,
    message: String,
) -> PriceError {
    PriceError::Invalid {
        path: path.to_path_buf(),
        location,
        field: field.to_string(),
        message,
    }
}

fn check_id(path: &Path, id: &str, at: Option<(usize, usize)>) -> Result<(), PriceError> {
    let ok = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            path,
            at,
            "id",
            format!("`{id}` must be lowercase letters, digits and '-' (it names a directory)"),
        ))
    }
}

fn check_fitted(
    path: &Path,
    f: &FittedFrom,
    at: [Option<(usize, usize)>; 3],
) -> Result<(), PriceError> {
    if f.sha256.len() != 64 || !f.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid(
            path,
            at[0],
            "fitted_from.sha256",
            format!("`{}` is not a SHA-256 in hex (64 characters)", f.sha256),
        ));
    }
    if f.until <= f.since {
        return Err(invalid(
            path,
            at[1],
            "fitted_from.until",
            format!("{} is not after since ({})", f.until, f.since),
        ));
    }
    let days = (f.until - f.since).num_days() as usize;
    if f.observations != days {
        return Err(invalid(
            path,
            at[2],
            "fitted_from.observations",
            format!(
                "{} daily returns from {} to {}, but observations says {}",
                days, f.since, f.until, f.observations
            ),
        ));
    }
    Ok(())
}

/// The parameters `kind` needs, each within its range.
fn spec_of(path: &Path, kind: ModelKind, params: &[Param]) -> Result<Spec, PriceError> {
    let field = |p: &Param| format!("model.{}.{}", kind.name(), p.name);
    let get = |name: &str| -> Result<&Param, PriceError> {
        params.iter().find(|p| p.name == name).ok_or_else(|| {
            invalid(
                path,
                None,
                &format!("model.{}.{name}", kind.name()),
                "missing".into(),
            )
        })
    };
    let value = |name: &str, rule: &str, ok: &dyn Fn(f64) -> bool| -> Result<f64, PriceError> {
        let p = get(name)?;
        if p.value.is_finite() && ok(p.value) {
            Ok(p.value)
        } else {
            Err(invalid(
                path,
                p.location,
                &field(p),
                format!("{} is out of range: it must be {rule}", p.value),
            ))
        }
    };
    // Daily log returns: a mean within [-1, 1], a spread within [0, 1] (absrate's limits).
    let max = limits::DAILY_LOG_RETURN_MAX;
    let mean = |x: f64| (-max..=max).contains(&x);
    let spread = |x: f64| (0.0..=max).contains(&x);
    const MEAN: &str = "from -1 to 1 (absrate's limit on a daily log return, docs/reliability.md)";
    const SPREAD: &str = "from 0 to 1 (absrate's limit on a daily log return, docs/reliability.md)";
    Ok(match kind {
        ModelKind::Gbm => Spec::Gbm(Gbm {
            mu: value("mu", MEAN, &mean)?,
            sigma: value("sigma", SPREAD, &spread)?,
        }),
        ModelKind::Merton => Spec::Merton(Merton {
            mu: value("mu", MEAN, &mean)?,
            sigma: value("sigma", SPREAD, &spread)?,
            lambda: value("lambda", "from 0 to 1 (jumps per day)", &|x| {
                (0.0..=1.0).contains(&x)
            })?,
            jump_mean: value("jump_mean", MEAN, &mean)?,
            jump_sd: value("jump_sd", SPREAD, &spread)?,
        }),
        ModelKind::GarchT => {
            let g = GarchT {
                mu: value("mu", MEAN, &mean)?,
                omega: value(
                    "omega",
                    "> 0 and at most 1 (absrate's limit on a daily variance, docs/reliability.md)",
                    &|x| x > 0.0 && x <= max,
                )?,
                alpha: value("alpha", ">= 0", &|x| x >= 0.0)?,
                beta: value("beta", ">= 0", &|x| x >= 0.0)?,
                // No upper bound: a fit to normal returns drives `nu` to millions (a Student t
                // tends to the normal), which is a model, not a typo.
                nu: value("nu", "> 2 (a finite variance)", &|x| x > 2.0)?,
                start: StartVariance::Unconditional,
            };
            if g.alpha + g.beta >= 1.0 {
                let p = get("beta")?;
                return Err(invalid(
                    path,
                    p.location,
                    &field(p),
                    format!(
                        "alpha + beta = {} must be below 1 (a finite unconditional variance)",
                        g.alpha + g.beta
                    ),
                ));
            }
            Spec::GarchT(g)
        }
        ModelKind::Bootstrap => Spec::Bootstrap {
            mean_block_length: value(
                "mean_block_length",
                "from 1 to 3660 days (absrate's limit, docs/reliability.md)",
                &|x| (1.0..=limits::BLOCK_DAYS_MAX).contains(&x),
            )?,
        },
    })
}
