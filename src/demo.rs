//! `greenline demo`: a realistic, deterministic Chinese data set for first contact — six enterprises in
//! the three industries, their teams, studios and people, and 216 proposals spread over every lifecycle
//! state, driven through the real journey operations (so events, points, savings and the search index
//! are exactly what the product would have produced), over the past year.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::{
    db::{users::NewUser, users::UserRow, Db},
    domain::{
        lifecycle::Status,
        organisation::{Industry, Role},
        proposal::Category,
        savings::{Carrier, Savings},
    },
    error::AppResult,
    journey::{
        pilot::MilestoneInput,
        promotion::TechniqueFields,
        proposals::{ProposalFields, Submission},
        review::{DecisionOutcome, ScoreInput},
    },
};

const ENTERPRISES: &[(&str, Industry, &str)] = &[
    ("华东特钢示范厂", Industry::Metallurgy, "上海"),
    ("北方钢铁联合厂", Industry::Metallurgy, "河北"),
    ("江南重型机械厂", Industry::Machinery, "江苏"),
    ("齐鲁动力装备厂", Industry::Machinery, "山东"),
    ("皖南水泥示范线", Industry::BuildingMaterials, "安徽"),
    ("中原玻璃新材料厂", Industry::BuildingMaterials, "河南"),
];

const EQUIPMENT: [&[&str]; 3] = [
    &["转炉", "高炉", "加热炉", "烧结机", "电弧炉", "轧机", "干熄焦装置", "鼓风机"],
    &["数控机床", "空压机", "热处理炉", "液压系统", "铸造电炉", "喷涂线", "冷却塔", "车间照明"],
    &["回转窑", "篦冷机", "立磨", "辊压机", "玻璃熔窑", "余热锅炉", "循环水泵", "除尘风机"],
];
const WASTE: &[&str] = &[
    "烟气余热直接排放",
    "长期低负荷空转",
    "压缩空气泄漏严重",
    "冷却水直排",
    "保温层老化散热大",
    "定速运行浪费电能",
    "峰时段集中用电",
];
const MEASURE: &[(&str, Category)] = &[
    ("余热回收", Category::EnergySaving),
    ("变频改造", Category::EnergySaving),
    ("泄漏治理", Category::CleanProduction),
    ("循环利用", Category::CircularEconomy),
    ("保温改造", Category::EnergySaving),
    ("错峰生产", Category::EmissionReduction),
    ("燃烧优化", Category::GreenProcess),
];
const NAMES: &[&str] =
    &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭"];
/// The state each proposal is driven to, in rotation.
const TARGETS: [Status; 12] = [
    Status::Promoted,
    Status::Adopted,
    Status::Incubating,
    Status::Accepted,
    Status::Evaluating,
    Status::Submitted,
    Status::Returned,
    Status::Rejected,
    Status::Withdrawn,
    Status::Draft,
    Status::Adopted,
    Status::Evaluating,
];
pub const PROPOSALS_PER_ENTERPRISE: usize = 36;
pub const ENTERPRISE_COUNT: usize = ENTERPRISES.len();

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

struct Plant {
    workers: Vec<UserRow>,
    reviewers: Vec<UserRow>,
    lead: UserRow,
    admin: UserRow,
}

/// What `fill` made, and tokens for a few of the people in it.
pub struct Filled {
    pub proposals: usize,
    pub techniques: usize,
    pub tokens: Vec<(String, Role, String)>,
}

async fn person(
    db: &Db,
    name: String,
    role: Role,
    e: &(&str, Industry, &str),
    team: Option<&str>,
    studio: Option<&str>,
) -> AppResult<(UserRow, String)> {
    db.create_user(&NewUser {
        name,
        role,
        enterprise: Some(e.0.to_owned()),
        industry: Some(e.1),
        team: team.map(str::to_owned),
        studio: studio.map(str::to_owned),
        ..NewUser::demo()
    })
    .await
}

/// Runs one journey step in its own transaction.
macro_rules! step {
    ($db:expr, |$tx:ident| $body:expr) => {
        $db.write(move |$tx| Box::pin(async move { $body })).await?
    };
}

pub async fn fill(db: &Db) -> AppResult<Filled> {
    let mut rng = Rng(20261129);
    let mut tokens = vec![];
    let mut plants = vec![];
    for (i, e) in ENTERPRISES.iter().enumerate() {
        let studio = format!("{}劳模创新工作室", NAMES[i]);
        let mut workers = vec![];
        for w in 0..4 {
            let team = if w % 2 == 0 { "一班" } else { "二班" };
            let (u, t) =
                person(db, format!("{}师傅{}", NAMES[(i + w) % NAMES.len()], w + 1), Role::Worker, e, Some(team), None)
                    .await?;
            if i == 0 && w == 0 {
                tokens.push((u.name.clone(), Role::Worker, t));
            }
            workers.push(u);
        }
        let mut reviewers = vec![];
        for r in 0..2 {
            let (u, t) = person(
                db,
                format!("{}专家{}", NAMES[(i + r + 5) % NAMES.len()], r + 1),
                Role::Reviewer,
                e,
                Some("技术组"),
                Some(&studio),
            )
            .await?;
            if i == 0 && r == 0 {
                tokens.push((u.name.clone(), Role::Reviewer, t));
            }
            reviewers.push(u);
        }
        let (lead, t) =
            person(db, format!("{}劳模", NAMES[(i + 9) % NAMES.len()]), Role::StudioLead, e, None, Some(&studio))
                .await?;
        if i == 0 {
            tokens.push((lead.name.clone(), Role::StudioLead, t));
        }
        let (admin, t) =
            person(db, format!("{}主任", NAMES[(i + 12) % NAMES.len()]), Role::EnterpriseAdmin, e, None, None).await?;
        if i == 0 {
            tokens.push((admin.name.clone(), Role::EnterpriseAdmin, t));
        }
        plants.push(Plant { workers, reviewers, lead, admin });
    }
    let association = db
        .create_user(&NewUser {
            name: "行业协会秘书处".into(),
            role: Role::Association,
            enterprise: None,
            industry: None,
            team: None,
            studio: None,
            ..NewUser::demo()
        })
        .await?;
    tokens.push((association.0.name.clone(), Role::Association, association.1));
    let platform = db
        .create_user(&NewUser {
            name: "平台管理员".into(),
            role: Role::Admin,
            enterprise: None,
            industry: None,
            team: None,
            studio: None,
            ..NewUser::demo()
        })
        .await?;
    tokens.push((platform.0.name.clone(), Role::Admin, platform.1));
    let association = association.0;

    let start = Utc::now() - Duration::days(365);
    let mut proposals = 0;
    let mut techniques: Vec<i64> = vec![];
    // Waiting proposals that another worker of the same plant will tell again (duplicates, below).
    let mut retold: Vec<(usize, i64, &str, &str, &str, DateTime<Utc>)> = vec![];
    for (pi, plant) in plants.iter().enumerate() {
        let industry_ix = pi / 2;
        for k in 0..PROPOSALS_PER_ENTERPRISE {
            let target = TARGETS[(k + pi) % TARGETS.len()];
            let eq = EQUIPMENT[industry_ix][rng.below(EQUIPMENT[industry_ix].len())];
            let (measure, category) = MEASURE[rng.below(MEASURE.len())];
            let waste = WASTE[rng.below(WASTE.len())];
            let kwh = (rng.below(40) as f64 + 5.0) * 10_000.0;
            let coal = rng.below(80) as f64;
            let money = kwh * 0.6 + coal * 900.0;
            let author = plant.workers[k % plant.workers.len()].clone();
            let co = plant.workers[(k + 1) % plant.workers.len()].id;
            let fields = ProposalFields {
                challenge_id: None,
                title: Some(format!("{eq}{measure}")),
                body: Some(format!(
                    "目前{eq}{waste}。建议实施{measure}，预计年节电{:.0}万千瓦时、节约标煤{coal:.0}吨。",
                    kwh / 10_000.0
                )),
                category: Some(category),
                tags: Some(vec![eq.to_owned(), measure.to_owned()]),
                co_author_ids: (k % 3 == 0).then(|| vec![co]),
                expected_savings: Some(Savings {
                    electricity_kwh: kwh,
                    coal_t: coal,
                    money_yuan: money,
                    investment_yuan: money * 1.5,
                    ..Default::default()
                }),
                ..Default::default()
            };
            // Each proposal moves through the year: created on day d, later steps a few days apart.
            let day0 = start
                // at most 240 days in: its last step (day 120) is still before today
                + Duration::days((k as i64 * 9 + pi as i64 * 3) % 240)
                + Duration::hours(rng.below(10) as i64 + 8);
            let at = move |n: i64| -> DateTime<Utc> { day0 + Duration::days(n) };
            proposals += 1;
            let a = author.clone();
            let row = step!(db, |tx| crate::journey::proposals::create(tx, &a, fields, at(0)).await);
            let id = row.id;
            if target == Status::Draft {
                continue;
            }
            let a = author.clone();
            let row = step!(db, |tx| crate::journey::proposals::submit(
                tx,
                &a,
                Submission::Existing { id, expected_version: 1 },
                None,
                at(1)
            )
            .await);
            if target == Status::Withdrawn {
                let a = author.clone();
                step!(db, |tx| crate::journey::proposals::withdraw(
                    tx,
                    &a,
                    id,
                    row.version,
                    Some("与已有建议重复，撤回"),
                    at(3)
                )
                .await);
                continue;
            }
            if target == Status::Submitted {
                if !retold.iter().any(|r| r.0 == pi) {
                    retold.push((pi, id, eq, measure, waste, at(1)));
                }
                continue;
            }
            let (lead, reviewer_ids) = (plant.lead.clone(), plant.reviewers.iter().map(|r| r.id).collect::<Vec<_>>());
            let due = (at(2) + Duration::days(14)).date_naive();
            let row = step!(db, |tx| crate::journey::review::assign_reviewers(
                tx,
                &lead,
                id,
                row.version,
                &reviewer_ids,
                Some(due),
                at(2)
            )
            .await);
            let evaluations = if target == Status::Evaluating { k % 2 } else { 2 };
            for reviewer in plant.reviewers.iter().take(evaluations) {
                let r = reviewer.clone();
                let base = 5.0 + rng.below(5) as f64;
                let scores: Vec<ScoreInput> = [
                    "ENERGY_EMISSION_EFFECT",
                    "ECONOMIC_BENEFIT",
                    "TECHNICAL_FEASIBILITY",
                    "NOVELTY",
                    "PROMOTION_POTENTIAL",
                ]
                .iter()
                .enumerate()
                .map(|(j, c)| ScoreInput {
                    criterion: (*c).into(),
                    score: (base + j as f64 % 3.0 - 1.0).clamp(0.0, 10.0),
                })
                .collect();
                let forecast = Savings {
                    electricity_kwh: kwh * 0.9,
                    coal_t: coal * 0.8,
                    money_yuan: money * 0.85,
                    ..Default::default()
                };
                step!(db, |tx| crate::journey::review::submit_evaluation(
                    tx,
                    &r,
                    id,
                    scores,
                    "数据基本可信，建议试点验证",
                    Some(forecast),
                    at(5)
                )
                .await);
            }
            if target == Status::Evaluating {
                continue;
            }
            let (outcome, reason) = match target {
                Status::Returned => (DecisionOutcome::Return, "请补充现状能耗测算依据"),
                Status::Rejected => (DecisionOutcome::Reject, "投资过大，回收期超过五年"),
                _ => (DecisionOutcome::Accept, "节能效果明显，同意立项试点"),
            };
            let lead = plant.lead.clone();
            let row =
                step!(db, |tx| crate::journey::review::decide(tx, &lead, id, row.version, outcome, reason, 2, at(8))
                    .await);
            if matches!(target, Status::Returned | Status::Rejected | Status::Accepted) {
                continue;
            }
            let lead = plant.lead.clone();
            let milestones = vec![
                MilestoneInput { title: "方案设计".into(), due_on: Some(at(20).date_naive()) },
                MilestoneInput { title: "安装调试".into(), due_on: Some(at(45).date_naive()) },
            ];
            let row = step!(db, |tx| crate::journey::pilot::start_pilot(
                tx,
                &lead,
                id,
                row.version,
                "先在一条产线试点三个月",
                milestones,
                at(10)
            )
            .await);
            let period =
                move |from: i64| -> (NaiveDate, NaiveDate) { (at(from).date_naive(), at(from + 29).date_naive()) };
            for (carrier, baseline, after) in [
                (Carrier::Electricity, kwh / 12.0 * 1.2, kwh / 12.0 * 0.2),
                (Carrier::Coal, coal / 12.0 + 10.0, 10.0),
                (Carrier::Money, money / 12.0 + 50_000.0, 50_000.0),
            ] {
                let admin = plant.admin.clone();
                step!(db, |tx| crate::journey::pilot::record_measurement(
                    tx,
                    &admin,
                    id,
                    carrier,
                    baseline,
                    after,
                    period(40),
                    "试点线实测",
                    at(75)
                )
                .await);
            }
            if target == Status::Incubating {
                continue;
            }
            let admin = plant.admin.clone();
            let row = step!(db, |tx| crate::journey::pilot::confirm_adoption(
                tx,
                &admin,
                id,
                row.version,
                Some(money * 1.4),
                Some("财务核实"),
                at(80)
            )
            .await);
            if target == Status::Adopted {
                continue;
            }
            let assoc = association.clone();
            let merge = techniques.iter().copied().nth(k % 4).filter(|_| k % 5 == 0);
            let (_, t) = step!(db, |tx| crate::journey::promotion::promote(
                tx,
                &assoc,
                id,
                row.version,
                merge,
                TechniqueFields::default(),
                at(90)
            )
            .await);
            if merge.is_none() {
                techniques.push(t.id);
                // Another enterprise of the same industry adopts it.
                let other = &plants[pi ^ 1];
                let (admin, other_enterprise) = (other.admin.clone(), other.admin.enterprise_id.unwrap_or_default());
                let reported = Savings {
                    electricity_kwh: kwh * 0.7,
                    coal_t: coal * 0.6,
                    money_yuan: money * 0.7,
                    investment_yuan: money,
                    ..Default::default()
                };
                step!(db, |tx| crate::journey::promotion::record_adoption(
                    tx,
                    &admin,
                    t.id,
                    other_enterprise,
                    at(120).date_naive(),
                    reported,
                    "参照示范厂经验推广",
                    at(120)
                )
                .await);
            }
        }
    }
    // Duplicates, as they happen: another worker tells the same idea in their own words. The lead closes
    // most as duplicates (in the first plant crediting the second author on the original); one per plant
    // stays open, for the studio to see beside it.
    for (n, (pi, original, eq, measure, waste, when)) in retold.into_iter().enumerate() {
        let plant = &plants[pi];
        let authors = step!(db, |tx| tx.authors(original).await);
        let others: Vec<&UserRow> =
            plant.workers.iter().filter(|w| !authors.iter().any(|a| a.user_id == Some(w.id))).collect();
        for (j, later) in [(0, 4), (1, 6)] {
            let teller = others[(n + j) % others.len()].clone();
            let fields = ProposalFields {
                challenge_id: None,
                title: Some(if j == 0 { format!("关于{eq}的建议") } else { format!("{eq}问题") }),
                body: Some(format!("我们班组发现{eq}{waste}，很浪费。提议搞一下{measure}，一年应该能省不少电和煤。")),
                category: Some(Category::EnergySaving),
                ..Default::default()
            };
            let at = when + Duration::days(later);
            proposals += 1;
            let row =
                step!(db, |tx| crate::journey::proposals::submit(tx, &teller, Submission::New(fields), None, at).await);
            if j == 1 {
                continue;
            }
            let lead = plant.lead.clone();
            let reason = format!("与本厂已提交的“{eq}{measure}”建议相同");
            step!(db, |tx| crate::journey::duplicates::mark_duplicate(
                tx,
                &lead,
                row.id,
                row.version,
                original,
                &reason,
                at + Duration::days(1)
            )
            .await);
            if pi == 0 {
                let lead = plant.lead.clone();
                let version = step!(db, |tx| crate::journey::proposals::reload(tx, original).await).version;
                step!(db, |tx| crate::journey::duplicates::credit_as_coauthor(
                    tx,
                    &lead,
                    row.id,
                    version,
                    at + Duration::days(2)
                )
                .await);
            }
        }
    }
    Ok(Filled { proposals, techniques: techniques.len(), tokens })
}
