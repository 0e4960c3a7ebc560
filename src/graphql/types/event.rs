//! `ProposalEvent`: one change of state in a proposal's history.

use async_graphql::{Context, Object, Result, ID};
use chrono::{DateTime, Utc};

use super::organisation::User;
use crate::{db::rows::EventRow, domain::lifecycle::Status, graphql::ids, read};

pub struct ProposalEvent {
    pub row: EventRow,
    /// Blind review: the actor is an author this viewer may not know.
    pub hide_actor: bool,
}

#[Object]
impl ProposalEvent {
    /// Position in the global, ordered event stream.
    async fn sequence(&self) -> i64 {
        self.row.id
    }
    async fn proposal_id(&self) -> ID {
        ids::encode("Proposal", self.row.proposal_id)
    }
    /// CREATED, UPDATED, SUBMITTED, REVIEWERS_ASSIGNED, EVALUATED, ACCEPTED, RETURNED, REJECTED, WITHDRAWN,
    /// PILOT_STARTED, MILESTONE_UPDATED, MEASUREMENT_RECORDED, ADOPTED, PROMOTED or COAUTHOR_JOINED.
    async fn kind(&self) -> &str {
        &self.row.kind
    }
    async fn from_status(&self) -> Option<Status> {
        self.row.from_status.as_deref().and_then(Status::parse)
    }
    async fn to_status(&self) -> Status {
        Status::parse(&self.row.to_status).unwrap_or(Status::Draft)
    }
    /// The version the proposal moved from.
    async fn from_version(&self) -> i64 {
        self.row.from_version
    }
    async fn reason(&self) -> Option<&str> {
        self.row.reason.as_deref()
    }
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.row.actor_id.filter(|_| !self.hide_actor) else { return Ok(None) };
        Ok(read!(ctx, |s| s.user(id).await).map(User))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
}
