//! Where a price model named `ID@VERSION`, `ID` (its newest version) or a path is looked for:
//! `models/` in the methodology registry directories, in the order the methodologies use
//! (`--methodology-dir`, then `methodology/` in the start directory and each parent), then the
//! published models built into absrate. Published models are pinned in the same lock file as the
//! methodologies (`methodology/published.lock`, key `models/<id>/<version>.yaml`) and never
//! change: a registry file whose bytes differ from its lock entry, or from the built-in version
//! of the same `id@version`, is refused.
//!
//! A bootstrap model resamples a price file that is never part of the repository (licence): it
//! is named by file name and SHA-256 and looked for at the path given, else in `shared/data/`
//! beside the start directory, the model file or any of their parents (so `../shared/data`
//! relative to the repository); a file with other bytes is refused.

use std::path::{Path, PathBuf};

use super::PriceModel;
use super::error::PriceError;
use super::file::ModelFile;
use super::history::sha256_hex;
use crate::methodology::{DIR_NAME, Registry, builtin_files, versioned_files};

/// The directory inside a methodology registry that holds the models.
pub const MODELS_DIR: &str = "models";

/// Where price files are looked for, relative to a directory or one of its parents.
pub const SHARED_DATA: &str = "shared/data";

/// How messages name the built-in set.
pub const BUILTIN_MODELS: &str = "the price models built into absrate";

/// `<methodology dir>/models`.
pub fn models_dir(methodology_dir: &Path) -> PathBuf {
    methodology_dir.join(MODELS_DIR)
}

/// A model version found in a registry directory or built in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelEntry {
    pub id: String,
    pub version: semver::Version,
    /// The file (for a built-in version, the name messages give it).
    pub path: PathBuf,
    /// The methodology registry directory it is in; `None`: built into absrate.
    pub registry: Option<PathBuf>,
}

impl ModelEntry {
    pub fn name(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }

    /// The lock-file key, `models/<id>/<version>.yaml`.
    pub fn key(&self) -> String {
        format!("{MODELS_DIR}/{}/{}.yaml", self.id, self.version)
    }
}

/// A model file and the model built from it.
#[derive(Debug, Clone)]
pub struct LoadedModel {
    pub file: ModelFile,
    pub model: PriceModel,
    /// The price file a bootstrap resamples.
    pub prices: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct ModelLookup {
    /// Methodology registry directories in search order, whether or not they exist.
    dirs: Vec<PathBuf>,
    start: PathBuf,
    prices: Option<PathBuf>,
}

impl ModelLookup {
    /// `methodology_dir` (`--methodology-dir`), then `methodology/` in `start` and each of its
    /// parents, then the built-in set.
    pub fn new(methodology_dir: Option<&Path>, start: &Path) -> ModelLookup {
        let start = absolute(if start.as_os_str().is_empty() {
            Path::new(".")
        } else {
            start
        });
        let mut dirs: Vec<PathBuf> = methodology_dir.map(absolute).into_iter().collect();
        for d in start.ancestors().map(|a| a.join(DIR_NAME)) {
            if !dirs.contains(&d) {
                dirs.push(d);
            }
        }
        ModelLookup {
            dirs,
            start,
            prices: None,
        }
    }

    /// The price file (or a directory holding it) a bootstrap model resamples, looked at first.
    pub fn with_prices(mut self, prices: Option<PathBuf>) -> ModelLookup {
        self.prices = prices;
        self
    }

    /// Every model version found, each `id@version` once (from the first place that has it).
    pub fn entries(&self) -> Vec<ModelEntry> {
        let mut out: Vec<ModelEntry> = Vec::new();
        let found = self
            .dirs
            .iter()
            .flat_map(|d| dir_entries(d))
            .chain(builtin_entries());
        for e in found {
            if !out.iter().any(|o| o.id == e.id && o.version == e.version) {
                out.push(e);
            }
        }
        out.sort_by(|a, b| (&a.id, &a.version).cmp(&(&b.id, &b.version)));
        out
    }

    /// The model file `spec` names: a path, `id@version` or `id` (the newest version).
    pub fn file(&self, spec: &str) -> Result<ModelFile, PriceError> {
        let as_path = Path::new(spec);
        if as_path.is_file() {
            // A file named by its path is a draft: not checked against the lock.
            return ModelFile::load(as_path);
        }
        let (id, version) = match spec.split_once('@') {
            Some((id, v)) => (id, Some(v)),
            None => (spec, None),
        };
        let found = self
            .entries()
            .into_iter()
            .filter(|e| e.id == id)
            .filter(|e| version.is_none_or(|v| e.version.to_string() == v))
            .max_by(|a, b| a.version.cmp(&b.version));
        match found {
            Some(e) => load_entry(&e),
            // A path that is there but is no file (a directory): why it cannot be read.
            None if as_path.exists() => ModelFile::load(as_path),
            None => Err(PriceError::NotFound {
                spec: spec.to_string(),
                looked: self.looked(),
            }),
        }
    }

    /// The model `spec` names, ready to simulate (a bootstrap with its price file).
    pub fn resolve(&self, spec: &str) -> Result<LoadedModel, PriceError> {
        let file = self.file(spec)?;
        let prices = match file.kind() {
            super::ModelKind::Bootstrap => Some(self.find_prices(&file)?),
            _ => None,
        };
        let model = file.build(prices.as_deref())?;
        Ok(LoadedModel {
            file,
            model,
            prices,
        })
    }

    /// The price file a bootstrap model was fitted to: the path given, else `shared/data/<name>`
    /// beside the start directory, the model file or one of their parents.
    fn find_prices(&self, file: &ModelFile) -> Result<PathBuf, PriceError> {
        let name = &file.fitted_from.prices;
        let mut looked: Vec<PathBuf> = Vec::new();
        if let Some(p) = &self.prices {
            looked.push(if p.is_dir() { p.join(name) } else { p.clone() });
        } else {
            let beside_file = file
                .path
                .parent()
                .filter(|p| p.is_dir())
                .map(absolute)
                .into_iter();
            for base in std::iter::once(self.start.clone()).chain(beside_file) {
                for a in base.ancestors() {
                    let c = a.join(SHARED_DATA).join(name);
                    if !looked.contains(&c) {
                        looked.push(c);
                    }
                }
            }
        }
        match looked.iter().find(|p| p.is_file()) {
            Some(p) => Ok(p.clone()),
            None => Err(PriceError::PricesNotFound {
                model: file.name(),
                file: name.clone(),
                sha256: file.fitted_from.sha256.clone(),
                looked,
            }),
        }
    }

    /// Every place looked in, with what it holds.
    fn looked(&self) -> Vec<String> {
        let list = |v: Vec<ModelEntry>| {
            if v.is_empty() {
                "(none)".to_string()
            } else {
                format!(
                    "({})",
                    v.iter()
                        .map(ModelEntry::name)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        };
        self.dirs
            .iter()
            .map(|d| {
                let m = models_dir(d);
                if m.is_dir() {
                    format!("{} {}", m.display(), list(dir_entries(d)))
                } else {
                    format!("{} (no such directory)", m.display())
                }
            })
            .chain([format!("{BUILTIN_MODELS} {}", list(builtin_entries()))])
            .collect()
    }
}

/// The model a `--model` argument names (`btc-garch-t`, `btc-garch-t@1.0.0` or a path), looked
/// for from the current directory; a bootstrap's price file in `shared/data/` above it.
pub fn load(spec: &str) -> Result<PriceModel, PriceError> {
    ModelLookup::new(None, Path::new("."))
        .resolve(spec)
        .map(|l| l.model)
}

/// `models/<id>/<version>.yaml` in a methodology registry directory.
fn dir_entries(methodology_dir: &Path) -> Vec<ModelEntry> {
    versioned_files(&models_dir(methodology_dir))
        .into_iter()
        .map(|(id, version, path)| ModelEntry {
            id,
            version,
            path,
            registry: Some(methodology_dir.to_path_buf()),
        })
        .collect()
}

/// The name a built-in file goes by in messages.
fn builtin_path(key: &str) -> PathBuf {
    PathBuf::from(format!("(built into absrate)/{key}"))
}

/// Every built-in model version (the lock's `models/<id>/<version>.yaml` entries).
pub fn builtin_entries() -> Vec<ModelEntry> {
    let Ok(files) = builtin_files(&format!("{MODELS_DIR}/")) else {
        return Vec::new();
    };
    let mut out: Vec<ModelEntry> = files
        .into_iter()
        .filter_map(|(key, _, _)| {
            let rest = key.strip_prefix(MODELS_DIR)?.strip_prefix('/')?;
            let (id, file) = rest.split_once('/')?;
            let version = semver::Version::parse(file.strip_suffix(".yaml")?).ok()?;
            Some(ModelEntry {
                id: id.to_string(),
                version,
                path: builtin_path(key),
                registry: None,
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.id, &a.version).cmp(&(&b.id, &b.version)));
    out
}

/// The built-in bytes of `key` and the SHA-256 the built-in lock records.
fn builtin_bytes(key: &str) -> Result<Option<(&'static [u8], String)>, PriceError> {
    Ok(builtin_files(key)?
        .into_iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, b, s)| (b, s)))
}

/// Loads a version from its place, with the checks that keep a published model unchanged.
fn load_entry(e: &ModelEntry) -> Result<ModelFile, PriceError> {
    let key = e.key();
    let Some(dir) = &e.registry else {
        let (bytes, published) = builtin_bytes(&key)?.unwrap_or_default();
        let actual = sha256_hex(bytes);
        if actual != published {
            return Err(PriceError::Builtin {
                key,
                published,
                actual,
            });
        }
        return ModelFile::from_bytes(&builtin_path(&key), bytes);
    };
    let m = ModelFile::load(&e.path)?;
    if m.id != e.id || m.version != e.version {
        return Err(PriceError::Misplaced {
            path: e.path.clone(),
            found: m.name(),
            expected: e.name(),
        });
    }
    let registry = Registry::new(dir);
    if let Some((_, published)) = registry.published()?.into_iter().find(|(k, _)| *k == key)
        && published != m.sha256
    {
        return Err(PriceError::Changed {
            path: e.path.clone(),
            lock: registry.lock_path(),
            published,
            actual: m.sha256,
        });
    }
    if let Some((_, published)) = builtin_bytes(&key)?
        && published != m.sha256
    {
        return Err(PriceError::Conflict {
            path: e.path.clone(),
            name: m.name(),
            published,
            actual: m.sha256,
        });
    }
    Ok(m)
}

/// `path` from the root, as written otherwise (no symbolic links resolved).
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
