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

/// Opens `html` in headless Chromium when it is installed: the page must load and render to a
/// screenshot. Returns the DOM as the browser built it, for the caller's checks; `None` (and says
/// it skipped) without a browser, except under `CI=true` (`.ci/run` installs Chromium), where a
/// missing browser fails the test.
pub fn open_in_chromium(html: &Path) -> Option<String> {
    let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true and no chromium on this machine: .ci/run installs it (apt-get install chromium)"
        );
        eprintln!(
            "skipped: no chromium on this machine (apt-get install chromium to run this check)"
        );
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", html.display());
    let profile = dir.path().join("profile");
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ];
    let run = |extra: &[String]| {
        Command::new(chromium)
            .args(flags)
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(&url)
            .output()
            .expect("chromium runs")
    };
    let dom = run(&["--dump-dom".to_string()]);
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let png = dir.path().join("shot.png");
    let shot = run(&[
        format!("--screenshot={}", png.display()),
        "--window-size=1280,4000".to_string(),
    ]);
    assert!(shot.status.success());
    assert!(
        std::fs::metadata(&png)
            .map(|m| m.len() > 10_000)
            .unwrap_or(false),
        "no screenshot"
    );
    Some(String::from_utf8_lossy(&dom.stdout).into_owned())
}

/// The bundled deal renamed `<script>alert(1)</script> Trust`, written into `dir` (its pool
/// named by absolute path): text from a deal must stay text in an HTML report.
pub fn deal_named_with_a_script(dir: &Path) -> PathBuf {
    let deal = std::fs::read_to_string(root().join("pools/ledn-2026-1/deal.yaml")).unwrap();
    let pool = root().join("pools/ledn-2026-1/pool.yaml");
    let patched = deal
        .replace(
            "name: Ledn Issuer Trust 2026-1",
            "name: \"<script>alert(1)</script> Trust\"",
        )
        .replace("pool: pool.yaml", &format!("pool: {}", pool.display()));
    assert_ne!(
        patched, deal,
        "the bundled deal's name or pool line changed"
    );
    let path = dir.join("deal.yaml");
    std::fs::write(&path, patched).unwrap();
    path
}

/// The name of [`deal_named_with_a_script`] appears escaped in `html`, never as a tag.
pub fn assert_script_escaped(html: &str) {
    assert!(!html.contains("<script>"), "raw script tag in the HTML");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt; Trust")
            || html.contains("&lt;script&gt;alert(1)&lt;/script&gt; Trust"),
        "escaped name missing"
    );
}
