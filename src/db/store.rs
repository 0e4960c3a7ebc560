//! `Store`: every statement of the proposal journey, written once and implemented for both backends —
//! on a transaction (writes) and on a plain pooled connection (reads) — by the `store_impl!` macro.
//! Callers hold a `&mut dyn Store` and never know which database is behind it.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::pool::PoolConnection;

use super::{organisations::EnterpriseRow, rows::*, users::UserRow};
use crate::{
    domain::{
        lifecycle::Status,
        savings::{Converted, SavingsKind},
    },
    error::{AppError, AppResult, ErrorCode},
};

/// A new proposal row.
#[derive(Clone, Debug)]
pub struct NewProposal {
    pub external_id: Option<String>,
    pub title: String,
    pub body: String,
    pub category: String,
    pub industry: String,
    pub tags: String,
    pub enterprise_id: Option<i64>,
    pub team_id: Option<i64>,
    pub created_by: Option<i64>,
    pub on_behalf_of: Option<String>,
    pub status: Status,
    pub idempotency_key: Option<String>,
    pub now: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewEvent<'a> {
    pub proposal_id: i64,
    pub kind: &'a str,
    pub actor_id: Option<i64>,
    pub from_status: Option<Status>,
    pub to_status: Status,
    pub from_version: i64,
    pub reason: Option<&'a str>,
    /// A submission's content hashes (`domain::proof::ContentDigest`), which the chain then covers.
    pub content: Option<&'a str>,
    pub now: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewTechnique {
    pub external_id: Option<String>,
    pub name: String,
    pub industry: String,
    pub scope: String,
    pub principle: String,
    pub key_parameters: String,
    pub typical_case: String,
    pub effect: String,
    pub investment_yuan: Option<f64>,
    pub payback_years: Option<f64>,
    pub promotion_potential: String,
    pub created_by: Option<i64>,
    pub now: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewAdoption {
    pub technique_id: i64,
    pub enterprise_id: i64,
    pub proposal_id: Option<i64>,
    pub adopted_on: NaiveDate,
    pub converted: Converted,
    pub note: String,
    pub recorded_by: i64,
    pub now: DateTime<Utc>,
}

/// What goes with each imported proposal once its row exists: written for a whole batch in a few
/// multi-row statements (SQLite answers each statement through a thread hand-off; six per record dominated).
#[derive(Clone, Debug)]
pub struct ImportedExtras {
    pub proposal_id: i64,
    pub status: Status,
    pub authors: Vec<String>,
    pub savings: Vec<(SavingsKind, Converted)>,
    pub reason: String,
}

/// The dates a new proposal row starts with: none for a draft written here; those its source recorded for an
/// imported one.
#[derive(Clone, Debug, Default)]
pub struct ProposalDates {
    pub submitted_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub adopted_at: Option<DateTime<Utc>>,
}

/// What the viewer is, for the visibility filter of lists (the SQL twin of `domain::proposal::can_view`).
#[derive(Clone, Debug, Default)]
pub struct ListScope {
    pub viewer_id: Option<i64>,
    pub enterprise_id: Option<i64>,
    pub is_admin: bool,
    pub is_association: bool,
}

#[derive(Clone, Debug, Default)]
pub struct ProposalFilter {
    pub status: Option<String>,
    pub category: Option<String>,
    pub industry: Option<String>,
    pub enterprise_id: Option<i64>,
    /// Only proposals the viewer authored.
    pub mine: bool,
}

/// The parameters of a statement whose values are all bound in the order they appear: `$1, $2, …` on
/// PostgreSQL, bare `?` on SQLite. SQLite finds a named parameter (`$7`) by scanning a list of every name,
/// and sqlx asks for the name of each parameter it binds, so a statement of n named parameters costs n²:
/// the chainer's inserts of 2,500 values took 7–13 % of the CPU of a catch-up (BENCHMARKS.md). A bare `?`
/// has no name to look up. sqlx numbers bare `?` on its own, so a statement uses these for all its
/// parameters or for none.
pub(super) trait InOrder {
    /// The `i`th parameter (from 1).
    fn param(i: usize) -> String;

    /// Parameters `first` to `first + n - 1`, for an `in (…)` list after `first - 1` others.
    fn list_from(first: usize, n: usize) -> String {
        (first..first + n).map(Self::param).collect::<Vec<_>>().join(", ")
    }

    /// Groups of `width` parameters, `groups` of them, for `values (…), (…)` or an `in (…)` list
    /// (`groups` of one, without parentheses).
    fn params(groups: usize, width: usize) -> String {
        (0..groups)
            .map(|g| {
                let group: Vec<String> = (1..=width).map(|k| Self::param(g * width + k)).collect();
                if width == 1 {
                    group.concat()
                } else {
                    format!("({})", group.join(", "))
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

macro_rules! in_order {
    ($ty:ty, $bare:literal) => {
        impl InOrder for $ty {
            fn param(i: usize) -> String {
                if $bare {
                    "?".to_owned()
                } else {
                    format!("${i}")
                }
            }
        }
    };
}
in_order!(sqlx::Transaction<'static, sqlx::Sqlite>, true);
in_order!(sqlx::Transaction<'static, sqlx::Postgres>, false);
in_order!(PoolConnection<sqlx::Sqlite>, true);
in_order!(PoolConnection<sqlx::Postgres>, false);

/// Visible without looking at the viewer's authorships or review assignments: admins, public statuses, the
/// viewer's own rows, their enterprise's submitted ones, association statuses for associations. Only
/// columns of the `proposals_visibility` index. Parameters as in [`proposal_list_where`].
pub(super) const VISIBLE_BY_COLUMNS: &str = "($1 or (p.status in ('ADOPTED', 'PROMOTED') and not p.confined)
    or (cast($2 as bigint) is not null and (
        p.created_by = $2
        or (p.status <> 'DRAFT' and (
            p.enterprise_id = $3
            or ($4 and p.status in ('ACCEPTED', 'INCUBATING', 'ADOPTED', 'PROMOTED') and not p.confined))))))";

/// The rest of the visibility rule: proposals the viewer co-wrote, or (once submitted) is assigned to review.
pub(super) const VISIBLE_BY_SETS: &str = "(cast($2 as bigint) is not null and (
    p.id in (select a.proposal_id from proposal_authors a where a.user_id = $2)
    or (p.status <> 'DRAFT' and p.id in (select r.proposal_id from review_assignments r where r.reviewer_id = $2))))";

/// The columns a new review round sets, for [`Store::start_round`] and [`Store::submit_round`]: `$1` is the
/// time, `$2` the submission's idempotency key (kept when absent). One list, so that a column a round resets
/// cannot be reset by one statement and forgotten by the other.
macro_rules! new_round_columns {
    () => {
        "round = round + 1, submitted_at = $1, idempotency_key = coalesce(cast($2 as text), idempotency_key),
         decision = null, decision_reason = null, decision_criteria_version = null, decided_at = null"
    };
}

/// A write that expected another version of the proposal than the database has.
fn version_conflict() -> AppError {
    AppError::field(
        ErrorCode::VersionConflict,
        "expectedVersion",
        "the proposal changed since you loaded it; reload and try again / 建议已被他人修改，请刷新后重试",
    )
}

/// The list filters. Only the filters that are set become conditions on a column (absent ones are bound as
/// null and tested as such), so that the planner can use the status and enterprise indexes.
fn proposal_filters(f: &ProposalFilter) -> String {
    let on = |set: bool, column: &str, param: &str, ty: &str| {
        if set {
            format!("p.{column} = {param}")
        } else {
            format!("cast({param} as {ty}) is null")
        }
    };
    format!(
        "{} and {} and {} and {}
        and (not $9 or p.created_by = $2 or p.id in (select a.proposal_id from proposal_authors a where a.user_id = $2))",
        on(f.status.is_some(), "status", "$5", "text"),
        on(f.category.is_some(), "category", "$6", "text"),
        on(f.industry.is_some(), "industry", "$7", "text"),
        on(f.enterprise_id.is_some(), "enterprise_id", "$8", "bigint"),
    )
}

/// The visibility rule and filters shared by the list, its count and the exports. Parameters: $1 admin,
/// $2 viewer, $3 viewer's enterprise, $4 association, $5 status, $6 category, $7 industry, $8 enterprise,
/// $9 mine. The viewer's authorships and review assignments are uncorrelated `in (…)` sets, read once per
/// query, not probed once per row (a page's count over 17,000 rows: 23 → 7 ms on SQLite).
///
/// On PostgreSQL, statements built on this rule are not kept prepared (`persistent(false)`, the store's
/// `$keep_list_plans`): each is planned with the viewer's values (which of the `or` branches can hold)
/// instead of one generic plan for every viewer after five runs — a list's count over 17,000 rows took
/// 16.5 ms with the generic plan, 4.8 ms with its own. SQLite keeps them: compiling them again cost ~1 ms
/// per list under the mixed load.
fn proposal_list_where(f: &ProposalFilter) -> String {
    format!("({VISIBLE_BY_COLUMNS} or {VISIBLE_BY_SETS}) and {}", proposal_filters(f))
}

/// The count of [`proposal_list_where`], as two parts that never overlap: rows visible by their columns
/// (no set probe per row: 3.9 → 1.7 ms for 5,700 of 17,000 rows on SQLite), plus the few rows of the
/// viewer's authorship and assignment sets that are visible only through them, read from those sets
/// (`cross join` keeps SQLite from scanning the status range instead).
fn proposal_count_sql(f: &ProposalFilter) -> String {
    let filters = proposal_filters(f);
    format!(
        "select (select count(*) from proposals p where {VISIBLE_BY_COLUMNS} and {filters})
              + (select count(*)
                 from (select a.proposal_id as id from proposal_authors a where a.user_id = $2
                       union select r.proposal_id from review_assignments r where r.reviewer_id = $2) s
                 cross join proposals p
                 where p.id = s.id and not coalesce({VISIBLE_BY_COLUMNS}, false) and {VISIBLE_BY_SETS} and {filters})"
    )
}

#[async_trait::async_trait]
pub trait Store:
    super::coauthors::CoAuthorStore
    + super::challenges::ChallengeStore
    + super::help::HelpStore
    + super::proof::ProofStore
    + super::oversight::OversightStore
    + super::feed::FeedStore
    + super::persisted::PersistedStore
    + super::people::PeopleStore
    + super::notifications::NotificationStore
    + Send
{
    // --- reads -------------------------------------------------------------------------------------
    async fn user(&mut self, id: i64) -> AppResult<Option<UserRow>>;
    async fn enterprise(&mut self, id: i64) -> AppResult<Option<EnterpriseRow>>;
    async fn proposal(&mut self, id: i64) -> AppResult<Option<ProposalRow>>;
    async fn proposal_by_idempotency_key(&mut self, user_id: i64, key: &str) -> AppResult<Option<ProposalRow>>;
    async fn proposals_by_external_ids(&mut self, external_ids: &[String]) -> AppResult<Vec<ProposalRow>>;
    /// A proposal without an external id whose title and body are exactly these (how import matches records
    /// that carry no external id).
    async fn proposal_by_text(&mut self, title: &str, body: &str) -> AppResult<Option<ProposalRow>>;
    async fn technique_by_external_id(&mut self, external_id: &str) -> AppResult<Option<TechniqueRow>>;
    /// A technique without an external id and with exactly this name.
    async fn technique_by_name(&mut self, name: &str) -> AppResult<Option<TechniqueRow>>;
    async fn authors(&mut self, proposal_id: i64) -> AppResult<Vec<AuthorRow>>;
    /// Proposals by id (search hits), with their authors and the ids among them `viewer` is assigned to review.
    async fn proposals_by_ids(
        &mut self,
        ids: &[i64],
        viewer: Option<i64>,
    ) -> AppResult<(Vec<ProposalRow>, Vec<AuthorRow>, Vec<i64>)>;
    /// What deciding how a viewer sees these proposals takes: their authors, and the ids among them
    /// `viewer` is assigned to review. Two statements for a whole page instead of two per row.
    async fn proposal_viewing(&mut self, ids: &[i64], viewer: Option<i64>) -> AppResult<(Vec<AuthorRow>, Vec<i64>)>;
    /// The authors of these proposals, by proposal and position.
    async fn authors_of(&mut self, ids: &[i64]) -> AppResult<Vec<AuthorRow>>;
    /// A page of the proposals the scope may see, newest (highest id) first, by key: the rows nearest to
    /// the page's cursor first (`page.backward`: the list's order reversed), and the count of all.
    async fn list_proposals(
        &mut self,
        scope: &ListScope,
        f: &ProposalFilter,
        page: &KeyPage,
    ) -> AppResult<(Vec<ProposalRow>, i64)>;
    async fn is_assigned_reviewer(&mut self, proposal_id: i64, user_id: i64) -> AppResult<bool>;
    async fn assignments(&mut self, proposal_id: i64, round: i64) -> AppResult<Vec<AssignmentRow>>;
    async fn review_queue(&mut self, reviewer_id: i64) -> AppResult<Vec<AssignmentRow>>;
    async fn evaluations(&mut self, proposal_id: i64, round: i64) -> AppResult<Vec<EvaluationRow>>;
    async fn criteria(&mut self, version: Option<i64>) -> AppResult<Vec<CriterionRow>>;
    async fn factors(&mut self, version: Option<i64>) -> AppResult<Vec<FactorRow>>;
    async fn savings(&mut self, proposal_id: i64, kind: SavingsKind) -> AppResult<Option<SavingsRow>>;
    async fn pilot(&mut self, proposal_id: i64) -> AppResult<Option<PilotRow>>;
    async fn milestones(&mut self, proposal_id: i64) -> AppResult<Vec<MilestoneRow>>;
    async fn measurements(&mut self, proposal_id: i64) -> AppResult<Vec<MeasurementRow>>;
    /// A page of a proposal's events, oldest first, by key (as [`Store::list_proposals`]).
    async fn events(&mut self, proposal_id: i64, page: &KeyPage) -> AppResult<(Vec<EventRow>, i64)>;
    async fn technique(&mut self, id: i64) -> AppResult<Option<TechniqueRow>>;
    /// A page of the catalogue, newest first, by key (as [`Store::list_proposals`]).
    async fn techniques(&mut self, industry: Option<&str>, page: &KeyPage) -> AppResult<(Vec<TechniqueRow>, i64)>;
    async fn technique_sources(&mut self, technique_id: i64) -> AppResult<Vec<i64>>;
    async fn techniques_of_proposal(&mut self, proposal_id: i64) -> AppResult<Vec<TechniqueRow>>;
    async fn adoptions(&mut self, technique_id: i64) -> AppResult<Vec<AdoptionRow>>;
    async fn points_of(&mut self, user_id: i64) -> AppResult<Vec<PointsRow>>;
    /// A page of the proposals the scope may see, flattened for a CSV export.
    async fn export_rows(
        &mut self,
        scope: &ListScope,
        f: &ProposalFilter,
        offset: i64,
        limit: i64,
    ) -> AppResult<Vec<ExportRow>>;
    /// The non-draft proposals the scope may see, with their expected and verified savings.
    async fn technique_export_rows(
        &mut self,
        industry: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> AppResult<Vec<TechniqueExportRow>>;
    async fn impact_rows(&mut self, scope: &ListScope, f: &ProposalFilter) -> AppResult<Vec<ImpactDbRow>>;
    /// Authors with their points and verified savings, of the proposals the viewer may see — except those
    /// under blind review, so that a leaderboard never tells a reviewer who wrote what they are scoring.
    async fn author_shares(&mut self, scope: &ListScope, f: &ProposalFilter) -> AppResult<Vec<AuthorShareRow>>;
    async fn attachments(&mut self, proposal_id: i64) -> AppResult<Vec<AttachmentRow>>;
    async fn attachment(&mut self, id: i64) -> AppResult<Option<AttachmentRow>>;
    async fn object_references(&mut self, object_key: &str) -> AppResult<i64>;
    #[allow(clippy::too_many_arguments)]
    async fn insert_attachment(
        &mut self,
        proposal_id: i64,
        key: &str,
        sha256: &str,
        name: &str,
        content_type: &str,
        size: i64,
        caption: &str,
        by: i64,
        now: DateTime<Utc>,
    ) -> AppResult<AttachmentRow>;
    async fn delete_attachment(&mut self, id: i64) -> AppResult<()>;
    /// Serialises, until this transaction ends, what is done to the object at `key`: adding a reference
    /// to it, and deciding to delete it because nothing references it. Other objects are not held up.
    async fn lock_object(&mut self, key: &str) -> AppResult<()>;

    // --- writes ------------------------------------------------------------------------------------
    /// A new proposal row; its round is 1 unless it is a draft (imports bring their own status and dates).
    async fn insert_proposal(&mut self, p: &NewProposal, dates: &ProposalDates) -> AppResult<ProposalRow>;
    async fn replace_authors(&mut self, proposal_id: i64, authors: &[(Option<i64>, String)]) -> AppResult<()>;
    /// The authors of a proposal that has none yet (one just inserted).
    async fn add_authors(&mut self, proposal_id: i64, authors: &[(Option<i64>, String)]) -> AppResult<()>;
    async fn update_text(
        &mut self,
        id: i64,
        title: &str,
        body: &str,
        category: &str,
        industry: &str,
        tags: &str,
    ) -> AppResult<()>;
    /// Moves the status on and bumps the version, if the version is still `expected_version`.
    async fn advance(&mut self, id: i64, expected_version: i64, to: Status, now: DateTime<Utc>) -> AppResult<()>;
    async fn start_round(&mut self, id: i64, idempotency_key: Option<&str>, now: DateTime<Utc>) -> AppResult<()>;
    /// [`Store::advance`] to `to` and [`Store::start_round`] in one statement, returning the row as it now is.
    async fn submit_round(
        &mut self,
        id: i64,
        expected_version: i64,
        to: Status,
        idempotency_key: Option<&str>,
        now: DateTime<Utc>,
    ) -> AppResult<ProposalRow>;
    async fn set_decision(
        &mut self,
        id: i64,
        decision: &str,
        reason: &str,
        criteria_version: i64,
        now: DateTime<Utc>,
    ) -> AppResult<()>;
    async fn set_studio(&mut self, id: i64, studio_id: Option<i64>) -> AppResult<()>;
    async fn set_adopted(&mut self, id: i64, now: DateTime<Utc>) -> AppResult<()>;
    async fn set_promoted(&mut self, id: i64, now: DateTime<Utc>) -> AppResult<()>;
    async fn put_savings(
        &mut self,
        proposal_id: i64,
        kind: SavingsKind,
        c: &Converted,
        by: Option<i64>,
        now: DateTime<Utc>,
    ) -> AppResult<()>;
    async fn delete_savings(&mut self, proposal_id: i64, kind: SavingsKind) -> AppResult<()>;
    async fn insert_assignment(
        &mut self,
        proposal_id: i64,
        round: i64,
        reviewer_id: i64,
        due_on: Option<NaiveDate>,
        by: i64,
        now: DateTime<Utc>,
    ) -> AppResult<()>;
    #[allow(clippy::too_many_arguments)]
    async fn upsert_evaluation(
        &mut self,
        proposal_id: i64,
        round: i64,
        reviewer_id: i64,
        criteria_version: i64,
        scores: &str,
        weighted: f64,
        comment: &str,
        forecast: Option<&str>,
        now: DateTime<Utc>,
    ) -> AppResult<()>;
    async fn insert_pilot(&mut self, proposal_id: i64, plan: &str, by: i64, now: DateTime<Utc>) -> AppResult<()>;
    async fn insert_milestone(
        &mut self,
        proposal_id: i64,
        position: i64,
        title: &str,
        due_on: Option<NaiveDate>,
    ) -> AppResult<()>;
    async fn update_milestone(
        &mut self,
        id: i64,
        status: &str,
        done_on: Option<NaiveDate>,
    ) -> AppResult<Option<MilestoneRow>>;
    async fn milestone(&mut self, id: i64) -> AppResult<Option<MilestoneRow>>;
    #[allow(clippy::too_many_arguments)]
    async fn insert_measurement(
        &mut self,
        proposal_id: i64,
        carrier: &str,
        baseline: f64,
        after: f64,
        start: NaiveDate,
        end: NaiveDate,
        note: &str,
        by: i64,
        now: DateTime<Utc>,
    ) -> AppResult<MeasurementRow>;
    /// Authors, savings, the `IMPORTED` event and the change-feed row of imported proposals, in bulk.
    async fn finish_imported(&mut self, items: &[ImportedExtras], now: DateTime<Utc>) -> AppResult<()>;
    /// Bumps a proposal's version after a change that is not a transition.
    async fn touch_proposal(&mut self, id: i64, now: DateTime<Utc>) -> AppResult<()>;
    async fn insert_technique(&mut self, t: &NewTechnique) -> AppResult<TechniqueRow>;
    /// Replaces a technique's descriptive fields and bumps its version.
    async fn update_technique(&mut self, id: i64, t: &NewTechnique) -> AppResult<()>;
    async fn touch_technique(&mut self, id: i64, now: DateTime<Utc>) -> AppResult<()>;
    async fn add_technique_source(&mut self, technique_id: i64, proposal_id: i64, now: DateTime<Utc>) -> AppResult<()>;
    async fn insert_adoption(&mut self, a: &NewAdoption) -> AppResult<AdoptionRow>;
    async fn insert_event(&mut self, e: &NewEvent<'_>) -> AppResult<EventRow>;
    /// Appends to the change feed (outbox) that search indexers follow.
    async fn feed(&mut self, entity: &str, entity_id: i64, now: DateTime<Utc>) -> AppResult<()>;
    #[allow(clippy::too_many_arguments)]
    async fn insert_points(
        &mut self,
        user_id: Option<i64>,
        name: &str,
        proposal_id: i64,
        reason: &str,
        points: i64,
        credits: f64,
        now: DateTime<Utc>,
    ) -> AppResult<()>;
}

macro_rules! store_impl {
    ($ty:ty, $object_lock:expr, $keep_list_plans:expr) => {
        #[async_trait::async_trait]
        impl Store for $ty {
            async fn user(&mut self, id: i64) -> AppResult<Option<UserRow>> {
                Ok(sqlx::query_as("select * from users where id = $1").bind(id).fetch_optional(&mut **self).await?)
            }

            async fn enterprise(&mut self, id: i64) -> AppResult<Option<EnterpriseRow>> {
                Ok(sqlx::query_as("select * from enterprises where id = $1").bind(id).fetch_optional(&mut **self).await?)
            }

            async fn proposal(&mut self, id: i64) -> AppResult<Option<ProposalRow>> {
                Ok(sqlx::query_as("select * from proposals where id = $1").bind(id).fetch_optional(&mut **self).await?)
            }

            async fn proposal_by_idempotency_key(&mut self, user_id: i64, key: &str) -> AppResult<Option<ProposalRow>> {
                Ok(sqlx::query_as("select * from proposals where created_by = $1 and idempotency_key = $2")
                    .bind(user_id).bind(key).fetch_optional(&mut **self).await?)
            }

            async fn proposals_by_external_ids(&mut self, external_ids: &[String]) -> AppResult<Vec<ProposalRow>> {
                if external_ids.is_empty() {
                    return Ok(vec![]);
                }
                // Only placeholders are formatted into the SQL; the ids are bound.
                let list = <Self as InOrder>::params(external_ids.len(), 1);
                let sql = format!("select * from proposals where external_id in ({list})");
                let mut q = sqlx::query_as::<_, ProposalRow>(&sql);
                for id in external_ids {
                    q = q.bind(id);
                }
                Ok(q.fetch_all(&mut **self).await?)
            }

            async fn proposal_by_text(&mut self, title: &str, body: &str) -> AppResult<Option<ProposalRow>> {
                Ok(sqlx::query_as("select * from proposals where title = $1 and body = $2 and external_id is null order by id limit 1")
                    .bind(title).bind(body).fetch_optional(&mut **self).await?)
            }

            async fn technique_by_external_id(&mut self, external_id: &str) -> AppResult<Option<TechniqueRow>> {
                Ok(sqlx::query_as("select * from techniques where external_id = $1")
                    .bind(external_id).fetch_optional(&mut **self).await?)
            }

            async fn technique_by_name(&mut self, name: &str) -> AppResult<Option<TechniqueRow>> {
                Ok(sqlx::query_as("select * from techniques where name = $1 and external_id is null order by id limit 1")
                    .bind(name).fetch_optional(&mut **self).await?)
            }

            async fn authors(&mut self, proposal_id: i64) -> AppResult<Vec<AuthorRow>> {
                Ok(sqlx::query_as("select * from proposal_authors where proposal_id = $1 order by position")
                    .bind(proposal_id).fetch_all(&mut **self).await?)
            }

            async fn proposals_by_ids(&mut self, ids: &[i64], viewer: Option<i64>) -> AppResult<(Vec<ProposalRow>, Vec<AuthorRow>, Vec<i64>)> {
                if ids.is_empty() {
                    return Ok((vec![], vec![], vec![]));
                }
                // Only placeholders are formatted into the SQL; the ids are bound.
                let (viewer_param, list) = (<Self as InOrder>::param(1), <Self as InOrder>::list_from(2, ids.len()));
                let rows_sql = format!(
                    "select p.*, exists(select 1 from review_assignments r where r.reviewer_id = {viewer_param} and r.proposal_id = p.id) as viewer_assigned
                     from proposals p where p.id in ({list})"
                );
                let mut q = sqlx::query_as::<_, ProposalForViewer>(&rows_sql).bind(viewer.unwrap_or(-1));
                for id in ids {
                    q = q.bind(*id);
                }
                let found = q.fetch_all(&mut **self).await?;
                let found_ids: Vec<i64> = found.iter().map(|p| p.row.id).collect();
                let authors = self.authors_of(&found_ids).await?;
                let assigned = found.iter().filter(|p| p.viewer_assigned).map(|p| p.row.id).collect();
                Ok((found.into_iter().map(|p| p.row).collect(), authors, assigned))
            }

            async fn proposal_viewing(&mut self, ids: &[i64], viewer: Option<i64>) -> AppResult<(Vec<AuthorRow>, Vec<i64>)> {
                if ids.is_empty() {
                    return Ok((vec![], vec![]));
                }
                let authors = self.authors_of(ids).await?;
                let Some(viewer_id) = viewer else { return Ok((authors, vec![])) };
                let (viewer_param, list) = (<Self as InOrder>::param(1), <Self as InOrder>::list_from(2, ids.len()));
                let assigned_sql = format!("select distinct proposal_id from review_assignments where reviewer_id = {viewer_param} and proposal_id in ({list})");
                let mut qr = sqlx::query_scalar::<_, i64>(&assigned_sql).bind(viewer_id);
                for id in ids {
                    qr = qr.bind(*id);
                }
                Ok((authors, qr.fetch_all(&mut **self).await?))
            }

            async fn authors_of(&mut self, ids: &[i64]) -> AppResult<Vec<AuthorRow>> {
                if ids.is_empty() {
                    return Ok(vec![]);
                }
                let list = <Self as InOrder>::params(ids.len(), 1);
                let sql = format!("select * from proposal_authors where proposal_id in ({list}) order by proposal_id, position");
                let mut q = sqlx::query_as::<_, AuthorRow>(&sql);
                for id in ids {
                    q = q.bind(*id);
                }
                Ok(q.fetch_all(&mut **self).await?)
            }

            async fn list_proposals(&mut self, s: &ListScope, f: &ProposalFilter, page: &KeyPage) -> AppResult<(Vec<ProposalRow>, i64)> {
                let w = proposal_list_where(f);
                let order = if page.backward { "asc" } else { "desc" };
                let rows_sql = format!(
                    "select p.* from proposals p where {w} and (cast($11 as bigint) is null or p.id < $11)
                     and (cast($12 as bigint) is null or p.id > $12) order by p.id {order} limit $10"
                );
                let count_sql = proposal_count_sql(f);
                let rows = sqlx::query_as(&rows_sql).persistent($keep_list_plans)
                    .bind(s.is_admin).bind(s.viewer_id).bind(s.enterprise_id).bind(s.is_association)
                    .bind(&f.status).bind(&f.category).bind(&f.industry).bind(f.enterprise_id).bind(f.mine)
                    .bind(page.fetch).bind(page.after).bind(page.before)
                    .fetch_all(&mut **self).await?;
                let total: i64 = sqlx::query_scalar(&count_sql).persistent($keep_list_plans)
                    .bind(s.is_admin).bind(s.viewer_id).bind(s.enterprise_id).bind(s.is_association)
                    .bind(&f.status).bind(&f.category).bind(&f.industry).bind(f.enterprise_id).bind(f.mine)
                    .fetch_one(&mut **self).await?;
                Ok((rows, total))
            }

            async fn is_assigned_reviewer(&mut self, proposal_id: i64, user_id: i64) -> AppResult<bool> {
                let n: i64 = sqlx::query_scalar("select count(*) from review_assignments where proposal_id = $1 and reviewer_id = $2")
                    .bind(proposal_id).bind(user_id).fetch_one(&mut **self).await?;
                Ok(n > 0)
            }

            async fn assignments(&mut self, proposal_id: i64, round: i64) -> AppResult<Vec<AssignmentRow>> {
                Ok(sqlx::query_as("select * from review_assignments where proposal_id = $1 and round = $2 order by assigned_at, reviewer_id")
                    .bind(proposal_id).bind(round).fetch_all(&mut **self).await?)
            }

            async fn review_queue(&mut self, reviewer_id: i64) -> AppResult<Vec<AssignmentRow>> {
                Ok(sqlx::query_as(
                    "select r.* from review_assignments r join proposals p on p.id = r.proposal_id and p.round = r.round
                     where r.reviewer_id = $1 and p.status = 'EVALUATING'
                       and not exists (select 1 from evaluations e where e.proposal_id = r.proposal_id and e.round = r.round and e.reviewer_id = r.reviewer_id)
                     order by r.due_on is null, r.due_on, r.assigned_at",
                ).bind(reviewer_id).fetch_all(&mut **self).await?)
            }

            async fn evaluations(&mut self, proposal_id: i64, round: i64) -> AppResult<Vec<EvaluationRow>> {
                Ok(sqlx::query_as("select * from evaluations where proposal_id = $1 and round = $2 order by id")
                    .bind(proposal_id).bind(round).fetch_all(&mut **self).await?)
            }

            async fn criteria(&mut self, version: Option<i64>) -> AppResult<Vec<CriterionRow>> {
                Ok(sqlx::query_as(
                    "select * from criteria where version = coalesce(cast($1 as bigint), (select max(version) from criteria)) order by position",
                ).bind(version).fetch_all(&mut **self).await?)
            }

            async fn factors(&mut self, version: Option<i64>) -> AppResult<Vec<FactorRow>> {
                Ok(sqlx::query_as(
                    "select * from conversion_factors where version = coalesce(cast($1 as bigint), (select max(version) from conversion_factors)) order by quantity desc, id",
                ).bind(version).fetch_all(&mut **self).await?)
            }

            async fn savings(&mut self, proposal_id: i64, kind: SavingsKind) -> AppResult<Option<SavingsRow>> {
                Ok(sqlx::query_as("select * from savings where proposal_id = $1 and kind = $2")
                    .bind(proposal_id).bind(kind.as_str()).fetch_optional(&mut **self).await?)
            }

            async fn pilot(&mut self, proposal_id: i64) -> AppResult<Option<PilotRow>> {
                Ok(sqlx::query_as("select * from pilots where proposal_id = $1").bind(proposal_id).fetch_optional(&mut **self).await?)
            }

            async fn milestones(&mut self, proposal_id: i64) -> AppResult<Vec<MilestoneRow>> {
                Ok(sqlx::query_as("select * from milestones where proposal_id = $1 order by position")
                    .bind(proposal_id).fetch_all(&mut **self).await?)
            }

            async fn measurements(&mut self, proposal_id: i64) -> AppResult<Vec<MeasurementRow>> {
                Ok(sqlx::query_as("select * from measurements where proposal_id = $1 order by id")
                    .bind(proposal_id).fetch_all(&mut **self).await?)
            }

            async fn events(&mut self, proposal_id: i64, page: &KeyPage) -> AppResult<(Vec<EventRow>, i64)> {
                let sql = format!(
                    "select * from events where proposal_id = $1 and (cast($3 as bigint) is null or id > $3)
                     and (cast($4 as bigint) is null or id < $4) order by id {} limit $2",
                    if page.backward { "desc" } else { "asc" }
                );
                let rows = sqlx::query_as(&sql)
                    .bind(proposal_id).bind(page.fetch).bind(page.after).bind(page.before).fetch_all(&mut **self).await?;
                let total: i64 = sqlx::query_scalar("select count(*) from events where proposal_id = $1")
                    .bind(proposal_id).fetch_one(&mut **self).await?;
                Ok((rows, total))
            }

            async fn technique(&mut self, id: i64) -> AppResult<Option<TechniqueRow>> {
                Ok(sqlx::query_as("select * from techniques where id = $1").bind(id).fetch_optional(&mut **self).await?)
            }

            async fn techniques(&mut self, industry: Option<&str>, page: &KeyPage) -> AppResult<(Vec<TechniqueRow>, i64)> {
                let sql = format!(
                    "select * from techniques where (cast($1 as text) is null or industry = $1)
                     and (cast($3 as bigint) is null or id < $3) and (cast($4 as bigint) is null or id > $4)
                     order by id {} limit $2",
                    if page.backward { "asc" } else { "desc" }
                );
                let rows = sqlx::query_as(&sql)
                    .bind(industry).bind(page.fetch).bind(page.after).bind(page.before).fetch_all(&mut **self).await?;
                let total: i64 = sqlx::query_scalar("select count(*) from techniques where cast($1 as text) is null or industry = $1")
                    .bind(industry).fetch_one(&mut **self).await?;
                Ok((rows, total))
            }

            async fn technique_sources(&mut self, technique_id: i64) -> AppResult<Vec<i64>> {
                Ok(sqlx::query_scalar("select proposal_id from technique_sources where technique_id = $1 order by added_at, proposal_id")
                    .bind(technique_id).fetch_all(&mut **self).await?)
            }

            async fn techniques_of_proposal(&mut self, proposal_id: i64) -> AppResult<Vec<TechniqueRow>> {
                Ok(sqlx::query_as("select t.* from techniques t join technique_sources s on s.technique_id = t.id where s.proposal_id = $1 order by t.id")
                    .bind(proposal_id).fetch_all(&mut **self).await?)
            }

            async fn adoptions(&mut self, technique_id: i64) -> AppResult<Vec<AdoptionRow>> {
                Ok(sqlx::query_as("select * from adoptions where technique_id = $1 order by adopted_on, id")
                    .bind(technique_id).fetch_all(&mut **self).await?)
            }

            async fn points_of(&mut self, user_id: i64) -> AppResult<Vec<PointsRow>> {
                Ok(sqlx::query_as("select * from points_ledger where user_id = $1 order by id")
                    .bind(user_id).fetch_all(&mut **self).await?)
            }

            async fn export_rows(&mut self, s: &ListScope, f: &ProposalFilter, offset: i64, limit: i64) -> AppResult<Vec<ExportRow>> {
                let w = proposal_list_where(f);
                let sql = format!(
                    "select p.id, p.external_id, p.title, p.body, p.category, p.industry, p.tags, e.name as enterprise, p.status,
                        p.submitted_at, p.decided_at, p.adopted_at,
                        x.electricity_kwh as expected_electricity_kwh, x.coal_t as expected_coal_t, x.natural_gas_m3 as expected_natural_gas_m3,
                        x.steam_t as expected_steam_t, x.water_t as expected_water_t, x.money_yuan as expected_money_yuan,
                        x.investment_yuan as expected_investment_yuan, x.tce as expected_tce, x.tco2e as expected_tco2e,
                        v.electricity_kwh as verified_electricity_kwh, v.coal_t as verified_coal_t, v.natural_gas_m3 as verified_natural_gas_m3,
                        v.steam_t as verified_steam_t, v.water_t as verified_water_t, v.money_yuan as verified_money_yuan,
                        v.investment_yuan as verified_investment_yuan, v.tce as verified_tce, v.tco2e as verified_tco2e
                     from proposals p
                     left join enterprises e on e.id = p.enterprise_id
                     left join savings x on x.proposal_id = p.id and x.kind = 'EXPECTED'
                     left join savings v on v.proposal_id = p.id and v.kind = 'VERIFIED'
                     where {w} order by p.id limit $10 offset $11"
                );
                Ok(sqlx::query_as(&sql).persistent($keep_list_plans)
                    .bind(s.is_admin).bind(s.viewer_id).bind(s.enterprise_id).bind(s.is_association)
                    .bind(&f.status).bind(&f.category).bind(&f.industry).bind(f.enterprise_id).bind(f.mine)
                    .bind(limit).bind(offset)
                    .fetch_all(&mut **self).await?)
            }

            async fn technique_export_rows(&mut self, industry: Option<&str>, offset: i64, limit: i64) -> AppResult<Vec<TechniqueExportRow>> {
                Ok(sqlx::query_as(
                    "select t.*,
                        (select count(*) from adoptions a where a.technique_id = t.id) as adoptions,
                        coalesce((select sum(a.tce) from adoptions a where a.technique_id = t.id), 0.0) as adopted_tce,
                        coalesce((select sum(a.tco2e) from adoptions a where a.technique_id = t.id), 0.0) as adopted_tco2e,
                        coalesce((select sum(a.money_yuan) from adoptions a where a.technique_id = t.id), 0.0) as adopted_yuan
                     from techniques t where (cast($1 as text) is null or t.industry = $1) order by t.id limit $2 offset $3",
                )
                .bind(industry).bind(limit).bind(offset)
                .fetch_all(&mut **self).await?)
            }

            async fn author_shares(&mut self, s: &ListScope, f: &ProposalFilter) -> AppResult<Vec<AuthorShareRow>> {
                let w = proposal_list_where(f);
                let sql = format!(
                    "select p.id as proposal_id, p.team_id, a.user_id, a.name,
                        cast(coalesce((select sum(l.points) from points_ledger l where l.proposal_id = p.id
                            and (l.user_id = a.user_id or (l.user_id is null and a.user_id is null and l.author_name = a.name))), 0) as bigint) as points,
                        (select count(*) from proposal_authors c where c.proposal_id = p.id) as authors,
                        v.tce as verified_tce, v.tco2e as verified_tco2e, v.money_yuan as verified_yuan
                     from proposal_authors a
                     join proposals p on p.id = a.proposal_id
                     left join savings v on v.proposal_id = p.id and v.kind = 'VERIFIED'
                     where p.status not in ('DRAFT', 'SUBMITTED', 'EVALUATING') and {w}"
                );
                Ok(sqlx::query_as(&sql).persistent($keep_list_plans)
                    .bind(s.is_admin).bind(s.viewer_id).bind(s.enterprise_id).bind(s.is_association)
                    .bind(&f.status).bind(&f.category).bind(&f.industry).bind(f.enterprise_id).bind(f.mine)
                    .fetch_all(&mut **self).await?)
            }

            async fn impact_rows(&mut self, s: &ListScope, f: &ProposalFilter) -> AppResult<Vec<ImpactDbRow>> {
                let w = proposal_list_where(f);
                let sql = format!(
                    "select p.challenge_id, p.enterprise_id, p.industry, p.studio_id, p.team_id, p.category, p.status, p.submitted_at, p.decided_at,
                        p.adopted_at, e.tce as expected_tce, e.tco2e as expected_tco2e, e.money_yuan as expected_yuan,
                        v.tce as verified_tce, v.tco2e as verified_tco2e, v.money_yuan as verified_yuan, v.investment_yuan as verified_investment
                     from proposals p
                     left join savings e on e.proposal_id = p.id and e.kind = 'EXPECTED'
                     left join savings v on v.proposal_id = p.id and v.kind = 'VERIFIED'
                     where p.status <> 'DRAFT' and {w}"
                );
                Ok(sqlx::query_as(&sql).persistent($keep_list_plans)
                    .bind(s.is_admin).bind(s.viewer_id).bind(s.enterprise_id).bind(s.is_association)
                    .bind(&f.status).bind(&f.category).bind(&f.industry).bind(f.enterprise_id).bind(f.mine)
                    .fetch_all(&mut **self).await?)
            }

            async fn attachments(&mut self, proposal_id: i64) -> AppResult<Vec<AttachmentRow>> {
                Ok(sqlx::query_as("select * from attachments where proposal_id = $1 order by id").bind(proposal_id).fetch_all(&mut **self).await?)
            }

            async fn attachment(&mut self, id: i64) -> AppResult<Option<AttachmentRow>> {
                Ok(sqlx::query_as("select * from attachments where id = $1").bind(id).fetch_optional(&mut **self).await?)
            }

            async fn object_references(&mut self, object_key: &str) -> AppResult<i64> {
                Ok(sqlx::query_scalar("select count(*) from attachments where object_key = $1").bind(object_key).fetch_one(&mut **self).await?)
            }

            async fn insert_attachment(&mut self, proposal_id: i64, key: &str, sha256: &str, name: &str, content_type: &str, size: i64, caption: &str, by: i64, now: DateTime<Utc>) -> AppResult<AttachmentRow> {
                Ok(sqlx::query_as(
                    "insert into attachments (proposal_id, object_key, sha256, file_name, content_type, size_bytes, caption, uploaded_by, created_at)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning *",
                )
                .bind(proposal_id).bind(key).bind(sha256).bind(name).bind(content_type).bind(size).bind(caption).bind(by).bind(now)
                .fetch_one(&mut **self).await?)
            }

            async fn delete_attachment(&mut self, id: i64) -> AppResult<()> {
                sqlx::query("delete from attachments where id = $1").bind(id).execute(&mut **self).await?;
                Ok(())
            }

            async fn lock_object(&mut self, key: &str) -> AppResult<()> {
                if let Some(lock) = $object_lock {
                    sqlx::query(lock).bind(key).execute(&mut **self).await?;
                }
                Ok(())
            }

            async fn replace_authors(&mut self, proposal_id: i64, authors: &[(Option<i64>, String)]) -> AppResult<()> {
                sqlx::query("delete from proposal_authors where proposal_id = $1").bind(proposal_id).execute(&mut **self).await?;
                self.add_authors(proposal_id, authors).await
            }

            async fn add_authors(&mut self, proposal_id: i64, authors: &[(Option<i64>, String)]) -> AppResult<()> {
                if authors.is_empty() {
                    return Ok(());
                }
                // One statement for all of them; only placeholders are formatted into the SQL.
                let rows = (0..authors.len())
                    .map(|i| format!("($1, {}, ${}, ${})", i, 2 + 2 * i, 3 + 2 * i))
                    .collect::<Vec<_>>()
                    .join(", ");
                let sql = format!("insert into proposal_authors (proposal_id, position, user_id, name) values {rows}");
                let mut q = sqlx::query(&sql).bind(proposal_id);
                for (user_id, name) in authors {
                    q = q.bind(user_id).bind(name);
                }
                q.execute(&mut **self).await?;
                Ok(())
            }

            async fn update_text(&mut self, id: i64, title: &str, body: &str, category: &str, industry: &str, tags: &str) -> AppResult<()> {
                sqlx::query("update proposals set title = $1, body = $2, category = $3, industry = $4, tags = $5 where id = $6")
                    .bind(title).bind(body).bind(category).bind(industry).bind(tags).bind(id).execute(&mut **self).await?;
                Ok(())
            }

            async fn advance(&mut self, id: i64, expected_version: i64, to: Status, now: DateTime<Utc>) -> AppResult<()> {
                let done = sqlx::query("update proposals set status = $1, version = version + 1, updated_at = $2 where id = $3 and version = $4")
                    .bind(to.as_str()).bind(now).bind(id).bind(expected_version).execute(&mut **self).await?;
                if done.rows_affected() == 1 {
                    Ok(())
                } else {
                    Err(version_conflict())
                }
            }

            async fn submit_round(&mut self, id: i64, expected_version: i64, to: Status, idempotency_key: Option<&str>, now: DateTime<Utc>) -> AppResult<ProposalRow> {
                sqlx::query_as(concat!("update proposals set ", new_round_columns!(),
                                       ", status = $3, version = version + 1, updated_at = $1 where id = $4 and version = $5 returning *"))
                    .bind(now).bind(idempotency_key).bind(to.as_str()).bind(id).bind(expected_version)
                    .fetch_optional(&mut **self).await?
                    .ok_or_else(version_conflict)
            }

            async fn start_round(&mut self, id: i64, idempotency_key: Option<&str>, now: DateTime<Utc>) -> AppResult<()> {
                sqlx::query(concat!("update proposals set ", new_round_columns!(), " where id = $3"))
                    .bind(now).bind(idempotency_key).bind(id).execute(&mut **self).await?;
                Ok(())
            }

            async fn set_decision(&mut self, id: i64, decision: &str, reason: &str, criteria_version: i64, now: DateTime<Utc>) -> AppResult<()> {
                sqlx::query("update proposals set decision = $1, decision_reason = $2, decision_criteria_version = $3, decided_at = $4 where id = $5")
                    .bind(decision).bind(reason).bind(criteria_version).bind(now).bind(id).execute(&mut **self).await?;
                Ok(())
            }

            async fn set_studio(&mut self, id: i64, studio_id: Option<i64>) -> AppResult<()> {
                sqlx::query("update proposals set studio_id = coalesce(cast($1 as bigint), studio_id) where id = $2")
                    .bind(studio_id).bind(id).execute(&mut **self).await?;
                Ok(())
            }

            async fn set_adopted(&mut self, id: i64, now: DateTime<Utc>) -> AppResult<()> {
                sqlx::query("update proposals set adopted_at = $1 where id = $2").bind(now).bind(id).execute(&mut **self).await?;
                Ok(())
            }

            async fn set_promoted(&mut self, id: i64, now: DateTime<Utc>) -> AppResult<()> {
                sqlx::query("update proposals set promoted_at = $1 where id = $2").bind(now).bind(id).execute(&mut **self).await?;
                Ok(())
            }

            async fn put_savings(&mut self, proposal_id: i64, kind: SavingsKind, c: &Converted, by: Option<i64>, now: DateTime<Utc>) -> AppResult<()> {
                let s = &c.savings;
                sqlx::query(
                    "insert into savings (proposal_id, kind, electricity_kwh, coal_t, natural_gas_m3, steam_t, water_t, money_yuan,
                        investment_yuan, tce, tco2e, factor_version, recorded_by, recorded_at)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                     on conflict (proposal_id, kind) do update set electricity_kwh = excluded.electricity_kwh, coal_t = excluded.coal_t,
                        natural_gas_m3 = excluded.natural_gas_m3, steam_t = excluded.steam_t, water_t = excluded.water_t,
                        money_yuan = excluded.money_yuan, investment_yuan = excluded.investment_yuan, tce = excluded.tce,
                        tco2e = excluded.tco2e, factor_version = excluded.factor_version, recorded_by = excluded.recorded_by,
                        recorded_at = excluded.recorded_at",
                )
                .bind(proposal_id).bind(kind.as_str()).bind(s.electricity_kwh).bind(s.coal_t).bind(s.natural_gas_m3).bind(s.steam_t)
                .bind(s.water_t).bind(s.money_yuan).bind(s.investment_yuan).bind(c.tce).bind(c.tco2e).bind(c.factor_version)
                .bind(by).bind(now)
                .execute(&mut **self).await?;
                Ok(())
            }

            async fn delete_savings(&mut self, proposal_id: i64, kind: SavingsKind) -> AppResult<()> {
                sqlx::query("delete from savings where proposal_id = $1 and kind = $2").bind(proposal_id).bind(kind.as_str()).execute(&mut **self).await?;
                Ok(())
            }

            async fn insert_assignment(&mut self, proposal_id: i64, round: i64, reviewer_id: i64, due_on: Option<NaiveDate>, by: i64, now: DateTime<Utc>) -> AppResult<()> {
                sqlx::query(
                    "insert into review_assignments (proposal_id, round, reviewer_id, due_on, assigned_by, assigned_at) values ($1, $2, $3, $4, $5, $6)
                     on conflict (proposal_id, round, reviewer_id) do update set due_on = excluded.due_on",
                )
                .bind(proposal_id).bind(round).bind(reviewer_id).bind(due_on).bind(by).bind(now).execute(&mut **self).await?;
                Ok(())
            }

            async fn upsert_evaluation(&mut self, proposal_id: i64, round: i64, reviewer_id: i64, criteria_version: i64, scores: &str, weighted: f64, comment: &str, forecast: Option<&str>, now: DateTime<Utc>) -> AppResult<()> {
                sqlx::query(
                    "insert into evaluations (proposal_id, round, reviewer_id, criteria_version, scores, weighted_score, comment, forecast, created_at)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     on conflict (proposal_id, round, reviewer_id) do update set criteria_version = excluded.criteria_version, scores = excluded.scores,
                        weighted_score = excluded.weighted_score, comment = excluded.comment, forecast = excluded.forecast, created_at = excluded.created_at",
                )
                .bind(proposal_id).bind(round).bind(reviewer_id).bind(criteria_version).bind(scores).bind(weighted).bind(comment).bind(forecast).bind(now)
                .execute(&mut **self).await?;
                Ok(())
            }

            async fn insert_pilot(&mut self, proposal_id: i64, plan: &str, by: i64, now: DateTime<Utc>) -> AppResult<()> {
                sqlx::query("insert into pilots (proposal_id, plan, started_by, started_at) values ($1, $2, $3, $4)")
                    .bind(proposal_id).bind(plan).bind(by).bind(now).execute(&mut **self).await?;
                Ok(())
            }

            async fn insert_milestone(&mut self, proposal_id: i64, position: i64, title: &str, due_on: Option<NaiveDate>) -> AppResult<()> {
                sqlx::query("insert into milestones (proposal_id, position, title, due_on, status) values ($1, $2, $3, $4, 'PLANNED')")
                    .bind(proposal_id).bind(position).bind(title).bind(due_on).execute(&mut **self).await?;
                Ok(())
            }

            async fn update_milestone(&mut self, id: i64, status: &str, done_on: Option<NaiveDate>) -> AppResult<Option<MilestoneRow>> {
                Ok(sqlx::query_as("update milestones set status = $1, done_on = $2 where id = $3 returning *")
                    .bind(status).bind(done_on).bind(id).fetch_optional(&mut **self).await?)
            }

            async fn milestone(&mut self, id: i64) -> AppResult<Option<MilestoneRow>> {
                Ok(sqlx::query_as("select * from milestones where id = $1").bind(id).fetch_optional(&mut **self).await?)
            }

            async fn insert_measurement(&mut self, proposal_id: i64, carrier: &str, baseline: f64, after: f64, start: NaiveDate, end: NaiveDate, note: &str, by: i64, now: DateTime<Utc>) -> AppResult<MeasurementRow> {
                Ok(sqlx::query_as(
                    "insert into measurements (proposal_id, carrier, baseline, after, period_start, period_end, note, recorded_by, recorded_at)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning *",
                )
                .bind(proposal_id).bind(carrier).bind(baseline).bind(after).bind(start).bind(end).bind(note).bind(by).bind(now)
                .fetch_one(&mut **self).await?)
            }

            async fn insert_proposal(&mut self, p: &NewProposal, d: &ProposalDates) -> AppResult<ProposalRow> {
                let round = if p.status == Status::Draft { 0 } else { 1 };
                Ok(sqlx::query_as(
                    "insert into proposals (external_id, title, body, category, industry, tags, enterprise_id, team_id, created_by,
                        on_behalf_of, status, version, round, idempotency_key, created_at, updated_at, submitted_at, decided_at, adopted_at)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $13, $14, $14, $15, $16, $17) returning *",
                )
                .bind(&p.external_id).bind(&p.title).bind(&p.body).bind(&p.category).bind(&p.industry).bind(&p.tags)
                .bind(p.enterprise_id).bind(p.team_id).bind(p.created_by).bind(&p.on_behalf_of).bind(p.status.as_str())
                .bind(round).bind(&p.idempotency_key).bind(p.now).bind(d.submitted_at).bind(d.decided_at).bind(d.adopted_at)
                .fetch_one(&mut **self).await?)
            }

            async fn finish_imported(&mut self, items: &[ImportedExtras], now: DateTime<Utc>) -> AppResult<()> {
                // Only placeholders are formatted into the SQL; every value is bound, in order (`InOrder`).
                // Chunks keep each statement under both databases' parameter limits.
                let values = <Self as InOrder>::params;
                let p = <Self as InOrder>::param;
                for chunk in items.chunks(200) {
                    let authors: Vec<(i64, i64, &str)> = chunk
                        .iter()
                        .flat_map(|i| i.authors.iter().enumerate().map(move |(n, a)| (i.proposal_id, n as i64, a.as_str())))
                        .collect();
                    if !authors.is_empty() {
                        let sql = format!("insert into proposal_authors (proposal_id, position, name) values {}", values(authors.len(), 3));
                        let mut q = sqlx::query(&sql);
                        for (id, n, name) in &authors {
                            q = q.bind(id).bind(n).bind(*name);
                        }
                        q.execute(&mut **self).await?;
                    }
                    let savings: Vec<(i64, SavingsKind, &Converted)> =
                        chunk.iter().flat_map(|i| i.savings.iter().map(move |(k, c)| (i.proposal_id, *k, c))).collect();
                    if !savings.is_empty() {
                        let sql = format!(
                            "insert into savings (proposal_id, kind, electricity_kwh, coal_t, natural_gas_m3, steam_t, water_t, money_yuan,
                                investment_yuan, tce, tco2e, factor_version, recorded_at) values {}",
                            values(savings.len(), 13)
                        );
                        let mut q = sqlx::query(&sql);
                        for (id, kind, c) in &savings {
                            let s = &c.savings;
                            q = q.bind(id).bind(kind.as_str()).bind(s.electricity_kwh).bind(s.coal_t).bind(s.natural_gas_m3)
                                .bind(s.steam_t).bind(s.water_t).bind(s.money_yuan).bind(s.investment_yuan).bind(c.tce)
                                .bind(c.tco2e).bind(c.factor_version).bind(now);
                        }
                        q.execute(&mut **self).await?;
                    }
                    let sql = format!(
                        "insert into events (proposal_id, to_status, reason, created_at, kind, from_version) values {}",
                        (0..chunk.len()).map(|r| format!("({}, {}, {}, {}, 'IMPORTED', 0)", p(4 * r + 1), p(4 * r + 2), p(4 * r + 3), p(4 * r + 4)))
                            .collect::<Vec<_>>().join(", ")
                    );
                    let mut q = sqlx::query(&sql);
                    for i in chunk {
                        q = q.bind(i.proposal_id).bind(i.status.as_str()).bind(&i.reason).bind(now);
                    }
                    q.execute(&mut **self).await?;
                    let sql = format!("insert into change_feed (entity_id, created_at, entity) values {}",
                        (0..chunk.len()).map(|r| format!("({}, {}, 'proposal')", p(2 * r + 1), p(2 * r + 2))).collect::<Vec<_>>().join(", "));
                    let mut q = sqlx::query(&sql);
                    for i in chunk {
                        q = q.bind(i.proposal_id).bind(now);
                    }
                    q.execute(&mut **self).await?;
                }
                Ok(())
            }

            async fn touch_proposal(&mut self, id: i64, now: DateTime<Utc>) -> AppResult<()> {
                sqlx::query("update proposals set version = version + 1, updated_at = $1 where id = $2").bind(now).bind(id).execute(&mut **self).await?;
                Ok(())
            }

            async fn update_technique(&mut self, id: i64, t: &NewTechnique) -> AppResult<()> {
                sqlx::query(
                    "update techniques set name = $1, industry = $2, scope = $3, principle = $4, key_parameters = $5, typical_case = $6,
                        effect = $7, investment_yuan = $8, payback_years = $9, promotion_potential = $10, version = version + 1,
                        updated_at = $11 where id = $12",
                )
                .bind(&t.name).bind(&t.industry).bind(&t.scope).bind(&t.principle).bind(&t.key_parameters).bind(&t.typical_case)
                .bind(&t.effect).bind(t.investment_yuan).bind(t.payback_years).bind(&t.promotion_potential).bind(t.now).bind(id)
                .execute(&mut **self).await?;
                Ok(())
            }

            async fn insert_technique(&mut self, t: &NewTechnique) -> AppResult<TechniqueRow> {
                Ok(sqlx::query_as(
                    "insert into techniques (external_id, name, industry, scope, principle, key_parameters, typical_case, effect,
                        investment_yuan, payback_years, promotion_potential, version, created_by, created_at, updated_at)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $13, $13) returning *",
                )
                .bind(&t.external_id).bind(&t.name).bind(&t.industry).bind(&t.scope).bind(&t.principle).bind(&t.key_parameters)
                .bind(&t.typical_case).bind(&t.effect).bind(t.investment_yuan).bind(t.payback_years).bind(&t.promotion_potential)
                .bind(t.created_by).bind(t.now)
                .fetch_one(&mut **self).await?)
            }

            async fn touch_technique(&mut self, id: i64, now: DateTime<Utc>) -> AppResult<()> {
                sqlx::query("update techniques set version = version + 1, updated_at = $1 where id = $2").bind(now).bind(id).execute(&mut **self).await?;
                Ok(())
            }

            async fn add_technique_source(&mut self, technique_id: i64, proposal_id: i64, now: DateTime<Utc>) -> AppResult<()> {
                sqlx::query("insert into technique_sources (technique_id, proposal_id, added_at) values ($1, $2, $3) on conflict do nothing")
                    .bind(technique_id).bind(proposal_id).bind(now).execute(&mut **self).await?;
                Ok(())
            }

            async fn insert_adoption(&mut self, a: &NewAdoption) -> AppResult<AdoptionRow> {
                let s = &a.converted.savings;
                Ok(sqlx::query_as(
                    "insert into adoptions (technique_id, enterprise_id, proposal_id, adopted_on, electricity_kwh, coal_t, natural_gas_m3, steam_t,
                        water_t, money_yuan, investment_yuan, tce, tco2e, factor_version, note, recorded_by, created_at)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) returning *",
                )
                .bind(a.technique_id).bind(a.enterprise_id).bind(a.proposal_id).bind(a.adopted_on).bind(s.electricity_kwh).bind(s.coal_t)
                .bind(s.natural_gas_m3).bind(s.steam_t).bind(s.water_t).bind(s.money_yuan).bind(s.investment_yuan)
                .bind(a.converted.tce).bind(a.converted.tco2e).bind(a.converted.factor_version).bind(&a.note).bind(a.recorded_by).bind(a.now)
                .fetch_one(&mut **self).await?)
            }

            async fn insert_event(&mut self, e: &NewEvent<'_>) -> AppResult<EventRow> {
                Ok(sqlx::query_as(
                    "insert into events (proposal_id, kind, actor_id, from_status, to_status, from_version, reason, created_at, content)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning *",
                )
                .bind(e.proposal_id).bind(e.kind).bind(e.actor_id).bind(e.from_status.map(|s| s.as_str())).bind(e.to_status.as_str())
                .bind(e.from_version).bind(e.reason).bind(e.now).bind(e.content)
                .fetch_one(&mut **self).await?)
            }

            async fn feed(&mut self, entity: &str, entity_id: i64, now: DateTime<Utc>) -> AppResult<()> {
                sqlx::query("insert into change_feed (entity, entity_id, created_at) values ($1, $2, $3)")
                    .bind(entity).bind(entity_id).bind(now).execute(&mut **self).await?;
                Ok(())
            }

            async fn insert_points(&mut self, user_id: Option<i64>, name: &str, proposal_id: i64, reason: &str, points: i64, credits: f64, now: DateTime<Utc>) -> AppResult<()> {
                sqlx::query(
                    "insert into points_ledger (user_id, author_name, proposal_id, reason, points, credits, created_at) values ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(user_id).bind(name).bind(proposal_id).bind(reason).bind(points).bind(credits).bind(now)
                .execute(&mut **self).await?;
                Ok(())
            }
        }
    };
}

/// A transaction-scoped lock per object key (PostgreSQL; SQLite writers hold the one write lock anyway).
const PG_OBJECT_LOCK: Option<&str> = Some("select pg_advisory_xact_lock(7251002, hashtext($1))");

/// Whether statements on the visibility rule stay prepared: see [`proposal_list_where`].
const SQLITE_KEEPS_LIST_PLANS: bool = true;
const PG_KEEPS_LIST_PLANS: bool = false;

store_impl!(sqlx::Transaction<'static, sqlx::Sqlite>, None::<&str>, SQLITE_KEEPS_LIST_PLANS);
store_impl!(sqlx::Transaction<'static, sqlx::Postgres>, PG_OBJECT_LOCK, PG_KEEPS_LIST_PLANS);
store_impl!(PoolConnection<sqlx::Sqlite>, None::<&str>, SQLITE_KEEPS_LIST_PLANS);
store_impl!(PoolConnection<sqlx::Postgres>, PG_OBJECT_LOCK, PG_KEEPS_LIST_PLANS);

#[cfg(test)]
mod tests {
    use super::InOrder;
    type Sqlite = sqlx::pool::PoolConnection<sqlx::Sqlite>;
    type Postgres = sqlx::Transaction<'static, sqlx::Postgres>;

    #[test]
    fn parameters_in_order_are_numbered_on_postgres_and_bare_on_sqlite() {
        assert_eq!(<Postgres as InOrder>::params(3, 1), "$1, $2, $3");
        assert_eq!(<Sqlite as InOrder>::params(3, 1), "?, ?, ?");
        assert_eq!(<Postgres as InOrder>::params(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(<Sqlite as InOrder>::params(2, 3), "(?, ?, ?), (?, ?, ?)");
        assert_eq!(<Sqlite as InOrder>::params(0, 5), "");
        assert_eq!(<Postgres as InOrder>::list_from(2, 3), "$2, $3, $4");
        assert_eq!(<Sqlite as InOrder>::list_from(2, 3), "?, ?, ?");
    }
}
