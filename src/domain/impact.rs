//! Impact arithmetic: what the proposals a viewer may see add up to, in total and per group.
//! Drafts never count. Expected and verified savings are summed apart, never mixed.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::lifecycle::Status;

crate::string_enum! {
    /// How impact figures are grouped. 成效统计的分组方式。
    pub enum GroupBy {
        /// Per enterprise. 按企业。
        Enterprise = "ENTERPRISE",
        /// Per industry. 按行业。
        Industry = "INDUSTRY",
        /// Per innovation studio. 按创新工作室。
        Studio = "STUDIO",
        /// Per team (班组). 按班组。
        Team = "TEAM",
        /// Per category. 按类别。
        Category = "CATEGORY",
        /// Per month of submission. 按提交月份。
        Month = "MONTH",
        /// Per challenge the proposals answer (those answering none are left out of the groups). 按所应答的攻关课题（未应答课题的提案不分组）。
        Challenge = "CHALLENGE",
    }
}

/// One proposal — or one resolved help request (`help`), whose verified savings count with the studio
/// that resolved it, but which is no proposal: not counted, no status, rate or lead time — as the impact
/// figures need it.
#[derive(Clone, Debug)]
pub struct ImpactRow {
    pub help: bool,
    pub challenge_id: Option<i64>,
    pub enterprise_id: Option<i64>,
    pub industry: String,
    pub studio_id: Option<i64>,
    pub team_id: Option<i64>,
    pub category: String,
    pub status: Status,
    pub submitted_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub adopted_at: Option<DateTime<Utc>>,
    /// (tce, tCO2e, yuan per year)
    pub expected: Option<(f64, f64, f64)>,
    /// (tce, tCO2e, yuan per year, investment)
    pub verified: Option<(f64, f64, f64, f64)>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figures {
    pub proposals: i64,
    /// Resolved help requests whose verified savings are counted.
    pub help_requests: i64,
    pub by_status: BTreeMap<Status, i64>,
    /// Accepted (or further) among those accepted or rejected.
    pub acceptance_rate: Option<f64>,
    /// Adopted (or promoted) among those accepted or further.
    pub adoption_rate: Option<f64>,
    pub median_days_to_decision: Option<f64>,
    pub median_days_to_adoption: Option<f64>,
    pub expected_tce: f64,
    pub expected_tco2e: f64,
    pub expected_yuan: f64,
    pub verified_tce: f64,
    pub verified_tco2e: f64,
    pub verified_yuan: f64,
    pub investment_yuan: f64,
    /// Verified investment over verified yearly money saved.
    pub payback_years: Option<f64>,
}

fn accepted_or_further(s: Status) -> bool {
    matches!(s, Status::Accepted | Status::Incubating | Status::Adopted | Status::Promoted)
}

fn median(mut xs: Vec<f64>) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len();
    Some(if n % 2 == 1 { xs[n / 2] } else { (xs[n / 2 - 1] + xs[n / 2]) / 2.0 })
}

fn days(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Option<f64> {
    Some((to? - from?).num_seconds() as f64 / 86_400.0)
}

pub fn figures(rows: &[&ImpactRow]) -> Figures {
    let help: Vec<&&ImpactRow> = rows.iter().filter(|r| r.help).collect();
    let rows: Vec<&&ImpactRow> = rows.iter().filter(|r| !r.help && r.status != Status::Draft).collect();
    let mut f = Figures { proposals: rows.len() as i64, help_requests: help.len() as i64, ..Figures::default() };
    for r in &help {
        if let Some((tce, co2, yuan, inv)) = r.verified {
            f.verified_tce += tce;
            f.verified_tco2e += co2;
            f.verified_yuan += yuan;
            f.investment_yuan += inv;
        }
    }
    for r in &rows {
        *f.by_status.entry(r.status).or_default() += 1;
        if let Some((tce, co2, yuan)) = r.expected {
            f.expected_tce += tce;
            f.expected_tco2e += co2;
            f.expected_yuan += yuan;
        }
        if let Some((tce, co2, yuan, inv)) = r.verified {
            f.verified_tce += tce;
            f.verified_tco2e += co2;
            f.verified_yuan += yuan;
            f.investment_yuan += inv;
        }
    }
    let accepted = rows.iter().filter(|r| accepted_or_further(r.status)).count();
    let rejected = rows.iter().filter(|r| r.status == Status::Rejected).count();
    let adopted = rows.iter().filter(|r| matches!(r.status, Status::Adopted | Status::Promoted)).count();
    f.acceptance_rate = (accepted + rejected > 0).then(|| accepted as f64 / (accepted + rejected) as f64);
    f.adoption_rate = (accepted > 0).then(|| adopted as f64 / accepted as f64);
    f.median_days_to_decision = median(rows.iter().filter_map(|r| days(r.submitted_at, r.decided_at)).collect());
    f.median_days_to_adoption = median(rows.iter().filter_map(|r| days(r.submitted_at, r.adopted_at)).collect());
    f.payback_years = (f.verified_yuan > 0.0).then(|| f.investment_yuan / f.verified_yuan);
    f
}

/// The group a proposal falls in; `None` when it has no value for that grouping (e.g. no studio yet).
pub fn group_key(r: &ImpactRow, by: GroupBy) -> Option<String> {
    if r.help && !matches!(by, GroupBy::Enterprise | GroupBy::Industry | GroupBy::Studio | GroupBy::Month) {
        return None;
    }
    match by {
        GroupBy::Challenge => r.challenge_id.map(|i| i.to_string()),
        GroupBy::Enterprise => r.enterprise_id.map(|i| i.to_string()),
        GroupBy::Industry => Some(r.industry.clone()),
        GroupBy::Studio => r.studio_id.map(|i| i.to_string()),
        // A proposal under blind review is never attributed to its team: with a narrow filter, a team
        // group would name the authors' team of the one proposal it isolates.
        GroupBy::Team => {
            r.team_id.filter(|_| !super::proposal::BLIND_STATUSES.contains(&r.status)).map(|i| i.to_string())
        }
        GroupBy::Category => Some(r.category.clone()),
        GroupBy::Month => r.submitted_at.map(|d| d.format("%Y-%m").to_string()),
    }
}

/// Totals and, when asked, figures per group (ordered by group key).
pub fn summarize(rows: &[ImpactRow], by: Option<GroupBy>) -> (Figures, Vec<(String, Figures)>) {
    let all: Vec<&ImpactRow> = rows.iter().collect();
    let totals = figures(&all);
    let Some(by) = by else { return (totals, vec![]) };
    let mut groups: BTreeMap<String, Vec<&ImpactRow>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.help || r.status != Status::Draft) {
        if let Some(k) = group_key(r, by) {
            groups.entry(k).or_default().push(r);
        }
    }
    (totals, groups.into_iter().map(|(k, rs)| (k, figures(&rs))).collect())
}

crate::string_enum! {
    /// Who a leaderboard ranks. 排行榜的对象。
    pub enum Board {
        /// Individual workers. 按个人。
        Workers = "WORKERS",
        /// Teams (班组). 按班组。
        Teams = "TEAMS",
    }
}

crate::string_enum! {
    /// What a leaderboard ranks by. 排行依据。
    pub enum Rank {
        /// By recognition points. 按积分。
        Points = "POINTS",
        /// By verified savings. 按核实节能量。
        VerifiedSavings = "VERIFIED_SAVINGS",
    }
}

/// One author of one proposal, as leaderboards need it.
#[derive(Clone, Debug)]
pub struct AuthorShare {
    pub proposal_id: i64,
    pub team_id: Option<i64>,
    pub user_id: Option<i64>,
    pub name: String,
    /// Points this author holds from this proposal.
    pub points: i64,
    /// Authors of the proposal (the verified savings are shared among them).
    pub authors: i64,
    /// (tce, tCO2e, yuan per year) verified for the whole proposal.
    pub verified: Option<(f64, f64, f64)>,
}

/// Who is ranked: a worker (a user, or an author known only by name) or a team.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LeaderKey {
    User(i64),
    Name(String),
    Team(i64),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Leader {
    pub key: LeaderKey,
    /// The author's name (empty for teams: the caller names them).
    pub name: String,
    pub points: i64,
    pub proposals: i64,
    pub verified_tce: f64,
    pub verified_tco2e: f64,
    pub verified_yuan: f64,
}

/// Ranks workers or teams. A worker is credited with their share of each proposal's verified savings (split
/// evenly among co-authors, as points are); a team with its proposals' whole savings and its members' points.
pub fn leaderboard(rows: &[AuthorShare], board: Board, rank: Rank, first: usize) -> Vec<Leader> {
    let mut by: BTreeMap<LeaderKey, (Leader, std::collections::BTreeSet<i64>)> = BTreeMap::new();
    for r in rows {
        let key = match (board, r.user_id, r.team_id) {
            (Board::Workers, Some(u), _) => LeaderKey::User(u),
            (Board::Workers, None, _) => LeaderKey::Name(r.name.clone()),
            (Board::Teams, _, Some(t)) => LeaderKey::Team(t),
            (Board::Teams, _, None) => continue,
        };
        let (l, seen) = by.entry(key.clone()).or_insert_with(|| {
            let name = if board == Board::Workers { r.name.clone() } else { String::new() };
            (
                Leader {
                    key,
                    name,
                    points: 0,
                    proposals: 0,
                    verified_tce: 0.0,
                    verified_tco2e: 0.0,
                    verified_yuan: 0.0,
                },
                Default::default(),
            )
        });
        l.points += r.points;
        let first_time = seen.insert(r.proposal_id);
        let share = match board {
            Board::Workers => 1.0 / r.authors.max(1) as f64,
            Board::Teams if first_time => 1.0,
            Board::Teams => 0.0,
        };
        if first_time {
            l.proposals += 1;
        }
        if let Some((tce, co2, yuan)) = r.verified {
            l.verified_tce += tce * share;
            l.verified_tco2e += co2 * share;
            l.verified_yuan += yuan * share;
        }
    }
    let mut out: Vec<Leader> = by.into_values().map(|(l, _)| l).collect();
    out.sort_by(|a, b| {
        let (pa, pb) = (a.points, b.points);
        let (ta, tb) = (a.verified_tce, b.verified_tce);
        match rank {
            Rank::Points => pb.cmp(&pa).then(tb.total_cmp(&ta)),
            Rank::VerifiedSavings => tb.total_cmp(&ta).then(pb.cmp(&pa)),
        }
        .then_with(|| a.key.cmp(&b.key))
    });
    out.truncate(first);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(status: Status, enterprise: i64, submitted_day: u32, decided_day: Option<u32>) -> ImpactRow {
        let day = |d: u32| Some(format!("2026-03-{d:02}T00:00:00Z").parse::<DateTime<Utc>>().unwrap());
        ImpactRow {
            enterprise_id: Some(enterprise),
            industry: "METALLURGY".into(),
            studio_id: None,
            team_id: None,
            category: "ENERGY_SAVING".into(),
            status,
            submitted_at: day(submitted_day),
            decided_at: decided_day.and_then(day),
            adopted_at: None,
            expected: Some((1.0, 2.0, 100.0)),
            verified: (status == Status::Adopted).then_some((10.0, 20.0, 1000.0, 2000.0)),
            help: false,
            challenge_id: None,
        }
    }

    #[test]
    fn resolved_help_counts_its_savings_with_its_studio_but_is_no_proposal() {
        let mut answer = row(Status::Adopted, 1, 1, Some(3));
        (answer.studio_id, answer.challenge_id) = (Some(5), Some(9));
        let help = ImpactRow {
            help: true,
            studio_id: Some(5),
            expected: None,
            verified: Some((4.0, 8.0, 400.0, 0.0)),
            ..row(Status::Adopted, 2, 4, None)
        };
        let rows = vec![answer, help, row(Status::Submitted, 1, 2, None)];
        let (t, by_studio) = summarize(&rows, Some(GroupBy::Studio));
        assert_eq!((t.proposals, t.help_requests), (2, 1));
        assert_eq!(t.verified_tce, 14.0);
        assert_eq!(t.adoption_rate, Some(1.0), "rates over proposals only: the one accepted is adopted");
        assert_eq!(t.expected_tce, 2.0, "expected savings are the proposals'");
        assert_eq!(by_studio, vec![("5".to_owned(), figures(&[&rows[0], &rows[1]]))]);
        assert_eq!(by_studio[0].1.verified_tce, 14.0);
        let (_, by_challenge) = summarize(&rows, Some(GroupBy::Challenge));
        assert_eq!(by_challenge.len(), 1, "only the answer");
        assert_eq!(by_challenge[0].0, "9");
        assert_eq!(by_challenge[0].1.verified_tce, 10.0, "the help request answers no challenge");
    }

    #[test]
    fn rates_medians_and_sums() {
        let rows = vec![
            row(Status::Adopted, 1, 1, Some(3)),
            row(Status::Accepted, 1, 1, Some(5)),
            row(Status::Rejected, 2, 2, Some(3)),
            row(Status::Submitted, 2, 4, None),
            row(Status::Draft, 2, 4, None),
        ];
        let (t, groups) = summarize(&rows, Some(GroupBy::Enterprise));
        assert_eq!(t.proposals, 4, "drafts never count");
        assert_eq!(t.acceptance_rate, Some(2.0 / 3.0));
        assert_eq!(t.adoption_rate, Some(0.5));
        assert_eq!(t.median_days_to_decision, Some(2.0), "days 2, 4, 1 → median 2");
        assert_eq!(t.expected_tce, 4.0);
        assert_eq!(t.verified_tce, 10.0);
        assert_eq!(t.payback_years, Some(2.0));
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].0, "1");
        assert_eq!(groups[0].1.proposals, 2);
        assert_eq!(groups[1].1.by_status.get(&Status::Rejected), Some(&1));
    }

    #[test]
    fn leaderboards_share_savings_among_coauthors_and_count_teams_once() {
        let share = |proposal_id, team, user: Option<i64>, name: &str, points, authors, tce: Option<f64>| AuthorShare {
            proposal_id,
            team_id: team,
            user_id: user,
            name: name.into(),
            points,
            authors,
            verified: tce.map(|t| (t, t * 2.0, t * 100.0)),
        };
        let rows = vec![
            share(1, Some(7), Some(1), "王强", 30, 2, Some(10.0)),
            share(1, Some(7), Some(2), "李娜", 30, 2, Some(10.0)),
            share(2, Some(7), Some(2), "李娜", 10, 1, None),
            share(3, None, None, "赵工", 100, 1, Some(3.0)),
        ];
        let w = leaderboard(&rows, Board::Workers, Rank::Points, 10);
        assert_eq!(
            w.iter().map(|l| (l.name.as_str(), l.points)).collect::<Vec<_>>(),
            [("赵工", 100), ("李娜", 40), ("王强", 30)]
        );
        assert_eq!(w[1].verified_tce, 5.0, "half of proposal 1");
        assert_eq!(w[1].proposals, 2);
        let by_savings = leaderboard(&rows, Board::Workers, Rank::VerifiedSavings, 2);
        assert_eq!(by_savings.len(), 2);
        assert_eq!(by_savings[0].key, LeaderKey::User(2), "5 tce, ahead of 王强 on points");
        assert_eq!(by_savings[1].key, LeaderKey::User(1));
        let t = leaderboard(&rows, Board::Teams, Rank::VerifiedSavings, 10);
        assert_eq!(t.len(), 1, "a proposal without a team ranks no team");
        assert_eq!((t[0].points, t[0].proposals, t[0].verified_tce), (70, 2, 10.0), "proposal 1 counted once");
    }
}
