//! startPilot, updateMilestone, recordMeasurement, confirmAdoption.

use crate::graphql::types::scalars::Date;
use async_graphql::{Context, InputObject, Object, Result, ID};

use super::{act, decode_proposal_id, payload, proposal_payload};
use crate::{
    domain::savings::Carrier,
    graphql::{ids, types::Proposal},
    journey::{
        self,
        pilot::{MilestoneInput, MilestoneStatus},
    },
};

/// A milestone of a new pilot. 新试点的里程碑。
#[derive(InputObject)]
pub struct PilotMilestoneInput {
    /// What is to be done. 里程碑内容。
    pub title: String,
    /// When it is due. 计划完成日期。
    pub due_on: Option<Date>,
}

/// Input of `startPilot`. `startPilot` 的输入。
#[derive(InputObject)]
pub struct StartPilotInput {
    /// The proposal. 提案编号。
    pub proposal_id: ID,
    /// The version you saw: if someone changed it since, the mutation is refused with VERSION_CONFLICT. 你看到的版本号；如已被他人修改则以 VERSION_CONFLICT 拒绝。
    pub expected_version: i64,
    /// The pilot's plan. 试点方案。
    pub plan: String,
    /// Its milestones, in order. 里程碑（按顺序）。
    #[graphql(default)]
    pub milestones: Vec<PilotMilestoneInput>,
}

/// Input of `updateMilestone`. `updateMilestone` 的输入。
#[derive(InputObject)]
pub struct UpdateMilestoneInput {
    /// The milestone. 里程碑编号。
    pub milestone_id: ID,
    /// Its new status. 新状态。
    pub status: MilestoneStatus,
    /// Defaults to today when the status is DONE. 状态为 DONE 时缺省为今天。
    pub done_on: Option<Date>,
}

/// Input of `recordMeasurement`. `recordMeasurement` 的输入。
#[derive(InputObject)]
pub struct RecordMeasurementInput {
    /// The proposal. 提案编号。
    pub proposal_id: ID,
    /// What was measured. 测量的能源载体。
    pub carrier: Carrier,
    /// Consumption over the period before the change, in the carrier's unit. 改进前时段的消耗量（以该能源的单位计）。
    pub baseline: f64,
    /// Consumption over a period of the same length after the change. 改进后同样长度时段内的消耗量。
    pub after: f64,
    /// Start of the period after the change. 改进后测量期开始日期。
    pub period_start: Date,
    /// End of the period after the change. 改进后测量期结束日期。
    pub period_end: Date,
    /// How it was measured. 测量说明。
    #[graphql(default)]
    pub note: String,
}

/// Input of `confirmAdoption`. `confirmAdoption` 的输入。
#[derive(InputObject)]
pub struct ConfirmAdoptionInput {
    /// The proposal. 提案编号。
    pub proposal_id: ID,
    /// The version you saw: if someone changed it since, the mutation is refused with VERSION_CONFLICT. 你看到的版本号；如已被他人修改则以 VERSION_CONFLICT 拒绝。
    pub expected_version: i64,
    /// The actual investment; defaults to the author's expected investment. 实际投资；缺省为作者预期投资。
    pub investment_yuan: Option<f64>,
    /// What the enterprise noted about the adoption. 推广应用备注。
    pub note: Option<String>,
}

payload!(
    /// What `startPilot` returns: the result, or why it was refused. `startPilot` 的结果或拒绝原因。
    StartPilotPayload { proposal: Proposal }
);
payload!(
    /// What `updateMilestone` returns: the result, or why it was refused. `updateMilestone` 的结果或拒绝原因。
    UpdateMilestonePayload { proposal: Proposal }
);
payload!(
    /// What `recordMeasurement` returns: the result, or why it was refused. `recordMeasurement` 的结果或拒绝原因。
    RecordMeasurementPayload { proposal: Proposal }
);
payload!(
    /// What `confirmAdoption` returns: the result, or why it was refused. `confirmAdoption` 的结果或拒绝原因。
    ConfirmAdoptionPayload { proposal: Proposal }
);

#[derive(Default)]
pub struct PilotMutations;

#[Object]
impl PilotMutations {
    /// Start the pilot of an accepted proposal (studio lead), with a plan and milestones. 为已采纳的提案启动试点（工作室负责人），附方案与里程碑。
    async fn start_pilot(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change. 本操作的输入。")] input: StartPilotInput,
    ) -> Result<StartPilotPayload> {
        let result = match decode_proposal_id(&input.proposal_id) {
            Ok(id) => {
                let (v, plan) = (input.expected_version, input.plan);
                let milestones: Vec<MilestoneInput> = input
                    .milestones
                    .into_iter()
                    .map(|m| MilestoneInput { title: m.title, due_on: m.due_on.map(Into::into) })
                    .collect();
                act(ctx, move |tx, user, now| {
                    Box::pin(async move { journey::pilot::start_pilot(tx, &user, id, v, &plan, milestones, now).await })
                })
                .await
            }
            Err(e) => Err(e),
        };
        Ok(proposal_payload(ctx, result).await?.into())
    }

    /// Mark a pilot milestone's progress (studio lead or enterprise admin). 更新试点里程碑进展（工作室负责人或企业管理员）。
    async fn update_milestone(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change. 本操作的输入。")] input: UpdateMilestoneInput,
    ) -> Result<UpdateMilestonePayload> {
        let result = match ids::decode(&input.milestone_id, "Milestone", "milestoneId") {
            Ok(id) => {
                let (status, done) = (input.status, input.done_on);
                act(ctx, move |tx, user, now| {
                    Box::pin(async move {
                        journey::pilot::update_milestone(tx, &user, id, status, done.map(Into::into), now).await
                    })
                })
                .await
            }
            Err(e) => Err(e),
        };
        Ok(proposal_payload(ctx, result).await?.into())
    }

    /// Record consumption before and after the change for one carrier and period (studio lead or enterprise admin). 登记某能源在某时段改进前后的消耗量（工作室负责人或企业管理员）。
    async fn record_measurement(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change. 本操作的输入。")] input: RecordMeasurementInput,
    ) -> Result<RecordMeasurementPayload> {
        let result = match decode_proposal_id(&input.proposal_id) {
            Ok(id) => {
                let i = input;
                let period = (i.period_start, i.period_end);
                act(ctx, move |tx, user, now| {
                    Box::pin(async move {
                        journey::pilot::record_measurement(
                            tx,
                            &user,
                            id,
                            i.carrier,
                            i.baseline,
                            i.after,
                            (period.0.into(), period.1.into()),
                            &i.note,
                            now,
                        )
                        .await
                    })
                })
                .await
            }
            Err(e) => Err(e),
        };
        Ok(proposal_payload(ctx, result).await?.into())
    }

    /// Confirm adoption (enterprise admin): fixes the verified savings from the pilot's measurements. 确认推广应用（企业管理员）：根据试点测量固定核实节能量。
    async fn confirm_adoption(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change. 本操作的输入。")] input: ConfirmAdoptionInput,
    ) -> Result<ConfirmAdoptionPayload> {
        let result = match decode_proposal_id(&input.proposal_id) {
            Ok(id) => {
                let (v, inv, note) = (input.expected_version, input.investment_yuan, input.note);
                act(ctx, move |tx, user, now| {
                    Box::pin(async move {
                        journey::pilot::confirm_adoption(tx, &user, id, v, inv, note.as_deref(), now).await
                    })
                })
                .await
            }
            Err(e) => Err(e),
        };
        Ok(proposal_payload(ctx, result).await?.into())
    }
}
