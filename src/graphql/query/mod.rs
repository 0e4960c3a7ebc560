//! The query root, merged from one object per area.

mod catalogue;
mod challenges;
mod impact;
mod node;
mod notifications;
mod oversight;
mod people;
mod proof;
pub mod proposals;
pub(crate) mod search;
mod viewer;

use async_graphql::MergedObject;

/// Every query: the viewer, any node by id, proposals, the catalogue, search and impact. 全部查询：当前用户、按编号取对象、提案、目录、搜索与成效。
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    viewer::ViewerQuery,
    node::NodeQuery,
    proposals::ProposalQuery,
    catalogue::CatalogueQuery,
    search::SearchQueryRoot,
    impact::ImpactQuery,
    people::PeopleQuery,
    notifications::NotificationQuery,
    challenges::ChallengeQuery,
    proof::ProofQuery,
    proof::SkillQuery,
    oversight::OversightQuery,
);
