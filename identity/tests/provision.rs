//! API keys an operator provisions offline (`cex keys`): the same rules as CreateAPIKey but no
//! second factor, found by engine account, audited in the owner's security log, and usable
//! for signed requests and gateway logons like any other key.

mod common;

use cex_identity::service::NewSubAccount;
use cex_identity::{list_api_keys, provision_api_key, revoke_api_key, ErrorCode, IdentityConfig, IdentityError};
use common::{Harness, CLIENT};

/// The configuration `cex keys` would build for the harness's node.
fn operator_config(h: &Harness) -> IdentityConfig {
    let mut config = IdentityConfig::new(h.db.path());
    config.database_url = h.db.url.clone();
    config
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

fn code_of(error: IdentityError) -> ErrorCode {
    match error {
        IdentityError::Api(error) => error.code,
        other => panic!("not a refusal: {other}"),
    }
}

/// A gateway logon signed with `secret`, checked by the running identity service.
async fn logon(h: &Harness, api_key: &str, secret: &str, nonce: u64) -> Result<cex_identity::KeyGrant, ErrorCode> {
    h.clock.advance_ms(1);
    let now = h.identity.now_ms();
    let payload = cex_identity::signing::logon_payload(api_key, now, nonce);
    let signature = cex_identity::keys::hmac(secret.as_bytes(), payload.as_bytes());
    let ip = CLIENT.parse::<std::net::SocketAddr>().unwrap().ip();
    h.identity.verify_logon(api_key, now, nonce, &signature, Some(ip)).await.map_err(|error| error.code)
}

#[tokio::test]
async fn a_provisioned_key_works_is_listed_without_its_secret_and_is_revoked() {
    for h in Harness::all().await {
        let name = h.name;
        let user_id = h.verified_user("desk@fund.example").await;
        let user = h.identity.store().user_by_id(user_id).await.unwrap().unwrap();
        let config = operator_config(&h);
        let account = user.engine_account;

        let whitelist = strings(&["203.0.113.7"]);
        let created =
            provision_api_key(&config, account, &strings(&["read", "trade"]), "desk", &whitelist).await.unwrap();
        assert_eq!(created.key.permissions, ["read", "trade"], "{name}");
        assert_eq!(created.key.ip_whitelist, whitelist, "{name}");
        assert!(!format!("{created:?}").contains(&created.secret_key), "{name}: Debug hides the secret");

        let grant = logon(&h, &created.key.api_key, &created.secret_key, 1).await.unwrap();
        assert_eq!((grant.user_id, grant.engine_account), (user_id, account), "{name}");

        let listed = list_api_keys(&config, account).await.unwrap();
        assert_eq!(listed.len(), 1, "{name}");
        let shown = serde_json::to_string(&listed).unwrap();
        assert!(shown.contains(&created.key.api_key) && !shown.contains(&created.secret_key), "{name}: {shown}");

        // The operator's command runs on the wall clock, the harness on its own: no upper bound.
        let log = h.identity.security_log(user_id, None, Some(i64::MAX), None).await.unwrap();
        let provisioned = log.iter().find(|event| event.event == "api_key_provisioned").expect("audited");
        assert!(provisioned.detail.contains("desk") && provisioned.detail.contains("operator"), "{name}");

        let revoked = revoke_api_key(&config, account, &created.key.api_key).await.unwrap();
        assert_eq!(revoked.id, created.key.id, "{name}");
        assert_eq!(logon(&h, &created.key.api_key, &created.secret_key, 2).await, Err(ErrorCode::InvalidApiKey));
        assert!(list_api_keys(&config, account).await.unwrap().is_empty(), "{name}");
        let log = h.identity.security_log(user_id, None, Some(i64::MAX), None).await.unwrap();
        assert!(log.iter().any(|event| event.event == "api_key_revoked"), "{name}");
        let again = revoke_api_key(&config, account, &created.key.api_key).await.unwrap_err();
        assert_eq!(code_of(again), ErrorCode::ApiKeyNotFound, "{name}");
    }
}

#[tokio::test]
async fn provisioning_follows_the_create_api_key_rules() {
    for h in Harness::all().await {
        let name = h.name;
        let user_id = h.verified_user("ops@fund.example").await;
        let account = h.identity.store().user_by_id(user_id).await.unwrap().unwrap().engine_account;
        let config = operator_config(&h);
        let create = |permissions: &[&str], label: &str, whitelist: &[&str]| {
            let (permissions, label, whitelist) = (strings(permissions), label.to_string(), strings(whitelist));
            let config = config.clone();
            async move { provision_api_key(&config, account, &permissions, &label, &whitelist).await }
        };

        let refused = |result: Result<_, IdentityError>| code_of(result.unwrap_err());
        assert_eq!(refused(create(&["read", "fly"], "x", &[]).await), ErrorCode::InvalidPermission, "{name}");
        assert_eq!(refused(create(&[], "x", &[]).await), ErrorCode::InvalidPermission, "{name}");
        assert_eq!(refused(create(&["read"], "", &[]).await), ErrorCode::InvalidField, "{name}");
        assert_eq!(refused(create(&["read"], "x", &["not-an-ip"]).await), ErrorCode::InvalidField, "{name}");
        assert_eq!(
            refused(create(&["withdraw"], "x", &["203.0.113.7"]).await),
            ErrorCode::WithdrawNeedsSafeguards,
            "{name}: withdraw needs the owner's two-factor, which an operator cannot vouch for"
        );
        let unknown = provision_api_key(&config, 99_999, &strings(&["read"]), "x", &[]).await.unwrap_err();
        assert!(matches!(unknown, IdentityError::UnknownAccount(99_999)), "{name}: {unknown}");
        assert!(matches!(list_api_keys(&config, 99_999).await, Err(IdentityError::UnknownAccount(99_999))));

        // A sub-account's keys stay within its permissions.
        let meta = cex_identity::RequestMeta::default();
        let new =
            NewSubAccount { email: "bot@fund.example".into(), label: "bot".into(), permissions: strings(&["read"]) };
        let sub = h.identity.create_sub_account(user_id, &new, &meta).await.unwrap();
        let sub_account = h.identity.store().user_by_id(sub.sub_account_id).await.unwrap().unwrap().engine_account;
        let beyond = provision_api_key(&config, sub_account, &strings(&["trade"]), "bot", &[]).await.unwrap_err();
        assert_eq!(code_of(beyond), ErrorCode::SubAccountPermissionExceeded, "{name}");
        let within = provision_api_key(&config, sub_account, &strings(&["read"]), "bot", &[]).await.unwrap();
        let grant = logon(&h, &within.key.api_key, &within.secret_key, 3).await.unwrap();
        assert_eq!((grant.engine_account, grant.sub_account_of), (sub_account, Some(user_id)), "{name}");
    }
}

#[tokio::test]
async fn a_node_provisioned_user_is_verified_logs_in_and_is_audited_without_any_code_sent() {
    for h in Harness::all().await {
        let name = h.name;
        let meta = cex_identity::RequestMeta::new(None, None);
        let user = h.identity.register_verified("maker@demo.example", common::PASSWORD, "demo seed", &meta).await;
        let user = user.unwrap();
        assert!(user.email_verified_at.is_some() && user.engine_registered, "{name}");
        assert_eq!(h.login("maker@demo.example", common::PASSWORD).await.status, axum::http::StatusCode::OK, "{name}");
        assert!(h.outbox().await.is_empty(), "{name}: no code is sent");
        let log = h.identity.security_log(user.id, None, Some(i64::MAX), None).await.unwrap();
        let verified = log.iter().find(|event| event.event == "email_verified").expect("audited");
        assert_eq!(verified.detail, "demo seed", "{name}");

        let again = h.identity.register_verified("maker@demo.example", common::PASSWORD, "demo seed", &meta).await;
        assert_eq!(again.unwrap_err().code, ErrorCode::EmailTaken, "{name}");
        let weak = h.identity.register_verified("taker@demo.example", "short", "demo seed", &meta).await;
        assert_eq!(weak.unwrap_err().code, ErrorCode::WeakPassword, "{name}");
    }
}
