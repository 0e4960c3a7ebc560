//! Who a request is, and signing in with the enterprise's OpenID provider.
//!
//! A request names its person by `Authorization: Bearer` — one of greenline's tokens, or an access token
//! (JWT) the provider issued for `GREENLINE_OIDC_AUDIENCE` — or, from the page, by the session cookie that
//! `/auth/callback` set. A cookie-authenticated GraphQL request must also carry `X-CSRF-Token`, derived from
//! the session's secret (so nothing more is stored), which `/auth/session` hands to the page.
//!
//! Sign-in is the authorization code flow with PKCE, `state` and `nonce`. What `/auth/login` sent is kept in
//! the database (`oidc_logins`), so the callback may land on any instance of a fleet, and is used once; the
//! browser also carries the `state` in a short-lived cookie, so a callback started in another browser (login
//! CSRF) is refused.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Extension, Json,
};
use base64::Engine;
use chrono::{Duration, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{
    db::{
        people::{AuditEntry, CredentialRow, LoginRow, NewCredential, SESSION},
        users::{hash_token, new_token, Signed},
    },
    domain::people::AuditAction,
    error::{AppError, ErrorCode},
    graphql::guards::Viewer,
    oidc::Checked,
    state::AppState,
};

pub const SESSION_COOKIE: &str = "greenline_session";
const LOGIN_COOKIE: &str = "greenline_login";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a sign-in may take at the provider.
const LOGIN_MINUTES: i64 = 10;

/// Who a request is, and whether the session cookie said so (then the request must prove it came from the
/// page: [`csrf_token`]).
#[derive(Debug, Default)]
pub struct Authenticated {
    pub viewer: Viewer,
    /// The session's secret, when the cookie signed the request in.
    pub session: Option<String>,
}

/// The CSRF token of a session: derived from its secret, so only the page that can read
/// `/auth/session` knows it.
pub fn csrf_token(session_secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"greenline-csrf\0");
    h.update(session_secret.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(h.finalize())
}

/// A cookie's value from the `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

fn unauthenticated(message: &str) -> AppError {
    AppError::new(ErrorCode::Unauthenticated, message)
}

/// Resolves the viewer: a bearer token, else the session cookie, else anonymous. A credential that is
/// present but not valid is an error, never anonymous; a database or provider that cannot say is a fault.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Authenticated, AppError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value.to_str().ok().and_then(crate::http::graphql::bearer);
        let Some(token) = token else {
            return Err(unauthenticated("the bearer token is not valid / 令牌无效，请重新登录"));
        };
        return match bearer_user(state, token).await? {
            Some(signed) => Ok(Authenticated { viewer: Viewer::signed(signed), session: None }),
            None => Err(unauthenticated("the bearer token is not valid / 令牌无效，请重新登录")),
        };
    }
    if let Some(secret) = cookie(headers, SESSION_COOKIE) {
        return match session_user(state, secret).await? {
            Some(signed) => Ok(Authenticated { viewer: Viewer::signed(signed), session: Some(secret.to_owned()) }),
            None => Err(unauthenticated("the session has ended: sign in again / 登录已失效，请重新登录")),
        };
    }
    Ok(Authenticated::default())
}

/// Who a session cookie signs in (only sessions: a token pasted into the cookie is not one).
pub async fn session_user(state: &AppState, secret: &str) -> Result<Option<Signed>, AppError> {
    Ok(state.services.tokens.user(&state.services.db, secret).await?.filter(|s| s.credential.kind == SESSION))
}

/// Who a bearer token signs in: one of greenline's tokens, or the provider's access token.
pub async fn bearer_user(state: &AppState, token: &str) -> Result<Option<Signed>, AppError> {
    let services = &state.services;
    let Some(oidc) = services.oidc.as_ref().filter(|o| o.audience.is_some() && crate::oidc::looks_like_jwt(token))
    else {
        return services.tokens.user(&services.db, token).await;
    };
    let key = format!("jwt:{}", hash_token(token));
    services
        .tokens
        .resolve(key, || async {
            let audience = oidc.audience.as_deref().unwrap_or_default();
            let claims = match oidc.check(token, audience, None).await {
                Ok(c) => c,
                Err(Checked::Fault(e)) => return Err(e),
                Err(Checked::Invalid(why)) => {
                    tracing::info!(reason = %why, "refused an access token from the OpenID provider");
                    return Ok(None);
                }
            };
            let Some(subject) = claims.get("sub").and_then(Value::as_str).map(str::to_owned) else { return Ok(None) };
            let user = services.db.read(move |s| Box::pin(async move { s.user_by_subject(&subject).await })).await?;
            let expires =
                claims.get("exp").and_then(Value::as_i64).and_then(|e| chrono::DateTime::from_timestamp(e, 0));
            Ok(user.map(|user| Signed {
                credential: CredentialRow {
                    id: 0,
                    user_id: user.id,
                    kind: "oidc".into(),
                    name: "OpenID access token".into(),
                    created_at: Utc::now(),
                    expires_at: expires,
                    last_used_at: None,
                    read_only: false,
                    revoked_at: None,
                    address: None,
                },
                user,
            }))
        })
        .await
}

/// The client's address as the connection shows it (a proxy's own address behind one).
pub fn address(connect: Option<&ConnectInfo<SocketAddr>>) -> Option<String> {
    connect.map(|c| c.0.ip().to_string())
}

fn page(status: StatusCode, title: &str, detail: &str) -> Response {
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let body = format!(
        "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{t}</title><body style=\"font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem\">\
         <h1>{t}</h1><p>{d}</p><p><a href=\"/auth/login\">重新登录 / Sign in again</a> · <a href=\"/\">首页 / Home</a></p></body></html>",
        t = escape(title),
        d = escape(detail)
    );
    let mut res = (status, body).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn not_configured() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "未配置企业账号登录 / Sign-in with a company account is not set up",
        "Set GREENLINE_OIDC_ISSUER and GREENLINE_OIDC_CLIENT_ID. 请管理员配置企业身份提供方。",
    )
}

fn fault_page(e: &AppError) -> Response {
    tracing::warn!(error = %e, "sign-in could not reach the OpenID provider or the database");
    let mut res = page(
        StatusCode::SERVICE_UNAVAILABLE,
        "暂时无法登录 / Sign-in is unavailable for now",
        "The identity provider or the database did not answer; try again in a minute. 身份提供方或数据库暂未响应，请稍后重试。",
    );
    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    res
}

fn secure(state: &AppState) -> bool {
    state.services.config.public_url().starts_with("https://")
}

fn set_cookie(res: &mut Response, state: &AppState, name: &str, value: &str, max_age_secs: i64, path: &str) {
    let secure = if secure(state) { "; Secure" } else { "" };
    let cookie = format!("{name}={value}; Path={path}; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn redirect(to: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn callback_url(state: &AppState) -> String {
    format!("{}/auth/callback", state.services.config.public_url())
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// `GET /auth/login[?next=/path]`: to the provider, with a fresh state, nonce and PKCE verifier.
pub async fn login(State(state): State<AppState>, Query(q): Query<LoginQuery>) -> Response {
    let Some(oidc) = state.services.oidc.clone() else { return not_configured() };
    let login = LoginRow {
        state: crate::oidc::random_value(),
        nonce: crate::oidc::random_value(),
        verifier: crate::oidc::random_value(),
        next_path: crate::domain::people::same_origin_path(q.next.as_deref()),
        created_at: Utc::now(),
    };
    let url = match oidc.authorize_url(&callback_url(&state), &login.state, &login.nonce, &login.verifier).await {
        Ok(url) => url,
        Err(e) => return fault_page(&e),
    };
    let row = login.clone();
    if let Err(e) = state.services.db.write(move |s| Box::pin(async move { s.insert_login(&row).await })).await {
        return fault_page(&e);
    }
    let mut res = redirect(&url);
    set_cookie(&mut res, &state, LOGIN_COOKIE, &login.state, LOGIN_MINUTES * 60, "/auth");
    res
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn refused(why: &str) -> Response {
    tracing::info!(reason = why, "refused a sign-in");
    page(StatusCode::BAD_REQUEST, "登录未完成 / Sign-in failed", &format!("{why}. 登录请求无效或已过期，请重新登录。"))
}

/// `GET /auth/callback?code&state`: checks everything, provisions or updates the person from the ID token's
/// claims, and starts a session.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let Some(oidc) = state.services.oidc.clone() else { return not_configured() };
    if let Some(error) = q.error {
        let detail = q.error_description.unwrap_or_default();
        return refused(&format!("the provider answered {error} {detail}"));
    }
    let (Some(code), Some(st)) = (q.code, q.state) else { return refused("the answer has no code or no state") };
    if cookie(&headers, LOGIN_COOKIE) != Some(st.as_str()) {
        return refused("this sign-in was not started in this browser");
    }
    let stale = Utc::now() - Duration::minutes(LOGIN_MINUTES);
    let taken = st.clone();
    let login = match state.services.db.write(move |s| Box::pin(async move { s.take_login(&taken, stale).await })).await
    {
        Ok(Some(l)) => l,
        Ok(None) => return refused("the state is unknown, used or expired"),
        Err(e) => return fault_page(&e),
    };
    let id_token = match oidc.exchange(&code, &login.verifier, &callback_url(&state)).await {
        Ok(t) => t,
        Err(Checked::Fault(e)) => return fault_page(&e),
        Err(Checked::Invalid(why)) => return refused(&why.to_string()),
    };
    let claims = match oidc.check(&id_token, &oidc.client_id, Some(&login.nonce)).await {
        Ok(c) => c,
        Err(Checked::Fault(e)) => return fault_page(&e),
        Err(Checked::Invalid(why)) => return refused(&format!("the ID token is not valid: {why}")),
    };
    let address = address(connect.as_ref().map(|c| &c.0));
    let config = state.services.config.clone();
    let hours = config.session_hours.max(1) as i64;
    let secret = new_token();
    let hash = hash_token(&secret);
    let signed_in = state
        .services
        .db
        .write(move |tx| {
            Box::pin(async move {
                let now = Utc::now();
                let user = crate::journey::people::provision(tx, &config, &claims, address.as_deref(), now).await?;
                if user.deactivated_at.is_some() {
                    return Ok(None);
                }
                let credential = NewCredential {
                    user_id: user.id,
                    kind: SESSION,
                    name: "browser",
                    hash: &hash,
                    expires_at: Some(now + Duration::hours(hours)),
                    read_only: false,
                    address: address.as_deref(),
                };
                tx.insert_credential(credential, now).await?;
                let entry = AuditEntry {
                    actor_id: Some(user.id),
                    action: AuditAction::SignedIn,
                    target_kind: "User",
                    target_id: Some(user.id),
                    enterprise_id: user.enterprise_id,
                    detail: json!({ "method": "oidc" }),
                    address,
                };
                tx.audit(&entry, now).await?;
                Ok(Some(user))
            })
        })
        .await;
    match signed_in {
        Ok(Some(_)) => {
            let mut res = redirect(&login.next_path);
            set_cookie(&mut res, &state, SESSION_COOKIE, &secret, hours * 3600, "/");
            set_cookie(&mut res, &state, LOGIN_COOKIE, "", 0, "/auth");
            res
        }
        Ok(None) => page(
            StatusCode::FORBIDDEN,
            "账号已停用 / This account is deactivated",
            "Ask your enterprise administrator. 请联系本企业管理员。",
        ),
        Err(e @ AppError::User { .. }) => refused(&e.public_message()),
        Err(e) => fault_page(&e),
    }
}

/// `POST /auth/logout`: ends the session (it stops working on every instance) and, where the provider offers
/// it, sends the browser on to end its session there too.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
) -> Response {
    let mut back = state.services.config.public_url() + "/";
    if let Some(secret) = cookie(&headers, SESSION_COOKIE) {
        // Logging out is safe to allow without the CSRF token only in one direction: it can end a
        // session, never start one.
        let hash = hash_token(secret);
        let address = address(connect.as_ref().map(|c| &c.0));
        let ended = state
            .services
            .db
            .write(move |tx| {
                Box::pin(async move {
                    let now = Utc::now();
                    let found = tx.credential_by_hash(&hash).await?;
                    if let Some(c) = found.filter(|c| c.kind == SESSION) {
                        if tx.revoke_credential(c.id, now).await? {
                            let entry = AuditEntry {
                                actor_id: Some(c.user_id),
                                action: AuditAction::SignedOut,
                                target_kind: "User",
                                target_id: Some(c.user_id),
                                enterprise_id: tx.user(c.user_id).await?.and_then(|u| u.enterprise_id),
                                detail: json!({}),
                                address,
                            };
                            tx.audit(&entry, now).await?;
                        }
                    }
                    Ok(())
                })
            })
            .await;
        if let Err(e) = ended {
            return fault_page(&e);
        }
        state.services.tokens.forget_all();
    }
    if let Some(oidc) = &state.services.oidc {
        if let Some(url) = oidc.logout_url(&back).await {
            back = url;
        }
    }
    let wants_json = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("json"));
    let mut res = if wants_json { Json(json!({ "redirect": back })).into_response() } else { redirect(&back) };
    set_cookie(&mut res, &state, SESSION_COOKIE, "", 0, "/");
    res
}

/// `GET /auth/session`: who the session cookie signs in, and the CSRF token the page sends with GraphQL
/// requests; 401 without a session. Also says whether sign-in with the provider is offered.
pub async fn session(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let oidc = state.services.oidc.is_some();
    let no_store = |mut res: Response| {
        res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    };
    let Some(secret) = cookie(&headers, SESSION_COOKIE) else {
        return no_store((StatusCode::UNAUTHORIZED, Json(json!({ "user": null, "oidc": oidc }))).into_response());
    };
    match session_user(&state, secret).await {
        Ok(Some(signed)) => {
            let u = &signed.user;
            let body = json!({
                "user": {
                    "id": crate::graphql::ids::encode("User", u.id).0,
                    "name": u.name,
                    "role": u.role,
                    "email": u.email,
                },
                "csrfToken": csrf_token(secret),
                "expiresAt": signed.credential.expires_at,
                "oidc": oidc,
            });
            no_store(Json(body).into_response())
        }
        Ok(None) => {
            let mut res = (StatusCode::UNAUTHORIZED, Json(json!({ "user": null, "oidc": oidc }))).into_response();
            set_cookie(&mut res, &state, SESSION_COOKIE, "", 0, "/");
            no_store(res)
        }
        Err(e) => {
            let mut res = (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(crate::http::graphql::error_body(e.code().as_str(), &e.public_message())),
            )
                .into_response();
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            no_store(res)
        }
    }
}

/// Whether a request the session cookie signed in carries the session's CSRF token.
pub fn csrf_ok(headers: &HeaderMap, session_secret: &str) -> bool {
    let expected = csrf_token(session_secret);
    headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).is_some_and(|given| {
        given.len() == expected.len() && given.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    })
}
