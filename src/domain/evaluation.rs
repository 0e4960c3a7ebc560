//! Published evaluation criteria (算法公示), score validation and the aggregate of a round.

use std::collections::BTreeMap;

pub const SCORE_MIN: f64 = 0.0;
pub const SCORE_MAX: f64 = 10.0;

#[derive(Clone, Debug, PartialEq)]
pub struct Criterion {
    pub key: &'static str,
    pub name: &'static str,
    pub weight: f64,
    pub description: &'static str,
}

/// Version 1 of the criteria, published with the platform.
pub fn default_criteria() -> Vec<Criterion> {
    let c = |key, name, weight, description| Criterion { key, name, weight, description };
    vec![
        c(
            "ENERGY_EMISSION_EFFECT",
            "节能减排效果 energy/emission effect",
            30.0,
            "tce and tCO2e saved per year relative to the process today",
        ),
        c("ECONOMIC_BENEFIT", "经济效益 economic benefit", 25.0, "money saved per year and payback period"),
        c(
            "TECHNICAL_FEASIBILITY",
            "技术可行性 technical feasibility",
            20.0,
            "can it be done safely with the plant's equipment and skills",
        ),
        c("NOVELTY", "创新性 novelty", 15.0, "new to the enterprise or the industry"),
        c(
            "PROMOTION_POTENTIAL",
            "推广潜力 promotion potential",
            10.0,
            "how many other lines or enterprises could use it",
        ),
    ]
}

/// A criterion as stored: key and weight are what the arithmetic needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Weighted {
    pub key: String,
    pub weight: f64,
}

/// Checks that `scores` has exactly one score in range for every criterion; returns them by key.
pub fn validate_scores(criteria: &[Weighted], scores: &[(String, f64)]) -> Result<BTreeMap<String, f64>, String> {
    let mut out = BTreeMap::new();
    for (key, score) in scores {
        if !criteria.iter().any(|c| &c.key == key) {
            return Err(format!("unknown criterion {key} / 未知的评价指标 {key}"));
        }
        if !score.is_finite() || *score < SCORE_MIN || *score > SCORE_MAX {
            return Err(format!("score for {key} must be between {SCORE_MIN} and {SCORE_MAX} / 评分须在0到10之间"));
        }
        if out.insert(key.clone(), *score).is_some() {
            return Err(format!("criterion {key} scored twice / 指标 {key} 重复评分"));
        }
    }
    if let Some(missing) = criteria.iter().find(|c| !out.contains_key(&c.key)) {
        return Err(format!("criterion {} has no score / 指标 {} 未评分", missing.key, missing.key));
    }
    Ok(out)
}

/// Weighted mean on the 0–10 scale.
pub fn weighted_score(criteria: &[Weighted], scores: &BTreeMap<String, f64>) -> f64 {
    let total: f64 = criteria.iter().map(|c| c.weight).sum();
    if total <= 0.0 {
        return 0.0;
    }
    criteria.iter().map(|c| c.weight * scores.get(&c.key).copied().unwrap_or(0.0)).sum::<f64>() / total
}

/// Per-criterion statistics over the evaluations of a round.
#[derive(Clone, Debug, PartialEq)]
pub struct CriterionStats {
    pub key: String,
    pub weight: f64,
    pub mean: f64,
    /// Population standard deviation: how much the reviewers disagree.
    pub spread: f64,
    pub min: f64,
    pub max: f64,
}

pub fn aggregate(criteria: &[Weighted], evaluations: &[BTreeMap<String, f64>]) -> (Option<f64>, Vec<CriterionStats>) {
    if evaluations.is_empty() {
        return (None, vec![]);
    }
    let n = evaluations.len() as f64;
    let stats = criteria
        .iter()
        .map(|c| {
            let xs: Vec<f64> = evaluations.iter().map(|e| e.get(&c.key).copied().unwrap_or(0.0)).collect();
            let mean = xs.iter().sum::<f64>() / n;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
            CriterionStats {
                key: c.key.clone(),
                weight: c.weight,
                mean,
                spread: var.sqrt(),
                min: xs.iter().copied().fold(f64::INFINITY, f64::min),
                max: xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            }
        })
        .collect();
    let overall = evaluations.iter().map(|e| weighted_score(criteria, e)).sum::<f64>() / n;
    (Some(overall), stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn criteria() -> Vec<Weighted> {
        default_criteria().into_iter().map(|c| Weighted { key: c.key.into(), weight: c.weight }).collect()
    }

    fn scores(v: [f64; 5]) -> Vec<(String, f64)> {
        criteria().iter().zip(v).map(|(c, s)| (c.key.clone(), s)).collect()
    }

    #[test]
    fn default_weights_sum_to_100() {
        assert_eq!(default_criteria().iter().map(|c| c.weight).sum::<f64>(), 100.0);
    }

    #[test]
    fn validation_demands_every_criterion_in_range() {
        assert!(validate_scores(&criteria(), &scores([8.0, 7.0, 6.0, 5.0, 4.0])).is_ok());
        assert!(validate_scores(&criteria(), &scores([8.0, 7.0, 6.0, 5.0, 11.0])).is_err());
        assert!(validate_scores(&criteria(), &scores([8.0, 7.0, 6.0, 5.0, 4.0])[..4]).is_err());
        let mut dup = scores([1.0; 5]);
        dup.push(dup[0].clone());
        assert!(validate_scores(&criteria(), &dup).is_err());
    }

    #[test]
    fn weighted_mean_and_spread() {
        let c = criteria();
        let a = validate_scores(&c, &scores([10.0, 10.0, 10.0, 10.0, 10.0])).unwrap();
        let b = validate_scores(&c, &scores([6.0, 8.0, 5.0, 0.0, 10.0])).unwrap();
        // b: (30·6 + 25·8 + 20·5 + 15·0 + 10·10) / 100 = 5.8
        assert!((weighted_score(&c, &b) - 5.8).abs() < 1e-12);
        let (overall, stats) = aggregate(&c, &[a, b]);
        assert!((overall.unwrap() - 7.9).abs() < 1e-12);
        assert_eq!(stats[0].mean, 8.0);
        assert_eq!(stats[0].spread, 2.0);
        assert_eq!((stats[3].min, stats[3].max), (0.0, 10.0));
    }
}
