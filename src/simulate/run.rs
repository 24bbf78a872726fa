//! What identifies a Monte Carlo run and what its summary holds: the run's inputs (two shards
//! belong to one run exactly when they agree), the context a path table carries so that `merge`
//! can summarize shards alone, and the summary `--format json` prints, `simulation.json` holds and
//! the report renders. Built by `crate::app::simulate`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::summary::{NoteSummary, PoolSummary};
use crate::methodology::IdealizedTable;

/// What identifies a run: two shards belong to one run exactly when these agree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInputs {
    pub deal: String,
    pub deal_sha256: String,
    pub tape: String,
    pub tape_sha256: String,
    pub methodology: String,
    pub methodology_sha256: String,
    pub model: String,
    pub model_sha256: String,
    pub seed: u64,
    pub paths: u64,
    /// `cohorts` or `loans`.
    pub positions: String,
    pub engine: String,
}

impl RunInputs {
    /// The fields that must agree between shards (file names may differ between machines).
    pub fn identity(&self) -> [(&'static str, String); 9] {
        [
            ("deal_sha256", self.deal_sha256.clone()),
            ("tape_sha256", self.tape_sha256.clone()),
            ("methodology_sha256", self.methodology_sha256.clone()),
            ("model_sha256", self.model_sha256.clone()),
            ("seed", self.seed.to_string()),
            ("paths", self.paths.to_string()),
            ("positions", self.positions.clone()),
            ("engine", self.engine.clone()),
            ("methodology", self.methodology.clone()),
        ]
    }

    /// SHA-256 of the identity, hex: stamped on every path table.
    pub fn run_id(&self) -> String {
        let mut h = Sha256::new();
        for (k, v) in self.identity() {
            h.update(k.as_bytes());
            h.update(b"=");
            h.update(v.as_bytes());
            h.update(b"\n");
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// One model parameter as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamView {
    pub name: String,
    /// As the file states it.
    pub value: String,
    pub source: String,
}

/// The price model as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelView {
    pub name: String,
    pub kind: String,
    pub title: String,
    pub parameters: Vec<ParamView>,
    /// The history it was fitted to: file, window, observations, method.
    pub fitted_from: String,
}

/// A note's fixed figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteContext {
    pub class: String,
    pub balance: f64,
    pub published_rating: Option<String>,
    /// The indicated rating of `rate` under the same methodology.
    pub deterministic_rating: Option<String>,
}

/// Everything the summary needs beside the paths: what a path table carries in its metadata,
/// so that `merge` reproduces a run's output from its shards alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Context {
    pub deal_name: String,
    pub inputs: RunInputs,
    pub model: ModelView,
    /// The simulation's terms as the methodology states them (name, value, source).
    pub terms: Vec<ParamView>,
    pub horizon_days: u32,
    pub start_price: f64,
    pub notes: Vec<NoteContext>,
    pub loans: u64,
    pub pool_balance: f64,
    /// Positions the liquidation engine and the period engine walk per path.
    pub positions: (usize, usize),
    pub table: IdealizedTable,
}

/// A note in the summary: the distribution and the ratings side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoteView {
    pub published_rating: Option<String>,
    pub deterministic_rating: Option<String>,
    #[serde(flatten)]
    pub summary: NoteSummary,
}

/// The run's summary (`--format json`, `simulation.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub deal: String,
    pub inputs: RunInputs,
    /// Present for one shard's summary only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardView>,
    pub paths_run: u64,
    pub model: ModelView,
    pub terms: Vec<ParamView>,
    pub horizon_days: u32,
    pub start_price: f64,
    pub positions: (usize, usize),
    pub pool: PoolSummary,
    pub notes: Vec<NoteView>,
    pub idealized_table_source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ShardView {
    pub shard: u64,
    pub shards: u64,
}
