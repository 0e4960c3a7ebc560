//! The authorization matrix: every mutation and every sensitive field × every role and anonymous, written
//! out as one table below; the cases are generated from it. A mutation is tried on a proposal brought to the
//! stage where it makes sense, so that the only reason to refuse is who is asking. Every refusal must carry
//! an authorization code and change nothing (the proposal's version stays); every allowance must succeed.

use greenline::domain::organisation::Role;
use serde_json::{json, Value};

use crate::{attachments::jpeg, story, TestApp};

/// Columns: the people of the matrix. `reviewer` is assigned to the proposal under review; `lead`, `admin`
/// (enterprise admin), `worker` (not an author) and `overseer` (a worker representative in the oversight group)
/// are of the proposal's enterprise; `other_*` of another.
const WHO: [&str; 12] = [
    "anon",
    "author",
    "worker",
    "overseer",
    "other_worker",
    "reviewer",
    "lead",
    "other_lead",
    "ent_admin",
    "other_admin",
    "association",
    "admin",
];

/// `Y` allowed, `.` refused.
const MUTATIONS: &str = "
    # columns: anon author worker overseer other_worker reviewer lead other_lead ent_admin other_admin association admin
    createProposal               .  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y
    updateProposal               .  Y  .  .  .  .  .  .  .  .  .  .
    submitProposal               .  Y  .  .  .  .  .  .  .  .  .  .
    withdrawProposal             .  Y  .  .  .  .  .  .  .  .  .  .
    assignReviewers              .  .  .  .  .  .  Y  .  .  .  .  Y
    submitEvaluation             .  .  .  .  .  Y  .  .  .  .  .  .
    decideProposal               .  .  .  .  .  .  Y  .  .  .  .  Y
    startPilot                   .  .  .  .  .  .  Y  .  .  .  .  Y
    updateMilestone              .  .  .  .  .  .  Y  .  Y  .  .  Y
    recordMeasurement            .  .  .  .  .  .  Y  .  Y  .  .  Y
    confirmAdoption              .  .  .  .  .  .  .  .  Y  .  .  Y
    promoteProposal              .  .  .  .  .  .  .  .  .  .  Y  Y
    recordAdoption               .  .  .  .  .  .  .  .  Y  .  Y  Y
    uploadAttachment             .  Y  .  .  .  .  Y  .  Y  .  .  Y
    removeAttachment             .  Y  .  .  .  .  .  .  .  .  .  Y
    respondToCoAuthorInvitation  .  .  Y  .  .  .  .  .  .  .  .  .
    markDuplicate                .  .  .  .  .  .  Y  .  .  .  .  Y
    creditAsCoAuthor             .  .  .  .  .  .  Y  .  .  .  .  Y
    createAccessToken            .  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y
    revokeAccessToken            .  Y  .  .  .  .  .  .  Y  .  .  Y
    createUser                   .  .  .  .  .  .  .  .  Y  .  .  Y
    updateUser                   .  .  .  .  .  .  .  .  Y  .  .  Y
    deactivateUser               .  .  .  .  .  .  .  .  Y  .  .  Y
    reactivateUser               .  .  .  .  .  .  .  .  Y  .  .  Y
    createTeam                   .  .  .  .  .  .  .  .  Y  .  .  Y
    createStudio                 .  .  .  .  .  .  .  .  Y  .  .  Y
    markNotificationsRead        .  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y
    setNotificationPreferences   .  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y
    createWebhook                .  .  .  .  .  .  .  .  Y  .  .  Y
    updateWebhook                .  .  .  .  .  .  .  .  Y  .  .  Y
    deleteWebhook                .  .  .  .  .  .  .  .  Y  .  .  Y
    redeliverWebhook             .  .  .  .  .  .  .  .  Y  .  .  Y
    openChallenge                .  .  .  .  .  .  Y  Y  Y  Y  Y  Y
    updateChallenge              .  .  .  .  .  .  Y  .  Y  .  .  Y
    closeChallenge               .  .  .  .  .  .  Y  .  Y  .  .  Y
    requestHelp                  .  Y  Y  Y  Y  Y  Y  Y  Y  Y  .  .
    takeHelpRequest              .  .  .  .  .  .  .  Y  .  .  .  .
    resolveHelpRequest           .  .  .  .  .  .  .  Y  .  .  .  Y
    closeHelpRequest             .  Y  .  .  .  .  .  .  Y  .  .  Y
    appealDecision               .  Y  .  .  .  .  .  .  .  .  .  .
    giveAppealOpinion            .  .  .  Y  .  .  .  .  .  .  Y  .
    decideAppeal                 .  .  .  .  .  .  Y  .  .  .  .  Y
    proposeRuleChange            .  .  .  .  .  .  .  .  .  .  .  Y
    decideRuleChange             .  .  .  Y  .  .  .  .  .  .  .  .
";

/// Challenges and help requests act on no proposal: `updateChallenge` and `closeChallenge` on an INDUSTRY
/// challenge of the proposal's enterprise's studio, opened by its lead (seen by the other enterprise of the
/// same industry and the association, managed by neither); `takeHelpRequest` and `closeHelpRequest` on a
/// help request the author asked; `resolveHelpRequest` on one the other enterprise's studio took.
const CHALLENGE_MUTATIONS: [&str; 7] = [
    "openChallenge",
    "updateChallenge",
    "closeChallenge",
    "requestHelp",
    "takeHelpRequest",
    "resolveHelpRequest",
    "closeHelpRequest",
];

/// Administration acts on people of the proposal's enterprise: the author's token (`revokeAccessToken`),
/// a person made for the case (`updateUser`, `deactivateUser`, `reactivateUser`), and names unique to the
/// case (`createTeam`, `createStudio`). The enterprise is always named: an enterprise admin of another
/// enterprise may do all of it in their own. Notification settings are each person's own; webhooks are the
/// enterprise's (a webhook made by its enterprise admin, and a delivery of it held while it is paused).
const PEOPLE_MUTATIONS: [&str; 14] = [
    "createAccessToken",
    "revokeAccessToken",
    "createUser",
    "updateUser",
    "deactivateUser",
    "reactivateUser",
    "createTeam",
    "createStudio",
    "markNotificationsRead",
    "setNotificationPreferences",
    "createWebhook",
    "updateWebhook",
    "deleteWebhook",
    "redeliverWebhook",
];

/// Sensitive reads. `Y` sees it, `.` does not (null, or the proposal itself is not found). `authors`: the
/// author's name (blind review hides it from reviewers); `evaluations`: both reviewers' scorecards (a
/// reviewer sees only their own; the authors see all once decided); `reviewerNamed`: an evaluation event
/// names a reviewer other than the viewer (only those who run the review learn who evaluated);
/// `authorPoints`: the author's points through `authors { user }` (points move at submission, so only
/// the person and the stewards of their account see them); `authorById`: `node(id:)` of the author (people
/// are not enumerable: only colleagues and platform admins find them by id); `receipt`: the signed receipt
/// of the submission (its authors only); `skillRecord`: the author's green-skill record (the person and the
/// stewards of their account); `oversight`: the oversight report of the author's enterprise (its overseers,
/// associations, platform admins).
const FIELDS: &str = "
    # columns: anon author worker overseer other_worker reviewer lead other_lead ent_admin other_admin association admin
    draft.proposal               .  Y  .  .  .  .  .  .  .  .  .  Y
    evaluating.proposal          .  Y  Y  Y  .  Y  Y  .  Y  .  .  Y
    evaluating.authors           .  Y  Y  .  .  .  Y  .  Y  .  .  Y
    evaluating.evaluations       .  .  .  .  .  .  Y  .  Y  .  .  Y
    accepted.proposal            .  Y  Y  Y  .  Y  Y  .  Y  .  Y  Y
    accepted.evaluations         .  Y  .  .  .  .  Y  .  Y  .  .  Y
    adopted.proposal             Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y
    adopted.authors              Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y
    evaluating.reviewerNamed     .  .  .  .  .  .  Y  .  Y  .  .  Y
    accepted.reviewerNamed       .  .  .  .  .  .  Y  .  Y  .  .  Y
    adopted.reviewerNamed        .  .  .  .  .  .  Y  .  Y  .  .  Y
    adopted.authorPoints         .  Y  .  .  .  .  .  .  Y  .  .  Y
    adopted.authorById           .  Y  Y  Y  .  Y  Y  .  Y  .  .  Y
    adopted.receipt              .  Y  .  .  .  .  .  .  .  .  .  .
    adopted.skillRecord          .  Y  .  .  .  .  .  .  Y  .  .  Y
    adopted.oversight            .  .  .  Y  .  .  .  .  .  .  Y  Y
";

fn table(text: &str) -> Vec<(String, Vec<bool>)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(cells.len(), WHO.len() + 1, "row {l}");
            (cells[0].to_owned(), cells[1..].iter().map(|c| *c == "Y").collect())
        })
        .collect()
}

struct People {
    tokens: Vec<Option<String>>,
    author_id: Value,
    reviewer2: String,
    reviewer_ids: (Value, Value),
    enterprise_id: Value,
}

impl People {
    fn token(&self, who: &str) -> Option<&str> {
        self.tokens[WHO.iter().position(|w| *w == who).unwrap()].as_deref()
    }
}

async fn people(app: &TestApp) -> People {
    let (plant, other) = (Some("宝山钢铁示范厂"), Some("河北另一钢厂"));
    let studio = Some("王进喜劳模创新工作室");
    let mut tokens = vec![None];
    for (name, role, enterprise, team, studio) in [
        ("王师傅", Role::Worker, plant, Some("炼钢一班"), None),
        ("李工", Role::Worker, plant, Some("炼钢二班"), None),
        ("刘代表", Role::Overseer, plant, Some("炼钢三班"), None),
        ("外厂工人", Role::Worker, other, None, None),
        ("赵专家", Role::Reviewer, plant, None, studio),
        ("周劳模", Role::StudioLead, plant, None, studio),
        ("外厂劳模", Role::StudioLead, other, None, Some("外厂工作室")),
        ("吴主任", Role::EnterpriseAdmin, plant, None, None),
        ("冯主任", Role::EnterpriseAdmin, other, None, None),
        ("郑秘书长", Role::Association, None, None, None),
        ("平台管理员", Role::Admin, None, None, None),
    ] {
        tokens.push(Some(app.user(name, role, enterprise, team, studio).await));
    }
    let reviewer2 = app.user("钱专家", Role::Reviewer, plant, None, studio).await;
    let id = |t: &str| {
        let t = t.to_owned();
        async move { app.ok(Some(&t), "{ viewer { id enterprise { id } } }", json!({})).await["viewer"].clone() }
    };
    let reviewer = id(tokens[5].as_deref().unwrap()).await;
    let author = id(tokens[1].as_deref().unwrap()).await;
    let reviewer2_id = id(&reviewer2).await["id"].clone();
    People {
        tokens,
        author_id: author["id"].clone(),
        reviewer2,
        reviewer_ids: (reviewer["id"].clone(), reviewer2_id),
        enterprise_id: author["enterprise"]["id"].clone(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
enum Stage {
    Draft,
    Submitted,
    Evaluating,
    Evaluated,
    Accepted,
    Incubating,
    Measured,
    Adopted,
    /// Evaluated, then rejected by the lead (a branch: not after `Adopted`).
    Rejected,
}

/// A proposal at a stage, and what mutations at that stage need.
#[derive(Default)]
struct Fixture {
    id: Value,
    /// For markDuplicate and creditAsCoAuthor: a submitted proposal of `worker` that the fixture duplicates.
    original: Value,
    milestone: Value,
    attachment: Value,
    technique: Value,
    /// For the administration mutations: the token or person acted on, and a name unique to the case.
    subject: Value,
    label: String,
    /// The version of the challenge or help request acted on.
    subject_version: i64,
}

/// Runs `query` and says whether it went through: `Ok(data)`, or `Err(code)` from the top-level errors or
/// the payload's `userErrors`.
async fn attempt(app: &TestApp, token: Option<&str>, query: &str, input: Value) -> Result<Value, String> {
    let body = app.gql(token, query, json!({"input": input})).await;
    outcome(body)
}

fn outcome(body: Value) -> Result<Value, String> {
    if let Some(e) = body["errors"].as_array().and_then(|e| e.first()) {
        return Err(e["extensions"]["code"].as_str().unwrap_or("?").to_owned());
    }
    let data = body["data"].as_object().and_then(|d| d.values().next()).cloned().unwrap_or(Value::Null);
    match data["userErrors"].as_array().and_then(|e| e.first()) {
        Some(e) => Err(e["code"].as_str().unwrap_or("?").to_owned()),
        None => Ok(data),
    }
}

/// A webhook URL where nothing listens (the discard port): deliveries fail at once, nothing leaves the machine.
const DEAD_END: &str = "http://127.0.0.1:9/greenline";

const SCORES: &str = r#"[{"criterion": "ENERGY_EMISSION_EFFECT", "score": 8}, {"criterion": "ECONOMIC_BENEFIT", "score": 7},
    {"criterion": "TECHNICAL_FEASIBILITY", "score": 9}, {"criterion": "NOVELTY", "score": 6}, {"criterion": "PROMOTION_POTENTIAL", "score": 8}]"#;

fn mutation(name: &str) -> String {
    let input = format!("{}{}Input", name[..1].to_uppercase(), &name[1..]);
    format!("mutation($input: {input}!) {{ {name}(input: $input) {{ userErrors {{ code message }} }} }}")
}

async fn version(app: &TestApp, p: &People, id: &Value) -> i64 {
    let d = app.ok(p.token("admin"), "query($id: ID!) { proposal(id: $id) { version } }", json!({"id": id})).await;
    d["proposal"]["version"].as_i64().unwrap()
}

/// Brings a new proposal of `author` to `stage`, through the API and the people whose job each step is.
async fn fixture(app: &TestApp, p: &People, stage: Stage) -> Fixture {
    let rejected = stage == Stage::Rejected;
    let stage = if rejected { Stage::Evaluated } else { stage };
    let ok = |r: Result<Value, String>| r.unwrap_or_else(|code| panic!("fixture step refused: {code}"));
    let created = ok(attempt(
        app,
        p.token("author"),
        "mutation($input: CreateProposalInput!) { createProposal(input: $input) { proposal { id } userErrors { code message } } }",
        json!({"proposal": {"title": "空压机管网泄漏治理", "body": "巡检发现多处泄漏，建议更换接头并加装流量计。"}}),
    )
    .await);
    let mut f = Fixture { id: created["proposal"]["id"].clone(), ..Fixture::default() };
    let id = f.id.clone();
    let step = |who: &'static str, name: &'static str, input: Value| {
        let id = id.clone();
        async move {
            let mut input = input;
            input["proposalId"] = id.clone();
            if !matches!(name, "submitEvaluation" | "recordMeasurement") {
                input["expectedVersion"] = json!(version(app, p, &id).await);
            }
            let token = if who == "reviewer2" { Some(p.reviewer2.as_str()) } else { p.token(who) };
            attempt(app, token, &mutation(name), input).await.unwrap_or_else(|c| panic!("fixture {name}: {c}"))
        }
    };
    if stage == Stage::Draft {
        let up = crate::attachments::upload(app, p.token("author"), &f.id, "现场.jpg", jpeg(1, 64)).await;
        let body: Value = up.json().await.unwrap();
        f.attachment = body["data"]["uploadAttachment"]["attachment"]["id"].clone();
        assert!(f.attachment.is_string(), "{body}");
        return f;
    }
    step("author", "submitProposal", json!({})).await;
    if stage >= Stage::Evaluating {
        let (r1, r2) = &p.reviewer_ids;
        step("lead", "assignReviewers", json!({"reviewerIds": [r1, r2]})).await;
    }
    if stage >= Stage::Evaluated {
        let scores: Value = serde_json::from_str(SCORES).unwrap();
        step("reviewer", "submitEvaluation", json!({"scores": scores, "comment": "可行"})).await;
        step("reviewer2", "submitEvaluation", json!({"scores": scores, "comment": "同意"})).await;
    }
    if rejected {
        step("lead", "decideProposal", json!({"decision": "REJECT", "reason": "投入产出不合算"})).await;
        return f;
    }
    if stage >= Stage::Accepted {
        step("lead", "decideProposal", json!({"decision": "ACCEPT", "reason": "节能效果显著"})).await;
    }
    if stage >= Stage::Incubating {
        step("lead", "startPilot", json!({"plan": "试点三个月", "milestones": [{"title": "安装流量计"}]})).await;
        let d = app
            .ok(
                p.token("admin"),
                "query($id: ID!) { proposal(id: $id) { pilot { milestones { id } } } }",
                json!({"id": f.id}),
            )
            .await;
        f.milestone = d["proposal"]["pilot"]["milestones"][0]["id"].clone();
    }
    if stage >= Stage::Measured {
        step(
            "lead",
            "recordMeasurement",
            json!({"carrier": "ELECTRICITY", "baseline": 100000, "after": 80000, "periodStart": "2026-01-01", "periodEnd": "2026-01-31"}),
        )
        .await;
    }
    if stage >= Stage::Adopted {
        step("ent_admin", "confirmAdoption", json!({"investmentYuan": 50000})).await;
        let d = step("association", "promoteProposal", json!({"technique": {"name": "空压机管网泄漏治理技术"}})).await;
        let _ = d;
        let t = app.ok(None, "{ techniques(first: 1) { edges { node { id } } } }", json!({})).await;
        f.technique = t["techniques"]["edges"][0]["node"]["id"].clone();
    }
    f
}

/// The stage each mutation is tried at, and its input there.
fn case(name: &str, f: &Fixture, v: i64, p: &People) -> (Stage, Value) {
    let id = &f.id;
    match name {
        "createProposal" => (Stage::Draft, json!({"proposal": {"title": "新建议", "body": "内容"}})),
        "updateProposal" => {
            (Stage::Draft, json!({"proposalId": id, "expectedVersion": v, "proposal": {"title": "改过的标题"}}))
        }
        "submitProposal" => (Stage::Draft, json!({"proposalId": id, "expectedVersion": v})),
        "withdrawProposal" => (Stage::Submitted, json!({"proposalId": id, "expectedVersion": v, "reason": "重复"})),
        "assignReviewers" => {
            (Stage::Submitted, json!({"proposalId": id, "expectedVersion": v, "reviewerIds": [p.reviewer_ids.0]}))
        }
        "submitEvaluation" => (
            Stage::Evaluating,
            json!({"proposalId": id, "scores": serde_json::from_str::<Value>(SCORES).unwrap(), "comment": "评审意见"}),
        ),
        "decideProposal" => {
            (Stage::Evaluated, json!({"proposalId": id, "expectedVersion": v, "decision": "ACCEPT", "reason": "同意"}))
        }
        "startPilot" => (Stage::Accepted, json!({"proposalId": id, "expectedVersion": v, "plan": "试点"})),
        "updateMilestone" => {
            (Stage::Incubating, json!({"milestoneId": f.milestone, "status": "DONE", "doneOn": "2026-02-01"}))
        }
        "recordMeasurement" => (
            Stage::Incubating,
            json!({"proposalId": id, "carrier": "ELECTRICITY", "baseline": 100, "after": 80, "periodStart": "2026-01-01", "periodEnd": "2026-01-31"}),
        ),
        "confirmAdoption" => (Stage::Measured, json!({"proposalId": id, "expectedVersion": v, "investmentYuan": 1000})),
        "promoteProposal" => {
            (Stage::Measured, json!({"proposalId": id, "expectedVersion": v, "technique": {"name": "推广技术"}}))
        }
        "recordAdoption" => (
            Stage::Adopted,
            json!({"techniqueId": f.technique, "enterpriseId": p.enterprise_id, "adoptedOn": "2026-11-01", "savings": {"electricityKwh": 1000}}),
        ),
        "uploadAttachment" => (Stage::Accepted, Value::Null),
        "removeAttachment" => (Stage::Draft, json!({"attachmentId": f.attachment})),
        // The fixture's author invited `worker` (see stage_for).
        "respondToCoAuthorInvitation" => (Stage::Draft, json!({"proposalId": id, "accept": true})),
        "markDuplicate" => (
            Stage::Submitted,
            json!({"proposalId": id, "expectedVersion": v, "duplicateOfId": f.original, "reason": "同一处漏气"}),
        ),
        // `v` is the original's version here (see try_mutation).
        "creditAsCoAuthor" => (Stage::Submitted, json!({"proposalId": id, "expectedVersion": v})),
        "createAccessToken" => (Stage::Draft, json!({"name": "脚本", "expiresInDays": 7, "readOnly": true})),
        "revokeAccessToken" => (Stage::Draft, json!({"id": f.subject})),
        "createUser" => (
            Stage::Draft,
            json!({"name": format!("新员工{}", f.label), "role": "WORKER", "enterpriseId": p.enterprise_id}),
        ),
        "updateUser" => (Stage::Draft, json!({"id": f.subject, "email": format!("{}@plant.cn", f.label)})),
        "deactivateUser" | "reactivateUser" => (Stage::Draft, json!({"id": f.subject})),
        "createTeam" => (
            Stage::Draft,
            json!({"enterpriseId": p.enterprise_id, "name": format!("班组{}", f.label), "isGreen": true}),
        ),
        "createStudio" => (
            Stage::Draft,
            json!({"enterpriseId": p.enterprise_id, "name": format!("工作室{}", f.label), "specialties": ["余热回收"]}),
        ),
        "markNotificationsRead" => (Stage::Draft, json!({"all": true})),
        "setNotificationPreferences" => (
            Stage::Draft,
            json!({"preferences": [{"kind": "PROMOTED", "channel": "DIGEST"}], "quietHours": {"start": 1320, "end": 420}}),
        ),
        "createWebhook" => (
            Stage::Draft,
            json!({"enterpriseId": p.enterprise_id, "name": format!("能源系统{}", f.label), "url": DEAD_END,
                   "kinds": ["PROPOSAL_SUBMITTED"], "format": "JSON"}),
        ),
        "updateWebhook" => (Stage::Draft, json!({"id": f.subject, "name": format!("改名{}", f.label)})),
        "deleteWebhook" => (Stage::Draft, json!({"id": f.subject})),
        "redeliverWebhook" => (Stage::Draft, json!({"deliveryId": f.subject})),
        "openChallenge" => (
            Stage::Draft,
            json!({"challenge": {"title": format!("转炉煤气放散减半{}", f.label), "statement": "把转炉煤气放散量降低一半。",
                   "industry": "METALLURGY", "scope": "INDUSTRY", "deadline": "2099-12-31",
                   "target": {"naturalGasM3": 100000}}}),
        ),
        "updateChallenge" => (
            Stage::Draft,
            json!({"challengeId": f.subject, "expectedVersion": f.subject_version, "challenge": {"reward": "奖金两万元"}}),
        ),
        "closeChallenge" => (
            Stage::Draft,
            json!({"challengeId": f.subject, "expectedVersion": f.subject_version, "reason": "到期结题"}),
        ),
        "requestHelp" => (
            Stage::Draft,
            json!({"title": format!("空压机夜班空转{}", f.label), "problem": "夜班用气少，空压机仍频繁加卸载。", "equipment": ["空压机"]}),
        ),
        "takeHelpRequest" => (Stage::Draft, json!({"helpRequestId": f.subject, "expectedVersion": f.subject_version})),
        "resolveHelpRequest" => (
            Stage::Draft,
            json!({"helpRequestId": f.subject, "expectedVersion": f.subject_version, "solution": "集中联控，出口压力降到0.65兆帕。"}),
        ),
        "closeHelpRequest" => (
            Stage::Draft,
            json!({"helpRequestId": f.subject, "expectedVersion": f.subject_version, "reason": "已自行解决"}),
        ),
        "appealDecision" => {
            (Stage::Rejected, json!({"proposalId": id, "reason": "两位评审均给出7分以上，结论与评分不符。"}))
        }
        "giveAppealOpinion" => (
            Stage::Rejected,
            json!({"appealId": f.subject, "expectedVersion": f.subject_version, "opinion": "评分高于分数线，建议重新评审。"}),
        ),
        "decideAppeal" => (
            Stage::Rejected,
            json!({"appealId": f.subject, "expectedVersion": f.subject_version, "outcome": "UPHOLD", "reason": "投资回收期过长，维持原决定。"}),
        ),
        "proposeRuleChange" => {
            (Stage::Draft, json!({"kind": "CRITERIA", "criteria": default_criteria(), "note": "措辞修订"}))
        }
        "decideRuleChange" => (
            Stage::Draft,
            json!({"ruleChangeId": f.subject, "expectedVersion": f.subject_version, "approve": true, "note": "同意"}),
        ),
        other => panic!("no case for {other}"),
    }
}

/// The published criteria as `proposeRuleChange` takes them: approving it changes no figure.
fn default_criteria() -> Value {
    let c = greenline::domain::evaluation::default_criteria();
    c.iter().map(|c| json!({"key": c.key, "name": c.name, "weight": c.weight, "description": c.description})).collect()
}

/// Appeals act on a rejected proposal of the author: `giveAppealOpinion` on the author's appeal of it,
/// `decideAppeal` on one the overseer has given an opinion on. Rule changes act on no proposal:
/// `decideRuleChange` on a change the platform admin proposed.
const OVERSIGHT_MUTATIONS: [&str; 5] =
    ["appealDecision", "giveAppealOpinion", "decideAppeal", "proposeRuleChange", "decideRuleChange"];

async fn oversight_fixture(app: &TestApp, p: &People, name: &str) -> Fixture {
    let stage = case(name, &Fixture::default(), 0, p).0;
    let mut f = if stage == Stage::Draft { Fixture::default() } else { fixture(app, p, stage).await };
    let run = |who, mutation_name, input, field| made(app, p, who, mutation_name, input, field);
    if matches!(name, "giveAppealOpinion" | "decideAppeal") {
        let (_, input) = case("appealDecision", &f, 0, p);
        (f.subject, f.subject_version) = run("author", "appealDecision", input, "appeal").await;
    }
    if name == "decideAppeal" {
        let (_, input) = case("giveAppealOpinion", &f, 0, p);
        (f.subject, f.subject_version) = run("overseer", "giveAppealOpinion", input, "appeal").await;
    }
    if name == "decideRuleChange" {
        let (_, input) = case("proposeRuleChange", &f, 0, p);
        (f.subject, f.subject_version) = run("admin", "proposeRuleChange", input, "ruleChange").await;
    }
    f
}

/// Tries `name` as `who` on `f`; for promoteProposal the fixture is first adopted by its enterprise admin.
async fn try_mutation(app: &TestApp, p: &People, name: &str, who: &str, f: &Fixture) -> Result<Value, String> {
    let v = match name {
        "creditAsCoAuthor" => version(app, p, &f.original).await,
        _ if f.id.is_null() => 0,
        _ => version(app, p, &f.id).await,
    };
    let (_, input) = case(name, f, v, p);
    if name == "uploadAttachment" {
        let r = crate::attachments::upload(app, p.token(who), &f.id, "照片.jpg", jpeg(9, 32)).await;
        return outcome(r.json().await.unwrap());
    }
    attempt(app, p.token(who), &mutation(name), input).await
}

async fn stage_for(app: &TestApp, p: &People, name: &str) -> Fixture {
    if PEOPLE_MUTATIONS.contains(&name) {
        return people_fixture(app, p, name).await;
    }
    if CHALLENGE_MUTATIONS.contains(&name) {
        return challenge_fixture(app, p, name).await;
    }
    if OVERSIGHT_MUTATIONS.contains(&name) {
        return oversight_fixture(app, p, name).await;
    }
    let stage = case(name, &Fixture::default(), 0, p).0;
    let mut f = fixture(app, p, stage).await;
    if name == "promoteProposal" {
        // Adopted, not yet promoted.
        let v = version(app, p, &f.id).await;
        attempt(
            app,
            p.token("ent_admin"),
            &mutation("confirmAdoption"),
            json!({"proposalId": f.id, "expectedVersion": v, "investmentYuan": 1000}),
        )
        .await
        .unwrap();
    }
    if name == "createProposal" {
        f.id = Value::Null;
    }
    if matches!(name, "markDuplicate" | "creditAsCoAuthor") {
        let input = json!({"proposal": {"title": "空压机管网漏气治理", "body": "空压机管网多处漏气，建议逐段查漏。"}});
        let d = app.ok(p.token("worker"), crate::journey::SUBMIT, json!({"input": input})).await;
        f.original = d["submitProposal"]["proposal"]["id"].clone();
    }
    if name == "creditAsCoAuthor" {
        let v = version(app, p, &f.id).await;
        attempt(
            app,
            p.token("lead"),
            &mutation("markDuplicate"),
            json!({"proposalId": f.id, "expectedVersion": v, "duplicateOfId": f.original, "reason": "同一处漏气"}),
        )
        .await
        .unwrap();
    }
    if name == "respondToCoAuthorInvitation" {
        let v = version(app, p, &f.id).await;
        let worker = app.ok(p.token("worker"), "{ viewer { id } }", json!({})).await["viewer"]["id"].clone();
        attempt(
            app,
            p.token("author"),
            &mutation("updateProposal"),
            json!({"proposalId": f.id, "expectedVersion": v, "proposal": {"coAuthorIds": [worker]}}),
        )
        .await
        .unwrap();
    }
    f
}

static LABELS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// What an administration case acts on: no proposal; a token of the author, or a person of the enterprise
/// made (and, for `reactivateUser`, deactivated) by its enterprise admin.
async fn people_fixture(app: &TestApp, p: &People, name: &str) -> Fixture {
    let label = format!("{}", LABELS.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let admin = p.token("ent_admin");
    let subject = match name {
        "revokeAccessToken" => {
            let q = "mutation($input: CreateAccessTokenInput!) { createAccessToken(input: $input) { accessToken { id } userErrors { code } } }";
            let d = app.ok(p.token("author"), q, json!({"input": {"name": format!("令牌{label}")}})).await;
            d["createAccessToken"]["accessToken"]["id"].clone()
        }
        "updateUser" | "deactivateUser" | "reactivateUser" => {
            let q =
                "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { code } } }";
            let input = json!({"name": format!("对象{label}"), "role": "WORKER", "enterpriseId": p.enterprise_id});
            let id = app.ok(admin, q, json!({"input": input})).await["createUser"]["user"]["id"].clone();
            if name == "reactivateUser" {
                attempt(app, admin, &mutation("deactivateUser"), json!({"id": id})).await.unwrap();
            }
            id
        }
        "updateWebhook" | "deleteWebhook" | "redeliverWebhook" => {
            let q = "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } userErrors { code message } } }";
            let d = attempt(
                app,
                admin,
                q,
                json!({"enterpriseId": p.enterprise_id, "name": format!("推送{label}"), "url": DEAD_END,
                       "kinds": ["PROPOSAL_SUBMITTED"], "format": "JSON"}),
            )
            .await
            .unwrap();
            let hook = d["webhook"]["id"].clone();
            if name != "redeliverWebhook" {
                hook
            } else {
                // Paused, so that what it is told is held, not sent.
                attempt(app, admin, &mutation("updateWebhook"), json!({"id": hook, "paused": true})).await.unwrap();
                let input = json!({"proposal": {"title": format!("通知{label}"), "body": "内容"}});
                app.ok(p.token("author"), crate::journey::SUBMIT, json!({"input": input})).await;
                let q = "query { webhooks { id deliveries(first: 5) { nodes { id state } } } }";
                let hooks = app.ok(admin, q, json!({})).await["webhooks"].clone();
                let hook = hooks.as_array().unwrap().iter().find(|h| h["id"] == hook).unwrap().clone();
                let delivery = hook["deliveries"]["nodes"][0].clone();
                assert_eq!(delivery["state"], "HELD", "{hook}");
                delivery["id"].clone()
            }
        }
        _ => Value::Null,
    };
    Fixture { id: Value::Null, subject, label, ..Fixture::default() }
}

/// Runs a fixture's step as `who`; returns the id and version of the `field` it made or changed.
async fn made(app: &TestApp, p: &People, who: &str, mutation_name: &str, input: Value, field: &str) -> (Value, i64) {
    let input_type = format!("{}{}Input", mutation_name[..1].to_uppercase(), &mutation_name[1..]);
    let q = format!(
        "mutation($input: {input_type}!) {{ {mutation_name}(input: $input) {{ {field} {{ id version }} userErrors {{ code message }} }} }}"
    );
    let d = attempt(app, p.token(who), &q, input).await.unwrap_or_else(|c| panic!("fixture {mutation_name}: {c}"));
    (d[field]["id"].clone(), d[field]["version"].as_i64().unwrap())
}

/// What a challenge or help-request case acts on (see [`CHALLENGE_MUTATIONS`]).
async fn challenge_fixture(app: &TestApp, p: &People, name: &str) -> Fixture {
    let label = format!("{}", LABELS.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let mut f = Fixture { id: Value::Null, label: label.clone(), ..Fixture::default() };
    let run = |who, mutation_name, input, field| made(app, p, who, mutation_name, input, field);
    match name {
        "updateChallenge" | "closeChallenge" => {
            let (_, open) = case("openChallenge", &f, 0, p);
            (f.subject, f.subject_version) = run("lead", "openChallenge", open, "challenge").await;
        }
        "takeHelpRequest" | "resolveHelpRequest" | "closeHelpRequest" => {
            let (_, ask) = case("requestHelp", &f, 0, p);
            (f.subject, f.subject_version) = run("author", "requestHelp", ask, "helpRequest").await;
            if name == "resolveHelpRequest" {
                let (_, take) = case("takeHelpRequest", &f, 0, p);
                (f.subject, f.subject_version) = run("other_lead", "takeHelpRequest", take, "helpRequest").await;
            }
        }
        _ => {}
    }
    f
}

story!(every_mutation_against_every_role);
async fn every_mutation_against_every_role(app: TestApp) {
    let p = people(&app).await;
    let mut checked = 0;
    for (name, allowed) in table(MUTATIONS) {
        // Refusals change nothing, so one fixture serves every refused person; each allowed one gets its own.
        let shared = stage_for(&app, &p, &name).await;
        let before = if shared.id.is_null() { 0 } else { version(&app, &p, &shared.id).await };
        for (who, &ok) in WHO.iter().zip(&allowed) {
            if ok {
                let own = stage_for(&app, &p, &name).await;
                let r = try_mutation(&app, &p, &name, who, &own).await;
                assert!(r.is_ok(), "{name} by {who} should be allowed, got {r:?}");
            } else {
                let r = try_mutation(&app, &p, &name, who, &shared).await;
                let code = r.expect_err(&format!("{name} by {who} should be refused"));
                assert!(
                    ["UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "CONFLICT_OF_INTEREST"].contains(&code.as_str()),
                    "{name} by {who}: refused with {code}, not an authorization code"
                );
                if !shared.id.is_null() {
                    assert_eq!(
                        version(&app, &p, &shared.id).await,
                        before,
                        "{name} by {who} was refused but changed the proposal"
                    );
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, table(MUTATIONS).len() * WHO.len(), "every mutation of the table, every person");
    let d = app.ok(None, "{ __schema { mutationType { fields { name } } } }", json!({})).await;
    let mut in_schema: Vec<String> = d["__schema"]["mutationType"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    let mut in_table: Vec<String> = table(MUTATIONS).into_iter().map(|(name, _)| name).collect();
    in_schema.sort();
    in_table.sort();
    assert_eq!(in_table, in_schema, "the matrix has a row for every mutation of the schema");
}

story!(every_sensitive_field_against_every_role);
async fn every_sensitive_field_against_every_role(app: TestApp) {
    let p = people(&app).await;
    let mut fixtures = std::collections::HashMap::new();
    for (stage, s) in [
        ("draft", Stage::Draft),
        ("evaluating", Stage::Evaluated),
        ("accepted", Stage::Accepted),
        ("adopted", Stage::Adopted),
    ] {
        fixtures.insert(stage, fixture(&app, &p, s).await);
    }
    for (row, allowed) in table(FIELDS) {
        let (stage, field) = row.split_once('.').unwrap();
        let f = &fixtures[stage];
        for (who, &ok) in WHO.iter().zip(&allowed) {
            let separate = match field {
                "receipt" => {
                    Some(("query($id: ID!) { proposal(id: $id) { receipt { position } } }", json!({"id": f.id})))
                }
                "skillRecord" => Some((
                    "query($author: ID!) { skillRecord(userId: $author) { submitted document } }",
                    json!({"author": p.author_id}),
                )),
                "oversight" => Some(("{ oversight(enterpriseId: null) { decisions { proposalId } } }", json!({}))),
                _ => None,
            };
            if let Some((q, vars)) = separate {
                let d = app.gql(p.token(who), q, vars).await;
                let seen = match field {
                    "receipt" => d["data"]["proposal"]["receipt"]["position"].is_number(),
                    "skillRecord" => d["data"]["skillRecord"]["submitted"].as_i64().is_some_and(|n| n > 0),
                    _ => d["data"]["oversight"]["decisions"]
                        .as_array()
                        .is_some_and(|x| x.iter().any(|x| x["proposalId"] == f.id)),
                };
                if !seen && d.get("errors").is_some() {
                    let code = d["errors"][0]["extensions"]["code"].as_str().unwrap_or("?");
                    assert!(["UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND"].contains(&code), "{row} for {who}: {d}");
                }
                assert_eq!(seen, ok, "{row} for {who}: {d}");
                continue;
            }
            let d = app
                .gql(
                    p.token(who),
                    "query($id: ID!, $author: ID!) { viewer { id }
                        proposal(id: $id) { id authors { name user { points } } evaluations { comment }
                            events(first: 100) { nodes { kind actor { id } } } }
                        author: node(id: $author) { id } }",
                    json!({"id": f.id, "author": p.author_id}),
                )
                .await;
            assert!(d.get("errors").is_none(), "{row} for {who}: {d}");
            let node = &d["data"]["proposal"];
            let me = &d["data"]["viewer"]["id"];
            let seen = match field {
                "proposal" => !node.is_null(),
                "authors" => node["authors"].as_array().is_some_and(|a| a.iter().any(|x| x["name"] == "王师傅")),
                "evaluations" => node["evaluations"].as_array().is_some_and(|e| e.len() == 2),
                "reviewerNamed" => node["events"]["nodes"].as_array().is_some_and(|es| {
                    es.iter().any(|e| e["kind"] == "EVALUATED" && !e["actor"].is_null() && e["actor"]["id"] != *me)
                }),
                "authorPoints" => node["authors"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x["user"]["points"].as_i64().is_some_and(|n| n > 0))),
                "authorById" => !d["data"]["author"].is_null(),
                other => panic!("unknown field {other}"),
            };
            assert_eq!(seen, ok, "{row} for {who}: {d}");
        }
    }
    // The matrix covers every mutation the schema has.
    let sdl = greenline::graphql::sdl();
    let start = sdl.find("type Mutation {").unwrap();
    let body = &sdl[start..start + sdl[start..].find("\n}").unwrap()];
    let in_schema = body
        .lines()
        .filter_map(|l| l.strip_prefix('\t')?.split_once('('))
        .filter(|(name, _)| {
            name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && name.chars().all(|c| c.is_ascii_alphanumeric())
        })
        .count();
    assert_eq!(in_schema, table(MUTATIONS).len(), "a mutation is missing from the matrix");
}

story!(every_list_count_matches_its_rows);
/// A list's `totalCount` is counted in two parts (rows visible by their columns, plus rows visible only
/// through the viewer's authorships and review assignments); for every person and every status filter it
/// must equal the rows the list itself returns, and each of those rows must open with `proposal(id)` —
/// and, the other way, every proposal a person can open must be in their list (a filter that hides too
/// much fails as surely as one that shows too much).
async fn every_list_count_matches_its_rows(app: TestApp) {
    let p = people(&app).await;
    for stage in [Stage::Draft, Stage::Evaluated, Stage::Accepted, Stage::Adopted] {
        fixture(&app, &p, stage).await;
    }
    // A draft the author shares with a co-author, who is not its creator: visible to the co-author only
    // through their authorship.
    let coauthor = app.ok(p.token("worker"), "{ viewer { id } }", json!({})).await["viewer"]["id"].clone();
    let d = app
        .ok(
            p.token("author"),
            "mutation($input: CreateProposalInput!) { createProposal(input: $input) { proposal { id } userErrors { code } } }",
            json!({"input": {"proposal": {"title": "合写的草稿", "body": "两人合写。", "coAuthorIds": [coauthor]}}}),
        )
        .await;
    assert!(d["createProposal"]["userErrors"].as_array().unwrap().is_empty(), "{d}");
    let shared = d["createProposal"]["proposal"]["id"].clone();
    let d = app
        .ok(
            p.token("worker"),
            "mutation($input: RespondToCoAuthorInvitationInput!) { respondToCoAuthorInvitation(input: $input) { userErrors { code } } }",
            json!({"input": {"proposalId": shared, "accept": true}}),
        )
        .await;
    assert_eq!(d["respondToCoAuthorInvitation"]["userErrors"], json!([]), "{d}");
    let statuses = [None, Some("DRAFT"), Some("SUBMITTED"), Some("EVALUATING"), Some("ACCEPTED"), Some("ADOPTED")];
    let mut drafts_seen_by_coauthor = 0;
    for who in WHO {
        for status in statuses {
            let d = app
                .ok(
                    p.token(who),
                    "query($s: Status) { proposals(first: 100, filter: {status: $s}) { totalCount edges { node { id } } } }",
                    json!({"s": status}),
                )
                .await;
            let edges = d["proposals"]["edges"].as_array().unwrap();
            assert_eq!(d["proposals"]["totalCount"], edges.len() as i64, "{who}, status {status:?}: {d}");
            for e in edges {
                let open = app
                    .ok(p.token(who), "query($id: ID!) { proposal(id: $id) { id } }", json!({"id": e["node"]["id"]}))
                    .await;
                assert!(!open["proposal"].is_null(), "{who} lists a proposal they cannot open");
            }
            if who == "worker" && status == Some("DRAFT") {
                drafts_seen_by_coauthor = edges.len();
            }
        }
    }
    assert_eq!(drafts_seen_by_coauthor, 1, "the co-author's list counts the shared draft");

    // Both directions, over every proposal there is (the platform admin lists them all).
    let list = "{ proposals(first: 100) { totalCount edges { node { id } } } }";
    let ids = |d: &Value| -> Vec<Value> {
        d["proposals"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["id"].clone()).collect()
    };
    let all = ids(&app.ok(p.token("admin"), list, json!({})).await);
    assert!(all.len() >= 5, "{all:?}");
    for who in WHO {
        let listed = ids(&app.ok(p.token(who), list, json!({})).await);
        for id in &all {
            let open = app.ok(p.token(who), "query($id: ID!) { proposal(id: $id) { id } }", json!({"id": id})).await;
            assert_eq!(
                !open["proposal"].is_null(),
                listed.contains(id),
                "{who}: proposal {id} opens but is not listed, or is listed but does not open"
            );
        }
    }
}
