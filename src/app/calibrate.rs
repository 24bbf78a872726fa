//! `absrate methodology calibrate`: reads the methodology the judgement comes from, the recipe,
//! the price model and the price file; computes the ladder (`crate::calibrate`); writes the new
//! methodology after reading it back through the strict loader. One output, written whole.

use std::path::{Path, PathBuf};

use sha2::Digest as _;

use crate::calibrate::{self, Calibrated, Inputs, Recipe};
use crate::error::Error;
use crate::methodology::{Lookup, Methodology, MethodologyError, MethodologyFile, builtin_files};
use crate::output::Transaction;
use crate::price::{DATE_COLUMN, History, ModelLookup, PRICE_COLUMN};
use crate::report::table::Table;

/// The recipe's file name beside the versions of its methodology.
pub const RECIPE: &str = "calibration.yaml";

#[derive(Debug, Clone)]
pub struct CalibrateRequest {
    pub prices: PathBuf,
    pub model: String,
    pub from: String,
    pub out: PathBuf,
    /// Default: `calibration.yaml` beside the `--from` version's file.
    pub recipe: Option<PathBuf>,
    pub methodology_dir: Option<PathBuf>,
}

impl CalibrateRequest {
    /// The command line that computes the same file (with `--out FILE`), as recorded in it: the
    /// arguments as given, so it reruns from the directory it was run in.
    pub fn command(&self) -> String {
        let mut c = format!(
            "absrate methodology calibrate --prices {} --model {} --from {}",
            self.prices.display(),
            self.model,
            self.from,
        );
        if let Some(r) = &self.recipe {
            c.push_str(&format!(" --recipe {}", r.display()));
        }
        c
    }
}

/// `bytes` as text; `path` names the file in the error.
fn text_of(path: &Path, bytes: Vec<u8>) -> Result<String, MethodologyError> {
    String::from_utf8(bytes).map_err(|_| MethodologyError::Read {
        path: path.to_path_buf(),
        message: "not UTF-8 text".into(),
    })
}

/// The methodology's file as written (its registry file, or the built-in bytes).
fn from_file(m: &Methodology) -> Result<MethodologyFile, Error> {
    let bytes = if m.path.is_file() {
        crate::input::read(&m.path).map_err(|message| MethodologyError::Read {
            path: m.path.clone(),
            message,
        })?
    } else {
        let key = format!("{}/{}.yaml", m.id, m.version);
        builtin_files(&key)?
            .into_iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, b, _)| b.to_vec())
            .ok_or_else(|| Error::Argument(format!("{}: not found", m.name())))?
    };
    let text = text_of(&m.path, bytes)?;
    let file: MethodologyFile =
        crate::yaml::from_str(&m.path, &text).map_err(|e| MethodologyError::Yaml {
            source: e,
            hint: None,
        })?;
    Ok(file)
}

/// What `calibrate` prints, and the result.
pub struct CalibrateRun {
    pub text: String,
    pub calibrated: Calibrated,
}

pub fn calibrate(req: &CalibrateRequest) -> Result<CalibrateRun, Error> {
    let lookup = Lookup::new(req.methodology_dir.as_deref(), Path::new("."));
    let m = lookup.resolve(&req.from)?;
    let from = from_file(&m)?;
    let recipe_path = match &req.recipe {
        Some(p) => p.clone(),
        None if m.path.is_file() => m.path.with_file_name(RECIPE),
        None => {
            return Err(Error::Argument(format!(
                "{} is built into absrate, with no recipe beside it: give --recipe FILE (docs/calibration.md)",
                m.name()
            )));
        }
    };
    let recipe_bytes =
        crate::input::read(&recipe_path).map_err(|message| MethodologyError::Read {
            path: recipe_path.clone(),
            message,
        })?;
    let recipe_sha256: String = sha2::Sha256::digest(&recipe_bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let recipe_text = text_of(&recipe_path, recipe_bytes)?;
    let recipe = Recipe::parse(&recipe_path, &recipe_text)?;
    let model = ModelLookup::new(req.methodology_dir.as_deref(), Path::new("."))
        .with_prices(Some(req.prices.clone()))
        .resolve(&req.model)
        .map_err(|e| Error::Price(Box::new(e)))?;
    let history = History::read(
        &req.prices,
        DATE_COLUMN,
        PRICE_COLUMN,
        Some(recipe.file.history_since.value),
        None,
    )
    .map_err(|e| Error::Price(Box::new(e)))?;
    let inputs = Inputs {
        from,
        from_path: m.path.clone(),
        model,
        history,
        recipe,
        recipe_name: recipe_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        recipe_sha256,
        command: req.command(),
    };
    let calibrated = calibrate::calibrate(&inputs)?;
    let header = vec![
        format!(
            "{}@{}: computed by `absrate methodology calibrate` (docs/calibration.md); never edit it by hand.",
            calibrated.file.id, calibrated.file.version
        ),
        format!(
            "Judgement from {}@{} and {}; each computed value's source says how it was computed;",
            inputs.from.id, inputs.from.version, inputs.recipe_name
        ),
        "`calibration` records the inputs: its `command`, with `--out FILE`, writes this file byte for byte.".into(),
    ];
    let text = calibrate::write::methodology_yaml(&calibrated.file, &header)
        .map_err(|e| Error::Argument(format!("cannot write the methodology: {e}")))?;
    // What is written must read back as itself, through the loader `rate` uses.
    let back: MethodologyFile =
        crate::yaml::from_str(&req.out, &text).map_err(|e| MethodologyError::Yaml {
            source: e,
            hint: None,
        })?;
    if back != calibrated.file {
        return Err(Error::Argument(
            "internal: the written methodology does not read back as computed".into(),
        ));
    }
    Methodology::from_bytes(&req.out, text.clone().into_bytes())?;
    let mut tx = Transaction::new();
    tx.protect(&req.prices);
    tx.protect(&recipe_path);
    if m.path.is_file() {
        tx.protect(&m.path);
    }
    tx.add(&req.out, text.into_bytes());
    tx.commit()?;
    let mut summary = summary(&calibrated, &inputs);
    if inputs.model.file.fitted_from.sha256 != inputs.history.sha256 {
        summary.push_str(&format!(
            "note: {} was fitted to a price file with SHA-256 {}, not {} ({}): the trough's history check reads this file, the paths come from the model as fitted\n",
            inputs.model.file.name(),
            inputs.model.file.fitted_from.sha256,
            inputs.history.name,
            inputs.history.sha256
        ));
    }
    summary.push_str(&format!("wrote {}\n", req.out.display()));
    Ok(CalibrateRun {
        text: summary,
        calibrated,
    })
}

fn summary(c: &Calibrated, inputs: &Inputs) -> String {
    let s = &c.settings;
    let mut out = format!(
        "{}@{} from {}@{}: {} paths of {} days from {}, seed {}\n\n",
        c.file.id,
        c.file.version,
        inputs.from.id,
        inputs.from.version,
        s.paths,
        s.horizon_days,
        inputs.model.file.name(),
        s.seed
    );
    let mut t = Table::new([
        "level",
        "probability",
        "model fall",
        "history",
        "trough",
        "days",
        "model gap",
        "gap",
    ]);

    for (n, f) in &c.levels {
        let l = &c.file.levels[&n.to_string()];
        let v = |d: Option<&crate::methodology::Sourced<rust_decimal::Decimal>>| {
            d.map(|s| {
                format!(
                    "{}%",
                    (s.value * rust_decimal::Decimal::ONE_HUNDRED).normalize()
                )
            })
            .unwrap_or_default()
        };
        t.row(vec![
            n.to_string(),
            format!("{:.6}%", f.probability * 100.0),
            format!("{:.2}%", f.model_fall * 100.0),
            f.history_fall
                .map(|h| format!("{:.2}%", h * 100.0))
                .unwrap_or_else(|| "-".into()),
            v(l.btc_trough.as_ref()),
            f.days_to_trough.to_string(),
            format!("{:.2}%", f.model_gap * 100.0),
            v(l.liquidation_gap.as_ref()),
        ]);
    }
    out.push_str(&t.render(""));
    out
}
