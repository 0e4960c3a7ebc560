//! The store: one set of SQL statements run on either SQLite (embedded default) or PostgreSQL.
//!
//! sqlx's `Any` driver cannot bind timestamps, so the store keeps a typed pool per backend and the
//! [`with_db!`] macro expands each operation once per backend from the same source text. SQL uses `$1`
//! placeholders, which both drivers accept; statements of many parameters write them with
//! [`store::InOrder`], bare `?` on SQLite. Migrations are kept per backend and applied at start.

pub mod challenges;
pub mod coauthors;
pub mod feed;
pub mod help;
pub mod listen;
pub mod notifications;
pub mod organisations;
pub mod oversight;
pub mod people;
pub mod persisted;
pub mod proof;
pub mod rows;
pub mod store;
pub mod users;

use std::{str::FromStr, time::Duration};

use anyhow::Context;
use sqlx::{
    postgres::{PgPoolOptions, Postgres},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    Database, PgPool, SqlitePool, Transaction,
};

/// A connection pool to one of the two supported backends. SQLite has one writer at a time; its writers in
/// this process take turns at a [`WriteTurn`] first.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool, WriteTurn),
    Postgres(PgPool, Pooler),
}

/// Whether PostgreSQL is reached through a pooler in transaction mode (PgBouncer `pool_mode = transaction`).
/// There, consecutive statements outside a transaction may run on different server connections, so every
/// read runs inside a transaction, and no statement is kept prepared on a connection (the pooler must
/// discard them between transactions: `server_reset_query = DISCARD ALL`, `server_reset_query_always = 1`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Pooler {
    pub transaction_mode: bool,
}

/// The queue of this process's SQLite writers. Without it, a writer that finds the database locked sleeps
/// in SQLite's busy handler (1, 2, 5, 10 … 100 ms steps) and may wake long after the lock was free: ~85 ms
/// at p99 for a submission under the mixed load, against ~9 ms at p50. Waiting here wakes the next writer
/// as soon as the previous one commits, in arrival order. Writers in other processes (`greenline import`
/// beside the server) still meet on the busy timeout.
#[derive(Clone, Debug, Default)]
pub struct WriteTurn(std::sync::Arc<tokio::sync::Mutex<()>>);

/// Runs `$body` with `$conn` bound to a connection of whichever backend `$db` is: a pooled one, or a
/// transaction behind a transaction-mode pooler (see [`Pooler`]). Returns early on a database error.
#[macro_export]
macro_rules! with_conn {
    ($db:expr, $conn:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Postgres(pool, $crate::db::Pooler { transaction_mode: true }) => {
                let mut tx = pool.begin().await?;
                let $conn = &mut *tx;
                let r = $body;
                tx.commit().await?;
                r
            }
            $crate::db::Db::Postgres(pool, _) => {
                let mut c = pool.acquire().await?;
                let $conn = &mut *c;
                $body
            }
            $crate::db::Db::Sqlite(pool, _) => {
                let mut c = pool.acquire().await?;
                let $conn = &mut *c;
                $body
            }
        }
    };
}

/// Runs `$body` with `$pool` bound to the typed pool of whichever backend `$db` is.
#[macro_export]
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool, _) => $body,
            $crate::db::Db::Postgres($pool, _) => $body,
        }
    };
}

/// Opening a transaction that will write. SQLite takes the write lock up front (`BEGIN IMMEDIATE`), so
/// that writers of different processes queue on the busy timeout instead of failing on a lock upgrade
/// (this process's writers have taken their [`WriteTurn`] first).
pub trait WritePool {
    type Db: Database;
    fn begin_write(&self) -> impl std::future::Future<Output = sqlx::Result<Transaction<'static, Self::Db>>> + Send;
}

impl WritePool for SqlitePool {
    type Db = sqlx::Sqlite;
    async fn begin_write(&self) -> sqlx::Result<Transaction<'static, sqlx::Sqlite>> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl WritePool for PgPool {
    type Db = Postgres;
    async fn begin_write(&self) -> sqlx::Result<Transaction<'static, Postgres>> {
        self.begin().await
    }
}

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

macro_rules! migrations {
    ($dir:literal: $($version:literal $name:literal),* $(,)?) => {
        &[$(Migration { version: $version, name: $name, sql: include_str!(concat!("../../migrations/", $dir, "/", $name, ".sql")) }),*]
    };
}

const SQLITE_MIGRATIONS: &[Migration] = migrations!("sqlite": 1 "0001_organisations_users", 2 "0002_proposal_journey", 3 "0003_attachments", 4 "0004_import", 5 "0005_author_lookup", 6 "0006_coauthor_invitations", 7 "0007_feed_by_transaction", 8 "0008_persisted_queries", 9 "0009_duplicates", 10 "0010_people", 11 "0011_notifications", 12 "0012_challenges", 13 "0013_oversight_proof");
const POSTGRES_MIGRATIONS: &[Migration] = migrations!("postgres": 1 "0001_organisations_users", 2 "0002_proposal_journey", 3 "0003_attachments", 4 "0004_import", 5 "0005_author_lookup", 6 "0006_coauthor_invitations", 7 "0007_feed_by_transaction", 8 "0008_persisted_queries", 9 "0009_duplicates", 10 "0010_people", 11 "0011_notifications", 12 "0012_challenges", 13 "0013_oversight_proof");

/// The file of a SQLite URL (`sqlite://path`, `sqlite:path` or a bare path); `None` for PostgreSQL.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    (!url.starts_with("postgres://") && !url.starts_with("postgresql://")).then(|| sqlite_path(url).into())
}

fn sqlite_path(url: &str) -> &str {
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    path.split('?').next().unwrap_or(path)
}

/// How to connect.
#[derive(Clone, Debug)]
pub struct Options {
    /// PostgreSQL connections at most.
    pub pool_size: u32,
    /// PostgreSQL through a transaction-mode pooler.
    pub pooler: Pooler,
    /// SQLite: `synchronous=FULL` (true) or `NORMAL`.
    pub sqlite_durable: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { pool_size: 16, pooler: Pooler::default(), sqlite_durable: true }
    }
}

impl Db {
    /// Connects to `url` (creating a SQLite file and its directory when missing) and applies pending migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        Db::connect_with(url, &Options::default()).await
    }

    /// As [`Db::connect`], with these settings.
    pub async fn connect_with(url: &str, options: &Options) -> anyhow::Result<Db> {
        let pool_size = options.pool_size;
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut connect = sqlx::postgres::PgConnectOptions::from_str(url)
                .with_context(|| format!("GREENLINE_DATABASE_URL {}", crate::config::redact_url(url)))?;
            if options.pooler.transaction_mode {
                connect = connect.statement_cache_capacity(0);
            }
            let pool = PgPoolOptions::new()
                .max_connections(pool_size.max(2))
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(connect)
                .await
                .with_context(|| format!("connecting to PostgreSQL at {}", crate::config::redact_url(url)))?;
            Db::Postgres(pool, options.pooler)
        } else {
            let path = sqlite_path(url);
            if let Some(dir) = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            let connect = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // Acknowledged means durable: each commit reaches the disk before it returns, so a
                // power cut or an OS crash cannot take back a submission that was answered. (NORMAL in WAL
                // mode survives a process kill only.) The cost is in BENCHMARKS.md.
                .synchronous(if options.sqlite_durable { SqliteSynchronous::Full } else { SqliteSynchronous::Normal })
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(15))
                // Pages read through a shared memory map rather than a read() and a copy per page, and a
                // larger private page cache per connection (16 MiB; SQLite's default is 2 MiB).
                .pragma("mmap_size", "1073741824")
                .pragma("cache_size", "-16384")
                // Rows come from the connection's thread through a channel: with sqlx's 50 places, a
                // follower reading 1,000 proposals at a time stopped that thread (a futex wait and a wake-up)
                // every 50 rows whenever the reader fell behind.
                .row_buffer_size(1024);
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                // A file does not hang up: the ping before each checkout was one more hand-off to the
                // connection's thread and back, for every statement group.
                .test_before_acquire(false)
                .connect_with(connect)
                .await
                .with_context(|| format!("opening SQLite database {path}"))?;
            Db::Sqlite(pool, WriteTurn::default())
        };
        db.migrate().await?;
        db.seed_defaults().await?;
        Ok(db)
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(..) => "sqlite",
            Db::Postgres(..) => "postgres",
        }
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        let migrations = match self {
            Db::Sqlite(..) => SQLITE_MIGRATIONS,
            Db::Postgres(..) => POSTGRES_MIGRATIONS,
        };
        with_db!(self, pool => {
            sqlx::raw_sql(
                "create table if not exists schema_migrations (version bigint primary key, name text not null, applied_at text not null)",
            )
            .execute(pool)
            .await?;
            for m in migrations {
                let mut tx = pool.begin_write().await?;
                if let Db::Postgres(..) = self {
                    // Two servers starting at once on one database: the second waits, then sees the version applied.
                    sqlx::raw_sql("select pg_advisory_xact_lock(7251000)").execute(&mut *tx).await?;
                }
                let applied: Option<i64> = sqlx::query_scalar("select version from schema_migrations where version = $1")
                    .bind(m.version)
                    .fetch_optional(&mut *tx)
                    .await?;
                if applied.is_some() {
                    continue;
                }
                sqlx::raw_sql(m.sql).execute(&mut *tx).await.with_context(|| format!("migration {} {}", m.version, m.name))?;
                sqlx::query("insert into schema_migrations (version, name, applied_at) values ($1, $2, $3)")
                    .bind(m.version)
                    .bind(m.name)
                    .bind(chrono::Utc::now().to_rfc3339())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                tracing::info!(version = m.version, name = m.name, "applied migration");
            }
        });
        Ok(())
    }

    /// Refreshes the query planner's statistics after a bulk change (PostgreSQL `ANALYZE`; SQLite plans
    /// from its indexes without them).
    pub async fn refresh_statistics(&self) -> anyhow::Result<()> {
        if let Db::Postgres(pool, _) = self {
            sqlx::raw_sql("analyze").execute(pool).await?;
        }
        Ok(())
    }

    /// A trivial round trip, for `/readyz`.
    pub async fn ping(&self) -> anyhow::Result<()> {
        // The simple protocol: one message, whichever server connection a pooler picks.
        with_db!(self, pool => { sqlx::raw_sql("select 1").execute(pool).await?; });
        Ok(())
    }

    pub async fn close(&self) {
        with_db!(self, pool => pool.close().await)
    }
}

impl Db {
    /// Waits for this process's turn to write (SQLite; PostgreSQL writers need none). Hold it until the
    /// write transaction has committed or rolled back.
    pub async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self {
            Db::Sqlite(_, turn) => Some(turn.0.lock().await),
            Db::Postgres(..) => None,
        }
    }

    /// Runs `f` in one write transaction: committed when it returns `Ok`, rolled back otherwise.
    pub async fn write<R, F>(&self, f: F) -> crate::error::AppResult<R>
    where
        R: Send,
        F: for<'t> FnOnce(&'t mut dyn store::Store) -> futures_util::future::BoxFuture<'t, crate::error::AppResult<R>>
            + Send,
    {
        let _turn = self.write_turn().await;
        with_db!(self, pool => {
            let transaction = async {
                let mut tx = pool.begin_write().await?;
                match f(&mut tx).await {
                    Ok(r) => {
                        tx.commit().await?;
                        Ok(r)
                    }
                    Err(e) => {
                        let _ = tx.rollback().await;
                        Err(e)
                    }
                }
            };
            match self {
                Db::Sqlite(..) => undisturbed(transaction).await,
                Db::Postgres(..) => transaction.await,
            }
        })
    }

    /// Runs `f` on one pooled connection, outside any transaction.
    pub async fn read<R, F>(&self, f: F) -> crate::error::AppResult<R>
    where
        R: Send,
        F: for<'t> FnOnce(&'t mut dyn store::Store) -> futures_util::future::BoxFuture<'t, crate::error::AppResult<R>>
            + Send,
    {
        match self {
            Db::Postgres(pool, Pooler { transaction_mode: true }) => {
                let mut tx = pool.begin().await?;
                let r = f(&mut tx).await;
                let _ = tx.commit().await;
                r
            }
            _ => with_db!(self, pool => {
                let mut conn = pool.acquire().await?;
                f(&mut conn).await
            }),
        }
    }
}

/// Runs `work` to its end on this thread, its wake-ups going straight to it. A SQLite write transaction
/// holds the one write lock for a dozen statements, each answered by the connection's own thread; awaited
/// as a task, every answer waits in the runtime's queue behind the other requests' tasks while the lock
/// is held. With 16 clients of the mixed load a submission took 25–29 ms at p50 and 73–97 ms at p99 that
/// way, 12–13 and 37–38 ms this way. Elsewhere (a single-threaded runtime, as in unit tests) it is simply
/// awaited.
async fn undisturbed<T>(work: impl std::future::Future<Output = T>) -> T {
    let handle = tokio::runtime::Handle::current();
    match handle.runtime_flavor() {
        tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(|| handle.block_on(work)),
        _ => work.await,
    }
}

impl Db {
    /// Publishes version 1 of the evaluation criteria and of the conversion factors, once.
    pub async fn seed_defaults(&self) -> anyhow::Result<()> {
        let now = chrono::Utc::now();
        with_db!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for (i, c) in crate::domain::evaluation::default_criteria().iter().enumerate() {
                sqlx::query("insert into criteria (version, key, name, weight, description, position, published_at)
                             values (1, $1, $2, $3, $4, $5, $6) on conflict (version, key) do nothing")
                    .bind(c.key).bind(c.name).bind(c.weight).bind(c.description).bind(i as i64).bind(now)
                    .execute(&mut *tx).await?;
            }
            for f in crate::domain::savings::default_factors() {
                sqlx::query("insert into conversion_factors (version, carrier, quantity, factor, unit, published_factor, basis, source, year, valid_from)
                             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) on conflict (version, carrier, quantity) do nothing")
                    .bind(f.version).bind(f.carrier.as_str()).bind(f.quantity.as_str()).bind(f.factor).bind(f.unit)
                    .bind(f.published_factor).bind(f.basis).bind(f.source).bind(f.year as i64).bind(f.valid_from)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}

impl Db {
    pub fn is_closed(&self) -> bool {
        with_db!(self, pool => pool.is_closed())
    }
}
