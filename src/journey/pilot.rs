//! The pilot (incubation): plan and milestones, before/after measurements, and the enterprise's
//! confirmation of adoption, which fixes the verified savings.

use chrono::{DateTime, NaiveDate, Utc};

use super::{award, check, check_version, convert, load_visible, record, required_text, transition};
use crate::{
    db::{rows::ProposalRow, store::Store, users::UserRow},
    domain::{
        lifecycle::{Action, Status},
        recognition::PointsReason,
        savings::{verified_savings, Carrier, Measurement, SavingsKind},
    },
    error::{AppError, AppResult},
};

pub const MAX_MILESTONES: usize = 50;

pub struct MilestoneInput {
    pub title: String,
    pub due_on: Option<NaiveDate>,
}

pub async fn start_pilot(
    store: &mut dyn Store,
    lead: &UserRow,
    id: i64,
    expected_version: i64,
    plan: &str,
    milestones: Vec<MilestoneInput>,
    now: DateTime<Utc>,
) -> AppResult<ProposalRow> {
    let p = load_visible(store, Some(lead), id).await?;
    check_version(&p, expected_version)?;
    check(&p, lead, Action::StartPilot)?;
    let plan = required_text(plan, "plan", 20_000)?;
    if milestones.len() > MAX_MILESTONES {
        return Err(AppError::invalid(
            "milestones",
            format!("at most {MAX_MILESTONES} milestones / 里程碑最多{MAX_MILESTONES}个"),
        ));
    }
    let titles = milestones
        .iter()
        .enumerate()
        .map(|(i, m)| required_text(&m.title, &format!("milestones.{i}.title"), 200))
        .collect::<AppResult<Vec<_>>>()?;
    transition(store, &p, lead, Action::StartPilot, expected_version, "PILOT_STARTED", None, now).await?;
    store.insert_pilot(id, &plan, lead.id, now).await?;
    for (i, (m, title)) in milestones.iter().zip(titles).enumerate() {
        store.insert_milestone(id, i as i64, &title, m.due_on).await?;
    }
    super::proposals::reload(store, id).await
}

crate::string_enum! {
    /// Where a milestone stands. 里程碑进展状态。
    pub enum MilestoneStatus {
        /// Not started. 未开始。
        Planned = "PLANNED",
        /// Under way. 进行中。
        InProgress = "IN_PROGRESS",
        /// Done. 已完成。
        Done = "DONE",
        /// Dropped. 已取消。
        Cancelled = "CANCELLED",
    }
}

pub async fn update_milestone(
    store: &mut dyn Store,
    user: &UserRow,
    milestone_id: i64,
    status: MilestoneStatus,
    done_on: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> AppResult<ProposalRow> {
    let m = store.milestone(milestone_id).await?.ok_or_else(|| AppError::not_found("milestone"))?;
    let p = load_visible(store, Some(user), m.proposal_id).await?;
    check(&p, user, Action::RecordMeasurement)?;
    let done_on = match status {
        MilestoneStatus::Done => Some(done_on.unwrap_or(crate::domain::today(now))),
        _ => None,
    };
    store.update_milestone(milestone_id, status.as_str(), done_on).await?;
    record(store, &p.row, "MILESTONE_UPDATED", user, Status::Incubating, Some(&format!("{}: {status}", m.title)), now)
        .await?;
    super::proposals::reload(store, p.row.id).await
}

#[allow(clippy::too_many_arguments)]
pub async fn record_measurement(
    store: &mut dyn Store,
    user: &UserRow,
    id: i64,
    carrier: Carrier,
    baseline: f64,
    after: f64,
    period: (NaiveDate, NaiveDate),
    note: &str,
    now: DateTime<Utc>,
) -> AppResult<ProposalRow> {
    let p = load_visible(store, Some(user), id).await?;
    check(&p, user, Action::RecordMeasurement)?;
    let m = Measurement { carrier, baseline, after, period_start: period.0, period_end: period.1 };
    m.validate().map_err(|(field, msg)| AppError::invalid(field, msg))?;
    if note.chars().count() > 5000 {
        return Err(AppError::invalid("note", "note must be at most 5000 characters / 备注最多5000字"));
    }
    store
        .insert_measurement(id, carrier.as_str(), baseline, after, period.0, period.1, note.trim(), user.id, now)
        .await?;
    record(store, &p.row, "MEASUREMENT_RECORDED", user, Status::Incubating, None, now).await?;
    super::proposals::reload(store, id).await
}

pub async fn confirm_adoption(
    store: &mut dyn Store,
    admin: &UserRow,
    id: i64,
    expected_version: i64,
    investment_yuan: Option<f64>,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<ProposalRow> {
    let p = load_visible(store, Some(admin), id).await?;
    check_version(&p, expected_version)?;
    check(&p, admin, Action::ConfirmAdoption)?;
    let measurements: Vec<Measurement> = store.measurements(id).await?.iter().filter_map(|m| m.measurement()).collect();
    if measurements.is_empty() {
        return Err(AppError::invalid(
            "proposalId",
            "adoption needs measured results from the pilot; record measurements first / 确认采纳前须先录入试点测量数据",
        ));
    }
    let investment = match investment_yuan {
        Some(v) if v.is_finite() && v >= 0.0 => v,
        Some(_) => {
            return Err(AppError::invalid("investmentYuan", "investment must be a number ≥ 0 / 投资额须为非负数"))
        }
        None => store.savings(id, SavingsKind::Expected).await?.map(|s| s.investment_yuan).unwrap_or(0.0),
    };
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    transition(store, &p, admin, Action::ConfirmAdoption, expected_version, "ADOPTED", note, now).await?;
    let verified = convert(store, verified_savings(&measurements, investment)).await?;
    store.put_savings(id, SavingsKind::Verified, &verified, Some(admin.id), now).await?;
    store.set_adopted(id, now).await?;
    award(store, &p, PointsReason::Adoption, now).await?;
    super::proposals::reload(store, id).await
}
