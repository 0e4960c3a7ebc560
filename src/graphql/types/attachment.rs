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

/// A photo, measurement sheet or drawing attached to a proposal. 提案的附件（照片、测量表、图纸）。
#[Object]
impl Attachment {
    /// Global, opaque id. 全局唯一编号。
    async fn id(&self) -> ID {
        ids::encode("Attachment", self.row.id)
    }
    /// The original file name, as uploaded (Chinese names are kept). 上传时的原始文件名（保留中文）。
    async fn file_name(&self) -> &str {
        &self.row.file_name
    }
    /// Decided from the file's content, not its name. 由文件内容判定，而非文件名。
    async fn content_type(&self) -> &str {
        &self.row.content_type
    }
    /// Size in bytes. 文件大小（字节）。
    async fn size_bytes(&self) -> i64 {
        self.row.size_bytes
    }
    /// What it shows, as the uploader wrote it. 上传者写的说明。
    async fn caption(&self) -> &str {
        &self.row.caption
    }
    /// SHA-256 of the content (also its `ETag`). 内容的 SHA-256（也是其 ETag）。
    async fn sha256(&self) -> &str {
        &self.row.sha256
    }
    /// Where to download it (send the same `Authorization` header). 下载地址（需带同样的 Authorization 头）。
    async fn url(&self) -> String {
        format!("/attachments/{}", ids::encode("Attachment", self.row.id).0)
    }
    /// Who uploaded it; null under blind review. 上传者；盲评期间为空。
    async fn uploaded_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        if self.hide_uploader {
            return Ok(None);
        }
        let id = self.row.uploaded_by;
        Ok(read!(ctx, |s| s.user(id).await).map(User))
    }
    /// When it was created. 创建时间。
    async fn created_at(&self) -> Timestamp {
        self.row.created_at.into()
    }
}
