//! uploadAttachment (GraphQL multipart request spec), removeAttachment.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, Upload, ID};

use super::{act, decode_proposal_id, proposal_payload, settle};
use crate::{
    error::{AppError, AppResult, ErrorCode, UserError},
    graphql::{
        guards::{services, viewer},
        ids,
        types::{attachment::Attachment, Proposal},
    },
    journey::{self, attachments::inspect},
};

/// Input of `uploadAttachment`. `uploadAttachment` 的输入。
#[derive(InputObject)]
pub struct UploadAttachmentInput {
    /// The proposal to attach it to. 附加到的提案。
    pub proposal_id: ID,
    /// The file, sent as a part of a multipart request (GraphQL multipart request spec). 文件，以 multipart 请求的一部分发送（GraphQL multipart 规范）。
    pub file: Upload,
    /// What it shows. 附件说明。
    pub caption: Option<String>,
}

/// Input of `removeAttachment`. `removeAttachment` 的输入。
#[derive(InputObject)]
pub struct RemoveAttachmentInput {
    /// The attachment to remove. 要删除的附件。
    pub attachment_id: ID,
}

/// What `uploadAttachment` returns: the result, or why it was refused. `uploadAttachment` 的结果或拒绝原因。
#[derive(SimpleObject)]
pub struct UploadAttachmentPayload {
    /// The stored attachment. 已保存的附件。
    pub attachment: Option<Attachment>,
    /// The proposal after the change; null when refused. 操作后的提案（被拒绝时为空）。
    pub proposal: Option<Proposal>,
    /// Why the mutation was refused; empty on success. 被拒绝的原因；成功时为空。
    pub user_errors: Vec<UserError>,
}

super::payload!(
    /// What `removeAttachment` returns: the result, or why it was refused. `removeAttachment` 的结果或拒绝原因。
    RemoveAttachmentPayload { proposal: Proposal }
);

#[derive(Default)]
pub struct AttachmentMutations;

#[Object]
impl AttachmentMutations {
    /// Attach a photo or document to a proposal: JPEG, PNG, WebP, HEIC, PDF, DOCX, XLSX or MP4 (decided
    /// by the content), up to `GREENLINE_MAX_UPLOAD_BYTES` (20 MiB by default). Identical files are stored once. 为提案添加照片或文档：JPEG、PNG、WebP、HEIC、PDF、DOCX、XLSX 或 MP4（按内容判定），不超过 GREENLINE_MAX_UPLOAD_BYTES（默认20 MiB）。相同文件只存一份。
    async fn upload_attachment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change. 本操作的输入。")] input: UploadAttachmentInput,
    ) -> Result<UploadAttachmentPayload> {
        let s = services(ctx)?;
        let (max_bytes, max_files) = (s.config.max_upload_bytes, s.config.max_attachments);
        let storage = s.storage.clone();
        let incoming: AppResult<(i64, journey::attachments::Incoming)> = (|| {
            let id = decode_proposal_id(&input.proposal_id)?;
            let value = input
                .file
                .value(ctx)
                .map_err(|e| AppError::invalid("file", format!("the file could not be read: {e} / 无法读取文件")))?;
            let size = value.size().unwrap_or(0) as usize;
            if size > max_bytes {
                return Err(AppError::field(
                    ErrorCode::PayloadTooLarge,
                    "file",
                    format!("the file is larger than {} MiB / 文件过大", max_bytes / 1048576),
                ));
            }
            let mut bytes = Vec::with_capacity(size);
            std::io::Read::read_to_end(&mut value.into_read(), &mut bytes)
                .map_err(|e| AppError::Internal(anyhow::anyhow!("reading an upload: {e}")))?;
            let name = input.file.value(ctx).map(|v| v.filename).unwrap_or_default();
            Ok((id, inspect(&name, bytes.into(), max_bytes)?))
        })();
        let caption = input.caption.unwrap_or_default();
        // Checked, then the object written outside any transaction, then recorded (src/journey/attachments.rs).
        let incoming = match (incoming, viewer(ctx).require_writer()) {
            (Ok((id, file)), Ok(user)) => {
                let (user, text) = (user.clone(), caption.clone());
                let allowed =
                    s.db.read(move |st| {
                        Box::pin(async move {
                            journey::attachments::may_upload(st, &user, id, &text, max_files).await.map(|_| ())
                        })
                    })
                    .await;
                match allowed {
                    Ok(()) => journey::attachments::store_object(&storage, &file).await.map(|()| (id, file)),
                    Err(e) => Err(e),
                }
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        let result = match incoming {
            Ok((id, file)) => {
                act(ctx, move |tx, user, now| {
                    Box::pin(async move {
                        let a = journey::attachments::upload(tx, &storage, &user, id, file, &caption, max_files, now)
                            .await?;
                        let p = journey::proposals::reload(tx, id).await?;
                        Ok((a, p))
                    })
                })
                .await
            }
            Err(e) => Err(e),
        };
        let (done, user_errors) = settle(result)?;
        let Some((row, proposal_row)) = done else {
            return Ok(UploadAttachmentPayload { attachment: None, proposal: None, user_errors });
        };
        let proposal = Proposal::visible(ctx, proposal_row).await?;
        Ok(UploadAttachmentPayload {
            attachment: Some(Attachment { row, hide_uploader: false }),
            proposal,
            user_errors,
        })
    }

    /// Remove an attachment from a draft (authors). The stored file goes once nothing references it. 从草稿中删除附件（作者）。存储的文件在无引用后删除。
    async fn remove_attachment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change. 本操作的输入。")] input: RemoveAttachmentInput,
    ) -> Result<RemoveAttachmentPayload> {
        let s = services(ctx)?;
        let result = match ids::decode(&input.attachment_id, "Attachment", "attachmentId") {
            Ok(id) => {
                act(ctx, move |tx, user, now| {
                    Box::pin(async move { journey::attachments::remove(tx, &user, id, now).await })
                })
                .await
            }
            Err(e) => Err(e),
        };
        let result = match result {
            Ok((proposal_id, key)) => {
                let storage = s.storage.clone();
                // The row is gone; the object follows if nothing else references it (the sweeper retries on failure).
                if let Err(e) = s
                    .db
                    .write(move |tx| Box::pin(async move { journey::attachments::collect(tx, &storage, &key).await }))
                    .await
                {
                    tracing::warn!(error = %e.public_message(), "could not delete an unreferenced attachment object; the sweeper will");
                }
                let row = crate::read!(ctx, |st| journey::proposals::reload(st, proposal_id).await);
                Ok(row)
            }
            Err(e) => Err(e),
        };
        Ok(proposal_payload(ctx, result).await?.into())
    }
}
