//! The command line: clap derive, one file per subcommand. Each command returns the text it prints
//! so that computing and printing stay apart and tests can call commands directly.

mod backtest;
mod compare;
mod fit;
mod methodology;
mod pool;
mod rate;
mod rate_auto;
mod replay;
mod simulate;
mod surveil;
mod tape;

use std::ffi::OsString;

use clap::{Parser, Subcommand, ValueEnum};

use crate::error::Error;

pub(crate) use crate::app::{BUNDLED_DEAL, json};

/// Help for `--methodology-dir`, the same in every command that rates.
pub(crate) const METHODOLOGY_DIR_HELP: &str = "Methodology registry directory, looked in first [then: methodology/ beside the deal and in each parent directory, then the published methodologies built into absrate]";

#[derive(Debug, Parser)]
#[command(
    name = "absrate",
    version,
    about = "Rate asset-backed notes the way a rating agency does",
    long_about = "absrate reads a loan tape, a deal and a versioned rating methodology, projects the \
                  deal's cash flows under the stress of every rating level and reports which notes \
                  pass at which level.",
    after_help = "Examples:\n  absrate rate\n  absrate tape summary pools/ledn-2026-1/tape.csv\n  absrate tape strat pools/ledn-2026-1/tape.csv --format csv\n  absrate pool generate --profile ledn-2026-1 --seed 20260218 --out /tmp/tape.csv\n  absrate methodology show btc-backed-consumer-loans@1.0.0\n\nExit codes: 0 success, 1 internal error, 2 usage, 3 invalid input, 4 target rating missed, 5 output not written."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Rate a deal's notes: cash flows under every rating level's stress, pass/fail per note
    Rate(rate::RateArgs),
    /// Compare methodology versions on the same tape and deal: moves, flipped cells, attribution
    Compare(compare::CompareArgs),
    /// Apply a real daily BTC price path to the pool: margin calls, liquidations, the pool after
    Replay(replay::ReplayArgs),
    /// Every start date in a price history: the pool through the next horizon, worst windows
    Backtest(backtest::BacktestArgs),
    /// Read, validate, summarize and stratify a loan tape
    #[command(subcommand)]
    Tape(tape::TapeCommand),
    /// Rating methodologies: list, show, check, diff, publish, schema
    #[command(subcommand)]
    Methodology(methodology::MethodologyCommand),
    /// Pool profiles: generate a synthetic tape that matches a pool's published figures
    #[command(subcommand)]
    Pool(pool::PoolCommand),
    /// Monte Carlo second opinion: BTC price paths through the liquidation engine and waterfall; fit, merge
    Simulate(SimulateCli),
    /// Surveillance: rate a deal from each of its monthly servicer reports after closing; check
    Surveil(surveil::SurveilCli),
}

/// `absrate simulate ...`: a run of paths, or one of its subcommands.
#[derive(Debug, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Examples:\n  absrate simulate --paths 10000 --seed 1\n  absrate simulate --paths 100000 --seed 7 --shard 0/4 --out shard-0.parquet\n  absrate simulate merge shard-*.parquet --format json\n  absrate simulate fit --prices ../shared/data/btc-usd-daily.csv --model garch-t\n\nEach path: BTC prices from the price model, the loan-by-loan liquidation engine, the deal's\nwaterfall. The summary gives the pool's loss distribution and, per note, the probability of a\nloss, the expected loss and its rating against the methodology's idealized table, beside the\ndeterministic rating of `absrate rate` and the published rating (docs/simulate.md)."
)]
pub struct SimulateCli {
    #[command(subcommand)]
    command: Option<SimulateCommand>,
    #[command(flatten)]
    run: simulate::SimulateArgs,
}

#[derive(Debug, Subcommand)]
enum SimulateCommand {
    /// Estimate a price model's parameters from a price history; print the model file (YAML)
    Fit(fit::FitArgs),
    /// Combine the shards of one run into the summary a single run prints
    Merge(simulate::MergeArgs),
}

/// How a command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
    Csv,
}

/// How a command that has no CSV form prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum TextOrJson {
    #[default]
    Text,
    Json,
}

/// Why a run failed: the command line itself, or the work it asked for.
#[derive(Debug)]
pub enum Failure {
    Clap(clap::Error),
    Run(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Run(e)
    }
}

/// Parses `args` and runs the command, returning what it prints on standard output.
pub fn run<I, T>(args: I) -> Result<String, Failure>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = Cli::try_parse_from(args).map_err(Failure::Clap)?;
    let out = match cli.command {
        Command::Rate(a) => rate::run(a)?,
        Command::Compare(a) => compare::run(a)?,
        Command::Replay(a) => replay::run(a)?,
        Command::Backtest(a) => backtest::run(a)?,
        Command::Tape(c) => tape::run(c)?,
        Command::Pool(c) => pool::run(c)?,
        Command::Methodology(c) => methodology::run(c)?,
        Command::Simulate(s) => match s.command {
            Some(SimulateCommand::Fit(a)) => fit::run(a)?,
            Some(SimulateCommand::Merge(a)) => simulate::merge(a)?,
            None => simulate::run(s.run)?,
        },
        Command::Surveil(c) => surveil::run(c)?,
    };
    Ok(out)
}

/// A cell of a printed rating grid (BTC and auto deals alike): `pass`, or
/// `FAIL p<first failing period>`.
pub(crate) fn grid_cell(n: &crate::waterfall::NoteOutcome) -> String {
    if n.passed {
        "pass".to_string()
    } else {
        format!("FAIL p{}", n.first_failing_period.unwrap_or(0))
    }
}

/// `notes A $160,000,000.00, B $28,000,000.00; 48 monthly periods to 2030-02-20`: the line under
/// a rating's title (BTC and auto deals alike).
pub(crate) fn notes_and_periods(deal: &crate::deal::Deal) -> String {
    format!(
        "notes {}; {} monthly periods to {}",
        deal.notes
            .iter()
            .map(|n| format!("{} {}", n.class, crate::money::usd(n.balance)))
            .collect::<Vec<_>>()
            .join(", "),
        deal.payment_dates().len(),
        deal.legal_final
    )
}
