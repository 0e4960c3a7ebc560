//! Challenges, their answers and awards: the statements of this area for both backends and both kinds of
//! handle, like `store.rs`.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{pool::PoolConnection, FromRow};

use super::{
    rows::{KeyPage, ProposalRow},
    store::{InOrder, ListScope},
};
use crate::{
    domain::{
        challenge::{self, ChallengeOwner, ChallengeScope, ChallengeStatus},
        organisation::Industry,
        savings::{Converted, Savings},
    },
    error::AppResult,
};

#[derive(FromRow, Clone, Debug)]
pub struct ChallengeRow {
    pub id: i64,
    pub title: String,
    pub statement: String,
    pub industry: String,
    pub scope: String,
    pub owner_kind: String,
    pub studio_id: Option<i64>,
    pub enterprise_id: Option<i64>,
    pub deadline: NaiveDate,
    pub reward: String,
    pub electricity_kwh: f64,
    pub coal_t: f64,
    pub natural_gas_m3: f64,
    pub steam_t: f64,
    pub water_t: f64,
    pub money_yuan: f64,
    pub investment_yuan: f64,
    pub tce: f64,
    pub tco2e: f64,
    pub factor_version: i64,
    pub status: String,
    pub close_reason: Option<String>,
    pub closed_by: Option<i64>,
    pub closed_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ChallengeRow {
    pub fn scope(&self) -> ChallengeScope {
        ChallengeScope::parse(&self.scope).unwrap_or(ChallengeScope::Enterprise)
    }

    pub fn status(&self) -> ChallengeStatus {
        ChallengeStatus::parse(&self.status).unwrap_or(ChallengeStatus::Closed)
    }

    /// The row as the domain's rules see it.
    pub fn rules(&self) -> challenge::Challenge {
        challenge::Challenge {
            scope: self.scope(),
            owner: ChallengeOwner::parse(&self.owner_kind).unwrap_or(ChallengeOwner::Association),
            industry: Industry::parse(&self.industry).unwrap_or(Industry::Other),
            enterprise_id: self.enterprise_id,
            studio_id: self.studio_id,
            created_by: self.created_by,
            status: self.status(),
            deadline: self.deadline,
        }
    }

    pub fn target(&self) -> Converted {
        Converted {
            savings: Savings {
                electricity_kwh: self.electricity_kwh,
                coal_t: self.coal_t,
                natural_gas_m3: self.natural_gas_m3,
                steam_t: self.steam_t,
                water_t: self.water_t,
                money_yuan: self.money_yuan,
                investment_yuan: self.investment_yuan,
            },
            tce: self.tce,
            tco2e: self.tco2e,
            factor_version: self.factor_version,
        }
    }
}

/// What a challenge says; written on opening and on each change.
#[derive(Clone, Debug)]
pub struct ChallengeText {
    pub title: String,
    pub statement: String,
    pub industry: Industry,
    pub scope: ChallengeScope,
    pub deadline: NaiveDate,
    pub reward: String,
    pub target: Converted,
}

pub struct NewChallenge {
    pub text: ChallengeText,
    pub owner: ChallengeOwner,
    pub studio_id: Option<i64>,
    pub enterprise_id: Option<i64>,
    pub created_by: i64,
    pub now: DateTime<Utc>,
}

/// Which challenges a list shows (besides the viewer's visibility).
#[derive(Clone, Debug, Default)]
pub struct ChallengeFilter {
    pub status: Option<ChallengeStatus>,
    pub industry: Option<Industry>,
    pub scope: Option<ChallengeScope>,
}

/// The viewer, as the challenge list's SQL needs them (the twin of `domain::challenge::can_view`).
#[derive(Clone, Debug, Default)]
pub struct ChallengeSight {
    pub list: ListScope,
    pub industry: Option<Industry>,
}

/// How far a challenge's answers have come.
#[derive(FromRow, Clone, Debug, Default, PartialEq)]
pub struct ProgressRow {
    /// Answers submitted (drafts are not answers yet).
    pub answers: i64,
    pub accepted: i64,
    pub adopted: i64,
    pub verified_tce: f64,
    pub verified_tco2e: f64,
}

#[async_trait::async_trait]
pub trait ChallengeStore: Send {
    async fn insert_challenge(&mut self, c: &NewChallenge) -> AppResult<ChallengeRow>;
    async fn challenge(&mut self, id: i64) -> AppResult<Option<ChallengeRow>>;
    async fn challenges_by_ids(&mut self, ids: &[i64]) -> AppResult<Vec<ChallengeRow>>;
    /// Writes a challenge's text if it is still at `expected_version`; false when it is not.
    async fn update_challenge(
        &mut self,
        id: i64,
        expected_version: i64,
        t: &ChallengeText,
        now: DateTime<Utc>,
    ) -> AppResult<bool>;
    async fn close_challenge(
        &mut self,
        id: i64,
        expected_version: i64,
        reason: &str,
        by: i64,
        now: DateTime<Utc>,
    ) -> AppResult<bool>;
    async fn award_answer(&mut self, challenge_id: i64, proposal_id: i64, now: DateTime<Utc>) -> AppResult<()>;
    async fn challenge_awards(&mut self, challenge_id: i64) -> AppResult<Vec<i64>>;
    /// Marks the challenge's answers confined (or not); returns their ids, for the change feed.
    async fn confine_answers(&mut self, challenge_id: i64, confined: bool) -> AppResult<Vec<i64>>;
    async fn set_answer_of(&mut self, proposal_id: i64, challenge_id: Option<i64>, confined: bool) -> AppResult<()>;
    /// How many of the challenge's answers come from outside `enterprise_id`.
    async fn foreign_answers(&mut self, challenge_id: i64, enterprise_id: Option<i64>) -> AppResult<i64>;
    /// A page of the challenges the viewer may see, newest first, and the count of all.
    async fn list_challenges(
        &mut self,
        sight: &ChallengeSight,
        f: &ChallengeFilter,
        page: &KeyPage,
    ) -> AppResult<(Vec<ChallengeRow>, i64)>;
    async fn challenge_progress(&mut self, challenge_id: i64) -> AppResult<ProgressRow>;
    /// A page of a challenge's answers the viewer may see (the proposals' own visibility rule).
    async fn challenge_answers(
        &mut self,
        scope: &ListScope,
        challenge_id: i64,
        page: &KeyPage,
    ) -> AppResult<(Vec<ProposalRow>, i64)>;

    /// Challenges with `after_id < id`, for a rebuild of the index (at most `limit`).
    async fn challenge_batch(&mut self, after_id: i64, limit: i64) -> AppResult<Vec<ChallengeRow>>;
}

/// Visible challenges: $1 admin, $2 viewer, $3 viewer's enterprise, $4 association, $5 viewer's industry.
const CHALLENGE_VISIBLE: &str = "($1 or c.scope = 'PUBLIC' or (cast($2 as bigint) is not null and (
    c.created_by = $2 or c.enterprise_id = $3 or (c.scope = 'INDUSTRY' and ($4 or c.industry = $5)))))";

/// The challenge filters: $6 status, $7 industry, $8 scope.
const CHALLENGE_FILTERS: &str = "(cast($6 as text) is null or c.status = $6)
    and (cast($7 as text) is null or c.industry = $7) and (cast($8 as text) is null or c.scope = $8)";

macro_rules! challenge_impl {
    ($ty:ty) => {
        #[async_trait::async_trait]
        impl ChallengeStore for $ty {
            async fn insert_challenge(&mut self, c: &NewChallenge) -> AppResult<ChallengeRow> {
                let t = &c.text;
                let s = &t.target.savings;
                Ok(sqlx::query_as(
                    "insert into challenges (title, statement, industry, scope, owner_kind, studio_id, enterprise_id,
                        deadline, reward, electricity_kwh, coal_t, natural_gas_m3, steam_t, water_t, money_yuan,
                        investment_yuan, tce, tco2e, factor_version, status, created_by, created_at, updated_at)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
                        'OPEN', $20, $21, $21) returning *",
                )
                .bind(&t.title).bind(&t.statement).bind(t.industry.as_str()).bind(t.scope.as_str())
                .bind(c.owner.as_str()).bind(c.studio_id).bind(c.enterprise_id).bind(t.deadline).bind(&t.reward)
                .bind(s.electricity_kwh).bind(s.coal_t).bind(s.natural_gas_m3).bind(s.steam_t).bind(s.water_t)
                .bind(s.money_yuan).bind(s.investment_yuan).bind(t.target.tce).bind(t.target.tco2e)
                .bind(t.target.factor_version).bind(c.created_by).bind(c.now)
                .fetch_one(&mut **self).await?)
            }

            async fn challenge(&mut self, id: i64) -> AppResult<Option<ChallengeRow>> {
                Ok(sqlx::query_as("select * from challenges where id = $1").bind(id).fetch_optional(&mut **self).await?)
            }

            async fn challenges_by_ids(&mut self, ids: &[i64]) -> AppResult<Vec<ChallengeRow>> {
                if ids.is_empty() {
                    return Ok(vec![]);
                }
                let sql = format!("select * from challenges where id in ({})", <Self as InOrder>::params(ids.len(), 1));
                Ok(ids.iter().fold(sqlx::query_as(&sql), |q, id| q.bind(*id)).fetch_all(&mut **self).await?)
            }

            async fn update_challenge(&mut self, id: i64, expected_version: i64, t: &ChallengeText, now: DateTime<Utc>) -> AppResult<bool> {
                let s = &t.target.savings;
                let done = sqlx::query(
                    "update challenges set title = $3, statement = $4, industry = $5, scope = $6, deadline = $7,
                        reward = $8, electricity_kwh = $9, coal_t = $10, natural_gas_m3 = $11, steam_t = $12,
                        water_t = $13, money_yuan = $14, investment_yuan = $15, tce = $16, tco2e = $17,
                        factor_version = $18, updated_at = $19, version = version + 1
                     where id = $1 and version = $2",
                )
                .bind(id).bind(expected_version).bind(&t.title).bind(&t.statement).bind(t.industry.as_str())
                .bind(t.scope.as_str()).bind(t.deadline).bind(&t.reward).bind(s.electricity_kwh).bind(s.coal_t)
                .bind(s.natural_gas_m3).bind(s.steam_t).bind(s.water_t).bind(s.money_yuan).bind(s.investment_yuan)
                .bind(t.target.tce).bind(t.target.tco2e).bind(t.target.factor_version).bind(now)
                .execute(&mut **self).await?;
                Ok(done.rows_affected() == 1)
            }

            async fn close_challenge(&mut self, id: i64, expected_version: i64, reason: &str, by: i64, now: DateTime<Utc>) -> AppResult<bool> {
                let done = sqlx::query(
                    "update challenges set status = 'CLOSED', close_reason = $3, closed_by = $4, closed_at = $5,
                        updated_at = $5, version = version + 1
                     where id = $1 and version = $2 and status = 'OPEN'",
                )
                .bind(id).bind(expected_version).bind(reason).bind(by).bind(now)
                .execute(&mut **self).await?;
                Ok(done.rows_affected() == 1)
            }

            async fn award_answer(&mut self, challenge_id: i64, proposal_id: i64, now: DateTime<Utc>) -> AppResult<()> {
                sqlx::query("insert into challenge_awards (challenge_id, proposal_id, awarded_at) values ($1, $2, $3)")
                    .bind(challenge_id).bind(proposal_id).bind(now).execute(&mut **self).await?;
                Ok(())
            }

            async fn challenge_awards(&mut self, challenge_id: i64) -> AppResult<Vec<i64>> {
                Ok(sqlx::query_scalar("select proposal_id from challenge_awards where challenge_id = $1 order by proposal_id")
                    .bind(challenge_id).fetch_all(&mut **self).await?)
            }

            async fn confine_answers(&mut self, challenge_id: i64, confined: bool) -> AppResult<Vec<i64>> {
                Ok(sqlx::query_scalar("update proposals set confined = $2 where challenge_id = $1 and confined <> $2 returning id")
                    .bind(challenge_id).bind(confined).fetch_all(&mut **self).await?)
            }

            async fn set_answer_of(&mut self, proposal_id: i64, challenge_id: Option<i64>, confined: bool) -> AppResult<()> {
                sqlx::query("update proposals set challenge_id = $2, confined = $3 where id = $1")
                    .bind(proposal_id).bind(challenge_id).bind(confined).execute(&mut **self).await?;
                Ok(())
            }

            async fn foreign_answers(&mut self, challenge_id: i64, enterprise_id: Option<i64>) -> AppResult<i64> {
                Ok(sqlx::query_scalar(
                    "select count(*) from proposals where challenge_id = $1
                       and (enterprise_id is null or cast($2 as bigint) is null or enterprise_id <> $2)",
                )
                .bind(challenge_id).bind(enterprise_id).fetch_one(&mut **self).await?)
            }

            async fn list_challenges(&mut self, v: &ChallengeSight, f: &ChallengeFilter, page: &KeyPage) -> AppResult<(Vec<ChallengeRow>, i64)> {
                let s = &v.list;
                let industry = v.industry.map(|i| i.as_str());
                let (status, f_industry, scope) =
                    (f.status.map(|x| x.as_str()), f.industry.map(|x| x.as_str()), f.scope.map(|x| x.as_str()));
                let rows_sql = format!(
                    "select c.* from challenges c where {CHALLENGE_VISIBLE} and {CHALLENGE_FILTERS} and {}",
                    page.newest_first("c.id", 9)
                );
                let rows = sqlx::query_as(&rows_sql)
                    .bind(s.is_admin).bind(s.viewer_id).bind(s.enterprise_id).bind(s.is_association).bind(industry)
                    .bind(status).bind(f_industry).bind(scope)
                    .bind(page.after).bind(page.before).bind(page.fetch)
                    .fetch_all(&mut **self).await?;
                let total: i64 = sqlx::query_scalar(&format!(
                    "select count(*) from challenges c where {CHALLENGE_VISIBLE} and {CHALLENGE_FILTERS}"
                ))
                .bind(s.is_admin).bind(s.viewer_id).bind(s.enterprise_id).bind(s.is_association).bind(industry)
                .bind(status).bind(f_industry).bind(scope)
                .fetch_one(&mut **self).await?;
                Ok((rows, total))
            }

            async fn challenge_progress(&mut self, challenge_id: i64) -> AppResult<ProgressRow> {
                Ok(sqlx::query_as(
                    "select cast(count(*) as bigint) as answers,
                        cast(coalesce(sum(case when p.status in ('ACCEPTED', 'INCUBATING', 'ADOPTED', 'PROMOTED') then 1 else 0 end), 0) as bigint) as accepted,
                        cast(coalesce(sum(case when p.status in ('ADOPTED', 'PROMOTED') then 1 else 0 end), 0) as bigint) as adopted,
                        coalesce(sum(v.tce), 0.0) as verified_tce, coalesce(sum(v.tco2e), 0.0) as verified_tco2e
                     from proposals p left join savings v on v.proposal_id = p.id and v.kind = 'VERIFIED'
                     where p.challenge_id = $1 and p.status <> 'DRAFT'",
                )
                .bind(challenge_id).fetch_one(&mut **self).await?)
            }

            async fn challenge_answers(&mut self, s: &ListScope, challenge_id: i64, page: &KeyPage) -> AppResult<(Vec<ProposalRow>, i64)> {
                let visible = format!("({} or {})", super::store::VISIBLE_BY_COLUMNS, super::store::VISIBLE_BY_SETS);
                let rows_sql = format!(
                    "select p.* from proposals p where p.challenge_id = $5 and {visible} and {}",
                    page.newest_first("p.id", 6)
                );
                let rows = sqlx::query_as(&rows_sql)
                    .bind(s.is_admin).bind(s.viewer_id).bind(s.enterprise_id).bind(s.is_association).bind(challenge_id)
                    .bind(page.after).bind(page.before).bind(page.fetch)
                    .fetch_all(&mut **self).await?;
                let total: i64 = sqlx::query_scalar(&format!("select count(*) from proposals p where p.challenge_id = $5 and {visible}"))
                    .bind(s.is_admin).bind(s.viewer_id).bind(s.enterprise_id).bind(s.is_association).bind(challenge_id)
                    .fetch_one(&mut **self).await?;
                Ok((rows, total))
            }

            async fn challenge_batch(&mut self, after_id: i64, limit: i64) -> AppResult<Vec<ChallengeRow>> {
                Ok(sqlx::query_as("select * from challenges where id > $1 order by id limit $2")
                    .bind(after_id).bind(limit).fetch_all(&mut **self).await?)
            }
        }
    };
}

challenge_impl!(sqlx::Transaction<'static, sqlx::Sqlite>);
challenge_impl!(sqlx::Transaction<'static, sqlx::Postgres>);
challenge_impl!(PoolConnection<sqlx::Sqlite>);
challenge_impl!(PoolConnection<sqlx::Postgres>);
