//! `challenge`, `challenges`, `searchChallenges`, `helpRequest`, `helpRequests`, `searchHelpRequests`.
//! Lists come from the database with the visibility rule in SQL; searches from the index with the same
//! rule as tokens, and every hit is re-read and re-checked before it is shown.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};
use search_index::{DocKind, FacetFields, Filter, SearchQuery};

use super::search::{
    check_query, counts, run, search_connection, sort_name, to_index_sort, window, FacetCount, SearchConn, SearchSort,
};
use crate::{
    db::{
        challenges::{ChallengeFilter, ChallengeSight},
        help::HelpFilter,
    },
    domain::{
        challenge::{self, ChallengeScope, ChallengeStatus, HelpStatus},
        organisation::Industry,
    },
    graphql::{
        connection::{Conn, Keyset, PageArgs},
        guards::viewer,
        ids,
        types::{
            challenge::{rules_viewer, Challenge},
            help::{suggest_techniques, HelpRequest, TechniqueSuggestion},
        },
    },
    read,
};

/// Narrows the challenge list. 课题列表的筛选条件。
#[derive(InputObject, Default)]
pub struct ChallengesFilter {
    /// Only OPEN or only CLOSED. 仅征集中或仅已结题。
    pub status: Option<ChallengeStatus>,
    /// Only this industry. 仅该行业。
    pub industry: Option<Industry>,
    /// Only this scope. 仅该可见范围。
    pub scope: Option<ChallengeScope>,
}

/// Narrows the help-request list. 求助列表的筛选条件。
#[derive(InputObject, Default)]
pub struct HelpRequestsFilter {
    /// Only this status. 仅该状态。
    pub status: Option<HelpStatus>,
    /// Only this industry. 仅该行业。
    pub industry: Option<Industry>,
    /// Only those this studio took on. 仅该工作室承接的。
    pub studio_id: Option<ID>,
    /// Only those this enterprise asked. 仅该企业提出的。
    pub enterprise_id: Option<ID>,
}

/// Narrows a challenge search; each list means any of its values. 课题搜索的筛选条件（列表内任一即可）。
#[derive(InputObject, Default)]
pub struct ChallengeSearchFilter {
    /// In these industries. 行业。
    pub industries: Option<Vec<Industry>>,
    /// In these statuses. 状态。
    pub statuses: Option<Vec<ChallengeStatus>>,
    /// With these scopes. 可见范围。
    pub scopes: Option<Vec<ChallengeScope>>,
}

/// Narrows a help-request search; each list means any of its values. 求助搜索的筛选条件（列表内任一即可）。
#[derive(InputObject, Default)]
pub struct HelpRequestSearchFilter {
    /// In these industries. 行业。
    pub industries: Option<Vec<Industry>>,
    /// In these statuses. 状态。
    pub statuses: Option<Vec<HelpStatus>>,
}

/// Counts over every challenge match the viewer may see. 查看者可见的全部课题匹配的计数。
#[derive(SimpleObject)]
pub struct ChallengeFacets {
    /// Matches per industry. 按行业计数。
    pub industry: Vec<FacetCount>,
    /// Matches per status. 按状态计数。
    pub status: Vec<FacetCount>,
    /// Matches per scope. 按可见范围计数。
    pub scope: Vec<FacetCount>,
}

/// Counts over every help-request match. 全部求助匹配的计数。
#[derive(SimpleObject)]
pub struct HelpRequestFacets {
    /// Matches per industry. 按行业计数。
    pub industry: Vec<FacetCount>,
    /// Matches per status. 按状态计数。
    pub status: Vec<FacetCount>,
}

#[derive(SimpleObject)]
pub struct ChallengeSearchTotals {
    /// How many challenges match in all, across every page. 符合条件的总数（所有页）。
    pub total_count: i64,
    /// Counts per value over every match (not only this page). 全部匹配结果按取值的计数。
    pub facets: ChallengeFacets,
}

#[derive(SimpleObject)]
pub struct HelpRequestSearchTotals {
    /// How many help requests match in all, across every page. 符合条件的总数（所有页）。
    pub total_count: i64,
    /// Counts per value over every match (not only this page). 全部匹配结果按取值的计数。
    pub facets: HelpRequestFacets,
}

fn names<T: Copy>(v: Option<Vec<T>>, name: impl Fn(T) -> &'static str) -> Vec<String> {
    v.unwrap_or_default().into_iter().map(|x| name(x).to_owned()).collect()
}

fn asked(ctx: &Context<'_>, facet: &str) -> bool {
    ctx.look_ahead().field("facets").field(facet).exists()
}

#[derive(Default)]
pub struct ChallengeQuery;

#[Object]
impl ChallengeQuery {
    /// A challenge, if the viewer may see it. 课题（查看者可见时）。
    async fn challenge(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Its global id. 全局编号。")] id: ID,
    ) -> Result<Option<Challenge>> {
        let Ok(n) = ids::decode(&id, "Challenge", "id") else { return Ok(None) };
        Challenge::by_id(ctx, n).await
    }

    /// The challenges the viewer may see, newest first: PUBLIC ones for everyone, INDUSTRY ones for
    /// enterprises of their industry and associations, ENTERPRISE ones for their enterprise. 查看者可见的攻关课题，最新的在前：公开课题所有人可见，行业课题本行业企业与行业协会可见，企业课题仅本企业可见。
    async fn challenges(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrows the list. 筛选条件。")] filter: Option<ChallengesFilter>,
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
    ) -> Result<Conn<Challenge>> {
        let page = Keyset::of("challenges", &PageArgs::new(first, after, last, before))?;
        let f = filter.unwrap_or_default();
        let v = rules_viewer(ctx).await?;
        let sight = ChallengeSight { list: viewer(ctx).list_scope(), industry: v.industry };
        let filter = ChallengeFilter { status: f.status, industry: f.industry, scope: f.scope };
        let rows_page = page.rows();
        let (rows, total) = read!(ctx, |s| s.list_challenges(&sight, &filter, &rows_page).await);
        // The SQL rule and `can_view` are twins; a row the rule refuses is a bug, so it is dropped, not shown.
        let items = Challenge::seen(rows, v);
        Ok(page.page("challenges", items.into_iter().map(|c| (c.row.id, c)).collect(), total))
    }

    /// Full-text search over the challenges the viewer may see (title, statement, reward), Chinese
    /// first, with the same query rules as `searchProposals`. 对查看者可见的课题做全文搜索（名称、问题陈述、奖励），规则同提案搜索。
    async fn search_challenges(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The words to find; empty lists everything. 搜索词；为空则列出全部。")] query: String,
        #[graphql(desc = "Narrows the results. 筛选条件。")] filter: Option<ChallengeSearchFilter>,
        #[graphql(
            desc = "RELEVANCE when absent; VERIFIED_SAVINGS sorts by the target. 缺省为相关度；VERIFIED_SAVINGS 按目标节能量排序。"
        )]
        sort: Option<SearchSort>,
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
    ) -> Result<SearchConn<Challenge, ChallengeSearchTotals>> {
        check_query(&query)?;
        let f = filter.unwrap_or_default();
        let sort = sort.unwrap_or_default();
        let v = rules_viewer(ctx).await?;
        let mut search = SearchQuery {
            text: query,
            kind: DocKind::Challenge,
            access: challenge::viewer_tokens(v),
            filter: Filter {
                industries: names(f.industries, Industry::as_str),
                statuses: names(f.statuses, ChallengeStatus::as_str),
                categories: names(f.scopes, ChallengeScope::as_str),
                ..Default::default()
            },
            sort: to_index_sort(sort),
            offset: 0,
            limit: 0,
            facets: FacetFields {
                industry: asked(ctx, "industry"),
                status: asked(ctx, "status"),
                category: asked(ctx, "scope"),
                ..FacetFields::NONE
            },
        };
        let list = format!("searchChallenges.{}", sort_name(sort));
        let window = window(ctx, &list, PageArgs::new(first, after, last, before), &search).await?;
        (search.offset, search.limit) = (window.offset as usize, window.limit as usize);
        let mut results = run(ctx, search).await?;
        let f = std::mem::take(&mut results.facets);
        let facets =
            ChallengeFacets { industry: counts(f.industry), status: counts(f.status), scope: counts(f.category) };
        let wanted: Vec<i64> = results.hits.iter().map(|h| h.id).collect();
        let rows = read!(ctx, |s| s.challenges_by_ids(&wanted).await);
        let found = Challenge::seen(rows, v).into_iter().map(|c| (c.row.id, c)).collect();
        let totals = ChallengeSearchTotals { total_count: results.total as i64, facets };
        Ok(search_connection(&window, &list, &results, totals, found))
    }

    /// Catalogue techniques that address a problem described in words, best first, with why — what a
    /// help request will be matched with, shown while a plant writes it. Public, like the catalogue. 按文字描述的问题推荐目录技术（最匹配的在前）并说明理由：企业填写求助时即时显示。与目录一样公开。
    async fn suggest_techniques(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The problem, as the plant tells it (at most 20,000 characters). 问题描述（不超过2万字）。")]
        text: String,
        #[graphql(
            desc = "The plant's industry: its techniques count a little more. 企业所属行业（同行业技术略优先）。"
        )]
        industry: Option<Industry>,
        #[graphql(desc = "How many, at most 20. 条数（最多20）。", default = 5)] first: i32,
    ) -> Result<Vec<TechniqueSuggestion>> {
        if text.chars().count() > 20_000 {
            return Err(crate::error::AppError::invalid("text", "the text is too long / 文本过长").into());
        }
        suggest_techniques(ctx, text, industry.map(|i| i.as_str().to_owned()), first).await
    }

    /// A help request, for anyone signed in. 求助（登录用户可见）。
    async fn help_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Its global id. 全局编号。")] id: ID,
    ) -> Result<Option<HelpRequest>> {
        let Ok(n) = ids::decode(&id, "HelpRequest", "id") else { return Ok(None) };
        HelpRequest::by_id(ctx, n).await
    }

    /// Help requests, newest first, for anyone signed in (empty for anonymous callers): studios look for
    /// plants they can help. 求助列表（最新的在前），登录用户可见（未登录为空）：工作室据此寻找可帮助的企业。
    async fn help_requests(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrows the list. 筛选条件。")] filter: Option<HelpRequestsFilter>,
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
    ) -> Result<Conn<HelpRequest>> {
        let page = Keyset::of("helpRequests", &PageArgs::new(first, after, last, before))?;
        let v = rules_viewer(ctx).await?;
        if !challenge::can_view_help(v) {
            return Ok(page.page("helpRequests", vec![], 0));
        }
        let f = filter.unwrap_or_default();
        let filter = HelpFilter {
            status: f.status,
            industry: f.industry,
            studio_id: f.studio_id.as_ref().map(|id| ids::decode(id, "Studio", "filter.studioId")).transpose()?,
            enterprise_id: f
                .enterprise_id
                .as_ref()
                .map(|id| ids::decode(id, "Enterprise", "filter.enterpriseId"))
                .transpose()?,
        };
        let rows_page = page.rows();
        let (rows, total) = read!(ctx, |s| s.list_help_requests(&filter, &rows_page).await);
        Ok(page.page(
            "helpRequests",
            rows.into_iter().map(|row| (row.id, HelpRequest { row, viewer: v })).collect(),
            total,
        ))
    }

    /// Full-text search over help requests (title, problem, process and equipment tags), for anyone
    /// signed in. 对求助做全文搜索（标题、问题、工艺与设备标签），登录用户可用。
    async fn search_help_requests(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The words to find; empty lists everything. 搜索词；为空则列出全部。")] query: String,
        #[graphql(desc = "Narrows the results. 筛选条件。")] filter: Option<HelpRequestSearchFilter>,
        #[graphql(desc = "RELEVANCE when absent. 缺省为相关度。")] sort: Option<SearchSort>,
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
    ) -> Result<SearchConn<HelpRequest, HelpRequestSearchTotals>> {
        check_query(&query)?;
        let f = filter.unwrap_or_default();
        let sort = sort.unwrap_or_default();
        let v = rules_viewer(ctx).await?;
        let mut search = SearchQuery {
            text: query,
            kind: DocKind::HelpRequest,
            access: challenge::viewer_tokens(v),
            filter: Filter {
                industries: names(f.industries, Industry::as_str),
                statuses: names(f.statuses, HelpStatus::as_str),
                ..Default::default()
            },
            sort: to_index_sort(sort),
            offset: 0,
            limit: 0,
            facets: FacetFields { industry: asked(ctx, "industry"), status: asked(ctx, "status"), ..FacetFields::NONE },
        };
        let list = format!("searchHelpRequests.{}", sort_name(sort));
        let window = window(ctx, &list, PageArgs::new(first, after, last, before), &search).await?;
        (search.offset, search.limit) = (window.offset as usize, window.limit as usize);
        let mut results = run(ctx, search).await?;
        let f = std::mem::take(&mut results.facets);
        let facets = HelpRequestFacets { industry: counts(f.industry), status: counts(f.status) };
        // Anonymous callers hold no `member` token, so they have no hits; the database is not asked.
        let found = if challenge::can_view_help(v) {
            let wanted: Vec<i64> = results.hits.iter().map(|h| h.id).collect();
            read!(ctx, |s| s.help_requests_by_ids(&wanted).await)
                .into_iter()
                .map(|row| (row.id, HelpRequest { row, viewer: v }))
                .collect()
        } else {
            Default::default()
        };
        let totals = HelpRequestSearchTotals { total_count: results.total as i64, facets };
        Ok(search_connection(&window, &list, &results, totals, found))
    }
}
