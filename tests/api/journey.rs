//! The whole journey over HTTP: submit (idempotent), blind review, conflicts of interest, evaluation,
//! decision, pilot, measured adoption, promotion, a second adoption, points, and the event stream.

use futures_util::{SinkExt, StreamExt};
use greenline::domain::organisation::Role;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

use crate::{story, TestApp};

pub const PROPOSAL_FIELDS: &str = "id version status round title authorsHidden authors { name user { id } }
    submittedBy { name } onBehalfOf team { name }";

pub const SUBMIT: &str = "mutation($input: SubmitProposalInput!) { submitProposal(input: $input) {
    proposal { id version status round title authorsHidden authors { name user { id } } }
    userErrors { field code message } } }";

const ASSIGN: &str = "mutation($input: AssignReviewersInput!) { assignReviewers(input: $input) {
    proposal { id version status } userErrors { field code message } } }";

pub const EVALUATE: &str = "mutation($input: SubmitEvaluationInput!) { submitEvaluation(input: $input) {
    proposal { id version } userErrors { field code message } } }";

pub const DECIDE: &str = "mutation($input: DecideProposalInput!) { decideProposal(input: $input) {
    proposal { id version status } userErrors { field code message } } }";

/// The organisation of the story: one steel plant with a studio, a second plant, an association.
pub struct Cast {
    pub worker: String,
    pub coauthor: String,
    pub coauthor_id: Value,
    pub reviewer1: String,
    pub reviewer1_id: Value,
    pub reviewer2: String,
    pub reviewer2_id: Value,
    pub same_team_reviewer_id: Value,
    pub lead: String,
    pub enterprise_admin: String,
    pub association: String,
    pub other_admin: String,
    pub other_enterprise_id: Value,
    pub admin: String,
}

async fn id_of(app: &TestApp, token: &str) -> Value {
    app.ok(Some(token), "{ viewer { id } }", json!({})).await["viewer"]["id"].clone()
}

pub async fn cast(app: &TestApp) -> Cast {
    let plant = Some("宝山钢铁示范厂");
    let studio = Some("王进喜劳模创新工作室");
    let worker = app.user("王师傅", Role::Worker, plant, Some("炼钢一班"), None).await;
    let coauthor = app.user("李工", Role::Worker, plant, Some("炼钢二班"), None).await;
    let reviewer1 = app.user("赵专家", Role::Reviewer, plant, Some("技术组"), studio).await;
    let reviewer2 = app.user("钱专家", Role::Reviewer, plant, None, studio).await;
    let same_team = app.user("孙专家", Role::Reviewer, plant, Some("炼钢一班"), studio).await;
    let lead = app.user("周劳模", Role::StudioLead, plant, None, studio).await;
    let enterprise_admin = app.user("吴主任", Role::EnterpriseAdmin, plant, None, None).await;
    let association = app.user("郑秘书长", Role::Association, None, None, None).await;
    let other_admin = app.user("冯主任", Role::EnterpriseAdmin, Some("河北另一钢厂"), None, None).await;
    let admin = app.user("平台管理员", Role::Admin, None, None, None).await;
    let other_enterprise_id = app.ok(Some(&other_admin), "{ viewer { enterprise { id } } }", json!({})).await["viewer"]
        ["enterprise"]["id"]
        .clone();
    Cast {
        coauthor_id: id_of(app, &coauthor).await,
        reviewer1_id: id_of(app, &reviewer1).await,
        reviewer2_id: id_of(app, &reviewer2).await,
        same_team_reviewer_id: id_of(app, &same_team).await,
        worker,
        coauthor,
        reviewer1,
        reviewer2,
        lead,
        enterprise_admin,
        association,
        other_admin,
        other_enterprise_id,
        admin,
    }
}

pub fn scores(values: [f64; 5]) -> Value {
    let keys =
        ["ENERGY_EMISSION_EFFECT", "ECONOMIC_BENEFIT", "TECHNICAL_FEASIBILITY", "NOVELTY", "PROMOTION_POTENTIAL"];
    Value::Array(keys.iter().zip(values).map(|(k, v)| json!({"criterion": k, "score": v})).collect())
}

fn errors(data: &Value, field: &str) -> Vec<String> {
    data[field]["userErrors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap().to_owned()).collect()
}

/// Submits, assigns two reviewers and gets both evaluations in: the proposal is ready for a decision.
pub async fn evaluated_proposal(app: &TestApp, c: &Cast, title: &str) -> (Value, i64) {
    let d = app
        .ok(Some(&c.worker), SUBMIT, json!({"input": {"proposal": {"title": title, "body": "转炉煤气放散浪费严重，建议增设回收管网。", "category": "ENERGY_SAVING"}}}))
        .await;
    let id = d["submitProposal"]["proposal"]["id"].clone();
    let v = d["submitProposal"]["proposal"]["version"].as_i64().unwrap();
    let d = app
        .ok(
            Some(&c.lead),
            ASSIGN,
            json!({"input": {"proposalId": id, "expectedVersion": v, "reviewerIds": [c.reviewer1_id, c.reviewer2_id]}}),
        )
        .await;
    assert_eq!(errors(&d, "assignReviewers"), Vec::<String>::new());
    let v = d["assignReviewers"]["proposal"]["version"].as_i64().unwrap();
    for r in [&c.reviewer1, &c.reviewer2] {
        let d = app
            .ok(
                Some(r),
                EVALUATE,
                json!({"input": {"proposalId": id, "scores": scores([8.0, 7.0, 9.0, 6.0, 8.0]), "comment": "可行"}}),
            )
            .await;
        assert_eq!(errors(&d, "submitEvaluation"), Vec::<String>::new());
    }
    (id, v)
}

/// A graphql-transport-ws client that collects the events of `proposalEvents(after: 0)`.
pub async fn subscribe_all_events(app: &TestApp, token: &str) -> tokio::sync::mpsc::UnboundedReceiver<Value> {
    let url = format!("{}/graphql/ws", app.url.replace("http://", "ws://"));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("websocket connects");
    ws.send(Message::text(
        json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}}).to_string(),
    ))
    .await
    .unwrap();
    let ack: Value = serde_json::from_str(ws.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
    assert_eq!(ack["type"], "connection_ack");
    let sub = json!({"id": "1", "type": "subscribe", "payload": {
        "query": "subscription { proposalEvents(after: 0) { sequence proposalId kind fromStatus toStatus fromVersion reason } }"}});
    ws.send(Message::text(sub.to_string())).await.unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            let Ok(text) = msg.to_text() else { continue };
            let Ok(v) = serde_json::from_str::<Value>(text) else { continue };
            if v["type"] == "next" {
                let _ = tx.send(v["payload"]["data"]["proposalEvents"].clone());
            }
        }
    });
    rx
}

story!(the_whole_journey);
async fn the_whole_journey(app: TestApp) {
    let c = cast(&app).await;
    let mut events = subscribe_all_events(&app, &c.admin).await;

    // A worker submits in one step, with a co-author and expected savings; a retry with the same key
    // returns the same proposal.
    let input = json!({"input": {"idempotencyKey": "phone-retry-1", "proposal": {
        "title": "转炉余热回收蒸汽发电", "body": "转炉烟气余热直接放散。建议增设余热锅炉，回收蒸汽用于发电。",
        "category": "ENERGY_SAVING", "tags": ["转炉", "余热锅炉"], "coAuthorIds": [c.coauthor_id],
        "expectedSavings": {"electricityKwh": 200000, "moneyYuan": 120000, "investmentYuan": 300000}}}});
    let first = app.ok(Some(&c.worker), SUBMIT, input.clone()).await;
    let retry = app.ok(Some(&c.worker), SUBMIT, input).await;
    let p = &first["submitProposal"]["proposal"];
    assert_eq!(p["status"], "SUBMITTED");
    assert_eq!(p["round"], 1);
    assert_eq!(retry["submitProposal"]["proposal"]["id"], p["id"], "a retry returns the same proposal");
    let id = p["id"].clone();
    let all = app.ok(Some(&c.admin), "{ proposals { totalCount } }", json!({})).await;
    assert_eq!(all["proposals"]["totalCount"], 1, "the retry made no second proposal");
    // The co-author was invited, not made an author: they join by accepting.
    assert_eq!(p["authors"].as_array().unwrap().len(), 1, "{p}");
    let inv =
        app.ok(Some(&c.coauthor), "{ viewer { coAuthorInvitations { proposalId title invitedBy } } }", json!({})).await;
    assert_eq!(
        inv["viewer"]["coAuthorInvitations"],
        json!([{"proposalId": id, "title": "转炉余热回收蒸汽发电", "invitedBy": "王师傅"}])
    );
    let d = app
        .ok(
            Some(&c.coauthor),
            "mutation($input: RespondToCoAuthorInvitationInput!) { respondToCoAuthorInvitation(input: $input) {
                proposal { version authors { name } } userErrors { code } } }",
            json!({"input": {"proposalId": id, "accept": true}}),
        )
        .await;
    let joined = &d["respondToCoAuthorInvitation"]["proposal"];
    assert_eq!(joined["authors"], json!([{"name": "王师傅"}, {"name": "李工"}]), "{d}");
    let mut version = joined["version"].as_i64().unwrap();

    // A reviewer from the authors' own team is refused.
    let d = app
        .ok(
            Some(&c.lead),
            ASSIGN,
            json!({"input": {"proposalId": id, "expectedVersion": version, "reviewerIds": [c.same_team_reviewer_id]}}),
        )
        .await;
    assert_eq!(errors(&d, "assignReviewers"), ["CONFLICT_OF_INTEREST"]);
    // A worker cannot assign reviewers.
    let d = app
        .ok(
            Some(&c.worker),
            ASSIGN,
            json!({"input": {"proposalId": id, "expectedVersion": version, "reviewerIds": [c.reviewer1_id]}}),
        )
        .await;
    assert_eq!(errors(&d, "assignReviewers"), ["FORBIDDEN"]);
    let d = app
        .ok(Some(&c.lead), ASSIGN, json!({"input": {"proposalId": id, "expectedVersion": version, "reviewerIds": [c.reviewer1_id, c.reviewer2_id], "dueOn": "2099-12-31"}}))
        .await;
    assert_eq!(d["assignReviewers"]["proposal"]["status"], "EVALUATING");
    version = d["assignReviewers"]["proposal"]["version"].as_i64().unwrap();

    // The author trying to evaluate their own proposal.
    let d = app
        .ok(
            Some(&c.worker),
            EVALUATE,
            json!({"input": {"proposalId": id, "scores": scores([10.0; 5]), "comment": "我的建议很好"}}),
        )
        .await;
    assert_eq!(errors(&d, "submitEvaluation"), ["CONFLICT_OF_INTEREST"]);

    // Blind review: the reviewer sees no author identity anywhere while EVALUATING.
    let q = format!("query($id: ID!) {{ proposal(id: $id) {{ {PROPOSAL_FIELDS} events {{ edges {{ node {{ kind actor {{ name }} }} }} }} }} }}");
    let seen = app.ok(Some(&c.reviewer1), &q, json!({"id": id})).await["proposal"].clone();
    assert_eq!(seen["authorsHidden"], true);
    assert_eq!(seen["authors"], json!([]));
    assert_eq!(seen["submittedBy"], Value::Null);
    assert_eq!(seen["team"], Value::Null);
    for e in seen["events"]["edges"].as_array().unwrap() {
        let actor = e["node"]["actor"]["name"].as_str().unwrap_or("");
        assert!(actor != "王师傅" && actor != "李工", "an author leaked through the history: {e}");
    }
    let text = seen.to_string();
    assert!(!text.contains("王师傅") && !text.contains("李工") && !text.contains("炼钢一班"), "{text}");
    // …while the lead does see them.
    let lead_view = app.ok(Some(&c.lead), &q, json!({"id": id})).await;
    assert_eq!(lead_view["proposal"]["authors"][0]["name"], "王师傅");
    // The reviewer's queue shows it, with its due date.
    let queue = app.ok(Some(&c.reviewer1), "{ viewer { reviewQueue { dueOn proposal { id } } } }", json!({})).await;
    assert_eq!(queue["viewer"]["reviewQueue"][0]["proposal"]["id"], id);
    assert_eq!(queue["viewer"]["reviewQueue"][0]["dueOn"], "2099-12-31");

    // Too early to decide.
    let d = app
        .ok(
            Some(&c.lead),
            DECIDE,
            json!({"input": {"proposalId": id, "expectedVersion": version, "decision": "ACCEPT", "reason": "好"}}),
        )
        .await;
    assert_eq!(errors(&d, "decideProposal"), ["NOT_ENOUGH_EVALUATIONS"]);

    // Two reviewers evaluate (with forecasts); scores out of range are refused with the field.
    let d = app
        .ok(
            Some(&c.reviewer1),
            EVALUATE,
            json!({"input": {"proposalId": id, "scores": scores([11.0, 7.0, 9.0, 6.0, 8.0]), "comment": "x"}}),
        )
        .await;
    assert_eq!(d["submitEvaluation"]["userErrors"][0]["code"], "VALIDATION_FAILED");
    assert_eq!(d["submitEvaluation"]["userErrors"][0]["field"], json!(["input", "scores"]));
    for (token, s, kwh) in
        [(&c.reviewer1, [8.0, 7.0, 9.0, 6.0, 8.0], 180000.0), (&c.reviewer2, [6.0, 9.0, 7.0, 8.0, 10.0], 220000.0)]
    {
        let d = app
            .ok(
                Some(token),
                EVALUATE,
                json!({"input": {"proposalId": id, "scores": scores(s), "comment": "技术成熟，建议试点",
                "forecastSavings": {"electricityKwh": kwh, "moneyYuan": 100000}}}),
            )
            .await;
        assert_eq!(errors(&d, "submitEvaluation"), Vec::<String>::new());
    }
    // The author does not see the breakdown before the decision.
    let before = app
        .ok(
            Some(&c.worker),
            "query($id: ID!) { proposal(id: $id) { evaluationSummary { completed } evaluations { comment } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(before["proposal"]["evaluationSummary"], Value::Null);
    assert_eq!(before["proposal"]["evaluations"], json!([]));

    let d = app
        .ok(Some(&c.lead), DECIDE, json!({"input": {"proposalId": id, "expectedVersion": version, "decision": "ACCEPT", "reason": "节能效果显著，同意试点"}}))
        .await;
    assert_eq!(d["decideProposal"]["proposal"]["status"], "ACCEPTED");
    version = d["decideProposal"]["proposal"]["version"].as_i64().unwrap();

    // Transparency: the author now sees the per-criterion breakdown and the reasons; the decision names
    // the criteria version and weights it used.
    let after = app
        .ok(
            Some(&c.worker),
            "query($id: ID!) { proposal(id: $id) {
                evaluationSummary { completed assigned required weightedMean criteria { key weight mean spread } }
                evaluations { comment reviewer { name } }
                forecastSavings { electricityKwh factorVersion }
                decision { outcome reason criteriaVersion criteria { criteria { key weight } } } } }",
            json!({"id": id}),
        )
        .await["proposal"]
        .clone();
    let summary = &after["evaluationSummary"];
    assert_eq!(
        (summary["completed"].as_i64(), summary["assigned"].as_i64(), summary["required"].as_i64()),
        (Some(2), Some(2), Some(2))
    );
    // (30·8+25·7+20·9+15·6+10·8)/100 = 7.65 and (30·6+25·9+20·7+15·8+10·10)/100 = 7.65 → mean 7.65
    assert!((summary["weightedMean"].as_f64().unwrap() - 7.65).abs() < 1e-9, "{summary}");
    assert_eq!(summary["criteria"][0]["key"], "ENERGY_EMISSION_EFFECT");
    assert_eq!(summary["criteria"][0]["mean"], 7.0);
    assert_eq!(summary["criteria"][0]["spread"], 1.0);
    assert_eq!(after["evaluations"].as_array().unwrap().len(), 2);
    assert_eq!(after["evaluations"][0]["reviewer"], Value::Null, "authors see evaluations without reviewer names");
    assert_eq!(after["decision"]["reason"], "节能效果显著，同意试点");
    assert_eq!(after["decision"]["criteriaVersion"], 1);
    assert_eq!(after["decision"]["criteria"]["criteria"][0]["weight"], 30.0);
    assert_eq!(after["forecastSavings"]["electricityKwh"], 200000.0, "the forecast is the evaluators' mean");

    // The pilot: plan, milestones, measurements.
    let d = app
        .ok(
            Some(&c.lead),
            "mutation($input: StartPilotInput!) { startPilot(input: $input) { proposal { version status pilot { milestones { id title } } } userErrors { code } } }",
            json!({"input": {"proposalId": id, "expectedVersion": version, "plan": "在2号转炉试点三个月",
                "milestones": [{"title": "余热锅炉安装", "dueOn": "2026-03-01"}, {"title": "试运行", "dueOn": "2026-04-01"}]}}),
        )
        .await;
    assert_eq!(d["startPilot"]["proposal"]["status"], "INCUBATING");
    version = d["startPilot"]["proposal"]["version"].as_i64().unwrap();
    let milestone = d["startPilot"]["proposal"]["pilot"]["milestones"][0]["id"].clone();
    let d = app
        .ok(
            Some(&c.lead),
            "mutation($input: UpdateMilestoneInput!) { updateMilestone(input: $input) { proposal { pilot { milestones { status doneOn } } } userErrors { code } } }",
            json!({"input": {"milestoneId": milestone, "status": "DONE", "doneOn": "2026-02-27"}}),
        )
        .await;
    assert_eq!(d["updateMilestone"]["proposal"]["pilot"]["milestones"][0]["status"], "DONE");

    // Confirming adoption before any measurement is refused.
    const CONFIRM: &str = "mutation($input: ConfirmAdoptionInput!) { confirmAdoption(input: $input) {
        proposal { version status verifiedSavings { electricityKwh coalT tce tco2e moneyYuan investmentYuan paybackYears factorVersion } }
        userErrors { field code } } }";
    let d = app
        .ok(Some(&c.enterprise_admin), CONFIRM, json!({"input": {"proposalId": id, "expectedVersion": version}}))
        .await;
    assert_eq!(errors(&d, "confirmAdoption"), ["VALIDATION_FAILED"]);

    const MEASURE: &str = "mutation($input: RecordMeasurementInput!) { recordMeasurement(input: $input) { proposal { id } userErrors { code field } } }";
    for (carrier, baseline, after) in
        [("ELECTRICITY", 100_000.0, 80_000.0), ("COAL", 50.0, 45.0), ("MONEY", 400_000.0, 370_000.0)]
    {
        let d = app
            .ok(
                Some(&c.lead),
                MEASURE,
                json!({"input": {"proposalId": id, "carrier": carrier, "baseline": baseline, "after": after,
                "periodStart": "2026-01-01", "periodEnd": "2026-01-31", "note": "2号转炉"}}),
            )
            .await;
        assert_eq!(errors(&d, "recordMeasurement"), Vec::<String>::new());
    }
    // A worker may not record measurements.
    let d = app
        .ok(Some(&c.worker), MEASURE, json!({"input": {"proposalId": id, "carrier": "COAL", "baseline": 1, "after": 0, "periodStart": "2026-01-01", "periodEnd": "2026-01-31"}}))
        .await;
    assert_eq!(errors(&d, "recordMeasurement"), ["FORBIDDEN"]);

    // The enterprise confirms adoption: verified savings from the measurements, converted with the
    // published factors — checked against a hand calculation.
    let d = app
        .ok(
            Some(&c.enterprise_admin),
            CONFIRM,
            json!({"input": {"proposalId": id, "expectedVersion": version, "investmentYuan": 300000}}),
        )
        .await;
    let p = &d["confirmAdoption"]["proposal"];
    assert_eq!(p["status"], "ADOPTED", "{d}");
    version = p["version"].as_i64().unwrap();
    let v = &p["verifiedSavings"];
    let kwh = 20_000.0 * 365.0 / 31.0; // (100 000 − 80 000) kWh in 31 days, per year
    let coal = 5.0 * 365.0 / 31.0;
    let money = 30_000.0 * 365.0 / 31.0;
    let tce = kwh * 0.1229 / 1000.0 + coal * 0.7143; // GB/T 2589: 0.1229 kgce/kWh, 0.7143 kgce/kg raw coal
    let tco2e = kwh * 0.5306 / 1000.0 + coal * 1.9003; // 2023 grid factor 0.5306 kgCO2/kWh; raw coal 1.9003 tCO2/t
    let close = |a: &Value, b: f64| (a.as_f64().unwrap() - b).abs() < 1e-6 * b.max(1.0);
    assert!(close(&v["electricityKwh"], kwh), "{v}");
    assert!(close(&v["coalT"], coal), "{v}");
    assert!(close(&v["moneyYuan"], money), "{v}");
    assert!(close(&v["tce"], tce), "tce {} vs {tce}", v["tce"]);
    assert!(close(&v["tco2e"], tco2e), "tco2e {} vs {tco2e}", v["tco2e"]);
    assert!(close(&v["paybackYears"], 300_000.0 / money));
    assert_eq!(v["factorVersion"], 1);
    // The published factor table says where those numbers come from.
    let factors =
        app.ok(None, "{ conversionFactors { carrier quantity publishedFactor unit source year } }", json!({})).await;
    let elec = factors["conversionFactors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["carrier"] == "ELECTRICITY" && f["quantity"] == "CO2E")
        .unwrap()
        .clone();
    assert_eq!(elec["publishedFactor"], 0.5306);
    assert_eq!(elec["year"], 2023);

    // The association promotes it into the catalogue.
    let d = app
        .ok(
            Some(&c.association),
            "mutation($input: PromoteProposalInput!) { promoteProposal(input: $input) { proposal { status } technique { id name } userErrors { code } } }",
            json!({"input": {"proposalId": id, "expectedVersion": version, "technique": {"name": "转炉烟气余热回收发电技术", "scope": "转炉炼钢企业"}}}),
        )
        .await;
    assert_eq!(d["promoteProposal"]["proposal"]["status"], "PROMOTED", "{d}");
    let technique = d["promoteProposal"]["technique"]["id"].clone();

    // A second enterprise records its own adoption; a worker may not.
    const ADOPT: &str = "mutation($input: RecordAdoptionInput!) { recordAdoption(input: $input) { adoption { tce } userErrors { code } } }";
    let adoption = json!({"input": {"techniqueId": technique, "enterpriseId": c.other_enterprise_id, "adoptedOn": greenline::domain::today(chrono::Utc::now()).to_string(),
        "savings": {"electricityKwh": 100000, "moneyYuan": 60000}}});
    let d = app.ok(Some(&c.worker), ADOPT, adoption.clone()).await;
    assert_eq!(errors(&d, "recordAdoption"), ["FORBIDDEN"]);
    let d = app.ok(Some(&c.other_admin), ADOPT, adoption).await;
    assert_eq!(errors(&d, "recordAdoption"), Vec::<String>::new());

    let t = app
        .ok(
            None,
            "query($id: ID!) { node(id: $id) { ... on Technique { name adoptions { enterprise { name } tce } totals { adoptionCount enterpriseCount tce } sourceProposals { title } } } }",
            json!({"id": technique}),
        )
        .await["node"]
        .clone();
    assert_eq!(t["adoptions"].as_array().unwrap().len(), 2);
    assert_eq!(t["adoptions"][0]["enterprise"]["name"], "宝山钢铁示范厂");
    assert_eq!(t["adoptions"][1]["enterprise"]["name"], "河北另一钢厂");
    assert_eq!(t["totals"]["adoptionCount"], 2);
    assert_eq!(t["totals"]["enterpriseCount"], 2);
    assert!(close(&t["totals"]["tce"], tce + 100_000.0 * 0.1229 / 1000.0), "{t}");
    assert_eq!(t["sourceProposals"][0]["title"], "转炉余热回收蒸汽发电", "anyone can see the promoted proposal");

    // Points: submission 10 (the worker's alone: the co-author joined after it), then acceptance 30,
    // adoption 60 and promotion 100, shared by the two authors.
    for (token, points, reasons) in [
        (&c.worker, 105, vec!["SUBMISSION", "ACCEPTANCE", "ADOPTION", "PROMOTION"]),
        (&c.coauthor, 95, vec!["ACCEPTANCE", "ADOPTION", "PROMOTION"]),
    ] {
        let me = app
            .ok(Some(token), "{ viewer { points greenSkillCredits pointsLedger { reason points } } }", json!({}))
            .await;
        assert_eq!(me["viewer"]["points"], points, "{me}");
        assert_eq!(me["viewer"]["greenSkillCredits"], 1.5);
        let got: Vec<&str> =
            me["viewer"]["pointsLedger"].as_array().unwrap().iter().map(|e| e["reason"].as_str().unwrap()).collect();
        assert_eq!(got, reasons);
    }
    for token in [&c.reviewer1, &c.lead, &c.association] {
        let me = app.ok(Some(token), "{ viewer { points } }", json!({})).await;
        assert_eq!(me["viewer"]["points"], 0);
    }

    // The impact adds up: one proposal, verified figures equal to the hand calculation, grouped by month.
    let impact = app
        .ok(Some(&c.admin), "{ impactSummary(groupBy: ENTERPRISE) { totals { proposals adoptionRate verifiedTce verifiedTco2e expectedTce }
            groups { label figures { proposals verifiedTce } } } }", json!({}))
        .await["impactSummary"]
        .clone();
    assert_eq!(impact["totals"]["proposals"], 1);
    assert_eq!(impact["totals"]["adoptionRate"], 1.0);
    assert!(close(&impact["totals"]["verifiedTce"], tce), "{impact}");
    assert!(close(&impact["totals"]["verifiedTco2e"], tco2e), "{impact}");
    assert!(close(&impact["totals"]["expectedTce"], 200_000.0 * 0.1229 / 1000.0), "{impact}");
    assert_eq!(impact["groups"][0]["label"], "宝山钢铁示范厂");

    // The subscriber received every event, in order, and nothing for the refused attempts.
    let expected = [
        ("CREATED", "DRAFT"),
        ("SUBMITTED", "SUBMITTED"),
        ("COAUTHOR_JOINED", "SUBMITTED"),
        ("REVIEWERS_ASSIGNED", "EVALUATING"),
        ("EVALUATED", "EVALUATING"),
        ("EVALUATED", "EVALUATING"),
        ("ACCEPTED", "ACCEPTED"),
        ("PILOT_STARTED", "INCUBATING"),
        ("MILESTONE_UPDATED", "INCUBATING"),
        ("MEASUREMENT_RECORDED", "INCUBATING"),
        ("MEASUREMENT_RECORDED", "INCUBATING"),
        ("MEASUREMENT_RECORDED", "INCUBATING"),
        ("ADOPTED", "ADOPTED"),
        ("PROMOTED", "PROMOTED"),
    ];
    let mut got = vec![];
    while got.len() < expected.len() {
        let e = tokio::time::timeout(std::time::Duration::from_secs(10), events.recv())
            .await
            .expect("events arrive")
            .expect("stream open");
        got.push(e);
    }
    let kinds: Vec<(&str, &str)> =
        got.iter().map(|e| (e["kind"].as_str().unwrap(), e["toStatus"].as_str().unwrap())).collect();
    assert_eq!(kinds, expected);
    let seqs: Vec<i64> = got.iter().map(|e| e["sequence"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");
    assert_eq!(got[6]["reason"], "节能效果显著，同意试点");
}

story!(concurrent_decisions_one_wins);
async fn concurrent_decisions_one_wins(app: TestApp) {
    let c = cast(&app).await;
    let (id, version) = evaluated_proposal(&app, &c, "高炉鼓风机变频改造").await;
    let accept =
        json!({"input": {"proposalId": id, "expectedVersion": version, "decision": "ACCEPT", "reason": "同意"}});
    let reject =
        json!({"input": {"proposalId": id, "expectedVersion": version, "decision": "REJECT", "reason": "不同意"}});
    let (a, b) = tokio::join!(app.ok(Some(&c.lead), DECIDE, accept), app.ok(Some(&c.lead), DECIDE, reject));
    let outcomes = [errors(&a, "decideProposal"), errors(&b, "decideProposal")];
    let ok = outcomes.iter().filter(|e| e.is_empty()).count();
    let conflicts = outcomes.iter().filter(|e| e.as_slice() == ["VERSION_CONFLICT"]).count();
    assert_eq!((ok, conflicts), (1, 1), "{a} {b}");
    let events = app
        .ok(
            Some(&c.admin),
            "query($id: ID!) { proposal(id: $id) { version events { edges { node { kind } } } } }",
            json!({"id": id}),
        )
        .await;
    let decided = events["proposal"]["events"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| matches!(e["node"]["kind"].as_str(), Some("ACCEPTED" | "REJECTED")))
        .count();
    assert_eq!(decided, 1, "exactly one decision was recorded");
    assert_eq!(events["proposal"]["version"], version + 1);
}

story!(refusals_change_nothing);
async fn refusals_change_nothing(app: TestApp) {
    let c = cast(&app).await;
    // A draft: only its authors see it.
    let d = app
        .ok(Some(&c.worker), "mutation($input: CreateProposalInput!) { createProposal(input: $input) { proposal { id version status } userErrors { code } } }",
            json!({"input": {"proposal": {"title": "冷却水循环利用", "body": "冷却水直排，建议循环使用。"}}}))
        .await;
    let id = d["createProposal"]["proposal"]["id"].clone();
    let version = d["createProposal"]["proposal"]["version"].as_i64().unwrap();
    assert_eq!(d["createProposal"]["proposal"]["status"], "DRAFT");
    for token in [Some(c.lead.as_str()), Some(c.coauthor.as_str()), Some(c.association.as_str()), None] {
        let seen = app.ok(token, "query($id: ID!) { proposal(id: $id) { id } }", json!({"id": id})).await;
        assert_eq!(seen["proposal"], Value::Null, "a draft is for its authors only");
    }
    // Validation names the field; a bad version is a conflict; a wrong move is an invalid transition.
    let d = app
        .ok(Some(&c.worker), "mutation($input: CreateProposalInput!) { createProposal(input: $input) { proposal { id } userErrors { field code message } } }",
            json!({"input": {"proposal": {"title": "  ", "body": "x"}}}))
        .await;
    assert_eq!(d["createProposal"]["userErrors"][0]["field"], json!(["input", "title"]));
    assert_eq!(d["createProposal"]["userErrors"][0]["code"], "VALIDATION_FAILED");
    let d = app.ok(Some(&c.worker), SUBMIT, json!({"input": {"proposalId": id, "expectedVersion": version + 5}})).await;
    assert_eq!(errors(&d, "submitProposal"), ["VERSION_CONFLICT"]);
    let d = app
        .ok(
            Some(&c.lead),
            DECIDE,
            json!({"input": {"proposalId": id, "expectedVersion": version, "decision": "ACCEPT", "reason": "?"}}),
        )
        .await;
    assert_eq!(errors(&d, "decideProposal"), ["NOT_FOUND"], "a lead cannot even see someone's draft");
    let d = app
        .ok(Some(&c.worker), "mutation($input: WithdrawProposalInput!) { withdrawProposal(input: $input) { proposal { status version } userErrors { code } } }",
            json!({"input": {"proposalId": id, "expectedVersion": version, "reason": "重复了"}}))
        .await;
    assert_eq!(d["withdrawProposal"]["proposal"]["status"], "WITHDRAWN");
    let d = app.ok(Some(&c.worker), SUBMIT, json!({"input": {"proposalId": id, "expectedVersion": version + 1}})).await;
    assert_eq!(errors(&d, "submitProposal"), ["INVALID_TRANSITION"]);
    // Anonymous mutations are refused.
    let d = app.ok(None, SUBMIT, json!({"input": {"proposal": {"title": "t", "body": "b"}}})).await;
    assert_eq!(errors(&d, "submitProposal"), ["UNAUTHENTICATED"]);
    // The history kept every accepted step and nothing from the refusals.
    let h = app.ok(Some(&c.worker), "query($id: ID!) { proposal(id: $id) { events { totalCount edges { node { kind fromVersion reason } } } } }", json!({"id": id})).await;
    let kinds: Vec<&str> = h["proposal"]["events"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["CREATED", "WITHDRAWN"]);
    assert_eq!(h["proposal"]["events"]["edges"][1]["node"]["fromVersion"], version);
    assert_eq!(h["proposal"]["events"]["edges"][1]["node"]["reason"], "重复了");

    // Return for revision → the author revises and resubmits: a new round.
    let (id, version) = evaluated_proposal(&app, &c, "退回再提交").await;
    let d = app.ok(Some(&c.lead), DECIDE, json!({"input": {"proposalId": id, "expectedVersion": version, "decision": "RETURN", "reason": "请补充测算"}})).await;
    assert_eq!(d["decideProposal"]["proposal"]["status"], "RETURNED");
    let v = d["decideProposal"]["proposal"]["version"].as_i64().unwrap();
    let d = app
        .ok(Some(&c.worker), "mutation($input: UpdateProposalInput!) { updateProposal(input: $input) { proposal { version body } userErrors { code } } }",
            json!({"input": {"proposalId": id, "expectedVersion": v, "proposal": {"body": "补充：年节电约20万千瓦时。"}}}))
        .await;
    let v = d["updateProposal"]["proposal"]["version"].as_i64().unwrap();
    let d = app.ok(Some(&c.worker), SUBMIT, json!({"input": {"proposalId": id, "expectedVersion": v}})).await;
    assert_eq!(d["submitProposal"]["proposal"]["status"], "SUBMITTED");
    assert_eq!(d["submitProposal"]["proposal"]["round"], 2);
    let me = app.ok(Some(&c.worker), "{ viewer { points } }", json!({})).await;
    assert_eq!(
        me["viewer"]["points"], 10,
        "submission points once per proposal: the withdrawn draft earned none, the resubmission none"
    );
}

story!(submit_on_behalf_of_a_worker_without_account);
async fn submit_on_behalf_of_a_worker_without_account(app: TestApp) {
    let c = cast(&app).await;
    let d = app
        .ok(Some(&c.worker), SUBMIT, json!({"input": {"proposal": {"title": "钢包加盖保温", "body": "钢包在等待期间热损失大，建议加盖。", "onBehalfOf": "陈师傅"}}}))
        .await;
    let p = &d["submitProposal"]["proposal"];
    assert_eq!(p["authors"], json!([{"name": "陈师傅", "user": null}]));
    let full = app
        .ok(
            Some(&c.worker),
            "query($id: ID!) { proposal(id: $id) { submittedBy { name } onBehalfOf } }",
            json!({"id": p["id"]}),
        )
        .await;
    assert_eq!(full["proposal"], json!({"submittedBy": {"name": "王师傅"}, "onBehalfOf": "陈师傅"}));
    // Someone without a team cannot submit on another's behalf.
    let d = app
        .ok(
            Some(&c.reviewer2),
            SUBMIT,
            json!({"input": {"proposal": {"title": "t", "body": "b", "onBehalfOf": "某人"}}}),
        )
        .await;
    assert_eq!(d["submitProposal"]["userErrors"][0]["field"], json!(["input", "onBehalfOf"]));
}

#[tokio::test]
async fn criteria_and_factors_are_public() {
    let Some(app) = TestApp::start(crate::Backend::Sqlite).await else { return };
    let d = app.ok(None, "{ evaluationCriteria { version scoreMax criteria { key weight } } conversionFactors { carrier quantity factor source } }", json!({})).await;
    let weights: Vec<f64> =
        d["evaluationCriteria"]["criteria"].as_array().unwrap().iter().map(|c| c["weight"].as_f64().unwrap()).collect();
    assert_eq!(weights, [30.0, 25.0, 20.0, 15.0, 10.0]);
    assert_eq!(d["evaluationCriteria"]["scoreMax"], 10.0);
    assert_eq!(d["conversionFactors"].as_array().unwrap().len(), 10);
    assert!(d["conversionFactors"].as_array().unwrap().iter().all(|f| !f["source"].as_str().unwrap().is_empty()));
}
