//! Who is asking: the viewer of a request, and the checks resolvers make before they act.

use async_graphql::Context;

use crate::{
    db::users::UserRow,
    domain::organisation::Role,
    error::{AppError, AppResult, ErrorCode},
    state::Services,
};

/// The authenticated user of this request, or anonymous.
#[derive(Clone, Debug, Default)]
pub struct Viewer {
    pub user: Option<UserRow>,
    /// The token or session the request came with (none for anonymous requests and for the provider's
    /// access tokens).
    pub credential: Option<crate::db::people::CredentialRow>,
    /// The client's address, for the audit log.
    pub address: Option<String>,
}

impl Viewer {
    pub fn signed(signed: crate::db::users::Signed) -> Viewer {
        Viewer { user: Some(signed.user), credential: Some(signed.credential), address: None }
    }

    /// The signed-in user if their credential may change things (a read-only token may not), else
    /// `FORBIDDEN`.
    pub fn require_writer(&self) -> AppResult<&UserRow> {
        let user = self.require()?;
        if self.credential.as_ref().is_some_and(|c| c.read_only) {
            return Err(AppError::new(
                ErrorCode::Forbidden,
                "this token is read-only: it cannot run mutations / 此令牌为只读，不能执行修改操作",
            ));
        }
        Ok(user)
    }

    pub fn role(&self) -> Option<Role> {
        self.user.as_ref().map(UserRow::role)
    }

    /// The viewer as the store's list filter needs them (the SQL twin of `can_view`).
    pub fn list_scope(&self) -> crate::db::store::ListScope {
        match &self.user {
            None => crate::db::store::ListScope::default(),
            Some(u) => crate::db::store::ListScope {
                viewer_id: Some(u.id),
                enterprise_id: u.enterprise_id,
                is_admin: u.role() == Role::Admin,
                is_association: u.role() == Role::Association,
            },
        }
    }

    /// The signed-in user, or `UNAUTHENTICATED`.
    pub fn require(&self) -> AppResult<&UserRow> {
        self.user
            .as_ref()
            .ok_or_else(|| AppError::new(ErrorCode::Unauthenticated, "sign in with a bearer token first / 请先登录"))
    }

    /// The signed-in user if their role is one of `roles` (ADMIN always passes), else `FORBIDDEN`.
    pub fn require_role(&self, roles: &[Role], action: &str) -> AppResult<&UserRow> {
        let user = self.require()?;
        let role = user.role();
        if role == Role::Admin || roles.contains(&role) {
            Ok(user)
        } else {
            Err(AppError::forbidden(action))
        }
    }
}

pub fn viewer<'a>(ctx: &Context<'a>) -> &'a Viewer {
    static ANONYMOUS: Viewer = Viewer { user: None, credential: None, address: None };
    ctx.data_opt::<Viewer>().unwrap_or(&ANONYMOUS)
}

pub fn services<'a>(ctx: &Context<'a>) -> AppResult<&'a Services> {
    ctx.data::<Services>()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("services missing from schema data: {}", e.message)))
}

/// Runs a read on the store: `read!(ctx, |s| s.proposal(id).await)`. The body may capture only owned values.
#[macro_export]
macro_rules! read {
    ($ctx:expr, |$s:ident| $body:expr) => {
        $crate::graphql::guards::services($ctx)?.db.read(move |$s| Box::pin(async move { $body })).await?
    };
}
