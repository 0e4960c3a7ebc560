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

#[derive(InputObject)]
pub struct AssignReviewersInput {
    pub proposal_id: ID,
    pub expected_version: i64,
    /// Reviewers (role REVIEWER or STUDIO_LEAD) with no conflict of interest.
    pub reviewer_ids: Vec<ID>,
    pub due_on: Option<Date>,
}

#[derive(InputObject)]
pub struct CriterionScoreInput {
    /// A criterion key from `evaluationCriteria`.
    pub criterion: String,
    /// 0–10.
    pub score: f64,
}

#[derive(InputObject)]
pub struct SubmitEvaluationInput {
    pub proposal_id: ID,
    /// One score for every published criterion.
    pub scores: Vec<CriterionScoreInput>,
    pub comment: String,
    /// Your forecast of the yearly savings, if you can give one.
    pub forecast_savings: Option<SavingsInput>,
}

#[derive(InputObject)]
pub struct DecideProposalInput {
    pub proposal_id: ID,
    pub expected_version: i64,
    pub decision: DecisionOutcome,
    /// Always required: the author reads it.
    pub reason: String,
}

payload!(AssignReviewersPayload { proposal: Proposal });
payload!(SubmitEvaluationPayload { proposal: Proposal });
payload!(DecideProposalPayload { proposal: Proposal });

#[derive(Default)]
pub struct ReviewMutations;

#[Object]
impl ReviewMutations {
    /// Assign reviewers (studio lead of the proposal's enterprise); starts the evaluation.
    async fn assign_reviewers(&self, ctx: &Context<'_>, input: AssignReviewersInput) -> Result<AssignReviewersPayload> {
        let decoded: AppResult<(i64, Vec<i64>)> = decode_proposal_id(&input.proposal_id).and_then(|id| {
            let reviewers = input
                .reviewer_ids
                .iter()
                .map(|r| ids::decode(r, "User", "reviewerIds"))
                .collect::<AppResult<Vec<_>>>()?;
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
    /// while the round is open).
    async fn submit_evaluation(
        &self,
        ctx: &Context<'_>,
        input: SubmitEvaluationInput,
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

    /// Accept, return for revision or reject (studio lead), with a reason, once enough evaluations are in.
    async fn decide_proposal(&self, ctx: &Context<'_>, input: DecideProposalInput) -> Result<DecideProposalPayload> {
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
