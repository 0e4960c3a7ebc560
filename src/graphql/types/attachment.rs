//! `Attachment`: a file on a proposal, served by `GET /attachments/{id}`.

use crate::graphql::types::scalars::Timestamp;
use async_graphql::{Context, Object, Result, ID};

use super::organisation::User;
use crate::{db::rows::AttachmentRow, graphql::ids, read};

pub struct Attachment {
    pub row: AttachmentRow,
    /// Blind review: the uploader may be an author this viewer may not know.
    pub hide_uploader: bool,
}

#[Object]
impl Attachment {
    async fn id(&self) -> ID {
        ids::encode("Attachment", self.row.id)
    }
    /// The original file name, as uploaded (Chinese names are kept).
    async fn file_name(&self) -> &str {
        &self.row.file_name
    }
    /// Decided from the file's content, not its name.
    async fn content_type(&self) -> &str {
        &self.row.content_type
    }
    async fn size_bytes(&self) -> i64 {
        self.row.size_bytes
    }
    async fn caption(&self) -> &str {
        &self.row.caption
    }
    /// SHA-256 of the content (also its `ETag`).
    async fn sha256(&self) -> &str {
        &self.row.sha256
    }
    /// Where to download it (send the same `Authorization` header).
    async fn url(&self) -> String {
        format!("/attachments/{}", ids::encode("Attachment", self.row.id).0)
    }
    async fn uploaded_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        if self.hide_uploader {
            return Ok(None);
        }
        let id = self.row.uploaded_by;
        Ok(read!(ctx, |s| s.user(id).await).map(User))
    }
    async fn created_at(&self) -> Timestamp {
        self.row.created_at.into()
    }
}
