//! greenline: a GraphQL service that carries frontline workers' green ideas from the shop floor to the
//! whole industry. `main.rs` only parses the command line; everything lives here and below:
//! HTTP (`http`) → GraphQL (`graphql`) → domain rules (`domain`) → store (`db`), search (`search-index`)
//! and object storage (`storage`).

pub mod chain;
pub mod cli;
pub mod config;
pub mod courier;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod import;
pub mod journey;
pub mod oidc;
pub mod redis;
pub mod search;
pub mod state;
pub mod storage;
pub mod telemetry;

use std::{future::Future, sync::Arc, time::Duration};

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;

use crate::{
    config::Config,
    db::Db,
    state::{AppState, Services},
    storage::Storage,
};

/// The whole HTTP application over `state`.
pub fn app(state: AppState) -> Router {
    http::router(state)
}

/// Opens the database (applying migrations), the object store and the search index named by `config`.
pub async fn open(config: Config) -> anyhow::Result<AppState> {
    let db = Db::connect_with(&config.database_url, &config.db_options()).await?;
    let storage =
        Storage::from_config(&config.storage)?.with_timeout(Duration::from_secs(config.storage_timeout_secs.max(1)));
    // Instances on one host may share the directory: the first writes it, the others read it.
    let index = search_index::SearchIndex::open_shared(&config.index_dir).context("opening the search index")?;
    index.set_cache_entries(config.search_cache_entries);
    let listening = Arc::new(db::listen::Listening::default());
    let search = search::Indexer::start(db.clone(), index, listening.clone()).await?;
    let events = events::EventHub::start(db.clone(), listening.clone()).await?;
    let tokens = Arc::new(db::users::TokenCache::new(listening.clone()));
    let courier = courier::Courier::start(db.clone(), &config, listening.clone())?;
    let signer = chain::signer(&db, config.signing_key.as_deref()).await?;
    let chainer = chain::Chainer::start(
        db.clone(),
        listening.clone(),
        signer.clone(),
        Duration::from_secs(config.checkpoint_secs.max(1)),
        Arc::downgrade(&search),
    );
    {
        let (search, events, tokens) = (Arc::downgrade(&search), Arc::downgrade(&events), Arc::downgrade(&tokens));
        let courier = Arc::downgrade(&courier);
        let chainer = Arc::downgrade(&chainer);
        db::listen::start(&db, config.database_listen_url.clone(), listening, move |channel| match channel {
            db::listen::CHANGES => {
                search.upgrade().inspect(|s| s.nudge());
                events.upgrade().inspect(|e| e.nudge());
                courier.upgrade().inspect(|c| c.nudge());
                chainer.upgrade().inspect(|c| c.nudge());
            }
            _ => {
                tokens.upgrade().inspect(|t| t.forget_all());
            }
        });
    }
    storage::start_sweeper(
        db.clone(),
        storage.clone(),
        Duration::from_secs(config.orphan_sweep_secs),
        Duration::from_secs(config.orphan_grace_secs),
    );
    let rate = |per_second: f64| crate::http::ratelimit::Rate {
        per_second,
        burst: (per_second * config.rate_limit_burst_secs).max(1.0),
    };
    let mut limiter =
        crate::http::ratelimit::Limiter::new(rate(config.rate_limit_per_token), rate(config.rate_limit_per_ip));
    if let Some(url) = &config.redis_url {
        limiter = limiter.shared(redis::Redis::from_url(url)?, &config.redis_prefix);
    }
    let limiter = Arc::new(limiter);
    let persisted =
        Arc::new(crate::http::persisted::Persisted::load(config.trusted_documents.as_deref(), config.only_trusted)?);
    let oidc = crate::oidc::Oidc::from_config(&config)?.map(Arc::new);
    Ok(AppState::new(Services {
        config: Arc::new(config),
        db,
        storage,
        search,
        metrics: Arc::default(),
        events,
        limiter,
        tokens,
        persisted,
        oidc,
        courier,
        signer,
        chainer,
    }))
}

/// Serves until `shutdown` resolves, then gives in-flight requests the configured drain time.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let drain = Duration::from_secs(state.services.config.shutdown_timeout_secs);
    let services = state.services.clone();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let server = axum::serve(listener, app(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = tx.send(true);
        });
    let mut rx2 = rx.clone();
    tokio::select! {
        r = server => r.context("serving HTTP")?,
        _ = async move {
            let _ = rx2.wait_for(|stopping| *stopping).await;
            tokio::time::sleep(drain).await;
        } => tracing::warn!("drain time over; closing remaining connections"),
    }
    services.db.close().await;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
