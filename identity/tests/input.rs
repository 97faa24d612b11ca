//! Bad input gets a 4xx with `{code, msg}`; verification codes expire, work once and allow
//! a limited number of attempts; contact binding.

mod common;

use axum::http::{Method, StatusCode};
use common::{Call, Harness, PASSWORD};
use serde_json::json;

fn assert_error(reply: &common::Reply, status: StatusCode, code: u64, context: &str) {
    assert_eq!((reply.status, reply.code()), (status, code), "{context}: {reply:?}");
    assert!(reply.body["msg"].as_str().is_some_and(|msg| !msg.is_empty()), "{context}: a msg");
}

#[tokio::test]
async fn malformed_requests() {
    for h in Harness::all().await {
        let name = h.name;
        let register = |body: Vec<u8>, content_type: &'static str| {
            Call::new(Method::POST, "/api/v1/auth/register").header("content-type", content_type).raw_body(body)
        };
        let huge = format!(r#"{{"email":"a@example.com","password":"{}"}}"#, "x".repeat(20_000));
        assert_error(
            &h.send(register(huge.into_bytes(), "application/json")).await,
            StatusCode::PAYLOAD_TOO_LARGE,
            1001,
            name,
        );
        assert_error(
            &h.send(register(b"{\"email\": ".to_vec(), "application/json")).await,
            StatusCode::BAD_REQUEST,
            1000,
            name,
        );
        assert_error(
            &h.send(register(b"not json".to_vec(), "application/json")).await,
            StatusCode::BAD_REQUEST,
            1000,
            name,
        );
        let form = register(b"email=a@example.com".to_vec(), "application/x-www-form-urlencoded");
        assert_error(&h.send(form).await, StatusCode::UNSUPPORTED_MEDIA_TYPE, 1005, name);
        let missing = h.post("/api/v1/auth/register", None, json!({"email": "a@example.com"})).await;
        assert_error(&missing, StatusCode::BAD_REQUEST, 1002, name);
        assert!(missing.body["msg"].as_str().unwrap().contains("password"), "{name}: says which field");
        let wrong_type = h.post("/api/v1/auth/register", None, json!({"email": 42, "password": PASSWORD})).await;
        assert_error(&wrong_type, StatusCode::BAD_REQUEST, 1002, name);
        let empty = h.send(Call::new(Method::POST, "/api/v1/auth/register")).await;
        assert_error(&empty, StatusCode::BAD_REQUEST, 1002, name);
        let invite = h
            .post(
                "/api/v1/auth/register",
                None,
                json!({"email": "a@example.com", "password": PASSWORD, "inviteCode": "no spaces!"}),
            )
            .await;
        assert_error(&invite, StatusCode::BAD_REQUEST, 1002, name);

        assert_error(&h.send(Call::new(Method::GET, "/api/v1/nothing")).await, StatusCode::NOT_FOUND, 1006, name);
        let wrong_method = h.send(Call::new(Method::GET, "/api/v1/auth/register")).await;
        assert_error(&wrong_method, StatusCode::METHOD_NOT_ALLOWED, 1007, name);
        let token = h.session("kim@example.com").await;
        let bad_id = h.send(Call::new(Method::DELETE, "/api/v1/security/api-key/abc").bearer(&token)).await;
        assert_error(&bad_id, StatusCode::BAD_REQUEST, 1002, name);
        let range = h.get("/api/v1/security/log?startTime=10&endTime=5", &token).await;
        assert_error(&range, StatusCode::BAD_REQUEST, 1002, name);
        let limit = h.get("/api/v1/security/login-history?limit=0", &token).await;
        assert_error(&limit, StatusCode::BAD_REQUEST, 1002, name);
        let not_number = h.get("/api/v1/security/login-history?startTime=yesterday", &token).await;
        assert_error(&not_number, StatusCode::BAD_REQUEST, 1002, name);
        let no_auth_scheme =
            h.send(Call::new(Method::GET, "/api/v1/security/log").header("authorization", token)).await;
        assert_error(&no_auth_scheme, StatusCode::UNAUTHORIZED, 1100, name);
    }
}

#[tokio::test]
async fn invalid_emails_and_weak_passwords() {
    for h in Harness::all().await {
        let name = h.name;
        for email in ["", "alice", "alice@", "alice@example", "a b@example.com", "alice@exa_mple.com"] {
            let reply = h.post("/api/v1/auth/register", None, json!({"email": email, "password": PASSWORD})).await;
            assert_error(&reply, StatusCode::BAD_REQUEST, 1003, &format!("{name} {email:?}"));
        }
        for password in
            ["", "Short1!", "alllowercaseletters", "1234567890123", "Password123", "qwertyuiop", "xxlee@example.comxx"]
        {
            let reply =
                h.post("/api/v1/auth/register", None, json!({"email": "lee@example.com", "password": password})).await;
            assert_error(&reply, StatusCode::BAD_REQUEST, 1004, &format!("{name} {password:?}"));
        }
        assert!(h.identity.store().user_by_email("lee@example.com").await.unwrap().is_none(), "{name}");
        assert!(h.engine.registered.lock().unwrap().is_empty(), "{name}: nothing registered");
        let login = h.post("/api/v1/auth/login", None, json!({"email": "not-an-email", "password": PASSWORD})).await;
        assert_error(&login, StatusCode::BAD_REQUEST, 1003, name);
        h.verified_user("lee@example.com").await;
        let taken =
            h.post("/api/v1/auth/register", None, json!({"email": "LEE@example.com", "password": PASSWORD})).await;
        assert_error(&taken, StatusCode::CONFLICT, 1200, name);
    }
}

#[tokio::test]
async fn codes_expire_work_once_and_allow_five_attempts() {
    for h in Harness::all().await {
        let name = h.name;
        let email = "max@example.com";
        h.post("/api/v1/auth/register", None, json!({"email": email, "password": PASSWORD})).await;
        let code = h.last_code(email, "verify_email").await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let verify = |code: &str| json!({"email": email, "verificationCode": code});
        for _ in 0..4 {
            let reply = h.post("/api/v1/auth/verify-email", None, verify(wrong)).await;
            assert_error(&reply, StatusCode::BAD_REQUEST, 1210, name);
        }
        let fifth = h.post("/api/v1/auth/verify-email", None, verify(wrong)).await;
        assert_error(&fifth, StatusCode::TOO_MANY_REQUESTS, 1211, name);
        let right = h.post("/api/v1/auth/verify-email", None, verify(&code)).await;
        assert_error(&right, StatusCode::TOO_MANY_REQUESTS, 1211, &format!("{name}: the code is dead"));

        // A resend within a minute sends nothing; after it, a new code replaces the old.
        let sent_before = h.outbox().await.len();
        let resend = h.post("/api/v1/auth/verify-email", None, json!({"email": email})).await;
        assert_eq!(resend.body, json!({"sent": true}), "{name}");
        h.clock.advance_ms(60_000);
        h.post("/api/v1/auth/verify-email", None, json!({"email": email})).await;
        assert_eq!(h.outbox().await.len(), sent_before + 1, "{name}: one new code, not two");
        let fresh = h.last_code(email, "verify_email").await;

        // Expired after 15 minutes.
        h.clock.advance_ms(15 * 60_000);
        let late = h.post("/api/v1/auth/verify-email", None, verify(&fresh)).await;
        assert_error(&late, StatusCode::BAD_REQUEST, 1210, &format!("{name}: expired"));
        h.post("/api/v1/auth/verify-email", None, json!({"email": email})).await;
        let newest = h.last_code(email, "verify_email").await;
        let reply = h.post("/api/v1/auth/verify-email", None, verify(&newest)).await;
        assert_eq!(reply.status, StatusCode::OK, "{name}: {reply:?}");
        let unknown = h
            .post("/api/v1/auth/verify-email", None, json!({"email": "who@example.com", "verificationCode": "123456"}))
            .await;
        assert_error(&unknown, StatusCode::BAD_REQUEST, 1210, &format!("{name}: no enumeration"));

        // The outbox keeps no code once delivered, and the dev sink is private.
        assert!(h.identity.store().undelivered(10).await.unwrap().is_empty(), "{name}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(h.identity.config().outbox_log()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
}

#[tokio::test]
async fn binding_a_phone_and_an_email() {
    for h in Harness::all().await {
        let name = h.name;
        let nia = h.session("nia@example.com").await;
        let oli = h.session("oli@example.com").await;
        let bad = h.post("/api/v1/security/phone/bind", Some(&nia), json!({"phoneNumber": "12345"})).await;
        assert_error(&bad, StatusCode::BAD_REQUEST, 1008, name);
        let sent = h.post("/api/v1/security/phone/bind", Some(&nia), json!({"phoneNumber": "+49 151 1234 5678"})).await;
        assert_eq!(sent.body, json!({"sent": true}), "{name}: {sent:?}");
        let sms = h.outbox().await.into_iter().last().unwrap();
        assert_eq!((sms["channel"].as_str(), sms["to"].as_str()), (Some("sms"), Some("+4915112345678")), "{name}");
        let code = h.last_code("+4915112345678", "bind_phone").await;
        let other_number = h
            .post(
                "/api/v1/security/phone/bind",
                Some(&nia),
                json!({"phoneNumber": "+4915199999999", "verificationCode": code}),
            )
            .await;
        assert_error(
            &other_number,
            StatusCode::BAD_REQUEST,
            1210,
            &format!("{name}: the code is for the number it went to"),
        );
        let bound = h
            .post(
                "/api/v1/security/phone/bind",
                Some(&nia),
                json!({"phoneNumber": "+4915112345678", "verificationCode": code}),
            )
            .await;
        assert_eq!(bound.body, json!({"bound": true}), "{name}: {bound:?}");

        // Oli cannot take the same number.
        h.post("/api/v1/security/phone/bind", Some(&oli), json!({"phoneNumber": "+4915112345678"})).await;
        let code = h.last_code("+4915112345678", "bind_phone").await;
        let taken = h
            .post(
                "/api/v1/security/phone/bind",
                Some(&oli),
                json!({"phoneNumber": "+4915112345678", "verificationCode": code}),
            )
            .await;
        assert_error(&taken, StatusCode::CONFLICT, 1215, name);

        // New email: confirmed by a code sent to it, then it is the login.
        let taken = h.post("/api/v1/security/email/bind", Some(&nia), json!({"email": "oli@example.com"})).await;
        assert_error(&taken, StatusCode::CONFLICT, 1200, name);
        h.post("/api/v1/security/email/bind", Some(&nia), json!({"email": "nia@new.example"})).await;
        let code = h.last_code("nia@new.example", "bind_email").await;
        let bound = h
            .post(
                "/api/v1/security/email/bind",
                Some(&nia),
                json!({"email": "nia@new.example", "verificationCode": code}),
            )
            .await;
        assert_eq!(bound.body, json!({"bound": true}), "{name}: {bound:?}");
        assert_eq!(h.login("nia@new.example", PASSWORD).await.status, StatusCode::OK, "{name}");
        assert_eq!(h.login("nia@example.com", PASSWORD).await.code(), 1201, "{name}");
        let log = h.get("/api/v1/security/log?limit=2", &nia).await;
        assert_eq!(log.body["events"][0]["event"], "email_bound", "{name}");
        assert_eq!(log.body["events"][1]["detail"], "…5678", "{name}: the number is masked");
    }
}
