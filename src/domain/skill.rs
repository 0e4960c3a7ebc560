//! The green-skill record (绿色技能档案): a worker's green contributions as an assessor of a skill level
//! (职业技能等级认定) would read them — by category and role, how far they went, the worker's share of the
//! verified savings (split among co-authors, as leaderboards split them), credits, challenges answered.
//! Pure; the server signs it (`domain::proof`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::lifecycle::Status;

/// One proposal the person (co-)wrote.
#[derive(Clone, Debug)]
pub struct Authored {
    pub proposal_id: i64,
    pub title: String,
    pub category: String,
    pub status: Status,
    /// 0 for the primary author.
    pub position: i64,
    pub authors: i64,
    pub answers_challenge: bool,
    /// Verified (tce, tCO2e) per year, when measured.
    pub verified: Option<(f64, f64)>,
}

#[derive(Serialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CategoryLine {
    pub category: String,
    pub as_primary_author: i64,
    pub as_co_author: i64,
    pub accepted: i64,
    pub adopted: i64,
    pub promoted: i64,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ContributionLine {
    pub proposal_id: i64,
    pub title: String,
    pub category: String,
    pub status: String,
    /// PRIMARY_AUTHOR or CO_AUTHOR.
    pub role: String,
    pub share_tce: f64,
    pub share_tco2e: f64,
}

#[derive(Serialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SkillRecord {
    pub submitted: i64,
    pub accepted: i64,
    pub adopted: i64,
    pub promoted: i64,
    pub evaluations_given: i64,
    pub verified_tce: f64,
    pub verified_tco2e: f64,
    pub points: i64,
    pub credits: f64,
    pub challenges_answered: i64,
    pub challenge_awards: i64,
    pub by_category: Vec<CategoryLine>,
    pub contributions: Vec<ContributionLine>,
}

fn reached(status: Status, at_least: Status) -> bool {
    use Status::*;
    let rank = |s: Status| match s {
        Accepted => 1,
        Incubating => 2,
        Adopted => 3,
        Promoted => 4,
        _ => 0,
    };
    rank(status) >= rank(at_least)
}

/// The record from what the person (co-)wrote (drafts and withdrawn proposals are left out), the
/// evaluations they gave, their ledger's points and credits, and their challenge awards.
pub fn record(
    authored: &[Authored],
    evaluations_given: i64,
    points: i64,
    credits: f64,
    challenge_awards: i64,
) -> SkillRecord {
    let mut r = SkillRecord { evaluations_given, points, credits, challenge_awards, ..SkillRecord::default() };
    let mut categories: BTreeMap<String, CategoryLine> = BTreeMap::new();
    for a in authored.iter().filter(|a| !matches!(a.status, Status::Draft | Status::Withdrawn)) {
        let line = categories
            .entry(a.category.clone())
            .or_insert_with(|| CategoryLine { category: a.category.clone(), ..CategoryLine::default() });
        if a.position == 0 {
            line.as_primary_author += 1;
        } else {
            line.as_co_author += 1;
        }
        r.submitted += 1;
        for (at_least, total, per) in [
            (Status::Accepted, &mut r.accepted, &mut line.accepted),
            (Status::Adopted, &mut r.adopted, &mut line.adopted),
            (Status::Promoted, &mut r.promoted, &mut line.promoted),
        ] {
            if reached(a.status, at_least) {
                *total += 1;
                *per += 1;
            }
        }
        if a.answers_challenge {
            r.challenges_answered += 1;
        }
        let share = 1.0 / a.authors.max(1) as f64;
        let (tce, co2) = a.verified.map(|(t, c)| (t * share, c * share)).unwrap_or((0.0, 0.0));
        r.verified_tce += tce;
        r.verified_tco2e += co2;
        r.contributions.push(ContributionLine {
            proposal_id: a.proposal_id,
            title: a.title.clone(),
            category: a.category.clone(),
            status: a.status.as_str().to_owned(),
            role: if a.position == 0 { "PRIMARY_AUTHOR" } else { "CO_AUTHOR" }.to_owned(),
            share_tce: tce,
            share_tco2e: co2,
        });
    }
    r.by_category = categories.into_values().collect();
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(
        id: i64,
        category: &str,
        status: Status,
        position: i64,
        authors: i64,
        verified: Option<(f64, f64)>,
    ) -> Authored {
        Authored {
            proposal_id: id,
            title: format!("提案{id}"),
            category: category.into(),
            status,
            position,
            authors,
            answers_challenge: id == 2,
            verified,
        }
    }

    #[test]
    fn a_record_counts_how_far_each_went_and_shares_savings() {
        let r = record(
            &[
                a(1, "ENERGY_SAVING", Status::Promoted, 0, 2, Some((10.0, 26.0))),
                a(2, "ENERGY_SAVING", Status::Adopted, 1, 4, Some((8.0, 20.0))),
                a(3, "CLEAN_PRODUCTION", Status::Rejected, 0, 1, None),
                a(4, "ENERGY_SAVING", Status::Draft, 0, 1, None),
                a(5, "CLEAN_PRODUCTION", Status::Incubating, 0, 1, None),
            ],
            3,
            145,
            2.5,
            1,
        );
        assert_eq!((r.submitted, r.accepted, r.adopted, r.promoted), (4, 3, 2, 1));
        assert!((r.verified_tce - (5.0 + 2.0)).abs() < 1e-9);
        assert!((r.verified_tco2e - (13.0 + 5.0)).abs() < 1e-9);
        assert_eq!(r.challenges_answered, 1);
        assert_eq!(
            r.by_category,
            [
                CategoryLine {
                    category: "CLEAN_PRODUCTION".into(),
                    as_primary_author: 2,
                    as_co_author: 0,
                    accepted: 1,
                    adopted: 0,
                    promoted: 0
                },
                CategoryLine {
                    category: "ENERGY_SAVING".into(),
                    as_primary_author: 1,
                    as_co_author: 1,
                    accepted: 2,
                    adopted: 2,
                    promoted: 1
                },
            ]
        );
        assert_eq!(r.contributions.len(), 4);
        assert_eq!(r.contributions[1].role, "CO_AUTHOR");
    }
}
