//! The one way absrate writes a file: into a temporary file beside its destination (same file
//! system), then renamed into place, so a failed run never leaves a half-written output; and all
//! the outputs of one command as a [`Transaction`], written together or not at all, never over
//! an input (docs/reliability.md, "Outputs: one transaction per command"). Every command's
//! outputs go through here.

use std::fs;
use std::path::{Path, PathBuf};

/// A file that could not be written (exit code 5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: cannot write: {message}", path.display())]
pub struct OutputError {
    pub path: PathBuf,
    pub message: String,
}

fn error(path: &Path, message: impl ToString) -> OutputError {
    OutputError {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// A temporary name in the same directory as `out`.
fn temp_path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    out.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

fn create_parent(out: &Path) -> Result<(), OutputError> {
    match out.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => fs::create_dir_all(dir).map_err(|e| error(dir, e)),
        None => Ok(()),
    }
}

/// Runs `write` against a temporary file, then renames it to `out`; removes it on failure.
pub fn write_with(
    out: &Path,
    write: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), OutputError> {
    create_parent(out)?;
    let tmp = temp_path(out);
    let result = write(&tmp).and_then(|()| fs::rename(&tmp, out).map_err(|e| e.to_string()));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|m| error(out, m))
}

/// Writes `bytes` to `out` atomically.
pub fn write_file(out: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    write_with(out, |tmp| fs::write(tmp, bytes).map_err(|e| e.to_string()))
}

/// Every output of one command, written together or not at all.
///
/// Each file is staged beside its destination (the same file system), and only when every one is
/// staged are they moved into place. A destination that already exists is set aside first and put
/// back if a later move fails, so a failed run leaves nothing new and changes nothing that was
/// there. An input of the run (`protect`) is never overwritten.
#[derive(Debug, Default)]
pub struct Transaction {
    files: Vec<(PathBuf, Vec<u8>)>,
    inputs: Vec<PathBuf>,
}

/// The same file, as far as the file system can tell (a file that does not exist yet is compared
/// by its directory's real path and its name).
fn real(p: &Path) -> PathBuf {
    if let Ok(r) = fs::canonicalize(p) {
        return r;
    }
    match (p.parent(), p.file_name()) {
        (Some(dir), Some(name)) => {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            fs::canonicalize(dir)
                .map(|d| d.join(name))
                .unwrap_or_else(|_| p.to_path_buf())
        }
        _ => p.to_path_buf(),
    }
}

/// Whether two paths name the same file (the second may not exist yet).
pub fn same_file(a: &Path, b: &Path) -> bool {
    real(a) == real(b)
}

impl Transaction {
    pub fn new() -> Transaction {
        Transaction::default()
    }

    /// A file the run reads: no output may replace it.
    pub fn protect(&mut self, input: &Path) {
        self.inputs.push(real(input));
    }

    /// `bytes` to be written to `path` (the same bytes to the same path twice are written once).
    pub fn add(&mut self, path: impl Into<PathBuf>, bytes: Vec<u8>) {
        let path = path.into();
        if !self.files.iter().any(|(p, b)| *p == path && *b == bytes) {
            self.files.push((path, bytes));
        }
    }

    /// Every file of a set, into `dir`.
    pub fn add_set(&mut self, dir: &Path, files: Vec<(&str, Vec<u8>)>) {
        for (name, bytes) in files {
            self.add(dir.join(name), bytes);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Writes every file, or none.
    pub fn commit(self) -> Result<(), OutputError> {
        let mut seen: Vec<PathBuf> = Vec::new();
        for (path, _) in &self.files {
            let r = real(path);
            if self.inputs.contains(&r) {
                return Err(error(
                    path,
                    "it is an input of this run: refusing to overwrite it (write elsewhere)",
                ));
            }
            if seen.contains(&r) {
                return Err(error(
                    path,
                    "two outputs of this run would go to the same file",
                ));
            }
            if path.is_dir() {
                return Err(error(path, "is a directory"));
            }
            seen.push(r);
        }
        // 1. Stage every file beside its destination.
        let mut created: Vec<PathBuf> = Vec::new();
        let mut staged: Vec<PathBuf> = Vec::new();
        let stage = |created: &mut Vec<PathBuf>, staged: &mut Vec<PathBuf>| {
            for (path, bytes) in &self.files {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    let mut missing: Vec<PathBuf> = dir
                        .ancestors()
                        .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
                        .map(Path::to_path_buf)
                        .collect();
                    fs::create_dir_all(dir).map_err(|e| error(dir, e))?;
                    missing.reverse();
                    created.extend(missing);
                }
                let tmp = temp_path(path);
                staged.push(tmp.clone());
                fs::write(&tmp, bytes).map_err(|e| error(path, e))?;
            }
            Ok::<(), OutputError>(())
        };
        if let Err(e) = stage(&mut created, &mut staged) {
            for t in &staged {
                let _ = fs::remove_file(t);
            }
            for d in created.iter().rev() {
                let _ = fs::remove_dir(d);
            }
            return Err(e);
        }
        // 2. Move them into place, each existing destination set aside first.
        let mut done: Vec<(PathBuf, Option<PathBuf>)> = Vec::new();
        let mut failure = None;
        for ((path, _), tmp) in self.files.iter().zip(&staged) {
            let aside = path.with_file_name(format!(
                ".{}.old-{}",
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                std::process::id()
            ));
            let kept = if path.exists() {
                if let Err(e) = fs::rename(path, &aside) {
                    failure = Some(error(path, e));
                    break;
                }
                Some(aside)
            } else {
                None
            };
            if let Err(e) = fs::rename(tmp, path) {
                if let Some(k) = &kept {
                    let _ = fs::rename(k, path);
                }
                failure = Some(error(path, e));
                break;
            }
            done.push((path.clone(), kept));
        }
        if let Some(e) = failure {
            for (path, kept) in done.iter().rev() {
                let _ = fs::remove_file(path);
                if let Some(k) = kept {
                    let _ = fs::rename(k, path);
                }
            }
            for t in &staged {
                let _ = fs::remove_file(t);
            }
            for d in created.iter().rev() {
                let _ = fs::remove_dir(d);
            }
            return Err(e);
        }
        for (_, kept) in done {
            if let Some(k) = kept {
                let _ = fs::remove_file(k);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("sub/out.txt");
        let r = write_with(&out, |tmp| {
            fs::write(tmp, b"half").map_err(|e| e.to_string())?;
            Err("disk full".into())
        });
        assert_eq!(
            r,
            Err(OutputError {
                path: out.clone(),
                message: "disk full".into()
            })
        );
        assert!(!out.exists());
        assert_eq!(
            fs::read_dir(dir.path().join("sub")).expect("dir").count(),
            0
        );
        write_file(&out, b"whole").expect("write");
        assert_eq!(fs::read(&out).expect("read"), b"whole");
    }

    #[test]
    fn a_transaction_that_fails_leaves_nothing_new_and_restores_what_was_there() {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        fs::write(d.join("old.txt"), b"before").expect("old");
        // The third file cannot be written: a directory of that name is in the way.
        fs::create_dir_all(d.join("c.txt/x")).expect("blocker");
        let mut t = Transaction::new();
        t.add(d.join("old.txt"), b"after".to_vec());
        t.add(d.join("new/a.txt"), b"a".to_vec());
        t.add(d.join("c.txt"), b"c".to_vec());
        assert!(t.commit().is_err());
        assert_eq!(fs::read(d.join("old.txt")).expect("old"), b"before");
        let mut names: Vec<String> = fs::read_dir(d)
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["c.txt", "old.txt"]);
        // The same outputs without the blocker are all written.
        fs::remove_dir_all(d.join("c.txt")).expect("unblock");
        let mut t = Transaction::new();
        t.add(d.join("old.txt"), b"after".to_vec());
        t.add(d.join("new/a.txt"), b"a".to_vec());
        t.commit().expect("commit");
        assert_eq!(fs::read(d.join("old.txt")).expect("old"), b"after");
        assert_eq!(fs::read(d.join("new/a.txt")).expect("a"), b"a");
    }

    #[test]
    fn a_transaction_never_overwrites_an_input() {
        let dir = tempfile::tempdir().expect("temp dir");
        let input = dir.path().join("tape.csv");
        fs::write(&input, b"loans").expect("input");
        let mut t = Transaction::new();
        t.protect(&input);
        t.add(dir.path().join("./tape.csv"), b"derived".to_vec());
        let e = t.commit().expect_err("refused");
        assert!(e.message.contains("input of this run"), "{e}");
        assert_eq!(fs::read(&input).expect("input"), b"loans");
    }
}
