//! Duplicates: a studio lead closes a proposal as the duplicate of an earlier one (`DUPLICATE`, its history
//! kept, the link shown on both), and may credit the duplicate's authors as co-authors of the original when
//! they added something. The rules for points: a duplicate keeps the submission points it earned (it was
//! submitted in good faith); credited authors share the points of the original's steps still to come, as
//! any co-author who joins does. Blind review is not loosened: the original is shown to each viewer as they
//! may see it, its authors hidden while it is under review.

use chrono::{DateTime, Utc};

use crate::{
    db::{rows::ProposalRow, store::Store, users::UserRow},
    domain::{
        lifecycle::{Action, Status},
        organisation::Role,
    },
    error::{AppError, AppResult, ErrorCode},
    journey::{check_version, load_visible, proposals::reload, record, required_text, transition},
};

/// Closes `id` as the duplicate of `original_id`.
pub async fn mark_duplicate(
    store: &mut dyn Store,
    user: &UserRow,
    id: i64,
    expected_version: i64,
    original_id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> AppResult<ProposalRow> {
    let reason = required_text(reason, "reason", 2000)?;
    let p = load_visible(store, Some(user), id).await?;
    if original_id == id {
        return Err(AppError::invalid("duplicateOfId", "a proposal cannot duplicate itself / 不能标记为自身的重复"));
    }
    let original = load_visible(store, Some(user), original_id)
        .await
        .map_err(|_| AppError::field(ErrorCode::NotFound, "duplicateOfId", "no such proposal / 原提案不存在"))?;
    match original.status() {
        Status::Draft | Status::Withdrawn => {
            return Err(AppError::invalid(
                "duplicateOfId",
                "the original must be a submitted proposal / 原提案须为已提交的提案",
            ))
        }
        Status::Duplicate => {
            let root = original.row.duplicate_of.map(|r| r.to_string()).unwrap_or_default();
            return Err(AppError::invalid(
                "duplicateOfId",
                format!("that proposal is itself a duplicate; link to its original ({root}) / 该提案本身是重复提案，请关联其原提案"),
            ));
        }
        _ => {}
    }
    transition(store, &p, user, Action::MarkDuplicate, expected_version, "MARKED_DUPLICATE", Some(&reason), now)
        .await?;
    store.set_duplicate_of(id, original_id).await?;
    reload(store, id).await
}

/// Makes the user-authors of duplicate `id` co-authors of its original (those not authors already).
/// Returns the original.
pub async fn credit_as_coauthor(
    store: &mut dyn Store,
    user: &UserRow,
    id: i64,
    expected_version: i64,
    now: DateTime<Utc>,
) -> AppResult<ProposalRow> {
    let dup = load_visible(store, Some(user), id).await?;
    let Some(original_id) = dup.row.duplicate_of.filter(|_| dup.status() == Status::Duplicate) else {
        return Err(AppError::new(
            ErrorCode::InvalidTransition,
            "it is not marked as a duplicate / 该提案未被标记为重复",
        ));
    };
    let original = load_visible(store, Some(user), original_id).await?;
    check_version(&original, expected_version)?;
    // The same people may do this as may mark the duplicate: the studio lead of the original's enterprise.
    let same_enterprise = original.row.enterprise_id.is_some() && original.row.enterprise_id == user.enterprise_id;
    if !(user.role() == Role::Admin || (user.role() == Role::StudioLead && same_enterprise)) {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "only the studio lead of the original's enterprise may do this / 仅原提案所在企业的工作室负责人可操作",
        ));
    }
    if matches!(original.status(), Status::Withdrawn | Status::Rejected | Status::Duplicate) {
        return Err(AppError::new(ErrorCode::InvalidTransition, "the original is closed / 原提案已关闭"));
    }
    let mut added = 0;
    for a in dup.authors.iter() {
        let Some(uid) = a.user_id else { continue };
        if original.authors.iter().any(|o| o.user_id == Some(uid)) {
            continue;
        }
        if store.is_assigned_reviewer(original_id, uid).await? {
            return Err(AppError::new(
                ErrorCode::ConflictOfInterest,
                "an author of the duplicate reviews the original / 重复提案的作者正在评审原提案",
            ));
        }
        store.append_author(original_id, uid, &a.name).await?;
        added += 1;
    }
    if added == 0 {
        return Err(AppError::new(
            ErrorCode::AlreadyExists,
            "its authors are authors of the original already / 其作者已是原提案作者",
        ));
    }
    store.advance(original_id, original.row.version, original.status(), now).await?;
    record(store, &original.row, "CREDITED_AS_COAUTHOR", user, original.status(), None, now).await?;
    reload(store, original_id).await
}
