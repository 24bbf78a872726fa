//! The registry: `methodology/<id>/<version>.yaml`, chosen by `id@version`, by `id` (the newest
//! version) or by path; and the lock file `methodology/published.lock` that pins each published
//! version's SHA-256 so that a published file can never change under an analyst.
//!
//! The lock file uses `sha256sum` format (`<hex>  <id>/<version>.yaml`), so
//! `cd methodology && sha256sum -c published.lock` checks it without absrate.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::builtin;
use super::error::{Looked, MethodologyError};
use super::model::{Methodology, hex};

pub const LOCK_FILE: &str = "published.lock";

/// Where a version comes from: a registry directory or the set built into absrate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    Dir(PathBuf),
    Builtin,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Dir(d) => write!(f, "{}", d.display()),
            Place::Builtin => f.write_str(super::builtin::BUILTIN),
        }
    }
}

/// One version found in a registry directory or built into absrate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub version: semver::Version,
    /// The file (for a built-in version, the name messages give it).
    pub path: PathBuf,
    pub place: Place,
}

impl Entry {
    /// The entry a lock-file key `<id>/<version>.yaml` names, if it is one.
    pub fn of_key(key: &str, path: PathBuf, place: Place) -> Option<Entry> {
        let (id, file) = key.split_once('/')?;
        let version = semver::Version::parse(file.strip_suffix(".yaml")?).ok()?;
        Some(Entry {
            id: id.to_string(),
            version,
            path,
            place,
        })
    }

    pub fn name(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }

    /// Path relative to the registry directory, as the lock file writes it.
    pub fn key(&self) -> String {
        format!("{}/{}.yaml", self.id, self.version)
    }
}

#[derive(Debug, Clone)]
pub struct Registry {
    pub dir: PathBuf,
}

impl Registry {
    pub fn new(dir: impl Into<PathBuf>) -> Registry {
        Registry { dir: dir.into() }
    }

    pub fn lock_path(&self) -> PathBuf {
        self.dir.join(LOCK_FILE)
    }

    /// Every `<id>/<version>.yaml`, by id then version.
    pub fn entries(&self) -> Vec<Entry> {
        versioned_files(&self.dir)
            .into_iter()
            .map(|(id, version, path)| Entry {
                id,
                version,
                path,
                place: Place::Dir(self.dir.clone()),
            })
            .collect()
    }

    /// The methodology a `--methodology` argument names, looked for in this directory and then
    /// among the built-in ones: see [`Lookup`](super::Lookup).
    pub fn resolve(&self, spec: &str) -> Result<Methodology, MethodologyError> {
        super::Lookup::only(&self.dir).resolve(spec)
    }

    /// The lock file's entries: (relative path, sha256).
    pub fn published(&self) -> Result<Vec<(String, String)>, MethodologyError> {
        let path = self.lock_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(MethodologyError::Read {
                    path,
                    message: crate::input::reason(&e),
                });
            }
        };
        parse_lock(&path, &text)
    }

    /// The published SHA-256 of a file in the registry, if it is published.
    pub fn published_sha(&self, path: &Path) -> Result<Option<String>, MethodologyError> {
        let Some(key) = self.key_of(path) else {
            return Ok(None);
        };
        Ok(self
            .published()?
            .into_iter()
            .find(|(f, _)| *f == key)
            .map(|(_, s)| s))
    }

    /// `<id>/<version>.yaml` for a file inside the registry directory.
    fn key_of(&self, path: &Path) -> Option<String> {
        let dir = self.dir.canonicalize().ok()?;
        let file = path.canonicalize().ok()?;
        let rel = file.strip_prefix(&dir).ok()?;
        Some(rel.to_string_lossy().replace('\\', "/"))
    }

    /// Loads and checks a file; a published file must still have its published SHA-256, in this
    /// directory's lock and, for a file of the registry, in the lock built into absrate.
    pub fn check(&self, path: &Path) -> Result<Methodology, MethodologyError> {
        let m = Methodology::load(path)?;
        if let Some(published) = self.published_sha(path)?
            && published != m.sha256
        {
            return Err(MethodologyError::Changed {
                path: path.to_path_buf(),
                lock: self.lock_path(),
                published,
                actual: m.sha256,
            });
        }
        if self.key_of(path).is_some() {
            builtin::same_as_published(&m)?;
        }
        Ok(m)
    }

    /// What this directory holds, for a message that says where a methodology was looked for.
    pub fn looked(&self) -> Looked {
        Looked {
            place: Place::Dir(self.dir.clone()),
            versions: self
                .dir
                .is_dir()
                .then(|| self.entries().iter().map(Entry::name).collect()),
        }
    }

    /// Records a registry file's SHA-256 in the lock file (once: a published entry never changes).
    pub fn publish(&self, m: &Methodology) -> Result<bool, MethodologyError> {
        let entry = self
            .entries()
            .into_iter()
            .find(|e| e.id == m.id && e.version == m.version)
            .ok_or_else(|| MethodologyError::NotFound {
                spec: m.name(),
                looked: vec![self.looked()],
            })?;
        if let Some(published) = self.published_sha(&entry.path)? {
            if published != m.sha256 {
                return Err(MethodologyError::Changed {
                    path: entry.path,
                    lock: self.lock_path(),
                    published,
                    actual: m.sha256.clone(),
                });
            }
            return Ok(false);
        }
        let lock = self.lock_path();
        let mut text = std::fs::read_to_string(&lock).unwrap_or_else(|_| {
            "# Published methodology versions: never edit a listed file; publish a new version.\n\
             # Check without absrate: cd methodology && sha256sum -c published.lock\n"
                .to_string()
        });
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&format!("{}  {}\n", m.sha256, entry.key()));
        crate::output::write_file(&lock, text.as_bytes()).map_err(|e| MethodologyError::Write {
            path: e.path,
            message: e.message,
        })?;
        Ok(true)
    }
}

/// A lock file's entries: (`<id>/<version>.yaml`, sha256), in file order.
pub fn parse_lock(path: &Path, text: &str) -> Result<Vec<(String, String)>, MethodologyError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((sha, file)) = line.split_once("  ") else {
            return Err(MethodologyError::Lock {
                path: path.to_path_buf(),
                line: i + 1,
                message: "expected `<sha256>  <id>/<version>.yaml`".into(),
            });
        };
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(MethodologyError::Lock {
                path: path.to_path_buf(),
                line: i + 1,
                message: format!("`{sha}` is not a SHA-256 in hex"),
            });
        }
        out.push((file.trim().to_string(), sha.to_ascii_lowercase()));
    }
    Ok(out)
}

/// SHA-256 of a file's bytes, lowercase hex.
/// Every `<id>/<version>.yaml` under `dir` (a version that is not semver is skipped), as
/// `(id, version, path)`, by id then version; none when `dir` cannot be read. Methodologies and
/// price models are laid out alike.
pub fn versioned_files(dir: &Path) -> Vec<(String, semver::Version, PathBuf)> {
    let mut out = Vec::new();
    let Ok(ids) = std::fs::read_dir(dir) else {
        return out;
    };
    for id in ids.flatten().filter(|e| e.path().is_dir()) {
        let Ok(files) = std::fs::read_dir(id.path()) else {
            continue;
        };
        for f in files.flatten() {
            let p = f.path();
            if p.extension().and_then(|e| e.to_str()) != Some("yaml") {
                continue;
            }
            let Some(version) = p
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| semver::Version::parse(s).ok())
            else {
                continue;
            };
            out.push((id.file_name().to_string_lossy().into_owned(), version, p));
        }
    }
    out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    out
}

pub fn sha256_of(path: &Path) -> Result<String, MethodologyError> {
    let bytes = crate::input::read(path).map_err(|message| MethodologyError::Read {
        path: path.to_path_buf(),
        message,
    })?;
    Ok(hex(&Sha256::digest(&bytes)))
}
