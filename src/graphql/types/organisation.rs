//! Users, enterprises, teams and studios.

use crate::graphql::types::scalars::Timestamp;
use async_graphql::{Context, Object, Result, ID};

use super::{evaluation::ReviewAssignment, people::AccessToken};
use crate::{
    db::{
        coauthors::InvitationRow,
        organisations::{EnterpriseRow, StudioRow, TeamRow},
        people::{SESSION, TOKEN},
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

/// A person with an account: worker, reviewer, studio lead, admin or association. 有账号的人员。
#[Object]
impl User {
    /// Global, opaque id. 全局唯一编号。
    pub async fn id(&self) -> ID {
        ids::encode("User", self.0.id)
    }
    /// Their name. 姓名。
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What they may do. 角色。
    async fn role(&self) -> Role {
        self.0.role()
    }
    /// Their enterprise. 所属企业。
    async fn enterprise(&self, ctx: &Context<'_>) -> Result<Option<Enterprise>> {
        let Some(id) = self.0.enterprise_id else { return Ok(None) };
        Ok(services(ctx)?.db.enterprise(id).await?.map(Enterprise))
    }
    /// Their team: for people of the same enterprise. 所在班组：同企业的人可见。
    async fn team(&self, ctx: &Context<'_>) -> Result<Option<Team>> {
        let Some(id) = self.0.team_id.filter(|_| self.sight(ctx) >= PersonSight::Colleague) else { return Ok(None) };
        Ok(services(ctx)?.db.team(id).await?.map(Team))
    }
    /// Their studio: for people of the same enterprise. 所在工作室：同企业的人可见。
    async fn studio(&self, ctx: &Context<'_>) -> Result<Option<Studio>> {
        let Some(id) = self.0.studio_id.filter(|_| self.sight(ctx) >= PersonSight::Colleague) else {
            return Ok(None);
        };
        Ok(services(ctx)?.db.studio(id).await?.map(Studio))
    }
    /// Their e-mail address: for themself and their administrators. 电子邮箱：本人及其管理员可见。
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        self.0.email.as_deref().filter(|_| self.sight(ctx) == PersonSight::Steward)
    }
    /// Their employee number (工号): for themself and their administrators. 工号：本人及其管理员可见。
    async fn employee_number(&self, ctx: &Context<'_>) -> Option<&str> {
        self.0.employee_number.as_deref().filter(|_| self.sight(ctx) == PersonSight::Steward)
    }
    /// False once deactivated (they can no longer sign in): for themself and their administrators. 是否在用（停用后无法登录）：本人及其管理员可见。
    async fn active(&self, ctx: &Context<'_>) -> Option<bool> {
        (self.sight(ctx) == PersonSight::Steward).then_some(self.0.deactivated_at.is_none())
    }
    /// Whether they sign in with the enterprise's account (linked to the provider): for their administrators. 是否已关联企业账号：管理员可见。
    async fn linked_to_provider(&self, ctx: &Context<'_>) -> Option<bool> {
        (self.sight(ctx) == PersonSight::Steward).then_some(self.0.oidc_subject.is_some())
    }
    /// Their personal access tokens that still work, newest first: for themself and their administrators. 仍有效的个人访问令牌（新的在前）：本人及其管理员可见。
    async fn access_tokens(&self, ctx: &Context<'_>) -> Result<Vec<AccessToken>> {
        self.credentials(ctx, TOKEN).await
    }
    /// Browsers signed in as them, newest first: for themself and their administrators. 已登录的浏览器会话（新的在前）：本人及其管理员可见。
    async fn sessions(&self, ctx: &Context<'_>) -> Result<Vec<AccessToken>> {
        self.credentials(ctx, SESSION).await
    }
    /// Their inbox, newest first: for themself only (null for anyone else). 本人的通知收件箱（新的在前）；他人查看为空。
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only those not yet read. 仅未读。", default = false)] unread_only: bool,
        #[graphql(desc = "Page size forward (0–100). 向后翻页的每页数量（0–100）。")] first: Option<i32>,
        #[graphql(desc = "Notifications after this cursor. 从该游标之后开始。")] after: Option<String>,
        #[graphql(desc = "Page size backward (0–100). 向前翻页的每页数量（0–100）。")] last: Option<i32>,
        #[graphql(desc = "Notifications before this cursor. 到该游标之前为止。")] before: Option<String>,
    ) -> Result<Option<crate::graphql::connection::Conn<super::notification::Notification>>> {
        if !self.is_self(ctx) {
            return Ok(None);
        }
        let args = crate::graphql::connection::PageArgs::new(first, after, last, before);
        Ok(Some(super::notification::inbox(ctx, self.0.id, unread_only, &args).await?))
    }
    /// How many of their notifications are unread: for themself only. 未读通知数（仅本人可见）。
    async fn unread_notification_count(&self, ctx: &Context<'_>) -> Result<Option<i64>> {
        if !self.is_self(ctx) {
            return Ok(None);
        }
        let id = self.0.id;
        Ok(Some(read!(ctx, |s| s.unread_count(id).await)))
    }
    /// How they want to be told (channel per kind, quiet hours): for themself only. 通知设置（仅本人可见）。
    async fn notification_settings(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<super::notification::NotificationSettings>> {
        if !self.is_self(ctx) {
            return Ok(None);
        }
        Ok(Some(super::notification::settings(ctx, self.0.id, self.0.email.is_some()).await?))
    }
    /// When it was created. 创建时间。
    async fn created_at(&self) -> Timestamp {
        self.0.created_at.into()
    }
    /// Recognition points earned from proposals (shared among co-authors). Null unless the viewer is the
    /// person, an admin of their enterprise or a platform admin: points move at submission, so they would
    /// tell a reviewer who just wrote a proposal under blind review. 提案获得的积分（共同作者分享）。仅本人、本企业管理员与平台管理员可见：积分在提交时变化，否则会向评审人泄露盲评提案的作者。
    async fn points(&self, ctx: &Context<'_>) -> Result<Option<i64>> {
        if self.sight(ctx) < PersonSight::Steward {
            return Ok(None);
        }
        let id = self.0.id;
        Ok(Some(read!(ctx, |s| s.points_of(id).await).iter().map(|p| p.points).sum()))
    }
    /// Green-skill credits an enterprise can use in skill-level assessment (adoption 1, promotion 2,
    /// shared). Null for the same viewers as `points`. 可用于技能等级评价的绿色技能学分（推广应用1分、入选目录2分，共同作者分享）。可见范围同 points。
    async fn green_skill_credits(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
        if self.sight(ctx) < PersonSight::Steward {
            return Ok(None);
        }
        let id = self.0.id;
        Ok(Some(read!(ctx, |s| s.points_of(id).await).iter().map(|p| p.credits).sum()))
    }
    /// The points ledger, oldest first: for the person, their enterprise's admins and platform admins. 积分明细（按时间先后），本人、本企业管理员与平台管理员可见。
    async fn points_ledger(&self, ctx: &Context<'_>) -> Result<Vec<PointsEntry>> {
        if self.sight(ctx) < PersonSight::Steward {
            return Ok(vec![]);
        }
        let id = self.0.id;
        Ok(read!(ctx, |s| s.points_of(id).await).into_iter().map(PointsEntry).collect())
    }
    /// Open invitations to co-author a proposal, oldest first: only for the user themself. 待回复的共同作者邀请，按时间先后；仅本人可见。
    async fn co_author_invitations(&self, ctx: &Context<'_>) -> Result<Vec<CoAuthorInvitation>> {
        if viewer(ctx).user.as_ref().is_none_or(|v| v.id != self.0.id) {
            return Ok(vec![]);
        }
        let id = self.0.id;
        Ok(read!(ctx, |s| s.invitations_of(id).await).into_iter().map(CoAuthorInvitation).collect())
    }
    /// Proposals waiting for this reviewer's evaluation, earliest due first: only for the user themself. 等待该评审人评分的提案，截止最早的在前；仅本人可见。
    async fn review_queue(&self, ctx: &Context<'_>) -> Result<Vec<ReviewAssignment>> {
        if !self.is_self_or_admin(ctx) {
            return Ok(vec![]);
        }
        let id = self.0.id;
        Ok(read!(ctx, |s| s.review_queue(id).await).into_iter().map(ReviewAssignment).collect())
    }
}

impl User {
    async fn credentials(&self, ctx: &Context<'_>, kind: &'static str) -> Result<Vec<AccessToken>> {
        if self.sight(ctx) != PersonSight::Steward {
            return Ok(vec![]);
        }
        let (id, now) = (self.0.id, chrono::Utc::now());
        Ok(read!(ctx, |s| s.credentials_of(id, kind, now).await).into_iter().map(AccessToken).collect())
    }

    pub fn sight(&self, ctx: &Context<'_>) -> PersonSight {
        person_sight(viewer(ctx).user.as_ref().map(|u| u.person()), self.0.person())
    }

    fn is_self(&self, ctx: &Context<'_>) -> bool {
        viewer(ctx).user.as_ref().is_some_and(|v| v.id == self.0.id)
    }

    fn is_self_or_admin(&self, ctx: &Context<'_>) -> bool {
        viewer(ctx).user.as_ref().is_some_and(|v| v.id == self.0.id || v.role() == Role::Admin)
    }
}

/// An invitation to co-author a proposal, with what the invitee needs to decide.
pub struct CoAuthorInvitation(pub InvitationRow);

/// An invitation to join a proposal as co-author. 共同作者邀请。
#[Object]
impl CoAuthorInvitation {
    /// The proposal (its id; it opens once you have joined, or when it is open to you anyway). 提案编号（加入后或本就对你公开时可打开）。
    async fn proposal_id(&self) -> ID {
        ids::encode("Proposal", self.0.proposal_id)
    }
    /// Its title. 标题。
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Who invited you. 邀请人。
    async fn invited_by(&self) -> &str {
        &self.0.invited_by
    }
    /// When. 时间。
    async fn invited_at(&self) -> Timestamp {
        self.0.created_at.into()
    }
}

/// One line of the points ledger.
pub struct PointsEntry(pub PointsRow);

/// One line of a worker's points ledger. 积分明细的一条。
#[Object]
impl PointsEntry {
    /// What earned the points. 积分来由。
    async fn reason(&self) -> PointsReason {
        PointsReason::parse(&self.0.reason).unwrap_or(PointsReason::Submission)
    }
    /// Points awarded. 获得的积分。
    async fn points(&self) -> i64 {
        self.0.points
    }
    /// The share of the proposal's credit (co-authors share it). 所占份额（共同作者分享）。
    async fn credits(&self) -> f64 {
        self.0.credits
    }
    /// The proposal that earned them. 获得积分的提案。
    async fn proposal_id(&self) -> ID {
        ids::encode("Proposal", self.0.proposal_id)
    }
    /// When it was created. 创建时间。
    async fn created_at(&self) -> Timestamp {
        self.0.created_at.into()
    }
}

pub struct Enterprise(pub EnterpriseRow);

/// A plant or company (企业). 企业。
#[Object]
impl Enterprise {
    /// Global, opaque id. 全局唯一编号。
    pub async fn id(&self) -> ID {
        ids::encode("Enterprise", self.0.id)
    }
    /// Its name. 企业名称。
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Its industry. 所属行业。
    async fn industry(&self) -> Industry {
        Industry::parse(&self.0.industry).unwrap_or(Industry::Other)
    }
    /// Where it is, when known. 所在地区。
    async fn region(&self) -> Option<&str> {
        self.0.region.as_deref()
    }
    /// Its teams (班组). 企业的班组。
    async fn teams(&self, ctx: &Context<'_>) -> Result<Vec<Team>> {
        Ok(services(ctx)?.db.teams_of(self.0.id).await?.into_iter().map(Team).collect())
    }
    /// Its model-worker and craftsman innovation studios. 企业的劳模工匠创新工作室。
    async fn studios(&self, ctx: &Context<'_>) -> Result<Vec<Studio>> {
        Ok(services(ctx)?.db.studios_of(self.0.id).await?.into_iter().map(Studio).collect())
    }
}

/// A team (班组) of an enterprise.
pub struct Team(pub TeamRow);

/// A shop-floor team (班组). 班组。
#[Object]
impl Team {
    /// Global, opaque id. 全局唯一编号。
    pub async fn id(&self) -> ID {
        ids::encode("Team", self.0.id)
    }
    /// Its name. 班组名称。
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Flagged as a green team (绿色班组).
    async fn is_green(&self) -> bool {
        self.0.is_green
    }
    /// Its enterprise. 所属企业。
    async fn enterprise(&self, ctx: &Context<'_>) -> Result<Option<Enterprise>> {
        Ok(services(ctx)?.db.enterprise(self.0.enterprise_id).await?.map(Enterprise))
    }
}

/// A model-worker / craftsman innovation studio (劳模和工匠人才创新工作室).
pub struct Studio(pub StudioRow);

/// A model-worker or craftsman innovation studio (劳模工匠创新工作室) that reviews proposals. 评审提案的劳模工匠创新工作室。
#[Object]
impl Studio {
    /// Global, opaque id. 全局唯一编号。
    pub async fn id(&self) -> ID {
        ids::encode("Studio", self.0.id)
    }
    /// Its name. 名称。
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What it is known for. 专长领域。
    async fn specialties(&self) -> Vec<String> {
        self.0.specialties.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
    }
    /// Its enterprise. 所属企业。
    async fn enterprise(&self, ctx: &Context<'_>) -> Result<Option<Enterprise>> {
        Ok(services(ctx)?.db.enterprise(self.0.enterprise_id).await?.map(Enterprise))
    }
    /// Its lead (a model worker). 负责人（劳模）。
    async fn lead(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.0.lead_user_id else { return Ok(None) };
        Ok(services(ctx)?.db.user(id).await?.map(User))
    }
    /// The studio's reviewers and lead (whom a lead assigns to review): for people of its enterprise and
    /// platform admins; empty for everyone else. 工作室的评审人与负责人：本企业人员与平台管理员可见，其他人为空。
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<User>> {
        let viewer = crate::graphql::guards::viewer(ctx);
        let Some(user) = &viewer.user else { return Ok(vec![]) };
        if user.role() != Role::Admin && user.enterprise_id != Some(self.0.enterprise_id) {
            return Ok(vec![]);
        }
        Ok(services(ctx)?.db.studio_members(self.0.id).await?.into_iter().map(User).collect())
    }
}
