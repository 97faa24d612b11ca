//! The OpenAPI document cannot drift from the router: every route of the route table is in
//! the served document with its method, its catalog name as operationId and its policy, and
//! nothing else is. The document is read back with an independent OpenAPI 3.1 model (oas3),
//! and every reference in it resolves.

mod common;

use std::collections::BTreeSet;

use axum::http::{header, Method, StatusCode};
use cex_identity::authz::Policy;
use cex_identity::openapi::policy_name;
use common::{Call, Harness};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// The raw answer to a GET: status, headers, body bytes.
async fn fetch(h: &Harness, path: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let request = axum::http::Request::builder().uri(path).body(axum::body::Body::empty()).unwrap();
    let response = h.router.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
}

async fn served_document(h: &Harness) -> (Value, String) {
    let (status, headers, body) = fetch(h, "/api/docs/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let text = String::from_utf8(body).unwrap();
    (serde_json::from_str(&text).expect("the document is JSON"), text)
}

#[tokio::test]
async fn every_route_is_documented_with_its_method_and_nothing_else_is() {
    let h = Harness::all().await.remove(0);
    let (_, text) = served_document(&h).await;
    let spec = oas3::from_json(&text).expect("an OpenAPI 3.1 document (oas3 reads it)");
    let version = spec.validate_version().expect("a supported OpenAPI version");
    assert_eq!(version.major, 3, "OpenAPI 3");

    let routes = cex_identity::http::route_table(&h.identity);
    let documented: BTreeSet<(String, String)> =
        spec.operations().map(|(path, method, _)| (method.to_string(), path)).collect();
    let routed: BTreeSet<(String, String)> =
        routes.iter().map(|route| (route.method.to_string(), route.path.to_string())).collect();
    assert_eq!(documented, routed, "the document's operations are exactly the router's routes");

    let mut ids = BTreeSet::new();
    for route in &routes {
        let operation = spec
            .operation(&route.method.as_str().parse().unwrap(), route.path)
            .unwrap_or_else(|| panic!("{} {} is not documented", route.method, route.path));
        assert_eq!(operation.operation_id.as_deref(), Some(route.name), "{} {}", route.method, route.path);
        assert!(ids.insert(route.name), "operationId {} twice", route.name);
        assert_eq!(
            operation.extensions.get("cex-policy"),
            Some(&Value::String(policy_name(route.policy))),
            "{}: x-cex-policy",
            route.name
        );
        let security: Vec<Vec<String>> = operation
            .security
            .iter()
            .map(|requirement| {
                let mut schemes: Vec<String> = requirement.0.keys().cloned().collect();
                schemes.sort();
                schemes
            })
            .collect();
        let wanted: Vec<Vec<&str>> = match route.policy {
            Policy::Public => vec![],
            Policy::Trader => vec![vec!["bearer"]],
            Policy::TraderOrApiKey(_) => vec![vec!["bearer"], vec!["apiKey", "signature"]],
            Policy::Staff(_) => vec![vec!["staffBearer"]],
        };
        assert_eq!(security, wanted, "{}: security follows the policy", route.name);
        assert!(operation.summary.as_deref().is_some_and(|s| !s.is_empty()), "{}: a summary", route.name);
        let success =
            operation.responses.as_ref().is_some_and(|responses| responses.keys().any(|s| s.starts_with('2')));
        assert!(success, "{}: a success response", route.name);
        if route.policy != Policy::Public {
            for status in ["401", "403"] {
                assert!(operation.responses.as_ref().unwrap().contains_key(status), "{}: {status}", route.name);
            }
        }
        // Every path template parameter is declared, in the path, required.
        for name in route.path.split('{').skip(1).map(|rest| rest.split('}').next().unwrap()) {
            let declared = operation.parameters.iter().any(|parameter| {
                let parameter = parameter.resolve(&spec).unwrap();
                parameter.name == name
                    && parameter.location == oas3::spec::ParameterIn::Path
                    && parameter.required == Some(true)
            });
            assert!(declared, "{}: path parameter {name}", route.name);
        }
        // References resolve through the oas3 model.
        if let Some(body) = &operation.request_body {
            body.resolve(&spec).unwrap_or_else(|e| panic!("{}: request body: {e}", route.name));
        }
        for (status, response) in operation.responses.iter().flatten() {
            response.resolve(&spec).unwrap_or_else(|e| panic!("{}: response {status}: {e}", route.name));
        }
    }
}

/// Every `$ref` anywhere in the document points at something in it.
fn check_refs(root: &Value, node: &Value, at: &str, count: &mut usize) {
    match node {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("{at}: external $ref {reference}"));
                assert!(root.pointer(pointer).is_some(), "{at}: $ref {reference} resolves to nothing");
                *count += 1;
            }
            for (key, value) in map {
                check_refs(root, value, &format!("{at}/{key}"), count);
            }
        }
        Value::Array(items) => {
            for (i, value) in items.iter().enumerate() {
                check_refs(root, value, &format!("{at}/{i}"), count);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_and_self_contained() {
    let h = Harness::all().await.remove(0);
    let (doc, _) = served_document(&h).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."), "{}", doc["openapi"]);
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let mut refs = 0;
    check_refs(&doc, &doc, "#", &mut refs);
    assert!(refs > 20, "the schemas are shared by reference ({refs})");

    // The security schemes, with the API key header's real name.
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["bearer"]["bearerFormat"], "JWT");
    assert_eq!(schemes["staffBearer"]["scheme"], "bearer");
    assert_eq!(
        (schemes["apiKey"]["in"].as_str(), schemes["apiKey"]["name"].as_str()),
        (Some("header"), Some("X-MBX-APIKEY"))
    );
    assert_eq!(
        (schemes["signature"]["in"].as_str(), schemes["signature"]["name"].as_str()),
        (Some("query"), Some("signature"))
    );

    // The error body, and every code with its status, in the table and in the description.
    let error = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(error["required"], serde_json::json!(["code", "msg"]));
    let table = doc["x-error-codes"].as_array().unwrap();
    assert_eq!(table.len(), cex_identity::ErrorCode::ALL.len());
    let description = doc["info"]["description"].as_str().unwrap();
    for code in cex_identity::ErrorCode::ALL {
        let row = table.iter().find(|row| row["code"] == code.number()).unwrap();
        assert_eq!(row["status"], code.status().as_u16());
        assert!(description.contains(&format!("| {} | {} ", code.number(), code.status().as_u16())), "{code:?}");
        let response = &doc["components"]["responses"][format!("Error{}", code.status().as_u16())];
        assert!(response["description"].as_str().unwrap().contains(&code.number().to_string()), "{code:?}");
    }

    // A route with a signed-request alternative documents timestamp and recvWindow.
    let keys = &doc["paths"]["/api/v1/security/api-keys"]["get"];
    let names: Vec<&str> = keys["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["timestamp", "recvWindow"]);
    // Request and answer schemas are the handlers' types.
    let register = &doc["paths"]["/api/v1/auth/register"]["post"];
    assert_eq!(
        register["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/RegisterBody"
    );
    assert_eq!(
        register["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Registered"
    );
    assert_eq!(
        register["responses"]["409"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorBody"
    );
    assert_eq!(register["responses"]["413"]["$ref"], "#/components/responses/Error413");
}

#[tokio::test]
async fn the_page_renders_the_document_without_outside_resources() {
    let h = Harness::all().await.remove(0);
    let (status, headers, body) = fetch(&h, "/api/docs").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'; script-src 'sha256-"), "{csp}");
    assert!(csp.contains("connect-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let html = String::from_utf8(body).unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("fetch(\"docs/openapi.json\""), "the page loads the document");
    for outside in ["http://", "https://", "src=", "<link"] {
        assert!(!html.contains(outside), "the page loads nothing from elsewhere: {outside}");
    }
    // No credentials needed, any method but GET refused with the JSON 405.
    let reply = h.send(Call::new(Method::POST, "/api/docs")).await;
    assert_eq!((reply.status, reply.code()), (StatusCode::METHOD_NOT_ALLOWED, 1007));
}
