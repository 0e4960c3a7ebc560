//! The inbox (mark read), notification settings, and webhooks (`journey::webhooks`).

use async_graphql::{Context, InputObject, MaybeUndefined, Object, Result, SimpleObject, ID};

use super::{act, payload, settle};
use crate::{
    domain::notify::{Channel, NotificationKind, WebhookFormat},
    error::UserError,
    graphql::{
        guards::{services, viewer},
        ids,
        types::notification::{settings, NotificationSettings, Webhook, WebhookDelivery},
    },
    journey::{
        people::Acting,
        webhooks::{self, WebhookFields},
    },
};

/// Input of `markNotificationsRead`: some notifications, or all. `markNotificationsRead` 的输入：指定通知或全部。
#[derive(InputObject)]
pub struct MarkNotificationsReadInput {
    /// These notifications (yours). 这些通知（本人的）。
    pub ids: Option<Vec<ID>>,
    /// All your notifications. 全部通知。
    #[graphql(default = false)]
    pub all: bool,
}

/// What `markNotificationsRead` returns. `markNotificationsRead` 的结果。
#[derive(SimpleObject)]
pub struct MarkNotificationsReadPayload {
    /// How many were unread and are now read. 本次标记为已读的条数。
    pub marked: i64,
    /// Your unread notifications now. 现在的未读条数。
    pub unread_count: i64,
    /// Why the mutation was refused; empty on success. 被拒绝的原因；成功时为空。
    pub user_errors: Vec<UserError>,
}

/// One kind and how to send it. 一类通知及其接收方式。
#[derive(InputObject)]
pub struct NotificationPreferenceInput {
    /// The kind. 通知类型。
    pub kind: NotificationKind,
    /// EMAIL, DIGEST or OFF (the inbox always has it). EMAIL、DIGEST 或 OFF（站内信始终保留）。
    pub channel: Channel,
}

/// Quiet hours, minutes after midnight China time. 免打扰时段（北京时间，零点后的分钟数）。
#[derive(InputObject)]
pub struct QuietHoursInput {
    /// Start (0–1439). 开始（0–1439）。
    pub start: i32,
    /// End (0–1439), different from the start; before it spans midnight. 结束（0–1439，不同于开始；小于开始表示跨午夜）。
    pub end: i32,
}

/// Input of `setNotificationPreferences`. `setNotificationPreferences` 的输入。
#[derive(InputObject)]
pub struct SetNotificationPreferencesInput {
    /// Kinds to change (others stay). 要修改的类型（其余不变）。
    #[graphql(default)]
    pub preferences: Vec<NotificationPreferenceInput>,
    /// New quiet hours, or null for none; left out: unchanged. 新的免打扰时段，null 为取消，不提供则不变。
    pub quiet_hours: MaybeUndefined<QuietHoursInput>,
}

payload!(
    /// What `setNotificationPreferences` returns. `setNotificationPreferences` 的结果。
    NotificationSettingsPayload { settings: NotificationSettings }
);

/// Input of `createWebhook`. `createWebhook` 的输入。
#[derive(InputObject)]
pub struct CreateWebhookInput {
    /// Whose notifications: by default your enterprise's; an admin may give null for every enterprise's. 哪家企业的通知：默认本企业；平台管理员可设为 null（全部企业）。
    pub enterprise_id: MaybeUndefined<ID>,
    /// A name, e.g. 能源管理系统 or 二车间群. 名称，如“能源管理系统”“二车间群”。
    pub name: String,
    /// Where to POST: your system's URL, or the robot's webhook URL. 推送地址：自有系统地址，或机器人的 webhook 地址。
    pub url: String,
    /// What it receives. 接收的通知类型。
    pub kinds: Vec<NotificationKind>,
    /// JSON (signed), WECOM_ROBOT or DINGTALK_ROBOT. 推送格式。
    pub format: WebhookFormat,
    /// JSON: the signing secret (16+ characters; made for you when left out). DINGTALK_ROBOT: the robot's
    /// 加签 secret (SEC…). Shown once. JSON：签名密钥（至少16字符，不提供则自动生成）；钉钉：机器人加签密钥。仅显示一次。
    pub secret: Option<String>,
}

/// What `createWebhook` returns: the webhook and its secret, shown this once. `createWebhook` 的结果：推送地址及其密钥（仅此一次显示）。
#[derive(SimpleObject)]
pub struct CreateWebhookPayload {
    /// The webhook; null when it was refused. 推送地址（被拒绝时为空）。
    pub webhook: Option<Webhook>,
    /// The secret that signs its requests (JSON) or its URL (DingTalk). 签名密钥。
    pub secret: Option<String>,
    /// Why the mutation was refused; empty on success. 被拒绝的原因；成功时为空。
    pub user_errors: Vec<UserError>,
}

/// Input of `updateWebhook`: fields left out stay. `updateWebhook` 的输入：未给出的字段不变。
#[derive(InputObject)]
pub struct UpdateWebhookInput {
    /// Which. 对象。
    pub id: ID,
    /// New name. 新名称。
    pub name: Option<String>,
    /// New URL. 新地址。
    pub url: Option<String>,
    /// New kinds. 新的通知类型。
    pub kinds: Option<Vec<NotificationKind>>,
    /// New secret. 新密钥。
    pub secret: Option<String>,
    /// Pause (deliveries are held) or resume (held ones are sent). 暂停（投递暂存）或恢复（暂存的将发送）。
    pub paused: Option<bool>,
}

/// Input of `deleteWebhook`. `deleteWebhook` 的输入。
#[derive(InputObject)]
pub struct DeleteWebhookInput {
    /// Which. 对象。
    pub id: ID,
}

payload!(
    /// What `updateWebhook` and `deleteWebhook` return. 修改或删除推送地址的结果。
    WebhookPayload { webhook: Webhook }
);

/// Input of `redeliverWebhook`. `redeliverWebhook` 的输入。
#[derive(InputObject)]
pub struct RedeliverWebhookInput {
    /// The delivery to send again. 要重新投递的记录。
    pub delivery_id: ID,
}

payload!(
    /// What `redeliverWebhook` returns. `redeliverWebhook` 的结果。
    RedeliverWebhookPayload { delivery: WebhookDelivery }
);

#[derive(Default)]
pub struct NotificationMutations;

#[Object]
impl NotificationMutations {
    /// Mark notifications read: some, or all. 将通知标记为已读（指定或全部）。
    async fn mark_notifications_read(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which. 本操作的输入。")] input: MarkNotificationsReadInput,
    ) -> Result<MarkNotificationsReadPayload> {
        let ids = match (&input.ids, input.all) {
            (Some(_), true) | (None, false) => {
                Err(crate::error::AppError::invalid("ids", "give either ids or all: true / 请指定通知编号，或选择全部"))
            }
            (Some(list), false) => ids::decode_all(list, "Notification", "ids").map(Some),
            (None, true) => Ok(None),
        };
        let r = match ids {
            Ok(ids) => {
                act(ctx, move |tx, user, now| {
                    Box::pin(async move {
                        let marked = webhooks::mark_read(tx, &user, ids, now).await?;
                        Ok((marked, tx.unread_count(user.id).await?))
                    })
                })
                .await
            }
            Err(e) => Err(e),
        };
        let (done, user_errors) = settle(r)?;
        let (marked, unread_count) = done.unwrap_or((0, 0));
        Ok(MarkNotificationsReadPayload { marked, unread_count, user_errors })
    }

    /// Choose, per kind, e-mail, a daily digest or the inbox only, and quiet hours. 设置各类通知的接收方式与免打扰时段。
    async fn set_notification_preferences(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change. 本操作的输入。")] input: SetNotificationPreferencesInput,
    ) -> Result<NotificationSettingsPayload> {
        let channels: Vec<(NotificationKind, Channel)> =
            input.preferences.iter().map(|p| (p.kind, p.channel)).collect();
        let quiet = match input.quiet_hours {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(q) => Some(Some((q.start as i64, q.end as i64))),
        };
        let r = act(ctx, move |tx, user, _| {
            Box::pin(async move {
                webhooks::set_preferences(tx, &user, &channels, quiet).await?;
                Ok((user.id, user.email.is_some()))
            })
        })
        .await;
        let (done, user_errors) = settle(r)?;
        let settings = match done {
            Some((id, has_email)) => Some(settings(ctx, id, has_email).await?),
            None => None,
        };
        Ok(NotificationSettingsPayload { settings, user_errors })
    }

    /// Push an enterprise's notifications to its own system or a WeCom / DingTalk group robot (enterprise
    /// admins: their enterprise; admins: any, or all). 将企业通知推送到自有系统或企业微信/钉钉群机器人（企业管理员：本企业；平台管理员：任意或全部）。
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to create. 本操作的输入。")] input: CreateWebhookInput,
    ) -> Result<CreateWebhookPayload> {
        let enterprise = match &input.enterprise_id {
            MaybeUndefined::Undefined => Ok(None),
            MaybeUndefined::Null => Ok(Some(None)),
            MaybeUndefined::Value(id) => ids::decode(id, "Enterprise", "enterpriseId").map(|e| Some(Some(e))),
        };
        let r = match enterprise {
            Ok(enterprise) => {
                let format = input.format;
                let chosen = input.secret.is_some();
                let fields =
                    WebhookFields { name: input.name, url: input.url, kinds: input.kinds, secret: input.secret };
                let address = viewer(ctx).address.clone();
                let targets = services(ctx)?.config.webhook_targets.clone();
                act(ctx, move |tx, user, now| {
                    Box::pin(async move {
                        let by = Acting { user, address };
                        let (hook, secret) =
                            webhooks::create_webhook(tx, &by, enterprise, format, fields, &targets, now).await?;
                        // A secret the admin chose is theirs already; one made here is shown this once.
                        Ok((hook, if chosen { String::new() } else { secret }))
                    })
                })
                .await
            }
            Err(e) => Err(e),
        };
        let (made, user_errors) = settle(r)?;
        let (webhook, secret) = match made {
            Some((row, secret)) => (Some(Webhook(row)), Some(secret).filter(|s| !s.is_empty())),
            None => (None, None),
        };
        Ok(CreateWebhookPayload { webhook, secret, user_errors })
    }

    /// Change, pause or resume a webhook. 修改、暂停或恢复推送地址。
    async fn update_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change. 本操作的输入。")] input: UpdateWebhookInput,
    ) -> Result<WebhookPayload> {
        let address = viewer(ctx).address.clone();
        let targets = services(ctx)?.config.webhook_targets.clone();
        let r = match ids::decode(&input.id, "Webhook", "id") {
            Ok(id) => {
                act(ctx, move |tx, user, now| {
                    Box::pin(async move {
                        let by = Acting { user, address };
                        webhooks::update_webhook(
                            tx,
                            &by,
                            id,
                            input.name,
                            input.url,
                            input.kinds,
                            input.secret,
                            input.paused,
                            &targets,
                            now,
                        )
                        .await
                    })
                })
                .await
            }
            Err(e) => Err(e),
        };
        Ok(settle(r.map(Webhook))?.into())
    }

    /// Delete a webhook; what it had not yet received is dropped. 删除推送地址；尚未送达的投递随之取消。
    async fn delete_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which. 本操作的输入。")] input: DeleteWebhookInput,
    ) -> Result<WebhookPayload> {
        let address = viewer(ctx).address.clone();
        let r = match ids::decode(&input.id, "Webhook", "id") {
            Ok(id) => {
                act(ctx, move |tx, user, now| {
                    Box::pin(async move { webhooks::delete_webhook(tx, &Acting { user, address }, id, now).await })
                })
                .await
            }
            Err(e) => Err(e),
        };
        Ok(settle(r.map(Webhook))?.into())
    }

    /// Send a webhook delivery again (with the same delivery id). 重新投递（投递编号不变）。
    async fn redeliver_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which. 本操作的输入。")] input: RedeliverWebhookInput,
    ) -> Result<RedeliverWebhookPayload> {
        let r = match ids::decode(&input.delivery_id, "WebhookDelivery", "deliveryId") {
            Ok(id) => {
                act(ctx, move |tx, user, now| Box::pin(async move { webhooks::redeliver(tx, &user, id, now).await }))
                    .await
            }
            Err(e) => Err(e),
        };
        Ok(settle(r.map(WebhookDelivery))?.into())
    }
}
