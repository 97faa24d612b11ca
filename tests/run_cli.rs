//! `cex run` as an operator runs it: starts on the embedded defaults, serves the ops port,
//! stops on SIGTERM with exit 0 and a snapshot, and restarts with the same state.
//! `cex config check` reports a bad file by line and key.

use std::path::Path;

mod common;

use common::{cex, get, start_cex_run, terminate, Ports};

/// Starts `cex run` in `dir` with its ops port on `ops`.
fn start(dir: &Path, ops: u16) -> (std::process::Child, String) {
    start_cex_run(dir, Ports { ops, ..Ports::free() })
}

#[test]
fn cex_run_starts_on_defaults_stops_on_sigterm_and_restarts_with_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let (child, ready) = start(dir.path(), port);
    assert!(ready.contains(r#""journal_sequence":5"#), "the demo assets and symbols: {ready}");
    let (status, metrics) = get(port, "/metrics").unwrap();
    assert_eq!(status, 200);
    assert!(metrics.contains("cex_journal_sequence 5"), "{metrics}");
    assert_eq!(terminate(child), 0, "graceful shutdown exits 0");
    let snapshots = dir.path().join("data/journal/snapshots");
    assert!(snapshots.join("00000000000000000005.snapshot").exists(), "shutdown wrote a snapshot");

    let (child, ready) = start(dir.path(), port);
    assert!(ready.contains(r#""journal_sequence":5"#), "restarted at the same sequence: {ready}");
    assert_eq!(terminate(child), 0);
}

#[test]
fn config_check_accepts_the_example_and_reports_errors_by_line_and_key() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/cex.example.toml");
    let output = cex().args(["config", "check"]).arg(&example).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("ok: "));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("cex.toml");
    std::fs::write(&bad, "data_dir = \"./data\"\n\n[network]\nops_port = 9000\ngateway_port = 9000\nbogus = 1\n")
        .unwrap();
    let output = cex().args(["config", "check"]).arg(&bad).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cex.toml:6:") && stderr.contains("network.bogus"), "{stderr}");
}
