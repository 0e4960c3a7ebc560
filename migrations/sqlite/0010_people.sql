-- People managed in greenline (issue #18): sign-in with an enterprise's OpenID provider, personal access
-- tokens that expire and can be revoked, sessions of the page, deactivation, and an audit log.
alter table users add column email text;
alter table users add column employee_number text;
-- The OpenID provider's `sub` for this person (one provider per deployment: GREENLINE_OIDC_ISSUER).
alter table users add column oidc_subject text;
alter table users add column deactivated_at text;
create unique index users_oidc_subject on users (oidc_subject) where oidc_subject is not null;
create unique index users_employee_number on users (enterprise_id, employee_number) where employee_number is not null;

-- Tokens and the page's sessions are one kind of credential: a random secret stored as its SHA-256.
-- `kind` is 'token' (a personal access token, or one printed by `user add`) or 'session' (a browser signed
-- in through the provider; its secret is the cookie). Rows made before this migration never expire.
alter table api_tokens add column kind text not null default 'token';
alter table api_tokens add column name text not null default '';
alter table api_tokens add column expires_at text;
alter table api_tokens add column last_used_at text;
alter table api_tokens add column read_only integer not null default 0;
alter table api_tokens add column revoked_at text;
alter table api_tokens add column address text;

-- A sign-in in progress: what /auth/login sent to the provider, until /auth/callback uses it (once).
create table oidc_logins (
    state text primary key,
    nonce text not null,
    verifier text not null,
    next_path text not null,
    created_at text not null
);

-- Who did what to whom, when and from where: every administrative act and sign-in. Rows are never changed.
create table audit_log (
    id integer primary key,
    at text not null,
    actor_id integer references users(id),
    action text not null,
    target_kind text not null default '',
    target_id integer,
    enterprise_id integer references enterprises(id),
    detail text not null default '{}',
    address text
);
create index audit_log_enterprise on audit_log (enterprise_id, id);
create trigger audit_log_never_updated before update on audit_log
begin select raise(abort, 'the audit log is never changed'); end;
create trigger audit_log_never_deleted before delete on audit_log
begin select raise(abort, 'the audit log is never changed'); end;
