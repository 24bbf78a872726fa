//! The published methodologies built into the binary, so that an installed `absrate` rates a
//! deal from any directory, with no `methodology/` directory anywhere.
//!
//! `build.rs` embeds every file that `methodology/published.lock` lists; the lock itself is
//! embedded here. A built-in file is used only if its SHA-256 is the one the built-in lock
//! records, so a built-in version is byte for byte the published one.
//!
//! The lock also lists the published price models (`models/<id>/<version>.yaml`, issue 12); they
//! are embedded the same way and read through [`published_files`] by `src/price/lookup.rs`.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::error::{Looked, MethodologyError};
use super::model::{Methodology, hex};
use super::registry::{Entry, LOCK_FILE, Place, parse_lock};

/// `(<id>/<version>.yaml, bytes)` for every published file, in lock-file order.
static FILES: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/builtin.rs"));
static LOCK: &str = include_str!("../../methodology/published.lock");

/// How messages name the built-in set.
pub const BUILTIN: &str = "the methodologies built into absrate";

/// The name a built-in file goes by in messages and in [`Methodology::path`].
fn path_of(key: &str) -> PathBuf {
    PathBuf::from(format!("(built into absrate)/{key}"))
}

/// The built-in lock: (`<id>/<version>.yaml`, sha256).
fn lock() -> Result<Vec<(String, String)>, MethodologyError> {
    parse_lock(&path_of(LOCK_FILE), LOCK)
}

/// An embedded file: its lock key, its bytes, the SHA-256 the built-in lock records for it.
pub type PublishedFile = (&'static str, &'static [u8], String);

/// Every embedded file whose lock key starts with `prefix`: (key, bytes, the SHA-256 the
/// built-in lock records for it), in lock-file order.
pub fn published_files(prefix: &str) -> Result<Vec<PublishedFile>, MethodologyError> {
    let lock = lock()?;
    Ok(FILES
        .iter()
        .filter(|(key, _)| key.starts_with(prefix))
        .map(|(key, bytes)| {
            let sha = lock
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, s)| s.clone())
                .unwrap_or_default();
            (*key, *bytes, sha)
        })
        .collect())
}

/// Every built-in version, by id then version.
pub fn entries() -> Vec<Entry> {
    let mut out: Vec<Entry> = FILES
        .iter()
        .filter_map(|(key, _)| Entry::of_key(key, path_of(key), Place::Builtin))
        .collect();
    out.sort_by(|a, b| (&a.id, &a.version).cmp(&(&b.id, &b.version)));
    out
}

/// The built-in set, for a message that says where a methodology was looked for.
pub fn looked() -> Looked {
    Looked {
        place: Place::Builtin,
        versions: Some(entries().iter().map(Entry::name).collect()),
    }
}

/// The published SHA-256 of a built-in `id@version`, if it is built in.
pub fn published_sha(
    id: &str,
    version: &semver::Version,
) -> Result<Option<String>, MethodologyError> {
    let key = format!("{id}/{version}.yaml");
    Ok(lock()?.into_iter().find(|(k, _)| *k == key).map(|(_, s)| s))
}

/// A registry file with a built-in `id@version` must have its published bytes.
pub fn same_as_published(m: &Methodology) -> Result<(), MethodologyError> {
    match published_sha(&m.id, &m.version)? {
        Some(published) if published != m.sha256 => Err(MethodologyError::Conflict {
            path: m.path.clone(),
            name: m.name(),
            published,
            actual: m.sha256.clone(),
        }),
        _ => Ok(()),
    }
}

/// Loads a built-in version, after checking its bytes against the built-in lock.
pub fn load(entry: &Entry) -> Result<Methodology, MethodologyError> {
    let key = entry.key();
    let bytes = FILES
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, b)| *b)
        .unwrap_or_default();
    let actual = hex(&Sha256::digest(bytes));
    let published = published_sha(&entry.id, &entry.version)?.unwrap_or_default();
    if published != actual {
        return Err(MethodologyError::Builtin {
            key,
            published,
            actual,
        });
    }
    Methodology::from_bytes(&path_of(&key), bytes.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_published_file_is_built_in_and_loads_with_its_published_sha256() {
        let lock = lock().unwrap();
        assert!(!lock.is_empty());
        // The lock's other entries are the price models (`models/...`, src/price/lookup.rs).
        let methodologies = lock.iter().filter(|(k, _)| !k.starts_with("models/"));
        assert_eq!(entries().len(), methodologies.count());
        for e in entries() {
            let m = load(&e).unwrap();
            assert_eq!(m.name(), e.name());
            assert_eq!(Some(m.sha256), published_sha(&e.id, &e.version).unwrap());
        }
    }
}
