//! Help requests (劳模工匠助企行) and what matching and impact need of them: the statements of this area
//! for both backends and both kinds of handle, like `store.rs`.

use chrono::{DateTime, Utc};
use sqlx::{pool::PoolConnection, FromRow};

use super::{rows::KeyPage, store::InOrder};
use crate::{
    domain::{
        challenge::{self, HelpStatus},
        organisation::Industry,
        savings::{Converted, Savings},
    },
    error::AppResult,
};

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

impl StudioRecordRow {
    pub fn into_domain(self) -> challenge::StudioRecord {
        challenge::StudioRecord {
            studio_id: self.studio_id,
            enterprise_id: self.enterprise_id,
            specialties: self.specialties,
            accepted: self.accepted,
            adopted: self.adopted,
            verified_tce: self.verified_tce,
            helped: self.helped,
        }
    }
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

impl HelpImpactRow {
    /// The row as impact figures count it: its verified savings, with the studio that resolved it; no
    /// proposal (`help`), so no status, category, team or challenge of its own. Its month is when it was
    /// resolved.
    pub fn into_domain(self) -> crate::domain::impact::ImpactRow {
        crate::domain::impact::ImpactRow {
            help: true,
            challenge_id: None,
            enterprise_id: Some(self.enterprise_id),
            industry: self.industry,
            studio_id: self.studio_id,
            team_id: None,
            category: String::new(),
            status: crate::domain::lifecycle::Status::Adopted,
            submitted_at: self.resolved_at,
            decided_at: None,
            adopted_at: None,
            expected: None,
            verified: Some((self.tce, self.tco2e, self.money_yuan, self.investment_yuan)),
        }
    }
}

#[async_trait::async_trait]
pub trait HelpStore: Send {
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
    /// Help requests with `after_id < id`, for a rebuild of the index (at most `limit`).
    async fn help_batch(&mut self, after_id: i64, limit: i64) -> AppResult<Vec<HelpRequestRow>>;
}

/// The help request filters: $1 status, $2 industry, $3 studio, $4 enterprise.
const HELP_FILTERS: &str = "(cast($1 as text) is null or h.status = $1)
    and (cast($2 as text) is null or h.industry = $2) and (cast($3 as bigint) is null or h.studio_id = $3)
    and (cast($4 as bigint) is null or h.enterprise_id = $4)";

macro_rules! help_impl {
    ($ty:ty) => {
        #[async_trait::async_trait]
        impl HelpStore for $ty {
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
                let sql = format!("select * from help_requests where id in ({})", <Self as InOrder>::params(ids.len(), 1));
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

            async fn help_batch(&mut self, after_id: i64, limit: i64) -> AppResult<Vec<HelpRequestRow>> {
                Ok(sqlx::query_as("select * from help_requests where id > $1 order by id limit $2")
                    .bind(after_id).bind(limit).fetch_all(&mut **self).await?)
            }
        }
    };
}

help_impl!(sqlx::Transaction<'static, sqlx::Sqlite>);
help_impl!(sqlx::Transaction<'static, sqlx::Postgres>);
help_impl!(PoolConnection<sqlx::Sqlite>);
help_impl!(PoolConnection<sqlx::Postgres>);
