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

#[derive(InputObject)]
pub struct PilotMilestoneInput {
    pub title: String,
    pub due_on: Option<Date>,
}

#[derive(InputObject)]
pub struct StartPilotInput {
    pub proposal_id: ID,
    pub expected_version: i64,
    pub plan: String,
    #[graphql(default)]
    pub milestones: Vec<PilotMilestoneInput>,
}

#[derive(InputObject)]
pub struct UpdateMilestoneInput {
    pub milestone_id: ID,
    pub status: MilestoneStatus,
    /// Defaults to today when the status is DONE.
    pub done_on: Option<Date>,
}

#[derive(InputObject)]
pub struct RecordMeasurementInput {
    pub proposal_id: ID,
    pub carrier: Carrier,
    /// Consumption over the period before the change, in the carrier's unit.
    pub baseline: f64,
    /// Consumption over a period of the same length after the change.
    pub after: f64,
    pub period_start: Date,
    pub period_end: Date,
    #[graphql(default)]
    pub note: String,
}

#[derive(InputObject)]
pub struct ConfirmAdoptionInput {
    pub proposal_id: ID,
    pub expected_version: i64,
    /// The actual investment; defaults to the author's expected investment.
    pub investment_yuan: Option<f64>,
    pub note: Option<String>,
}

payload!(StartPilotPayload { proposal: Proposal });
payload!(UpdateMilestonePayload { proposal: Proposal });
payload!(RecordMeasurementPayload { proposal: Proposal });
payload!(ConfirmAdoptionPayload { proposal: Proposal });

#[derive(Default)]
pub struct PilotMutations;

#[Object]
impl PilotMutations {
    /// Start the pilot of an accepted proposal (studio lead), with a plan and milestones.
    async fn start_pilot(&self, ctx: &Context<'_>, input: StartPilotInput) -> Result<StartPilotPayload> {
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

    /// Mark a pilot milestone's progress (studio lead or enterprise admin).
    async fn update_milestone(&self, ctx: &Context<'_>, input: UpdateMilestoneInput) -> Result<UpdateMilestonePayload> {
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

    /// Record consumption before and after the change for one carrier and period (studio lead or enterprise admin).
    async fn record_measurement(
        &self,
        ctx: &Context<'_>,
        input: RecordMeasurementInput,
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

    /// Confirm adoption (enterprise admin): fixes the verified savings from the pilot's measurements.
    async fn confirm_adoption(&self, ctx: &Context<'_>, input: ConfirmAdoptionInput) -> Result<ConfirmAdoptionPayload> {
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
