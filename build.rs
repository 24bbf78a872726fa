//! Embeds the published methodologies in the binary, so that an installed `absrate` rates a deal
//! from any directory. The list is the lock file `methodology/published.lock` itself: publishing a
//! version (which writes the lock) is all it takes to embed it. The SHA-256 of each embedded file
//! is checked against the embedded lock at run time (`src/methodology/builtin.rs`); this script
//! stays dependency-free and only writes the `include_bytes!` list.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&root).join("methodology");
    let lock = dir.join("published.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock)
        .unwrap_or_else(|e| panic!("{}: cannot read: {e}", lock.display()));
    let mut out = String::from("&[\n");
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // Malformed lines are reported, with their line number, by the run-time lock parser.
        let Some((_, key)) = line.split_once("  ") else {
            continue;
        };
        let key = key.trim();
        let file = dir.join(key);
        println!("cargo:rerun-if-changed={}", file.display());
        let _ = writeln!(
            out,
            "    ({key:?}, include_bytes!({:?})),",
            file.display().to_string()
        );
    }
    out.push_str("]\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("builtin.rs");
    std::fs::write(&dest, out).unwrap_or_else(|e| panic!("{}: cannot write: {e}", dest.display()));
}
