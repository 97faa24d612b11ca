//! Engine registration: dense account ids, the fee tier, registration before the user is
//! reported created, and failures surfaced and retried.

mod common;

use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use common::db::test_dbs;
use common::{Harness, PASSWORD};
use serde_json::json;

#[tokio::test]
async fn accounts_are_dense_and_registered_with_their_tier() {
    for h in Harness::all().await {
        for who in ["a", "b", "c"] {
            h.verified_user(&format!("{who}@example.com")).await;
        }
        assert_eq!(*h.engine.registered.lock().unwrap(), vec![(1, 3), (2, 3), (3, 3)], "{}", h.name);
    }
}

#[tokio::test]
async fn an_engine_failure_is_surfaced_and_retried() {
    for h in Harness::all().await {
        let name = h.name;
        h.engine.refuse.store(true, Ordering::SeqCst);
        let reply =
            h.post("/api/v1/auth/register", None, json!({"email": "pat@example.com", "password": PASSWORD})).await;
        assert_eq!((reply.status, reply.code()), (StatusCode::SERVICE_UNAVAILABLE, 1501), "{name}: {reply:?}");
        assert!(h.outbox().await.is_empty(), "{name}: no verification before the engine has the account");
        let user = h.identity.store().user_by_email("pat@example.com").await.unwrap().unwrap();
        assert!(!user.engine_registered, "{name}");
        assert_eq!(h.identity.register_pending().await.unwrap(), (0, 1), "{name}");

        // Verify (code resent), then login retries the registration while the engine refuses...
        h.identity.store().set_email_verified(user.id, 1).await.unwrap();
        let login = h.login("pat@example.com", PASSWORD).await;
        assert_eq!(login.code(), 1501, "{name}: {login:?}");
        // ...and succeeds once the engine takes commands again.
        h.engine.refuse.store(false, Ordering::SeqCst);
        let login = h.login("pat@example.com", PASSWORD).await;
        assert_eq!(login.status, StatusCode::OK, "{name}: {login:?}");
        assert_eq!(*h.engine.registered.lock().unwrap(), vec![(1, 3)], "{name}");
        assert!(h.identity.store().user_by_email("pat@example.com").await.unwrap().unwrap().engine_registered);

        // register_pending catches up any other pending user, once.
        h.engine.refuse.store(true, Ordering::SeqCst);
        h.post("/api/v1/auth/register", None, json!({"email": "quinn@example.com", "password": PASSWORD})).await;
        h.engine.refuse.store(false, Ordering::SeqCst);
        assert_eq!(h.identity.register_pending().await.unwrap(), (1, 0), "{name}");
        assert_eq!(h.identity.register_pending().await.unwrap(), (0, 0), "{name}");
        assert_eq!(*h.engine.registered.lock().unwrap(), vec![(1, 3), (2, 3)], "{name}");
    }
}

#[tokio::test]
async fn no_account_beyond_the_engines_capacity() {
    for db in test_dbs().await {
        let h = Harness::with(db, |config| config.engine_accounts_max = 3).await;
        h.verified_user("a@example.com").await;
        h.verified_user("b@example.com").await;
        let reply =
            h.post("/api/v1/auth/register", None, json!({"email": "c@example.com", "password": PASSWORD})).await;
        assert_eq!((reply.status, reply.code()), (StatusCode::SERVICE_UNAVAILABLE, 1503), "{}: {reply:?}", h.name);
        assert!(h.identity.store().user_by_email("c@example.com").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn the_sqlite_file_and_key_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let h = Harness::all().await.remove(0);
    for file in ["cex.db", "identity-jwt.key", "identity-vault.key"] {
        let mode = std::fs::metadata(h.db.path().join(file)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file}");
    }
}
