//! Promotion into the industry catalogue, and adoptions of a technique by other enterprises.

use chrono::{DateTime, NaiveDate, Utc};

use super::{award, check, check_version, convert, load_visible, transition, validate_savings};
use crate::{
    db::{
        rows::{AdoptionRow, ProposalRow, TechniqueRow},
        store::{NewAdoption, NewTechnique, Store},
        users::UserRow,
    },
    domain::{
        lifecycle::Action,
        organisation::Role,
        recognition::PointsReason,
        savings::{Savings, SavingsKind},
    },
    error::{AppError, AppResult},
};

/// Catalogue fields of a new technique; empty ones are derived from the proposal.
#[derive(Default)]
pub struct TechniqueFields {
    pub name: Option<String>,
    pub scope: Option<String>,
    pub principle: Option<String>,
    pub key_parameters: Option<String>,
    pub typical_case: Option<String>,
    pub promotion_potential: Option<String>,
}

pub async fn promote(
    store: &mut dyn Store,
    association: &UserRow,
    id: i64,
    expected_version: i64,
    merge_into: Option<i64>,
    fields: TechniqueFields,
    now: DateTime<Utc>,
) -> AppResult<(ProposalRow, TechniqueRow)> {
    let p = load_visible(store, Some(association), id).await?;
    check_version(&p, expected_version)?;
    check(&p, association, Action::Promote)?;
    let verified = store.savings(id, SavingsKind::Verified).await?.ok_or_else(|| {
        AppError::invalid("proposalId", "the proposal has no verified savings / 该建议没有经核实的节约量")
    })?;
    let bounded = |v: Option<String>, field: &str, max: usize| -> AppResult<Option<String>> {
        match v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
            Some(s) if s.chars().count() > max => {
                Err(AppError::invalid(field, format!("{field} must be at most {max} characters / {field}最多{max}字")))
            }
            Some(s) if !crate::domain::text::multi_line_ok(&s) => {
                Err(AppError::invalid(field, crate::domain::text::refusal(field)))
            }
            other => Ok(other),
        }
    };
    let name = bounded(fields.name, "technique.name", 200)?;
    let scope = bounded(fields.scope, "technique.scope", 5000)?;
    let principle = bounded(fields.principle, "technique.principle", 20_000)?;
    let key_parameters = bounded(fields.key_parameters, "technique.keyParameters", 5000)?;
    let typical_case = bounded(fields.typical_case, "technique.typicalCase", 20_000)?;
    let potential = bounded(fields.promotion_potential, "technique.promotionPotential", 5000)?;

    let technique = match merge_into {
        Some(tid) => {
            store
                .technique(tid)
                .await?
                .ok_or_else(|| AppError::invalid("techniqueId", "the technique does not exist / 该技术不存在"))?;
            store.touch_technique(tid, now).await?;
            tid
        }
        None => {
            let c = verified.converted();
            let effect = format!(
                "年节约标准煤 {:.2} tce，减排 CO2 {:.2} t，年节约 {:.0} 元 (verified in the pilot, factor table v{})",
                c.tce, c.tco2e, c.savings.money_yuan, c.factor_version
            );
            store
                .insert_technique(&NewTechnique {
                    external_id: None,
                    name: name.unwrap_or_else(|| p.row.title.clone()),
                    industry: p.row.industry.clone(),
                    scope: scope.unwrap_or_default(),
                    principle: principle.unwrap_or_else(|| p.row.body.clone()),
                    key_parameters: key_parameters.unwrap_or_default(),
                    typical_case: typical_case.unwrap_or_default(),
                    effect,
                    investment_yuan: Some(c.savings.investment_yuan),
                    payback_years: c.savings.payback_years(),
                    promotion_potential: potential.unwrap_or_default(),
                    created_by: Some(association.id),
                    now,
                })
                .await?
                .id
        }
    };
    transition(store, &p, association, Action::Promote, expected_version, "PROMOTED", None, now).await?;
    store.add_technique_source(technique, id, now).await?;
    if let Some(enterprise_id) = p.row.enterprise_id {
        // The originating enterprise is the technique's first adopter, with the verified savings.
        let adopted_on = crate::domain::today(p.row.adopted_at.unwrap_or(now));
        store
            .insert_adoption(&NewAdoption {
                technique_id: technique,
                enterprise_id,
                proposal_id: Some(id),
                adopted_on,
                converted: verified.converted(),
                note: "originating enterprise (verified in the pilot) / 首创企业（试点核实）".into(),
                recorded_by: association.id,
                now,
            })
            .await?;
    }
    store.set_promoted(id, now).await?;
    award(store, &p, PointsReason::Promotion, now).await?;
    store.feed("technique", technique, now).await?;
    let row = super::proposals::reload(store, id).await?;
    let t = store.technique(technique).await?.ok_or_else(|| AppError::not_found("technique"))?;
    Ok((row, t))
}

/// Another enterprise adopted a technique: recorded by an association (any enterprise) or by the
/// adopting enterprise's admin (their own enterprise only).
#[allow(clippy::too_many_arguments)]
pub async fn record_adoption(
    store: &mut dyn Store,
    user: &UserRow,
    technique_id: i64,
    enterprise_id: i64,
    adopted_on: NaiveDate,
    savings: Savings,
    note: &str,
    now: DateTime<Utc>,
) -> AppResult<AdoptionRow> {
    let allowed = match user.role() {
        Role::Admin | Role::Association => true,
        Role::EnterpriseAdmin => user.enterprise_id == Some(enterprise_id),
        _ => false,
    };
    if !allowed {
        return Err(AppError::forbidden("record an adoption for this enterprise"));
    }
    store
        .technique(technique_id)
        .await?
        .ok_or_else(|| AppError::invalid("techniqueId", "the technique does not exist / 该技术不存在"))?;
    store
        .enterprise(enterprise_id)
        .await?
        .ok_or_else(|| AppError::invalid("enterpriseId", "the enterprise does not exist / 该企业不存在"))?;
    validate_savings(&savings, "savings")?;
    if adopted_on > crate::domain::today(now) {
        return Err(AppError::invalid("adoptedOn", "the adoption date is in the future / 采用日期不能晚于今天"));
    }
    if note.chars().count() > 5000 {
        return Err(AppError::invalid("note", "note must be at most 5000 characters / 备注最多5000字"));
    }
    let converted = convert(store, savings).await?;
    let row = store
        .insert_adoption(&NewAdoption {
            technique_id,
            enterprise_id,
            proposal_id: None,
            adopted_on,
            converted,
            note: note.trim().to_owned(),
            recorded_by: user.id,
            now,
        })
        .await?;
    store.touch_technique(technique_id, now).await?;
    store.feed("technique", technique_id, now).await?;
    super::notify::adopted_elsewhere(store, technique_id, enterprise_id, user, now).await?;
    Ok(row)
}
