//! The proposal lifecycle as a pure function of (status, actor, action) → new status or a refusal.
//!
//! ```text
//! DRAFT → SUBMITTED → EVALUATING → ACCEPTED → INCUBATING → ADOPTED → PROMOTED
//!                         │    ↘ RETURNED (author revises) → SUBMITTED
//!                         └──→ REJECTED ──(appeal, reopened by the studio lead)──→ EVALUATING
//! any state before ACCEPTED → WITHDRAWN (by an author)
//! ```
//! Actions that do not move the status (editing, evaluating, measuring, assigning more reviewers) are
//! decided here too, so that one table says who may do what, when.

use super::organisation::Role;

crate::string_enum! {
    /// Where a proposal is in its journey. 提案所处的阶段。
    pub enum Status {
        /// Being written; only its authors see it. 草稿（仅作者可见）。
        Draft = "DRAFT",
        /// Submitted, waiting for reviewers. 已提交，待指派评审。
        Submitted = "SUBMITTED",
        /// Under review (blind: reviewers do not see the authors). 评审中（盲评）。
        Evaluating = "EVALUATING",
        /// Returned to the authors for revision. 已退回修改。
        Returned = "RETURNED",
        /// Not accepted, with a reason. 未采纳（附理由）。
        Rejected = "REJECTED",
        /// Accepted; a pilot is next. 已采纳，待试点。
        Accepted = "ACCEPTED",
        /// In a pilot, savings being measured. 试点中，正在测量节能量。
        Incubating = "INCUBATING",
        /// Adopted in its enterprise with verified savings. 已在本企业推广应用，节能量已核实。
        Adopted = "ADOPTED",
        /// Promoted into the industry catalogue. 已入选行业目录。
        Promoted = "PROMOTED",
        /// Withdrawn by an author. 作者已撤回。
        Withdrawn = "WITHDRAWN",
        /// Closed as the duplicate of another proposal (its history kept). 作为重复提案关闭（历史保留）。
        Duplicate = "DUPLICATE",
    }
}

crate::string_enum! {
    /// What happened to a proposal: the kind of one event in its history. 提案历史中一条事件的类型。
    pub enum EventKind {
        /// Saved as a draft. 保存为草稿。
        Created = "CREATED",
        /// Its content changed. 内容被修改。
        Updated = "UPDATED",
        /// Submitted, or resubmitted after a return. 提交（或退回后重新提交）。
        Submitted = "SUBMITTED",
        /// Reviewers were assigned. 已指派评审人。
        ReviewersAssigned = "REVIEWERS_ASSIGNED",
        /// A reviewer scored it. 一位评审人已打分。
        Evaluated = "EVALUATED",
        /// Accepted for a pilot. 被采纳，进入试点。
        Accepted = "ACCEPTED",
        /// Returned to its authors for revision. 退回作者修改。
        Returned = "RETURNED",
        /// Rejected, with a reason. 未被采纳（附理由）。
        Rejected = "REJECTED",
        /// Withdrawn by an author. 作者撤回。
        Withdrawn = "WITHDRAWN",
        /// The pilot started. 试点开始。
        PilotStarted = "PILOT_STARTED",
        /// A pilot milestone changed. 试点里程碑有变化。
        MilestoneUpdated = "MILESTONE_UPDATED",
        /// A savings measurement was recorded. 记录了一次节能量测量。
        MeasurementRecorded = "MEASUREMENT_RECORDED",
        /// Adopted by its enterprise, with verified savings. 本企业推广应用，节能量已核实。
        Adopted = "ADOPTED",
        /// Promoted into the industry catalogue. 入选行业技术目录。
        Promoted = "PROMOTED",
        /// An invited co-author accepted. 受邀的共同作者已接受。
        CoauthorJoined = "COAUTHOR_JOINED",
        /// A photo or document was attached. 添加了附件。
        AttachmentAdded = "ATTACHMENT_ADDED",
        /// An attachment was removed. 删除了附件。
        AttachmentRemoved = "ATTACHMENT_REMOVED",
        /// Brought in by an import from another system. 从其他系统导入。
        Imported = "IMPORTED",
        /// Changed by a later import. 被再次导入更新。
        ImportUpdated = "IMPORT_UPDATED",
        /// Closed as the duplicate of another proposal. 标记为重复提案。
        MarkedDuplicate = "MARKED_DUPLICATE",
        /// The author of a duplicate was credited as a co-author of this original. 重复提案的作者被记为本提案的共同作者。
        CreditedAsCoauthor = "CREDITED_AS_COAUTHOR",
        /// The challenge it answers closed and awarded it. 所应答的攻关课题结题并授予其奖励。
        ChallengeAwarded = "CHALLENGE_AWARDED",
        /// An author appealed the rejection. 作者对不采纳决定提出申诉。
        Appealed = "APPEALED",
        /// The oversight group gave its opinion on an appeal. 算法监督小组对申诉发表意见。
        AppealOpinion = "APPEAL_OPINION",
        /// A studio lead upheld the rejection after an appeal. 工作室负责人维持不采纳决定。
        AppealUpheld = "APPEAL_UPHELD",
        /// A studio lead reopened the rejected proposal after an appeal: evaluated again by fresh reviewers.
        /// 申诉后重新评审（由新的评审人评审）。
        Reopened = "REOPENED",
    }
}

crate::string_enum! {
    pub enum Action {
        /// Change title, body, savings… of a draft or a returned proposal (author).
        Edit = "EDIT",
        /// Submit a draft, or resubmit a returned proposal (author).
        Submit = "SUBMIT",
        /// Assign reviewers: starts the evaluation, or adds reviewers to it (studio lead).
        AssignReviewers = "ASSIGN_REVIEWERS",
        /// Score the proposal (an assigned reviewer).
        Evaluate = "EVALUATE",
        Accept = "ACCEPT",
        Return = "RETURN",
        Reject = "REJECT",
        /// Withdraw before acceptance (author).
        Withdraw = "WITHDRAW",
        /// Start the pilot of an accepted proposal (studio lead).
        StartPilot = "START_PILOT",
        /// Record a before/after measurement during the pilot (studio lead or enterprise admin).
        RecordMeasurement = "RECORD_MEASUREMENT",
        /// Confirm adoption with verified savings (enterprise admin).
        ConfirmAdoption = "CONFIRM_ADOPTION",
        /// Promote into the industry catalogue (association).
        Promote = "PROMOTE",
        /// Close as the duplicate of another proposal, before a decision (studio lead).
        MarkDuplicate = "MARK_DUPLICATE",
        /// Reopen a rejected proposal after an appeal, with fresh reviewers (studio lead).
        Reopen = "REOPEN",
    }
}

impl Status {
    /// Statuses from which an author may still withdraw.
    pub fn before_acceptance(self) -> bool {
        matches!(self, Status::Draft | Status::Submitted | Status::Evaluating | Status::Returned)
    }

    /// Decided: the evaluation breakdown is now open to the authors.
    pub fn is_decided(self) -> bool {
        matches!(
            self,
            Status::Accepted
                | Status::Rejected
                | Status::Returned
                | Status::Incubating
                | Status::Adopted
                | Status::Promoted
        )
    }
}

/// Who is acting, relative to the proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actor {
    pub role: Role,
    /// Creator, co-author, or the one who submitted on a worker's behalf.
    pub is_author: bool,
    /// Belongs to the proposal's enterprise.
    pub same_enterprise: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The action does not exist from this status.
    InvalidTransition,
    /// The action exists from this status, but not for this actor.
    Forbidden,
}

/// Which actors may take an action (when the status allows it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Author,
    /// Holders of one of these roles in the proposal's enterprise; ADMIN anywhere.
    EnterpriseRole(&'static [Role]),
    /// Holders of one of these roles anywhere; ADMIN too.
    AnyRole(&'static [Role]),
}

fn rule(action: Action) -> (fn(Status) -> Option<Status>, Who) {
    use Status::*;
    match action {
        Action::Edit => (|s| matches!(s, Draft | Returned).then_some(s), Who::Author),
        Action::Submit => (|s| matches!(s, Draft | Returned).then_some(Submitted), Who::Author),
        Action::AssignReviewers => {
            (|s| matches!(s, Submitted | Evaluating).then_some(Evaluating), Who::EnterpriseRole(&[Role::StudioLead]))
        }
        Action::Evaluate => (|s| (s == Evaluating).then_some(s), Who::AnyRole(&[Role::Reviewer, Role::StudioLead])),
        Action::Accept => (|s| (s == Evaluating).then_some(Accepted), Who::EnterpriseRole(&[Role::StudioLead])),
        Action::Return => (|s| (s == Evaluating).then_some(Returned), Who::EnterpriseRole(&[Role::StudioLead])),
        Action::Reject => (|s| (s == Evaluating).then_some(Rejected), Who::EnterpriseRole(&[Role::StudioLead])),
        Action::Withdraw => (|s| s.before_acceptance().then_some(Withdrawn), Who::Author),
        Action::StartPilot => (|s| (s == Accepted).then_some(Incubating), Who::EnterpriseRole(&[Role::StudioLead])),
        Action::RecordMeasurement => {
            (|s| (s == Incubating).then_some(s), Who::EnterpriseRole(&[Role::StudioLead, Role::EnterpriseAdmin]))
        }
        Action::ConfirmAdoption => {
            (|s| (s == Incubating).then_some(Adopted), Who::EnterpriseRole(&[Role::EnterpriseAdmin]))
        }
        Action::Promote => (|s| (s == Adopted).then_some(Promoted), Who::AnyRole(&[Role::Association])),
        Action::MarkDuplicate => (
            |s| matches!(s, Submitted | Evaluating | Returned).then_some(Duplicate),
            Who::EnterpriseRole(&[Role::StudioLead]),
        ),
        Action::Reopen => (|s| (s == Rejected).then_some(Evaluating), Who::EnterpriseRole(&[Role::StudioLead])),
    }
}

/// The status after `actor` takes `action` on a proposal in `status`, or why not.
pub fn transition(status: Status, actor: Actor, action: Action) -> Result<Status, Refusal> {
    let (next, who) = rule(action);
    let to = next(status).ok_or(Refusal::InvalidTransition)?;
    let allowed = match who {
        Who::Author => actor.is_author,
        Who::EnterpriseRole(roles) => {
            actor.role == Role::Admin || (roles.contains(&actor.role) && actor.same_enterprise)
        }
        Who::AnyRole(roles) => actor.role == Role::Admin || roles.contains(&actor.role),
    };
    if allowed {
        Ok(to)
    } else {
        Err(Refusal::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole contract, written out independently of `rule`: action, from, to, who.
    /// who: `author`, `ent:ROLE|ROLE` (that role in the proposal's enterprise, or ADMIN), `any:ROLE|ROLE`.
    const TABLE: &str = "
        EDIT              DRAFT       DRAFT       author
        EDIT              RETURNED    RETURNED    author
        SUBMIT            DRAFT       SUBMITTED   author
        SUBMIT            RETURNED    SUBMITTED   author
        ASSIGN_REVIEWERS  SUBMITTED   EVALUATING  ent:STUDIO_LEAD
        ASSIGN_REVIEWERS  EVALUATING  EVALUATING  ent:STUDIO_LEAD
        EVALUATE          EVALUATING  EVALUATING  any:REVIEWER|STUDIO_LEAD
        ACCEPT            EVALUATING  ACCEPTED    ent:STUDIO_LEAD
        RETURN            EVALUATING  RETURNED    ent:STUDIO_LEAD
        REJECT            EVALUATING  REJECTED    ent:STUDIO_LEAD
        WITHDRAW          DRAFT       WITHDRAWN   author
        WITHDRAW          SUBMITTED   WITHDRAWN   author
        WITHDRAW          EVALUATING  WITHDRAWN   author
        WITHDRAW          RETURNED    WITHDRAWN   author
        START_PILOT       ACCEPTED    INCUBATING  ent:STUDIO_LEAD
        RECORD_MEASUREMENT INCUBATING INCUBATING  ent:STUDIO_LEAD|ENTERPRISE_ADMIN
        CONFIRM_ADOPTION  INCUBATING  ADOPTED     ent:ENTERPRISE_ADMIN
        PROMOTE           ADOPTED     PROMOTED    any:ASSOCIATION
        MARK_DUPLICATE    SUBMITTED   DUPLICATE   ent:STUDIO_LEAD
        MARK_DUPLICATE    EVALUATING  DUPLICATE   ent:STUDIO_LEAD
        MARK_DUPLICATE    RETURNED    DUPLICATE   ent:STUDIO_LEAD
        REOPEN            REJECTED    EVALUATING  ent:STUDIO_LEAD
    ";

    fn expected(status: Status, actor: Actor, action: Action) -> Result<Status, Refusal> {
        let rows: Vec<Vec<&str>> =
            TABLE.lines().map(|l| l.split_whitespace().collect::<Vec<_>>()).filter(|r| !r.is_empty()).collect();
        let Some(row) = rows.iter().find(|r| r[0] == action.as_str() && r[1] == status.as_str()) else {
            return Err(Refusal::InvalidTransition);
        };
        let to = Status::parse(row[2]).unwrap();
        let ok = if row[3] == "author" {
            actor.is_author
        } else {
            let (scope, roles) = row[3].split_once(':').unwrap();
            let has_role = roles.split('|').any(|r| r == actor.role.as_str());
            actor.role == Role::Admin || (has_role && (scope == "any" || actor.same_enterprise))
        };
        if ok {
            Ok(to)
        } else {
            Err(Refusal::Forbidden)
        }
    }

    #[test]
    fn every_status_role_action_triple_matches_the_table() {
        let mut checked = 0;
        for &status in Status::ALL {
            for &role in Role::ALL {
                for &action in Action::ALL {
                    for is_author in [false, true] {
                        for same_enterprise in [false, true] {
                            let actor = Actor { role, is_author, same_enterprise };
                            assert_eq!(
                                transition(status, actor, action),
                                expected(status, actor, action),
                                "{status} {action} by {actor:?}"
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(checked, Status::ALL.len() * Role::ALL.len() * Action::ALL.len() * 4);
    }

    #[test]
    fn spot_checks() {
        let worker_author = Actor { role: Role::Worker, is_author: true, same_enterprise: true };
        let lead = Actor { role: Role::StudioLead, is_author: false, same_enterprise: true };
        let other_lead = Actor { role: Role::StudioLead, is_author: false, same_enterprise: false };
        assert_eq!(transition(Status::Draft, worker_author, Action::Submit), Ok(Status::Submitted));
        assert_eq!(transition(Status::Evaluating, worker_author, Action::Accept), Err(Refusal::Forbidden));
        assert_eq!(transition(Status::Evaluating, lead, Action::Accept), Ok(Status::Accepted));
        assert_eq!(transition(Status::Evaluating, other_lead, Action::Accept), Err(Refusal::Forbidden));
        assert_eq!(transition(Status::Accepted, worker_author, Action::Withdraw), Err(Refusal::InvalidTransition));
        assert_eq!(transition(Status::Promoted, lead, Action::Accept), Err(Refusal::InvalidTransition));
    }
}
