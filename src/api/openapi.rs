//! `GET /openapi.json`: the API described in OpenAPI 3.1, generated from each route module's
//! annotations and the bodies' own types; `GET /docs/` shows it in Swagger UI, embedded in the
//! binary like the explorer.
//!
//! Each route module documents its own routes (its `Doc`); this module puts the parts together
//! and adds what every route shares: the errors the node's outer layers may answer before a
//! route runs, and the API token. A test compares the paths here with Rocket's route table, and
//! the contract test runs a fuzzer against a live node with this document.

mod wire;

use super::error::ApiError;
use crate::network::message::ErrorBody;
use rocket::http::uri::Origin;
use rocket::http::{ContentType, Header};
use rocket::response::{self, Redirect, Responder, Response};
use rocket::{Either, Request};
use std::io::Cursor;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, RefOr, Response as Answer};
use utoipa::OpenApi;

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![openapi, docs]
}

/// Routes that are not part of the API, so not described: where the site check sends a
/// refused request to be answered with its error.
pub const UNDESCRIBED: &[&str] = &["/_refused"];

/// The description of this module's own routes.
#[derive(OpenApi)]
#[openapi(paths(openapi, docs))]
struct Doc;

/// The whole API's description.
pub fn document() -> Document {
    let mut doc = Document::builder()
        .info(
            utoipa::openapi::InfoBuilder::new()
                .title("ferrochain")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "The REST API of a ferrochain node, which is also how nodes talk to each \
                     other. Every error is a JSON body `{\"error\": code, \"message\": text}`.",
                ))
                .license(Some(utoipa::openapi::License::new("MIT"))),
        )
        .build();
    for part in [
        super::chain::Doc::openapi(),
        super::events::Doc::openapi(),
        super::health::Doc::openapi(),
        super::metrics::Doc::openapi(),
        super::mine::Doc::openapi(),
        super::nodes::Doc::openapi(),
        super::transactions::Doc::openapi(),
        super::explorer::Doc::openapi(),
        Doc::openapi(),
    ] {
        doc.merge(part);
    }
    streamed_chain(&mut doc);
    shared_errors(&mut doc);
    token(&mut doc);
    doc
}

/// The document as served, written once.
fn served() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| document().to_json().expect("the document serialises"))
}

/// `GET /chain` and `GET /nodes/resolve` stream the chain behind a head their type describes
/// (see `open_object`): their schemas gain the `chain` field the stream adds.
fn streamed_chain(doc: &mut Document) {
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    let chain = utoipa::openapi::schema::ArrayBuilder::new()
        .items(utoipa::openapi::Ref::from_schema_name("Block"))
        .description(Some("The blocks, from the lowest height asked for."))
        .build();
    for name in ["ChainPage", "Resolved"] {
        if let Some(RefOr::T(utoipa::openapi::Schema::Object(object))) =
            components.schemas.get_mut(name)
        {
            object
                .properties
                .insert("chain".to_owned(), chain.clone().into());
            object.required.push("chain".to_owned());
        }
    }
}

/// The errors the layers in front of every route may answer (the gate, the site and body
/// checks, misbehaviour scoring), stated once for every operation as its `default` answer,
/// and the body errors of every operation that reads one.
fn shared_errors(doc: &mut Document) {
    let error = |text: &str| -> RefOr<Answer> {
        Answer::builder()
            .description(text)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .into()
    };
    for item in doc.paths.paths.values_mut() {
        for operation in operations(item) {
            let responses = &mut operation.responses.responses;
            if operation.request_body.is_some() {
                for (status, text) in [
                    (
                        "400",
                        "`malformed_json`: the body is not JSON (or not an object).",
                    ),
                    ("408", "`body_timeout`: the body did not arrive in time."),
                    ("413", "`too_large`: the body is over the route's limit."),
                    (
                        "415",
                        "`not_json`: the body is not declared `application/json`.",
                    ),
                    ("422", "`invalid_json`: JSON of the wrong shape."),
                ] {
                    responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error(text));
                }
            }
            responses.entry("default".to_owned()).or_insert_with(|| {
                error(
                    "Any other answer is an error: a `Host` or `Origin` that is not this \
                     node's (403 `bad_host`, `cross_origin`), too many refused requests (429 \
                     `misbehaving`), a malformed or oversized request head (400, 408, 414, \
                     431), a wrong method (405), or the node busy or stopping (503 `busy`, \
                     `shutting_down`).",
                )
            });
        }
    }
}

/// The operations of a path, whatever their methods.
fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.post.as_mut(),
        item.put.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// The API token the operator's routes ask for when the node listens beyond loopback.
fn token(doc: &mut Document) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.security_schemes.insert(
        "token".to_owned(),
        SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
    );
}

/// This API's description, OpenAPI 3.1.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "node",
    responses((status = 200, description = "The document.", content_type = "application/json", body = serde_json::Value))
)]
#[rocket::get("/openapi.json")]
fn openapi() -> (ContentType, &'static str) {
    (ContentType::JSON, served())
}

/// The API's description for people (Swagger UI), reading `/openapi.json`. The page is at
/// `/docs/`; `/docs` sends there, since the page's links are relative.
#[utoipa::path(
    get,
    path = "/docs/{file}",
    tag = "node",
    params(("file" = String, Path, description = "A file of the page; none for the page itself.")),
    responses(
        (status = 200, description = "The page, or one of its files.", content((String = "text/html"), (String = "text/javascript"), (String = "text/css"), (String = "image/png"))),
        (status = 308, description = "`/docs` to `/docs/`."),
        (status = 404, description = "`not_found`.", body = ErrorBody),
    )
)]
#[rocket::get("/docs/<file..>")]
fn docs(file: PathBuf, uri: &Origin<'_>) -> Result<Either<Redirect, DocsFile>, ApiError> {
    static CONFIG: OnceLock<Arc<utoipa_swagger_ui::Config<'static>>> = OnceLock::new();
    if !uri.path().ends_with('/') && file.as_os_str().is_empty() {
        return Ok(Either::Left(Redirect::permanent("/docs/")));
    }
    let config = CONFIG.get_or_init(|| Arc::new(utoipa_swagger_ui::Config::from("/openapi.json")));
    let not_found = || ApiError::not_found(format!("no such resource: GET {uri}"));
    let name = file.to_str().ok_or_else(not_found)?;
    match utoipa_swagger_ui::serve(name, config.clone()) {
        Ok(Some(file)) => Ok(Either::Right(DocsFile(file))),
        Ok(None) => Err(not_found()),
        Err(e) => Err(ApiError::new(
            rocket::http::Status::InternalServerError,
            "internal_error",
            e.to_string(),
        )),
    }
}

/// Swagger UI runs no inline script, but sets styles inline.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                        img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
                        form-action 'self'; frame-ancestors 'none'";

/// A file of Swagger UI, with the page's security headers.
struct DocsFile(utoipa_swagger_ui::SwaggerFile<'static>);

impl<'r> Responder<'r, 'static> for DocsFile {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let bytes = self.0.bytes.into_owned();
        Response::build()
            .raw_header("Content-Type", self.0.content_type)
            .header(Header::new("X-Content-Type-Options", "nosniff"))
            .header(Header::new("Content-Security-Policy", DOCS_CSP))
            .header(Header::new("Referrer-Policy", "no-referrer"))
            .sized_body(bytes.len(), Cursor::new(bytes))
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_and_every_reference_resolves() {
        let json: serde_json::Value = serde_json::from_str(served()).unwrap();
        assert!(json["openapi"].as_str().unwrap().starts_with("3.1"));
        let schemas = json["components"]["schemas"].as_object().unwrap();
        let text = served();
        for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = &part[..part.find('"').unwrap()];
            assert!(
                schemas.contains_key(name),
                "{name} is referred to but not defined"
            );
        }
        let page = &json["components"]["schemas"]["ChainPage"];
        assert!(page["required"]
            .as_array()
            .unwrap()
            .contains(&"chain".into()));
    }
}
