//! # chat-web: what a browser gets from `chat serve`
//!
//! Owns `GET /` and `/app/*` (the web client: plain ES modules and one
//! stylesheet under `crates/web/assets/`, compiled into the binary, no
//! build step) and `/docs` (Swagger UI over `/openapi.json`, its files
//! from the `utoipa-swagger-ui` crate's vendored copy: no download at
//! build or run time).
//!
//! Every page is served under a strict Content-Security-Policy: scripts and
//! styles from this origin only, no inline script, no eval, no framing;
//! the client talks to this origin alone (HTTP and `/v1/ws`). Swagger UI
//! sets element styles from its scripts, so `/docs` alone allows inline
//! styles (never inline scripts).

mod assets;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa_swagger_ui::{Config, SwaggerUi};

/// The web client's policy: nothing but this origin.
pub const CLIENT_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' blob: data:; connect-src 'self'; manifest-src 'self'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Swagger UI's: the same, with the inline styles its scripts set.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn with_csp(mut res: Response, csp: &'static str) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

async fn index() -> Response {
    let mut res = asset("index.html").into_response();
    // The page is small and names its modules: always revalidate it, so a
    // new binary's client is picked up at the next load.
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    with_csp(res, CLIENT_CSP)
}

async fn app_file(Path(name): Path<String>) -> Response {
    with_csp(asset(&name).into_response(), CLIENT_CSP)
}

fn asset(name: &str) -> Response {
    match assets::find(name) {
        Some((mime, body)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

/// `/`, `/app/{file}` and `/docs`.
pub fn router() -> Router {
    let docs: Router = SwaggerUi::new("/docs")
        .config(
            Config::new(["/openapi.json"])
                .persist_authorization(false)
                .try_it_out_enabled(true),
        )
        .into();
    let docs = docs.layer(axum::middleware::map_response(|res: Response| async move {
        with_csp(res, DOCS_CSP)
    }));
    Router::new()
        .route("/", get(index))
        .route("/app/{name}", get(app_file))
        .merge(docs)
}
