//! Recognition points: awarded at submission, acceptance, adoption and promotion, shared among the authors.

crate::string_enum! {
    /// What earns recognition points. 积分来由。
    pub enum PointsReason {
        /// Submitting a proposal. 提交提案。
        Submission = "SUBMISSION",
        /// A proposal accepted. 提案被采纳。
        Acceptance = "ACCEPTANCE",
        /// A proposal adopted with verified savings. 提案推广应用并核实节能。
        Adoption = "ADOPTION",
        /// A proposal promoted into the industry catalogue. 提案入选行业目录。
        Promotion = "PROMOTION",
        /// An answer a challenge awarded when it closed. 应答被攻关课题评为获奖。
        ChallengeAward = "CHALLENGE_AWARD",
    }
}

impl PointsReason {
    pub fn points(self) -> i64 {
        match self {
            PointsReason::Submission => 10,
            PointsReason::Acceptance => 30,
            PointsReason::Adoption => 60,
            PointsReason::Promotion => 100,
            PointsReason::ChallengeAward => 50,
        }
    }

    /// Green-skill credits (usable in skill-level assessment) that the milestone earns, shared like points.
    pub fn credits(self) -> f64 {
        match self {
            PointsReason::Submission | PointsReason::Acceptance => 0.0,
            PointsReason::Adoption => 1.0,
            PointsReason::Promotion => 2.0,
            PointsReason::ChallengeAward => 1.0,
        }
    }
}

/// Splits `total` among `n` authors: equal integer shares, the remainder to the first (primary) authors.
pub fn split(total: i64, n: usize) -> Vec<i64> {
    if n == 0 {
        return vec![];
    }
    let n = n as i64;
    (0..n).map(|i| total / n + i64::from(i < total % n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up() {
        assert_eq!(split(10, 3), vec![4, 3, 3]);
        assert_eq!(split(100, 2), vec![50, 50]);
        assert_eq!(split(30, 1), vec![30]);
        for n in 1..7 {
            for reason in PointsReason::ALL {
                assert_eq!(split(reason.points(), n).iter().sum::<i64>(), reason.points());
            }
        }
    }
}
