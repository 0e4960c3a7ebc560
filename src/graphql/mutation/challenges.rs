//! openChallenge, updateChallenge, closeChallenge; requestHelp, takeHelpRequest, resolveHelpRequest,
//! closeHelpRequest.

use async_graphql::{Context, InputObject, Object, Result, ID};

use super::{act, payload, settle};
use crate::{
    db::{challenges::ChallengeRow, help::HelpRequestRow},
    domain::{challenge::ChallengeScope, organisation::Industry},
    error::{AppResult, UserError},
    graphql::{
        ids,
        types::{
            challenge::{rules_viewer, Challenge},
            help::HelpRequest,
            savings::SavingsInput,
            scalars::Date,
        },
    },
    journey::{self, challenges::ChallengeFields, help::HelpFields},
};

/// What a challenge says. On open, title, statement, deadline and target are required; on update, absent
/// fields stay as they are. 课题内容。发布时须填写名称、问题陈述、截止日期与目标；修改时未给出的字段保持不变。
#[derive(InputObject, Default)]
pub struct ChallengeContentInput {
    /// Its title (at most 200 characters). 课题名称（不超过200字）。
    pub title: Option<String>,
    /// The problem and what counts as solved. 问题陈述与解决标准。
    pub statement: Option<String>,
    /// Its industry: an enterprise's or a studio's is their enterprise's (the default); an association names it. 所属行业：企业或工作室的课题为本企业行业（缺省）；行业协会须指定。
    pub industry: Option<Industry>,
    /// Who sees it; ENTERPRISE when absent (an association chooses INDUSTRY or PUBLIC). 可见范围，缺省为仅本企业（行业协会须选行业或公开）。
    pub scope: Option<ChallengeScope>,
    /// The last day answers are taken (not in the past). 截止日期（不得早于今天）。
    pub deadline: Option<Date>,
    /// What an awarded answer earns, in words (may be empty). 奖励说明（可为空）。
    pub reward: Option<String>,
    /// The savings per year it aims at, per carrier (at least one energy carrier or water). 目标年节约量（各能源，至少一项能源或水）。
    pub target: Option<SavingsInput>,
}

impl ChallengeContentInput {
    fn into_fields(self) -> ChallengeFields {
        ChallengeFields {
            title: self.title,
            statement: self.statement,
            industry: self.industry,
            scope: self.scope,
            deadline: self.deadline.map(|d| d.0),
            reward: self.reward,
            target: self.target.map(Into::into),
        }
    }
}

/// Input of `openChallenge`. `openChallenge` 的输入。
#[derive(InputObject)]
pub struct OpenChallengeInput {
    /// The challenge. 课题内容。
    pub challenge: ChallengeContentInput,
}

/// Input of `updateChallenge`. `updateChallenge` 的输入。
#[derive(InputObject)]
pub struct UpdateChallengeInput {
    /// The challenge. 课题。
    pub challenge_id: ID,
    /// The version you saw; a newer one is a conflict. 你看到的版本；已有更新版本则为冲突。
    pub expected_version: i64,
    /// Fields to change; absent fields stay as they are. 要修改的字段；未给出的保持不变。
    pub challenge: ChallengeContentInput,
}

/// Input of `closeChallenge`. `closeChallenge` 的输入。
#[derive(InputObject)]
pub struct CloseChallengeInput {
    /// The challenge. 课题。
    pub challenge_id: ID,
    /// The version you saw. 你看到的版本。
    pub expected_version: i64,
    /// The answers it awards (each accepted or further); their authors share the award's points. 获奖的应答（须已采纳或更进一步），其作者分享奖励积分。
    #[graphql(default)]
    pub awarded_answer_ids: Vec<ID>,
    /// Why it closes, for everyone who sees it. 结题说明。
    pub reason: String,
}

/// Input of `requestHelp`. `requestHelp` 的输入。
#[derive(InputObject)]
pub struct RequestHelpInput {
    /// A short title (at most 200 characters). 简短标题（不超过200字）。
    pub title: String,
    /// What troubles the plant, in its own words. 遇到的问题（用自己的话描述）。
    pub problem: String,
    /// The industry; the enterprise's when absent. 行业，缺省为本企业所属行业。
    pub industry: Option<Industry>,
    /// Process tags (e.g. 熔炼, 烘干). 工艺标签（如熔炼、烘干）。
    #[graphql(default)]
    pub processes: Vec<String>,
    /// Equipment tags (e.g. 空压机, 中频炉). 设备标签（如空压机、中频炉）。
    #[graphql(default)]
    pub equipment: Vec<String>,
    /// What it consumes today, where known (seen only by those who work on it). 目前能耗（仅处理该求助的人可见）。
    pub consumption: Option<String>,
}

/// Input of `takeHelpRequest`. `takeHelpRequest` 的输入。
#[derive(InputObject)]
pub struct TakeHelpRequestInput {
    /// The help request. 求助。
    pub help_request_id: ID,
    /// The version you saw. 你看到的版本。
    pub expected_version: i64,
}

/// Input of `resolveHelpRequest`. `resolveHelpRequest` 的输入。
#[derive(InputObject)]
pub struct ResolveHelpRequestInput {
    /// The help request. 求助。
    pub help_request_id: ID,
    /// The version you saw. 你看到的版本。
    pub expected_version: i64,
    /// How it was solved. 解决方案。
    pub solution: String,
    /// The catalogue techniques the solution used. 采用的目录技术。
    #[graphql(default)]
    pub technique_ids: Vec<ID>,
    /// Savings per year measured after the solution, when measured (they count in the studio's impact). 实施后测量核实的年节约量（如有，计入工作室成效）。
    pub verified_savings: Option<SavingsInput>,
}

/// Input of `closeHelpRequest`. `closeHelpRequest` 的输入。
#[derive(InputObject)]
pub struct CloseHelpRequestInput {
    /// The help request. 求助。
    pub help_request_id: ID,
    /// The version you saw. 你看到的版本。
    pub expected_version: i64,
    /// Why it closes without a solution. 关闭原因。
    pub reason: String,
}

payload!(
    /// What a challenge mutation returns. 课题操作的结果。
    ChallengePayload { challenge: Challenge }
);

payload!(
    /// What a help-request mutation returns. 求助操作的结果。
    HelpRequestPayload { help_request: HelpRequest }
);

async fn challenge_payload(ctx: &Context<'_>, result: AppResult<ChallengeRow>) -> Result<ChallengePayload> {
    let (row, errors): (Option<ChallengeRow>, Vec<UserError>) = settle(result)?;
    let challenge = match row {
        Some(row) => Some(Challenge { row, viewer: rules_viewer(ctx).await? }),
        None => None,
    };
    Ok((challenge, errors).into())
}

async fn help_payload(ctx: &Context<'_>, result: AppResult<HelpRequestRow>) -> Result<HelpRequestPayload> {
    let (row, errors): (Option<HelpRequestRow>, Vec<UserError>) = settle(result)?;
    let help = match row {
        Some(row) => Some(HelpRequest { row, viewer: rules_viewer(ctx).await? }),
        None => None,
    };
    Ok((help, errors).into())
}

#[derive(Default)]
pub struct ChallengeMutations;

#[Object]
impl ChallengeMutations {
    /// Open a challenge (攻关课题): studio leads for their studio, enterprise admins for their enterprise,
    /// associations for an industry or the public. 发布攻关课题：工作室领衔人代表工作室，企业管理员代表企业，行业协会面向行业或公开。
    async fn open_challenge(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to open. 本操作的输入。")] input: OpenChallengeInput,
    ) -> Result<ChallengePayload> {
        let fields = input.challenge.into_fields();
        let result = act(ctx, move |tx, user, now| {
            Box::pin(async move { journey::challenges::open(tx, &user, fields, now).await })
        })
        .await;
        challenge_payload(ctx, result).await
    }

    /// Change an open challenge (those who may manage it). Changing the scope moves its answers' visibility with it. 修改征集中的课题（有管理权者）。修改可见范围时，应答的可见范围随之改变。
    async fn update_challenge(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change. 本操作的输入。")] input: UpdateChallengeInput,
    ) -> Result<ChallengePayload> {
        let result = match ids::decode(&input.challenge_id, "Challenge", "challengeId") {
            Ok(id) => {
                let (v, fields) = (input.expected_version, input.challenge.into_fields());
                act(ctx, move |tx, user, now| {
                    Box::pin(async move { journey::challenges::update(tx, &user, id, v, fields, now).await })
                })
                .await
            }
            Err(e) => Err(e),
        };
        challenge_payload(ctx, result).await
    }

    /// Close an open challenge with a reason, awarding answers (each accepted or further): their authors
    /// share the award's points and are told. 结题：说明理由并授奖（应答须已采纳或更进一步），作者分享奖励积分并收到通知。
    async fn close_challenge(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to close. 本操作的输入。")] input: CloseChallengeInput,
    ) -> Result<ChallengePayload> {
        let decoded: AppResult<(i64, Vec<i64>)> = ids::decode(&input.challenge_id, "Challenge", "challengeId")
            .and_then(|id| {
                let awarded = ids::decode_all(&input.awarded_answer_ids, "Proposal", "awardedAnswerIds")?;
                Ok((id, awarded))
            });
        let result = match decoded {
            Ok((id, awarded)) => {
                let (v, reason) = (input.expected_version, input.reason);
                act(ctx, move |tx, user, now| {
                    Box::pin(async move { journey::challenges::close(tx, &user, id, v, &awarded, &reason, now).await })
                })
                .await
            }
            Err(e) => Err(e),
        };
        challenge_payload(ctx, result).await
    }

    /// Ask studios for help (劳模工匠助企行): an enterprise admin, or a worker on their enterprise's behalf. 提出求助（劳模工匠助企行）：企业管理员或代表本企业的职工。
    async fn request_help(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The request. 本操作的输入。")] input: RequestHelpInput,
    ) -> Result<HelpRequestPayload> {
        let fields = HelpFields {
            title: input.title,
            problem: input.problem,
            industry: input.industry,
            processes: input.processes,
            equipment: input.equipment,
            consumption: input.consumption,
        };
        let result = act(ctx, move |tx, user, now| {
            Box::pin(async move { journey::help::request(tx, &user, fields, now).await })
        })
        .await;
        help_payload(ctx, result).await
    }

    /// Take on an open help request for your studio (a studio lead of another enterprise). 代表工作室承接待承接的求助（其他企业的工作室领衔人）。
    async fn take_help_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to take. 本操作的输入。")] input: TakeHelpRequestInput,
    ) -> Result<HelpRequestPayload> {
        let result = match ids::decode(&input.help_request_id, "HelpRequest", "helpRequestId") {
            Ok(id) => {
                let v = input.expected_version;
                act(ctx, move |tx, user, now| Box::pin(async move { journey::help::take(tx, &user, id, v, now).await }))
                    .await
            }
            Err(e) => Err(e),
        };
        help_payload(ctx, result).await
    }

    /// Resolve a help request your studio took: the solution, the catalogue techniques used and, when
    /// measured, the verified savings. 办结本工作室承接的求助：解决方案、采用的目录技术及（如已测量）核实节能量。
    async fn resolve_help_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to resolve. 本操作的输入。")] input: ResolveHelpRequestInput,
    ) -> Result<HelpRequestPayload> {
        let decoded: AppResult<(i64, Vec<i64>)> = ids::decode(&input.help_request_id, "HelpRequest", "helpRequestId")
            .and_then(|id| {
                let techniques = ids::decode_all(&input.technique_ids, "Technique", "techniqueIds")?;
                Ok((id, techniques))
            });
        let result = match decoded {
            Ok((id, techniques)) => {
                let (v, solution, verified) =
                    (input.expected_version, input.solution, input.verified_savings.map(Into::into));
                act(ctx, move |tx, user, now| {
                    Box::pin(async move {
                        journey::help::resolve(tx, &user, id, v, &solution, &techniques, verified, now).await
                    })
                })
                .await
            }
            Err(e) => Err(e),
        };
        help_payload(ctx, result).await
    }

    /// Close a help request without a solution (the requesting enterprise). 关闭未解决的求助（求助企业）。
    async fn close_help_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to close. 本操作的输入。")] input: CloseHelpRequestInput,
    ) -> Result<HelpRequestPayload> {
        let result = match ids::decode(&input.help_request_id, "HelpRequest", "helpRequestId") {
            Ok(id) => {
                let (v, reason) = (input.expected_version, input.reason);
                act(ctx, move |tx, user, now| {
                    Box::pin(async move { journey::help::close(tx, &user, id, v, &reason, now).await })
                })
                .await
            }
            Err(e) => Err(e),
        };
        help_payload(ctx, result).await
    }
}
