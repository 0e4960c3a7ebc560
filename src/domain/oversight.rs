//! Oversight (算法监督): how the published criteria are applied, in figures worker representatives can
//! check — decisions with their anonymised scores, decisions against the scores, reviewer leniency and
//! agreement (Krippendorff's alpha), time to decision, overdue reviews, returned and rejected rates. Pure
//! and table-tested; `graphql::query::oversight` feeds it rows from the store. Who may appeal and when is
//! here too.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};

crate::string_enum! {
    /// Where an appeal stands. 申诉状态。
    pub enum AppealStatus {
        /// Waiting for the oversight group's opinion, then a studio lead's decision. 待监督小组意见及工作室负责人决定。
        Open = "OPEN",
        /// The rejection stands. 维持原决定。
        Upheld = "UPHELD",
        /// Reopened: evaluated again by fresh reviewers. 已重新评审。
        Reopened = "REOPENED",
    }
}

crate::string_enum! {
    /// What a studio lead decides on an appeal. 工作室负责人对申诉的决定。
    pub enum AppealOutcome {
        /// The rejection stands. 维持原决定。
        Uphold = "UPHOLD",
        /// Evaluate again, with reviewers who have not reviewed it. 重新评审（指派未评审过的评审人）。
        Reopen = "REOPEN",
    }
}

crate::string_enum! {
    /// Which rules a change replaces. 规则变更的对象。
    pub enum RuleKind {
        /// The evaluation criteria and their weights. 评审指标及权重。
        Criteria = "CRITERIA",
        /// The conversion factors to tce and tCO2e. 折标煤及碳排放折算系数。
        Factors = "FACTORS",
    }
}

crate::string_enum! {
    /// Where a proposed change to the rules stands. 规则变更状态。
    pub enum RuleChangeStatus {
        /// Proposed by an admin, waiting for an overseer. 管理员已提出，待监督员批准。
        Proposed = "PROPOSED",
        /// Approved by an overseer: in force from its decision. 监督员已批准，自批准时起生效。
        Approved = "APPROVED",
        /// Turned down by an overseer. 监督员未批准。
        Rejected = "REJECTED",
    }
}

pub const APPEAL_REASON_MAX: usize = 5_000;

/// Whether a rejection decided at `decided_at` may still be appealed at `now`.
pub fn appeal_open(decided_at: Option<DateTime<Utc>>, now: DateTime<Utc>, days: u32) -> bool {
    decided_at.is_some_and(|d| now <= d + chrono::Duration::days(days as i64))
}

/// One evaluation as oversight sees it.
#[derive(Clone, Debug)]
pub struct Score {
    pub proposal_id: i64,
    pub round: i64,
    pub reviewer_id: i64,
    pub weighted: f64,
    pub by_criterion: BTreeMap<String, f64>,
}

/// One decision: which proposal, round, outcome and when, with the proposal's studio, team and enterprise.
#[derive(Clone, Debug)]
pub struct Decision {
    pub proposal_id: i64,
    pub round: i64,
    /// ACCEPTED, RETURNED or REJECTED.
    pub outcome: String,
    pub reason: String,
    pub submitted_at: DateTime<Utc>,
    pub decided_at: DateTime<Utc>,
    pub studio_id: Option<i64>,
    pub team_id: Option<i64>,
    pub enterprise_id: Option<i64>,
}

/// One event of a proposal's history as oversight reads it: kind, time, reason.
pub type HistoryEvent = (String, DateTime<Utc>, Option<String>);

/// A decision in its round.
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionRound {
    pub round: i64,
    /// When the round started: its submission, or the reopening after an appeal.
    pub started: DateTime<Utc>,
    pub outcome: String,
    pub decided: DateTime<Utc>,
    pub reason: String,
}

/// The decisions in a proposal's history (its events in order); rounds start at each `SUBMITTED` or
/// `REOPENED`.
pub fn decisions_of(events: &[HistoryEvent]) -> Vec<DecisionRound> {
    let mut round = 0;
    let mut started = None;
    let mut out = Vec::new();
    for (kind, at, reason) in events {
        match kind.as_str() {
            "SUBMITTED" | "REOPENED" => {
                round += 1;
                started = Some(*at);
            }
            "ACCEPTED" | "RETURNED" | "REJECTED" => {
                if let Some(s) = started {
                    out.push(DecisionRound {
                        round,
                        started: s,
                        outcome: kind.clone(),
                        decided: *at,
                        reason: reason.clone().unwrap_or_default(),
                    });
                }
            }
            _ => {}
        }
    }
    out
}

pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The `q` quantile (0–1) by linear interpolation between order statistics.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}

/// Whether a decision goes against its scores: a rejection with a mean weighted score at or above the
/// threshold, or an acceptance below it.
pub fn against_scores(outcome: &str, mean_score: Option<f64>, threshold: f64) -> bool {
    match (outcome, mean_score) {
        ("REJECTED", Some(m)) => m >= threshold,
        ("ACCEPTED", Some(m)) => m < threshold,
        _ => false,
    }
}

/// Krippendorff's alpha for interval data: `1 − D_o / D_e`, where over the units (a proposal's round) with
/// at least two scores, `n` the number of those scores,
/// `D_o = (1/n) Σ_u 1/(m_u − 1) Σ_{i≠j in u} (v_i − v_j)²` (disagreement within units) and
/// `D_e = 1/(n(n − 1)) Σ_{i≠j over all pairable scores} (v_i − v_j)²` (disagreement expected by chance),
/// both over ordered pairs. `None` when fewer than two units can be compared or the scores never vary
/// (`D_e = 0`).
pub fn krippendorff_alpha(units: &[Vec<f64>]) -> Option<f64> {
    let pairable: Vec<&Vec<f64>> = units.iter().filter(|u| u.len() >= 2).collect();
    if pairable.len() < 2 {
        return None;
    }
    let all: Vec<f64> = pairable.iter().flat_map(|u| u.iter().copied()).collect();
    let n = all.len() as f64;
    let pairs = |u: &[f64]| -> f64 {
        let mut s = 0.0;
        for (i, a) in u.iter().enumerate() {
            for (j, b) in u.iter().enumerate() {
                if i != j {
                    s += (a - b) * (a - b);
                }
            }
        }
        s
    };
    let d_o: f64 = pairable.iter().map(|u| pairs(u) / (u.len() as f64 - 1.0)).sum::<f64>() / n;
    let d_e = pairs(&all) / (n * (n - 1.0));
    if d_e <= f64::EPSILON {
        return None;
    }
    Some(1.0 - d_o / d_e)
}

/// A reviewer's leniency: the mean of (their weighted score − the mean of the other reviewers' on the same
/// proposal and round), over the rounds where others scored too. Positive: more lenient than colleagues.
pub fn leniency(scores: &[Score]) -> BTreeMap<i64, (f64, usize)> {
    let mut units: HashMap<(i64, i64), Vec<&Score>> = HashMap::new();
    for s in scores {
        units.entry((s.proposal_id, s.round)).or_default().push(s);
    }
    let mut sums: BTreeMap<i64, (f64, usize)> = BTreeMap::new();
    for unit in units.values().filter(|u| u.len() >= 2) {
        for s in unit {
            let others: Vec<f64> = unit.iter().filter(|o| o.reviewer_id != s.reviewer_id).map(|o| o.weighted).collect();
            let Some(m) = mean(&others) else { continue };
            let e = sums.entry(s.reviewer_id).or_default();
            e.0 += s.weighted - m;
            e.1 += 1;
        }
    }
    sums.into_iter().map(|(r, (sum, n))| (r, (sum / n as f64, n))).collect()
}

/// Agreement per criterion (and `WEIGHTED`, the weighted score) over these scores.
pub fn agreement(scores: &[Score]) -> Vec<(String, Option<f64>, usize)> {
    let mut units: BTreeMap<(i64, i64), Vec<&Score>> = BTreeMap::new();
    for s in scores {
        units.entry((s.proposal_id, s.round)).or_default().push(s);
    }
    let criteria: BTreeSet<&String> = scores.iter().flat_map(|s| s.by_criterion.keys()).collect();
    let compared = units.values().filter(|u| u.len() >= 2).count();
    let mut out: Vec<(String, Option<f64>, usize)> = criteria
        .into_iter()
        .map(|c| {
            let values: Vec<Vec<f64>> =
                units.values().map(|u| u.iter().filter_map(|s| s.by_criterion.get(c).copied()).collect()).collect();
            (c.clone(), krippendorff_alpha(&values), compared)
        })
        .collect();
    let weighted: Vec<Vec<f64>> = units.values().map(|u| u.iter().map(|s| s.weighted).collect()).collect();
    out.push(("WEIGHTED".into(), krippendorff_alpha(&weighted), compared));
    out
}

/// Days between two instants, as a fraction (to the millisecond).
pub fn days_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds() as f64 / 86_400_000.0
}

/// Whether a review assignment is overdue on `today`: due before it and not evaluated.
pub fn overdue(due_on: Option<NaiveDate>, evaluated: bool, today: NaiveDate) -> bool {
    !evaluated && due_on.is_some_and(|d| d < today)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    /// Worked by hand: units {1,2}, {3,3}, {2,4}: n = 6, values 1,2,3,3,2,4 (mean 2.5).
    /// D_o = (1/6)·[(2·1²)/1 + 0 + (2·2²)/1] = 10/6. Over all ordered pairs Σ(v_i−v_j)² = 2·n·Σ(v−mean)² =
    /// 2·6·5.5 = 66, so D_e = 66 / 30 = 2.2, and alpha = 1 − (10/6)/2.2 = 0.242424….
    #[test]
    fn krippendorff_alpha_matches_a_hand_calculation() {
        let alpha = krippendorff_alpha(&[vec![1.0, 2.0], vec![3.0, 3.0], vec![2.0, 4.0]]);
        assert!(close(alpha, 1.0 - (10.0 / 6.0) / 2.2), "{alpha:?}");
        // Perfect agreement is 1; units with one score are left out; too little data is None.
        assert!(close(krippendorff_alpha(&[vec![1.0, 1.0], vec![5.0, 5.0], vec![9.0]]), 1.0));
        assert_eq!(krippendorff_alpha(&[vec![1.0, 2.0]]), None);
        assert_eq!(krippendorff_alpha(&[vec![3.0, 3.0], vec![3.0, 3.0]]), None);
        // Systematic disagreement is below zero.
        assert!(krippendorff_alpha(&[vec![0.0, 10.0], vec![10.0, 0.0]]).unwrap() < 0.0);
    }

    fn score(p: i64, r: i64, w: f64) -> Score {
        Score { proposal_id: p, round: 1, reviewer_id: r, weighted: w, by_criterion: BTreeMap::from([("A".into(), w)]) }
    }

    #[test]
    fn leniency_is_the_mean_difference_from_the_others() {
        let s = [
            score(1, 10, 8.0),
            score(1, 11, 6.0),
            score(2, 10, 9.0),
            score(2, 11, 5.0),
            score(2, 12, 7.0),
            score(3, 12, 2.0),
        ];
        let l = leniency(&s);
        // Reviewer 10: (8−6) and (9−6) → 2.5 over 2; 11: (6−8) and (5−8) → −2.5; 12: (7−7) → 0 over 1 (its
        // lone score on proposal 3 is not compared).
        assert_eq!(l[&10], (2.5, 2));
        assert_eq!(l[&11], (-2.5, 2));
        assert_eq!(l[&12], (0.0, 1));
        let a = agreement(&s);
        assert_eq!(a.iter().map(|x| x.0.as_str()).collect::<Vec<_>>(), ["A", "WEIGHTED"]);
        assert_eq!(a[0].2, 2);
    }

    #[test]
    fn decisions_take_their_round_and_start_from_the_history() {
        let t = |h: i64| DateTime::<Utc>::from_timestamp(1_790_000_000 + h * 3600, 0).unwrap();
        let ev = |k: &str, h| (k.to_owned(), t(h), None);
        let d = decisions_of(&[
            ev("CREATED", 0),
            ev("SUBMITTED", 1),
            ev("REVIEWERS_ASSIGNED", 2),
            ev("RETURNED", 25),
            ev("SUBMITTED", 30),
            ev("REJECTED", 78),
            ev("APPEALED", 80),
            ev("REOPENED", 90),
            ev("ACCEPTED", 100),
        ]);
        let rounds: Vec<(i64, f64, &str)> =
            d.iter().map(|x| (x.round, days_between(x.started, x.decided), x.outcome.as_str())).collect();
        assert_eq!(rounds, [(1, 1.0, "RETURNED"), (2, 2.0, "REJECTED"), (3, 10.0 / 24.0, "ACCEPTED")]);
    }

    #[test]
    fn quantiles_and_thresholds() {
        assert_eq!(quantile(&[4.0, 1.0, 3.0, 2.0], 0.5), Some(2.5));
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.9), Some(4.6));
        assert_eq!(quantile(&[], 0.5), None);
        assert!(against_scores("REJECTED", Some(6.0), 6.0));
        assert!(!against_scores("REJECTED", Some(5.9), 6.0));
        assert!(against_scores("ACCEPTED", Some(5.9), 6.0));
        assert!(!against_scores("RETURNED", Some(9.0), 6.0));
        let now = Utc::now();
        assert!(appeal_open(Some(now - chrono::Duration::days(30)), now, 30));
        assert!(!appeal_open(Some(now - chrono::Duration::days(31)), now, 30));
        assert!(!appeal_open(None, now, 30));
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        assert!(overdue(today.pred_opt(), false, today));
        assert!(!overdue(today.pred_opt(), true, today));
        assert!(!overdue(Some(today), false, today));
    }
}
