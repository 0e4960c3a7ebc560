//! Keeping the search index in step with the database, and asking it questions for a viewer.
//!
//! Every change to a proposal or technique appends a change-feed row in the transaction that makes it.
//! One indexer per process follows the feed in order, re-reads each changed entity from the database,
//! and commits the index together with the feed position it reached. After a crash or restart it resumes
//! from that position; writes from other processes (the CLI, other servers) arrive the same way. An index
//! that is new or of another schema version is rebuilt from the database before the server answers.
//!
//! Instances on one host may share an index directory: one of them (the one holding the directory's writer
//! lock) follows the feed as above; the others only read, loading its commits as they land, and one takes
//! its place when it goes — on that host each change is indexed once, not once per instance.

use std::{
    collections::BTreeSet,
    sync::{Arc, Weak},
    time::Duration,
};

use search_index::{DocKind, IndexDoc, Lookup, SearchIndex, SearchQuery, SearchResults};
use tokio::sync::Notify;

use crate::{
    db::{
        challenges::ChallengeRow, feed::ProposalIndexBatch, help::HelpRequestRow, listen::Listening,
        rows::TechniqueRow, Db,
    },
    domain::{lifecycle::Status, proposal::access_tokens},
    error::{AppError, AppResult},
};

/// Feed rows per round: their entities are read and indexed together, and the index commits once.
const BATCH: i64 = 5000;
/// Entities read per statement (one bound placeholder each).
const READ: usize = 1000;
/// How often the follower commits while it catches up on a long feed (each commit closes segments, which
/// merges then fold together again while the follower still works; it was 1 s before 2026-12-02).
const CATCH_UP_COMMIT: Duration = Duration::from_secs(2);
/// How long the follower may sleep without being woken when nothing wakes it (SQLite, or no LISTEN
/// connection): see [`Listening::patience`].
const POLL: Duration = Duration::from_millis(200);
/// The least time between two commits of the follower (well inside "searchable within one second").
const COMMIT_GAP: Duration = Duration::from_millis(400);
/// How often an instance that shares another's index looks for its new commits (one read of `meta.json`)
/// and whether its writer has gone.
const RELOAD: Duration = Duration::from_millis(100);

pub struct Indexer {
    pub index: Arc<SearchIndex>,
    db: Db,
    nudge: Notify,
    /// Serialises catch-up rounds: one writer of positions at a time.
    round: tokio::sync::Mutex<()>,
    /// Set while a catch-up works through more than one batch of the feed (see [`Indexer::catching_up`]).
    busy: std::sync::atomic::AtomicBool,
}

/// What a catch-up did.
#[derive(Debug, Default)]
pub struct CatchUp {
    /// Entities re-indexed.
    pub applied: usize,
    /// Whether feed rows wait behind a transaction still in progress.
    pub waiting: bool,
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("search index: {e}"))
}

/// Runs blocking index work off the async threads.
async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, search_index::SearchError> + Send + 'static,
) -> AppResult<R> {
    tokio::task::spawn_blocking(f).await.map_err(internal)?.map_err(internal)
}

impl Indexer {
    /// Opens the indexer over `index`, rebuilding first when the index is new or of another schema, and
    /// starts following the change feed. An index that is merely behind is caught up while the server
    /// answers (`/readyz` and `/metrics` say how far behind it is).
    pub async fn start(db: Db, index: SearchIndex, listening: Arc<Listening>) -> anyhow::Result<Arc<Indexer>> {
        let index = Arc::new(index);
        // An instance that only reads a shared index leaves filling it to the one that writes it.
        if index.is_writer() && index.needs_rebuild() {
            fill(&db, &index).await.map_err(|e| anyhow::anyhow!(e.public_message()))?;
        }
        let indexer =
            Arc::new(Indexer { index, db, nudge: Notify::new(), round: Default::default(), busy: Default::default() });
        indexer.nudge();
        tokio::spawn(follow(Arc::downgrade(&indexer), listening));
        Ok(indexer)
    }

    /// Runs a query on the index off the async threads. (At most one query per core at a time was
    /// tried and measured slower: BENCHMARKS.md.)
    pub async fn query<R: Send + 'static>(
        &self,
        f: impl FnOnce(&SearchIndex) -> Result<R, search_index::SearchError> + Send + 'static,
    ) -> AppResult<R> {
        let index = self.index.clone();
        blocking(move || f(&index)).await
    }

    /// A search: a cached answer stays on this thread; one that has to run goes to the blocking pool.
    pub async fn search(&self, q: &SearchQuery) -> AppResult<SearchResults> {
        match self.index.lookup(q).map_err(internal)? {
            Lookup::Hit(results) => Ok(results),
            Lookup::Miss(prepared) => self.query(move |index| index.run(prepared)).await,
        }
    }

    /// For an instance that reads a shared index: takes the writer's place when it has gone, else loads
    /// its latest commit. Returns whether this instance writes the index now.
    async fn take_over(&self) -> AppResult<bool> {
        let index = self.index.clone();
        let writes = blocking(move || {
            let writes = index.take_writer()?;
            if !writes {
                index.refresh()?;
            }
            Ok(writes)
        })
        .await?;
        if writes {
            tracing::info!("this instance now writes the shared search index (the instance that wrote it went)");
            self.nudge();
        }
        Ok(writes)
    }

    /// Called after a commit (this process's, or another's by notification): index now rather than at
    /// the next poll.
    pub fn nudge(&self) {
        self.nudge.notify_one();
    }

    /// Whether the follower is working through a long feed (its last round found a whole batch to apply,
    /// and more behind it): after a restart, or behind an import. The chainer yields to it meanwhile.
    pub fn catching_up(&self) -> bool {
        self.busy.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many change-feed rows the index has not applied yet (counted up to `cap`).
    pub async fn behind(&self, cap: i64) -> AppResult<i64> {
        let position = self.index.position();
        self.db.read(move |s| Box::pin(async move { s.feed_lag(position, cap).await })).await
    }

    /// Applies the settled feed from the index's position on, [`BATCH`] rows at a time: the entities of a
    /// batch are read [`READ`] at a time, each group indexed while the next is read. The index commits
    /// (with the position reached) when the follower has caught up, and at least every [`CATCH_UP_COMMIT`]
    /// on the way — a crash in between replays from the last commit, which is harmless.
    pub async fn catch_up(&self) -> AppResult<CatchUp> {
        let _round = self.round.lock().await;
        let mut done = CatchUp::default();
        let mut position = self.index.position();
        let mut committed = position;
        let mut since_commit = std::time::Instant::now();
        loop {
            let rows = self.db.read(move |s| Box::pin(async move { s.feed_after(position, BATCH).await })).await?;
            // A whole batch: more may wait behind it. Said before the batch is applied, so the chainer
            // yields from the first batch on.
            self.busy.store(rows.len() as i64 == BATCH, std::sync::atomic::Ordering::Relaxed);
            let settled = rows.iter().take_while(|r| r.settled).count();
            done.waiting = settled < rows.len();
            if let Some(last) = settled.checked_sub(1) {
                let mut proposals = BTreeSet::new();
                let mut techniques = BTreeSet::new();
                let mut others = Others::default();
                for row in &rows[..settled] {
                    match row.entity.as_str() {
                        "proposal" => proposals.insert(row.entity_id),
                        "technique" => techniques.insert(row.entity_id),
                        "challenge" => others.challenges.insert(row.entity_id),
                        "help_request" => others.help_requests.insert(row.entity_id),
                        _ => false,
                    };
                }
                done.applied += self.apply(proposals.into_iter().collect(), techniques.into_iter().collect()).await?;
                done.applied += self.apply_others(others).await?;
                position = rows[last].position();
            }
            let caught_up = done.waiting || (rows.len() as i64) < BATCH;
            if position != committed && (caught_up || since_commit.elapsed() >= CATCH_UP_COMMIT) {
                let index = self.index.clone();
                blocking(move || index.commit(position)).await?;
                committed = position;
                since_commit = std::time::Instant::now();
            }
            if caught_up {
                return Ok(done);
            }
        }
    }

    /// Re-indexes these entities from the database (deleting those that are gone); returns how many.
    async fn apply(&self, proposals: Vec<i64>, techniques: Vec<i64>) -> AppResult<usize> {
        let mut indexing: Option<tokio::task::JoinHandle<Result<(), search_index::SearchError>>> = None;
        // One group is indexed (on the blocking pool) while the next is read.
        let mut hand_over = |work: IndexWork| {
            let index = self.index.clone();
            let previous = indexing.replace(tokio::task::spawn_blocking(move || work(&index)));
            async move {
                match previous {
                    Some(p) => p.await.map_err(internal)?.map_err(internal),
                    None => Ok(()),
                }
            }
        };
        for ids in proposals.chunks(READ) {
            let wanted = ids.to_vec();
            let batch = self
                .db
                .read(move |s| {
                    Box::pin(async move {
                        match dense(&wanted) {
                            // Mostly consecutive ids (an import): one range, as a rebuild reads.
                            Some((first, last)) => {
                                let mut b = s.proposal_index_batch(first - 1, last, last - first + 1).await?;
                                let keep: std::collections::HashSet<i64> = wanted.iter().copied().collect();
                                b.proposals.retain(|p| keep.contains(&p.id));
                                Ok(b)
                            }
                            None => s.proposal_index_docs(&wanted).await,
                        }
                    })
                })
                .await?;
            let docs = proposal_docs(batch);
            let gone = missing(ids, docs.iter().map(|d| d.id));
            hand_over(Box::new(move |index| index.write(&docs, gone.iter().map(|id| (DocKind::Proposal, *id)))))
                .await?;
        }
        for ids in techniques.chunks(READ) {
            let wanted = ids.to_vec();
            let rows = self.db.read(move |s| Box::pin(async move { s.technique_index_docs(&wanted).await })).await?;
            let gone = missing(ids, rows.iter().map(|(t, _)| t.id));
            hand_over(Box::new(move |index| {
                let docs: Vec<IndexDoc> = rows.iter().map(|(t, tce)| technique_doc(t, *tce)).collect();
                index.write(&docs, gone.iter().map(|id| (DocKind::Technique, *id)))
            }))
            .await?;
        }
        if let Some(last) = indexing {
            last.await.map_err(internal)?.map_err(internal)?;
        }
        Ok(proposals.len() + techniques.len())
    }
}

/// Challenges and help requests changed in a round (few: they are written by hand, never imported).
#[derive(Default)]
struct Others {
    challenges: BTreeSet<i64>,
    help_requests: BTreeSet<i64>,
}

impl Indexer {
    /// Re-indexes these challenges and help requests (deleting those that are gone); returns how many.
    async fn apply_others(&self, o: Others) -> AppResult<usize> {
        let n = o.challenges.len() + o.help_requests.len();
        if n == 0 {
            return Ok(0);
        }
        let challenges: Vec<i64> = o.challenges.into_iter().collect();
        let help: Vec<i64> = o.help_requests.into_iter().collect();
        let (c, h) = (challenges.clone(), help.clone());
        let (crows, hrows) = self
            .db
            .read(move |s| {
                Box::pin(async move { Ok((s.challenges_by_ids(&c).await?, s.help_requests_by_ids(&h).await?)) })
            })
            .await?;
        let gone_c = missing(&challenges, crows.iter().map(|r| r.id));
        let gone_h = missing(&help, hrows.iter().map(|r| r.id));
        let index = self.index.clone();
        blocking(move || {
            let docs: Vec<IndexDoc> = crows.iter().map(challenge_doc).chain(hrows.iter().map(help_doc)).collect();
            let gone = gone_c.iter().map(|id| (DocKind::Challenge, *id));
            index.write(&docs, gone.chain(gone_h.iter().map(|id| (DocKind::HelpRequest, *id))))
        })
        .await?;
        Ok(n)
    }
}

fn challenge_doc(c: &ChallengeRow) -> IndexDoc {
    IndexDoc {
        kind: DocKind::Challenge,
        id: c.id,
        title: c.title.clone(),
        body: if c.reward.is_empty() { c.statement.clone() } else { format!("{}\n{}", c.statement, c.reward) },
        tags: vec![],
        status: c.status.clone(),
        // The scope is the challenge's facet where a proposal has its category.
        category: c.scope.clone(),
        industry: c.industry.clone(),
        enterprise_id: c.enterprise_id,
        studio_id: c.studio_id,
        date: c.created_at.timestamp_micros(),
        verified_tce: c.tce,
        access: crate::domain::challenge::access_tokens(&c.rules()),
    }
}

fn help_doc(h: &HelpRequestRow) -> IndexDoc {
    IndexDoc {
        kind: DocKind::HelpRequest,
        id: h.id,
        title: h.title.clone(),
        // The plant's consumption figures are for those who work on it: not searchable.
        body: h.problem.clone(),
        tags: h.processes().into_iter().chain(h.equipment()).collect(),
        status: h.status.clone(),
        category: String::new(),
        industry: h.industry.clone(),
        enterprise_id: Some(h.enterprise_id),
        studio_id: h.studio_id,
        date: h.created_at.timestamp_micros(),
        verified_tce: h.tce.unwrap_or(0.0),
        access: vec![crate::domain::challenge::MEMBER.to_owned()],
    }
}

/// Writes to the index, run on the blocking pool.
type IndexWork = Box<dyn FnOnce(&SearchIndex) -> Result<(), search_index::SearchError> + Send>;

/// For sorted ids that fill at least half of their range: its first and last.
fn dense(ids: &[i64]) -> Option<(i64, i64)> {
    let (first, last) = (*ids.first()?, *ids.last()?);
    (last - first < 2 * ids.len() as i64).then_some((first, last))
}

/// The ids of `wanted` that are not among `found`.
fn missing(wanted: &[i64], found: impl Iterator<Item = i64>) -> Vec<i64> {
    let found: std::collections::HashSet<i64> = found.collect();
    wanted.iter().copied().filter(|id| !found.contains(id)).collect()
}

async fn follow(indexer: Weak<Indexer>, listening: Arc<Listening>) {
    let mut waiting = false;
    loop {
        let Some(ix) = indexer.upgrade() else { return };
        if !ix.index.is_writer() {
            if ix.db.is_closed() {
                return;
            }
            if let Err(e) = ix.take_over().await {
                tracing::warn!(error = %e.public_message(), "could not load the shared search index's commits; retrying");
            }
            if !ix.index.is_writer() {
                drop(ix);
                tokio::time::sleep(RELOAD).await;
                continue;
            }
        }
        let patience = listening.patience(waiting, POLL);
        tokio::select! {
            _ = ix.nudge.notified() => {}
            _ = tokio::time::sleep(patience) => {}
        }
        if ix.db.is_closed() {
            return;
        }
        // A writer that went before it ever filled the shared index left it to be rebuilt.
        let caught_up = if ix.index.needs_rebuild() {
            fill(&ix.db, &ix.index).await.map(|()| CatchUp::default())
        } else {
            ix.catch_up().await
        };
        match caught_up {
            Ok(c) => waiting = c.waiting,
            Err(e) => tracing::warn!(error = %e.public_message(), "search indexer could not catch up; retrying"),
        }
        ix.busy.store(false, std::sync::atomic::Ordering::Relaxed);
        drop(ix);
        // Changes arriving meanwhile wait a moment and go into one commit together: under a stream of
        // submissions the index commits (and its readers reload) at most this often, not once per change.
        tokio::time::sleep(COMMIT_GAP).await;
    }
}

/// Fills an index that has never been filled (see [`SearchIndex::needs_rebuild`]), saying so in the log.
async fn fill(db: &Db, index: &Arc<SearchIndex>) -> AppResult<()> {
    let n = rebuild(db, index, |_, _| {}).await?;
    tracing::info!(documents = n, "search index rebuilt from the database");
    Ok(())
}

/// Rebuilds the whole index from the database; `progress(done, total)` is called along the way.
/// Returns the number of documents written.
pub async fn rebuild(db: &Db, index: &Arc<SearchIndex>, progress: impl Fn(u64, u64)) -> AppResult<u64> {
    // The feed position is read first: anything written during the rebuild is replayed afterwards.
    let position = db.read(|s| Box::pin(async move { s.feed_end().await })).await?;
    let (proposals, techniques) = db
        .read(|s| {
            Box::pin(async move {
                let scope = crate::db::store::ListScope { is_admin: true, ..Default::default() };
                let (_, p) =
                    s.list_proposals(&scope, &Default::default(), &crate::db::rows::KeyPage::COUNT_ONLY).await?;
                let (_, t) = s.techniques(None, &crate::db::rows::KeyPage::COUNT_ONLY).await?;
                Ok((p, t))
            })
        })
        .await?;
    let total = (proposals + techniques) as u64;
    let ix = index.clone();
    blocking(move || ix.clear()).await?;
    let mut done = 0u64;
    let mut after = 0;
    loop {
        let batch =
            db.read(move |s| Box::pin(async move { s.proposal_index_batch(after, i64::MAX, BATCH).await })).await?;
        let Some(last) = batch.proposals.last().map(|p| p.id) else { break };
        after = last;
        let docs = proposal_docs(batch);
        done += docs.len() as u64;
        let ix = index.clone();
        blocking(move || docs.chunks(READ).try_for_each(|c| ix.write(c, []))).await?;
        progress(done, total);
    }
    let mut after = 0;
    loop {
        let rows =
            db.read(move |s| Box::pin(async move { s.technique_index_batch(after, i64::MAX, BATCH).await })).await?;
        let Some(last) = rows.last().map(|(t, _)| t.id) else { break };
        after = last;
        done += rows.len() as u64;
        let ix = index.clone();
        let docs: Vec<IndexDoc> = rows.iter().map(|(t, tce)| technique_doc(t, *tce)).collect();
        blocking(move || docs.chunks(READ).try_for_each(|c| ix.write(c, []))).await?;
        progress(done, total);
    }
    for kind in [DocKind::Challenge, DocKind::HelpRequest] {
        let mut after = 0;
        loop {
            let docs: Vec<IndexDoc> = db
                .read(move |s| {
                    Box::pin(async move {
                        Ok(match kind {
                            DocKind::Challenge => {
                                s.challenge_batch(after, BATCH).await?.iter().map(challenge_doc).collect()
                            }
                            _ => s.help_batch(after, BATCH).await?.iter().map(help_doc).collect(),
                        })
                    })
                })
                .await?;
            let Some(last) = docs.last().map(|d| d.id) else { break };
            after = last;
            done += docs.len() as u64;
            let ix = index.clone();
            blocking(move || docs.chunks(READ).try_for_each(|c| ix.write(c, []))).await?;
        }
    }
    let ix = index.clone();
    blocking(move || ix.commit(position)).await?;
    Ok(done)
}

/// The documents of a batch of proposals. Authors, reviewers and savings are grouped by proposal once,
/// so a batch costs its size, not its size squared (a batch holds thousands of each).
fn proposal_docs(b: ProposalIndexBatch) -> Vec<IndexDoc> {
    use std::collections::HashMap;
    let mut authors: HashMap<i64, Vec<i64>> = HashMap::with_capacity(b.proposals.len());
    for a in &b.authors {
        if let Some(u) = a.user_id {
            authors.entry(a.proposal_id).or_default().push(u);
        }
    }
    let mut reviewers: HashMap<i64, Vec<i64>> = HashMap::new();
    for (pid, r) in &b.reviewers {
        reviewers.entry(*pid).or_default().push(*r);
    }
    // The first verified figure of a proposal, as before.
    let mut verified: HashMap<i64, f64> = HashMap::new();
    for (pid, t) in &b.verified_tce {
        verified.entry(*pid).or_insert(*t);
    }
    b.proposals
        .into_iter()
        .map(|p| {
            let mut author_ids = authors.remove(&p.id).unwrap_or_default();
            author_ids.extend(p.created_by);
            let reviewers = reviewers.remove(&p.id).unwrap_or_default();
            let tce = verified.get(&p.id).copied().unwrap_or(0.0);
            let status = p.status();
            IndexDoc {
                kind: DocKind::Proposal,
                id: p.id,
                tags: p.tags(),
                title: p.title,
                body: p.body,
                status: p.status,
                category: p.category,
                industry: p.industry,
                enterprise_id: p.enterprise_id,
                studio_id: p.studio_id,
                date: p.submitted_at.unwrap_or(p.created_at).timestamp_micros(),
                verified_tce: tce,
                access: access_tokens(status, &author_ids, p.enterprise_id, &reviewers, p.confined),
            }
        })
        .collect()
}

fn technique_doc(t: &TechniqueRow, adopted_tce: f64) -> IndexDoc {
    IndexDoc {
        kind: DocKind::Technique,
        id: t.id,
        title: t.name.clone(),
        body: [
            t.scope.as_str(),
            t.principle.as_str(),
            t.key_parameters.as_str(),
            t.typical_case.as_str(),
            t.effect.as_str(),
        ]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("\n"),
        tags: vec![],
        status: Status::Promoted.as_str().to_owned(),
        category: String::new(),
        industry: t.industry.clone(),
        enterprise_id: None,
        studio_id: None,
        date: t.created_at.timestamp_micros(),
        verified_tce: adopted_tce,
        // The catalogue is public.
        access: vec!["public".to_owned()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_ids_are_read_as_a_range() {
        assert_eq!(dense(&[5, 6, 7, 9]), Some((5, 9)));
        assert_eq!(dense(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 16]), Some((1, 16)));
        assert_eq!(dense(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 40]), None, "a sparse set is read by its ids");
        assert_eq!(dense(&[]), None);
    }

    fn proposal(id: i64, status: &str, created_by: Option<i64>) -> crate::db::rows::ProposalRow {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        crate::db::rows::ProposalRow {
            id,
            external_id: None,
            title: format!("方案{id}"),
            body: "余热回收".into(),
            category: "ENERGY".into(),
            industry: "METALLURGY".into(),
            tags: "[]".into(),
            enterprise_id: Some(7),
            team_id: None,
            studio_id: None,
            created_by,
            on_behalf_of: None,
            status: status.into(),
            version: 1,
            round: 1,
            idempotency_key: None,
            decision: None,
            decision_reason: None,
            decision_criteria_version: None,
            created_at: at,
            updated_at: at,
            submitted_at: None,
            decided_at: None,
            adopted_at: None,
            promoted_at: None,
            duplicate_of: None,
            challenge_id: None,
            confined: false,
        }
    }

    #[test]
    fn each_proposal_gets_its_own_authors_reviewers_and_savings() {
        use crate::db::rows::AuthorRow;
        let author = |proposal_id, user_id| AuthorRow { proposal_id, position: 0, user_id, name: "工人".into() };
        let batch = ProposalIndexBatch {
            proposals: vec![
                proposal(1, "EVALUATING", Some(10)),
                proposal(2, "DRAFT", None),
                proposal(3, "ADOPTED", None),
            ],
            authors: vec![author(1, Some(11)), author(2, Some(20)), author(2, None), author(3, Some(30))],
            reviewers: vec![(1, 50), (3, 51), (1, 52)],
            verified_tce: vec![(3, 12.5), (3, 99.0)],
        };
        let docs = proposal_docs(batch);
        let access: Vec<Vec<&str>> = docs.iter().map(|d| d.access.iter().map(String::as_str).collect()).collect();
        assert_eq!(access[0], ["author:10", "author:11", "ent:7", "reviewer:50", "reviewer:52"]);
        assert_eq!(access[1], ["author:20"], "a draft: its author only, and no one else's");
        assert_eq!(access[2], ["assoc", "author:30", "ent:7", "public", "reviewer:51"]);
        let tce: Vec<f64> = docs.iter().map(|d| d.verified_tce).collect();
        assert_eq!(tce, [0.0, 0.0, 12.5], "the first verified figure, and only the proposal's own");
    }

    #[test]
    fn missing_ids_are_the_ones_not_found() {
        assert_eq!(missing(&[1, 2, 3, 4], [2, 4].into_iter()), vec![1, 3]);
    }
}
