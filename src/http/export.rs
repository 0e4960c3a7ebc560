//! `GET /export/proposals.csv` and `GET /export/techniques.csv`: spreadsheets for people who live in Excel.
//! UTF-8 with a byte-order mark (so Chinese Excel opens it right), streamed page by page, and filtered
//! like the `proposals` query: the same visibility rule, so an export never shows more than the API.
//! No author column: blind review cannot leak through a file.

use axum::{
    body::{Body, Bytes},
    extract::{Query, State},
    http::{header, HeaderMap},
    response::{IntoResponse, Response},
};
use futures_util::stream;
use serde::Deserialize;

use crate::{
    db::{
        rows::{ExportRow, TechniqueExportRow},
        store::ProposalFilter,
    },
    domain::{lifecycle::Status, organisation::Industry, proposal::Category, spreadsheet::neutralise},
    graphql::ids,
    http::graphql::authenticate,
    state::AppState,
};

const PAGE: i64 = 500;
const BOM: &str = "\u{feff}";

/// One CSV field, quoted when it must be (RFC 4180), never a formula (see `domain::spreadsheet`).
fn field(out: &mut String, v: &str) {
    let v = &*neutralise(v);
    if v.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&v.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(v);
    }
}

fn line(out: &mut String, fields: &[String]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(out, f);
    }
    out.push_str("\r\n");
}

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.4}")).unwrap_or_default()
}

#[derive(Deserialize, Default)]
pub struct ExportParams {
    status: Option<String>,
    category: Option<String>,
    industry: Option<String>,
    enterprise: Option<String>,
}

/// 401 for a token that is not valid; 503 with `Retry-After` when the database could not tell.
fn auth_failed(e: crate::error::AppError) -> Response {
    use axum::http::StatusCode;
    let status = StatusCode::from_u16(e.code().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = (status, e.public_message()).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut().insert(header::RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
    }
    res
}

fn bad_request(message: &str) -> Response {
    let body = serde_json::json!({"error": {"code": "VALIDATION_FAILED", "message": message}});
    (axum::http::StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], body.to_string())
        .into_response()
}

fn csv_response(name: &str, body: Body) -> Response {
    let disposition = crate::domain::attachment::content_disposition("attachment", name);
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)], body)
        .into_response()
}

/// Streams a CSV file: the BOM and header first, then one page of rows at a time from `fetch(offset)`.
fn stream_csv<R, F, Fut>(name: &str, header: &[&str], fetch: F, render: fn(R) -> Vec<String>) -> Response
where
    R: Send + 'static,
    F: Fn(i64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = crate::error::AppResult<Vec<R>>> + Send + 'static,
{
    let mut first = String::from(BOM);
    line(&mut first, &header.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>());
    let fetch = std::sync::Arc::new(fetch);
    let pages = stream::unfold(Some(0i64), move |offset| {
        let fetch = fetch.clone();
        async move {
            let offset = offset?;
            let rows = match fetch(offset).await {
                Ok(r) => r,
                Err(e) => return Some((Err(std::io::Error::other(e.public_message())), None)),
            };
            if rows.is_empty() {
                return None;
            }
            let next = (rows.len() as i64 == PAGE).then_some(offset + PAGE);
            let mut out = String::new();
            for r in rows {
                line(&mut out, &render(r));
            }
            Some((Ok::<_, std::io::Error>(Bytes::from(out)), next))
        }
    });
    let body = stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(first)) });
    csv_response(name, Body::from_stream(futures_util::StreamExt::chain(body, pages)))
}

/// A figure as entered, in full precision (so that a re-import compares equal).
fn exact(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn date(v: Option<chrono::DateTime<chrono::Utc>>) -> String {
    v.map(|d| d.to_rfc3339()).unwrap_or_default()
}

/// The proposals export's columns: the import's field names, so the file goes back in as it came out.
const PROPOSAL_COLUMNS: &[&str] = &[
    "id",
    "external_id",
    "title",
    "body",
    "category",
    "industry",
    "tags",
    "enterprise",
    "status",
    "submitted_at",
    "decided_at",
    "adopted_at",
    "expected_electricity_kwh",
    "expected_coal_t",
    "expected_natural_gas_m3",
    "expected_steam_t",
    "expected_water_t",
    "expected_money_yuan",
    "expected_investment_yuan",
    "expected_tce",
    "expected_tco2e",
    "verified_electricity_kwh",
    "verified_coal_t",
    "verified_natural_gas_m3",
    "verified_steam_t",
    "verified_water_t",
    "verified_money_yuan",
    "verified_investment_yuan",
    "verified_tce",
    "verified_tco2e",
];

fn proposal_line(r: ExportRow) -> Vec<String> {
    let tags: Vec<String> = serde_json::from_str(&r.tags).unwrap_or_default();
    vec![
        ids::encode("Proposal", r.id).0,
        r.external_id.unwrap_or_default(),
        r.title,
        r.body,
        r.category,
        r.industry,
        tags.join(";"),
        r.enterprise.unwrap_or_default(),
        r.status,
        date(r.submitted_at),
        date(r.decided_at),
        date(r.adopted_at),
        exact(r.expected_electricity_kwh),
        exact(r.expected_coal_t),
        exact(r.expected_natural_gas_m3),
        exact(r.expected_steam_t),
        exact(r.expected_water_t),
        exact(r.expected_money_yuan),
        exact(r.expected_investment_yuan),
        num(r.expected_tce),
        num(r.expected_tco2e),
        exact(r.verified_electricity_kwh),
        exact(r.verified_coal_t),
        exact(r.verified_natural_gas_m3),
        exact(r.verified_steam_t),
        exact(r.verified_water_t),
        exact(r.verified_money_yuan),
        exact(r.verified_investment_yuan),
        num(r.verified_tce),
        num(r.verified_tco2e),
    ]
}

pub async fn proposals(State(state): State<AppState>, headers: HeaderMap, Query(p): Query<ExportParams>) -> Response {
    let viewer = match authenticate(&state, &headers).await {
        Ok(v) => v,
        Err(e) => return auth_failed(e),
    };
    let filter = (|| {
        Ok::<_, String>(ProposalFilter {
            status: parse(&p.status, |s| Status::parse(s).is_some(), "status")?,
            category: parse(&p.category, |s| Category::parse(s).is_some(), "category")?,
            industry: parse(&p.industry, |s| Industry::parse(s).is_some(), "industry")?,
            enterprise_id: match &p.enterprise {
                Some(id) => Some(
                    ids::decode(&async_graphql::ID(id.clone()), "Enterprise", "enterprise")
                        .map_err(|_| "unknown enterprise id".to_owned())?,
                ),
                None => None,
            },
            mine: false,
        })
    })();
    let filter = match filter {
        Ok(f) => f,
        Err(message) => return bad_request(&message),
    };
    let scope = viewer.list_scope();
    let db = state.services.db.clone();
    let fetch = move |offset| {
        let (db, scope, filter) = (db.clone(), scope.clone(), filter.clone());
        async move { db.read(move |s| Box::pin(async move { s.export_rows(&scope, &filter, offset, PAGE).await })).await }
    };
    stream_csv("proposals.csv", PROPOSAL_COLUMNS, fetch, proposal_line)
}

/// The techniques export's columns: the import's field names, then the adoption totals (not imported).
const TECHNIQUE_COLUMNS: &[&str] = &[
    "id",
    "external_id",
    "name",
    "industry",
    "scope",
    "principle",
    "key_parameters",
    "typical_case",
    "effect",
    "investment_yuan",
    "payback_years",
    "promotion_potential",
    "adoptions",
    "adopted_tce",
    "adopted_tco2e",
    "adopted_yuan",
];

fn technique_line(r: TechniqueExportRow) -> Vec<String> {
    let t = r.technique;
    vec![
        ids::encode("Technique", t.id).0,
        t.external_id.unwrap_or_default(),
        t.name,
        t.industry,
        t.scope,
        t.principle,
        t.key_parameters,
        t.typical_case,
        t.effect,
        exact(t.investment_yuan),
        exact(t.payback_years),
        t.promotion_potential,
        r.adoptions.to_string(),
        num(Some(r.adopted_tce)),
        num(Some(r.adopted_tco2e)),
        num(Some(r.adopted_yuan)),
    ]
}

/// The catalogue is public, like the `techniques` query: no token needed, an invalid one is still refused.
pub async fn techniques(State(state): State<AppState>, headers: HeaderMap, Query(p): Query<ExportParams>) -> Response {
    if let Err(e) = authenticate(&state, &headers).await {
        return auth_failed(e);
    }
    if p.status.is_some() || p.category.is_some() || p.enterprise.is_some() {
        return bad_request("techniques are filtered by industry only");
    }
    let industry = match parse(&p.industry, |s| Industry::parse(s).is_some(), "industry") {
        Ok(i) => i,
        Err(message) => return bad_request(&message),
    };
    let db = state.services.db.clone();
    let fetch = move |offset| {
        let (db, industry) = (db.clone(), industry.clone());
        async move {
            db.read(move |s| Box::pin(async move { s.technique_export_rows(industry.as_deref(), offset, PAGE).await }))
                .await
        }
    };
    stream_csv("techniques.csv", TECHNIQUE_COLUMNS, fetch, technique_line)
}

fn parse(v: &Option<String>, ok: fn(&str) -> bool, what: &str) -> Result<Option<String>, String> {
    match v {
        Some(s) if ok(&s.to_ascii_uppercase()) => Ok(Some(s.to_ascii_uppercase())),
        Some(s) => Err(format!("unknown {what} {s:?}")),
        None => Ok(None),
    }
}
