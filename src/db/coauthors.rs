//! Co-author invitations: who was asked to join which proposal, by whom. The statements of this area, for
//! both backends and both kinds of handle (transaction, pooled connection), like `store.rs`.

use chrono::{DateTime, Utc};
use sqlx::{pool::PoolConnection, FromRow};

use crate::error::AppResult;

/// An open invitation, with what the invitee needs to decide: the title and who asked.
#[derive(FromRow, Clone, Debug)]
pub struct InvitationRow {
    pub proposal_id: i64,
    pub user_id: i64,
    pub title: String,
    pub invited_by: String,
    pub created_at: DateTime<Utc>,
}

#[async_trait::async_trait]
pub trait CoAuthorStore: Send {
    /// Makes `user_ids` the proposal's open invitations: others are withdrawn, existing ones kept. Returns
    /// those newly invited.
    async fn replace_invitations(
        &mut self,
        proposal_id: i64,
        invited_by: i64,
        user_ids: &[i64],
        now: DateTime<Utc>,
    ) -> AppResult<Vec<i64>>;
    async fn invitations_of(&mut self, user_id: i64) -> AppResult<Vec<InvitationRow>>;
    async fn invitees(&mut self, proposal_id: i64) -> AppResult<Vec<InvitationRow>>;
    /// Closes an invitation; false when there was none.
    async fn delete_invitation(&mut self, proposal_id: i64, user_id: i64) -> AppResult<bool>;
    /// Adds an author after the others.
    async fn append_author(&mut self, proposal_id: i64, user_id: i64, name: &str) -> AppResult<()>;
    /// Records which proposal this one duplicates.
    async fn set_duplicate_of(&mut self, proposal_id: i64, original_id: i64) -> AppResult<()>;
}

const INVITATION: &str = "select i.proposal_id, i.user_id, p.title, u.name as invited_by, i.created_at
    from coauthor_invitations i join proposals p on p.id = i.proposal_id join users u on u.id = i.invited_by";

macro_rules! coauthor_impl {
    ($ty:ty) => {
        #[async_trait::async_trait]
        impl CoAuthorStore for $ty {
            async fn replace_invitations(
                &mut self,
                proposal_id: i64,
                invited_by: i64,
                user_ids: &[i64],
                now: DateTime<Utc>,
            ) -> AppResult<Vec<i64>> {
                let open: Vec<(i64,)> = sqlx::query_as("select user_id from coauthor_invitations where proposal_id = $1")
                    .bind(proposal_id)
                    .fetch_all(&mut **self)
                    .await?;
                for (user_id,) in &open {
                    if !user_ids.contains(user_id) {
                        self.delete_invitation(proposal_id, *user_id).await?;
                    }
                }
                let mut invited = Vec::new();
                for user_id in user_ids.iter().filter(|u| !open.iter().any(|(o,)| o == *u)) {
                    invited.push(*user_id);
                    sqlx::query("insert into coauthor_invitations (proposal_id, user_id, invited_by, created_at) values ($1, $2, $3, $4)")
                        .bind(proposal_id)
                        .bind(user_id)
                        .bind(invited_by)
                        .bind(now)
                        .execute(&mut **self)
                        .await?;
                }
                Ok(invited)
            }

            async fn invitations_of(&mut self, user_id: i64) -> AppResult<Vec<InvitationRow>> {
                Ok(sqlx::query_as(&format!("{INVITATION} where i.user_id = $1 order by i.created_at, i.proposal_id"))
                    .bind(user_id)
                    .fetch_all(&mut **self)
                    .await?)
            }

            async fn invitees(&mut self, proposal_id: i64) -> AppResult<Vec<InvitationRow>> {
                Ok(sqlx::query_as(&format!("{INVITATION} where i.proposal_id = $1 order by i.user_id"))
                    .bind(proposal_id)
                    .fetch_all(&mut **self)
                    .await?)
            }

            async fn delete_invitation(&mut self, proposal_id: i64, user_id: i64) -> AppResult<bool> {
                let done = sqlx::query("delete from coauthor_invitations where proposal_id = $1 and user_id = $2")
                    .bind(proposal_id)
                    .bind(user_id)
                    .execute(&mut **self)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn set_duplicate_of(&mut self, proposal_id: i64, original_id: i64) -> AppResult<()> {
                sqlx::query("update proposals set duplicate_of = $2 where id = $1")
                    .bind(proposal_id)
                    .bind(original_id)
                    .execute(&mut **self)
                    .await?;
                Ok(())
            }

            async fn append_author(&mut self, proposal_id: i64, user_id: i64, name: &str) -> AppResult<()> {
                sqlx::query(
                    "insert into proposal_authors (proposal_id, position, user_id, name)
                     select $1, coalesce(max(position), -1) + 1, $2, $3 from proposal_authors where proposal_id = $1",
                )
                .bind(proposal_id)
                .bind(user_id)
                .bind(name)
                .execute(&mut **self)
                .await?;
                Ok(())
            }
        }
    };
}

coauthor_impl!(sqlx::Transaction<'static, sqlx::Sqlite>);
coauthor_impl!(sqlx::Transaction<'static, sqlx::Postgres>);
coauthor_impl!(PoolConnection<sqlx::Sqlite>);
coauthor_impl!(PoolConnection<sqlx::Postgres>);
