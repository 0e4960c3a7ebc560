//! People as administrators manage them: users, their credentials (personal access tokens and the page's
//! sessions, one table), teams and studios, sign-ins in progress, and the audit log. The statements of this
//! area, for both backends and both kinds of handle (transaction, pooled connection), like `store.rs`.

use chrono::{DateTime, Utc};
use sqlx::{pool::PoolConnection, FromRow};

use super::{
    organisations::{StudioRow, TeamRow},
    rows::KeyPage,
    users::UserRow,
};
use crate::error::{AppError, AppResult, ErrorCode};

/// A credential: a personal access token (`kind = "token"`) or a signed-in browser (`"session"`). The
/// secret itself is never stored, only its SHA-256.
#[derive(FromRow, Clone, Debug, PartialEq)]
pub struct CredentialRow {
    pub id: i64,
    pub user_id: i64,
    pub kind: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub read_only: bool,
    pub revoked_at: Option<DateTime<Utc>>,
    pub address: Option<String>,
}

pub const TOKEN: &str = "token";
pub const SESSION: &str = "session";

/// A credential about to be made.
pub struct NewCredential<'a> {
    pub user_id: i64,
    pub kind: &'a str,
    pub name: &'a str,
    pub hash: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
    pub read_only: bool,
    pub address: Option<&'a str>,
}

/// A user's fields as an administrator, the roster import or the provider's claims set them.
#[derive(Clone, Debug, Default)]
pub struct UserFields {
    pub name: String,
    pub role: String,
    pub enterprise_id: Option<i64>,
    pub team_id: Option<i64>,
    pub studio_id: Option<i64>,
    pub email: Option<String>,
    pub employee_number: Option<String>,
    pub oidc_subject: Option<String>,
}

impl UserFields {
    /// What differs from `before`, as `{"field": {"from": …, "to": …}}` for the audit log.
    pub fn changes_from(&self, before: &UserFields) -> serde_json::Map<String, serde_json::Value> {
        let mut changed = serde_json::Map::new();
        macro_rules! note {
            ($($f:ident),*) => {$(
                if before.$f != self.$f {
                    changed.insert(stringify!($f).into(), serde_json::json!({ "from": before.$f, "to": self.$f }));
                }
            )*};
        }
        note!(name, role, enterprise_id, team_id, studio_id, email, employee_number, oidc_subject);
        changed
    }

    pub fn of(user: &UserRow) -> UserFields {
        UserFields {
            name: user.name.clone(),
            role: user.role.clone(),
            enterprise_id: user.enterprise_id,
            team_id: user.team_id,
            studio_id: user.studio_id,
            email: user.email.clone(),
            employee_number: user.employee_number.clone(),
            oidc_subject: user.oidc_subject.clone(),
        }
    }
}

/// A sign-in in progress (`/auth/login` → `/auth/callback`).
#[derive(FromRow, Clone, Debug)]
pub struct LoginRow {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub next_path: String,
    pub created_at: DateTime<Utc>,
}

/// One line of the audit log.
#[derive(FromRow, Clone, Debug)]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<i64>,
    pub enterprise_id: Option<i64>,
    pub detail: String,
    pub address: Option<String>,
}

/// An entry about to be written.
#[derive(Clone, Debug)]
pub struct AuditEntry {
    pub actor_id: Option<i64>,
    pub action: crate::domain::people::AuditAction,
    pub target_kind: &'static str,
    pub target_id: Option<i64>,
    pub enterprise_id: Option<i64>,
    pub detail: serde_json::Value,
    pub address: Option<String>,
}

/// Which audit entries a page shows.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Only this enterprise's (an enterprise admin's view); all when `None`.
    pub enterprise_id: Option<i64>,
    /// Entries this person did or that were done to them.
    pub actor_id: Option<i64>,
    pub action: Option<String>,
    pub target: Option<(String, i64)>,
    pub since: Option<DateTime<Utc>>,
}

/// People in a page of the people screen.
#[derive(Clone, Debug, Default)]
pub struct PeopleFilter {
    pub enterprise_id: Option<i64>,
    pub include_deactivated: bool,
    /// A part of the name, the e-mail address or the employee number.
    pub text: Option<String>,
}

#[async_trait::async_trait]
pub trait PeopleStore: Send {
    async fn insert_credential(&mut self, new: NewCredential<'_>, now: DateTime<Utc>) -> AppResult<CredentialRow>;
    async fn credential(&mut self, id: i64) -> AppResult<Option<CredentialRow>>;
    async fn credential_by_hash(&mut self, hash: &str) -> AppResult<Option<CredentialRow>>;
    /// A user's credentials of one kind that still work, newest first.
    async fn credentials_of(&mut self, user_id: i64, kind: &str, now: DateTime<Utc>) -> AppResult<Vec<CredentialRow>>;
    /// Revokes one credential; false when it was revoked already.
    async fn revoke_credential(&mut self, id: i64, now: DateTime<Utc>) -> AppResult<bool>;
    /// Records that a credential was used now.
    async fn touch_credential(&mut self, id: i64, now: DateTime<Utc>) -> AppResult<()>;
    /// Makes the user the studio's lead when it has none.
    async fn lead_studio_if_unled(&mut self, studio_id: i64, user_id: i64) -> AppResult<()>;
    /// Ends every session of a user (deactivation).
    async fn end_sessions_of(&mut self, user_id: i64, now: DateTime<Utc>) -> AppResult<u64>;

    async fn insert_user(&mut self, fields: &UserFields, now: DateTime<Utc>) -> AppResult<UserRow>;
    async fn update_user(&mut self, id: i64, fields: &UserFields) -> AppResult<UserRow>;
    async fn set_deactivated(&mut self, id: i64, at: Option<DateTime<Utc>>) -> AppResult<()>;
    async fn user_by_subject(&mut self, subject: &str) -> AppResult<Option<UserRow>>;
    async fn user_by_employee_number(&mut self, enterprise_id: i64, number: &str) -> AppResult<Option<UserRow>>;
    /// A page of people, newest first, and how many match.
    async fn people_page(&mut self, filter: &PeopleFilter, page: &KeyPage) -> AppResult<(Vec<UserRow>, i64)>;

    /// The enterprise of this name, made when missing (with `industry`).
    async fn ensure_enterprise(&mut self, name: &str, industry: &str, now: DateTime<Utc>) -> AppResult<i64>;
    async fn enterprise_by_name(&mut self, name: &str) -> AppResult<Option<i64>>;
    async fn team_row(&mut self, id: i64) -> AppResult<Option<TeamRow>>;
    async fn studio_row(&mut self, id: i64) -> AppResult<Option<StudioRow>>;
    /// Puts a person in a studio (or none), leaving everything else as it is.
    async fn set_user_studio(&mut self, user_id: i64, studio_id: Option<i64>) -> AppResult<()>;
    async fn team_by_name(&mut self, enterprise_id: i64, name: &str) -> AppResult<Option<TeamRow>>;
    /// The team of this name in the enterprise, made when missing.
    async fn ensure_team(&mut self, enterprise_id: i64, name: &str, now: DateTime<Utc>) -> AppResult<i64> {
        Ok(match self.team_by_name(enterprise_id, name).await? {
            Some(team) => team.id,
            None => self.insert_team(enterprise_id, name, false, now).await?.id,
        })
    }
    /// The studio of this name in the enterprise, made when missing.
    async fn ensure_studio(&mut self, enterprise_id: i64, name: &str, now: DateTime<Utc>) -> AppResult<i64> {
        Ok(match self.studio_by_name(enterprise_id, name).await? {
            Some(studio) => studio.id,
            None => self.insert_studio(enterprise_id, name, "", None, now).await?.id,
        })
    }
    async fn studio_by_name(&mut self, enterprise_id: i64, name: &str) -> AppResult<Option<StudioRow>>;
    async fn insert_team(
        &mut self,
        enterprise_id: i64,
        name: &str,
        green: bool,
        now: DateTime<Utc>,
    ) -> AppResult<TeamRow>;
    async fn insert_studio(
        &mut self,
        enterprise_id: i64,
        name: &str,
        specialties: &str,
        lead: Option<i64>,
        now: DateTime<Utc>,
    ) -> AppResult<StudioRow>;

    async fn insert_login(&mut self, login: &LoginRow) -> AppResult<()>;
    /// The sign-in `state` started, removed so that it serves once; sign-ins older than `stale` go too.
    async fn take_login(&mut self, state: &str, stale: DateTime<Utc>) -> AppResult<Option<LoginRow>>;

    async fn audit(&mut self, entry: &AuditEntry, now: DateTime<Utc>) -> AppResult<()>;
    /// A page of the audit log, newest first, and how many entries match.
    async fn audit_page(&mut self, filter: &AuditFilter, page: &KeyPage) -> AppResult<(Vec<AuditRow>, i64)>;
}

/// A unique index said no: which field to name.
fn unique_violation(e: sqlx::Error, field: &str, message: &str) -> AppError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            AppError::field(ErrorCode::AlreadyExists, field, message.to_owned())
        }
        _ => e.into(),
    }
}

const SAME_PERSON: &str =
    "someone else already has this employee number or provider account / 该工号或企业账号已属于他人";

macro_rules! people_impl {
    ($ty:ty) => {
        #[async_trait::async_trait]
        impl PeopleStore for $ty {
            async fn insert_credential(
                &mut self,
                new: NewCredential<'_>,
                now: DateTime<Utc>,
            ) -> AppResult<CredentialRow> {
                Ok(sqlx::query_as(
                    "insert into api_tokens (user_id, token_hash, created_at, kind, name, expires_at, read_only, address)
                     values ($1, $2, $3, $4, $5, $6, $7, $8)
                     returning id, user_id, kind, name, created_at, expires_at, last_used_at, read_only, revoked_at, address",
                )
                .bind(new.user_id)
                .bind(new.hash)
                .bind(now)
                .bind(new.kind)
                .bind(new.name)
                .bind(new.expires_at)
                .bind(new.read_only)
                .bind(new.address)
                .fetch_one(&mut **self)
                .await?)
            }

            async fn credential(&mut self, id: i64) -> AppResult<Option<CredentialRow>> {
                Ok(sqlx::query_as(
                    "select id, user_id, kind, name, created_at, expires_at, last_used_at, read_only, revoked_at, address
                     from api_tokens where id = $1",
                )
                .bind(id)
                .fetch_optional(&mut **self)
                .await?)
            }

            async fn credential_by_hash(&mut self, hash: &str) -> AppResult<Option<CredentialRow>> {
                Ok(sqlx::query_as("select * from api_tokens where token_hash = $1")
                    .bind(hash)
                    .fetch_optional(&mut **self)
                    .await?)
            }

            async fn credentials_of(
                &mut self,
                user_id: i64,
                kind: &str,
                now: DateTime<Utc>,
            ) -> AppResult<Vec<CredentialRow>> {
                Ok(sqlx::query_as(
                    "select id, user_id, kind, name, created_at, expires_at, last_used_at, read_only, revoked_at, address
                     from api_tokens where user_id = $1 and kind = $2 and revoked_at is null
                     and (expires_at is null or expires_at > $3) order by id desc limit 200",
                )
                .bind(user_id)
                .bind(kind)
                .bind(now)
                .fetch_all(&mut **self)
                .await?)
            }

            async fn revoke_credential(&mut self, id: i64, now: DateTime<Utc>) -> AppResult<bool> {
                let done = sqlx::query("update api_tokens set revoked_at = $2 where id = $1 and revoked_at is null")
                    .bind(id)
                    .bind(now)
                    .execute(&mut **self)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn touch_credential(&mut self, id: i64, now: DateTime<Utc>) -> AppResult<()> {
                sqlx::query("update api_tokens set last_used_at = $2 where id = $1")
                    .bind(id)
                    .bind(now)
                    .execute(&mut **self)
                    .await?;
                Ok(())
            }

            async fn lead_studio_if_unled(&mut self, studio_id: i64, user_id: i64) -> AppResult<()> {
                sqlx::query("update studios set lead_user_id = $1 where id = $2 and lead_user_id is null")
                    .bind(user_id)
                    .bind(studio_id)
                    .execute(&mut **self)
                    .await?;
                Ok(())
            }

            async fn end_sessions_of(&mut self, user_id: i64, now: DateTime<Utc>) -> AppResult<u64> {
                let done = sqlx::query(
                    "update api_tokens set revoked_at = $2 where user_id = $1 and kind = 'session' and revoked_at is null",
                )
                .bind(user_id)
                .bind(now)
                .execute(&mut **self)
                .await?;
                Ok(done.rows_affected())
            }

            async fn insert_user(&mut self, f: &UserFields, now: DateTime<Utc>) -> AppResult<UserRow> {
                sqlx::query_as(
                    "insert into users (name, role, enterprise_id, team_id, studio_id, email, employee_number, oidc_subject, created_at)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning *",
                )
                .bind(&f.name)
                .bind(&f.role)
                .bind(f.enterprise_id)
                .bind(f.team_id)
                .bind(f.studio_id)
                .bind(&f.email)
                .bind(&f.employee_number)
                .bind(&f.oidc_subject)
                .bind(now)
                .fetch_one(&mut **self)
                .await
                .map_err(|e| unique_violation(e, "employeeNumber", SAME_PERSON))
            }

            async fn update_user(&mut self, id: i64, f: &UserFields) -> AppResult<UserRow> {
                sqlx::query_as(
                    "update users set name = $2, role = $3, enterprise_id = $4, team_id = $5, studio_id = $6, email = $7,
                     employee_number = $8, oidc_subject = $9 where id = $1 returning *",
                )
                .bind(id)
                .bind(&f.name)
                .bind(&f.role)
                .bind(f.enterprise_id)
                .bind(f.team_id)
                .bind(f.studio_id)
                .bind(&f.email)
                .bind(&f.employee_number)
                .bind(&f.oidc_subject)
                .fetch_one(&mut **self)
                .await
                .map_err(|e| unique_violation(e, "employeeNumber", SAME_PERSON))
            }

            async fn set_deactivated(&mut self, id: i64, at: Option<DateTime<Utc>>) -> AppResult<()> {
                sqlx::query("update users set deactivated_at = $2 where id = $1")
                    .bind(id)
                    .bind(at)
                    .execute(&mut **self)
                    .await?;
                Ok(())
            }

            async fn user_by_subject(&mut self, subject: &str) -> AppResult<Option<UserRow>> {
                Ok(sqlx::query_as("select * from users where oidc_subject = $1")
                    .bind(subject)
                    .fetch_optional(&mut **self)
                    .await?)
            }

            async fn user_by_employee_number(&mut self, enterprise_id: i64, number: &str) -> AppResult<Option<UserRow>> {
                Ok(sqlx::query_as("select * from users where enterprise_id = $1 and employee_number = $2")
                    .bind(enterprise_id)
                    .bind(number)
                    .fetch_optional(&mut **self)
                    .await?)
            }

            async fn people_page(&mut self, filter: &PeopleFilter, page: &KeyPage) -> AppResult<(Vec<UserRow>, i64)> {
                let text = filter.text.as_deref().map(|t| format!("%{}%", t.replace(['%', '_'], "")));
                const WHERE: &str = "(cast($1 as bigint) is null or enterprise_id = $1) and ($2 or deactivated_at is null)
                     and (cast($3 as text) is null or name like $3 or email like $3 or employee_number like $3)";
                let sql = format!("select * from users where {WHERE} and {}", page.newest_first("id", 4));
                let rows = sqlx::query_as(&sql)
                    .bind(filter.enterprise_id)
                    .bind(filter.include_deactivated)
                    .bind(&text)
                    .bind(page.after)
                    .bind(page.before)
                    .bind(page.fetch)
                    .fetch_all(&mut **self)
                    .await?;
                let total = sqlx::query_scalar(&format!("select count(*) from users where {WHERE}"))
                    .bind(filter.enterprise_id)
                    .bind(filter.include_deactivated)
                    .bind(&text)
                    .fetch_one(&mut **self)
                    .await?;
                Ok((rows, total))
            }

            async fn ensure_enterprise(&mut self, name: &str, industry: &str, now: DateTime<Utc>) -> AppResult<i64> {
                sqlx::query("insert into enterprises (name, industry, created_at) values ($1, $2, $3) on conflict (name) do nothing")
                    .bind(name)
                    .bind(industry)
                    .bind(now)
                    .execute(&mut **self)
                    .await?;
                Ok(sqlx::query_scalar("select id from enterprises where name = $1").bind(name).fetch_one(&mut **self).await?)
            }

            async fn enterprise_by_name(&mut self, name: &str) -> AppResult<Option<i64>> {
                Ok(sqlx::query_scalar("select id from enterprises where name = $1")
                    .bind(name)
                    .fetch_optional(&mut **self)
                    .await?)
            }

            async fn team_row(&mut self, id: i64) -> AppResult<Option<TeamRow>> {
                Ok(sqlx::query_as("select * from teams where id = $1").bind(id).fetch_optional(&mut **self).await?)
            }

            async fn studio_row(&mut self, id: i64) -> AppResult<Option<StudioRow>> {
                Ok(sqlx::query_as("select * from studios where id = $1").bind(id).fetch_optional(&mut **self).await?)
            }

            async fn set_user_studio(&mut self, user_id: i64, studio_id: Option<i64>) -> AppResult<()> {
                sqlx::query("update users set studio_id = $2 where id = $1")
                    .bind(user_id)
                    .bind(studio_id)
                    .execute(&mut **self)
                    .await?;
                Ok(())
            }

            async fn team_by_name(&mut self, enterprise_id: i64, name: &str) -> AppResult<Option<TeamRow>> {
                Ok(sqlx::query_as("select * from teams where enterprise_id = $1 and name = $2")
                    .bind(enterprise_id)
                    .bind(name)
                    .fetch_optional(&mut **self)
                    .await?)
            }

            async fn studio_by_name(&mut self, enterprise_id: i64, name: &str) -> AppResult<Option<StudioRow>> {
                Ok(sqlx::query_as("select * from studios where enterprise_id = $1 and name = $2")
                    .bind(enterprise_id)
                    .bind(name)
                    .fetch_optional(&mut **self)
                    .await?)
            }

            async fn insert_team(
                &mut self,
                enterprise_id: i64,
                name: &str,
                green: bool,
                now: DateTime<Utc>,
            ) -> AppResult<TeamRow> {
                sqlx::query_as("insert into teams (enterprise_id, name, is_green, created_at) values ($1, $2, $3, $4) returning *")
                    .bind(enterprise_id)
                    .bind(name)
                    .bind(green)
                    .bind(now)
                    .fetch_one(&mut **self)
                    .await
                    .map_err(|e| unique_violation(e, "name", "the enterprise already has a team of this name / 本企业已有同名班组"))
            }

            async fn insert_studio(
                &mut self,
                enterprise_id: i64,
                name: &str,
                specialties: &str,
                lead: Option<i64>,
                now: DateTime<Utc>,
            ) -> AppResult<StudioRow> {
                sqlx::query_as(
                    "insert into studios (enterprise_id, name, specialties, lead_user_id, created_at) values ($1, $2, $3, $4, $5) returning *",
                )
                .bind(enterprise_id)
                .bind(name)
                .bind(specialties)
                .bind(lead)
                .bind(now)
                .fetch_one(&mut **self)
                .await
                .map_err(|e| unique_violation(e, "name", "the enterprise already has a studio of this name / 本企业已有同名工作室"))
            }

            async fn insert_login(&mut self, l: &LoginRow) -> AppResult<()> {
                sqlx::query("insert into oidc_logins (state, nonce, verifier, next_path, created_at) values ($1, $2, $3, $4, $5)")
                    .bind(&l.state)
                    .bind(&l.nonce)
                    .bind(&l.verifier)
                    .bind(&l.next_path)
                    .bind(l.created_at)
                    .execute(&mut **self)
                    .await?;
                Ok(())
            }

            async fn take_login(&mut self, state: &str, stale: DateTime<Utc>) -> AppResult<Option<LoginRow>> {
                sqlx::query("delete from oidc_logins where created_at < $1").bind(stale).execute(&mut **self).await?;
                Ok(sqlx::query_as("delete from oidc_logins where state = $1 returning *")
                    .bind(state)
                    .fetch_optional(&mut **self)
                    .await?)
            }

            async fn audit(&mut self, e: &AuditEntry, now: DateTime<Utc>) -> AppResult<()> {
                sqlx::query(
                    "insert into audit_log (at, actor_id, action, target_kind, target_id, enterprise_id, detail, address)
                     values ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(now)
                .bind(e.actor_id)
                .bind(e.action.as_str())
                .bind(e.target_kind)
                .bind(e.target_id)
                .bind(e.enterprise_id)
                .bind(e.detail.to_string())
                .bind(&e.address)
                .execute(&mut **self)
                .await?;
                Ok(())
            }

            async fn audit_page(&mut self, f: &AuditFilter, page: &KeyPage) -> AppResult<(Vec<AuditRow>, i64)> {
                let (kind, target) = match &f.target {
                    Some((k, id)) => (Some(k.clone()), Some(*id)),
                    None => (None, None),
                };
                const WHERE: &str = "(cast($1 as bigint) is null or enterprise_id = $1)
                     and (cast($2 as bigint) is null or actor_id = $2 or target_kind = 'User' and target_id = $2)
                     and (cast($3 as text) is null or action = $3)
                     and (cast($4 as text) is null or (target_kind = $4 and target_id = $5))
                     and (cast($6 as text) is null or at >= $7)";
                let since_flag = f.since.map(|_| "since");
                let sql = format!("select * from audit_log where {WHERE} and {}", page.newest_first("id", 8));
                let rows = sqlx::query_as(&sql)
                    .bind(f.enterprise_id)
                    .bind(f.actor_id)
                    .bind(&f.action)
                    .bind(&kind)
                    .bind(target)
                    .bind(since_flag)
                    .bind(f.since)
                    .bind(page.after)
                    .bind(page.before)
                    .bind(page.fetch)
                    .fetch_all(&mut **self)
                    .await?;
                let total = sqlx::query_scalar(&format!("select count(*) from audit_log where {WHERE}"))
                    .bind(f.enterprise_id)
                    .bind(f.actor_id)
                    .bind(&f.action)
                    .bind(&kind)
                    .bind(target)
                    .bind(since_flag)
                    .bind(f.since)
                    .fetch_one(&mut **self)
                    .await?;
                Ok((rows, total))
            }
        }
    };
}

people_impl!(sqlx::Transaction<'static, sqlx::Sqlite>);
people_impl!(sqlx::Transaction<'static, sqlx::Postgres>);
people_impl!(PoolConnection<sqlx::Sqlite>);
people_impl!(PoolConnection<sqlx::Postgres>);
