//! Nothing secret reaches the log: the whole life of an account runs with every log level
//! on (sqlx's statements included), and the captured output is searched for each password,
//! token, code and key secret handed out.

mod common;

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::Method;
use cex_identity::delivery::{Delivery, SmtpDelivery};
use cex_identity::totp;
use common::{Call, Harness, PASSWORD};
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_is_logged() {
    let captured = Captured::default();
    let writer = captured.clone();
    // No timestamps: each holds a 6-digit fraction of a second, which matches one of the
    // 6-digit codes searched for below every few dozen runs.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .without_time()
        .init();

    let mut secrets = vec![PASSWORD.to_string(), "Wrong-pass-99".to_string(), "N3w-secret-pass".to_string()];
    for h in Harness::all().await {
        let email = "sam@example.com";
        h.engine.refuse.store(true, Ordering::SeqCst);
        h.post("/api/v1/auth/register", None, json!({"email": email, "password": PASSWORD})).await;
        h.engine.refuse.store(false, Ordering::SeqCst);
        h.post("/api/v1/auth/verify-email", None, json!({"email": email})).await;
        let code = h.last_code(email, "verify_email").await;
        h.post("/api/v1/auth/verify-email", None, json!({"email": email, "verificationCode": code})).await;
        secrets.push(code);
        h.login(email, "Wrong-pass-99").await;
        let pair = h.login(email, PASSWORD).await;
        let token = pair.str("accessToken");
        secrets.extend([token.clone(), pair.str("refreshToken")]);
        let setup = h.post("/api/v1/security/2fa/enable", Some(&token), json!({})).await;
        let secret = setup.str("secret");
        let code = totp::code_from_base32(&secret, h.identity.now_ms()).unwrap();
        let confirmed = h.post("/api/v1/security/2fa/enable", Some(&token), json!({"code": code})).await;
        secrets.push(secret.clone());
        secrets.extend(
            confirmed.body["recoveryCodes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()),
        );
        h.clock.advance_ms(30_000);
        let challenge = h.login(email, PASSWORD).await.str("sessionId");
        let code = totp::code_from_base32(&secret, h.identity.now_ms()).unwrap();
        let pair = h.post("/api/v1/auth/2fa/verify", None, json!({"sessionId": challenge, "code": code})).await;
        secrets.extend([challenge, pair.str("accessToken"), pair.str("refreshToken")]);
        let token = pair.str("accessToken");
        h.clock.advance_ms(30_000);
        let code = totp::code_from_base32(&secret, h.identity.now_ms()).unwrap();
        let body = json!({"label": "bot", "permissions": ["read"], "2faCode": code});
        let key = h.post("/api/v1/security/api-key", Some(&token), body).await;
        let (api_key, key_secret) = (key.str("apiKey"), key.str("secretKey"));
        secrets.push(key_secret.clone());
        h.send(h.signed(Method::GET, "/api/v1/security/api-keys", "", &api_key, &key_secret, "")).await;
        h.send(h.signed(Method::GET, "/api/v1/security/api-keys", "", &api_key, &"0".repeat(64), "")).await;
        h.post("/api/v1/auth/refresh", None, json!({"refreshToken": pair.str("refreshToken")})).await;
        h.post("/api/v1/auth/refresh", None, json!({"refreshToken": pair.str("refreshToken")})).await;
        h.post("/api/v1/auth/reset-password", None, json!({"email": email})).await;
        let code = h.last_code(email, "reset_password").await;
        let reset = json!({"email": email, "verificationCode": code, "newPassword": "N3w-secret-pass"});
        h.post("/api/v1/auth/reset-password", None, reset).await;
        secrets.push(code);
        let staff = h.identity.create_staff("boss@cex.example", cex_identity::StaffRole::Admin, None).await.unwrap();
        secrets.push(staff.generated_password.unwrap());
        h.send(
            Call::new(Method::POST, "/api/v1/auth/login").header("content-type", "application/json").raw_body("{oops"),
        )
        .await;
        for name in [cex_identity::keys::JWT_KEY_FILE, cex_identity::keys::VAULT_KEY_FILE] {
            secrets.push(std::fs::read_to_string(h.db.path().join(name)).unwrap());
        }
    }
    // Through SMTP: a code sent by the worker, and a server URL with a password that fails.
    for db in common::db::test_dbs().await {
        let server = common::smtp::FakeSmtp::start().await;
        let url = server.url();
        let h = Harness::with_delivery(
            db,
            |_| {},
            |config| {
                let smtp = SmtpDelivery::new(&url, &config.email_from, Duration::from_secs(5)).unwrap();
                Arc::new(smtp) as Arc<dyn Delivery>
            },
        )
        .await;
        h.post("/api/v1/auth/register", None, json!({"email": "ray@example.com", "password": PASSWORD})).await;
        assert!(h.identity.flush_outbox(Duration::from_secs(10)).await.unwrap());
        let data = server.received()[0].data.clone();
        let code = data.split("\n\n").nth(1).unwrap().split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6);
        secrets.push(code.unwrap().to_string());

        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let smtp_password = "Smtp-pa55word-x9";
        secrets.push(smtp_password.to_string());
        let mut config = cex_identity::IdentityConfig::new(h.db.path().join("smtp-down"));
        config.password_cost = cex_identity::password::PasswordCost::for_tests();
        config.smtp_url = Some(format!("smtps://cex:{smtp_password}@{closed}"));
        let identity = cex_identity::Identity::open(config, h.engine.clone()).await.unwrap();
        let meta = cex_identity::RequestMeta::default();
        identity.register("sue@example.com", PASSWORD, None, &meta).await.unwrap();
        identity.flush_outbox(Duration::from_secs(10)).await.unwrap();
        let failed = identity.store().outbox_message(1).await.unwrap().unwrap();
        assert_eq!(failed.attempts, 1, "the closed port refused it");
        secrets.push(failed.body.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).unwrap().to_string());
        identity.close().await;
    }
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("identity email through SMTP") && log.contains("cex:***@"), "the redacted URL is logged");
    assert!(log.contains("delivery failed"), "the failed SMTP attempt is logged");
    assert!(log.contains("engine registration failed"), "the capture works: {} bytes", log.len());
    assert!(log.contains("INSERT INTO"), "sqlx statements are in the capture too");
    for secret in &secrets {
        assert!(!logged(&log, secret), "a secret reached the log: {}…", &secret[..4.min(secret.len())]);
    }
}

/// Whether `secret` appears in `log`. A numeric secret (a 6-digit code) counts only as a
/// number of its own: inside a longer number, a millisecond timestamp say, it is a
/// coincidence.
fn logged(log: &str, secret: &str) -> bool {
    if !secret.bytes().all(|b| b.is_ascii_digit()) {
        return log.contains(secret);
    }
    let bytes = log.as_bytes();
    let digit_at = |i: Option<usize>| i.and_then(|i| bytes.get(i)).is_some_and(u8::is_ascii_digit);
    log.match_indices(secret).any(|(at, _)| !digit_at(at.checked_sub(1)) && !digit_at(Some(at + secret.len())))
}

#[test]
fn a_code_inside_a_longer_number_is_not_the_code() {
    assert!(logged("code 611642 sent", "611642"));
    assert!(logged("611642", "611642"));
    assert!(logged("x=611642,", "611642"));
    assert!(!logged("at 1763611642123 ms", "611642"));
    assert!(!logged("7611642", "611642"));
    assert!(logged("token abc-secret here", "abc-secret"));
}
