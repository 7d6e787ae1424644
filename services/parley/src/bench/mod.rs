//! `parley bench`: the mesh measured end to end against a baseline measured in the same run.

use crate::Result;

/// `parley bench`'s command line.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// A 10-second smoke run (counts are checked, speed is not).
    #[arg(long)]
    pub quick: bool,
}

/// Runs the benchmark.
pub async fn run(_args: BenchArgs, _env: Vec<(String, String)>) -> Result<()> {
    Err(crate::Error::Bench("not written yet".into()))
}
