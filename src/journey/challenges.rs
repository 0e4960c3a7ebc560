//! Challenges (攻关课题): opening, changing and closing them (awarding answers), and a proposal answering
//! one. Each step in the caller's one transaction, with change-feed rows for the index.

use chrono::{DateTime, NaiveDate, Utc};

use super::{award, convert, load_visible as load_proposal, record, required_text, validate_savings};
use crate::{
    db::{
        challenges::{ChallengeRow, ChallengeText, NewChallenge},
        rows::ProposalRow,
        store::Store,
        users::UserRow,
    },
    domain::{
        challenge::{self, ChallengeScope, ChallengeStatus, REASON_MAX, REWARD_MAX, STATEMENT_MAX, TITLE_MAX},
        lifecycle::Status,
        organisation::Industry,
        recognition::PointsReason,
        savings::Savings,
        today,
    },
    error::{AppError, AppResult, ErrorCode},
};

/// What a challenge says, as a client sends it. `None` leaves a field as it is (on update).
#[derive(Clone, Debug, Default)]
pub struct ChallengeFields {
    pub title: Option<String>,
    pub statement: Option<String>,
    pub industry: Option<Industry>,
    pub scope: Option<ChallengeScope>,
    pub deadline: Option<NaiveDate>,
    pub reward: Option<String>,
    pub target: Option<Savings>,
}

/// The viewer as the challenge rules see them (their enterprise's industry is read here).
pub async fn viewer_of(store: &mut dyn Store, user: Option<&UserRow>) -> AppResult<challenge::Viewer> {
    let Some(u) = user else { return Ok(challenge::Viewer::default()) };
    let industry = match u.enterprise_id {
        Some(e) => store.enterprise(e).await?.and_then(|e| Industry::parse(&e.industry)),
        None => None,
    };
    Ok(challenge::Viewer {
        role: Some(u.role()),
        user_id: Some(u.id),
        enterprise_id: u.enterprise_id,
        studio_id: u.studio_id,
        industry,
    })
}

/// Loads a challenge viewer `v` may see; one they may not see is reported as not found.
async fn load_visible(store: &mut dyn Store, v: challenge::Viewer, id: i64) -> AppResult<ChallengeRow> {
    let row = store.challenge(id).await?.ok_or_else(|| AppError::not_found("challenge"))?;
    if !challenge::can_view(v, &row.rules()) {
        return Err(AppError::not_found("challenge"));
    }
    Ok(row)
}

/// The challenge is at `expected_version`, or `VERSION_CONFLICT`.
fn check_version(row: &ChallengeRow, expected: i64) -> AppResult<()> {
    super::stale("challenge", "课题", row.version, expected)
}

/// The conflict of a conditional update that found the challenge changed after it was read.
async fn changed_meanwhile(store: &mut dyn Store, row: &ChallengeRow, expected: i64) -> AppResult<AppError> {
    let current = store.challenge(row.id).await?.map_or(row.version, |r| r.version);
    Ok(super::version_conflict("challenge", "课题", current, expected))
}

fn refused_closed() -> AppError {
    AppError::new(ErrorCode::InvalidTransition, "the challenge is closed / 该课题已结题，不能再修改")
}

/// Checks and completes a challenge's text: `base` (its current text, on update) fills what is not given.
async fn text_of(
    store: &mut dyn Store,
    f: ChallengeFields,
    base: Option<&ChallengeRow>,
    default_industry: Option<Industry>,
    now: DateTime<Utc>,
) -> AppResult<ChallengeText> {
    let title = match (f.title, base) {
        (Some(t), _) => required_text(&t, "title", TITLE_MAX)?,
        (None, Some(b)) => b.title.clone(),
        (None, None) => return Err(AppError::invalid("title", "a challenge needs a title / 请填写课题名称")),
    };
    if !crate::domain::text::one_line_ok(&title) {
        return Err(AppError::invalid("title", crate::domain::text::refusal("title")));
    }
    let statement = match (f.statement, base) {
        (Some(s), _) => required_text(&s, "statement", STATEMENT_MAX)?,
        (None, Some(b)) => b.statement.clone(),
        (None, None) => {
            return Err(AppError::invalid(
                "statement",
                "describe the problem and what counts as solved / 请描述要攻关的问题及目标",
            ))
        }
    };
    let reward = match (f.reward, base) {
        (Some(r), _) if r.trim().is_empty() => String::new(),
        (Some(r), _) => required_text(&r, "reward", REWARD_MAX)?,
        (None, Some(b)) => b.reward.clone(),
        (None, None) => String::new(),
    };
    let industry = f
        .industry
        .or_else(|| base.and_then(|b| Industry::parse(&b.industry)))
        .or(default_industry)
        .ok_or_else(|| AppError::invalid("industry", "name the industry of the challenge / 请选择课题所属行业"))?;
    let scope = f.scope.or_else(|| base.map(|b| b.scope())).unwrap_or(ChallengeScope::Enterprise);
    let deadline = f
        .deadline
        .or_else(|| base.map(|b| b.deadline))
        .ok_or_else(|| AppError::invalid("deadline", "a challenge needs a deadline / 请填写截止日期"))?;
    if f.deadline.is_some() && deadline < today(now) {
        return Err(AppError::invalid("deadline", "the deadline cannot be in the past / 截止日期不能早于今天"));
    }
    let target = match (f.target, base) {
        (Some(s), _) => {
            validate_savings(&s, "target")?;
            if s.electricity_kwh + s.coal_t + s.natural_gas_m3 + s.steam_t + s.water_t <= 0.0 {
                return Err(AppError::invalid(
                    "target",
                    "a target saves at least one energy carrier or water / 目标须至少包含一种能源或水的节约量",
                ));
            }
            convert(store, s).await?
        }
        (None, Some(b)) => b.target(),
        (None, None) => {
            return Err(AppError::invalid(
                "target",
                "a challenge needs a target (savings per year per carrier) / 请填写课题目标（各能源年节约量）",
            ))
        }
    };
    Ok(ChallengeText { title, statement, industry, scope, deadline, reward, target })
}

pub async fn open(
    store: &mut dyn Store,
    user: &UserRow,
    f: ChallengeFields,
    now: DateTime<Utc>,
) -> AppResult<ChallengeRow> {
    let v = viewer_of(store, Some(user)).await?;
    let owner = challenge::owner_for(v).ok_or_else(|| {
        AppError::new(
            ErrorCode::Forbidden,
            "studio leads, enterprise admins and associations open challenges / 只有工作室领衔人、企业管理员和行业协会可以发布攻关课题",
        )
    })?;
    // An enterprise's and a studio's challenges are about their own plants: their industry is the enterprise's.
    let own_industry = if owner == challenge::ChallengeOwner::Association { None } else { v.industry };
    if let (Some(own), Some(asked)) = (own_industry, f.industry) {
        if own != asked {
            return Err(AppError::invalid(
                "industry",
                "an enterprise's challenge is in its own industry / 企业或工作室的课题须属于本企业所在行业",
            ));
        }
    }
    let text = text_of(store, f, None, own_industry, now).await?;
    if !challenge::scope_allowed(owner, text.scope) {
        return Err(AppError::invalid(
            "scope",
            "an association has no enterprise to keep a challenge in: choose INDUSTRY or PUBLIC / 行业协会的课题请选择行业或公开范围",
        ));
    }
    let row = store
        .insert_challenge(&NewChallenge {
            text,
            owner,
            studio_id: (owner == challenge::ChallengeOwner::Studio).then_some(user.studio_id).flatten(),
            enterprise_id: (owner != challenge::ChallengeOwner::Association).then_some(user.enterprise_id).flatten(),
            created_by: user.id,
            now,
        })
        .await?;
    store.feed("challenge", row.id, now).await?;
    Ok(row)
}

/// Loads a challenge the user may manage, open and at `expected_version`.
async fn load_managed(
    store: &mut dyn Store,
    user: &UserRow,
    id: i64,
    expected_version: i64,
) -> AppResult<ChallengeRow> {
    let v = viewer_of(store, Some(user)).await?;
    let row = load_visible(store, v, id).await?;
    check_version(&row, expected_version)?;
    if !challenge::may_manage(v, &row.rules()) {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "only those who posted the challenge may change or close it / 只有课题发布方可以修改或结题",
        ));
    }
    if row.status() != ChallengeStatus::Open {
        return Err(refused_closed());
    }
    Ok(row)
}

pub async fn update(
    store: &mut dyn Store,
    user: &UserRow,
    id: i64,
    expected_version: i64,
    f: ChallengeFields,
    now: DateTime<Utc>,
) -> AppResult<ChallengeRow> {
    let row = load_managed(store, user, id, expected_version).await?;
    let rules = row.rules();
    if f.industry.is_some_and(|i| rules.owner != challenge::ChallengeOwner::Association && i != rules.industry) {
        return Err(AppError::invalid(
            "industry",
            "an enterprise's challenge is in its own industry / 企业或工作室的课题须属于本企业所在行业",
        ));
    }
    let text = text_of(store, f, Some(&row), None, now).await?;
    if text.scope == ChallengeScope::Enterprise
        && rules.scope != ChallengeScope::Enterprise
        && store.foreign_answers(id, row.enterprise_id).await? > 0
    {
        return Err(AppError::invalid(
            "scope",
            "other enterprises have answered it: it cannot become internal / 已有其他企业应答，不能改为仅本企业",
        ));
    }
    if !challenge::scope_allowed(rules.owner, text.scope) {
        return Err(AppError::invalid(
            "scope",
            "an association's challenge cannot be ENTERPRISE / 行业协会的课题不能仅限本企业",
        ));
    }
    if !store.update_challenge(id, expected_version, &text, now).await? {
        return Err(changed_meanwhile(store, &row, expected_version).await?);
    }
    // Answers follow the scope: inside the enterprise while it is ENTERPRISE, their own rule otherwise.
    let confined = text.scope == ChallengeScope::Enterprise;
    if confined != (rules.scope == ChallengeScope::Enterprise) {
        for p in store.confine_answers(id, confined).await? {
            store.feed("proposal", p, now).await?;
        }
    }
    store.feed("challenge", id, now).await?;
    store.challenge(id).await?.ok_or_else(|| AppError::not_found("challenge"))
}

/// Closes a challenge with a reason, awarding these answers (each accepted or further): their authors
/// share the award's points, and each gets a `CHALLENGE_AWARDED` event.
pub async fn close(
    store: &mut dyn Store,
    user: &UserRow,
    id: i64,
    expected_version: i64,
    awarded: &[i64],
    reason: &str,
    now: DateTime<Utc>,
) -> AppResult<ChallengeRow> {
    let row = load_managed(store, user, id, expected_version).await?;
    let reason = required_text(reason, "reason", REASON_MAX)?;
    let mut seen = std::collections::BTreeSet::new();
    let mut answers = Vec::new();
    for &pid in awarded {
        if !seen.insert(pid) {
            continue;
        }
        let p = load_proposal(store, Some(user), pid).await?;
        if p.row.challenge_id != Some(id) {
            return Err(AppError::invalid(
                "awardedAnswerIds",
                "that proposal does not answer this challenge / 该提案并非本课题的应答",
            ));
        }
        if !matches!(p.status(), Status::Accepted | Status::Incubating | Status::Adopted | Status::Promoted) {
            return Err(AppError::invalid(
                "awardedAnswerIds",
                "only an accepted (or further) answer can be awarded / 只有已采纳（或更进一步）的应答才能获奖",
            ));
        }
        answers.push(p);
    }
    if !store.close_challenge(id, expected_version, &reason, user.id, now).await? {
        return Err(changed_meanwhile(store, &row, expected_version).await?);
    }
    for p in &answers {
        store.award_answer(id, p.row.id, now).await?;
        award(store, p, PointsReason::ChallengeAward, now).await?;
        record(store, &p.row, "CHALLENGE_AWARDED", user, p.status(), Some(&row.title), now).await?;
    }
    store.feed("challenge", id, now).await?;
    store.challenge(id).await?.ok_or_else(|| AppError::not_found("challenge"))
}

/// Makes `p` (just created, or a draft being edited by its author) answer challenge `challenge_id`, or no
/// challenge: the challenge must be visible to the author, open and before its deadline.
pub async fn answer(
    store: &mut dyn Store,
    user: &UserRow,
    p: &ProposalRow,
    challenge_id: Option<i64>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let Some(cid) = challenge_id else {
        if p.challenge_id.is_some() {
            store.set_answer_of(p.id, None, false).await?;
        }
        return Ok(());
    };
    let found = store.challenge(cid).await?;
    let v = viewer_of(store, Some(user)).await?;
    let refusal = match &found {
        None => Some("challenge not found / 未找到该课题"),
        Some(c) => challenge::answer_refusal(v, &c.rules(), today(now)),
    };
    if let Some(message) = refusal {
        return Err(AppError::invalid("challengeId", message));
    }
    let c = found.expect("checked above");
    // An ENTERPRISE challenge is answered from inside its enterprise (its creator elsewhere cannot happen:
    // they belong to it).
    if c.scope() == ChallengeScope::Enterprise && p.enterprise_id != c.enterprise_id {
        return Err(AppError::invalid("challengeId", "challenge not found / 未找到该课题"));
    }
    store.set_answer_of(p.id, Some(cid), c.scope() == ChallengeScope::Enterprise).await?;
    // The proposal's tokens in the index change with `confined`; the challenge's progress with its answers.
    store.feed("proposal", p.id, now).await?;
    store.feed("challenge", cid, now).await
}
