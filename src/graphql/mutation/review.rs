//! assignReviewers, submitEvaluation, decideProposal.

use crate::graphql::types::scalars::Date;
use async_graphql::{Context, InputObject, Object, Result, ID};

use super::{act, decode_proposal_id, payload, proposal_payload};
use crate::{
    error::AppResult,
    graphql::{
        ids,
        types::{savings::SavingsInput, Proposal},
    },
    journey::{
        self,
        review::{DecisionOutcome, ScoreInput},
    },
};

/// Input of `assignReviewers`. `assignReviewers` 的输入。
#[derive(InputObject)]
pub struct AssignReviewersInput {
    /// The proposal. 提案编号。
    pub proposal_id: ID,
    /// The version you saw: if someone changed it since, the mutation is refused with VERSION_CONFLICT. 你看到的版本号；如已被他人修改则以 VERSION_CONFLICT 拒绝。
    pub expected_version: i64,
    /// Reviewers (role REVIEWER or STUDIO_LEAD) with no conflict of interest. 无利益冲突的评审人（角色为 REVIEWER 或 STUDIO_LEAD）。
    pub reviewer_ids: Vec<ID>,
    /// When the reviews are due. 评审截止日期。
    pub due_on: Option<Date>,
}

/// A score on one criterion. 单项指标的打分。
#[derive(InputObject)]
pub struct CriterionScoreInput {
    /// A criterion key from `evaluationCriteria`. evaluationCriteria 中的指标键。
    pub criterion: String,
    /// The score, 0–10. 分数（0–10）。
    pub score: f64,
}

/// Input of `submitEvaluation`. `submitEvaluation` 的输入。
#[derive(InputObject)]
pub struct SubmitEvaluationInput {
    /// The proposal. 提案编号。
    pub proposal_id: ID,
    /// One score for every published criterion. 每项公布的指标一个分数。
    pub scores: Vec<CriterionScoreInput>,
    /// The reviewer's comment to the studio lead. 评审意见。
    pub comment: String,
    /// Your forecast of the yearly savings, if you can give one. 你对年节能量的预测（如能给出）。
    pub forecast_savings: Option<SavingsInput>,
}

/// Input of `decideProposal`. `decideProposal` 的输入。
#[derive(InputObject)]
pub struct DecideProposalInput {
    /// The proposal. 提案编号。
    pub proposal_id: ID,
    /// The version you saw: if someone changed it since, the mutation is refused with VERSION_CONFLICT. 你看到的版本号；如已被他人修改则以 VERSION_CONFLICT 拒绝。
    pub expected_version: i64,
    /// Accept, return for revision, or reject, with a reason. 采纳、退回修改或不采纳，并附理由。
    pub decision: DecisionOutcome,
    /// Always required: the author reads it. 必填：作者会看到。
    pub reason: String,
}

payload!(
    /// What `assignReviewers` returns: the result, or why it was refused. `assignReviewers` 的结果或拒绝原因。
    AssignReviewersPayload { proposal: Proposal }
);
payload!(
    /// What `submitEvaluation` returns: the result, or why it was refused. `submitEvaluation` 的结果或拒绝原因。
    SubmitEvaluationPayload { proposal: Proposal }
);
payload!(
    /// What `decideProposal` returns: the result, or why it was refused. `decideProposal` 的结果或拒绝原因。
    DecideProposalPayload { proposal: Proposal }
);

#[derive(Default)]
pub struct ReviewMutations;

#[Object]
impl ReviewMutations {
    /// Assign reviewers (studio lead of the proposal's enterprise); starts the evaluation. 指派评审人（提案所属企业的工作室负责人），评审随即开始。
    async fn assign_reviewers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change. 本操作的输入。")] input: AssignReviewersInput,
    ) -> Result<AssignReviewersPayload> {
        let decoded: AppResult<(i64, Vec<i64>)> = decode_proposal_id(&input.proposal_id).and_then(|id| {
            let reviewers = ids::decode_all(&input.reviewer_ids, "User", "reviewerIds")?;
            Ok((id, reviewers))
        });
        let result = match decoded {
            Ok((id, reviewers)) => {
                let (v, due) = (input.expected_version, input.due_on);
                act(ctx, move |tx, user, now| {
                    Box::pin(async move {
                        journey::review::assign_reviewers(tx, &user, id, v, &reviewers, due.map(Into::into), now).await
                    })
                })
                .await
            }
            Err(e) => Err(e),
        };
        Ok(proposal_payload(ctx, result).await?.into())
    }

    /// Score an assigned proposal against every published criterion (a second call replaces the first
    /// while the round is open). 按每项公布的指标为指派给你的提案打分（本轮未结束前再次提交会替换上一次）。
    async fn submit_evaluation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change. 本操作的输入。")] input: SubmitEvaluationInput,
    ) -> Result<SubmitEvaluationPayload> {
        let result = match decode_proposal_id(&input.proposal_id) {
            Ok(id) => {
                let scores: Vec<ScoreInput> =
                    input.scores.into_iter().map(|s| ScoreInput { criterion: s.criterion, score: s.score }).collect();
                let (comment, forecast) = (input.comment, input.forecast_savings.map(Into::into));
                act(ctx, move |tx, user, now| {
                    Box::pin(async move {
                        journey::review::submit_evaluation(tx, &user, id, scores, &comment, forecast, now).await
                    })
                })
                .await
            }
            Err(e) => Err(e),
        };
        Ok(proposal_payload(ctx, result).await?.into())
    }

    /// Accept, return for revision or reject (studio lead), with a reason, once enough evaluations are in. 评分足够后采纳、退回修改或不采纳（工作室负责人），须附理由。
    async fn decide_proposal(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change. 本操作的输入。")] input: DecideProposalInput,
    ) -> Result<DecideProposalPayload> {
        let min = crate::graphql::guards::services(ctx)?.config.min_evaluations;
        let result = match decode_proposal_id(&input.proposal_id) {
            Ok(id) => {
                let (v, decision, reason) = (input.expected_version, input.decision, input.reason);
                act(ctx, move |tx, user, now| {
                    Box::pin(
                        async move { journey::review::decide(tx, &user, id, v, decision, &reason, min, now).await },
                    )
                })
                .await
            }
            Err(e) => Err(e),
        };
        Ok(proposal_payload(ctx, result).await?.into())
    }
}
