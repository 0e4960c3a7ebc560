//! The event hub: one task per process follows the `events` table in order and broadcasts each new event
//! to the subscriptions of this process. Following the table (not in-process calls) means events written
//! by another server or by the CLI reach subscribers too.

use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::{broadcast, Notify};

use crate::{
    db::{
        listen::Listening,
        rows::{EventRow, FeedPosition},
        Db,
    },
    error::AppResult,
};

/// How long the pump may sleep without being woken when nothing wakes it: see [`Listening::patience`].
const POLL: Duration = Duration::from_millis(250);
/// The least time between two rounds of the pump. Every commit of the fleet wakes every instance's pump;
/// paced, one read takes all the events settled meanwhile, instead of one read per commit per instance
/// (three instances under 32 writers read the event log some 2,500 times a second unpaced). A new
/// subscription does not wait for the next round: [`EventHub::subscribe`] brings the pump up to date first.
const PACE: Duration = Duration::from_millis(50);
/// Events read per statement.
const READ: i64 = 500;

pub struct EventHub {
    sender: broadcast::Sender<EventRow>,
    nudge: Notify,
    db: Db,
    /// The last event broadcast. Held for a whole round, so rounds (the pump's and a new subscription's)
    /// never overlap: each event is sent once, in feed order.
    last: tokio::sync::Mutex<FeedPosition>,
}

impl EventHub {
    /// Starts following events that settle after this moment.
    pub async fn start(db: Db, listening: Arc<Listening>) -> anyhow::Result<Arc<EventHub>> {
        let last = db
            .read(|s| Box::pin(async move { s.last_event_position().await }))
            .await
            .map_err(|e| anyhow::anyhow!(e.public_message()))?;
        let (sender, _) = broadcast::channel(1024);
        let hub = Arc::new(EventHub { sender, nudge: Notify::new(), db, last: tokio::sync::Mutex::new(last) });
        tokio::spawn(pump(Arc::downgrade(&hub), listening));
        Ok(hub)
    }

    /// A receiver of the events that settle from now on, and the events it will also receive that
    /// committed before the call. Events settled before the call are broadcast first (to the subscriptions
    /// already open), however long the pump's pace kept them back. Events that committed before the call but
    /// wait behind an older transaction still in progress (on PostgreSQL) cannot be: they settle, and reach
    /// this receiver, only once that transaction ends — the [`CommittedBefore`] names them, so that a
    /// subscription that promises only what commits after it opens can leave them out.
    pub async fn subscribe(&self) -> AppResult<(broadcast::Receiver<EventRow>, CommittedBefore)> {
        let mut last = self.last.lock().await;
        self.round(&mut last).await?;
        // Every event this read sees after `last` has committed (before the receiver exists, since no
        // round can broadcast while `last` is held); none is settled yet.
        let mut before = HashSet::new();
        let mut after = *last;
        loop {
            let batch = self.db.read(move |s| Box::pin(async move { s.events_after(after, READ).await })).await?;
            before.extend(batch.iter().map(|e| e.id));
            match batch.last() {
                Some(e) if batch.len() as i64 == READ => after = e.position(),
                _ => break,
            }
        }
        Ok((self.sender.subscribe(), CommittedBefore(before)))
    }

    /// Called after a commit: look now rather than at the next poll.
    pub fn nudge(&self) {
        self.nudge.notify_one();
    }

    /// Broadcasts the events settled after `last`, in feed order ([`FeedPosition`]): none skipped, none
    /// twice. Returns whether an event waits behind a transaction still in progress.
    async fn round(&self, last: &mut FeedPosition) -> AppResult<bool> {
        if self.sender.receiver_count() == 0 {
            // Nobody here to send to: move to the last settled event (one index lookup) instead of reading
            // the events in between. A subscription opened later starts from there (it waits on `last`'s
            // lock while this runs), which is where `subscribe` promises to start.
            *last = self.db.read(|s| Box::pin(async move { s.last_event_position().await })).await?.max(*last);
            return Ok(false);
        }
        loop {
            let after = *last;
            let batch = self.db.read(move |s| Box::pin(async move { s.events_after(after, READ).await })).await?;
            let full = batch.len() as i64 == READ;
            for event in batch {
                if !event.settled {
                    return Ok(true);
                }
                *last = event.position();
                let _ = self.sender.send(event);
            }
            if !full {
                return Ok(false);
            }
        }
    }
}

/// The events a new receiver will get that committed before it was made (see [`EventHub::subscribe`]).
pub struct CommittedBefore(HashSet<i64>);

impl CommittedBefore {
    /// Whether `event` committed before the receiver was made. Each such event arrives once, so it is
    /// forgotten when it does: the set empties as they settle, instead of living as long as the
    /// subscription (behind a long transaction under heavy writing it can hold thousands).
    pub fn take(&mut self, event: &EventRow) -> bool {
        let found = self.0.remove(&event.id);
        if found && self.0.is_empty() {
            self.0.shrink_to_fit();
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: i64) -> EventRow {
        EventRow {
            id,
            proposal_id: 1,
            kind: "CREATED".into(),
            actor_id: None,
            from_status: None,
            to_status: "DRAFT".into(),
            from_version: 0,
            reason: None,
            created_at: chrono::Utc::now(),
            content: None,
            txid: 1,
            settled: true,
        }
    }

    #[test]
    fn events_committed_before_are_left_out_once_and_then_forgotten() {
        let mut before = CommittedBefore((1..=3000).collect());
        for id in 1..=3000 {
            assert!(before.take(&event(id)), "{id} committed before");
            assert!(!before.take(&event(id + 3000)), "{} committed after", id + 3000);
        }
        assert!(before.0.is_empty());
        assert_eq!(before.0.capacity(), 0, "the memory goes with them");
    }
}

async fn pump(hub: Weak<EventHub>, listening: Arc<Listening>) {
    let mut waiting = false;
    loop {
        let Some(h) = hub.upgrade() else { return };
        let patience = listening.patience(waiting, POLL);
        tokio::select! {
            _ = h.nudge.notified() => {}
            _ = tokio::time::sleep(patience) => {}
        }
        if h.db.is_closed() {
            return;
        }
        let mut last = h.last.lock().await;
        match h.round(&mut last).await {
            Ok(w) => waiting = w,
            Err(e) => tracing::warn!(error = %e.public_message(), "event pump could not read events"),
        }
        drop(last);
        drop(h);
        tokio::time::sleep(PACE).await;
    }
}
