//! The authorization matrix: every identity route × every caller (anonymous, a trader's
//! session, a trader's API key, each staff role), against a table written here, apart from
//! the code. The route list is enumerated from the router itself, so a route added without a
//! row here (or without a policy, which the router cannot express) fails the test.

mod common;

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use cex_identity::authz::Role;
use cex_identity::{create_staff, IdentityConfig, StaffRole};
use common::{Call, Harness, PASSWORD};
use serde_json::json;

/// Who may call a route, as the catalog (and the admin additions) say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// Guest routes: anyone.
    Anyone,
    /// A trader with a session.
    Trader,
    /// A trader with a session or a signed API key with `read`.
    TraderOrKey,
    AnyStaff,
    Admin,
}

const MATRIX: &[(&str, &str, Who)] = &[
    ("POST", "/api/v1/auth/register", Who::Anyone),
    ("POST", "/api/v1/auth/verify-email", Who::Anyone),
    ("POST", "/api/v1/auth/login", Who::Anyone),
    ("POST", "/api/v1/auth/2fa/verify", Who::Anyone),
    ("POST", "/api/v1/auth/refresh", Who::Anyone),
    ("POST", "/api/v1/auth/logout", Who::Trader),
    ("POST", "/api/v1/auth/reset-password", Who::Anyone),
    ("POST", "/api/v1/auth/change-password", Who::Trader),
    ("POST", "/api/v1/security/2fa/enable", Who::Trader),
    ("POST", "/api/v1/security/2fa/disable", Who::Trader),
    ("POST", "/api/v1/security/phone/bind", Who::Trader),
    ("POST", "/api/v1/security/email/bind", Who::Trader),
    ("POST", "/api/v1/security/api-key", Who::Trader),
    ("DELETE", "/api/v1/security/api-key/{id}", Who::Trader),
    ("PUT", "/api/v1/security/api-key/{id}/permissions", Who::Trader),
    ("GET", "/api/v1/security/api-keys", Who::TraderOrKey),
    ("GET", "/api/v1/security/login-history", Who::TraderOrKey),
    ("GET", "/api/v1/security/log", Who::TraderOrKey),
    ("POST", "/api/v1/sub-account", Who::Trader),
    ("DELETE", "/api/v1/sub-account/{id}", Who::Trader),
    ("PUT", "/api/v1/sub-account/{id}/permissions", Who::Trader),
    ("GET", "/api/v1/sub-accounts", Who::Trader),
    ("GET", "/api/v1/sub-account/{id}/assets", Who::Trader),
    ("POST", "/api/v1/sub-account/{id}/api-key", Who::Trader),
    ("GET", "/api/v1/sub-account/{id}/api-keys", Who::Trader),
    ("DELETE", "/api/v1/sub-account/{id}/api-key/{keyId}", Who::Trader),
    ("POST", "/api/admin/auth/login", Who::Anyone),
    ("POST", "/api/admin/auth/logout", Who::AnyStaff),
    ("GET", "/api/admin/auth/me", Who::AnyStaff),
    ("POST", "/api/admin/staff", Who::Admin),
    ("GET", "/api/docs/openapi.json", Who::Anyone),
    ("GET", "/api/docs", Who::Anyone),
];

/// The callers of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    TraderSession,
    TraderApiKey,
    Staff(StaffRole),
}

fn callers() -> Vec<Caller> {
    let mut callers = vec![Caller::Anonymous, Caller::TraderSession, Caller::TraderApiKey];
    callers.extend(StaffRole::ALL.into_iter().map(Caller::Staff));
    callers
}

fn expected(who: Who, caller: Caller) -> bool {
    matches!(
        (who, caller),
        (Who::Anyone, _)
            | (Who::Trader, Caller::TraderSession)
            | (Who::TraderOrKey, Caller::TraderSession | Caller::TraderApiKey)
            | (Who::AnyStaff, Caller::Staff(_))
            | (Who::Admin, Caller::Staff(StaffRole::Admin))
    )
}

/// Error codes that mean "the authorization layer said no".
const DENIALS: [u64; 3] = [1100, 1103, 1109];

#[tokio::test]
async fn the_router_has_exactly_the_routes_of_the_matrix() {
    let h = Harness::all().await.remove(0);
    let routes = cex_identity::http::route_table(&h.identity);
    let actual: BTreeSet<(String, String)> =
        routes.iter().map(|route| (route.method.to_string(), route.path.to_string())).collect();
    let wanted: BTreeSet<(String, String)> =
        MATRIX.iter().map(|(method, path, _)| (method.to_string(), path.to_string())).collect();
    assert_eq!(actual, wanted, "every route needs a row in MATRIX, and every row a route");
    assert_eq!(routes.len(), MATRIX.len(), "no route twice");
    // The declared policies agree with the matrix for every role.
    for route in &routes {
        let (_, _, who) = MATRIX.iter().find(|(m, p, _)| *m == route.method.as_str() && *p == route.path).unwrap();
        for role in Role::all() {
            let caller = match role {
                Role::Guest => Caller::Anonymous,
                Role::Trader => Caller::TraderSession,
                Role::Staff(staff) => Caller::Staff(staff),
            };
            assert_eq!(
                route.policy.allows(role),
                expected(*who, caller),
                "{} {} for {role:?}",
                route.method,
                route.path
            );
        }
    }
}

#[tokio::test]
async fn every_route_for_every_caller() {
    for h in Harness::all().await {
        let name = h.name;
        h.verified_user("trader@example.com").await;
        let token = h.login("trader@example.com", PASSWORD).await.str("accessToken");
        let (_, api_key, secret) = h.api_key(&token, &["read", "trade", "transfer"], None).await;
        for role in StaffRole::ALL {
            h.identity
                .create_staff(&format!("{}@cex.example", role.as_str().to_lowercase()), role, Some(PASSWORD))
                .await
                .unwrap();
        }
        let mut checked = 0;
        for (method, path, who) in MATRIX {
            let method: Method = method.parse().unwrap();
            let uri = path.replace("{id}", "999999").replace("{keyId}", "999998");
            for caller in callers() {
                let call = match caller {
                    Caller::Anonymous => Call::new(method.clone(), uri.clone()).json(&json!({})),
                    Caller::TraderSession => {
                        let fresh = h.login("trader@example.com", PASSWORD).await.str("accessToken");
                        Call::new(method.clone(), uri.clone()).json(&json!({})).bearer(&fresh)
                    }
                    Caller::TraderApiKey => h.signed(method.clone(), &uri, "", &api_key, &secret, "{}"),
                    Caller::Staff(role) => {
                        let email = format!("{}@cex.example", role.as_str().to_lowercase());
                        let login =
                            h.post("/api/admin/auth/login", None, json!({"email": email, "password": PASSWORD})).await;
                        Call::new(method.clone(), uri.clone()).json(&json!({})).bearer(&login.str("accessToken"))
                    }
                };
                let reply = h.send(call).await;
                let denied = DENIALS.contains(&reply.code());
                assert_eq!(!denied, expected(*who, caller), "{name}: {method} {path} as {caller:?}: {reply:?}");
                if denied {
                    let status =
                        if caller == Caller::Anonymous { StatusCode::UNAUTHORIZED } else { StatusCode::FORBIDDEN };
                    assert_eq!(reply.status, status, "{name}: {method} {path} as {caller:?}");
                }
                assert!(
                    reply.status.is_client_error() || reply.status.is_success(),
                    "{name}: {method} {path}: {reply:?}"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, MATRIX.len() * 9, "{name}");
    }
}

#[tokio::test]
async fn another_users_resources_are_out_of_reach() {
    for h in Harness::all().await {
        let name = h.name;
        let alice = h.session("alice@example.com").await;
        let bob = h.session("bob@example.com").await;
        let (alice_key, api_key, secret) = h.api_key(&alice, &["read"], None).await;

        let delete =
            h.send(Call::new(Method::DELETE, format!("/api/v1/security/api-key/{alice_key}")).bearer(&bob)).await;
        assert_eq!((delete.status, delete.code()), (StatusCode::NOT_FOUND, 1300), "{name}: {delete:?}");
        let modify = Call::new(Method::PUT, format!("/api/v1/security/api-key/{alice_key}/permissions"))
            .json(&json!({"newPermissions": ["read", "trade"]}))
            .bearer(&bob);
        assert_eq!(h.send(modify).await.code(), 1300, "{name}");
        let bobs = h.get("/api/v1/security/api-keys", &bob).await;
        assert_eq!(bobs.body["apiKeys"], json!([]), "{name}");
        let bob_history = h.get("/api/v1/security/login-history", &bob).await;
        assert!(bob_history.body["logins"].as_array().unwrap().iter().all(|row| row["reason"] == "ok"), "{name}");
        assert_eq!(bob_history.body["logins"].as_array().unwrap().len(), 1, "{name}: only bob's own login");

        // Alice's key still works, and still has only read.
        let reply = h.send(h.signed(Method::GET, "/api/v1/security/api-keys", "", &api_key, &secret, "")).await;
        assert_eq!(reply.body["apiKeys"][0]["permissions"], json!(["read"]), "{name}: {reply:?}");
        // Her own delete works.
        let delete =
            h.send(Call::new(Method::DELETE, format!("/api/v1/security/api-key/{alice_key}")).bearer(&alice)).await;
        assert_eq!(delete.status, StatusCode::OK, "{name}: {delete:?}");
        let gone = h.send(h.signed(Method::GET, "/api/v1/security/api-keys", "", &api_key, &secret, "")).await;
        assert_eq!(gone.code(), 1104, "{name}: a deleted key signs nothing");
    }
}

#[tokio::test]
async fn api_key_permissions_and_whitelists() {
    for h in Harness::all().await {
        let name = h.name;
        let token = h.session("ivy@example.com").await;
        let (_, trade_key, trade_secret) = h.api_key(&token, &["trade"], None).await;
        let reply = h.send(h.signed(Method::GET, "/api/v1/security/api-keys", "", &trade_key, &trade_secret, "")).await;
        assert_eq!((reply.status, reply.code()), (StatusCode::FORBIDDEN, 1109), "{name}: no read permission");

        let (key_id, fenced, fenced_secret) = h.api_key(&token, &["read"], Some(&["198.51.100.1"])).await;
        let reply = h.send(h.signed(Method::GET, "/api/v1/security/log", "", &fenced, &fenced_secret, "")).await;
        assert_eq!((reply.status, reply.code()), (StatusCode::FORBIDDEN, 1108), "{name}: wrong IP");
        let from_whitelisted = h
            .signed(Method::GET, "/api/v1/security/log", "", &fenced, &fenced_secret, "")
            .peer(Some("198.51.100.1:5555".parse().unwrap()));
        assert_eq!(h.send(from_whitelisted).await.status, StatusCode::OK, "{name}");
        let unknown_peer = h.signed(Method::GET, "/api/v1/security/log", "", &fenced, &fenced_secret, "").peer(None);
        assert_eq!(h.send(unknown_peer).await.code(), 1108, "{name}: no peer address, no whitelist match");

        // Permissions change takes effect; withdraw needs 2FA and a whitelist.
        let modify = Call::new(Method::PUT, format!("/api/v1/security/api-key/{key_id}/permissions"))
            .json(&json!({"newPermissions": ["read", "withdraw"]}))
            .bearer(&token);
        assert_eq!(h.send(modify).await.code(), 1303, "{name}");
        let modify = Call::new(Method::PUT, format!("/api/v1/security/api-key/{key_id}/permissions"))
            .json(&json!({"newPermissions": ["trade"], "ipWhitelist": []}))
            .bearer(&token);
        let reply = h.send(modify).await;
        assert_eq!((reply.status, reply.body["permissions"].clone()), (StatusCode::OK, json!(["trade"])), "{name}");
        let reply = h.send(h.signed(Method::GET, "/api/v1/security/log", "", &fenced, &fenced_secret, "")).await;
        assert_eq!(reply.code(), 1109, "{name}: read was taken away (and the whitelist lifted)");

        let bad =
            h.post("/api/v1/security/api-key", Some(&token), json!({"label": "x", "permissions": ["admin"]})).await;
        assert_eq!(bad.code(), 1302, "{name}");
        let bad = h.post("/api/v1/security/api-key", Some(&token), json!({"label": "x", "permissions": []})).await;
        assert_eq!(bad.code(), 1302, "{name}");
        let bad = h
            .post(
                "/api/v1/security/api-key",
                Some(&token),
                json!({"label": "x", "permissions": ["read"], "ipWhitelist": ["10.0.0.0/8"]}),
            )
            .await;
        assert_eq!(bad.code(), 1002, "{name}");

        // An API key never reaches a session-only route.
        let reply = h.send(h.signed(Method::POST, "/api/v1/security/api-key", "", &fenced, &fenced_secret, "{}")).await;
        assert_eq!((reply.status, reply.code()), (StatusCode::FORBIDDEN, 1103), "{name}: {reply:?}");
    }
}

#[tokio::test]
async fn staff_bootstrap_and_roles() {
    for h in Harness::all().await {
        let name = h.name;
        // The CLI path: a clap-free call on the same data dir and database.
        let mut config = IdentityConfig::new(h.db.path());
        config.database_url = h.db.url.clone();
        config.password_cost = cex_identity::password::PasswordCost::for_tests();
        let created = create_staff(&config, "root@cex.example", StaffRole::Admin, None).await.unwrap();
        let password = created.generated_password.clone().expect("a generated password");
        assert_eq!(password.len(), 20);
        let again = create_staff(&config, "ROOT@cex.example", StaffRole::Operator, Some(PASSWORD)).await;
        assert!(
            matches!(again, Err(cex_identity::IdentityError::Api(e)) if e.code == cex_identity::ErrorCode::StaffEmailTaken)
        );
        let weak = create_staff(&config, "ops@cex.example", StaffRole::Operator, Some("short")).await;
        assert!(
            matches!(weak, Err(cex_identity::IdentityError::Api(e)) if e.code == cex_identity::ErrorCode::WeakPassword)
        );

        let login =
            h.post("/api/admin/auth/login", None, json!({"email": "root@cex.example", "password": password})).await;
        assert_eq!(login.status, StatusCode::OK, "{name}: {login:?}");
        let admin = login.str("accessToken");
        let me = h.get("/api/admin/auth/me", &admin).await;
        assert_eq!(me.body["role"], "Admin", "{name}");
        let made = h
            .post(
                "/api/admin/staff",
                Some(&admin),
                json!({"email": "risk@cex.example", "role": "risk-manager", "password": PASSWORD}),
            )
            .await;
        assert_eq!(
            (made.status, made.body["role"].clone()),
            (StatusCode::CREATED, json!("RiskManager")),
            "{name}: {made:?}"
        );
        assert!(made.body.get("generatedPassword").is_none());
        let risk =
            h.post("/api/admin/auth/login", None, json!({"email": "risk@cex.example", "password": PASSWORD})).await;
        let risk = risk.str("accessToken");
        let refused = h.post("/api/admin/staff", Some(&risk), json!({"email": "x@cex.example", "role": "Admin"})).await;
        assert_eq!(refused.code(), 1103, "{name}: only Admin creates staff");
        // A staff token is not a trader's, and logout ends it.
        assert_eq!(h.get("/api/v1/security/api-keys", &risk).await.code(), 1103, "{name}");
        assert_eq!(h.post("/api/admin/auth/logout", Some(&risk), json!({})).await.status, StatusCode::OK);
        assert_eq!(h.get("/api/admin/auth/me", &risk).await.code(), 1102, "{name}");
        let bad_role =
            h.post("/api/admin/staff", Some(&admin), json!({"email": "y@cex.example", "role": "Janitor"})).await;
        assert_eq!(bad_role.code(), 1002, "{name}");
    }
}

/// Every sub-account route, with a body, for the sub-account `sub` and its key `key`.
fn sub_account_calls(sub: i64, key: i64) -> Vec<(Method, String, serde_json::Value)> {
    vec![
        (Method::DELETE, format!("/api/v1/sub-account/{sub}"), json!({})),
        (Method::PUT, format!("/api/v1/sub-account/{sub}/permissions"), json!({"newPermissions": ["read"]})),
        (Method::GET, format!("/api/v1/sub-account/{sub}/assets"), json!({})),
        (Method::POST, format!("/api/v1/sub-account/{sub}/api-key"), json!({"label": "x", "permissions": ["read"]})),
        (Method::GET, format!("/api/v1/sub-account/{sub}/api-keys"), json!({})),
        (Method::DELETE, format!("/api/v1/sub-account/{sub}/api-key/{key}"), json!({})),
    ]
}

#[tokio::test]
async fn another_users_sub_accounts_are_out_of_reach() {
    for h in Harness::all().await {
        let name = h.name;
        let alice = h.session("alice@example.com").await;
        let bob = h.session("bob@example.com").await;
        let body = json!({"email": "desk@fund.example", "label": "desk", "permissions": ["read", "trade"]});
        let created = h.post("/api/v1/sub-account", Some(&alice), body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{name}: {created:?}");
        let sub = created.body["subAccountId"].as_i64().unwrap();
        let key = h
            .post(
                &format!("/api/v1/sub-account/{sub}/api-key"),
                Some(&alice),
                json!({"label": "bot", "permissions": ["read"]}),
            )
            .await;
        let (key_id, api_key, secret) = (key.body["id"].as_i64().unwrap(), key.str("apiKey"), key.str("secretKey"));
        let (_, alice_key, alice_secret) = h.api_key(&alice, &["read", "trade"], None).await;
        let admin = h.staff_session("admin@cex.example", StaffRole::Admin).await;

        // Bob, with a session: Alice's sub-account does not exist for him.
        for (method, uri, body) in sub_account_calls(sub, key_id) {
            let reply = h.send(Call::new(method.clone(), uri.clone()).json(&body).bearer(&bob)).await;
            assert_eq!(
                (reply.status, reply.code()),
                (StatusCode::NOT_FOUND, 1603),
                "{name}: bob {method} {uri}: {reply:?}"
            );
        }
        assert_eq!(h.get("/api/v1/sub-accounts", &bob).await.body["subAccounts"], json!([]), "{name}");
        // Bob cannot reach it through his own endpoints either.
        let steal = Call::new(Method::DELETE, format!("/api/v1/security/api-key/{key_id}")).bearer(&bob);
        assert_eq!(h.send(steal).await.code(), 1300, "{name}");

        // Anonymous, Alice's own API key, the sub-account's key, staff: refused by the layer.
        for (method, uri, body) in sub_account_calls(sub, key_id) {
            let anonymous = h.send(Call::new(method.clone(), uri.clone()).json(&body)).await;
            assert_eq!((anonymous.status, anonymous.code()), (StatusCode::UNAUTHORIZED, 1100), "{name}: {uri}");
            let text = body.to_string();
            for (key, secret) in [(&alice_key, &alice_secret), (&api_key, &secret)] {
                let reply = h.send(h.signed(method.clone(), &uri, "", key, secret, &text)).await;
                assert_eq!((reply.status, reply.code()), (StatusCode::FORBIDDEN, 1103), "{name}: key on {uri}");
            }
            let staff = h.send(Call::new(method.clone(), uri.clone()).json(&body).bearer(&admin)).await;
            assert_eq!((staff.status, staff.code()), (StatusCode::FORBIDDEN, 1103), "{name}: staff on {uri}");
        }
        // The sub-account's own key sees only the sub-account's keys, not Alice's.
        let own = h.send(h.signed(Method::GET, "/api/v1/security/api-keys", "", &api_key, &secret, "")).await;
        let ids: Vec<i64> = own.body["apiKeys"].as_array().unwrap().iter().map(|k| k["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, vec![key_id], "{name}: {own:?}");

        // Alice herself: each works (assets: not yet).
        let assets = h.get(&format!("/api/v1/sub-account/{sub}/assets"), &alice).await;
        assert_eq!((assets.status, assets.code()), (StatusCode::NOT_IMPLEMENTED, 1604), "{name}: {assets:?}");
        let keys = h.get(&format!("/api/v1/sub-account/{sub}/api-keys"), &alice).await;
        assert_eq!(keys.body["apiKeys"][0]["id"], key_id, "{name}");
        let delete = Call::new(Method::DELETE, format!("/api/v1/sub-account/{sub}")).bearer(&alice);
        assert_eq!(h.send(delete).await.status, StatusCode::OK, "{name}");
        let gone = h.send(h.signed(Method::GET, "/api/v1/security/api-keys", "", &api_key, &secret, "")).await;
        assert_eq!(gone.code(), 1104, "{name}: a deleted sub-account's key signs nothing");
    }
}
