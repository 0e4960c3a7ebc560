//! GraphQL over HTTP (`GET`/`POST /graphql`), written to the GraphQL-over-HTTP specification: media-type
//! negotiation, 400 for malformed requests, 405 for mutations over GET, and — under
//! `application/graphql-response+json` — 400 for documents that fail to parse or validate.
//! A browser asking for HTML gets GraphiQL.

use std::{net::SocketAddr, time::Instant};

use async_graphql::{
    parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition, OperationType},
    Variables,
};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, RawQuery, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
    Extension,
};
use serde_json::{json, Map, Value};

use crate::{
    error::{AppError, ErrorCode},
    graphql::{
        limits::{scan, Checked, CostModel, Limits, Refusal},
        phase::ValidationFailed,
        Viewer,
    },
    http::persisted::{Resolved, Unresolved},
    state::AppState,
};

#[derive(Clone, Copy, PartialEq, Debug)]
pub enum MediaType {
    GraphqlResponseJson,
    Json,
}

impl MediaType {
    pub fn content_type(self) -> &'static str {
        match self {
            MediaType::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        }
    }
}

/// Picks the response media type from `Accept`; `None` when the client accepts neither JSON type.
pub fn negotiate(accept: Option<&str>) -> Option<MediaType> {
    let accept = match accept.map(str::trim) {
        None | Some("") => return Some(MediaType::Json),
        Some(a) => a,
    };
    let mut best: Option<(MediaType, f32)> = None;
    for part in accept.split(',') {
        let mut pieces = part.split(';').map(str::trim);
        let range = pieces.next().unwrap_or("").to_ascii_lowercase();
        let q = pieces.filter_map(|p| p.strip_prefix("q=").and_then(|v| v.parse::<f32>().ok())).next().unwrap_or(1.0);
        let media = match range.as_str() {
            "application/graphql-response+json" => MediaType::GraphqlResponseJson,
            "application/json" | "application/*" | "*/*" => MediaType::Json,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(_, bq)| q > bq) {
            best = Some((media, q));
        }
    }
    best.map(|(m, _)| m)
}

fn json_response(status: StatusCode, media: MediaType, body: &Value) -> Response {
    let mut res = (status, body.to_string()).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(media.content_type()));
    res
}

/// The body of an error answer that is not a field's: one error with its code.
pub fn error_body(code: &str, message: &str) -> Value {
    json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
}

fn request_error(status: StatusCode, media: MediaType, code: &str, message: &str) -> Response {
    json_response(status, media, &error_body(code, message))
}

/// The four GraphQL-over-HTTP parameters, type-checked.
struct Params {
    /// Absent when the request names a persisted or trusted document instead.
    query: Option<String>,
    /// `documentId` (GraphQL over HTTP's persisted documents) or `doc_id` (Relay's name for it).
    document_id: Option<String>,
    operation_name: Option<String>,
    variables: Option<Map<String, Value>>,
    extensions: Option<Map<String, Value>>,
}

fn params_from_json(v: Value) -> Result<Params, &'static str> {
    let Value::Object(mut obj) = v else { return Err("the request body must be a JSON object") };
    let query = match obj.remove("query") {
        Some(Value::String(q)) => Some(q),
        None | Some(Value::Null) => None,
        Some(_) => return Err("the query parameter must be a string"),
    };
    let document_id = match obj.remove("documentId").or_else(|| obj.remove("doc_id")) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err("documentId must be a string"),
    };
    let operation_name = match obj.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err("operationName must be a string"),
    };
    let mut map = |key: &str| match obj.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(()),
    };
    let variables = map("variables").map_err(|_| "variables must be a JSON object")?;
    let extensions = map("extensions").map_err(|_| "extensions must be a JSON object")?;
    Ok(Params { query, document_id, operation_name, variables, extensions })
}

fn params_from_query_string(raw: &str) -> Result<Params, &'static str> {
    let mut obj = Map::new();
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        let value = match k.as_ref() {
            "query" | "operationName" | "documentId" | "doc_id" => Value::String(v.into_owned()),
            "variables" | "extensions" => {
                if v.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_str(&v).map_err(|_| "variables and extensions must be JSON-encoded objects")?
                }
            }
            _ => continue,
        };
        obj.insert(k.into_owned(), value);
    }
    params_from_json(Value::Object(obj))
}

/// The token of an `Authorization` value `Bearer <token>`, the scheme in any case (RFC 9110 §11.1).
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Resolves the viewer (see [`crate::http::auth::authenticate`]) for a request that reads only: downloads
/// and exports, which a session cookie may sign in without the CSRF token.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Viewer, AppError> {
    Ok(crate::http::auth::authenticate(state, headers).await?.viewer)
}

pub async fn get(
    State(state): State<AppState>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let client = Client { address: crate::http::auth::address(connect.as_ref().map(|c| &c.0)) };
    let raw = raw.unwrap_or_default();
    let wants_html = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    if wants_html && !raw.split('&').any(|kv| kv.starts_with("query=")) {
        return crate::http::web::graphiql_page();
    }
    let Some(media) = negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())) else {
        return (StatusCode::NOT_ACCEPTABLE, "accept application/graphql-response+json or application/json")
            .into_response();
    };
    match params_from_query_string(&raw) {
        Ok(params) => execute(&state, &client, &headers, media, Method::GET, params).await,
        Err(msg) => request_error(StatusCode::BAD_REQUEST, media, "BAD_REQUEST", msg),
    }
}

pub async fn post(
    State(state): State<AppState>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let client = Client { address: crate::http::auth::address(connect.as_ref().map(|c| &c.0)) };
    let Some(media) = negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())) else {
        return (StatusCode::NOT_ACCEPTABLE, "accept application/graphql-response+json or application/json")
            .into_response();
    };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let params = match essence.as_str() {
        "application/json" | "application/graphql+json" => {
            if body.is_empty() {
                return request_error(StatusCode::BAD_REQUEST, media, "BAD_REQUEST", "the request body is empty");
            }
            match serde_json::from_slice::<Value>(&body) {
                Ok(v) => params_from_json(v),
                Err(_) => {
                    return request_error(
                        StatusCode::BAD_REQUEST,
                        media,
                        "BAD_REQUEST",
                        "the request body is not valid JSON",
                    )
                }
            }
        }
        "multipart/form-data" => {
            // GraphQL multipart request spec: `operations`, `map`, then the files.
            let max = state.services.config.max_upload_bytes;
            let opts = async_graphql::http::MultipartOptions::default()
                .max_file_size(max)
                .max_num_files(MAX_FILES_PER_REQUEST);
            let reader = futures_util::io::Cursor::new(body);
            return match async_graphql::http::receive_body(Some(content_type), reader, opts).await {
                Ok(request) => {
                    let label = request.operation_name.clone().unwrap_or_else(|| "anonymous".into());
                    run(&state, &client, &headers, media, request, label, None).await
                }
                Err(async_graphql::ParseRequestError::PayloadTooLarge) => request_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    media,
                    "PAYLOAD_TOO_LARGE",
                    &format!("a file is larger than {} MiB / 文件不能超过{} MiB", max / 1048576, max / 1048576),
                ),
                Err(e) => request_error(
                    StatusCode::BAD_REQUEST,
                    media,
                    "BAD_REQUEST",
                    &format!("malformed multipart request: {e}"),
                ),
            };
        }
        "" => {
            return request_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                media,
                "UNSUPPORTED_MEDIA_TYPE",
                "set Content-Type: application/json",
            )
        }
        _ => {
            return request_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                media,
                "UNSUPPORTED_MEDIA_TYPE",
                "Content-Type must be application/json (or multipart/form-data for uploads)",
            )
        }
    };
    match params {
        Ok(params) => execute(&state, &client, &headers, media, Method::POST, params).await,
        Err(msg) => request_error(StatusCode::BAD_REQUEST, media, "BAD_REQUEST", msg),
    }
}

/// The operation a document would run: for the GET-mutation check and for the variables it declares.
fn selected_definition<'a>(doc: &'a ExecutableDocument, name: Option<&str>) -> Option<&'a OperationDefinition> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next().map(|op| &op.node),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// A variable the request does not give: with a default, the executor uses it; nullable, it is null;
/// required, the request is refused here (the executor would fail the field, not the request).
fn fill_variables(op: &OperationDefinition, variables: &mut Variables) -> Result<(), String> {
    for def in &op.variable_definitions {
        let def = &def.node;
        if variables.contains_key(&def.name.node) || def.default_value.is_some() {
            continue;
        }
        if def.var_type.node.nullable {
            variables.insert(def.name.node.clone(), async_graphql::Value::Null);
        } else {
            return Err(format!(
                "variable ${} of type {} is required but was not given / 缺少必填变量${}",
                def.name.node, def.var_type.node, def.name.node
            ));
        }
    }
    Ok(())
}

fn operation_label(doc: &ExecutableDocument, requested: Option<&str>) -> String {
    if let Some(name) = requested {
        return name.chars().take(64).collect();
    }
    // A single named operation: use its name.
    if let DocumentOperations::Multiple(ops) = &doc.operations {
        if ops.len() == 1 {
            if let Some(name) = ops.keys().next() {
                return name.as_str().chars().take(64).collect();
            }
        }
    }
    "anonymous".to_owned()
}

/// Parsed documents by their text, and the limits they are held to. Clients send the same few documents
/// with new variables, and parsing was 7 % of the server's work under load (done twice: here and again by
/// the executor). Only documents that parsed are kept, only short ones, and only so many: a client sending
/// new documents evicts old ones. The limits are checked on every request (the cost depends on variables).
pub struct Documents {
    cache: std::sync::Mutex<lru::LruCache<String, ExecutableDocument>>,
    limits: Limits,
    model: std::sync::Arc<CostModel>,
}

/// Why a document is not run.
enum Unfit {
    Parse(async_graphql::parser::Error),
    Refused(Refusal),
}

impl Documents {
    const ENTRIES: usize = 256;
    const MAX_LEN: usize = 8 * 1024;

    pub fn new(limits: Limits, model: std::sync::Arc<CostModel>) -> Documents {
        Documents {
            cache: std::sync::Mutex::new(lru::LruCache::new(
                std::num::NonZeroUsize::new(Self::ENTRIES).expect("non-zero"),
            )),
            limits,
            model,
        }
    }

    /// The text scanned (before any parsing), parsed or found, then checked against the limits.
    fn prepare(
        &self,
        query: &str,
        operation: Option<&str>,
        variables: &Variables,
    ) -> Result<ExecutableDocument, Unfit> {
        scan(query, &self.limits).map_err(Unfit::Refused)?;
        let doc = self.parse(query).map_err(Unfit::Parse)?;
        self.limits.check(&doc, operation, true, variables, &self.model).map_err(Unfit::Refused)?;
        Ok(doc)
    }

    fn parse(&self, query: &str) -> async_graphql::parser::Result<ExecutableDocument> {
        let keep = query.len() <= Self::MAX_LEN;
        if keep {
            if let Some(doc) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(query) {
                return Ok(doc.clone());
            }
        }
        let doc = async_graphql::parser::parse_query(query)?;
        if keep {
            self.cache.lock().unwrap_or_else(|p| p.into_inner()).put(query.to_owned(), doc.clone());
        }
        Ok(doc)
    }
}

/// Where a request came from.
struct Client {
    address: Option<String>,
}

/// Files one multipart request may carry.
const MAX_FILES_PER_REQUEST: usize = 10;

async fn execute(
    state: &AppState,
    client: &Client,
    headers: &HeaderMap,
    media: MediaType,
    method: Method,
    params: Params,
) -> Response {
    // Under application/json a document the server will not run is still answered 200 (GraphQL over HTTP,
    // legacy media type); under application/graphql-response+json it is a 400.
    let refused_status = if media == MediaType::GraphqlResponseJson { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let persisted = &state.services.persisted;
    let resolved =
        persisted.resolve(&state.services.db, params.query, params.document_id, params.extensions.as_ref()).await;
    let Resolved { query, register } = match resolved {
        Ok(r) => r,
        Err(Unresolved::Refused(r)) => {
            let status = match r.code {
                "BAD_REQUEST" | "PERSISTED_QUERY_HASH_MISMATCH" => StatusCode::BAD_REQUEST,
                _ => refused_status,
            };
            return request_error(status, media, r.code, &r.message);
        }
        Err(Unresolved::Fault(e)) => return fault(media, &e),
    };
    let mut variables = Variables::from_json(Value::Object(params.variables.unwrap_or_default()));
    let doc = match state.documents.prepare(&query, params.operation_name.as_deref(), &variables) {
        Ok(doc) => doc,
        Err(Unfit::Parse(e)) => {
            let locations: Vec<Value> = e.positions().map(|p| json!({"line": p.line, "column": p.column})).collect();
            return json_response(
                refused_status,
                media,
                &json!({ "errors": [{ "message": e.to_string(), "locations": locations, "extensions": { "code": "GRAPHQL_PARSE_FAILED" } }] }),
            );
        }
        Err(Unfit::Refused(r)) => {
            let error = serde_json::to_value(r.to_server_error()).unwrap_or_else(|_| json!({"message": r.message()}));
            return json_response(refused_status, media, &json!({ "errors": [error] }));
        }
    };
    let selected = selected_definition(&doc, params.operation_name.as_deref());
    if method == Method::GET && selected.is_some_and(|op| op.ty != OperationType::Query) {
        let mut res = request_error(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            "METHOD_NOT_ALLOWED",
            "mutations and subscriptions cannot be sent with GET; use POST",
        );
        res.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return res;
    }
    if let Some(op) = selected {
        if let Err(message) = fill_variables(op, &mut variables) {
            return json_response(
                refused_status,
                media,
                &json!({ "errors": [{ "message": message, "extensions": { "code": "BAD_USER_INPUT" } }] }),
            );
        }
    }
    let label = operation_label(&doc, params.operation_name.as_deref());
    // Registered once it ran without failing validation: nothing else is ever stored.
    let register = register.map(|hash| (hash, query.clone()));
    let mut request = async_graphql::Request::new(query).variables(variables).data(Checked);
    request.set_parsed_query(doc);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    if let Some(ext) = params.extensions {
        for (k, v) in ext {
            if let Ok(v) = async_graphql::Value::from_json(v) {
                request.extensions.insert(k, v);
            }
        }
    }
    run(state, client, headers, media, request, label, register).await
}

/// Authenticates, executes and shapes the response of a prepared request; registers the persisted query
/// `register` names (hash, text) when the document validated.
async fn run(
    state: &AppState,
    client: &Client,
    headers: &HeaderMap,
    media: MediaType,
    request: async_graphql::Request,
    label: String,
    register: Option<(String, String)>,
) -> Response {
    let viewer = match crate::http::auth::authenticate(state, headers).await {
        // A request the session cookie signed in must come from the page: it carries the session's CSRF token.
        Ok(a) if a.session.as_deref().is_some_and(|s| !crate::http::auth::csrf_ok(headers, s)) => {
            return request_error(
                StatusCode::FORBIDDEN,
                media,
                "FORBIDDEN",
                "send the X-CSRF-Token header that /auth/session gives / 缺少或错误的 X-CSRF-Token",
            );
        }
        Ok(a) => Viewer { address: client.address.clone(), ..a.viewer },
        // Only a token that is not valid is a 401: a database that cannot say is a fault, not a verdict.
        Err(e) if e.code() == ErrorCode::Unauthenticated => {
            let mut res = request_error(StatusCode::UNAUTHORIZED, media, e.code().as_str(), &e.public_message());
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return res;
        }
        Err(e) => return fault(media, &e),
    };
    let validation = ValidationFailed::default();
    let request = request.data(viewer).data(validation.clone());
    let start = Instant::now();
    let response = state.schema.execute(request).await;
    let failed_validation = validation.get();
    if let Some((hash, query)) = register.filter(|_| !failed_validation) {
        if let Err(e) = state.services.persisted.register(&state.services.db, hash, &query).await {
            tracing::warn!(error = %e, "could not register a persisted query");
        }
    }
    state.services.metrics.record_graphql(
        &label,
        if response.errors.is_empty() { "ok" } else { "error" },
        start.elapsed(),
    );

    let mut body = serde_json::to_value(&response)
        .unwrap_or_else(|_| json!({"errors": [{"message": "response could not be serialised"}]}));
    if failed_validation {
        if let Some(obj) = body.as_object_mut() {
            obj.remove("data");
        }
    }
    describe_schema(&mut body);
    if left_out_non_null(&body) {
        // async-graphql leaves a failed non-null field out of its object instead of nulling the nearest
        // nullable parent; without the schema at hand, null the whole data: valid, if more than needed.
        body["data"] = Value::Null;
    }
    let request_error = tag_errors(&mut body, failed_validation);
    if request_error {
        if let Some(obj) = body.as_object_mut() {
            obj.remove("data");
        }
    }
    // An infrastructure fault anywhere in the answer: 503 with Retry-After, so clients and balancers retry.
    let unavailable = body
        .get("errors")
        .and_then(Value::as_array)
        .is_some_and(|errors| errors.iter().any(|e| e["extensions"]["code"] == ErrorCode::ServiceUnavailable.as_str()));
    if unavailable {
        return retry_later(json_response(StatusCode::SERVICE_UNAVAILABLE, media, &body));
    }
    let status = if (failed_validation || request_error) && media == MediaType::GraphqlResponseJson {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    json_response(status, media, &body)
}

/// The answer to an error raised outside execution (a database that could not say): its code's status,
/// retried later when it is a 503.
fn fault(media: MediaType, e: &AppError) -> Response {
    let status = StatusCode::from_u16(e.code().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    retry_later(request_error(status, media, e.code().as_str(), &e.public_message()))
}

/// What `__schema { description }` answers: async-graphql answers every schema with the same paragraph
/// about schemas in general; clients (GraphiQL, codegen) show this one instead.
pub const SCHEMA_DESCRIPTION: &str =
    "greenline: frontline workers' energy-saving proposals, from the shop floor through \
review, pilot and measured savings to the industry catalogue. Errors carry extensions.code; mutations answer \
userErrors. 职工节能降耗合理化建议平台：从一线提交、评审、试点与节能量核实，到行业技术目录。";

fn describe_schema(body: &mut Value) {
    const LIBRARY: &str = "A GraphQL Schema defines the capabilities of a GraphQL server.";
    let Some(data) = body.get_mut("data").and_then(Value::as_object_mut) else { return };
    for value in data.values_mut() {
        if let Some(d) = value.get_mut("description") {
            if d.as_str().is_some_and(|t| t.starts_with(LIBRARY)) {
                *d = Value::String(SCHEMA_DESCRIPTION.into());
            }
        }
    }
}

/// Adds `Retry-After: 1` to a 503.
fn retry_later(mut res: Response) -> Response {
    if res.status() == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    res
}

/// Whether an error's path ends at a field missing from its object: a non-null field that failed, which
/// the executor left out rather than nulling a nullable parent (GraphQL spec, "Handling Field Errors").
fn left_out_non_null(body: &Value) -> bool {
    let Some(errors) = body.get("errors").and_then(Value::as_array) else { return false };
    errors.iter().filter_map(|e| e.get("path").and_then(Value::as_array)).any(|path| {
        let mut at = body.get("data").unwrap_or(&Value::Null);
        for (i, step) in path.iter().enumerate() {
            let last = i + 1 == path.len();
            let next = match (at, step) {
                (Value::Object(o), Value::String(k)) => match o.get(k) {
                    Some(v) => v,
                    None => return last,
                },
                (Value::Array(a), Value::Number(n)) => match n.as_u64().and_then(|n| a.get(n as usize)) {
                    Some(v) => v,
                    None => return false,
                },
                // A null on the way: the error was already propagated to a nullable field.
                _ => return false,
            };
            at = next;
        }
        false
    })
}

/// The code of an error the executor raised without one. Before execution (no `path`) every error is the
/// client's: the document or the variables do not fit. During execution, only the variable and input
/// coercion messages are; anything else with a path is a fault of ours.
fn untagged_code(message: &str, has_path: bool, failed_validation: bool) -> &'static str {
    if failed_validation {
        "GRAPHQL_VALIDATION_FAILED"
    } else if message.starts_with("Invalid value")
        || message.starts_with("Failed to parse")
        || (message.starts_with("Variable ") && message.ends_with("is not defined."))
    {
        "BAD_USER_INPUT"
    } else if message.starts_with("Unknown operation named")
        || message.starts_with("Operation name required")
        || message.starts_with("Subscriptions are not supported")
    {
        "BAD_REQUEST"
    } else if !has_path {
        "GRAPHQL_VALIDATION_FAILED"
    } else {
        "INTERNAL"
    }
}

/// Gives every error an `extensions.code`, so that clients always have something to branch on. Returns
/// whether the response is a request error: no data, and only client errors raised before execution
/// (no `path`).
pub(crate) fn tag_errors(body: &mut Value, failed_validation: bool) -> bool {
    let no_data = body.get("data").is_none_or(Value::is_null);
    let Some(errors) = body.get_mut("errors").and_then(Value::as_array_mut) else { return false };
    let mut all_client = true;
    for error in errors {
        let Some(obj) = error.as_object_mut() else { continue };
        let message = obj.get("message").and_then(Value::as_str).unwrap_or("").to_owned();
        let has_path = obj.contains_key("path");
        let ext = obj.entry("extensions").or_insert_with(|| json!({}));
        if let Some(ext) = ext.as_object_mut() {
            if !ext.contains_key("code") {
                ext.insert("code".into(), Value::String(untagged_code(&message, has_path, failed_validation).into()));
            }
            let code = ext.get("code").and_then(Value::as_str).unwrap_or("");
            all_client &= !has_path && !matches!(code, "INTERNAL" | "SERVICE_UNAVAILABLE");
        }
    }
    no_data && all_client
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_accept() {
        assert_eq!(negotiate(None), Some(MediaType::Json));
        assert_eq!(negotiate(Some("application/graphql-response+json")), Some(MediaType::GraphqlResponseJson));
        assert_eq!(negotiate(Some("application/json, application/graphql-response+json;q=0.9")), Some(MediaType::Json));
        assert_eq!(negotiate(Some("*/*")), Some(MediaType::Json));
        assert_eq!(negotiate(Some("text/plain")), None);
        assert_eq!(negotiate(Some("application/json;q=0")), None);
    }

    #[test]
    fn a_non_null_field_left_out_is_noticed() {
        let left_out = json!({"data": {"a": {"b": 1}}, "errors": [{"message": "x", "path": ["a", "c"]}]});
        assert!(left_out_non_null(&left_out));
        let in_list = json!({"data": {"l": [{"x": 1}, {"y": 2}]}, "errors": [{"message": "x", "path": ["l", 1, "x"]}]});
        assert!(left_out_non_null(&in_list));
        let nulled = json!({"data": {"a": null}, "errors": [{"message": "x", "path": ["a", "c"]}]});
        assert!(!left_out_non_null(&nulled), "a nullable parent took the null");
        let nullable = json!({"data": {"a": {"c": null}}, "errors": [{"message": "x", "path": ["a", "c"]}]});
        assert!(!left_out_non_null(&nullable));
        let root = json!({"data": {"e": 1}, "errors": [{"message": "x", "path": ["p"]}]});
        assert!(left_out_non_null(&root));
    }

    #[test]
    fn params_are_type_checked() {
        assert!(params_from_json(json!({"query": 1})).is_err());
        assert!(params_from_json(json!({"query": "{a}", "variables": "x"})).is_err());
        assert!(params_from_json(json!({"query": "{a}", "operationName": 3})).is_err());
        let p = params_from_query_string("query=%7Ba%7D&variables=%7B%22x%22%3A1%7D").unwrap();
        assert_eq!(p.query.as_deref(), Some("{a}"));
        assert_eq!(p.variables.unwrap()["x"], 1);
    }
}
