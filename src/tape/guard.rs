//! polars panics on some malformed files instead of returning an error. The `tape_parquet` fuzz
//! target found nine kinds in polars 0.55.2 (docs/reliability.md, "Fuzzing"; one fixture each
//! in `tests/fixtures/fuzz/`): a footer whose boolean field has another thrift type ("thrift bool
//! field"), a row group whose column holds fewer values than the group's row count (an assertion
//! in polars-stream), a slice past the end of a buffer, an unwrap of a thrift error, and more.
//! (A tenth, a page header with a negative count, aborts rather than panics: `pages.rs`.)
//! Such a file is bad input, not a bug in absrate, so every call that hands a user's file to
//! polars goes through [`reading`], which turns a panic raised in polars into the caller's error
//! naming the file (`TapeError::Read` for a tape, `TapeError::TableRead` for a table of
//! `simulate --out`): exit code 3, not 101.
//!
//! Only the calls that read the file are guarded: nothing of absrate's own runs inside them
//! but the building of the query (the pipeline is polars expressions, no Rust closures). While a
//! guard is running, the panic hook stays silent for a panic raised outside absrate's own source
//! on the guarded thread, and for one raised in a polars crate on any thread (polars reads on its
//! own threads, `polars-N` and `async-executor-N`, and hands a panic there on to the caller): the
//! user sees the error, not polars's panic message above it. Any other panic is printed as
//! before, and one raised in absrate's own code inside a guard (a bug, never the input's fault)
//! goes on unwinding as it would have without the guard.
//!
//! The binary reads its inputs one after the other before any parallel work, so only one guard
//! runs at a time there. Should two run at once (tests on several threads), each still returns
//! its own file's error, though the crate and message quoted in it may be the other's.
//!
//! The guard needs panics to unwind: no profile of `Cargo.toml` sets `panic = "abort"`, and the
//! fuzz targets unwind too (libFuzzer's hook aborts on a panic it is shown, which this hook
//! keeps from it while a guard runs, so the fuzzer reports only what a user would see as one).

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, PanicHookInfo};
use std::path::{Component, Path};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};

/// How many guarded calls are running, on any thread.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// How many guarded calls are running on this thread.
    static GUARDED: Cell<usize> = const { Cell::new(0) };
    /// Whether absrate's own code panicked inside the guard running on this thread.
    static OURS: Cell<bool> = const { Cell::new(false) };
}

/// What the first silenced panic said, and where: a panic on one of polars's threads reaches
/// the caller wrapped in another one's message (`JoinError::Panic(Id(7), ...)`), so the hook
/// keeps the original.
static SAID: Mutex<Option<String>> = Mutex::new(None);

static HOOK: Once = Once::new();

/// Runs `read`, a call of polars on an input file; a panic inside it becomes the error
/// `stopped` makes of a message saying so (`polars cannot read this file (polars-parquet-0.55.2
/// stopped: thrift bool field)`), which the caller places after the file's name.
pub(crate) fn reading<T, E>(
    read: impl FnOnce() -> Result<T, E>,
    stopped: impl FnOnce(String) -> E,
) -> Result<T, E> {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !silenced(info) {
                if GUARDED.with(Cell::get) > 0 && is_ours(info) {
                    OURS.with(|o| o.set(true));
                }
                previous(info);
                return;
            }
            let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
            if said.is_none() {
                *said = Some(describe(info));
            }
        }));
    });
    ACTIVE.fetch_add(1, Ordering::SeqCst);
    GUARDED.with(|g| g.set(g.get() + 1));
    let result = std::panic::catch_unwind(AssertUnwindSafe(read));
    GUARDED.with(|g| g.set(g.get() - 1));
    let ours = OURS.with(|o| o.replace(false));
    if ACTIVE.fetch_sub(1, Ordering::SeqCst) == 1 && result.is_ok() {
        // A panic silenced on a thread whose result polars then threw away.
        SAID.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
    result.unwrap_or_else(|payload| {
        if ours {
            // Already printed by the hook; the caller unwinds as if there were no guard.
            std::panic::resume_unwind(payload);
        }
        let said = SAID
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_else(|| {
                let text = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                format!("polars stopped: {}", first_line(&text))
            });
        Err(stopped(format!("polars cannot read this file ({said})")))
    })
}

/// Whether the hook keeps quiet about a panic (the module's paragraph): not absrate's own, and
/// raised on a guarded thread or, while a guard runs, in a polars crate.
fn silenced(info: &PanicHookInfo<'_>) -> bool {
    if ACTIVE.load(Ordering::SeqCst) == 0 || is_ours(info) {
        return false;
    }
    GUARDED.with(|g| g.get() > 0) || krate(info).is_some_and(|k| k.starts_with("polars"))
}

/// `CRATE stopped: MESSAGE`: the crate the panic was raised in (the directory holding its
/// `src`, `polars-parquet-0.55.2`), and the first line of what it said.
fn describe(info: &PanicHookInfo<'_>) -> String {
    let krate = krate(info).unwrap_or_else(|| "polars".into());
    let text = info.payload_as_str().unwrap_or_default();
    format!("{krate} stopped: {}", first_line(text))
}

/// The directory holding the `src` a panic was raised in: a dependency's name and version
/// (`polars-parquet-0.55.2`), `core` or `std` for the standard library.
fn krate(info: &PanicHookInfo<'_>) -> Option<String> {
    let parts: Vec<Component<'_>> = Path::new(info.location()?.file()).components().collect();
    let src = parts.iter().rposition(|c| c.as_os_str() == "src")?;
    let krate = parts.get(src.checked_sub(1)?)?;
    Some(krate.as_os_str().to_string_lossy().into_owned())
}

/// The first line of a message, at most [`LONGEST`] characters: enough to tell one failure from
/// another in a report, not a page of a library's internals.
fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > LONGEST {
        format!("{}...", line.chars().take(LONGEST).collect::<String>())
    } else {
        line.to_string()
    }
}

const LONGEST: usize = 120;

/// Whether a panic was raised in absrate's own source: its location is a file of this crate,
/// named as rustc was given it (relative to the crate's root in its own build, absolute in a
/// build that takes absrate as a path dependency, like the fuzz targets'). Dependencies and the
/// standard library are always named by absolute paths outside it.
fn is_ours(info: &PanicHookInfo<'_>) -> bool {
    let Some(location) = info.location() else {
        return false;
    };
    let this = file!();
    let root = this.strip_suffix("src/tape/guard.rs").unwrap_or(this);
    if root.is_empty() {
        !Path::new(location.file()).is_absolute()
    } else {
        location.file().starts_with(root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tape::TapeError;

    fn read(path: &str) -> impl FnOnce(String) -> TapeError {
        let path = Path::new(path).to_path_buf();
        move |message| TapeError::Read { path, message }
    }

    // `resume_unwind` unwinds without calling the hook: what the guard makes of the payload
    // alone. The hook's part (a panic inside polars) is shown by the fixtures of
    // tests/hostile.rs, through the binary.
    #[test]
    fn a_panic_inside_the_guard_is_an_error_naming_the_file() {
        let r: Result<(), TapeError> = reading(
            || std::panic::resume_unwind(Box::new("thrift bool field")),
            read("t.parquet"),
        );
        assert_eq!(
            r.map_err(|e| e.to_string()),
            Err("t.parquet: cannot read the tape: polars cannot read this file (polars stopped: thrift bool field)".to_string())
        );
        // A message of many lines is cut to its first, and that to 120 characters.
        let r: Result<(), TapeError> = reading(
            || std::panic::resume_unwind(Box::new(format!("a{}\nb", "x".repeat(200)))),
            read("t.parquet"),
        );
        assert_eq!(
            r.map_err(|e| e.to_string()),
            Err(format!(
                "t.parquet: cannot read the tape: polars cannot read this file (polars stopped: a{}...)",
                "x".repeat(119)
            ))
        );
        // What the call returns otherwise is passed on untouched.
        assert_eq!(reading(|| Ok(7), read("t.csv")).ok(), Some(7));
    }

    // A panic of absrate's own (this file is part of it) is a bug, not bad input: it goes on
    // unwinding, printed by the hook as any other, and the next guard is not confused by it.
    #[test]
    fn a_panic_of_absrate_inside_the_guard_goes_on_unwinding() {
        let caught = std::panic::catch_unwind(|| {
            let _: Result<(), TapeError> = reading(|| panic!("a bug of ours"), read("t.parquet"));
        });
        let payload = caught.expect_err("the panic goes on");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"a bug of ours"));
        assert_eq!(reading(|| Ok(7), read("t.csv")).ok(), Some(7));
    }
}
