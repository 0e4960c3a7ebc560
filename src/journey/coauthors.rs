//! Co-authorship by consent: an author names co-authors (of their own enterprise), who are invited; an
//! invitee accepts — and becomes an author from then on, sharing the points of the steps still to come —
//! or declines. Nobody becomes an author, with the points and the conflicts of interest that brings,
//! without saying yes.

use chrono::{DateTime, Utc};

use crate::{
    db::{rows::ProposalRow, store::Store, users::UserRow},
    error::{AppError, AppResult, ErrorCode},
    journey::{proposals::reload, record},
};

/// Answers an invitation. Accepting adds the user as the last author, bumps the version and records a
/// `COAUTHOR_JOINED` event; declining only closes the invitation. Either way it is gone afterwards.
pub async fn respond(
    store: &mut dyn Store,
    user: &UserRow,
    proposal_id: i64,
    accept: bool,
    now: DateTime<Utc>,
) -> AppResult<Option<ProposalRow>> {
    if !store.delete_invitation(proposal_id, user.id).await? {
        return Err(AppError::not_found("invitation"));
    }
    if !accept {
        return Ok(None);
    }
    let row = store.proposal(proposal_id).await?.ok_or_else(|| AppError::not_found("proposal"))?;
    if store.is_assigned_reviewer(proposal_id, user.id).await? {
        return Err(AppError::new(
            ErrorCode::ConflictOfInterest,
            "you are reviewing this proposal and cannot join its authors / 您是该建议的评审，不能成为其作者",
        ));
    }
    store.append_author(proposal_id, user.id, &user.name).await?;
    store.advance(proposal_id, row.version, row.status(), now).await?;
    record(store, &row, "COAUTHOR_JOINED", user, row.status(), None, now).await?;
    Ok(Some(reload(store, proposal_id).await?))
}
