//! Who may manage whom, and what people's fields may hold: the rules of administration and sign-in.

use chrono::{DateTime, Duration, Utc};

use super::organisation::{Person, Role};
use crate::error::{AppError, AppResult};

crate::string_enum! {
    /// What an entry of the audit log records. 审计日志记录的操作。
    pub enum AuditAction {
        /// Signed in with the enterprise's account. 用企业账号登录。
        SignedIn = "SIGNED_IN",
        /// Signed out. 退出登录。
        SignedOut = "SIGNED_OUT",
        /// Created at their first sign-in, from the provider's claims. 首次登录时按企业账号信息开通。
        UserProvisioned = "USER_PROVISIONED",
        /// Changed at a sign-in, from the provider's claims. 登录时按企业账号信息更新。
        UserUpdatedFromClaims = "USER_UPDATED_FROM_CLAIMS",
        /// A person added (by an administrator or a roster). 新增人员（管理员或名单导入）。
        UserCreated = "USER_CREATED",
        /// A person's role, team, studio or contact changed. 人员的角色、班组、工作室或联系方式变更。
        UserUpdated = "USER_UPDATED",
        /// A person deactivated. 停用人员。
        UserDeactivated = "USER_DEACTIVATED",
        /// A person reactivated. 重新启用人员。
        UserReactivated = "USER_REACTIVATED",
        /// A team created. 新增班组。
        TeamCreated = "TEAM_CREATED",
        /// A studio created. 新增工作室。
        StudioCreated = "STUDIO_CREATED",
        /// A personal access token made. 创建个人访问令牌。
        TokenCreated = "TOKEN_CREATED",
        /// A token revoked or a session ended by someone. 撤销令牌或结束会话。
        TokenRevoked = "TOKEN_REVOKED",
        /// A webhook created. 新增推送地址。
        WebhookCreated = "WEBHOOK_CREATED",
        /// A webhook changed, paused or resumed. 修改、暂停或恢复推送地址。
        WebhookChanged = "WEBHOOK_CHANGED",
        /// A webhook deleted. 删除推送地址。
        WebhookDeleted = "WEBHOOK_DELETED",
    }
}

/// Days a personal access token is valid when the request does not say.
pub const DEFAULT_TOKEN_DAYS: u32 = 90;
/// The longest a token may be valid.
pub const MAX_TOKEN_DAYS: u32 = 366;

/// Whether `actor` may manage people, teams and studios of `enterprise_id`: an administrator everywhere, an
/// enterprise administrator in their own enterprise.
pub fn may_administer(actor: &Person, enterprise_id: Option<i64>) -> bool {
    match actor.role {
        Role::Admin => true,
        Role::EnterpriseAdmin => actor.enterprise_id.is_some() && actor.enterprise_id == enterprise_id,
        _ => false,
    }
}

/// Whether `actor` may give someone `role`: an enterprise administrator up to their own role, an
/// administrator any.
pub fn may_grant(actor: &Person, role: Role) -> bool {
    match actor.role {
        Role::Admin => true,
        Role::EnterpriseAdmin => role <= Role::EnterpriseAdmin,
        _ => false,
    }
}

/// The role a provider's claim gives: none or an unknown one is `WORKER`; above `ENTERPRISE_ADMIN` only when
/// the deployment trusts the provider's roles (`GREENLINE_OIDC_TRUST_ROLES`), else `WORKER` too.
pub fn role_from_claim(claim: Option<&str>, trust_roles: bool) -> Role {
    match claim.and_then(Role::parse) {
        Some(r) if r <= Role::EnterpriseAdmin || trust_roles => r,
        _ => Role::Worker,
    }
}

/// Where to go after signing in: a path of this site only (`/…`, not `//host` or `/\host`), else `/`.
pub fn same_origin_path(next: Option<&str>) -> String {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/\\")
                && p.len() <= 512
                && !p.chars().any(|c| c.is_control() || c == '\\') =>
        {
            p.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// An e-mail address as stored: trimmed, one `@` with text on both sides, no spaces, at most 254 characters.
pub fn clean_email(email: Option<&str>) -> AppResult<Option<String>> {
    let Some(email) = email.map(str::trim).filter(|e| !e.is_empty()) else { return Ok(None) };
    let ok = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(email.split_once('@'), Some((local, domain)) if !local.is_empty() && domain.contains('.') && !domain.contains('@') && !domain.starts_with('.') && !domain.ends_with('.'));
    if ok {
        Ok(Some(email.to_owned()))
    } else {
        Err(AppError::invalid("email", "not an e-mail address / 电子邮箱格式不正确"))
    }
}

/// A person's name: 1–100 characters on one line.
pub fn clean_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || !super::text::one_line_ok(name) {
        return Err(AppError::invalid(
            "name",
            "name must be 1–100 characters on one line / 姓名须为1到100个字符，且为单行",
        ));
    }
    Ok(name.to_owned())
}

/// An employee number (工号): 1–64 letters, digits, `-` or `_`.
pub fn clean_employee_number(number: Option<&str>) -> AppResult<Option<String>> {
    let Some(n) = number.map(str::trim).filter(|n| !n.is_empty()) else { return Ok(None) };
    if n.len() <= 64 && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        Ok(Some(n.to_owned()))
    } else {
        Err(AppError::invalid(
            "employeeNumber",
            "an employee number is 1–64 letters, digits, - or _ / 工号须为1到64位字母、数字、-或_",
        ))
    }
}

/// When a token made at `now` for `days` (default [`DEFAULT_TOKEN_DAYS`]) expires.
pub fn token_expiry(days: Option<u32>, now: DateTime<Utc>) -> AppResult<Option<DateTime<Utc>>> {
    let days = days.unwrap_or(DEFAULT_TOKEN_DAYS);
    if !(1..=MAX_TOKEN_DAYS).contains(&days) {
        return Err(AppError::invalid(
            "expiresInDays",
            format!("a token is valid for 1–{MAX_TOKEN_DAYS} days / 令牌有效期须为1到{MAX_TOKEN_DAYS}天"),
        ));
    }
    Ok(Some(now + Duration::days(days as i64)))
}

/// A token's name: 1–80 characters on one line.
pub fn clean_token_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 || !super::text::one_line_ok(name) {
        return Err(AppError::invalid(
            "name",
            "a token's name is 1–80 characters on one line / 令牌名称须为1到80个字符",
        ));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(role: Role, enterprise_id: Option<i64>) -> Person {
        Person { id: 1, role, enterprise_id }
    }

    #[test]
    fn enterprise_admins_administer_their_enterprise_only() {
        let ea = person(Role::EnterpriseAdmin, Some(7));
        assert!(may_administer(&ea, Some(7)));
        assert!(!may_administer(&ea, Some(8)));
        assert!(!may_administer(&ea, None));
        assert!(may_administer(&person(Role::Admin, None), Some(8)));
        for role in [Role::Worker, Role::Reviewer, Role::StudioLead, Role::Association] {
            assert!(!may_administer(&person(role, Some(7)), Some(7)), "{role}");
        }
        // An enterprise admin without an enterprise administers nothing.
        assert!(!may_administer(&person(Role::EnterpriseAdmin, None), None));
    }

    #[test]
    fn enterprise_admins_grant_up_to_their_own_role() {
        let ea = person(Role::EnterpriseAdmin, Some(7));
        for role in [Role::Worker, Role::Reviewer, Role::StudioLead, Role::EnterpriseAdmin] {
            assert!(may_grant(&ea, role));
        }
        assert!(!may_grant(&ea, Role::Association));
        assert!(!may_grant(&ea, Role::Admin));
        assert!(may_grant(&person(Role::Admin, None), Role::Admin));
        assert!(!may_grant(&person(Role::StudioLead, Some(7)), Role::Worker));
    }

    #[test]
    fn claims_grant_enterprise_admin_at_most_unless_trusted() {
        assert_eq!(role_from_claim(None, false), Role::Worker);
        assert_eq!(role_from_claim(Some("nonsense"), false), Role::Worker);
        assert_eq!(role_from_claim(Some("studio_lead"), false), Role::StudioLead);
        assert_eq!(role_from_claim(Some("ENTERPRISE_ADMIN"), false), Role::EnterpriseAdmin);
        assert_eq!(role_from_claim(Some("ADMIN"), false), Role::Worker);
        assert_eq!(role_from_claim(Some("ASSOCIATION"), false), Role::Worker);
        assert_eq!(role_from_claim(Some("ADMIN"), true), Role::Admin);
    }

    #[test]
    fn next_paths_stay_on_this_site() {
        assert_eq!(same_origin_path(Some("/#/proposals")), "/#/proposals");
        assert_eq!(same_origin_path(Some("/a?b=c")), "/a?b=c");
        for bad in ["https://evil.example", "//evil.example/x", "/\\evil.example", "evil", "", "/a\r\nSet-Cookie: x"] {
            assert_eq!(same_origin_path(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(same_origin_path(None), "/");
    }

    #[test]
    fn fields_are_checked() {
        assert_eq!(clean_email(Some(" wang@plant.cn ")).unwrap().as_deref(), Some("wang@plant.cn"));
        assert_eq!(clean_email(Some("")).unwrap(), None);
        for bad in ["wang", "@plant.cn", "wang@plant", "wang@@plant.cn", "wang li@plant.cn", "wang@.cn"] {
            assert!(clean_email(Some(bad)).is_err(), "{bad}");
        }
        assert!(clean_employee_number(Some("GY-0042")).unwrap().is_some());
        assert!(clean_employee_number(Some("工号1")).is_err());
        assert!(clean_name("王建国").is_ok());
        assert!(clean_name(" ").is_err());
        assert!(clean_name("a\nb").is_err());
        let now = Utc::now();
        assert_eq!(token_expiry(None, now).unwrap(), Some(now + Duration::days(90)));
        assert!(token_expiry(Some(0), now).is_err());
        assert!(token_expiry(Some(367), now).is_err());
    }
}
