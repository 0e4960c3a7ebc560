//! Challenges (攻关课题) and help requests (劳模工匠助企行): who may open, see, answer, take and close them.
//! Pure rules, table-tested; the journey asks them, the SQL list filter and the index's tokens are their
//! twins (tested equal here).

use chrono::NaiveDate;

use super::organisation::{Industry, Role};

crate::string_enum! {
    /// Who sees a challenge. 课题的可见范围。
    pub enum ChallengeScope {
        /// Its enterprise only; its answers stay inside it too. 仅本企业（应答也仅限本企业）。
        Enterprise = "ENTERPRISE",
        /// Enterprises of its industry and the associations. 本行业企业及行业协会。
        Industry = "INDUSTRY",
        /// Everyone, also without signing in. 所有人（含未登录）。
        Public = "PUBLIC",
    }
}

crate::string_enum! {
    /// Who posts a challenge: derived from the role of whoever opens it. 课题的发布方。
    pub enum ChallengeOwner {
        /// A model-worker innovation studio (its lead). 劳模创新工作室（领衔人发布）。
        Studio = "STUDIO",
        /// An enterprise (its technical or union department). 企业（技术部门或工会）。
        Enterprise = "ENTERPRISE",
        /// An industry association (or the platform). 行业协会（或平台）。
        Association = "ASSOCIATION",
    }
}

crate::string_enum! {
    /// Where a challenge stands. 课题状态。
    pub enum ChallengeStatus {
        /// Open for answers until its deadline. 征集中（截止日前可应答）。
        Open = "OPEN",
        /// Closed, with the answers it awarded and a reason. 已结题（附获奖应答与理由）。
        Closed = "CLOSED",
    }
}

crate::string_enum! {
    /// Where a help request stands. 求助状态。
    pub enum HelpStatus {
        /// Waiting for a studio. 待承接。
        Open = "OPEN",
        /// A studio has taken it on. 已有工作室承接。
        Taken = "TAKEN",
        /// Solved, with the solution and, when measured, verified savings. 已解决（附方案及核实节能量）。
        Resolved = "RESOLVED",
        /// Withdrawn or closed without a solution. 已关闭（撤回或未解决）。
        Closed = "CLOSED",
    }
}

pub const TITLE_MAX: usize = 200;
pub const STATEMENT_MAX: usize = 20_000;
pub const REWARD_MAX: usize = 2_000;
pub const REASON_MAX: usize = 2_000;
/// Process and equipment tags are held to a proposal's rules.
pub use super::proposal::{TAGS_MAX, TAG_MAX};

/// The viewer, as far as challenges and help requests go. `industry` is their enterprise's.
#[derive(Clone, Copy, Debug, Default)]
pub struct Viewer {
    pub role: Option<Role>,
    pub user_id: Option<i64>,
    pub enterprise_id: Option<i64>,
    pub studio_id: Option<i64>,
    pub industry: Option<Industry>,
}

impl Viewer {
    fn is(&self, role: Role) -> bool {
        self.role == Some(role)
    }
}

/// What visibility and management of a challenge depend on.
#[derive(Clone, Copy, Debug)]
pub struct Challenge {
    pub scope: ChallengeScope,
    pub owner: ChallengeOwner,
    pub industry: Industry,
    pub enterprise_id: Option<i64>,
    pub studio_id: Option<i64>,
    pub created_by: i64,
    pub status: ChallengeStatus,
    pub deadline: NaiveDate,
}

/// May the viewer see this challenge? (Lists, search, answers and progress apply the same rule.)
pub fn can_view(v: Viewer, c: &Challenge) -> bool {
    if c.scope == ChallengeScope::Public || v.is(Role::Admin) {
        return true;
    }
    let Some(uid) = v.user_id else { return false };
    let same_enterprise = v.enterprise_id.is_some() && v.enterprise_id == c.enterprise_id;
    uid == c.created_by
        || same_enterprise
        || (c.scope == ChallengeScope::Industry && (v.is(Role::Association) || v.industry == Some(c.industry)))
}

/// The owner a viewer opens challenges as, or `None` when their role opens none.
pub fn owner_for(v: Viewer) -> Option<ChallengeOwner> {
    match v.role? {
        Role::StudioLead if v.studio_id.is_some() && v.enterprise_id.is_some() => Some(ChallengeOwner::Studio),
        Role::EnterpriseAdmin if v.enterprise_id.is_some() => Some(ChallengeOwner::Enterprise),
        Role::Association | Role::Admin => Some(ChallengeOwner::Association),
        _ => None,
    }
}

/// Whether an owner may post with this scope: an association has no enterprise to keep a challenge in.
pub fn scope_allowed(owner: ChallengeOwner, scope: ChallengeScope) -> bool {
    !(owner == ChallengeOwner::Association && scope == ChallengeScope::Enterprise)
}

/// May the viewer change or close this challenge? Its author; the studio's lead for a studio's; the
/// enterprise's admins for their enterprise's (a studio's included); associations for an association's;
/// platform admins.
pub fn may_manage(v: Viewer, c: &Challenge) -> bool {
    if v.is(Role::Admin) || v.user_id == Some(c.created_by) {
        return true;
    }
    let same_enterprise = v.enterprise_id.is_some() && v.enterprise_id == c.enterprise_id;
    match c.owner {
        ChallengeOwner::Studio => {
            (v.is(Role::StudioLead) && v.studio_id.is_some() && v.studio_id == c.studio_id)
                || (v.is(Role::EnterpriseAdmin) && same_enterprise)
        }
        ChallengeOwner::Enterprise => v.is(Role::EnterpriseAdmin) && same_enterprise,
        ChallengeOwner::Association => v.is(Role::Association),
    }
}

/// Why a proposal cannot answer this challenge now, if it cannot.
pub fn answer_refusal(v: Viewer, c: &Challenge, today: NaiveDate) -> Option<&'static str> {
    if !can_view(v, c) {
        Some("challenge not found / 未找到该课题")
    } else if c.status != ChallengeStatus::Open {
        Some("the challenge is closed / 该课题已结题，不再征集应答")
    } else if today > c.deadline {
        Some("the challenge's deadline has passed / 该课题已过截止日期")
    } else {
        None
    }
}

/// The access tokens a challenge carries in the search index ([`viewer_tokens`] holds the viewer's).
pub fn access_tokens(c: &Challenge) -> Vec<String> {
    let mut t = vec![format!("author:{}", c.created_by)];
    match c.scope {
        ChallengeScope::Public => t.push("public".into()),
        ChallengeScope::Industry => {
            t.push(format!("ind:{}", c.industry));
            t.push("assoc".into());
        }
        ChallengeScope::Enterprise => {}
    }
    if let Some(e) = c.enterprise_id {
        t.push(format!("ent:{e}"));
    }
    t
}

/// The tokens a viewer holds for challenges and help requests; `None` sees everything (platform admins).
pub fn viewer_tokens(v: Viewer) -> Option<Vec<String>> {
    let mut t = vec!["public".to_owned()];
    let (Some(role), Some(uid)) = (v.role, v.user_id) else { return Some(t) };
    if role == Role::Admin {
        return None;
    }
    t.push(format!("author:{uid}"));
    t.push(MEMBER.to_owned());
    if let Some(e) = v.enterprise_id {
        t.push(format!("ent:{e}"));
    }
    if let Some(i) = v.industry {
        t.push(format!("ind:{i}"));
    }
    if role == Role::Association {
        t.push("assoc".into());
    }
    Some(t)
}

/// The token every signed-in person holds: help requests carry it.
pub const MEMBER: &str = "member";

/// What a help request's rules depend on.
#[derive(Clone, Copy, Debug)]
pub struct HelpRequest {
    pub enterprise_id: i64,
    pub requested_by: i64,
    pub status: HelpStatus,
    pub studio_id: Option<i64>,
}

/// Help requests are for anyone signed in: the point is that someone elsewhere has solved it before.
pub fn can_view_help(v: Viewer) -> bool {
    v.user_id.is_some()
}

/// The plant's current consumption and who asked are for those who work on it: the requesting
/// enterprise, the studio that took it, and platform admins.
pub fn sees_help_details(v: Viewer, h: &HelpRequest) -> bool {
    v.is(Role::Admin)
        || v.user_id == Some(h.requested_by)
        || v.enterprise_id == Some(h.enterprise_id)
        || (v.studio_id.is_some() && v.studio_id == h.studio_id)
}

/// Who may ask for help: an enterprise admin, or a worker (or studio member) on their enterprise's behalf.
pub fn may_request_help(v: Viewer) -> bool {
    v.enterprise_id.is_some()
        && matches!(
            v.role,
            Some(Role::EnterpriseAdmin | Role::Worker | Role::Overseer | Role::Reviewer | Role::StudioLead)
        )
}

/// A step on a help request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelpAction {
    Take,
    Resolve,
    Close,
}

/// `Ok(new status)`, or why not: `Err(true)` when the viewer may not, `Err(false)` when the status does not
/// allow it now.
pub fn help_transition(v: Viewer, h: &HelpRequest, action: HelpAction) -> Result<HelpStatus, bool> {
    let admin = v.is(Role::Admin);
    let (allowed, from, to): (bool, &[HelpStatus], HelpStatus) = match action {
        // A studio lead takes it for their studio; not one of the requesting enterprise's own studios.
        HelpAction::Take => (
            v.is(Role::StudioLead) && v.studio_id.is_some() && v.enterprise_id != Some(h.enterprise_id),
            &[HelpStatus::Open],
            HelpStatus::Taken,
        ),
        HelpAction::Resolve => (
            admin || (v.is(Role::StudioLead) && v.studio_id.is_some() && v.studio_id == h.studio_id),
            &[HelpStatus::Taken],
            HelpStatus::Resolved,
        ),
        HelpAction::Close => (
            admin
                || v.user_id == Some(h.requested_by)
                || (v.is(Role::EnterpriseAdmin) && v.enterprise_id == Some(h.enterprise_id)),
            &[HelpStatus::Open, HelpStatus::Taken],
            HelpStatus::Closed,
        ),
    };
    if !allowed {
        Err(true)
    } else if !from.contains(&h.status) {
        Err(false)
    } else {
        Ok(to)
    }
}

/// A studio's record in a help request's industry, as ranking needs it.
#[derive(Clone, Debug, Default)]
pub struct StudioRecord {
    pub studio_id: i64,
    pub enterprise_id: i64,
    /// Comma-separated, as studios keep them.
    pub specialties: String,
    pub accepted: i64,
    pub adopted: i64,
    pub verified_tce: f64,
    /// Help requests it resolved.
    pub helped: i64,
}

/// A studio suggested for a help request: the specialties the request mentions and its record's score.
#[derive(Clone, Debug, PartialEq)]
pub struct RankedStudio {
    pub studio_id: i64,
    pub matched: Vec<String>,
    pub record: f64,
}

/// Studios ranked for a help request of enterprise `requester` described by `text`: first by how many of
/// their specialties the request mentions, then by their track record in its industry — accepted
/// proposals (0.5 each), adopted ones (1 each), verified savings (log-scaled: 1 per tenfold tce), help
/// requests resolved (1 each). The requester's own studios are left out (they cannot take it), as are
/// studios with neither a matching specialty nor a record.
pub fn rank_studios(records: &[StudioRecord], text: &str, requester: i64) -> Vec<RankedStudio> {
    let mut out: Vec<RankedStudio> = records
        .iter()
        .filter(|r| r.enterprise_id != requester)
        .filter_map(|r| {
            let matched: Vec<String> = r
                .specialties
                .split([',', '，', '、'])
                .map(str::trim)
                .filter(|s| !s.is_empty() && text.contains(*s))
                .map(str::to_owned)
                .collect();
            let record =
                0.5 * r.accepted as f64 + r.adopted as f64 + (1.0 + r.verified_tce.max(0.0)).log10() + r.helped as f64;
            (!matched.is_empty() || record > 0.0).then_some(RankedStudio { studio_id: r.studio_id, matched, record })
        })
        .collect();
    out.sort_by(|a, b| {
        b.matched.len().cmp(&a.matched.len()).then(b.record.total_cmp(&a.record)).then(a.studio_id.cmp(&b.studio_id))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn studios_rank_by_specialty_then_record() {
        let r = |studio_id, enterprise_id, specialties: &str, accepted, adopted, verified_tce, helped| StudioRecord {
            studio_id,
            enterprise_id,
            specialties: specialties.into(),
            accepted,
            adopted,
            verified_tce,
            helped,
        };
        let records = [
            r(1, 10, "空压机,余热回收", 0, 0, 0.0, 0),
            r(2, 11, "轧钢、加热炉", 4, 2, 900.0, 1),
            r(3, 12, "电机", 0, 0, 0.0, 0),
            r(4, 13, "空压机", 1, 1, 99.0, 0),
            r(5, 14, "焊接", 0, 0, 0.0, 0),
        ];
        let ranked = rank_studios(&records, "空压机夜班空转，余热回收", 99);
        let ids: Vec<i64> = ranked.iter().map(|s| s.studio_id).collect();
        assert_eq!(ids, vec![1, 4, 2], "two specialties, then one with a record, then a record alone");
        assert_eq!(ranked[0].matched, vec!["空压机", "余热回收"]);
        assert_eq!(ranked[0].record, 0.0);
        assert_eq!(ranked[1].record, 0.5 + 1.0 + 2.0, "log10(1 + 99) = 2");
        assert!(ranked[2].record > ranked[1].record, "a better record without the specialty still comes after");
        assert!(rank_studios(&records, "空压机", 10).iter().all(|s| s.studio_id != 1), "the requester's own studio");
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn challenge(scope: ChallengeScope, owner: ChallengeOwner) -> Challenge {
        Challenge {
            scope,
            owner,
            industry: Industry::Metallurgy,
            enterprise_id: (owner != ChallengeOwner::Association).then_some(10),
            studio_id: (owner == ChallengeOwner::Studio).then_some(5),
            created_by: 1,
            status: ChallengeStatus::Open,
            deadline: day("2026-12-31"),
        }
    }

    fn viewers() -> Vec<Viewer> {
        let mut out = vec![Viewer::default()];
        for role in Role::ALL {
            for enterprise_id in [None, Some(10), Some(11)] {
                for industry in [None, Some(Industry::Metallurgy), Some(Industry::Machinery)] {
                    for user_id in [1, 7] {
                        out.push(Viewer {
                            role: Some(*role),
                            user_id: Some(user_id),
                            enterprise_id,
                            studio_id: Some(5),
                            industry,
                        });
                    }
                }
            }
        }
        out
    }

    #[test]
    fn who_sees_a_challenge() {
        let ent = challenge(ChallengeScope::Enterprise, ChallengeOwner::Studio);
        let worker = |e, i| Viewer {
            role: Some(Role::Worker),
            user_id: Some(7),
            enterprise_id: Some(e),
            studio_id: None,
            industry: Some(i),
        };
        assert!(can_view(worker(10, Industry::Metallurgy), &ent));
        assert!(!can_view(worker(11, Industry::Metallurgy), &ent), "another enterprise of the same industry");
        assert!(!can_view(Viewer::default(), &ent));
        let ind = challenge(ChallengeScope::Industry, ChallengeOwner::Enterprise);
        assert!(can_view(worker(11, Industry::Metallurgy), &ind));
        assert!(!can_view(worker(11, Industry::Machinery), &ind));
        assert!(can_view(Viewer { role: Some(Role::Association), user_id: Some(3), ..Viewer::default() }, &ind));
        assert!(!can_view(Viewer::default(), &ind));
        assert!(can_view(Viewer::default(), &challenge(ChallengeScope::Public, ChallengeOwner::Association)));
    }

    /// The index's tokens say exactly what `can_view` says, for every scope, owner and viewer.
    #[test]
    fn tokens_agree_with_can_view() {
        for scope in ChallengeScope::ALL {
            for owner in ChallengeOwner::ALL {
                if !scope_allowed(*owner, *scope) {
                    continue;
                }
                let c = challenge(*scope, *owner);
                let doc = access_tokens(&c);
                for v in viewers() {
                    let in_search = viewer_tokens(v).is_none_or(|mine| mine.iter().any(|t| doc.contains(t)));
                    assert_eq!(in_search, can_view(v, &c), "{scope} {owner} {v:?}");
                }
            }
        }
    }

    #[test]
    fn who_opens_as_what() {
        let v = |role, studio_id, enterprise_id| Viewer {
            role: Some(role),
            user_id: Some(1),
            enterprise_id,
            studio_id,
            industry: None,
        };
        assert_eq!(owner_for(v(Role::StudioLead, Some(5), Some(10))), Some(ChallengeOwner::Studio));
        assert_eq!(owner_for(v(Role::StudioLead, None, Some(10))), None, "a lead without a studio");
        assert_eq!(owner_for(v(Role::EnterpriseAdmin, None, Some(10))), Some(ChallengeOwner::Enterprise));
        assert_eq!(owner_for(v(Role::Association, None, None)), Some(ChallengeOwner::Association));
        assert_eq!(owner_for(v(Role::Worker, None, Some(10))), None);
        assert_eq!(owner_for(v(Role::Reviewer, Some(5), Some(10))), None);
        assert!(!scope_allowed(ChallengeOwner::Association, ChallengeScope::Enterprise));
        assert!(scope_allowed(ChallengeOwner::Studio, ChallengeScope::Enterprise));
    }

    #[test]
    fn who_manages_a_challenge() {
        let studio = challenge(ChallengeScope::Industry, ChallengeOwner::Studio);
        let v = |role, user_id, studio_id, enterprise_id| Viewer {
            role: Some(role),
            user_id: Some(user_id),
            enterprise_id,
            studio_id,
            industry: None,
        };
        assert!(may_manage(v(Role::StudioLead, 1, Some(5), Some(10)), &studio), "its author");
        assert!(may_manage(v(Role::StudioLead, 2, Some(5), Some(10)), &studio), "the studio's next lead");
        assert!(!may_manage(v(Role::StudioLead, 2, Some(6), Some(10)), &studio), "another studio");
        assert!(may_manage(v(Role::EnterpriseAdmin, 2, None, Some(10)), &studio));
        assert!(!may_manage(v(Role::EnterpriseAdmin, 2, None, Some(11)), &studio));
        assert!(!may_manage(v(Role::Worker, 2, None, Some(10)), &studio));
        assert!(!may_manage(v(Role::Association, 2, None, None), &studio));
        assert!(may_manage(v(Role::Admin, 2, None, None), &studio));
        let assoc = challenge(ChallengeScope::Public, ChallengeOwner::Association);
        assert!(may_manage(v(Role::Association, 2, None, None), &assoc));
        assert!(!may_manage(v(Role::EnterpriseAdmin, 2, None, Some(10)), &assoc));
    }

    #[test]
    fn answers_only_while_open_and_before_the_deadline() {
        let c = challenge(ChallengeScope::Enterprise, ChallengeOwner::Studio);
        let insider =
            Viewer { role: Some(Role::Worker), user_id: Some(7), enterprise_id: Some(10), ..Viewer::default() };
        assert_eq!(answer_refusal(insider, &c, day("2026-12-31")), None, "the deadline day itself");
        assert!(answer_refusal(insider, &c, day("2027-01-01")).is_some());
        assert!(
            answer_refusal(insider, &Challenge { status: ChallengeStatus::Closed, ..c }, day("2026-12-01")).is_some()
        );
        let outsider = Viewer { enterprise_id: Some(11), ..insider };
        assert!(answer_refusal(outsider, &c, day("2026-12-01")).unwrap().contains("not found"));
    }

    #[test]
    fn help_requests_move_by_who_may() {
        let h = HelpRequest { enterprise_id: 10, requested_by: 1, status: HelpStatus::Open, studio_id: None };
        let lead = |studio, enterprise| Viewer {
            role: Some(Role::StudioLead),
            user_id: Some(9),
            enterprise_id: Some(enterprise),
            studio_id: Some(studio),
            industry: None,
        };
        assert_eq!(help_transition(lead(5, 11), &h, HelpAction::Take), Ok(HelpStatus::Taken));
        assert_eq!(help_transition(lead(5, 10), &h, HelpAction::Take), Err(true), "its own enterprise's studio");
        let worker = Viewer { role: Some(Role::Worker), user_id: Some(8), enterprise_id: Some(11), ..lead(5, 11) };
        assert_eq!(help_transition(worker, &h, HelpAction::Take), Err(true));
        let taken = HelpRequest { status: HelpStatus::Taken, studio_id: Some(5), ..h };
        assert_eq!(help_transition(lead(5, 11), &taken, HelpAction::Take), Err(false), "taken already");
        assert_eq!(help_transition(lead(5, 11), &taken, HelpAction::Resolve), Ok(HelpStatus::Resolved));
        assert_eq!(help_transition(lead(6, 11), &taken, HelpAction::Resolve), Err(true), "not the taker");
        assert_eq!(help_transition(lead(5, 11), &h, HelpAction::Resolve), Err(true), "nobody took it yet");
        let requester = Viewer { role: Some(Role::Worker), user_id: Some(1), enterprise_id: Some(10), ..worker };
        assert_eq!(help_transition(requester, &taken, HelpAction::Close), Ok(HelpStatus::Closed));
        let resolved = HelpRequest { status: HelpStatus::Resolved, ..taken };
        assert_eq!(help_transition(requester, &resolved, HelpAction::Close), Err(false));
        assert!(sees_help_details(lead(5, 11), &taken));
        assert!(!sees_help_details(lead(6, 11), &taken));
        assert!(sees_help_details(Viewer { user_id: Some(2), ..requester }, &taken), "the requesting enterprise");
        assert!(may_request_help(requester));
        assert!(!may_request_help(Viewer { role: Some(Role::Association), enterprise_id: None, ..requester }));
    }
}
