//! `absrate pool ...`

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::error::Error;
use crate::money;
use crate::pool::{PoolFile, generate};
use crate::tape::tape_bytes;

#[derive(Debug, Subcommand)]
pub enum PoolCommand {
    /// Generate a synthetic tape whose aggregates equal a pool's published figures
    #[command(
        after_help = "Examples:\n  absrate pool generate --profile ledn-2026-1 --seed 20260218 --out pools/ledn-2026-1/tape.csv\n  absrate pool generate --profile ledn-2026-1 --seed 1 --loans 1000000 --out /tmp/tape-1m.parquet\n\nThe same profile and seed always give the same file, byte for byte."
    )]
    Generate(GenerateArgs),
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Profile: a name under --pools-dir (reads pools/NAME/pool.yaml) or a path to a pool.yaml
    #[arg(long)]
    profile: String,
    /// Seed of the ChaCha8 random stream
    #[arg(long)]
    seed: u64,
    /// Number of loans; other sizes scale every published total in proportion
    #[arg(long)]
    loans: Option<u64>,
    /// Output tape, .csv or .parquet (written atomically)
    #[arg(long)]
    out: PathBuf,
    /// Directory of pool profiles
    #[arg(long, default_value = "pools")]
    pools_dir: PathBuf,
}

pub fn run(cmd: PoolCommand) -> Result<String, Error> {
    match cmd {
        PoolCommand::Generate(a) => {
            let pool = PoolFile::resolve(&a.profile, &a.pools_dir)?;
            if pool.asset_class == crate::pool::AssetClass::AutoLoans {
                return generate_auto_tape(&pool, &a);
            }
            let g = generate(&pool, a.seed, a.loans)?;
            // One transaction, as every command's outputs: nothing left on failure, and never
            // over the pool file read (docs/reliability.md).
            let mut tx = crate::output::Transaction::new();
            tx.protect(&pool.path);
            tx.add(&a.out, tape_bytes(&g.loans, &a.out)?);
            tx.commit()?;
            let principal: rust_decimal::Decimal = g.loans.iter().map(|l| l.principal).sum();
            let btc: rust_decimal::Decimal = g.loans.iter().map(|l| l.collateral_btc).sum();
            Ok(format!(
                "wrote {}: {} loans, {} borrowers, principal {}, {} BTC (profile {}, seed {}; collateral scale {:.4}, {} margin calls answered)\n",
                a.out.display(),
                money::count(g.loans.len() as u64),
                money::count(g.borrowers),
                money::usd(principal),
                money::btc(btc),
                pool.name,
                g.seed,
                g.collateral_scale,
                g.margin_calls_answered,
            ))
        }
    }
}

/// `pool generate` of an auto-loan profile: the tape (CSV) and the aggregates it reached, set
/// against the profile's targets.
fn generate_auto_tape(pool: &PoolFile, a: &GenerateArgs) -> Result<String, Error> {
    if a.loans.is_some() {
        return Err(Error::Argument(
            "--loans: an auto-loan profile generates its target number of contracts".into(),
        ));
    }
    if crate::tape::Format::of(&a.out)? != crate::tape::Format::Csv {
        return Err(Error::Argument(format!(
            "--out {}: an auto-loan tape is written as .csv",
            a.out.display()
        )));
    }
    let g = crate::pool::generate_auto(pool, a.seed)?;
    let mut tx = crate::output::Transaction::new();
    tx.protect(&pool.path);
    tx.add(&a.out, crate::tape::auto_tape_csv(&g.loans).into_bytes());
    tx.commit()?;
    let s = &g.summary;
    let t = pool.auto_generator.as_ref().map(|p| &p.targets);
    Ok(format!(
        "wrote {}: {} contracts, principal {} (profile {}, seed {}; APRs moved {} points)\n  weighted APR {:.2}%, remaining term {:.1} months, original term {:.1}, new vehicles {:.1}%, 60+ months {:.1}%{}\n",
        a.out.display(),
        money::count(s.loans),
        money::usd(s.principal),
        pool.name,
        a.seed,
        g.rate_shift * rust_decimal::Decimal::from(100),
        s.wa_interest_rate * 100.0,
        s.wa_remaining_term,
        s.wa_original_term,
        s.new_vehicle_share * 100.0,
        s.term_60_plus_share * 100.0,
        t.map(|t| format!(
            "\n  targets: APR {}%, remaining {}, original {}, new {}%, 60+ {}%",
            t.wa_interest_rate * rust_decimal::Decimal::from(100),
            t.wa_remaining_term_months,
            t.wa_original_term_months,
            t.new_vehicle_share * rust_decimal::Decimal::from(100),
            t.term_60_plus_share * rust_decimal::Decimal::from(100)
        ))
        .unwrap_or_default(),
    ))
}
