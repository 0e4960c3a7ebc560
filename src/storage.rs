//! Object storage for attachments: a local directory by default, S3-compatible by configuration.

use std::sync::Arc;

use anyhow::Context;
use object_store::{aws::AmazonS3Builder, local::LocalFileSystem, path::Path, prefix::PrefixStore, ObjectStore};

/// The configured object store and a description of it that is safe to log.
#[derive(Clone, Debug)]
pub struct Storage {
    pub store: Arc<dyn ObjectStore>,
    pub description: String,
}

impl Storage {
    /// `s3://bucket/prefix` (credentials, region and `AWS_ENDPOINT_URL` from the standard `AWS_*` variables)
    /// or a local directory, created when missing.
    pub fn from_config(spec: &str) -> anyhow::Result<Storage> {
        if let Some(rest) = spec.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            anyhow::ensure!(!bucket.is_empty(), "GREENLINE_STORAGE={spec}: the bucket name is missing");
            let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
            if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
                builder = builder.with_allow_http(endpoint.starts_with("http://")).with_endpoint(endpoint);
            }
            if std::env::var("AWS_REGION").is_err() && std::env::var("AWS_DEFAULT_REGION").is_err() {
                builder = builder.with_region("us-east-1");
            }
            let s3 = builder.build().context("configuring S3 object storage")?;
            let prefix = prefix.trim_matches('/');
            let store: Arc<dyn ObjectStore> =
                if prefix.is_empty() { Arc::new(s3) } else { Arc::new(PrefixStore::new(s3, prefix)) };
            Ok(Storage { store, description: format!("s3://{bucket}/{prefix}") })
        } else {
            let dir = spec.strip_prefix("file://").unwrap_or(spec);
            std::fs::create_dir_all(dir).with_context(|| format!("creating object directory {dir}"))?;
            let fs =
                LocalFileSystem::new_with_prefix(dir).with_context(|| format!("opening object directory {dir}"))?;
            Ok(Storage { store: Arc::new(fs), description: format!("local directory {dir}") })
        }
    }

    /// An in-memory store, for tests that do not exercise storage.
    pub fn in_memory() -> Storage {
        Storage { store: Arc::new(object_store::memory::InMemory::new()), description: "in memory".into() }
    }

    /// Lists the root once: fails when the store is unreachable or the credentials are wrong.
    pub async fn check(&self) -> anyhow::Result<()> {
        self.store
            .list_with_delimiter(Some(&Path::from("attachments")))
            .await
            .with_context(|| format!("object storage ({}) is not usable", self.description))?;
        Ok(())
    }
}

/// Periodically deletes objects under `attachments/` that no row references and that are older than the
/// grace period (a younger one may belong to an upload whose transaction is still open).
pub fn start_sweeper(db: crate::db::Db, storage: Storage, every: std::time::Duration, grace: std::time::Duration) {
    if every.is_zero() {
        return;
    }
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            if db.is_closed() {
                return;
            }
            match sweep(&db, &storage, grace).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "swept orphaned attachment objects"),
                Err(e) => tracing::warn!(error = %e, "attachment sweep failed"),
            }
        }
    });
}

/// One sweep; returns how many objects were deleted.
pub async fn sweep(db: &crate::db::Db, storage: &Storage, grace: std::time::Duration) -> anyhow::Result<usize> {
    use futures_util::StreamExt;
    let cutoff = chrono::Utc::now() - chrono::Duration::from_std(grace)?;
    let mut listing = storage.store.list(Some(&Path::from("attachments")));
    let mut candidates = vec![];
    while let Some(meta) = listing.next().await {
        let meta = meta?;
        if meta.last_modified < cutoff {
            candidates.push(meta.location.to_string());
        }
    }
    let mut deleted = 0;
    for key in candidates {
        let s = storage.clone();
        let gone = db
            .write(move |tx| Box::pin(async move { crate::journey::attachments::collect(tx, &s, &key).await }))
            .await
            .map_err(|e| anyhow::anyhow!(e.public_message()))?;
        deleted += usize::from(gone);
    }
    Ok(deleted)
}
