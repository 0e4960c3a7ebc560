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

use std::sync::{Arc, OnceLock};

use async_graphql::{Schema, SchemaBuilder};

use crate::{config::Config, state::Services};

pub use guards::Viewer;

pub type GlSchema = Schema<query::QueryRoot, mutation::MutationRoot, subscription::SubscriptionRoot>;

fn builder() -> SchemaBuilder<query::QueryRoot, mutation::MutationRoot, subscription::SubscriptionRoot> {
    Schema::build(query::QueryRoot::default(), mutation::MutationRoot::default(), subscription::SubscriptionRoot)
}

pub fn build_schema(services: Services) -> GlSchema {
    let config = services.config.clone();
    let limits = document_limits(&config);
    builder()
        .data(services)
        .extension(phase::PhaseTracker)
        .extension(limits::DocumentGuard { limits: limits.clone(), model: cost_model() })
        .limit_depth(config.max_query_depth)
        .limit_recursive_depth(limits.max_nesting)
        .limit_directives(limits.max_directives)
        .finish()
}

/// The bounds every document is held to, from the configuration.
pub fn document_limits(config: &Config) -> limits::Limits {
    limits::Limits { max_aliases: config.max_aliases, max_cost: config.max_query_cost, ..Default::default() }
}

/// The cost model of this binary's schema (read once from its SDL).
pub fn cost_model() -> Arc<limits::CostModel> {
    static MODEL: OnceLock<Arc<limits::CostModel>> = OnceLock::new();
    MODEL.get_or_init(|| Arc::new(limits::CostModel::from_sdl(&sdl()))).clone()
}

/// The SDL that `schema/schema.graphql` must equal.
pub fn sdl() -> String {
    builder().finish().sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
}
