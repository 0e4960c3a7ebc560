//! GraphQL object types, one file per area, and the Relay `Node` interface over them.

pub mod attachment;
pub mod challenge;
pub mod evaluation;
pub mod event;
pub mod help;
pub mod notification;
pub mod organisation;
pub mod oversight;
pub mod people;
pub mod pilot;
pub mod proof;
pub mod proposal;
pub mod savings;
pub mod scalars;
pub mod technique;

use async_graphql::{Interface, ID};

pub use organisation::{Enterprise, Studio, Team, User};
pub use proposal::Proposal;
pub use technique::Technique;

/// Anything with a global id that `node(id:)` can fetch. 任何可用 node(id:) 按全局编号取得的对象。
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Global, opaque id. 全局唯一编号。"))]
pub enum Node {
    User(User),
    Enterprise(Enterprise),
    Team(Team),
    Studio(Studio),
    Proposal(Proposal),
    Technique(Technique),
    Challenge(challenge::Challenge),
    HelpRequest(help::HelpRequest),
}
