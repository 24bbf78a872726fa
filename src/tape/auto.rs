//! The auto-loan tape: one row per retail instalment contract (docs/tape.md, "Auto-loan tapes").
//!
//! Read as text (CSV with no type inference, or Parquet with every column cast to text) and
//! parsed here value by value, so money and rates arrive exact and a value with too many places
//! is refused, never rounded. Every rule is checked on every row and every violation reported at
//! once, in the same [`ValidationReport`] as the BTC tape. What leaves the module is plain Rust
//! ([`AutoLoan`]); polars stays inside `src/tape/`.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::NaiveDate;
use polars::prelude::*;
use rust_decimal::Decimal;

use super::error::{RuleCount, TapeError, ValidationReport, Violation};
use super::read::{Format, scan, stopped};
use crate::limits;

/// One contract of an auto-loan pool at the cut-off.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoLoan {
    pub loan_id: String,
    pub origination_date: NaiveDate,
    /// Amount financed, USD.
    pub original_principal: Decimal,
    /// Balance at the cut-off, USD.
    pub principal: Decimal,
    /// Annual percentage rate, a decimal fraction (`0.121` is 12.1%).
    pub interest_rate: Decimal,
    pub original_term_months: u32,
    /// Scheduled payments left at the cut-off.
    pub remaining_term_months: u32,
    /// `Some(true)` new vehicle, `Some(false)` used, `None` not stated.
    pub new_vehicle: Option<bool>,
    pub state: String,
    pub credit_score: Option<u32>,
}

impl AutoLoan {
    /// Months since origination at the cut-off, as the payment counts give it.
    pub fn age_months(&self) -> u32 {
        self.original_term_months - self.remaining_term_months
    }
}

pub const AUTO_LOAN_ID: &str = "loan_id";
pub const AUTO_ORIGINATION_DATE: &str = "origination_date";
pub const AUTO_ORIGINAL_PRINCIPAL: &str = "original_principal";
pub const AUTO_PRINCIPAL: &str = "principal";
pub const AUTO_INTEREST_RATE: &str = "interest_rate";
pub const AUTO_ORIGINAL_TERM: &str = "original_term_months";
pub const AUTO_REMAINING_TERM: &str = "remaining_term_months";
pub const AUTO_VEHICLE: &str = "vehicle";
pub const AUTO_STATE: &str = "state";
pub const AUTO_CREDIT_SCORE: &str = "credit_score";

/// Every column of an auto-loan tape, in the order absrate writes them; the first seven are
/// required.
pub const AUTO_COLUMNS: &[&str] = &[
    AUTO_LOAN_ID,
    AUTO_ORIGINATION_DATE,
    AUTO_ORIGINAL_PRINCIPAL,
    AUTO_PRINCIPAL,
    AUTO_INTEREST_RATE,
    AUTO_ORIGINAL_TERM,
    AUTO_REMAINING_TERM,
    AUTO_VEHICLE,
    AUTO_STATE,
    AUTO_CREDIT_SCORE,
];
const REQUIRED: usize = 7;

// The rules as printed (docs/tape.md, "Auto-loan tapes"). Order here is the order of reports.
const MISSING: &str = "missing value";
const NOT_DATE: &str = "not a date (YYYY-MM-DD)";
const NOT_MONEY: &str = "not a number with at most 2 decimal places";
const NOT_RATE: &str = "not a number with at most 6 decimal places";
const NOT_COUNT: &str = "not a whole number >= 0";
const DUPLICATE: &str = "duplicate loan_id";
const POSITIVE: &str = "must be > 0";
const MONEY_LIMIT: &str = "must be < 1000000000000 (absrate's limit, docs/reliability.md)";
const ABOVE_ORIGINAL: &str = "must not exceed original_principal";
const RATE_RANGE: &str = "must be >= 0 and < 1";
const RATE_PERCENT: &str = "must be >= 0 and < 1 (percent given where a decimal is expected?)";
const TERM_RANGE: &str = "must be within [1, 120] (absrate's limit, docs/reliability.md)";
const REMAINING_RANGE: &str = "must be within [1, original_term_months]";
const VEHICLE: &str = "must be `new` or `used`";
const SCORE: &str = "must be within [300, 900]";

/// Every rule, in report order, with the column it is reported on.
const RULES: &[(&str, &str)] = &[
    (AUTO_LOAN_ID, MISSING),
    (AUTO_LOAN_ID, DUPLICATE),
    (AUTO_ORIGINATION_DATE, MISSING),
    (AUTO_ORIGINATION_DATE, NOT_DATE),
    (AUTO_ORIGINAL_PRINCIPAL, MISSING),
    (AUTO_ORIGINAL_PRINCIPAL, NOT_MONEY),
    (AUTO_ORIGINAL_PRINCIPAL, POSITIVE),
    (AUTO_ORIGINAL_PRINCIPAL, MONEY_LIMIT),
    (AUTO_PRINCIPAL, MISSING),
    (AUTO_PRINCIPAL, NOT_MONEY),
    (AUTO_PRINCIPAL, POSITIVE),
    (AUTO_PRINCIPAL, MONEY_LIMIT),
    (AUTO_PRINCIPAL, ABOVE_ORIGINAL),
    (AUTO_INTEREST_RATE, MISSING),
    (AUTO_INTEREST_RATE, NOT_RATE),
    (AUTO_INTEREST_RATE, RATE_RANGE),
    (AUTO_INTEREST_RATE, RATE_PERCENT),
    (AUTO_ORIGINAL_TERM, MISSING),
    (AUTO_ORIGINAL_TERM, NOT_COUNT),
    (AUTO_ORIGINAL_TERM, TERM_RANGE),
    (AUTO_REMAINING_TERM, MISSING),
    (AUTO_REMAINING_TERM, NOT_COUNT),
    (AUTO_REMAINING_TERM, REMAINING_RANGE),
    (AUTO_VEHICLE, VEHICLE),
    (AUTO_CREDIT_SCORE, NOT_COUNT),
    (AUTO_CREDIT_SCORE, SCORE),
];

/// A validated auto-loan tape. Construct with [`AutoTape::read`].
#[derive(Debug, Clone)]
pub struct AutoTape {
    path: PathBuf,
    loans: Vec<AutoLoan>,
}

/// Pool aggregates of an auto-loan tape: totals exact, averages weighted by balance (`f64`,
/// shown to 0.01 point).
#[derive(Debug, Clone, PartialEq)]
pub struct AutoSummary {
    pub loans: u64,
    pub principal: Decimal,
    pub original_principal: Decimal,
    pub wa_interest_rate: f64,
    pub wa_remaining_term: f64,
    pub wa_original_term: f64,
    pub wa_age: f64,
    /// Share of balance on new vehicles, of the balance whose vehicle is stated.
    pub new_vehicle_share: f64,
    /// Share of balance in contracts of 60 months or longer (original term).
    pub term_60_plus_share: f64,
    pub wa_credit_score: Option<f64>,
}

impl AutoTape {
    /// Reads a CSV or Parquet auto-loan tape and checks every rule; every violation is reported
    /// at once in [`TapeError::Invalid`].
    pub fn read(path: &Path) -> Result<AutoTape, TapeError> {
        let format = Format::of(path)?;
        crate::input::check(path).map_err(|e| TapeError::unreadable(path, &e))?;
        let df = super::guard::reading(
            || {
                let mut lf = scan(path, format)?;
                let schema = lf.collect_schema().map_err(|e| TapeError::Read {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?;
                let missing: Vec<&'static str> = AUTO_COLUMNS[..REQUIRED]
                    .iter()
                    .copied()
                    .filter(|c| schema.get(c).is_none())
                    .collect();
                if !missing.is_empty() {
                    return Err(TapeError::MissingColumns {
                        path: path.to_path_buf(),
                        missing,
                        found: schema.iter_names().map(|n| n.to_string()).collect(),
                    });
                }
                let cols: Vec<Expr> = AUTO_COLUMNS
                    .iter()
                    .filter(|c| schema.get(c).is_some())
                    .map(|c| col(*c).cast(DataType::String))
                    .collect();
                lf.select(cols).collect().map_err(|e| TapeError::Read {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })
            },
            stopped(path),
        )?;
        let rows = df.height();
        if rows == 0 {
            return Err(TapeError::Empty {
                path: path.to_path_buf(),
            });
        }
        let text = |name: &str| -> Result<Vec<Option<String>>, TapeError> {
            match df.column(name) {
                Ok(c) => {
                    let s = c.str().map_err(TapeError::internal("reading text"))?;
                    Ok(s.iter()
                        .map(|v| v.map(str::trim).filter(|v| !v.is_empty()).map(String::from))
                        .collect())
                }
                Err(_) => Ok(vec![None; rows]),
            }
        };
        let columns: Vec<Vec<Option<String>>> = AUTO_COLUMNS
            .iter()
            .map(|c| text(c))
            .collect::<Result<_, _>>()?;
        validate(path, &columns, rows).map(|loans| AutoTape {
            path: path.to_path_buf(),
            loans,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn loans(&self) -> &[AutoLoan] {
        &self.loans
    }

    /// Totals and balance-weighted averages.
    pub fn summary(&self) -> AutoSummary {
        summarize(&self.loans)
    }
}

/// Totals and balance-weighted averages of `loans`.
pub fn summarize(loans: &[AutoLoan]) -> AutoSummary {
    use rust_decimal::prelude::ToPrimitive;
    let principal: Decimal = loans.iter().map(|l| l.principal).sum();
    let original_principal: Decimal = loans.iter().map(|l| l.original_principal).sum();
    let w = |l: &AutoLoan| l.principal.to_f64().unwrap_or(0.0);
    let total: f64 = loans.iter().map(w).sum();
    let avg = |f: &dyn Fn(&AutoLoan) -> f64| {
        if total > 0.0 {
            loans.iter().map(|l| w(l) * f(l)).sum::<f64>() / total
        } else {
            0.0
        }
    };
    let stated: f64 = loans
        .iter()
        .filter(|l| l.new_vehicle.is_some())
        .map(w)
        .sum();
    let new: f64 = loans
        .iter()
        .filter(|l| l.new_vehicle == Some(true))
        .map(w)
        .sum();
    let scored: f64 = loans
        .iter()
        .filter(|l| l.credit_score.is_some())
        .map(w)
        .sum();
    AutoSummary {
        loans: loans.len() as u64,
        principal,
        original_principal,
        wa_interest_rate: avg(&|l| l.interest_rate.to_f64().unwrap_or(0.0)),
        wa_remaining_term: avg(&|l| f64::from(l.remaining_term_months)),
        wa_original_term: avg(&|l| f64::from(l.original_term_months)),
        wa_age: avg(&|l| f64::from(l.age_months())),
        new_vehicle_share: if stated > 0.0 { new / stated } else { 0.0 },
        term_60_plus_share: avg(&|l| f64::from(u8::from(l.original_term_months >= 60))),
        wa_credit_score: (scored > 0.0).then(|| {
            loans
                .iter()
                .filter_map(|l| l.credit_score.map(|s| w(l) * f64::from(s)))
                .sum::<f64>()
                / scored
        }),
    }
}

/// A decimal with at most `places` places, or `None`.
fn decimal(s: &str, places: u32) -> Option<Decimal> {
    let d = Decimal::from_str(s).ok()?;
    (d.scale() <= places || d.normalize().scale() <= places).then(|| d.normalize())
}

fn count(s: &str) -> Option<u32> {
    s.parse::<u32>().ok()
}

/// Checks every rule on every row; the loans, or every violation.
fn validate(
    path: &Path,
    columns: &[Vec<Option<String>>],
    rows: usize,
) -> Result<Vec<AutoLoan>, TapeError> {
    let rule_index = |column: &str, rule: &str| {
        RULES
            .iter()
            .position(|(c, r)| *c == column && *r == rule)
            .unwrap_or(0)
    };
    let mut counts = vec![0u64; RULES.len()];
    let mut shown: Vec<Violation> = Vec::new();
    let mut bad_rows = 0u64;
    let mut loans = Vec::with_capacity(rows);
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut duplicated = vec![false; rows];
    for (row, id) in columns[0].iter().enumerate() {
        if let Some(id) = id
            && let Some(first) = seen.insert(id.as_str(), row)
        {
            duplicated[first] = true;
            duplicated[row] = true;
        }
    }
    let get = |k: usize, row: usize| columns[k][row].as_deref();
    #[allow(clippy::needless_range_loop)] // `row` indexes every column, not one slice
    for row in 0..rows {
        let mut broken: Vec<(usize, usize)> = Vec::new(); // (rule, column index)
        let mut flag = |column: usize, rule: &str| {
            broken.push((rule_index(AUTO_COLUMNS[column], rule), column))
        };
        let id = get(0, row).unwrap_or("");
        if id.is_empty() {
            flag(0, MISSING);
        } else if duplicated[row] {
            flag(0, DUPLICATE);
        }
        let date = match get(1, row) {
            None => {
                flag(1, MISSING);
                None
            }
            Some(s) => {
                let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
                if d.is_none() {
                    flag(1, NOT_DATE);
                }
                d
            }
        };
        let mut money = |k: usize| match get(k, row) {
            None => {
                flag(k, MISSING);
                None
            }
            Some(s) => match decimal(s, 2) {
                None => {
                    flag(k, NOT_MONEY);
                    None
                }
                Some(v) if v <= Decimal::ZERO => {
                    flag(k, POSITIVE);
                    None
                }
                Some(v) if v >= limits::MONEY_MAX => {
                    flag(k, MONEY_LIMIT);
                    None
                }
                Some(v) => Some(v),
            },
        };
        let original = money(2);
        let principal = money(3);
        if let (Some(o), Some(p)) = (original, principal)
            && p > o
        {
            flag(3, ABOVE_ORIGINAL);
        }
        let rate = match get(4, row) {
            None => {
                flag(4, MISSING);
                None
            }
            Some(s) => match decimal(s, 6) {
                None => {
                    flag(4, NOT_RATE);
                    None
                }
                Some(v) if v >= Decimal::ONE => {
                    flag(4, RATE_PERCENT);
                    None
                }
                Some(v) if v < Decimal::ZERO => {
                    flag(4, RATE_RANGE);
                    None
                }
                Some(v) => Some(v),
            },
        };
        let mut term = |k: usize| match get(k, row) {
            None => {
                flag(k, MISSING);
                None
            }
            Some(s) => {
                let v = count(s);
                if v.is_none() {
                    flag(k, NOT_COUNT);
                }
                v
            }
        };
        let original_term = term(5);
        let remaining_term = term(6);
        let original_term = original_term.filter(|t| {
            let ok = (1..=limits::MONTHS_MAX).contains(t);
            if !ok {
                flag(5, TERM_RANGE);
            }
            ok
        });
        let remaining_term = remaining_term.filter(|t| {
            let ok = *t >= 1 && original_term.is_none_or(|o| *t <= o);
            if !ok {
                flag(6, REMAINING_RANGE);
            }
            ok
        });
        let vehicle = match get(7, row) {
            None => None,
            Some("new") => Some(true),
            Some("used") => Some(false),
            Some(_) => {
                flag(7, VEHICLE);
                None
            }
        };
        let score = match get(9, row) {
            None => None,
            Some(s) => match count(s) {
                None => {
                    flag(9, NOT_COUNT);
                    None
                }
                Some(v) if !(300..=900).contains(&v) => {
                    flag(9, SCORE);
                    None
                }
                Some(v) => Some(v),
            },
        };
        if !broken.is_empty() {
            bad_rows += 1;
            broken.sort_unstable();
            for (rule, column) in broken {
                counts[rule] += 1;
                if shown.len() < ValidationReport::SHOWN {
                    shown.push(Violation {
                        row: row as u64 + 1,
                        loan_id: id.to_string(),
                        column: RULES[rule].0,
                        value: get(column, row).unwrap_or("").to_string(),
                        rule: RULES[rule].1,
                    });
                }
            }
            continue;
        }
        if let (Some(date), Some(o), Some(p), Some(r), Some(ot), Some(rt)) = (
            date,
            original,
            principal,
            rate,
            original_term,
            remaining_term,
        ) {
            loans.push(AutoLoan {
                loan_id: id.to_string(),
                origination_date: date,
                original_principal: o,
                principal: p,
                interest_rate: r,
                original_term_months: ot,
                remaining_term_months: rt,
                new_vehicle: vehicle,
                state: get(8, row).unwrap_or("unknown").to_string(),
                credit_score: score,
            });
        }
    }
    if bad_rows == 0 {
        return Ok(loans);
    }
    Err(TapeError::Invalid(Box::new(ValidationReport {
        path: path.to_path_buf(),
        loans: rows as u64,
        bad_rows,
        counts: RULES
            .iter()
            .zip(&counts)
            .filter(|(_, n)| **n > 0)
            .map(|((column, rule), n)| RuleCount {
                column,
                rule,
                count: *n,
            })
            .collect(),
        shown,
    })))
}

/// An auto-loan tape as CSV text, columns in [`AUTO_COLUMNS`] order (the generator's output).
pub fn auto_tape_csv(loans: &[AutoLoan]) -> String {
    use std::fmt::Write as _;
    let mut o = AUTO_COLUMNS.join(",");
    o.push('\n');
    for l in loans {
        let _ = writeln!(
            o,
            "{},{},{},{},{},{},{},{},{},{}",
            l.loan_id,
            l.origination_date,
            l.original_principal,
            l.principal,
            l.interest_rate,
            l.original_term_months,
            l.remaining_term_months,
            match l.new_vehicle {
                Some(true) => "new",
                Some(false) => "used",
                None => "",
            },
            l.state,
            l.credit_score.map(|s| s.to_string()).unwrap_or_default()
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tape(text: &str) -> Result<AutoTape, TapeError> {
        let dir = tempfile::tempdir().expect("dir");
        let p = dir.path().join("tape.csv");
        std::fs::write(&p, text).expect("write");
        AutoTape::read(&p)
    }

    const HEAD: &str = "loan_id,origination_date,original_principal,principal,interest_rate,original_term_months,remaining_term_months,vehicle\n";

    #[test]
    fn a_clean_tape_reads_exactly() {
        let t = tape(&format!(
            "{HEAD}A1,2016-01-15,20000.00,18000.50,0.1215,72,66,new\n"
        ))
        .expect("tape");
        let l = &t.loans()[0];
        assert_eq!(l.principal, Decimal::from_str("18000.50").unwrap());
        assert_eq!(l.interest_rate, Decimal::from_str("0.1215").unwrap());
        assert_eq!(l.age_months(), 6);
        assert_eq!(l.new_vehicle, Some(true));
    }

    #[test]
    fn every_violation_is_reported_with_its_rule() {
        let e = tape(&format!(
            "{HEAD}A1,2016-13-01,20000.00,20000.001,12.1,72,73,truck\nA1,2016-01-01,100,200,0.1,0,1,used\n"
        ))
        .expect_err("invalid");
        let text = e.to_string();
        for rule in [
            "origination_date = \"2016-13-01\": not a date (YYYY-MM-DD)",
            "principal = \"20000.001\": not a number with at most 2 decimal places",
            "interest_rate = \"12.1\": must be >= 0 and < 1 (percent given where a decimal is expected?)",
            "remaining_term_months = \"73\": must be within [1, original_term_months]",
            "vehicle = \"truck\": must be `new` or `used`",
            "loan_id = \"A1\": duplicate loan_id",
            "principal = \"200\": must not exceed original_principal",
            "original_term_months = \"0\": must be within [1, 120]",
        ] {
            assert!(text.contains(rule), "{rule} not in\n{text}");
        }
    }

    #[test]
    fn a_missing_required_column_is_named() {
        let e = tape("loan_id,principal\nA,1.00\n").expect_err("missing");
        assert!(
            e.to_string()
                .contains("missing required columns `origination_date`, `original_principal`"),
            "{e}"
        );
    }
}
