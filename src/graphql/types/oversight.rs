//! Oversight (算法监督): the report the oversight group reads, appeals, and changes to the rules.

use async_graphql::{Context, Object, Result, SimpleObject, ID};

pub use super::evaluation::CriterionScore;
use super::scalars::Timestamp;
use crate::{
    db::{
        oversight::{AppealRow, RuleChangeRow},
        rows::ProposalRow,
        users::UserRow,
    },
    domain::{
        lifecycle::Action,
        organisation::Role,
        oversight::{AppealStatus, RuleChangeStatus, RuleKind},
    },
    graphql::{guards::viewer, ids},
    journey::oversight::oversees,
    read,
};

/// Whether `user` may read an appeal of `p`: its authors, the oversight group, the enterprise's studio
/// leads and admins, platform admins.
pub fn may_see_appeal(user: &UserRow, p: &ProposalRow, is_author: bool) -> bool {
    let same = user.enterprise_id.is_some() && user.enterprise_id == p.enterprise_id;
    is_author
        || oversees(user, p.enterprise_id)
        || user.role() == Role::Admin
        || (same && matches!(user.role(), Role::StudioLead | Role::EnterpriseAdmin))
}

/// An author's appeal against a rejection. 作者对不采纳决定的申诉。
pub struct Appeal {
    pub row: AppealRow,
    pub proposal: ProposalRow,
}

/// An author's appeal against a rejection. 作者对不采纳决定的申诉。
#[Object]
impl Appeal {
    /// Global id. 全局编号。
    async fn id(&self) -> ID {
        ids::encode("Appeal", self.row.id)
    }
    /// The version; decisions on it take it as `expectedVersion`. 版本号（操作时作为 expectedVersion）。
    async fn version(&self) -> i64 {
        self.row.version
    }
    /// The appealed proposal's id. 被申诉提案的编号。
    async fn proposal_id(&self) -> ID {
        ids::encode("Proposal", self.proposal.id)
    }
    /// The appealed proposal's title. 被申诉提案的标题。
    async fn proposal_title(&self) -> &str {
        &self.proposal.title
    }
    /// The review round whose rejection is appealed. 被申诉的评审轮次。
    async fn round(&self) -> i64 {
        self.row.round
    }
    /// Where it stands. 申诉状态。
    async fn status(&self) -> AppealStatus {
        AppealStatus::parse(&self.row.status).unwrap_or(AppealStatus::Open)
    }
    /// Why the authors appeal. 申诉理由。
    async fn reason(&self) -> &str {
        &self.row.reason
    }
    /// The oversight group's opinion, once given. 算法监督小组的意见。
    async fn opinion(&self) -> Option<&str> {
        self.row.opinion.as_deref()
    }
    /// When it was given. 发表意见的时间。
    async fn opinion_at(&self) -> Option<Timestamp> {
        self.row.opinion_at.map(Into::into)
    }
    /// The studio lead's reasons for upholding or reopening. 工作室负责人的决定理由。
    async fn decision_reason(&self) -> Option<&str> {
        self.row.decision_reason.as_deref()
    }
    /// When it was decided. 决定时间。
    async fn decided_at(&self) -> Option<Timestamp> {
        self.row.decided_at.map(Into::into)
    }
    /// When it was filed. 提出时间。
    async fn created_at(&self) -> Timestamp {
        self.row.created_at.into()
    }
    /// Whether the viewer may give the oversight group's opinion now. 当前用户能否发表监督意见。
    async fn viewer_can_give_opinion(&self, ctx: &Context<'_>) -> bool {
        let open = self.row.status == AppealStatus::Open.as_str();
        viewer(ctx).user.as_ref().is_some_and(|u| open && oversees(u, self.proposal.enterprise_id))
    }
    /// Whether the viewer may uphold or reopen now (a studio lead of the enterprise, after the opinion). 当前用户能否作出决定。
    async fn viewer_can_decide(&self, ctx: &Context<'_>) -> bool {
        let ready = self.row.status == AppealStatus::Open.as_str() && self.row.opinion.is_some();
        let Some(u) = viewer(ctx).user.as_ref() else { return false };
        let actor = crate::domain::lifecycle::Actor {
            role: u.role(),
            is_author: false,
            same_enterprise: u.enterprise_id.is_some() && u.enterprise_id == self.proposal.enterprise_id,
        };
        ready && crate::domain::lifecycle::transition(self.proposal.status(), actor, Action::Reopen).is_ok()
    }
}

/// A proposed new version of the evaluation criteria or the conversion factors (two-person rule). 规则变更（双人规则：管理员提出，监督员批准）。
pub struct RuleChange(pub RuleChangeRow);

/// A proposed new version of the evaluation criteria or the conversion factors (two-person rule). 规则变更（双人规则：管理员提出，监督员批准）。
#[Object]
impl RuleChange {
    /// Global id. 全局编号。
    async fn id(&self) -> ID {
        ids::encode("RuleChange", self.0.id)
    }
    /// Its version; deciding takes it as `expectedVersion`. 版本号（审批时作为 expectedVersion）。
    async fn version(&self) -> i64 {
        self.0.row_version
    }
    /// What it replaces. 变更对象。
    async fn kind(&self) -> RuleKind {
        RuleKind::parse(&self.0.kind).unwrap_or(RuleKind::Criteria)
    }
    /// Where it stands. 状态。
    async fn status(&self) -> RuleChangeStatus {
        RuleChangeStatus::parse(&self.0.status).unwrap_or(RuleChangeStatus::Proposed)
    }
    /// The whole proposed table, as JSON (criteria: key, name, weight, description; factors: carrier,
    /// quantity, factor, unit, publishedFactor, basis, source, year). 拟议的完整表格（JSON）。
    async fn content(&self) -> &str {
        &self.0.content
    }
    /// Why it is proposed. 变更说明。
    async fn note(&self) -> &str {
        &self.0.note
    }
    /// Who proposed it. 提出人。
    async fn proposed_by(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let id = self.0.proposed_by;
        Ok(read!(ctx, |s| s.user(id).await).map(|u| u.name))
    }
    /// When. 提出时间。
    async fn proposed_at(&self) -> Timestamp {
        self.0.proposed_at.into()
    }
    /// The overseer who approved or turned it down. 审批的监督员。
    async fn decided_by(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let Some(id) = self.0.decided_by else { return Ok(None) };
        Ok(read!(ctx, |s| s.user(id).await).map(|u| u.name))
    }
    /// The overseer's note. 监督员意见。
    async fn decision_note(&self) -> Option<&str> {
        self.0.decision_note.as_deref()
    }
    /// When it was decided; an approved change is in force from then. 审批时间（批准后即时生效）。
    async fn decided_at(&self) -> Option<Timestamp> {
        self.0.decided_at.map(Into::into)
    }
    /// The criteria or factor version it became, once approved. 批准后成为的版本号。
    async fn rules_version(&self) -> Option<i64> {
        self.0.version
    }
}

/// One reviewer's score in a decision, anonymised. 一位评审人的评分（匿名）。
#[derive(SimpleObject, Clone)]
pub struct AnonymisedScore {
    /// A label that stands for the reviewer within this report (评审员1, 评审员2, …). 本报告内代表该评审人的代号。
    pub reviewer: String,
    /// The weighted score, 0–10. 加权得分（0–10）。
    pub weighted: f64,
    /// Scores per criterion. 各指标得分。
    pub criteria: Vec<CriterionScore>,
}

/// One decision with its scores. 一项决定及其评分。
#[derive(SimpleObject, Clone)]
pub struct OversightDecision {
    /// The proposal. 提案编号。
    pub proposal_id: ID,
    /// Its title. 标题。
    pub title: String,
    /// The review round. 评审轮次。
    pub round: i64,
    /// ACCEPTED, RETURNED or REJECTED. 决定。
    pub outcome: String,
    /// The studio lead's reason. 决定理由。
    pub reason: String,
    /// When. 决定时间。
    pub decided_at: Timestamp,
    /// Days from submission (or reopening) to the decision. 从提交（或重新评审）到决定的天数。
    pub days_to_decision: f64,
    /// The mean weighted score of the round. 本轮平均加权得分。
    pub mean_score: Option<f64>,
    /// Whether it goes against the scores (rejected at or above the threshold, accepted below it). 是否与评分相悖。
    pub against_scores: bool,
    /// The scores, anonymised. 匿名评分。
    pub scores: Vec<AnonymisedScore>,
}

/// How lenient one reviewer is compared with colleagues on the same proposals. 评审人宽严度（与同一提案其他评审人相比）。
#[derive(SimpleObject, Clone)]
pub struct ReviewerLeniency {
    /// The reviewer's label in this report. 评审人代号。
    pub reviewer: String,
    /// Evaluations by them. 评审份数。
    pub evaluations: i64,
    /// Their mean weighted score. 平均加权得分。
    pub mean_score: f64,
    /// Mean of (their score − the mean of the others' on the same proposal and round); positive is more
    /// lenient. Null when they never scored beside someone. 与同轮其他评审人平均分之差的均值（正为偏宽）。
    pub leniency: Option<f64>,
    /// Rounds that comparison rests on. 可比较的轮次数。
    pub compared: i64,
}

/// Agreement among reviewers of one studio on one criterion (Krippendorff's alpha, interval). 某工作室某指标的评审一致性（Krippendorff α，等距）。
#[derive(SimpleObject, Clone)]
pub struct ReviewerAgreement {
    /// The studio. 工作室。
    pub studio: Option<String>,
    /// The criterion's key, or WEIGHTED for the weighted score. 指标键（WEIGHTED 为加权总分）。
    pub criterion: String,
    /// Krippendorff's alpha: 1 is full agreement, 0 what chance gives; null with too little data. α值（1为完全一致，0为随机水平）。
    pub alpha: Option<f64>,
    /// Rounds scored by two or more reviewers. 两人及以上评审的轮次数。
    pub units: i64,
}

/// Decisions of one studio, team or enterprise: how many were returned or rejected. 某工作室、班组或企业的决定与退回、不采纳比例。
#[derive(SimpleObject, Clone)]
pub struct DecisionRate {
    /// STUDIO, TEAM or ENTERPRISE. 分组类型。
    pub group: String,
    /// Its name. 名称。
    pub name: String,
    /// Decisions. 决定数。
    pub decisions: i64,
    /// Accepted. 采纳数。
    pub accepted: i64,
    /// Returned for revision. 退回数。
    pub returned: i64,
    /// Rejected. 不采纳数。
    pub rejected: i64,
    /// returned / decisions. 退回率。
    pub returned_rate: f64,
    /// rejected / decisions. 不采纳率。
    pub rejected_rate: f64,
}

/// A review past its due date. 逾期未完成的评审。
#[derive(SimpleObject, Clone)]
pub struct OverdueReview {
    /// The proposal. 提案编号。
    pub proposal_id: ID,
    /// Its title. 标题。
    pub title: String,
    /// The reviewer's label. 评审人代号。
    pub reviewer: String,
    /// When it was due. 截止日期。
    pub due_on: super::scalars::Date,
    /// Days past that. 逾期天数。
    pub days_overdue: i64,
}

/// Time from submission to decision. 从提交到决定的用时。
#[derive(SimpleObject, Clone)]
pub struct DecisionTimes {
    /// Decisions measured. 统计的决定数。
    pub decisions: i64,
    /// Median, in days. 中位数（天）。
    pub median_days: Option<f64>,
    /// 90th percentile, in days. 第90百分位（天）。
    pub p90_days: Option<f64>,
}

/// What the oversight group sees of how the criteria are applied. 算法监督报告：评审标准的执行情况。
#[derive(SimpleObject)]
pub struct OversightReport {
    /// The score a decision is compared with. 判断“与评分相悖”的分数线。
    pub threshold: f64,
    /// Every decision in scope, newest first. 范围内全部决定（新的在前）。
    pub decisions: Vec<OversightDecision>,
    /// Those against the scores. 与评分相悖的决定。
    pub decisions_against_scores: Vec<OversightDecision>,
    /// Reviewer leniency. 评审人宽严度。
    pub reviewers: Vec<ReviewerLeniency>,
    /// Agreement per studio and criterion. 各工作室各指标的评审一致性。
    pub agreement: Vec<ReviewerAgreement>,
    /// Time to decision. 决定用时。
    pub time_to_decision: DecisionTimes,
    /// Reviews past due. 逾期评审。
    pub overdue_reviews: Vec<OverdueReview>,
    /// Returned and rejected rates per studio, team and enterprise. 各工作室、班组、企业的退回率与不采纳率。
    pub rates: Vec<DecisionRate>,
    /// Appeals waiting for an opinion or a decision. 待处理的申诉数。
    pub open_appeals: i64,
}
