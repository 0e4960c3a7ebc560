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

/// A proposal's content. Only `title` and `body` are required to create one. 提案内容。新建时只需标题和正文。
#[derive(InputObject, Clone, Default)]
pub struct ProposalContentInput {
    /// The title (at most 200 characters). 标题（不超过200字）。
    pub title: Option<String>,
    /// What is wasted today and what to change. 现在浪费在哪里、要怎么改。
    pub body: Option<String>,
    /// The category. 类别。
    pub category: Option<Category>,
    /// Defaults to the enterprise's industry. 缺省为企业所属行业。
    pub industry: Option<Industry>,
    /// Process and equipment tags. 工艺与设备标签。
    pub tags: Option<Vec<String>>,
    /// Users of your enterprise who co-wrote it. They are invited, and become authors when they accept
    /// (`respondToCoAuthorInvitation`); on update, the list replaces the earlier one. 本企业的共同撰写人：先发出邀请，接受后成为作者；修改时以新名单替换旧名单。
    pub co_author_ids: Option<Vec<ID>>,
    /// The name of a worker of your own team, without an account, on whose behalf you submit. 你代为提交的本班组无账号工人的姓名。
    pub on_behalf_of: Option<String>,
    /// Savings per year as the author expects them. 作者预期的年节能量。
    pub expected_savings: Option<SavingsInput>,
    /// Its id in the system it was imported from. 在导入来源系统中的编号。
    pub external_id: Option<String>,
    /// The challenge (攻关课题) it answers: one you can see, open, before its deadline. 所应答的攻关课题（须可见、征集中且未过截止日期）。
    pub challenge_id: Option<ID>,
}

impl ProposalContentInput {
    fn into_fields(self) -> AppResult<ProposalFields> {
        let co_author_ids = match self.co_author_ids {
            Some(list) => Some(ids::decode_all(&list, "User", "coAuthorIds")?),
            None => None,
        };
        let challenge_id =
            self.challenge_id.as_ref().map(|id| ids::decode(id, "Challenge", "challengeId")).transpose()?;
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
            challenge_id,
        })
    }
}

/// Input of `createProposal`. `createProposal` 的输入。
#[derive(InputObject)]
pub struct CreateProposalInput {
    /// The draft's content. 草稿内容。
    pub proposal: ProposalContentInput,
}

/// Input of `updateProposal`. `updateProposal` 的输入。
#[derive(InputObject)]
pub struct UpdateProposalInput {
    /// The draft or returned proposal. 草稿或被退回的提案。
    pub proposal_id: ID,
    /// The version you saw; a newer one is a conflict. 你看到的版本；已有更新版本则为冲突。
    pub expected_version: i64,
    /// Fields to change; absent fields stay as they are. 要修改的字段；未给出的保持不变。
    pub proposal: ProposalContentInput,
}

/// Input of `submitProposal`. `submitProposal` 的输入。
#[derive(InputObject)]
pub struct SubmitProposalInput {
    /// Submit this existing draft (or returned proposal)… 提交这份已有草稿（或被退回的提案）……
    pub proposal_id: Option<ID>,
    /// …at the version you saw. ……以你看到的版本为准。
    pub expected_version: Option<i64>,
    /// …or submit this complete new proposal in one step. ……或一步提交这份完整的新提案。
    pub proposal: Option<ProposalContentInput>,
    /// A retry with the same key returns the proposal the first request made, never a second one. 用同一键重试会返回第一次请求创建的提案，不会重复创建。
    pub idempotency_key: Option<String>,
}

/// Input of `withdrawProposal`. `withdrawProposal` 的输入。
#[derive(InputObject)]
pub struct WithdrawProposalInput {
    /// The proposal. 提案编号。
    pub proposal_id: ID,
    /// The version you saw: if someone changed it since, the mutation is refused with VERSION_CONFLICT. 你看到的版本号；如已被他人修改则以 VERSION_CONFLICT 拒绝。
    pub expected_version: i64,
    /// Why, shown in the history. 撤回理由（记入历史）。
    pub reason: Option<String>,
}

payload!(
    /// What `createProposal` returns: the result, or why it was refused. `createProposal` 的结果或拒绝原因。
    CreateProposalPayload { proposal: Proposal }
);
payload!(
    /// What `updateProposal` returns: the result, or why it was refused. `updateProposal` 的结果或拒绝原因。
    UpdateProposalPayload { proposal: Proposal }
);
payload!(
    /// What `submitProposal` returns: the result, or why it was refused. `submitProposal` 的结果或拒绝原因。
    SubmitProposalPayload { proposal: Proposal }
);
payload!(
    /// What `withdrawProposal` returns: the result, or why it was refused. `withdrawProposal` 的结果或拒绝原因。
    WithdrawProposalPayload { proposal: Proposal }
);

#[derive(Default)]
pub struct ProposalMutations;

#[Object]
impl ProposalMutations {
    /// Save a draft (only its authors see it). 保存草稿（仅作者可见）。
    async fn create_proposal(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change. 本操作的输入。")] input: CreateProposalInput,
    ) -> Result<CreateProposalPayload> {
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

    /// Change a draft or a returned proposal (authors). 修改草稿或被退回的提案（作者）。
    async fn update_proposal(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change. 本操作的输入。")] input: UpdateProposalInput,
    ) -> Result<UpdateProposalPayload> {
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

    /// Submit a draft, resubmit a returned proposal, or submit a complete new proposal in one step. 提交草稿、重新提交被退回的提案，或一步提交完整的新提案。
    async fn submit_proposal(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change. 本操作的输入。")] input: SubmitProposalInput,
    ) -> Result<SubmitProposalPayload> {
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

    /// Withdraw before acceptance (authors). The record and its history stay. 在采纳前撤回（作者）。记录与历史保留。
    async fn withdraw_proposal(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change. 本操作的输入。")] input: WithdrawProposalInput,
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
