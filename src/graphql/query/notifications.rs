//! `webhooks`: an enterprise's webhooks, for its administrators.

use async_graphql::{Context, Object, Result, ID};

use super::people::scope;
use crate::{
    domain::notify::DeliveryState,
    graphql::{
        connection::Conn,
        ids,
        types::notification::{Webhook, WebhookDelivery},
    },
    journey::webhooks::managed,
    read,
};

#[derive(Default)]
pub struct NotificationQuery;

#[Object]
impl NotificationQuery {
    /// Webhooks of an enterprise (enterprise admins: their own; admins: the one named, or all).
    /// 企业的推送地址（企业管理员：本企业；平台管理员：指定企业或全部）。
    async fn webhooks(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Whose (admins only; default: yours). 哪家企业（仅平台管理员可指定）。")]
        enterprise_id: Option<ID>,
    ) -> Result<Vec<Webhook>> {
        let enterprise = scope(ctx, enterprise_id.as_ref(), "webhooks")?;
        Ok(read!(ctx, |s| s.webhooks(enterprise).await).into_iter().map(Webhook).collect())
    }

    /// The deliveries of one webhook, newest first (the same as `Webhook.deliveries`). 某推送地址的投递记录（新的在前）。
    #[allow(clippy::too_many_arguments)]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which webhook. 推送地址。")] webhook_id: ID,
        #[graphql(desc = "Only deliveries in this state. 仅该状态的投递。")] state: Option<DeliveryState>,
        #[graphql(desc = "Page size forward (0–100). 向后翻页的每页数量（0–100）。")] first: Option<i32>,
        #[graphql(desc = "Deliveries after this cursor. 从该游标之后开始。")] after: Option<String>,
        #[graphql(desc = "Page size backward (0–100). 向前翻页的每页数量（0–100）。")] last: Option<i32>,
        #[graphql(desc = "Deliveries before this cursor. 到该游标之前为止。")] before: Option<String>,
    ) -> Result<Conn<WebhookDelivery>> {
        let user = crate::graphql::guards::viewer(ctx).require()?.clone();
        let id = ids::decode(&webhook_id, "Webhook", "webhookId")?;
        let hook = read!(ctx, |s| managed(s, &user, id).await);
        Webhook(hook).deliveries(ctx, state, first, after, last, before).await
    }
}
