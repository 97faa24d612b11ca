//! The binary gateway as a person tries it, with nothing but the `cex` binary: `cex run`, a
//! user signs up over REST, `cex keys create` provisions a key for the user's account, and
//! `cex trade` logs on, sends an order and prints the engine's answer.

mod common;

use std::os::unix::fs::OpenOptionsExt;
use std::process::Output;

use common::{cex, http, start_cex_run, terminate, Ports};
use serde_json::json;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn succeeded(output: &Output) -> String {
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
    stdout
}

#[test]
fn a_key_from_cex_keys_trades_through_cex_trade_against_cex_run() {
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::free();
    let (node, _) = start_cex_run(dir.path(), ports);
    let rest = std::net::SocketAddr::from(([127, 0, 0, 1], ports.rest));
    let signup = json!({"email": "desk@fund.example", "password": "correct horse battery 9"});
    let (status, reply) = http(rest, "POST", "/api/v1/auth/register", Some(&signup), None);
    assert_eq!(status, 201, "{reply}");
    let data_dir = dir.path().join("data");

    // The first user of a fresh store has engine account 1.
    let created = cex()
        .args(["keys", "create", "--account", "1", "--permissions", "read,trade", "--data-dir"])
        .arg(&data_dir)
        .output()
        .unwrap();
    let stdout = succeeded(&created);
    let value = |label: &str| {
        let line = stdout.lines().find(|line| line.starts_with(label)).unwrap_or_else(|| panic!("{stdout}"));
        line[label.len()..].trim().to_string()
    };
    let (api_key, secret) = (value("api key:"), value("secret:"));
    let secret_file = dir.path().join("secret");
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&secret_file).unwrap();
    std::io::Write::write_all(&mut file, secret.as_bytes()).unwrap();

    // No funds yet: the engine refuses the order, and cex trade shows why.
    let gateway = format!("127.0.0.1:{}", ports.gateway);
    let trade = |args: &[&str]| {
        cex()
            .args(["trade", "--gateway", &gateway, "--api-key", &api_key, "--secret-file"])
            .arg(&secret_file)
            .arg("--data-dir")
            .arg(&data_dir)
            .args(args)
            .output()
            .unwrap()
    };
    let bought = succeeded(&trade(&["--wait", "2000", "buy", "BTC-USDT", "0.01", "--price", "30000"]));
    assert!(bought.contains("REJECTED"), "{bought}");
    assert!(bought.to_lowercase().contains("insufficient"), "the engine's reason is shown: {bought}");

    // A wrong secret is refused at logon.
    let wrong = dir.path().join("wrong");
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&wrong).unwrap();
    std::io::Write::write_all(&mut file, b"not-the-secret").unwrap();
    let refused = cex()
        .args(["trade", "--gateway", &gateway, "--api-key", &api_key, "--secret-file"])
        .arg(&wrong)
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["cancel-all"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stdout));
    assert!(text(&refused.stderr).contains("InvalidSignature"), "{}", text(&refused.stderr));

    let (status, metrics) = common::get(ports.ops, "/metrics").unwrap();
    assert_eq!(status, 200);
    assert!(metrics.contains("cex_gateway_logons_accepted_total 1"), "{metrics}");
    assert!(metrics.contains("cex_gateway_logon_rejects_total{reason=\"InvalidSignature\"} 1"), "{metrics}");
    assert_eq!(terminate(node), 0);
}
