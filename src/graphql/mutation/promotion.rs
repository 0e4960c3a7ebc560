//! promoteProposal, recordAdoption.

use crate::graphql::types::scalars::Date;
use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};

use super::{act, decode_proposal_id, settle};
use crate::{
    error::{AppResult, UserError},
    graphql::{
        ids,
        types::{savings::SavingsInput, technique::Adoption, Proposal, Technique},
    },
    journey::{self, promotion::TechniqueFields},
};

/// A catalogue entry's content. 目录条目的内容。
#[derive(InputObject, Default)]
pub struct TechniqueInput {
    /// Defaults to the proposal's title. 缺省为提案标题。
    pub name: Option<String>,
    /// Where it applies. 适用范围
    pub scope: Option<String>,
    /// 技术原理; defaults to the proposal's body.
    pub principle: Option<String>,
    /// The parameters that make it work. 关键技术参数。
    pub key_parameters: Option<String>,
    /// A typical case, with its figures. 典型案例。
    pub typical_case: Option<String>,
    /// Where else it could be used. 推广潜力。
    pub promotion_potential: Option<String>,
}

/// Input of `promoteProposal`. `promoteProposal` 的输入。
#[derive(InputObject)]
pub struct PromoteProposalInput {
    /// The proposal. 提案编号。
    pub proposal_id: ID,
    /// The version you saw: if someone changed it since, the mutation is refused with VERSION_CONFLICT. 你看到的版本号；如已被他人修改则以 VERSION_CONFLICT 拒绝。
    pub expected_version: i64,
    /// Merge into this existing technique instead of creating one (lineage is kept). 并入这项已有技术而不新建（保留来源关系）。
    pub technique_id: Option<ID>,
    /// The catalogue entry to create from it. 据此创建的目录条目。
    pub technique: Option<TechniqueInput>,
}

/// Input of `recordAdoption`. `recordAdoption` 的输入。
#[derive(InputObject)]
pub struct RecordAdoptionInput {
    /// The catalogue technique adopted. 采用的目录技术。
    pub technique_id: ID,
    /// The adopting enterprise (association users record for others). 采用的企业。
    pub enterprise_id: ID,
    /// When it was adopted. 采用日期。
    pub adopted_on: Date,
    /// Savings per year the adopting enterprise reports. 采用企业报告的年节能量。
    pub savings: SavingsInput,
    /// What the enterprise notes about it. 备注。
    pub note: Option<String>,
}

/// What `promoteProposal` returns: the result, or why it was refused. `promoteProposal` 的结果或拒绝原因。
#[derive(SimpleObject)]
pub struct PromoteProposalPayload {
    /// The proposal after the change; null when refused. 操作后的提案（被拒绝时为空）。
    pub proposal: Option<Proposal>,
    /// The new catalogue technique. 新的目录技术。
    pub technique: Option<Technique>,
    /// Why the mutation was refused; empty on success. 被拒绝的原因；成功时为空。
    pub user_errors: Vec<UserError>,
}

/// What `recordAdoption` returns: the result, or why it was refused. `recordAdoption` 的结果或拒绝原因。
#[derive(SimpleObject)]
pub struct RecordAdoptionPayload {
    /// The recorded adoption. 记录的采用。
    pub adoption: Option<Adoption>,
    /// The technique with its totals. 技术（含汇总）。
    pub technique: Option<Technique>,
    /// Why the mutation was refused; empty on success. 被拒绝的原因；成功时为空。
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct PromotionMutations;

#[Object]
impl PromotionMutations {
    /// Promote an adopted proposal into the industry catalogue (association): creates a technique, or
    /// extends an existing one. 将已推广的提案纳入行业目录（行业协会）：新建技术或并入已有技术。
    async fn promote_proposal(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change. 本操作的输入。")] input: PromoteProposalInput,
    ) -> Result<PromoteProposalPayload> {
        let decoded: AppResult<(i64, Option<i64>)> = decode_proposal_id(&input.proposal_id).and_then(|id| {
            let t = input.technique_id.as_ref().map(|t| ids::decode(t, "Technique", "techniqueId")).transpose()?;
            Ok((id, t))
        });
        let result = match decoded {
            Ok((id, merge)) => {
                let v = input.expected_version;
                let t = input.technique.unwrap_or_default();
                let fields = TechniqueFields {
                    name: t.name,
                    scope: t.scope,
                    principle: t.principle,
                    key_parameters: t.key_parameters,
                    typical_case: t.typical_case,
                    promotion_potential: t.promotion_potential,
                };
                act(ctx, move |tx, user, now| {
                    Box::pin(async move { journey::promotion::promote(tx, &user, id, v, merge, fields, now).await })
                })
                .await
            }
            Err(e) => Err(e),
        };
        let (done, user_errors) = settle(result)?;
        let (proposal, technique) = match done {
            Some((row, t)) => (Proposal::visible(ctx, row).await?, Some(Technique(t))),
            None => (None, None),
        };
        Ok(PromoteProposalPayload { proposal, technique, user_errors })
    }

    /// Record that an enterprise adopted a catalogue technique (association for any enterprise; an
    /// enterprise admin for their own), with the savings it reports. 登记某企业采用了目录技术及其报告的节能量（行业协会可为任一企业登记，企业管理员为本企业登记）。
    async fn record_adoption(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change. 本操作的输入。")] input: RecordAdoptionInput,
    ) -> Result<RecordAdoptionPayload> {
        let decoded: AppResult<(i64, i64)> = ids::decode(&input.technique_id, "Technique", "techniqueId")
            .and_then(|t| Ok((t, ids::decode(&input.enterprise_id, "Enterprise", "enterpriseId")?)));
        let result = match decoded {
            Ok((tid, eid)) => {
                let (on, savings, note) = (input.adopted_on, input.savings.into(), input.note.unwrap_or_default());
                act(ctx, move |tx, user, now| {
                    Box::pin(async move {
                        let a =
                            journey::promotion::record_adoption(tx, &user, tid, eid, on.into(), savings, &note, now)
                                .await?;
                        let t = tx.technique(tid).await?;
                        Ok((a, t))
                    })
                })
                .await
            }
            Err(e) => Err(e),
        };
        let (done, user_errors) = settle(result)?;
        let (adoption, technique) = match done {
            Some((a, t)) => (Some(Adoption(a)), t.map(Technique)),
            None => (None, None),
        };
        Ok(RecordAdoptionPayload { adoption, technique, user_errors })
    }
}
