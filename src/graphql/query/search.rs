//! `searchProposals`, `searchTechniques`, `similarProposals`: the Chinese full-text index, for a viewer.
//! The index answers with ids; every hit is re-read from the database and re-checked with `can_view`, so
//! search never shows what the database does not have, nor what the viewer may not open.

use crate::graphql::types::scalars::Timestamp;
use async_graphql::{
    connection::{Connection, ConnectionNameType, Edge, EdgeNameType},
    Context, Enum, InputObject, Object, OutputType, Result, SimpleObject, ID,
};
use search_index::{DocKind, FacetFields, Filter, Hit, SearchQuery, SearchResults, Sort};

use crate::{
    domain::{
        lifecycle::Status,
        organisation::{Industry, Role},
        proposal::{viewer_tokens, Category},
    },
    error::{AppError, AppResult},
    graphql::{
        connection::{Cursor, PageArgs, Window},
        guards::{services, viewer},
        ids,
        types::{Enterprise, Proposal, Studio, Technique},
    },
    read,
};

const QUERY_MAX: usize = 200;
const SIMILAR_TEXT_MAX: usize = 20_000;

/// The order of search results. 搜索结果排序。
#[derive(Enum, Copy, Clone, PartialEq, Eq, Default)]
pub enum SearchSort {
    /// Best match first. 相关度优先。
    #[default]
    Relevance,
    /// Most recently submitted first. 最近提交的在前。
    Newest,
    /// Largest verified tce first. 核实节能量最大的在前。
    VerifiedSavings,
}

/// Narrows a proposal search; each list means any of its values. 提案搜索的筛选条件（列表内任一即可）。
#[derive(InputObject, Default)]
pub struct ProposalSearchFilter {
    /// In these industries. 行业。
    pub industries: Option<Vec<Industry>>,
    /// Of these categories. 类别。
    pub categories: Option<Vec<Category>>,
    /// In these statuses. 状态。
    pub statuses: Option<Vec<Status>>,
    /// Of these enterprises. 企业。
    pub enterprise_ids: Option<Vec<ID>>,
    /// Reviewed by these studios. 评审工作室。
    pub studio_ids: Option<Vec<ID>>,
    /// Submitted at or after. 提交时间起。
    pub submitted_from: Option<Timestamp>,
    /// Submitted before. 提交时间止。
    pub submitted_to: Option<Timestamp>,
    /// At least this much verified tce per year. 核实年节能量下限（吨标准煤）。
    pub min_verified_tce: Option<f64>,
    /// At most this much verified tce per year. 核实年节能量上限（吨标准煤）。
    pub max_verified_tce: Option<f64>,
}

/// Narrows a catalogue search. 目录搜索的筛选条件。
#[derive(InputObject, Default)]
pub struct TechniqueSearchFilter {
    /// In these industries. 行业。
    pub industries: Option<Vec<Industry>>,
}

/// Where a query matched, with the matches wrapped in `<em>` (the rest of the snippet is HTML-escaped). 搜索命中的位置，命中词以 <em> 包裹（其余已做 HTML 转义）。
#[derive(SimpleObject)]
pub struct SearchHighlight {
    /// `title`, `tags` or `body`. 标题、标签或正文。
    pub field: String,
    /// An excerpt with the matched words between <em> and </em> (the rest escaped as HTML). 摘录，命中词以 <em> 标记（其余已做 HTML 转义）。
    pub snippet: String,
}

#[derive(SimpleObject)]
pub struct SearchEdgeFields {
    /// Relevance (higher is better); null when sorted by date or savings. 相关度（越高越好）；按日期或节能量排序时为空。
    pub score: Option<f64>,
    /// Where the query matched, the matched words marked. 匹配位置（命中词已标记）。
    pub highlights: Vec<SearchHighlight>,
}

/// How many matches have one value. 某取值的匹配数。
#[derive(SimpleObject)]
pub struct FacetCount {
    /// The value (an enum value's name). 取值。
    pub value: String,
    /// How many matches have this value. 具有该值的匹配数。
    pub count: i64,
}

pub struct EnterpriseFacetCount {
    id: i64,
    count: i64,
}

/// How many matches one enterprise has. 某企业的匹配数。
#[Object]
impl EnterpriseFacetCount {
    /// The enterprise (null if the viewer may not see it). 企业。
    async fn enterprise(&self, ctx: &Context<'_>) -> Result<Option<Enterprise>> {
        Ok(services(ctx)?.db.enterprise(self.id).await?.map(Enterprise))
    }
    /// How many matches have this value. 具有该值的匹配数。
    async fn count(&self) -> i64 {
        self.count
    }
}

pub struct StudioFacetCount {
    id: i64,
    count: i64,
}

/// How many matches one studio reviews. 某工作室的匹配数。
#[Object]
impl StudioFacetCount {
    /// The studio. 工作室。
    async fn studio(&self, ctx: &Context<'_>) -> Result<Option<Studio>> {
        Ok(services(ctx)?.db.studio(self.id).await?.map(Studio))
    }
    /// How many matches have this value. 具有该值的匹配数。
    async fn count(&self) -> i64 {
        self.count
    }
}

/// Counts over every match the viewer may see (not only the current page). 查看者可见的全部匹配的计数（不只当前页）。
#[derive(SimpleObject)]
pub struct ProposalFacets {
    /// Matches per industry. 按行业计数。
    pub industry: Vec<FacetCount>,
    /// Matches per category. 按类别计数。
    pub category: Vec<FacetCount>,
    /// Matches per status. 按状态计数。
    pub status: Vec<FacetCount>,
    /// Matches per enterprise. 按企业计数。
    pub enterprise: Vec<EnterpriseFacetCount>,
    /// Matches per studio that reviews them. 按评审工作室计数。
    pub studio: Vec<StudioFacetCount>,
}

/// Counts over every catalogue match. 目录搜索结果的计数。
#[derive(SimpleObject)]
pub struct TechniqueFacets {
    /// Matches per industry. 按行业计数。
    pub industry: Vec<FacetCount>,
}

#[derive(SimpleObject)]
pub struct ProposalSearchTotals {
    /// How many proposals match in all, across every page. 符合条件的总数（所有页）。
    pub total_count: i64,
    /// Counts per value over every match (not only this page). 全部匹配结果按取值的计数。
    pub facets: ProposalFacets,
}

#[derive(SimpleObject)]
pub struct TechniqueSearchTotals {
    /// How many techniques match in all, across every page. 符合条件的总数（所有页）。
    pub total_count: i64,
    /// Counts per value over every match (not only this page). 全部匹配结果按取值的计数。
    pub facets: TechniqueFacets,
}

pub struct SearchConnectionName;

impl ConnectionNameType for SearchConnectionName {
    fn type_name<T: OutputType>() -> String {
        format!("{}SearchConnection", T::type_name())
    }
}

pub struct SearchEdgeName;

impl EdgeNameType for SearchEdgeName {
    fn type_name<T: OutputType>() -> String {
        format!("{}SearchEdge", T::type_name())
    }
}

/// A search's page: `totals`, and an edge for each hit that is in `found` — the hits re-read from the
/// database and re-checked for the viewer — in the index's order, each with its cursor, score and
/// highlights.
pub(crate) fn search_connection<T, Totals>(
    window: &Window,
    list: &str,
    results: &SearchResults,
    totals: Totals,
    mut found: std::collections::HashMap<i64, T>,
) -> SearchConn<T, Totals>
where
    T: OutputType,
    Totals: async_graphql::ObjectType,
{
    let mut conn =
        Connection::with_additional_fields(window.has_previous(), window.has_next(results.total as i64), totals);
    for (i, hit) in results.hits.iter().enumerate() {
        if let Some(node) = found.remove(&hit.id) {
            conn.edges.push(Edge::with_additional_fields(window.cursor(list, i), node, edge_fields(hit)));
        }
    }
    conn
}

pub(crate) type SearchConn<T, Totals> =
    Connection<Cursor, T, Totals, SearchEdgeFields, SearchConnectionName, SearchEdgeName>;

/// A proposal that looks like the text being written, with how alike. 与正在填写内容相似的提案及相似度。
#[derive(SimpleObject)]
pub struct SimilarProposal {
    /// The similar proposal. 相似的提案。
    pub proposal: Proposal,
    /// How alike; higher is more alike (not a percentage). 相似度（越高越相似，非百分比）。
    pub score: f64,
    /// Why it matched: the words of the text it shares, longest first (at most 8). 相似原因：共有的词（最长的在前，最多8个）。
    pub shared_words: Vec<String>,
    /// Its title and body with the shared words marked. 标出共有词的标题与正文摘录。
    pub highlights: Vec<SearchHighlight>,
}

/// Proposals the viewer may see that look like `text`, most alike first, each with why; never a draft
/// (except to an admin), never one already closed as a duplicate, never `exclude`.
pub async fn similar_to(
    ctx: &Context<'_>,
    text: String,
    limit: usize,
    exclude: Option<i64>,
) -> AppResult<Vec<SimilarProposal>> {
    let tokens = access(ctx);
    let query_text = text.clone();
    let hits = services(ctx)?
        .search
        .query(move |index| {
            index.similar(&query_text, DocKind::Proposal, &tokens, limit + usize::from(exclude.is_some()))
        })
        .await?;
    let scores: std::collections::HashMap<i64, f32> = hits.iter().map(|h| (h.id, h.score.unwrap_or(0.0))).collect();
    let mut words = search_index::analyzer::words(&search_index::variants::fold(&text));
    words.retain(|w| w.chars().count() >= 2);
    words.sort_by(|a, b| b.chars().count().cmp(&a.chars().count()).then_with(|| a.cmp(b)));
    words.dedup();
    let mut out = vec![];
    for p in Proposal::by_ids(ctx, hits.iter().map(|h| h.id).filter(|id| Some(*id) != exclude).collect()).await? {
        let status = p.row.status();
        // Drafts are private even to search; a viewer's own drafts are not duplicates of anything.
        if (status == Status::Draft && viewer(ctx).role() != Some(Role::Admin)) || status == Status::Duplicate {
            continue;
        }
        let (title, body) = (search_index::variants::fold(&p.row.title), search_index::variants::fold(&p.row.body));
        let shared: Vec<String> =
            words.iter().filter(|w| title.contains(w.as_str()) || body.contains(w.as_str())).take(8).cloned().collect();
        let highlights = [("title", &p.row.title), ("body", &p.row.body)]
            .into_iter()
            .filter_map(|(field, text)| {
                search_index::highlight::snippet(text, &shared)
                    .map(|snippet| SearchHighlight { field: field.to_owned(), snippet })
            })
            .collect();
        let score = scores.get(&p.row.id).copied().unwrap_or(0.0) as f64;
        out.push(SimilarProposal { proposal: p, score, shared_words: shared, highlights });
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out.truncate(limit);
    Ok(out)
}

pub(crate) fn counts(v: Vec<(String, u64)>) -> Vec<FacetCount> {
    v.into_iter().map(|(value, count)| FacetCount { value, count: count as i64 }).collect()
}

pub(crate) fn edge_fields(hit: &Hit) -> SearchEdgeFields {
    SearchEdgeFields {
        score: hit.score.map(f64::from),
        highlights: hit
            .highlights
            .iter()
            .map(|h| SearchHighlight { field: h.field.to_owned(), snippet: h.snippet.clone() })
            .collect(),
    }
}

fn access(ctx: &Context<'_>) -> Option<Vec<String>> {
    let u = viewer(ctx).user.as_ref();
    viewer_tokens(u.map(|u| u.role()), u.map(|u| u.id), u.and_then(|u| u.enterprise_id))
}

/// The facets the query selects: each one is counted over every match, so only those.
fn asked_facets(ctx: &Context<'_>) -> FacetFields {
    let facets = ctx.look_ahead().field("facets");
    FacetFields {
        industry: facets.field("industry").exists(),
        category: facets.field("category").exists(),
        status: facets.field("status").exists(),
        enterprise: facets.field("enterprise").exists(),
        studio: facets.field("studio").exists(),
    }
}

pub(crate) fn check_query(text: &str) -> AppResult<()> {
    if text.chars().count() > QUERY_MAX {
        return Err(AppError::invalid(
            "query",
            format!("the query is longer than {QUERY_MAX} characters / 搜索词不能超过{QUERY_MAX}个字符"),
        ));
    }
    Ok(())
}

fn decode_all(list: &Option<Vec<ID>>, kind: &str, field: &str) -> AppResult<Vec<i64>> {
    list.iter().flatten().map(|id| ids::decode(id, kind, field)).collect()
}

pub(crate) async fn run(ctx: &Context<'_>, q: SearchQuery) -> AppResult<SearchResults> {
    services(ctx)?.search.search(&q).await
}

pub(crate) fn sort_name(s: SearchSort) -> &'static str {
    match s {
        SearchSort::Relevance => "RELEVANCE",
        SearchSort::Newest => "NEWEST",
        SearchSort::VerifiedSavings => "VERIFIED_SAVINGS",
    }
}

/// The window of a search a connection's arguments ask for. `last` without `before` pages back from the
/// end, which takes the count first (a search for no hits and no facets).
pub(crate) async fn window(ctx: &Context<'_>, list: &str, args: PageArgs, q: &SearchQuery) -> AppResult<Window> {
    let total = if args.last.is_some() && args.before.is_none() {
        let count = SearchQuery { offset: 0, limit: 0, facets: FacetFields::NONE, ..q.clone() };
        Some(run(ctx, count).await?.total as i64)
    } else {
        None
    };
    Window::of(list, &args, || total)
}

pub(crate) fn to_index_sort(s: SearchSort) -> Sort {
    match s {
        SearchSort::Relevance => Sort::Relevance,
        SearchSort::Newest => Sort::Newest,
        SearchSort::VerifiedSavings => Sort::VerifiedSavings,
    }
}

#[derive(Default)]
pub struct SearchQueryRoot;

#[Object]
impl SearchQueryRoot {
    /// Full-text search over the proposals the viewer may see, Chinese first: every term must occur
    /// (a two-character word matches inside longer words), `"quoted phrases"` stay whole, title counts
    /// more than tags, tags more than body. An empty query lists everything that passes the filter. 对查看者可见的提案做全文搜索（中文优先）：每个词都须出现（双字词可匹配更长的词），引号内为整体短语，标题权重高于标签，标签高于正文。空查询列出符合筛选条件的全部。
    async fn search_proposals(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The words to find, in Chinese or English; \"quoted phrases\" stay whole; empty lists everything. 搜索词（中文或英文）；引号内为短语；为空则列出全部。"
        )]
        query: String,
        #[graphql(desc = "Narrows the results. 筛选条件。")] filter: Option<ProposalSearchFilter>,
        #[graphql(desc = "RELEVANCE when absent. 缺省为 RELEVANCE（相关度）。")] sort: Option<SearchSort>,
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
    ) -> Result<SearchConn<Proposal, ProposalSearchTotals>> {
        check_query(&query)?;
        let f = filter.unwrap_or_default();
        let sort = sort.unwrap_or_default();
        let to_strings =
            |v: Option<Vec<&'static str>>| v.unwrap_or_default().into_iter().map(str::to_owned).collect::<Vec<_>>();
        let search_filter = Filter {
            industries: to_strings(f.industries.map(|v| v.iter().map(|i| i.as_str()).collect())),
            categories: to_strings(f.categories.map(|v| v.iter().map(|c| c.as_str()).collect())),
            statuses: to_strings(f.statuses.map(|v| v.iter().map(|s| s.as_str()).collect())),
            enterprise_ids: decode_all(&f.enterprise_ids, "Enterprise", "filter.enterpriseIds")?,
            studio_ids: decode_all(&f.studio_ids, "Studio", "filter.studioIds")?,
            date_from: f.submitted_from.map(|d| d.0.timestamp_micros()),
            date_to: f.submitted_to.map(|d| d.0.timestamp_micros()),
            min_tce: f.min_verified_tce,
            max_tce: f.max_verified_tce,
        };
        let mut search = SearchQuery {
            text: query,
            kind: DocKind::Proposal,
            access: access(ctx),
            filter: search_filter,
            sort: to_index_sort(sort),
            offset: 0,
            limit: 0,
            facets: asked_facets(ctx),
        };
        let list = format!("searchProposals.{}", sort_name(sort));
        let window = window(ctx, &list, PageArgs::new(first, after, last, before), &search).await?;
        (search.offset, search.limit) = (window.offset as usize, window.limit as usize);
        let mut results = run(ctx, search).await?;
        let f = std::mem::take(&mut results.facets);
        let facets = ProposalFacets {
            industry: counts(f.industry),
            category: counts(f.category),
            status: counts(f.status),
            enterprise: f.enterprise.into_iter().map(|(id, n)| EnterpriseFacetCount { id, count: n as i64 }).collect(),
            studio: f.studio.into_iter().map(|(id, n)| StudioFacetCount { id, count: n as i64 }).collect(),
        };
        let found = Proposal::by_ids(ctx, results.hits.iter().map(|h| h.id).collect())
            .await?
            .into_iter()
            .map(|p| (p.row.id, p))
            .collect();
        let totals = ProposalSearchTotals { total_count: results.total as i64, facets };
        Ok(search_connection(&window, &list, &results, totals, found))
    }

    /// Full-text search over the industry catalogue (public), with the same query rules. 对行业目录做全文搜索（公开），查询规则相同。
    async fn search_techniques(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The words to find; \"quoted phrases\" stay whole; empty lists everything. 搜索词；引号内为短语；为空则列出全部。"
        )]
        query: String,
        #[graphql(desc = "Narrows the results. 筛选条件。")] filter: Option<TechniqueSearchFilter>,
        #[graphql(desc = "RELEVANCE when absent. 缺省为 RELEVANCE（相关度）。")] sort: Option<SearchSort>,
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
    ) -> Result<SearchConn<Technique, TechniqueSearchTotals>> {
        check_query(&query)?;
        let sort = sort.unwrap_or_default();
        let industries =
            filter.and_then(|f| f.industries).unwrap_or_default().iter().map(|i| i.as_str().to_owned()).collect();
        let mut search = SearchQuery {
            text: query,
            kind: DocKind::Technique,
            access: Some(vec!["public".into()]),
            filter: Filter { industries, ..Default::default() },
            sort: to_index_sort(sort),
            offset: 0,
            limit: 0,
            facets: FacetFields {
                industry: ctx.look_ahead().field("facets").field("industry").exists(),
                ..FacetFields::NONE
            },
        };
        let list = format!("searchTechniques.{}", sort_name(sort));
        let window = window(ctx, &list, PageArgs::new(first, after, last, before), &search).await?;
        (search.offset, search.limit) = (window.offset as usize, window.limit as usize);
        let results = run(ctx, search).await?;
        let total = results.total as i64;
        let totals = TechniqueSearchTotals {
            total_count: total,
            facets: TechniqueFacets { industry: counts(results.facets.industry) },
        };
        let mut conn = Connection::with_additional_fields(window.has_previous(), window.has_next(total), totals);
        for (i, hit) in results.hits.iter().enumerate() {
            let id = hit.id;
            if let Some(t) = read!(ctx, |s| s.technique(id).await) {
                conn.edges.push(Edge::with_additional_fields(window.cursor(&list, i), Technique(t), edge_fields(hit)));
            }
        }
        Ok(conn)
    }

    /// Existing proposals that look like `text`, most alike first: duplicate hints while a worker writes.
    /// Only proposals the viewer may see are suggested. 与 text 相似的已有提案，最相似的在前：工人填写时的重复提示。只提示查看者可见的提案。
    async fn similar_proposals(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "What the worker is writing: a title, a body, or both (at most 20,000 characters). 正在填写的标题或正文（不超过2万字）。"
        )]
        text: String,
        #[graphql(desc = "How many hints, at most 20. 提示条数（最多20）。", default = 5)] first: i32,
    ) -> Result<Vec<SimilarProposal>> {
        if text.chars().count() > SIMILAR_TEXT_MAX {
            return Err(AppError::invalid("text", "the text is too long / 文本过长").into());
        }
        Ok(similar_to(ctx, text, first.clamp(0, 20) as usize, None).await?)
    }
}
