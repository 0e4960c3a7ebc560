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

/// A published evaluation criterion and its weight. 公布的评价指标及其权重。
#[derive(SimpleObject, Clone)]
pub struct Criterion {
    /// A stable key of the criterion (e.g. savings, feasibility). 评价指标的固定键。
    pub key: String,
    /// Its name as published, in Chinese. 公布的指标名称。
    pub name: String,
    /// Weight in percent; the weights of a version add up to 100. 权重（百分比），同一版本的权重之和为100。
    pub weight: f64,
    /// What reviewers judge under it. 该指标评什么。
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
    /// The version number; every evaluation keeps the version it used. 版本号；每份评分都记录其所用版本。
    pub version: i64,
    /// When this version was published. 发布时间。
    pub published_at: Option<Timestamp>,
    /// The lowest score a criterion takes. 单项最低分。
    pub score_min: f64,
    /// The highest score a criterion takes. 单项最高分。
    pub score_max: f64,
    /// How the overall score is computed, in words. 总分的计算方法说明。
    pub method: String,
    /// The criteria, each with its weight. 各项指标及权重。
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

/// One reviewer's score on one criterion. 某评审人对某指标的打分。
#[derive(SimpleObject, Clone)]
pub struct CriterionScore {
    /// The criterion's key. 指标键。
    pub criterion: String,
    /// The score, within the criteria's range. 分数（在公布的范围内）。
    pub score: f64,
}

pub struct Evaluation {
    pub row: EvaluationRow,
    /// Reviewer names are shown to the studio and to the reviewer; authors see anonymous evaluations.
    pub show_reviewer: bool,
}

/// One reviewer's scorecard for one round. 评审人在一轮评审中的评分表。
#[Object]
impl Evaluation {
    /// The review round (a returned and resubmitted proposal has another). 评审轮次。
    async fn round(&self) -> i64 {
        self.row.round
    }
    /// The version of the criteria it was scored against. 所用评价标准的版本。
    async fn criteria_version(&self) -> i64 {
        self.row.criteria_version
    }
    /// The score per criterion. 各指标得分。
    async fn scores(&self) -> Vec<CriterionScore> {
        self.row.scores().into_iter().map(|(criterion, score)| CriterionScore { criterion, score }).collect()
    }
    /// Weighted mean of the scores, 0–10. 加权平均分（0–10）。
    async fn weighted_score(&self) -> f64 {
        self.row.weighted_score
    }
    /// The reviewer's comment. 评审意见。
    async fn comment(&self) -> &str {
        &self.row.comment
    }
    /// The reviewer's forecast of yearly savings, if they gave one (converted with the current factors). 评审人对年节能量的预测（如有，按现行系数折算）。
    async fn forecast_savings(&self, ctx: &Context<'_>) -> Result<Option<SavingsFigure>> {
        let Some(s) = self.row.forecast.as_deref().and_then(|f| serde_json::from_str::<Savings>(f).ok()) else {
            return Ok(None);
        };
        let c = read!(ctx, |st| journey::convert(st, s).await);
        Ok(Some(SavingsFigure { kind: SavingsKind::Forecast, c, recorded_at: Some(self.row.created_at) }))
    }
    /// Who scored; hidden from the authors. 评审人（对作者隐藏）。
    async fn reviewer(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        if !self.show_reviewer {
            return Ok(None);
        }
        let id = self.row.reviewer_id;
        Ok(read!(ctx, |s| s.user(id).await).map(User))
    }
    /// When it was created. 创建时间。
    async fn created_at(&self) -> Timestamp {
        self.row.created_at.into()
    }
}

/// Scores on one criterion across the round's evaluations. 一轮评审中某指标的分数统计。
#[derive(SimpleObject)]
pub struct CriterionStat {
    /// The criterion's key. 指标键。
    pub key: String,
    /// Its weight in the overall score. 在总分中的权重。
    pub weight: f64,
    /// Mean score. 平均分。
    pub mean: f64,
    /// Population standard deviation across reviewers. 评审人之间的总体标准差。
    pub spread: f64,
    /// Lowest score. 最低分。
    pub min: f64,
    /// Highest score. 最高分。
    pub max: f64,
}

/// The scores of a round, anonymised: what the authors see once decided. 一轮评审的匿名汇总（决定后作者可见）。
#[derive(SimpleObject)]
pub struct EvaluationSummary {
    /// The review round. 评审轮次。
    pub round: i64,
    /// The version of the criteria used. 所用评价标准的版本。
    pub criteria_version: i64,
    /// Reviewers assigned this round. 本轮指派的评审人数。
    pub assigned: i64,
    /// Evaluations completed this round. 本轮已完成的评分份数。
    pub completed: i64,
    /// Evaluations needed before a decision. 作出决定前所需的评分份数。
    pub required: i64,
    /// Mean over reviewers of their weighted scores, 0–10; null before any evaluation. 各评审人加权分的平均（0–10）；尚无评分时为空。
    pub weighted_mean: Option<f64>,
    /// Statistics per criterion. 各指标统计。
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

/// The decision on a proposal, with its reason and the criteria version used. 对提案的决定（含理由与所用评价标准版本）。
#[Object]
impl Decision {
    /// Accepted, returned or rejected. 采纳、退回或不采纳。
    async fn outcome(&self) -> Option<DecisionOutcome> {
        DecisionOutcome::parse(&self.outcome)
    }
    /// Why, as the studio lead wrote it. 决定理由。
    async fn reason(&self) -> &str {
        &self.reason
    }
    /// When it was decided. 决定时间。
    async fn decided_at(&self) -> Timestamp {
        self.decided_at.into()
    }
    /// The version of the evaluation criteria used. 所用评价标准的版本。
    async fn criteria_version(&self) -> i64 {
        self.criteria_version
    }
    /// The criteria and weights this decision used. 本决定所用的评价指标与权重。
    async fn criteria(&self, ctx: &Context<'_>) -> Result<Option<EvaluationCriteria>> {
        Ok(EvaluationCriteria::load(ctx, Some(self.criteria_version)).await?)
    }
}

/// A reviewer assigned to a proposal's round.
pub struct ReviewAssignment(pub AssignmentRow);

/// A reviewer assigned to score a proposal in one round. 某轮评审的评审人指派。
#[Object]
impl ReviewAssignment {
    /// The proposal, as this viewer may see it (blind review applies). 当前查看者可见的提案（遵循盲评）。
    async fn proposal(&self, ctx: &Context<'_>) -> Result<Option<Proposal>> {
        Ok(Proposal::by_id(ctx, self.0.proposal_id).await?)
    }
    /// The reviewer. 评审人。
    async fn reviewer(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let id = self.0.reviewer_id;
        Ok(read!(ctx, |s| s.user(id).await).map(User))
    }
    /// The review round. 评审轮次。
    async fn round(&self) -> i64 {
        self.0.round
    }
    /// When the review is due. 评审截止日期。
    async fn due_on(&self) -> Option<Date> {
        self.0.due_on.map(Into::into)
    }
    /// When they were assigned. 指派时间。
    async fn assigned_at(&self) -> Timestamp {
        self.0.assigned_at.into()
    }
}
