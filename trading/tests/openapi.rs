//! The node's OpenAPI document covers exactly the merged route table (identity's and the
//! trading routes), each operation named after its catalog command and secured as its
//! policy says, with the trading error codes listed; read back with an independent model
//! (oas3), and every reference in it resolves.

mod common;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use cex_identity::authz::Policy;
use cex_identity::openapi::policy_name;
use common::Harness;
use serde_json::Value;

fn check_refs(root: &Value, node: &Value, at: &str) {
    match node {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("{at}: external $ref {reference}"));
                assert!(root.pointer(pointer).is_some(), "{at}: $ref {reference} resolves to nothing");
            }
            for (key, value) in map {
                check_refs(root, value, &format!("{at}/{key}"));
            }
        }
        Value::Array(items) => {
            for (i, value) in items.iter().enumerate() {
                check_refs(root, value, &format!("{at}/{i}"));
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn the_document_covers_every_route_of_the_node_and_nothing_else() {
    let h = Harness::all().await.remove(0);
    let reply = h.public("/api/docs/openapi.json").await;
    assert_eq!(reply.status, StatusCode::OK);
    let text = reply.body.to_string();
    let spec = oas3::from_json(&text).expect("an OpenAPI 3.1 document");
    let documented: BTreeSet<(String, String)> =
        spec.operations().map(|(path, method, _)| (method.to_string(), path)).collect();
    let routed: BTreeSet<(String, String)> =
        h.routes.iter().map(|route| (route.method.to_string(), route.path.to_string())).collect();
    assert_eq!(documented, routed);
    for route in &h.routes {
        let operation = spec.operation(&route.method.as_str().parse().unwrap(), route.path).unwrap();
        assert_eq!(operation.operation_id.as_deref(), Some(route.name));
        assert_eq!(operation.extensions.get("cex-policy"), Some(&Value::String(policy_name(route.policy))));
        assert!(operation.summary.as_deref().is_some_and(|summary| !summary.is_empty()), "{}", route.name);
        // 101: a WebSocket stream's success is the switch of protocols.
        let success = operation
            .responses
            .as_ref()
            .is_some_and(|r| r.keys().any(|status| status.starts_with('2') || status == "101"));
        assert!(success, "{}: a success answer", route.name);
        if route.policy != Policy::Public {
            assert!(operation.responses.as_ref().unwrap().contains_key("401"), "{}", route.name);
        }
        for name in route.path.split('{').skip(1).map(|rest| rest.split('}').next().unwrap()) {
            let declared = operation.parameters.iter().any(|parameter| {
                let parameter = parameter.resolve(&spec).unwrap();
                parameter.name == name && parameter.location == oas3::spec::ParameterIn::Path
            });
            assert!(declared, "{}: path parameter {name}", route.name);
        }
    }
    check_refs(&reply.body, &reply.body, "#");
}

#[tokio::test]
async fn the_trading_error_codes_are_listed_with_identitys() {
    let h = Harness::all().await.remove(0);
    let doc = h.public("/api/docs/openapi.json").await.body;
    let table = doc["x-error-codes"].as_array().unwrap();
    let codes: BTreeSet<u64> = table.iter().map(|row| row["code"].as_u64().unwrap()).collect();
    assert_eq!(codes.len(), table.len(), "no code twice");
    for code in [1002, 1109, 2000, 2001, 2002, 2003, 2004, 2008, 2501, 3038, 3071] {
        assert!(codes.contains(&code), "{code} is listed");
    }
    let row = table.iter().find(|row| row["code"] == 3038).unwrap();
    assert_eq!((row["status"].as_u64(), row["msg"].as_str()), (Some(400), Some("insufficient available balance")));
    let description = doc["info"]["description"].as_str().unwrap();
    assert!(description.contains("| 2001 | 400 Bad Request |"), "the table is in the description");
    assert!(description.contains("## Error codes"), "identity's table is still there");
    let limit = &doc["paths"]["/api/v1/orders/limit"]["post"];
    assert_eq!(
        limit["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/LimitOrderBody"
    );
    assert_eq!(
        limit["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/OrderResult"
    );
}
