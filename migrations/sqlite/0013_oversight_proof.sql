-- Oversight and proof (issue #22): the hash chain over the event log and its signed checkpoints, the
-- server's signing key, appeals against rejections, and changes to the rules that need an overseer.

-- A submission's content hashes (domain::proof::ContentDigest as JSON), so the chain covers what was
-- submitted. Other events have none.
alter table events add column content text;

-- The chain, in feed order: position n links event `event_id` (its content hash `event_hash`) to the hash
-- at n-1. Written by every instance's chainer; the hashes are a function of the feed, so two instances
-- writing the same position write the same row (`on conflict do nothing`), and writers of events never wait.
create table event_chain (
    position integer primary key,
    event_id integer not null unique references events(id),
    event_hash text not null,
    hash text not null,
    chained_at text not null
);

-- Signed chain heads: `signature` is Ed25519 over domain::proof::checkpoint_bytes.
create table chain_checkpoints (
    position integer primary key,
    hash text not null,
    key_id text not null,
    public_key text not null,
    signature text not null,
    signed_at text not null
);

-- The signing key generated at first start when GREENLINE_SIGNING_KEY is not set (PKCS#8, base64): one
-- row, shared by the instances of a fleet.
create table signing_keys (
    slot integer primary key check (slot = 1),
    key_id text not null,
    pkcs8 text not null,
    created_at text not null
);

-- An author's appeal against a rejection. OPEN → (overseers' opinion) → UPHELD or REOPENED by a studio lead.
create table appeals (
    id integer primary key,
    proposal_id integer not null references proposals(id),
    round integer not null,
    appellant_id integer not null references users(id),
    reason text not null,
    status text not null,
    opinion text,
    opinion_by integer references users(id),
    opinion_at text,
    decided_by integer references users(id),
    decision_reason text,
    decided_at text,
    created_at text not null,
    version integer not null default 1
);
create index appeals_proposal on appeals (proposal_id);
create index appeals_status on appeals (status);

-- A new version of the criteria or the conversion factors: proposed by an admin, in force only once an
-- overseer (another person) approves it. `content` is the whole table as JSON.
create table rule_changes (
    id integer primary key,
    kind text not null,
    content text not null,
    note text not null,
    status text not null,
    proposed_by integer not null references users(id),
    proposed_at text not null,
    decided_by integer references users(id),
    decision_note text,
    decided_at text,
    version integer,
    row_version integer not null default 1
);
