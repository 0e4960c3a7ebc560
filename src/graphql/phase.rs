//! Tells the HTTP layer whether a request failed before execution (parse or validation), which decides the
//! status code under `application/graphql-response+json` (GraphQL over HTTP, "Validation").

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use async_graphql::{
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation},
    ServerError, ValidationResult,
};

/// Put into each request's data; set when validation refused the document.
#[derive(Clone, Default)]
pub struct ValidationFailed(pub Arc<AtomicBool>);

impl ValidationFailed {
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

pub struct PhaseTracker;

impl ExtensionFactory for PhaseTracker {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PhaseTrackerExtension)
    }
}

struct PhaseTrackerExtension;

#[async_trait::async_trait]
impl Extension for PhaseTrackerExtension {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await;
        if result.is_err() {
            if let Some(flag) = ctx.data_opt::<ValidationFailed>() {
                flag.0.store(true, Ordering::Relaxed);
            }
        }
        result
    }
}
