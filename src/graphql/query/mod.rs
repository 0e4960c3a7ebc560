//! The query root, merged from one object per area.

mod node;
mod viewer;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct QueryRoot(viewer::ViewerQuery, node::NodeQuery);
