//! An installed binary (issue 11): the bundled deal and any deal file rate from any directory,
//! with the published methodologies built into absrate when no `methodology/` directory is found.

use std::path::PathBuf;

use absrate::methodology::{BUILTIN, builtin_entries};
use serde_json::Value;

use crate::util::{absrate_in, root};

const INVALID_INPUT: i32 = 3;

/// The deal, pool file and tape of the bundled deal copied to `<tmp>/ledn`, the deal's
/// methodology line replaced by `methodology`: the directory, the deal file, and the
/// `methodology/` directories looked for beside it and above it. None (the test says it skipped)
/// if one of those exists, for then the test would not mean anything.
fn copied(methodology: &str) -> Option<(tempfile::TempDir, PathBuf, Vec<PathBuf>)> {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("ledn");
    std::fs::create_dir(&to).unwrap();
    for f in ["pool.yaml", "tape.csv"] {
        std::fs::copy(root().join("pools/ledn-2026-1").join(f), to.join(f)).unwrap();
    }
    let deal = std::fs::read_to_string(root().join("pools/ledn-2026-1/deal.yaml")).unwrap();
    let line = "methodology: btc-backed-consumer-loans ";
    assert!(deal.contains(line));
    std::fs::write(
        to.join("deal.yaml"),
        deal.replacen(line, &format!("methodology: {methodology} "), 1),
    )
    .unwrap();
    let looked: Vec<PathBuf> = to.ancestors().map(|a| a.join("methodology")).collect();
    if let Some(d) = looked.iter().find(|d| d.exists()) {
        eprintln!(
            "skipped: {} exists above the temporary directory",
            d.display()
        );
        return None;
    }
    Some((dir, to.join("deal.yaml"), looked))
}

/// The newest built-in version of the bundled deal's methodology.
fn newest() -> String {
    builtin_entries()
        .iter()
        .filter(|e| e.id == "btc-backed-consumer-loans")
        .map(|e| e.name())
        .next_back()
        .unwrap()
}

#[test]
fn the_bundled_deal_rates_from_any_directory() {
    let here = tempfile::tempdir().unwrap();
    let deal = root().join("pools/ledn-2026-1/deal.yaml");
    let r = absrate_in(here.path(), &["rate", "--deal", deal.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The repository's registry, found above the deal file.
    let first = format!("Ledn Issuer Trust 2026-1 under {}", newest());
    assert_eq!(r.stdout.lines().next(), Some(first.as_str()));
}

#[test]
fn a_copied_deal_with_no_registry_anywhere_rates_with_the_built_in_methodologies() {
    let Some((here, deal, _)) = copied("btc-backed-consumer-loans") else {
        return;
    };
    let r = absrate_in(
        here.path(),
        &["rate", "--deal", deal.to_str().unwrap(), "--format", "json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["inputs"]["methodology"], newest().as_str());
    // Byte for byte the published file.
    let lock = std::fs::read_to_string(root().join("methodology/published.lock")).unwrap();
    let sha = v["inputs"]["methodology_sha256"].as_str().unwrap();
    let key = format!("{}.yaml", newest().replace('@', "/"));
    assert!(lock.contains(&format!("{sha}  {key}\n")), "{sha} {key}");

    // `methodology list` says where each version comes from.
    let r = absrate_in(here.path(), &["methodology", "list"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(
            "btc-backed-consumer-loans         1.0.0     2026-02-18  published       built in"
        ),
        "{}",
        r.stdout
    );
}

#[test]
fn an_unknown_methodology_fails_naming_every_place_looked_in() {
    let Some((here, deal, looked)) = copied("no-such-methodology") else {
        return;
    };
    let r = absrate_in(here.path(), &["rate", "--deal", deal.to_str().unwrap()]);
    assert_eq!(r.code, INVALID_INPUT, "{}", r.stderr);
    let versions: Vec<String> = builtin_entries().iter().map(|e| e.name()).collect();
    assert!(versions.contains(&"btc-backed-consumer-loans@1.0.0".to_string()));
    let mut expected = "error: no methodology `no-such-methodology`; looked in:\n".to_string();
    for dir in looked {
        expected.push_str(&format!("  {} (no such directory)\n", dir.display()));
    }
    expected.push_str(&format!("  {BUILTIN} ({})\n", versions.join(", ")));
    assert_eq!(r.stderr, expected);
}

#[test]
fn the_default_deal_missing_from_the_current_directory_suggests_deal() {
    let here = tempfile::tempdir().unwrap();
    let r = absrate_in(here.path(), &["rate"]);
    assert_eq!(r.code, INVALID_INPUT, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "error: no deal file pools/ledn-2026-1/deal.yaml in {}: the default --deal is the bundled deal, relative to the repository's root; give --deal FILE (or run from the repository's root)\n",
            here.path().display()
        )
    );
}
