//! The event hub: one task per process follows the `events` table in order and broadcasts each new event
//! to the subscriptions of this process. Following the table (not in-process calls) means events written
//! by another server or by the CLI reach subscribers too.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::{broadcast, Notify};

use crate::db::{
    listen::Listening,
    rows::{EventRow, FeedPosition},
    Db,
};

/// How long the pump may sleep without being woken when nothing wakes it: see [`Listening::patience`].
const POLL: Duration = Duration::from_millis(250);

pub struct EventHub {
    sender: broadcast::Sender<EventRow>,
    nudge: Notify,
}

impl EventHub {
    /// Starts following events that settle after this moment.
    pub async fn start(db: Db, listening: Arc<Listening>) -> anyhow::Result<Arc<EventHub>> {
        let last = db
            .read(|s| Box::pin(async move { s.last_event_position().await }))
            .await
            .map_err(|e| anyhow::anyhow!(e.public_message()))?;
        let (sender, _) = broadcast::channel(1024);
        let hub = Arc::new(EventHub { sender, nudge: Notify::new() });
        tokio::spawn(pump(db, Arc::downgrade(&hub), last, listening));
        Ok(hub)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<EventRow> {
        self.sender.subscribe()
    }

    /// Called after a commit: look now rather than at the next poll.
    pub fn nudge(&self) {
        self.nudge.notify_one();
    }
}

/// Broadcasts the settled events in feed order ([`FeedPosition`]): none skipped, none twice.
async fn pump(db: Db, hub: Weak<EventHub>, mut last: FeedPosition, listening: Arc<Listening>) {
    let mut waiting = false;
    loop {
        let Some(h) = hub.upgrade() else { return };
        let patience = listening.patience(waiting, POLL);
        tokio::select! {
            _ = h.nudge.notified() => {}
            _ = tokio::time::sleep(patience) => {}
        }
        if db.is_closed() {
            return;
        }
        loop {
            let batch = match db.read(move |s| Box::pin(async move { s.events_after(last, 500).await })).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e.public_message(), "event pump could not read events");
                    break;
                }
            };
            let full = batch.len() == 500;
            waiting = false;
            for event in batch {
                if !event.settled {
                    waiting = true;
                    break;
                }
                last = event.position();
                let _ = h.sender.send(event);
            }
            if waiting || !full {
                break;
            }
        }
    }
}
