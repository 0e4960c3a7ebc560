//! `impactSummary`: what the proposals the viewer may see add up to — counts, rates, lead times and
//! savings (expected and verified kept apart) — in total and per enterprise, industry, studio, team,
//! category or month.

use async_graphql::{ComplexObject, Context, InputObject, Object, Result, SimpleObject, ID};

use crate::{
    db::store::{ListScope, ProposalFilter},
    domain::{
        impact::{leaderboard, summarize, Board, Figures, GroupBy, LeaderKey, Rank},
        lifecycle::Status,
        organisation::Industry,
        proposal::Category,
    },
    graphql::{guards::services, ids, query::proposals::list_scope},
    read,
};

/// Which proposals impact figures cover. 成效统计的范围。
#[derive(InputObject, Default)]
pub struct ImpactFilter {
    /// Only this industry. 仅该行业。
    pub industry: Option<Industry>,
    /// Only this category. 仅该类别。
    pub category: Option<Category>,
    /// Only this enterprise. 仅该企业。
    pub enterprise_id: Option<ID>,
}

/// How many proposals are in one status. 某状态的提案数。
#[derive(SimpleObject)]
pub struct StatusCount {
    /// The status. 状态。
    pub status: Status,
    /// How many. 数量。
    pub count: i64,
}

/// What a set of proposals achieved. 一组提案的成效。
#[derive(SimpleObject)]
pub struct ImpactFigures {
    /// Proposals counted (drafts never are). 计入的提案数（草稿不计）。
    pub proposals: i64,
    /// Resolved help requests (劳模工匠助企行) whose verified savings are counted (with the studio that resolved them; not with a category, team or challenge). 计入核实节能量的已办结求助数（归入办结的工作室；不按类别、班组或课题分组）。
    pub help_requests_resolved: i64,
    /// How many proposals are in each status. 各状态的提案数。
    pub by_status: Vec<StatusCount>,
    /// Accepted (or further) among decided proposals, 0–1. 已决定提案中的采纳率（0–1）。
    pub acceptance_rate: Option<f64>,
    /// Adopted (or promoted) among accepted proposals, 0–1. 已采纳提案中的推广应用率（0–1）。
    pub adoption_rate: Option<f64>,
    /// Median days from submission to decision. 从提交到决定的天数中位数。
    pub median_days_to_decision: Option<f64>,
    /// Median days from acceptance to adoption. 从采纳到推广应用的天数中位数。
    pub median_days_to_adoption: Option<f64>,
    /// tce per year the authors expect. 作者预期年节能量（吨标准煤）。
    pub expected_tce: f64,
    /// tCO2e per year the authors expect. 作者预期年减排量（吨二氧化碳当量）。
    #[graphql(name = "expectedTco2e")]
    pub expected_tco2e: f64,
    /// Yuan per year the authors expect. 作者预期年节约金额（元）。
    pub expected_yuan: f64,
    /// tce per year verified by measurement. 经测量核实的年节能量（吨标准煤）。
    pub verified_tce: f64,
    /// tCO2e per year verified by measurement. 经测量核实的年减排量。
    #[graphql(name = "verifiedTco2e")]
    pub verified_tco2e: f64,
    /// Yuan per year verified by measurement. 经测量核实的年节约金额（元）。
    pub verified_yuan: f64,
    /// Investment of the adopted proposals, yuan. 已推广提案的投资（元）。
    pub investment_yuan: f64,
    /// Investment over verified yearly savings, in years. 投资回收期（年）。
    pub payback_years: Option<f64>,
}

impl From<Figures> for ImpactFigures {
    fn from(f: Figures) -> Self {
        ImpactFigures {
            proposals: f.proposals,
            help_requests_resolved: f.help_requests,
            by_status: f.by_status.into_iter().map(|(status, count)| StatusCount { status, count }).collect(),
            acceptance_rate: f.acceptance_rate,
            adoption_rate: f.adoption_rate,
            median_days_to_decision: f.median_days_to_decision,
            median_days_to_adoption: f.median_days_to_adoption,
            expected_tce: f.expected_tce,
            expected_tco2e: f.expected_tco2e,
            expected_yuan: f.expected_yuan,
            verified_tce: f.verified_tce,
            verified_tco2e: f.verified_tco2e,
            verified_yuan: f.verified_yuan,
            investment_yuan: f.investment_yuan,
            payback_years: f.payback_years,
        }
    }
}

/// The figures of one group. 一个分组的成效。
#[derive(SimpleObject)]
pub struct ImpactGroup {
    /// The group: an enterprise, studio, team or challenge global id, an industry or category name, or a month `YYYY-MM`. 分组键：企业、工作室、班组或攻关课题的全局编号，行业或类别名称，或月份 YYYY-MM。
    pub key: String,
    /// A name people can read. 可读的名称。
    pub label: String,
    /// Its figures. 该组的成效数字。
    pub figures: ImpactFigures,
}

/// Impact of the proposals the viewer may see: totals, groups, a leaderboard. 查看者可见提案的成效：总计、分组与排行。
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ImpactSummary {
    /// Figures over every proposal in scope. 范围内全部提案的成效。
    pub totals: ImpactFigures,
    /// Figures per group. 各分组的成效。
    pub groups: Vec<ImpactGroup>,
    #[graphql(skip)]
    scope: ListScope,
    #[graphql(skip)]
    filter: ProposalFilter,
}

/// A worker or a team on a leaderboard. 排行榜上的个人或班组。
#[derive(SimpleObject)]
pub struct Leader {
    /// Place on the board, from 1. 名次（从1开始）。
    pub rank: i32,
    /// A user or team global id; an imported author without an account is `name:<their name>`. 用户或班组的全局编号；导入的无账号作者为 name:<姓名>。
    pub key: String,
    /// The worker's or team's name. 个人或班组名称。
    pub name: String,
    /// Recognition points. 积分。
    pub points: i64,
    /// Proposals counted (those under blind review are not). 计入的提案数（盲评中的不计）。
    pub proposals: i64,
    /// Verified savings credited: a worker's share (split evenly among co-authors), a team's whole. 计入的核实节能量：个人按共同作者均分，班组计全额。
    pub verified_tce: f64,
    /// tCO2e per year verified. 核实年减排量（吨二氧化碳当量）。
    #[graphql(name = "verifiedTco2e")]
    pub verified_tco2e: f64,
    /// Yuan per year verified. 核实年节约金额（元）。
    pub verified_yuan: f64,
}

/// Impact of the proposals the viewer may see: totals, groups, a leaderboard. 查看者可见提案的成效：总计、分组与排行。
#[ComplexObject]
impl ImpactSummary {
    /// Workers or teams ranked by points or by verified savings, over the same proposals as the figures
    /// (except those under blind review). 按积分或核实节能量排名的个人或班组，范围与成效数字相同（盲评中的提案除外）。
    async fn leaderboard(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Workers or teams. 按个人或班组排行。")] of: Board,
        #[graphql(
            desc = "Ranked by points or by verified savings. 按积分或核实节能量排名。",
            default_with = "Rank::Points"
        )]
        by: Rank,
        #[graphql(
            desc = "Page size forward (0–100; 20 when neither first nor last is given). 向后翻页的每页数量（0–100，默认20）。",
            default = 10,
            validator(minimum = 1, maximum = 100)
        )]
        first: i32,
    ) -> Result<Vec<Leader>> {
        let (scope, filter) = (self.scope.clone(), self.filter.clone());
        let rows: Vec<_> =
            read!(ctx, |s| s.author_shares(&scope, &filter).await).into_iter().map(|r| r.into_domain()).collect();
        let db = &services(ctx)?.db;
        let mut out = Vec::new();
        for (i, l) in leaderboard(&rows, of, by, first as usize).into_iter().enumerate() {
            let (key, name) = match l.key {
                LeaderKey::User(id) => (ids::encode("User", id).0, l.name),
                LeaderKey::Name(n) => (format!("name:{n}"), n),
                LeaderKey::Team(id) => {
                    (ids::encode("Team", id).0, db.team(id).await?.map(|t| t.name).unwrap_or_default())
                }
            };
            out.push(Leader {
                rank: i as i32 + 1,
                key,
                name,
                points: l.points,
                proposals: l.proposals,
                verified_tce: l.verified_tce,
                verified_tco2e: l.verified_tco2e,
                verified_yuan: l.verified_yuan,
            });
        }
        Ok(out)
    }
}

#[derive(Default)]
pub struct ImpactQuery;

#[Object]
impl ImpactQuery {
    /// Impact of the proposals the viewer may see, in total and grouped. 查看者可见提案的成效，含总计与分组。
    async fn impact_summary(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How to group the figures. 分组方式。")] group_by: Option<GroupBy>,
        #[graphql(desc = "Which proposals to count. 统计范围。")] filter: Option<ImpactFilter>,
    ) -> Result<ImpactSummary> {
        let f = filter.unwrap_or_default();
        let enterprise_id =
            f.enterprise_id.as_ref().map(|id| ids::decode(id, "Enterprise", "filter.enterpriseId")).transpose()?;
        let pf = ProposalFilter {
            category: f.category.map(|c| c.as_str().to_owned()),
            industry: f.industry.map(|i| i.as_str().to_owned()),
            enterprise_id,
            ..Default::default()
        };
        let scope = list_scope(ctx);
        let (scope2, pf2) = (scope.clone(), pf.clone());
        let mut rows: Vec<_> =
            read!(ctx, |s| s.impact_rows(&scope2, &pf2).await).into_iter().map(|r| r.into_domain()).collect();
        // Resolved help requests' verified savings count too (they have no category: a category filter
        // leaves them out).
        if pf.category.is_none() {
            let (industry, enterprise) = (pf.industry.clone(), pf.enterprise_id);
            let help = read!(ctx, |s| s.help_impact_rows(industry.as_deref(), enterprise).await);
            rows.extend(help.into_iter().map(|h| h.into_domain()));
        }
        let (totals, groups) = summarize(&rows, group_by);
        let db = &services(ctx)?.db;
        let mut out = Vec::with_capacity(groups.len());
        for (key, figures) in groups {
            let n: i64 = key.parse().unwrap_or(0);
            let (key, label) = match group_by {
                Some(GroupBy::Enterprise) => {
                    (ids::encode("Enterprise", n).0, db.enterprise(n).await?.map(|e| e.name).unwrap_or_default())
                }
                Some(GroupBy::Studio) => {
                    (ids::encode("Studio", n).0, db.studio(n).await?.map(|s| s.name).unwrap_or_default())
                }
                Some(GroupBy::Team) => {
                    (ids::encode("Team", n).0, db.team(n).await?.map(|t| t.name).unwrap_or_default())
                }
                // A challenge is named only to those who may see it (its answers can be public when it is not).
                Some(GroupBy::Challenge) => (
                    ids::encode("Challenge", n).0,
                    crate::graphql::types::challenge::Challenge::by_id(ctx, n)
                        .await?
                        .map(|c| c.row.title)
                        .unwrap_or_default(),
                ),
                _ => (key.clone(), key),
            };
            out.push(ImpactGroup { key, label, figures: figures.into() });
        }
        Ok(ImpactSummary { totals: totals.into(), groups: out, scope, filter: pf })
    }
}
