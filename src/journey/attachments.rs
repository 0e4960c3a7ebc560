//! Attachments, keyed by the SHA-256 of their content (identical files are stored once).
//!
//! The object is written before any transaction starts ([`store_object`]), so a slow or frozen store
//! never holds a database connection or a lock. Then one transaction takes the lock of that object only
//! ([`Store::lock_object`]), inserts the row and makes sure the object is still there — a collector that
//! found it unreferenced may have deleted it in between, holding the same lock — writing it again if not.
//! Removing the last row that references an object lets [`collect`] delete it, under the same lock: so
//! no row ever points at a missing object, and uploads of different files never wait for one another.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::{load_visible, record, sight};
use crate::{
    db::{rows::AttachmentRow, store::Store, users::UserRow},
    domain::attachment::{clean_file_name, may_attach, may_remove, sniff, ACCEPTED},
    error::{AppError, AppResult, ErrorCode},
    storage::Storage,
};

/// A file as received, checked for size and type before any database work.
pub struct Incoming {
    pub file_name: String,
    pub content_type: &'static str,
    pub sha256: String,
    pub bytes: bytes::Bytes,
}

pub fn object_key(sha256: &str) -> String {
    format!("attachments/{sha256}")
}

/// Checks size and type (by magic bytes) and hashes the content.
pub fn inspect(file_name: &str, bytes: bytes::Bytes, max_bytes: usize) -> AppResult<Incoming> {
    if bytes.len() > max_bytes {
        return Err(AppError::field(
            ErrorCode::PayloadTooLarge,
            "file",
            format!("the file is larger than {} MiB / 文件不能超过{} MiB", max_bytes / 1048576, max_bytes / 1048576),
        ));
    }
    let content_type = sniff(&bytes).ok_or_else(|| {
        AppError::field(
            ErrorCode::UnsupportedMediaType,
            "file",
            format!("this kind of file is not accepted; use {ACCEPTED} / 不支持的文件类型，请上传{ACCEPTED}"),
        )
    })?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Ok(Incoming { file_name: clean_file_name(file_name), content_type, sha256, bytes })
}

/// Writes the file's object, outside any transaction. An object no row comes to reference (the upload
/// was refused, or failed before committing) is left to the sweeper.
pub async fn store_object(storage: &Storage, file: &Incoming) -> AppResult<()> {
    storage.put(&object_key(&file.sha256), file.bytes.clone()).await
}

/// Records an attachment whose object [`store_object`] wrote.
#[allow(clippy::too_many_arguments)]
pub async fn upload(
    store: &mut dyn Store,
    storage: &Storage,
    user: &UserRow,
    proposal_id: i64,
    file: Incoming,
    caption: &str,
    max_attachments: usize,
    now: DateTime<Utc>,
) -> AppResult<AttachmentRow> {
    let p = may_upload(store, user, proposal_id, caption, max_attachments).await?;
    let key = object_key(&file.sha256);
    store.lock_object(&key).await?;
    let row = store
        .insert_attachment(
            proposal_id,
            &key,
            &file.sha256,
            &file.file_name,
            file.content_type,
            file.bytes.len() as i64,
            caption.trim(),
            user.id,
            now,
        )
        .await?;
    // Holding the object's lock, no collector can delete it now; one may have before.
    if storage.head(&key).await?.is_none() {
        storage.put(&key, file.bytes.clone()).await?;
    }
    record(store, &p.row, "ATTACHMENT_ADDED", user, p.status(), Some(&file.file_name), now).await?;
    Ok(row)
}

/// Whether `user` may attach a file with this caption to the proposal now: checked before the object is
/// written (so that a refused upload stores nothing) and again in the transaction that records it.
pub async fn may_upload(
    store: &mut dyn Store,
    user: &UserRow,
    proposal_id: i64,
    caption: &str,
    max_attachments: usize,
) -> AppResult<super::Loaded> {
    if caption.chars().count() > 500 {
        return Err(AppError::invalid("caption", "the caption is longer than 500 characters / 说明最多500字"));
    }
    let p = load_visible(store, Some(user), proposal_id).await?;
    if !may_attach(sight(store, Some(user), &p).await?) {
        return Err(AppError::forbidden("attach files to this proposal"));
    }
    if store.attachments(proposal_id).await?.len() >= max_attachments {
        return Err(AppError::invalid(
            "proposalId",
            format!("a proposal has at most {max_attachments} attachments / 每条建议最多{max_attachments}个附件"),
        ));
    }
    Ok(p)
}

/// Removes an attachment from a draft. Returns the proposal and the object key, which the caller hands
/// to [`collect`] once this transaction has committed.
pub async fn remove(
    store: &mut dyn Store,
    user: &UserRow,
    attachment_id: i64,
    now: DateTime<Utc>,
) -> AppResult<(i64, String)> {
    let a = store.attachment(attachment_id).await?.ok_or_else(|| AppError::not_found("attachment"))?;
    let p = load_visible(store, Some(user), a.proposal_id).await?;
    if !may_remove(sight(store, Some(user), &p).await?) {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "attachments can be removed from drafts only, by their authors / 只有作者可以从草稿中删除附件",
        ));
    }
    store.delete_attachment(attachment_id).await?;
    record(store, &p.row, "ATTACHMENT_REMOVED", user, p.status(), Some(&a.file_name), now).await?;
    Ok((a.proposal_id, a.object_key))
}

/// Deletes the object at `key` if no attachment references it. Run in a transaction of its own, holding
/// the object's lock, and writing nothing: an upload of the same content either committed before (and the
/// object stays) or waits, then finds the object gone and writes it again.
pub async fn collect(store: &mut dyn Store, storage: &Storage, key: &str) -> AppResult<bool> {
    store.lock_object(key).await?;
    if store.object_references(key).await? > 0 {
        return Ok(false);
    }
    storage.delete(key).await?;
    Ok(true)
}
