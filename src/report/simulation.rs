//! The simulation's section of the rationale (`absrate simulate --report DIR`).

use crate::app::simulate::Summary;
use crate::error::Error;
use crate::simulate::PathResult;

/// The report's files: `(name, bytes)`.
pub fn render(
    _s: &Summary,
    _results: &[PathResult],
) -> Result<Vec<(&'static str, Vec<u8>)>, Error> {
    Err(Error::Argument("--report is being written".into()))
}
