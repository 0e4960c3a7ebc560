//! Proof (存证): the hash chain over the event log, the server's Ed25519 signature, and the signed documents
//! it issues — an author's receipt for a submission and a worker's green-skill record — with the checks
//! anyone can run on them offline. Pure: hashing and signatures, no I/O.
//!
//! - An event's **content hash** is SHA-256 over a canonical JSON array of its columns ([`event_hash`]).
//! - The **chain**: position `n` (1, 2, … in feed order) has `hash(n) = SHA-256("greenline.chain/1", n,
//!   hash(n-1), content hash)`, starting from [`GENESIS`] ([`link_hash`]). Editing, inserting or deleting an
//!   event changes every hash after it.
//! - A **signed document** is a JSON object with a `signature` member: `{algorithm, keyId, publicKey,
//!   value}`, where `value` is the Ed25519 signature of the document without `signature`, in canonical
//!   JSON (keys sorted at every level, no white space: [`canonical`]).

use std::collections::BTreeMap;

use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// The hash before the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
pub const RECEIPT_KIND: &str = "greenline.receipt/1";
pub const SKILL_RECORD_KIND: &str = "greenline.skill-record/1";
pub const CHECKPOINT_KIND: &str = "greenline.checkpoint/1";

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Timestamps as hashed and signed: UTC, microseconds (what both backends keep).
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The columns of an event that its hash covers: all of them but its place in feed order.
pub struct EventContent<'a> {
    pub id: i64,
    pub proposal_id: i64,
    pub kind: &'a str,
    pub actor_id: Option<i64>,
    pub from_status: Option<&'a str>,
    pub to_status: &'a str,
    pub from_version: i64,
    pub reason: Option<&'a str>,
    pub created_at: DateTime<Utc>,
    /// A submission's [`ContentDigest`], as stored.
    pub content: Option<&'a str>,
}

/// SHA-256 (hex) of the event's canonical form.
pub fn event_hash(e: &EventContent<'_>) -> String {
    let v = json!([
        "greenline.event/1",
        e.id,
        e.proposal_id,
        e.kind,
        e.actor_id,
        e.from_status,
        e.to_status,
        e.from_version,
        e.reason,
        timestamp(e.created_at),
        e.content
    ]);
    sha256_hex(v.to_string().as_bytes())
}

/// The chain's hash at `position`, after `previous` (the hash at `position - 1`, or [`GENESIS`]).
pub fn link_hash(previous: &str, position: i64, content_hash: &str) -> String {
    sha256_hex(format!("greenline.chain/1\n{position}\n{previous}\n{content_hash}").as_bytes())
}

/// What a submission contained, as hashes: stored with its `SUBMITTED` event (so the chain covers it) and
/// put in the author's receipt.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ContentDigest {
    pub title_sha256: String,
    pub body_sha256: String,
    /// The attachments' SHA-256 (their storage keys), in the order they were added.
    pub attachments: Vec<String>,
}

impl ContentDigest {
    pub fn of(title: &str, body: &str, attachments: Vec<String>) -> ContentDigest {
        ContentDigest {
            title_sha256: sha256_hex(title.as_bytes()),
            body_sha256: sha256_hex(body.as_bytes()),
            attachments,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn parse(s: &str) -> Option<ContentDigest> {
        serde_json::from_str(s).ok()
    }

    /// What differs between what was submitted (`self`) and what is stored now; empty when nothing does.
    /// Attachments may be added after a submission (pilot photos), never taken away unnoticed.
    pub fn differences(&self, now: &ContentDigest) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.title_sha256 != now.title_sha256 {
            out.push("title");
        }
        if self.body_sha256 != now.body_sha256 {
            out.push("body");
        }
        if !self.attachments.iter().all(|a| now.attachments.contains(a)) {
            out.push("attachments");
        }
        out
    }
}

/// JSON with object keys sorted at every level and no white space: the bytes a signature covers.
pub fn canonical(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let ordered: BTreeMap<&String, Value> = m.iter().map(|(k, v)| (k, sorted(v))).collect();
                let mut out = Map::new();
                for (k, v) in ordered {
                    out.insert(k.clone(), v);
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(v).to_string()
}

/// A key's short name: the first 16 hex digits of the SHA-256 of its public half.
pub fn key_id(public: &[u8]) -> String {
    sha256_hex(public)[..16].to_owned()
}

/// The server's Ed25519 key.
pub struct Signer {
    pair: Ed25519KeyPair,
    key_id: String,
}

impl Signer {
    /// A new key, as PKCS#8 bytes (what is stored).
    pub fn generate() -> Vec<u8> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        Ed25519KeyPair::generate_pkcs8(&rng).map(|d| d.as_ref().to_vec()).unwrap_or_default()
    }

    /// The key from PKCS#8 bytes, or from standard base64 of them (how `GREENLINE_SIGNING_KEY` gives it).
    pub fn from_pkcs8(bytes: &[u8]) -> Result<Signer, String> {
        let pair = Ed25519KeyPair::from_pkcs8(bytes)
            .or_else(|_| Ed25519KeyPair::from_pkcs8_maybe_unchecked(bytes))
            .map_err(|_| "not an Ed25519 private key in PKCS#8 / 不是PKCS#8格式的Ed25519私钥".to_owned())?;
        let key_id = key_id(pair.public_key().as_ref());
        Ok(Signer { pair, key_id })
    }

    pub fn from_base64(text: &str) -> Result<Signer, String> {
        let bytes = B64.decode(text.trim()).map_err(|_| "the key is not base64 / 密钥不是base64".to_owned())?;
        Signer::from_pkcs8(&bytes)
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn public_key(&self) -> String {
        B64.encode(self.pair.public_key().as_ref())
    }

    pub fn sign_bytes(&self, bytes: &[u8]) -> String {
        B64.encode(self.pair.sign(bytes).as_ref())
    }

    /// `document` (an object) with its `signature` member added.
    pub fn sign(&self, mut document: Map<String, Value>) -> Value {
        document.remove("signature");
        let value = self.sign_bytes(canonical(&Value::Object(document.clone())).as_bytes());
        document.insert(
            "signature".into(),
            json!({ "algorithm": "Ed25519", "keyId": self.key_id, "publicKey": self.public_key(), "value": value }),
        );
        Value::Object(document)
    }

    /// The signed checkpoint of the chain at `position`.
    pub fn checkpoint(&self, position: i64, hash: &str, at: DateTime<Utc>) -> String {
        self.sign_bytes(checkpoint_bytes(position, hash, at).as_bytes())
    }
}

pub fn checkpoint_bytes(position: i64, hash: &str, at: DateTime<Utc>) -> String {
    format!("{CHECKPOINT_KIND}\n{position}\n{hash}\n{}", timestamp(at))
}

/// Whether `signature` (base64) is the Ed25519 signature of `bytes` under `public_key` (base64).
pub fn signature_ok(public_key: &str, bytes: &[u8], signature: &str) -> bool {
    let (Ok(pk), Ok(sig)) = (B64.decode(public_key), B64.decode(signature)) else { return false };
    signature::UnparsedPublicKey::new(&signature::ED25519, pk).verify(bytes, &sig).is_ok()
}

/// What a check of a signed document found.
#[derive(Debug, PartialEq)]
pub struct Checked {
    pub kind: String,
    pub key_id: String,
}

/// Checks a signed document offline: well-formed, signed by the key it names (and by `trusted`, a base64
/// public key, when given), and — for a receipt — its text matching its hashes. Errors say what is wrong,
/// in English and Chinese.
pub fn verify_document(text: &str, trusted: Option<&str>) -> Result<Checked, String> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| format!("not a greenline document (JSON: {e}) / 不是有效的greenline文件"))?;
    let Value::Object(mut doc) = v else {
        return Err("not a greenline document (not a JSON object) / 不是有效的greenline文件".into());
    };
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default().to_owned();
    if kind != RECEIPT_KIND && kind != SKILL_RECORD_KIND {
        return Err(format!("unknown document kind {kind:?} / 未知的文件类型"));
    }
    let sig = doc.remove("signature").ok_or("the document is not signed / 文件没有签名")?;
    let field = |name: &str| sig.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
    let (public, value, named) = (field("publicKey"), field("value"), field("keyId"));
    if field("algorithm") != "Ed25519" {
        return Err("the signature is not Ed25519 / 签名算法不是Ed25519".into());
    }
    let pk = B64.decode(&public).map_err(|_| "the public key is not base64 / 公钥格式错误".to_owned())?;
    if key_id(&pk) != named {
        return Err("the key id does not match the public key / 密钥编号与公钥不符".into());
    }
    if let Some(t) = trusted {
        if t.trim() != public {
            return Err(format!(
                "signed by key {named}, not by the key you trust / 签名密钥 {named} 不是您指定的服务器密钥"
            ));
        }
    }
    if !signature_ok(&public, canonical(&Value::Object(doc.clone())).as_bytes(), &value) {
        return Err(
            "the signature does not match: the document was changed after it was signed / 签名不符：文件在签发后被改动"
                .into(),
        );
    }
    if kind == RECEIPT_KIND {
        check_receipt_hashes(&doc)?;
    }
    Ok(Checked { kind, key_id: named })
}

/// A receipt's title and body match its hashes (so a receipt is also the text it proves).
fn check_receipt_hashes(doc: &Map<String, Value>) -> Result<(), String> {
    let text = |k: &str| doc.get(k).and_then(Value::as_str).unwrap_or_default();
    let content: ContentDigest = doc
        .get("content")
        .and_then(|c| serde_json::from_value(c.clone()).ok())
        .ok_or("the receipt has no content hashes / 回执缺少内容哈希")?;
    if sha256_hex(text("title").as_bytes()) != content.title_sha256 {
        return Err("the title does not match its SHA-256 / 标题与其哈希不符".into());
    }
    if sha256_hex(text("body").as_bytes()) != content.body_sha256 {
        return Err("the body does not match its SHA-256 / 正文与其哈希不符".into());
    }
    Ok(())
}

/// The chain as stored, one link: what `audit verify` walks.
pub struct Link<'a> {
    pub position: i64,
    pub event_hash: &'a str,
    pub hash: &'a str,
}

/// The first position at which `links` (consecutive, from `start` after `previous`) stop following from
/// the events' hashes (`actual`: each event's content hash recomputed now), with what is wrong.
pub fn first_break(previous: &str, links: &[Link<'_>], actual: &[String]) -> Option<(i64, String)> {
    let mut prev = previous.to_owned();
    for (link, now) in links.iter().zip(actual) {
        if link.event_hash != now {
            return Some((
                link.position,
                "the event was changed after it was chained (its content hash differs) / 事件在入链后被改动".into(),
            ));
        }
        let expected = link_hash(&prev, link.position, link.event_hash);
        if link.hash != expected {
            return Some((
                link.position,
                "the chain's hash does not follow from the one before / 链上哈希不连续".into(),
            ));
        }
        prev = link.hash.to_owned();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(reason: Option<&str>) -> EventContent<'_> {
        EventContent {
            id: 7,
            proposal_id: 3,
            kind: "SUBMITTED",
            actor_id: Some(2),
            from_status: Some("DRAFT"),
            to_status: "SUBMITTED",
            from_version: 1,
            reason,
            created_at: DateTime::parse_from_rfc3339("2026-11-30T08:00:00.123456789Z").unwrap().into(),
            content: None,
        }
    }

    #[test]
    fn an_event_hash_covers_every_column_and_keeps_microseconds() {
        let a = event_hash(&event(None));
        assert_eq!(a.len(), 64);
        assert_ne!(a, event_hash(&event(Some(""))));
        let mut e = event(None);
        e.created_at = DateTime::parse_from_rfc3339("2026-11-30T08:00:00.123456Z").unwrap().into();
        assert_eq!(a, event_hash(&e), "nanoseconds beyond the microsecond are not kept by PostgreSQL");
        e.to_status = "EVALUATING";
        assert_ne!(a, event_hash(&e));
    }

    #[test]
    fn a_chain_breaks_where_an_event_or_a_link_changes() {
        let events: Vec<String> = (0..4).map(|i| sha256_hex(format!("e{i}").as_bytes())).collect();
        let mut hashes = Vec::new();
        let mut prev = GENESIS.to_owned();
        for (i, e) in events.iter().enumerate() {
            prev = link_hash(&prev, i as i64 + 1, e);
            hashes.push(prev.clone());
        }
        let links = |h: &[String]| -> Vec<(i64, String, String)> {
            events.iter().zip(h).enumerate().map(|(i, (e, h))| (i as i64 + 1, e.clone(), h.clone())).collect()
        };
        fn as_links(l: &[(i64, String, String)]) -> Vec<Link<'_>> {
            l.iter().map(|(p, e, h)| Link { position: *p, event_hash: e, hash: h }).collect()
        }
        let stored = links(&hashes);
        assert_eq!(first_break(GENESIS, &as_links(&stored), &events), None);
        let mut edited = events.clone();
        edited[2] = sha256_hex(b"edited");
        assert_eq!(first_break(GENESIS, &as_links(&stored), &edited).map(|b| b.0), Some(3));
        let mut relinked = hashes.clone();
        relinked[1] = sha256_hex(b"forged");
        assert_eq!(first_break(GENESIS, &as_links(&links(&relinked)), &events).map(|b| b.0), Some(2));
    }

    #[test]
    fn a_signed_document_verifies_and_fails_after_any_change() {
        let signer = Signer::from_pkcs8(&Signer::generate()).unwrap();
        let content = ContentDigest::of("余热回收", "正文", vec![]);
        let mut doc = Map::new();
        doc.insert("kind".into(), json!(RECEIPT_KIND));
        doc.insert("title".into(), json!("余热回收"));
        doc.insert("body".into(), json!("正文"));
        doc.insert("content".into(), serde_json::to_value(&content).unwrap());
        let text = signer.sign(doc).to_string();
        let checked = verify_document(&text, None).unwrap();
        assert_eq!(checked.key_id, signer.key_id());
        assert!(verify_document(&text, Some(&signer.public_key())).is_ok());
        let other = Signer::from_pkcs8(&Signer::generate()).unwrap();
        assert!(verify_document(&text, Some(&other.public_key())).unwrap_err().contains("not by the key you trust"));
        // Keys in another order and white space change nothing: the signature covers canonical JSON.
        let pretty = serde_json::to_string_pretty(&serde_json::from_str::<Value>(&text).unwrap()).unwrap();
        assert!(verify_document(&pretty, None).is_ok());
        // One byte of the text changed: 正文 → 正攵.
        let changed = text.replace("正文", "正攵");
        assert!(verify_document(&changed, None).unwrap_err().contains("signature does not match"));
        // A re-signed receipt whose title no longer matches its hash.
        let mut forged: Map<String, Value> = serde_json::from_str(&text).unwrap();
        forged.insert("title".into(), json!("别人的标题"));
        let forged = signer.sign(forged).to_string();
        assert!(verify_document(&forged, None).unwrap_err().contains("title"));
        assert!(verify_document("{}", None).is_err());
        assert!(verify_document("not json", None).is_err());
    }

    #[test]
    fn a_digest_names_what_changed() {
        let a = ContentDigest::of("t", "b", vec!["x".into()]);
        assert!(a.differences(&ContentDigest::of("t", "b", vec!["x".into(), "y".into()])).is_empty());
        assert_eq!(a.differences(&ContentDigest::of("t", "b2", vec![])), vec!["body", "attachments"]);
        assert_eq!(ContentDigest::parse(&a.to_json()), Some(a));
    }

    #[test]
    fn checkpoints_verify_with_the_public_key() {
        let signer = Signer::from_pkcs8(&Signer::generate()).unwrap();
        let at = Utc::now();
        let sig = signer.checkpoint(9, GENESIS, at);
        assert!(signature_ok(&signer.public_key(), checkpoint_bytes(9, GENESIS, at).as_bytes(), &sig));
        assert!(!signature_ok(&signer.public_key(), checkpoint_bytes(10, GENESIS, at).as_bytes(), &sig));
    }
}
