//! Users and their bearer tokens. Tokens are random, shown once, and stored only as a SHA-256 hash.

use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::FromRow;

use super::{Db, WritePool};
use crate::{
    domain::organisation::{Industry, Role},
    error::{AppError, AppResult},
    with_conn, with_db,
};

#[derive(FromRow, Clone, Debug, PartialEq)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub enterprise_id: Option<i64>,
    pub team_id: Option<i64>,
    pub studio_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl UserRow {
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Worker)
    }

    pub fn person(&self) -> crate::domain::organisation::Person {
        crate::domain::organisation::Person { id: self.id, role: self.role(), enterprise_id: self.enterprise_id }
    }
}

/// What `greenline user add` (and the demo loader) asks for.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub name: String,
    pub role: Role,
    pub enterprise: Option<String>,
    pub industry: Option<Industry>,
    pub team: Option<String>,
    pub studio: Option<String>,
}

/// A fresh bearer token: 256 random bits, URL-safe.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("glt_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Who a bearer token belongs to, remembered for a short while: every request names its token, and asking
/// the database each time was one more statement (and thread hand-off) per request. Only tokens that
/// were found are remembered, by their hash. When users or tokens change, every instance forgets them
/// all at once ([`TokenCache::forget_all`], on a PostgreSQL notification: src/db/listen.rs); where no
/// notification can arrive, an entry is kept for a second only, so a revocation takes effect within one.
pub struct TokenCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, (UserRow, std::time::Instant)>>,
    listening: std::sync::Arc<super::listen::Listening>,
    /// Counts [`TokenCache::forget_all`]: open WebSocket connections check their token again when it moves.
    generation: tokio::sync::watch::Sender<u64>,
}

impl TokenCache {
    const TTL_NOTIFIED: std::time::Duration = std::time::Duration::from_secs(60);
    const TTL: std::time::Duration = std::time::Duration::from_secs(1);
    const MAX_ENTRIES: usize = 10_000;

    pub fn new(listening: std::sync::Arc<super::listen::Listening>) -> TokenCache {
        TokenCache { entries: Default::default(), listening, generation: tokio::sync::watch::channel(0).0 }
    }

    /// Whether changes to people arrive as notifications (else entries are kept for a second only).
    pub fn notified(&self) -> bool {
        self.listening.get()
    }

    fn ttl(&self) -> std::time::Duration {
        if self.notified() {
            Self::TTL_NOTIFIED
        } else {
            Self::TTL
        }
    }

    /// The user `token` belongs to, from memory when it was looked up recently.
    pub async fn user(&self, db: &Db, token: &str) -> AppResult<Option<UserRow>> {
        let hash = hash_token(token);
        let ttl = self.ttl();
        if let Some((user, at)) = self.lock().get(&hash) {
            if at.elapsed() < ttl {
                return Ok(Some(user.clone()));
            }
        }
        let Some(user) = db.user_by_hash(&hash).await? else { return Ok(None) };
        let mut entries = self.lock();
        if entries.len() >= Self::MAX_ENTRIES {
            entries.retain(|_, (_, at)| at.elapsed() < ttl);
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(hash, (user.clone(), std::time::Instant::now()));
        Ok(Some(user))
    }

    /// Forgets every remembered token: a user or a token changed somewhere.
    pub fn forget_all(&self) {
        self.lock().clear();
        self.generation.send_modify(|g| *g += 1);
    }

    /// Changes each time [`TokenCache::forget_all`] runs.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.generation.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, (UserRow, std::time::Instant)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Default for TokenCache {
    fn default() -> Self {
        Self::new(Default::default())
    }
}

impl Db {
    /// Creates the user (and the named enterprise, team and studio when missing) with a token, in one
    /// transaction. Returns the user and the token, which is never stored in clear.
    pub async fn create_user(&self, new: &NewUser) -> AppResult<(UserRow, String)> {
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::invalid("name", "name must be 1–100 characters / 姓名须为1到100个字符"));
        }
        if new.enterprise.is_none() && (new.team.is_some() || new.studio.is_some()) {
            return Err(AppError::invalid(
                "enterprise",
                "a team or studio needs an enterprise / 班组或工作室须属于某个企业",
            ));
        }
        let token = new_token();
        let now = Utc::now();
        let industry = new.industry.unwrap_or(Industry::Other).as_str();
        let _turn = self.write_turn().await;
        let user = with_db!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut enterprise_id: Option<i64> = None;
            let mut team_id: Option<i64> = None;
            let mut studio_id: Option<i64> = None;
            if let Some(e) = new.enterprise.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
                sqlx::query("insert into enterprises (name, industry, created_at) values ($1, $2, $3) on conflict (name) do nothing")
                    .bind(e).bind(industry).bind(now).execute(&mut *tx).await?;
                let id: i64 = sqlx::query_scalar("select id from enterprises where name = $1").bind(e).fetch_one(&mut *tx).await?;
                enterprise_id = Some(id);
                if let Some(t) = new.team.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                    sqlx::query("insert into teams (enterprise_id, name, created_at) values ($1, $2, $3) on conflict (enterprise_id, name) do nothing")
                        .bind(id).bind(t).bind(now).execute(&mut *tx).await?;
                    team_id = Some(sqlx::query_scalar("select id from teams where enterprise_id = $1 and name = $2")
                        .bind(id).bind(t).fetch_one(&mut *tx).await?);
                }
                if let Some(s) = new.studio.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                    sqlx::query("insert into studios (enterprise_id, name, created_at) values ($1, $2, $3) on conflict (enterprise_id, name) do nothing")
                        .bind(id).bind(s).bind(now).execute(&mut *tx).await?;
                    studio_id = Some(sqlx::query_scalar("select id from studios where enterprise_id = $1 and name = $2")
                        .bind(id).bind(s).fetch_one(&mut *tx).await?);
                }
            }
            let user: UserRow = sqlx::query_as(
                "insert into users (name, role, enterprise_id, team_id, studio_id, created_at) values ($1, $2, $3, $4, $5, $6) returning *",
            )
            .bind(name).bind(new.role.as_str()).bind(enterprise_id).bind(team_id).bind(studio_id).bind(now)
            .fetch_one(&mut *tx).await?;
            if new.role == Role::StudioLead {
                if let Some(s) = studio_id {
                    sqlx::query("update studios set lead_user_id = $1 where id = $2 and lead_user_id is null")
                        .bind(user.id).bind(s).execute(&mut *tx).await?;
                }
            }
            sqlx::query("insert into api_tokens (user_id, token_hash, created_at) values ($1, $2, $3)")
                .bind(user.id).bind(hash_token(&token)).bind(now).execute(&mut *tx).await?;
            tx.commit().await?;
            user
        });
        Ok((user, token))
    }

    /// The user a bearer token belongs to, if any.
    pub async fn user_by_token(&self, token: &str) -> AppResult<Option<UserRow>> {
        self.user_by_hash(&hash_token(token)).await
    }

    async fn user_by_hash(&self, hash: &str) -> AppResult<Option<UserRow>> {
        Ok(with_conn!(self, conn => sqlx::query_as(
            "select u.* from users u join api_tokens t on t.user_id = u.id where t.token_hash = $1",
        ).bind(hash).fetch_optional(conn).await?))
    }

    /// The people of a studio, by name.
    pub async fn studio_members(&self, studio_id: i64) -> AppResult<Vec<UserRow>> {
        Ok(with_conn!(self, conn => sqlx::query_as("select * from users where studio_id = $1 order by name, id")
            .bind(studio_id).fetch_all(conn).await?))
    }

    pub async fn user(&self, id: i64) -> AppResult<Option<UserRow>> {
        Ok(
            with_conn!(self, conn => sqlx::query_as("select * from users where id = $1").bind(id).fetch_optional(conn).await?),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert!(a.len() >= 4 + 43, "256 bits in base64 is 43 characters");
        assert_eq!(hash_token(&a).len(), 64);
        assert_ne!(hash_token(&a), a);
    }
}
