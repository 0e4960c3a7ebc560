//! `Challenge` (攻关课题) with its answers and its progress against the target.

use async_graphql::{Context, Object, Result, SimpleObject, ID};

use super::{
    organisation::{Enterprise, Studio},
    proposal::Proposal,
    savings::SavingsFigure,
    scalars::{Date, Timestamp},
};
use crate::{
    db::challenges::{ChallengeRow, ProgressRow},
    domain::{
        challenge::{self, answer_refusal, ChallengeOwner, ChallengeScope, ChallengeStatus},
        organisation::Industry,
        savings::SavingsKind,
        today,
    },
    graphql::{
        connection::{Conn, Keyset, PageArgs},
        guards::{services, viewer},
        ids,
        query::proposals::list_scope,
    },
    read,
};

/// The viewer as the challenge rules see them (one read of their enterprise's industry).
pub async fn rules_viewer(ctx: &Context<'_>) -> Result<challenge::Viewer> {
    let user = viewer(ctx).user.clone();
    Ok(read!(ctx, |s| crate::journey::challenges::viewer_of(s, user.as_ref()).await))
}

pub struct Challenge {
    pub row: ChallengeRow,
    pub viewer: challenge::Viewer,
}

impl Challenge {
    /// Rows the viewer may see, as challenges (the others left out).
    pub fn seen(rows: Vec<ChallengeRow>, v: challenge::Viewer) -> Vec<Challenge> {
        rows.into_iter()
            .filter(|r| challenge::can_view(v, &r.rules()))
            .map(|row| Challenge { row, viewer: v })
            .collect()
    }

    pub async fn by_id(ctx: &Context<'_>, id: i64) -> Result<Option<Challenge>> {
        let v = rules_viewer(ctx).await?;
        let row = read!(ctx, |s| s.challenge(id).await);
        Ok(Challenge::seen(row.into_iter().collect(), v).pop())
    }
}

/// How far a challenge's answers have come against its target. 课题应答的进展（对照目标）。
#[derive(SimpleObject)]
pub struct ChallengeProgress {
    /// Answers submitted (drafts are not counted). 已提交的应答数（草稿不计）。
    pub answers: i64,
    /// Answers accepted or further. 已采纳（或更进一步）的应答数。
    pub accepted: i64,
    /// Answers adopted (or promoted) with verified savings. 已推广应用（或入选目录）的应答数。
    pub adopted: i64,
    /// Verified tce per year of the answers. 应答经核实的年节能量（吨标准煤）。
    pub verified_tce: f64,
    /// Verified tCO2e per year of the answers. 应答经核实的年减排量（吨二氧化碳当量）。
    #[graphql(name = "verifiedTco2e")]
    pub verified_tco2e: f64,
    /// The target's tce per year. 目标年节能量（吨标准煤）。
    pub target_tce: f64,
    /// The target's tCO2e per year. 目标年减排量（吨二氧化碳当量）。
    #[graphql(name = "targetTco2e")]
    pub target_tco2e: f64,
    /// Verified over target tce (1 is reached; null when the target has no tce, e.g. water only). 核实节能量与目标之比（1为达成；目标不含能源时为空）。
    pub share_of_target: Option<f64>,
}

fn progress(p: ProgressRow, row: &ChallengeRow) -> ChallengeProgress {
    ChallengeProgress {
        answers: p.answers,
        accepted: p.accepted,
        adopted: p.adopted,
        verified_tce: p.verified_tce,
        verified_tco2e: p.verified_tco2e,
        target_tce: row.tce,
        target_tco2e: row.tco2e,
        share_of_target: (row.tce > 0.0).then(|| p.verified_tce / row.tce),
    }
}

/// A technical challenge (攻关课题) a studio, an enterprise or an association posts: a problem with a
/// target, a deadline and a reward, answered by proposals. 劳模工匠创新工作室、企业或行业协会发布的攻关课题：问题、目标、截止日期与奖励，以提案应答。
#[Object]
impl Challenge {
    /// Global, opaque id. 全局唯一编号。
    pub async fn id(&self) -> ID {
        ids::encode("Challenge", self.row.id)
    }
    /// Its title. 课题名称。
    async fn title(&self) -> &str {
        &self.row.title
    }
    /// The problem and what counts as solved. 问题陈述与解决标准。
    async fn statement(&self) -> &str {
        &self.row.statement
    }
    /// Its industry. 所属行业。
    async fn industry(&self) -> Industry {
        Industry::parse(&self.row.industry).unwrap_or(Industry::Other)
    }
    /// Who sees it (and where its answers may be seen). 可见范围（应答的可见范围随之）。
    async fn scope(&self) -> ChallengeScope {
        self.row.scope()
    }
    /// Who posted it: a studio, an enterprise or an association. 发布方：工作室、企业或行业协会。
    async fn owner_kind(&self) -> ChallengeOwner {
        self.row.rules().owner
    }
    /// The studio that posted it, for a studio's challenge. 发布课题的工作室（工作室课题）。
    async fn studio(&self, ctx: &Context<'_>) -> Result<Option<Studio>> {
        let Some(id) = self.row.studio_id else { return Ok(None) };
        Ok(services(ctx)?.db.studio(id).await?.map(Studio))
    }
    /// The enterprise that posted it (none for an association's). 发布课题的企业（行业协会课题为空）。
    async fn enterprise(&self, ctx: &Context<'_>) -> Result<Option<Enterprise>> {
        let Some(id) = self.row.enterprise_id else { return Ok(None) };
        Ok(services(ctx)?.db.enterprise(id).await?.map(Enterprise))
    }
    /// Answers are taken until the end of this day (China time). 截止日期（含当天，北京时间）。
    async fn deadline(&self) -> Date {
        self.row.deadline.into()
    }
    /// What an awarded answer earns, in words. 奖励说明。
    async fn reward(&self) -> &str {
        &self.row.reward
    }
    /// The target per year per carrier, converted to tce and tCO2e with the factor version it names. 各能源年节约目标及其折算（注明折算系数版本）。
    async fn target(&self) -> SavingsFigure {
        SavingsFigure { kind: SavingsKind::Target, c: self.row.target(), recorded_at: Some(self.row.updated_at) }
    }
    /// OPEN or CLOSED. 征集中或已结题。
    async fn status(&self) -> ChallengeStatus {
        self.row.status()
    }
    /// Why it was closed. 结题说明。
    async fn close_reason(&self) -> Option<&str> {
        self.row.close_reason.as_deref()
    }
    /// When it was closed. 结题时间。
    async fn closed_at(&self) -> Option<Timestamp> {
        self.row.closed_at.map(Into::into)
    }
    /// When it was opened. 发布时间。
    async fn created_at(&self) -> Timestamp {
        self.row.created_at.into()
    }
    /// Changes with every change; give it back as `expectedVersion`. 版本号（每次修改递增），修改时作为 expectedVersion 传回。
    async fn version(&self) -> i64 {
        self.row.version
    }
    /// The proposals answering it that the viewer may see, newest first (blind review applies as anywhere). 查看者可见的应答提案，最新的在前（盲评规则照常适用）。
    async fn answers(
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
    ) -> Result<Conn<Proposal>> {
        let page = Keyset::of("answers", &PageArgs::new(first, after, last, before))?;
        let (scope, id, rows_page) = (list_scope(ctx), self.row.id, page.rows());
        let (rows, total) = read!(ctx, |s| s.challenge_answers(&scope, id, &rows_page).await);
        let items = Proposal::from_rows(ctx, rows).await?;
        Ok(page.page("answers", items.into_iter().map(|p| (p.row.id, p)).collect(), total))
    }
    /// Answers, acceptances, adoptions and verified savings against the target (counted over every
    /// answer, as figures; the answers themselves follow their own visibility). 应答数、采纳数、推广数与核实节能量对照目标（按全部应答统计；应答本身按其可见性显示）。
    async fn progress(&self, ctx: &Context<'_>) -> Result<ChallengeProgress> {
        let id = self.row.id;
        Ok(progress(read!(ctx, |s| s.challenge_progress(id).await), &self.row))
    }
    /// The answers it awarded when it closed (those the viewer may see). 结题时获奖的应答（查看者可见的）。
    async fn awarded_answers(&self, ctx: &Context<'_>) -> Result<Vec<Proposal>> {
        let id = self.row.id;
        Ok(Proposal::by_ids(ctx, read!(ctx, |s| s.challenge_awards(id).await)).await?)
    }
    /// Whether the viewer may change or close it. 查看者能否修改或结题。
    async fn viewer_can_manage(&self) -> bool {
        challenge::may_manage(self.viewer, &self.row.rules())
    }
    /// Whether the viewer may answer it now (open, before its deadline, signed in). 查看者现在能否应答（征集中、未截止、已登录）。
    async fn viewer_can_answer(&self) -> bool {
        self.viewer.user_id.is_some()
            && answer_refusal(self.viewer, &self.row.rules(), today(chrono::Utc::now())).is_none()
    }
}
