//! appealDecision, giveAppealOpinion, decideAppeal; proposeRuleChange, decideRuleChange.

use async_graphql::{Context, InputObject, Object, Result, ID};

use super::{act, payload, settle};
use crate::{
    db::oversight::{AppealRow, RuleChangeRow},
    domain::{
        oversight::{AppealOutcome, RuleKind},
        savings::{Carrier, Quantity},
    },
    error::{AppError, AppResult, UserError},
    graphql::{
        guards::services,
        ids,
        types::{
            oversight::{Appeal, RuleChange},
            scalars::Date,
        },
    },
    journey::{
        self,
        oversight::{CriterionInput, FactorInput, RuleContent},
    },
    read,
};

/// Input of `appealDecision`. `appealDecision` 的输入。
#[derive(InputObject)]
pub struct AppealDecisionInput {
    /// The rejected proposal. 被不采纳的提案。
    pub proposal_id: ID,
    /// Why the decision should be looked at again. 申诉理由。
    pub reason: String,
}

/// Input of `giveAppealOpinion`. `giveAppealOpinion` 的输入。
#[derive(InputObject)]
pub struct GiveAppealOpinionInput {
    /// The appeal. 申诉。
    pub appeal_id: ID,
    /// The version you saw. 你看到的版本。
    pub expected_version: i64,
    /// The oversight group's opinion. 算法监督小组的意见。
    pub opinion: String,
}

/// Input of `decideAppeal`. `decideAppeal` 的输入。
#[derive(InputObject)]
pub struct DecideAppealInput {
    /// The appeal. 申诉。
    pub appeal_id: ID,
    /// The version you saw. 你看到的版本。
    pub expected_version: i64,
    /// Uphold the rejection or reopen the proposal. 维持或重新评审。
    pub outcome: AppealOutcome,
    /// Why. 理由。
    pub reason: String,
    /// To reopen: reviewers who never reviewed it. 重新评审时：未评审过该提案的评审人。
    #[graphql(default)]
    pub reviewer_ids: Vec<ID>,
    /// To reopen: when the reviews are due (optional). 重新评审的截止日期（可选）。
    pub due_on: Option<Date>,
}

/// A criterion of a proposed criteria version. 拟议的评审指标。
#[derive(InputObject)]
pub struct CriterionChangeInput {
    /// Key, in capitals (e.g. ENERGY_EMISSION_EFFECT). 指标键（大写字母）。
    pub key: String,
    /// Name shown to people. 名称。
    pub name: String,
    /// Weight, above 0 and at most 100. 权重（大于0且不超过100）。
    pub weight: f64,
    /// What it measures. 说明。
    pub description: String,
}

/// A factor of a proposed factor table. 拟议的折算系数。
#[derive(InputObject)]
pub struct FactorChangeInput {
    /// The carrier. 能源载体。
    pub carrier: Carrier,
    /// What it converts to. 折算目标。
    pub quantity: Quantity,
    /// Tonnes of the quantity per unit of the carrier. 每单位能源折合的吨数。
    pub factor: f64,
    /// The published unit, e.g. kgce/kWh. 公布单位。
    pub unit: String,
    /// The factor in the published unit. 公布单位下的系数。
    pub published_factor: f64,
    /// The basis (e.g. equivalent value). 折算口径。
    pub basis: String,
    /// Where it is published. 出处。
    pub source: String,
    /// The year of the source. 年份。
    pub year: i64,
}

/// Input of `proposeRuleChange`: the whole new table of one kind. `proposeRuleChange` 的输入：一类规则的完整新表。
#[derive(InputObject)]
pub struct ProposeRuleChangeInput {
    /// What it replaces. 变更对象。
    pub kind: RuleKind,
    /// For CRITERIA: every criterion of the new version. 评审指标的完整新版本。
    #[graphql(default)]
    pub criteria: Vec<CriterionChangeInput>,
    /// For FACTORS: every factor of the new table (each carrier, tce and tCO2e). 折算系数的完整新表。
    #[graphql(default)]
    pub factors: Vec<FactorChangeInput>,
    /// Why. 变更说明。
    pub note: String,
}

/// Input of `decideRuleChange`. `decideRuleChange` 的输入。
#[derive(InputObject)]
pub struct DecideRuleChangeInput {
    /// The proposed change. 规则变更。
    pub rule_change_id: ID,
    /// The version you saw. 你看到的版本。
    pub expected_version: i64,
    /// Approve (it takes effect now) or turn it down. 批准（即时生效）或不批准。
    pub approve: bool,
    /// The overseer's note. 意见。
    pub note: String,
}

payload!(
    /// What an appeal mutation returns. 申诉操作的结果。
    AppealPayload { appeal: Appeal }
);

payload!(
    /// What a rule-change mutation returns. 规则变更操作的结果。
    RuleChangePayload { rule_change: RuleChange }
);

async fn appeal_payload(ctx: &Context<'_>, result: AppResult<AppealRow>) -> Result<AppealPayload> {
    let (row, errors): (Option<AppealRow>, Vec<UserError>) = settle(result)?;
    let appeal = match row {
        Some(row) => {
            let pid = row.proposal_id;
            read!(ctx, |s| s.proposal(pid).await).map(|proposal| Appeal { row, proposal })
        }
        None => None,
    };
    Ok((appeal, errors).into())
}

fn rule_payload(result: AppResult<RuleChangeRow>) -> Result<RuleChangePayload> {
    let (row, errors) = settle(result)?;
    Ok((row.map(RuleChange), errors).into())
}

#[derive(Default)]
pub struct OversightMutations;

#[Object]
impl OversightMutations {
    /// Appeal a rejection (its authors, within GREENLINE_APPEAL_DAYS of it, once per rejection). 对不采纳决定提出申诉（作者，在规定天数内，每次决定一次）。
    async fn appeal_decision(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The appeal. 本操作的输入。")] input: AppealDecisionInput,
    ) -> Result<AppealPayload> {
        let days = services(ctx)?.config.appeal_days;
        let result = match ids::decode(&input.proposal_id, "Proposal", "proposalId") {
            Ok(id) => {
                let reason = input.reason;
                act(ctx, move |tx, user, now| {
                    Box::pin(async move { journey::oversight::appeal(tx, &user, id, &reason, days, now).await })
                })
                .await
            }
            Err(e) => Err(e),
        };
        appeal_payload(ctx, result).await
    }

    /// Give the oversight group's opinion on an open appeal (overseers of the enterprise, associations). 对申诉发表算法监督小组意见（本企业监督员、行业协会）。
    async fn give_appeal_opinion(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The opinion. 本操作的输入。")] input: GiveAppealOpinionInput,
    ) -> Result<AppealPayload> {
        let result = match ids::decode(&input.appeal_id, "Appeal", "appealId") {
            Ok(id) => {
                let (v, opinion) = (input.expected_version, input.opinion);
                act(ctx, move |tx, user, now| {
                    Box::pin(async move { journey::oversight::opinion(tx, &user, id, v, &opinion, now).await })
                })
                .await
            }
            Err(e) => Err(e),
        };
        appeal_payload(ctx, result).await
    }

    /// Uphold a rejection or reopen the proposal with fresh reviewers (a studio lead of the enterprise,
    /// after the oversight group's opinion). 维持原决定或重新评审（本企业工作室负责人，须在监督小组发表意见后）。
    async fn decide_appeal(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The decision. 本操作的输入。")] input: DecideAppealInput,
    ) -> Result<AppealPayload> {
        let decoded: AppResult<(i64, Vec<i64>)> = ids::decode(&input.appeal_id, "Appeal", "appealId").and_then(|id| {
            let reviewers = ids::decode_all(&input.reviewer_ids, "User", "reviewerIds")?;
            Ok((id, reviewers))
        });
        let result = match decoded {
            Ok((id, reviewers)) => {
                let (v, outcome, reason, due) = (input.expected_version, input.outcome, input.reason, input.due_on);
                act(ctx, move |tx, user, now| {
                    Box::pin(async move {
                        journey::oversight::decide(
                            tx,
                            &user,
                            id,
                            v,
                            outcome,
                            &reason,
                            &reviewers,
                            due.map(|d| d.0),
                            now,
                        )
                        .await
                    })
                })
                .await
            }
            Err(e) => Err(e),
        };
        appeal_payload(ctx, result).await
    }

    /// Propose a new version of the criteria or the conversion factors (platform admins). It has no effect
    /// until an overseer approves it. 提出评审指标或折算系数的新版本（平台管理员）；监督员批准前不生效。
    async fn propose_rule_change(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The change. 本操作的输入。")] input: ProposeRuleChangeInput,
    ) -> Result<RuleChangePayload> {
        let content = match input.kind {
            RuleKind::Criteria if input.factors.is_empty() => Ok(RuleContent::Criteria(
                input
                    .criteria
                    .into_iter()
                    .map(|c| CriterionInput { key: c.key, name: c.name, weight: c.weight, description: c.description })
                    .collect(),
            )),
            RuleKind::Factors if input.criteria.is_empty() => Ok(RuleContent::Factors(
                input
                    .factors
                    .into_iter()
                    .map(|f| FactorInput {
                        carrier: f.carrier,
                        quantity: f.quantity,
                        factor: f.factor,
                        unit: f.unit,
                        published_factor: f.published_factor,
                        basis: f.basis,
                        source: f.source,
                        year: f.year,
                    })
                    .collect(),
            )),
            _ => Err(AppError::invalid(
                "kind",
                "give criteria for CRITERIA or factors for FACTORS, not both / 评审指标与折算系数只能给出与类型相符的一种",
            )),
        };
        let result = match content {
            Ok(content) => {
                let note = input.note;
                act(ctx, move |tx, user, now| {
                    Box::pin(async move { journey::oversight::propose_rules(tx, &user, content, &note, now).await })
                })
                .await
            }
            Err(e) => Err(e),
        };
        rule_payload(result)
    }

    /// Approve (it takes effect now, as the next version) or turn down a proposed change (an overseer who
    /// did not propose it). 批准（即时生效为新版本）或不批准规则变更（非提出人的监督员）。
    async fn decide_rule_change(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The decision. 本操作的输入。")] input: DecideRuleChangeInput,
    ) -> Result<RuleChangePayload> {
        let result = match ids::decode(&input.rule_change_id, "RuleChange", "ruleChangeId") {
            Ok(id) => {
                let (v, approve, note) = (input.expected_version, input.approve, input.note);
                act(ctx, move |tx, user, now| {
                    Box::pin(
                        async move { journey::oversight::decide_rules(tx, &user, id, v, approve, &note, now).await },
                    )
                })
                .await
            }
            Err(e) => Err(e),
        };
        rule_payload(result)
    }
}
