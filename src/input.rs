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
