//! The one state value shared by HTTP handlers and GraphQL resolvers.

use std::sync::Arc;

use crate::{config::Config, db::Db, events::EventHub, http::metrics::Metrics, storage::Storage};

/// Everything a request may need. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    pub db: Db,
    pub storage: Storage,
    pub search: Arc<crate::search::Indexer>,
    pub metrics: Arc<Metrics>,
    pub events: Arc<EventHub>,
    pub limiter: Arc<crate::http::ratelimit::Limiter>,
    pub tokens: Arc<crate::db::users::TokenCache>,
    /// Persisted queries and trusted documents.
    pub persisted: Arc<crate::http::persisted::Persisted>,
    /// The enterprise's OpenID provider, when sign-in with it is configured.
    pub oidc: Option<Arc<crate::oidc::Oidc>>,
    /// Sends notifications' e-mails and webhook calls, and fires reminders.
    pub courier: Arc<crate::courier::Courier>,
    /// The server's Ed25519 key: checkpoints, receipts, skill records.
    pub signer: Arc<crate::domain::proof::Signer>,
    /// Links events into the hash chain.
    pub chainer: Arc<crate::chain::Chainer>,
}

/// Router state: the services and the GraphQL schema built over them.
#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub schema: crate::graphql::GlSchema,
    pub documents: Arc<crate::http::graphql::Documents>,
    /// Running subscriptions per token or address, for the WebSocket limits.
    pub subscribers: Arc<crate::http::ws::Subscribers>,
}

impl AppState {
    pub fn new(services: Services) -> AppState {
        let schema = crate::graphql::build_schema(services.clone());
        let documents = crate::http::graphql::Documents::new(
            crate::graphql::document_limits(&services.config),
            crate::graphql::cost_model(),
        );
        AppState { services, schema, documents: Arc::new(documents), subscribers: Arc::default() }
    }
}
