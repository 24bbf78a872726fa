//! Where `ID@VERSION` and `ID` are looked for, in order: the directory given with
//! `--methodology-dir`, then a `methodology/` directory beside the deal (or, for `absrate
//! methodology`, in the current directory) and in each parent directory up to the root, then the
//! published versions built into absrate. So the bundled deal rates from any directory, and a
//! copied deal rates with no registry at all.
//!
//! Each `id@version` comes from the first place that has it; `ID` alone is the newest version
//! found anywhere. A registry file with the `id@version` of a built-in (published) version must
//! have its bytes: published versions never change, so a difference is an error naming both.

use std::path::{Path, PathBuf};

use super::builtin;
use super::error::{Looked, MethodologyError};
use super::model::Methodology;
use super::registry::{Entry, Place, Registry};

/// The name of a registry directory looked for beside a deal and in its parents.
pub const DIR_NAME: &str = "methodology";

#[derive(Debug, Clone)]
pub struct Lookup {
    /// Registry directories in search order, whether or not they exist (messages name them all).
    dirs: Vec<PathBuf>,
}

impl Lookup {
    /// `explicit` (`--methodology-dir`), then `methodology/` in `start` and each of its parents,
    /// then the built-in set.
    pub fn new(explicit: Option<&Path>, start: &Path) -> Lookup {
        let mut dirs: Vec<PathBuf> = explicit.map(absolute).into_iter().collect();
        let start = absolute(if start.as_os_str().is_empty() {
            Path::new(".")
        } else {
            start
        });
        for dir in start.ancestors().map(|a| a.join(DIR_NAME)) {
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
        Lookup { dirs }
    }

    /// The places a deal's methodology is looked for: beside the deal file and above it.
    pub fn for_deal(explicit: Option<&Path>, deal: &Path) -> Lookup {
        Lookup::new(explicit, deal.parent().unwrap_or(Path::new("")))
    }

    /// One directory, then the built-in set.
    pub fn only(dir: &Path) -> Lookup {
        Lookup {
            dirs: vec![absolute(dir)],
        }
    }

    /// The first registry directory that exists (`absrate methodology check` and `publish` work
    /// on it).
    pub fn first_dir(&self) -> Option<Registry> {
        self.dirs
            .iter()
            .find(|d| d.is_dir())
            .map(|d| Registry::new(d.clone()))
    }

    /// Every version found, each `id@version` once (from the first place that has it), by id
    /// then version.
    pub fn entries(&self) -> Vec<Entry> {
        let mut out: Vec<Entry> = Vec::new();
        let found = self
            .dirs
            .iter()
            .flat_map(|d| Registry::new(d.clone()).entries())
            .chain(builtin::entries());
        for e in found {
            if !out.iter().any(|o| o.id == e.id && o.version == e.version) {
                out.push(e);
            }
        }
        out.sort_by(|a, b| (&a.id, &a.version).cmp(&(&b.id, &b.version)));
        out
    }

    /// Every place looked in, with what it holds.
    pub fn looked(&self) -> Vec<Looked> {
        self.dirs
            .iter()
            .map(|d| Registry::new(d.clone()).looked())
            .chain([builtin::looked()])
            .collect()
    }

    /// The methodology a `--methodology` argument (or a deal) names: a path to a file,
    /// `id@version`, or `id` (its newest version).
    pub fn resolve(&self, spec: &str) -> Result<Methodology, MethodologyError> {
        let as_path = Path::new(spec);
        if as_path.is_file() {
            // A file named by its path is a draft as far as the registry knows: not checked
            // against the published versions (`absrate methodology diff` compares drafts).
            return Methodology::load(as_path);
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
            Some(entry) => entry.load(),
            // A path that is there but is no file (a directory): why it cannot be read, rather
            // than the registries' list. An id is looked up first, so a directory that happens to
            // share an id's name never hides it.
            None if as_path.exists() => Methodology::load(as_path),
            None => Err(MethodologyError::NotFound {
                spec: spec.to_string(),
                looked: self.looked(),
            }),
        }
    }
}

impl Entry {
    /// Loads the version from its place; a registry file must be where its id@version says, and
    /// have the published bytes if that version is built in.
    pub fn load(&self) -> Result<Methodology, MethodologyError> {
        if self.place == Place::Builtin {
            return builtin::load(self);
        }
        let m = Methodology::load(&self.path)?;
        if m.id != self.id || m.version != self.version {
            return Err(MethodologyError::Misplaced {
                path: self.path.clone(),
                found: m.name(),
                expected: self.name(),
            });
        }
        builtin::same_as_published(&m)?;
        Ok(m)
    }
}

/// `path` from the root, as written otherwise (no symbolic links resolved): messages then name
/// the same directory whatever the current directory.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
