//! The store: one set of SQL statements run on either SQLite (embedded default) or PostgreSQL.
//!
//! sqlx's `Any` driver cannot bind timestamps, so the store keeps a typed pool per backend and the
//! [`with_db!`] macro expands each operation once per backend from the same source text. SQL uses `$1`
//! placeholders, which both drivers accept. Migrations are kept per backend and applied at start.

pub mod organisations;
pub mod users;

use std::{str::FromStr, time::Duration};

use anyhow::Context;
use sqlx::{
    postgres::{PgPoolOptions, Postgres},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    Database, PgPool, SqlitePool, Transaction,
};

/// A connection pool to one of the two supported backends.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the typed pool of whichever backend `$db` is.
#[macro_export]
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// Opening a transaction that will write. SQLite takes the write lock up front (`BEGIN IMMEDIATE`), so
/// that two writers queue on the busy timeout instead of failing on a lock upgrade.
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

const SQLITE_MIGRATIONS: &[Migration] = migrations!("sqlite": 1 "0001_organisations_users");
const POSTGRES_MIGRATIONS: &[Migration] = migrations!("postgres": 1 "0001_organisations_users");

impl Db {
    /// Connects to `url` (creating a SQLite file and its directory when missing) and applies pending migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await
                .with_context(|| format!("connecting to PostgreSQL at {}", crate::config::redact_url(url)))?;
            Db::Postgres(pool)
        } else {
            let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
            let path = path.split('?').next().unwrap_or(path);
            if let Some(dir) = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(15));
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await
                .with_context(|| format!("opening SQLite database {path}"))?;
            Db::Sqlite(pool)
        };
        db.migrate().await?;
        Ok(db)
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        let migrations = match self {
            Db::Sqlite(_) => SQLITE_MIGRATIONS,
            Db::Postgres(_) => POSTGRES_MIGRATIONS,
        };
        with_db!(self, pool => {
            sqlx::raw_sql(
                "create table if not exists schema_migrations (version bigint primary key, name text not null, applied_at text not null)",
            )
            .execute(pool)
            .await?;
            for m in migrations {
                let mut tx = pool.begin_write().await?;
                if let Db::Postgres(_) = self {
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

    /// A trivial round trip, for `/readyz`.
    pub async fn ping(&self) -> anyhow::Result<()> {
        with_db!(self, pool => { sqlx::query("select 1").execute(pool).await?; });
        Ok(())
    }

    pub async fn close(&self) {
        with_db!(self, pool => pool.close().await)
    }
}
