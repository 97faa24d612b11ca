//! The end-to-end path through HTTP: register, verify the email with the code from the dev
//! sink, log in, turn on 2FA, log in again with TOTP, create an API key, and send signed
//! requests: good ones pass; a wrong signature, a stale timestamp and a replay do not.

mod common;

use axum::http::{Method, StatusCode};
use cex_identity::signing::{logon_payload, sign};
use cex_identity::totp;
use cex_identity::ErrorCode;
use common::{Harness, PASSWORD};
use serde_json::json;

#[tokio::test]
async fn register_verify_login_2fa_api_key_and_signed_requests() {
    for h in Harness::all().await {
        let name = h.name;
        let email = "alice@example.com";

        // Register: the engine gets the account, with the configured fee tier, first.
        let reply =
            h.post("/api/v1/auth/register", None, json!({"email": "Alice@Example.com", "password": PASSWORD})).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{name}: {reply:?}");
        assert_eq!(reply.str("email"), email);
        assert_eq!(*h.engine.registered.lock().unwrap(), vec![(1, 3)], "{name}");

        // Not verified yet: login refused.
        let reply = h.login(email, PASSWORD).await;
        assert_eq!((reply.status, reply.code()), (StatusCode::FORBIDDEN, 1203), "{name}: {reply:?}");

        // Verify with the code from outbox.log.
        let code = h.last_code(email, "verify_email").await;
        let reply = h.post("/api/v1/auth/verify-email", None, json!({"email": email, "verificationCode": code})).await;
        assert_eq!(reply.status, StatusCode::OK, "{name}: {reply:?}");
        let again = h.post("/api/v1/auth/verify-email", None, json!({"email": email, "verificationCode": code})).await;
        assert_eq!(again.code(), 1210, "{name}: a code works once");

        // Log in.
        let reply = h.login(email, PASSWORD).await;
        assert_eq!(reply.status, StatusCode::OK, "{name}: {reply:?}");
        assert_eq!(reply.body["expiresIn"], 900, "{name}: 15 minutes");
        assert_eq!(reply.body["refreshExpiresIn"], 7 * 24 * 3600, "{name}: 7 days");
        let token = reply.str("accessToken");

        // Enable 2FA: get a secret, confirm with a code from it.
        let setup = h.post("/api/v1/security/2fa/enable", Some(&token), json!({})).await;
        assert_eq!(setup.status, StatusCode::OK, "{name}: {setup:?}");
        let secret = setup.str("secret");
        assert!(setup.str("otpauthUri").starts_with("otpauth://totp/cex:alice%40example.com?"), "{name}");
        let wrong = common::wrong_code(&secret, h.identity.now_ms());
        let wrong = h.post("/api/v1/security/2fa/enable", Some(&token), json!({"code": wrong})).await;
        assert_eq!(wrong.code(), 1205, "{name}: {wrong:?}");
        let code = totp::code_from_base32(&secret, h.identity.now_ms()).unwrap();
        let confirmed = h.post("/api/v1/security/2fa/enable", Some(&token), json!({"code": code})).await;
        assert_eq!(confirmed.status, StatusCode::OK, "{name}: {confirmed:?}");
        assert_eq!(confirmed.body["recoveryCodes"].as_array().unwrap().len(), 10);

        // Log in again: the password alone now yields a challenge, not tokens.
        h.clock.advance_ms(30_000);
        let reply = h.login(email, PASSWORD).await;
        assert_eq!(reply.status, StatusCode::OK, "{name}: {reply:?}");
        assert_eq!(reply.body["twoFactorRequired"], true, "{name}: {reply:?}");
        assert!(reply.body.get("accessToken").is_none(), "{name}: no token before the second factor");
        let challenge = reply.str("sessionId");
        let code = totp::code_from_base32(&secret, h.identity.now_ms()).unwrap();
        let reply = h.post("/api/v1/auth/2fa/verify", None, json!({"sessionId": challenge, "code": code})).await;
        assert_eq!(reply.status, StatusCode::OK, "{name}: {reply:?}");
        let token = reply.str("accessToken");
        let replay = h.post("/api/v1/auth/2fa/verify", None, json!({"sessionId": challenge, "code": code})).await;
        assert_eq!(replay.code(), 1206, "{name}: a challenge is used once");

        // Create an API key (2FA on: a fresh code is required).
        h.clock.advance_ms(30_000);
        let body = json!({"label": "desk bot", "permissions": ["read", "trade"]});
        let refused = h.post("/api/v1/security/api-key", Some(&token), body.clone()).await;
        assert_eq!(refused.code(), 1209, "{name}: {refused:?}");
        let mut body = body;
        body["2faCode"] = json!(totp::code_from_base32(&secret, h.identity.now_ms()).unwrap());
        let created = h.post("/api/v1/security/api-key", Some(&token), body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{name}: {created:?}");
        let (api_key, secret_key) = (created.str("apiKey"), created.str("secretKey"));
        assert_eq!((api_key.len(), secret_key.len()), (64, 64));
        let listed = h.get("/api/v1/security/api-keys", &token).await;
        assert_eq!(listed.body["apiKeys"][0]["apiKey"], api_key.as_str(), "{name}");
        assert!(!listed.body.to_string().contains(&secret_key), "{name}: the secret is shown once only");

        // A signed request succeeds.
        let path = "/api/v1/security/api-keys";
        let reply = h.send(h.signed(Method::GET, path, "", &api_key, &secret_key, "")).await;
        assert_eq!(reply.status, StatusCode::OK, "{name}: {reply:?}");
        assert_eq!(reply.body["apiKeys"][0]["label"], "desk bot");

        // Replayed: the very same request again.
        let call = h.signed(Method::GET, path, "limit=5", &api_key, &secret_key, "");
        let uri = call.uri.clone();
        assert_eq!(h.send(call).await.status, StatusCode::OK, "{name}");
        let replayed = h.send(common::Call::new(Method::GET, uri).header("x-mbx-apikey", api_key.clone())).await;
        assert_eq!((replayed.status, replayed.code()), (StatusCode::UNAUTHORIZED, 1107), "{name}: {replayed:?}");

        // Wrong signature: signed with another secret, or the query altered after signing.
        let forged = h.signed(Method::GET, path, "", &api_key, &"x".repeat(64), "");
        assert_eq!(h.send(forged).await.code(), 1105, "{name}");
        let mut altered = h.signed(Method::GET, "/api/v1/security/login-history", "limit=5", &api_key, &secret_key, "");
        altered.uri = altered.uri.replace("limit=5", "limit=6");
        assert_eq!(h.send(altered).await.code(), 1105, "{name}");

        // Stale: signed now, sent after the 5 s window.
        let late = h.signed(Method::GET, path, "", &api_key, &secret_key, "");
        h.clock.advance_ms(5_001);
        let reply = h.send(late).await;
        assert_eq!((reply.status, reply.code()), (StatusCode::BAD_REQUEST, 1106), "{name}: {reply:?}");

        // The gateway logon checks against the same key and refuses a replay.
        let now = h.identity.now_ms();
        let signature = sign(&secret_key, logon_payload(&api_key, now, 7).as_bytes());
        let grant = h.identity.verify_logon(&api_key, now, 7, &signature, None).await.unwrap();
        assert_eq!(grant.engine_account, 1, "{name}");
        assert!(grant.permissions.contains(cex_identity::Permission::Trade));
        let again = h.identity.verify_logon(&api_key, now, 7, &signature, None).await.unwrap_err();
        assert_eq!(again.code, ErrorCode::ReplayedRequest, "{name}");
        let bad = h.identity.verify_logon(&api_key, now, 8, &signature, None).await.unwrap_err();
        assert_eq!(bad.code, ErrorCode::InvalidSignature, "{name}");
        let old = now - 5_001;
        let stale_signature = sign(&secret_key, logon_payload(&api_key, old, 9).as_bytes());
        let stale = h.identity.verify_logon(&api_key, old, 9, &stale_signature, None).await.unwrap_err();
        assert_eq!(stale.code, ErrorCode::StaleTimestamp, "{name}");

        // The audit saw it all.
        let history = h.get("/api/v1/security/login-history", &token).await;
        let reasons: Vec<&str> =
            history.body["logins"].as_array().unwrap().iter().map(|row| row["reason"].as_str().unwrap()).collect();
        assert_eq!(reasons, vec!["ok", "two_factor_pending", "ok", "email_not_verified"], "{name}");
        assert_eq!(history.body["logins"][0]["ip"], "203.0.113.7");
        let log = h.get("/api/v1/security/log", &token).await;
        let events: Vec<&str> =
            log.body["events"].as_array().unwrap().iter().map(|row| row["event"].as_str().unwrap()).collect();
        assert_eq!(events, vec!["api_key_created", "2fa_enabled", "email_verified", "registered"], "{name}");
    }
}

#[tokio::test]
async fn recovery_codes_stand_in_for_totp_once() {
    for h in Harness::all().await {
        let name = h.name;
        let token = h.session("bob@example.com").await;
        let setup = h.post("/api/v1/security/2fa/enable", Some(&token), json!({})).await;
        let secret = setup.str("secret");
        let code = totp::code_from_base32(&secret, h.identity.now_ms()).unwrap();
        let confirmed = h.post("/api/v1/security/2fa/enable", Some(&token), json!({"code": code})).await;
        let recovery = confirmed.body["recoveryCodes"][0].as_str().unwrap().to_uppercase();

        let challenge = h.login("bob@example.com", PASSWORD).await.str("sessionId");
        let reply = h.post("/api/v1/auth/2fa/verify", None, json!({"sessionId": challenge, "code": recovery})).await;
        assert_eq!(reply.status, StatusCode::OK, "{name}: {reply:?}");
        let challenge = h.login("bob@example.com", PASSWORD).await.str("sessionId");
        let reply = h.post("/api/v1/auth/2fa/verify", None, json!({"sessionId": challenge, "code": recovery})).await;
        assert_eq!(reply.code(), 1205, "{name}: a recovery code works once");

        // The TOTP code used to confirm cannot log in either: each step counts once.
        let reply = h.post("/api/v1/auth/2fa/verify", None, json!({"sessionId": challenge, "code": code})).await;
        assert_eq!(reply.code(), 1205, "{name}: {reply:?}");

        // Disable needs password and a code.
        let token = reply_token(&h, &secret).await;
        let wrong = h
            .post("/api/v1/security/2fa/disable", Some(&token), json!({"password": "Wrong-pass-99", "2faCode": "1"}))
            .await;
        assert_eq!(wrong.code(), 1201, "{name}");
        h.clock.advance_ms(30_000);
        let code = totp::code_from_base32(&secret, h.identity.now_ms()).unwrap();
        let reply =
            h.post("/api/v1/security/2fa/disable", Some(&token), json!({"password": PASSWORD, "2faCode": code})).await;
        assert_eq!(reply.status, StatusCode::OK, "{name}: {reply:?}");
        let reply = h.login("bob@example.com", PASSWORD).await;
        assert!(reply.body.get("accessToken").is_some(), "{name}: 2FA off again");
    }
}

/// Logs bob in with a TOTP code from a fresh step.
async fn reply_token(h: &Harness, secret: &str) -> String {
    h.clock.advance_ms(30_000);
    let challenge = h.login("bob@example.com", PASSWORD).await.str("sessionId");
    let code = totp::code_from_base32(secret, h.identity.now_ms()).unwrap();
    let reply = h.post("/api/v1/auth/2fa/verify", None, json!({"sessionId": challenge, "code": code})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}: {reply:?}", h.name);
    reply.str("accessToken")
}
