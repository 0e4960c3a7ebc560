//! `/healthz` (the process answers) and `/readyz` (database, index directory and object storage usable).

use axum::{extract::State, http::StatusCode, Json};
use serde_json::{json, Value};

use crate::state::AppState;

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let s = &state.services;
    let database = s.db.ping().await.map_err(|e| format!("{e:#}"));
    let index = {
        let search = s.search.index.clone();
        tokio::task::spawn_blocking(move || search.check().map_err(|e| e.to_string()))
            .await
            .unwrap_or_else(|e| Err(e.to_string()))
    };
    let storage = s.storage.check().await.map_err(|e| format!("{e:#}"));
    let ok = database.is_ok() && index.is_ok() && storage.is_ok();
    let show = |r: &Result<(), String>| match r {
        Ok(()) => json!({"ok": true}),
        Err(e) => json!({"ok": false, "error": e}),
    };
    let body = json!({
        "ready": ok,
        "checks": { "database": show(&database), "index": show(&index), "objectStorage": show(&storage) },
    });
    if !ok {
        tracing::warn!(%body, "not ready");
    }
    (if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(body))
}
