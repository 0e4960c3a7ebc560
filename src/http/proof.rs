//! `GET /.well-known/greenline-key`: the server's public signing key, for checking receipts, skill records
//! and the chain's checkpoints (`greenline verify --server URL` fetches it).

use axum::{extract::State, http::header, response::IntoResponse};

use crate::state::AppState;

pub async fn key(State(state): State<AppState>) -> impl IntoResponse {
    let signer = &state.services.signer;
    let body = serde_json::json!({
        "algorithm": "Ed25519",
        "keyId": signer.key_id(),
        "publicKey": signer.public_key(),
        "checks": ["greenline.receipt/1", "greenline.skill-record/1", "greenline.checkpoint/1"],
    });
    ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "public, max-age=300")], body.to_string())
}
