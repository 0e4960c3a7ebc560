//! Documents a request names instead of sending: automatic persisted queries (Apollo's protocol) and
//! trusted documents.
//!
//! - **Automatic persisted queries**: a client sends `extensions.persistedQuery = {version: 1, sha256Hash}`
//!   without the text; a hash the server does not know is answered `PERSISTED_QUERY_NOT_FOUND`, and the
//!   client sends the text with the hash, which registers it — after it parsed and passed the document
//!   limits, so nothing else is ever stored. Registrations live in the database (every instance sees them)
//!   and are bounded ([`crate::db::persisted::MAX_PERSISTED`]), with a per-process cache in front.
//! - **Trusted documents**: `GREENLINE_TRUSTED_DOCUMENTS` names a JSON manifest written at build time by the
//!   client's tooling (relay-compiler, GraphQL Codegen, Apollo's manifest generator); a request names one by
//!   `documentId`, `doc_id` or the APQ hash. With `GREENLINE_ONLY_TRUSTED=true` nothing else runs.

use std::{
    collections::{HashMap, HashSet},
    num::NonZeroUsize,
    path::Path,
    sync::{Arc, Mutex},
};

use anyhow::Context;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::{db::Db, error::AppError};

/// Why a request's document could not be found or may not run: a client error with a stable code.
#[derive(Debug, PartialEq)]
pub struct Refused {
    pub code: &'static str,
    pub message: String,
}

impl Refused {
    fn new(code: &'static str, message: impl Into<String>) -> Refused {
        Refused { code, message: message.into() }
    }
}

/// What went wrong finding a document: the client's mistake, or a database that did not answer.
#[derive(Debug)]
pub enum Unresolved {
    Refused(Refused),
    Fault(AppError),
}

impl From<Refused> for Unresolved {
    fn from(r: Refused) -> Self {
        Unresolved::Refused(r)
    }
}

/// The document a request runs, and the APQ hash to register it under once it proved fit.
#[derive(Debug, PartialEq)]
pub struct Resolved {
    pub query: String,
    pub register: Option<String>,
}

pub struct Persisted {
    /// Trusted documents by their manifest id and by the hex SHA-256 of their text.
    trusted: HashMap<String, Arc<str>>,
    /// SHA-256 of every trusted text: a request that sends a trusted document's full text may run it.
    trusted_texts: HashSet<[u8; 32]>,
    only_trusted: bool,
    registered: Mutex<lru::LruCache<String, Arc<str>>>,
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl Persisted {
    const CACHED: usize = 1024;

    pub fn new(only_trusted: bool) -> Persisted {
        Persisted {
            trusted: HashMap::new(),
            trusted_texts: HashSet::new(),
            only_trusted,
            registered: Mutex::new(lru::LruCache::new(NonZeroUsize::new(Self::CACHED).expect("non-zero"))),
        }
    }

    /// Reads the manifest at `path` (when given). Fails on a file that cannot be read or is not a manifest,
    /// and when only trusted documents may run but there are none.
    pub fn load(path: Option<&Path>, only_trusted: bool) -> anyhow::Result<Persisted> {
        let mut p = Persisted::new(only_trusted);
        if let Some(path) = path {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the trusted documents {}", path.display()))?;
            let manifest: Value = serde_json::from_str(&text)
                .with_context(|| format!("the trusted documents {} are not JSON", path.display()))?;
            for (id, document) in manifest_entries(&manifest)
                .with_context(|| format!("reading the trusted documents {}", path.display()))?
            {
                p.trust(id, document);
            }
            tracing::info!(documents = p.trusted_texts.len(), path = %path.display(), "trusted documents loaded");
        }
        if only_trusted && p.trusted.is_empty() {
            anyhow::bail!(
                "GREENLINE_ONLY_TRUSTED=true needs GREENLINE_TRUSTED_DOCUMENTS naming a manifest with documents"
            );
        }
        Ok(p)
    }

    fn trust(&mut self, id: String, document: String) {
        let digest: [u8; 32] = Sha256::digest(document.as_bytes()).into();
        let document: Arc<str> = document.into();
        self.trusted.insert(hex::encode(digest), document.clone());
        self.trusted.insert(id, document);
        self.trusted_texts.insert(digest);
    }

    pub fn only_trusted(&self) -> bool {
        self.only_trusted
    }

    fn trusted(&self, id: &str) -> Option<&Arc<str>> {
        self.trusted.get(id).or_else(|| self.trusted.get(id.strip_prefix("sha256:")?))
    }

    /// The document a request runs: its `query`, or the one its id (`documentId`/`doc_id`) or APQ hash
    /// names.
    pub async fn resolve(
        &self,
        db: &Db,
        query: Option<String>,
        document_id: Option<String>,
        extensions: Option<&Map<String, Value>>,
    ) -> Result<Resolved, Unresolved> {
        let apq = apq_hash(extensions)?;
        if let Some(query) = query {
            let digest: [u8; 32] = Sha256::digest(query.as_bytes()).into();
            if let Some(hash) = &apq {
                if hex::encode(digest) != *hash {
                    return Err(Refused::new(
                        "PERSISTED_QUERY_HASH_MISMATCH",
                        "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query / 查询文本与其哈希不符",
                    )
                    .into());
                }
            }
            let trusted = self.trusted_texts.contains(&digest);
            if self.only_trusted && !trusted {
                return Err(untrusted().into());
            }
            return Ok(Resolved { query, register: apq.filter(|_| !trusted) });
        }
        let Some(id) = document_id.or(apq.clone()) else {
            return Err(Refused::new("BAD_REQUEST", "the query parameter is missing / 缺少query参数").into());
        };
        if let Some(text) = self.trusted(&id) {
            return Ok(Resolved { query: text.to_string(), register: None });
        }
        if self.only_trusted {
            return Err(untrusted().into());
        }
        if apq.is_some() {
            if let Some(text) = self.registered.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
                return Ok(Resolved { query: text.to_string(), register: None });
            }
            let key = id.clone();
            let found = db
                .read(move |s| Box::pin(async move { s.persisted_query(&key).await }))
                .await
                .map_err(Unresolved::Fault)?;
            if let Some(text) = found {
                self.remember(&id, &text);
                return Ok(Resolved { query: text, register: None });
            }
        }
        Err(Refused::new("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound").into())
    }

    /// Registers a document that proved fit under its hash (a hash registered before keeps its text).
    pub async fn register(&self, db: &Db, hash: String, query: &str) -> Result<(), AppError> {
        if self.registered.lock().unwrap_or_else(|p| p.into_inner()).contains(&hash) {
            return Ok(());
        }
        let (key, text) = (hash.clone(), query.to_owned());
        let now = chrono::Utc::now().timestamp_millis();
        db.write(move |s| Box::pin(async move { s.persist_query(&key, &text, now).await })).await?;
        self.remember(&hash, query);
        Ok(())
    }

    fn remember(&self, hash: &str, text: &str) {
        self.registered.lock().unwrap_or_else(|p| p.into_inner()).put(hash.to_owned(), text.into());
    }
}

fn untrusted() -> Refused {
    Refused::new(
        "TRUSTED_DOCUMENT_REQUIRED",
        "this server runs only trusted documents: send the id of one built into the client / 本服务只执行预先登记的查询，请发送其编号",
    )
}

/// The APQ hash of a request, when it names one: `extensions.persistedQuery = {version: 1, sha256Hash}`.
fn apq_hash(extensions: Option<&Map<String, Value>>) -> Result<Option<String>, Refused> {
    let Some(pq) = extensions.and_then(|e| e.get("persistedQuery")) else { return Ok(None) };
    if pq.get("version").and_then(Value::as_i64) != Some(1) {
        return Err(Refused::new("PERSISTED_QUERY_NOT_SUPPORTED", "PersistedQueryNotSupported: only version 1"));
    }
    match pq.get("sha256Hash").and_then(Value::as_str) {
        Some(h) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(Some(h.to_ascii_lowercase())),
        _ => Err(Refused::new(
            "BAD_REQUEST",
            "extensions.persistedQuery.sha256Hash must be 64 hexadecimal digits / 哈希须为64位十六进制",
        )),
    }
}

/// The (id, document) pairs of a manifest: `{"<id>": "<document>", …}` (relay-compiler, GraphQL Codegen)
/// or Apollo's `{"format": "apollo-persisted-query-manifest", "operations": [{"id", "body"}, …]}`.
fn manifest_entries(manifest: &Value) -> anyhow::Result<Vec<(String, String)>> {
    let Value::Object(map) = manifest else { anyhow::bail!("a manifest is a JSON object") };
    if let Some(Value::Array(ops)) = map.get("operations") {
        return ops
            .iter()
            .map(|op| match (op.get("id").and_then(Value::as_str), op.get("body").and_then(Value::as_str)) {
                (Some(id), Some(body)) => Ok((id.to_owned(), body.to_owned())),
                _ => anyhow::bail!("every operation of an Apollo manifest has a string id and body"),
            })
            .collect();
    }
    map.iter()
        .map(|(id, doc)| match doc {
            Value::String(d) => Ok((id.clone(), d.clone())),
            _ => anyhow::bail!("the document of {id} is not a string"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn manifests_of_every_tool_are_read() {
        let relay = json!({"a1": "query A { viewer { id } }"});
        assert_eq!(manifest_entries(&relay).unwrap(), vec![("a1".into(), "query A { viewer { id } }".into())]);
        let apollo = json!({"format": "apollo-persisted-query-manifest", "version": 1,
            "operations": [{"id": "h", "name": "A", "type": "query", "body": "query A { x }"}]});
        assert_eq!(manifest_entries(&apollo).unwrap(), vec![("h".into(), "query A { x }".into())]);
        assert!(manifest_entries(&json!({"a": 1})).is_err());
        assert!(manifest_entries(&json!([])).is_err());
    }

    #[test]
    fn apq_extensions_are_checked() {
        let ext = |v: Value| v.as_object().cloned().unwrap();
        let h = "A".repeat(64);
        assert_eq!(
            apq_hash(Some(&ext(json!({"persistedQuery": {"version": 1, "sha256Hash": h}})))).unwrap(),
            Some("a".repeat(64))
        );
        assert_eq!(apq_hash(Some(&ext(json!({"other": 1})))).unwrap(), None);
        assert_eq!(
            apq_hash(Some(&ext(json!({"persistedQuery": {"version": 2, "sha256Hash": h}})))).unwrap_err().code,
            "PERSISTED_QUERY_NOT_SUPPORTED"
        );
        assert_eq!(
            apq_hash(Some(&ext(json!({"persistedQuery": {"version": 1, "sha256Hash": "zz"}})))).unwrap_err().code,
            "BAD_REQUEST"
        );
    }
}
