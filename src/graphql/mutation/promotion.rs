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

#[derive(InputObject, Default)]
pub struct TechniqueInput {
    /// Defaults to the proposal's title.
    pub name: Option<String>,
    /// 适用范围
    pub scope: Option<String>,
    /// 技术原理; defaults to the proposal's body.
    pub principle: Option<String>,
    pub key_parameters: Option<String>,
    pub typical_case: Option<String>,
    pub promotion_potential: Option<String>,
}

#[derive(InputObject)]
pub struct PromoteProposalInput {
    pub proposal_id: ID,
    pub expected_version: i64,
    /// Merge into this existing technique instead of creating one (lineage is kept).
    pub technique_id: Option<ID>,
    pub technique: Option<TechniqueInput>,
}

#[derive(InputObject)]
pub struct RecordAdoptionInput {
    pub technique_id: ID,
    pub enterprise_id: ID,
    pub adopted_on: Date,
    /// Savings per year the adopting enterprise reports.
    pub savings: SavingsInput,
    pub note: Option<String>,
}

#[derive(SimpleObject)]
pub struct PromoteProposalPayload {
    pub proposal: Option<Proposal>,
    pub technique: Option<Technique>,
    pub user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct RecordAdoptionPayload {
    pub adoption: Option<Adoption>,
    pub technique: Option<Technique>,
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct PromotionMutations;

#[Object]
impl PromotionMutations {
    /// Promote an adopted proposal into the industry catalogue (association): creates a technique, or
    /// extends an existing one.
    async fn promote_proposal(&self, ctx: &Context<'_>, input: PromoteProposalInput) -> Result<PromoteProposalPayload> {
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
    /// enterprise admin for their own), with the savings it reports.
    async fn record_adoption(&self, ctx: &Context<'_>, input: RecordAdoptionInput) -> Result<RecordAdoptionPayload> {
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
