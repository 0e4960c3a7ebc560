//! Evaluation: published criteria, individual evaluations, the round's aggregate, decisions, assignments.

use crate::graphql::types::scalars::{Date, Timestamp};
use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::{organisation::User, proposal::Proposal, savings::SavingsFigure};
use crate::{
    db::rows::{AssignmentRow, CriterionRow, EvaluationRow},
    domain::{
        evaluation::{aggregate, Weighted, SCORE_MAX, SCORE_MIN},
        savings::{Savings, SavingsKind},
    },
    error::AppResult,
    journey::{self, review::DecisionOutcome},
    read,
};

/// A published evaluation criterion and its weight.
#[derive(SimpleObject, Clone)]
pub struct Criterion {
    pub key: String,
    pub name: String,
    /// Weight in percent; the weights of a version add up to 100.
    pub weight: f64,
    pub description: String,
}

impl From<CriterionRow> for Criterion {
    fn from(r: CriterionRow) -> Criterion {
        Criterion { key: r.key, name: r.name, weight: r.weight, description: r.description }
    }
}

/// A version of the published criteria (算法公示): how every proposal is scored.
#[derive(SimpleObject)]
pub struct EvaluationCriteria {
    pub version: i64,
    pub published_at: Option<Timestamp>,
    pub score_min: f64,
    pub score_max: f64,
    /// How the overall score is computed, in words.
    pub method: String,
    pub criteria: Vec<Criterion>,
}

impl EvaluationCriteria {
    pub fn from_rows(rows: Vec<CriterionRow>) -> Option<EvaluationCriteria> {
        let first = rows.first()?;
        Some(EvaluationCriteria {
            version: first.version,
            published_at: Some(first.published_at.into()),
            score_min: SCORE_MIN,
            score_max: SCORE_MAX,
            method: "each reviewer scores every criterion 0–10; a reviewer's overall score is the weighted mean; the proposal's is the mean over reviewers / 每位评审按各指标0–10分打分，按权重加权平均，再对评审人取平均".into(),
            criteria: rows.into_iter().map(Criterion::from).collect(),
        })
    }

    pub async fn load(ctx: &Context<'_>, version: Option<i64>) -> AppResult<Option<EvaluationCriteria>> {
        Ok(EvaluationCriteria::from_rows(read!(ctx, |s| s.criteria(version).await)))
    }
}

#[derive(SimpleObject)]
pub struct CriterionScore {
    pub criterion: String,
    pub score: f64,
}

pub struct Evaluation {
    pub row: EvaluationRow,
    /// Reviewer names are shown to the studio and to the reviewer; authors see anonymous evaluations.
    pub show_reviewer: bool,
}

#[Object]
impl Evaluation {
    async fn round(&self) -> i64 {
        self.row.round
    }
    async fn criteria_version(&self) -> i64 {
        self.row.criteria_version
    }
    async fn scores(&self) -> Vec<CriterionScore> {
        self.row.scores().into_iter().map(|(criterion, score)| CriterionScore { criterion, score }).collect()
    }
    /// Weighted mean of the scores, 0–10.
    async fn weighted_score(&self) -> f64 {
        self.row.weighted_score
    }
    async fn comment(&self) -> &str {
        &self.row.comment
    }
    /// The reviewer's forecast of yearly savings, if they gave one (converted with the current factors).
    async fn forecast_savings(&self, ctx: &Context<'_>) -> Result<Option<SavingsFigure>> {
        let Some(s) = self.row.forecast.as_deref().and_then(|f| serde_json::from_str::<Savings>(f).ok()) else {
            return Ok(None);
        };
        let c = read!(ctx, |st| journey::convert(st, s).await);
        Ok(Some(SavingsFigure { kind: SavingsKind::Forecast, c, recorded_at: Some(self.row.created_at) }))
    }
    async fn reviewer(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        if !self.show_reviewer {
            return Ok(None);
        }
        let id = self.row.reviewer_id;
        Ok(read!(ctx, |s| s.user(id).await).map(User))
    }
    async fn created_at(&self) -> Timestamp {
        self.row.created_at.into()
    }
}

#[derive(SimpleObject)]
pub struct CriterionStat {
    pub key: String,
    pub weight: f64,
    pub mean: f64,
    /// Population standard deviation across reviewers.
    pub spread: f64,
    pub min: f64,
    pub max: f64,
}

#[derive(SimpleObject)]
pub struct EvaluationSummary {
    pub round: i64,
    pub criteria_version: i64,
    /// Reviewers assigned this round.
    pub assigned: i64,
    /// Evaluations completed this round.
    pub completed: i64,
    /// Evaluations needed before a decision.
    pub required: i64,
    /// Mean over reviewers of their weighted scores, 0–10; null before any evaluation.
    pub weighted_mean: Option<f64>,
    pub criteria: Vec<CriterionStat>,
}

impl EvaluationSummary {
    pub async fn load(ctx: &Context<'_>, proposal_id: i64, round: i64, required: u32) -> AppResult<EvaluationSummary> {
        let (evaluations, assigned) = read!(ctx, |s| {
            let e = s.evaluations(proposal_id, round).await?;
            let a = s.assignments(proposal_id, round).await?.len();
            Ok((e, a))
        });
        let version = evaluations.first().map(|e| e.criteria_version);
        let criteria = read!(ctx, |s| s.criteria(version).await);
        let weighted: Vec<Weighted> =
            criteria.iter().map(|c| Weighted { key: c.key.clone(), weight: c.weight }).collect();
        let scores: Vec<_> = evaluations.iter().map(EvaluationRow::scores).collect();
        let (mean, stats) = aggregate(&weighted, &scores);
        Ok(EvaluationSummary {
            round,
            criteria_version: criteria.first().map(|c| c.version).unwrap_or(1),
            assigned: assigned as i64,
            completed: evaluations.len() as i64,
            required: required as i64,
            weighted_mean: mean,
            criteria: stats
                .into_iter()
                .map(|s| CriterionStat {
                    key: s.key,
                    weight: s.weight,
                    mean: s.mean,
                    spread: s.spread,
                    min: s.min,
                    max: s.max,
                })
                .collect(),
        })
    }
}

/// The studio lead's decision on a round.
pub struct Decision {
    pub outcome: String,
    pub reason: String,
    pub decided_at: DateTime<Utc>,
    pub criteria_version: i64,
}

#[Object]
impl Decision {
    async fn outcome(&self) -> Option<DecisionOutcome> {
        DecisionOutcome::parse(&self.outcome)
    }
    async fn reason(&self) -> &str {
        &self.reason
    }
    async fn decided_at(&self) -> Timestamp {
        self.decided_at.into()
    }
    async fn criteria_version(&self) -> i64 {
        self.criteria_version
    }
    /// The criteria and weights this decision used.
    async fn criteria(&self, ctx: &Context<'_>) -> Result<Option<EvaluationCriteria>> {
        Ok(EvaluationCriteria::load(ctx, Some(self.criteria_version)).await?)
    }
}

/// A reviewer assigned to a proposal's round.
pub struct ReviewAssignment(pub AssignmentRow);

#[Object]
impl ReviewAssignment {
    /// The proposal, as this viewer may see it (blind review applies).
    async fn proposal(&self, ctx: &Context<'_>) -> Result<Option<Proposal>> {
        Ok(Proposal::by_id(ctx, self.0.proposal_id).await?)
    }
    async fn reviewer(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let id = self.0.reviewer_id;
        Ok(read!(ctx, |s| s.user(id).await).map(User))
    }
    async fn round(&self) -> i64 {
        self.0.round
    }
    async fn due_on(&self) -> Option<Date> {
        self.0.due_on.map(Into::into)
    }
    async fn assigned_at(&self) -> Timestamp {
        self.0.assigned_at.into()
    }
}
