//! Running the binary and reading what it did.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `absrate` with `args` from the crate root.
pub fn absrate<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    absrate_in(&root(), args)
}

/// Runs `absrate` with `args` from `dir`.
pub fn absrate_in<S: AsRef<std::ffi::OsStr>>(dir: &Path, args: &[S]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_absrate"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the absrate binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `absrate` and requires success.
pub fn ok<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> String {
    let r = absrate(args);
    assert_eq!(r.code, 0, "absrate failed:\n{}", r.stderr);
    r.stdout
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

pub fn bundled_tape() -> PathBuf {
    root().join("pools/ledn-2026-1/tape.csv")
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
