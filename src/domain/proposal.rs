//! Proposals: categories, what a valid proposal looks like, and who may see it (and its authors).

use super::{lifecycle::Status, organisation::Role};

crate::string_enum! {
    /// What kind of improvement a proposal is. 提案的类别。
    pub enum Category {
        /// Energy saving. 节能降耗
        EnergySaving = "ENERGY_SAVING",
        /// Greener processes. 绿色工艺
        GreenProcess = "GREEN_PROCESS",
        /// Cleaner production. 清洁生产
        CleanProduction = "CLEAN_PRODUCTION",
        /// Circular economy: reuse and recycling. 循环经济
        CircularEconomy = "CIRCULAR_ECONOMY",
        /// Lower emissions and carbon. 减排降碳
        EmissionReduction = "EMISSION_REDUCTION",
        /// Safer work with less waste. 安全改进。
        Safety = "SAFETY",
        /// Better quality, less scrap and rework. 质量改进（减少废品与返工）。
        Quality = "QUALITY",
        /// Anything else. 其他。
        Other = "OTHER",
    }
}

pub const TITLE_MAX: usize = 200;
pub const BODY_MAX: usize = 20_000;
pub const TAGS_MAX: usize = 20;
pub const TAG_MAX: usize = 40;
pub const COAUTHORS_MAX: usize = 10;

/// Checks title, body and tags; returns the input field and a message for the first problem.
pub fn validate_text(title: &str, body: &str, tags: &[String]) -> Result<(), (&'static str, String)> {
    let title_len = title.trim().chars().count();
    if title_len == 0 || title_len > TITLE_MAX {
        return Err(("title", format!("title must be 1–{TITLE_MAX} characters / 标题须为1到{TITLE_MAX}个字符")));
    }
    let body_len = body.trim().chars().count();
    if body_len == 0 || body_len > BODY_MAX {
        return Err(("body", format!("describe what is wasted today and what to change, in 1–{BODY_MAX} characters / 请在{BODY_MAX}字以内描述现状与改进办法")));
    }
    if tags.len() > TAGS_MAX {
        return Err(("tags", format!("at most {TAGS_MAX} tags / 标签最多{TAGS_MAX}个")));
    }
    if tags.iter().any(|t| t.trim().is_empty() || t.chars().count() > TAG_MAX) {
        return Err(("tags", format!("each tag must be 1–{TAG_MAX} characters / 每个标签须为1到{TAG_MAX}个字符")));
    }
    if !super::text::one_line_ok(title) {
        return Err(("title", super::text::refusal("title")));
    }
    if !super::text::multi_line_ok(body) {
        return Err(("body", super::text::refusal("body")));
    }
    if !tags.iter().all(|t| super::text::one_line_ok(t)) {
        return Err(("tags", super::text::refusal("tags")));
    }
    Ok(())
}

/// Statuses that anyone, even anonymous, may see: proven results are public.
pub const PUBLIC_STATUSES: &[Status] = &[Status::Adopted, Status::Promoted];
/// Statuses an industry association sees across enterprises.
pub const ASSOCIATION_STATUSES: &[Status] = &[Status::Accepted, Status::Incubating, Status::Adopted, Status::Promoted];
/// Statuses during which reviewers do not see who wrote the proposal.
pub const BLIND_STATUSES: &[Status] = &[Status::Submitted, Status::Evaluating];

/// What visibility depends on, about the viewer and the proposal.
#[derive(Clone, Copy, Debug)]
pub struct Sight {
    pub role: Option<Role>,
    pub status: Status,
    pub is_author: bool,
    pub is_assigned_reviewer: bool,
    pub same_enterprise: bool,
    /// It answers an enterprise-scoped challenge: it stays inside its enterprise whatever its status.
    pub confined: bool,
}

/// May the viewer open this proposal? (Search, lists, exports and subscriptions apply the same rule.)
pub fn can_view(s: Sight) -> bool {
    let public = PUBLIC_STATUSES.contains(&s.status) && !s.confined;
    let Some(role) = s.role else { return public };
    if role == Role::Admin || s.is_author {
        return true;
    }
    if s.status == Status::Draft {
        return false;
    }
    public
        || s.is_assigned_reviewer
        || s.same_enterprise
        || (role == Role::Association && ASSOCIATION_STATUSES.contains(&s.status) && !s.confined)
}

/// Blind review: while under evaluation, reviewers (and anyone assigned to review) do not see the authors,
/// nor do the overseers who audit the review (算法监督小组 reads how it is done, never whose proposal it is).
pub fn authors_hidden(s: Sight) -> bool {
    !s.is_author
        && s.role != Some(Role::Admin)
        && BLIND_STATUSES.contains(&s.status)
        && (matches!(s.role, Some(Role::Reviewer | Role::Overseer)) || s.is_assigned_reviewer)
}

/// Studio leads and enterprise admins of the proposal's enterprise, and platform admins: those who run
/// its review.
pub fn manages(s: Sight) -> bool {
    match s.role {
        Some(Role::Admin) => true,
        Some(Role::StudioLead | Role::EnterpriseAdmin) => s.same_enterprise,
        _ => false,
    }
}

/// Who acted on an event, as far as naming them goes.
#[derive(Clone, Copy, Debug)]
pub struct EventActor {
    /// An author or co-author of the proposal.
    pub is_author: bool,
    /// The viewer themself.
    pub is_viewer: bool,
    /// The act is a reviewer's (an evaluation).
    pub reviews: bool,
}

/// May the viewer be told who did this? Anonymous callers are told no names; reviewers are named only to
/// those who run the review (never to authors or to the public); authors are hidden by blind review.
pub fn actor_shown(s: Sight, a: EventActor) -> bool {
    if a.is_viewer || s.role == Some(Role::Admin) {
        return true;
    }
    if s.role.is_none() {
        return false;
    }
    if a.reviews {
        return manages(s);
    }
    !(a.is_author && authors_hidden(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reviewers_are_named_only_to_those_who_run_the_review() {
        let evaluation = EventActor { is_author: false, is_viewer: false, reviews: true };
        for status in Status::ALL {
            for role in [None, Some(Role::Worker), Some(Role::Reviewer), Some(Role::Association)] {
                for is_author in [false, true] {
                    let s = Sight {
                        role,
                        status: *status,
                        is_author,
                        is_assigned_reviewer: false,
                        same_enterprise: true,
                        confined: false,
                    };
                    assert!(!actor_shown(s, evaluation), "{role:?} {status:?} author={is_author}");
                }
            }
            for role in [Role::StudioLead, Role::EnterpriseAdmin] {
                let mut s = Sight {
                    role: Some(role),
                    status: *status,
                    is_author: false,
                    is_assigned_reviewer: false,
                    same_enterprise: true,
                    confined: false,
                };
                assert!(actor_shown(s, evaluation));
                s.same_enterprise = false;
                assert!(!actor_shown(s, evaluation), "a lead of another enterprise");
            }
            let admin = Sight {
                role: Some(Role::Admin),
                status: *status,
                is_author: false,
                is_assigned_reviewer: false,
                same_enterprise: false,
                confined: false,
            };
            assert!(actor_shown(admin, evaluation));
            // The reviewer sees their own act; an anonymous caller sees no actor at all.
            let own = EventActor { is_viewer: true, ..evaluation };
            assert!(actor_shown(Sight { role: Some(Role::Reviewer), ..admin }, own));
            let author_act = EventActor { is_author: true, is_viewer: false, reviews: false };
            assert!(!actor_shown(Sight { role: None, ..admin }, author_act));
        }
        // Blind review still hides authors from the reviewer.
        let reviewer = Sight {
            role: Some(Role::Reviewer),
            status: Status::Evaluating,
            is_author: false,
            is_assigned_reviewer: true,
            same_enterprise: true,
            confined: false,
        };
        assert!(!actor_shown(reviewer, EventActor { is_author: true, is_viewer: false, reviews: false }));
        assert!(actor_shown(reviewer, EventActor { is_author: false, is_viewer: false, reviews: false }));
    }

    fn sight(role: Option<Role>, status: Status) -> Sight {
        Sight { role, status, is_author: false, is_assigned_reviewer: false, same_enterprise: false, confined: false }
    }

    #[test]
    fn drafts_are_for_authors_only() {
        for &role in Role::ALL {
            let s = Sight { same_enterprise: true, is_assigned_reviewer: true, ..sight(Some(role), Status::Draft) };
            assert_eq!(can_view(s), role == Role::Admin, "{role}");
            assert!(can_view(Sight { is_author: true, ..s }));
        }
        assert!(!can_view(sight(None, Status::Draft)));
    }

    #[test]
    fn anonymous_sees_only_proven_results() {
        for &status in Status::ALL {
            assert_eq!(can_view(sight(None, status)), PUBLIC_STATUSES.contains(&status), "{status}");
        }
    }

    #[test]
    fn an_answer_to_an_enterprise_challenge_stays_inside_the_enterprise() {
        for status in [Status::Adopted, Status::Promoted] {
            let c = Sight { confined: true, ..sight(None, status) };
            assert!(!can_view(c), "anonymous");
            for role in [Role::Worker, Role::Association, Role::EnterpriseAdmin] {
                assert!(!can_view(Sight { role: Some(role), ..c }), "{role} of another enterprise");
                assert!(can_view(Sight { role: Some(role), same_enterprise: true, ..c }), "{role} inside");
            }
            assert!(can_view(Sight { role: Some(Role::Admin), ..c }));
        }
    }

    #[test]
    fn association_sees_accepted_onwards_elsewhere() {
        assert!(!can_view(sight(Some(Role::Association), Status::Submitted)));
        assert!(can_view(sight(Some(Role::Association), Status::Incubating)));
        assert!(!can_view(sight(Some(Role::Worker), Status::Incubating)));
        assert!(can_view(Sight { same_enterprise: true, ..sight(Some(Role::Worker), Status::Incubating) }));
    }

    #[test]
    fn reviewers_are_blind_while_evaluating() {
        let s = Sight { is_assigned_reviewer: true, ..sight(Some(Role::Reviewer), Status::Evaluating) };
        assert!(can_view(s));
        assert!(authors_hidden(s));
        assert!(!authors_hidden(Sight { status: Status::Accepted, ..s }));
        assert!(!authors_hidden(sight(Some(Role::StudioLead), Status::Evaluating)));
        assert!(authors_hidden(Sight {
            is_assigned_reviewer: true,
            ..sight(Some(Role::StudioLead), Status::Evaluating)
        }));
        assert!(!authors_hidden(Sight { is_author: true, ..s }));
    }

    #[test]
    fn text_validation_names_the_field() {
        assert!(validate_text("余热回收", "利用转炉余热回收蒸汽发电", &[]).is_ok());
        assert_eq!(validate_text(" ", "x", &[]).unwrap_err().0, "title");
        assert_eq!(validate_text("t", "", &[]).unwrap_err().0, "body");
        assert_eq!(validate_text("t", "b", &["".into()]).unwrap_err().0, "tags");
        assert_eq!(validate_text(&"长".repeat(201), "b", &[]).unwrap_err().0, "title");
    }
}

/// The access tokens a proposal carries in the search index: a viewer sees it in search exactly when one
/// of their [`viewer_tokens`] is among them. This is `can_view` expressed as data (tested equal below).
pub fn access_tokens(
    status: Status,
    author_ids: &[i64],
    enterprise_id: Option<i64>,
    reviewer_ids: &[i64],
    confined: bool,
) -> Vec<String> {
    let mut t: Vec<String> = author_ids.iter().map(|a| format!("author:{a}")).collect();
    if PUBLIC_STATUSES.contains(&status) && !confined {
        t.push("public".into());
    }
    if status != Status::Draft {
        t.extend(reviewer_ids.iter().map(|r| format!("reviewer:{r}")));
        if let Some(e) = enterprise_id {
            t.push(format!("ent:{e}"));
        }
        if ASSOCIATION_STATUSES.contains(&status) && !confined {
            t.push("assoc".into());
        }
    }
    t.sort();
    t.dedup();
    t
}

/// The tokens a viewer holds; `None` means they see everything (platform admins).
pub fn viewer_tokens(role: Option<Role>, user_id: Option<i64>, enterprise_id: Option<i64>) -> Option<Vec<String>> {
    let mut t = vec!["public".to_owned()];
    let (Some(role), Some(uid)) = (role, user_id) else { return Some(t) };
    if role == Role::Admin {
        return None;
    }
    t.push(format!("author:{uid}"));
    t.push(format!("reviewer:{uid}"));
    if let Some(e) = enterprise_id {
        t.push(format!("ent:{e}"));
    }
    if role == Role::Association {
        t.push("assoc".into());
    }
    Some(t)
}

#[cfg(test)]
mod access_tests {
    use super::*;

    /// For every status, role and relation, search's token rule and `can_view` agree.
    #[test]
    fn tokens_agree_with_can_view_everywhere() {
        let viewer = 7;
        let roles: Vec<Option<Role>> = std::iter::once(None).chain(Role::ALL.iter().copied().map(Some)).collect();
        for &status in Status::ALL {
            for &role in &roles {
                for is_author in [false, true] {
                    for is_assigned_reviewer in [false, true] {
                        for (same_enterprise, confined) in [(false, false), (true, false), (false, true), (true, true)]
                        {
                            if role.is_none() && (is_author || is_assigned_reviewer || same_enterprise) {
                                continue; // anonymous viewers have no relations
                            }
                            let authors: Vec<i64> = if is_author { vec![1, viewer] } else { vec![1] };
                            let reviewers: Vec<i64> = if is_assigned_reviewer { vec![viewer] } else { vec![2] };
                            let doc = access_tokens(status, &authors, Some(10), &reviewers, confined);
                            let mine =
                                viewer_tokens(role, role.map(|_| viewer), Some(if same_enterprise { 10 } else { 11 }));
                            let in_search = mine.is_none_or(|m| m.iter().any(|t| doc.contains(t)));
                            let sight =
                                Sight { role, status, is_author, is_assigned_reviewer, same_enterprise, confined };
                            assert_eq!(in_search, can_view(sight), "{sight:?}");
                        }
                    }
                }
            }
        }
    }
}
