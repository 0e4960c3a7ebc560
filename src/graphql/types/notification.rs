//! Notifications in a person's inbox, their settings, and webhooks with their deliveries.

use async_graphql::{Context, Object, Result, SimpleObject, ID};

use crate::{
    db::notifications::{DeliveryRow, NotificationRow, WebhookRow},
    domain::notify::{kinds_from_column, Channel, DeliveryChannel, DeliveryState, NotificationKind, WebhookFormat},
    graphql::{
        connection::{Conn, Keyset, PageArgs},
        ids,
        types::{scalars::Timestamp, Proposal, Technique},
    },
    read,
};

pub struct Notification(pub NotificationRow);

/// One message in a person's inbox. 收件箱中的一条通知。
#[Object]
impl Notification {
    /// Global, opaque id (markNotificationsRead takes it). 全局编号（标记已读时使用）。
    async fn id(&self) -> ID {
        ids::encode("Notification", self.0.id)
    }
    /// What it is about. 通知类型。
    async fn kind(&self) -> Option<NotificationKind> {
        NotificationKind::parse(&self.0.kind)
    }
    /// Its subject line (Chinese). 标题。
    async fn subject(&self) -> &str {
        &self.0.subject
    }
    /// What happened and what to do next (Chinese). 内容：发生了什么、接下来做什么。
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// The proposal it is about, as the viewer may see it now (blind review applies); null when none or
    /// no longer visible. 相关提案（按当前可见性与盲评规则）；无或不可见时为空。
    async fn proposal(&self, ctx: &Context<'_>) -> Result<Option<Proposal>> {
        match self.0.proposal_id {
            Some(id) => Ok(Proposal::by_id(ctx, id).await?),
            None => Ok(None),
        }
    }
    /// The catalogue technique it is about. 相关的目录技术。
    async fn technique(&self, ctx: &Context<'_>) -> Result<Option<Technique>> {
        match self.0.technique_id {
            Some(id) => Ok(read!(ctx, |s| s.technique(id).await).map(Technique)),
            None => Ok(None),
        }
    }
    /// When it was raised. 产生时间。
    async fn created_at(&self) -> Timestamp {
        self.0.created_at.into()
    }
    /// When it was read; null while unread. 阅读时间；未读时为空。
    async fn read_at(&self) -> Option<Timestamp> {
        self.0.read_at.map(Into::into)
    }
}

/// The inbox of one person, newest first.
pub async fn inbox(ctx: &Context<'_>, user_id: i64, unread_only: bool, args: &PageArgs) -> Result<Conn<Notification>> {
    let page = Keyset::of("notifications", args)?;
    let rows_page = page.rows();
    let (rows, total) = read!(ctx, |s| s.notifications_page(user_id, unread_only, &rows_page).await);
    Ok(page.page("notifications", rows.into_iter().map(|r| (r.id, Notification(r))).collect(), total))
}

/// How a person wants one kind of notification. 某类通知的接收方式。
#[derive(SimpleObject)]
pub struct NotificationPreference {
    /// The kind. 通知类型。
    pub kind: NotificationKind,
    /// Besides the inbox: e-mail at once (the default), a daily digest, or nothing. 站内信之外：立即邮件（默认）、每日汇总或不发。
    pub channel: Channel,
}

/// Quiet hours, China time: e-mail waits until they end. 免打扰时段（北京时间）：期间的邮件在结束后发送。
#[derive(SimpleObject)]
pub struct QuietHoursValue {
    /// Start, minutes after midnight (e.g. 1320 = 22:00). 开始时刻（零点后的分钟数，如1320即22:00）。
    pub start: i32,
    /// End, minutes after midnight (e.g. 420 = 07:00). 结束时刻（零点后的分钟数，如420即07:00）。
    pub end: i32,
}

/// A person's notification settings. 个人通知设置。
#[derive(SimpleObject)]
pub struct NotificationSettings {
    /// Every kind, with its channel. 每类通知及其接收方式。
    pub preferences: Vec<NotificationPreference>,
    /// Quiet hours; null when none. 免打扰时段；未设置时为空。
    pub quiet_hours: Option<QuietHoursValue>,
    /// Whether this deployment sends e-mail (GREENLINE_SMTP_URL). 本系统是否已配置邮件发送。
    pub email_enabled: bool,
    /// Whether the person has an e-mail address to send to. 本人是否有可用的邮箱地址。
    pub has_email: bool,
}

pub async fn settings(ctx: &Context<'_>, user_id: i64, has_email: bool) -> Result<NotificationSettings> {
    let (prefs, (start, end)) =
        read!(ctx, |s| Ok::<_, crate::error::AppError>((s.preferences(user_id).await?, s.quiet_hours(user_id).await?)));
    let preferences = NotificationKind::ALL
        .iter()
        .map(|k| NotificationPreference {
            kind: *k,
            channel: prefs
                .iter()
                .find(|(kind, _)| kind == k.as_str())
                .and_then(|(_, c)| Channel::parse(c))
                .unwrap_or(Channel::Email),
        })
        .collect();
    let email_enabled = crate::graphql::guards::services(ctx)?.config.smtp_url.is_some();
    Ok(NotificationSettings {
        preferences,
        quiet_hours: start.zip(end).map(|(s, e)| QuietHoursValue { start: s as i32, end: e as i32 }),
        email_enabled,
        has_email,
    })
}

pub struct Webhook(pub WebhookRow);

/// Where an enterprise's notifications are pushed: its own system (signed JSON) or a WeCom / DingTalk
/// group robot. 企业通知的推送地址：自有系统（签名 JSON）或企业微信/钉钉群机器人。
#[Object]
impl Webhook {
    /// Global, opaque id. 全局编号。
    async fn id(&self) -> ID {
        ids::encode("Webhook", self.0.id)
    }
    /// Its name, e.g. 能源管理系统 or 二车间群. 名称，如“能源管理系统”“二车间群”。
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The URL with its query hidden (a robot's key lives there). 地址（查询参数已隐藏：其中含机器人密钥）。
    async fn url(&self) -> String {
        masked_url(&self.0.url)
    }
    /// The shape of its requests. 推送格式。
    async fn format(&self) -> Option<WebhookFormat> {
        WebhookFormat::parse(&self.0.format)
    }
    /// What it receives. 接收的通知类型。
    async fn kinds(&self) -> Vec<NotificationKind> {
        kinds_from_column(&self.0.kinds)
    }
    /// The enterprise whose notifications it receives; null: every enterprise's. 所属企业；为空表示全部企业。
    async fn enterprise_id(&self) -> Option<ID> {
        self.0.enterprise_id.map(|e| ids::encode("Enterprise", e))
    }
    /// When it was made. 创建时间。
    async fn created_at(&self) -> Timestamp {
        self.0.created_at.into()
    }
    /// Since when its deliveries fail; null while they succeed. 开始连续失败的时间；正常时为空。
    async fn failing_since(&self) -> Option<Timestamp> {
        self.0.failing_since.map(Into::into)
    }
    /// When it was paused (by hand, or after failing for a day); null while active. 暂停时间（手动或连续失败一天）；正常时为空。
    async fn paused_at(&self) -> Option<Timestamp> {
        self.0.paused_at.map(Into::into)
    }
    /// Its deliveries, newest first. 投递记录（新的在前）。
    pub async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only deliveries in this state. 仅该状态的投递。")] state: Option<DeliveryState>,
        #[graphql(desc = "Page size forward (0–100). 向后翻页的每页数量（0–100）。")] first: Option<i32>,
        #[graphql(desc = "Deliveries after this cursor. 从该游标之后开始。")] after: Option<String>,
        #[graphql(desc = "Page size backward (0–100). 向前翻页的每页数量（0–100）。")] last: Option<i32>,
        #[graphql(desc = "Deliveries before this cursor. 到该游标之前为止。")] before: Option<String>,
    ) -> Result<Conn<WebhookDelivery>> {
        let list = format!("webhookDeliveries.{}", self.0.id);
        let page = Keyset::of(&list, &PageArgs::new(first, after, last, before))?;
        let (id, rows_page, state) = (self.0.id, page.rows(), state.map(|s| s.as_str()));
        let (rows, total) = read!(ctx, |s| s.deliveries_page(id, state, &rows_page).await);
        Ok(page.page(&list, rows.into_iter().map(|r| (r.id, WebhookDelivery(r))).collect(), total))
    }
}

/// A URL with its query and fragment replaced by `…`.
fn masked_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let hidden = u.query().is_some();
            u.set_query(None);
            u.set_fragment(None);
            if hidden {
                format!("{u}?…")
            } else {
                u.to_string()
            }
        }
        Err(_) => "…".to_owned(),
    }
}

pub struct WebhookDelivery(pub DeliveryRow);

/// One message to a webhook and what became of it. 一次推送及其结果。
#[Object]
impl WebhookDelivery {
    /// Global, opaque id (redeliverWebhook takes it). 全局编号（重新投递时使用）。
    async fn id(&self) -> ID {
        ids::encode("WebhookDelivery", self.0.id)
    }
    /// The delivery id the receiver sees (`X-Greenline-Delivery`, the envelope's `id`): the same on every
    /// attempt, so receivers can drop repeats. 接收方看到的投递编号（每次重试相同，可据此去重）。
    async fn delivery_id(&self) -> String {
        self.0.id.to_string()
    }
    /// What it tells. 通知类型。
    async fn kind(&self) -> Option<NotificationKind> {
        NotificationKind::parse(&self.0.kind)
    }
    /// How it travels. 投递方式。
    async fn channel(&self) -> Option<DeliveryChannel> {
        DeliveryChannel::parse(&self.0.channel)
    }
    /// Where it stands. 状态。
    async fn state(&self) -> Option<DeliveryState> {
        DeliveryState::parse(&self.0.state)
    }
    /// Attempts so far. 已尝试次数。
    async fn attempts(&self) -> i64 {
        self.0.attempts
    }
    /// The HTTP status of the last attempt. 最近一次尝试的 HTTP 状态码。
    async fn last_status(&self) -> Option<i64> {
        self.0.last_status
    }
    /// Why the last attempt failed. 最近一次失败的原因。
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// When it was made (or redelivered). 创建（或重新投递）时间。
    async fn created_at(&self) -> Timestamp {
        self.0.created_at.into()
    }
    /// When the next attempt is due (while pending). 下次尝试时间（等待中时）。
    async fn next_attempt_at(&self) -> Option<Timestamp> {
        (self.0.state == DeliveryState::Pending.as_str()).then(|| self.0.next_attempt_at.into())
    }
    /// When it was received. 送达时间。
    async fn delivered_at(&self) -> Option<Timestamp> {
        self.0.delivered_at.map(Into::into)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_robot_key_is_never_shown() {
        assert_eq!(
            super::masked_url("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=secret-key"),
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?…"
        );
        assert_eq!(
            super::masked_url("https://erp.example.com/hooks/greenline"),
            "https://erp.example.com/hooks/greenline"
        );
    }
}
