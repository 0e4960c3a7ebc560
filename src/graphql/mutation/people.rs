//! People: personal access tokens (everyone, for themself), and administration — users, teams, studios —
//! by enterprise administrators (their enterprise) and administrators (`journey::people`).

use async_graphql::{Context, InputObject, MaybeUndefined, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;

use super::{act, payload, settle};
use crate::{
    db::store::Store,
    domain::organisation::Role,
    error::{AppResult, UserError},
    graphql::{
        guards::{services, viewer},
        ids,
        types::{people::AccessToken, Studio, Team, User},
    },
    journey::people::{self as people, Acting, NewPerson, NewStudio, PersonChanges},
};

/// Runs an act of administration: like `act`, with the client's address for the audit log, and every
/// instance forgets the credentials it remembered (this one at once; others on the notification).
async fn administer<R, F>(ctx: &Context<'_>, f: F) -> AppResult<R>
where
    R: Send + 'static,
    F: for<'t> FnOnce(&'t mut dyn Store, Acting, DateTime<Utc>) -> BoxFuture<'t, AppResult<R>> + Send + 'static,
{
    let address = viewer(ctx).address.clone();
    let r = act(ctx, move |tx, user, now| f(tx, Acting { user, address }, now)).await;
    if r.is_ok() {
        services(ctx)?.tokens.forget_all();
    }
    r
}

fn optional_id(id: &MaybeUndefined<ID>, kind: &str, field: &str) -> AppResult<Option<Option<i64>>> {
    Ok(match id {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(id) => Some(Some(ids::decode(id, kind, field)?)),
    })
}

fn optional_text(text: MaybeUndefined<String>) -> Option<Option<String>> {
    match text {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(t) => Some(Some(t)),
    }
}

/// Input of `createAccessToken`. `createAccessToken` 的输入。
#[derive(InputObject)]
pub struct CreateAccessTokenInput {
    /// What it is for, e.g. 能耗看板同步脚本. 用途，例如“能耗看板同步脚本”。
    pub name: String,
    /// Days it is valid (1–366; 90 when not given). 有效天数（1–366，默认90）。
    pub expires_in_days: Option<u32>,
    /// A read-only token cannot run mutations. 只读令牌不能执行修改操作。
    #[graphql(default = false)]
    pub read_only: bool,
}

/// What `createAccessToken` returns: the token, and its secret — shown this once only. `createAccessToken` 的结果：令牌及其密钥（仅此一次显示）。
#[derive(SimpleObject)]
pub struct CreateAccessTokenPayload {
    /// The token; null when it was refused. 令牌（被拒绝时为空）。
    pub access_token: Option<AccessToken>,
    /// The secret to send as `Authorization: Bearer …`; it is never shown again. 作为 Bearer 发送的密钥，不会再次显示。
    pub secret: Option<String>,
    /// Why the mutation was refused; empty on success. 被拒绝的原因；成功时为空。
    pub user_errors: Vec<UserError>,
}

/// Input of `revokeAccessToken`. `revokeAccessToken` 的输入。
#[derive(InputObject)]
pub struct RevokeAccessTokenInput {
    /// The token or session (yours, or of someone you administer). 令牌或会话（本人的，或你所管理人员的）。
    pub id: ID,
}

/// Input of `createUser`. `createUser` 的输入。
#[derive(InputObject)]
pub struct CreateUserInput {
    /// Their name. 姓名。
    pub name: String,
    /// Their role; an enterprise administrator grants up to ENTERPRISE_ADMIN. 角色；企业管理员最多授予 ENTERPRISE_ADMIN。
    pub role: Role,
    /// Their enterprise; by default yours. 所属企业，默认你的企业。
    pub enterprise_id: Option<ID>,
    /// Their team (of that enterprise). 所在班组（须属于该企业）。
    pub team_id: Option<ID>,
    /// Their studio (of that enterprise). 所在工作室（须属于该企业）。
    pub studio_id: Option<ID>,
    /// E-mail address, for notifications. 电子邮箱（用于通知）。
    pub email: Option<String>,
    /// Employee number (工号), unique in the enterprise. 工号，企业内唯一。
    pub employee_number: Option<String>,
    /// Their subject (`sub`) at the enterprise's OpenID provider, to sign in as them. 企业身份提供方中的账号标识（sub），用于登录。
    pub oidc_subject: Option<String>,
}

/// Input of `updateUser`: fields left out stay as they are; null clears. `updateUser` 的输入：未给出的字段不变，null 表示清空。
#[derive(InputObject)]
pub struct UpdateUserInput {
    /// Whom. 对象。
    pub id: ID,
    /// New name. 新姓名。
    pub name: Option<String>,
    /// New role. 新角色。
    pub role: Option<Role>,
    /// New team, or null for none. 新班组，null 表示无。
    pub team_id: MaybeUndefined<ID>,
    /// New studio, or null for none. 新工作室，null 表示无。
    pub studio_id: MaybeUndefined<ID>,
    /// New e-mail address, or null. 新电子邮箱，或 null。
    pub email: MaybeUndefined<String>,
    /// New employee number, or null. 新工号，或 null。
    pub employee_number: MaybeUndefined<String>,
    /// Link to (or, with null, unlink from) a subject of the OpenID provider. 关联（null 为解除）企业身份提供方的账号标识。
    pub oidc_subject: MaybeUndefined<String>,
}

/// Input of `deactivateUser`. `deactivateUser` 的输入。
#[derive(InputObject)]
pub struct DeactivateUserInput {
    /// Whom. 对象。
    pub id: ID,
}

/// Input of `reactivateUser`. `reactivateUser` 的输入。
#[derive(InputObject)]
pub struct ReactivateUserInput {
    /// Whom. 对象。
    pub id: ID,
}

/// Input of `createTeam`. `createTeam` 的输入。
#[derive(InputObject)]
pub struct CreateTeamInput {
    /// The enterprise; by default yours. 所属企业，默认你的企业。
    pub enterprise_id: Option<ID>,
    /// Its name, unique in the enterprise. 名称（企业内唯一）。
    pub name: String,
    /// A green team (绿色班组). 是否为绿色班组。
    #[graphql(default = false)]
    pub is_green: bool,
}

/// Input of `createStudio`. `createStudio` 的输入。
#[derive(InputObject)]
pub struct CreateStudioInput {
    /// The enterprise; by default yours. 所属企业，默认你的企业。
    pub enterprise_id: Option<ID>,
    /// Its name, unique in the enterprise. 名称（企业内唯一）。
    pub name: String,
    /// What it is good at, e.g. 余热回收, 电机节能. 专长，如“余热回收”“电机节能”。
    #[graphql(default)]
    pub specialties: Vec<String>,
    /// Its lead (made STUDIO_LEAD if their role was lower). 负责人（角色低于工作室负责人时自动升为 STUDIO_LEAD）。
    pub lead_id: Option<ID>,
    /// Its members. 成员。
    #[graphql(default)]
    pub member_ids: Vec<ID>,
}

payload!(
    /// What `revokeAccessToken` returns. `revokeAccessToken` 的结果。
    RevokeAccessTokenPayload { access_token: AccessToken }
);
payload!(
    /// What `createUser`, `updateUser`, `deactivateUser` and `reactivateUser` return. 人员管理操作的结果。
    UserPayload { user: User }
);
payload!(
    /// What `createTeam` returns. `createTeam` 的结果。
    CreateTeamPayload { team: Team }
);
payload!(
    /// What `createStudio` returns. `createStudio` 的结果。
    CreateStudioPayload { studio: Studio }
);

#[derive(Default)]
pub struct PeopleMutations;

#[Object]
impl PeopleMutations {
    /// Make a personal access token for scripts and API clients; its secret is shown this once.
    /// 为脚本和 API 客户端创建个人访问令牌；密钥仅显示这一次。
    async fn create_access_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to create. 本操作的输入。")] input: CreateAccessTokenInput,
    ) -> Result<CreateAccessTokenPayload> {
        let r = administer(ctx, move |tx, by, now| {
            Box::pin(async move {
                people::create_access_token(tx, &by, &input.name, input.expires_in_days, input.read_only, now).await
            })
        })
        .await;
        let (made, user_errors) = settle(r)?;
        let (access_token, secret) = match made {
            Some((row, secret)) => (Some(AccessToken(row)), Some(secret)),
            None => (None, None),
        };
        Ok(CreateAccessTokenPayload { access_token, secret, user_errors })
    }

    /// Revoke a token or end a session (yours, or of someone you administer): it stops working on every
    /// instance within a second, open subscriptions included. 撤销令牌或结束会话（本人的，或你所管理人员的）：一秒内在所有实例失效，包括已打开的订阅。
    async fn revoke_access_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which. 本操作的输入。")] input: RevokeAccessTokenInput,
    ) -> Result<RevokeAccessTokenPayload> {
        let r = match ids::decode(&input.id, "AccessToken", "id") {
            Ok(id) => {
                administer(ctx, move |tx, by, now| {
                    Box::pin(async move { people::revoke_credential(tx, &by, id, now).await })
                })
                .await
            }
            Err(e) => Err(e),
        };
        Ok(settle(r.map(AccessToken))?.into())
    }

    /// Add a person (enterprise administrators: to their enterprise). 新增人员（企业管理员：本企业）。
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Who. 本操作的输入。")] input: CreateUserInput,
    ) -> Result<UserPayload> {
        let decode =
            |id: &Option<ID>, kind: &str, field: &str| id.as_ref().map(|i| ids::decode(i, kind, field)).transpose();
        let new = (|| {
            AppResult::Ok(NewPerson {
                enterprise_id: decode(&input.enterprise_id, "Enterprise", "enterpriseId")?,
                team_id: decode(&input.team_id, "Team", "teamId")?,
                studio_id: decode(&input.studio_id, "Studio", "studioId")?,
                name: input.name,
                role: input.role,
                email: input.email,
                employee_number: input.employee_number,
                oidc_subject: input.oidc_subject,
            })
        })();
        let r = match new {
            Ok(new) => {
                administer(ctx, move |tx, by, now| {
                    Box::pin(async move { people::create_user(tx, &by, new, now).await })
                })
                .await
            }
            Err(e) => Err(e),
        };
        Ok(settle(r.map(User))?.into())
    }

    /// Change a person's role, team, studio, e-mail, employee number or provider link. 修改人员的角色、班组、工作室、邮箱、工号或企业账号关联。
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change. 本操作的输入。")] input: UpdateUserInput,
    ) -> Result<UserPayload> {
        let decoded = (|| {
            let id = ids::decode(&input.id, "User", "id")?;
            let changes = PersonChanges {
                name: input.name,
                role: input.role,
                team_id: optional_id(&input.team_id, "Team", "teamId")?,
                studio_id: optional_id(&input.studio_id, "Studio", "studioId")?,
                email: optional_text(input.email),
                employee_number: optional_text(input.employee_number),
                oidc_subject: optional_text(input.oidc_subject),
            };
            AppResult::Ok((id, changes))
        })();
        let r = match decoded {
            Ok((id, changes)) => {
                administer(ctx, move |tx, by, now| {
                    Box::pin(async move { people::update_user(tx, &by, id, changes, now).await })
                })
                .await
            }
            Err(e) => Err(e),
        };
        Ok(settle(r.map(User))?.into())
    }

    /// Deactivate someone who left: their sessions end and their tokens stop working on every instance
    /// within a second; their history stays. 停用离职人员：其会话与令牌一秒内在所有实例失效，历史保留。
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Whom. 本操作的输入。")] input: DeactivateUserInput,
    ) -> Result<UserPayload> {
        set_active(ctx, &input.id, false).await
    }

    /// Let a deactivated person sign in again. 重新启用已停用的人员。
    async fn reactivate_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Whom. 本操作的输入。")] input: ReactivateUserInput,
    ) -> Result<UserPayload> {
        set_active(ctx, &input.id, true).await
    }

    /// Add a team (班组), green or not. 新增班组（可标记为绿色班组）。
    async fn create_team(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to create. 本操作的输入。")] input: CreateTeamInput,
    ) -> Result<CreateTeamPayload> {
        let r = match input.enterprise_id.as_ref().map(|i| ids::decode(i, "Enterprise", "enterpriseId")).transpose() {
            Ok(enterprise) => {
                administer(ctx, move |tx, by, now| {
                    Box::pin(
                        async move { people::create_team(tx, &by, enterprise, &input.name, input.is_green, now).await },
                    )
                })
                .await
            }
            Err(e) => Err(e),
        };
        Ok(settle(r.map(Team))?.into())
    }

    /// Add an innovation studio (创新工作室) with its specialties, lead and members. 新增创新工作室（专长、负责人与成员）。
    async fn create_studio(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to create. 本操作的输入。")] input: CreateStudioInput,
    ) -> Result<CreateStudioPayload> {
        let decoded = (|| {
            AppResult::Ok(NewStudio {
                enterprise_id: input
                    .enterprise_id
                    .as_ref()
                    .map(|i| ids::decode(i, "Enterprise", "enterpriseId"))
                    .transpose()?,
                lead_id: input.lead_id.as_ref().map(|i| ids::decode(i, "User", "leadId")).transpose()?,
                member_ids: ids::decode_all(&input.member_ids, "User", "memberIds")?,
                name: input.name,
                specialties: input.specialties,
            })
        })();
        let r = match decoded {
            Ok(new) => {
                administer(ctx, move |tx, by, now| {
                    Box::pin(async move { people::create_studio(tx, &by, new, now).await })
                })
                .await
            }
            Err(e) => Err(e),
        };
        Ok(settle(r.map(Studio))?.into())
    }
}

async fn set_active(ctx: &Context<'_>, id: &ID, active: bool) -> Result<UserPayload> {
    let r = match ids::decode(id, "User", "id") {
        Ok(id) => {
            administer(ctx, move |tx, by, now| {
                Box::pin(async move { people::set_active(tx, &by, id, active, now).await })
            })
            .await
        }
        Err(e) => Err(e),
    };
    Ok(settle(r.map(User))?.into())
}
