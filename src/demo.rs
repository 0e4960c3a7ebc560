//! `greenline demo`: a realistic, deterministic Chinese data set for first contact — six enterprises in
//! the three industries, their teams, studios and people, and 216 proposals spread over every lifecycle
//! state, driven through the real journey operations (so events, points, savings and the search index
//! are exactly what the product would have produced), over the past year.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::{
    db::{users::NewUser, users::UserRow, Db},
    domain::{
        challenge::ChallengeScope,
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
    pub challenges: usize,
    pub help_requests: usize,
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
        // The studio, with what it is known for (help requests' studio suggestions read it): three of its
        // industry's kinds of equipment.
        let (eid, name, specialties) = (
            workers[0].enterprise_id.unwrap_or_default(),
            studio.clone(),
            EQUIPMENT[i / 2][i % 2 * 3..][..3].join(","),
        );
        step!(db, |tx| tx.insert_studio(eid, &name, &specialties, None, Utc::now()).await);
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
    // Every proposal made, by plant, with the state it is driven to and its author: challenges draw on them.
    let mut made: Vec<(usize, i64, Status, UserRow)> = vec![];
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
            made.push((pi, id, target, author.clone()));
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
    let (challenges, help_requests) = challenges_and_help(db, &plants, &association, &made, &techniques, start).await?;
    oversight(db, &made, &platform.0, &mut tokens).await?;
    Ok(Filled { proposals, techniques: techniques.len(), challenges, help_requests, tokens })
}

/// The first plant's oversight group: a worker representative; the latest rejection there appealed by its
/// author, with the group's opinion, waiting for the studio lead; and a change of weights the platform admin
/// proposed two days ago, waiting for an overseer. Nothing after today.
async fn oversight(
    db: &Db,
    made: &[(usize, i64, Status, UserRow)],
    platform: &UserRow,
    tokens: &mut Vec<(String, Role, String)>,
) -> AppResult<()> {
    let (overseer, t) = person(db, "刘代表".into(), Role::Overseer, &ENTERPRISES[0], Some("三班"), None).await?;
    tokens.insert(1, (overseer.name.clone(), Role::Overseer, t));
    let now = Utc::now();
    let rejected =
        made.iter().filter(|(pi, _, s, _)| *pi == 0 && *s == Status::Rejected).map(|m| m.1).collect::<Vec<_>>();
    if let Some(&id) = rejected.last() {
        let row = step!(db, |tx| crate::journey::proposals::reload(tx, id).await);
        let authors = step!(db, |tx| tx.authors(id).await);
        let author_id = authors.first().and_then(|a| a.user_id);
        let author = made.iter().find(|m| Some(m.3.id) == author_id).map(|m| m.3.clone());
        if let (Some(author), Some(decided)) = (author, row.decided_at) {
            let at = move |days: i64| (decided + Duration::days(days)).min(now);
            let appeal = step!(db, |tx| crate::journey::oversight::appeal(
                tx,
                &author,
                id,
                "两位评审的加权分都在7分以上，“投资过大”的理由没有给出测算，请按公布的评审标准复核。",
                36_500,
                at(3)
            )
            .await);
            let o = overseer.clone();
            step!(db, |tx| crate::journey::oversight::opinion(
                tx,
                &o,
                appeal.id,
                appeal.version,
                "评分高于分数线，不采纳理由缺少投资回收期测算，建议补充测算后重新评审。",
                at(6)
            )
            .await);
        }
    }
    let mut criteria: Vec<crate::journey::oversight::CriterionInput> = crate::domain::evaluation::default_criteria()
        .into_iter()
        .map(|c| crate::journey::oversight::CriterionInput {
            key: c.key.into(),
            name: c.name.into(),
            weight: c.weight,
            description: c.description.into(),
        })
        .collect();
    criteria[0].weight = 35.0;
    criteria[1].weight = 20.0;
    let admin = platform.clone();
    step!(db, |tx| crate::journey::oversight::propose_rules(
        tx,
        &admin,
        crate::journey::oversight::RuleContent::Criteria(criteria),
        "“双碳”目标下提高节能减排效果的权重（30→35），经济效益相应降低（25→20）。",
        now - Duration::days(2)
    )
    .await);
    Ok(())
}

/// Challenges and help requests, as a year of them would leave things: a steel studio's industry challenge
/// answered by proposals in several states; a machinery plant's internal challenge closed with its adopted
/// answer awarded; an association's public challenge; help requests open, taken and resolved with
/// verified savings. Nothing happens after today.
async fn challenges_and_help(
    db: &Db,
    plants: &[Plant],
    association: &UserRow,
    made: &[(usize, i64, Status, UserRow)],
    techniques: &[i64],
    start: DateTime<Utc>,
) -> AppResult<(usize, usize)> {
    use crate::journey::{challenges::ChallengeFields, help::HelpFields};
    let now = Utc::now();
    let deadline = (now + Duration::days(90)).date_naive();
    let opened = start - Duration::days(1);
    let challenge = |title: &str, statement: &str, scope, industry, target: Savings, reward: &str| ChallengeFields {
        title: Some(title.into()),
        statement: Some(statement.into()),
        industry,
        scope: Some(scope),
        deadline: Some(deadline),
        reward: Some(reward.into()),
        target: Some(target),
    };
    let specs = [
        (
            0,
            plants[0].lead.clone(),
            challenge(
                "转炉工序电耗降两成",
                "转炉车间风机、水泵和除尘系统电耗居高不下。征集能把工序电耗降低两成的办法，以试点实测节电量为准。",
                ChallengeScope::Industry,
                None,
                Savings { electricity_kwh: 3_000_000.0, ..Default::default() },
                "获奖应答每条奖励积分，并推荐参评年度工匠",
            ),
            &[Status::Promoted, Status::Adopted, Status::Incubating, Status::Evaluating, Status::Submitted][..],
        ),
        (
            2,
            plants[2].admin.clone(),
            challenge(
                "空压站节电三成",
                "厂内空压站电耗占全厂三成以上，夜班空载严重。征集在不影响用气的前提下节电三成的办法（本厂内部课题）。",
                ChallengeScope::Enterprise,
                None,
                Savings { electricity_kwh: 1_200_000.0, ..Default::default() },
                "采纳即奖，实施后按节电量另行奖励",
            ),
            &[Status::Adopted, Status::Accepted][..],
        ),
        (
            4,
            association.clone(),
            challenge(
                "水泥熟料线余热利用提升",
                "多数熟料线窑头窑尾废气余热利用率不足六成。征集提高余热利用、降低吨熟料标煤耗的技术，面向全行业公开。",
                ChallengeScope::Public,
                Some(Industry::BuildingMaterials),
                Savings { coal_t: 5_000.0, ..Default::default() },
                "入选方案由行业协会推广并发布成果",
            ),
            &[Status::Promoted, Status::Accepted, Status::Rejected][..],
        ),
    ];
    let mut challenges = 0;
    for (pi, owner, fields, states) in specs {
        let o = owner.clone();
        let c = step!(db, |tx| crate::journey::challenges::open(tx, &o, fields, opened).await);
        challenges += 1;
        let mut awarded = None;
        for state in states {
            let Some((_, id, _, author)) = made.iter().find(|(p, _, t, _)| *p == pi && t == state) else { continue };
            let (id, author, cid) = (*id, author.clone(), c.id);
            step!(db, |tx| {
                let row = crate::journey::proposals::reload(tx, id).await?;
                crate::journey::challenges::answer(tx, &author, &row, Some(cid), opened + Duration::days(2)).await
            });
            if matches!(state, Status::Adopted) && awarded.is_none() {
                awarded = Some(id);
            }
        }
        // The machinery plant's internal challenge is closed, awarding its adopted answer.
        if pi == 2 {
            if let Some(answer) = awarded {
                let (o, cid, version) = (owner.clone(), c.id, c.version);
                step!(db, |tx| crate::journey::challenges::close(
                    tx,
                    &o,
                    cid,
                    version,
                    &[answer],
                    "应答实施后实测节电达到目标的四成，授奖并结题",
                    now - Duration::days(3)
                )
                .await);
            }
        }
    }
    // Help requests: a machinery plant's, open; a steel plant's, taken by the machinery studio; a glass
    // plant's, resolved by the cement studio with verified savings.
    let asks = [
        (
            3,
            "空压机夜班空转电费高",
            "我厂4台75千瓦螺杆空压机，夜班用气很少但几台机器还是频繁加载卸载，压力在0.6到0.8兆帕之间来回波动。",
            vec!["空压机"],
            None,
        ),
        (
            1,
            "除尘风机一直满速运行",
            "炼钢二次除尘风机2000多千瓦，不管冶炼还是间隙一直满速运行，靠挡板调风量，电耗很大。",
            vec!["除尘风机"],
            Some((2, false)),
        ),
        (
            5,
            "玻璃熔窑燃耗高",
            "日用玻璃熔窑用天然气加空气助燃，燃耗高，氮氧化物排放达不到新标准，烟气量大。",
            vec!["玻璃熔窑"],
            Some((4, true)),
        ),
    ];
    let mut help_requests = 0;
    for (pi, title, problem, equipment, helper) in asks {
        let (asker, when) = (plants[pi].admin.clone(), now - Duration::days(30));
        let fields = HelpFields {
            title: title.into(),
            problem: problem.into(),
            equipment: equipment.into_iter().map(str::to_owned).collect(),
            consumption: Some("月耗电约8万千瓦时（企业自报）".into()),
            ..Default::default()
        };
        let h = step!(db, |tx| crate::journey::help::request(tx, &asker, fields, when).await);
        help_requests += 1;
        let Some((hi, resolve)) = helper else { continue };
        let (lead, hid) = (plants[hi].lead.clone(), h.id);
        let h = step!(db, |tx| crate::journey::help::take(tx, &lead, hid, 1, when + Duration::days(3)).await);
        if resolve {
            let (lead, version, used) =
                (plants[hi].lead.clone(), h.version, techniques.first().copied().into_iter().collect::<Vec<_>>());
            let verified = Savings {
                natural_gas_m3: 180_000.0,
                money_yuan: 540_000.0,
                investment_yuan: 900_000.0,
                ..Default::default()
            };
            step!(db, |tx| crate::journey::help::resolve(
                tx,
                &lead,
                hid,
                version,
                "熔窑改为富氧助燃并更换低氮燃烧器，空燃比闭环控制；试运行一个月实测天然气单耗下降一成二。",
                &used,
                Some(verified),
                now - Duration::days(2)
            )
            .await);
        }
    }
    Ok((challenges, help_requests))
}
