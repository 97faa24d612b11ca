//! Sub-accounts: created with their own engine account at the parent's tier; listed;
//! validated; limited; used only through keys the parent creates, within the sub-account's
//! permissions (checked at creation and on every signed request); narrowed and deleted by
//! the parent alone; assets from the attached balances reader (501 without one). Ownership
//! across users is in authz.rs.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use cex_identity::{totp, AccountBalances, AssetBalance};
use common::db::test_dbs;
use common::{Call, Harness, PASSWORD};
use serde_json::{json, Value};

fn sub_body(email: &str, permissions: &[&str]) -> Value {
    json!({"email": email, "label": "desk", "permissions": permissions})
}

#[tokio::test]
async fn create_list_and_register_with_the_engine() {
    for h in Harness::all().await {
        let name = h.name;
        let token = h.session("pat@example.com").await;
        let parent_account = h.engine.registered.lock().unwrap().last().unwrap().0;

        let created =
            h.post("/api/v1/sub-account", Some(&token), sub_body("Desk-1@Fund.example", &["trade", "read"])).await;
        assert_eq!(created.status, StatusCode::CREATED, "{name}: {created:?}");
        let sub = created.body["subAccountId"].as_i64().unwrap();
        assert_eq!(created.body["email"], "desk-1@fund.example", "{name}: normalised");
        assert_eq!(created.body["label"], "desk");
        assert_eq!(created.body["permissions"], json!(["read", "trade"]), "{name}");
        assert_eq!(created.body["engineRegistered"], true, "{name}");
        // Its own engine account, the next id, at the parent's fee tier.
        assert_eq!(h.engine.registered.lock().unwrap().last().copied(), Some((parent_account + 1, 3)), "{name}");

        let list = h.get("/api/v1/sub-accounts", &token).await;
        assert_eq!(list.body["subAccounts"].as_array().unwrap().len(), 1, "{name}");
        assert_eq!(list.body["subAccounts"][0]["subAccountId"], sub, "{name}");

        // It is no login: the parent's name for it reaches nobody, and no email was sent.
        assert_eq!(h.login("desk-1@fund.example", PASSWORD).await.code(), 1201, "{name}");
        assert!(h.outbox().await.iter().all(|message| message["to"] != "desk-1@fund.example"), "{name}");
        let row = h.identity.store().user_by_id(sub).await.unwrap().unwrap();
        assert!(row.email.ends_with("@sub-account.invalid"), "{name}: {row:?}");
        assert!(
            !cex_identity::password::verify(PASSWORD, &row.password_hash)
                && !cex_identity::password::verify("", &row.password_hash)
        );

        // Validation and uniqueness (per parent).
        let again = h.post("/api/v1/sub-account", Some(&token), sub_body("desk-1@fund.example", &["read"])).await;
        assert_eq!((again.status, again.code()), (StatusCode::CONFLICT, 1600), "{name}");
        let other = h.session("quin@example.com").await;
        let same_name = h.post("/api/v1/sub-account", Some(&other), sub_body("desk-1@fund.example", &["read"])).await;
        assert_eq!(same_name.status, StatusCode::CREATED, "{name}: another parent may use the same name");
        for (body, code) in [
            (sub_body("not an email", &["read"]), 1003),
            (sub_body("d2@fund.example", &[]), 1302),
            (sub_body("d2@fund.example", &["admin"]), 1302),
            (json!({"email": "d2@fund.example", "label": "", "permissions": ["read"]}), 1002),
            (json!({"email": "d2@fund.example", "permissions": ["read"]}), 1002),
        ] {
            let reply = h.post("/api/v1/sub-account", Some(&token), body.clone()).await;
            assert_eq!(reply.code(), code, "{name}: {body}: {reply:?}");
        }
        let log = h.get("/api/v1/security/log", &token).await;
        assert!(log.body["events"].as_array().unwrap().iter().any(|e| e["event"] == "sub_account_created"), "{name}");
    }
}

#[tokio::test]
async fn the_limit_counts_live_sub_accounts() {
    for db in test_dbs().await {
        let h = Harness::with(db, |config| config.max_sub_accounts_per_user = 2).await;
        let name = h.name;
        let token = h.session("rae@example.com").await;
        let mut ids = Vec::new();
        for i in 0..2 {
            let reply =
                h.post("/api/v1/sub-account", Some(&token), sub_body(&format!("d{i}@fund.example"), &["read"])).await;
            ids.push(reply.body["subAccountId"].as_i64().unwrap());
        }
        let third = h.post("/api/v1/sub-account", Some(&token), sub_body("d2@fund.example", &["read"])).await;
        assert_eq!((third.status, third.code()), (StatusCode::CONFLICT, 1601), "{name}");
        let delete = h.send(Call::new(Method::DELETE, format!("/api/v1/sub-account/{}", ids[0])).bearer(&token)).await;
        assert_eq!(delete.body, json!({"deleted": true, "subAccountId": ids[0]}), "{name}");
        // The name is free again, and the deleted one's engine account id is not reused.
        let reused = h.post("/api/v1/sub-account", Some(&token), sub_body("d0@fund.example", &["read"])).await;
        assert_eq!(reused.status, StatusCode::CREATED, "{name}: {reused:?}");
        let accounts: Vec<u32> = h.engine.registered.lock().unwrap().iter().map(|(account, _)| *account).collect();
        let unique: std::collections::BTreeSet<u32> = accounts.iter().copied().collect();
        assert_eq!(unique.len(), accounts.len(), "{name}: every registration a new account");
        assert_eq!(accounts.len(), 4, "{name}: the parent and three sub-accounts");
        assert_eq!(h.get("/api/v1/sub-accounts", &token).await.body["subAccounts"].as_array().unwrap().len(), 2);
    }
}

#[tokio::test]
async fn keys_act_for_the_sub_account_within_its_permissions() {
    for h in Harness::all().await {
        let name = h.name;
        let token = h.session("sol@example.com").await;
        let created =
            h.post("/api/v1/sub-account", Some(&token), sub_body("bot@fund.example", &["read", "trade"])).await;
        let sub = created.body["subAccountId"].as_i64().unwrap();
        let sub_account = h.identity.store().user_by_id(sub).await.unwrap().unwrap().engine_account;
        let parent = h.identity.store().user_by_email("sol@example.com").await.unwrap().unwrap();

        let beyond = json!({"label": "bot", "permissions": ["read", "withdraw"]});
        let reply = h.post(&format!("/api/v1/sub-account/{sub}/api-key"), Some(&token), beyond).await;
        assert_eq!((reply.status, reply.code()), (StatusCode::BAD_REQUEST, 1602), "{name}: beyond its permissions");
        let key = h
            .post(
                &format!("/api/v1/sub-account/{sub}/api-key"),
                Some(&token),
                json!({"label": "bot", "permissions": ["read", "trade"]}),
            )
            .await;
        assert_eq!(key.status, StatusCode::CREATED, "{name}: {key:?}");
        let (key_id, api_key, secret) = (key.body["id"].as_i64().unwrap(), key.str("apiKey"), key.str("secretKey"));
        assert!(
            h.get("/api/v1/security/api-keys", &token).await.body["apiKeys"].as_array().unwrap().is_empty(),
            "{name}: not the parent's key"
        );

        // A signed request acts as the sub-account; the gateway logon grants its account.
        let reply = h.send(h.signed(Method::GET, "/api/v1/security/api-keys", "", &api_key, &secret, "")).await;
        assert_eq!(reply.body["apiKeys"][0]["id"], key_id, "{name}: {reply:?}");
        let grant = logon(&h, &api_key, &secret).await.unwrap();
        assert_eq!((grant.user_id, grant.engine_account, grant.sub_account_of), (sub, sub_account, Some(parent.id)));
        assert_eq!(grant.permissions.names(), ["read", "trade"], "{name}");

        // Narrowing the sub-account narrows its keys at once.
        let modify = Call::new(Method::PUT, format!("/api/v1/sub-account/{sub}/permissions"))
            .json(&json!({"newPermissions": ["trade"]}))
            .bearer(&token);
        let modified = h.send(modify).await;
        assert_eq!(modified.body["permissions"], json!(["trade"]), "{name}: {modified:?}");
        let reply = h.send(h.signed(Method::GET, "/api/v1/security/api-keys", "", &api_key, &secret, "")).await;
        assert_eq!((reply.status, reply.code()), (StatusCode::FORBIDDEN, 1109), "{name}: read is gone");
        assert_eq!(logon(&h, &api_key, &secret).await.unwrap().permissions.names(), ["trade"], "{name}");
        let keys = h.get(&format!("/api/v1/sub-account/{sub}/api-keys"), &token).await;
        assert_eq!(keys.body["apiKeys"][0]["permissions"], json!(["trade"]), "{name}: the stored key narrowed too");
        // Widening the ceiling again does not widen the key.
        let widen = Call::new(Method::PUT, format!("/api/v1/sub-account/{sub}/permissions"))
            .json(&json!({"permissions": ["read", "trade"]}))
            .bearer(&token);
        assert_eq!(h.send(widen).await.status, StatusCode::OK);
        assert_eq!(logon(&h, &api_key, &secret).await.unwrap().permissions.names(), ["trade"], "{name}");

        // Deleting the key, then the sub-account.
        let delete = Call::new(Method::DELETE, format!("/api/v1/sub-account/{sub}/api-key/{key_id}")).bearer(&token);
        assert_eq!(h.send(delete).await.body, json!({"deleted": true, "id": key_id}), "{name}");
        assert_eq!(logon(&h, &api_key, &secret).await.unwrap_err().code.number(), 1104, "{name}");
        let key = h
            .post(
                &format!("/api/v1/sub-account/{sub}/api-key"),
                Some(&token),
                json!({"label": "b2", "permissions": ["trade"]}),
            )
            .await;
        let (api_key, secret) = (key.str("apiKey"), key.str("secretKey"));
        let delete = Call::new(Method::DELETE, format!("/api/v1/sub-account/{sub}")).bearer(&token);
        assert_eq!(h.send(delete).await.status, StatusCode::OK, "{name}");
        assert_eq!(logon(&h, &api_key, &secret).await.unwrap_err().code.number(), 1104, "{name}: its keys are gone");
        for (method, uri) in [
            (Method::DELETE, format!("/api/v1/sub-account/{sub}")),
            (Method::GET, format!("/api/v1/sub-account/{sub}/api-keys")),
            (Method::GET, format!("/api/v1/sub-account/{sub}/assets")),
        ] {
            let reply = h.send(Call::new(method, uri.clone()).bearer(&token)).await;
            assert_eq!(reply.code(), 1603, "{name}: {uri} after deletion");
        }
        assert_eq!(h.identity.store().user_by_id(sub).await.unwrap().unwrap().status, "deleted", "{name}");
        let events: Vec<String> = h.get("/api/v1/security/log", &token).await.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|event| event["event"].as_str().unwrap().to_string())
            .collect();
        for event in [
            "sub_account_created",
            "sub_account_api_key_created",
            "sub_account_permissions_modified",
            "sub_account_api_key_deleted",
            "sub_account_deleted",
        ] {
            assert!(events.iter().any(|e| e == event), "{name}: {event} in {events:?}");
        }
    }
}

async fn logon(h: &Harness, api_key: &str, secret: &str) -> Result<cex_identity::KeyGrant, cex_identity::ApiError> {
    h.clock.advance_ms(1);
    let now = h.identity.now_ms();
    let nonce = now as u64;
    let payload = cex_identity::signing::logon_payload(api_key, now, nonce);
    let signature = cex_identity::signing::sign(secret, payload.as_bytes());
    h.identity.verify_logon(api_key, now, nonce, &signature, None).await
}

#[tokio::test]
async fn the_parents_second_factor_guards_its_sub_accounts() {
    for h in Harness::all().await {
        let name = h.name;
        let token = h.session("tia@example.com").await;
        let setup = h.post("/api/v1/security/2fa/enable", Some(&token), json!({})).await;
        let secret = setup.str("secret");
        let code = totp::code_from_base32(&secret, h.identity.now_ms()).unwrap();
        h.post("/api/v1/security/2fa/enable", Some(&token), json!({"code": code})).await;
        let created =
            h.post("/api/v1/sub-account", Some(&token), sub_body("mm@fund.example", &["trade", "withdraw"])).await;
        assert_eq!(created.status, StatusCode::CREATED, "{name}: creating one grants nothing by itself");
        let sub = created.body["subAccountId"].as_i64().unwrap();

        let no_code = h
            .post(
                &format!("/api/v1/sub-account/{sub}/api-key"),
                Some(&token),
                json!({"label": "k", "permissions": ["trade"]}),
            )
            .await;
        assert_eq!(no_code.code(), 1209, "{name}");
        let withdraw = json!({"label": "k", "permissions": ["withdraw"], "2faCode": "000000"});
        let reply = h.post(&format!("/api/v1/sub-account/{sub}/api-key"), Some(&token), withdraw).await;
        assert_eq!(reply.code(), 1303, "{name}: withdraw needs an IP whitelist");
        h.clock.advance_ms(30_000);
        let code = totp::code_from_base32(&secret, h.identity.now_ms()).unwrap();
        let body = json!({"label": "k", "permissions": ["trade", "withdraw"], "ipWhitelist": ["198.51.100.7"], "2faCode": code});
        let key = h.post(&format!("/api/v1/sub-account/{sub}/api-key"), Some(&token), body).await;
        assert_eq!(key.status, StatusCode::CREATED, "{name}: {key:?}");

        for (method, uri, body) in [
            (Method::DELETE, format!("/api/v1/sub-account/{sub}"), json!({})),
            (Method::PUT, format!("/api/v1/sub-account/{sub}/permissions"), json!({"newPermissions": ["read"]})),
            (Method::DELETE, format!("/api/v1/sub-account/{sub}/api-key/{}", key.body["id"]), json!({})),
        ] {
            let reply = h.send(Call::new(method, uri.clone()).json(&body).bearer(&token)).await;
            assert_eq!(reply.code(), 1209, "{name}: {uri} needs the code");
        }
        h.clock.advance_ms(30_000);
        let code = totp::code_from_base32(&secret, h.identity.now_ms()).unwrap();
        let delete = Call::new(Method::DELETE, format!("/api/v1/sub-account/{sub}"))
            .json(&json!({"2faCode": code}))
            .bearer(&token);
        assert_eq!(h.send(delete).await.status, StatusCode::OK, "{name}");
    }
}

#[tokio::test]
async fn an_engine_failure_leaves_it_pending_and_retried() {
    for h in Harness::all().await {
        let name = h.name;
        let token = h.session("uma@example.com").await;
        h.engine.refuse.store(true, Ordering::SeqCst);
        let reply = h.post("/api/v1/sub-account", Some(&token), sub_body("desk@fund.example", &["trade"])).await;
        assert_eq!((reply.status, reply.code()), (StatusCode::SERVICE_UNAVAILABLE, 1501), "{name}");
        let list = h.get("/api/v1/sub-accounts", &token).await;
        assert_eq!(list.body["subAccounts"][0]["engineRegistered"], false, "{name}: kept, pending");
        let sub = list.body["subAccounts"][0]["subAccountId"].as_i64().unwrap();
        let key = h
            .post(
                &format!("/api/v1/sub-account/{sub}/api-key"),
                Some(&token),
                json!({"label": "k", "permissions": ["trade"]}),
            )
            .await;
        assert_eq!(key.code(), 1501, "{name}: no key for an account the engine lacks");

        h.engine.refuse.store(false, Ordering::SeqCst);
        let key = h
            .post(
                &format!("/api/v1/sub-account/{sub}/api-key"),
                Some(&token),
                json!({"label": "k", "permissions": ["trade"]}),
            )
            .await;
        assert_eq!(key.status, StatusCode::CREATED, "{name}: registered first, then the key");
        let list = h.get("/api/v1/sub-accounts", &token).await;
        assert_eq!(list.body["subAccounts"][0]["engineRegistered"], true, "{name}");
        assert_eq!(h.identity.register_pending().await.unwrap(), (0, 0), "{name}");
    }
}

/// Balances as a read model would hold them: engine account → its balances.
struct Ledger(std::collections::HashMap<u32, Vec<AssetBalance>>);

impl AccountBalances for Ledger {
    fn balances(&self, engine_account: u32) -> Vec<AssetBalance> {
        self.0.get(&engine_account).cloned().unwrap_or_default()
    }
}

#[tokio::test]
async fn assets_come_from_the_attached_balances_reader() {
    for h in Harness::all().await {
        let name = h.name;
        let token = h.session("vic@example.com").await;
        let created = h.post("/api/v1/sub-account", Some(&token), sub_body("desk@fund.example", &["read"])).await;
        let sub = created.body["subAccountId"].as_i64().unwrap();
        let path = format!("/api/v1/sub-account/{sub}/assets");
        let reply = h.get(&path, &token).await;
        assert_eq!((reply.status, reply.code()), (StatusCode::NOT_IMPLEMENTED, 1604), "{name}: no reader: {reply:?}");
        assert!(reply.body["msg"].as_str().unwrap().contains("balances are not available"), "{name}");
        let bad = h.get("/api/v1/sub-account/abc/assets", &token).await;
        assert_eq!((bad.status, bad.code()), (StatusCode::BAD_REQUEST, 1002), "{name}");

        let account = h.identity.store().user_by_id(sub).await.unwrap().unwrap().engine_account;
        let btc = AssetBalance { asset: "BTC".into(), available: "0.5".into(), frozen: "0.1".into() };
        let ledger = Ledger([(account, vec![btc])].into_iter().collect());
        assert!(h.identity.attach_balances(Arc::new(ledger)), "{name}");
        assert!(!h.identity.attach_balances(Arc::new(Ledger(Default::default()))), "{name}: the first reader stays");
        let reply = h.get(&path, &token).await;
        assert_eq!(reply.status, StatusCode::OK, "{name}: {reply:?}");
        assert_eq!(
            reply.body,
            json!({"subAccountId": sub, "balances": [{"asset": "BTC", "available": "0.5", "frozen": "0.1"}]}),
            "{name}"
        );
        let stranger = h.session("wendy@example.com").await;
        assert_eq!(h.get(&path, &stranger).await.code(), 1603, "{name}: another user's stays out of reach");
    }
}
