//! Rows of the proposal journey's tables, as read from either backend.

use chrono::{DateTime, NaiveDate, Utc};
pub use search_index::FeedPosition;
use sqlx::FromRow;

use crate::domain::{
    lifecycle::Status,
    savings::{Carrier, Converted, Measurement, Savings},
};

/// A proposal with whether the viewer of the query is assigned to review it (search hits, one statement).
#[derive(FromRow)]
pub struct ProposalForViewer {
    #[sqlx(flatten)]
    pub row: ProposalRow,
    pub viewer_assigned: bool,
}

#[derive(FromRow, Clone, Debug)]
pub struct ProposalRow {
    pub id: i64,
    pub external_id: Option<String>,
    pub title: String,
    pub body: String,
    pub category: String,
    pub industry: String,
    pub tags: String,
    pub enterprise_id: Option<i64>,
    pub team_id: Option<i64>,
    pub studio_id: Option<i64>,
    pub created_by: Option<i64>,
    pub on_behalf_of: Option<String>,
    pub status: String,
    pub version: i64,
    pub round: i64,
    pub idempotency_key: Option<String>,
    pub decision: Option<String>,
    pub decision_reason: Option<String>,
    pub decision_criteria_version: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub adopted_at: Option<DateTime<Utc>>,
    pub promoted_at: Option<DateTime<Utc>>,
    /// The proposal this one duplicates, once a studio lead marked it so.
    pub duplicate_of: Option<i64>,
    /// The challenge this proposal answers.
    pub challenge_id: Option<i64>,
    /// It answers an enterprise-scoped challenge: visible inside its enterprise only, whatever its status.
    pub confined: bool,
}

impl ProposalRow {
    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Draft)
    }

    pub fn tags(&self) -> Vec<String> {
        serde_json::from_str(&self.tags).unwrap_or_default()
    }
}

/// An author of a proposal: a user, or a named worker without an account (submitted on their behalf).
#[derive(FromRow, Clone, Debug)]
pub struct AuthorRow {
    pub proposal_id: i64,
    pub position: i64,
    pub user_id: Option<i64>,
    pub name: String,
}

#[derive(FromRow, Clone, Debug)]
pub struct SavingsRow {
    pub proposal_id: i64,
    pub kind: String,
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
    pub recorded_by: Option<i64>,
    pub recorded_at: DateTime<Utc>,
}

impl SavingsRow {
    pub fn converted(&self) -> Converted {
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

#[derive(FromRow, Clone, Debug)]
pub struct FactorRow {
    pub id: i64,
    pub version: i64,
    pub carrier: String,
    pub quantity: String,
    pub factor: f64,
    pub unit: String,
    pub published_factor: f64,
    pub basis: String,
    pub source: String,
    pub year: i64,
    pub valid_from: NaiveDate,
}

#[derive(FromRow, Clone, Debug)]
pub struct CriterionRow {
    pub id: i64,
    pub version: i64,
    pub key: String,
    pub name: String,
    pub weight: f64,
    pub description: String,
    pub position: i64,
    pub published_at: DateTime<Utc>,
}

#[derive(FromRow, Clone, Debug)]
pub struct AssignmentRow {
    pub proposal_id: i64,
    pub round: i64,
    pub reviewer_id: i64,
    pub due_on: Option<NaiveDate>,
    pub assigned_by: i64,
    pub assigned_at: DateTime<Utc>,
}

#[derive(FromRow, Clone, Debug)]
pub struct EvaluationRow {
    pub id: i64,
    pub proposal_id: i64,
    pub round: i64,
    pub reviewer_id: i64,
    pub criteria_version: i64,
    pub scores: String,
    pub weighted_score: f64,
    pub comment: String,
    pub forecast: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl EvaluationRow {
    pub fn scores(&self) -> std::collections::BTreeMap<String, f64> {
        serde_json::from_str(&self.scores).unwrap_or_default()
    }
}

#[derive(FromRow, Clone, Debug)]
pub struct PilotRow {
    pub proposal_id: i64,
    pub plan: String,
    pub started_by: i64,
    pub started_at: DateTime<Utc>,
}

#[derive(FromRow, Clone, Debug)]
pub struct MilestoneRow {
    pub id: i64,
    pub proposal_id: i64,
    pub position: i64,
    pub title: String,
    pub due_on: Option<NaiveDate>,
    pub status: String,
    pub done_on: Option<NaiveDate>,
}

#[derive(FromRow, Clone, Debug)]
pub struct MeasurementRow {
    pub id: i64,
    pub proposal_id: i64,
    pub carrier: String,
    pub baseline: f64,
    pub after: f64,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub note: String,
    pub recorded_by: i64,
    pub recorded_at: DateTime<Utc>,
}

impl MeasurementRow {
    pub fn measurement(&self) -> Option<Measurement> {
        Some(Measurement {
            carrier: Carrier::parse(&self.carrier)?,
            baseline: self.baseline,
            after: self.after,
            period_start: self.period_start,
            period_end: self.period_end,
        })
    }
}

#[derive(FromRow, Clone, Debug)]
pub struct TechniqueRow {
    pub id: i64,
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
    pub version: i64,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(FromRow, Clone, Debug)]
pub struct AdoptionRow {
    pub id: i64,
    pub technique_id: i64,
    pub enterprise_id: i64,
    pub proposal_id: Option<i64>,
    pub adopted_on: NaiveDate,
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
    pub note: String,
    pub recorded_by: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(FromRow, Clone, Debug)]
pub struct EventRow {
    pub id: i64,
    pub proposal_id: i64,
    pub kind: String,
    pub actor_id: Option<i64>,
    pub from_status: Option<String>,
    pub to_status: String,
    pub from_version: i64,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    /// A submission's content hashes (`domain::proof::ContentDigest` as JSON); none for other events.
    #[sqlx(default)]
    pub content: Option<String>,
    /// With `id`, the event's place in feed order ([`FeedPosition`]).
    pub txid: i64,
    /// Whether no event can still appear before this one (only [`Store::events_after`] says; otherwise false).
    ///
    /// [`Store::events_after`]: super::store::Store::events_after
    #[sqlx(default)]
    pub settled: bool,
}

impl EventRow {
    pub fn position(&self) -> FeedPosition {
        FeedPosition { txid: self.txid, seq: self.id }
    }
}

#[derive(FromRow, Clone, Debug)]
pub struct PointsRow {
    pub id: i64,
    pub user_id: Option<i64>,
    pub author_name: String,
    pub proposal_id: i64,
    pub reason: String,
    pub points: i64,
    pub credits: f64,
    pub created_at: DateTime<Utc>,
}

#[derive(FromRow, Clone, Debug)]
pub struct FeedRow {
    pub seq: i64,
    pub entity: String,
    pub entity_id: i64,
    pub txid: i64,
    /// Whether no row can still appear before this one: see [`Store::feed_after`](super::store::Store::feed_after).
    pub settled: bool,
}

impl FeedRow {
    pub fn position(&self) -> FeedPosition {
        FeedPosition { txid: self.txid, seq: self.seq }
    }
}

#[derive(FromRow, Clone, Debug)]
pub struct ImpactDbRow {
    pub challenge_id: Option<i64>,
    pub enterprise_id: Option<i64>,
    pub industry: String,
    pub studio_id: Option<i64>,
    pub team_id: Option<i64>,
    pub category: String,
    pub status: String,
    pub submitted_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub adopted_at: Option<DateTime<Utc>>,
    pub expected_tce: Option<f64>,
    pub expected_tco2e: Option<f64>,
    pub expected_yuan: Option<f64>,
    pub verified_tce: Option<f64>,
    pub verified_tco2e: Option<f64>,
    pub verified_yuan: Option<f64>,
    pub verified_investment: Option<f64>,
}

impl ImpactDbRow {
    pub fn into_domain(self) -> crate::domain::impact::ImpactRow {
        crate::domain::impact::ImpactRow {
            help: false,
            challenge_id: self.challenge_id,
            status: Status::parse(&self.status).unwrap_or(Status::Draft),
            enterprise_id: self.enterprise_id,
            industry: self.industry,
            studio_id: self.studio_id,
            team_id: self.team_id,
            category: self.category,
            submitted_at: self.submitted_at,
            decided_at: self.decided_at,
            adopted_at: self.adopted_at,
            expected: self
                .expected_tce
                .map(|t| (t, self.expected_tco2e.unwrap_or(0.0), self.expected_yuan.unwrap_or(0.0))),
            verified: self.verified_tce.map(|t| {
                (
                    t,
                    self.verified_tco2e.unwrap_or(0.0),
                    self.verified_yuan.unwrap_or(0.0),
                    self.verified_investment.unwrap_or(0.0),
                )
            }),
        }
    }
}

#[derive(FromRow, Clone, Debug)]
pub struct AttachmentRow {
    pub id: i64,
    pub proposal_id: i64,
    pub object_key: String,
    pub sha256: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub caption: String,
    pub uploaded_by: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(FromRow, Clone, Debug)]
pub struct ExportRow {
    pub id: i64,
    pub external_id: Option<String>,
    pub title: String,
    pub body: String,
    pub category: String,
    pub industry: String,
    pub tags: String,
    pub enterprise: Option<String>,
    pub status: String,
    pub submitted_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub adopted_at: Option<DateTime<Utc>>,
    // Savings figures, as entered or measured, and converted; null when the proposal has none.
    pub expected_electricity_kwh: Option<f64>,
    pub expected_coal_t: Option<f64>,
    pub expected_natural_gas_m3: Option<f64>,
    pub expected_steam_t: Option<f64>,
    pub expected_water_t: Option<f64>,
    pub expected_money_yuan: Option<f64>,
    pub expected_investment_yuan: Option<f64>,
    pub expected_tce: Option<f64>,
    pub expected_tco2e: Option<f64>,
    pub verified_electricity_kwh: Option<f64>,
    pub verified_coal_t: Option<f64>,
    pub verified_natural_gas_m3: Option<f64>,
    pub verified_steam_t: Option<f64>,
    pub verified_water_t: Option<f64>,
    pub verified_money_yuan: Option<f64>,
    pub verified_investment_yuan: Option<f64>,
    pub verified_tce: Option<f64>,
    pub verified_tco2e: Option<f64>,
}

/// A catalogue technique with its adoption totals, for the CSV export.
#[derive(FromRow, Clone, Debug)]
pub struct TechniqueExportRow {
    #[sqlx(flatten)]
    pub technique: TechniqueRow,
    pub adoptions: i64,
    pub adopted_tce: f64,
    pub adopted_tco2e: f64,
    pub adopted_yuan: f64,
}

/// One author of one proposal with their points and the proposal's verified savings (for leaderboards).
#[derive(FromRow, Clone, Debug)]
pub struct AuthorShareRow {
    pub proposal_id: i64,
    pub team_id: Option<i64>,
    pub user_id: Option<i64>,
    pub name: String,
    pub points: i64,
    pub authors: i64,
    pub verified_tce: Option<f64>,
    pub verified_tco2e: Option<f64>,
    pub verified_yuan: Option<f64>,
}

impl AuthorShareRow {
    pub fn into_domain(self) -> crate::domain::impact::AuthorShare {
        crate::domain::impact::AuthorShare {
            proposal_id: self.proposal_id,
            team_id: self.team_id,
            user_id: self.user_id,
            name: self.name,
            points: self.points,
            authors: self.authors,
            verified: self
                .verified_tce
                .map(|t| (t, self.verified_tco2e.unwrap_or(0.0), self.verified_yuan.unwrap_or(0.0))),
        }
    }
}

/// A page of a list ordered by id, read by key: rows beyond `after` and before `before` in the list's
/// order, `fetch` of them, nearest to the page's cursor first (`backward`: from `before` towards the
/// start). How connections page (`graphql::connection`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KeyPage {
    pub after: Option<i64>,
    pub before: Option<i64>,
    pub fetch: i64,
    pub backward: bool,
}

impl KeyPage {
    /// No rows: for the count alone.
    pub const COUNT_ONLY: KeyPage = KeyPage { after: None, before: None, fetch: 0, backward: false };

    /// The tail of a statement over a list ordered newest first by `column`: the key conditions, the order
    /// and the limit, with `after`, `before` and `fetch` bound as `$first`, `$first + 1`, `$first + 2`.
    pub fn newest_first(&self, column: &str, first: usize) -> String {
        let (a, b, n) = (first, first + 1, first + 2);
        format!(
            "(cast(${a} as bigint) is null or {column} < ${a}) and (cast(${b} as bigint) is null or {column} > ${b})
             order by {column} {} limit ${n}",
            if self.backward { "asc" } else { "desc" }
        )
    }
}
