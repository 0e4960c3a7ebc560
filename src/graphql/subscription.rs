//! `proposalEvents`: the events of proposals the viewer may see, in order, as they happen
//! (graphql-transport-ws at `/graphql/ws`).

use async_graphql::{Context, Result, Subscription, ID};
use futures_util::{Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;

use crate::{
    domain::proposal::{actor_shown, can_view, EventActor},
    error::AppError,
    graphql::{
        guards::{services, viewer},
        ids,
        types::{event::ProposalEvent, notification::Notification},
    },
    journey,
};

#[derive(Default)]
pub struct SubscriptionRoot;

/// Live updates over WebSocket (`/graphql/ws`, graphql-transport-ws). 实时更新（WebSocket）。
#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Events of one proposal — or, without `proposalId`, of every proposal the viewer may see — in the
    /// order they were recorded. Visibility and blind review are applied to each event.
    ///
    /// With `after` (the last `sequence` received, or 0), the events recorded since then are replayed
    /// first, so a client that reconnects misses nothing. Events arrive in the order their transactions
    /// settled, which is not always the order of their `sequence` numbers: resume from the last one
    /// received, not from the highest. 某提案（或不指定时查看者可见的全部提案）的事件，按记录顺序推送，逐条遵循可见性与盲评。给出 after（最后收到的序号或0）时先补发其后的事件，断线重连不漏。事件按事务完成顺序到达，不一定按序号递增：请从最后收到的一条续传。
    async fn proposal_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this proposal's events. 仅该提案的事件。")] proposal_id: Option<ID>,
        #[graphql(
            desc = "Replay the events after this `sequence` first (0: all that may be replayed). 先补发该序号之后的事件。"
        )]
        after: Option<i64>,
    ) -> Result<impl Stream<Item = ProposalEvent>> {
        let services = services(ctx)?.clone();
        let user = viewer(ctx).user.clone();
        let only = match &proposal_id {
            Some(id) => {
                let n = ids::decode(id, "Proposal", "proposalId")?;
                let u = user.clone();
                services
                    .db
                    .read(move |s| Box::pin(async move { journey::load_visible(s, u.as_ref(), n).await.map(|_| ()) }))
                    .await?;
                Some(n)
            }
            None => None,
        };
        // Subscribe before reading the backlog, so that nothing falls between the two.
        let (receiver, mut committed_before) = services.events.subscribe().await?;
        let live = BroadcastStream::new(receiver);
        // How far back `after` may reach (GREENLINE_WS_MAX_REPLAY): a client further behind reloads first.
        let max_replay = services.config.ws_max_replay.max(0);
        let loaded = match after {
            Some(a) => Some(
                services
                    .db
                    .read(move |s| {
                        Box::pin(async move {
                            let from = match a {
                                0 => Default::default(),
                                a => s.event_position(a).await?.ok_or_else(|| {
                                    AppError::invalid(
                                        "after",
                                        format!("no event has sequence {a} / 没有序号为{a}的事件"),
                                    )
                                })?,
                            };
                            Ok((from, s.events_after(from, max_replay + 1).await?))
                        })
                    })
                    .await?,
            ),
            None => None,
        };
        // Events still waiting behind a transaction in progress come live, in order, once they settle.
        let (replayed_up_to, backlog) = match loaded {
            Some((from, events)) => {
                let settled: Vec<_> = events.into_iter().take_while(|e| e.settled).collect();
                (Some(settled.last().map(|e| e.position()).unwrap_or(from)), settled)
            }
            None => (None, vec![]),
        };
        if backlog.len() as i64 > max_replay {
            return Err(AppError::invalid(
                "after",
                format!(
                    "more than {max_replay} events happened since sequence {}; reload with the proposals query, then subscribe from the newest sequence / 落后过多，请先刷新再订阅",
                    after.unwrap_or(0)
                ),
            )
            .into());
        }
        // With `after`, the replay ends at the first event still unsettled and the rest come live; without,
        // only what commits after subscribing comes, not an event that committed before but settled after.
        let live = live.filter_map(move |item| {
            let event = item.ok().filter(|e| match replayed_up_to {
                Some(replayed) => e.position() > replayed,
                None => !committed_before.take(e),
            });
            async move { event }
        });
        let stream = futures_util::stream::iter(backlog).chain(live).filter_map(move |event| {
            let services = services.clone();
            let user = user.clone();
            async move {
                if only.is_some_and(|n| n != event.proposal_id) {
                    return None;
                }
                let pid = event.proposal_id;
                let actor = event.actor_id;
                let reviews = event.kind == "EVALUATED";
                let shown = services
                    .db
                    .read(move |s| {
                        Box::pin(async move {
                            let Some(row) = s.proposal(pid).await? else { return Ok(None) };
                            let authors = s.authors(pid).await?;
                            let p = journey::Loaded { row, authors };
                            let sight = journey::sight(s, user.as_ref(), &p).await?;
                            let who = EventActor {
                                is_author: journey::authored_by(&p.row, &p.authors, actor),
                                is_viewer: actor.is_some() && actor == user.as_ref().map(|u| u.id),
                                reviews,
                            };
                            Ok(can_view(sight).then_some(!actor_shown(sight, who)))
                        })
                    })
                    .await
                    .ok()
                    .flatten()?;
                Some(ProposalEvent { row: event, hide_actor: shown })
            }
        });
        Ok(stream)
    }

    /// Your new notifications as they arrive (the bell). With `after` (the id of the last one received),
    /// those since then come first. 本人的新通知，实时推送（铃铛）。给出 after（最后收到的通知编号）时先补发其后的通知。
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Replay the notifications after this one first. 先补发该通知之后的通知。")] after: Option<ID>,
    ) -> Result<impl Stream<Item = Notification>> {
        let services = services(ctx)?.clone();
        let uid = viewer(ctx).require()?.id;
        // Events only wake the inbox up: which notifications come is decided by their ids (`start`).
        let (receiver, _) = services.events.subscribe().await?;
        let live = BroadcastStream::new(receiver);
        let start = match &after {
            Some(id) => ids::decode(id, "Notification", "after")?,
            None => services.db.read(move |s| Box::pin(async move { s.last_notification(uid).await })).await?,
        };
        Ok(inbox_stream(services, uid, start, live))
    }
}

/// How far below the highest id received a notification may still appear (PostgreSQL assigns ids at insert,
/// so a transaction that commits later can bring a lower one).
const LATE_WINDOW: i64 = 1_000;
/// How long after it was made a notification may still commit (a request's time, with room).
const LATE_SECS: i64 = 60;

fn inbox_stream(
    services: crate::state::Services,
    user_id: i64,
    start: i64,
    live: BroadcastStream<crate::db::rows::EventRow>,
) -> impl Stream<Item = Notification> {
    struct State {
        services: crate::state::Services,
        live: BroadcastStream<crate::db::rows::EventRow>,
        seen: std::collections::BTreeSet<i64>,
        high: i64,
        queue: std::collections::VecDeque<crate::db::notifications::NotificationRow>,
        first: bool,
    }
    let state = State { services, live, seen: Default::default(), high: start, queue: Default::default(), first: true };
    futures_util::stream::unfold(state, move |mut st| async move {
        loop {
            if let Some(n) = st.queue.pop_front() {
                return Some((Notification(n), st));
            }
            if !st.first {
                // Woken by any settled event (notifications are written with them), or every 5 s for
                // reminders, which come without one.
                tokio::select! {
                    item = st.live.next() => { let _ = item?; }
                    _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
                }
            }
            st.first = false;
            // What is new, and what came late: a lower id committed after a higher one (PostgreSQL), which
            // can only be recent — made within the request time of a transaction still open then.
            let (high, recent) = (st.high, chrono::Utc::now() - chrono::Duration::seconds(LATE_SECS));
            // SQLite has one writer: its ids commit in order, nothing comes late.
            let late = !matches!(st.services.db, crate::db::Db::Sqlite(..));
            let rows = st
                .services
                .db
                .read(move |s| {
                    Box::pin(async move {
                        let mut rows = match late {
                            true => {
                                s.notifications_late(user_id, (high - LATE_WINDOW).max(start), high, recent).await?
                            }
                            false => Vec::new(),
                        };
                        rows.extend(s.notifications_after(user_id, high, 200).await?);
                        Ok::<_, AppError>(rows)
                    })
                })
                .await
                .ok()?;
            let full = rows.iter().filter(|n| n.id > high).count() == 200;
            for n in rows {
                if n.id > start && st.seen.insert(n.id) {
                    st.high = st.high.max(n.id);
                    st.queue.push_back(n);
                }
            }
            let floor = st.high - LATE_WINDOW;
            st.seen = st.seen.split_off(&floor);
            if full && st.queue.is_empty() {
                st.first = true; // more are waiting: read again without sleeping
            }
        }
    })
}
