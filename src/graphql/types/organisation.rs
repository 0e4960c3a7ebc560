//! Users, enterprises, teams and studios.

use crate::graphql::types::scalars::Timestamp;
use async_graphql::{Context, Object, Result, ID};

use super::evaluation::ReviewAssignment;
use crate::{
    db::{
        coauthors::InvitationRow,
        organisations::{EnterpriseRow, StudioRow, TeamRow},
        rows::PointsRow,
        users::UserRow,
    },
    domain::{
        organisation::{person_sight, Industry, PersonSight, Role},
        recognition::PointsReason,
    },
    graphql::{
        guards::{services, viewer},
        ids,
    },
    read,
};

pub struct User(pub UserRow);

#[Object]
impl User {
    pub async fn id(&self) -> ID {
        ids::encode("User", self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn role(&self) -> Role {
        self.0.role()
    }
    async fn enterprise(&self, ctx: &Context<'_>) -> Result<Option<Enterprise>> {
        let Some(id) = self.0.enterprise_id else { return Ok(None) };
        Ok(services(ctx)?.db.enterprise(id).await?.map(Enterprise))
    }
    /// Their team: for people of the same enterprise.
    async fn team(&self, ctx: &Context<'_>) -> Result<Option<Team>> {
        let Some(id) = self.0.team_id.filter(|_| self.sight(ctx) >= PersonSight::Colleague) else { return Ok(None) };
        Ok(services(ctx)?.db.team(id).await?.map(Team))
    }
    /// Their studio: for people of the same enterprise.
    async fn studio(&self, ctx: &Context<'_>) -> Result<Option<Studio>> {
        let Some(id) = self.0.studio_id.filter(|_| self.sight(ctx) >= PersonSight::Colleague) else {
            return Ok(None);
        };
        Ok(services(ctx)?.db.studio(id).await?.map(Studio))
    }
    async fn created_at(&self) -> Timestamp {
        self.0.created_at.into()
    }
    /// Recognition points earned from proposals (shared among co-authors). Null unless the viewer is the
    /// person, an admin of their enterprise or a platform admin: points move at submission, so they would
    /// tell a reviewer who just wrote a proposal under blind review.
    async fn points(&self, ctx: &Context<'_>) -> Result<Option<i64>> {
        if self.sight(ctx) < PersonSight::Steward {
            return Ok(None);
        }
        let id = self.0.id;
        Ok(Some(read!(ctx, |s| s.points_of(id).await).iter().map(|p| p.points).sum()))
    }
    /// Green-skill credits an enterprise can use in skill-level assessment (adoption 1, promotion 2,
    /// shared). Null for the same viewers as `points`.
    async fn green_skill_credits(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
        if self.sight(ctx) < PersonSight::Steward {
            return Ok(None);
        }
        let id = self.0.id;
        Ok(Some(read!(ctx, |s| s.points_of(id).await).iter().map(|p| p.credits).sum()))
    }
    /// The points ledger, oldest first: for the person, their enterprise's admins and platform admins.
    async fn points_ledger(&self, ctx: &Context<'_>) -> Result<Vec<PointsEntry>> {
        if self.sight(ctx) < PersonSight::Steward {
            return Ok(vec![]);
        }
        let id = self.0.id;
        Ok(read!(ctx, |s| s.points_of(id).await).into_iter().map(PointsEntry).collect())
    }
    /// Open invitations to co-author a proposal, oldest first: only for the user themself.
    async fn co_author_invitations(&self, ctx: &Context<'_>) -> Result<Vec<CoAuthorInvitation>> {
        if viewer(ctx).user.as_ref().is_none_or(|v| v.id != self.0.id) {
            return Ok(vec![]);
        }
        let id = self.0.id;
        Ok(read!(ctx, |s| s.invitations_of(id).await).into_iter().map(CoAuthorInvitation).collect())
    }
    /// Proposals waiting for this reviewer's evaluation, earliest due first: only for the user themself.
    async fn review_queue(&self, ctx: &Context<'_>) -> Result<Vec<ReviewAssignment>> {
        if !self.is_self_or_admin(ctx) {
            return Ok(vec![]);
        }
        let id = self.0.id;
        Ok(read!(ctx, |s| s.review_queue(id).await).into_iter().map(ReviewAssignment).collect())
    }
}

impl User {
    pub fn sight(&self, ctx: &Context<'_>) -> PersonSight {
        person_sight(viewer(ctx).user.as_ref().map(|u| u.person()), self.0.person())
    }

    fn is_self_or_admin(&self, ctx: &Context<'_>) -> bool {
        viewer(ctx).user.as_ref().is_some_and(|v| v.id == self.0.id || v.role() == Role::Admin)
    }
}

/// An invitation to co-author a proposal, with what the invitee needs to decide.
pub struct CoAuthorInvitation(pub InvitationRow);

#[Object]
impl CoAuthorInvitation {
    /// The proposal (its id; it opens once you have joined, or when it is open to you anyway).
    async fn proposal_id(&self) -> ID {
        ids::encode("Proposal", self.0.proposal_id)
    }
    /// Its title.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Who invited you.
    async fn invited_by(&self) -> &str {
        &self.0.invited_by
    }
    /// When.
    async fn invited_at(&self) -> Timestamp {
        self.0.created_at.into()
    }
}

/// One line of the points ledger.
pub struct PointsEntry(pub PointsRow);

#[Object]
impl PointsEntry {
    /// What earned the points. 积分来由。
    async fn reason(&self) -> PointsReason {
        PointsReason::parse(&self.0.reason).unwrap_or(PointsReason::Submission)
    }
    async fn points(&self) -> i64 {
        self.0.points
    }
    async fn credits(&self) -> f64 {
        self.0.credits
    }
    async fn proposal_id(&self) -> ID {
        ids::encode("Proposal", self.0.proposal_id)
    }
    async fn created_at(&self) -> Timestamp {
        self.0.created_at.into()
    }
}

pub struct Enterprise(pub EnterpriseRow);

#[Object]
impl Enterprise {
    pub async fn id(&self) -> ID {
        ids::encode("Enterprise", self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn industry(&self) -> Industry {
        Industry::parse(&self.0.industry).unwrap_or(Industry::Other)
    }
    async fn region(&self) -> Option<&str> {
        self.0.region.as_deref()
    }
    async fn teams(&self, ctx: &Context<'_>) -> Result<Vec<Team>> {
        Ok(services(ctx)?.db.teams_of(self.0.id).await?.into_iter().map(Team).collect())
    }
    async fn studios(&self, ctx: &Context<'_>) -> Result<Vec<Studio>> {
        Ok(services(ctx)?.db.studios_of(self.0.id).await?.into_iter().map(Studio).collect())
    }
}

/// A team (班组) of an enterprise.
pub struct Team(pub TeamRow);

#[Object]
impl Team {
    pub async fn id(&self) -> ID {
        ids::encode("Team", self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Flagged as a green team (绿色班组).
    async fn is_green(&self) -> bool {
        self.0.is_green
    }
    async fn enterprise(&self, ctx: &Context<'_>) -> Result<Option<Enterprise>> {
        Ok(services(ctx)?.db.enterprise(self.0.enterprise_id).await?.map(Enterprise))
    }
}

/// A model-worker / craftsman innovation studio (劳模和工匠人才创新工作室).
pub struct Studio(pub StudioRow);

#[Object]
impl Studio {
    pub async fn id(&self) -> ID {
        ids::encode("Studio", self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn specialties(&self) -> Vec<String> {
        self.0.specialties.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
    }
    async fn enterprise(&self, ctx: &Context<'_>) -> Result<Option<Enterprise>> {
        Ok(services(ctx)?.db.enterprise(self.0.enterprise_id).await?.map(Enterprise))
    }
    async fn lead(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.0.lead_user_id else { return Ok(None) };
        Ok(services(ctx)?.db.user(id).await?.map(User))
    }
    /// The studio's reviewers and lead (whom a lead assigns to review): for people of its enterprise and
    /// platform admins; empty for everyone else.
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<User>> {
        let viewer = crate::graphql::guards::viewer(ctx);
        let Some(user) = &viewer.user else { return Ok(vec![]) };
        if user.role() != Role::Admin && user.enterprise_id != Some(self.0.enterprise_id) {
            return Ok(vec![]);
        }
        Ok(services(ctx)?.db.studio_members(self.0.id).await?.into_iter().map(User).collect())
    }
}
