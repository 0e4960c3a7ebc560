//! `/graphql/ws`: GraphQL subscriptions over WebSocket (graphql-transport-ws, and the older graphql-ws).
//! The bearer token travels in the `connection_init` payload as `{"Authorization": "Bearer …"}` (either
//! case, or inside `{"headers": {…}}`); anything else that looks like credentials is refused (4403), never
//! taken as anonymous. async-graphql's generic close codes become the protocol's: 4400 for a message that
//! is not one of it, 4401 for a subscribe before `connection_init`, 4403 for refused credentials, 1013
//! (try again later) when the database could not check them.
//!
//! async-graphql runs the protocol; a [`Gate`] in front of it holds each connection to its limits:
//! `connection_init` within the configured time (else close 4408), a message rate per connection (close
//! 4429), subscribe messages charged to the same per-token and per-IP buckets as HTTP requests, a unique
//! id per running subscription (close 4409), and at most so many subscriptions per connection and per
//! token or address (an `error` message for the refused one; the connection stays).

use std::{
    collections::{HashMap, HashSet},
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_graphql::{
    http::{WebSocket as Protocol, WebSocketProtocols, WsMessage, ALL_WEBSOCKET_PROTOCOLS},
    Data,
};
use axum::{
    extract::{
        ws::{CloseFrame, Message, WebSocket},
        ConnectInfo, State, WebSocketUpgrade,
    },
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Extension,
};
use futures_util::{future, SinkExt, StreamExt};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::{graphql::Viewer, http::persisted::Unresolved, state::AppState};

/// Running subscriptions per bearer token (by hash) or, for anonymous connections, per address — across
/// every connection of this process.
#[derive(Default)]
pub struct Subscribers(Mutex<HashMap<String, usize>>);

impl Subscribers {
    fn try_add(&self, key: &str, max: usize) -> bool {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(key.to_owned()).or_default();
        if *n >= max {
            return false;
        }
        *n += 1;
        true
    }

    fn remove(&self, key: &str, count: usize) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(key) {
            *n = n.saturating_sub(count);
            if *n == 0 {
                m.remove(key);
            }
        }
    }
}

/// The limits of one connection, from the configuration.
#[derive(Clone, Copy)]
struct WsLimits {
    init_timeout: Duration,
    per_connection: usize,
    per_token: usize,
    messages_per_second: f64,
    burst: f64,
}

/// What the gate decided about one client message.
enum Verdict {
    Pass,
    /// Pass this message instead: a subscribe whose document was named by id, with its text filled in.
    Rewritten(bytes::Bytes),
    /// Refuse this subscription with an `error` message; the connection stays.
    Refuse(String, &'static str, String),
    Close(u16, &'static str),
    /// The gate closed the connection: what still arrives is read and dropped.
    Drop,
}

/// One connection's bookkeeping, shared by the incoming filter and the outgoing loop.
struct Gate {
    state: AppState,
    limits: WsLimits,
    ip: Option<IpAddr>,
    /// The bearer token once `connection_init` named one (for the shared rate limit), and the key its
    /// subscriptions are counted under.
    token: Option<String>,
    key: String,
    initialised: bool,
    closed: bool,
    running: HashSet<String>,
    tokens: f64,
    at: Instant,
}

impl Gate {
    /// `charge`: what the rate limits said of this message when it is a `subscribe` (asked beforehand,
    /// because the shared limits are asked over the network).
    /// `message`: the client's message as JSON (`None` when it is not JSON: the protocol answers that).
    fn inspect(&mut self, message: Option<&Value>, charge: Option<Result<(), Duration>>) -> Verdict {
        let verdict = self.judge(message, charge);
        if let Verdict::Close(..) = verdict {
            self.closed = true;
        }
        verdict
    }

    fn judge(&mut self, message: Option<&Value>, charge: Option<Result<(), Duration>>) -> Verdict {
        if self.closed {
            return Verdict::Drop;
        }
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * self.limits.messages_per_second)
            .min(self.limits.burst);
        self.at = now;
        if self.limits.messages_per_second > 0.0 {
            if self.tokens < 1.0 {
                return Verdict::Close(4429, "Too many messages / 消息过于频繁");
            }
            self.tokens -= 1.0;
        }
        let Some(message) = message else { return Verdict::Pass };
        let id = message.get("id").and_then(Value::as_str).unwrap_or("").to_owned();
        match message.get("type").and_then(Value::as_str) {
            // Only the first: the protocol closes a connection that initialises twice, and the key its
            // subscriptions are counted under must not change while they run.
            Some("connection_init") if !self.initialised => {
                if let Some(token) = init_token(&message) {
                    self.token = Some(token.to_owned());
                    self.key = format!("token:{}", hex::encode(&Sha256::digest(token.as_bytes())[..16]));
                }
                self.initialised = true;
                Verdict::Pass
            }
            Some("subscribe" | "start") if self.initialised => {
                if self.running.contains(&id) {
                    return Verdict::Close(4409, "Subscriber for this id already exists");
                }
                if let Some(Err(wait)) = charge {
                    let secs = wait.as_secs_f64().ceil().max(1.0);
                    return Verdict::Refuse(
                        id,
                        "RATE_LIMITED",
                        format!("too many requests; try again in {secs} s / 请求过于频繁，请{secs}秒后再试"),
                    );
                }
                if self.running.len() >= self.limits.per_connection {
                    let max = self.limits.per_connection;
                    return Verdict::Refuse(
                        id,
                        "TOO_MANY_SUBSCRIPTIONS",
                        format!("at most {max} subscriptions per connection / 每个连接最多{max}个订阅"),
                    );
                }
                if !self.state.subscribers.try_add(&self.key, self.limits.per_token) {
                    let max = self.limits.per_token;
                    return Verdict::Refuse(
                        id,
                        "TOO_MANY_SUBSCRIPTIONS",
                        format!("at most {max} subscriptions per account / 每个账号最多{max}个订阅"),
                    );
                }
                self.running.insert(id);
                Verdict::Pass
            }
            Some("complete" | "stop") => {
                self.ended(&id);
                Verdict::Pass
            }
            _ => Verdict::Pass,
        }
    }

    fn ended(&mut self, id: &str) {
        if self.running.remove(id) {
            self.state.subscribers.remove(&self.key, 1);
        }
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.state.subscribers.remove(&self.key, self.running.len());
    }
}

fn state_of(gate: &Mutex<Gate>) -> AppState {
    gate.lock().unwrap_or_else(|p| p.into_inner()).state.clone()
}

/// A subscribe's document as over HTTP: named by `documentId` or an APQ hash, or checked against the
/// trusted documents. `Ok(Some(..))` is the message with the document's text filled in; `Ok(None)` lets
/// it pass as it is; `Err` refuses it (id, code, message).
async fn with_document(
    state: &AppState,
    mut message: Value,
) -> Result<Option<bytes::Bytes>, (String, &'static str, String)> {
    let id = message.get("id").and_then(Value::as_str).unwrap_or("").to_owned();
    let Some(payload) = message.get_mut("payload").and_then(Value::as_object_mut) else { return Ok(None) };
    let query = payload.get("query").and_then(Value::as_str).map(str::to_owned);
    let document_id = payload.get("documentId").and_then(Value::as_str).map(str::to_owned);
    let extensions = payload.get("extensions").and_then(Value::as_object);
    let persisted = &state.services.persisted;
    if query.is_some() && !persisted.only_trusted() && extensions.is_none_or(|e| !e.contains_key("persistedQuery")) {
        return Ok(None);
    }
    match persisted.resolve(&state.services.db, query, document_id, extensions).await {
        Ok(resolved) => {
            payload.insert("query".into(), Value::String(resolved.query));
            Ok(Some(message.to_string().into()))
        }
        Err(Unresolved::Refused(r)) => Err((id, r.code, r.message)),
        Err(Unresolved::Fault(e)) => Err((id, e.code().as_str(), e.public_message())),
    }
}

/// What the server sends, to the letter of graphql-transport-ws: every error carries `extensions.code`;
/// a subscription refused before it ran (its document does not parse or validate, an unknown operation:
/// errors without a `path` and no data) is one `error` message, not `next` + `complete`. `None`: send
/// nothing (the `complete` after such an `error`).
fn shape_outgoing(text: String, protocol: WebSocketProtocols, refused: &mut HashSet<String>) -> Option<String> {
    if protocol != WebSocketProtocols::GraphQLWS {
        return Some(text);
    }
    let Ok(mut message) = serde_json::from_str::<Value>(&text) else { return Some(text) };
    let id = message.get("id").and_then(Value::as_str).unwrap_or("").to_owned();
    match message.get("type").and_then(Value::as_str) {
        Some("next") => {
            let payload = &mut message["payload"];
            if payload.get("errors").is_none() {
                return Some(text);
            }
            let request_error = crate::http::graphql::tag_errors(payload, false);
            if request_error {
                refused.insert(id.clone());
                let errors = payload["errors"].take();
                return Some(json!({"type": "error", "id": id, "payload": errors}).to_string());
            }
            Some(message.to_string())
        }
        Some("complete") if refused.remove(&id) => None,
        _ => Some(text),
    }
}

/// Whether a message asks for a subscription (`subscribe`, or `start` in the legacy protocol).
fn subscribes(message: Option<&Value>) -> bool {
    message.is_some_and(|m| matches!(m.get("type").and_then(Value::as_str), Some("subscribe" | "start")))
}

fn init_token(message: &Value) -> Option<&str> {
    match credentials(message.get("payload")?) {
        Credentials::Bearer(token) => Some(token),
        _ => None,
    }
}

/// What a `connection_init` payload says about who is connecting.
#[derive(Debug, PartialEq)]
enum Credentials<'a> {
    Anonymous,
    Bearer(&'a str),
    /// Something that looks like credentials but is not a bearer token: refused, never made anonymous.
    Malformed,
}

/// Reads the shapes clients send: `{"Authorization": "Bearer …"}` (either case), and the same inside
/// `{"headers": {…}}`; the scheme is case-insensitive, as over HTTP.
fn credentials(payload: &Value) -> Credentials<'_> {
    fn authorization(v: &Value) -> Option<&Value> {
        v.get("Authorization").or_else(|| v.get("authorization"))
    }
    let header = authorization(payload).or_else(|| payload.get("headers").and_then(authorization));
    let text = match header {
        None | Some(Value::Null) => return Credentials::Anonymous,
        Some(Value::String(text)) => text.trim(),
        Some(_) => return Credentials::Malformed,
    };
    match crate::http::graphql::bearer(text) {
        Some(token) => Credentials::Bearer(token),
        None => Credentials::Malformed,
    }
}

/// graphql-transport-ws close codes for what async-graphql closes with generic ones: a refused
/// `connection_init` is 4403 Forbidden, a subscribe before it 4401 Unauthorized, a message that is not one
/// of the protocol's 4400.
fn protocol_close(code: u16, reason: &str) -> u16 {
    match code {
        1002 if reason.starts_with("UNAUTHENTICATED") => 4403,
        1002 => 4400,
        1011 if reason.contains("handshake is not completed") => 4401,
        other => other,
    }
}

pub async fn ws(
    State(state): State<AppState>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let ip = connect.map(|c| c.0 .0.ip());
    let protocol = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|list| list.split(',').find_map(|p| p.trim().parse::<WebSocketProtocols>().ok()));
    let Some(protocol) = protocol else {
        return (StatusCode::BAD_REQUEST, "Sec-WebSocket-Protocol must be graphql-transport-ws or graphql-ws")
            .into_response();
    };
    // The page's session cookie comes with the upgrade; it signs the connection in only when
    // `connection_init` also carries the session's CSRF token (another site cannot read it).
    let session = crate::http::auth::cookie(&headers, crate::http::auth::SESSION_COOKIE).map(str::to_owned);
    upgrade.protocols(ALL_WEBSOCKET_PROTOCOLS).on_upgrade(move |socket| serve(state, socket, protocol, ip, session))
}

/// The CSRF token a `connection_init` payload carries (`{"X-CSRF-Token": …}`, any case, or in `headers`).
fn csrf_in(payload: &Value) -> Option<&str> {
    fn find(v: &Value) -> Option<&str> {
        v.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(crate::http::auth::CSRF_HEADER))?.1.as_str()
    }
    find(payload).or_else(|| payload.get("headers").and_then(find))
}

async fn serve(
    state: AppState,
    socket: WebSocket,
    protocol: WebSocketProtocols,
    ip: Option<IpAddr>,
    session: Option<String>,
) {
    let c = &state.services.config;
    let limits = WsLimits {
        init_timeout: Duration::from_secs(c.ws_init_timeout_secs),
        per_connection: c.ws_max_subscriptions,
        per_token: c.ws_max_subscriptions_per_token,
        messages_per_second: c.ws_messages_per_second,
        burst: (c.ws_messages_per_second * c.rate_limit_burst_secs).max(10.0),
    };
    let gate = Arc::new(Mutex::new(Gate {
        state: state.clone(),
        limits,
        ip,
        token: None,
        key: format!("ip:{}", ip.map(|i| i.to_string()).unwrap_or_default()),
        initialised: false,
        closed: false,
        running: HashSet::new(),
        tokens: limits.burst,
        at: Instant::now(),
    }));
    let (mut sink, stream) = socket.split();
    // Messages the gate sends itself: refusals, and the close that ends the connection.
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();

    let inbound_gate = gate.clone();
    let input = stream.take_while(|res| future::ready(res.is_ok())).filter_map(move |msg| {
        let bytes = match msg {
            Ok(Message::Text(t)) => Some(bytes::Bytes::copy_from_slice(t.as_bytes())),
            Ok(Message::Binary(b)) => Some(b),
            _ => None,
        };
        let (gate, tx) = (inbound_gate.clone(), tx.clone());
        async move {
            let b = bytes?;
            // Read once; the gate, the rate limits and the document lookup all look at it.
            let message = serde_json::from_slice::<Value>(&b).ok();
            // A subscribe is charged to the HTTP rate limits first (outside the gate's lock).
            let charge = match subscribes(message.as_ref()) {
                true => {
                    let (state, ip, token) = {
                        let g = gate.lock().unwrap_or_else(|p| p.into_inner());
                        (g.state.clone(), g.ip, g.token.clone())
                    };
                    Some(state.services.limiter.check(ip, token.as_deref()).await)
                }
                false => None,
            };
            let subscribe = charge.is_some();
            let verdict = gate.lock().unwrap_or_else(|p| p.into_inner()).inspect(message.as_ref(), charge);
            let verdict = match (verdict, message) {
                (Verdict::Pass, Some(message)) if subscribe => match with_document(&state_of(&gate), message).await {
                    Ok(Some(rewritten)) => Verdict::Rewritten(rewritten),
                    Ok(None) => Verdict::Pass,
                    Err((id, code, message)) => {
                        gate.lock().unwrap_or_else(|p| p.into_inner()).ended(&id);
                        Verdict::Refuse(id, code, message)
                    }
                },
                (other, _) => other,
            };
            match verdict {
                Verdict::Pass => Some(b),
                Verdict::Rewritten(b) => Some(b),
                Verdict::Refuse(id, code, message) => {
                    let error = json!({"type": "error", "id": id,
                            "payload": [{"message": message, "extensions": {"code": code}}]});
                    let _ = tx.send(Message::Text(error.to_string().into()));
                    None
                }
                Verdict::Close(code, reason) => {
                    let _ = tx.send(Message::Close(Some(CloseFrame { code, reason: reason.into() })));
                    None
                }
                Verdict::Drop => None,
            }
        }
    });

    let auth_state = state.clone();
    // Who `connection_init` signed in, checked again whenever people change (a revoked token or a changed
    // role closes the connection).
    let signed_in: Arc<Mutex<Option<(String, crate::db::users::Signed)>>> = Arc::default();
    let remember = signed_in.clone();
    let outbound = Protocol::new(state.schema.clone(), input, protocol).on_connection_init(move |payload| async move {
        let viewer = match credentials(&payload) {
            Credentials::Anonymous => match (session.as_deref(), csrf_in(&payload)) {
                (Some(secret), Some(csrf)) => {
                    let mut headers = HeaderMap::new();
                    if let Ok(v) = csrf.parse() {
                        headers.insert(crate::http::auth::CSRF_HEADER, v);
                    }
                    if !crate::http::auth::csrf_ok(&headers, secret) {
                        return Err(async_graphql::Error::new(
                            "UNAUTHENTICATED: the CSRF token does not match the session",
                        ));
                    }
                    match crate::http::auth::session_user(&auth_state, secret).await {
                        Ok(Some(signed)) => {
                            *remember.lock().unwrap_or_else(|p| p.into_inner()) =
                                Some((secret.to_owned(), signed.clone()));
                            Viewer::signed(signed)
                        }
                        Ok(None) => return Err(async_graphql::Error::new("UNAUTHENTICATED: the session has ended")),
                        Err(e) => {
                            return Err(async_graphql::Error::new(format!(
                                "SERVICE_UNAVAILABLE: {}",
                                e.public_message()
                            )))
                        }
                    }
                }
                _ => Viewer::default(),
            },
            Credentials::Bearer(token) => match crate::http::auth::bearer_user(&auth_state, token).await {
                Ok(Some(signed)) => {
                    *remember.lock().unwrap_or_else(|p| p.into_inner()) = Some((token.to_owned(), signed.clone()));
                    Viewer::signed(signed)
                }
                Ok(None) => return Err(async_graphql::Error::new("UNAUTHENTICATED: the bearer token is not valid")),
                Err(e) => {
                    return Err(async_graphql::Error::new(format!("SERVICE_UNAVAILABLE: {}", e.public_message())))
                }
            },
            Credentials::Malformed => {
                return Err(async_graphql::Error::new(
                    "UNAUTHENTICATED: send {\"Authorization\": \"Bearer <token>\"} in connection_init",
                ))
            }
        };
        let mut data = Data::default();
        data.insert(viewer);
        Ok(data)
    });
    futures_util::pin_mut!(outbound);

    let init_deadline = tokio::time::sleep(limits.init_timeout);
    futures_util::pin_mut!(init_deadline);
    let mut deadline_passed = false;
    // Subscriptions answered with an `error` message: the executor's `complete` that follows is dropped.
    let mut refused: HashSet<String> = HashSet::new();
    let mut people = state.services.tokens.changes();
    let mut recheck = tokio::time::interval(Duration::from_secs(1));
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let initialised = gate.lock().unwrap_or_else(|p| p.into_inner()).initialised;
        tokio::select! {
            message = outbound.next() => {
                let Some(message) = message else { break };
                let message = match message {
                    WsMessage::Text(text) => {
                        let Some(text) = shape_outgoing(text, protocol, &mut refused) else { continue };
                        // A subscription that completed or failed no longer counts.
                        if let Ok(v) = serde_json::from_str::<Value>(&text) {
                            if matches!(v.get("type").and_then(Value::as_str), Some("complete" | "error")) {
                                if let Some(id) = v.get("id").and_then(Value::as_str) {
                                    gate.lock().unwrap_or_else(|p| p.into_inner()).ended(id);
                                }
                            }
                        }
                        Message::Text(text.into())
                    }
                    WsMessage::Close(code, reason) => {
                        let code = if reason.starts_with("SERVICE_UNAVAILABLE") { 1013 } else { protocol_close(code, &reason) };
                        Message::Close(Some(CloseFrame { code, reason: reason.chars().take(120).collect::<String>().into() }))
                    }
                };
                let closing = matches!(message, Message::Close(_));
                if sink.send(message).await.is_err() || closing {
                    break;
                }
            }
            Some(message) = rx.recv() => {
                let closing = matches!(message, Message::Close(_));
                if sink.send(message).await.is_err() {
                    break;
                }
                if closing {
                    // The closing handshake: read (and drop) what the client still sends until it answers
                    // the close, so that it reads the code instead of a reset connection.
                    let _ = tokio::time::timeout(Duration::from_secs(2), async {
                        while outbound.next().await.is_some() {}
                    })
                    .await;
                    break;
                }
            }
            // People changed (notified), or a second passed where no notification can arrive.
            _ = async {
                tokio::select! {
                    _ = people.changed() => {}
                    _ = recheck.tick(), if !state.services.tokens.notified() => {}
                }
            } => {
                let Some((token, user)) = signed_in.lock().unwrap_or_else(|p| p.into_inner()).clone() else { continue };
                let now = if user.credential.kind == crate::db::people::SESSION {
                    crate::http::auth::session_user(&state, &token).await
                } else {
                    crate::http::auth::bearer_user(&state, &token).await
                };
                if matches!(&now, Ok(found) if !found.as_ref().is_some_and(|f| f.same_access(&user))) {
                    let reason = "Forbidden: the token was revoked or its user changed; reconnect / 登录已失效，请重新连接";
                    let _ = sink.send(Message::Close(Some(CloseFrame { code: 4403, reason: reason.into() }))).await;
                    break;
                }
            }
            _ = &mut init_deadline, if !initialised && !deadline_passed => {
                deadline_passed = true;
                if gate.lock().unwrap_or_else(|p| p.into_inner()).initialised {
                    continue;
                }
                let close = CloseFrame { code: 4408, reason: "Connection initialisation timeout".into() };
                let _ = sink.send(Message::Close(Some(close))).await;
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_the_shapes_clients_send() {
        let ok = |v: Value| credentials(&v) == Credentials::Bearer("t0k");
        assert!(ok(json!({"Authorization": "Bearer t0k"})));
        assert!(ok(json!({"authorization": "bearer t0k"})));
        assert!(ok(json!({"headers": {"Authorization": "BEARER  t0k "}})));
        assert!(ok(json!({"headers": {"authorization": "Bearer t0k"}})));
        assert_eq!(credentials(&json!({})), Credentials::Anonymous);
        assert_eq!(credentials(&json!({"headers": {}})), Credentials::Anonymous);
        for bad in [
            json!({"Authorization": "t0k"}),
            json!({"Authorization": "Basic dTpw"}),
            json!({"Authorization": 5}),
            json!({"headers": {"Authorization": "Bearer "}}),
        ] {
            assert_eq!(credentials(&bad), Credentials::Malformed, "{bad}");
        }
    }

    #[test]
    fn close_codes_of_the_protocol() {
        assert_eq!(protocol_close(1002, "UNAUTHENTICATED: the bearer token is not valid"), 4403);
        assert_eq!(protocol_close(1002, "expected value at line 1"), 4400);
        assert_eq!(protocol_close(1011, "The handshake is not completed."), 4401);
        assert_eq!(protocol_close(4429, "Too many initialisation requests."), 4429);
    }
}
