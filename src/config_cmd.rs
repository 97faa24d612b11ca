//! `cex config check FILE`: parses and validates a `cex.toml` and reports every problem.

use std::path::Path;
use std::process::ExitCode;

use cex_config::NodeConfig;

/// Prints `ok: <path>` and a one-line summary and exits 0 when `path` is a valid
/// configuration; otherwise prints every error to stderr, one per line as
/// `file:line:col: key: message`, and exits 1.
pub fn check(path: &Path) -> ExitCode {
    match NodeConfig::load(path) {
        Ok(config) => {
            println!("ok: {}", path.display());
            println!("{}", config.summary());
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprint!("{errors}");
            let count = errors.len();
            eprintln!("config check failed: {count} error{}", if count == 1 { "" } else { "s" });
            ExitCode::FAILURE
        }
    }
}
