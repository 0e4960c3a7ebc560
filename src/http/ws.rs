//! `/graphql/ws`: GraphQL subscriptions over WebSocket (graphql-transport-ws, and the older graphql-ws).
//! The bearer token travels in the `connection_init` payload as `{"Authorization": "Bearer …"}`.

use async_graphql::{http::ALL_WEBSOCKET_PROTOCOLS, Data};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    extract::{State, WebSocketUpgrade},
    response::Response,
};

use crate::{graphql::Viewer, state::AppState};

pub async fn ws(State(state): State<AppState>, protocol: GraphQLProtocol, upgrade: WebSocketUpgrade) -> Response {
    let schema = state.schema.clone();
    upgrade.protocols(ALL_WEBSOCKET_PROTOCOLS).on_upgrade(move |stream| {
        GraphQLWebSocket::new(stream, schema, protocol)
            .on_connection_init(move |payload| async move {
                let header =
                    ["Authorization", "authorization"].iter().find_map(|k| payload.get(*k)).and_then(|v| v.as_str());
                let viewer = match header {
                    None => Viewer::default(),
                    Some(h) => {
                        let token = h.trim().strip_prefix("Bearer ").map(str::trim).unwrap_or("");
                        match state.services.db.user_by_token(token).await {
                            Ok(Some(user)) => Viewer { user: Some(user) },
                            _ => {
                                return Err(async_graphql::Error::new("UNAUTHENTICATED: the bearer token is not valid"))
                            }
                        }
                    }
                };
                let mut data = Data::default();
                data.insert(viewer);
                Ok(data)
            })
            .serve()
    })
}
