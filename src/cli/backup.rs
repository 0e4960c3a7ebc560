//! `greenline backup DIR` and `greenline restore DIR`: a consistent snapshot of a SQLite deployment while the
//! server runs, and bringing it back.
//!
//! Backup copies the objects the database references, then takes the database with `VACUUM INTO` (one
//! consistent read, writers keep going), then copies the objects referenced by the snapshot that arrived in
//! between. An object is written before the row that references it commits, and deleted only once no row
//! does, so every object the snapshot references exists at one of the two passes. The search index is not
//! backed up: it is derived, and a restored server rebuilds it.
//!
//! PostgreSQL and S3 have their own tools for this (`pg_dump`, bucket versioning or `aws s3 sync`): see
//! the README. Objects may live in S3 with a SQLite database; backup copies them into `DIR/objects`.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
};

use anyhow::{bail, Context};
use object_store::{local::LocalFileSystem, path::Path as ObjectPath, ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use sqlx::{sqlite::SqliteConnectOptions, ConnectOptions, Connection};

use crate::{
    config::Config,
    db::{sqlite_file, Db},
    storage::Storage,
};

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Manifest {
    format: u32,
    created_at: chrono::DateTime<chrono::Utc>,
    proposals: i64,
    techniques: i64,
    attachments: i64,
    objects: usize,
}

const DB_FILE: &str = "greenline.db";
/// The objects a database references (orphans are left behind: the sweeper would remove them anyway).
const REFERENCED: &str = "select distinct object_key from attachments";

fn sqlite_only(config: &Config, what: &str) -> anyhow::Result<PathBuf> {
    sqlite_file(&config.database_url).ok_or_else(|| {
        anyhow::anyhow!(
            "`greenline {what}` is for SQLite deployments; on PostgreSQL use pg_dump/pg_restore and your object \
             store's own copy (see the README, \"Backups\")"
        )
    })
}

/// Referenced object keys and counts, from a database file.
async fn contents(file: &Path) -> anyhow::Result<(BTreeSet<String>, Manifest)> {
    let mut conn = SqliteConnectOptions::new().filename(file).read_only(true).connect().await?;
    let keys: Vec<String> = sqlx::query_scalar(REFERENCED).fetch_all(&mut conn).await?;
    let count = |table: &str| format!("select count(*) from {table}");
    let proposals: i64 = sqlx::query_scalar(&count("proposals")).fetch_one(&mut conn).await?;
    let techniques: i64 = sqlx::query_scalar(&count("techniques")).fetch_one(&mut conn).await?;
    let attachments: i64 = sqlx::query_scalar(&count("attachments")).fetch_one(&mut conn).await?;
    conn.close().await?;
    let objects = keys.len();
    let manifest = Manifest { format: 1, created_at: chrono::Utc::now(), proposals, techniques, attachments, objects };
    Ok((keys.into_iter().collect(), manifest))
}

/// Copies `key` from one store to another unless it is there already; `Ok(false)` when the source lacks it.
async fn copy(from: &dyn ObjectStore, to: &dyn ObjectStore, key: &str) -> anyhow::Result<bool> {
    let path = ObjectPath::from(key);
    if to.head(&path).await.is_ok() {
        return Ok(true);
    }
    let bytes = match from.get(&path).await {
        Ok(r) => r.bytes().await?,
        Err(object_store::Error::NotFound { .. }) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    to.put(&path, PutPayload::from(bytes)).await?;
    Ok(true)
}

pub async fn backup(config: Config, dir: PathBuf) -> anyhow::Result<ExitCode> {
    sqlite_only(&config, "backup")?;
    if dir.exists() && std::fs::read_dir(&dir)?.next().is_some() {
        bail!("{} is not empty; back up into a new directory", dir.display());
    }
    std::fs::create_dir_all(dir.join("objects"))?;
    let db = Db::connect_with(&config.database_url, &config.db_options()).await?;
    let source = Storage::from_config(&config.storage)?;
    let target = LocalFileSystem::new_with_prefix(dir.join("objects"))?;

    // Pass 1: what is referenced now.
    let live: Vec<String> = match &db {
        Db::Sqlite(pool, _) => sqlx::query_scalar(REFERENCED).fetch_all(pool).await?,
        Db::Postgres(..) => unreachable!("checked above"),
    };
    for key in &live {
        copy(source.store.as_ref(), &target, key).await?;
    }
    // The snapshot: one consistent read of the whole database.
    let file = dir.join(DB_FILE);
    let quoted = file.to_str().context("the backup path is not UTF-8")?.replace('\'', "''");
    if let Db::Sqlite(pool, _) = &db {
        sqlx::query(&format!("vacuum into '{quoted}'")).execute(pool).await.context("taking the snapshot")?;
    }
    db.close().await;
    // Pass 2: what the snapshot references that arrived after pass 1.
    let (keys, manifest) = contents(&file).await?;
    for key in &keys {
        if !copy(source.store.as_ref(), &target, key).await? {
            bail!("object {key} disappeared while the backup ran (its attachment was removed); run the backup again");
        }
    }
    std::fs::write(dir.join("manifest.json"), serde_json::to_vec_pretty(&manifest)?)?;
    eprintln!(
        "backup written to {}: {} proposals, {} techniques, {} attachments, {} objects",
        dir.display(),
        manifest.proposals,
        manifest.techniques,
        manifest.attachments,
        manifest.objects
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn restore(config: Config, dir: PathBuf, force: bool) -> anyhow::Result<ExitCode> {
    let target_file = sqlite_only(&config, "restore")?;
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(dir.join("manifest.json")).with_context(|| format!("{} holds no backup", dir.display()))?,
    )
    .context("reading manifest.json")?;
    let snapshot = dir.join(DB_FILE);
    let (keys, found) = contents(&snapshot).await.context("reading the backed-up database")?;
    if (found.proposals, found.techniques, found.attachments)
        != (manifest.proposals, manifest.techniques, manifest.attachments)
    {
        bail!("the backed-up database does not match its manifest; the backup is damaged");
    }
    if target_file.exists() && std::fs::metadata(&target_file)?.len() > 0 && !force {
        bail!(
            "{} exists; stop the server that uses it and pass --force to replace it with the backup",
            target_file.display()
        );
    }
    // Objects first: no restored row may point at a missing object.
    let from = LocalFileSystem::new_with_prefix(dir.join("objects"))?;
    let to: Arc<dyn ObjectStore> = Storage::from_config(&config.storage)?.store;
    let mut copied = 0;
    for key in &keys {
        if !copy(&from, to.as_ref(), key).await? {
            bail!("object {key} is missing from the backup");
        }
        copied += 1;
    }
    // The database: copied beside the target, then moved over it with no stale WAL left behind.
    if let Some(parent) = target_file.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let staging = target_file.with_extension("restoring");
    std::fs::copy(&snapshot, &staging)?;
    for suffix in ["-wal", "-shm"] {
        let mut side = target_file.clone().into_os_string();
        side.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(side));
    }
    std::fs::rename(&staging, &target_file)?;
    // The index is derived: remove it so the server rebuilds it from the restored database.
    if config.index_dir.exists() {
        std::fs::remove_dir_all(&config.index_dir)
            .with_context(|| format!("removing the old search index {}", config.index_dir.display()))?;
    }
    let db = Db::connect_with(&config.database_url, &config.db_options()).await?;
    let (_, now) = contents(&target_file).await?;
    db.close().await;
    eprintln!(
        "restored {} proposals, {} techniques, {} attachments and {copied} objects from {} (taken {}); the server \
         rebuilds its search index at start",
        now.proposals,
        now.techniques,
        now.attachments,
        dir.display(),
        manifest.created_at
    );
    Ok(ExitCode::SUCCESS)
}
