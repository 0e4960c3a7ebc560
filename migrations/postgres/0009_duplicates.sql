-- A proposal closed as the duplicate of another (markDuplicate): which one. Its history stays.
alter table proposals add column duplicate_of bigint references proposals(id);
