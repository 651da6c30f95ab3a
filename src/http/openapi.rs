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
        users::me, users::update_me, users::change_password, users::profile,
        admin::list_users, admin::set_role, admin::ban, admin::unban, admin::queues,
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
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sign up, log in, refresh, log out"),
        (name = "users", description = "Own account and public profiles"),
        (name = "admin", description = "Account administration (admin role)"),
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
