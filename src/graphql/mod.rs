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

#[cfg(test)]
mod tests {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};

    /// Every type, field, argument and enum value of the schema is described, in Chinese and in English:
    /// what client developers read in GraphiQL and in generated code. Only what async-graphql generates
    /// itself (connections' `edges`/`nodes`/`pageInfo`, edges, `PageInfo`, `Upload`) is exempt.
    #[test]
    fn every_part_of_the_schema_is_described_in_chinese_and_english() {
        let doc = async_graphql::parser::parse_schema(super::sdl()).expect("the SDL parses");
        let mut missing = vec![];
        let mut check = |what: String, d: Option<&str>| {
            let ok = d.is_some_and(|d| {
                d.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)) && d.chars().any(|c| c.is_ascii_alphabetic())
            });
            if !ok {
                missing.push(what);
            }
        };
        let generated =
            |ty: &str| ty.ends_with("Connection") || ty.ends_with("Edge") || ty == "PageInfo" || ty == "Upload";
        for def in &doc.definitions {
            let TypeSystemDefinition::Type(t) = def else { continue };
            let t = &t.node;
            let name = t.name.node.as_str();
            let description = t.description.as_ref().map(|d| d.node.as_str());
            if !generated(name) {
                check(format!("type {name}"), description);
            }
            let library_field = |f: &str| {
                generated(name) && matches!(f, "edges" | "nodes" | "pageInfo" | "node" | "cursor") || name == "PageInfo"
            };
            match &t.kind {
                TypeKind::Object(o) => {
                    for f in &o.fields {
                        let f = &f.node;
                        if !library_field(f.name.node.as_str()) {
                            check(format!("{name}.{}", f.name.node), f.description.as_ref().map(|d| d.node.as_str()));
                        }
                        for a in &f.arguments {
                            let a = &a.node;
                            check(
                                format!("{name}.{}({})", f.name.node, a.name.node),
                                a.description.as_ref().map(|d| d.node.as_str()),
                            );
                        }
                    }
                }
                TypeKind::Interface(o) => {
                    for f in &o.fields {
                        check(
                            format!("{name}.{}", f.node.name.node),
                            f.node.description.as_ref().map(|d| d.node.as_str()),
                        );
                    }
                }
                TypeKind::InputObject(o) => {
                    for f in &o.fields {
                        check(
                            format!("{name}.{}", f.node.name.node),
                            f.node.description.as_ref().map(|d| d.node.as_str()),
                        );
                    }
                }
                TypeKind::Enum(e) => {
                    for v in &e.values {
                        check(
                            format!("{name}.{}", v.node.value.node),
                            v.node.description.as_ref().map(|d| d.node.as_str()),
                        );
                    }
                }
                _ => {}
            }
        }
        assert!(
            missing.is_empty(),
            "{} parts of the schema lack a bilingual description:\n{}",
            missing.len(),
            missing.join("\n")
        );
    }
}
