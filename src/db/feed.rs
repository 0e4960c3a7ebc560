//! What the followers of the database read — the search indexer and the event hub: the change feed and
//! the event log in feed order, and the proposals and techniques the index needs. The statements of this
//! area, for both backends and both kinds of handle (transaction, pooled connection), like `store.rs`.
//!
//! The order of the change feed and the event log: rows are read in `(txid, seq)` order, and a row is
//! *settled* when its transaction is older than every transaction still in progress — it has committed
//! (or rolled back, and is not there), and no row can later appear before it. Followers take the settled
//! rows and wait for the rest, so concurrent writers commit in parallel and no follower skips or repeats
//! a row (`pg_snapshot_xmin`: PostgreSQL's snapshot functions). SQLite has one writer at a time: its rows
//! commit in seq order with txid 0, and every row it shows is settled. (The condition is a literal in
//! each `feed_impl!` below, because SQL text is assembled with `concat!`.)

use sqlx::pool::PoolConnection;

use super::{
    rows::{AuthorRow, EventRow, FeedPosition, FeedRow, ProposalRow, TechniqueRow},
    store::InOrder,
};
use crate::error::AppResult;

/// What the search index needs of a batch of proposals.
#[derive(Default)]
pub struct ProposalIndexBatch {
    pub proposals: Vec<ProposalRow>,
    pub authors: Vec<AuthorRow>,
    /// (proposal_id, reviewer_id), any round.
    pub reviewers: Vec<(i64, i64)>,
    /// (proposal_id, verified tce).
    pub verified_tce: Vec<(i64, f64)>,
}

#[async_trait::async_trait]
pub trait FeedStore: Send {
    /// Events after `after` in feed order ([`FeedPosition`]), each marked settled or not: a follower
    /// takes the settled ones at the front and waits for the rest.
    async fn events_after(&mut self, after: FeedPosition, limit: i64) -> AppResult<Vec<EventRow>>;
    /// Where the event with this id (a subscription's `sequence`) stands in feed order.
    async fn event_position(&mut self, id: i64) -> AppResult<Option<FeedPosition>>;
    /// The last settled event's position: a follower starting there misses nothing that commits later.
    async fn last_event_position(&mut self) -> AppResult<FeedPosition>;
    /// Change-feed rows after `position`, in feed order, each marked settled or not.
    async fn feed_after(&mut self, position: FeedPosition, limit: i64) -> AppResult<Vec<FeedRow>>;
    /// The last settled feed row's position (the start when there is none).
    async fn feed_end(&mut self) -> AppResult<FeedPosition>;
    /// How many feed rows come after `position` (counted up to `cap`).
    async fn feed_lag(&mut self, position: FeedPosition, cap: i64) -> AppResult<i64>;
    /// These proposals (those that still exist), with what the index needs of them.
    async fn proposal_index_docs(&mut self, ids: &[i64]) -> AppResult<ProposalIndexBatch>;
    /// These techniques (those that still exist), with their adoptions' total tce.
    async fn technique_index_docs(&mut self, ids: &[i64]) -> AppResult<Vec<(TechniqueRow, f64)>>;
    /// Proposals with `after_id < id <= upto_id` (at most `limit`), with what the index needs of them.
    async fn proposal_index_batch(&mut self, after_id: i64, upto_id: i64, limit: i64) -> AppResult<ProposalIndexBatch>;
    /// Techniques with `after_id < id <= upto_id` (at most `limit`), with their adoptions' total tce.
    async fn technique_index_batch(
        &mut self,
        after_id: i64,
        upto_id: i64,
        limit: i64,
    ) -> AppResult<Vec<(TechniqueRow, f64)>>;
}

macro_rules! feed_impl {
    ($ty:ty, $settled:literal) => {
        #[async_trait::async_trait]
        impl FeedStore for $ty {
            async fn events_after(&mut self, after: FeedPosition, limit: i64) -> AppResult<Vec<EventRow>> {
                Ok(sqlx::query_as(concat!("select *, ", $settled, " as settled from events
                     where (txid, id) > ($1, $2) order by txid, id limit $3"))
                    .bind(after.txid).bind(after.seq).bind(limit).fetch_all(&mut **self).await?)
            }

            async fn event_position(&mut self, id: i64) -> AppResult<Option<FeedPosition>> {
                let found: Option<(i64, i64)> = sqlx::query_as("select txid, id from events where id = $1")
                    .bind(id).fetch_optional(&mut **self).await?;
                Ok(found.map(|(txid, seq)| FeedPosition { txid, seq }))
            }

            async fn last_event_position(&mut self) -> AppResult<FeedPosition> {
                let found: Option<(i64, i64)> = sqlx::query_as(concat!("select txid, id from events where ", $settled,
                    " order by txid desc, id desc limit 1")).fetch_optional(&mut **self).await?;
                Ok(found.map(|(txid, seq)| FeedPosition { txid, seq }).unwrap_or_default())
            }

            async fn feed_after(&mut self, position: FeedPosition, limit: i64) -> AppResult<Vec<FeedRow>> {
                Ok(sqlx::query_as(concat!("select seq, entity, entity_id, txid, ", $settled, " as settled from change_feed
                     where (txid, seq) > ($1, $2) order by txid, seq limit $3"))
                    .bind(position.txid).bind(position.seq).bind(limit).fetch_all(&mut **self).await?)
            }

            async fn feed_end(&mut self) -> AppResult<FeedPosition> {
                let found: Option<(i64, i64)> = sqlx::query_as(concat!("select txid, seq from change_feed where ", $settled,
                    " order by txid desc, seq desc limit 1")).fetch_optional(&mut **self).await?;
                Ok(found.map(|(txid, seq)| FeedPosition { txid, seq }).unwrap_or_default())
            }

            async fn feed_lag(&mut self, position: FeedPosition, cap: i64) -> AppResult<i64> {
                Ok(sqlx::query_scalar("select count(*) from (select 1 from change_feed where (txid, seq) > ($1, $2) limit $3) behind")
                    .bind(position.txid).bind(position.seq).bind(cap).fetch_one(&mut **self).await?)
            }

            async fn proposal_index_batch(&mut self, after_id: i64, upto_id: i64, limit: i64) -> AppResult<ProposalIndexBatch> {
                let proposals: Vec<ProposalRow> = sqlx::query_as("select * from proposals where id > $1 and id <= $2 order by id limit $3")
                    .bind(after_id).bind(upto_id).bind(limit).fetch_all(&mut **self).await?;
                let Some(last) = proposals.last().map(|p| p.id) else { return Ok(ProposalIndexBatch::default()) };
                let authors = sqlx::query_as("select * from proposal_authors where proposal_id > $1 and proposal_id <= $2 order by proposal_id, position")
                    .bind(after_id).bind(last).fetch_all(&mut **self).await?;
                let reviewers = sqlx::query_as("select proposal_id, reviewer_id from review_assignments where proposal_id > $1 and proposal_id <= $2")
                    .bind(after_id).bind(last).fetch_all(&mut **self).await?;
                let verified_tce = sqlx::query_as("select proposal_id, tce from savings where kind = 'VERIFIED' and proposal_id > $1 and proposal_id <= $2")
                    .bind(after_id).bind(last).fetch_all(&mut **self).await?;
                Ok(ProposalIndexBatch { proposals, authors, reviewers, verified_tce })
            }

            async fn technique_index_batch(&mut self, after_id: i64, upto_id: i64, limit: i64) -> AppResult<Vec<(TechniqueRow, f64)>> {
                let techniques: Vec<TechniqueRow> = sqlx::query_as("select * from techniques where id > $1 and id <= $2 order by id limit $3")
                    .bind(after_id).bind(upto_id).bind(limit).fetch_all(&mut **self).await?;
                let Some(last) = techniques.last().map(|t| t.id) else { return Ok(vec![]) };
                let totals: Vec<(i64, f64)> = sqlx::query_as(
                    "select technique_id, coalesce(sum(tce), 0) from adoptions where technique_id > $1 and technique_id <= $2 group by technique_id",
                ).bind(after_id).bind(last).fetch_all(&mut **self).await?;
                Ok(with_adopted_tce(techniques, &totals))
            }

            async fn proposal_index_docs(&mut self, ids: &[i64]) -> AppResult<ProposalIndexBatch> {
                if ids.is_empty() {
                    return Ok(ProposalIndexBatch::default());
                }
                // Only placeholders are formatted into the SQL; the ids are bound.
                let list = <Self as InOrder>::params(ids.len(), 1);
                let proposals: Vec<ProposalRow> = ids.iter().fold(
                    sqlx::query_as(&format!("select * from proposals where id in ({list})")), |q, id| q.bind(*id))
                    .fetch_all(&mut **self).await?;
                let authors = ids.iter().fold(
                    sqlx::query_as(&format!("select * from proposal_authors where proposal_id in ({list}) order by proposal_id, position")),
                    |q, id| q.bind(*id)).fetch_all(&mut **self).await?;
                let reviewers = ids.iter().fold(
                    sqlx::query_as(&format!("select proposal_id, reviewer_id from review_assignments where proposal_id in ({list})")),
                    |q, id| q.bind(*id)).fetch_all(&mut **self).await?;
                let verified_tce = ids.iter().fold(
                    sqlx::query_as(&format!("select proposal_id, tce from savings where kind = 'VERIFIED' and proposal_id in ({list})")),
                    |q, id| q.bind(*id)).fetch_all(&mut **self).await?;
                Ok(ProposalIndexBatch { proposals, authors, reviewers, verified_tce })
            }

            async fn technique_index_docs(&mut self, ids: &[i64]) -> AppResult<Vec<(TechniqueRow, f64)>> {
                if ids.is_empty() {
                    return Ok(vec![]);
                }
                let list = <Self as InOrder>::params(ids.len(), 1);
                let techniques: Vec<TechniqueRow> = ids.iter().fold(
                    sqlx::query_as(&format!("select * from techniques where id in ({list})")), |q, id| q.bind(*id))
                    .fetch_all(&mut **self).await?;
                let totals: Vec<(i64, f64)> = ids.iter().fold(
                    sqlx::query_as(&format!("select technique_id, coalesce(sum(tce), 0) from adoptions where technique_id in ({list}) group by technique_id")),
                    |q, id| q.bind(*id)).fetch_all(&mut **self).await?;
                Ok(with_adopted_tce(techniques, &totals))
            }
        }
    };
}

feed_impl!(sqlx::Transaction<'static, sqlx::Sqlite>, "1 = 1");
feed_impl!(sqlx::Transaction<'static, sqlx::Postgres>, "txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint");
feed_impl!(PoolConnection<sqlx::Sqlite>, "1 = 1");
feed_impl!(PoolConnection<sqlx::Postgres>, "txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint");

/// Each technique with the total tce of its adoptions (`totals`: technique id, sum).
fn with_adopted_tce(techniques: Vec<TechniqueRow>, totals: &[(i64, f64)]) -> Vec<(TechniqueRow, f64)> {
    let totals: std::collections::HashMap<i64, f64> = totals.iter().copied().collect();
    techniques
        .into_iter()
        .map(|t| {
            let tce = totals.get(&t.id).copied().unwrap_or(0.0);
            (t, tce)
        })
        .collect()
}
