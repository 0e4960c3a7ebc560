//! `greenline serve`: open everything, listen, serve until SIGINT/SIGTERM.

use std::process::ExitCode;

use crate::config::{redact_url, Config};

pub async fn run(config: Config) -> anyhow::Result<ExitCode> {
    let addr = config.addr;
    tracing::info!(database = %redact_url(&config.database_url), storage = %config.storage, index = %config.index_dir.display(), "starting");
    let state = crate::open(config).await?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("listening on http://{} (GraphiQL at /graphql)", listener.local_addr()?);
    crate::serve(listener, state, crate::shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}
