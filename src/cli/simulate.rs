//! `absrate simulate` and `absrate simulate merge`: arguments, the progress bar and printing; the
//! work is [`crate::app::simulate`].

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::{TextOrJson as Format, json};
use crate::app::simulate::{self, SimulateRequest, Summary};
use crate::error::Error;

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Number of price paths
    #[arg(long, default_value_t = 10_000)]
    paths: u64,
    /// Seed of the run: path i draws from the ChaCha8 stream (seed, i)
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Price model: ID, ID@VERSION or a model file [default: the methodology's `simulation.price_model`; published: btc-garch-t, btc-gbm, btc-merton, btc-bootstrap (reads the price file); docs/price-models.md compares each with history]
    #[arg(long)]
    model: Option<String>,
    /// Deal file (its pool's tape)
    #[arg(long, default_value = super::BUNDLED_DEAL)]
    deal: PathBuf,
    /// Methodology: ID@VERSION, ID (newest) or a file; it must have a `simulation` section [default: the deal's methodology, newest version]
    #[arg(long)]
    methodology: Option<String>,
    #[arg(long, help = super::METHODOLOGY_DIR_HELP)]
    methodology_dir: Option<PathBuf>,
    /// Price file a bootstrap model resamples [default: looked for in ../shared/data]
    #[arg(long)]
    prices: Option<PathBuf>,
    /// Run only shard I of N (0-based: 0/4 ... 3/4) and, with --out, write its paths
    #[arg(long, value_parser = parse_shard, value_name = "I/N")]
    shard: Option<(u64, u64)>,
    /// Every loan its own position in both engines (slower; the default groups alike loans in cohorts)
    #[arg(long)]
    loan_level: bool,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Write one row per path (Parquet), stamped with the run's inputs
    #[arg(long, value_name = "FILE.parquet")]
    out: Option<PathBuf>,
    /// Write the simulation's section of the rationale (Markdown, HTML with charts, JSON) into DIR
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  for i in 0 1 2 3; do absrate simulate --paths 100000 --seed 7 --shard $i/4 --out shard-$i.parquet; done\n  absrate simulate merge shard-*.parquet\n\nThe merge of every shard of a run prints exactly what one run of all its paths prints."
)]
pub struct MergeArgs {
    /// Path tables written by `simulate --shard I/N --out FILE`
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Write the merged table (one row per path, Parquet)
    #[arg(long, value_name = "FILE.parquet")]
    out: Option<PathBuf>,
    /// Write the simulation's section of the rationale into DIR
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
}

fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("`{s}`: expected I/N with 0 <= I < N, e.g. 0/4");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (u64, u64) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

fn print(s: &Summary, format: Format) -> Result<String, Error> {
    match format {
        Format::Json => json(s),
        Format::Text => Ok(simulate::text(s)),
    }
}

pub fn run(a: SimulateArgs) -> Result<String, Error> {
    let range = match a.shard {
        Some((i, n)) => crate::simulate::shard_range(a.paths, i, n),
        None => 0..a.paths,
    };
    // A progress bar on stderr when it is a terminal.
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new(range.end - range.start);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} {pos}/{len} paths [{elapsed_precise}, {eta} left] {wide_bar}",
        ) {
            b.set_style(style);
        }
        b
    });
    let progress = bar.clone().map(|b| {
        let f: Arc<dyn Fn() + Send + Sync> = Arc::new(move || b.inc(1));
        f
    });
    let result = simulate::simulate(&SimulateRequest {
        deal: a.deal,
        methodology: a.methodology,
        methodology_dir: a.methodology_dir,
        model: a.model,
        prices: a.prices,
        paths: a.paths,
        seed: a.seed,
        shard: a.shard,
        loan_level: a.loan_level,
        out: a.out,
        report: a.report,
        progress,
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    print(&result?.summary, a.format)
}

pub fn merge(a: MergeArgs) -> Result<String, Error> {
    let run = simulate::merge(&a.files, a.out.as_deref(), a.report.as_deref())?;
    print(&run.summary, a.format)
}
