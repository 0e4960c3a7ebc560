//! `proposal`, `proposals`: reading proposals the viewer may see.

use async_graphql::{Context, InputObject, Object, Result, ID};

use crate::{
    db::store::{ListScope, ProposalFilter},
    domain::{lifecycle::Status, organisation::Industry, proposal::Category},
    graphql::{
        connection::{Conn, Keyset, PageArgs},
        guards::viewer,
        ids,
        types::Proposal,
    },
    read,
};

/// Narrows the proposal list. 提案列表的筛选条件。
#[derive(InputObject, Default)]
pub struct ProposalsFilter {
    /// In this status. 状态。
    pub status: Option<Status>,
    /// Of this category. 类别。
    pub category: Option<Category>,
    /// In this industry. 行业。
    pub industry: Option<Industry>,
    /// Of this enterprise. 企业。
    pub enterprise_id: Option<ID>,
    /// Only proposals the viewer wrote or co-wrote. 仅查看者撰写或参与撰写的提案。
    #[graphql(default)]
    pub mine: bool,
}

#[derive(Default)]
pub struct ProposalQuery;

#[Object]
impl ProposalQuery {
    /// A proposal by global id; null when it does not exist or the viewer may not see it. 按全局编号取提案；不存在或无权查看时为空。
    async fn proposal(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The proposal's id. 提案编号。")] id: ID,
    ) -> Result<Option<Proposal>> {
        let Ok(n) = ids::decode(&id, "Proposal", "id") else { return Ok(None) };
        Ok(Proposal::by_id(ctx, n).await?)
    }

    /// Proposals the viewer may see, newest first. Drafts are visible only to their authors; anonymous
    /// viewers see adopted and promoted proposals. 查看者可见的提案，最新的在前。草稿仅作者可见；匿名用户只看到已推广和已入选目录的提案。
    async fn proposals(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrows the list. 筛选条件。")] filter: Option<ProposalsFilter>,
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
        let page = Keyset::of("proposals", &PageArgs::new(first, after, last, before))?;
        let f = filter.unwrap_or_default();
        let enterprise_id = match &f.enterprise_id {
            Some(id) => Some(ids::decode(id, "Enterprise", "filter.enterpriseId")?),
            None => None,
        };
        let scope = list_scope(ctx);
        let filter = ProposalFilter {
            status: f.status.map(|s| s.as_str().to_owned()),
            category: f.category.map(|c| c.as_str().to_owned()),
            industry: f.industry.map(|i| i.as_str().to_owned()),
            enterprise_id,
            mine: f.mine,
        };
        let rows_page = page.rows();
        let (rows, total) = read!(ctx, |s| s.list_proposals(&scope, &filter, &rows_page).await);
        // The SQL filter and `can_view` are twins; a row the rule refuses is a bug, so it is dropped, not shown.
        let items = Proposal::from_rows(ctx, rows).await?;
        Ok(page.page("proposals", items.into_iter().map(|p| (p.row.id, p)).collect(), total))
    }
}

pub fn list_scope(ctx: &Context<'_>) -> ListScope {
    viewer(ctx).list_scope()
}
