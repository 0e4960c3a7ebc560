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
    db::store::ProposalFilter,
    domain::{lifecycle::Status, organisation::Industry, proposal::Category},
    graphql::ids,
    http::graphql::authenticate,
    state::AppState,
};

const PAGE: i64 = 500;
const BOM: &str = "\u{feff}";

/// One CSV field, quoted when it must be (RFC 4180).
fn field(out: &mut String, v: &str) {
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

pub async fn proposals(State(state): State<AppState>, headers: HeaderMap, Query(p): Query<ExportParams>) -> Response {
    let viewer = match authenticate(&state, &headers).await {
        Ok(v) => v,
        Err(e) => return (axum::http::StatusCode::UNAUTHORIZED, e.public_message()).into_response(),
    };
    let parse = |v: &Option<String>, ok: fn(&str) -> bool, what: &str| -> Result<Option<String>, String> {
        match v {
            Some(s) if ok(s) => Ok(Some(s.to_ascii_uppercase())),
            Some(s) => Err(format!("unknown {what} {s:?}")),
            None => Ok(None),
        }
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
    let header = [
        "id",
        "external_id",
        "title",
        "body",
        "category",
        "industry",
        "enterprise",
        "status",
        "submitted_at",
        "expected_tce",
        "expected_tco2e",
        "expected_yuan",
        "verified_tce",
        "verified_tco2e",
        "verified_yuan",
        "verified_investment_yuan",
    ];
    let mut first = String::from(BOM);
    line(&mut first, &header.map(str::to_owned));
    let db = state.services.db.clone();
    let pages = stream::unfold(Some(0i64), move |offset| {
        let (db, scope, filter) = (db.clone(), scope.clone(), filter.clone());
        async move {
            let offset = offset?;
            let rows =
                db.read(move |s| Box::pin(async move { s.export_rows(&scope, &filter, offset, PAGE).await })).await;
            let rows = match rows {
                Ok(r) => r,
                Err(e) => return Some((Err(std::io::Error::other(e.public_message())), None)),
            };
            if rows.is_empty() {
                return None;
            }
            let next = (rows.len() as i64 == PAGE).then_some(offset + PAGE);
            let mut out = String::new();
            for r in rows {
                line(
                    &mut out,
                    &[
                        ids::encode("Proposal", r.id).0,
                        r.external_id.unwrap_or_default(),
                        r.title,
                        r.body,
                        r.category,
                        r.industry,
                        r.enterprise.unwrap_or_default(),
                        r.status,
                        r.submitted_at.map(|d| d.to_rfc3339()).unwrap_or_default(),
                        num(r.expected_tce),
                        num(r.expected_tco2e),
                        num(r.expected_yuan),
                        num(r.verified_tce),
                        num(r.verified_tco2e),
                        num(r.verified_yuan),
                        num(r.verified_investment),
                    ],
                );
            }
            Some((Ok::<_, std::io::Error>(Bytes::from(out)), next))
        }
    });
    let body = stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(first)) });
    csv_response("proposals.csv", Body::from_stream(futures_util::StreamExt::chain(body, pages)))
}
