//! Personal access tokens, sessions and the audit log.

use async_graphql::{Context, Enum, Object, Result, ID};

use crate::{
    db::people::{AuditRow, CredentialRow, SESSION},
    domain::people::AuditAction,
    graphql::{guards::services, ids, types::scalars::Timestamp, types::User},
};

/// What a credential is. 凭据类型。
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum CredentialKind {
    /// A personal access token for scripts and API clients. 个人访问令牌（供脚本和 API 客户端使用）。
    Token,
    /// A browser signed in through the enterprise's account. 通过企业账号登录的浏览器会话。
    Session,
}

pub struct AccessToken(pub CredentialRow);

/// A personal access token or a signed-in browser; the secret itself is never shown again. 个人访问令牌或已登录的浏览器；密钥只在创建时显示一次。
#[Object]
impl AccessToken {
    /// Global, opaque id (revokeAccessToken takes it). 全局编号（撤销时使用）。
    async fn id(&self) -> ID {
        ids::encode("AccessToken", self.0.id)
    }
    /// Its name, e.g. the script that uses it. 名称，例如使用它的脚本。
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// A token or a browser session. 令牌或浏览器会话。
    async fn kind(&self) -> CredentialKind {
        if self.0.kind == SESSION {
            CredentialKind::Session
        } else {
            CredentialKind::Token
        }
    }
    /// When it was made. 创建时间。
    async fn created_at(&self) -> Timestamp {
        self.0.created_at.into()
    }
    /// When it stops working; null for tokens made before expiry existed. 失效时间；早期令牌为空（不过期）。
    async fn expires_at(&self) -> Option<Timestamp> {
        self.0.expires_at.map(Into::into)
    }
    /// When it was last used, to the minute. 最近使用时间（精确到分钟）。
    async fn last_used_at(&self) -> Option<Timestamp> {
        self.0.last_used_at.map(Into::into)
    }
    /// A read-only token cannot run mutations. 只读令牌不能执行修改操作。
    async fn read_only(&self) -> bool {
        self.0.read_only
    }
    /// When it was revoked; null while it works. 撤销时间；有效时为空。
    async fn revoked_at(&self) -> Option<Timestamp> {
        self.0.revoked_at.map(Into::into)
    }
    /// The address it was made from. 创建时的网络地址。
    async fn address(&self) -> Option<&str> {
        self.0.address.as_deref()
    }
}

pub struct AuditEntry(pub AuditRow);

/// One administrative act or sign-in: who, what, to whom, when, from where. Never changed. 一条管理操作或登录记录：谁、做了什么、对谁、何时、从何处。不可修改。
#[Object]
impl AuditEntry {
    /// Global, opaque id. 全局编号。
    async fn id(&self) -> ID {
        ids::encode("AuditEntry", self.0.id)
    }
    /// When. 时间。
    async fn at(&self) -> Timestamp {
        self.0.at.into()
    }
    /// Who did it; null for the provider's provisioning. 操作人；身份提供方自动开通时为空。
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.0.actor_id else { return Ok(None) };
        Ok(services(ctx)?.db.user(id).await?.map(User))
    }
    /// What. 操作。
    async fn action(&self) -> Option<AuditAction> {
        AuditAction::parse(&self.0.action)
    }
    /// The global id of what it was done to. 操作对象的全局编号。
    async fn target_id(&self) -> Option<ID> {
        let kind = match self.0.target_kind.as_str() {
            "" => return None,
            k => k,
        };
        self.0.target_id.map(|id| ids::encode(kind, id))
    }
    /// The person it was done to, when it was done to a person. 被操作的人员（对象为人员时）。
    async fn target_user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        match (self.0.target_kind.as_str(), self.0.target_id) {
            ("User", Some(id)) => Ok(services(ctx)?.db.user(id).await?.map(User)),
            _ => Ok(None),
        }
    }
    /// The kind of what it was done to (User, Team, Studio, AccessToken). 操作对象类型。
    async fn target_kind(&self) -> &str {
        &self.0.target_kind
    }
    /// The details as JSON, e.g. a role's change {"role": {"from": …, "to": …}}. 详情（JSON），如角色变更前后。
    async fn detail(&self) -> &str {
        &self.0.detail
    }
    /// The address it came from. 来源网络地址。
    async fn address(&self) -> Option<&str> {
        self.0.address.as_deref()
    }
}
