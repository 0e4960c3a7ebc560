-- Organisations and people: enterprises, teams (班组), studios (创新工作室), users and their API tokens.
create table enterprises (
    id integer primary key,
    name text not null unique,
    industry text not null,
    region text,
    created_at text not null
);

create table teams (
    id integer primary key,
    enterprise_id integer not null references enterprises(id),
    name text not null,
    is_green integer not null default 0,
    created_at text not null,
    unique (enterprise_id, name)
);

create table studios (
    id integer primary key,
    enterprise_id integer not null references enterprises(id),
    name text not null,
    specialties text not null default '',
    lead_user_id integer,
    created_at text not null,
    unique (enterprise_id, name)
);

create table users (
    id integer primary key,
    name text not null,
    role text not null,
    enterprise_id integer references enterprises(id),
    team_id integer references teams(id),
    studio_id integer references studios(id),
    created_at text not null
);

create table api_tokens (
    id integer primary key,
    user_id integer not null references users(id),
    token_hash text not null unique,
    created_at text not null
);
create index api_tokens_user on api_tokens (user_id);
