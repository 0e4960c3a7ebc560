//! `viewer`: who the bearer token belongs to.

use async_graphql::{Context, Object};

use crate::graphql::{guards::viewer, types::User};

#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// The signed-in user; null for anonymous requests. 当前登录用户；匿名请求为空。
    async fn viewer(&self, ctx: &Context<'_>) -> Option<User> {
        viewer(ctx).user.clone().map(User)
    }
}
