//! `cex keys` as an operator runs it, against the store of a node's data directory: the key
//! of a registered user is created with its secret printed once, verifies a gateway logon
//! signed with that secret, is listed without the secret, and revoked; bad input is refused.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use cex_identity::engine::BoxFuture;
use cex_identity::password::PasswordCost;
use cex_identity::{EngineAccounts, ErrorCode, Identity, IdentityConfig, RequestMeta};

fn cex() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cex"))
}

fn keys(data_dir: &Path, args: &[&str]) -> Output {
    cex().arg("keys").args(args).arg("--data-dir").arg(data_dir).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The engine of a node that is not running: every account is accepted.
struct AcceptingEngine;

impl EngineAccounts for AcceptingEngine {
    fn register(&self, _account: u32, _fee_tier: u8) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// The identity store `cex run --data-dir DIR` opens (the embedded defaults: SQLite in DIR).
fn identity(runtime: &tokio::runtime::Runtime, data_dir: &Path) -> Arc<Identity> {
    let mut config = IdentityConfig::new(data_dir);
    config.password_cost = PasswordCost::for_tests();
    runtime.block_on(Identity::open(config, Arc::new(AcceptingEngine))).unwrap()
}

/// Registers a user through identity, as the REST sign-up does; returns its engine account.
fn registered_user(data_dir: &Path, email: &str) -> u32 {
    let runtime = runtime();
    let mut config = IdentityConfig::new(data_dir);
    config.password_cost = PasswordCost::for_tests();
    runtime.block_on(async {
        let identity = Identity::open(config, Arc::new(AcceptingEngine)).await.unwrap();
        let user = identity.register(email, "Tr4ding-desk-9", None, &RequestMeta::default()).await.unwrap();
        identity.close().await;
        user.engine_account
    })
}

/// The value after `label` on its line of `stdout`.
fn value_after(stdout: &str, label: &str) -> String {
    let line = stdout.lines().find(|line| line.starts_with(label)).unwrap_or_else(|| panic!("no {label}: {stdout}"));
    line[label.len()..].trim().to_string()
}

#[test]
fn a_provisioned_key_logs_on_is_listed_without_its_secret_and_is_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let account = registered_user(&data, "desk@fund.example");
    let account_arg = account.to_string();

    let created = keys(&data, &["create", "--account", &account_arg, "--permissions", "read,trade", "--label", "desk"]);
    let stdout = text(&created.stdout);
    assert!(created.status.success(), "{stdout}{}", text(&created.stderr));
    let api_key = value_after(&stdout, "api key:");
    let secret = value_after(&stdout, "secret:");
    assert_eq!((api_key.len(), secret.len()), (64, 64), "{stdout}");
    assert_eq!(stdout.matches(&secret).count(), 1, "the secret is printed once: {stdout}");
    assert!(stdout.contains("shown once"), "{stdout}");
    assert!(stdout.contains("permissions read,trade") && stdout.contains("from any address"), "{stdout}");

    // The gateway's logon check, with the protocol crate's signature over the printed secret.
    let runtime = runtime();
    let identity = identity(&runtime, &data);
    let now = identity.now_ms();
    let signature = cex_gateway_protocol::sign_logon(&secret, &api_key, now as u64, 7);
    let grant = runtime.block_on(identity.verify_logon(&api_key, now, 7, &signature, None)).unwrap();
    assert_eq!(grant.engine_account, account);
    assert_eq!(grant.permissions.names(), ["read", "trade"]);
    let log = runtime.block_on(identity.security_log(grant.user_id, None, None, None)).unwrap();
    assert!(log.iter().any(|event| event.event == "api_key_provisioned"), "audited: {log:?}");

    let listed = keys(&data, &["list", "--account", &account_arg]);
    let stdout = text(&listed.stdout);
    assert!(listed.status.success());
    assert!(stdout.contains(&api_key) && stdout.contains("label=\"desk\""), "{stdout}");
    assert!(!stdout.contains(&secret), "list never shows a secret: {stdout}");
    let json = keys(&data, &["list", "--account", &account_arg, "--json"]);
    assert!(!text(&json.stdout).contains(&secret));

    let revoked = keys(&data, &["revoke", "--account", &account_arg, "--api-key", &api_key]);
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    let signature = cex_gateway_protocol::sign_logon(&secret, &api_key, now as u64, 8);
    let refused = runtime.block_on(identity.verify_logon(&api_key, now, 8, &signature, None)).unwrap_err();
    assert_eq!(refused.code, ErrorCode::InvalidApiKey);
    assert!(text(&keys(&data, &["list", "--account", &account_arg]).stdout).contains("no API keys"));
    let again = keys(&data, &["revoke", "--account", &account_arg, "--api-key", &api_key]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains("no such API key"), "{}", text(&again.stderr));
    runtime.block_on(identity.close());
}

#[test]
fn a_whitelist_and_json_output() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let account = registered_user(&data, "quant@fund.example").to_string();
    let args =
        ["create", "--account", &account, "--permissions", "trade", "--ip", "203.0.113.7", "--ip", "::1", "--json"];
    let created = keys(&data, &args);
    assert!(created.status.success(), "{}", text(&created.stderr));
    let json: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    assert_eq!(json["ipWhitelist"], serde_json::json!(["203.0.113.7", "::1"]));
    assert_eq!(json["permissions"], serde_json::json!(["trade"]));
    assert_eq!(json["secretKey"].as_str().map(str::len), Some(64));
}

#[test]
fn bad_input_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let account = registered_user(&data, "ops@fund.example").to_string();

    let bad_permission = keys(&data, &["create", "--account", &account, "--permissions", "read,fly"]);
    assert_eq!(bad_permission.status.code(), Some(2), "a usage error");
    let stderr = text(&bad_permission.stderr);
    assert!(stderr.contains("read,fly") && stderr.contains("read, trade, withdraw, transfer"), "{stderr}");

    let unknown = keys(&data, &["create", "--account", "999", "--permissions", "read"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown.stderr).contains("no user owns engine account 999"), "{}", text(&unknown.stderr));

    let withdraw = keys(&data, &["create", "--account", &account, "--permissions", "withdraw"]);
    assert_eq!(withdraw.status.code(), Some(2));
    assert!(text(&withdraw.stderr).contains("two-factor"), "{}", text(&withdraw.stderr));

    let bad_ip =
        cex().args(["keys", "create", "--account", &account, "--permissions", "read", "--ip", "nope"]).output();
    assert_eq!(bad_ip.unwrap().status.code(), Some(2), "clap refuses a bad address");
    let no_permissions = cex().args(["keys", "create", "--account", &account]).output().unwrap();
    assert_eq!(no_permissions.status.code(), Some(2));
}
