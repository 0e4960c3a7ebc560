//! The GraphQL API: schema assembly, the viewer, and one module per area.

pub mod connection;
pub mod guards;
pub mod ids;
pub mod limits;
pub mod mutation;
pub mod phase;
pub mod query;
pub mod subscription;
pub mod types;

use async_graphql::{Schema, SchemaBuilder};

use crate::state::Services;

pub use guards::Viewer;

pub type GlSchema = Schema<query::QueryRoot, mutation::MutationRoot, subscription::SubscriptionRoot>;

fn builder() -> SchemaBuilder<query::QueryRoot, mutation::MutationRoot, subscription::SubscriptionRoot> {
    Schema::build(query::QueryRoot::default(), mutation::MutationRoot::default(), subscription::SubscriptionRoot)
}

pub fn build_schema(services: Services) -> GlSchema {
    let config = services.config.clone();
    builder()
        .data(services)
        .extension(phase::PhaseTracker)
        .extension(limits::AliasLimit(config.max_aliases))
        .limit_depth(config.max_query_depth)
        .limit_complexity(config.max_query_complexity)
        .limit_recursive_depth(64)
        .limit_directives(16)
        .finish()
}

/// The SDL that `schema/schema.graphql` must equal.
pub fn sdl() -> String {
    builder().finish().sdl()
}
