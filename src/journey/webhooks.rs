//! Webhooks (an enterprise's systems and group robots told what happens) and each person's notification
//! settings: checked here, written with an audit entry in the same transaction.

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde_json::json;

use super::people::Acting;
use crate::{
    db::{
        notifications::{DeliveryRow, NewWebhook, WebhookRow},
        people::AuditEntry,
        store::Store,
        users::UserRow,
    },
    domain::{
        notify::{
            check_webhook_url, kinds_column, literal_ip, target_allowed, Channel, NotificationKind, QuietHours,
            WebhookFormat,
        },
        people::{may_administer, AuditAction},
    },
    error::{AppError, AppResult, ErrorCode},
};

/// What a webhook is to be.
pub struct WebhookFields {
    pub name: String,
    pub url: String,
    pub kinds: Vec<NotificationKind>,
    pub secret: Option<String>,
}

/// The kinds a webhook may receive: what happens to proposals and techniques that the enterprise's people
/// may see. Co-author invitations (about drafts) and a webhook's own troubles are for one person only.
pub fn webhook_kinds() -> Vec<NotificationKind> {
    NotificationKind::ALL
        .iter()
        .copied()
        .filter(|k| !matches!(k, NotificationKind::CoauthorInvited | NotificationKind::WebhookPaused))
        .collect()
}

fn audit(by: &Acting, action: AuditAction, hook: &WebhookRow) -> AuditEntry {
    AuditEntry {
        actor_id: Some(by.user.id),
        action,
        target_kind: "Webhook",
        target_id: Some(hook.id),
        enterprise_id: hook.enterprise_id,
        detail: json!({ "name": hook.name, "format": hook.format, "kinds": hook.kinds }),
        address: by.address.clone(),
    }
}

fn check(f: &WebhookFields, format: WebhookFormat, targets: &str) -> AppResult<(String, String, String)> {
    let name = f.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::invalid("name", "give the webhook a name of 1–100 characters / 名称须为1到100个字"));
    }
    if !crate::domain::text::one_line_ok(name) {
        return Err(AppError::invalid("name", crate::domain::text::refusal("name")));
    }
    let url = check_webhook_url(&f.url).map_err(|m| AppError::invalid("url", m))?;
    if literal_ip(&url).is_some_and(|ip| !target_allowed(ip, targets))
        || url.host_str() == Some("localhost") && targets != "any"
    {
        return Err(AppError::invalid(
            "url",
            "webhooks may not point at this server or its host's local addresses / 推送地址不能指向本机或本地链路地址",
        ));
    }
    if f.kinds.is_empty() {
        return Err(AppError::invalid("kinds", "choose at least one kind / 请至少选择一种通知类型"));
    }
    let allowed = webhook_kinds();
    if let Some(k) = f.kinds.iter().find(|k| !allowed.contains(k)) {
        return Err(AppError::invalid(
            "kinds",
            format!("{k} is sent to one person, not to webhooks / {k} 只发给个人，不能推送"),
        ));
    }
    let secret = match (&f.secret, format) {
        (Some(s), _) if s.chars().count() > 200 => {
            return Err(AppError::invalid("secret", "the secret is longer than 200 characters / 密钥超过200个字符"))
        }
        (Some(s), WebhookFormat::Json) if s.len() < 16 => {
            return Err(AppError::invalid("secret", "use a secret of at least 16 characters / 密钥至少16个字符"))
        }
        (Some(s), _) => s.clone(),
        (None, WebhookFormat::Json) => {
            let mut bytes = [0u8; 24];
            rand::rng().fill_bytes(&mut bytes);
            format!("whsec_{}", hex::encode(bytes))
        }
        (None, _) => String::new(),
    };
    Ok((name.to_owned(), url.to_string(), secret))
}

/// Creates a webhook for an enterprise (by default the actor's; an admin may give none: every enterprise).
/// Returns it and its secret (shown once).
pub async fn create_webhook(
    tx: &mut dyn Store,
    by: &Acting,
    enterprise_id: Option<Option<i64>>,
    format: WebhookFormat,
    f: WebhookFields,
    targets: &str,
    now: DateTime<Utc>,
) -> AppResult<(WebhookRow, String)> {
    let enterprise = enterprise_id.unwrap_or(by.user.enterprise_id);
    if !may_administer(&by.user.person(), enterprise) {
        return Err(AppError::forbidden("manage webhooks of this enterprise"));
    }
    if let Some(e) = enterprise {
        tx.enterprise(e).await?.ok_or_else(|| AppError::invalid("enterpriseId", "no such enterprise / 企业不存在"))?;
    }
    let (name, url, secret) = check(&f, format, targets)?;
    let hook = tx
        .insert_webhook(&NewWebhook {
            enterprise_id: enterprise,
            name: &name,
            url: &url,
            kinds: &kinds_column(&f.kinds),
            format: format.as_str(),
            secret: &secret,
            created_by: by.user.id,
            now,
        })
        .await?;
    tx.audit(&audit(by, AuditAction::WebhookCreated, &hook), now).await?;
    Ok((hook, secret))
}

/// A webhook the actor may manage; others are not found.
pub async fn managed(tx: &mut dyn Store, user: &UserRow, id: i64) -> AppResult<WebhookRow> {
    match tx.webhook(id).await? {
        Some(h) if may_administer(&user.person(), h.enterprise_id) => Ok(h),
        _ => Err(AppError::new(ErrorCode::NotFound, "webhook not found / 未找到该推送地址")),
    }
}

/// Changes a webhook (fields not given stay), pauses or resumes it.
pub async fn update_webhook(
    tx: &mut dyn Store,
    by: &Acting,
    id: i64,
    name: Option<String>,
    url: Option<String>,
    kinds: Option<Vec<NotificationKind>>,
    secret: Option<String>,
    paused: Option<bool>,
    targets: &str,
    now: DateTime<Utc>,
) -> AppResult<WebhookRow> {
    let hook = managed(tx, &by.user, id).await?;
    let format = WebhookFormat::parse(&hook.format).unwrap_or(WebhookFormat::Json);
    let fields = WebhookFields {
        name: name.unwrap_or(hook.name.clone()),
        url: url.unwrap_or(hook.url.clone()),
        kinds: kinds.unwrap_or_else(|| crate::domain::notify::kinds_from_column(&hook.kinds)),
        secret: Some(secret.unwrap_or(hook.secret.clone())).filter(|s| !s.is_empty()),
    };
    let (name, url, secret) = check(&fields, format, targets)?;
    let mut changed = tx.update_webhook(id, &name, &url, &kinds_column(&fields.kinds), &secret).await?;
    match paused {
        Some(true) if changed.paused_at.is_none() => tx.set_webhook_paused(id, Some(now)).await?,
        Some(false) if changed.paused_at.is_some() => tx.set_webhook_paused(id, None).await?,
        _ => {}
    }
    changed = tx.webhook(id).await?.unwrap_or(changed);
    tx.audit(&audit(by, AuditAction::WebhookChanged, &changed), now).await?;
    Ok(changed)
}

pub async fn delete_webhook(tx: &mut dyn Store, by: &Acting, id: i64, now: DateTime<Utc>) -> AppResult<WebhookRow> {
    let hook = managed(tx, &by.user, id).await?;
    tx.delete_webhook(id, now).await?;
    tx.audit(&audit(by, AuditAction::WebhookDeleted, &hook), now).await?;
    Ok(hook)
}

/// Sends a delivery of a webhook again (one that was delivered, failed for good or is held).
pub async fn redeliver(
    tx: &mut dyn Store,
    user: &UserRow,
    delivery_id: i64,
    now: DateTime<Utc>,
) -> AppResult<DeliveryRow> {
    let not_found = || AppError::new(ErrorCode::NotFound, "delivery not found / 未找到该投递记录");
    let d = tx.delivery(delivery_id).await?.ok_or_else(not_found)?;
    let hook_id = d.webhook_id.ok_or_else(not_found)?;
    managed(tx, user, hook_id).await.map_err(|_| not_found())?;
    if !tx.redeliver(delivery_id, now).await? {
        return Err(AppError::new(
            ErrorCode::InvalidTransition,
            "this delivery is already waiting to be sent / 该投递正在等待发送",
        ));
    }
    tx.delivery(delivery_id).await?.ok_or_else(not_found)
}

/// Marks the person's notifications read: those named, or all. Returns how many were unread.
pub async fn mark_read(
    tx: &mut dyn Store,
    user: &UserRow,
    ids: Option<Vec<i64>>,
    now: DateTime<Utc>,
) -> AppResult<i64> {
    if let Some(ids) = &ids {
        if ids.is_empty() || ids.len() > 500 {
            return Err(AppError::invalid(
                "ids",
                "name 1–500 notifications, or use all / 请指定1到500条通知，或选择全部",
            ));
        }
    }
    tx.mark_read(user.id, ids.as_deref(), now).await
}

/// Sets the person's channel per kind and, when given, their quiet hours (None clears them).
pub async fn set_preferences(
    tx: &mut dyn Store,
    user: &UserRow,
    channels: &[(NotificationKind, Channel)],
    quiet: Option<Option<(i64, i64)>>,
) -> AppResult<()> {
    for (kind, channel) in channels {
        tx.set_preference(user.id, kind.as_str(), channel.as_str()).await?;
    }
    match quiet {
        None => {}
        Some(None) => tx.set_quiet_hours(user.id, None, None).await?,
        Some(Some((start, end))) => {
            let q = QuietHours::new(start, end).ok_or_else(|| {
                AppError::invalid(
                    "quietHours",
                    "quiet hours are two different times of day, 0–1439 minutes after midnight / 免打扰时段须为两个不同的时刻（0–1439分钟）",
                )
            })?;
            tx.set_quiet_hours(user.id, Some(q.start as i64), Some(q.end as i64)).await?;
        }
    }
    Ok(())
}
