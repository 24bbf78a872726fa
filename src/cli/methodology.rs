//! `absrate methodology ...`: list, show, check, diff, publish, schema.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::methodology::{DiffJson, ShowJson};
use clap::{Args, Subcommand};

use super::{TextOrJson as Format, json};
use crate::error::Error;
use crate::methodology::{
    AutoMethodology, Change, DIR_NAME, Entry, FIELDS, Group, Kind, Lookup, Methodology,
    MethodologyError, Place, Registry, Value, builtin_entries, diff,
};
use crate::report::table::{Align, Table};

#[derive(Debug, Args)]
pub struct RegistryArg {
    /// Methodology registry directory (holds <id>/<version>.yaml and published.lock), looked in
    /// first [then: methodology/ in the current directory and each parent, then the published
    /// methodologies built into absrate]
    #[arg(long, global = true)]
    dir: Option<PathBuf>,
}

impl RegistryArg {
    fn lookup(&self) -> Lookup {
        Lookup::new(self.dir.as_deref(), Path::new("."))
    }

    /// The directory `check` and `publish` work on: --dir, else the first registry found.
    fn registry(&self) -> Option<Registry> {
        match &self.dir {
            Some(d) => Some(Registry::new(d)),
            None => self.lookup().first_dir(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum MethodologyCommand {
    /// List every methodology version found, where it comes from and whether it is published
    #[command(after_help = "Example:\n  absrate methodology list")]
    List {
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Show the fully resolved stress of every notch from AAA to B-
    #[command(
        after_help = "Examples:\n  absrate methodology show btc-backed-consumer-loans@1.0.0\n  absrate methodology show btc-backed-consumer-loans --format json\n  absrate methodology show path/to/draft.yaml\n\nSPEC is ID@VERSION, ID (its newest version) or a path to a file."
    )]
    Show {
        spec: String,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Check files: strict format, every invariant, and that published versions are unchanged
    #[command(
        after_help = "Examples:\n  absrate methodology check\n  absrate methodology check methodology/btc-backed-consumer-loans/1.0.0.yaml draft.yaml\n\nWithout FILE, checks every file in the registry and every entry of its lock file."
    )]
    Check {
        files: Vec<PathBuf>,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Every parameter that differs between two methodologies (level, field, old, new)
    #[command(
        after_help = "Example:\n  absrate methodology diff btc-backed-consumer-loans@1.0.0 draft.yaml"
    )]
    Diff {
        a: String,
        b: String,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Record a registry version's SHA-256 in published.lock: from then on it may never change
    #[command(
        after_help = "Example:\n  absrate methodology publish btc-backed-consumer-loans@1.1.0"
    )]
    Publish {
        spec: String,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Compute a market-value version's price paths and gaps from a price model, at the
    /// probability the idealized table gives each rating (docs/calibration.md)
    #[command(
        after_help = "Example (regenerates methodology/btc-backed-consumer-loans/2.1.0.yaml byte for byte):\n  absrate methodology calibrate --prices ../shared/data/btc-usd-daily.csv --model btc-garch-t@1.0.0 \\\n    --from btc-backed-consumer-loans@2.0.1 --out methodology/btc-backed-consumer-loans/2.1.0.yaml\n\nThe judgement (version, paths, seed, tail fit, severity, overlays) is read from --recipe,\nby default calibration.yaml beside the --from version's file; everything else from --from.\nThe file records the command that writes it; the same inputs give the same bytes."
    )]
    Calibrate {
        /// Daily BTC price file (CSV: date, price_usd): the historical windows, and the SHA-256
        /// recorded in the file
        #[arg(long)]
        prices: PathBuf,
        /// Price model: ID@VERSION, ID, or a model file
        #[arg(long)]
        model: String,
        /// The market-value methodology the judgement comes from: ID@VERSION, ID or a file
        #[arg(long)]
        from: String,
        /// The calibration recipe [default: calibration.yaml beside the --from file]
        #[arg(long)]
        recipe: Option<PathBuf>,
        /// Where to write the new methodology (never over an input)
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Print the JSON Schema of a methodology file (for editor completion)
    #[command(after_help = "Example:\n  absrate methodology schema > methodology.schema.json")]
    Schema,
}

pub fn run(cmd: MethodologyCommand) -> Result<String, Error> {
    match cmd {
        MethodologyCommand::List { registry } => list(&registry.lookup()),
        MethodologyCommand::Show {
            spec,
            format,
            registry,
        } => {
            let lookup = registry.lookup();
            if let Some(auto) = auto_spec(&lookup, &spec) {
                let m = auto?;
                return match format {
                    Format::Text => Ok(show_auto_text(&m)),
                    Format::Json => json(&m),
                };
            }
            let m = lookup.resolve(&spec)?;
            match format {
                Format::Text => Ok(show_text(&m)),
                Format::Json => json(&ShowJson::of(&m)),
            }
        }
        MethodologyCommand::Check { files, registry } => check(&registry, files),
        MethodologyCommand::Diff {
            a,
            b,
            format,
            registry,
        } => {
            let lookup = registry.lookup();
            for spec in [&a, &b] {
                refuse_auto(&lookup, spec, "diff")?;
            }
            let (ma, mb) = (lookup.resolve(&a)?, lookup.resolve(&b)?);
            let changes = diff(&ma, &mb);
            match format {
                Format::Text => Ok(diff_text(&ma, &mb, &changes)),
                Format::Json => json(&DiffJson {
                    a: ma.name(),
                    b: mb.name(),
                    changes: &changes,
                }),
            }
        }
        MethodologyCommand::Publish { spec, registry } => {
            let Some(reg) = registry.registry() else {
                return Err(no_registry(&registry.lookup()));
            };
            refuse_auto(&Lookup::only(&reg.dir), &spec, "publish")?;
            let m = Lookup::only(&reg.dir).resolve(&spec)?;
            if reg.publish(&m)? {
                Ok(format!(
                    "published {} (sha256 {}) in {}\n",
                    m.name(),
                    m.sha256,
                    reg.lock_path().display()
                ))
            } else {
                Ok(format!(
                    "{} is already published (sha256 {})\n",
                    m.name(),
                    m.sha256
                ))
            }
        }
        MethodologyCommand::Schema => json(&crate::methodology::json_schema()),
        MethodologyCommand::Calibrate {
            prices,
            model,
            from,
            recipe,
            out,
            registry,
        } => {
            let run = crate::app::calibrate::calibrate(&crate::app::calibrate::CalibrateRequest {
                prices,
                model,
                from,
                out,
                recipe,
                methodology_dir: registry.dir,
            })?;
            Ok(run.text)
        }
    }
}

/// No registry directory to publish into: where one was looked for.
fn no_registry(lookup: &Lookup) -> Error {
    let dirs: Vec<String> = lookup
        .looked()
        .iter()
        .filter(|l| l.place != Place::Builtin)
        .map(|l| format!("\n  {l}"))
        .collect();
    Error::Argument(format!(
        "no methodology registry directory; looked in:{}\ngive --dir DIR",
        dirs.concat()
    ))
}

/// A registry entry as `list` reads it.
enum AutoOrBtc {
    /// An auto-loan methodology's (status, title, effective date).
    Auto((String, String, String)),
    Btc(Box<Methodology>),
}

/// `list`'s row of an auto-loan methodology file (docs/auto.md), read by its own loader; `None`
/// for any other file.
fn auto_row(e: &Entry) -> Result<Option<(String, String, String)>, Error> {
    let Place::Dir(d) = &e.place else {
        return Ok(None);
    };
    if !crate::methodology::AutoMethodology::is_auto_file(&e.path) {
        return Ok(None);
    }
    Ok(Some(
        match crate::methodology::AutoMethodology::load(&e.path) {
            Ok(m) => {
                let status = match Registry::new(d).published_sha(&e.path)? {
                    Some(p) if p == m.sha256 => "published",
                    Some(_) => "CHANGED",
                    None => "draft",
                };
                (status.to_string(), m.title, m.effective_date.to_string())
            }
            Err(_) => (
                "INVALID".to_string(),
                "(run `absrate methodology check`)".to_string(),
                String::new(),
            ),
        },
    ))
}

fn list(lookup: &Lookup) -> Result<String, Error> {
    let entries = lookup.entries();
    let from = |e: &Entry| match &e.place {
        Place::Dir(d) => d.display().to_string(),
        Place::Builtin => "built in".to_string(),
    };
    let width = entries
        .iter()
        .map(|e| from(e).len())
        .max()
        .unwrap_or(0)
        .max(4)
        + 2;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{:<34}{:<10}{:<12}{:<16}{:<width$}title",
        "id", "version", "effective", "status", "from"
    );
    for e in &entries {
        let row = match auto_row(e)? {
            Some(row) => Ok(AutoOrBtc::Auto(row)),
            None => e.load().map(|m| AutoOrBtc::Btc(Box::new(m))),
        };
        let (status, title, effective) = match row {
            Ok(AutoOrBtc::Auto(row)) => row,
            Ok(AutoOrBtc::Btc(m)) => {
                let status = match &e.place {
                    // Loaded only if its bytes are the ones the built-in lock records.
                    Place::Builtin => "published",
                    Place::Dir(d) => match Registry::new(d).published_sha(&e.path)? {
                        Some(p) if p == m.sha256 => "published",
                        Some(_) => "CHANGED",
                        None => "draft",
                    },
                };
                (status.to_string(), m.title, m.effective_date.to_string())
            }
            Err(MethodologyError::Conflict { .. }) => (
                "CHANGED".to_string(),
                "(differs from the published version built into absrate)".to_string(),
                String::new(),
            ),
            Err(_) => (
                "INVALID".to_string(),
                "(run `absrate methodology check`)".to_string(),
                String::new(),
            ),
        };
        let _ = writeln!(
            o,
            "{:<34}{:<10}{:<12}{:<16}{:<width$}{}",
            e.id,
            e.version.to_string(),
            effective,
            status,
            from(e),
            title
        );
    }
    Ok(o)
}

fn check(registry: &RegistryArg, files: Vec<PathBuf>) -> Result<String, Error> {
    let Some(reg) = registry.registry() else {
        return if files.is_empty() {
            check_builtin()
        } else {
            // Files outside any registry: every invariant, no lock to compare with.
            check_files(&Registry::new(DIR_NAME), files)
        };
    };
    let files = if files.is_empty() {
        // Every registry file, and every published entry must still exist.
        for (key, _) in reg.published()? {
            if !reg.dir.join(&key).is_file() {
                return Err(Error::Argument(format!(
                    "{}: lists {key}, which is missing from {}: a published version is never removed",
                    reg.lock_path().display(),
                    reg.dir.display()
                )));
            }
        }
        reg.entries().into_iter().map(|e| e.path).collect()
    } else {
        files
    };
    check_files(&reg, files)
}

fn check_files(reg: &Registry, files: Vec<PathBuf>) -> Result<String, Error> {
    // Auto-loan methodologies (docs/auto.md) are checked by their own loader.
    let (auto, files): (Vec<PathBuf>, Vec<PathBuf>) = files
        .into_iter()
        .partition(|f| crate::methodology::AutoMethodology::is_auto_file(f));
    let mut auto_out = String::new();
    for f in &auto {
        let m = crate::methodology::AutoMethodology::load(f)?;
        let status = match reg.published_sha(f) {
            Ok(Some(p)) if p == m.sha256 => "published, unchanged",
            Ok(Some(_)) => "CHANGED",
            _ => "not published",
        };
        let _ = writeln!(
            auto_out,
            "ok: {} ({}, sha256 {}, {status})",
            f.display(),
            m.name(),
            &m.sha256[..12]
        );
    }
    if files.is_empty() {
        return Ok(auto_out);
    }
    check_files_btc(reg, files).map(|o| auto_out + &o)
}

fn check_files_btc(reg: &Registry, files: Vec<PathBuf>) -> Result<String, Error> {
    if files.len() == 1 {
        let m = reg.check(&files[0])?;
        return Ok(check_line(reg, &files[0], &m));
    }
    let mut out = String::new();
    let mut failures = Vec::new();
    for f in &files {
        match reg.check(f) {
            Ok(m) => out.push_str(&check_line(reg, f, &m)),
            Err(e) => failures.push(e.to_string()),
        }
    }
    if failures.is_empty() {
        Ok(out)
    } else {
        Err(Error::Checks {
            checked: files.len(),
            failures,
        })
    }
}

/// No registry directory anywhere: the built-in versions, each against the built-in lock.
fn check_builtin() -> Result<String, Error> {
    let mut out = String::new();
    for e in builtin_entries() {
        let m = e.load()?;
        let _ = writeln!(
            out,
            "ok: {} ({}, sha256 {}, published, unchanged)",
            e.path.display(),
            m.name(),
            &m.sha256[..12]
        );
    }
    Ok(out)
}

fn check_line(reg: &Registry, path: &std::path::Path, m: &Methodology) -> String {
    let status = match reg.published_sha(path) {
        Ok(Some(_)) => "published, unchanged",
        _ => "not published",
    };
    format!(
        "ok: {} ({}, sha256 {}, {})\n",
        path.display(),
        m.name(),
        &m.sha256[..12],
        status
    )
}

/// `Some` (the auto-loan methodology, or why it does not load) when `spec` names an auto-loan
/// methodology file (docs/auto.md): a file, or a registry entry of that id and version.
fn auto_spec(lookup: &Lookup, spec: &str) -> Option<Result<AutoMethodology, MethodologyError>> {
    let path = Path::new(spec);
    let auto = if path.is_file() {
        AutoMethodology::is_auto_file(path)
    } else {
        let (id, version) = spec.split_once('@').unwrap_or((spec, ""));
        lookup.entries().iter().any(|e| {
            e.id == id
                && (version.is_empty() || e.version.to_string() == version)
                && AutoMethodology::is_auto_file(&e.path)
        })
    };
    auto.then(|| AutoMethodology::resolve(lookup, spec))
}

/// An auto-loan methodology named to a subcommand that reads BTC methodologies only.
fn refuse_auto(lookup: &Lookup, spec: &str, what: &str) -> Result<(), Error> {
    match auto_spec(lookup, spec) {
        None => Ok(()),
        Some(_) => Err(Error::Argument(format!(
            "{spec} is an auto-loan methodology: `methodology {what}` reads the BTC-backed methodologies only so far (`methodology show` and `check` read both; docs/auto.md)"
        ))),
    }
}

/// `methodology show` of an auto-loan methodology: what it is, its cases and its ladder.
fn show_auto_text(m: &AutoMethodology) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{} ({})", m.name(), m.title);
    let _ = writeln!(
        o,
        "effective {}; file {}",
        m.effective_date,
        m.path.display()
    );
    let _ = writeln!(o, "sha256 {}\n", m.sha256);
    let _ = writeln!(o, "{}\n", m.description.trim());
    let _ = writeln!(
        o,
        "Loss timing (a class passes a notch only under every curve and speed):"
    );
    for c in &m.curves {
        let annual: Vec<String> = c
            .annual
            .iter()
            .map(|x| crate::money::pct_dec(*x, 0))
            .collect();
        let _ = writeln!(
            o,
            "  {}: {} by year ({})",
            c.name,
            annual.join(" / "),
            c.source
        );
    }
    let _ = writeln!(o, "Prepayment speeds:");
    for sp in &m.speeds {
        let _ = writeln!(
            o,
            "  {}: {} ABS ({})",
            sp.name,
            crate::money::pct_dec(sp.abs, 2),
            sp.source
        );
    }
    let _ = writeln!(
        o,
        "Recovery lag: {} months ({})\nClean-up call exercised: {} ({})\nPass criteria: {}\n",
        m.recovery_lag_months,
        m.recovery_lag_source,
        if m.clean_up_call_exercised {
            "yes"
        } else {
            "no"
        },
        m.clean_up_call_source,
        m.pass_criteria_source
    );
    let mut t = Table::new(
        ["level", "x ECNL", "recovery haircut", "source"]
            .map(String::from)
            .to_vec(),
    )
    .align(3, Align::Left);
    for l in &m.levels {
        t.row(vec![
            l.notch.to_string(),
            format!("{:.2}", l.cnl_multiple.round_dp(2)),
            crate::money::pct_dec(l.recovery_haircut, 0),
            match l.interpolated {
                Some((a, b)) => format!("interpolated between '{a}' and '{b}'"),
                None => l.source.clone(),
            },
        ]);
    }
    o.push_str(&t.render("  "));
    o
}

fn show_text(m: &Methodology) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{} - {}", m.name(), m.title);
    let _ = writeln!(
        o,
        "effective {}; supersedes {}; sha256 {}",
        m.effective_date,
        m.supersedes.as_deref().unwrap_or("nothing"),
        m.sha256
    );
    let _ = writeln!(
        o,
        "base case: default {}, recovery {}; money rounded to {} places ({:?}); notches between anchors: {:?}",
        Value::Decimal(m.base_case.default_rate.value).show(Kind::Share),
        Value::Decimal(m.base_case.recovery_rate.value).show(Kind::Share),
        m.rounding.money_places,
        m.rounding.strategy,
        m.interpolation
    );
    let _ = writeln!(
        o,
        "pass criteria: senior {:?} interest, subordinate {:?} interest; principal by legal final",
        m.pass_criteria.senior.interest, m.pass_criteria.subordinate.interest
    );
    // One table per parameter group of the declaration (`FIELDS`), headed by its labels; the
    // default-timing curve is listed after the tables.
    for group in Group::ALL {
        let mut idx: Vec<usize> = FIELDS
            .iter()
            .enumerate()
            .filter(|(_, f)| f.group == group && f.applies.to(m.mode) && f.kind != Kind::Curve)
            .map(|(i, _)| i)
            .collect();
        // Numbers first, then names (order, shape, behaviour), each in declaration order.
        idx.sort_by_key(|i| matches!(FIELDS[*i].kind, Kind::Text | Kind::Order));
        if idx.is_empty() {
            continue;
        }
        let title = group.heading();
        let _ = writeln!(o, "\n{title}");
        let mut t =
            Table::new(std::iter::once("level").chain(idx.iter().map(|i| FIELDS[*i].label)));
        // Names (shapes, borrower behaviour, order) read left to right; numbers align right.
        for (col, i) in idx.iter().enumerate() {
            if matches!(FIELDS[*i].kind, Kind::Text | Kind::Order) {
                t = t.align(col + 1, Align::Left);
            }
        }
        for l in &m.levels {
            let mark = if l.anchor { "" } else { " ~" };
            t.row(
                std::iter::once(format!("{}{}", l.notch, mark))
                    .chain(idx.iter().map(|i| l.params[*i].value.show(FIELDS[*i].kind))),
            );
        }
        o.push_str(&t.render("  "));
    }
    if m.mode == crate::methodology::Mode::MarketValue {
        let _ = writeln!(
            o,
            "\nDefault rate, timing and recovery: derived level by level by the liquidation engine (docs/market.md)"
        );
    }
    if m.mode == crate::methodology::Mode::DefaultAndRecovery {
        let _ = writeln!(o, "\nDefault timing (share of defaults per month)");
        let timing = FIELDS
            .iter()
            .position(|f| f.name == "default_timing")
            .unwrap_or(1);
        let mut seen: Vec<(String, Vec<String>)> = Vec::new();
        for l in &m.levels {
            let curve = l.params[timing].value.to_string();
            match seen.iter_mut().find(|(c, _)| *c == curve) {
                Some((_, notches)) => notches.push(l.notch.to_string()),
                None => seen.push((curve, vec![l.notch.to_string()])),
            }
        }
        for (curve, notches) in seen {
            let _ = writeln!(o, "  {}: {}", notches.join(", "), curve);
        }
    }
    o.push_str(&crate::report::overlays::listing(m));
    if let Some(c) = &m.calibration {
        let _ = writeln!(
            o,
            "\nComputed by `absrate methodology calibrate` (docs/calibration.md): the price paths and gaps of every anchor level\n  from {} (sha256 {}), {} paths, seed {}\n  prices {} (sha256 {}); {}\n  recipe {} (sha256 {})\n  rerun: {} --out FILE",
            c.price_model,
            c.price_model_sha256,
            c.paths,
            c.seed,
            c.prices,
            c.prices_sha256,
            c.history,
            c.recipe,
            c.recipe_sha256,
            c.command
        );
    }
    let _ = writeln!(
        o,
        "\n~ interpolated between the anchors given in the file; provenance of each value: --format json"
    );
    o
}

fn diff_text(a: &Methodology, b: &Methodology, changes: &[Change]) -> String {
    let mut o = format!("{} -> {}: ", a.name(), b.name());
    if changes.is_empty() {
        o.push_str("no parameter differs\n");
        return o;
    }
    let _ = writeln!(
        o,
        "{} parameter{} differ{}",
        changes.len(),
        if changes.len() == 1 { "" } else { "s" },
        if changes.len() == 1 { "s" } else { "" }
    );
    // Columns as wide as their widest cell.
    let mut t = crate::report::table::Table::new(["level", "field", "old", "new"])
        .align(1, crate::report::table::Align::Left);
    for c in changes {
        t.row([
            c.level.clone(),
            c.field.clone(),
            c.old.clone(),
            c.new.clone(),
        ]);
    }
    o.push_str(&t.render("  "));
    o
}
