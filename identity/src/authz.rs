//! The authorization layer every HTTP sidecar uses: routes are added through a
//! [`SecureRouter`], each with the [`Policy`] saying who may call it, and a per-route
//! middleware authenticates the caller (a session's access token, or a signed API-key
//! request where the policy allows one), checks the policy, and hands the handler a
//! [`Principal`]. A route cannot be added without a policy, and [`SecureRouter::routes`]
//! lists every route with its policy, which the authorization tests enumerate.
//!
//! ```text
//! let secure = SecureRouter::new(identity.clone())
//!     .route("SubmitLimitOrder", Method::POST, "/api/v1/orders/limit", Policy::TraderOrApiKey(Permission::Trade), submit)
//!     .route("FreezeAccount", Method::POST, "/api/admin/risk/freeze-account", Policy::Staff(&[StaffRole::RiskManager]), freeze);
//! let (router, routes) = secure.finish();
//! async fn submit(user: UserPrincipal, JsonBody(order): JsonBody<Order>) -> ApiResult<Json<Ack>> { ... }
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter};
use axum::Router;

use crate::error::{ApiError, ErrorCode};
use crate::service::{Authenticated, Identity, RequestMeta, StaffRole};
use crate::signing::{KeyGrant, Permission, API_KEY_HEADER};

/// Who a caller is, for the authorization matrix: anonymous, a trader (a user), or staff
/// in one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Guest,
    Trader,
    Staff(StaffRole),
}

impl Role {
    /// Guest, Trader, then every staff role.
    pub fn all() -> Vec<Role> {
        let mut roles = vec![Role::Guest, Role::Trader];
        roles.extend(StaffRole::ALL.into_iter().map(Role::Staff));
        roles
    }
}

/// Every staff role.
pub const ANY_STAFF: &[StaffRole] = &StaffRole::ALL;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Anyone; credentials are not looked at.
    Public,
    /// A user with a live session (access token).
    Trader,
    /// A user with a live session, or a signed request with an API key holding the
    /// permission.
    TraderOrApiKey(Permission),
    /// Staff with a live session in one of these roles.
    Staff(&'static [StaffRole]),
}

impl Policy {
    pub fn allows(self, role: Role) -> bool {
        match (self, role) {
            (Policy::Public, _) => true,
            (Policy::Trader | Policy::TraderOrApiKey(_), Role::Trader) => true,
            (Policy::Staff(roles), Role::Staff(role)) => roles.contains(&role),
            _ => false,
        }
    }
}

/// The authenticated caller, put in the request's extensions by the layer; handlers
/// extract it (or [`UserPrincipal`] / [`StaffPrincipal`] directly).
#[derive(Debug, Clone)]
pub enum Principal {
    Guest,
    User(UserPrincipal),
    Staff(StaffPrincipal),
}

#[derive(Debug, Clone)]
pub struct UserPrincipal {
    pub user_id: i64,
    pub engine_account: u32,
    pub via: UserAuth,
}

#[derive(Debug, Clone)]
pub enum UserAuth {
    Session { session_id: String },
    ApiKey(KeyGrant),
}

impl UserPrincipal {
    /// Whether the credential that authenticated a connection earlier still holds: its
    /// session still open, or its API key still allowed `permission`; its user still active.
    /// Connections that outlive their opening request check this from time to time.
    pub async fn recheck(&self, identity: &Identity, permission: Permission) -> Result<(), ApiError> {
        match &self.via {
            UserAuth::Session { session_id } => identity.recheck_session(self.user_id, session_id).await,
            UserAuth::ApiKey(grant) => identity.recheck_grant(grant, permission).await,
        }
    }
}

#[derive(Debug, Clone)]
pub struct StaffPrincipal {
    pub staff_id: i64,
    pub role: StaffRole,
    pub session_id: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Principal, ApiError> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| ApiError::internal("a handler asked for a principal on a route added without SecureRouter"))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for UserPrincipal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<UserPrincipal, ApiError> {
        match Principal::from_request_parts(parts, state).await? {
            Principal::User(user) => Ok(user),
            _ => Err(ApiError::new(ErrorCode::Unauthenticated)),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for StaffPrincipal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<StaffPrincipal, ApiError> {
        match Principal::from_request_parts(parts, state).await? {
            Principal::Staff(staff) => Ok(staff),
            _ => Err(ApiError::new(ErrorCode::Unauthenticated)),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<RequestMeta, Self::Rejection> {
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
        let agent = parts.headers.get(header::USER_AGENT).and_then(|value| value.to_str().ok());
        Ok(RequestMeta::new(ip, agent))
    }
}

/// One route and its policy.
#[derive(Debug, Clone)]
pub struct RouteInfo {
    /// The catalog's command name.
    pub name: &'static str,
    pub method: Method,
    pub path: &'static str,
    pub policy: Policy,
}

/// An axum router whose every route carries a policy.
pub struct SecureRouter<S = ()> {
    identity: Arc<Identity>,
    router: Router<S>,
    routes: Vec<RouteInfo>,
}

#[derive(Clone)]
struct Gate {
    identity: Arc<Identity>,
    policy: Policy,
}

impl<S: Clone + Send + Sync + 'static> SecureRouter<S> {
    pub fn new(identity: Arc<Identity>) -> SecureRouter<S> {
        SecureRouter { identity, router: Router::new(), routes: Vec::new() }
    }

    /// Adds `handler` at `method path`, callable by whom `policy` allows.
    pub fn route<H, T>(
        mut self,
        name: &'static str,
        method: Method,
        path: &'static str,
        policy: Policy,
        handler: H,
    ) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a method axum can route");
        let gate = Gate { identity: self.identity.clone(), policy };
        let endpoint = on(filter, handler).route_layer(middleware::from_fn_with_state(gate, enforce));
        self.router = self.router.route(path, endpoint);
        self.routes.push(RouteInfo { name, method, path, policy });
        self
    }

    /// Every route added, with its policy.
    pub fn routes(&self) -> &[RouteInfo] {
        &self.routes
    }

    pub fn finish(self) -> (Router<S>, Vec<RouteInfo>) {
        (self.router, self.routes)
    }

    /// Gives the routes their state, keeping the route table: how a sidecar with a state of
    /// its own hands its routes to [`SecureRouter::merge`].
    pub fn with_state<S2>(self, state: S) -> SecureRouter<S2> {
        SecureRouter { identity: self.identity, router: self.router.with_state(state), routes: self.routes }
    }

    /// Adds every route of `other`, policies and all, so several sidecars serve one router
    /// and one route table (which the authorization tests and the OpenAPI document cover).
    /// A path and method routed twice panics, as axum does: a programming error.
    pub fn merge(mut self, other: SecureRouter<S>) -> Self {
        self.router = self.router.merge(other.router);
        self.routes.extend(other.routes);
        self
    }
}

/// A check on each request of an authenticated user, run once this layer knows who the user
/// is and before the handler: how a layer outside the routes (the node's per-user rate limit)
/// sees the user id, which it cannot read from the request itself. That layer puts it in
/// the request's extensions; `Some` is the answer that refuses the request.
#[derive(Clone)]
pub struct UserCheck(pub Arc<dyn Fn(i64) -> Option<Response> + Send + Sync>);

async fn enforce(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    match authorize(&gate.identity, gate.policy, request).await {
        Ok(request) => match user_check_refusal(&request) {
            Some(refusal) => refusal,
            None => next.run(request).await,
        },
        Err(error) => error.into_response(),
    }
}

fn user_check_refusal(request: &Request) -> Option<Response> {
    let check = request.extensions().get::<UserCheck>()?;
    match request.extensions().get::<Principal>()? {
        Principal::User(user) => (check.0)(user.user_id),
        Principal::Guest | Principal::Staff(_) => None,
    }
}

fn bearer(request: &Request) -> Option<&str> {
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Authenticates the caller as `policy` requires and records the principal.
async fn authorize(identity: &Identity, policy: Policy, request: Request) -> Result<Request, ApiError> {
    let (principal, mut request) = match policy {
        Policy::Public => (Principal::Guest, request),
        _ if request.headers().contains_key(API_KEY_HEADER) => api_key_principal(identity, policy, request).await?,
        _ => {
            let token = bearer(&request).ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated))?;
            (session_principal(identity, policy, token).await?, request)
        }
    };
    request.extensions_mut().insert(principal);
    Ok(request)
}

async fn session_principal(identity: &Identity, policy: Policy, token: &str) -> Result<Principal, ApiError> {
    let forbidden = || ApiError::new(ErrorCode::Forbidden);
    match identity.authenticate_bearer(token).await? {
        Authenticated::User { user, session_id } => match policy {
            Policy::Trader | Policy::TraderOrApiKey(_) => Ok(Principal::User(UserPrincipal {
                user_id: user.id,
                engine_account: user.engine_account,
                via: UserAuth::Session { session_id },
            })),
            Policy::Public | Policy::Staff(_) => Err(forbidden()),
        },
        Authenticated::Staff { staff, session_id } => {
            let role = StaffRole::parse(&staff.role).ok_or_else(|| {
                ApiError::internal(format_args!("staff {} has unknown role {:?}", staff.id, staff.role))
            })?;
            match policy {
                Policy::Staff(roles) if roles.contains(&role) => {
                    Ok(Principal::Staff(StaffPrincipal { staff_id: staff.id, role, session_id }))
                }
                _ => Err(forbidden()),
            }
        }
    }
}

async fn api_key_principal(
    identity: &Identity,
    policy: Policy,
    request: Request,
) -> Result<(Principal, Request), ApiError> {
    let Policy::TraderOrApiKey(permission) = policy else {
        return Err(ApiError::with_msg(ErrorCode::Forbidden, "this endpoint does not take API keys: log in"));
    };
    let api_key = request
        .headers()
        .get(API_KEY_HEADER)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidApiKey))?
        .to_string();
    let ip = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    let raw_query = request.uri().query().unwrap_or("").to_string();
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, identity.config().max_body_bytes)
        .await
        .map_err(|_| ApiError::new(ErrorCode::BodyTooLarge))?;
    let grant = identity.authenticate_signed(&api_key, &raw_query, &bytes, ip).await?;
    if !grant.permissions.contains(permission) {
        let msg = format!("this API key lacks the {} permission", permission.as_str());
        return Err(ApiError::with_msg(ErrorCode::KeyPermissionDenied, msg));
    }
    let principal = Principal::User(UserPrincipal {
        user_id: grant.user_id,
        engine_account: grant.engine_account,
        via: UserAuth::ApiKey(grant),
    });
    Ok((principal, Request::from_parts(parts, Body::from(bytes))))
}
