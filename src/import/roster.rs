//! `greenline import users FILE`: onboarding a plant from its roster (CSV or JSON Lines, UTF-8 or GBK).
//! People are matched by enterprise and employee number (工号), so importing the same roster again changes
//! nothing, and a later roster applies what changed (a move to another team, a new role). Teams and studios
//! named in it are made when missing. Each record is its own transaction, recorded in the audit log; a
//! refused record is reported with its line and the others are taken.

use std::path::Path;

use chrono::Utc;
use serde_json::{json, Map, Value};

use super::{
    source::{Format, Source},
    Kind, Refusal,
};
use crate::{
    db::{
        people::{AuditEntry, UserFields},
        Db,
    },
    domain::{
        organisation::{Industry, Role},
        people::{self as rules, AuditAction},
    },
    error::{AppError, AppResult},
};

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RosterSummary {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub refused: Vec<Refusal>,
}

/// A checked roster line.
struct Person {
    employee_number: String,
    name: String,
    enterprise: String,
    industry: Industry,
    team: Option<String>,
    studio: Option<String>,
    role: Role,
    email: Option<String>,
    oidc_subject: Option<String>,
}

fn text(f: &Map<String, Value>, key: &str) -> Option<String> {
    match f.get(key) {
        Some(Value::String(s)) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// The role a roster names: its GraphQL name or its Chinese one; a roster grants ENTERPRISE_ADMIN at most.
fn role(name: Option<&str>) -> Result<Role, String> {
    let Some(name) = name else { return Ok(Role::Worker) };
    let role = match name {
        "职工" | "一线职工" | "员工" => Some(Role::Worker),
        "职工代表" | "算法监督员" | "监督员" => Some(Role::Overseer),
        "评审专家" | "评审" | "专家" => Some(Role::Reviewer),
        "工作室负责人" | "劳模" => Some(Role::StudioLead),
        "企业管理员" | "管理员" => Some(Role::EnterpriseAdmin),
        other => Role::parse(other),
    };
    match role {
        Some(r) if r <= Role::EnterpriseAdmin => Ok(r),
        Some(r) => Err(format!("a roster cannot grant {r} / 名单不能授予{r}角色")),
        None => Err(format!(
            "unknown role {name:?}: use WORKER, OVERSEER, REVIEWER, STUDIO_LEAD or ENTERPRISE_ADMIN / 未知角色“{name}”"
        )),
    }
}

fn check(f: &Map<String, Value>, default_enterprise: Option<&str>) -> Result<Person, String> {
    let employee_number = rules::clean_employee_number(text(f, "employee_number").as_deref())
        .map_err(|e| e.public_message())?
        .ok_or("employee_number (工号) is required / 缺少工号")?;
    let name = rules::clean_name(&text(f, "name").unwrap_or_default()).map_err(|e| e.public_message())?;
    let enterprise = text(f, "enterprise")
        .or(default_enterprise.map(str::to_owned))
        .ok_or("enterprise (企业) is required, or give --enterprise / 缺少企业")?;
    let industry = match text(f, "industry") {
        Some(i) => Industry::parse(&i).ok_or_else(|| format!("unknown industry {i:?} / 未知行业"))?,
        None => Industry::Other,
    };
    let email = rules::clean_email(text(f, "email").as_deref()).map_err(|e| e.public_message())?;
    Ok(Person {
        employee_number,
        name,
        enterprise: enterprise.chars().take(100).collect(),
        industry,
        team: text(f, "team").map(|t| t.chars().take(100).collect()),
        studio: text(f, "studio").map(|s| s.chars().take(100).collect()),
        role: role(text(f, "role").as_deref())?,
        email,
        oidc_subject: text(f, "oidc_subject"),
    })
}

enum Outcome {
    Created,
    Updated,
    Unchanged,
}

async fn upsert(db: &Db, p: Person) -> AppResult<Outcome> {
    db.write(move |tx| {
        Box::pin(async move {
            let now = Utc::now();
            let enterprise_id = tx.ensure_enterprise(&p.enterprise, p.industry.as_str(), now).await?;
            let team_id = match &p.team {
                Some(t) => Some(tx.ensure_team(enterprise_id, t, now).await?),
                None => None,
            };
            let studio_id = match &p.studio {
                Some(s) => Some(tx.ensure_studio(enterprise_id, s, now).await?),
                None => None,
            };
            let fields = UserFields {
                name: p.name.clone(),
                role: p.role.as_str().to_owned(),
                enterprise_id: Some(enterprise_id),
                team_id,
                studio_id,
                email: p.email.clone(),
                employee_number: Some(p.employee_number.clone()),
                oidc_subject: p.oidc_subject.clone(),
            };
            let entry = |action: AuditAction, id: i64, detail: Value| AuditEntry {
                actor_id: None,
                action,
                target_kind: "User",
                target_id: Some(id),
                enterprise_id: Some(enterprise_id),
                detail,
                address: None,
            };
            match tx.user_by_employee_number(enterprise_id, &p.employee_number).await? {
                None => {
                    let user = tx.insert_user(&fields, now).await?;
                    if p.role == Role::StudioLead {
                        if let Some(s) = studio_id {
                            tx.lead_studio_if_unled(s, user.id).await?;
                        }
                    }
                    let detail = json!({ "via": "roster", "employeeNumber": p.employee_number, "role": user.role });
                    tx.audit(&entry(AuditAction::UserCreated, user.id, detail), now).await?;
                    Ok(Outcome::Created)
                }
                Some(user) => {
                    let mut next = fields;
                    // A roster without an account column keeps the link made at sign-in.
                    if next.oidc_subject.is_none() {
                        next.oidc_subject = user.oidc_subject.clone();
                    }
                    let mut changed = next.changes_from(&UserFields::of(&user));
                    if changed.is_empty() {
                        return Ok(Outcome::Unchanged);
                    }
                    tx.update_user(user.id, &next).await?;
                    changed.insert("via".into(), json!("roster"));
                    tx.audit(&entry(AuditAction::UserUpdated, user.id, Value::Object(changed)), now).await?;
                    Ok(Outcome::Updated)
                }
            }
        })
    })
    .await
}

/// Imports the roster at `path`; `report` hears each refusal as it happens.
pub async fn run(
    db: &Db,
    path: &Path,
    format: Option<Format>,
    encoding: Option<&'static encoding_rs::Encoding>,
    default_enterprise: Option<&str>,
    report: &mut dyn FnMut(&Refusal),
) -> anyhow::Result<RosterSummary> {
    let source = Source::open(path, Kind::Users, format.unwrap_or_else(|| Format::of(path)), encoding)?;
    let mut summary = RosterSummary::default();
    for raw in source {
        let line = raw.line;
        let checked = raw.fields.and_then(|f| check(&f, default_enterprise));
        let outcome = match checked {
            Ok(person) => upsert(db, person).await,
            Err(reason) => Err(AppError::invalid("record", reason)),
        };
        match outcome {
            Ok(Outcome::Created) => summary.created += 1,
            Ok(Outcome::Updated) => summary.updated += 1,
            Ok(Outcome::Unchanged) => summary.unchanged += 1,
            Err(e @ (AppError::Internal(_) | AppError::Unavailable(_))) => {
                anyhow::bail!("line {line}: the database failed: {e}")
            }
            Err(e) => {
                let refusal = Refusal { line, reason: e.public_message() };
                report(&refusal);
                summary.refused.push(refusal);
            }
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roster_roles_in_english_or_chinese_up_to_enterprise_admin() {
        assert_eq!(role(None), Ok(Role::Worker));
        assert_eq!(role(Some("评审专家")), Ok(Role::Reviewer));
        assert_eq!(role(Some("studio_lead")), Ok(Role::StudioLead));
        assert_eq!(role(Some("企业管理员")), Ok(Role::EnterpriseAdmin));
        assert!(role(Some("ADMIN")).is_err());
        assert!(role(Some("厂长")).is_err());
    }
}
