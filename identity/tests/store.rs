//! The store's own tests, run on SQLite and (with CEX_TEST_PG_URL) on PostgreSQL.

mod common;

use cex_identity::store::{
    CreateSubAccountError, CreateUserError, NewLoginAudit, NewSubAccountRow, NewUser, SessionRow, Store, SubjectKind,
};
use common::db::test_dbs;

fn new_user<'a>(email: &'a str, max: u32) -> NewUser<'a> {
    NewUser {
        email,
        password_hash: "$argon2id$fake",
        invite_code: None,
        fee_tier: 2,
        engine_accounts_max: max,
        now_ms: 1_000,
    }
}

#[tokio::test]
async fn engine_accounts_are_dense_and_bounded() {
    for db in test_dbs().await {
        let store = Store::connect(&db.url()).await.unwrap();
        let a = store.create_user(&new_user("a@example.com", 4)).await.unwrap();
        let taken = store.create_user(&new_user("a@example.com", 4)).await;
        assert!(matches!(taken, Err(CreateUserError::EmailTaken)), "{}", db.name);
        let b = store.create_user(&new_user("b@example.com", 4)).await.unwrap();
        let c = store.create_user(&new_user("c@example.com", 4)).await.unwrap();
        assert_eq!((a.engine_account, b.engine_account, c.engine_account), (1, 2, 3), "{}: no gaps", db.name);
        assert!(matches!(store.create_user(&new_user("d@example.com", 4)).await, Err(CreateUserError::Capacity)));
        assert!(store.user_by_email("d@example.com").await.unwrap().is_none(), "{}", db.name);
        assert_eq!(c.fee_tier, 2);
        assert!(!c.engine_registered);
        let pending: Vec<i64> = store.unregistered_users().await.unwrap().iter().map(|u| u.id).collect();
        assert_eq!(pending, vec![a.id, b.id, c.id], "{}", db.name);
        store.mark_engine_registered(b.id, 2_000).await.unwrap();
        assert_eq!(store.unregistered_users().await.unwrap().len(), 2, "{}", db.name);
        assert!(store.user_by_id(b.id).await.unwrap().unwrap().engine_registered);
    }
}

#[tokio::test]
async fn migrations_run_once_and_reconnecting_keeps_the_data() {
    for db in test_dbs().await {
        let url = db.url();
        let store = Store::connect(&url).await.unwrap();
        store.create_user(&new_user("a@example.com", 100)).await.unwrap();
        store.close().await;
        let again = Store::connect(&url).await.unwrap();
        assert!(again.user_by_email("a@example.com").await.unwrap().is_some(), "{}", db.name);
        let next = again.create_user(&new_user("b@example.com", 100)).await.unwrap();
        assert_eq!(next.engine_account, 2, "{}: the counter persists", db.name);
    }
}

#[tokio::test]
async fn login_failures_lock_and_clear() {
    for db in test_dbs().await {
        let store = Store::connect(&db.url()).await.unwrap();
        let user = store.create_user(&new_user("a@example.com", 100)).await.unwrap();
        assert_eq!(store.record_login_failure(SubjectKind::User, user.id, 3, 60_000, 10).await.unwrap(), None);
        assert_eq!(store.record_login_failure(SubjectKind::User, user.id, 3, 60_000, 10).await.unwrap(), None);
        let locked = store.record_login_failure(SubjectKind::User, user.id, 3, 60_000, 10).await.unwrap();
        assert_eq!(locked, Some(60_010), "{}", db.name);
        let row = store.user_by_id(user.id).await.unwrap().unwrap();
        assert_eq!((row.failed_logins, row.locked_until), (0, Some(60_010)));
        store.clear_login_failures(SubjectKind::User, user.id).await.unwrap();
        assert_eq!(store.user_by_id(user.id).await.unwrap().unwrap().locked_until, None, "{}", db.name);
    }
}

#[tokio::test]
async fn refresh_tokens_rotate_once() {
    for db in test_dbs().await {
        let store = Store::connect(&db.url()).await.unwrap();
        let user = store.create_user(&new_user("a@example.com", 100)).await.unwrap();
        let session = SessionRow {
            id: "s1".into(),
            subject_kind: SubjectKind::User,
            subject_id: user.id,
            created_at: 10,
            last_used_at: 10,
            expires_at: 1_000,
            revoked_at: None,
            revoke_reason: None,
            ip: Some("127.0.0.1".into()),
            user_agent: None,
        };
        store.create_session(&session, "h1", 1_000).await.unwrap();
        assert!(store.rotate_refresh_token("h1", "h2", "s1", 20, 2_000).await.unwrap(), "{}", db.name);
        assert!(!store.rotate_refresh_token("h1", "h3", "s1", 30, 3_000).await.unwrap(), "{}: reuse", db.name);
        assert!(store.refresh_token("h3").await.unwrap().is_none(), "{}: nothing issued on reuse", db.name);
        assert_eq!(store.refresh_token("h1").await.unwrap().unwrap().used_at, Some(20));
        let live = store.session("s1").await.unwrap().unwrap();
        assert_eq!((live.expires_at, live.last_used_at), (2_000, 20), "{}", db.name);
        assert!(live.is_active(1_999) && !live.is_active(2_000));
        assert_eq!(store.revoke_sessions_of(SubjectKind::User, user.id, "logout", 40).await.unwrap(), 1);
        assert!(!store.revoke_session("s1", "again", 50).await.unwrap(), "{}", db.name);
        let revoked = store.session("s1").await.unwrap().unwrap();
        assert_eq!((revoked.revoked_at, revoked.revoke_reason.as_deref()), (Some(40), Some("logout")));
    }
}

#[tokio::test]
async fn only_the_newest_code_counts_and_once() {
    for db in test_dbs().await {
        let store = Store::connect(&db.url()).await.unwrap();
        let user = store.create_user(&new_user("a@example.com", 100)).await.unwrap();
        let first = store.insert_code(user.id, "verify_email", "a@example.com", "h1", 10, 100).await.unwrap();
        let second = store.insert_code(user.id, "verify_email", "a@example.com", "h2", 20, 200).await.unwrap();
        let latest = store.latest_code(user.id, "verify_email").await.unwrap().unwrap();
        assert_eq!((latest.id, latest.code_hash.as_str(), latest.consumed_at), (second, "h2", None), "{}", db.name);
        assert!(!store.consume_code(first, 30).await.unwrap(), "{}: superseded", db.name);
        assert_eq!(store.bump_code_attempts(second).await.unwrap(), 1);
        assert!(store.consume_code(second, 30).await.unwrap());
        assert!(!store.consume_code(second, 31).await.unwrap(), "{}: single use", db.name);
        let message =
            store.insert_outbox(Some(user.id), "email", "a@example.com", "verify_email", "s", "code 1", 5).await;
        let message = message.unwrap();
        assert_eq!(store.undelivered(10).await.unwrap().len(), 1);
        store.mark_delivered(message.id, 6).await.unwrap();
        assert!(store.undelivered(10).await.unwrap().is_empty(), "{}", db.name);
    }
}

#[tokio::test]
async fn api_keys_belong_to_their_user() {
    for db in test_dbs().await {
        let store = Store::connect(&db.url()).await.unwrap();
        let alice = store.create_user(&new_user("a@example.com", 100)).await.unwrap();
        let bob = store.create_user(&new_user("b@example.com", 100)).await.unwrap();
        let key = store.insert_api_key(alice.id, "K1", "sealed", "bot", "read,trade", "", 10).await.unwrap();
        assert_eq!(store.api_key_by_key("K1").await.unwrap().unwrap().user_id, alice.id, "{}", db.name);
        assert!(store.update_api_key(bob.id, key.id, "read", "", 20).await.unwrap().is_none(), "{}", db.name);
        assert!(!store.delete_api_key(bob.id, key.id).await.unwrap(), "{}", db.name);
        let updated = store.update_api_key(alice.id, key.id, "read", "10.0.0.1", 20).await.unwrap().unwrap();
        assert_eq!((updated.permissions.as_str(), updated.ip_whitelist.as_str()), ("read", "10.0.0.1"));
        assert_eq!(store.count_api_keys(alice.id).await.unwrap(), 1);
        assert!(store.api_keys_of(bob.id).await.unwrap().is_empty());
        assert!(store.delete_api_key(alice.id, key.id).await.unwrap(), "{}", db.name);
        assert!(store.api_key_by_key("K1").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn audit_and_security_log_filter_by_subject_and_time() {
    for db in test_dbs().await {
        let store = Store::connect(&db.url()).await.unwrap();
        let alice = store.create_user(&new_user("a@example.com", 100)).await.unwrap();
        for (at, success) in [(10, false), (20, true), (30, true)] {
            let audit = NewLoginAudit {
                subject_kind: SubjectKind::User,
                subject_id: Some(alice.id),
                email: "a@example.com",
                ip: Some("10.0.0.1"),
                user_agent: Some("curl"),
                device_info: None,
                success,
                reason: if success { "ok" } else { "bad_password" },
                now_ms: at,
            };
            store.insert_login_audit(&audit).await.unwrap();
        }
        let history = store.login_history(SubjectKind::User, alice.id, 0, 30, 10).await.unwrap();
        let seen: Vec<(i64, bool)> = history.iter().map(|row| (row.created_at, row.success)).collect();
        assert_eq!(seen, vec![(20, true), (10, false)], "{}: newest first, end exclusive", db.name);
        assert!(store.login_history(SubjectKind::Staff, alice.id, 0, 100, 10).await.unwrap().is_empty());
        store.insert_security_log(SubjectKind::User, alice.id, "password_changed", "", None, 40).await.unwrap();
        store.insert_security_log(SubjectKind::User, alice.id, "2fa_enabled", "", Some("::1"), 50).await.unwrap();
        let log = store.security_log(SubjectKind::User, alice.id, 0, 100, 1).await.unwrap();
        assert_eq!(log.len(), 1, "{}: limit", db.name);
        assert_eq!((log[0].event.as_str(), log[0].ip.as_deref()), ("2fa_enabled", Some("::1")));
    }
}

#[tokio::test]
async fn phone_and_email_are_unique() {
    for db in test_dbs().await {
        let store = Store::connect(&db.url()).await.unwrap();
        let alice = store.create_user(&new_user("a@example.com", 100)).await.unwrap();
        let bob = store.create_user(&new_user("b@example.com", 100)).await.unwrap();
        assert!(store.set_phone(alice.id, "+4915112345678", 10).await.unwrap());
        assert!(!store.set_phone(bob.id, "+4915112345678", 10).await.unwrap(), "{}", db.name);
        assert!(!store.set_email(bob.id, "a@example.com", 10).await.unwrap(), "{}", db.name);
        assert!(store.set_email(bob.id, "bob@example.com", 10).await.unwrap());
        let staff = store.create_staff("ops@example.com", "$argon2id$x", "Operator", 10).await.unwrap().unwrap();
        assert!(store.create_staff("ops@example.com", "$argon2id$x", "Admin", 10).await.unwrap().is_none());
        assert_eq!(store.staff_by_email("ops@example.com").await.unwrap().unwrap().id, staff.id, "{}", db.name);
    }
}

fn new_sub<'a>(parent_id: i64, email: &'a str, login_email: &'a str, max_per_parent: i64) -> NewSubAccountRow<'a> {
    NewSubAccountRow {
        parent_id,
        email,
        label: "desk",
        permissions: "read,trade",
        login_email,
        password_hash: "!",
        fee_tier: 2,
        engine_accounts_max: 100,
        max_per_parent,
        now_ms: 1_000,
    }
}

#[tokio::test]
async fn sub_accounts_are_bounded_even_when_created_at_once() {
    for db in test_dbs().await {
        let store = Store::connect(&db.url()).await.unwrap();
        let parent = store.create_user(&new_user("p@example.com", 100)).await.unwrap();
        let logins: Vec<String> = (0..8).map(|i| format!("sub-{i}@sub-account.invalid")).collect();
        let emails: Vec<String> = (0..8).map(|i| format!("d{i}@fund.example")).collect();
        let attempts = (0..8).map(|i| {
            let store = store.clone();
            let (login, email) = (logins[i].clone(), emails[i].clone());
            tokio::spawn(async move { store.create_sub_account(&new_sub(parent.id, &email, &login, 3)).await })
        });
        let mut created = 0;
        for attempt in attempts.collect::<Vec<_>>() {
            match attempt.await.unwrap() {
                Ok(_) => created += 1,
                Err(CreateSubAccountError::TooMany) => {}
                Err(other) => panic!("{}: {other:?}", db.name),
            }
        }
        assert_eq!(created, 3, "{}: the parent's row lock serializes the count", db.name);
        let live = store.sub_accounts_of(parent.id).await.unwrap();
        assert_eq!(live.len(), 3, "{}", db.name);
        // Dense engine ids: the parent's, then the three created, no gap from the refused.
        let mut accounts = Vec::new();
        for sub in &live {
            accounts.push(store.user_by_id(sub.user_id).await.unwrap().unwrap().engine_account);
        }
        accounts.sort();
        assert_eq!(accounts, vec![2, 3, 4], "{}", db.name);

        let taken = store.create_sub_account(&new_sub(parent.id, &live[0].email, "x@sub-account.invalid", 10)).await;
        assert!(matches!(taken, Err(CreateSubAccountError::EmailTaken)), "{}: {taken:?}", db.name);
        let other = store.create_user(&new_user("q@example.com", 100)).await.unwrap();
        assert!(store.sub_account_of(other.id, live[0].user_id).await.unwrap().is_none(), "{}", db.name);
        assert_eq!(store.delete_sub_account(other.id, live[0].user_id, 2_000).await.unwrap(), None, "{}", db.name);
        assert_eq!(store.delete_sub_account(parent.id, live[0].user_id, 2_000).await.unwrap(), Some(0));
        assert_eq!(
            store.delete_sub_account(parent.id, live[0].user_id, 2_001).await.unwrap(),
            None,
            "{}: once",
            db.name
        );
        let again = store.create_sub_account(&new_sub(parent.id, &live[0].email, "y@sub-account.invalid", 10)).await;
        assert!(again.is_ok(), "{}: a deleted one's name is free", db.name);
        let gone = store.sub_account(live[0].user_id).await.unwrap().unwrap();
        assert!(gone.deleted_at.is_some(), "{}", db.name);
    }
}
