//! The OpenAPI 3.1 document of the REST API, generated from the code, and the page that
//! renders it.
//!
//! - Each handler describes itself with `#[utoipa::path]` (path, method, request and answer
//!   schemas, the errors particular to it); [`IdentityApi`] lists them.
//! - [`secure`] then adds what follows from the route table, so it cannot disagree with
//!   what the authorization layer enforces: each operation's id (the catalog's command
//!   name), its security requirement and `x-cex-policy` from its [`Policy`], the
//!   `timestamp`/`recvWindow` parameters of routes that take signed requests, and the
//!   errors every route of its kind can answer. The security schemes (`bearer`,
//!   `staffBearer`, `apiKey` + `signature`), the `{code, msg}` body and the table of every
//!   error code (also as `x-error-codes`) are added once.
//! - `GET /api/docs/openapi.json` serves the document; `GET /api/docs` serves
//!   [`docs_page`], a self-contained HTML page (no external script, style or font; a strict
//!   Content-Security-Policy) that fetches the document and renders it.
//!
//! Other sidecars merge their own `#[derive(OpenApi)]` document and call [`secure`] with
//! their route table.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, ResponseBuilder};
use utoipa::OpenApi;

use crate::authz::{Policy, RouteInfo};
use crate::error::{code_table_markdown, ApiError, ApiResult, ErrorBody, ErrorCode};
use crate::service::Identity;

/// The identity routes' own descriptions, before [`secure`].
#[derive(OpenApi)]
#[openapi(
    info(
        title = "cex REST API: identity",
        description = "Users, sessions, two-factor, API keys, sub-accounts and staff. \
Bodies are JSON; times are Unix milliseconds. Every failure is `{code, msg}` with a 4xx or 5xx \
status; the codes are listed below and in `x-error-codes`. Authenticate with a session's access \
token (`Authorization: Bearer …`) or, where a route says so, with a signed request: the \
`X-MBX-APIKEY` header and `timestamp`, `recvWindow` and `signature` in the query string, \
`signature = hex(HMAC-SHA256(secret, query-without-signature ‖ body))`. See docs/IDENTITY.md."
    ),
    paths(
        crate::http::register,
        crate::http::verify_email,
        crate::http::login,
        crate::http::verify_2fa,
        crate::http::refresh,
        crate::http::logout,
        crate::http::reset_password,
        crate::http::change_password,
        crate::http::enable_2fa,
        crate::http::disable_2fa,
        crate::http::bind_phone,
        crate::http::bind_email,
        crate::http::create_api_key,
        crate::http::delete_api_key,
        crate::http::modify_api_key,
        crate::http::query_api_keys,
        crate::http::login_history,
        crate::http::security_log,
        crate::http::create_sub_account,
        crate::http::delete_sub_account,
        crate::http::modify_sub_account,
        crate::http::query_sub_accounts,
        crate::http::sub_account_assets,
        crate::http::create_sub_key,
        crate::http::query_sub_keys,
        crate::http::delete_sub_key,
        crate::http::staff_login,
        crate::http::staff_logout,
        crate::http::staff_me,
        crate::http::create_staff,
        crate::http::openapi_json,
        crate::http::docs_page,
    ),
    components(schemas(ErrorBody)),
    tags(
        (name = "auth", description = "Sign-up, login, tokens, passwords"),
        (name = "security", description = "Two-factor, phone and email, login history, security log"),
        (name = "api-keys", description = "API keys for signed requests"),
        (name = "sub-accounts", description = "Sub-accounts: their own engine accounts, used through API keys their parent creates"),
        (name = "staff", description = "Staff sessions and accounts"),
        (name = "docs", description = "This documentation"),
    )
)]
pub struct IdentityApi;

/// The security scheme of a user's session token.
pub const BEARER: &str = "bearer";
/// The security scheme of a staff session token.
pub const STAFF_BEARER: &str = "staffBearer";
/// The `X-MBX-APIKEY` header of a signed request.
pub const API_KEY: &str = "apiKey";
/// The `signature` query parameter of a signed request.
pub const SIGNATURE: &str = "signature";

/// The identity document: [`IdentityApi`] completed by [`secure`] from `routes`.
pub fn document(routes: &[RouteInfo]) -> utoipa::openapi::OpenApi {
    let mut doc = IdentityApi::openapi();
    secure(&mut doc, routes);
    doc
}

/// The document for the identity router, serialized once.
pub fn document_json(identity: &Arc<Identity>) -> ApiResult<Bytes> {
    static JSON: OnceLock<Bytes> = OnceLock::new();
    if let Some(json) = JSON.get() {
        return Ok(json.clone());
    }
    let doc = document(&crate::http::route_table(identity));
    let json = doc.to_pretty_json().map_err(|error| ApiError::internal(format_args!("OpenAPI document: {error}")))?;
    Ok(JSON.get_or_init(|| Bytes::from(json)).clone())
}

/// The document to serve when other sidecars' routes share the router with identity's: the
/// node builds it from the merged route table and puts it on the router as an
/// `axum::Extension`, and `GET /api/docs/openapi.json` serves it instead of
/// identity's own.
#[derive(Debug, Clone)]
pub struct ServedDocument(Bytes);

impl ServedDocument {
    pub fn new(doc: &utoipa::openapi::OpenApi) -> ApiResult<ServedDocument> {
        let json =
            doc.to_pretty_json().map_err(|error| ApiError::internal(format_args!("OpenAPI document: {error}")))?;
        Ok(ServedDocument(Bytes::from(json)))
    }

    pub fn json(&self) -> Bytes {
        self.0.clone()
    }
}

/// How a policy reads in the document (`x-cex-policy`).
pub fn policy_name(policy: Policy) -> String {
    match policy {
        Policy::Public => "Public".to_string(),
        Policy::Trader => "Trader".to_string(),
        Policy::TraderOrApiKey(permission) => format!("TraderOrApiKey({})", permission.as_str()),
        Policy::Staff(roles) => {
            let roles: Vec<&str> = roles.iter().map(|role| role.as_str()).collect();
            format!("Staff({})", roles.join(", "))
        }
    }
}

fn who_may_call(policy: Policy) -> String {
    match policy {
        Policy::Public => "Anyone (no credentials are read).".to_string(),
        Policy::Trader => "A user with a session: `Authorization: Bearer <accessToken>`. API keys are refused.".into(),
        Policy::TraderOrApiKey(permission) => format!(
            "A user with a session (`Authorization: Bearer <accessToken>`), or a signed request whose API key holds \
             the `{}` permission.",
            permission.as_str()
        ),
        Policy::Staff(roles) if roles.len() == crate::authz::ANY_STAFF.len() => {
            "Staff in any role, with a staff session (`Authorization: Bearer <accessToken>` from StaffLogin).".into()
        }
        Policy::Staff(roles) => {
            let roles: Vec<&str> = roles.iter().map(|role| role.as_str()).collect();
            format!("Staff in the role {} (a staff session from StaffLogin).", roles.join(" or "))
        }
    }
}

fn operation_mut<'a>(item: &'a mut PathItem, method: &Method) -> Option<&'a mut Operation> {
    match *method {
        Method::GET => item.get.as_mut(),
        Method::POST => item.post.as_mut(),
        Method::PUT => item.put.as_mut(),
        Method::DELETE => item.delete.as_mut(),
        Method::PATCH => item.patch.as_mut(),
        Method::HEAD => item.head.as_mut(),
        Method::OPTIONS => item.options.as_mut(),
        Method::TRACE => item.trace.as_mut(),
        _ => None,
    }
}

/// The operations of a path item, with their methods.
pub fn operations(item: &PathItem) -> Vec<(Method, &Operation)> {
    let all = [
        (Method::GET, &item.get),
        (Method::POST, &item.post),
        (Method::PUT, &item.put),
        (Method::DELETE, &item.delete),
        (Method::PATCH, &item.patch),
        (Method::HEAD, &item.head),
        (Method::OPTIONS, &item.options),
        (Method::TRACE, &item.trace),
    ];
    all.into_iter().filter_map(|(method, operation)| operation.as_ref().map(|op| (method, op))).collect()
}

fn error_response_name(status: StatusCode) -> String {
    format!("Error{}", status.as_u16())
}

fn integer_query(name: &str, description: &str) -> Parameter {
    let schema =
        ObjectBuilder::new().schema_type(Type::Integer).format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)));
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// Completes `doc` from the route table: security schemes, each operation's id, security,
/// `x-cex-policy`, signed-request parameters and common errors, and the error code table.
/// Operations without a route are left alone (the tests refuse them).
pub fn secure(doc: &mut utoipa::openapi::OpenApi, routes: &[RouteInfo]) {
    let components = doc.components.get_or_insert_with(Default::default);
    let bearer = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("JWT")
        .description(Some("A user's access token, from Login, Verify2FA or RefreshToken (15 minutes)."))
        .build();
    let staff_bearer = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("JWT")
        .description(Some("A staff access token, from StaffLogin (15 minutes)."))
        .build();
    components.add_security_scheme(BEARER, SecurityScheme::Http(bearer));
    components.add_security_scheme(STAFF_BEARER, SecurityScheme::Http(staff_bearer));
    components.add_security_scheme(
        API_KEY,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-MBX-APIKEY",
            "The API key of a signed request; it must be sent with `signature`, `timestamp` and optionally \
             `recvWindow` (ms, default 5000, at most 60000) in the query string.",
        ))),
    );
    components.add_security_scheme(
        SIGNATURE,
        SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
            "signature",
            "hex(HMAC-SHA256(secretKey, Q ‖ B)): Q is the raw query string without the `signature` parameter, B \
             the raw body. Accepted once, if timestamp ≤ now + 1000 and now − timestamp ≤ recvWindow.",
        ))),
    );

    // One reusable response per error status, listing its codes.
    let mut by_status: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
    for &code in ErrorCode::ALL {
        by_status.entry(code.status().as_u16()).or_default().push(code);
    }
    for (status, codes) in &by_status {
        let status = StatusCode::from_u16(*status).expect("a valid status");
        let listed: Vec<String> =
            codes.iter().map(|code| format!("{} {}", code.number(), code.default_msg())).collect();
        let description = format!("{}: {}", status.canonical_reason().unwrap_or("Error"), listed.join("; "));
        let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
        let response = ResponseBuilder::new().description(description).content("application/json", content).build();
        components.responses.insert(error_response_name(status), RefOr::T(response));
    }

    for route in routes {
        let Some(item) = doc.paths.paths.get_mut(route.path) else { continue };
        let Some(operation) = operation_mut(item, &route.method) else { continue };
        operation.operation_id = Some(route.name.to_string());
        let who = who_may_call(route.policy);
        operation.description = Some(match operation.description.take() {
            Some(text) if !text.is_empty() => format!("{text}\n\nWho may call: {who}"),
            _ => format!("Who may call: {who}"),
        });
        let extensions: Extensions =
            [("x-cex-policy".to_string(), json!(policy_name(route.policy)))].into_iter().collect();
        operation.extensions.get_or_insert_with(Default::default).merge(extensions);
        let no_scopes = Vec::<String>::new;
        operation.security = match route.policy {
            Policy::Public => None,
            Policy::Trader => Some(vec![SecurityRequirement::new(BEARER, no_scopes())]),
            Policy::TraderOrApiKey(_) => Some(vec![
                SecurityRequirement::new(BEARER, no_scopes()),
                SecurityRequirement::new(API_KEY, no_scopes()).add(SIGNATURE, no_scopes()),
            ]),
            Policy::Staff(_) => Some(vec![SecurityRequirement::new(STAFF_BEARER, no_scopes())]),
        };
        if let Policy::TraderOrApiKey(_) = route.policy {
            let parameters = operation.parameters.get_or_insert_with(Vec::new);
            parameters.push(integer_query("timestamp", "Signed requests: the request time, Unix ms."));
            parameters.push(integer_query(
                "recvWindow",
                "Signed requests: how long the request is good for, ms (default 5000, at most 60000).",
            ));
        }
        let mut statuses = vec![StatusCode::BAD_REQUEST, StatusCode::INTERNAL_SERVER_ERROR];
        if operation.request_body.is_some() {
            statuses.extend([StatusCode::PAYLOAD_TOO_LARGE, StatusCode::UNSUPPORTED_MEDIA_TYPE]);
        }
        match route.policy {
            Policy::Public => {}
            Policy::TraderOrApiKey(_) => {
                statuses.extend([StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN, StatusCode::SERVICE_UNAVAILABLE])
            }
            Policy::Trader | Policy::Staff(_) => statuses.extend([StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN]),
        }
        for status in statuses {
            let key = status.as_u16().to_string();
            operation
                .responses
                .responses
                .entry(key)
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(error_response_name(status))));
        }
    }

    let table: Vec<serde_json::Value> = ErrorCode::ALL
        .iter()
        .map(|code| json!({"code": code.number(), "status": code.status().as_u16(), "msg": code.default_msg()}))
        .collect();
    let extensions: Extensions = [("x-error-codes".to_string(), json!(table))].into_iter().collect();
    doc.extensions.get_or_insert_with(Default::default).merge(extensions);
    let description = doc.info.description.take().unwrap_or_default();
    doc.info.description = Some(format!("{description}\n\n## Error codes\n\n{}", code_table_markdown()));
}

const PAGE_STYLE: &str = include_str!("docs/docs.css");
const PAGE_SCRIPT: &str = include_str!("docs/docs.js");

/// `'sha256-<base64>'`, a Content-Security-Policy source for an inline block.
fn csp_hash(text: &str) -> String {
    format!("'sha256-{}'", base64(&Sha256::digest(text.as_bytes())))
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The `/api/docs` page: HTML with its style and script inline, allowed by hash in a strict
/// Content-Security-Policy (no other script, no external resource, no framing). It fetches
/// `docs/openapi.json` (relative, so it works behind a path prefix) and builds the page
/// with DOM calls only (`textContent`, never HTML from the document).
pub fn docs_page() -> Response {
    static PAGE: OnceLock<(Bytes, HeaderValue)> = OnceLock::new();
    let (html, csp) = PAGE.get_or_init(|| {
        let html = format!(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>cex API</title>\n<style>{PAGE_STYLE}</style>\n</head>\n<body>\n\
             <main id=\"main\"><p>Loading <a href=\"docs/openapi.json\">openapi.json</a>…</p></main>\n\
             <script>{PAGE_SCRIPT}</script>\n</body>\n</html>\n"
        );
        let csp = format!(
            "default-src 'none'; script-src {}; style-src {}; connect-src 'self'; base-uri 'none'; \
             form-action 'none'; frame-ancestors 'none'",
            csp_hash(PAGE_SCRIPT),
            csp_hash(PAGE_STYLE)
        );
        (Bytes::from(html), HeaderValue::from_str(&csp).expect("an ASCII header"))
    });
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CONTENT_SECURITY_POLICY, csp.clone()),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        ],
        html.clone(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_vectors() {
        // RFC 4648, section 10.
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (input, output) in cases {
            assert_eq!(base64(input.as_bytes()), output);
        }
        // `echo -n 'alert(1)' | openssl dgst -sha256 -binary | base64`
        assert_eq!(csp_hash("alert(1)"), "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='");
    }

    #[test]
    fn the_page_script_builds_no_html_from_text() {
        assert!(!PAGE_SCRIPT.contains("innerHTML"), "the page must build the DOM with textContent only");
        assert!(!PAGE_SCRIPT.contains("</script"));
        assert!(!PAGE_STYLE.contains("</style"));
    }
}
