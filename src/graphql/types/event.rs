//! `ProposalEvent`: one change of state in a proposal's history.

use crate::graphql::types::scalars::Timestamp;
use async_graphql::{Context, Object, Result, ID};

use super::{organisation::User, proposal::Proposal};
use crate::{
    db::rows::EventRow,
    domain::lifecycle::{EventKind, Status},
    graphql::ids,
    read,
};

pub struct ProposalEvent {
    pub row: EventRow,
    /// Blind review: the actor is an author this viewer may not know.
    pub hide_actor: bool,
}

/// One change in a proposal's history. 提案历史中的一次变化。
#[Object]
impl ProposalEvent {
    /// A global id of this event, stable and unique (a normalized cache keys events by it).
    /// 事件的全局唯一编号（客户端缓存以此为键）。
    async fn id(&self) -> ID {
        ids::encode("ProposalEvent", self.row.id)
    }
    /// Position in the global, ordered event stream (what a subscription resumes `after`).
    /// 在全局事件流中的序号（订阅以此续传）。
    async fn sequence(&self) -> i64 {
        self.row.id
    }
    /// The proposal it happened to. 所属提案的编号。
    async fn proposal_id(&self) -> ID {
        ids::encode("Proposal", self.row.proposal_id)
    }
    /// The proposal as the viewer may see it now (null when they no longer may), so that a client can
    /// update its cached copy from the event. 提案当前对查看者可见的样子（已不可见时为空）。
    async fn proposal(&self, ctx: &Context<'_>) -> Result<Option<Proposal>> {
        Ok(Proposal::by_id(ctx, self.row.proposal_id).await?)
    }
    /// What happened. 发生了什么。
    async fn kind(&self) -> EventKind {
        EventKind::parse(&self.row.kind).unwrap_or(EventKind::Updated)
    }
    /// The status before; null for the first event. 变化前的状态（首个事件为空）。
    async fn from_status(&self) -> Option<Status> {
        self.row.from_status.as_deref().and_then(Status::parse)
    }
    /// The status after. 变化后的状态。
    async fn to_status(&self) -> Status {
        Status::parse(&self.row.to_status).unwrap_or(Status::Draft)
    }
    /// The version the proposal moved from. 变化前的版本号。
    async fn from_version(&self) -> i64 {
        self.row.from_version
    }
    /// Why, when the actor gave a reason (a decision, a return, a withdrawal). 理由（如决定、退回、撤回）。
    async fn reason(&self) -> Option<&str> {
        self.row.reason.as_deref()
    }
    /// Who did it; null under blind review when it was an author, and for imports.
    /// 操作人；盲评期间作者的操作及导入时为空。
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.row.actor_id.filter(|_| !self.hide_actor) else { return Ok(None) };
        Ok(read!(ctx, |s| s.user(id).await).map(User))
    }
    /// When. 发生时间。
    async fn created_at(&self) -> Timestamp {
        self.row.created_at.into()
    }
}
