//! `node(id:)`: fetch anything by its global id (Relay).

use async_graphql::{Context, Object, Result, ID};

use crate::domain::organisation::PersonSight;
use crate::graphql::{
    guards::services,
    ids,
    types::{challenge::Challenge, help::HelpRequest, Enterprise, Node, Proposal, Studio, Team, Technique, User},
};

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// The object with this global id, or null when it does not exist or the viewer may not see it. 具有该全局编号的对象；不存在或无权查看时为空。
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global id from any type's `id`. 任一对象的全局编号。")] id: ID,
    ) -> Result<Option<Node>> {
        let Some((kind, n)) = ids::decode_any(&id) else { return Ok(None) };
        let db = &services(ctx)?.db;
        Ok(match kind.as_str() {
            // People are not enumerable: by id, only those of the viewer's own enterprise (or anyone, for
            // platform admins).
            "User" => db.user(n).await?.map(User).filter(|u| u.sight(ctx) >= PersonSight::Colleague).map(Node::User),
            "Enterprise" => db.enterprise(n).await?.map(|e| Node::Enterprise(Enterprise(e))),
            "Team" => db.team(n).await?.map(|t| Node::Team(Team(t))),
            "Studio" => db.studio(n).await?.map(|s| Node::Studio(Studio(s))),
            "Proposal" => Proposal::by_id(ctx, n).await?.map(Node::Proposal),
            "Technique" => crate::read!(ctx, |s| s.technique(n).await).map(|t| Node::Technique(Technique(t))),
            "Challenge" => Challenge::by_id(ctx, n).await?.map(Node::Challenge),
            "HelpRequest" => HelpRequest::by_id(ctx, n).await?.map(Node::HelpRequest),
            _ => None,
        })
    }
}
