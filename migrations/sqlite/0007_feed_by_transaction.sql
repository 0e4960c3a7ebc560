-- The same (txid, seq) order as on PostgreSQL, where concurrent writers commit out of seq order. SQLite
-- has one writer at a time, so its rows commit in seq order: txid stays 0 and the order is seq's.
alter table change_feed add column txid integer not null default 0;
create index change_feed_by_transaction on change_feed (txid, seq);

alter table events add column txid integer not null default 0;
create index events_by_transaction on events (txid, id);
