-- Followers (the search indexer, the event hub) read the change feed and the event log in (txid, seq)
-- order, and only rows whose transaction is older than the oldest one still in progress
-- (pg_snapshot_xmin): those are settled, committed or rolled back, so nothing can appear before them
-- later. Writers then need no lock to keep the order; rows written before this migration committed in
-- seq order under the old advisory lock, and keep txid 0.
alter table change_feed add column txid bigint not null default 0;
alter table change_feed alter column txid set default (pg_current_xact_id()::text::bigint);
create index change_feed_by_transaction on change_feed (txid, seq);

alter table events add column txid bigint not null default 0;
alter table events alter column txid set default (pg_current_xact_id()::text::bigint);
create index events_by_transaction on events (txid, id);

-- Followers are woken at commit instead of polling: one notification per writing transaction (PostgreSQL
-- folds identical notifications of one transaction into one).
create function greenline_wake() returns trigger language plpgsql as $$
begin
    perform pg_notify('greenline_changes', '');
    return null;
end
$$;
create trigger change_feed_wake after insert on change_feed for each statement execute function greenline_wake();
create trigger events_wake after insert on events for each statement execute function greenline_wake();

-- Every instance forgets the people it cached when a user or a token changes or goes, so that a revoked
-- token or a changed role takes effect everywhere at once (src/db/listen.rs).
create function greenline_people_changed() returns trigger language plpgsql as $$
begin
    perform pg_notify('greenline_people', '');
    return null;
end
$$;
create trigger users_changed after update or delete on users for each statement execute function greenline_people_changed();
create trigger api_tokens_changed after update or delete on api_tokens for each statement execute function greenline_people_changed();
