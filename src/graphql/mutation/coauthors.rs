//! respondToCoAuthorInvitation.

use async_graphql::{Context, InputObject, Object, Result, ID};

use super::{act, decode_proposal_id, payload, proposal_payload};
use crate::{graphql::types::Proposal, journey};

/// An answer to an invitation to co-author a proposal. 对共同作者邀请的答复。
#[derive(InputObject)]
pub struct RespondToCoAuthorInvitationInput {
    /// The proposal you were invited to. 邀请你加入的提案。
    pub proposal_id: ID,
    /// True to join its authors, false to decline. true 为加入作者，false 为拒绝。
    pub accept: bool,
}

payload!(
    /// The proposal you joined (null when you declined or were refused). 你加入的提案（拒绝或被拒时为空）。
    RespondToCoAuthorInvitationPayload { proposal: Proposal }
);

#[derive(Default)]
pub struct CoAuthorMutations;

#[Object]
impl CoAuthorMutations {
    /// Accept or decline an invitation to co-author a proposal (the invitee only). Accepting makes you an
    /// author from now on: you share the points of the steps still to come, and may not review it. 接受或拒绝共同作者邀请（仅被邀请人）。接受后即成为作者：分享此后各环节的积分，且不得评审该提案。
    async fn respond_to_co_author_invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change. 本操作的输入。")] input: RespondToCoAuthorInvitationInput,
    ) -> Result<RespondToCoAuthorInvitationPayload> {
        let accept = input.accept;
        let result = match decode_proposal_id(&input.proposal_id) {
            Ok(id) => {
                act(ctx, move |tx, user, now| {
                    Box::pin(async move { journey::coauthors::respond(tx, &user, id, accept, now).await })
                })
                .await
            }
            Err(e) => Err(e),
        };
        let (proposal, errors) = match result {
            Ok(Some(row)) => proposal_payload(ctx, Ok(row)).await?,
            Ok(None) => (None, vec![]),
            Err(e) => proposal_payload(ctx, Err(e)).await?,
        };
        Ok((proposal, errors).into())
    }
}
