//! `people` and `auditLog`: what enterprise administrators (their enterprise) and administrators (all) see
//! of the people they manage.

use async_graphql::{Context, InputObject, Object, Result, ID};

use crate::{
    db::people::{AuditFilter, PeopleFilter},
    domain::{
        organisation::Role,
        people::{may_administer, AuditAction},
    },
    error::{AppError, AppResult},
    graphql::{
        connection::{Conn, Keyset, PageArgs},
        guards::viewer,
        ids,
        types::{people::AuditEntry, scalars::Timestamp, User},
    },
    read,
};

/// The enterprise an administrator looks at: the one named (an administrator may name any, or none for
/// all), else their own.
/// The enterprise an administrator looks at: the one named, or their own (an admin: none means all).
pub(super) fn scope(ctx: &Context<'_>, enterprise_id: Option<&ID>, what: &str) -> AppResult<Option<i64>> {
    let user = viewer(ctx).require_role(&[Role::EnterpriseAdmin], &format!("see the {what} of an enterprise"))?;
    let named = enterprise_id.map(|id| ids::decode(id, "Enterprise", "enterpriseId")).transpose()?;
    let enterprise = match (user.role(), named) {
        (Role::Admin, named) => named,
        (_, named) => named.or(user.enterprise_id),
    };
    if user.role() != Role::Admin && !may_administer(&user.person(), enterprise) {
        return Err(AppError::forbidden(&format!("see the {what} of another enterprise")));
    }
    Ok(enterprise)
}

/// Which entries of the audit log. 审计日志的筛选条件。
#[derive(InputObject, Default)]
pub struct AuditLogFilter {
    /// One enterprise's (an enterprise administrator sees only their own). 某企业的记录（企业管理员只能看本企业）。
    pub enterprise_id: Option<ID>,
    /// What this person did or what was done to them. 此人所做或对此人所做的操作。
    pub person_id: Option<ID>,
    /// One kind of act. 某类操作。
    pub action: Option<AuditAction>,
    /// From this time on. 自此时间起。
    pub since: Option<Timestamp>,
}

#[derive(Default)]
pub struct PeopleQuery;

#[Object]
impl PeopleQuery {
    /// The people of an enterprise, newest first (enterprise administrators: their own; administrators:
    /// any, or all). 企业人员名单，新加入的在前（企业管理员看本企业；平台管理员可看任意或全部）。
    #[allow(clippy::too_many_arguments)]
    async fn people(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The enterprise; by default your own. 企业；默认本企业。")] enterprise_id: Option<ID>,
        #[graphql(desc = "Also deactivated people. 包括已停用人员。", default = false)] include_deactivated: bool,
        #[graphql(desc = "A part of the name, e-mail or employee number. 姓名、邮箱或工号的一部分。")] search: Option<
            String,
        >,
        #[graphql(desc = "Page size forward (0–100). 向后翻页的每页数量（0–100）。")] first: Option<i32>,
        #[graphql(desc = "People after this cursor. 从该游标之后开始。")] after: Option<String>,
        #[graphql(desc = "Page size backward (0–100). 向前翻页的每页数量（0–100）。")] last: Option<i32>,
        #[graphql(desc = "People before this cursor. 到该游标之前为止。")] before: Option<String>,
    ) -> Result<Conn<User>> {
        let enterprise_id = scope(ctx, enterprise_id.as_ref(), "people")?;
        if search.as_ref().is_some_and(|s| s.chars().count() > 100) {
            return Err(AppError::invalid("search", "at most 100 characters / 最多100个字符").into());
        }
        let page = Keyset::of("people", &PageArgs::new(first, after, last, before))?;
        let filter = PeopleFilter { enterprise_id, include_deactivated, text: search.filter(|s| !s.trim().is_empty()) };
        let rows_page = page.rows();
        let (rows, total) = read!(ctx, |s| s.people_page(&filter, &rows_page).await);
        Ok(page.page("people", rows.into_iter().map(|r| (r.id, User(r))).collect(), total))
    }

    /// Administrative acts and sign-ins, newest first (enterprise administrators: their enterprise;
    /// administrators: all). Never editable. 管理操作与登录记录，新的在前（企业管理员看本企业；平台管理员看全部），不可修改。
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which entries. 筛选条件。")] filter: Option<AuditLogFilter>,
        #[graphql(desc = "Page size forward (0–100). 向后翻页的每页数量（0–100）。")] first: Option<i32>,
        #[graphql(desc = "Entries after this cursor. 从该游标之后开始。")] after: Option<String>,
        #[graphql(desc = "Page size backward (0–100). 向前翻页的每页数量（0–100）。")] last: Option<i32>,
        #[graphql(desc = "Entries before this cursor. 到该游标之前为止。")] before: Option<String>,
    ) -> Result<Conn<AuditEntry>> {
        let filter = filter.unwrap_or_default();
        let enterprise_id = scope(ctx, filter.enterprise_id.as_ref(), "audit log")?;
        let actor_id = filter.person_id.as_ref().map(|id| ids::decode(id, "User", "personId")).transpose()?;
        let page = Keyset::of("auditLog", &PageArgs::new(first, after, last, before))?;
        let f = AuditFilter {
            enterprise_id,
            actor_id,
            action: filter.action.map(|a| a.as_str().to_owned()),
            target: None,
            since: filter.since.map(|t| t.0),
        };
        let rows_page = page.rows();
        let (rows, total) = read!(ctx, |s| s.audit_page(&f, &rows_page).await);
        Ok(page.page("auditLog", rows.into_iter().map(|r| (r.id, AuditEntry(r))).collect(), total))
    }
}
