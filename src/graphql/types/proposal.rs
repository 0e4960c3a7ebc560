//! `Proposal` and what hangs off it: authors, savings figures, the decision, the pilot, the history.
//! Blind review and the transparency rules are applied here, field by field.

use crate::graphql::types::scalars::Timestamp;
use async_graphql::{Context, Object, Result, SimpleObject, ID};

use super::{
    evaluation::{Decision, Evaluation, EvaluationSummary, ReviewAssignment},
    event::ProposalEvent,
    organisation::{Enterprise, Studio, Team, User},
    pilot::Pilot,
    savings::SavingsFigure,
    technique::Technique,
};
use crate::{
    db::{
        rows::{AuthorRow, ProposalRow},
        users::UserRow,
    },
    domain::{
        lifecycle::Status,
        organisation::Industry,
        proposal::{actor_shown, authors_hidden, can_view, Category, EventActor, Sight},
        savings::SavingsKind,
    },
    error::AppResult,
    graphql::{
        connection::{Conn, Keyset, PageArgs},
        guards::{services, viewer},
        ids,
    },
    journey::{self, Loaded},
    read,
};

pub struct Proposal {
    pub row: ProposalRow,
    pub authors: Vec<AuthorRow>,
    pub sight: Sight,
    pub viewer_id: Option<i64>,
}

impl Proposal {
    /// The proposal as the viewer may see it, or `None` when they may not see it at all.
    pub async fn visible(ctx: &Context<'_>, row: ProposalRow) -> AppResult<Option<Proposal>> {
        Ok(Proposal::from_rows(ctx, vec![row]).await?.pop())
    }

    /// Rows already read (a page of a list), as the viewer may see them, in their order; those the viewer
    /// may not see are left out. Authors and review assignments are read once for all of them.
    pub async fn from_rows(ctx: &Context<'_>, rows: Vec<ProposalRow>) -> AppResult<Vec<Proposal>> {
        let viewer_id = viewer(ctx).user.as_ref().map(|u| u.id);
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let (authors, assigned) = read!(ctx, |s| s.proposal_viewing(&ids, viewer_id).await);
        Ok(Self::seen(ctx, rows, authors, &assigned))
    }

    /// Several proposals at once (search hits), in the order of `ids`; those the viewer may not see, or
    /// that the database no longer has, are left out.
    pub async fn by_ids(ctx: &Context<'_>, ids: Vec<i64>) -> AppResult<Vec<Proposal>> {
        let viewer_id = viewer(ctx).user.as_ref().map(|u| u.id);
        let wanted = ids.clone();
        let (mut rows, authors, assigned) = read!(ctx, |s| s.proposals_by_ids(&wanted, viewer_id).await);
        let mut ordered = Vec::with_capacity(rows.len());
        for id in ids {
            if let Some(i) = rows.iter().position(|r| r.id == id) {
                ordered.push(rows.swap_remove(i));
            }
        }
        Ok(Self::seen(ctx, ordered, authors, &assigned))
    }

    /// The rows the viewer may see, each with its authors and the viewer's sight of it.
    fn seen(ctx: &Context<'_>, rows: Vec<ProposalRow>, authors: Vec<AuthorRow>, assigned: &[i64]) -> Vec<Proposal> {
        let user = viewer(ctx).user.as_ref();
        let viewer_id = user.map(|u| u.id);
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id = row.id;
            let authors: Vec<AuthorRow> = authors.iter().filter(|a| a.proposal_id == id).cloned().collect();
            let loaded = Loaded { row, authors };
            let sight = loaded.sight_for(user, assigned.contains(&id));
            if can_view(sight) {
                out.push(Proposal { row: loaded.row, authors: loaded.authors, sight, viewer_id });
            }
        }
        out
    }

    pub async fn by_id(ctx: &Context<'_>, id: i64) -> AppResult<Option<Proposal>> {
        Ok(Proposal::by_ids(ctx, vec![id]).await?.pop())
    }

    fn hidden(&self) -> bool {
        authors_hidden(self.sight)
    }

    /// Studio leads and enterprise admins of the proposal's enterprise, and platform admins.
    fn is_manager(&self) -> bool {
        crate::domain::proposal::manages(self.sight)
    }

    /// Authors see the breakdown once the proposal is decided (算法公示).
    fn breakdown_open(&self) -> bool {
        self.is_manager() || (self.sight.is_author && self.row.status().is_decided())
    }

    fn is_author_user(&self, user_id: Option<i64>) -> bool {
        journey::authored_by(&self.row, &self.authors, user_id)
    }
}

/// An author: a user, or a named worker without an account on whose behalf the proposal was submitted. 作者：用户，或被代为提交提案的无账号工人。
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Author {
    /// The author's name (also for workers without an account). 作者姓名（无账号的工人也有）。
    pub name: String,
    /// The first author is the primary one. 第一作者为主要作者。
    pub is_primary: bool,
    #[graphql(skip)]
    pub user_id: Option<i64>,
}

#[async_graphql::ComplexObject]
impl Author {
    /// The author's account; null for a worker without one. 作者的账号；无账号工人为空。
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.user_id else { return Ok(None) };
        Ok(read!(ctx, |s| s.user(id).await).map(User))
    }
}

/// A worker's energy-saving proposal, from draft to the industry catalogue. 职工的节能降耗提案，从草稿到行业目录。
#[Object]
impl Proposal {
    /// Global, opaque id. 全局唯一编号。
    pub async fn id(&self) -> ID {
        ids::encode("Proposal", self.row.id)
    }
    /// The proposal's id in the system it was imported from. 提案在导入来源系统中的编号。
    async fn external_id(&self) -> Option<&str> {
        self.row.external_id.as_deref()
    }
    /// Its title. 标题。
    async fn title(&self) -> &str {
        &self.row.title
    }
    /// What is wasted today and what to change. 现在浪费在哪里、要怎么改。
    async fn body(&self) -> &str {
        &self.row.body
    }
    /// Its category. 类别。
    async fn category(&self) -> Category {
        Category::parse(&self.row.category).unwrap_or(Category::Other)
    }
    /// Its industry. 所属行业。
    async fn industry(&self) -> Industry {
        Industry::parse(&self.row.industry).unwrap_or(Industry::Other)
    }
    /// Process and equipment tags. 工艺与设备标签。
    async fn tags(&self) -> Vec<String> {
        self.row.tags()
    }
    /// Where it is in its journey. 当前状态。
    async fn status(&self) -> Status {
        self.row.status()
    }
    /// Bumped by every change; pass it back as `expectedVersion`. 每次修改递增；作为 expectedVersion 传回。
    async fn version(&self) -> i64 {
        self.row.version
    }
    /// Evaluation round: 1 after the first submission, +1 on each resubmission. 评审轮次：首次提交为1，每次重新提交加1。
    async fn round(&self) -> i64 {
        self.row.round
    }
    /// When it was created. 创建时间。
    async fn created_at(&self) -> Timestamp {
        self.row.created_at.into()
    }
    /// When it last changed. 最后修改时间。
    async fn updated_at(&self) -> Timestamp {
        self.row.updated_at.into()
    }
    /// When it was (last) submitted. （最近一次）提交时间。
    async fn submitted_at(&self) -> Option<Timestamp> {
        self.row.submitted_at.map(Into::into)
    }
    /// When it was decided. 决定时间。
    async fn decided_at(&self) -> Option<Timestamp> {
        self.row.decided_at.map(Into::into)
    }
    /// When its adoption was confirmed. 推广应用确认时间。
    async fn adopted_at(&self) -> Option<Timestamp> {
        self.row.adopted_at.map(Into::into)
    }
    /// When it was promoted into the catalogue. 入选目录时间。
    async fn promoted_at(&self) -> Option<Timestamp> {
        self.row.promoted_at.map(Into::into)
    }
    /// True while blind review hides the authors from this viewer. 盲评对当前查看者隐藏作者时为真。
    async fn authors_hidden(&self) -> bool {
        self.hidden()
    }
    /// Authors and co-authors, primary first; empty while blind review hides them from this viewer. 作者与共同作者，主要作者在前；盲评对当前查看者隐藏时为空。
    async fn authors(&self) -> Vec<Author> {
        if self.hidden() {
            return vec![];
        }
        self.authors
            .iter()
            .map(|a| Author { name: a.name.clone(), is_primary: a.position == 0, user_id: a.user_id })
            .collect()
    }
    /// Who entered the proposal (a team leader submitting on a worker's behalf, or the author). 录入提案的人（代工人提交的班组长，或作者本人）。
    async fn submitted_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.row.created_by.filter(|_| !self.hidden()) else { return Ok(None) };
        Ok(read!(ctx, |s| s.user(id).await).map(User))
    }
    /// The worker without an account on whose behalf it was submitted. 被代为提交的无账号工人。
    async fn on_behalf_of(&self) -> Option<&str> {
        if self.hidden() {
            return None;
        }
        self.row.on_behalf_of.as_deref()
    }
    /// The enterprise it was submitted in. 所属企业。
    async fn enterprise(&self, ctx: &Context<'_>) -> Result<Option<Enterprise>> {
        let Some(id) = self.row.enterprise_id else { return Ok(None) };
        Ok(services(ctx)?.db.enterprise(id).await?.map(Enterprise))
    }
    /// The authors' team; hidden like the authors during blind review. 作者所在班组；盲评期间与作者一样隐藏。
    async fn team(&self, ctx: &Context<'_>) -> Result<Option<Team>> {
        let Some(id) = self.row.team_id.filter(|_| !self.hidden()) else { return Ok(None) };
        Ok(services(ctx)?.db.team(id).await?.map(Team))
    }
    /// The studio that evaluates it (set when reviewers are assigned). 评审该提案的工作室（指派评审人时确定）。
    async fn studio(&self, ctx: &Context<'_>) -> Result<Option<Studio>> {
        let Some(id) = self.row.studio_id else { return Ok(None) };
        Ok(services(ctx)?.db.studio(id).await?.map(Studio))
    }
    /// Savings as the author expects them. 作者预期的节能量。
    async fn expected_savings(&self, ctx: &Context<'_>) -> Result<Option<SavingsFigure>> {
        let id = self.row.id;
        Ok(read!(ctx, |s| s.savings(id, SavingsKind::Expected).await).map(SavingsFigure::from_row))
    }
    /// The evaluators' forecast: the mean of the forecasts given with the evaluations, fixed at acceptance. 评审人的预测：各份评分所附预测的平均值，采纳时固定。
    async fn forecast_savings(&self, ctx: &Context<'_>) -> Result<Option<SavingsFigure>> {
        let id = self.row.id;
        Ok(read!(ctx, |s| s.savings(id, SavingsKind::Forecast).await).map(SavingsFigure::from_row))
    }
    /// Savings measured in the pilot, fixed when the enterprise confirms adoption. 试点中测得的节能量，企业确认推广应用时固定。
    async fn verified_savings(&self, ctx: &Context<'_>) -> Result<Option<SavingsFigure>> {
        let id = self.row.id;
        Ok(read!(ctx, |s| s.savings(id, SavingsKind::Verified).await).map(SavingsFigure::from_row))
    }
    /// The studio lead's decision, with the criteria version and weights it used (public to all who can see the proposal). 工作室负责人的决定及所用评价标准版本与权重（能看到提案的人都可见）。
    async fn decision(&self) -> Option<Decision> {
        Some(Decision {
            outcome: self.row.decision.clone()?,
            reason: self.row.decision_reason.clone().unwrap_or_default(),
            decided_at: self.row.decided_at?,
            criteria_version: self.row.decision_criteria_version.unwrap_or(1),
        })
    }
    /// The aggregate of the current round: weighted mean, per-criterion mean and spread, n of N evaluated.
    /// Open to the studio and enterprise; to the authors once decided. 本轮评审汇总：加权平均、各指标均值与离散度、已评份数。工作室与企业可见，决定后作者可见。
    async fn evaluation_summary(&self, ctx: &Context<'_>) -> Result<Option<EvaluationSummary>> {
        if !self.breakdown_open() || self.row.round == 0 {
            return Ok(None);
        }
        let min = services(ctx)?.config.min_evaluations;
        Ok(Some(EvaluationSummary::load(ctx, self.row.id, self.row.round, min).await?))
    }
    /// Individual evaluations of the current round: all for the studio, one's own for a reviewer, all
    /// (without reviewer names) for the authors once decided. 本轮各份评分：工作室看全部，评审人看自己的，决定后作者看全部（不含评审人姓名）。
    async fn evaluations(&self, ctx: &Context<'_>) -> Result<Vec<Evaluation>> {
        let (id, round) = (self.row.id, self.row.round);
        let rows = read!(ctx, |s| s.evaluations(id, round).await);
        let manager = self.is_manager();
        let open = self.breakdown_open();
        Ok(rows
            .into_iter()
            .filter(|e| open || Some(e.reviewer_id) == self.viewer_id)
            .map(|e| {
                let show_reviewer = manager || Some(e.reviewer_id) == self.viewer_id;
                Evaluation { row: e, show_reviewer }
            })
            .collect())
    }
    /// Reviewers assigned in the current round, with due dates (studio and enterprise only). 本轮指派的评审人及截止日期（仅工作室与企业可见）。
    async fn review_assignments(&self, ctx: &Context<'_>) -> Result<Vec<ReviewAssignment>> {
        if !self.is_manager() {
            return Ok(vec![]);
        }
        let (id, round) = (self.row.id, self.row.round);
        Ok(read!(ctx, |s| s.assignments(id, round).await).into_iter().map(ReviewAssignment).collect())
    }
    /// The earlier proposal this one duplicates, once a studio lead closed it as a duplicate (as this
    /// viewer may see it: blind review applies to it as to any proposal). 被重复的原提案（按查看者权限显示，遵循盲评）。
    async fn duplicate_of(&self, ctx: &Context<'_>) -> Result<Option<Proposal>> {
        match self.row.duplicate_of {
            Some(id) => Ok(Proposal::by_id(ctx, id).await?),
            None => Ok(None),
        }
    }
    /// The challenge (攻关课题) it answers, when the viewer may see that challenge. 所应答的攻关课题（查看者可见时）。
    async fn challenge(&self, ctx: &Context<'_>) -> Result<Option<super::challenge::Challenge>> {
        match self.row.challenge_id {
            Some(id) => super::challenge::Challenge::by_id(ctx, id).await,
            None => Ok(None),
        }
    }
    /// Proposals that look like this one, most alike first, with why: for its studio's lead and reviewers
    /// and its enterprise's admins (empty for everyone else). 与本提案相似的提案（评审工作室、企业管理员可见）。
    async fn possible_duplicates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many, at most 20. 条数（最多20）。", default = 5)] first: i32,
    ) -> Result<Vec<crate::graphql::query::search::SimilarProposal>> {
        if !(self.is_manager() || self.sight.is_assigned_reviewer) || self.row.status() == Status::Draft {
            return Ok(vec![]);
        }
        let text = format!("{}\n{}", self.row.title, self.row.body);
        Ok(crate::graphql::query::search::similar_to(ctx, text, first.clamp(0, 20) as usize, Some(self.row.id)).await?)
    }
    /// Appeals against its rejections, oldest first: for its authors, the oversight group, the enterprise's
    /// studio leads and admins, platform admins. 针对其不采纳决定的申诉（作者、监督小组、本企业工作室负责人与管理员可见）。
    async fn appeals(&self, ctx: &Context<'_>) -> Result<Vec<super::oversight::Appeal>> {
        let Some(user) = viewer(ctx).user.as_ref() else { return Ok(vec![]) };
        if !super::oversight::may_see_appeal(user, &self.row, self.sight.is_author) {
            return Ok(vec![]);
        }
        let id = self.row.id;
        let rows = read!(ctx, |s| s.appeals_of(id).await);
        Ok(rows.into_iter().map(|row| super::oversight::Appeal { row, proposal: self.row.clone() }).collect())
    }
    /// Until when its authors may appeal its rejection (null unless rejected). 可申诉的截止时间（仅不采纳时）。
    async fn appeal_deadline(&self, ctx: &Context<'_>) -> Result<Option<Timestamp>> {
        if self.row.status() != Status::Rejected {
            return Ok(None);
        }
        let days = services(ctx)?.config.appeal_days as i64;
        Ok(self.row.decided_at.map(|d| (d + chrono::Duration::days(days)).into()))
    }
    /// Whether the viewer may appeal its rejection now. 当前用户现在能否申诉。
    async fn viewer_can_appeal(&self, ctx: &Context<'_>) -> Result<bool> {
        if !self.sight.is_author || self.row.status() != Status::Rejected {
            return Ok(false);
        }
        let days = services(ctx)?.config.appeal_days;
        if !crate::domain::oversight::appeal_open(self.row.decided_at, chrono::Utc::now(), days) {
            return Ok(false);
        }
        let (id, round) = (self.row.id, self.row.round);
        Ok(!read!(ctx, |s| s.appeals_of(id).await).iter().any(|a| a.round == round))
    }
    /// The authors' signed receipt for the last submission (authors only): null until the submission is in
    /// the event chain (a second), or while the stored text differs from it (being revised).
    /// 最近一次提交的签名回执（仅作者可见）；提交入链前或修改中为空。
    async fn receipt(&self, ctx: &Context<'_>) -> Result<Option<super::proof::Receipt>> {
        if !self.sight.is_author {
            return Ok(None);
        }
        let s = services(ctx)?;
        let authors = self.authors.iter().map(|a| a.name.clone()).collect();
        let doc =
            crate::chain::receipt(&s.db, &s.signer, &self.row, authors, &s.config.public_url(), chrono::Utc::now())
                .await?;
        Ok(doc.map(|d| super::proof::Receipt {
            position: d["chain"]["position"].as_i64().unwrap_or(0),
            hash: d["chain"]["hash"].as_str().unwrap_or_default().to_owned(),
            key_id: s.signer.key_id().to_owned(),
            document: serde_json::to_string_pretty(&d).unwrap_or_default(),
        }))
    }
    /// The pilot (incubation), once started. 试点（孵化），开始后才有。
    async fn pilot(&self, ctx: &Context<'_>) -> Result<Option<Pilot>> {
        let id = self.row.id;
        Ok(read!(ctx, |s| s.pilot(id).await).map(Pilot))
    }
    /// Every change of state, oldest first. 每一次状态变化，按时间先后。
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Page size forward (0–100; 20 when neither first nor last is given). 向后翻页的每页数量（0–100，默认20）。"
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Items after this cursor (an `endCursor` of this same list). 从该游标之后开始（须为本列表的游标）。"
        )]
        after: Option<String>,
        #[graphql(desc = "Page size backward, from `before` or from the end (0–100). 向前翻页的每页数量（0–100）。")]
        last: Option<i32>,
        #[graphql(
            desc = "Items before this cursor (a `startCursor` of this same list). 到该游标之前为止（须为本列表的游标）。"
        )]
        before: Option<String>,
    ) -> Result<Conn<ProposalEvent>> {
        let list = format!("events.{}", self.row.id);
        let page = Keyset::of(&list, &PageArgs::new(first, after, last, before))?;
        let (id, rows_page) = (self.row.id, page.rows());
        let (rows, total) = read!(ctx, |s| s.events(id, &rows_page).await);
        let items = rows
            .into_iter()
            .map(|e| {
                let actor = EventActor {
                    is_author: self.is_author_user(e.actor_id),
                    is_viewer: e.actor_id.is_some() && e.actor_id == self.viewer_id,
                    reviews: e.kind == "EVALUATED",
                };
                (e.id, ProposalEvent { hide_actor: !actor_shown(self.sight, actor), row: e })
            })
            .collect();
        Ok(page.page(&list, items, total))
    }
    /// Photos, measurement sheets, drawings; oldest first. 照片、测量表、图纸，按上传先后。
    async fn attachments(&self, ctx: &Context<'_>) -> Result<Vec<super::attachment::Attachment>> {
        let id = self.row.id;
        let rows = read!(ctx, |s| s.attachments(id).await);
        let hidden = self.hidden();
        Ok(rows
            .into_iter()
            .map(|row| {
                let hide_uploader = hidden && self.is_author_user(Some(row.uploaded_by));
                super::attachment::Attachment { row, hide_uploader }
            })
            .collect())
    }
    /// Catalogue techniques this proposal was promoted into. 该提案纳入的目录技术。
    async fn techniques(&self, ctx: &Context<'_>) -> Result<Vec<Technique>> {
        let id = self.row.id;
        Ok(read!(ctx, |s| s.techniques_of_proposal(id).await).into_iter().map(Technique).collect())
    }
}

pub fn user_row(ctx: &Context<'_>) -> Option<UserRow> {
    viewer(ctx).user.clone()
}
