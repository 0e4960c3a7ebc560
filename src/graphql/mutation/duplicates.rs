//! Duplicates: `markDuplicate` and `creditAsCoAuthor` (`journey::duplicates`).

use async_graphql::{Context, InputObject, Object, Result, ID};

use super::{act, decode_proposal_id, payload, proposal_payload};
use crate::{graphql::ids, graphql::types::Proposal, journey};

/// Input of `markDuplicate`. `markDuplicate` 的输入。
#[derive(InputObject)]
pub struct MarkDuplicateInput {
    /// The proposal to close as a duplicate. 要标记为重复的提案。
    pub proposal_id: ID,
    /// The version you saw: if someone changed it since, the mutation is refused with VERSION_CONFLICT. 你看到的版本号；如已被他人修改则以 VERSION_CONFLICT 拒绝。
    pub expected_version: i64,
    /// The earlier proposal it duplicates (submitted, and visible to you). 被重复的原提案（须已提交且你可见）。
    pub duplicate_of_id: ID,
    /// Why: what the two share. Shown to its authors in the history. 理由（两者相同之处），记入历史，作者可见。
    pub reason: String,
}

/// Input of `creditAsCoAuthor`. `creditAsCoAuthor` 的输入。
#[derive(InputObject)]
pub struct CreditAsCoAuthorInput {
    /// The duplicate whose authors added something to the idea. 补充了内容的重复提案。
    pub proposal_id: ID,
    /// The version of the original you saw. 你看到的原提案版本号。
    pub expected_version: i64,
}

payload!(
    /// What `markDuplicate` returns: the result, or why it was refused. `markDuplicate` 的结果或拒绝原因。
    MarkDuplicatePayload { proposal: Proposal }
);
payload!(
    /// What `creditAsCoAuthor` returns: the original with its new authors, or why it was refused. `creditAsCoAuthor` 的结果或拒绝原因。
    CreditAsCoAuthorPayload { proposal: Proposal }
);

#[derive(Default)]
pub struct DuplicateMutations;

#[Object]
impl DuplicateMutations {
    /// Close a submitted proposal, before a decision, as the duplicate of an earlier one (studio lead of its
    /// enterprise); its history stays and both show the link. It keeps its submission points.
    /// 将提交的提案（决定前）标记为另一提案的重复并关闭（所在企业的工作室负责人）；历史保留，两者互相关联；已得的提交积分保留。
    async fn mark_duplicate(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change. 本操作的输入。")] input: MarkDuplicateInput,
    ) -> Result<MarkDuplicatePayload> {
        let ids = decode_proposal_id(&input.proposal_id)
            .and_then(|id| Ok((id, ids::decode(&input.duplicate_of_id, "Proposal", "duplicateOfId")?)));
        let result = match ids {
            Ok((id, original)) => {
                let (v, reason) = (input.expected_version, input.reason);
                act(ctx, move |tx, user, now| {
                    Box::pin(async move {
                        journey::duplicates::mark_duplicate(tx, &user, id, v, original, &reason, now).await
                    })
                })
                .await
            }
            Err(e) => Err(e),
        };
        Ok(proposal_payload(ctx, result).await?.into())
    }

    /// Make the authors of a duplicate co-authors of its original, when they added something (studio lead of
    /// the original's enterprise): they share the points of the original's steps still to come.
    /// 将补充了内容的重复提案作者记为原提案的共同作者（原提案所在企业的工作室负责人），此后各环节积分共享。
    async fn credit_as_co_author(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change. 本操作的输入。")] input: CreditAsCoAuthorInput,
    ) -> Result<CreditAsCoAuthorPayload> {
        let result = match decode_proposal_id(&input.proposal_id) {
            Ok(id) => {
                let v = input.expected_version;
                act(ctx, move |tx, user, now| {
                    Box::pin(async move { journey::duplicates::credit_as_coauthor(tx, &user, id, v, now).await })
                })
                .await
            }
            Err(e) => Err(e),
        };
        Ok(proposal_payload(ctx, result).await?.into())
    }
}
