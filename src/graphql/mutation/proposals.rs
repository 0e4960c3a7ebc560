//! createProposal, updateProposal, submitProposal, withdrawProposal.

use async_graphql::{Context, InputObject, Object, Result, ID};

use super::{act, decode_proposal_id, payload, proposal_payload};
use crate::{
    domain::{organisation::Industry, proposal::Category},
    error::{AppError, AppResult, ErrorCode},
    graphql::{
        guards::viewer,
        ids,
        types::{savings::SavingsInput, Proposal},
    },
    journey::{
        self,
        proposals::{ProposalFields, Submission},
    },
};

/// A proposal's content. Only `title` and `body` are required to create one.
#[derive(InputObject, Clone, Default)]
pub struct ProposalContentInput {
    pub title: Option<String>,
    /// What is wasted today and what to change.
    pub body: Option<String>,
    pub category: Option<Category>,
    /// Defaults to the enterprise's industry.
    pub industry: Option<Industry>,
    /// Process and equipment tags.
    pub tags: Option<Vec<String>>,
    /// Users of your enterprise who co-wrote it. They are invited, and become authors when they accept
    /// (`respondToCoAuthorInvitation`); on update, the list replaces the earlier one.
    pub co_author_ids: Option<Vec<ID>>,
    /// The name of a worker of your own team, without an account, on whose behalf you submit.
    pub on_behalf_of: Option<String>,
    /// Savings per year as the author expects them.
    pub expected_savings: Option<SavingsInput>,
    /// Its id in the system it was imported from.
    pub external_id: Option<String>,
}

impl ProposalContentInput {
    fn into_fields(self) -> AppResult<ProposalFields> {
        let co_author_ids = match self.co_author_ids {
            Some(list) => {
                Some(list.iter().map(|id| ids::decode(id, "User", "coAuthorIds")).collect::<AppResult<Vec<_>>>()?)
            }
            None => None,
        };
        Ok(ProposalFields {
            title: self.title,
            body: self.body,
            category: self.category,
            industry: self.industry,
            tags: self.tags,
            co_author_ids,
            on_behalf_of: self.on_behalf_of,
            expected_savings: self.expected_savings.map(Into::into),
            external_id: self.external_id,
        })
    }
}

#[derive(InputObject)]
pub struct CreateProposalInput {
    pub proposal: ProposalContentInput,
}

#[derive(InputObject)]
pub struct UpdateProposalInput {
    pub proposal_id: ID,
    /// The version you saw; a newer one is a conflict.
    pub expected_version: i64,
    /// Fields to change; absent fields stay as they are.
    pub proposal: ProposalContentInput,
}

#[derive(InputObject)]
pub struct SubmitProposalInput {
    /// Submit this existing draft (or returned proposal)…
    pub proposal_id: Option<ID>,
    /// …at the version you saw.
    pub expected_version: Option<i64>,
    /// …or submit this complete new proposal in one step.
    pub proposal: Option<ProposalContentInput>,
    /// A retry with the same key returns the proposal the first request made, never a second one.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct WithdrawProposalInput {
    pub proposal_id: ID,
    pub expected_version: i64,
    pub reason: Option<String>,
}

payload!(CreateProposalPayload { proposal: Proposal });
payload!(UpdateProposalPayload { proposal: Proposal });
payload!(SubmitProposalPayload { proposal: Proposal });
payload!(WithdrawProposalPayload { proposal: Proposal });

#[derive(Default)]
pub struct ProposalMutations;

#[Object]
impl ProposalMutations {
    /// Save a draft (only its authors see it).
    async fn create_proposal(&self, ctx: &Context<'_>, input: CreateProposalInput) -> Result<CreateProposalPayload> {
        let result = match input.proposal.into_fields() {
            Ok(fields) => {
                act(ctx, move |tx, user, now| {
                    Box::pin(async move { journey::proposals::create(tx, &user, fields, now).await })
                })
                .await
            }
            Err(e) => Err(e),
        };
        Ok(proposal_payload(ctx, result).await?.into())
    }

    /// Change a draft or a returned proposal (authors).
    async fn update_proposal(&self, ctx: &Context<'_>, input: UpdateProposalInput) -> Result<UpdateProposalPayload> {
        let decoded = decode_proposal_id(&input.proposal_id).and_then(|id| Ok((id, input.proposal.into_fields()?)));
        let result = match decoded {
            Ok((id, fields)) => {
                let v = input.expected_version;
                act(ctx, move |tx, user, now| {
                    Box::pin(async move { journey::proposals::update(tx, &user, id, v, fields, now).await })
                })
                .await
            }
            Err(e) => Err(e),
        };
        Ok(proposal_payload(ctx, result).await?.into())
    }

    /// Submit a draft, resubmit a returned proposal, or submit a complete new proposal in one step.
    async fn submit_proposal(&self, ctx: &Context<'_>, input: SubmitProposalInput) -> Result<SubmitProposalPayload> {
        let key = input.idempotency_key.clone();
        let what = match (input.proposal_id, input.proposal) {
            (Some(id), None) => match (decode_proposal_id(&id), input.expected_version) {
                (Ok(id), Some(expected_version)) => Ok(Submission::Existing { id, expected_version }),
                (Err(e), _) => Err(e),
                (Ok(_), None) => {
                    Err(AppError::invalid("expectedVersion", "give the version you saw / 请提供当前版本号"))
                }
            },
            (None, Some(content)) => content.into_fields().map(Submission::New),
            _ => Err(AppError::invalid(
                "proposalId",
                "give either proposalId or proposal, not both / proposalId 与 proposal 须且只能提供一个",
            )),
        };
        let result = match what {
            Ok(what) => {
                let k = key.clone();
                act(ctx, move |tx, user, now| {
                    Box::pin(async move { journey::proposals::submit(tx, &user, what, k.as_deref(), now).await })
                })
                .await
            }
            Err(e) => Err(e),
        };
        // Two retries racing past each other: the loser's insert hits the unique key; return the winner's proposal.
        let result = match (result, key) {
            (Err(e), Some(k)) if e.code() == ErrorCode::AlreadyExists => {
                let user_id = viewer(ctx).require()?.id;
                match crate::read!(ctx, |s| s.proposal_by_idempotency_key(user_id, &k).await) {
                    Some(row) => Ok(row),
                    None => Err(e),
                }
            }
            (r, _) => r,
        };
        Ok(proposal_payload(ctx, result).await?.into())
    }

    /// Withdraw before acceptance (authors). The record and its history stay.
    async fn withdraw_proposal(
        &self,
        ctx: &Context<'_>,
        input: WithdrawProposalInput,
    ) -> Result<WithdrawProposalPayload> {
        let result = match decode_proposal_id(&input.proposal_id) {
            Ok(id) => {
                let (v, reason) = (input.expected_version, input.reason);
                act(ctx, move |tx, user, now| {
                    Box::pin(
                        async move { journey::proposals::withdraw(tx, &user, id, v, reason.as_deref(), now).await },
                    )
                })
                .await
            }
            Err(e) => Err(e),
        };
        Ok(proposal_payload(ctx, result).await?.into())
    }
}
