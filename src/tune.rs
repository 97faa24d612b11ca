//! `cex tune check`: is this host ready for a low-latency deployment? The checks live in
//! `cex-tuning` (tuning/); the scripts that apply the fixes sit next to them, and
//! docs/TUNING.md explains the core layout.

use std::path::PathBuf;
use std::process::ExitCode;

use cex_tuning::{CpuSet, Host};

#[derive(clap::Args, Debug)]
pub struct TuneCheckArgs {
    /// The cores the engine thread will be pinned to, e.g. "1" or "2-3" (kernel CPU-list
    /// syntax). Without it, the per-core items (SMT, isolcpus, nohz_full, rcu_nocbs) are
    /// unknown.
    #[arg(long, value_name = "LIST")]
    pub engine_cores: Option<CpuSet>,
    /// A JSON array, one object per item (name, status, found, fix), instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Exit with status 1 if any item is warn or fail.
    #[arg(long)]
    pub strict: bool,
    /// Read /proc and /sys under this directory instead of / (tests); the process limits
    /// and the io_uring probe are then skipped.
    #[arg(long, value_name = "DIR", default_value = "/", hide = true)]
    pub root: PathBuf,
}

/// Checks the host and prints the report; exit status 1 under `--strict` if anything is
/// warn or fail, else 0.
pub fn check(args: &TuneCheckArgs) -> ExitCode {
    let host = Host::new(&args.root);
    let items = cex_tuning::check_host(&host, args.engine_cores.as_ref());
    if args.json {
        println!("{}", cex_tuning::render_json(&items));
    } else {
        print!("{}", cex_tuning::render_table(&items));
    }
    if args.strict && cex_tuning::has_problems(&items) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
