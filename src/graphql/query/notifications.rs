//! `webhooks`: an enterprise's webhooks, for its administrators.

use async_graphql::{Context, Object, Result, ID};

use super::people::scope;
use crate::{graphql::types::notification::Webhook, read};

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
}
