//! `GET /attachments/{id}`: streams a file to anyone allowed to see its proposal, with its type, length,
//! `ETag` (the content's SHA-256) and the original file name in `Content-Disposition` (RFC 6266/5987).

use crate::{
    domain::attachment::content_disposition, error::AppError, graphql::ids, http::graphql::authenticate, journey,
    state::AppState,
};
use axum::{
    body::Body,
    extract::{Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

fn refuse(e: AppError) -> Response {
    let status = StatusCode::from_u16(e.code().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({"error": {"code": e.code().as_str(), "message": e.public_message()}});
    let mut res =
        (status, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], body.to_string()).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut().insert(header::RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
    }
    res
}

pub async fn download(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let viewer = match authenticate(&state, &headers).await {
        Ok(v) => v,
        Err(e) => return refuse(e),
    };
    let Ok(attachment_id) = ids::decode(&async_graphql::ID(id), "Attachment", "id") else {
        return refuse(AppError::not_found("attachment"));
    };
    let user = viewer.user.clone();
    // One rule: a file is visible exactly when its proposal is.
    let found = state
        .services
        .db
        .read(move |s| {
            Box::pin(async move {
                let a = s.attachment(attachment_id).await?.ok_or_else(|| AppError::not_found("attachment"))?;
                journey::load_visible(s, user.as_ref(), a.proposal_id)
                    .await
                    .map_err(|_| AppError::not_found("attachment"))?;
                Ok(a)
            })
        })
        .await;
    let a = match found {
        Ok(a) => a,
        Err(e) => return refuse(e),
    };
    let etag = format!("\"{}\"", a.sha256);
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let object = match state.services.storage.get(&a.object_key).await {
        Ok(Some(o)) => o,
        Ok(None) => {
            return refuse(AppError::Internal(anyhow::anyhow!("attachment object {} is missing", a.object_key)))
        }
        Err(e) => return refuse(e),
    };
    let mut res = Response::new(Body::from_stream(object.into_stream()));
    let h = res.headers_mut();
    let set = |h: &mut HeaderMap, name, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    };
    set(h, header::CONTENT_TYPE, a.content_type.clone());
    set(h, header::CONTENT_LENGTH, a.size_bytes.to_string());
    set(h, header::ETAG, etag);
    // Only pictures open in the browser; a PDF (which may carry JavaScript) or a file whose bytes also
    // parse as HTML is saved instead, and nothing served here may run script or reach the page's origin.
    let inline = a.content_type.starts_with("image/") && a.content_type != "image/svg+xml";
    set(
        h,
        header::CONTENT_DISPOSITION,
        content_disposition(if inline { "inline" } else { "attachment" }, &a.file_name),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'; img-src 'self'"));
    res
}
