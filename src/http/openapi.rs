//! The OpenAPI document, generated from the handlers' annotations, and Swagger UI
//! served from the binary (no CDN).

use actix_web::{get, web, HttpResponse};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use super::{admin, auth, comments, ops, photos, public, ratings, search, transformations, users};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "PhotoShare API",
        description = "Photo sharing: accounts, photos, comments, ratings, search and \
                       Cloudinary-syntax transformations with QR links. Errors are \
                       application/problem+json (RFC 9457)."
    ),
    paths(
        auth::signup, auth::login, auth::refresh, auth::logout,
        users::me, users::update_me, users::change_password, users::profile, users::user_photos,
        admin::list_users, admin::set_role, admin::ban, admin::unban, admin::queues,
        admin::jobs::list_jobs, admin::jobs::retry, admin::jobs::stream, admin::console::page,
        photos::upload, photos::get_photo, photos::update_photo, photos::delete_photo,
        photos::list_tags, search::search_photos, public::image,
        comments::add_comment, comments::list_comments, comments::edit_comment,
        comments::delete_comment,
        ratings::rate, ratings::list_ratings, ratings::delete_rating,
        transformations::create_link, transformations::list_links, transformations::get_link,
        transformations::delete_link,
        transformations::link_image, transformations::link_qr,
        ops::healthz, ops::readyz, ops::metrics,
    ),
    components(schemas(super::error::Problem, crate::domain::FieldError)),
    modifiers(&BearerAuth, &CommonResponses),
    tags(
        (name = "auth", description = "Sign up, log in, refresh, log out"),
        (name = "users", description = "Own account and public profiles"),
        (name = "admin", description = "Account administration, jobs and the admin console (admin role)"),
        (name = "photos", description = "Photos and tags"),
        (name = "public", description = "Public image links"),
        (name = "comments", description = "Comments on photos"),
        (name = "ratings", description = "Star ratings of photos"),
        (name = "transformations", description = "Transformed variants with public links and QR codes"),
        (name = "ops", description = "Health, readiness, metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Answers every route of a kind can give, added where a handler's annotation does not
/// list them: malformed, oversized or wrongly typed JSON bodies (400, 413, 415),
/// malformed or out-of-range query strings (400, 422), a rejected token (401), and a
/// database or queue that is down (503).
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                let json_body = op
                    .request_body
                    .as_ref()
                    .is_some_and(|b| b.content.contains_key("application/json"));
                if json_body {
                    add(op, 400, "Malformed JSON body");
                    add(op, 413, "Body larger than 64 KiB");
                    add(op, 415, "Body not sent as application/json");
                }
                let query = op
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| matches!(p.parameter_in, ParameterIn::Query));
                if query {
                    add(op, 400, "Malformed query string");
                    add(op, 422, "Query parameter out of range");
                }
                if op.security.is_some() {
                    add(op, 401, "No or bad token");
                }
                if !matches!(path.as_str(), "/healthz" | "/metrics") {
                    add(op, 503, "A dependency (database, queue, media) is down; retry after Retry-After seconds");
                }
            }
        }
    }
}

fn add(op: &mut utoipa::openapi::path::Operation, status: u16, description: &str) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    op.responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
                .into()
        });
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(docs_redirect)
        .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", ApiDoc::openapi()));
}

#[get("/docs")]
async fn docs_redirect() -> HttpResponse {
    HttpResponse::MovedPermanently()
        .insert_header(("Location", "/docs/"))
        .finish()
}
