//! Sessions: refresh rotation and reuse detection, logout, password change and reset,
//! token lifetimes, and the login lockout.

mod common;

use axum::http::StatusCode;
use common::{Harness, PASSWORD};
use serde_json::json;

const MINUTE: i64 = 60_000;

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    for h in Harness::all().await {
        let name = h.name;
        h.verified_user("carol@example.com").await;
        let first = h.login("carol@example.com", PASSWORD).await;
        let (access1, refresh1) = (first.str("accessToken"), first.str("refreshToken"));

        h.clock.advance_ms(1_000);
        let second = h.post("/api/v1/auth/refresh", None, json!({"refreshToken": refresh1})).await;
        assert_eq!(second.status, StatusCode::OK, "{name}: {second:?}");
        let (access2, refresh2) = (second.str("accessToken"), second.str("refreshToken"));
        assert_ne!(refresh1, refresh2, "{name}: rotated");
        assert_eq!(second.str("sessionId"), first.str("sessionId"), "{name}: same family");
        assert_eq!(h.get("/api/v1/security/api-keys", &access2).await.status, StatusCode::OK, "{name}");

        h.clock.advance_ms(1_000);
        let third = h.post("/api/v1/auth/refresh", None, json!({"refreshToken": refresh2})).await;
        assert_eq!(third.status, StatusCode::OK, "{name}: {third:?}");
        let (access3, refresh3) = (third.str("accessToken"), third.str("refreshToken"));

        // An attacker replays the first refresh token: the whole family dies.
        let reused = h.post("/api/v1/auth/refresh", None, json!({"refreshToken": refresh1})).await;
        assert_eq!((reused.status, reused.code()), (StatusCode::UNAUTHORIZED, 1214), "{name}: {reused:?}");
        let newest = h.post("/api/v1/auth/refresh", None, json!({"refreshToken": refresh3})).await;
        assert_eq!(newest.code(), 1213, "{name}: the newest refresh token is dead too");
        for access in [&access1, &access2, &access3] {
            let reply = h.get("/api/v1/security/api-keys", access).await;
            assert_eq!((reply.status, reply.code()), (StatusCode::UNAUTHORIZED, 1102), "{name}: {reply:?}");
        }
        let log = h
            .identity
            .security_log(
                h.identity.store().user_by_email("carol@example.com").await.unwrap().unwrap().id,
                None,
                None,
                None,
            )
            .await
            .unwrap();
        assert_eq!(log[0].event, "refresh_token_reuse", "{name}");

        // Another session of the same user is untouched.
        let other = h.login("carol@example.com", PASSWORD).await.str("accessToken");
        assert_eq!(h.get("/api/v1/security/api-keys", &other).await.status, StatusCode::OK, "{name}");
        let garbage = h.post("/api/v1/auth/refresh", None, json!({"refreshToken": "deadbeef"})).await;
        assert_eq!(garbage.code(), 1213, "{name}");
    }
}

#[tokio::test]
async fn logout_revokes_the_session_only() {
    for h in Harness::all().await {
        let name = h.name;
        h.verified_user("dan@example.com").await;
        let one = h.login("dan@example.com", PASSWORD).await;
        let two = h.login("dan@example.com", PASSWORD).await.str("accessToken");
        let (access, refresh) = (one.str("accessToken"), one.str("refreshToken"));
        let reply = h.post("/api/v1/auth/logout", Some(&access), json!({})).await;
        assert_eq!(reply.status, StatusCode::OK, "{name}: {reply:?}");
        let reply = h.get("/api/v1/security/api-keys", &access).await;
        assert_eq!((reply.status, reply.code()), (StatusCode::UNAUTHORIZED, 1102), "{name}: {reply:?}");
        let reply = h.post("/api/v1/auth/refresh", None, json!({"refreshToken": refresh})).await;
        assert_eq!(reply.code(), 1213, "{name}: its refresh token is dead");
        assert_eq!(h.get("/api/v1/security/api-keys", &two).await.status, StatusCode::OK, "{name}: other session");
    }
}

#[tokio::test]
async fn tokens_expire() {
    for h in Harness::all().await {
        let name = h.name;
        h.verified_user("erin@example.com").await;
        let pair = h.login("erin@example.com", PASSWORD).await;
        let (access, refresh) = (pair.str("accessToken"), pair.str("refreshToken"));
        h.clock.advance_ms(15 * MINUTE - 1_000);
        assert_eq!(h.get("/api/v1/security/api-keys", &access).await.status, StatusCode::OK, "{name}");
        h.clock.advance_ms(1_000);
        let reply = h.get("/api/v1/security/api-keys", &access).await;
        assert_eq!((reply.status, reply.code()), (StatusCode::UNAUTHORIZED, 1101), "{name}: after 15 minutes");
        let renewed = h.post("/api/v1/auth/refresh", None, json!({"refreshToken": refresh})).await;
        assert_eq!(renewed.status, StatusCode::OK, "{name}: {renewed:?}");
        h.clock.advance_ms(7 * 24 * 60 * MINUTE);
        let reply = h.post("/api/v1/auth/refresh", None, json!({"refreshToken": renewed.str("refreshToken")})).await;
        assert_eq!(reply.code(), 1213, "{name}: after 7 days");
        let reply = h.post("/api/v1/auth/logout", Some("not-a-token"), json!({})).await;
        assert_eq!(reply.code(), 1101, "{name}");
    }
}

#[tokio::test]
async fn password_change_ends_every_session() {
    for h in Harness::all().await {
        let name = h.name;
        h.verified_user("finn@example.com").await;
        let one = h.login("finn@example.com", PASSWORD).await;
        let two = h.login("finn@example.com", PASSWORD).await.str("accessToken");
        let access = one.str("accessToken");
        let weak = h
            .post(
                "/api/v1/auth/change-password",
                Some(&access),
                json!({"oldPassword": PASSWORD, "newPassword": "password123"}),
            )
            .await;
        assert_eq!(weak.code(), 1004, "{name}: {weak:?}");
        let wrong = h
            .post(
                "/api/v1/auth/change-password",
                Some(&access),
                json!({"oldPassword": "Nope-nope-1", "newPassword": "N3w-secret-pass"}),
            )
            .await;
        assert_eq!(wrong.code(), 1201, "{name}");
        let reply = h
            .post(
                "/api/v1/auth/change-password",
                Some(&access),
                json!({"oldPassword": PASSWORD, "newPassword": "N3w-secret-pass"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{name}: {reply:?}");
        for token in [&access, &two] {
            assert_eq!(h.get("/api/v1/security/api-keys", token).await.code(), 1102, "{name}");
        }
        let refresh = h.post("/api/v1/auth/refresh", None, json!({"refreshToken": one.str("refreshToken")})).await;
        assert_eq!(refresh.code(), 1213, "{name}");
        assert_eq!(h.login("finn@example.com", PASSWORD).await.code(), 1201, "{name}: old password gone");
        assert_eq!(h.login("finn@example.com", "N3w-secret-pass").await.status, StatusCode::OK, "{name}");
    }
}

#[tokio::test]
async fn repeated_failures_lock_the_account_for_a_while() {
    for h in Harness::all().await {
        let name = h.name;
        h.verified_user("gina@example.com").await;
        for attempt in 1..5 {
            let reply = h.login("gina@example.com", "Wrong-pass-99").await;
            assert_eq!((reply.status, reply.code()), (StatusCode::UNAUTHORIZED, 1201), "{name}: attempt {attempt}");
        }
        let fifth = h.login("gina@example.com", "Wrong-pass-99").await;
        assert_eq!((fifth.status, fifth.code()), (StatusCode::LOCKED, 1202), "{name}: {fifth:?}");
        let right = h.login("gina@example.com", PASSWORD).await;
        assert_eq!(right.code(), 1202, "{name}: locked even with the right password");
        h.clock.advance_ms(15 * MINUTE);
        let right = h.login("gina@example.com", PASSWORD).await;
        assert_eq!(right.status, StatusCode::OK, "{name}: unlocked after 15 minutes: {right:?}");
        let token = right.str("accessToken");
        let history = h.get("/api/v1/security/login-history?limit=3", &token).await;
        let reasons: Vec<&str> =
            history.body["logins"].as_array().unwrap().iter().map(|row| row["reason"].as_str().unwrap()).collect();
        assert_eq!(reasons, vec!["ok", "locked", "bad_password"], "{name}");
        assert_eq!(history.body["logins"][0]["userAgent"], serde_json::Value::Null);
        assert_eq!(history.body["logins"][0]["deviceInfo"], "test");
        let log = h.get("/api/v1/security/log", &token).await;
        assert_eq!(log.body["events"][0]["event"], "account_locked", "{name}");
        // An unknown email is audited, not locked, and answers like a wrong password.
        let unknown = h.login("nobody@example.com", PASSWORD).await;
        assert_eq!(unknown.code(), 1201, "{name}");
    }
}

#[tokio::test]
async fn password_reset_by_emailed_code() {
    for h in Harness::all().await {
        let name = h.name;
        h.verified_user("hal@example.com").await;
        let session = h.login("hal@example.com", PASSWORD).await.str("accessToken");
        for _ in 0..5 {
            h.login("hal@example.com", "Wrong-pass-99").await;
        }
        let sent = h.post("/api/v1/auth/reset-password", None, json!({"email": "hal@example.com"})).await;
        assert_eq!(sent.body, json!({"sent": true}), "{name}");
        let unknown = h.post("/api/v1/auth/reset-password", None, json!({"email": "nobody@example.com"})).await;
        assert_eq!(unknown.body, sent.body, "{name}: no account enumeration");
        let code = h.last_code("hal@example.com", "reset_password").await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let bad = json!({"email": "hal@example.com", "verificationCode": wrong, "newPassword": "Fresh-start-42"});
        assert_eq!(h.post("/api/v1/auth/reset-password", None, bad).await.code(), 1210, "{name}");
        let good = json!({"email": "hal@example.com", "verificationCode": code, "newPassword": "Fresh-start-42"});
        let reply = h.post("/api/v1/auth/reset-password", None, good.clone()).await;
        assert_eq!(reply.status, StatusCode::OK, "{name}: {reply:?}");
        assert_eq!(h.post("/api/v1/auth/reset-password", None, good).await.code(), 1210, "{name}: once");
        assert_eq!(h.get("/api/v1/security/api-keys", &session).await.code(), 1102, "{name}: sessions ended");
        let reply = h.login("hal@example.com", "Fresh-start-42").await;
        assert_eq!(reply.status, StatusCode::OK, "{name}: the reset lifted the lock: {reply:?}");
    }
}

#[tokio::test]
async fn second_factor_failures_lock_even_across_fresh_password_logins() {
    for h in Harness::all().await {
        let name = h.name;
        let token = h.session("ivan@example.com").await;
        let secret = h.post("/api/v1/security/2fa/enable", Some(&token), json!({})).await.str("secret");
        let code = cex_identity::totp::code_from_base32(&secret, h.identity.now_ms()).unwrap();
        h.post("/api/v1/security/2fa/enable", Some(&token), json!({"code": code})).await;
        let wrong = common::wrong_code(&secret, h.identity.now_ms());
        let mut last = None;
        for _ in 0..5 {
            let challenge = h.login("ivan@example.com", PASSWORD).await;
            let challenge = challenge.str("sessionId");
            last = Some(h.post("/api/v1/auth/2fa/verify", None, json!({"sessionId": challenge, "code": wrong})).await);
        }
        let last = last.unwrap();
        assert_eq!((last.status, last.code()), (StatusCode::LOCKED, 1202), "{name}: {last:?}");
        assert_eq!(h.login("ivan@example.com", PASSWORD).await.code(), 1202, "{name}");
    }
}
