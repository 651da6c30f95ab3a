//! /api/auth: signup, login (OAuth2 form or JSON), refresh, logout.

use actix_web::http::header::{self, CONTENT_TYPE};
use actix_web::{post, web, HttpRequest, HttpResponse};

use super::dto::{LoginForm, LoginRequest, PrivateUser, RefreshRequest, SignupRequest, Tokens};
use super::error::{ApiError, Problem};
use super::extractors::{AuthLimited, AuthUser};
use super::json::Json;
use super::AppState;
use crate::actors::user_registry::{Login, Logout, Refresh, Signup};
use crate::domain::{Email, FullName, Password, Username, Validator};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(signup)
        .service(login)
        .service(refresh)
        .service(logout);
}

impl TryFrom<SignupRequest> for Signup {
    type Error = ApiError;

    fn try_from(r: SignupRequest) -> Result<Self, ApiError> {
        let mut v = Validator::new();
        let username = v.check("username", Username::parse(&r.username));
        let email = v.check("email", Email::parse(&r.email));
        let password = v.check("password", Password::parse(&r.password));
        let full_name = r
            .full_name
            .map(|n| v.check("full_name", FullName::parse(&n)));
        v.finish().map_err(ApiError::Validation)?;
        Ok(Signup {
            username: username.expect("checked"),
            email: email.expect("checked"),
            password: password.expect("checked"),
            full_name: full_name.flatten(),
        })
    }
}

/// Create an account. The first account ever created is an admin.
#[utoipa::path(
    tag = "auth",
    request_body = SignupRequest,
    responses(
        (status = 201, description = "Account created", body = PrivateUser, headers(("Location" = String, description = "`/api/users/{username}`: the public profile"))),
        (status = 409, description = "Username or email taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field values", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many auth requests from this address", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/auth/signup")]
async fn signup(
    _: AuthLimited,
    state: web::Data<AppState>,
    body: Json<SignupRequest>,
) -> Result<HttpResponse, ApiError> {
    let msg = Signup::try_from(body.into_inner())?;
    let user = state.registry.call(msg).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/users/{}", user.username)))
        .json(PrivateUser::new(user, 0)))
}

/// Log in with a username or email.
///
/// Takes JSON, or the same two fields as an OAuth2 password-grant form
/// (`application/x-www-form-urlencoded`, the `password` security scheme's token
/// URL: Swagger UI's Authorize uses it). Only JSON is declared as the body: client
/// generators mishandle a body with two media types.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = Tokens),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong username or password", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account banned", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither JSON nor a form", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown or missing fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many auth requests from this address", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/auth/login")]
async fn login(
    _: AuthLimited,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<web::Json<Tokens>, ApiError> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (login, password) = if content_type.starts_with("application/x-www-form-urlencoded") {
        let form: LoginForm = serde_urlencoded::from_bytes(&body).map_err(|_| {
            ApiError::validation("username", "form needs `username` and `password` fields")
        })?;
        (form.username, form.password)
    } else if content_type.starts_with("application/json") {
        let json: LoginRequest = super::json::parse(&body)?;
        (json.username, json.password)
    } else {
        return Err(ApiError::UnsupportedMediaType(
            "send application/json or application/x-www-form-urlencoded".into(),
        ));
    };
    let tokens = state.registry.call(Login { login, password }).await?;
    Ok(web::Json(tokens.into()))
}

/// Exchange a refresh token for a new pair. The old refresh token stops working;
/// presenting it again revokes the whole session.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New token pair", body = Tokens),
        (status = 401, description = "Invalid, expired, rotated or revoked refresh token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown or missing fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many auth requests from this address", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/auth/refresh")]
async fn refresh(
    _: AuthLimited,
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> Result<web::Json<Tokens>, ApiError> {
    let refresh_token = body.into_inner().refresh_token;
    let tokens = state.registry.call(Refresh { refresh_token }).await?;
    Ok(web::Json(tokens.into()))
}

/// Revoke the presented access token and its session's refresh token.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
    )
)]
#[post("/api/auth/logout")]
async fn logout(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.registry.call(Logout { principal }).await?;
    Ok(HttpResponse::NoContent().finish())
}
