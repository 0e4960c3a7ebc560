//! Administering people: users, their tokens, teams and studios, and sign-in's provisioning from the
//! provider's claims. Each operation checks the actor against `domain::people`, writes, and records itself
//! in the audit log, in the caller's one transaction.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::{
    config::Config,
    db::{
        organisations::{StudioRow, TeamRow},
        people::{AuditEntry, CredentialRow, NewCredential, UserFields, TOKEN},
        store::Store,
        users::{hash_token, new_token, UserRow},
    },
    domain::{
        organisation::{Industry, Role},
        people::{self as rules, may_administer, may_grant, AuditAction},
    },
    error::{AppError, AppResult, ErrorCode},
};

/// Who acts, and from where (for the audit log).
pub struct Acting {
    pub user: UserRow,
    pub address: Option<String>,
}

impl Acting {
    fn audit(
        &self,
        action: AuditAction,
        kind: &'static str,
        id: i64,
        enterprise_id: Option<i64>,
        detail: Value,
    ) -> AuditEntry {
        AuditEntry {
            actor_id: Some(self.user.id),
            action,
            target_kind: kind,
            target_id: Some(id),
            enterprise_id,
            detail,
            address: self.address.clone(),
        }
    }
}

fn not_found(what: &str) -> AppError {
    AppError::new(ErrorCode::NotFound, format!("{what} not found / 未找到"))
}

/// The enterprise an administrator acts in: the one named, or their own; an enterprise administrator may
/// name only their own.
fn enterprise_for(actor: &UserRow, named: Option<i64>) -> AppResult<Option<i64>> {
    let enterprise = named.or(actor.enterprise_id);
    if !may_administer(&actor.person(), enterprise) {
        return Err(AppError::forbidden("manage people of this enterprise"));
    }
    Ok(enterprise)
}

/// Checks that the team and studio belong to `enterprise_id`.
async fn check_units(
    tx: &mut dyn Store,
    enterprise_id: Option<i64>,
    team_id: Option<i64>,
    studio_id: Option<i64>,
) -> AppResult<()> {
    if let Some(t) = team_id {
        let team = tx.team_row(t).await?.ok_or_else(|| not_found("team"))?;
        if Some(team.enterprise_id) != enterprise_id {
            return Err(AppError::invalid("teamId", "the team is in another enterprise / 该班组不属于此企业"));
        }
    }
    if let Some(s) = studio_id {
        let studio = tx.studio_row(s).await?.ok_or_else(|| not_found("studio"))?;
        if Some(studio.enterprise_id) != enterprise_id {
            return Err(AppError::invalid("studioId", "the studio is in another enterprise / 该工作室不属于此企业"));
        }
    }
    Ok(())
}

/// A new person, as `createUser` gives it.
pub struct NewPerson {
    pub name: String,
    pub role: Role,
    pub enterprise_id: Option<i64>,
    pub team_id: Option<i64>,
    pub studio_id: Option<i64>,
    pub email: Option<String>,
    pub employee_number: Option<String>,
    pub oidc_subject: Option<String>,
}

pub async fn create_user(tx: &mut dyn Store, by: &Acting, new: NewPerson, now: DateTime<Utc>) -> AppResult<UserRow> {
    let enterprise_id = enterprise_for(&by.user, new.enterprise_id)?;
    if !may_grant(&by.user.person(), new.role) {
        return Err(AppError::forbidden(&format!("grant the role {}", new.role)));
    }
    if enterprise_id.is_none() && new.role <= Role::EnterpriseAdmin {
        return Err(AppError::invalid("enterpriseId", "this role needs an enterprise / 此角色须属于某个企业"));
    }
    check_units(tx, enterprise_id, new.team_id, new.studio_id).await?;
    let fields = UserFields {
        name: rules::clean_name(&new.name)?,
        role: new.role.as_str().to_owned(),
        enterprise_id,
        team_id: new.team_id,
        studio_id: new.studio_id,
        email: rules::clean_email(new.email.as_deref())?,
        employee_number: rules::clean_employee_number(new.employee_number.as_deref())?,
        oidc_subject: new.oidc_subject.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
    };
    let user = tx.insert_user(&fields, now).await?;
    tx.audit(
        &by.audit(
            AuditAction::UserCreated,
            "User",
            user.id,
            enterprise_id,
            json!({ "name": user.name, "role": user.role }),
        ),
        now,
    )
    .await?;
    Ok(user)
}

/// What `updateUser` may change; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Default)]
pub struct PersonChanges {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub team_id: Option<Option<i64>>,
    pub studio_id: Option<Option<i64>>,
    pub email: Option<Option<String>>,
    pub employee_number: Option<Option<String>>,
    pub oidc_subject: Option<Option<String>>,
}

/// The person `id` if `by` may administer them: in their enterprise, and not of a role above theirs.
async fn administered(tx: &mut dyn Store, by: &UserRow, id: i64) -> AppResult<UserRow> {
    let target = tx.user(id).await?.ok_or_else(|| not_found("user"))?;
    if !may_administer(&by.person(), target.enterprise_id) || !may_grant(&by.person(), target.role()) {
        return Err(AppError::forbidden("manage this person"));
    }
    Ok(target)
}

pub async fn update_user(
    tx: &mut dyn Store,
    by: &Acting,
    id: i64,
    changes: PersonChanges,
    now: DateTime<Utc>,
) -> AppResult<UserRow> {
    let target = administered(tx, &by.user, id).await?;
    let mut fields = UserFields::of(&target);
    if let Some(name) = changes.name {
        fields.name = rules::clean_name(&name)?;
    }
    if let Some(role) = changes.role {
        if !may_grant(&by.user.person(), role) {
            return Err(AppError::forbidden(&format!("grant the role {role}")));
        }
        if role <= Role::EnterpriseAdmin && target.enterprise_id.is_none() {
            return Err(AppError::invalid("role", "this role needs an enterprise / 此角色须属于某个企业"));
        }
        fields.role = role.as_str().to_owned();
    }
    if let Some(t) = changes.team_id {
        fields.team_id = t;
    }
    if let Some(s) = changes.studio_id {
        fields.studio_id = s;
    }
    if let Some(e) = changes.email {
        fields.email = rules::clean_email(e.as_deref())?;
    }
    if let Some(n) = changes.employee_number {
        fields.employee_number = rules::clean_employee_number(n.as_deref())?;
    }
    if let Some(s) = changes.oidc_subject {
        fields.oidc_subject = s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    }
    check_units(tx, target.enterprise_id, fields.team_id, fields.studio_id).await?;
    let changed = fields.changes_from(&UserFields::of(&target));
    if changed.is_empty() {
        return Ok(target);
    }
    let user = tx.update_user(id, &fields).await?;
    tx.audit(&by.audit(AuditAction::UserUpdated, "User", id, target.enterprise_id, Value::Object(changed)), now)
        .await?;
    Ok(user)
}

/// Deactivates (`active = false`) or reactivates a person. A deactivated person's sessions end, and none of
/// their tokens works while they are deactivated.
pub async fn set_active(
    tx: &mut dyn Store,
    by: &Acting,
    id: i64,
    active: bool,
    now: DateTime<Utc>,
) -> AppResult<UserRow> {
    if id == by.user.id && !active {
        return Err(AppError::invalid("id", "you cannot deactivate yourself / 不能停用自己的账号"));
    }
    let target = administered(tx, &by.user, id).await?;
    switch_active(tx, &target, active, Some(by.user.id), by.address.clone(), now).await?;
    tx.user(id).await?.ok_or_else(|| not_found("user"))
}

/// Deactivates or reactivates `target` (ending their sessions when deactivated) and records it as done by
/// `actor_id` (none: the server's operator, from the command line). False when it was so already.
pub async fn switch_active(
    tx: &mut dyn Store,
    target: &UserRow,
    active: bool,
    actor_id: Option<i64>,
    address: Option<String>,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    if target.deactivated_at.is_none() == active {
        return Ok(false);
    }
    tx.set_deactivated(target.id, (!active).then_some(now)).await?;
    let mut detail = json!({ "via": if actor_id.is_some() { "api" } else { "cli" } });
    if !active {
        detail["sessionsEnded"] = json!(tx.end_sessions_of(target.id, now).await?);
    }
    let action = if active { AuditAction::UserReactivated } else { AuditAction::UserDeactivated };
    let entry = AuditEntry {
        actor_id,
        action,
        target_kind: "User",
        target_id: Some(target.id),
        enterprise_id: target.enterprise_id,
        detail,
        address,
    };
    tx.audit(&entry, now).await?;
    Ok(true)
}

pub async fn create_team(
    tx: &mut dyn Store,
    by: &Acting,
    enterprise_id: Option<i64>,
    name: &str,
    green: bool,
    now: DateTime<Utc>,
) -> AppResult<TeamRow> {
    let enterprise_id = enterprise_for(&by.user, enterprise_id)?
        .ok_or_else(|| AppError::invalid("enterpriseId", "name the enterprise / 请指定企业"))?;
    tx.enterprise(enterprise_id).await?.ok_or_else(|| not_found("enterprise"))?;
    let name = unit_name(name)?;
    let team = tx.insert_team(enterprise_id, &name, green, now).await?;
    tx.audit(
        &by.audit(
            AuditAction::TeamCreated,
            "Team",
            team.id,
            Some(enterprise_id),
            json!({ "name": name, "green": green }),
        ),
        now,
    )
    .await?;
    Ok(team)
}

fn unit_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || !crate::domain::text::one_line_ok(name) {
        return Err(AppError::invalid("name", "a name is 1–100 characters on one line / 名称须为1到100个字符"));
    }
    Ok(name.to_owned())
}

pub struct NewStudio {
    pub enterprise_id: Option<i64>,
    pub name: String,
    pub specialties: Vec<String>,
    pub lead_id: Option<i64>,
    pub member_ids: Vec<i64>,
}

/// Creates a studio; its lead (made `STUDIO_LEAD` if their role was lower) and members join it.
pub async fn create_studio(
    tx: &mut dyn Store,
    by: &Acting,
    new: NewStudio,
    now: DateTime<Utc>,
) -> AppResult<StudioRow> {
    let enterprise_id = enterprise_for(&by.user, new.enterprise_id)?
        .ok_or_else(|| AppError::invalid("enterpriseId", "name the enterprise / 请指定企业"))?;
    tx.enterprise(enterprise_id).await?.ok_or_else(|| not_found("enterprise"))?;
    let name = unit_name(&new.name)?;
    let specialties: Vec<String> =
        new.specialties.iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
    if specialties.len() > 20 || specialties.iter().any(|s| s.chars().count() > 40 || s.contains(',')) {
        return Err(AppError::invalid(
            "specialties",
            "at most 20 specialties of 40 characters / 专长最多20项，每项不超过40字",
        ));
    }
    if new.member_ids.len() > 500 {
        return Err(AppError::invalid("memberIds", "at most 500 members at once / 一次最多500名成员"));
    }
    let mut people = Vec::new();
    for (field, id) in
        new.lead_id.iter().map(|i| ("leadId", *i)).chain(new.member_ids.iter().map(|i| ("memberIds", *i)))
    {
        let person = tx.user(id).await?.ok_or_else(|| not_found("user"))?;
        if person.enterprise_id != Some(enterprise_id) || person.deactivated_at.is_some() {
            return Err(AppError::invalid(
                field,
                "members must be active people of the enterprise / 成员须为本企业在职人员",
            ));
        }
        people.push(person);
    }
    let studio = tx.insert_studio(enterprise_id, &name, &specialties.join(","), new.lead_id, now).await?;
    for person in &people {
        tx.set_user_studio(person.id, Some(studio.id)).await?;
    }
    if let Some(lead) = people.first().filter(|_| new.lead_id.is_some()) {
        if lead.role() < Role::StudioLead {
            let mut fields = UserFields::of(lead);
            fields.role = Role::StudioLead.as_str().to_owned();
            fields.studio_id = Some(studio.id);
            tx.update_user(lead.id, &fields).await?;
            let detail = json!({ "role": { "from": lead.role, "to": fields.role }, "reason": "studio lead" });
            tx.audit(&by.audit(AuditAction::UserUpdated, "User", lead.id, Some(enterprise_id), detail), now).await?;
        }
    }
    let detail = json!({ "name": name, "lead": new.lead_id, "members": new.member_ids });
    tx.audit(&by.audit(AuditAction::StudioCreated, "Studio", studio.id, Some(enterprise_id), detail), now).await?;
    Ok(studio)
}

/// Makes a personal access token for the signed-in person; the secret is returned once.
pub async fn create_access_token(
    tx: &mut dyn Store,
    by: &Acting,
    name: &str,
    days: Option<u32>,
    read_only: bool,
    now: DateTime<Utc>,
) -> AppResult<(CredentialRow, String)> {
    let name = rules::clean_token_name(name)?;
    let expires_at = rules::token_expiry(days, now)?;
    if tx.credentials_of(by.user.id, TOKEN, now).await?.len() >= 50 {
        return Err(AppError::invalid(
            "name",
            "at most 50 tokens at once: revoke one first / 令牌最多50个，请先撤销不用的",
        ));
    }
    let secret = new_token();
    let hash = hash_token(&secret);
    let credential = NewCredential {
        user_id: by.user.id,
        kind: TOKEN,
        name: &name,
        hash: &hash,
        expires_at,
        read_only,
        address: by.address.as_deref(),
    };
    let row = tx.insert_credential(credential, now).await?;
    let detail = json!({ "name": name, "readOnly": read_only, "expiresAt": expires_at });
    tx.audit(&by.audit(AuditAction::TokenCreated, "AccessToken", row.id, by.user.enterprise_id, detail), now).await?;
    Ok((row, secret))
}

/// Revokes a token or a session: one's own, or one of a person the actor administers.
pub async fn revoke_credential(
    tx: &mut dyn Store,
    by: &Acting,
    id: i64,
    now: DateTime<Utc>,
) -> AppResult<CredentialRow> {
    let credential = tx.credential(id).await?.ok_or_else(|| not_found("token"))?;
    let owner = tx.user(credential.user_id).await?.ok_or_else(|| not_found("token"))?;
    if owner.id != by.user.id {
        // Someone else's: only their administrator may know it exists.
        administered(tx, &by.user, owner.id).await.map_err(|_| not_found("token"))?;
    }
    revoke(tx, &credential, &owner, Some(by.user.id), by.address.clone(), now).await?;
    tx.credential(id).await?.ok_or_else(|| not_found("token"))
}

/// Revokes `credential` (of `owner`) and records it as done by `actor_id` (none: from the command line).
/// False when it was revoked already.
pub async fn revoke(
    tx: &mut dyn Store,
    credential: &CredentialRow,
    owner: &UserRow,
    actor_id: Option<i64>,
    address: Option<String>,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    if !tx.revoke_credential(credential.id, now).await? {
        return Ok(false);
    }
    let entry = AuditEntry {
        actor_id,
        action: AuditAction::TokenRevoked,
        target_kind: "AccessToken",
        target_id: Some(credential.id),
        enterprise_id: owner.enterprise_id,
        detail: json!({ "name": credential.name, "kind": credential.kind, "owner": owner.id }),
        address,
    };
    tx.audit(&entry, now).await?;
    Ok(true)
}

fn claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// The person an ID token's claims describe: made at their first sign-in, their changed claims applied
/// at later ones. Enterprise, team and studio are named by claims (made when missing); the role claim
/// grants `ENTERPRISE_ADMIN` at most unless the deployment trusts the provider's roles.
pub async fn provision(
    tx: &mut dyn Store,
    config: &Config,
    claims: &Map<String, Value>,
    address: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<UserRow> {
    let subject =
        claim(claims, "sub").ok_or_else(|| AppError::invalid("sub", "the ID token has no subject"))?.to_owned();
    let name = claim(claims, "name").or_else(|| claim(claims, "preferred_username")).unwrap_or(&subject);
    let name: String = name.chars().filter(|c| !c.is_control()).take(100).collect();
    let email = rules::clean_email(claim(claims, "email")).unwrap_or(None);
    let industry = claim(claims, &config.oidc_claim_industry).and_then(Industry::parse).unwrap_or(Industry::Other);
    let enterprise_id = match claim(claims, &config.oidc_claim_enterprise) {
        Some(e) => Some(tx.ensure_enterprise(&e.chars().take(100).collect::<String>(), industry.as_str(), now).await?),
        None => None,
    };
    let mut team_id = None;
    let mut studio_id = None;
    if let Some(e) = enterprise_id {
        if let Some(t) = claim(claims, &config.oidc_claim_team) {
            let t: String = t.chars().take(100).collect();
            team_id = Some(tx.ensure_team(e, &t, now).await?);
        }
        if let Some(s) = claim(claims, &config.oidc_claim_studio) {
            let s: String = s.chars().take(100).collect();
            studio_id = Some(tx.ensure_studio(e, &s, now).await?);
        }
    }
    let role_claim = claim(claims, &config.oidc_claim_role);
    let mut role = rules::role_from_claim(role_claim, config.oidc_trust_roles);
    if role <= Role::EnterpriseAdmin && enterprise_id.is_none() {
        role = Role::Worker;
    }
    let entry = |action: AuditAction, id: i64, enterprise: Option<i64>, detail: Value| AuditEntry {
        actor_id: None,
        action,
        target_kind: "User",
        target_id: Some(id),
        enterprise_id: enterprise,
        detail,
        address: address.map(str::to_owned),
    };
    match tx.user_by_subject(&subject).await? {
        None => {
            let fields = UserFields {
                name,
                role: role.as_str().to_owned(),
                enterprise_id,
                team_id,
                studio_id,
                email,
                employee_number: None,
                oidc_subject: Some(subject.clone()),
            };
            let user = tx.insert_user(&fields, now).await?;
            let detail = json!({ "subject": subject, "role": user.role });
            tx.audit(&entry(AuditAction::UserProvisioned, user.id, user.enterprise_id, detail), now).await?;
            Ok(user)
        }
        Some(user) => {
            // Only what the claims say changes: a claim that is absent leaves the field as it is.
            let mut fields = UserFields::of(&user);
            fields.name = name;
            if email.is_some() {
                fields.email = email;
            }
            if enterprise_id.is_some() {
                fields.enterprise_id = enterprise_id;
                fields.team_id = team_id.or(if enterprise_id == user.enterprise_id { user.team_id } else { None });
                fields.studio_id =
                    studio_id.or(if enterprise_id == user.enterprise_id { user.studio_id } else { None });
            }
            if role_claim.is_some() {
                fields.role = role.as_str().to_owned();
            }
            let changed = fields.changes_from(&UserFields::of(&user));
            if changed.is_empty() {
                return Ok(user);
            }
            let updated = tx.update_user(user.id, &fields).await?;
            tx.audit(
                &entry(AuditAction::UserUpdatedFromClaims, user.id, updated.enterprise_id, Value::Object(changed)),
                now,
            )
            .await?;
            Ok(updated)
        }
    }
}
