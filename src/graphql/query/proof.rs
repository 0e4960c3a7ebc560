//! `verifyReceipt` and `chain`: anyone may check a receipt against this server, and read the chain's
//! state and its last signed checkpoint.

use async_graphql::{Context, Object, Result};

use crate::{
    graphql::{
        guards::services,
        types::proof::{ChainState, ReceiptCheck},
    },
    read,
};

/// Largest receipt text checked (a receipt holds a proposal's title and body).
const RECEIPT_MAX: usize = 256 * 1024;

#[derive(Default)]
pub struct ProofQuery;

#[Object]
impl ProofQuery {
    /// Checks a receipt against this server: its signature with the server's key, the chain at its position,
    /// the submission's event and the proposal stored now. Anyone may ask. 核验提交回执：签名、哈希链、提交事件与服务器上保存的提案（任何人可查）。
    async fn verify_receipt(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The receipt's JSON text. 回执的JSON全文。")] document: String,
    ) -> Result<ReceiptCheck> {
        let s = services(ctx)?;
        if document.len() > RECEIPT_MAX {
            return Err(crate::error::AppError::invalid("document", "the receipt is too large / 回执过大").into());
        }
        let c = crate::chain::check_receipt(&s.db, &s.signer, &document).await?;
        Ok(ReceiptCheck {
            valid: c.signed && c.problems.is_empty(),
            signed: c.signed,
            key_id: c.key_id,
            proposal_number: c.proposal,
            problems: c.problems,
        })
    }

    /// The event chain's length, head and last signed checkpoint, and the server's public key. 事件哈希链状态与服务器公钥。
    async fn chain(&self, ctx: &Context<'_>) -> Result<ChainState> {
        let s = services(ctx)?;
        let (head, checkpoint) = read!(ctx, |s| Ok((s.chain_head().await?, s.latest_checkpoint().await?)));
        Ok(ChainState {
            length: head.as_ref().map(|h| h.position).unwrap_or(0),
            head: head.map(|h| h.hash),
            checkpoint_position: checkpoint.as_ref().map(|c| c.position),
            checkpoint_hash: checkpoint.as_ref().map(|c| c.hash.clone()),
            checkpoint_signature: checkpoint.as_ref().map(|c| c.signature.clone()),
            checkpoint_signed_at: checkpoint.map(|c| c.signed_at.into()),
            public_key: s.signer.public_key(),
            key_id: s.signer.key_id().to_owned(),
        })
    }
}
