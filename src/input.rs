//! Why an input file cannot be read, in the user's words: "no such file", "is a directory".
//! Callers put it after the path and their own "cannot read": `x.yaml: cannot read: is a directory`.
//!
//! Every file absrate takes (deal, pool, methodology, tape, prices, templates) is named by the
//! user, directly or from another file; when it cannot be opened the message says why as the
//! user would, not as the operating system's error code does ("Is a directory (os error 21)").

use std::io::{Error, ErrorKind};

/// The reason given for a path that is a directory where a file is expected.
pub const IS_A_DIRECTORY: &str = "is a directory";

/// The reason an input could not be read.
pub fn reason(e: &Error) -> String {
    match e.kind() {
        ErrorKind::NotFound => "no such file".into(),
        ErrorKind::IsADirectory => IS_A_DIRECTORY.into(),
        ErrorKind::NotADirectory => "no such file (a part of its path is a file)".into(),
        ErrorKind::PermissionDenied => "permission denied".into(),
        ErrorKind::InvalidData => "not UTF-8 text".into(),
        _ => e.to_string(),
    }
}

/// Checks that `path` can be opened as a file: the operating system's error otherwise, with a
/// directory refused as [`ErrorKind::IsADirectory`] (on Unix a directory opens, and reading it
/// fails later, or, for a library that only scans it, not at all). Callers that let another
/// library read the file (polars) check it here first.
pub fn check(path: &std::path::Path) -> Result<(), Error> {
    let file = std::fs::File::open(path)?;
    if file.metadata()?.is_dir() {
        return Err(Error::from(ErrorKind::IsADirectory));
    }
    Ok(())
}

/// The whole of an input file, or the [`reason`] it cannot be read.
pub fn read(path: &std::path::Path) -> Result<Vec<u8>, String> {
    check(path).map_err(|e| reason(&e))?;
    std::fs::read(path).map_err(|e| reason(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_and_a_missing_file_are_said_in_words() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(read(dir.path()), Err(IS_A_DIRECTORY.to_string()));
        assert_eq!(
            read(&dir.path().join("absent")),
            Err("no such file".to_string())
        );
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").expect("write");
        assert_eq!(read(&file), Ok(b"x".to_vec()));
        assert_eq!(
            read(&file.join("below")).map_err(|m| m.starts_with("no such file")),
            Err(true)
        );
    }
}
