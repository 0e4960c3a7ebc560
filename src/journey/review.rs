//! Evaluation: assigning reviewers, scoring against the published criteria, and the studio lead's decision.

use chrono::{DateTime, NaiveDate, Utc};

use super::{
    award, check, check_version, conflict_error, conflict_of_interest, convert, is_reviewer_role, load_visible, record,
    required_text, transition, validate_savings, Loaded,
};
use crate::{
    db::{rows::ProposalRow, store::Store, users::UserRow},
    domain::{
        evaluation::{validate_scores, weighted_score, Weighted},
        lifecycle::{Action, Status},
        recognition::PointsReason,
        savings::{Savings, SavingsKind},
    },
    error::{AppError, AppResult, ErrorCode},
};

pub const MAX_REVIEWERS: usize = 10;

pub async fn assign_reviewers(
    store: &mut dyn Store,
    lead: &UserRow,
    id: i64,
    expected_version: i64,
    reviewer_ids: &[i64],
    due_on: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> AppResult<ProposalRow> {
    let p = load_visible(store, Some(lead), id).await?;
    check_version(&p, expected_version)?;
    check(&p, lead, Action::AssignReviewers)?;
    if reviewer_ids.is_empty() || reviewer_ids.len() > MAX_REVIEWERS {
        return Err(AppError::invalid(
            "reviewerIds",
            format!("assign 1–{MAX_REVIEWERS} reviewers / 请指派1到{MAX_REVIEWERS}名评审人"),
        ));
    }
    if due_on.is_some_and(|d| d < crate::domain::today(now)) {
        return Err(AppError::invalid("dueOn", "the due date is in the past / 截止日期已过"));
    }
    for &rid in reviewer_ids {
        eligible_reviewer(store, &p, rid).await?;
        store.insert_assignment(id, p.row.round, rid, due_on, lead.id, now).await?;
    }
    store.set_studio(id, lead.studio_id).await?;
    transition(store, &p, lead, Action::AssignReviewers, expected_version, "REVIEWERS_ASSIGNED", None, now).await?;
    super::notify::assigned(store, &p.row, lead, reviewer_ids, due_on, now).await?;
    super::proposals::reload(store, id).await
}

/// The reviewer `rid`, when they may review `p`: they exist, hold a reviewing role, and neither wrote it nor
/// belong to its team.
pub async fn eligible_reviewer(store: &mut dyn Store, p: &Loaded, rid: i64) -> AppResult<UserRow> {
    let reviewer = store
        .user(rid)
        .await?
        .ok_or_else(|| AppError::invalid("reviewerIds", "a reviewer does not exist / 评审人不存在"))?;
    if !is_reviewer_role(reviewer.role()) {
        return Err(AppError::invalid(
            "reviewerIds",
            format!("{} is not a reviewer (role {}) / {}不是评审专家", reviewer.name, reviewer.role, reviewer.name),
        ));
    }
    if conflict_of_interest(store, p, &reviewer).await? {
        return Err(conflict_error());
    }
    Ok(reviewer)
}

/// A score for one criterion, by key.
pub struct ScoreInput {
    pub criterion: String,
    pub score: f64,
}

pub async fn submit_evaluation(
    store: &mut dyn Store,
    reviewer: &UserRow,
    id: i64,
    scores: Vec<ScoreInput>,
    comment: &str,
    forecast: Option<Savings>,
    now: DateTime<Utc>,
) -> AppResult<ProposalRow> {
    let p = load_visible(store, Some(reviewer), id).await?;
    if conflict_of_interest(store, &p, reviewer).await? {
        return Err(conflict_error());
    }
    check(&p, reviewer, Action::Evaluate)?;
    let assigned = store.assignments(id, p.row.round).await?.iter().any(|a| a.reviewer_id == reviewer.id);
    if !assigned {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "you are not assigned to review this proposal / 您未被指派评审此建议",
        ));
    }
    let comment = required_text(comment, "comment", 5000)?;
    let criteria = store.criteria(None).await?;
    let version = criteria.first().map(|c| c.version).unwrap_or(0);
    let weighted: Vec<Weighted> = criteria.iter().map(|c| Weighted { key: c.key.clone(), weight: c.weight }).collect();
    let pairs: Vec<(String, f64)> = scores.into_iter().map(|s| (s.criterion, s.score)).collect();
    let by_key = validate_scores(&weighted, &pairs).map_err(|m| AppError::invalid("scores", m))?;
    let forecast_json = match forecast {
        Some(f) => {
            validate_savings(&f, "forecastSavings")?;
            Some(serde_json::to_string(&f).unwrap_or_default())
        }
        None => None,
    };
    let score = weighted_score(&weighted, &by_key);
    let scores_json = serde_json::to_string(&by_key).unwrap_or_else(|_| "{}".into());
    store
        .upsert_evaluation(
            id,
            p.row.round,
            reviewer.id,
            version,
            &scores_json,
            score,
            &comment,
            forecast_json.as_deref(),
            now,
        )
        .await?;
    record(store, &p.row, "EVALUATED", reviewer, Status::Evaluating, None, now).await?;
    super::proposals::reload(store, id).await
}

crate::string_enum! {
    /// What a studio lead decides. 工作室负责人的决定。
    pub enum DecisionOutcome {
        /// Accept: the proposal goes to a pilot. 采纳，进入试点。
        Accept = "ACCEPT",
        /// Return to the authors for revision. 退回作者修改。
        Return = "RETURN",
        /// Reject, with a reason. 不采纳（须附理由）。
        Reject = "REJECT",
    }
}

#[allow(clippy::too_many_arguments)]
pub async fn decide(
    store: &mut dyn Store,
    lead: &UserRow,
    id: i64,
    expected_version: i64,
    decision: DecisionOutcome,
    reason: &str,
    min_evaluations: u32,
    now: DateTime<Utc>,
) -> AppResult<ProposalRow> {
    let p = load_visible(store, Some(lead), id).await?;
    let action = match decision {
        DecisionOutcome::Accept => Action::Accept,
        DecisionOutcome::Return => Action::Return,
        DecisionOutcome::Reject => Action::Reject,
    };
    check_version(&p, expected_version)?;
    check(&p, lead, action)?;
    let reason = required_text(reason, "reason", 5000)?;
    let evaluations = store.evaluations(id, p.row.round).await?;
    let assigned = store.assignments(id, p.row.round).await?.len();
    if evaluations.len() < min_evaluations as usize {
        return Err(AppError::new(
            ErrorCode::NotEnoughEvaluations,
            format!(
                "{} of {assigned} assigned reviewers have evaluated; at least {min_evaluations} evaluations are needed / 已完成评审{}份，至少需要{min_evaluations}份",
                evaluations.len(),
                evaluations.len()
            ),
        ));
    }
    let criteria_version = evaluations.first().map(|e| e.criteria_version).unwrap_or(1);
    let kind = match decision {
        DecisionOutcome::Accept => "ACCEPTED",
        DecisionOutcome::Return => "RETURNED",
        DecisionOutcome::Reject => "REJECTED",
    };
    transition(store, &p, lead, action, expected_version, kind, Some(&reason), now).await?;
    store.set_decision(id, decision.as_str(), &reason, criteria_version, now).await?;
    if decision == DecisionOutcome::Accept {
        let forecasts: Vec<Savings> = evaluations
            .iter()
            .filter_map(|e| e.forecast.as_deref().and_then(|f| serde_json::from_str::<Savings>(f).ok()))
            .collect();
        if !forecasts.is_empty() {
            let mean =
                forecasts.iter().fold(Savings::default(), |acc, s| acc.add(s)).scale(1.0 / forecasts.len() as f64);
            let c = convert(store, mean).await?;
            store.put_savings(id, SavingsKind::Forecast, &c, Some(lead.id), now).await?;
        }
        award(store, &p, PointsReason::Acceptance, now).await?;
    }
    super::proposals::reload(store, id).await
}
