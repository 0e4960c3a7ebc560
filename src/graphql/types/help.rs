//! `HelpRequest` (求助, 劳模工匠助企行) with the catalogue techniques and studios suggested for it.

use async_graphql::{Context, Object, Result, SimpleObject, ID};
use search_index::DocKind;

use super::{
    challenge::rules_viewer,
    organisation::{Enterprise, Studio, User},
    savings::SavingsFigure,
    scalars::Timestamp,
    technique::Technique,
};
use crate::{
    db::help::HelpRequestRow,
    domain::{
        challenge::{self, help_transition, HelpAction, HelpStatus, StudioRecord},
        organisation::Industry,
        savings::SavingsKind,
    },
    graphql::{guards::services, ids, query::search::SearchHighlight},
    read,
};

/// Catalogue techniques for a described problem, best first, each with why (the help request's
/// suggestions, and the form's while a plant types).
pub async fn suggest_techniques(
    ctx: &Context<'_>,
    text: String,
    industry: Option<String>,
    first: i32,
) -> Result<Vec<TechniqueSuggestion>> {
    let limit = first.clamp(0, 20) as usize;
    if limit == 0 || text.trim().is_empty() {
        return Ok(vec![]);
    }
    let found = services(ctx)?
        .search
        .query(move |index| {
            index.suggest(&text, DocKind::Technique, &Some(vec!["public".into()]), industry.as_deref(), limit)
        })
        .await?;
    let mut out = Vec::with_capacity(found.len());
    for f in found {
        let id = f.id;
        if let Some(t) = read!(ctx, |s| s.technique(id).await) {
            out.push(TechniqueSuggestion {
                technique: Technique(t),
                score: f64::from(f.score),
                shared_words: f.shared_words,
                highlights: f
                    .highlights
                    .into_iter()
                    .map(|h| SearchHighlight { field: h.field.to_owned(), snippet: h.snippet })
                    .collect(),
            });
        }
    }
    Ok(out)
}

pub struct HelpRequest {
    pub row: HelpRequestRow,
    pub viewer: challenge::Viewer,
}

impl HelpRequest {
    pub async fn by_id(ctx: &Context<'_>, id: i64) -> Result<Option<HelpRequest>> {
        let v = rules_viewer(ctx).await?;
        if !challenge::can_view_help(v) {
            return Ok(None);
        }
        Ok(read!(ctx, |s| s.help_request(id).await).map(|row| HelpRequest { row, viewer: v }))
    }

    fn details(&self) -> bool {
        challenge::sees_help_details(self.viewer, &self.row.rules())
    }

    fn may(&self, action: HelpAction) -> bool {
        help_transition(self.viewer, &self.row.rules(), action).is_ok()
    }

    fn text(&self) -> String {
        let tags: Vec<String> = self.row.processes().into_iter().chain(self.row.equipment()).collect();
        search_index::request_text(&self.row.title, &self.row.problem, &tags)
    }
}

/// A catalogue technique suggested for a help request, with why. 为求助推荐的目录技术及推荐理由。
#[derive(SimpleObject)]
pub struct TechniqueSuggestion {
    /// The technique, with its adoption record (`totals`, `adoptions`). 技术（含推广应用记录）。
    pub technique: Technique,
    /// How well it matches; higher is better (not a percentage). 匹配度（越高越好，非百分比）。
    pub score: f64,
    /// Words of the request it contains, longest first. 与求助共有的词（长词在前）。
    pub shared_words: Vec<String>,
    /// Its name and text with those words marked. 标出共有词的名称与正文摘录。
    pub highlights: Vec<SearchHighlight>,
}

/// A studio suggested for a help request, with its record. 为求助推荐的工作室及其业绩。
#[derive(SimpleObject)]
pub struct StudioSuggestion {
    /// The studio. 工作室。
    pub studio: Studio,
    /// Its specialties the request mentions. 求助中提到的该工作室专长。
    pub matched_specialties: Vec<String>,
    /// Its proposals accepted (or further) in the request's industry. 在该行业被采纳（或更进一步）的提案数。
    pub accepted: i64,
    /// Its proposals adopted in that industry. 在该行业推广应用的提案数。
    pub adopted: i64,
    /// Verified tce per year of its proposals and resolved help requests in that industry. 在该行业提案与已办结求助的核实年节能量（吨标准煤）。
    pub verified_tce: f64,
    /// Help requests it resolved. 已办结的求助数。
    pub helped: i64,
}

/// A plant's request for help (劳模工匠助企行): OPEN → TAKEN by a studio → RESOLVED, or CLOSED. 企业的求助（劳模工匠助企行）：待承接 → 工作室承接 → 已解决，或关闭。
#[Object]
impl HelpRequest {
    /// Global, opaque id. 全局唯一编号。
    pub async fn id(&self) -> ID {
        ids::encode("HelpRequest", self.row.id)
    }
    /// Its title. 标题。
    async fn title(&self) -> &str {
        &self.row.title
    }
    /// What troubles the plant. 遇到的问题。
    async fn problem(&self) -> &str {
        &self.row.problem
    }
    /// Its industry. 所属行业。
    async fn industry(&self) -> Industry {
        Industry::parse(&self.row.industry).unwrap_or(Industry::Other)
    }
    /// Process tags. 工艺标签。
    async fn processes(&self) -> Vec<String> {
        self.row.processes()
    }
    /// Equipment tags. 设备标签。
    async fn equipment(&self) -> Vec<String> {
        self.row.equipment()
    }
    /// What the plant consumes today, where known: for the requesting enterprise, the studio that took it
    /// and platform admins (null for others). 目前的能耗情况：仅求助企业、承接工作室与平台管理员可见。
    async fn consumption(&self) -> Option<&str> {
        self.details().then_some(self.row.consumption.as_str())
    }
    /// The enterprise that asked. 求助企业。
    async fn enterprise(&self, ctx: &Context<'_>) -> Result<Option<Enterprise>> {
        Ok(services(ctx)?.db.enterprise(self.row.enterprise_id).await?.map(Enterprise))
    }
    /// Who asked: for the requesting enterprise, the studio that took it and platform admins. 提出人：仅求助企业、承接工作室与平台管理员可见。
    async fn requested_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        if !self.details() {
            return Ok(None);
        }
        Ok(services(ctx)?.db.user(self.row.requested_by).await?.map(User))
    }
    /// Where it stands. 状态。
    async fn status(&self) -> HelpStatus {
        self.row.status()
    }
    /// The studio that took it on. 承接的工作室。
    async fn studio(&self, ctx: &Context<'_>) -> Result<Option<Studio>> {
        let Some(id) = self.row.studio_id else { return Ok(None) };
        Ok(services(ctx)?.db.studio(id).await?.map(Studio))
    }
    /// When a studio took it on. 承接时间。
    async fn taken_at(&self) -> Option<Timestamp> {
        self.row.taken_at.map(Into::into)
    }
    /// How it was solved. 解决方案。
    async fn solution(&self) -> Option<&str> {
        self.row.solution.as_deref()
    }
    /// When it was resolved. 办结时间。
    async fn resolved_at(&self) -> Option<Timestamp> {
        self.row.resolved_at.map(Into::into)
    }
    /// Why it was closed without a solution. 关闭原因。
    async fn close_reason(&self) -> Option<&str> {
        self.row.close_reason.as_deref()
    }
    /// The catalogue techniques the solution used. 解决方案采用的目录技术。
    async fn techniques_used(&self, ctx: &Context<'_>) -> Result<Vec<Technique>> {
        let id = self.row.id;
        let mut out = vec![];
        for t in read!(ctx, |s| s.help_techniques(id).await) {
            if let Some(row) = read!(ctx, |s| s.technique(t).await) {
                out.push(Technique(row));
            }
        }
        Ok(out)
    }
    /// Savings per year measured after the solution (they count in the studio's impact). 方案实施后经测量核实的年节能量（计入工作室成效）。
    async fn verified_savings(&self) -> Option<SavingsFigure> {
        self.row.verified().map(|c| SavingsFigure { kind: SavingsKind::Verified, c, recorded_at: self.row.resolved_at })
    }
    /// When it was asked. 提出时间。
    async fn created_at(&self) -> Timestamp {
        self.row.created_at.into()
    }
    /// Changes with every step; give it back as `expectedVersion`. 版本号，操作时作为 expectedVersion 传回。
    async fn version(&self) -> i64 {
        self.row.version
    }
    /// Whether the viewer may take it on for their studio now. 查看者现在能否代表工作室承接。
    async fn viewer_can_take(&self) -> bool {
        self.may(HelpAction::Take)
    }
    /// Whether the viewer may resolve it now. 查看者现在能否办结。
    async fn viewer_can_resolve(&self) -> bool {
        self.may(HelpAction::Resolve)
    }
    /// Whether the viewer may close it now. 查看者现在能否关闭。
    async fn viewer_can_close(&self) -> bool {
        self.may(HelpAction::Close)
    }
    /// Catalogue techniques that address the problem, best first, found with the Chinese search over
    /// their scope, principle and typical case; each says why (shared words, marked snippets) and brings
    /// its adoption record. 解决该问题的目录技术（最匹配的在前），以中文检索其适用范围、原理与典型案例；附推荐理由与推广应用记录。
    async fn suggested_techniques(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many, at most 20. 条数（最多20）。", default = 5)] first: i32,
    ) -> Result<Vec<TechniqueSuggestion>> {
        suggest_techniques(ctx, self.text(), Some(self.row.industry.clone()), first).await
    }
    /// Studios to ask, best first: those whose specialties the request mentions, then by their record in
    /// its industry (accepted, adopted, verified savings, help requests resolved); never the requesting
    /// enterprise's own. 可求助的工作室：先按求助提到的专长，再按其在该行业的业绩（采纳、推广、核实节能量、已办结求助）排序；不含求助企业自己的工作室。
    async fn suggested_studios(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many, at most 20. 条数（最多20）。", default = 5)] first: i32,
    ) -> Result<Vec<StudioSuggestion>> {
        let industry = self.row.industry.clone();
        let records: Vec<StudioRecord> =
            read!(ctx, |s| s.studio_records(&industry).await).into_iter().map(|r| r.into_domain()).collect();
        let ranked = challenge::rank_studios(&records, &self.text(), self.row.enterprise_id);
        let mut out = vec![];
        for r in ranked.into_iter().take(first.clamp(0, 20) as usize) {
            let Some(rec) = records.iter().find(|x| x.studio_id == r.studio_id) else { continue };
            if let Some(studio) = services(ctx)?.db.studio(r.studio_id).await? {
                out.push(StudioSuggestion {
                    studio: Studio(studio),
                    matched_specialties: r.matched,
                    accepted: rec.accepted,
                    adopted: rec.adopted,
                    verified_tce: rec.verified_tce,
                    helped: rec.helped,
                });
            }
        }
        Ok(out)
    }
}
