//! SMTP delivery through lettre, against a fake SMTP server on loopback (plain smtp://, no
//! TLS): the outbox worker sends the code in the message body and marks the row sent; a
//! refusing server is retried with backoff; a message whose code expired is given up; text
//! messages are refused up front when only SMTP is configured.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use cex_identity::delivery::{Delivery, SmtpDelivery};
use cex_identity::store::OutboxMessage;
use common::db::test_dbs;
use common::smtp::FakeSmtp;
use common::{Harness, PASSWORD};
use serde_json::json;

async fn smtp_harnesses() -> Vec<(Harness, FakeSmtp)> {
    let mut all = Vec::new();
    for db in test_dbs().await {
        let server = FakeSmtp::start().await;
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
        all.push((h, server));
    }
    all
}

/// The outbox row `id` once `done` holds for it, as the background worker moves it along.
async fn wait_for(h: &Harness, id: i64, what: &str, done: impl Fn(&OutboxMessage) -> bool) -> OutboxMessage {
    for _ in 0..1000 {
        if let Some(row) = h.identity.store().outbox_message(id).await.unwrap() {
            if done(&row) {
                return row;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{}: outbox row {id} never got to: {what}", h.name);
}

fn six_digits(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit()).find(|word| word.len() == 6).map(str::to_string)
}

#[tokio::test]
async fn the_worker_sends_the_code_by_smtp_and_marks_the_row_sent() {
    for (h, server) in smtp_harnesses().await {
        let name = h.name;
        let email = "mia@example.com";
        let reply = h.post("/api/v1/auth/register", None, json!({"email": email, "password": PASSWORD})).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{name}: {reply:?}");

        // No flush: the background worker, woken by the queueing, sends it.
        let row = wait_for(&h, 1, "delivered", |row| row.delivered_at.is_some()).await;
        assert_eq!((row.body.as_str(), row.attempts, row.error.as_deref()), ("", 0, None), "{name}: blanked");
        assert_eq!((row.channel.as_str(), row.recipient.as_str()), ("email", email));

        let received = server.received();
        assert_eq!(received.len(), 1, "{name}");
        let message = &received[0];
        assert_eq!(message.mail_from, "<no-reply@example.com>", "{name}");
        assert_eq!(message.rcpt_to, vec![format!("<{email}>")], "{name}");
        assert!(message.data.contains("Subject: Verify your email"), "{name}: {}", message.data);
        assert!(message.data.contains("From: cex <no-reply@example.com>"), "{name}: {}", message.data);
        assert!(message.data.contains(&format!("To: {email}")), "{name}: {}", message.data);
        let body = message.data.split("\n\n").nth(1).expect("headers, a blank line, the body");
        assert!(body.starts_with("Your cex code is "), "{name}: {body}");
        let code = six_digits(body).expect("a six-digit code in the body");

        // The code that went out by SMTP is the one that verifies the email.
        let verified =
            h.post("/api/v1/auth/verify-email", None, json!({"email": email, "verificationCode": code})).await;
        assert_eq!(verified.body["verified"], true, "{name}: {verified:?}");
        assert!(h.identity.store().undelivered(10).await.unwrap().is_empty(), "{name}");
        assert!(!std::path::Path::new(&h.identity.config().outbox_log()).exists(), "{name}: no dev sink file");
    }
}

#[tokio::test]
async fn a_refusing_server_is_retried_with_backoff() {
    for (h, server) in smtp_harnesses().await {
        let name = h.name;
        let email = "noa@example.com";
        server.refuse_next(2);
        let reply = h.post("/api/v1/auth/register", None, json!({"email": email, "password": PASSWORD})).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{name}: the request does not wait for the mail server");

        let first = wait_for(&h, 1, "one failed attempt", |row| row.attempts == 1).await;
        let error = first.error.clone().unwrap();
        assert!(error.contains("smtp") && error.contains("421"), "{name}: {error}");
        assert!(first.body.contains("Your cex code is"), "{name}: the body is kept for the retry");
        assert!(six_digits(&error).is_none(), "{name}: no code in the error");
        assert_eq!(first.next_attempt_at - h.identity.now_ms(), 1_000, "{name}: first retry after 1 s");
        assert_eq!(first.delivered_at, None);

        // Not due yet: nothing is sent however often the worker looks.
        h.clock.advance_ms(999);
        h.identity.wake_outbox();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(server.connections(), 1, "{name}: no retry before its time");

        h.clock.advance_ms(1);
        h.identity.wake_outbox();
        let second = wait_for(&h, 1, "two failed attempts", |row| row.attempts == 2).await;
        assert_eq!(second.next_attempt_at - h.identity.now_ms(), 2_000, "{name}: the backoff doubles");
        assert_eq!(server.connections(), 2, "{name}");

        h.clock.advance_ms(2_000);
        h.identity.wake_outbox();
        let sent = wait_for(&h, 1, "delivered", |row| row.delivered_at.is_some()).await;
        assert_eq!((sent.attempts, sent.error.as_deref(), sent.body.as_str()), (2, None, ""), "{name}");
        let received = server.received();
        assert_eq!((received.len(), server.connections()), (1, 3), "{name}");
        assert!(six_digits(received[0].data.split("\n\n").nth(1).unwrap()).is_some(), "{name}");
    }
}

#[tokio::test]
async fn a_message_whose_code_expired_is_given_up() {
    for (h, server) in smtp_harnesses().await {
        let name = h.name;
        server.refuse_next(usize::MAX);
        h.post("/api/v1/auth/register", None, json!({"email": "ola@example.com", "password": PASSWORD})).await;
        wait_for(&h, 1, "one failed attempt", |row| row.attempts == 1).await;
        h.clock.advance_ms(15 * 60_000);
        h.identity.wake_outbox();
        let given_up = wait_for(&h, 1, "given up", |row| row.failed_at.is_some()).await;
        assert_eq!((given_up.body.as_str(), given_up.delivered_at), ("", None), "{name}: no code left at rest");
        assert!(given_up.error.unwrap().contains("expired"), "{name}");
        assert_eq!(server.connections(), 1, "{name}: not sent once expired");
        assert!(h.identity.flush_outbox(Duration::from_secs(1)).await.unwrap(), "{name}: nothing left to do");
        assert!(h.identity.store().undelivered(10).await.unwrap().is_empty(), "{name}");
    }
}

#[tokio::test]
async fn without_an_sms_gateway_phone_codes_are_refused_up_front() {
    for (h, server) in smtp_harnesses().await {
        let name = h.name;
        let email = "pia@example.com";
        h.post("/api/v1/auth/register", None, json!({"email": email, "password": PASSWORD})).await;
        assert!(h.identity.flush_outbox(Duration::from_secs(10)).await.unwrap());
        let code = six_digits(server.received()[0].data.split("\n\n").nth(1).unwrap()).unwrap();
        h.post("/api/v1/auth/verify-email", None, json!({"email": email, "verificationCode": code})).await;
        let token = h.login(email, PASSWORD).await.str("accessToken");
        let reply = h.post("/api/v1/security/phone/bind", Some(&token), json!({"phoneNumber": "+4915112345678"})).await;
        assert_eq!((reply.status, reply.code()), (StatusCode::SERVICE_UNAVAILABLE, 1504), "{name}: {reply:?}");
        assert!(h.identity.store().undelivered(10).await.unwrap().is_empty(), "{name}: nothing queued");
    }
}
