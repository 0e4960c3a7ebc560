//! The mutation root: one mutation per action, each taking an `input` and returning a payload with
//! `userErrors { field code message }`. Mutations decode their input, call one `journey` operation inside
//! one write transaction, and load the result as the viewer may see it.

mod attachments;
mod challenges;
mod coauthors;
mod duplicates;
mod notifications;
mod oversight;
mod people;
mod pilot;
mod promotion;
mod proposals;
mod review;

use async_graphql::{Context, MergedObject, ID};
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;

use crate::{
    db::{rows::ProposalRow, store::Store, users::UserRow},
    error::{AppError, AppResult, UserError},
    graphql::{
        guards::{services, viewer},
        ids,
        types::Proposal,
    },
};

/// Every action: one mutation each, taking an `input` and answering a payload with `userErrors`. 全部操作：每个操作接受一个 input，返回带 userErrors 的结果。
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    proposals::ProposalMutations,
    review::ReviewMutations,
    pilot::PilotMutations,
    promotion::PromotionMutations,
    attachments::AttachmentMutations,
    coauthors::CoAuthorMutations,
    duplicates::DuplicateMutations,
    people::PeopleMutations,
    notifications::NotificationMutations,
    challenges::ChallengeMutations,
    oversight::OversightMutations,
);

/// Runs `f` for the signed-in viewer in one write transaction, then wakes the event hub, the indexer and
/// the courier.
pub async fn act<R, F>(ctx: &Context<'_>, f: F) -> AppResult<R>
where
    R: Send + 'static,
    F: for<'t> FnOnce(&'t mut dyn Store, UserRow, DateTime<Utc>) -> BoxFuture<'t, AppResult<R>> + Send,
{
    let user = viewer(ctx).require_writer()?.clone();
    let s = services(ctx)?;
    let r = s.db.write(move |tx| f(tx, user, Utc::now())).await?;
    s.events.nudge();
    s.search.nudge();
    s.courier.nudge();
    s.chainer.nudge();
    Ok(r)
}

/// Splits a result into the payload's value and its user errors; internal errors and infrastructure faults
/// stay top-level errors (the HTTP layer answers the latter with 503).
pub fn settle<T>(result: AppResult<T>) -> async_graphql::Result<(Option<T>, Vec<UserError>)> {
    match result {
        Ok(v) => Ok((Some(v), vec![])),
        Err(e @ (AppError::Internal(_) | AppError::Unavailable(_))) => Err(e.into()),
        Err(e) => Ok((None, vec![UserError::from(e)])),
    }
}

/// The proposal a mutation produced, as the viewer now sees it.
pub async fn proposal_payload(
    ctx: &Context<'_>,
    result: AppResult<ProposalRow>,
) -> async_graphql::Result<(Option<Proposal>, Vec<UserError>)> {
    let (row, errors) = settle(result)?;
    let proposal = match row {
        Some(row) => Proposal::visible(ctx, row).await?,
        None => None,
    };
    Ok((proposal, errors))
}

pub fn decode_proposal_id(id: &ID) -> AppResult<i64> {
    ids::decode(id, "Proposal", "proposalId")
}

/// Declares a mutation payload: the produced object (null on refusal) and `userErrors`.
macro_rules! payload {
    ($(#[$meta:meta])* $name:ident { $field:ident : $ty:ty }) => {
        $(#[$meta])*
        #[derive(async_graphql::SimpleObject)]
        pub struct $name {
            #[doc = concat!("The ", stringify!($field), " after the mutation; null when it was refused. 操作后的对象（被拒绝时为空）。")]
            pub $field: Option<$ty>,
            /// Why the mutation was refused; empty on success. 被拒绝的原因；成功时为空。
            pub user_errors: Vec<$crate::error::UserError>,
        }

        impl From<(Option<$ty>, Vec<$crate::error::UserError>)> for $name {
            fn from((v, user_errors): (Option<$ty>, Vec<$crate::error::UserError>)) -> Self {
                $name { $field: v, user_errors }
            }
        }
    };
}
pub(crate) use payload;
