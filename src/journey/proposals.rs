//! Writing and submitting proposals: drafts, one-step submission with idempotency, edits, withdrawal.

use chrono::{DateTime, Utc};

use super::{award, check, check_version, convert, load_visible, record, transition, validate_savings, Loaded};
use crate::{
    db::{
        rows::{AuthorRow, ProposalRow},
        store::{NewProposal, ProposalDates, Store},
        users::UserRow,
    },
    domain::{
        lifecycle::{Action, Status},
        organisation::Industry,
        proof::ContentDigest,
        proposal::{validate_text, Category, COAUTHORS_MAX},
        recognition::PointsReason,
        savings::{Savings, SavingsKind},
    },
    error::{AppError, AppResult},
};

/// The fields of a proposal a client may set. `None` leaves a field as it is (on update) or default (on create).
#[derive(Clone, Debug, Default)]
pub struct ProposalFields {
    pub title: Option<String>,
    pub body: Option<String>,
    pub category: Option<Category>,
    pub industry: Option<Industry>,
    pub tags: Option<Vec<String>>,
    pub co_author_ids: Option<Vec<i64>>,
    pub on_behalf_of: Option<String>,
    pub expected_savings: Option<Savings>,
    pub external_id: Option<String>,
    /// The challenge it answers (visible to the author, open, before its deadline).
    pub challenge_id: Option<i64>,
}

pub async fn create(
    store: &mut dyn Store,
    user: &UserRow,
    f: ProposalFields,
    now: DateTime<Utc>,
) -> AppResult<ProposalRow> {
    let row = create_loaded(store, user, f, now).await?.row;
    store.feed("proposal", row.id, now).await?;
    Ok(row)
}

/// [`create`] but for the change-feed row, returning the new draft with its authors as written, so that
/// a submission in the same transaction need not read them back (three statements fewer while SQLite's
/// write lock is held) and writes the one feed row of the transaction.
async fn create_loaded(
    store: &mut dyn Store,
    user: &UserRow,
    f: ProposalFields,
    now: DateTime<Utc>,
) -> AppResult<Loaded> {
    let title = f.title.clone().unwrap_or_default();
    let body = f.body.clone().unwrap_or_default();
    let tags = clean_tags(f.tags.clone().unwrap_or_default());
    validate_text(&title, &body, &tags).map_err(|(field, msg)| AppError::invalid(field, msg))?;
    if let Some(ext) = &f.external_id {
        if !crate::domain::text::one_line_ok(ext) {
            return Err(AppError::invalid("externalId", crate::domain::text::refusal("externalId")));
        }
        if ext.trim().is_empty() || ext.len() > 200 {
            return Err(AppError::invalid(
                "externalId",
                "externalId must be 1–200 characters / 外部编号须为1到200个字符",
            ));
        }
    }
    let industry = match f.industry {
        Some(i) => i,
        None => match user.enterprise_id {
            Some(e) => enterprise_industry(store, e).await?,
            None => Industry::Other,
        },
    };
    let (authors, invitees) =
        authors_for(store, user, f.on_behalf_of.as_deref(), f.co_author_ids.as_deref().unwrap_or(&[])).await?;
    if let Some(s) = &f.expected_savings {
        validate_savings(s, "expectedSavings")?;
    }
    let row = store
        .insert_proposal(
            &NewProposal {
                external_id: f.external_id.map(|e| e.trim().to_owned()),
                title: title.trim().to_owned(),
                body: body.trim().to_owned(),
                category: f.category.unwrap_or(Category::Other).as_str().to_owned(),
                industry: industry.as_str().to_owned(),
                tags: serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into()),
                enterprise_id: user.enterprise_id,
                team_id: user.team_id,
                created_by: Some(user.id),
                on_behalf_of: f.on_behalf_of.map(|n| n.trim().to_owned()),
                status: Status::Draft,
                idempotency_key: None,
                now,
            },
            &ProposalDates::default(),
        )
        .await?;
    store.add_authors(row.id, &authors).await?;
    if !invitees.is_empty() {
        let invited = store.replace_invitations(row.id, user.id, &invitees, now).await?;
        super::notify::invited(store, &row, user, &invited, now).await?;
    }
    if let Some(s) = f.expected_savings {
        let c = convert(store, s).await?;
        store.put_savings(row.id, SavingsKind::Expected, &c, Some(user.id), now).await?;
    }
    store
        .insert_event(&crate::db::store::NewEvent {
            proposal_id: row.id,
            kind: "CREATED",
            actor_id: Some(user.id),
            from_status: None,
            to_status: Status::Draft,
            from_version: 0,
            reason: None,
            content: None,
            now,
        })
        .await?;
    let row = match f.challenge_id {
        Some(_) => {
            super::challenges::answer(store, user, &row, f.challenge_id, now).await?;
            reload(store, row.id).await?
        }
        None => row,
    };
    let authors = authors
        .into_iter()
        .enumerate()
        .map(|(position, (user_id, name))| AuthorRow { proposal_id: row.id, position: position as i64, user_id, name })
        .collect();
    Ok(Loaded { row, authors })
}

pub async fn update(
    store: &mut dyn Store,
    user: &UserRow,
    id: i64,
    expected_version: i64,
    f: ProposalFields,
    now: DateTime<Utc>,
) -> AppResult<ProposalRow> {
    let p = load_visible(store, Some(user), id).await?;
    check_version(&p, expected_version)?;
    check(&p, user, Action::Edit)?;
    let title = f.title.unwrap_or_else(|| p.row.title.clone());
    let body = f.body.unwrap_or_else(|| p.row.body.clone());
    let tags = f.tags.map(clean_tags).unwrap_or_else(|| p.row.tags());
    validate_text(&title, &body, &tags).map_err(|(field, msg)| AppError::invalid(field, msg))?;
    let category = f.category.map(|c| c.as_str().to_owned()).unwrap_or_else(|| p.row.category.clone());
    let industry = f.industry.map(|i| i.as_str().to_owned()).unwrap_or_else(|| p.row.industry.clone());
    store
        .update_text(
            id,
            title.trim(),
            body.trim(),
            &category,
            &industry,
            &serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into()),
        )
        .await?;
    if f.co_author_ids.is_some() || f.on_behalf_of.is_some() {
        let on_behalf = f.on_behalf_of.or_else(|| p.row.on_behalf_of.clone());
        let joined: Vec<i64> = p.authors.iter().skip(1).filter_map(|a| a.user_id).collect();
        let open: Vec<i64> = store.invitees(id).await?.into_iter().map(|i| i.user_id).collect();
        let wanted = f.co_author_ids.unwrap_or_else(|| joined.iter().chain(&open).copied().collect());
        let (mut authors, invitees) = authors_for(store, user, on_behalf.as_deref(), &wanted).await?;
        // Co-authors who accepted stay authors while they are still wanted; the rest are (still) invited.
        for a in p.authors.iter().skip(1).filter(|a| a.user_id.is_some_and(|u| invitees.contains(&u))) {
            authors.push((a.user_id, a.name.clone()));
        }
        let invitees: Vec<i64> = invitees.into_iter().filter(|u| !joined.contains(u)).collect();
        store.replace_authors(id, &authors).await?;
        let invited = store.replace_invitations(id, user.id, &invitees, now).await?;
        super::notify::invited(store, &p.row, user, &invited, now).await?;
    }
    if let Some(s) = f.expected_savings {
        validate_savings(&s, "expectedSavings")?;
        let c = convert(store, s).await?;
        store.put_savings(id, SavingsKind::Expected, &c, Some(user.id), now).await?;
    }
    if f.challenge_id.is_some() && f.challenge_id != p.row.challenge_id {
        super::challenges::answer(store, user, &p.row, f.challenge_id, now).await?;
    }
    store.advance(id, expected_version, p.status(), now).await?;
    record(store, &p.row, "UPDATED", user, p.status(), None, now).await?;
    reload(store, id).await
}

/// What `submitProposal` submits: an existing draft (or returned proposal), or a complete new proposal.
pub enum Submission {
    Existing { id: i64, expected_version: i64 },
    New(ProposalFields),
}

/// Submits in one step. With an idempotency key, a retry returns the proposal the first call made.
pub async fn submit(
    store: &mut dyn Store,
    user: &UserRow,
    what: Submission,
    key: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<ProposalRow> {
    if let Some(k) = key {
        if k.trim().is_empty() || k.len() > 200 {
            return Err(AppError::invalid(
                "idempotencyKey",
                "idempotencyKey must be 1–200 characters / 幂等键须为1到200个字符",
            ));
        }
        if let Some(existing) = store.proposal_by_idempotency_key(user.id, k).await? {
            return Ok(existing);
        }
    }
    let new = matches!(what, Submission::New(_));
    let (p, expected_version) = match what {
        Submission::Existing { id, expected_version } => (load_visible(store, Some(user), id).await?, expected_version),
        Submission::New(fields) => {
            // Created in this transaction; the submission's event writes its feed row.
            let p = create_loaded(store, user, fields, now).await?;
            let version = p.row.version;
            (p, version)
        }
    };
    let id = p.row.id;
    let first = p.row.round == 0;
    // The transition, with what was submitted as hashes on its event: the chain covers them, and the
    // author's receipt proves them (domain::proof).
    check_version(&p, expected_version)?;
    let to = check(&p, user, Action::Submit)?;
    // A proposal made in this transaction has no attachment yet.
    let attachments = if new { vec![] } else { store.attachment_hashes(id).await? };
    let content = ContentDigest::of(&p.row.title, &p.row.body, attachments).to_json();
    // The row as the submission leaves it (what follows writes other tables only).
    let submitted = store.submit_round(id, expected_version, to, key, now).await?;
    super::record_with(store, &p.row, "SUBMITTED", user, to, None, Some(&content), now).await?;
    if first {
        award(store, &p, PointsReason::Submission, now).await?;
    }
    Ok(submitted)
}

pub async fn withdraw(
    store: &mut dyn Store,
    user: &UserRow,
    id: i64,
    expected_version: i64,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<ProposalRow> {
    let p = load_visible(store, Some(user), id).await?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.chars().count() > 2000) {
        return Err(AppError::invalid("reason", "reason must be at most 2000 characters / 理由最多2000字"));
    }
    if reason.is_some_and(|r| !crate::domain::text::multi_line_ok(r)) {
        return Err(AppError::invalid("reason", crate::domain::text::refusal("reason")));
    }
    transition(store, &p, user, Action::Withdraw, expected_version, "WITHDRAWN", reason, now).await?;
    reload(store, id).await
}

pub async fn reload(store: &mut dyn Store, id: i64) -> AppResult<ProposalRow> {
    store.proposal(id).await?.ok_or_else(|| AppError::not_found("proposal"))
}

/// A proposal's industry defaults to its enterprise's.
async fn enterprise_industry(store: &mut dyn Store, enterprise_id: i64) -> AppResult<Industry> {
    Ok(store.enterprise(enterprise_id).await?.and_then(|e| Industry::parse(&e.industry)).unwrap_or(Industry::Other))
}

/// Tags trimmed, each once, in the order given.
pub(super) fn clean_tags(tags: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = t.trim().to_owned();
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// The primary author (the named worker submitted on their behalf, or the user), and the co-authors to
/// invite: people of the user's own enterprise, who become authors when they accept.
async fn authors_for(
    store: &mut dyn Store,
    user: &UserRow,
    on_behalf_of: Option<&str>,
    co_author_ids: &[i64],
) -> AppResult<(Vec<(Option<i64>, String)>, Vec<i64>)> {
    let mut authors = Vec::new();
    match on_behalf_of.map(str::trim) {
        Some("") => return Err(AppError::invalid("onBehalfOf", "give the worker's name / 请填写职工姓名")),
        Some(name) => {
            if user.team_id.is_none() {
                return Err(AppError::invalid(
                    "onBehalfOf",
                    "only a member of a team can submit on behalf of a worker of that team / 只有班组成员才能代本班组职工提交",
                ));
            }
            if name.chars().count() > 100 {
                return Err(AppError::invalid("onBehalfOf", "name must be at most 100 characters / 姓名最多100个字符"));
            }
            if !crate::domain::text::one_line_ok(name) {
                return Err(AppError::invalid("onBehalfOf", crate::domain::text::refusal("onBehalfOf")));
            }
            authors.push((None, name.to_owned()));
        }
        None => authors.push((Some(user.id), user.name.clone())),
    }
    if co_author_ids.len() > COAUTHORS_MAX {
        return Err(AppError::invalid(
            "coAuthorIds",
            format!("at most {COAUTHORS_MAX} co-authors / 合作者最多{COAUTHORS_MAX}人"),
        ));
    }
    let mut invitees = Vec::new();
    for &id in co_author_ids {
        if id == user.id || invitees.contains(&id) {
            continue;
        }
        let co = store
            .user(id)
            .await?
            .ok_or_else(|| AppError::invalid("coAuthorIds", "a co-author does not exist / 合作者不存在"))?;
        if user.enterprise_id.is_none() || co.enterprise_id != user.enterprise_id {
            return Err(AppError::invalid(
                "coAuthorIds",
                "co-authors must work in your enterprise / 合作者须为本企业职工",
            ));
        }
        invitees.push(co.id);
    }
    Ok((authors, invitees))
}
