//! Every error answer on `/graphql` is GraphQL JSON with a code, whatever layer refused the request: the
//! body limit (413), the request timeout (408), an encoding the server cannot decompress (415), the
//! router (405), the rate limit (429). Layers below the handler answer in plain text or with no body;
//! this middleware, outside them all, rewrites those answers, and gives JSON answers the media type the
//! client asked for (`application/graphql-response+json` or `application/json`).

use super::graphql::{negotiate, MediaType};
use axum::{
    body::Body,
    extract::Request,
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::Response,
};

/// The code and message of an answer a layer gave without a GraphQL body.
fn describe(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ("PAYLOAD_TOO_LARGE", "the request body is larger than the server accepts / 请求体过大")
        }
        StatusCode::REQUEST_TIMEOUT => ("REQUEST_TIMEOUT", "the request took too long; try again / 请求超时，请重试"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "UNSUPPORTED_MEDIA_TYPE",
            "send JSON (application/json), uncompressed or with Content-Encoding gzip or br / 请求格式不受支持",
        ),
        StatusCode::METHOD_NOT_ALLOWED => ("METHOD_NOT_ALLOWED", "use GET or POST / 请使用GET或POST"),
        StatusCode::NOT_FOUND => ("NOT_FOUND", "no such path / 路径不存在"),
        StatusCode::TOO_MANY_REQUESTS => ("RATE_LIMITED", "too many requests; try again later / 请求过于频繁"),
        StatusCode::SERVICE_UNAVAILABLE => {
            ("SERVICE_UNAVAILABLE", "the service is unavailable; try again later / 服务暂不可用，请稍后再试")
        }
        s if s.is_client_error() => ("BAD_REQUEST", "the request is not valid / 请求无效"),
        _ => ("INTERNAL", "the server failed; try again later / 服务器出错，请稍后再试"),
    }
}

pub async fn as_graphql(req: Request, next: Next) -> Response {
    let graphql = req.uri().path() == "/graphql";
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut res = next.run(req).await;
    let status = res.status();
    // 406: the client accepts neither JSON type, so it gets none.
    if !graphql || !(status.is_client_error() || status.is_server_error()) || status == StatusCode::NOT_ACCEPTABLE {
        return res;
    }
    let media = negotiate(accept.as_deref()).unwrap_or(MediaType::Json);
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json") || t.starts_with("application/graphql-response+json"));
    if !is_json {
        let (code, message) = describe(status);
        let body = super::graphql::error_body(code, message).to_string();
        res.headers_mut().remove(header::CONTENT_LENGTH);
        *res.body_mut() = Body::from(body);
    }
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(media.content_type()));
    res
}
