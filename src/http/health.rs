//! `/healthz` (the process answers) and `/readyz` (this instance can serve: database and index; with
//! how far the index is behind and whether object storage answers).

use axum::{extract::State, http::StatusCode, Json};
use serde_json::{json, Value};

use crate::state::AppState;

pub async fn healthz() -> &'static str {
    "ok"
}

/// How long each readiness check may take: they run side by side, so `/readyz` answers within this.
const CHECK: std::time::Duration = std::time::Duration::from_millis(1500);

async fn within<T, E: std::fmt::Display>(check: impl std::future::Future<Output = Result<T, E>>) -> Result<T, String> {
    match tokio::time::timeout(CHECK, check).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer within {} ms", CHECK.as_millis())),
    }
}

/// Ready means this instance can serve: its database answers and its index is readable. How far the
/// index is behind the change feed is reported (it serves while it catches up). Object storage is
/// reported too, but does not make the instance unready: searches, reads and submissions work without it,
/// and uploads meanwhile fail fast with 503.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let s = &state.services;
    let search = s.search.index.clone();
    let (database, index, behind, storage) = tokio::join!(
        within(s.db.ping()),
        within(async move {
            tokio::task::spawn_blocking(move || search.check().map_err(|e| e.to_string()))
                .await
                .unwrap_or_else(|e| Err(e.to_string()))
        }),
        within(s.search.behind(1_000_000)),
        within(s.storage.check()),
    );
    let ready = database.is_ok() && index.is_ok();
    let show = |r: &Result<(), String>| match r {
        Ok(()) => json!({"ok": true}),
        Err(e) => json!({"ok": false, "error": e}),
    };
    let mut index_detail = show(&index);
    index_detail["behind"] = behind.map_or(Value::Null, Value::from);
    // Whether this instance writes its index, or reads one another instance on this host writes.
    index_detail["writer"] = Value::from(s.search.index.is_writer());
    let body = json!({
        "ready": ready,
        "checks": { "database": show(&database), "index": index_detail, "objectStorage": show(&storage) },
    });
    if !ready || storage.is_err() {
        tracing::warn!(%body, "not ready or degraded");
    }
    (if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(body))
}
