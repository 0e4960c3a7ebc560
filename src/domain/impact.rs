//! Impact arithmetic: what the proposals a viewer may see add up to, in total and per group.
//! Drafts never count. Expected and verified savings are summed apart, never mixed.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::lifecycle::Status;

crate::string_enum! {
    pub enum GroupBy {
        Enterprise = "ENTERPRISE",
        Industry = "INDUSTRY",
        Studio = "STUDIO",
        Team = "TEAM",
        Category = "CATEGORY",
        Month = "MONTH",
    }
}

/// One proposal, as the impact figures need it.
#[derive(Clone, Debug)]
pub struct ImpactRow {
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
    let rows: Vec<&&ImpactRow> = rows.iter().filter(|r| r.status != Status::Draft).collect();
    let mut f = Figures { proposals: rows.len() as i64, ..Figures::default() };
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
    match by {
        GroupBy::Enterprise => r.enterprise_id.map(|i| i.to_string()),
        GroupBy::Industry => Some(r.industry.clone()),
        GroupBy::Studio => r.studio_id.map(|i| i.to_string()),
        GroupBy::Team => r.team_id.map(|i| i.to_string()),
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
    for r in rows.iter().filter(|r| r.status != Status::Draft) {
        if let Some(k) = group_key(r, by) {
            groups.entry(k).or_default().push(r);
        }
    }
    (totals, groups.into_iter().map(|(k, rs)| (k, figures(&rs))).collect())
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
        }
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
}
