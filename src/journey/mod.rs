//! The proposal journey's operations: each one loads what it needs through a `Store`, asks the domain
//! whether the step is allowed, then writes the change, its event and its change-feed row — all inside
//! the one transaction that `Db::write` gives it. GraphQL mutations call these and nothing else.

pub mod attachments;
pub mod challenges;
pub mod coauthors;
pub mod duplicates;
pub mod help;
pub mod notify;
pub mod oversight;
pub mod people;
pub mod pilot;
pub mod promotion;
pub mod proposals;
pub mod review;
pub mod webhooks;

use chrono::{DateTime, Utc};

use crate::{
    db::{
        rows::{AuthorRow, ProposalRow},
        store::{NewEvent, Store},
        users::UserRow,
    },
    domain::{
        lifecycle::{self, Action, Actor, Refusal, Status},
        organisation::Role,
        proposal::{self, Sight},
        recognition::{split, PointsReason},
        savings::{Carrier, Converted, Quantity, Rate, Savings},
    },
    error::{AppError, AppResult, ErrorCode},
};

/// A proposal with its authors, as loaded for a decision.
pub struct Loaded {
    pub row: ProposalRow,
    pub authors: Vec<AuthorRow>,
}

impl Loaded {
    pub fn status(&self) -> Status {
        self.row.status()
    }

    pub fn is_author(&self, user: &UserRow) -> bool {
        authored_by(&self.row, &self.authors, Some(user.id))
    }

    /// What `viewer` may see of this proposal, given whether they are assigned to review it.
    pub fn sight_for(&self, viewer: Option<&UserRow>, is_assigned_reviewer: bool) -> Sight {
        match viewer {
            None => Sight {
                role: None,
                status: self.status(),
                is_author: false,
                is_assigned_reviewer: false,
                same_enterprise: false,
                confined: self.row.confined,
            },
            Some(user) => Sight {
                role: Some(user.role()),
                status: self.status(),
                is_author: self.is_author(user),
                is_assigned_reviewer,
                same_enterprise: user.enterprise_id.is_some() && user.enterprise_id == self.row.enterprise_id,
                confined: self.row.confined,
            },
        }
    }

    pub fn actor(&self, user: &UserRow) -> Actor {
        Actor {
            role: user.role(),
            is_author: self.is_author(user),
            same_enterprise: user.enterprise_id.is_some() && user.enterprise_id == self.row.enterprise_id,
        }
    }
}

/// Whether `user_id` created, wrote or co-wrote the proposal (the one authorship rule: conflicts of
/// interest, blind review and visibility all ask it).
pub fn authored_by(row: &ProposalRow, authors: &[AuthorRow], user_id: Option<i64>) -> bool {
    user_id.is_some() && (row.created_by == user_id || authors.iter().any(|a| a.user_id == user_id))
}

/// What the viewer may see of a proposal (shared by queries and operations).
pub async fn sight(store: &mut dyn Store, viewer: Option<&UserRow>, p: &Loaded) -> AppResult<Sight> {
    let assigned = match viewer {
        Some(user) => store.is_assigned_reviewer(p.row.id, user.id).await?,
        None => false,
    };
    Ok(p.sight_for(viewer, assigned))
}

/// Loads a proposal the user may see; one they may not see is reported as not found.
pub async fn load_visible(store: &mut dyn Store, user: Option<&UserRow>, id: i64) -> AppResult<Loaded> {
    let row = store.proposal(id).await?.ok_or_else(|| AppError::not_found("proposal"))?;
    let authors = store.authors(id).await?;
    let loaded = Loaded { row, authors };
    if !proposal::can_view(sight(store, user, &loaded).await?) {
        return Err(AppError::not_found("proposal"));
    }
    Ok(loaded)
}

/// Asks the lifecycle whether `user` may take `action` now; refusals become coded errors.
pub fn check(p: &Loaded, user: &UserRow, action: Action) -> AppResult<Status> {
    let from = p.status();
    lifecycle::transition(from, p.actor(user), action).map_err(|refusal| match refusal {
        Refusal::InvalidTransition => AppError::new(
            ErrorCode::InvalidTransition,
            format!("{action} is not possible while the proposal is {from} / 建议当前状态为{from}，不能执行此操作"),
        ),
        Refusal::Forbidden => AppError::forbidden(&format!("{action} this proposal")),
    })
}

pub fn check_version(p: &Loaded, expected: i64) -> AppResult<()> {
    stale("proposal", "建议", p.row.version, expected)
}

/// `VERSION_CONFLICT` on `expectedVersion` when the client saw another version of the `what` (English,
/// Chinese) than the one stored.
pub fn stale(what: &str, zh: &str, current: i64, expected: i64) -> AppResult<()> {
    if current != expected {
        return Err(version_conflict(what, zh, current, expected));
    }
    Ok(())
}

/// The `VERSION_CONFLICT` of [`stale`]; also for a conditional update that found the row changed since it
/// was read (`current` is then what it reads now).
pub fn version_conflict(what: &str, zh: &str, current: i64, expected: i64) -> AppError {
    AppError::field(
        ErrorCode::VersionConflict,
        "expectedVersion",
        format!("the {what} is at version {current} but you saw version {expected}; reload and try again / {zh}已被修改，请刷新后重试"),
    )
}

/// Records an event (and the change-feed row) for a step on `p`.
pub async fn record(
    store: &mut dyn Store,
    p: &ProposalRow,
    kind: &str,
    actor: &UserRow,
    to: Status,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    record_with(store, p, kind, actor, to, reason, None, now).await
}

/// [`record`], with a submission's content hashes (`domain::proof::ContentDigest`) on the event.
#[allow(clippy::too_many_arguments)]
pub async fn record_with(
    store: &mut dyn Store,
    p: &ProposalRow,
    kind: &str,
    actor: &UserRow,
    to: Status,
    reason: Option<&str>,
    content: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    store
        .insert_event(&NewEvent {
            proposal_id: p.id,
            kind,
            actor_id: Some(actor.id),
            from_status: Some(p.status()),
            to_status: to,
            from_version: p.version,
            reason,
            content,
            now,
        })
        .await?;
    notify::on_event(store, p, kind, actor, reason, now).await?;
    store.feed("proposal", p.id, now).await
}

/// A transition: check, compare versions, move, record.
#[allow(clippy::too_many_arguments)]
pub async fn transition(
    store: &mut dyn Store,
    p: &Loaded,
    user: &UserRow,
    action: Action,
    expected_version: i64,
    kind: &str,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<Status> {
    // A stale version is a conflict whatever else is wrong: the client acted on something that changed.
    check_version(p, expected_version)?;
    let to = check(p, user, action)?;
    store.advance(p.row.id, expected_version, to, now).await?;
    record(store, &p.row, kind, user, to, reason, now).await?;
    Ok(to)
}

/// Shares a milestone's points and credits among the proposal's authors (primary author first).
pub async fn award(store: &mut dyn Store, p: &Loaded, reason: PointsReason, now: DateTime<Utc>) -> AppResult<()> {
    let shares = split(reason.points(), p.authors.len());
    let credits = reason.credits() / p.authors.len().max(1) as f64;
    for (author, points) in p.authors.iter().zip(shares) {
        store.insert_points(author.user_id, &author.name, p.row.id, reason.as_str(), points, credits, now).await?;
    }
    Ok(())
}

/// The current factor table: its version and its rates.
pub async fn current_rates(store: &mut dyn Store) -> AppResult<(i64, Vec<Rate>)> {
    let rows = store.factors(None).await?;
    let version = rows.first().map(|r| r.version).unwrap_or(0);
    let rates = rows
        .iter()
        .filter_map(|r| {
            Some(Rate {
                carrier: Carrier::parse(&r.carrier)?,
                quantity: Quantity::parse(&r.quantity)?,
                factor: r.factor,
            })
        })
        .collect();
    Ok((version, rates))
}

/// Converts savings with the current factor table, recording its version.
pub async fn convert(store: &mut dyn Store, s: Savings) -> AppResult<Converted> {
    let (version, rates) = current_rates(store).await?;
    Ok(s.convert(version, &rates))
}

pub fn validate_savings(s: &Savings, field: &str) -> AppResult<()> {
    match s.invalid_field() {
        Some(f) => Err(AppError::invalid(&format!("{field}.{f}"), "savings must be numbers ≥ 0 / 节约量须为非负数")),
        None => Ok(()),
    }
}

/// Trims and bounds a required free-text field.
pub fn required_text(value: &str, field: &str, max: usize) -> AppResult<String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(AppError::invalid(
            field,
            format!("{field} must be 1–{max} characters / {field}须为1到{max}个字符"),
        ));
    }
    if !crate::domain::text::multi_line_ok(v) {
        return Err(AppError::invalid(field, crate::domain::text::refusal(field)));
    }
    Ok(v.to_owned())
}

/// A reviewer conflicts with a proposal they (co-)wrote or that comes from their own team.
pub async fn conflict_of_interest(store: &mut dyn Store, p: &Loaded, reviewer: &UserRow) -> AppResult<bool> {
    if p.is_author(reviewer) {
        return Ok(true);
    }
    let Some(team) = reviewer.team_id else { return Ok(false) };
    if p.row.team_id == Some(team) {
        return Ok(true);
    }
    for a in &p.authors {
        if let Some(uid) = a.user_id {
            if store.user(uid).await?.and_then(|u| u.team_id) == Some(team) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

pub fn conflict_error() -> AppError {
    AppError::new(
        ErrorCode::ConflictOfInterest,
        "a reviewer may not evaluate a proposal they wrote or one from their own team / 评审人不得评审本人或本班组的建议",
    )
}

pub fn is_reviewer_role(role: Role) -> bool {
    matches!(role, Role::Reviewer | Role::StudioLead)
}
