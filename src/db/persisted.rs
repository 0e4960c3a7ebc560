//! Automatic persisted queries: documents registered by their SHA-256 (hex), shared by every instance.
//! The statements of this area, for both backends and both kinds of handle, like `store.rs`.

use sqlx::pool::PoolConnection;

use crate::error::AppResult;

/// How many registered documents are kept; registering one more drops the oldest.
pub const MAX_PERSISTED: i64 = 10_000;

#[async_trait::async_trait]
pub trait PersistedStore: Send {
    async fn persisted_query(&mut self, hash: &str) -> AppResult<Option<String>>;
    /// Registers a document (once: a hash already there keeps its document), then drops the oldest
    /// registrations past [`MAX_PERSISTED`].
    async fn persist_query(&mut self, hash: &str, document: &str, now_ms: i64) -> AppResult<()>;
}

macro_rules! persisted_impl {
    ($ty:ty) => {
        #[async_trait::async_trait]
        impl PersistedStore for $ty {
            async fn persisted_query(&mut self, hash: &str) -> AppResult<Option<String>> {
                let row: Option<(String,)> = sqlx::query_as("select document from persisted_queries where hash = $1")
                    .bind(hash)
                    .fetch_optional(&mut **self)
                    .await?;
                Ok(row.map(|(d,)| d))
            }

            async fn persist_query(&mut self, hash: &str, document: &str, now_ms: i64) -> AppResult<()> {
                let added = sqlx::query(
                    "insert into persisted_queries (hash, document, created_ms) values ($1, $2, $3)
                     on conflict (hash) do nothing",
                )
                .bind(hash)
                .bind(document)
                .bind(now_ms)
                .execute(&mut **self)
                .await?;
                if added.rows_affected() > 0 {
                    sqlx::query(
                        "delete from persisted_queries where created_ms <
                         (select created_ms from persisted_queries order by created_ms desc limit 1 offset $1)",
                    )
                    .bind(MAX_PERSISTED - 1)
                    .execute(&mut **self)
                    .await?;
                }
                Ok(())
            }
        }
    };
}

persisted_impl!(sqlx::Transaction<'static, sqlx::Sqlite>);
persisted_impl!(sqlx::Transaction<'static, sqlx::Postgres>);
persisted_impl!(PoolConnection<sqlx::Sqlite>);
persisted_impl!(PoolConnection<sqlx::Postgres>);
