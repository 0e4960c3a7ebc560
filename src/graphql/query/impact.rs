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

#[derive(InputObject, Default)]
pub struct ImpactFilter {
    pub industry: Option<Industry>,
    pub category: Option<Category>,
    pub enterprise_id: Option<ID>,
}

#[derive(SimpleObject)]
pub struct StatusCount {
    pub status: Status,
    pub count: i64,
}

#[derive(SimpleObject)]
pub struct ImpactFigures {
    /// Proposals counted (drafts never are).
    pub proposals: i64,
    pub by_status: Vec<StatusCount>,
    pub acceptance_rate: Option<f64>,
    pub adoption_rate: Option<f64>,
    pub median_days_to_decision: Option<f64>,
    pub median_days_to_adoption: Option<f64>,
    pub expected_tce: f64,
    #[graphql(name = "expectedTco2e")]
    pub expected_tco2e: f64,
    pub expected_yuan: f64,
    pub verified_tce: f64,
    #[graphql(name = "verifiedTco2e")]
    pub verified_tco2e: f64,
    pub verified_yuan: f64,
    pub investment_yuan: f64,
    pub payback_years: Option<f64>,
}

impl From<Figures> for ImpactFigures {
    fn from(f: Figures) -> Self {
        ImpactFigures {
            proposals: f.proposals,
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

#[derive(SimpleObject)]
pub struct ImpactGroup {
    /// The group: an enterprise, studio or team global id, an industry or category name, or a month `YYYY-MM`.
    pub key: String,
    /// A name people can read.
    pub label: String,
    pub figures: ImpactFigures,
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ImpactSummary {
    pub totals: ImpactFigures,
    pub groups: Vec<ImpactGroup>,
    #[graphql(skip)]
    scope: ListScope,
    #[graphql(skip)]
    filter: ProposalFilter,
}

/// A worker or a team on a leaderboard.
#[derive(SimpleObject)]
pub struct Leader {
    pub rank: i32,
    /// A user or team global id; an imported author without an account is `name:<their name>`.
    pub key: String,
    pub name: String,
    pub points: i64,
    /// Proposals counted (those under blind review are not).
    pub proposals: i64,
    /// Verified savings credited: a worker's share (split evenly among co-authors), a team's whole.
    pub verified_tce: f64,
    #[graphql(name = "verifiedTco2e")]
    pub verified_tco2e: f64,
    pub verified_yuan: f64,
}

#[ComplexObject]
impl ImpactSummary {
    /// Workers or teams ranked by points or by verified savings, over the same proposals as the figures
    /// (except those under blind review).
    async fn leaderboard(
        &self,
        ctx: &Context<'_>,
        of: Board,
        #[graphql(default_with = "Rank::Points")] by: Rank,
        #[graphql(default = 10, validator(minimum = 1, maximum = 100))] first: i32,
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
    /// Impact of the proposals the viewer may see, in total and grouped.
    async fn impact_summary(
        &self,
        ctx: &Context<'_>,
        group_by: Option<GroupBy>,
        filter: Option<ImpactFilter>,
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
        let rows: Vec<_> =
            read!(ctx, |s| s.impact_rows(&scope2, &pf2).await).into_iter().map(|r| r.into_domain()).collect();
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
                _ => (key.clone(), key),
            };
            out.push(ImpactGroup { key, label, figures: figures.into() });
        }
        Ok(ImpactSummary { totals: totals.into(), groups: out, scope, filter: pf })
    }
}
