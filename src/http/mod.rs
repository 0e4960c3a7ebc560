//! The HTTP surface: routes, middleware (limits, tracing, metrics) and the handlers that are not GraphQL.

pub mod attachments;
pub mod export;
pub mod graphql;
pub mod health;
pub mod metrics;
pub mod ratelimit;
pub mod web;
pub mod ws;

use axum::{
    extract::{DefaultBodyLimit, MatchedPath, Request},
    middleware,
    routing::get,
    Router,
};
use tower_http::{limit::RequestBodyLimitLayer, timeout::TimeoutLayer, trace::TraceLayer};

use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    let body_limit = state.services.config.max_body_bytes;
    Router::new()
        .route("/", get(web::index))
        .route("/app.js", get(web::app_js))
        .route("/app.css", get(web::app_css))
        .route("/icon.svg", get(web::icon))
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/graphql/ws", get(ws::ws))
        .route("/attachments/{id}", get(attachments::download))
        .route("/export/proposals.csv", get(export::proposals))
        .route("/export/techniques.csv", get(export::techniques))
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
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_default();
            tracing::info_span!("http", method = %req.method(), route = %route)
        }))
        .with_state(state)
}
