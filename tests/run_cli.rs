//! `cex run` as an operator runs it: starts on the embedded defaults, serves the ops port,
//! stops on SIGTERM with exit 0 and a snapshot, and restarts with the same state.
//! `cex config check` reports a bad file by line and key.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn cex() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cex"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: cex\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    Some((status, response.split_once("\r\n\r\n")?.1.to_string()))
}

/// Starts `cex run` in `dir` and waits until `/ready` answers 200; returns its body too.
fn start(dir: &Path, port: u16) -> (Child, String) {
    let child = cex()
        .args(["run", "--ops-port", &port.to_string(), "--rest-port", &free_port().to_string()])
        .args(["--gateway-port", &free_port().to_string()])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = child;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some((200, body)) = get(port, "/ready") {
            return (child, body);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cex run did not become ready");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn terminate(mut child: Child) -> i32 {
    // SAFETY: kill(2) on the pid of a child we spawned and have not reaped; no memory is involved.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    child.wait().unwrap().code().expect("exited, not killed")
}

#[test]
fn cex_run_starts_on_defaults_stops_on_sigterm_and_restarts_with_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
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
