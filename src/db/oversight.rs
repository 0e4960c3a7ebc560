//! Oversight, appeals and changes to the rules: the statements of this area for both backends and both
//! kinds of handle, like `store.rs`.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{pool::PoolConnection, FromRow};

use super::store::InOrder;
use crate::error::AppResult;

/// A proposal in an oversight scope.
#[derive(FromRow, Clone, Debug)]
pub struct OverseenRow {
    pub id: i64,
    pub title: String,
    pub status: String,
    pub round: i64,
    pub studio_id: Option<i64>,
    pub team_id: Option<i64>,
    pub enterprise_id: Option<i64>,
}

/// A decision-relevant event of an overseen proposal.
#[derive(FromRow, Clone, Debug)]
pub struct OverseenEvent {
    pub proposal_id: i64,
    pub kind: String,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(FromRow, Clone, Debug)]
pub struct OverseenAssignment {
    pub proposal_id: i64,
    pub round: i64,
    pub reviewer_id: i64,
    pub due_on: Option<NaiveDate>,
    pub evaluated: bool,
}

#[derive(FromRow, Clone, Debug)]
pub struct AppealRow {
    pub id: i64,
    pub proposal_id: i64,
    pub round: i64,
    pub appellant_id: i64,
    pub reason: String,
    pub status: String,
    pub opinion: Option<String>,
    pub opinion_by: Option<i64>,
    pub opinion_at: Option<DateTime<Utc>>,
    pub decided_by: Option<i64>,
    pub decision_reason: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub version: i64,
}

#[derive(FromRow, Clone, Debug)]
pub struct RuleChangeRow {
    pub id: i64,
    pub kind: String,
    pub content: String,
    pub note: String,
    pub status: String,
    pub proposed_by: i64,
    pub proposed_at: DateTime<Utc>,
    pub decided_by: Option<i64>,
    pub decision_note: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The criteria or factor version it became, once approved.
    pub version: Option<i64>,
    pub row_version: i64,
}

/// A proposal a person (co-)wrote, with what the skill record needs.
#[derive(FromRow, Clone, Debug)]
pub struct AuthoredRow {
    pub proposal_id: i64,
    pub title: String,
    pub category: String,
    pub status: String,
    pub position: i64,
    pub authors: i64,
    pub challenge_id: Option<i64>,
    pub tce: Option<f64>,
    pub tco2e: Option<f64>,
}

/// The most proposals one oversight report reads; a wider scope is refused (name an enterprise or an industry).
pub const OVERSEEN_MAX: usize = 20_000;

/// Which proposals oversight looks at: one enterprise, or one industry, or all (admins, associations).
#[derive(Clone, Debug, Default)]
pub struct OversightScope {
    pub enterprise_id: Option<i64>,
    pub industry: Option<String>,
}

#[async_trait::async_trait]
pub trait OversightStore: Send {
    /// Proposals in scope that reached review (not drafts), at most [`OVERSEEN_MAX`] + 1.
    async fn overseen(&mut self, scope: &OversightScope) -> AppResult<Vec<OverseenRow>>;
    /// Their submission, reopening and decision events, in order.
    async fn overseen_events(&mut self, ids: &[i64]) -> AppResult<Vec<OverseenEvent>>;
    /// Their evaluations (any round).
    async fn overseen_evaluations(&mut self, ids: &[i64]) -> AppResult<Vec<super::rows::EvaluationRow>>;
    /// Their review assignments in the current round, with whether each was evaluated.
    async fn overseen_assignments(&mut self, ids: &[i64]) -> AppResult<Vec<OverseenAssignment>>;
    /// Every reviewer who was ever assigned to the proposal.
    async fn past_reviewers(&mut self, proposal_id: i64) -> AppResult<Vec<i64>>;

    async fn insert_appeal(
        &mut self,
        proposal_id: i64,
        round: i64,
        by: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> AppResult<AppealRow>;
    async fn appeal(&mut self, id: i64) -> AppResult<Option<AppealRow>>;
    async fn appeals_of(&mut self, proposal_id: i64) -> AppResult<Vec<AppealRow>>;
    /// Appeals of proposals in scope, newest first (`status` filters).
    async fn appeals_in(&mut self, scope: &OversightScope, status: Option<&str>) -> AppResult<Vec<AppealRow>>;
    /// Sets the opinion when the appeal is at `expected` version; false when it was not.
    async fn set_appeal_opinion(
        &mut self,
        id: i64,
        expected: i64,
        by: i64,
        opinion: &str,
        now: DateTime<Utc>,
    ) -> AppResult<bool>;
    async fn decide_appeal(
        &mut self,
        id: i64,
        expected: i64,
        status: &str,
        by: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> AppResult<bool>;

    async fn insert_rule_change(
        &mut self,
        kind: &str,
        content: &str,
        note: &str,
        by: i64,
        now: DateTime<Utc>,
    ) -> AppResult<RuleChangeRow>;
    async fn rule_change(&mut self, id: i64) -> AppResult<Option<RuleChangeRow>>;
    /// Changes, newest first (`status` filters).
    async fn rule_changes(&mut self, status: Option<&str>) -> AppResult<Vec<RuleChangeRow>>;
    #[allow(clippy::too_many_arguments)]
    async fn decide_rule_change(
        &mut self,
        id: i64,
        expected: i64,
        status: &str,
        by: i64,
        note: &str,
        version: Option<i64>,
        now: DateTime<Utc>,
    ) -> AppResult<bool>;
    /// What the person (co-)wrote, for their skill record.
    async fn authored(&mut self, user_id: i64) -> AppResult<Vec<AuthoredRow>>;
    /// How many evaluations the person gave.
    async fn evaluations_given(&mut self, user_id: i64) -> AppResult<i64>;
    /// Writes a new version of the criteria: (key, name, weight, description) in order; returns the version.
    async fn insert_criteria_version(
        &mut self,
        rows: &[(String, String, f64, String)],
        now: DateTime<Utc>,
    ) -> AppResult<i64>;
    /// Writes a new version of the factor table; returns the version.
    async fn insert_factor_version(&mut self, rows: &[super::rows::FactorRow], now: DateTime<Utc>) -> AppResult<i64>;
}

/// `where` for proposals in scope, with its binds from `$1`.
fn scope_where(scope: &OversightScope) -> String {
    let mut w = vec!["p.status <> 'DRAFT'".to_owned()];
    let mut n = 0;
    if scope.enterprise_id.is_some() {
        n += 1;
        w.push(format!("p.enterprise_id = ${n}"));
    }
    if scope.industry.is_some() {
        n += 1;
        w.push(format!("p.industry = ${n}"));
    }
    w.join(" and ")
}

macro_rules! bind_scope {
    ($q:expr, $scope:expr) => {{
        let mut q = $q;
        if let Some(e) = $scope.enterprise_id {
            q = q.bind(e);
        }
        if let Some(i) = &$scope.industry {
            q = q.bind(i.clone());
        }
        q
    }};
}

macro_rules! oversight_impl {
    ($ty:ty) => {
        #[async_trait::async_trait]
        impl OversightStore for $ty {
            async fn overseen(&mut self, scope: &OversightScope) -> AppResult<Vec<OverseenRow>> {
                let sql = format!(
                    "select p.id, p.title, p.status, p.round, p.studio_id, p.team_id, p.enterprise_id from proposals p
                     where {} and p.round > 0 order by p.id limit {}",
                    scope_where(scope),
                    OVERSEEN_MAX + 1
                );
                Ok(bind_scope!(sqlx::query_as(&sql), scope).fetch_all(&mut **self).await?)
            }

            async fn overseen_events(&mut self, ids: &[i64]) -> AppResult<Vec<OverseenEvent>> {
                let mut out = Vec::new();
                for chunk in ids.chunks(500) {
                    let sql = format!(
                        "select proposal_id, kind, reason, created_at from events where proposal_id in ({})
                         and kind in ('SUBMITTED', 'REOPENED', 'ACCEPTED', 'RETURNED', 'REJECTED') order by proposal_id, id",
                        <Self as InOrder>::params(chunk.len(), 1)
                    );
                    let mut q = sqlx::query_as(&sql);
                    for id in chunk {
                        q = q.bind(id);
                    }
                    out.extend(q.fetch_all(&mut **self).await?);
                }
                Ok(out)
            }

            async fn overseen_evaluations(&mut self, ids: &[i64]) -> AppResult<Vec<super::rows::EvaluationRow>> {
                let mut out = Vec::new();
                for chunk in ids.chunks(500) {
                    let sql = format!(
                        "select * from evaluations where proposal_id in ({}) order by proposal_id, round, reviewer_id",
                        <Self as InOrder>::params(chunk.len(), 1)
                    );
                    let mut q = sqlx::query_as(&sql);
                    for id in chunk {
                        q = q.bind(id);
                    }
                    out.extend(q.fetch_all(&mut **self).await?);
                }
                Ok(out)
            }

            async fn overseen_assignments(&mut self, ids: &[i64]) -> AppResult<Vec<OverseenAssignment>> {
                let mut out = Vec::new();
                for chunk in ids.chunks(500) {
                    let sql = format!(
                        "select a.proposal_id, a.round, a.reviewer_id, a.due_on,
                                exists (select 1 from evaluations e where e.proposal_id = a.proposal_id and e.round = a.round
                                        and e.reviewer_id = a.reviewer_id) as evaluated
                         from review_assignments a join proposals p on p.id = a.proposal_id and p.round = a.round
                         where a.proposal_id in ({}) and p.status = 'EVALUATING' order by a.proposal_id, a.reviewer_id",
                        <Self as InOrder>::params(chunk.len(), 1)
                    );
                    let mut q = sqlx::query_as(&sql);
                    for id in chunk {
                        q = q.bind(id);
                    }
                    out.extend(q.fetch_all(&mut **self).await?);
                }
                Ok(out)
            }

            async fn past_reviewers(&mut self, proposal_id: i64) -> AppResult<Vec<i64>> {
                Ok(sqlx::query_scalar("select distinct reviewer_id from review_assignments where proposal_id = $1")
                    .bind(proposal_id).fetch_all(&mut **self).await?)
            }

            async fn insert_appeal(&mut self, proposal_id: i64, round: i64, by: i64, reason: &str, now: DateTime<Utc>) -> AppResult<AppealRow> {
                Ok(sqlx::query_as(
                    "insert into appeals (proposal_id, round, appellant_id, reason, status, created_at)
                     values ($1, $2, $3, $4, 'OPEN', $5) returning *",
                )
                .bind(proposal_id).bind(round).bind(by).bind(reason).bind(now)
                .fetch_one(&mut **self).await?)
            }

            async fn appeal(&mut self, id: i64) -> AppResult<Option<AppealRow>> {
                Ok(sqlx::query_as("select * from appeals where id = $1").bind(id).fetch_optional(&mut **self).await?)
            }

            async fn appeals_of(&mut self, proposal_id: i64) -> AppResult<Vec<AppealRow>> {
                Ok(sqlx::query_as("select * from appeals where proposal_id = $1 order by id")
                    .bind(proposal_id).fetch_all(&mut **self).await?)
            }

            async fn appeals_in(&mut self, scope: &OversightScope, status: Option<&str>) -> AppResult<Vec<AppealRow>> {
                let n = scope.enterprise_id.is_some() as usize + scope.industry.is_some() as usize;
                let sql = format!(
                    "select a.* from appeals a join proposals p on p.id = a.proposal_id
                     where {} and (cast(${} as text) is null or a.status = ${}) order by a.id desc limit 500",
                    scope_where(scope), n + 1, n + 1
                );
                Ok(bind_scope!(sqlx::query_as(&sql), scope).bind(status).fetch_all(&mut **self).await?)
            }

            async fn set_appeal_opinion(&mut self, id: i64, expected: i64, by: i64, opinion: &str, now: DateTime<Utc>) -> AppResult<bool> {
                let r = sqlx::query(
                    "update appeals set opinion = $1, opinion_by = $2, opinion_at = $3, version = version + 1
                     where id = $4 and version = $5 and status = 'OPEN'",
                )
                .bind(opinion).bind(by).bind(now).bind(id).bind(expected)
                .execute(&mut **self).await?;
                Ok(r.rows_affected() == 1)
            }

            async fn decide_appeal(&mut self, id: i64, expected: i64, status: &str, by: i64, reason: &str, now: DateTime<Utc>) -> AppResult<bool> {
                let r = sqlx::query(
                    "update appeals set status = $1, decided_by = $2, decision_reason = $3, decided_at = $4, version = version + 1
                     where id = $5 and version = $6 and status = 'OPEN'",
                )
                .bind(status).bind(by).bind(reason).bind(now).bind(id).bind(expected)
                .execute(&mut **self).await?;
                Ok(r.rows_affected() == 1)
            }

            async fn insert_rule_change(&mut self, kind: &str, content: &str, note: &str, by: i64, now: DateTime<Utc>) -> AppResult<RuleChangeRow> {
                Ok(sqlx::query_as(
                    "insert into rule_changes (kind, content, note, status, proposed_by, proposed_at)
                     values ($1, $2, $3, 'PROPOSED', $4, $5) returning *",
                )
                .bind(kind).bind(content).bind(note).bind(by).bind(now)
                .fetch_one(&mut **self).await?)
            }

            async fn rule_change(&mut self, id: i64) -> AppResult<Option<RuleChangeRow>> {
                Ok(sqlx::query_as("select * from rule_changes where id = $1").bind(id).fetch_optional(&mut **self).await?)
            }

            async fn rule_changes(&mut self, status: Option<&str>) -> AppResult<Vec<RuleChangeRow>> {
                Ok(sqlx::query_as(
                    "select * from rule_changes where cast($1 as text) is null or status = $1 order by id desc limit 500",
                )
                .bind(status).fetch_all(&mut **self).await?)
            }

            async fn decide_rule_change(&mut self, id: i64, expected: i64, status: &str, by: i64, note: &str, version: Option<i64>, now: DateTime<Utc>) -> AppResult<bool> {
                let r = sqlx::query(
                    "update rule_changes set status = $1, decided_by = $2, decision_note = $3, version = $4, decided_at = $5,
                     row_version = row_version + 1 where id = $6 and row_version = $7 and status = 'PROPOSED'",
                )
                .bind(status).bind(by).bind(note).bind(version).bind(now).bind(id).bind(expected)
                .execute(&mut **self).await?;
                Ok(r.rows_affected() == 1)
            }

            async fn authored(&mut self, user_id: i64) -> AppResult<Vec<AuthoredRow>> {
                Ok(sqlx::query_as(
                    "select p.id as proposal_id, p.title, p.category, p.status, cast(a.position as bigint) as position,
                            (select count(*) from proposal_authors x where x.proposal_id = p.id) as authors,
                            p.challenge_id, s.tce, s.tco2e
                     from proposal_authors a join proposals p on p.id = a.proposal_id
                     left join savings s on s.proposal_id = p.id and s.kind = 'VERIFIED'
                     where a.user_id = $1 order by p.id",
                )
                .bind(user_id).fetch_all(&mut **self).await?)
            }

            async fn evaluations_given(&mut self, user_id: i64) -> AppResult<i64> {
                Ok(sqlx::query_scalar("select count(*) from evaluations where reviewer_id = $1")
                    .bind(user_id).fetch_one(&mut **self).await?)
            }

            async fn insert_criteria_version(&mut self, rows: &[(String, String, f64, String)], now: DateTime<Utc>) -> AppResult<i64> {
                let version: i64 = sqlx::query_scalar("select coalesce(max(version), 0) + 1 from criteria").fetch_one(&mut **self).await?;
                for (position, (key, name, weight, description)) in rows.iter().enumerate() {
                    sqlx::query(
                        "insert into criteria (version, key, name, weight, description, position, published_at)
                         values ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(version).bind(key).bind(name).bind(weight).bind(description).bind(position as i64).bind(now)
                    .execute(&mut **self).await?;
                }
                Ok(version)
            }

            async fn insert_factor_version(&mut self, rows: &[super::rows::FactorRow], now: DateTime<Utc>) -> AppResult<i64> {
                let version: i64 =
                    sqlx::query_scalar("select coalesce(max(version), 0) + 1 from conversion_factors").fetch_one(&mut **self).await?;
                let today = crate::domain::today(now);
                for f in rows {
                    sqlx::query(
                        "insert into conversion_factors (version, carrier, quantity, factor, unit, published_factor, basis, source, year, valid_from)
                         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(version).bind(&f.carrier).bind(&f.quantity).bind(f.factor).bind(&f.unit).bind(f.published_factor)
                    .bind(&f.basis).bind(&f.source).bind(f.year).bind(today)
                    .execute(&mut **self).await?;
                }
                Ok(version)
            }
        }
    };
}

oversight_impl!(sqlx::Transaction<'static, sqlx::Sqlite>);
oversight_impl!(sqlx::Transaction<'static, sqlx::Postgres>);
oversight_impl!(PoolConnection<sqlx::Sqlite>);
oversight_impl!(PoolConnection<sqlx::Postgres>);
