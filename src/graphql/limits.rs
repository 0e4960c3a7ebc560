//! A limit async-graphql does not have: aliased fields per document. Each alias runs its resolver again, so
//! a document of a thousand aliases is a cheap way to make the server work a thousand times. Checked when the
//! document is parsed, for every transport (HTTP, multipart, WebSocket), and reported as a validation failure.

use std::sync::{atomic::Ordering, Arc};

use async_graphql::{
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    parser::types::{ExecutableDocument, Selection, SelectionSet},
    ServerError, ServerResult, Variables,
};

use super::phase::ValidationFailed;

/// Aliased fields in a document, in its operations and its fragments.
fn aliases(doc: &ExecutableDocument) -> usize {
    fn count(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|s| match &s.node {
                Selection::Field(f) => usize::from(f.node.alias.is_some()) + count(&f.node.selection_set.node),
                Selection::InlineFragment(f) => count(&f.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    let ops: usize = doc.operations.iter().map(|(_, op)| count(&op.node.selection_set.node)).sum();
    ops + doc.fragments.values().map(|f| count(&f.node.selection_set.node)).sum::<usize>()
}

pub struct AliasLimit(pub usize);

impl ExtensionFactory for AliasLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AliasLimitExtension(self.0))
    }
}

struct AliasLimitExtension(usize);

#[async_trait::async_trait]
impl Extension for AliasLimitExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let (n, max) = (aliases(&doc), self.0);
        if n > max {
            if let Some(flag) = ctx.data_opt::<ValidationFailed>() {
                flag.0.store(true, Ordering::Relaxed);
            }
            return Err(ServerError::new(
                format!("the document has {n} aliases; at most {max} are allowed / 别名过多"),
                None,
            ));
        }
        Ok(doc)
    }
}
