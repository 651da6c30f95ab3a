//! The OpenAPI document, generated from the handlers' annotations, and Swagger UI
//! served from the binary (no CDN).

use actix_web::{get, web, HttpResponse};
use utoipa::openapi::security::{
    Flow, HttpAuthScheme, HttpBuilder, OAuth2, Password, Scopes, SecurityRequirement,
    SecurityScheme,
};
use utoipa::openapi::server::Server;
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use super::{
    account, admin, albums, auth, comments, delivery, duplicates, moderation, ops, photos, public,
    ratings, search, shares, social, transformations, uploads, users, variants,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "PhotoShare API",
        contact(name = "The operator of this PhotoShare server"),
        license(name = "MIT", identifier = "MIT"),
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
        photos::list_tags, duplicates::check,
        variants::variant, delivery::delivered, delivery::create_delivery_url,
        uploads::options, uploads::create, uploads::status, uploads::append, uploads::cancel, search::search_photos, public::image,
        comments::add_comment, comments::list_comments, comments::edit_comment,
        comments::delete_comment,
        ratings::rate, ratings::list_ratings, ratings::delete_rating,
        transformations::create_link, transformations::list_links, transformations::get_link,
        transformations::delete_link,
        transformations::link_image, transformations::link_qr,
        social::follow, social::unfollow, social::followers, social::following,
        social::feed, social::notifications, social::mark_read,
        moderation::report_photo, moderation::report_comment, moderation::list_reports,
        moderation::resolve,
        albums::create_album, albums::get_album, albums::edit_album, albums::delete_album,
        albums::add_photos, albums::remove_photo, albums::order_photos, albums::user_albums,
        shares::create_share, shares::list_shares, shares::revoke_share, shares::open_share,
        shares::open_share_form,
        account::delete_me, account::delete_user, account::export_me,
        ops::healthz, ops::readyz, ops::metrics,
    ),
    // Schemas only parameters name (the rest are collected from the paths).
    components(schemas(
        super::error::Problem,
        crate::domain::FieldError,
        crate::domain::PhotoSort,
        crate::domain::Variant,
        super::transformations::QrFormat,
    )),
    // CommonResponses reads the annotations' security before Security fills it in.
    modifiers(&CommonResponses, &Security, &ClientReady),
    tags(
        (name = "auth", description = "Sign up, log in, refresh, log out"),
        (name = "users", description = "Own account and public profiles"),
        (name = "admin", description = "Account administration, jobs and the admin console (admin role)"),
        (name = "photos", description = "Photos and tags"),
        (name = "uploads", description = "Resumable uploads (tus 1.0.0: core, creation, termination, checksum sha1, expiration) for networks that drop"),
        (name = "public", description = "Public image links"),
        (name = "comments", description = "Comments on photos"),
        (name = "ratings", description = "Star ratings of photos"),
        (name = "albums", description = "Albums of one's photos, public or private, and their share links"),
        (name = "social", description = "Follows, the feed and notifications"),
        (name = "moderation", description = "Reports on photos and comments, and the moderators' queue"),
        (name = "transformations", description = "Transformed variants with public links and QR codes"),
        (name = "ops", description = "Health, readiness, metrics"),
    )
)]
pub struct ApiDoc;

/// How callers prove who they are: a bearer token, which Swagger UI's Authorize
/// button also gets by the OAuth2 password flow (the login route takes that form).
/// Operations that need a token accept either; public ones say `security: []`,
/// including the reads that show a caller who sends a token their own `my_rating`
/// (an optional requirement would make generated clients demand a token).
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("The `access_token` of a login or refresh."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "password",
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::Password(Password::new(
                    "/api/auth/login",
                    Scopes::new(),
                ))],
                "Username (or email) and password, sent as the OAuth2 password grant.",
            )),
        );
        let either = || {
            vec![
                SecurityRequirement::new("bearer", Vec::<String>::new()),
                SecurityRequirement::new("password", Vec::<String>::new()),
            ]
        };
        for item in openapi.paths.paths.values_mut() {
            for op in operations(item) {
                op.security = Some(match op.security.take() {
                    Some(given) if given.iter().any(|r| *r != SecurityRequirement::default()) => {
                        either()
                    }
                    _ => Vec::new(),
                });
            }
        }
    }
}

/// What a generated client needs besides the routes: page items that refer to the
/// shared schema (utoipa copies a generic's argument into each `Page_*`, and a
/// generator then makes six `Photo` types), a description on every operation and
/// response, and a binary schema on every image (and zip) answer (else the bytes are typed as
/// nothing).
struct ClientReady;

impl Modify for ClientReady {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{
            ArrayItems, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type,
        };
        use utoipa::openapi::{Ref, RefOr};
        let components = openapi.components.get_or_insert_with(Default::default);
        // `-created_at` makes no identifier: generators read x-enum-varnames.
        if let Some(RefOr::T(Schema::Object(sort))) = components.schemas.get_mut("PhotoSort") {
            let sorts = crate::domain::PhotoSort::ALL;
            sort.enum_values = Some(sorts.iter().map(|s| serde_json::json!(s)).collect());
            let names = sorts.map(|s| s.ident());
            sort.extensions
                .get_or_insert_with(Default::default)
                .insert("x-enum-varnames".into(), serde_json::json!(names));
        }
        let named: Vec<String> = components.schemas.keys().cloned().collect();
        for (name, page) in components.schemas.iter_mut() {
            let Some(item) = name
                .strip_prefix("Page_")
                .filter(|i| named.iter().any(|n| n == i))
            else {
                continue;
            };
            if let RefOr::T(Schema::Object(page)) = page {
                if let Some(RefOr::T(Schema::Array(items))) = page.properties.get_mut("items") {
                    let shared = RefOr::Ref(Ref::from_schema_name(item));
                    items.items = ArrayItems::RefOrSchema(Box::new(shared));
                }
            }
        }
        let binary = || {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            for op in operations(item) {
                if op.description.as_deref().unwrap_or_default().is_empty() {
                    op.description = op.summary.clone();
                }
                for (status, response) in op.responses.responses.iter_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    if response.description.is_empty() {
                        response.description = standard_description(status).to_owned();
                    }
                    for (media, content) in response.content.iter_mut() {
                        let bytes = media.starts_with("image/") || media == "application/zip";
                        if bytes && content.schema.is_none() {
                            content.schema = Some(binary().into());
                        }
                    }
                }
            }
        }
    }
}

fn standard_description(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created",
        "202" => "Accepted",
        "204" => "No content",
        "304" => "Not modified",
        _ => "See the problem details",
    }
}

fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
        &mut item.head,
    ]
    .into_iter()
    .flatten()
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
            for op in operations(item) {
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

/// The document as served: the annotations plus where this deployment answers.
pub fn document(public_url: &str) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.servers = Some(vec![Server::new(public_url)]);
    doc
}

/// `/openapi.json`, Swagger UI under `/docs/` (its Authorize button signs in with
/// the password flow).
pub fn routes(doc: utoipa::openapi::OpenApi) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.service(docs_redirect)
            .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", doc));
    }
}

#[get("/docs")]
async fn docs_redirect() -> HttpResponse {
    HttpResponse::MovedPermanently()
        .insert_header(("Location", "/docs/"))
        .finish()
}
