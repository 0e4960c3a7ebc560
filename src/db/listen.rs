//! What wakes this process when another one commits: PostgreSQL `LISTEN`. Triggers notify
//! `greenline_changes` when a transaction appends to the change feed or the event log, and
//! `greenline_people` when a user or a token changes (migration 0007); every instance listens on one
//! connection of its own and wakes its followers (the search indexer, the event hub) or forgets the
//! people it cached. Without it (SQLite, or a connection that cannot listen, e.g. through PgBouncer in
//! transaction mode) the followers poll and the people cache keeps entries for a second.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use sqlx::postgres::PgListener;

use super::Db;

pub const CHANGES: &str = "greenline_changes";
pub const PEOPLE: &str = "greenline_people";

/// Whether notifications arrive: followers poll rarely while they do.
#[derive(Default)]
pub struct Listening(AtomicBool);

impl Listening {
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// How long a follower may sleep before it looks again without being woken: very short while rows
    /// wait behind a transaction still in progress, long (a safety net) while every commit notifies it,
    /// `poll` otherwise.
    pub fn patience(&self, waiting: bool, poll: Duration) -> Duration {
        if waiting {
            Duration::from_millis(50)
        } else if self.get() {
            Duration::from_secs(5)
        } else {
            poll
        }
    }
}

/// Listens on `CHANGES` and `PEOPLE` (PostgreSQL only; on SQLite `flag` stays false), calling
/// `on_notice` with the channel's name for each notification, and with both names once on every
/// (re)connection (anything may have happened while it was away). Connects through `listen_url` when
/// given (a direct connection beside a transaction-mode pooler), else through the pool.
pub fn start(
    db: &Db,
    listen_url: Option<String>,
    flag: Arc<Listening>,
    on_notice: impl Fn(&str) + Send + Sync + 'static,
) {
    let Db::Postgres(pool, _) = db else { return };
    let pool = pool.clone();
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            if pool.is_closed() {
                return;
            }
            let connected = match &listen_url {
                Some(url) => PgListener::connect(url).await,
                None => PgListener::connect_with(&pool).await,
            };
            let mut listener = match connected {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for changes; polling meanwhile");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            if let Err(e) = listener.listen_all([CHANGES, PEOPLE]).await {
                tracing::warn!(error = %e, "LISTEN refused; polling meanwhile");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
            backoff = Duration::from_millis(100);
            flag.0.store(true, Ordering::Relaxed);
            on_notice(CHANGES);
            on_notice(PEOPLE);
            loop {
                // `try_recv` gives `None` when the connection was lost (and notifications may have been).
                match listener.try_recv().await {
                    Ok(Some(n)) => on_notice(n.channel()),
                    Ok(None) => {
                        on_notice(CHANGES);
                        on_notice(PEOPLE);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "lost the LISTEN connection; polling meanwhile");
                        break;
                    }
                }
                if pool.is_closed() {
                    return;
                }
            }
            flag.0.store(false, Ordering::Relaxed);
        }
    });
}
