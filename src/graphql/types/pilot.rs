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

#[Object]
impl Pilot {
    async fn plan(&self) -> &str {
        &self.0.plan
    }
    async fn started_at(&self) -> Timestamp {
        self.0.started_at.into()
    }
    async fn started_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let id = self.0.started_by;
        Ok(read!(ctx, |s| s.user(id).await).map(User))
    }
    async fn milestones(&self, ctx: &Context<'_>) -> Result<Vec<Milestone>> {
        let id = self.0.proposal_id;
        Ok(read!(ctx, |s| s.milestones(id).await).into_iter().map(Milestone).collect())
    }
    /// Before/after measurements in the order they were recorded.
    async fn measurements(&self, ctx: &Context<'_>) -> Result<Vec<MeasurementView>> {
        let id = self.0.proposal_id;
        Ok(read!(ctx, |s| s.measurements(id).await).into_iter().map(MeasurementView).collect())
    }
}

pub struct Milestone(pub MilestoneRow);

#[Object]
impl Milestone {
    async fn id(&self) -> ID {
        ids::encode("Milestone", self.0.id)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn due_on(&self) -> Option<Date> {
        self.0.due_on.map(Into::into)
    }
    /// Where the milestone stands. 里程碑进展。
    async fn status(&self) -> MilestoneStatus {
        MilestoneStatus::parse(&self.0.status).unwrap_or(MilestoneStatus::Planned)
    }
    async fn done_on(&self) -> Option<Date> {
        self.0.done_on.map(Into::into)
    }
}

#[async_graphql::Object(name = "Measurement")]
impl MeasurementView {
    async fn carrier(&self) -> Option<Carrier> {
        Carrier::parse(&self.0.carrier)
    }
    /// Unit of `baseline` and `after`.
    async fn unit(&self) -> &'static str {
        Carrier::parse(&self.0.carrier).map(Carrier::unit).unwrap_or("")
    }
    /// Consumption over the period before the change.
    async fn baseline(&self) -> f64 {
        self.0.baseline
    }
    /// Consumption over a period of the same length after the change.
    async fn after(&self) -> f64 {
        self.0.after
    }
    async fn period_start(&self) -> Date {
        self.0.period_start.into()
    }
    async fn period_end(&self) -> Date {
        self.0.period_end.into()
    }
    /// (baseline − after) scaled to a year.
    async fn yearly_saving(&self) -> Option<f64> {
        self.0.measurement().map(|m| m.yearly_saving())
    }
    async fn note(&self) -> &str {
        &self.0.note
    }
    async fn recorded_at(&self) -> Timestamp {
        self.0.recorded_at.into()
    }
}

pub struct MeasurementView(pub MeasurementRow);
