//! The one way absrate writes a file: into a temporary file beside its destination (same file
//! system), then renamed into place, so a failed run never leaves a half-written output; and a set
//! of files into one directory all or nothing. Every command's outputs go through here.

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

/// Writes every file into `dir` all or nothing: first into a temporary directory inside it, then
/// renamed into place one by one. On failure the files already renamed by this call are removed,
/// so `dir` never holds a mixed set from two runs (a file it held before is then gone too).
pub fn write_set(dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<(), OutputError> {
    fs::create_dir_all(dir).map_err(|e| error(dir, e))?;
    let tmp = dir.join(format!(".absrate-tmp-{}", std::process::id()));
    fs::create_dir_all(&tmp).map_err(|e| error(&tmp, e))?;
    let result = (|| {
        for (name, bytes) in files {
            let p = tmp.join(name);
            fs::write(&p, bytes).map_err(|e| error(&p, e))?;
        }
        for (i, (name, _)) in files.iter().enumerate() {
            if let Err(e) = fs::rename(tmp.join(name), dir.join(name)) {
                for (done, _) in &files[..i] {
                    let _ = fs::remove_file(dir.join(done));
                }
                return Err(error(&dir.join(name), e));
            }
        }
        Ok(())
    })();
    let _ = fs::remove_dir_all(&tmp);
    result
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
    fn a_set_is_written_whole_or_not_at_all() {
        let dir = tempfile::tempdir().expect("temp dir");
        // A name that cannot be a file (a directory of that name is in the way).
        fs::create_dir_all(dir.path().join("b.txt/x")).expect("blocker");
        let r = write_set(
            dir.path(),
            &[("a.txt", b"a".to_vec()), ("b.txt", b"b".to_vec())],
        );
        assert!(r.is_err());
        let names: Vec<String> = fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["b.txt"], "only the blocker is left");
    }
}
