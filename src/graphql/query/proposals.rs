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

#[derive(InputObject, Default)]
pub struct ProposalsFilter {
    pub status: Option<Status>,
    pub category: Option<Category>,
    pub industry: Option<Industry>,
    pub enterprise_id: Option<ID>,
    /// Only proposals the viewer wrote or co-wrote.
    #[graphql(default)]
    pub mine: bool,
}

#[derive(Default)]
pub struct ProposalQuery;

#[Object]
impl ProposalQuery {
    /// A proposal by global id; null when it does not exist or the viewer may not see it.
    async fn proposal(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Proposal>> {
        let Ok(n) = ids::decode(&id, "Proposal", "id") else { return Ok(None) };
        Ok(Proposal::by_id(ctx, n).await?)
    }

    /// Proposals the viewer may see, newest first. Drafts are visible only to their authors; anonymous
    /// viewers see adopted and promoted proposals.
    async fn proposals(
        &self,
        ctx: &Context<'_>,
        filter: Option<ProposalsFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
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
