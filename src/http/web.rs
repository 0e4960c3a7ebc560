//! The shop-floor page (`/`): HTML, CSS and JavaScript compiled into the binary, so the run command needs no
//! other step. The page is a client of `/graphql` like any other; a strict Content-Security-Policy keeps it
//! to its own origin.

use axum::{
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
};

const INDEX: &str = include_str!("../../web/index.html");
const APP_JS: &str = include_str!("../../web/app.js");
const APP_CSS: &str = include_str!("../../web/app.css");
const ICON: &str = include_str!("../../web/icon.svg");

const CSP: &str = "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; \
                   connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut res = body.into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Revalidate each time: the binary may be newer than the browser's copy.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    res
}

pub async fn index() -> Response {
    asset(INDEX, "text/html; charset=utf-8")
}

pub async fn app_js() -> Response {
    asset(APP_JS, "text/javascript; charset=utf-8")
}

pub async fn app_css() -> Response {
    asset(APP_CSS, "text/css; charset=utf-8")
}

pub async fn icon() -> Response {
    asset(ICON, "image/svg+xml")
}

/// GraphiQL, compiled into the binary (`web/graphiql/`, pinned versions: `scripts/vendor-graphiql`) and
/// served from this origin: it works on a plant network with no internet. Each script and style sheet is
/// checked by the browser against its SHA-384 (Subresource Integrity), and a Content-Security-Policy
/// keeps the page to this origin (GraphiQL's editor sets inline styles, hence `'unsafe-inline'` for
/// styles only).
mod graphiql {
    pub const FILES: [(&str, &[u8], &str); 5] = [
        ("graphiql.min.js", include_bytes!("../../web/graphiql/graphiql.min.js"), "text/javascript; charset=utf-8"),
        ("graphiql.min.css", include_bytes!("../../web/graphiql/graphiql.min.css"), "text/css; charset=utf-8"),
        (
            "react.production.min.js",
            include_bytes!("../../web/graphiql/react.production.min.js"),
            "text/javascript; charset=utf-8",
        ),
        (
            "react-dom.production.min.js",
            include_bytes!("../../web/graphiql/react-dom.production.min.js"),
            "text/javascript; charset=utf-8",
        ),
        ("init.js", include_bytes!("../../web/graphiql/init.js"), "text/javascript; charset=utf-8"),
    ];
    pub const PAGE: &str = include_str!("../../web/graphiql/index.html");
    pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                           img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; \
                           base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
}

/// The GraphiQL page, with the integrity of each file filled in (computed once).
pub fn graphiql_page() -> Response {
    use base64::Engine;
    use sha2::Digest;
    static PAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let page = PAGE.get_or_init(|| {
        graphiql::FILES.iter().fold(graphiql::PAGE.to_owned(), |page, (name, bytes, _)| {
            let digest = base64::engine::general_purpose::STANDARD.encode(sha2::Sha384::digest(bytes));
            page.replace(&format!("{{{{{name}}}}}"), &format!("sha384-{digest}"))
        })
    });
    let mut res = asset(page.as_str(), "text/html; charset=utf-8");
    res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(graphiql::CSP));
    res
}

/// One of GraphiQL's files; 404 for any other name.
pub async fn graphiql_file(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let Some((_, bytes, content_type)) = graphiql::FILES.iter().find(|(n, ..)| *n == name) else {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    };
    let mut res = bytes.into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    res
}
