//! Who may call a route is in its signature: `AuthUser` (any role), `ModeratorUser`,
//! `AdminUser`, or `MaybeUser` on public routes (a token that is present must still be
//! valid). `AuthLimited` applies the per-IP limit of signup/login/refresh.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};

use super::client_ip::client_ip;
use super::error::ApiError;
use super::AppState;
use crate::actors::user_registry::{Authenticate, UserError};
use crate::auth::jwt::TokenKind;
use crate::auth::Principal;
use crate::domain::Role;

type Boxed<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

fn state(req: &HttpRequest) -> web::Data<AppState> {
    req.app_data::<web::Data<AppState>>()
        .expect("AppState is registered by the application builder")
        .clone()
}

/// The bearer token, if the request carries an Authorization header at all.
fn bearer(req: &HttpRequest) -> Option<Result<String, ApiError>> {
    let value = req.headers().get(header::AUTHORIZATION)?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .ok_or(ApiError::Unauthorized);
    Some(token)
}

/// The bearer token of the request, if it has a well-formed one.
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    bearer(req).and_then(Result::ok)
}

/// Whether `token` still authenticates an admin (a long-lived answer, such as the
/// queue stream, asks again now and then).
pub async fn still_admin(state: &web::Data<AppState>, token: &str) -> bool {
    authenticate(state.clone(), token.to_owned())
        .await
        .is_ok_and(|p| p.role() >= Role::Admin)
}

async fn authenticate(state: web::Data<AppState>, token: String) -> Result<Principal, ApiError> {
    let claims = state
        .keys
        .verify(&token, TokenKind::Access)
        .map_err(|_| ApiError::Unauthorized)?;
    state
        .registry
        .call(Authenticate { claims })
        .await
        .map_err(|e| match e {
            // The database or the registry is down: not the caller's fault.
            e @ (UserError::Store(crate::store::StoreError::Unavailable(_))
            | UserError::Mailbox(_)) => ApiError::from(e),
            _ => ApiError::Unauthorized,
        })
}

fn require(req: &HttpRequest, min: Role) -> Boxed<Principal> {
    let state = state(req);
    let token = bearer(req);
    Box::pin(async move {
        let token = token.unwrap_or(Err(ApiError::Unauthorized))?;
        let principal = authenticate(state, token).await?;
        if principal.role() < min {
            return Err(ApiError::Forbidden(
                "role-required",
                match min {
                    Role::Admin => "this action needs the admin role",
                    _ => "this action needs the moderator or admin role",
                },
            ));
        }
        Ok(principal)
    })
}

macro_rules! role_guard {
    ($(#[$doc:meta])* $name:ident, $role:expr) => {
        $(#[$doc])*
        pub struct $name(pub Principal);

        impl FromRequest for $name {
            type Error = ApiError;
            type Future = Boxed<Self>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                let fut = require(req, $role);
                Box::pin(async move { fut.await.map($name) })
            }
        }
    };
}

role_guard!(
    /// Any signed-in, active user.
    AuthUser,
    Role::User
);
role_guard!(
    /// A moderator or an admin.
    ModeratorUser,
    Role::Moderator
);
role_guard!(
    /// An admin.
    AdminUser,
    Role::Admin
);

/// Public routes: no token is fine, a bad one is still 401.
pub struct MaybeUser(pub Option<Principal>);

impl FromRequest for MaybeUser {
    type Error = ApiError;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = state(req);
        let token = bearer(req);
        Box::pin(async move {
            match token {
                None => Ok(MaybeUser(None)),
                Some(token) => Ok(MaybeUser(Some(authenticate(state, token?).await?))),
            }
        })
    }
}

/// Counts the request against the caller's per-minute budget for auth routes.
pub struct AuthLimited;

impl FromRequest for AuthLimited {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = state(req);
        let checked = match client_ip(req, state.forwarded_hops) {
            Some(ip) => state.limiter.check(&ip),
            // No peer address (a Unix socket, a test harness): nothing to key on.
            None => Ok(()),
        };
        std::future::ready(checked.map(|()| AuthLimited))
    }
}

/// The id of this request (`X-Request-Id`, set by `observe`).
pub struct RequestId(pub String);

impl FromRequest for RequestId {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        use actix_web::HttpMessage;
        let id = req
            .extensions()
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        std::future::ready(Ok(RequestId(id)))
    }
}
