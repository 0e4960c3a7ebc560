//! The hash chain, its checkpoints and the signing key: the statements of this area for both backends and
//! both kinds of handle, like `store.rs`. What the hashes are is `domain::proof`; who writes them is
//! `crate::chain`.

use chrono::{DateTime, Utc};
use sqlx::{pool::PoolConnection, FromRow};

use super::{
    rows::{EventRow, FeedPosition},
    store::InOrder,
};
use crate::error::AppResult;

#[derive(FromRow, Clone, Debug)]
pub struct LinkRow {
    pub position: i64,
    pub event_id: i64,
    pub event_hash: String,
    pub hash: String,
    pub chained_at: DateTime<Utc>,
}

/// The chain's last link and where its event stands in feed order.
#[derive(Clone, Debug)]
pub struct ChainHead {
    pub position: i64,
    pub hash: String,
    pub after: FeedPosition,
}

#[derive(FromRow, Clone, Debug)]
pub struct CheckpointRow {
    pub position: i64,
    pub hash: String,
    pub key_id: String,
    pub public_key: String,
    pub signature: String,
    pub signed_at: DateTime<Utc>,
}

pub struct NewLink {
    pub position: i64,
    pub event_id: i64,
    pub event_hash: String,
    pub hash: String,
}

#[async_trait::async_trait]
pub trait ProofStore: Send {
    /// Whether this transaction may link events now: on PostgreSQL, one chainer of the fleet at a time
    /// (`pg_try_advisory_xact_lock`, never waited for; the others skip the round). Writers of events never
    /// take it. SQLite's one writer links alone anyway.
    async fn chain_turn(&mut self) -> AppResult<bool>;
    async fn chain_head(&mut self) -> AppResult<Option<ChainHead>>;
    /// Inserts links; one another instance wrote first is left as it is. Returns how many were new.
    async fn insert_links(&mut self, links: &[NewLink], now: DateTime<Utc>) -> AppResult<u64>;
    /// Links with `position > after`, in order, at most `limit`.
    async fn links_after(&mut self, after: i64, limit: i64) -> AppResult<Vec<LinkRow>>;
    async fn link_at(&mut self, position: i64) -> AppResult<Option<LinkRow>>;
    async fn link_of_event(&mut self, event_id: i64) -> AppResult<Option<LinkRow>>;
    async fn events_by_ids(&mut self, ids: &[i64]) -> AppResult<Vec<EventRow>>;
    async fn event(&mut self, id: i64) -> AppResult<Option<EventRow>>;
    /// How many events are not chained yet.
    async fn unchained(&mut self) -> AppResult<i64>;
    async fn latest_checkpoint(&mut self) -> AppResult<Option<CheckpointRow>>;
    async fn checkpoints(&mut self) -> AppResult<Vec<CheckpointRow>>;
    async fn insert_checkpoint(&mut self, c: &CheckpointRow) -> AppResult<()>;
    /// The stored signing key: (key id, PKCS#8 in base64).
    async fn signing_key(&mut self) -> AppResult<Option<(String, String)>>;
    async fn insert_signing_key(&mut self, key_id: &str, pkcs8: &str, now: DateTime<Utc>) -> AppResult<()>;
    /// The proposal's last submission event (the one with content hashes).
    async fn last_submission(&mut self, proposal_id: i64) -> AppResult<Option<EventRow>>;
    /// Proposals with their last submission's event id, for `audit verify`: (proposal id, status, event id),
    /// `after_id < id`, at most `limit`.
    async fn submitted_proposals(&mut self, after_id: i64, limit: i64) -> AppResult<Vec<(i64, String, i64)>>;
    /// The attachments' SHA-256, in the order they were added.
    async fn attachment_hashes(&mut self, proposal_id: i64) -> AppResult<Vec<String>>;
}

macro_rules! proof_impl {
    ($ty:ty, $turn:expr) => {
        #[async_trait::async_trait]
        impl ProofStore for $ty {
            async fn chain_turn(&mut self) -> AppResult<bool> {
                match $turn {
                    Some(sql) => Ok(sqlx::query_scalar(sql).fetch_one(&mut **self).await?),
                    None => Ok(true),
                }
            }

            async fn chain_head(&mut self) -> AppResult<Option<ChainHead>> {
                let row: Option<(i64, String, i64, i64)> = sqlx::query_as(
                    "select c.position, c.hash, e.txid, e.id from event_chain c join events e on e.id = c.event_id
                     order by c.position desc limit 1",
                )
                .fetch_optional(&mut **self)
                .await?;
                Ok(row.map(|(position, hash, txid, seq)| ChainHead { position, hash, after: FeedPosition { txid, seq } }))
            }

            async fn insert_links(&mut self, links: &[NewLink], now: DateTime<Utc>) -> AppResult<u64> {
                let mut inserted = 0;
                for chunk in links.chunks(500) {
                    let sql = format!(
                        "insert into event_chain (position, event_id, event_hash, hash, chained_at) values {}
                         on conflict do nothing",
                        <Self as InOrder>::params(chunk.len(), 5)
                    );
                    let mut q = sqlx::query(&sql);
                    for l in chunk {
                        q = q.bind(l.position).bind(l.event_id).bind(&l.event_hash).bind(&l.hash).bind(now);
                    }
                    inserted += q.execute(&mut **self).await?.rows_affected();
                }
                Ok(inserted)
            }

            async fn links_after(&mut self, after: i64, limit: i64) -> AppResult<Vec<LinkRow>> {
                Ok(sqlx::query_as("select * from event_chain where position > $1 order by position limit $2")
                    .bind(after).bind(limit).fetch_all(&mut **self).await?)
            }

            async fn link_at(&mut self, position: i64) -> AppResult<Option<LinkRow>> {
                Ok(sqlx::query_as("select * from event_chain where position = $1")
                    .bind(position).fetch_optional(&mut **self).await?)
            }

            async fn link_of_event(&mut self, event_id: i64) -> AppResult<Option<LinkRow>> {
                Ok(sqlx::query_as("select * from event_chain where event_id = $1")
                    .bind(event_id).fetch_optional(&mut **self).await?)
            }

            async fn events_by_ids(&mut self, ids: &[i64]) -> AppResult<Vec<EventRow>> {
                let mut out = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(500) {
                    let sql = format!("select * from events where id in ({})", <Self as InOrder>::params(chunk.len(), 1));
                    let mut q = sqlx::query_as::<_, EventRow>(&sql);
                    for id in chunk {
                        q = q.bind(id);
                    }
                    out.extend(q.fetch_all(&mut **self).await?);
                }
                Ok(out)
            }

            async fn event(&mut self, id: i64) -> AppResult<Option<EventRow>> {
                Ok(sqlx::query_as("select * from events where id = $1").bind(id).fetch_optional(&mut **self).await?)
            }

            async fn unchained(&mut self) -> AppResult<i64> {
                Ok(sqlx::query_scalar(
                    "select (select count(*) from events) - (select count(*) from event_chain)",
                )
                .fetch_one(&mut **self)
                .await?)
            }

            async fn latest_checkpoint(&mut self) -> AppResult<Option<CheckpointRow>> {
                Ok(sqlx::query_as("select * from chain_checkpoints order by position desc limit 1")
                    .fetch_optional(&mut **self).await?)
            }

            async fn checkpoints(&mut self) -> AppResult<Vec<CheckpointRow>> {
                Ok(sqlx::query_as("select * from chain_checkpoints order by position").fetch_all(&mut **self).await?)
            }

            async fn insert_checkpoint(&mut self, c: &CheckpointRow) -> AppResult<()> {
                sqlx::query(
                    "insert into chain_checkpoints (position, hash, key_id, public_key, signature, signed_at)
                     values ($1, $2, $3, $4, $5, $6) on conflict do nothing",
                )
                .bind(c.position).bind(&c.hash).bind(&c.key_id).bind(&c.public_key).bind(&c.signature).bind(c.signed_at)
                .execute(&mut **self)
                .await?;
                Ok(())
            }

            async fn signing_key(&mut self) -> AppResult<Option<(String, String)>> {
                Ok(sqlx::query_as("select key_id, pkcs8 from signing_keys where slot = 1")
                    .fetch_optional(&mut **self).await?)
            }

            async fn insert_signing_key(&mut self, key_id: &str, pkcs8: &str, now: DateTime<Utc>) -> AppResult<()> {
                sqlx::query(
                    "insert into signing_keys (slot, key_id, pkcs8, created_at) values (1, $1, $2, $3) on conflict do nothing",
                )
                .bind(key_id).bind(pkcs8).bind(now).execute(&mut **self).await?;
                Ok(())
            }

            async fn last_submission(&mut self, proposal_id: i64) -> AppResult<Option<EventRow>> {
                Ok(sqlx::query_as(
                    "select * from events where proposal_id = $1 and content is not null order by id desc limit 1",
                )
                .bind(proposal_id)
                .fetch_optional(&mut **self)
                .await?)
            }

            async fn submitted_proposals(&mut self, after_id: i64, limit: i64) -> AppResult<Vec<(i64, String, i64)>> {
                Ok(sqlx::query_as(
                    "select p.id, p.status, max(e.id) from proposals p join events e on e.proposal_id = p.id
                     where p.id > $1 and e.content is not null group by p.id, p.status order by p.id limit $2",
                )
                .bind(after_id).bind(limit).fetch_all(&mut **self).await?)
            }

            async fn attachment_hashes(&mut self, proposal_id: i64) -> AppResult<Vec<String>> {
                Ok(sqlx::query_scalar("select sha256 from attachments where proposal_id = $1 order by id")
                    .bind(proposal_id).fetch_all(&mut **self).await?)
            }
        }
    };
}

/// The chainers' turn on PostgreSQL (a key of its own, apart from the object locks' 7251002).
const PG_CHAIN_TURN: Option<&str> = Some("select pg_try_advisory_xact_lock(7251003, 0)");

proof_impl!(sqlx::Transaction<'static, sqlx::Sqlite>, None::<&str>);
proof_impl!(sqlx::Transaction<'static, sqlx::Postgres>, PG_CHAIN_TURN);
proof_impl!(PoolConnection<sqlx::Sqlite>, None::<&str>);
proof_impl!(PoolConnection<sqlx::Postgres>, PG_CHAIN_TURN);
