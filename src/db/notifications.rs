//! Notifications, their deliveries (the outbox), webhooks, preferences and fired reminders: the statements
//! of this area for both backends and both kinds of handle, like `store.rs`.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{pool::PoolConnection, FromRow};

use super::{rows::KeyPage, users::UserRow};
use crate::error::AppResult;

#[derive(FromRow, Clone, Debug)]
pub struct NotificationRow {
    pub id: i64,
    pub user_id: i64,
    pub kind: String,
    pub proposal_id: Option<i64>,
    pub technique_id: Option<i64>,
    pub subject: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

pub struct NewNotification<'a> {
    pub user_id: i64,
    pub kind: &'a str,
    pub proposal_id: Option<i64>,
    pub technique_id: Option<i64>,
    pub subject: &'a str,
    pub body: &'a str,
    pub wants_digest: bool,
    pub now: DateTime<Utc>,
}

#[derive(FromRow, Clone, Debug)]
pub struct WebhookRow {
    pub id: i64,
    pub enterprise_id: Option<i64>,
    pub name: String,
    pub url: String,
    pub kinds: String,
    pub format: String,
    pub secret: String,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
    pub failing_since: Option<DateTime<Utc>>,
    pub paused_at: Option<DateTime<Utc>>,
}

pub struct NewWebhook<'a> {
    pub enterprise_id: Option<i64>,
    pub name: &'a str,
    pub url: &'a str,
    pub kinds: &'a str,
    pub format: &'a str,
    pub secret: &'a str,
    pub created_by: i64,
    pub now: DateTime<Utc>,
}

#[derive(FromRow, Clone, Debug)]
pub struct DeliveryRow {
    pub id: i64,
    pub channel: String,
    pub state: String,
    pub notification_id: Option<i64>,
    pub webhook_id: Option<i64>,
    pub user_id: Option<i64>,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub lease_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_status: Option<i64>,
}

pub struct NewDelivery<'a> {
    pub channel: &'a str,
    pub state: &'a str,
    pub notification_id: Option<i64>,
    pub webhook_id: Option<i64>,
    pub user_id: Option<i64>,
    pub kind: &'a str,
    pub payload: &'a str,
    pub at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// How an attempt ended.
pub enum Outcome<'a> {
    Delivered {
        status: Option<i64>,
    },
    /// Failed; tried again at `retry`, or dead-lettered without one.
    Failed {
        status: Option<i64>,
        error: &'a str,
        retry: Option<DateTime<Utc>>,
    },
}

/// A review assignment whose due date is near or past, still waiting for its score.
#[derive(FromRow, Clone, Debug)]
pub struct DueReview {
    pub proposal_id: i64,
    pub round: i64,
    pub reviewer_id: i64,
    pub reviewer_name: String,
    pub assigned_by: i64,
    pub studio_id: Option<i64>,
    pub due_on: NaiveDate,
    pub title: String,
}

/// A pilot milestone not done whose due date is near or past.
#[derive(FromRow, Clone, Debug)]
pub struct DueMilestone {
    pub id: i64,
    pub proposal_id: i64,
    pub title: String,
    pub proposal_title: String,
    pub due_on: NaiveDate,
    pub started_by: i64,
    pub enterprise_id: Option<i64>,
}

#[async_trait::async_trait]
pub trait NotificationStore: Send {
    async fn insert_notification(&mut self, n: &NewNotification<'_>) -> AppResult<i64>;
    /// Active people of an enterprise with a role.
    async fn people_with_role(&mut self, enterprise_id: i64, role: &str) -> AppResult<Vec<UserRow>>;
    /// Active studio leads of a studio.
    async fn studio_leads(&mut self, studio_id: i64) -> AppResult<Vec<UserRow>>;
    async fn preferences(&mut self, user_id: i64) -> AppResult<Vec<(String, String)>>;
    async fn set_preference(&mut self, user_id: i64, kind: &str, channel: &str) -> AppResult<()>;
    async fn quiet_hours(&mut self, user_id: i64) -> AppResult<(Option<i64>, Option<i64>)>;
    async fn set_quiet_hours(&mut self, user_id: i64, start: Option<i64>, end: Option<i64>) -> AppResult<()>;
    async fn insert_delivery(&mut self, d: &NewDelivery<'_>) -> AppResult<i64>;
    /// Webhooks not deleted that receive `kind` for `enterprise_id` (theirs, and those of every enterprise).
    async fn webhooks_for(&mut self, enterprise_id: Option<i64>, kind: &str) -> AppResult<Vec<WebhookRow>>;
    async fn notifications_page(
        &mut self,
        user_id: i64,
        unread_only: bool,
        page: &KeyPage,
    ) -> AppResult<(Vec<NotificationRow>, i64)>;
    async fn notification(&mut self, id: i64) -> AppResult<Option<NotificationRow>>;
    /// A person's notifications with ids above `after`, oldest first.
    async fn notifications_after(&mut self, user_id: i64, after: i64, limit: i64) -> AppResult<Vec<NotificationRow>>;
    /// A person's notifications with ids in (`above`, `upto`] made since `since`, oldest first.
    async fn notifications_late(
        &mut self,
        user_id: i64,
        above: i64,
        upto: i64,
        since: DateTime<Utc>,
    ) -> AppResult<Vec<NotificationRow>>;
    /// A person's highest notification id (0 without any).
    async fn last_notification(&mut self, user_id: i64) -> AppResult<i64>;
    async fn unread_count(&mut self, user_id: i64) -> AppResult<i64>;
    /// Marks `ids` (or, without them, all) of the user's notifications read; the number newly read.
    async fn mark_read(&mut self, user_id: i64, ids: Option<&[i64]>, now: DateTime<Utc>) -> AppResult<i64>;
    /// Records that a reminder fired; false when it had already.
    async fn fire_reminder(&mut self, key: &str, now: DateTime<Utc>) -> AppResult<bool>;
    async fn due_reviews(&mut self, until: NaiveDate) -> AppResult<Vec<DueReview>>;
    async fn due_milestones(&mut self, until: NaiveDate) -> AppResult<Vec<DueMilestone>>;
    /// Whether every reviewer of the round has scored.
    async fn reviews_complete(&mut self, proposal_id: i64, round: i64) -> AppResult<bool>;
    /// People whose digest notifications wait, made before `before`.
    async fn digest_waiting(&mut self, before: DateTime<Utc>) -> AppResult<Vec<i64>>;
    /// A person's notifications waiting for a digest, made up to `upto`.
    async fn digest_notifications(&mut self, user_id: i64, upto: DateTime<Utc>) -> AppResult<Vec<NotificationRow>>;
    async fn mark_digested(&mut self, user_id: i64, upto: DateTime<Utc>, now: DateTime<Utc>) -> AppResult<()>;
    /// Leases up to `limit` due deliveries until `lease_until` (one instance at a time: PostgreSQL skips
    /// rows another transaction is claiming); e-mails and digests only when `mail` (this instance can send).
    async fn claim_deliveries(
        &mut self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
        mail: bool,
    ) -> AppResult<Vec<DeliveryRow>>;
    /// When the next delivery this instance would take falls due (pending, leased or not).
    async fn next_due(&mut self, mail: bool) -> AppResult<Option<DateTime<Utc>>>;
    /// Records an attempt's outcome, if the lease is still this attempt's; false otherwise.
    async fn finish_delivery(
        &mut self,
        id: i64,
        lease: DateTime<Utc>,
        outcome: &Outcome<'_>,
        now: DateTime<Utc>,
    ) -> AppResult<bool>;
    async fn delivery(&mut self, id: i64) -> AppResult<Option<DeliveryRow>>;
    async fn deliveries_page(
        &mut self,
        webhook_id: i64,
        state: Option<&str>,
        page: &KeyPage,
    ) -> AppResult<(Vec<DeliveryRow>, i64)>;
    /// Makes a delivery due again now (from any state but PENDING); false when it was pending.
    async fn redeliver(&mut self, id: i64, now: DateTime<Utc>) -> AppResult<bool>;
    async fn insert_webhook(&mut self, w: &NewWebhook<'_>) -> AppResult<WebhookRow>;
    async fn webhook(&mut self, id: i64) -> AppResult<Option<WebhookRow>>;
    /// Webhooks not deleted: one enterprise's, or (None) all.
    async fn webhooks(&mut self, enterprise_id: Option<i64>) -> AppResult<Vec<WebhookRow>>;
    async fn update_webhook(
        &mut self,
        id: i64,
        name: &str,
        url: &str,
        kinds: &str,
        secret: &str,
    ) -> AppResult<WebhookRow>;
    /// Pauses (HELD from then on) or resumes (held deliveries pending again) a webhook.
    async fn set_webhook_paused(&mut self, id: i64, paused: Option<DateTime<Utc>>) -> AppResult<()>;
    /// Since when the webhook fails (None: it works again).
    async fn set_webhook_failing(&mut self, id: i64, since: Option<DateTime<Utc>>) -> AppResult<()>;
    async fn delete_webhook(&mut self, id: i64, now: DateTime<Utc>) -> AppResult<()>;
}

const NOTIFICATION: &str =
    "select id, user_id, kind, proposal_id, technique_id, subject, body, created_at, read_at from notifications";
const WEBHOOK: &str =
    "select id, enterprise_id, name, url, kinds, format, secret, created_by, created_at, failing_since,
    paused_at from webhooks";
const DELIVERY: &str =
    "id, channel, state, notification_id, webhook_id, user_id, kind, payload, attempts, next_attempt_at,
    lease_until, created_at, delivered_at, last_error, last_status";

macro_rules! notification_impl {
    ($ty:ty, $skip_locked:expr) => {
        #[async_trait::async_trait]
        impl NotificationStore for $ty {
            async fn insert_notification(&mut self, n: &NewNotification<'_>) -> AppResult<i64> {
                Ok(sqlx::query_scalar(
                    "insert into notifications (user_id, kind, proposal_id, technique_id, subject, body, created_at, wants_digest)
                     values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
                )
                .bind(n.user_id)
                .bind(n.kind)
                .bind(n.proposal_id)
                .bind(n.technique_id)
                .bind(n.subject)
                .bind(n.body)
                .bind(n.now)
                .bind(n.wants_digest)
                .fetch_one(&mut **self)
                .await?)
            }

            async fn people_with_role(&mut self, enterprise_id: i64, role: &str) -> AppResult<Vec<UserRow>> {
                Ok(sqlx::query_as(
                    "select * from users where enterprise_id = $1 and role = $2 and deactivated_at is null order by id",
                )
                .bind(enterprise_id)
                .bind(role)
                .fetch_all(&mut **self)
                .await?)
            }

            async fn studio_leads(&mut self, studio_id: i64) -> AppResult<Vec<UserRow>> {
                Ok(sqlx::query_as(
                    "select * from users where studio_id = $1 and role = 'STUDIO_LEAD' and deactivated_at is null order by id",
                )
                .bind(studio_id)
                .fetch_all(&mut **self)
                .await?)
            }

            async fn preferences(&mut self, user_id: i64) -> AppResult<Vec<(String, String)>> {
                Ok(sqlx::query_as("select kind, channel from notification_preferences where user_id = $1 order by kind")
                    .bind(user_id)
                    .fetch_all(&mut **self)
                    .await?)
            }

            async fn set_preference(&mut self, user_id: i64, kind: &str, channel: &str) -> AppResult<()> {
                sqlx::query(
                    "insert into notification_preferences (user_id, kind, channel) values ($1, $2, $3)
                     on conflict (user_id, kind) do update set channel = excluded.channel",
                )
                .bind(user_id)
                .bind(kind)
                .bind(channel)
                .execute(&mut **self)
                .await?;
                Ok(())
            }

            async fn quiet_hours(&mut self, user_id: i64) -> AppResult<(Option<i64>, Option<i64>)> {
                Ok(sqlx::query_as("select cast(quiet_start as bigint), cast(quiet_end as bigint) from users where id = $1")
                    .bind(user_id)
                    .fetch_optional(&mut **self)
                    .await?
                    .unwrap_or((None, None)))
            }

            async fn set_quiet_hours(&mut self, user_id: i64, start: Option<i64>, end: Option<i64>) -> AppResult<()> {
                sqlx::query("update users set quiet_start = $2, quiet_end = $3 where id = $1")
                    .bind(user_id)
                    .bind(start.map(|s| s as i32))
                    .bind(end.map(|e| e as i32))
                    .execute(&mut **self)
                    .await?;
                Ok(())
            }

            async fn insert_delivery(&mut self, d: &NewDelivery<'_>) -> AppResult<i64> {
                Ok(sqlx::query_scalar(
                    "insert into deliveries (channel, state, notification_id, webhook_id, user_id, kind, payload,
                         next_attempt_at, created_at)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
                )
                .bind(d.channel)
                .bind(d.state)
                .bind(d.notification_id)
                .bind(d.webhook_id)
                .bind(d.user_id)
                .bind(d.kind)
                .bind(d.payload)
                .bind(d.at)
                .bind(d.now)
                .fetch_one(&mut **self)
                .await?)
            }

            async fn webhooks_for(&mut self, enterprise_id: Option<i64>, kind: &str) -> AppResult<Vec<WebhookRow>> {
                Ok(sqlx::query_as(&format!(
                    "{WEBHOOK} where deleted_at is null and (enterprise_id is null or enterprise_id = $1)
                     and kinds like $2 order by id"
                ))
                .bind(enterprise_id)
                .bind(format!("%,{kind},%"))
                .fetch_all(&mut **self)
                .await?)
            }

            async fn notifications_page(
                &mut self,
                user_id: i64,
                unread_only: bool,
                page: &KeyPage,
            ) -> AppResult<(Vec<NotificationRow>, i64)> {
                const WHERE: &str = "user_id = $1 and ($2 = 0 or read_at is null)";
                let rows = sqlx::query_as(&format!("{NOTIFICATION} where {WHERE} and {}", page.newest_first("id", 3)))
                    .bind(user_id)
                    .bind(unread_only as i32)
                    .bind(page.after)
                    .bind(page.before)
                    .bind(page.fetch)
                    .fetch_all(&mut **self)
                    .await?;
                let total = sqlx::query_scalar(&format!("select count(*) from notifications where {WHERE}"))
                    .bind(user_id)
                    .bind(unread_only as i32)
                    .fetch_one(&mut **self)
                    .await?;
                Ok((rows, total))
            }

            async fn notification(&mut self, id: i64) -> AppResult<Option<NotificationRow>> {
                Ok(sqlx::query_as(&format!("{NOTIFICATION} where id = $1")).bind(id).fetch_optional(&mut **self).await?)
            }

            async fn notifications_after(
                &mut self,
                user_id: i64,
                after: i64,
                limit: i64,
            ) -> AppResult<Vec<NotificationRow>> {
                Ok(sqlx::query_as(&format!("{NOTIFICATION} where user_id = $1 and id > $2 order by id limit $3"))
                    .bind(user_id)
                    .bind(after)
                    .bind(limit)
                    .fetch_all(&mut **self)
                    .await?)
            }

            async fn notifications_late(
                &mut self,
                user_id: i64,
                above: i64,
                upto: i64,
                since: DateTime<Utc>,
            ) -> AppResult<Vec<NotificationRow>> {
                Ok(sqlx::query_as(&format!(
                    "{NOTIFICATION} where user_id = $1 and id > $2 and id <= $3 and created_at >= $4 order by id"
                ))
                .bind(user_id)
                .bind(above)
                .bind(upto)
                .bind(since)
                .fetch_all(&mut **self)
                .await?)
            }

            async fn last_notification(&mut self, user_id: i64) -> AppResult<i64> {
                Ok(sqlx::query_scalar("select coalesce(max(id), 0) from notifications where user_id = $1")
                    .bind(user_id)
                    .fetch_one(&mut **self)
                    .await?)
            }

            async fn unread_count(&mut self, user_id: i64) -> AppResult<i64> {
                Ok(sqlx::query_scalar("select count(*) from notifications where user_id = $1 and read_at is null")
                    .bind(user_id)
                    .fetch_one(&mut **self)
                    .await?)
            }

            async fn mark_read(&mut self, user_id: i64, ids: Option<&[i64]>, now: DateTime<Utc>) -> AppResult<i64> {
                let done = match ids {
                    None => {
                        sqlx::query("update notifications set read_at = $2 where user_id = $1 and read_at is null")
                            .bind(user_id)
                            .bind(now)
                            .execute(&mut **self)
                            .await?
                            .rows_affected()
                    }
                    Some(ids) => {
                        let mut n = 0;
                        for id in ids {
                            n += sqlx::query(
                                "update notifications set read_at = $3 where id = $2 and user_id = $1 and read_at is null",
                            )
                            .bind(user_id)
                            .bind(id)
                            .bind(now)
                            .execute(&mut **self)
                            .await?
                            .rows_affected();
                        }
                        n
                    }
                };
                Ok(done as i64)
            }

            async fn fire_reminder(&mut self, key: &str, now: DateTime<Utc>) -> AppResult<bool> {
                let done = sqlx::query("insert into reminders (key, fired_at) values ($1, $2) on conflict (key) do nothing")
                    .bind(key)
                    .bind(now)
                    .execute(&mut **self)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn due_reviews(&mut self, until: NaiveDate) -> AppResult<Vec<DueReview>> {
                Ok(sqlx::query_as(
                    "select a.proposal_id, a.round, a.reviewer_id, u.name as reviewer_name, a.assigned_by, p.studio_id,
                            a.due_on, p.title
                     from review_assignments a
                     join proposals p on p.id = a.proposal_id and p.round = a.round and p.status = 'EVALUATING'
                     join users u on u.id = a.reviewer_id
                     where a.due_on is not null and a.due_on <= $1
                       and not exists (select 1 from evaluations e where e.proposal_id = a.proposal_id
                                       and e.round = a.round and e.reviewer_id = a.reviewer_id)
                     order by a.due_on, a.proposal_id, a.reviewer_id",
                )
                .bind(until)
                .fetch_all(&mut **self)
                .await?)
            }

            async fn due_milestones(&mut self, until: NaiveDate) -> AppResult<Vec<DueMilestone>> {
                Ok(sqlx::query_as(
                    "select m.id, m.proposal_id, m.title, p.title as proposal_title, m.due_on, pi.started_by, p.enterprise_id
                     from milestones m
                     join proposals p on p.id = m.proposal_id and p.status = 'INCUBATING'
                     join pilots pi on pi.proposal_id = m.proposal_id
                     where m.due_on is not null and m.due_on <= $1 and m.status <> 'DONE'
                     order by m.due_on, m.id",
                )
                .bind(until)
                .fetch_all(&mut **self)
                .await?)
            }

            async fn reviews_complete(&mut self, proposal_id: i64, round: i64) -> AppResult<bool> {
                let waiting: i64 = sqlx::query_scalar(
                    "select count(*) from review_assignments a where a.proposal_id = $1 and a.round = $2
                     and not exists (select 1 from evaluations e where e.proposal_id = a.proposal_id
                                     and e.round = a.round and e.reviewer_id = a.reviewer_id)",
                )
                .bind(proposal_id)
                .bind(round)
                .fetch_one(&mut **self)
                .await?;
                Ok(waiting == 0)
            }

            async fn digest_waiting(&mut self, before: DateTime<Utc>) -> AppResult<Vec<i64>> {
                Ok(sqlx::query_scalar(
                    "select distinct user_id from notifications where wants_digest and digested_at is null and created_at < $1
                     order by user_id",
                )
                .bind(before)
                .fetch_all(&mut **self)
                .await?)
            }

            async fn digest_notifications(
                &mut self,
                user_id: i64,
                upto: DateTime<Utc>,
            ) -> AppResult<Vec<NotificationRow>> {
                Ok(sqlx::query_as(&format!(
                    "{NOTIFICATION} where user_id = $1 and wants_digest and digested_at is null and created_at <= $2 order by id"
                ))
                .bind(user_id)
                .bind(upto)
                .fetch_all(&mut **self)
                .await?)
            }

            async fn mark_digested(&mut self, user_id: i64, upto: DateTime<Utc>, now: DateTime<Utc>) -> AppResult<()> {
                sqlx::query(
                    "update notifications set digested_at = $3
                     where user_id = $1 and wants_digest and digested_at is null and created_at <= $2",
                )
                .bind(user_id)
                .bind(upto)
                .bind(now)
                .execute(&mut **self)
                .await?;
                Ok(())
            }

            async fn claim_deliveries(
                &mut self,
                now: DateTime<Utc>,
                lease_until: DateTime<Utc>,
                limit: i64,
                mail: bool,
            ) -> AppResult<Vec<DeliveryRow>> {
                let sql = format!(
                    "update deliveries set lease_until = $2, attempts = attempts + 1
                     where id in (select id from deliveries
                                  where state = 'PENDING' and next_attempt_at <= $1
                                    and (lease_until is null or lease_until <= $1)
                                    and ($4 = 1 or channel = 'WEBHOOK')
                                  order by next_attempt_at, id limit $3 {})
                     returning {DELIVERY}",
                    $skip_locked
                );
                Ok(sqlx::query_as(&sql).bind(now).bind(lease_until).bind(limit).bind(mail as i32).fetch_all(&mut **self).await?)
            }

            async fn next_due(&mut self, mail: bool) -> AppResult<Option<DateTime<Utc>>> {
                let row: Option<(DateTime<Utc>, Option<DateTime<Utc>>)> = sqlx::query_as(
                    "select next_attempt_at, lease_until from deliveries
                     where state = 'PENDING' and ($1 = 1 or channel = 'WEBHOOK')
                     order by next_attempt_at limit 1",
                )
                .bind(mail as i32)
                .fetch_optional(&mut **self)
                .await?;
                Ok(row.map(|(next, lease)| lease.map_or(next, |l| l.max(next))))
            }

            async fn finish_delivery(
                &mut self,
                id: i64,
                lease: DateTime<Utc>,
                outcome: &Outcome<'_>,
                now: DateTime<Utc>,
            ) -> AppResult<bool> {
                let (state, status, error, next): (&str, Option<i64>, Option<&str>, Option<DateTime<Utc>>) = match outcome {
                    Outcome::Delivered { status } => ("DELIVERED", *status, None, None),
                    Outcome::Failed { status, error, retry: Some(at) } => ("PENDING", *status, Some(error), Some(*at)),
                    Outcome::Failed { status, error, retry: None } => ("DEAD", *status, Some(error), None),
                };
                let done = sqlx::query(
                    "update deliveries set state = $3, last_status = $4, last_error = $5,
                         next_attempt_at = coalesce($6, next_attempt_at), lease_until = null,
                         delivered_at = case when $3 = 'DELIVERED' then $7 else delivered_at end
                     where id = $1 and lease_until = $2 and state = 'PENDING'",
                )
                .bind(id)
                .bind(lease)
                .bind(state)
                .bind(status)
                .bind(error)
                .bind(next)
                .bind(now)
                .execute(&mut **self)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn delivery(&mut self, id: i64) -> AppResult<Option<DeliveryRow>> {
                Ok(sqlx::query_as(&format!("select {DELIVERY} from deliveries where id = $1"))
                    .bind(id)
                    .fetch_optional(&mut **self)
                    .await?)
            }

            async fn deliveries_page(
                &mut self,
                webhook_id: i64,
                state: Option<&str>,
                page: &KeyPage,
            ) -> AppResult<(Vec<DeliveryRow>, i64)> {
                const WHERE: &str = "webhook_id = $1 and (cast($2 as text) is null or state = $2)";
                let rows = sqlx::query_as(&format!(
                    "select {DELIVERY} from deliveries where {WHERE} and {}",
                    page.newest_first("id", 3)
                ))
                .bind(webhook_id)
                .bind(state)
                .bind(page.after)
                .bind(page.before)
                .bind(page.fetch)
                .fetch_all(&mut **self)
                .await?;
                let total = sqlx::query_scalar(&format!("select count(*) from deliveries where {WHERE}"))
                    .bind(webhook_id)
                    .bind(state)
                    .fetch_one(&mut **self)
                    .await?;
                Ok((rows, total))
            }

            async fn redeliver(&mut self, id: i64, now: DateTime<Utc>) -> AppResult<bool> {
                let done = sqlx::query(
                    "update deliveries set state = 'PENDING', next_attempt_at = $2, lease_until = null, created_at = $2
                     where id = $1 and state <> 'PENDING'",
                )
                .bind(id)
                .bind(now)
                .execute(&mut **self)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_webhook(&mut self, w: &NewWebhook<'_>) -> AppResult<WebhookRow> {
                Ok(sqlx::query_as(
                    "insert into webhooks (enterprise_id, name, url, kinds, format, secret, created_by, created_at)
                     values ($1, $2, $3, $4, $5, $6, $7, $8)
                     returning id, enterprise_id, name, url, kinds, format, secret, created_by, created_at,
                         failing_since, paused_at",
                )
                .bind(w.enterprise_id)
                .bind(w.name)
                .bind(w.url)
                .bind(w.kinds)
                .bind(w.format)
                .bind(w.secret)
                .bind(w.created_by)
                .bind(w.now)
                .fetch_one(&mut **self)
                .await?)
            }

            async fn webhook(&mut self, id: i64) -> AppResult<Option<WebhookRow>> {
                Ok(sqlx::query_as(&format!("{WEBHOOK} where id = $1 and deleted_at is null"))
                    .bind(id)
                    .fetch_optional(&mut **self)
                    .await?)
            }

            async fn webhooks(&mut self, enterprise_id: Option<i64>) -> AppResult<Vec<WebhookRow>> {
                Ok(sqlx::query_as(&format!(
                    "{WEBHOOK} where deleted_at is null and (cast($1 as bigint) is null or enterprise_id = $1) order by id"
                ))
                .bind(enterprise_id)
                .fetch_all(&mut **self)
                .await?)
            }

            async fn update_webhook(
                &mut self,
                id: i64,
                name: &str,
                url: &str,
                kinds: &str,
                secret: &str,
            ) -> AppResult<WebhookRow> {
                Ok(sqlx::query_as(
                    "update webhooks set name = $2, url = $3, kinds = $4, secret = $5 where id = $1
                     returning id, enterprise_id, name, url, kinds, format, secret, created_by, created_at,
                         failing_since, paused_at",
                )
                .bind(id)
                .bind(name)
                .bind(url)
                .bind(kinds)
                .bind(secret)
                .fetch_one(&mut **self)
                .await?)
            }

            async fn set_webhook_paused(&mut self, id: i64, paused: Option<DateTime<Utc>>) -> AppResult<()> {
                sqlx::query("update webhooks set paused_at = $2, failing_since = null where id = $1")
                    .bind(id)
                    .bind(paused)
                    .execute(&mut **self)
                    .await?;
                if paused.is_none() {
                    sqlx::query("update deliveries set state = 'PENDING' where webhook_id = $1 and state = 'HELD'")
                        .bind(id)
                        .execute(&mut **self)
                        .await?;
                }
                Ok(())
            }

            async fn set_webhook_failing(&mut self, id: i64, since: Option<DateTime<Utc>>) -> AppResult<()> {
                // Only a change writes (and locks) the row: every delivery of a working webhook ends here, and
                // on PostgreSQL an update of the same row by each would make them commit one at a time.
                match since {
                    None => {
                        sqlx::query("update webhooks set failing_since = null where id = $1 and failing_since is not null")
                            .bind(id)
                            .execute(&mut **self)
                            .await?
                    }
                    Some(at) => {
                        sqlx::query("update webhooks set failing_since = $2 where id = $1 and failing_since is null")
                            .bind(id)
                            .bind(at)
                            .execute(&mut **self)
                            .await?
                    }
                };
                Ok(())
            }

            async fn delete_webhook(&mut self, id: i64, now: DateTime<Utc>) -> AppResult<()> {
                sqlx::query("update webhooks set deleted_at = $2 where id = $1").bind(id).bind(now).execute(&mut **self).await?;
                sqlx::query("update deliveries set state = 'DEAD', last_error = 'webhook deleted' where webhook_id = $1 and state in ('PENDING', 'HELD')")
                    .bind(id)
                    .execute(&mut **self)
                    .await?;
                Ok(())
            }
        }
    };
}

notification_impl!(sqlx::Transaction<'static, sqlx::Sqlite>, "");
notification_impl!(sqlx::Transaction<'static, sqlx::Postgres>, "for update skip locked");
notification_impl!(PoolConnection<sqlx::Sqlite>, "");
notification_impl!(PoolConnection<sqlx::Postgres>, "for update skip locked");
