//! `oversight`, `appeals`, `ruleChanges`: what the oversight group (算法监督小组) reads. Figures come from
//! the same store as everything else and go through `domain::oversight`.

use std::collections::{BTreeMap, HashMap};

use async_graphql::{Context, Object, Result, ID};
use chrono::Utc;

use crate::{
    db::oversight::OversightScope,
    domain::{
        organisation::{Industry, Role},
        oversight::{self as rules, AppealStatus, RuleChangeStatus, Score},
    },
    error::AppError,
    graphql::{
        guards::{services, viewer},
        ids,
        types::{
            oversight::{
                AnonymisedScore, Appeal, CriterionScore, DecisionRate, DecisionTimes, OverdueReview, OversightDecision,
                OversightReport, ReviewerAgreement, ReviewerLeniency, RuleChange,
            },
            scalars::{Date, Timestamp},
        },
    },
    read,
};

/// Whose proposals the viewer oversees: an overseer their enterprise's; associations and platform admins
/// the enterprise or industry they name, or all.
fn oversight_scope(
    ctx: &Context<'_>,
    enterprise_id: Option<&ID>,
    industry: Option<Industry>,
) -> Result<OversightScope> {
    let user = viewer(ctx).require_role(&[Role::Overseer, Role::Association], "see the oversight figures")?;
    let named = enterprise_id.map(|id| ids::decode(id, "Enterprise", "enterpriseId")).transpose()?;
    let enterprise_id = match user.role() {
        Role::Overseer => {
            if named.is_some_and(|n| Some(n) != user.enterprise_id) {
                return Err(AppError::forbidden("oversee another enterprise").into());
            }
            user.enterprise_id
        }
        _ => named,
    };
    Ok(OversightScope { enterprise_id, industry: industry.map(|i| i.as_str().to_owned()) })
}

#[derive(Default)]
pub struct OversightQuery;

#[Object]
impl OversightQuery {
    /// How the criteria are applied: every decision with its anonymised scores, decisions against the
    /// scores, reviewer leniency and agreement, time to decision, overdue reviews, returned and rejected
    /// rates. For overseers (their enterprise), associations and platform admins (any, or an industry).
    /// Authors are never shown. 算法监督报告（监督员：本企业；行业协会与平台管理员：任意企业或行业）。不显示作者。
    async fn oversight(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which enterprise (associations and admins; an overseer's own otherwise). 哪家企业。")]
        enterprise_id: Option<ID>,
        #[graphql(desc = "Only this industry. 仅该行业。")] industry: Option<Industry>,
        #[graphql(desc = "Decisions from this day (China time). 自该日起的决定。")] from: Option<Date>,
        #[graphql(desc = "Decisions up to this day. 截至该日的决定。")] to: Option<Date>,
    ) -> Result<OversightReport> {
        let scope = oversight_scope(ctx, enterprise_id.as_ref(), industry)?;
        let threshold = services(ctx)?.config.oversight_threshold;
        let s2 = scope.clone();
        let (proposals, events, evaluations, assignments, appeals) = read!(ctx, |s| {
            let proposals = s.overseen(&s2).await?;
            let ids: Vec<i64> = proposals.iter().map(|p| p.id).collect();
            Ok((
                proposals,
                s.overseen_events(&ids).await?,
                s.overseen_evaluations(&ids).await?,
                s.overseen_assignments(&ids).await?,
                s.appeals_in(&s2, Some(AppealStatus::Open.as_str())).await?,
            ))
        });
        if proposals.len() > crate::db::oversight::OVERSEEN_MAX {
            return Err(AppError::invalid(
                "enterpriseId",
                format!(
                    "more than {} proposals in scope: name an enterprise or an industry / 范围内提案超过{}条，请指定企业或行业",
                    crate::db::oversight::OVERSEEN_MAX,
                    crate::db::oversight::OVERSEEN_MAX
                ),
            )
            .into());
        }
        let by_id: HashMap<i64, &crate::db::oversight::OverseenRow> = proposals.iter().map(|p| (p.id, p)).collect();

        // Reviewers get labels by first appearance in id order: stable within the report, never a name.
        let mut reviewer_ids: Vec<i64> = evaluations.iter().map(|e| e.reviewer_id).collect();
        reviewer_ids.extend(assignments.iter().map(|a| a.reviewer_id));
        reviewer_ids.sort_unstable();
        reviewer_ids.dedup();
        let label: HashMap<i64, String> =
            reviewer_ids.iter().enumerate().map(|(i, r)| (*r, format!("评审员{}", i + 1))).collect();

        let scores: Vec<Score> = evaluations
            .iter()
            .map(|e| Score {
                proposal_id: e.proposal_id,
                round: e.round,
                reviewer_id: e.reviewer_id,
                weighted: e.weighted_score,
                by_criterion: e.scores(),
            })
            .collect();
        let mut by_round: HashMap<(i64, i64), Vec<&Score>> = HashMap::new();
        for s in &scores {
            by_round.entry((s.proposal_id, s.round)).or_default().push(s);
        }

        let mut history: BTreeMap<i64, Vec<rules::HistoryEvent>> = BTreeMap::new();
        for e in events {
            history.entry(e.proposal_id).or_default().push((e.kind, e.created_at, e.reason));
        }
        let in_period = |t: chrono::DateTime<Utc>| {
            let day = crate::domain::today(t);
            from.as_ref().is_none_or(|f| day >= f.0) && to.as_ref().is_none_or(|x| day <= x.0)
        };
        let mut decisions = Vec::new();
        let mut rates: BTreeMap<(&'static str, i64), (String, [i64; 4])> = BTreeMap::new();
        let names = GroupNames::load(ctx, &proposals).await?;
        for (pid, evs) in &history {
            let Some(p) = by_id.get(pid) else { continue };
            for rules::DecisionRound { round, started: submitted, outcome, decided, reason } in rules::decisions_of(evs)
            {
                if !in_period(decided) {
                    continue;
                }
                let round_scores = by_round.get(&(*pid, round)).cloned().unwrap_or_default();
                let mean = rules::mean(&round_scores.iter().map(|s| s.weighted).collect::<Vec<_>>());
                let against = rules::against_scores(&outcome, mean, threshold);
                for (group, id, name) in names.groups(p) {
                    let (_, r) = rates.entry((group, id)).or_insert_with(|| (name, [0; 4]));
                    r[0] += 1;
                    match outcome.as_str() {
                        "ACCEPTED" => r[1] += 1,
                        "RETURNED" => r[2] += 1,
                        _ => r[3] += 1,
                    }
                }
                decisions.push(OversightDecision {
                    proposal_id: ids::encode("Proposal", *pid),
                    title: p.title.clone(),
                    round,
                    outcome,
                    reason,
                    decided_at: Timestamp(decided),
                    days_to_decision: rules::days_between(submitted, decided),
                    mean_score: mean,
                    against_scores: against,
                    scores: round_scores
                        .iter()
                        .map(|s| AnonymisedScore {
                            reviewer: label.get(&s.reviewer_id).cloned().unwrap_or_default(),
                            weighted: s.weighted,
                            criteria: s
                                .by_criterion
                                .iter()
                                .map(|(k, v)| CriterionScore { criterion: k.clone(), score: *v })
                                .collect(),
                        })
                        .collect(),
                });
            }
        }
        decisions.sort_by_key(|d| std::cmp::Reverse(d.decided_at));
        let days: Vec<f64> = decisions.iter().map(|d| d.days_to_decision).collect();

        let leniency = rules::leniency(&scores);
        let mut reviewers: Vec<ReviewerLeniency> = reviewer_ids
            .iter()
            .filter_map(|r| {
                let own: Vec<f64> = scores.iter().filter(|s| s.reviewer_id == *r).map(|s| s.weighted).collect();
                let mean = rules::mean(&own)?;
                let (l, n) = leniency.get(r).copied().map(|(l, n)| (Some(l), n)).unwrap_or((None, 0));
                Some(ReviewerLeniency {
                    reviewer: label[r].clone(),
                    evaluations: own.len() as i64,
                    mean_score: mean,
                    leniency: l,
                    compared: n as i64,
                })
            })
            .collect();
        reviewers.sort_by(|a, b| a.reviewer.len().cmp(&b.reviewer.len()).then(a.reviewer.cmp(&b.reviewer)));

        let mut per_studio: BTreeMap<Option<i64>, Vec<Score>> = BTreeMap::new();
        for s in &scores {
            per_studio.entry(by_id.get(&s.proposal_id).and_then(|p| p.studio_id)).or_default().push(s.clone());
        }
        let mut agreement = Vec::new();
        for (studio, s) in per_studio {
            for (criterion, alpha, units) in rules::agreement(&s) {
                agreement.push(ReviewerAgreement {
                    studio: studio.and_then(|id| names.studios.get(&id).cloned()),
                    criterion,
                    alpha,
                    units: units as i64,
                });
            }
        }

        let today = crate::domain::today(Utc::now());
        let overdue_reviews = assignments
            .iter()
            .filter(|a| rules::overdue(a.due_on, a.evaluated, today))
            .filter_map(|a| {
                let due = a.due_on?;
                Some(OverdueReview {
                    proposal_id: ids::encode("Proposal", a.proposal_id),
                    title: by_id.get(&a.proposal_id).map(|p| p.title.clone()).unwrap_or_default(),
                    reviewer: label.get(&a.reviewer_id).cloned().unwrap_or_default(),
                    due_on: Date(due),
                    days_overdue: (today - due).num_days(),
                })
            })
            .collect();

        Ok(OversightReport {
            threshold,
            decisions_against_scores: decisions.iter().filter(|d| d.against_scores).cloned().collect(),
            decisions,
            reviewers,
            agreement,
            time_to_decision: DecisionTimes {
                decisions: days.len() as i64,
                median_days: rules::quantile(&days, 0.5),
                p90_days: rules::quantile(&days, 0.9),
            },
            overdue_reviews,
            rates: rates
                .into_iter()
                .map(|((group, _), (name, [n, a, r, x]))| DecisionRate {
                    group: group.to_owned(),
                    name,
                    decisions: n,
                    accepted: a,
                    returned: r,
                    rejected: x,
                    returned_rate: r as f64 / n as f64,
                    rejected_rate: x as f64 / n as f64,
                })
                .collect(),
            open_appeals: appeals.len() as i64,
        })
    }

    /// Appeals the viewer oversees (overseers: their enterprise; associations and admins: all), newest
    /// first. 申诉列表（监督员：本企业；行业协会与平台管理员：全部）。
    async fn appeals(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only those in this state. 仅该状态。")] status: Option<AppealStatus>,
        #[graphql(desc = "Which enterprise (associations and admins). 哪家企业。")] enterprise_id: Option<ID>,
    ) -> Result<Vec<Appeal>> {
        let scope = oversight_scope(ctx, enterprise_id.as_ref(), None)?;
        let rows = read!(ctx, |s| {
            let rows = s.appeals_in(&scope, status.map(|x| x.as_str())).await?;
            let mut out = Vec::with_capacity(rows.len());
            for a in rows {
                if let Some(p) = s.proposal(a.proposal_id).await? {
                    out.push(Appeal { row: a, proposal: p });
                }
            }
            Ok(out)
        });
        Ok(rows)
    }

    /// Changes to the criteria and the conversion factors: the public changelog (approved ones, with the
    /// version they became and when) for everyone; proposed and turned-down ones for admins, overseers and
    /// associations. 规则变更记录：已批准的向所有人公开（含生效版本与时间）；待批与未批准的仅管理员、监督员与行业协会可见。
    async fn rule_changes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only those in this state. 仅该状态。")] status: Option<RuleChangeStatus>,
    ) -> Result<Vec<RuleChange>> {
        let insider = matches!(viewer(ctx).role(), Some(Role::Admin | Role::Overseer | Role::Association));
        let rows = read!(ctx, |s| s.rule_changes(status.map(|x| x.as_str())).await);
        Ok(rows
            .into_iter()
            .filter(|r| insider || r.status == RuleChangeStatus::Approved.as_str())
            .map(RuleChange)
            .collect())
    }
}

/// The names of the studios, teams and enterprises of the proposals in a report.
struct GroupNames {
    studios: HashMap<i64, String>,
    teams: HashMap<i64, String>,
    enterprises: HashMap<i64, String>,
}

impl GroupNames {
    async fn load(ctx: &Context<'_>, proposals: &[crate::db::oversight::OverseenRow]) -> Result<GroupNames> {
        let mut studios: Vec<i64> = proposals.iter().filter_map(|p| p.studio_id).collect();
        let mut teams: Vec<i64> = proposals.iter().filter_map(|p| p.team_id).collect();
        let mut enterprises: Vec<i64> = proposals.iter().filter_map(|p| p.enterprise_id).collect();
        for v in [&mut studios, &mut teams, &mut enterprises] {
            v.sort_unstable();
            v.dedup();
        }
        Ok(read!(ctx, |s| {
            let mut names = GroupNames { studios: HashMap::new(), teams: HashMap::new(), enterprises: HashMap::new() };
            for id in studios {
                if let Some(r) = s.studio_row(id).await? {
                    names.studios.insert(id, r.name);
                }
            }
            for id in teams {
                if let Some(r) = s.team_row(id).await? {
                    names.teams.insert(id, r.name);
                }
            }
            for id in enterprises {
                if let Some(r) = s.enterprise(id).await? {
                    names.enterprises.insert(id, r.name);
                }
            }
            Ok(names)
        }))
    }

    /// The studio, team and enterprise a decision counts for: (group, id, name).
    fn groups(&self, p: &crate::db::oversight::OverseenRow) -> Vec<(&'static str, i64, String)> {
        let mut out = Vec::new();
        for (group, id, names) in [
            ("STUDIO", p.studio_id, &self.studios),
            ("TEAM", p.team_id, &self.teams),
            ("ENTERPRISE", p.enterprise_id, &self.enterprises),
        ] {
            if let Some((id, n)) = id.and_then(|id| names.get(&id).map(|n| (id, n))) {
                out.push((group, id, n.clone()));
            }
        }
        out
    }
}
