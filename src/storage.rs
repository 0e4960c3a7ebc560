//! Object storage for attachments: a local directory by default, S3-compatible by configuration.
//!
//! Every call has a deadline and reports trouble as [`AppError::Unavailable`] (HTTP 503 with
//! `Retry-After`). After a failure the store is treated as down for a moment ([`Storage::RESPITE`]):
//! uploads and downloads are refused at once instead of each waiting out the deadline, so a frozen
//! store never ties up request workers or database connections. Readiness probes still try it, and the
//! first call after the respite tries again.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context;
use object_store::{
    aws::AmazonS3Builder, local::LocalFileSystem, path::Path, prefix::PrefixStore, GetResult, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutPayload,
};

use crate::error::{AppError, AppResult};

/// The configured object store and a description of it that is safe to log.
#[derive(Clone, Debug)]
pub struct Storage {
    pub store: Arc<dyn ObjectStore>,
    pub description: String,
    /// How long one call may take.
    pub timeout: Duration,
    trouble: Arc<Mutex<Option<Trouble>>>,
}

/// The last failure, while it is recent.
#[derive(Clone, Debug)]
pub struct Trouble {
    pub at: Instant,
    pub error: String,
}

impl Storage {
    /// How long the store counts as down after a failure.
    pub const RESPITE: Duration = Duration::from_secs(2);

    fn new(store: Arc<dyn ObjectStore>, description: String) -> Storage {
        Storage { store, description, timeout: Duration::from_secs(5), trouble: Arc::default() }
    }

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
            Ok(Storage::new(store, format!("s3://{bucket}/{prefix}")))
        } else {
            let dir = spec.strip_prefix("file://").unwrap_or(spec);
            std::fs::create_dir_all(dir).with_context(|| format!("creating object directory {dir}"))?;
            let fs =
                LocalFileSystem::new_with_prefix(dir).with_context(|| format!("opening object directory {dir}"))?;
            Ok(Storage::new(Arc::new(fs), format!("local directory {dir}")))
        }
    }

    /// Over a store built elsewhere (tests: a store pointed at a server that never answers).
    pub fn from_store(store: Arc<dyn ObjectStore>, description: impl Into<String>) -> Storage {
        Storage::new(store, description.into())
    }

    /// An in-memory store, for tests that do not exercise storage.
    pub fn in_memory() -> Storage {
        Storage::new(Arc::new(object_store::memory::InMemory::new()), "in memory".into())
    }

    /// With another deadline per call.
    pub fn with_timeout(mut self, timeout: Duration) -> Storage {
        self.timeout = timeout;
        self
    }

    /// The last failure, if it happened within [`Storage::RESPITE`].
    pub fn trouble(&self) -> Option<Trouble> {
        self.trouble.lock().unwrap_or_else(|p| p.into_inner()).clone().filter(|t| t.at.elapsed() < Self::RESPITE)
    }

    /// Runs one call with the deadline, refusing at once while the store counts as down; `NotFound` is
    /// an answer, not trouble.
    async fn call<T>(
        &self,
        what: &str,
        fresh: bool,
        f: impl std::future::Future<Output = object_store::Result<T>>,
    ) -> AppResult<Option<T>> {
        if !fresh {
            if let Some(t) = self.trouble() {
                return Err(AppError::Unavailable(anyhow::anyhow!("object storage is down ({}): {what}", t.error)));
            }
        }
        let failed = |error: String| {
            *self.trouble.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(Trouble { at: Instant::now(), error: error.clone() });
            AppError::Unavailable(anyhow::anyhow!("object storage ({}): {what}: {error}", self.description))
        };
        match tokio::time::timeout(self.timeout, f).await {
            Ok(Ok(v)) => {
                *self.trouble.lock().unwrap_or_else(|p| p.into_inner()) = None;
                Ok(Some(v))
            }
            Ok(Err(object_store::Error::NotFound { .. })) => Ok(None),
            Ok(Err(e)) => Err(failed(e.to_string())),
            Err(_) => Err(failed(format!("no answer within {:?}", self.timeout))),
        }
    }

    /// Writes an object (a content-addressed put may be repeated: it writes the same bytes).
    pub async fn put(&self, key: &str, bytes: bytes::Bytes) -> AppResult<()> {
        self.call("writing", false, self.store.put(&Path::from(key), PutPayload::from_bytes(bytes))).await?;
        Ok(())
    }

    /// The object's metadata, `None` when there is no such object.
    pub async fn head(&self, key: &str) -> AppResult<Option<ObjectMeta>> {
        self.call("looking up", false, self.store.head(&Path::from(key))).await
    }

    /// The object's content as a stream, `None` when there is no such object.
    pub async fn get(&self, key: &str) -> AppResult<Option<GetResult>> {
        self.call("reading", false, self.store.get(&Path::from(key))).await
    }

    /// Deletes an object (gone already is fine).
    pub async fn delete(&self, key: &str) -> AppResult<()> {
        self.call("deleting", false, self.store.delete(&Path::from(key))).await?;
        Ok(())
    }

    /// Lists the root once: fails when the store is unreachable or the credentials are wrong. Always
    /// tries (a readiness probe is how a store counted as down is found back).
    pub async fn check(&self) -> AppResult<()> {
        self.call("listing", true, self.store.list_with_delimiter(Some(&Path::from("attachments")))).await?;
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
    // Each page of the listing within the deadline: a frozen store must not hold the sweeper forever.
    while let Some(meta) = tokio::time::timeout(storage.timeout, listing.next()).await.map_err(|_| {
        anyhow::anyhow!("object storage ({}) did not list within {:?}", storage.description, storage.timeout)
    })? {
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
