//! Every file of every fuzz target's corpus (`fuzz/corpus/<target>/`) through the target's entry
//! point in `src/fuzzing.rs`, once, on the stable toolchain: the fuzz targets' own check (no
//! panic, no internal error) in the normal suite, so that a regression on a seed, or on a crash
//! the fuzzer found and that was added to the corpus, fails CI without nightly or cargo-fuzz.

use absrate::fuzzing;

use crate::util::root;

type Target = fn(&[u8]) -> Result<(), String>;

/// The targets of `fuzz/fuzz_targets/`, by the name of their corpus directory.
const TARGETS: [(&str, Target); 6] = [
    ("tape_csv", fuzzing::tape_csv),
    ("tape_parquet", fuzzing::tape_parquet),
    ("methodology", fuzzing::methodology),
    ("deal", fuzzing::deal),
    ("pool", fuzzing::pool),
    ("prices", fuzzing::prices),
];

/// Runs every file of `target`'s corpus; returns how many were read and how many refused.
fn run(target: &str, entry: Target) -> (usize, usize) {
    let dir = root().join("fuzz/corpus").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    files.sort();
    let (mut read, mut refused) = (0, 0);
    for file in &files {
        let bytes = crate::util::read(file);
        // A panic here names the file: `cargo +nightly fuzz run <target> <file>` reproduces it.
        eprintln!("{target}: {}", file.display());
        match entry(&bytes) {
            Ok(()) => read += 1,
            Err(_) => refused += 1,
        }
    }
    (read, refused)
}

#[test]
fn every_corpus_file_is_read_or_refused_without_a_panic() {
    for (target, entry) in TARGETS {
        let (read, refused) = run(target, entry);
        // A corpus holds valid inputs as well as refused ones, so that the fuzzer starts from
        // both: an entry point that refused everything (a missing pool beside the deal, a wrong
        // file name) would fuzz nothing but the first check.
        assert!(
            read > 0 && refused > 0,
            "{target}: {read} read and {refused} refused; expected some of each"
        );
    }
}

#[test]
fn every_target_has_a_corpus_and_a_fuzz_target() {
    let dir = root().join("fuzz/corpus");
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            e.expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    found.sort();
    let mut expected: Vec<String> = TARGETS.iter().map(|(t, _)| t.to_string()).collect();
    expected.sort();
    assert_eq!(found, expected);
    for (target, _) in TARGETS {
        let source = root()
            .join("fuzz/fuzz_targets")
            .join(format!("{target}.rs"));
        let text = String::from_utf8(crate::util::read(&source)).expect("UTF-8");
        assert!(
            text.contains(&format!("absrate::fuzzing::{target}(")),
            "{}: does not call absrate::fuzzing::{target}",
            source.display()
        );
    }
}
