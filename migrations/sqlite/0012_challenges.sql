-- Challenges and help requests (issue #21): studios, enterprises and associations post technical
-- challenges (攻关课题) that proposals answer; small plants ask for help (劳模工匠助企行) and a studio takes it on.

-- A challenge: a problem with a target (savings per carrier, converted with the factor table of
-- `factor_version`), a deadline and a reward. `scope` says who sees it: ENTERPRISE (its enterprise),
-- INDUSTRY (enterprises of its industry and associations) or PUBLIC. Owned by a studio, an enterprise or an
-- association (`owner_kind`); `enterprise_id` is the owner's enterprise (none for an association).
create table challenges (
    id integer primary key,
    title text not null,
    statement text not null,
    industry text not null,
    scope text not null,
    owner_kind text not null,
    studio_id integer references studios(id),
    enterprise_id integer references enterprises(id),
    deadline text not null,
    reward text not null default '',
    electricity_kwh real not null default 0,
    coal_t real not null default 0,
    natural_gas_m3 real not null default 0,
    steam_t real not null default 0,
    water_t real not null default 0,
    money_yuan real not null default 0,
    investment_yuan real not null default 0,
    tce real not null,
    tco2e real not null,
    factor_version integer not null,
    status text not null,
    close_reason text,
    closed_by integer references users(id),
    closed_at text,
    version integer not null default 1,
    created_by integer not null references users(id),
    created_at text not null,
    updated_at text not null
);
create index challenges_status on challenges (status, scope);

-- The answers a challenge awarded when it closed.
create table challenge_awards (
    challenge_id integer not null references challenges(id),
    proposal_id integer not null references proposals(id),
    awarded_at text not null,
    primary key (challenge_id, proposal_id)
);

-- A proposal may answer one challenge. An answer to an ENTERPRISE challenge is `confined`: it stays inside
-- its enterprise whatever its status (an adopted answer is not public; promotion into the catalogue is how
-- it leaves).
alter table proposals add column challenge_id integer references challenges(id);
alter table proposals add column confined integer not null default 0;
create index proposals_challenge on proposals (challenge_id) where challenge_id is not null;

-- A help request: a plant's problem, OPEN → TAKEN (by a studio) → RESOLVED, or CLOSED. `processes` and
-- `equipment` are JSON lists of tags. `consumption` is what the plant uses today, shown only to those who
-- work on the request. Verified savings, when measured, are kept with their factor version.
create table help_requests (
    id integer primary key,
    title text not null,
    problem text not null,
    industry text not null,
    processes text not null default '[]',
    equipment text not null default '[]',
    consumption text not null default '',
    enterprise_id integer not null references enterprises(id),
    requested_by integer not null references users(id),
    status text not null,
    studio_id integer references studios(id),
    taken_by integer references users(id),
    taken_at text,
    solution text,
    resolved_by integer references users(id),
    resolved_at text,
    close_reason text,
    closed_at text,
    electricity_kwh real not null default 0,
    coal_t real not null default 0,
    natural_gas_m3 real not null default 0,
    steam_t real not null default 0,
    water_t real not null default 0,
    money_yuan real not null default 0,
    investment_yuan real not null default 0,
    tce real,
    tco2e real,
    factor_version integer,
    version integer not null default 1,
    created_at text not null,
    updated_at text not null
);
create index help_requests_status on help_requests (status);
create index help_requests_studio on help_requests (studio_id) where studio_id is not null;

-- The catalogue techniques a resolution used.
create table help_request_techniques (
    help_request_id integer not null references help_requests(id),
    technique_id integer not null references techniques(id),
    primary key (help_request_id, technique_id)
);
