//! The chainer: one task per instance follows the event log in feed order and links each settled event
//! into the hash chain (`event_chain`), then signs a checkpoint of the head at intervals. Writers of events
//! never wait for it and take no lock for it. The chain's hashes are a function of the feed, so any instance
//! computes the same links; the chainers of a fleet take turns only to save work (one that finds the turn
//! taken skips the round), and a link another instance wrote first is kept (`on conflict do nothing`).
//! Also here: the signing key, receipts and their check, and `audit verify`'s walk.

use std::sync::{Arc, Weak};
use std::time::Duration;

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::{
    db::{
        listen::Listening,
        proof::{CheckpointRow, NewLink},
        rows::EventRow,
        Db,
    },
    domain::proof::{self, ContentDigest, EventContent, Signer, GENESIS},
    error::{AppError, AppResult},
    search::Indexer,
};

const POLL: Duration = Duration::from_millis(500);
const BATCH: i64 = 2_000;
/// The least time between two rounds.
const PACE: Duration = Duration::from_millis(100);
/// How often the chainer looks whether a checkpoint is due.
const CHECKPOINT_LOOK: Duration = Duration::from_secs(1);
/// While the search index works through a long feed (after a restart, or behind an import), the chainer
/// pauses between batches: searches wait for the index, while no writer waits for a link. It links one
/// batch after pausing this long, so a long catch-up never stops the chain.
const YIELD_MAX: Duration = Duration::from_secs(5);

/// The key from `GREENLINE_SIGNING_KEY`, else the one in the database, else a new one stored there (the
/// first instance to start writes it; the others read it).
pub async fn signer(db: &Db, configured: Option<&str>) -> anyhow::Result<Arc<Signer>> {
    if let Some(text) = configured {
        return Signer::from_base64(text).map(Arc::new).map_err(|e| anyhow::anyhow!("GREENLINE_SIGNING_KEY: {e}"));
    }
    let read = || db.read(|s| Box::pin(async move { s.signing_key().await }));
    let stored = match read().await.map_err(|e| anyhow::anyhow!(e.public_message()))? {
        Some(k) => k,
        None => {
            let pkcs8 = B64.encode(Signer::generate());
            let id = Signer::from_base64(&pkcs8).map_err(|e| anyhow::anyhow!(e))?.key_id().to_owned();
            db.write(move |s| Box::pin(async move { s.insert_signing_key(&id, &pkcs8, Utc::now()).await }))
                .await
                .map_err(|e| anyhow::anyhow!(e.public_message()))?;
            read().await.map_err(|e| anyhow::anyhow!(e.public_message()))?.ok_or_else(|| anyhow::anyhow!("no key"))?
        }
    };
    Signer::from_base64(&stored.1).map(Arc::new).map_err(|e| anyhow::anyhow!("the stored signing key: {e}"))
}

/// An event as the chain hashes it.
pub fn content_of(e: &EventRow) -> EventContent<'_> {
    EventContent {
        id: e.id,
        proposal_id: e.proposal_id,
        kind: &e.kind,
        actor_id: e.actor_id,
        from_status: e.from_status.as_deref(),
        to_status: &e.to_status,
        from_version: e.from_version,
        reason: e.reason.as_deref(),
        created_at: e.created_at,
        content: e.content.as_deref(),
    }
}

pub struct Chainer {
    nudge: Notify,
    /// The instance's search indexer, which goes first while it catches up (see [`YIELD_MAX`]).
    index: Weak<Indexer>,
}

impl Chainer {
    pub fn start(
        db: Db,
        listening: Arc<Listening>,
        signer: Arc<Signer>,
        checkpoint_every: Duration,
        index: Weak<Indexer>,
    ) -> Arc<Chainer> {
        let chainer = Arc::new(Chainer { nudge: Notify::new(), index });
        tokio::spawn(pump(db, Arc::downgrade(&chainer), listening, signer, checkpoint_every));
        chainer
    }

    pub fn nudge(&self) {
        self.nudge.notify_one();
    }
}

async fn pump(
    db: Db,
    chainer: Weak<Chainer>,
    listening: Arc<Listening>,
    signer: Arc<Signer>,
    checkpoint_every: Duration,
) {
    let mut waiting = false;
    let mut looked_for_checkpoint: Option<std::time::Instant> = None;
    let mut yielding = Yielding::default();
    loop {
        let Some(c) = chainer.upgrade() else { return };
        if db.is_closed() {
            return;
        }
        let pause = || {
            let busy = c.index.upgrade().is_some_and(|i| i.catching_up());
            yielding.pause(busy, std::time::Instant::now())
        };
        match catch_up(&db, pause).await {
            Ok(w) => waiting = w,
            Err(e) => tracing::warn!(error = %e.public_message(), "the chainer could not link events"),
        }
        if looked_for_checkpoint.is_none_or(|t| t.elapsed() >= CHECKPOINT_LOOK.min(checkpoint_every)) {
            looked_for_checkpoint = Some(std::time::Instant::now());
            if let Err(e) = checkpoint(&db, &signer, checkpoint_every, Utc::now()).await {
                tracing::warn!(error = %e.public_message(), "the chainer could not sign a checkpoint");
            }
        }
        drop(c);
        // A round per PACE at most: under a stream of writes each round links many events at once.
        tokio::time::sleep(PACE).await;
        let Some(c) = chainer.upgrade() else { return };
        let patience = listening.patience(waiting, POLL);
        tokio::select! {
            _ = c.nudge.notified() => {}
            _ = tokio::time::sleep(patience) => {}
        }
    }
}

/// When the chainer yields to the search index: while the index is busy, for [`YIELD_MAX`] at a stretch.
#[derive(Debug, Default)]
struct Yielding {
    since: Option<std::time::Instant>,
}

impl Yielding {
    /// Whether to pause before the next batch.
    fn pause(&mut self, index_busy: bool, now: std::time::Instant) -> bool {
        if !index_busy {
            self.since = None;
            return false;
        }
        let since = *self.since.get_or_insert(now);
        if now.duration_since(since) < YIELD_MAX {
            return true;
        }
        // Paused long enough: one batch now, then pause again.
        self.since = Some(now);
        false
    }
}

/// Links every settled event not linked yet, batch by batch; before each batch, `pause()` may stop the
/// round (it resumes at the next). Returns whether events wait: behind a transaction in progress, or
/// behind the pause. A look first (a read); then, when there is something to link, one write transaction
/// that takes the chainers' turn (another instance linking now means this one skips: it would write the
/// same rows), reads the head and the events again, and inserts the links.
pub async fn catch_up(db: &Db, mut pause: impl FnMut() -> bool) -> AppResult<bool> {
    loop {
        let first = db
            .read(|s| {
                Box::pin(async move {
                    let after = s.chain_head().await?.map(|h| h.after).unwrap_or_default();
                    s.events_after(after, 1).await
                })
            })
            .await?;
        match first.first() {
            None => return Ok(false),
            Some(e) if !e.settled => return Ok(true),
            Some(_) if pause() => return Ok(true),
            Some(_) => {}
        }
        let linked = db
            .write(|s| {
                Box::pin(async move {
                    if !s.chain_turn().await? {
                        return Ok(None);
                    }
                    let head = s.chain_head().await?;
                    let after = head.as_ref().map(|h| h.after).unwrap_or_default();
                    let events = s.events_after(after, BATCH).await?;
                    let full = events.len() as i64 == BATCH;
                    let settled: Vec<&EventRow> = events.iter().take_while(|e| e.settled).collect();
                    let waiting = settled.len() < events.len();
                    let (mut position, mut previous) =
                        head.map(|h| (h.position, h.hash)).unwrap_or((0, GENESIS.to_owned()));
                    let links: Vec<NewLink> = settled
                        .iter()
                        .map(|e| {
                            position += 1;
                            let event_hash = proof::event_hash(&content_of(e));
                            previous = proof::link_hash(&previous, position, &event_hash);
                            NewLink { position, event_id: e.id, event_hash, hash: previous.clone() }
                        })
                        .collect();
                    s.insert_links(&links, Utc::now()).await?;
                    Ok(Some((waiting, full)))
                })
            })
            .await?;
        match linked {
            // Another instance is linking these very events.
            None => return Ok(false),
            Some((waiting, full)) if waiting || !full => return Ok(waiting),
            Some(_) => {}
        }
    }
}

/// Signs the head when it moved since the last checkpoint and that one is `every` old (or there is none).
pub async fn checkpoint(db: &Db, signer: &Signer, every: Duration, now: DateTime<Utc>) -> AppResult<()> {
    // Whole milliseconds: what the API shows of `signedAt`, so a checkpoint verifies from what it publishes.
    let now = DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
    let (head, last) =
        db.read(|s| Box::pin(async move { Ok((s.chain_head().await?, s.latest_checkpoint().await?)) })).await?;
    let Some(head) = head else { return Ok(()) };
    if let Some(last) = &last {
        let age = (now - last.signed_at).to_std().unwrap_or_default();
        if last.position >= head.position || age < every {
            return Ok(());
        }
    }
    let row = CheckpointRow {
        position: head.position,
        signature: signer.checkpoint(head.position, &head.hash, now),
        hash: head.hash,
        key_id: signer.key_id().to_owned(),
        public_key: signer.public_key(),
        signed_at: now,
    };
    db.write(move |s| Box::pin(async move { s.insert_checkpoint(&row).await })).await
}

/// What `greenline audit verify` found.
#[derive(Debug, Default)]
pub struct AuditReport {
    pub links: i64,
    pub checkpoints: usize,
    pub proposals: usize,
    /// The first broken link: (position, event id, what is wrong).
    pub broken: Option<(i64, i64, String)>,
    /// Checkpoints that do not verify or do not match the chain: (position, what is wrong).
    pub bad_checkpoints: Vec<(i64, String)>,
    /// Proposals whose stored content no longer matches their last submission: (id, fields).
    pub altered_proposals: Vec<(i64, Vec<&'static str>)>,
    /// Events not linked yet when the walk began.
    pub unchained: i64,
}

impl AuditReport {
    pub fn ok(&self) -> bool {
        self.broken.is_none() && self.bad_checkpoints.is_empty() && self.altered_proposals.is_empty()
    }
}

/// Walks the chain from the start: every event's hash recomputed from its row, every link from the one
/// before; every checkpoint's signature and hash; and every submitted proposal's stored title, body and
/// attachments against the hashes its last submission recorded (unless it is being revised).
pub async fn audit(db: &Db) -> AppResult<AuditReport> {
    // Counted first: a live server goes on linking while the walk runs.
    let mut report = AuditReport {
        unchained: db.read(|s| Box::pin(async move { s.unchained().await })).await?,
        ..Default::default()
    };
    let checkpoints = db.read(|s| Box::pin(async move { s.checkpoints().await })).await?;
    let mut previous = GENESIS.to_owned();
    let mut after = 0;
    let mut hashes_at = std::collections::HashMap::new();
    let wanted: std::collections::HashSet<i64> = checkpoints.iter().map(|c| c.position).collect();
    loop {
        let (links, events) = db
            .read(move |s| {
                Box::pin(async move {
                    let links = s.links_after(after, 5_000).await?;
                    let ids: Vec<i64> = links.iter().map(|l| l.event_id).collect();
                    Ok((links, s.events_by_ids(&ids).await?))
                })
            })
            .await?;
        if links.is_empty() {
            break;
        }
        let by_id: std::collections::HashMap<i64, &EventRow> = events.iter().map(|e| (e.id, e)).collect();
        for link in &links {
            if link.position != after + 1 {
                report.broken = Some((after + 1, 0, "a link is missing (deleted) / 链上缺少一环（被删除）".into()));
                break;
            }
            let Some(event) = by_id.get(&link.event_id) else {
                report.broken = Some((link.position, link.event_id, "its event was deleted / 该事件已被删除".into()));
                break;
            };
            let actual = proof::event_hash(&content_of(event));
            let chain = [proof::Link { position: link.position, event_hash: &link.event_hash, hash: &link.hash }];
            if let Some((position, what)) = proof::first_break(&previous, &chain, &[actual]) {
                report.broken = Some((position, link.event_id, what));
                break;
            }
            previous = link.hash.clone();
            after = link.position;
            report.links += 1;
            if wanted.contains(&link.position) {
                hashes_at.insert(link.position, link.hash.clone());
            }
        }
        if report.broken.is_some() {
            break;
        }
    }
    for c in &checkpoints {
        report.checkpoints += 1;
        let bytes = proof::checkpoint_bytes(c.position, &c.hash, c.signed_at);
        if !proof::signature_ok(&c.public_key, bytes.as_bytes(), &c.signature) {
            report.bad_checkpoints.push((c.position, "its signature does not verify / 签名验证失败".into()));
        } else if report.broken.is_none() && hashes_at.get(&c.position) != Some(&c.hash) {
            report
                .bad_checkpoints
                .push((c.position, "the chain no longer has the hash it signed / 链上哈希与签名时不同".into()));
        }
    }
    let mut after_id = 0;
    loop {
        let rows = db.read(move |s| Box::pin(async move { s.submitted_proposals(after_id, 1_000).await })).await?;
        let Some(last) = rows.last() else { break };
        after_id = last.0;
        for (id, status, event_id) in rows {
            report.proposals += 1;
            if let Some(fields) = altered(db, id, &status, event_id).await? {
                report.altered_proposals.push((id, fields));
            }
        }
    }
    Ok(report)
}

/// Which of the proposal's stored fields differ from its last submission's hashes; `None` while its
/// authors may be revising it (a draft, a returned or a withdrawn proposal may have changed since).
pub async fn altered(db: &Db, id: i64, status: &str, event_id: i64) -> AppResult<Option<Vec<&'static str>>> {
    if matches!(status, "DRAFT" | "RETURNED" | "WITHDRAWN" | "DUPLICATE") {
        return Ok(None);
    }
    let (proposal, event, attachments) = db
        .read(move |s| {
            Box::pin(
                async move { Ok((s.proposal(id).await?, s.event(event_id).await?, s.attachment_hashes(id).await?)) },
            )
        })
        .await?;
    let (Some(p), Some(e)) = (proposal, event) else { return Ok(None) };
    let Some(submitted) = e.content.as_deref().and_then(ContentDigest::parse) else {
        return Err(AppError::Internal(anyhow::anyhow!("event {event_id}: its content hashes are unreadable")));
    };
    let diff = submitted.differences(&ContentDigest::of(&p.title, &p.body, attachments));
    Ok((!diff.is_empty()).then_some(diff))
}

/// The author's receipt for the proposal's last submission, signed: `None` until that submission is in
/// the chain (within a second), or while the stored text differs from it (the authors are revising it).
pub async fn receipt(
    db: &Db,
    signer: &Signer,
    p: &crate::db::rows::ProposalRow,
    authors: Vec<String>,
    server: &str,
    now: DateTime<Utc>,
) -> AppResult<Option<serde_json::Value>> {
    let id = p.id;
    let (event, attachments) = db
        .read(move |s| Box::pin(async move { Ok((s.last_submission(id).await?, s.attachment_hashes(id).await?)) }))
        .await?;
    let Some(event) = event else { return Ok(None) };
    let event_id = event.id;
    let Some(link) = db.read(move |s| Box::pin(async move { s.link_of_event(event_id).await })).await? else {
        return Ok(None);
    };
    let Some(content) = event.content.as_deref().and_then(ContentDigest::parse) else { return Ok(None) };
    if !content.differences(&ContentDigest::of(&p.title, &p.body, attachments)).is_empty() {
        return Ok(None);
    }
    let mut doc = serde_json::Map::new();
    doc.insert("kind".into(), proof::RECEIPT_KIND.into());
    doc.insert("server".into(), server.into());
    doc.insert("proposalId".into(), crate::graphql::ids::encode("Proposal", p.id).0.into());
    doc.insert("number".into(), p.id.into());
    doc.insert("title".into(), p.title.clone().into());
    doc.insert("body".into(), p.body.clone().into());
    doc.insert("authors".into(), authors.into());
    doc.insert("content".into(), serde_json::to_value(&content).unwrap_or_default());
    doc.insert("submittedAt".into(), proof::timestamp(event.created_at).into());
    doc.insert(
        "chain".into(),
        serde_json::json!({ "position": link.position, "eventId": link.event_id, "eventHash": link.event_hash, "hash": link.hash }),
    );
    doc.insert("issuedAt".into(), proof::timestamp(now).into());
    Ok(Some(signer.sign(doc)))
}

/// What a server finds when it checks a receipt against itself.
#[derive(Debug, Default)]
pub struct ReceiptCheck {
    pub signed: bool,
    pub key_id: Option<String>,
    pub proposal: Option<i64>,
    /// What does not hold, in English and Chinese; empty when the receipt and the stored record agree.
    pub problems: Vec<String>,
}

/// Checks a receipt with this server's key, against its chain, its event and the stored proposal.
pub async fn check_receipt(db: &Db, signer: &Signer, text: &str) -> AppResult<ReceiptCheck> {
    let mut check = ReceiptCheck::default();
    match proof::verify_document(text, Some(&signer.public_key())) {
        Ok(c) if c.kind == proof::RECEIPT_KIND => {
            check.signed = true;
            check.key_id = Some(c.key_id);
        }
        Ok(_) => {
            check.problems.push("this is not a receipt / 这不是提交回执".into());
            return Ok(check);
        }
        Err(e) => {
            check.problems.push(e);
            return Ok(check);
        }
    }
    let doc: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let int = |v: &serde_json::Value| v.as_i64().unwrap_or(-1);
    let number = int(&doc["number"]);
    let position = int(&doc["chain"]["position"]);
    let event_id = int(&doc["chain"]["eventId"]);
    check.proposal = Some(number);
    let (link, event, latest, proposal) = db
        .read(move |s| {
            Box::pin(async move {
                Ok((
                    s.link_at(position).await?,
                    s.event(event_id).await?,
                    s.last_submission(number).await?,
                    s.proposal(number).await?,
                ))
            })
        })
        .await?;
    let text_of = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    match link {
        Some(l) if l.event_id == event_id && l.hash == text_of(&doc["chain"]["hash"]) => {
            if l.event_hash != text_of(&doc["chain"]["eventHash"]) {
                check.problems.push("the chain's event hash differs from the receipt / 链上事件哈希与回执不符".into());
            }
        }
        _ => check
            .problems
            .push(format!("the chain at position {position} differs from the receipt / 链上第{position}位与回执不符")),
    }
    match event {
        Some(e) if e.proposal_id == number => {
            if proof::event_hash(&content_of(&e)) != text_of(&doc["chain"]["eventHash"]) {
                check
                    .problems
                    .push("the submission's event was changed in the database / 数据库中的提交事件已被改动".into());
            }
            let stored = e.content.as_deref().and_then(ContentDigest::parse);
            let receipt: Option<ContentDigest> = serde_json::from_value(doc["content"].clone()).ok();
            if stored.is_none() || stored != receipt {
                check
                    .problems
                    .push("the submission's recorded hashes differ from the receipt / 提交记录的哈希与回执不符".into());
            }
        }
        _ => check.problems.push("the submission's event is missing / 找不到该提交事件".into()),
    }
    // The stored proposal, as long as this receipt's submission is its last one.
    if let (Some(p), Some(latest)) = (proposal, latest) {
        if latest.id == event_id {
            if let Some(fields) = altered(db, number, &p.status, event_id).await? {
                check.problems.push(format!(
                    "the stored proposal's {} differs from the receipt / 服务器上保存的提案（{}）与回执不符",
                    fields.join(", "),
                    fields.join("、")
                ));
            }
        }
    } else {
        check.problems.push("the proposal is missing / 找不到该提案".into());
    }
    Ok(check)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn the_chainer_yields_to_a_busy_index_but_never_stops() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut y = Yielding::default();
        assert!(!y.pause(false, at(0)), "an idle index: link");
        assert!(y.pause(true, at(0)), "a busy index: pause");
        assert!(y.pause(true, at(4_999)));
        assert!(!y.pause(true, at(5_000)), "paused long enough: one batch");
        assert!(y.pause(true, at(5_001)), "then pause again");
        assert!(!y.pause(true, at(10_000)));
        assert!(!y.pause(false, at(10_001)), "the index caught up: link");
        assert!(y.pause(true, at(10_002)), "busy again: a new pause starts");
        assert!(y.pause(true, at(15_001)));
        assert!(!y.pause(true, at(15_002)));
    }
}
