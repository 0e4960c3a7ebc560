//! The event hub: one task per process follows the `events` table in order and broadcasts each new event
//! to the subscriptions of this process. Following the table (not in-process calls) means events written
//! by another server or by the CLI reach subscribers too.

use std::{
    sync::{Arc, Weak},
    time::{Duration, Instant},
};

use tokio::sync::{broadcast, Notify};

use crate::db::{rows::EventRow, Db};

/// How long a gap in event ids may stay open (a transaction that took its id but has not committed yet)
/// before the pump gives up waiting for it (it was rolled back).
const GAP_PATIENCE: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(250);

pub struct EventHub {
    sender: broadcast::Sender<EventRow>,
    nudge: Notify,
}

impl EventHub {
    /// Starts following events written after this moment.
    pub async fn start(db: Db) -> anyhow::Result<Arc<EventHub>> {
        let last = db
            .read(|s| Box::pin(async move { s.last_event_id().await }))
            .await
            .map_err(|e| anyhow::anyhow!(e.public_message()))?;
        let (sender, _) = broadcast::channel(1024);
        let hub = Arc::new(EventHub { sender, nudge: Notify::new() });
        tokio::spawn(pump(db, Arc::downgrade(&hub), last));
        Ok(hub)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<EventRow> {
        self.sender.subscribe()
    }

    /// Called after a local commit: look now rather than at the next poll.
    pub fn nudge(&self) {
        self.nudge.notify_one();
    }
}

async fn pump(db: Db, hub: Weak<EventHub>, mut last: i64) {
    let mut gap_since: Option<Instant> = None;
    loop {
        let Some(h) = hub.upgrade() else { return };
        tokio::select! {
            _ = h.nudge.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
        if db.is_closed() {
            return;
        }
        let batch = match db.read(move |s| Box::pin(async move { s.events_after(last, 500).await })).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e.public_message(), "event pump could not read events");
                continue;
            }
        };
        for event in batch {
            if event.id != last + 1 {
                let since = *gap_since.get_or_insert_with(Instant::now);
                if since.elapsed() < GAP_PATIENCE {
                    break;
                }
            }
            gap_since = None;
            last = event.id;
            let _ = h.sender.send(event);
        }
    }
}
