//! The pilot (incubation): plan, milestones and measurements.

use crate::graphql::types::scalars::{Date, Timestamp};
use async_graphql::{Context, Object, Result, ID};

use super::organisation::User;
use crate::{
    db::rows::{MeasurementRow, MilestoneRow, PilotRow},
    domain::savings::Carrier,
    graphql::ids,
    journey::pilot::MilestoneStatus,
    read,
};

pub struct Pilot(pub PilotRow);

/// The trial of an accepted proposal inside its enterprise (incubation). 已采纳提案在企业内的试点（孵化）。
#[Object]
impl Pilot {
    /// The plan, as the studio lead wrote it. 试点方案。
    async fn plan(&self) -> &str {
        &self.0.plan
    }
    /// When it started. 开始时间。
    async fn started_at(&self) -> Timestamp {
        self.0.started_at.into()
    }
    /// Who started it. 发起人。
    async fn started_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let id = self.0.started_by;
        Ok(read!(ctx, |s| s.user(id).await).map(User))
    }
    /// Its milestones, in order. 里程碑（按顺序）。
    async fn milestones(&self, ctx: &Context<'_>) -> Result<Vec<Milestone>> {
        let id = self.0.proposal_id;
        Ok(read!(ctx, |s| s.milestones(id).await).into_iter().map(Milestone).collect())
    }
    /// Before/after measurements in the order they were recorded. 改进前后的测量，按记录先后。
    async fn measurements(&self, ctx: &Context<'_>) -> Result<Vec<MeasurementView>> {
        let id = self.0.proposal_id;
        Ok(read!(ctx, |s| s.measurements(id).await).into_iter().map(MeasurementView).collect())
    }
}

pub struct Milestone(pub MilestoneRow);

/// A step of a pilot. 试点里程碑。
#[Object]
impl Milestone {
    /// Global, opaque id. 全局唯一编号。
    async fn id(&self) -> ID {
        ids::encode("Milestone", self.0.id)
    }
    /// What is to be done. 里程碑内容。
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// When it is due. 计划完成日期。
    async fn due_on(&self) -> Option<Date> {
        self.0.due_on.map(Into::into)
    }
    /// Where the milestone stands. 里程碑进展。
    async fn status(&self) -> MilestoneStatus {
        MilestoneStatus::parse(&self.0.status).unwrap_or(MilestoneStatus::Planned)
    }
    /// When it was done. 实际完成日期。
    async fn done_on(&self) -> Option<Date> {
        self.0.done_on.map(Into::into)
    }
}

/// A measured saving: consumption before and after over equal periods. 一次节能测量：前后等长时段的消耗量。
#[async_graphql::Object(name = "Measurement")]
impl MeasurementView {
    /// What was measured. 测量的能源载体。
    async fn carrier(&self) -> Option<Carrier> {
        Carrier::parse(&self.0.carrier)
    }
    /// Unit of `baseline` and `after`. baseline 与 after 的单位。
    async fn unit(&self) -> &'static str {
        Carrier::parse(&self.0.carrier).map(Carrier::unit).unwrap_or("")
    }
    /// Consumption over the period before the change. 改进前时段的消耗量。
    async fn baseline(&self) -> f64 {
        self.0.baseline
    }
    /// Consumption over a period of the same length after the change. 改进后同样长度时段内的消耗量。
    async fn after(&self) -> f64 {
        self.0.after
    }
    /// Start of the period after the change. 改进后测量期的开始日期。
    async fn period_start(&self) -> Date {
        self.0.period_start.into()
    }
    /// End of the period after the change. 改进后测量期的结束日期。
    async fn period_end(&self) -> Date {
        self.0.period_end.into()
    }
    /// (baseline − after) scaled to a year. （改进前−改进后）折算为全年。
    async fn yearly_saving(&self) -> Option<f64> {
        self.0.measurement().map(|m| m.yearly_saving())
    }
    /// How it was measured. 测量说明。
    async fn note(&self) -> &str {
        &self.0.note
    }
    /// When it was recorded. 记录时间。
    async fn recorded_at(&self) -> Timestamp {
        self.0.recorded_at.into()
    }
}

pub struct MeasurementView(pub MeasurementRow);
