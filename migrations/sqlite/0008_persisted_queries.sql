-- Automatic persisted queries (Apollo's protocol): documents clients registered by their SHA-256, shared by
-- every instance. Bounded: the oldest registrations go first when there are too many (src/db/persisted.rs).
create table persisted_queries (
    hash text primary key,
    document text not null,
    created_ms bigint not null
);
create index persisted_queries_age on persisted_queries (created_ms);
