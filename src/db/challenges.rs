//! Challenges, their answers and awards, and help requests: the statements of this area for both
//! backends and both kinds of handle, like `store.rs`.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{pool::PoolConnection, FromRow};

use super::{
    rows::{KeyPage, ProposalRow},
    store::{placeholders, ListScope},
};
use crate::{
    domain::{
        challenge::{self, ChallengeOwner, ChallengeScope, ChallengeStatus, HelpStatus},
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

#[derive(FromRow, Clone, Debug)]
pub struct HelpRequestRow {
    pub id: i64,
    pub title: String,
    pub problem: String,
    pub industry: String,
    pub processes: String,
    pub equipment: String,
    pub consumption: String,
    pub enterprise_id: i64,
    pub requested_by: i64,
    pub status: String,
    pub studio_id: Option<i64>,
    pub taken_by: Option<i64>,
    pub taken_at: Option<DateTime<Utc>>,
    pub solution: Option<String>,
    pub resolved_by: Option<i64>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub close_reason: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub electricity_kwh: f64,
    pub coal_t: f64,
    pub natural_gas_m3: f64,
    pub steam_t: f64,
    pub water_t: f64,
    pub money_yuan: f64,
    pub investment_yuan: f64,
    pub tce: Option<f64>,
    pub tco2e: Option<f64>,
    pub factor_version: Option<i64>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl HelpRequestRow {
    pub fn status(&self) -> HelpStatus {
        HelpStatus::parse(&self.status).unwrap_or(HelpStatus::Closed)
    }

    pub fn rules(&self) -> challenge::HelpRequest {
        challenge::HelpRequest {
            enterprise_id: self.enterprise_id,
            requested_by: self.requested_by,
            status: self.status(),
            studio_id: self.studio_id,
        }
    }

    pub fn processes(&self) -> Vec<String> {
        serde_json::from_str(&self.processes).unwrap_or_default()
    }

    pub fn equipment(&self) -> Vec<String> {
        serde_json::from_str(&self.equipment).unwrap_or_default()
    }

    /// The verified savings of its resolution, when they were measured.
    pub fn verified(&self) -> Option<Converted> {
        Some(Converted {
            savings: Savings {
                electricity_kwh: self.electricity_kwh,
                coal_t: self.coal_t,
                natural_gas_m3: self.natural_gas_m3,
                steam_t: self.steam_t,
                water_t: self.water_t,
                money_yuan: self.money_yuan,
                investment_yuan: self.investment_yuan,
            },
            tce: self.tce?,
            tco2e: self.tco2e?,
            factor_version: self.factor_version?,
        })
    }
}

pub struct NewHelpRequest<'a> {
    pub title: &'a str,
    pub problem: &'a str,
    pub industry: Industry,
    /// JSON lists.
    pub processes: &'a str,
    pub equipment: &'a str,
    pub consumption: &'a str,
    pub enterprise_id: i64,
    pub requested_by: i64,
    pub now: DateTime<Utc>,
}

#[derive(Clone, Debug, Default)]
pub struct HelpFilter {
    pub status: Option<HelpStatus>,
    pub industry: Option<Industry>,
    pub studio_id: Option<i64>,
    pub enterprise_id: Option<i64>,
}

/// A studio's record, as ranking studios for a help request needs it: in one industry, what its
/// proposals and the help requests it resolved achieved.
#[derive(FromRow, Clone, Debug)]
pub struct StudioRecordRow {
    pub studio_id: i64,
    pub enterprise_id: i64,
    pub specialties: String,
    pub accepted: i64,
    pub adopted: i64,
    pub verified_tce: f64,
    pub helped: i64,
}

/// A resolved help request's savings, as impact figures need them.
#[derive(FromRow, Clone, Debug)]
pub struct HelpImpactRow {
    pub enterprise_id: i64,
    pub industry: String,
    pub studio_id: Option<i64>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub tce: f64,
    pub tco2e: f64,
    pub money_yuan: f64,
    pub investment_yuan: f64,
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

    async fn insert_help_request(&mut self, h: &NewHelpRequest<'_>) -> AppResult<HelpRequestRow>;
    async fn help_request(&mut self, id: i64) -> AppResult<Option<HelpRequestRow>>;
    async fn help_requests_by_ids(&mut self, ids: &[i64]) -> AppResult<Vec<HelpRequestRow>>;
    async fn list_help_requests(&mut self, f: &HelpFilter, page: &KeyPage) -> AppResult<(Vec<HelpRequestRow>, i64)>;
    async fn take_help_request(
        &mut self,
        id: i64,
        expected_version: i64,
        studio_id: i64,
        by: i64,
        now: DateTime<Utc>,
    ) -> AppResult<bool>;
    async fn resolve_help_request(
        &mut self,
        id: i64,
        expected_version: i64,
        solution: &str,
        verified: Option<&Converted>,
        by: i64,
        now: DateTime<Utc>,
    ) -> AppResult<bool>;
    async fn close_help_request(
        &mut self,
        id: i64,
        expected_version: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> AppResult<bool>;
    async fn add_help_technique(&mut self, id: i64, technique_id: i64) -> AppResult<()>;
    async fn help_techniques(&mut self, id: i64) -> AppResult<Vec<i64>>;
    /// Every studio's record in `industry` (studios without one are listed with zeros).
    async fn studio_records(&mut self, industry: &str) -> AppResult<Vec<StudioRecordRow>>;
    /// Resolved help requests with verified savings (all of them: savings are not secret).
    async fn help_impact_rows(
        &mut self,
        industry: Option<&str>,
        enterprise_id: Option<i64>,
    ) -> AppResult<Vec<HelpImpactRow>>;
    /// Challenges and help requests with `after_id < id`, for a rebuild of the index (at most `limit`).
    async fn challenge_batch(&mut self, after_id: i64, limit: i64) -> AppResult<Vec<ChallengeRow>>;
    async fn help_batch(&mut self, after_id: i64, limit: i64) -> AppResult<Vec<HelpRequestRow>>;
}

/// Visible challenges: $1 admin, $2 viewer, $3 viewer's enterprise, $4 association, $5 viewer's industry.
const CHALLENGE_VISIBLE: &str = "($1 or c.scope = 'PUBLIC' or (cast($2 as bigint) is not null and (
    c.created_by = $2 or c.enterprise_id = $3 or (c.scope = 'INDUSTRY' and ($4 or c.industry = $5)))))";

/// The challenge filters: $6 status, $7 industry, $8 scope.
const CHALLENGE_FILTERS: &str = "(cast($6 as text) is null or c.status = $6)
    and (cast($7 as text) is null or c.industry = $7) and (cast($8 as text) is null or c.scope = $8)";

/// The help request filters: $1 status, $2 industry, $3 studio, $4 enterprise.
const HELP_FILTERS: &str = "(cast($1 as text) is null or h.status = $1)
    and (cast($2 as text) is null or h.industry = $2) and (cast($3 as bigint) is null or h.studio_id = $3)
    and (cast($4 as bigint) is null or h.enterprise_id = $4)";

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
                let sql = format!("select * from challenges where id in ({})", placeholders(1, ids.len()));
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

            async fn insert_help_request(&mut self, h: &NewHelpRequest<'_>) -> AppResult<HelpRequestRow> {
                Ok(sqlx::query_as(
                    "insert into help_requests (title, problem, industry, processes, equipment, consumption, enterprise_id,
                        requested_by, status, created_at, updated_at)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, 'OPEN', $9, $9) returning *",
                )
                .bind(h.title).bind(h.problem).bind(h.industry.as_str()).bind(h.processes).bind(h.equipment)
                .bind(h.consumption).bind(h.enterprise_id).bind(h.requested_by).bind(h.now)
                .fetch_one(&mut **self).await?)
            }

            async fn help_request(&mut self, id: i64) -> AppResult<Option<HelpRequestRow>> {
                Ok(sqlx::query_as("select * from help_requests where id = $1").bind(id).fetch_optional(&mut **self).await?)
            }

            async fn help_requests_by_ids(&mut self, ids: &[i64]) -> AppResult<Vec<HelpRequestRow>> {
                if ids.is_empty() {
                    return Ok(vec![]);
                }
                let sql = format!("select * from help_requests where id in ({})", placeholders(1, ids.len()));
                Ok(ids.iter().fold(sqlx::query_as(&sql), |q, id| q.bind(*id)).fetch_all(&mut **self).await?)
            }

            async fn list_help_requests(&mut self, f: &HelpFilter, page: &KeyPage) -> AppResult<(Vec<HelpRequestRow>, i64)> {
                let (status, industry) = (f.status.map(|x| x.as_str()), f.industry.map(|x| x.as_str()));
                let rows_sql = format!("select h.* from help_requests h where {HELP_FILTERS} and {}", page.newest_first("h.id", 5));
                let rows = sqlx::query_as(&rows_sql)
                    .bind(status).bind(industry).bind(f.studio_id).bind(f.enterprise_id)
                    .bind(page.after).bind(page.before).bind(page.fetch)
                    .fetch_all(&mut **self).await?;
                let total: i64 = sqlx::query_scalar(&format!("select count(*) from help_requests h where {HELP_FILTERS}"))
                    .bind(status).bind(industry).bind(f.studio_id).bind(f.enterprise_id)
                    .fetch_one(&mut **self).await?;
                Ok((rows, total))
            }

            async fn take_help_request(&mut self, id: i64, expected_version: i64, studio_id: i64, by: i64, now: DateTime<Utc>) -> AppResult<bool> {
                let done = sqlx::query(
                    "update help_requests set status = 'TAKEN', studio_id = $3, taken_by = $4, taken_at = $5, updated_at = $5,
                        version = version + 1
                     where id = $1 and version = $2 and status = 'OPEN'",
                )
                .bind(id).bind(expected_version).bind(studio_id).bind(by).bind(now)
                .execute(&mut **self).await?;
                Ok(done.rows_affected() == 1)
            }

            async fn resolve_help_request(&mut self, id: i64, expected_version: i64, solution: &str, verified: Option<&Converted>, by: i64, now: DateTime<Utc>) -> AppResult<bool> {
                let s = verified.map(|v| v.savings).unwrap_or_default();
                let done = sqlx::query(
                    "update help_requests set status = 'RESOLVED', solution = $3, resolved_by = $4, resolved_at = $5,
                        updated_at = $5, electricity_kwh = $6, coal_t = $7, natural_gas_m3 = $8, steam_t = $9, water_t = $10,
                        money_yuan = $11, investment_yuan = $12, tce = $13, tco2e = $14, factor_version = $15,
                        version = version + 1
                     where id = $1 and version = $2 and status = 'TAKEN'",
                )
                .bind(id).bind(expected_version).bind(solution).bind(by).bind(now)
                .bind(s.electricity_kwh).bind(s.coal_t).bind(s.natural_gas_m3).bind(s.steam_t).bind(s.water_t)
                .bind(s.money_yuan).bind(s.investment_yuan)
                .bind(verified.map(|v| v.tce)).bind(verified.map(|v| v.tco2e)).bind(verified.map(|v| v.factor_version))
                .execute(&mut **self).await?;
                Ok(done.rows_affected() == 1)
            }

            async fn close_help_request(&mut self, id: i64, expected_version: i64, reason: &str, now: DateTime<Utc>) -> AppResult<bool> {
                let done = sqlx::query(
                    "update help_requests set status = 'CLOSED', close_reason = $3, closed_at = $4, updated_at = $4,
                        version = version + 1
                     where id = $1 and version = $2 and status in ('OPEN', 'TAKEN')",
                )
                .bind(id).bind(expected_version).bind(reason).bind(now)
                .execute(&mut **self).await?;
                Ok(done.rows_affected() == 1)
            }

            async fn add_help_technique(&mut self, id: i64, technique_id: i64) -> AppResult<()> {
                sqlx::query("insert into help_request_techniques (help_request_id, technique_id) values ($1, $2) on conflict do nothing")
                    .bind(id).bind(technique_id).execute(&mut **self).await?;
                Ok(())
            }

            async fn help_techniques(&mut self, id: i64) -> AppResult<Vec<i64>> {
                Ok(sqlx::query_scalar("select technique_id from help_request_techniques where help_request_id = $1 order by technique_id")
                    .bind(id).fetch_all(&mut **self).await?)
            }

            async fn studio_records(&mut self, industry: &str) -> AppResult<Vec<StudioRecordRow>> {
                Ok(sqlx::query_as(
                    "select s.id as studio_id, s.enterprise_id, s.specialties,
                        cast((select count(*) from proposals p where p.studio_id = s.id and p.industry = $1
                              and p.status in ('ACCEPTED', 'INCUBATING', 'ADOPTED', 'PROMOTED')) as bigint) as accepted,
                        cast((select count(*) from proposals p where p.studio_id = s.id and p.industry = $1
                              and p.status in ('ADOPTED', 'PROMOTED')) as bigint) as adopted,
                        coalesce((select sum(v.tce) from proposals p join savings v on v.proposal_id = p.id and v.kind = 'VERIFIED'
                              where p.studio_id = s.id and p.industry = $1), 0.0)
                          + coalesce((select sum(h.tce) from help_requests h where h.studio_id = s.id and h.industry = $1
                              and h.status = 'RESOLVED'), 0.0) as verified_tce,
                        cast((select count(*) from help_requests h where h.studio_id = s.id and h.status = 'RESOLVED') as bigint) as helped
                     from studios s order by s.id",
                )
                .bind(industry).fetch_all(&mut **self).await?)
            }

            async fn help_impact_rows(&mut self, industry: Option<&str>, enterprise_id: Option<i64>) -> AppResult<Vec<HelpImpactRow>> {
                Ok(sqlx::query_as(
                    "select enterprise_id, industry, studio_id, resolved_at, tce, tco2e, money_yuan, investment_yuan
                     from help_requests where status = 'RESOLVED' and tce is not null
                        and (cast($1 as text) is null or industry = $1) and (cast($2 as bigint) is null or enterprise_id = $2)
                     order by id",
                )
                .bind(industry).bind(enterprise_id).fetch_all(&mut **self).await?)
            }

            async fn challenge_batch(&mut self, after_id: i64, limit: i64) -> AppResult<Vec<ChallengeRow>> {
                Ok(sqlx::query_as("select * from challenges where id > $1 order by id limit $2")
                    .bind(after_id).bind(limit).fetch_all(&mut **self).await?)
            }

            async fn help_batch(&mut self, after_id: i64, limit: i64) -> AppResult<Vec<HelpRequestRow>> {
                Ok(sqlx::query_as("select * from help_requests where id > $1 order by id limit $2")
                    .bind(after_id).bind(limit).fetch_all(&mut **self).await?)
            }
        }
    };
}

challenge_impl!(sqlx::Transaction<'static, sqlx::Sqlite>);
challenge_impl!(sqlx::Transaction<'static, sqlx::Postgres>);
challenge_impl!(PoolConnection<sqlx::Sqlite>);
challenge_impl!(PoolConnection<sqlx::Postgres>);
