//! Users and their bearer tokens. Tokens are random, shown once, and stored only as a SHA-256 hash.

use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::FromRow;

use super::{
    people::{CredentialRow, NewCredential, UserFields, TOKEN},
    Db,
};
use crate::{
    domain::organisation::{Industry, Role},
    error::{AppError, AppResult},
    with_conn,
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
    pub email: Option<String>,
    pub employee_number: Option<String>,
    pub oidc_subject: Option<String>,
    pub deactivated_at: Option<DateTime<Utc>>,
}

/// Who a credential signs in, and the credential: what a request's `Authorization` header or session
/// cookie resolves to.
#[derive(Clone, Debug, PartialEq)]
pub struct Signed {
    pub user: UserRow,
    pub credential: CredentialRow,
}

impl Signed {
    /// Whether it may be used at `now`: not revoked, not expired, its user not deactivated.
    pub fn valid_at(&self, now: DateTime<Utc>) -> bool {
        self.credential.revoked_at.is_none()
            && self.credential.expires_at.is_none_or(|e| e > now)
            && self.user.deactivated_at.is_none()
    }
}

impl Signed {
    /// Whether `other` signs in the same person with the same rights (when it was last used aside).
    pub fn same_access(&self, other: &Signed) -> bool {
        let (a, b) = (&self.credential, &other.credential);
        self.user == other.user
            && a.id == b.id
            && a.read_only == b.read_only
            && a.expires_at == b.expires_at
            && a.revoked_at == b.revoked_at
    }
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
    pub email: Option<String>,
    pub employee_number: Option<String>,
    pub oidc_subject: Option<String>,
    /// Days the token is valid.
    pub token_days: u32,
}

impl NewUser {
    /// The fields the demo leaves out: no e-mail, no employee number, a token valid for the longest allowed.
    pub fn demo() -> NewUser {
        NewUser {
            name: String::new(),
            role: Role::Worker,
            enterprise: None,
            industry: None,
            team: None,
            studio: None,
            email: None,
            employee_number: None,
            oidc_subject: None,
            token_days: crate::domain::people::MAX_TOKEN_DAYS,
        }
    }
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
    entries: std::sync::Mutex<std::collections::HashMap<String, (Signed, std::time::Instant)>>,
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

    /// Who the secret `token` (a token or a session cookie) signs in, from memory when it was looked up
    /// recently; `None` for an unknown, revoked or expired one, or a deactivated user's.
    pub async fn user(&self, db: &Db, token: &str) -> AppResult<Option<Signed>> {
        let hash = hash_token(token);
        self.resolve(hash, || async { db.signed_by_hash(&hash_token(token)).await }).await
    }

    /// Who `key` signs in, from memory, or else from `look_up` (then remembered).
    pub async fn resolve<F, Fut>(&self, key: String, look_up: F) -> AppResult<Option<Signed>>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = AppResult<Option<Signed>>>,
    {
        let ttl = self.ttl();
        let now = Utc::now();
        if let Some((signed, at)) = self.lock().get(&key) {
            if at.elapsed() < ttl {
                return Ok(Some(signed.clone()).filter(|s| s.valid_at(now)));
            }
        }
        let Some(user) = look_up().await?.filter(|s| s.valid_at(now)) else { return Ok(None) };
        let hash = key;
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

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, (Signed, std::time::Instant)>> {
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
        let name = new.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::invalid("name", "name must be 1–100 characters / 姓名须为1到100个字符"));
        }
        if new.enterprise.is_none() && (new.team.is_some() || new.studio.is_some()) {
            return Err(AppError::invalid(
                "enterprise",
                "a team or studio needs an enterprise / 班组或工作室须属于某个企业",
            ));
        }
        let email = crate::domain::people::clean_email(new.email.as_deref())?;
        let token = new_token();
        let now = Utc::now();
        let expires_at = crate::domain::people::token_expiry(Some(new.token_days), now)?;
        let industry = new.industry.unwrap_or(Industry::Other).as_str();
        let new = new.clone();
        let hash = hash_token(&token);
        let user = self
            .write(move |tx| {
                Box::pin(async move {
                    let mut fields = UserFields {
                        name,
                        role: new.role.as_str().to_owned(),
                        email,
                        employee_number: new.employee_number.clone(),
                        oidc_subject: new.oidc_subject.clone(),
                        ..Default::default()
                    };
                    if let Some(e) = new.enterprise.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
                        let id = tx.ensure_enterprise(e, industry, now).await?;
                        fields.enterprise_id = Some(id);
                        if let Some(t) = new.team.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                            fields.team_id = Some(tx.ensure_team(id, t, now).await?);
                        }
                        if let Some(st) = new.studio.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                            fields.studio_id = Some(tx.ensure_studio(id, st, now).await?);
                        }
                    }
                    let user = tx.insert_user(&fields, now).await?;
                    if new.role == Role::StudioLead {
                        if let Some(s) = fields.studio_id {
                            tx.lead_studio_if_unled(s, user.id).await?;
                        }
                    }
                    let credential = NewCredential {
                        user_id: user.id,
                        kind: TOKEN,
                        name: "greenline user add",
                        hash: &hash,
                        expires_at,
                        read_only: false,
                        address: None,
                    };
                    tx.insert_credential(credential, now).await?;
                    Ok(user)
                })
            })
            .await?;
        Ok((user, token))
    }

    /// Who a bearer token signs in, if anyone (whether it may still be used is [`Signed::valid_at`]).
    pub async fn user_by_token(&self, token: &str) -> AppResult<Option<Signed>> {
        self.signed_by_hash(&hash_token(token)).await
    }

    async fn signed_by_hash(&self, hash: &str) -> AppResult<Option<Signed>> {
        let found = with_conn!(self, conn => {
            let credential: Option<CredentialRow> = sqlx::query_as("select * from api_tokens where token_hash = $1")
                .bind(hash).fetch_optional(&mut *conn).await?;
            match credential {
                Some(credential) => {
                    let user: Option<UserRow> = sqlx::query_as("select * from users where id = $1")
                        .bind(credential.user_id).fetch_optional(&mut *conn).await?;
                    user.map(|user| Signed { user, credential })
                }
                None => None,
            }
        });
        if let Some(s) = &found {
            // When it was last used, to the minute: written at most once a minute per credential.
            let now = Utc::now();
            if s.credential.last_used_at.is_none_or(|t| now - t > chrono::Duration::seconds(60)) {
                let db = self.clone();
                let id = s.credential.id;
                tokio::spawn(async move {
                    if let Err(e) = db.touch_credential(id, now).await {
                        tracing::debug!(error = %e, "could not record when a token was used");
                    }
                });
            }
        }
        Ok(found)
    }

    async fn touch_credential(&self, id: i64, now: DateTime<Utc>) -> AppResult<()> {
        self.write(move |tx| Box::pin(async move { tx.touch_credential(id, now).await })).await
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
