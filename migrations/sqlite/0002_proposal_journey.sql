-- The proposal journey: proposals and their authors, savings figures, criteria and evaluations, pilots and
-- measurements, techniques and adoptions, events, the points ledger, conversion factors and the change feed.

create table conversion_factors (
    id integer primary key,
    version integer not null,
    carrier text not null,
    quantity text not null,          -- TCE or CO2E
    factor real not null,            -- per unit of the carrier, in tonnes of the quantity
    unit text not null,              -- as published, e.g. kgce/kWh
    published_factor real not null,  -- the factor in the published unit
    basis text not null,
    source text not null,
    year integer not null,
    valid_from text not null,
    unique (version, carrier, quantity)
);

create table criteria (
    id integer primary key,
    version integer not null,
    key text not null,
    name text not null,
    weight real not null,
    description text not null,
    position integer not null,
    published_at text not null,
    unique (version, key)
);

create table proposals (
    id integer primary key,
    external_id text unique,
    title text not null,
    body text not null,
    category text not null,
    industry text not null,
    tags text not null default '[]',
    enterprise_id integer references enterprises(id),
    team_id integer references teams(id),
    studio_id integer references studios(id),
    created_by integer references users(id),
    on_behalf_of text,
    status text not null,
    version integer not null default 1,
    round integer not null default 0,
    idempotency_key text,
    decision text,
    decision_reason text,
    decision_criteria_version integer,
    created_at text not null,
    updated_at text not null,
    submitted_at text,
    decided_at text,
    adopted_at text,
    promoted_at text,
    unique (created_by, idempotency_key)
);
create index proposals_status on proposals (status);
create index proposals_enterprise on proposals (enterprise_id);

create table proposal_authors (
    proposal_id integer not null references proposals(id),
    position integer not null,
    user_id integer references users(id),
    name text not null,
    primary key (proposal_id, position)
);
create index proposal_authors_user on proposal_authors (user_id);

create table savings (
    proposal_id integer not null references proposals(id),
    kind text not null,              -- EXPECTED, FORECAST or VERIFIED
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
    recorded_by integer references users(id),
    recorded_at text not null,
    primary key (proposal_id, kind)
);

create table review_assignments (
    proposal_id integer not null references proposals(id),
    round integer not null,
    reviewer_id integer not null references users(id),
    due_on text,
    assigned_by integer not null references users(id),
    assigned_at text not null,
    primary key (proposal_id, round, reviewer_id)
);
create index review_assignments_reviewer on review_assignments (reviewer_id);

create table evaluations (
    id integer primary key,
    proposal_id integer not null references proposals(id),
    round integer not null,
    reviewer_id integer not null references users(id),
    criteria_version integer not null,
    scores text not null,            -- JSON: {"KEY": score}
    weighted_score real not null,
    comment text not null,
    forecast text,                   -- JSON savings forecast, optional
    created_at text not null,
    unique (proposal_id, round, reviewer_id)
);

create table pilots (
    proposal_id integer primary key references proposals(id),
    plan text not null,
    started_by integer not null references users(id),
    started_at text not null
);

create table milestones (
    id integer primary key,
    proposal_id integer not null references proposals(id),
    position integer not null,
    title text not null,
    due_on text,
    status text not null,
    done_on text
);

create table measurements (
    id integer primary key,
    proposal_id integer not null references proposals(id),
    carrier text not null,
    baseline real not null,
    after real not null,
    period_start text not null,
    period_end text not null,
    note text not null default '',
    recorded_by integer not null references users(id),
    recorded_at text not null
);
create index measurements_proposal on measurements (proposal_id);

create table techniques (
    id integer primary key,
    external_id text unique,
    name text not null,
    industry text not null,
    scope text not null default '',
    principle text not null default '',
    key_parameters text not null default '',
    typical_case text not null default '',
    effect text not null default '',
    investment_yuan real,
    payback_years real,
    promotion_potential text not null default '',
    version integer not null default 1,
    created_by integer references users(id),
    created_at text not null,
    updated_at text not null
);

create table technique_sources (
    technique_id integer not null references techniques(id),
    proposal_id integer not null references proposals(id),
    added_at text not null,
    primary key (technique_id, proposal_id)
);

create table adoptions (
    id integer primary key,
    technique_id integer not null references techniques(id),
    enterprise_id integer not null references enterprises(id),
    proposal_id integer references proposals(id),
    adopted_on text not null,
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
    note text not null default '',
    recorded_by integer not null references users(id),
    created_at text not null
);
create index adoptions_technique on adoptions (technique_id);

create table events (
    id integer primary key,
    proposal_id integer not null references proposals(id),
    kind text not null,
    actor_id integer references users(id),
    from_status text,
    to_status text not null,
    from_version integer not null,
    reason text,
    created_at text not null
);
create index events_proposal on events (proposal_id, id);

create table points_ledger (
    id integer primary key,
    user_id integer references users(id),
    author_name text not null,
    proposal_id integer not null references proposals(id),
    reason text not null,
    points integer not null,
    credits real not null default 0,
    created_at text not null
);
create index points_ledger_user on points_ledger (user_id);

-- The change feed (outbox): one row per change to a proposal or technique, written in the same transaction.
create table change_feed (
    seq integer primary key autoincrement,
    entity text not null,
    entity_id integer not null,
    created_at text not null
);
