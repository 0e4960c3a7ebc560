-- Notifications (issue #20): an inbox per person, e-mail and webhook deliveries written in the transaction
-- that records what happened (an outbox), reminders scheduled in the database, preferences.

-- One message to one person. `wants_digest`: their preference for this kind is a daily digest, and
-- `digested_at` says when it went out in one.
create table notifications (
    id integer primary key,
    user_id integer not null references users(id),
    kind text not null,
    proposal_id integer references proposals(id),
    technique_id integer references techniques(id),
    subject text not null,
    body text not null,
    created_at text not null,
    read_at text,
    wants_digest integer not null default 0,
    digested_at text
);
create index notifications_user on notifications (user_id, id);
create index notifications_unread on notifications (user_id) where read_at is null;
create index notifications_digest on notifications (user_id) where wants_digest and digested_at is null;

-- How a person wants each kind beyond the inbox (which always has it): EMAIL (default), DIGEST or OFF.
create table notification_preferences (
    user_id integer not null references users(id),
    kind text not null,
    channel text not null,
    primary key (user_id, kind)
);
-- Quiet hours, as minutes after midnight China time (UTC+8): e-mail waits until they end.
alter table users add column quiet_start integer;
alter table users add column quiet_end integer;

-- A receiver of an enterprise's (or, with no enterprise, every enterprise's) notifications. `kinds` is
-- ",KIND,KIND,". The secret signs JSON bodies (HMAC needs it as it is) or a DingTalk robot's URL.
create table webhooks (
    id integer primary key,
    enterprise_id integer references enterprises(id),
    name text not null,
    url text not null,
    kinds text not null,
    format text not null,
    secret text not null,
    created_by integer not null references users(id),
    created_at text not null,
    failing_since text,
    paused_at text,
    deleted_at text
);

-- The outbox: one row per message to send (an e-mail, a digest, a webhook call), attempted by one
-- instance at a time (`lease_until`), at least once, until DELIVERED or, after a day of failures, DEAD.
-- HELD: for a paused webhook, sent when it is resumed.
create table deliveries (
    id integer primary key,
    channel text not null,
    state text not null,
    notification_id integer references notifications(id),
    webhook_id integer references webhooks(id),
    user_id integer references users(id),
    kind text not null,
    payload text not null,
    attempts integer not null default 0,
    next_attempt_at text not null,
    lease_until text,
    created_at text not null,
    delivered_at text,
    last_error text,
    last_status integer
);
create index deliveries_due on deliveries (next_attempt_at) where state = 'PENDING';
create index deliveries_webhook on deliveries (webhook_id, id) where webhook_id is not null;

-- Time-based reminders that have fired: the key names the reminder (kind and what it is about, with the
-- due date), so a sweep by any instance, any number of times, fires each once.
create table reminders (
    key text primary key,
    fired_at text not null
);

