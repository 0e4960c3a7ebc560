//! Help requests (劳模工匠助企行): a plant asks, a studio takes it on and resolves it — with the catalogue
//! techniques it used and, when measured, verified savings that count in the studio's impact.

use chrono::{DateTime, Utc};

use super::{convert, required_text, validate_savings};
use crate::{
    db::{
        help::{HelpRequestRow, NewHelpRequest},
        store::Store,
        users::UserRow,
    },
    domain::{
        challenge::{self, HelpAction, REASON_MAX, STATEMENT_MAX, TAGS_MAX, TAG_MAX, TITLE_MAX},
        notify::NotificationKind,
        organisation::Industry,
        savings::Savings,
    },
    error::{AppError, AppResult, ErrorCode},
};

use super::challenges::viewer_of;

#[derive(Clone, Debug, Default)]
pub struct HelpFields {
    pub title: String,
    pub problem: String,
    pub industry: Option<Industry>,
    pub processes: Vec<String>,
    pub equipment: Vec<String>,
    pub consumption: Option<String>,
}

fn tags(values: Vec<String>, field: &str) -> AppResult<String> {
    let out = super::proposals::clean_tags(values);
    if out.iter().any(|v| v.is_empty() || v.chars().count() > TAG_MAX || !crate::domain::text::one_line_ok(v)) {
        return Err(AppError::invalid(
            field,
            format!("each tag must be 1–{TAG_MAX} characters / 每个标签须为1到{TAG_MAX}个字符"),
        ));
    }
    if out.len() > TAGS_MAX {
        return Err(AppError::invalid(field, format!("at most {TAGS_MAX} tags / 标签最多{TAGS_MAX}个")));
    }
    Ok(serde_json::to_string(&out).unwrap_or_else(|_| "[]".into()))
}

pub async fn request(
    store: &mut dyn Store,
    user: &UserRow,
    f: HelpFields,
    now: DateTime<Utc>,
) -> AppResult<HelpRequestRow> {
    let v = viewer_of(store, Some(user)).await?;
    if !challenge::may_request_help(v) {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "help is asked for by people of an enterprise / 求助须由企业人员代表本企业提出",
        ));
    }
    let enterprise_id = user.enterprise_id.expect("may_request_help needs an enterprise");
    let title = required_text(&f.title, "title", TITLE_MAX)?;
    if !crate::domain::text::one_line_ok(&title) {
        return Err(AppError::invalid("title", crate::domain::text::refusal("title")));
    }
    let problem = required_text(&f.problem, "problem", STATEMENT_MAX)?;
    let consumption = match f.consumption.as_deref().map(str::trim) {
        None | Some("") => String::new(),
        Some(c) => required_text(c, "consumption", 2_000)?,
    };
    let processes = tags(f.processes, "processes")?;
    let equipment = tags(f.equipment, "equipment")?;
    let industry = f.industry.or(v.industry).unwrap_or(Industry::Other);
    let row = store
        .insert_help_request(&NewHelpRequest {
            title: &title,
            problem: &problem,
            industry,
            processes: &processes,
            equipment: &equipment,
            consumption: &consumption,
            enterprise_id,
            requested_by: user.id,
            now,
        })
        .await?;
    store.feed("help_request", row.id, now).await?;
    Ok(row)
}

/// Loads a help request for a signed-in viewer.
async fn load_visible(store: &mut dyn Store, v: challenge::Viewer, id: i64) -> AppResult<HelpRequestRow> {
    match store.help_request(id).await? {
        Some(row) if challenge::can_view_help(v) => Ok(row),
        _ => Err(AppError::not_found("help request")),
    }
}

/// Loads a help request and checks that `user` may take `action` on it now at `expected_version`.
async fn step(
    store: &mut dyn Store,
    user: &UserRow,
    id: i64,
    expected_version: i64,
    action: HelpAction,
) -> AppResult<HelpRequestRow> {
    let v = viewer_of(store, Some(user)).await?;
    let row = load_visible(store, v, id).await?;
    super::stale("help request", "求助", row.version, expected_version)?;
    match challenge::help_transition(v, &row.rules(), action) {
        Ok(_) => Ok(row),
        Err(true) => Err(AppError::new(
            ErrorCode::Forbidden,
            match action {
                HelpAction::Take => {
                    "a studio lead of another enterprise takes on a help request / 只有其他企业的工作室领衔人可以承接求助"
                }
                HelpAction::Resolve => {
                    "the lead of the studio that took it resolves it / 只有承接该求助的工作室领衔人可以办结"
                }
                HelpAction::Close => "the enterprise that asked closes it / 只有提出求助的企业可以关闭",
            },
        )),
        Err(false) => Err(AppError::new(
            ErrorCode::InvalidTransition,
            format!(
                "not possible while the help request is {} / 求助当前状态为{}，不能执行此操作",
                row.status, row.status
            ),
        )),
    }
}

/// The conflict of a conditional update that found the help request changed after it was read.
async fn changed_meanwhile(store: &mut dyn Store, id: i64, expected: i64) -> AppResult<AppError> {
    let current = store.help_request(id).await?.map_or(expected, |r| r.version);
    Ok(super::version_conflict("help request", "求助", current, expected))
}

pub async fn take(
    store: &mut dyn Store,
    user: &UserRow,
    id: i64,
    expected_version: i64,
    now: DateTime<Utc>,
) -> AppResult<HelpRequestRow> {
    step(store, user, id, expected_version, HelpAction::Take).await?;
    let studio = user.studio_id.expect("help_transition: a lead with a studio");
    if !store.take_help_request(id, expected_version, studio, user.id, now).await? {
        return Err(changed_meanwhile(store, id, expected_version).await?);
    }
    store.feed("help_request", id, now).await?;
    let row = store.help_request(id).await?.ok_or_else(|| AppError::not_found("help request"))?;
    tell(store, NotificationKind::HelpRequestTaken, &row, user, now).await?;
    Ok(row)
}

/// Tells the plant which studio took on or resolved its request.
async fn tell(
    store: &mut dyn Store,
    kind: NotificationKind,
    row: &HelpRequestRow,
    user: &UserRow,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let studio = match row.studio_id {
        Some(s) => store.studio_row(s).await?.map(|s| s.name).unwrap_or_default(),
        None => String::new(),
    };
    super::notify::helped(store, kind, row, &studio, user, now).await
}

#[allow(clippy::too_many_arguments)]
pub async fn resolve(
    store: &mut dyn Store,
    user: &UserRow,
    id: i64,
    expected_version: i64,
    solution: &str,
    technique_ids: &[i64],
    verified: Option<Savings>,
    now: DateTime<Utc>,
) -> AppResult<HelpRequestRow> {
    step(store, user, id, expected_version, HelpAction::Resolve).await?;
    let solution = required_text(solution, "solution", STATEMENT_MAX)?;
    for &t in technique_ids {
        if store.technique(t).await?.is_none() {
            return Err(AppError::invalid("techniqueIds", "the technique does not exist / 该技术不存在"));
        }
    }
    let converted = match verified {
        Some(s) => {
            validate_savings(&s, "verifiedSavings")?;
            Some(convert(store, s).await?)
        }
        None => None,
    };
    if !store.resolve_help_request(id, expected_version, &solution, converted.as_ref(), user.id, now).await? {
        return Err(changed_meanwhile(store, id, expected_version).await?);
    }
    for &t in technique_ids {
        store.add_help_technique(id, t).await?;
    }
    store.feed("help_request", id, now).await?;
    let row = store.help_request(id).await?.ok_or_else(|| AppError::not_found("help request"))?;
    tell(store, NotificationKind::HelpRequestResolved, &row, user, now).await?;
    Ok(row)
}

pub async fn close(
    store: &mut dyn Store,
    user: &UserRow,
    id: i64,
    expected_version: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> AppResult<HelpRequestRow> {
    step(store, user, id, expected_version, HelpAction::Close).await?;
    let reason = required_text(reason, "reason", REASON_MAX)?;
    if !store.close_help_request(id, expected_version, &reason, now).await? {
        return Err(changed_meanwhile(store, id, expected_version).await?);
    }
    store.feed("help_request", id, now).await?;
    store.help_request(id).await?.ok_or_else(|| AppError::not_found("help request"))
}
