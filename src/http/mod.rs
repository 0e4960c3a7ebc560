//! The HTTP surface: routes, middleware (limits, tracing, metrics) and the handlers that are not GraphQL.

pub mod attachments;
pub mod auth;
pub mod errors;
pub mod export;
pub mod graphql;
pub mod health;
pub mod metrics;
pub mod persisted;
pub mod proof;
pub mod ratelimit;
pub mod web;
pub mod ws;

use axum::{
    extract::{DefaultBodyLimit, MatchedPath, Request},
    middleware,
    routing::{get, post},
    Router,
};
use tower_http::{
    compression::{
        predicate::{NotForContentType, Predicate, SizeAbove},
        CompressionLayer,
    },
    decompression::RequestDecompressionLayer,
    limit::RequestBodyLimitLayer,
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    let body_limit = state.services.config.max_body_bytes;
    let cors = cors(&state.services.config.cors_origins);
    let router = Router::new()
        .route("/", get(web::index))
        .route("/app.js", get(web::app_js))
        .route("/app.css", get(web::app_css))
        .route("/icon.svg", get(web::icon))
        .route("/graphiql/{file}", get(web::graphiql_file))
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/graphql/ws", get(ws::ws))
        .route("/attachments/{id}", get(attachments::download))
        .route("/export/proposals.csv", get(export::proposals))
        .route("/export/techniques.csv", get(export::techniques))
        .route("/auth/login", get(auth::login))
        .route("/auth/callback", get(auth::callback))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/session", get(auth::session))
        .route("/.well-known/greenline-key", get(proof::key))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .layer(middleware::from_fn_with_state(state.clone(), ratelimit::limit))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            std::time::Duration::from_secs(state.services.config.request_timeout_secs),
        ))
        .layer(middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(DefaultBodyLimit::max(body_limit))
        // Inside the limit on the bytes that arrive; `DefaultBodyLimit` holds what they expand to.
        .layer(RequestDecompressionLayer::new())
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(middleware::from_fn(errors::as_graphql))
        .layer(CompressionLayer::new().compress_when(compression_predicate()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_default();
            tracing::info_span!("http", method = %req.method(), route = %route)
        }))
        .with_state(state);
    match cors {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// Responses worth compressing (gzip or br, as the client accepts): bodies above 1 KiB, not images (they
/// are compressed already) and not event streams.
fn compression_predicate() -> impl Predicate {
    SizeAbove::new(1024).and(NotForContentType::IMAGES).and(NotForContentType::SSE)
}

/// CORS for the configured origins (outermost, so that a preflight is answered before routing, limits and
/// authentication); `None` when no origin is configured: browsers then keep other origins out.
fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{header, HeaderName, HeaderValue, Method};
    let origins: Vec<HeaderValue> = origins
        .iter()
        .map(|o| o.trim().trim_end_matches('/'))
        .filter(|o| !o.is_empty())
        .filter_map(|o| o.parse().ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        tower_http::cors::CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                HeaderName::from_static("apollo-require-preflight"),
                HeaderName::from_static("x-apollo-operation-name"),
                HeaderName::from_static("x-csrf-token"),
            ])
            .expose_headers([header::RETRY_AFTER])
            .allow_credentials(true)
            .max_age(std::time::Duration::from_secs(600)),
    )
}
