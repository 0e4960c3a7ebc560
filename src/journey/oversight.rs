//! Appeals and changes to the rules (issue #22): an author appeals a rejection; the oversight group gives
//! its opinion; a studio lead upholds it or reopens the proposal with fresh reviewers. An admin proposes a
//! new version of the criteria or the factor table; it takes effect only when an overseer (another
//! person) approves it. Each step in one transaction, with its event.

use chrono::{DateTime, NaiveDate, Utc};

use super::{check, load_visible, record, required_text, stale, transition};
use crate::{
    db::{
        oversight::{AppealRow, RuleChangeRow},
        rows::FactorRow,
        store::Store,
        users::UserRow,
    },
    domain::{
        lifecycle::{Action, Status},
        organisation::Role,
        oversight::{appeal_open, AppealOutcome, AppealStatus, RuleChangeStatus, RuleKind, APPEAL_REASON_MAX},
        savings::{Carrier, Quantity},
    },
    error::{AppError, AppResult, ErrorCode},
};

/// An author appeals the rejection of their proposal, within `days` of it; once per rejection.
pub async fn appeal(
    store: &mut dyn Store,
    user: &UserRow,
    proposal_id: i64,
    reason: &str,
    days: u32,
    now: DateTime<Utc>,
) -> AppResult<AppealRow> {
    let p = load_visible(store, Some(user), proposal_id).await?;
    if !p.is_author(user) {
        return Err(AppError::new(ErrorCode::Forbidden, "only its authors may appeal a decision / 只有作者可以申诉"));
    }
    if p.status() != Status::Rejected {
        return Err(AppError::new(
            ErrorCode::InvalidTransition,
            "only a rejection can be appealed / 只能对不采纳决定提出申诉",
        ));
    }
    if !appeal_open(p.row.decided_at, now, days) {
        return Err(AppError::new(
            ErrorCode::InvalidTransition,
            format!("the {days} days for an appeal have passed / 已超过{days}天申诉期限"),
        ));
    }
    if store.appeals_of(proposal_id).await?.iter().any(|a| a.round == p.row.round) {
        return Err(AppError::new(ErrorCode::AlreadyExists, "this rejection was already appealed / 该决定已申诉过"));
    }
    let reason = required_text(reason, "reason", APPEAL_REASON_MAX)?;
    let a = store.insert_appeal(proposal_id, p.row.round, user.id, &reason, now).await?;
    record(store, &p.row, "APPEALED", user, Status::Rejected, Some(&reason), now).await?;
    Ok(a)
}

/// Whether `user` speaks for the oversight group of this enterprise: its overseers, and associations.
pub fn oversees(user: &UserRow, enterprise_id: Option<i64>) -> bool {
    match user.role() {
        Role::Overseer => user.enterprise_id.is_some() && user.enterprise_id == enterprise_id,
        Role::Association => true,
        _ => false,
    }
}

/// The appeal, when it is still open and at the version the client saw.
fn open_appeal(a: AppealRow, expected_version: i64) -> AppResult<AppealRow> {
    stale("appeal", "申诉", a.version, expected_version)?;
    if AppealStatus::parse(&a.status) != Some(AppealStatus::Open) {
        return Err(AppError::new(ErrorCode::InvalidTransition, "the appeal is already decided / 该申诉已有结论"));
    }
    Ok(a)
}

/// The oversight group's opinion on an open appeal.
pub async fn opinion(
    store: &mut dyn Store,
    user: &UserRow,
    id: i64,
    expected_version: i64,
    opinion: &str,
    now: DateTime<Utc>,
) -> AppResult<AppealRow> {
    let a = store.appeal(id).await?.ok_or_else(|| AppError::not_found("appeal"))?;
    let p = store.proposal(a.proposal_id).await?.ok_or_else(|| AppError::not_found("proposal"))?;
    if !oversees(user, p.enterprise_id) {
        return Err(AppError::forbidden("give the oversight group's opinion"));
    }
    let a = open_appeal(a, expected_version)?;
    let opinion = required_text(opinion, "opinion", APPEAL_REASON_MAX)?;
    if !store.set_appeal_opinion(a.id, expected_version, user.id, &opinion, now).await? {
        return Err(super::version_conflict("appeal", "申诉", a.version + 1, expected_version));
    }
    record(store, &p, "APPEAL_OPINION", user, p.status(), Some(&opinion), now).await?;
    store.appeal(id).await?.ok_or_else(|| AppError::not_found("appeal"))
}

/// A studio lead's decision on an appeal, after the oversight group's opinion: the rejection stands, or the
/// proposal is evaluated again (`REJECTED → EVALUATING`, a new round) by reviewers who never reviewed it.
#[allow(clippy::too_many_arguments)]
pub async fn decide(
    store: &mut dyn Store,
    lead: &UserRow,
    id: i64,
    expected_version: i64,
    outcome: AppealOutcome,
    reason: &str,
    reviewer_ids: &[i64],
    due_on: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> AppResult<AppealRow> {
    let a = store.appeal(id).await?.ok_or_else(|| AppError::not_found("appeal"))?;
    let p = load_visible(store, Some(lead), a.proposal_id).await?;
    check(&p, lead, Action::Reopen)?;
    let a = open_appeal(a, expected_version)?;
    if a.opinion.is_none() {
        return Err(AppError::new(
            ErrorCode::InvalidTransition,
            "the oversight group has not given its opinion yet / 算法监督小组尚未发表意见",
        ));
    }
    let reason = required_text(reason, "reason", APPEAL_REASON_MAX)?;
    let status = match outcome {
        AppealOutcome::Uphold => {
            record(store, &p.row, "APPEAL_UPHELD", lead, Status::Rejected, Some(&reason), now).await?;
            AppealStatus::Upheld
        }
        AppealOutcome::Reopen => {
            if reviewer_ids.is_empty() || reviewer_ids.len() > super::review::MAX_REVIEWERS {
                return Err(AppError::invalid(
                    "reviewerIds",
                    "reopening needs 1–10 fresh reviewers / 重新评审须指派1到10名新的评审人",
                ));
            }
            if due_on.is_some_and(|d| d < crate::domain::today(now)) {
                return Err(AppError::invalid("dueOn", "the due date is in the past / 截止日期已过"));
            }
            let past = store.past_reviewers(p.row.id).await?;
            for &rid in reviewer_ids {
                let reviewer = super::review::eligible_reviewer(store, &p, rid).await?;
                if past.contains(&rid) {
                    return Err(AppError::invalid(
                        "reviewerIds",
                        format!(
                            "{} reviewed it before; an appeal needs fresh reviewers / {}曾评审过该提案，申诉须由新的评审人评审",
                            reviewer.name, reviewer.name
                        ),
                    ));
                }
            }
            transition(store, &p, lead, Action::Reopen, p.row.version, "REOPENED", Some(&reason), now).await?;
            store.start_round(p.row.id, None, now).await?;
            for &rid in reviewer_ids {
                store.insert_assignment(p.row.id, p.row.round + 1, rid, due_on, lead.id, now).await?;
            }
            store.set_studio(p.row.id, lead.studio_id.or(p.row.studio_id)).await?;
            super::notify::assigned(store, &p.row, lead, reviewer_ids, due_on, now).await?;
            AppealStatus::Reopened
        }
    };
    if !store.decide_appeal(a.id, expected_version, status.as_str(), lead.id, &reason, now).await? {
        return Err(super::version_conflict("appeal", "申诉", a.version + 1, expected_version));
    }
    store.appeal(id).await?.ok_or_else(|| AppError::not_found("appeal"))
}

/// A criterion of a proposed version.
pub struct CriterionInput {
    pub key: String,
    pub name: String,
    pub weight: f64,
    pub description: String,
}

/// One factor of a proposed factor table.
pub struct FactorInput {
    pub carrier: Carrier,
    pub quantity: Quantity,
    pub factor: f64,
    pub unit: String,
    pub published_factor: f64,
    pub basis: String,
    pub source: String,
    pub year: i64,
}

pub enum RuleContent {
    Criteria(Vec<CriterionInput>),
    Factors(Vec<FactorInput>),
}

fn short(value: &str, field: &str, max: usize) -> AppResult<String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max || !crate::domain::text::one_line_ok(v) {
        return Err(AppError::invalid(
            field,
            format!("{field} must be 1–{max} characters / {field}须为1到{max}个字符"),
        ));
    }
    Ok(v.to_owned())
}

/// Checks a proposed table and gives it as stored JSON.
fn content_json(content: &RuleContent) -> AppResult<(RuleKind, String)> {
    match content {
        RuleContent::Criteria(c) => {
            if c.is_empty() || c.len() > 20 {
                return Err(AppError::invalid("criteria", "give 1–20 criteria / 请提供1到20项评审指标"));
            }
            let mut rows = Vec::new();
            for (i, x) in c.iter().enumerate() {
                let key = short(&x.key, &format!("criteria.{i}.key"), 40)?;
                if !key.chars().all(|ch| ch.is_ascii_uppercase() || ch == '_') {
                    return Err(AppError::invalid(
                        &format!("criteria.{i}.key"),
                        "a key is in capitals and underscores, e.g. ENERGY_EFFECT / 指标键须为大写字母和下划线",
                    ));
                }
                if rows.iter().any(|r: &serde_json::Value| r["key"] == key.as_str()) {
                    return Err(AppError::invalid(&format!("criteria.{i}.key"), "a key appears twice / 指标键重复"));
                }
                if !x.weight.is_finite() || x.weight <= 0.0 || x.weight > 100.0 {
                    return Err(AppError::invalid(
                        &format!("criteria.{i}.weight"),
                        "a weight is above 0 and at most 100 / 权重须大于0且不超过100",
                    ));
                }
                let name = short(&x.name, &format!("criteria.{i}.name"), 100)?;
                let description = short(&x.description, &format!("criteria.{i}.description"), 500)?;
                rows.push(
                    serde_json::json!({"key": key, "name": name, "weight": x.weight, "description": description}),
                );
            }
            Ok((RuleKind::Criteria, serde_json::Value::Array(rows).to_string()))
        }
        RuleContent::Factors(f) => {
            let mut rows = Vec::new();
            for (i, x) in f.iter().enumerate() {
                if !x.factor.is_finite()
                    || x.factor < 0.0
                    || !x.published_factor.is_finite()
                    || x.published_factor < 0.0
                {
                    return Err(AppError::invalid(
                        &format!("factors.{i}.factor"),
                        "a factor is a number ≥ 0 / 折算系数须为非负数",
                    ));
                }
                if !(1990..=2100).contains(&x.year) {
                    return Err(AppError::invalid(
                        &format!("factors.{i}.year"),
                        "the year is not plausible / 年份不合理",
                    ));
                }
                if rows.iter().any(|r: &serde_json::Value| {
                    r["carrier"] == x.carrier.as_str() && r["quantity"] == x.quantity.as_str()
                }) {
                    return Err(AppError::invalid(
                        &format!("factors.{i}"),
                        "a carrier and quantity appear twice / 能源品种与折算量重复",
                    ));
                }
                rows.push(serde_json::json!({
                    "carrier": x.carrier.as_str(), "quantity": x.quantity.as_str(), "factor": x.factor,
                    "unit": short(&x.unit, &format!("factors.{i}.unit"), 40)?,
                    "publishedFactor": x.published_factor,
                    "basis": short(&x.basis, &format!("factors.{i}.basis"), 200)?,
                    "source": short(&x.source, &format!("factors.{i}.source"), 300)?,
                    "year": x.year,
                }));
            }
            Ok((RuleKind::Factors, serde_json::Value::Array(rows).to_string()))
        }
    }
}

/// A platform admin proposes a new version of the criteria or the factor table. Nothing changes yet.
pub async fn propose_rules(
    store: &mut dyn Store,
    admin: &UserRow,
    content: RuleContent,
    note: &str,
    now: DateTime<Utc>,
) -> AppResult<RuleChangeRow> {
    if admin.role() != Role::Admin {
        return Err(AppError::forbidden("propose a change to the rules"));
    }
    if let RuleContent::Factors(f) = &content {
        // A whole table: every factor the current one has (each carrier converted to tce and tCO2e).
        for row in store.factors(None).await? {
            if !f.iter().any(|x| x.carrier.as_str() == row.carrier && x.quantity.as_str() == row.quantity) {
                let (c, q) = (row.carrier, row.quantity);
                return Err(AppError::invalid(
                    "factors",
                    format!("the table has no {q} factor for {c} / 缺少{c}的{q}折算系数"),
                ));
            }
        }
    }
    let (kind, json) = content_json(&content)?;
    let note = required_text(note, "note", 2_000)?;
    store.insert_rule_change(kind.as_str(), &json, &note, admin.id, now).await
}

/// An overseer (not the proposer) approves a proposed change — it takes effect now, as the next version —
/// or turns it down.
pub async fn decide_rules(
    store: &mut dyn Store,
    overseer: &UserRow,
    id: i64,
    expected_version: i64,
    approve: bool,
    note: &str,
    now: DateTime<Utc>,
) -> AppResult<RuleChangeRow> {
    if overseer.role() != Role::Overseer {
        return Err(AppError::forbidden("approve a change to the rules (overseers only)"));
    }
    let c = store.rule_change(id).await?.ok_or_else(|| AppError::not_found("rule change"))?;
    stale("rule change", "规则变更", c.row_version, expected_version)?;
    if RuleChangeStatus::parse(&c.status) != Some(RuleChangeStatus::Proposed) {
        return Err(AppError::new(ErrorCode::InvalidTransition, "the change is already decided / 该变更已有结论"));
    }
    if c.proposed_by == overseer.id {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "whoever proposed a change may not approve it / 提出变更者不能批准自己的变更",
        ));
    }
    let note = required_text(note, "note", 2_000)?;
    let version = if approve {
        let rows: Vec<serde_json::Value> = serde_json::from_str(&c.content).unwrap_or_default();
        let text = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
        Some(match RuleKind::parse(&c.kind) {
            Some(RuleKind::Criteria) => {
                let rows: Vec<(String, String, f64, String)> = rows
                    .iter()
                    .map(|r| {
                        (text(r, "key"), text(r, "name"), r["weight"].as_f64().unwrap_or(0.0), text(r, "description"))
                    })
                    .collect();
                store.insert_criteria_version(&rows, now).await?
            }
            _ => {
                let rows: Vec<FactorRow> = rows
                    .iter()
                    .map(|r| FactorRow {
                        id: 0,
                        version: 0,
                        carrier: text(r, "carrier"),
                        quantity: text(r, "quantity"),
                        factor: r["factor"].as_f64().unwrap_or(0.0),
                        unit: text(r, "unit"),
                        published_factor: r["publishedFactor"].as_f64().unwrap_or(0.0),
                        basis: text(r, "basis"),
                        source: text(r, "source"),
                        year: r["year"].as_i64().unwrap_or(0),
                        valid_from: crate::domain::today(now),
                    })
                    .collect();
                store.insert_factor_version(&rows, now).await?
            }
        })
    } else {
        None
    };
    let status = if approve { RuleChangeStatus::Approved } else { RuleChangeStatus::Rejected };
    if !store.decide_rule_change(id, expected_version, status.as_str(), overseer.id, &note, version, now).await? {
        return Err(super::version_conflict("rule change", "规则变更", c.row_version + 1, expected_version));
    }
    store.rule_change(id).await?.ok_or_else(|| AppError::not_found("rule change"))
}
