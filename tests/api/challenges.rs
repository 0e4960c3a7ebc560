//! Challenges and help requests (issue #21): a studio's challenge answered by two workers, one answer
//! adopted and awarded with points; a small plant's help request matched to the catalogue and a studio,
//! taken, resolved and counted in the studio's impact; an enterprise challenge and its answers invisible
//! to other enterprises in every path.

use greenline::{
    db::users::NewUser,
    domain::organisation::{Industry, Role},
};
use serde_json::{json, Value};

use crate::{journey::scores, story, TestApp};

const CHALLENGE: &str = "id version title status scope ownerKind deadline reward
    target { kind electricityKwh tce tco2e factorVersion }
    progress { answers accepted adopted verifiedTce verifiedTco2e targetTce shareOfTarget }
    viewerCanManage viewerCanAnswer";
const HELP: &str =
    "id version title status consumption studio { name } requestedBy { name } viewerCanTake viewerCanResolve
    verifiedSavings { tce electricityKwh } techniquesUsed { name }";

/// `name(input: $input) { <selection> userErrors { field code message } }`.
fn mutation(name: &str, selection: &str) -> String {
    let input = format!("{}{}Input", name[..1].to_uppercase(), &name[1..]);
    format!(
        "mutation($input: {input}!) {{ {name}(input: $input) {{ {selection} userErrors {{ field code message }} }} }}"
    )
}

/// Runs a mutation that must succeed; returns its payload.
async fn done(app: &TestApp, token: &str, name: &str, selection: &str, input: Value) -> Value {
    let d = app.ok(Some(token), &mutation(name, selection), json!({"input": input})).await;
    assert_eq!(d[name]["userErrors"], json!([]), "{name}: {d}");
    d[name].clone()
}

/// Runs a mutation that must be refused; returns (field, code).
async fn refused(app: &TestApp, token: &str, name: &str, input: Value) -> (String, String) {
    let d = app.ok(Some(token), &mutation(name, "__typename"), json!({"input": input})).await;
    let e = &d[name]["userErrors"][0];
    assert!(e.is_object(), "{name} should be refused: {d}");
    assert!(e["message"].as_str().is_some_and(|m| m.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))), "{e}");
    let field = e["field"].as_array().and_then(|f| f.last()).and_then(Value::as_str).unwrap_or("");
    (field.to_owned(), e["code"].as_str().unwrap().to_owned())
}

async fn version(app: &TestApp, admin: &str, id: &Value) -> i64 {
    app.ok(Some(admin), "query($id: ID!) { proposal(id: $id) { version } }", json!({"id": id})).await["proposal"]
        ["version"]
        .as_i64()
        .unwrap()
}

async fn id_of(app: &TestApp, token: &str) -> Value {
    app.ok(Some(token), "{ viewer { id } }", json!({})).await["viewer"]["id"].clone()
}

/// A plant of `industry` with people in it (the harness makes every enterprise metallurgy).
async fn person(
    app: &TestApp,
    name: &str,
    role: Role,
    plant: &str,
    industry: Industry,
    studio: Option<&str>,
) -> String {
    let new = NewUser {
        name: name.into(),
        role,
        enterprise: Some(plant.into()),
        industry: Some(industry),
        studio: studio.map(Into::into),
        ..NewUser::demo()
    };
    app.db().create_user(&new).await.expect("user created").1
}

/// The people of the plant whose studio runs the challenge.
struct Plant {
    worker: String,
    worker2: String,
    reviewers: [String; 2],
    reviewer_ids: [Value; 2],
    lead: String,
    admin: String,
    platform: String,
}

async fn plant(app: &TestApp) -> Plant {
    let (plant, studio) = (Some("宝山钢铁示范厂"), Some("王进喜劳模创新工作室"));
    let r1 = app.user("赵专家", Role::Reviewer, plant, None, studio).await;
    let r2 = app.user("钱专家", Role::Reviewer, plant, None, studio).await;
    Plant {
        worker: app.user("王师傅", Role::Worker, plant, Some("炼钢一班"), None).await,
        worker2: app.user("李师傅", Role::Worker, plant, Some("炼钢二班"), None).await,
        reviewer_ids: [id_of(app, &r1).await, id_of(app, &r2).await],
        reviewers: [r1, r2],
        lead: app.user("周劳模", Role::StudioLead, plant, None, studio).await,
        admin: app.user("吴主任", Role::EnterpriseAdmin, plant, None, None).await,
        platform: app.user("平台管理员", Role::Admin, None, None, None).await,
    }
}

/// Submits a proposal answering `challenge` (null: none).
async fn answer(app: &TestApp, token: &str, title: &str, body: &str, challenge: &Value) -> Value {
    let input =
        json!({"proposal": {"title": title, "body": body, "category": "ENERGY_SAVING", "challengeId": challenge}});
    done(app, token, "submitProposal", "proposal { id version status challenge { id } }", input).await["proposal"]
        .clone()
}

/// Brings a submitted proposal through review, acceptance, a pilot with a measurement, and adoption.
async fn adopt(app: &TestApp, p: &Plant, id: &Value) {
    let sel = "proposal { id version status }";
    let v = version(app, &p.platform, id).await;
    let ids = &p.reviewer_ids;
    done(app, &p.lead, "assignReviewers", sel, json!({"proposalId": id, "expectedVersion": v, "reviewerIds": ids}))
        .await;
    for r in &p.reviewers {
        let input = json!({"proposalId": id, "scores": scores([8.0, 8.0, 9.0, 7.0, 8.0]), "comment": "可行"});
        done(app, r, "submitEvaluation", sel, input).await;
    }
    let v = version(app, &p.platform, id).await;
    let input = json!({"proposalId": id, "expectedVersion": v, "decision": "ACCEPT", "reason": "节能效果显著"});
    done(app, &p.lead, "decideProposal", sel, input).await;
    let v = version(app, &p.platform, id).await;
    let input =
        json!({"proposalId": id, "expectedVersion": v, "plan": "试点一个月", "milestones": [{"title": "装表计量"}]});
    done(app, &p.lead, "startPilot", sel, input).await;
    let input = json!({"proposalId": id, "carrier": "ELECTRICITY", "baseline": 100000, "after": 80000,
        "periodStart": "2026-01-01", "periodEnd": "2026-01-31"});
    done(app, &p.lead, "recordMeasurement", "__typename", input).await;
    let v = version(app, &p.platform, id).await;
    done(
        app,
        &p.admin,
        "confirmAdoption",
        sel,
        json!({"proposalId": id, "expectedVersion": v, "investmentYuan": 80000}),
    )
    .await;
}

/// Asks until the index has caught up with `query` (it follows the database within a second or so).
async fn until(app: &TestApp, token: Option<&str>, query: &str, vars: Value, ready: impl Fn(&Value) -> bool) -> Value {
    let mut d = Value::Null;
    for _ in 0..100 {
        d = app.ok(token, query, vars.clone()).await;
        if ready(&d) {
            return d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("never ready: {d}");
}

fn open_input(scope: &str) -> Value {
    json!({"challenge": {"title": "转炉车间电耗降两成", "statement": "转炉车间风机水泵电耗高，征集降低电耗两成的办法，以实测节电量为准。",
        "scope": scope, "deadline": "2099-06-30", "reward": "获奖应答奖励积分并推荐评选工匠",
        "target": {"electricityKwh": 400000}}})
}

story!(a_studio_challenge_is_answered_adopted_and_closed_with_an_award);
async fn a_studio_challenge_is_answered_adopted_and_closed_with_an_award(app: TestApp) {
    let p = plant(&app).await;
    // Who may open, and what a challenge needs.
    let (_, code) = refused(&app, &p.worker, "openChallenge", open_input("ENTERPRISE")).await;
    assert_eq!(code, "FORBIDDEN", "a worker answers challenges, does not post them");
    let mut past = open_input("ENTERPRISE");
    past["challenge"]["deadline"] = json!("2020-01-01");
    assert_eq!(refused(&app, &p.lead, "openChallenge", past).await, ("deadline".into(), "VALIDATION_FAILED".into()));
    let mut aimless = open_input("ENTERPRISE");
    aimless["challenge"]["target"] = json!({"moneyYuan": 1000});
    assert_eq!(refused(&app, &p.lead, "openChallenge", aimless).await, ("target".into(), "VALIDATION_FAILED".into()));

    let c = done(&app, &p.lead, "openChallenge", &format!("challenge {{ {CHALLENGE} }}"), open_input("INDUSTRY")).await
        ["challenge"]
        .clone();
    assert_eq!(
        (c["status"].as_str(), c["ownerKind"].as_str(), c["scope"].as_str()),
        (Some("OPEN"), Some("STUDIO"), Some("INDUSTRY"))
    );
    assert_eq!(c["target"]["kind"], "TARGET");
    assert!(c["target"]["tce"].as_f64().unwrap() > 40.0, "400,000 kWh converted with the published factor: {c}");
    assert_eq!(c["viewerCanManage"], true);

    // Two workers answer.
    let cid = c["id"].clone();
    let a1 = answer(
        &app,
        &p.worker,
        "除尘风机变频调速",
        "转炉二次除尘风机一直满速运行，建议加装变频器按冶炼周期调速。",
        &cid,
    )
    .await;
    let a2 = answer(&app, &p.worker2, "循环水泵取消阀门节流", "循环水泵出口阀只开一半，建议变频调节。", &cid).await;
    assert_eq!(a1["challenge"]["id"], cid);
    // Whoever posted it hears of each answer (about the challenge; the answer is not named).
    let inbox =
        app.ok(Some(&p.lead), "{ viewer { notifications(first: 20) { nodes { kind body } } } }", json!({})).await;
    let answered: Vec<&Value> = inbox["viewer"]["notifications"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "CHALLENGE_ANSWERED")
        .collect();
    assert_eq!(answered.len(), 2, "{inbox}");
    assert!(answered[0]["body"].as_str().unwrap().contains("转炉车间电耗降两成"), "{inbox}");
    assert!(!inbox.to_string().contains("王师傅"), "no author is named");
    let seen = app
        .ok(
            Some(&p.worker),
            &format!("query($id: ID!) {{ challenge(id: $id) {{ {CHALLENGE} answers {{ totalCount }} }} }}"),
            json!({"id": cid}),
        )
        .await;
    assert_eq!(seen["challenge"]["progress"]["answers"], 2, "{seen}");
    assert_eq!(seen["challenge"]["viewerCanManage"], false);
    assert_eq!(seen["challenge"]["viewerCanAnswer"], true);
    // The other worker's answer is under review: a worker of the same enterprise sees it listed (as any
    // colleague's submitted proposal), the lead too.
    assert_eq!(seen["challenge"]["answers"]["totalCount"], 2);

    // One answer is adopted; the progress shows its verified savings against the target.
    adopt(&app, &p, &a1["id"]).await;
    let verified = app
        .ok(
            Some(&p.worker),
            "query($id: ID!) { proposal(id: $id) { status verifiedSavings { tce tco2e } } }",
            json!({"id": a1["id"]}),
        )
        .await["proposal"]
        .clone();
    assert_eq!(verified["status"], "ADOPTED");
    let progress = app
        .ok(Some(&p.lead), &format!("query($id: ID!) {{ challenge(id: $id) {{ {CHALLENGE} }} }}"), json!({"id": cid}))
        .await["challenge"]["progress"]
        .clone();
    assert_eq!(
        (progress["answers"].as_i64(), progress["accepted"].as_i64(), progress["adopted"].as_i64()),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(progress["verifiedTce"], verified["verifiedSavings"]["tce"], "{progress}");
    assert_eq!(progress["verifiedTco2e"], verified["verifiedSavings"]["tco2e"]);
    let share = progress["shareOfTarget"].as_f64().unwrap();
    let expected = verified["verifiedSavings"]["tce"].as_f64().unwrap() / progress["targetTce"].as_f64().unwrap();
    assert!((share - expected).abs() < 1e-9 && share > 0.0, "{progress}");

    // The challenge closes awarding the adopted answer; one still under review cannot be awarded.
    let points_before =
        app.ok(Some(&p.worker), "{ viewer { points } }", json!({})).await["viewer"]["points"].as_i64().unwrap();
    let close = |awarded: Vec<Value>, v: i64| json!({"challengeId": cid, "expectedVersion": v, "awardedAnswerIds": awarded, "reason": "应答一经实测节电，达到目标的六成"});
    assert_eq!(refused(&app, &p.worker, "closeChallenge", close(vec![a1["id"].clone()], 1)).await.1, "FORBIDDEN");
    assert_eq!(refused(&app, &p.lead, "closeChallenge", close(vec![a1["id"].clone()], 7)).await.1, "VERSION_CONFLICT");
    assert_eq!(
        refused(&app, &p.lead, "closeChallenge", close(vec![a2["id"].clone()], 1)).await,
        ("awardedAnswerIds".into(), "VALIDATION_FAILED".into())
    );
    let closed = done(
        &app,
        &p.lead,
        "closeChallenge",
        &format!("challenge {{ {CHALLENGE} closeReason awardedAnswers {{ id }} }}"),
        close(vec![a1["id"].clone()], 1),
    )
    .await["challenge"]
        .clone();
    assert_eq!(closed["status"], "CLOSED");
    assert_eq!(closed["awardedAnswers"], json!([{"id": a1["id"]}]));
    assert_eq!(closed["viewerCanAnswer"], false);
    let points_after =
        app.ok(Some(&p.worker), "{ viewer { points } }", json!({})).await["viewer"]["points"].as_i64().unwrap();
    assert_eq!(points_after - points_before, 50, "the award's points go to the answer's author");
    let inbox =
        app.ok(Some(&p.worker), "{ viewer { notifications(first: 20) { nodes { kind body } } } }", json!({})).await;
    let awarded = inbox["viewer"]["notifications"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "CHALLENGE_AWARDED")
        .cloned();
    assert!(awarded.is_some_and(|n| n["body"].as_str().unwrap().contains("转炉车间电耗降两成")), "{inbox}");
    let events = app
        .ok(
            Some(&p.worker),
            "query($id: ID!) { proposal(id: $id) { events(first: 50) { nodes { kind reason } } } }",
            json!({"id": a1["id"]}),
        )
        .await;
    assert!(events.to_string().contains("CHALLENGE_AWARDED"), "{events}");
    // A closed challenge takes no more answers and no changes.
    let input = json!({"proposal": {"title": "再来一个", "body": "晚到的应答。", "challengeId": cid}});
    assert_eq!(
        refused(&app, &p.worker2, "submitProposal", input).await,
        ("challengeId".into(), "VALIDATION_FAILED".into())
    );
    let input = json!({"challengeId": cid, "expectedVersion": 2, "challenge": {"reward": "加码"}});
    assert_eq!(refused(&app, &p.lead, "updateChallenge", input).await.1, "INVALID_TRANSITION");

    // Impact grouped by challenge: the adopted answer's savings under the challenge's name.
    let impact = app
        .ok(
            Some(&p.admin),
            "{ impactSummary(groupBy: CHALLENGE) { groups { key label figures { proposals verifiedTce } } } }",
            json!({}),
        )
        .await;
    let groups = impact["impactSummary"]["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{impact}");
    assert_eq!(groups[0]["key"], cid);
    assert_eq!(groups[0]["label"], "转炉车间电耗降两成");
    assert_eq!(groups[0]["figures"]["proposals"], 2);
    assert_eq!(groups[0]["figures"]["verifiedTce"], verified["verifiedSavings"]["tce"]);

    // Searchable in Chinese, with facets.
    let found = until(
        &app,
        Some(&p.worker),
        "{ searchChallenges(query: \"电耗\") { totalCount facets { status { value count } scope { value count } } edges { highlights { snippet } node { id } } } }",
        json!({}),
        |d| d["searchChallenges"]["facets"]["status"].to_string().contains("CLOSED"),
    )
    .await;
    assert_eq!(found["searchChallenges"]["edges"][0]["node"]["id"], cid);
    assert_eq!(found["searchChallenges"]["facets"]["scope"], json!([{"value": "INDUSTRY", "count": 1}]));
    assert!(found.to_string().contains("<em>电耗</em>"), "{found}");
}

story!(a_small_plant_asks_for_help_and_a_studio_resolves_it);
async fn a_small_plant_asks_for_help_and_a_studio_resolves_it(app: TestApp) {
    // The catalogue: the benchmark's techniques, imported as an association would.
    let catalogue =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/matching/catalogue.jsonl")).unwrap();
    let file = app.path("catalogue.jsonl");
    std::fs::write(&file, &catalogue).unwrap();
    let (code, stderr) = app.import("techniques", &file, &[]).await;
    assert_eq!(code, 0, "{stderr}");

    // A small machinery plant; a steel plant whose studio knows compressors; a third plant's worker.
    let small = "小型机械配件厂";
    let asker = person(&app, "孙厂长", Role::EnterpriseAdmin, small, Industry::Machinery, None).await;
    let own_lead = person(&app, "小厂劳模", Role::StudioLead, small, Industry::Machinery, Some("小厂创新工作室")).await;
    let steel_admin = person(&app, "吴主任", Role::EnterpriseAdmin, "宝山钢铁示范厂", Industry::Metallurgy, None).await;
    let steel_enterprise = app.ok(Some(&steel_admin), "{ viewer { enterprise { id } } }", json!({})).await["viewer"]
        ["enterprise"]["id"]
        .clone();
    let studio = done(
        &app,
        &steel_admin,
        "createStudio",
        "studio { id name }",
        json!({"enterpriseId": steel_enterprise, "name": "动力能源劳模工作室", "specialties": ["空压机", "压缩空气"]}),
    )
    .await["studio"]
        .clone();
    let taker =
        person(&app, "钱劳模", Role::StudioLead, "宝山钢铁示范厂", Industry::Metallurgy, Some("动力能源劳模工作室"))
            .await;
    let stranger = person(&app, "外厂工人", Role::Worker, "河北另一机械厂", Industry::Machinery, None).await;

    let ask = json!({"title": "空压机夜班空转电费高",
        "problem": "我厂有4台75千瓦螺杆空压机，夜班用气很少但几台机器还是频繁加载卸载，压力在0.6到0.8兆帕之间来回波动，空压站电费占全厂三分之一。",
        "processes": ["机加工"], "equipment": ["螺杆空压机"], "consumption": "空压站每月耗电约9万千瓦时"});
    assert_eq!(
        refused(&app, &taker, "requestHelp", json!({"title": " ", "problem": "x"})).await,
        ("title".into(), "VALIDATION_FAILED".into())
    );
    let h = done(&app, &asker, "requestHelp", &format!("helpRequest {{ {HELP} industry }}"), ask).await["helpRequest"]
        .clone();
    assert_eq!((h["status"].as_str(), h["industry"].as_str()), (Some("OPEN"), Some("MACHINERY")), "{h}");
    assert_eq!(h["consumption"], "空压站每月耗电约9万千瓦时", "the plant sees what it wrote");

    // The matching technique comes first, with why; the studio that knows compressors is suggested.
    let q = "query($id: ID!) { helpRequest(id: $id) { consumption requestedBy { name } viewerCanTake
        suggestedTechniques(first: 3) { technique { name totals { adoptionCount } } score sharedWords highlights { field snippet } }
        suggestedStudios(first: 3) { studio { id name } matchedSpecialties } } }";
    let seen = until(&app, Some(&taker), q, json!({"id": h["id"]}), |d| {
        d["helpRequest"]["suggestedTechniques"].as_array().is_some_and(|a| !a.is_empty())
    })
    .await["helpRequest"]
        .clone();
    let first = &seen["suggestedTechniques"][0];
    assert_eq!(first["technique"]["name"], "空压站集中联控与变频改造", "{seen:#}");
    assert!(first["sharedWords"].as_array().unwrap().iter().any(|w| w == "空压机"), "{first}");
    assert!(first["highlights"].to_string().contains("<em>"), "{first}");
    assert_eq!(first["technique"]["totals"]["adoptionCount"], 0);
    assert_eq!(seen["suggestedStudios"][0]["studio"]["id"], studio["id"], "{seen}");
    assert_eq!(seen["suggestedStudios"][0]["matchedSpecialties"], json!(["空压机"]));
    assert!(
        seen["suggestedStudios"].as_array().unwrap().iter().all(|s| s["studio"]["name"] != "小厂创新工作室"),
        "never the plant's own studio"
    );
    assert_eq!(seen["viewerCanTake"], true);
    // Until a studio takes it, the consumption is the plant's.
    assert!(seen["consumption"].is_null() && seen["requestedBy"].is_null(), "{seen}");

    // The plant's own studio cannot take it; the steel plant's studio does; nobody takes it twice.
    let take = json!({"helpRequestId": h["id"], "expectedVersion": 1});
    assert_eq!(refused(&app, &own_lead, "takeHelpRequest", take.clone()).await.1, "FORBIDDEN");
    let taken = done(&app, &taker, "takeHelpRequest", &format!("helpRequest {{ {HELP} }}"), take.clone()).await
        ["helpRequest"]
        .clone();
    assert_eq!(
        (taken["status"].as_str(), taken["studio"]["name"].as_str()),
        (Some("TAKEN"), Some("动力能源劳模工作室"))
    );
    assert_eq!(taken["consumption"], "空压站每月耗电约9万千瓦时", "the studio that took it sees the figures");
    assert_eq!(taken["requestedBy"]["name"], "孙厂长");
    assert_eq!(
        refused(&app, &taker, "takeHelpRequest", json!({"helpRequestId": h["id"], "expectedVersion": 2})).await.1,
        "INVALID_TRANSITION"
    );
    let told = |kind: &'static str| {
        let asker = asker.clone();
        let app = &app;
        async move {
            let d = app
                .ok(Some(&asker), "{ viewer { notifications(first: 20) { nodes { kind body } } } }", json!({}))
                .await;
            let nodes = d["viewer"]["notifications"]["nodes"].as_array().unwrap().clone();
            nodes.iter().find(|n| n["kind"] == kind).map(|n| n["body"].as_str().unwrap().to_owned())
        }
    };
    let taken_notice = told("HELP_REQUEST_TAKEN").await;
    assert!(taken_notice.is_some_and(|b| b.contains("动力能源劳模工作室")), "the plant is told who took it on");
    let other = app
        .ok(
            Some(&stranger),
            &format!("query($id: ID!) {{ helpRequest(id: $id) {{ {HELP} }} }}"),
            json!({"id": h["id"]}),
        )
        .await;
    assert!(other["helpRequest"]["consumption"].is_null() && other["helpRequest"]["requestedBy"].is_null(), "{other}");
    let anon = app
        .ok(None, "query($id: ID!) { helpRequest(id: $id) { id } helpRequests { totalCount } }", json!({"id": h["id"]}))
        .await;
    assert_eq!(
        anon,
        json!({"helpRequest": null, "helpRequests": {"totalCount": 0}}),
        "help requests are for people signed in"
    );

    // It resolves it with the technique and measured savings; they count in the studio's impact.
    let technique = app
        .ok(None, "{ searchTechniques(query: \"空压站集中联控\") { edges { node { id } } } }", json!({}))
        .await["searchTechniques"]["edges"][0]["node"]["id"]
        .clone();
    let resolve = json!({"helpRequestId": h["id"], "expectedVersion": 2,
        "solution": "六台空压机集中联控，出口压力由0.8降到0.65兆帕，一台变频机调峰，夜班只开一台。",
        "techniqueIds": [technique], "verifiedSavings": {"electricityKwh": 300000, "moneyYuan": 210000}});
    assert_eq!(refused(&app, &own_lead, "resolveHelpRequest", resolve.clone()).await.1, "FORBIDDEN");
    let resolved = done(&app, &taker, "resolveHelpRequest", &format!("helpRequest {{ {HELP} solution }}"), resolve)
        .await["helpRequest"]
        .clone();
    assert_eq!(resolved["status"], "RESOLVED");
    assert!(told("HELP_REQUEST_RESOLVED").await.is_some(), "the plant is told it is resolved");
    assert_eq!(resolved["techniquesUsed"], json!([{"name": "空压站集中联控与变频改造"}]));
    let tce = resolved["verifiedSavings"]["tce"].as_f64().unwrap();
    assert!(tce > 30.0, "300,000 kWh is tens of tce: {resolved}");
    let impact = app
        .ok(None, "{ impactSummary(groupBy: STUDIO) { totals { verifiedTce helpRequestsResolved } groups { key label figures { proposals verifiedTce helpRequestsResolved } } } }", json!({}))
        .await["impactSummary"]
        .clone();
    assert_eq!(impact["totals"]["helpRequestsResolved"], 1);
    assert_eq!(impact["totals"]["verifiedTce"].as_f64(), Some(tce));
    let group = impact["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == studio["id"])
        .cloned()
        .expect("the studio's group");
    assert_eq!(group["label"], "动力能源劳模工作室");
    assert_eq!(
        (group["figures"]["proposals"].as_i64(), group["figures"]["helpRequestsResolved"].as_i64()),
        (Some(0), Some(1))
    );
    assert_eq!(group["figures"]["verifiedTce"].as_f64(), Some(tce));

    // Found by search, by anyone signed in, with facets; resolved, it can no longer be closed.
    let found = until(
        &app,
        Some(&stranger),
        "{ searchHelpRequests(query: \"空压机\") { totalCount facets { status { value count } } edges { node { id } } } }",
        json!({}),
        |d| d["searchHelpRequests"]["facets"]["status"].to_string().contains("RESOLVED"),
    )
    .await;
    assert_eq!(found["searchHelpRequests"]["edges"][0]["node"]["id"], h["id"]);
    let none =
        app.ok(None, "{ searchHelpRequests(query: \"空压机\") { totalCount edges { node { id } } } }", json!({})).await;
    assert_eq!(none["searchHelpRequests"]["totalCount"], 0, "{none}");
    let input = json!({"helpRequestId": h["id"], "expectedVersion": 3, "reason": "不需要了"});
    assert_eq!(refused(&app, &asker, "closeHelpRequest", input).await.1, "INVALID_TRANSITION");
}

story!(an_enterprise_challenge_and_its_answers_stay_inside_the_enterprise);
async fn an_enterprise_challenge_and_its_answers_stay_inside_the_enterprise(app: TestApp) {
    let p = plant(&app).await;
    let outsider = app.user("外厂工人", Role::Worker, Some("河北另一钢厂"), None, None).await;
    let outside_admin = app.user("冯主任", Role::EnterpriseAdmin, Some("河北另一钢厂"), None, None).await;
    let association = app.user("郑秘书长", Role::Association, None, None, None).await;
    let mut outside_events = crate::journey::subscribe_all_events(&app, &outsider).await;

    let c = done(&app, &p.lead, "openChallenge", "challenge { id }", open_input("ENTERPRISE")).await["challenge"]["id"]
        .clone();
    let confined =
        answer(&app, &p.worker, "除尘风机变频调速", "转炉二次除尘风机一直满速运行，建议加装变频器按冶炼周期调速。", &c)
            .await;
    adopt(&app, &p, &confined["id"]).await;
    // A control: an adopted proposal answering nothing is public, as always.
    let open =
        answer(&app, &p.worker2, "循环水泵变频改造", "循环水泵出口阀只开一半，建议加装变频器调速。", &Value::Null)
            .await;
    adopt(&app, &p, &open["id"]).await;

    // Inside: the challenge, its answer, its progress.
    let inside = app
        .ok(
            Some(&p.worker2),
            "query($id: ID!) { challenge(id: $id) { answers { totalCount } progress { adopted } } }",
            json!({"id": c}),
        )
        .await;
    assert_eq!(inside["challenge"]["answers"]["totalCount"], 1);
    assert_eq!(inside["challenge"]["progress"]["adopted"], 1);

    // Outside — another enterprise, an association, anonymous — in every path. The index must have both
    // adoptions before search is asked.
    until(
        &app,
        Some(&p.platform),
        "{ searchProposals(query: \"变频\", filter: {statuses: [ADOPTED]}) { totalCount } }",
        json!({}),
        |d| d["searchProposals"]["totalCount"] == 2,
    )
    .await;
    until(&app, Some(&p.platform), "{ searchChallenges(query: \"电耗\") { totalCount } }", json!({}), |d| {
        d["searchChallenges"]["totalCount"] == 1
    })
    .await;
    let q = "query($c: ID!, $p: ID!) {
        challenge(id: $c) { id } node(id: $c) { id } proposal(id: $p) { id } answer: node(id: $p) { id }
        challenges { totalCount edges { node { id } } }
        proposals(filter: {status: ADOPTED}) { totalCount edges { node { id } } }
        searchChallenges(query: \"\") { totalCount facets { industry { value count } status { value count } scope { value count } } }
        searchProposals(query: \"变频\") { totalCount facets { status { value count } } edges { node { id } } }
        impactSummary(groupBy: CHALLENGE) { groups { key } } }";
    for who in [Some(outsider.as_str()), Some(outside_admin.as_str()), Some(association.as_str()), None] {
        let d = app.ok(who, q, json!({"c": c, "p": confined["id"]})).await;
        for path in ["challenge", "node", "proposal", "answer"] {
            assert!(d[path].is_null(), "{path} for {who:?}: {d}");
        }
        assert_eq!(d["challenges"]["totalCount"], 0, "{who:?}: {d}");
        assert_eq!(d["searchChallenges"]["totalCount"], 0, "{who:?}: {d}");
        assert_eq!(d["searchChallenges"]["facets"], json!({"industry": [], "status": [], "scope": []}), "{who:?}");
        let listed = d["proposals"]["edges"].to_string() + &d["searchProposals"]["edges"].to_string();
        assert!(!listed.contains(confined["id"].as_str().unwrap()), "{who:?}: {d}");
        assert!(listed.contains(open["id"].as_str().unwrap()), "the control is public to {who:?}: {d}");
        assert_eq!(d["proposals"]["totalCount"], 1, "{who:?}: {d}");
        assert_eq!(d["searchProposals"]["totalCount"], 1, "{who:?}: {d}");
        assert_eq!(d["searchProposals"]["facets"]["status"], json!([{"value": "ADOPTED", "count": 1}]), "{who:?}");
        assert_eq!(d["impactSummary"]["groups"], json!([]), "no challenge group outside: {who:?}");
        // And it cannot be answered from outside.
        if let Some(token) = who {
            let input =
                json!({"proposal": {"title": "外厂应答", "body": "试图应答别人的内部课题。", "challengeId": c}});
            let d = app.ok(Some(token), &mutation("createProposal", "proposal { id }"), json!({"input": input})).await;
            assert_eq!(d["createProposal"]["userErrors"][0]["field"], json!(["input", "challengeId"]), "{d}");
        }
    }
    // Subscriptions: the outsider's stream carried the control's adoption, never the answer's events.
    let mut seen = vec![];
    let control = open["id"].as_str().unwrap().to_owned();
    while !seen.iter().any(|e: &Value| e["proposalId"] == control.as_str() && e["kind"] == "ADOPTED") {
        let e = tokio::time::timeout(std::time::Duration::from_secs(10), outside_events.recv())
            .await
            .expect("the control's ADOPTED event within 10 s")
            .expect("the subscription is open");
        seen.push(e);
    }
    assert!(seen.iter().all(|e| e["proposalId"] != confined["id"]), "{seen:?}");

    // Widening the challenge to the industry lets its answers follow their own rule again.
    let input = json!({"challengeId": c, "expectedVersion": 1, "challenge": {"scope": "INDUSTRY"}});
    done(&app, &p.lead, "updateChallenge", "challenge { id scope }", input).await;
    let d = app
        .ok(
            Some(&outsider),
            "query($p: ID!) { proposal(id: $p) { id challenge { id } } }",
            json!({"p": confined["id"]}),
        )
        .await;
    assert_eq!(d["proposal"]["challenge"]["id"], c, "{d}");
    // Once another enterprise has answered, it cannot be made internal again (that answer would vanish
    // from its own challenge).
    answer(&app, &outsider, "外厂的应答", "我厂的除尘风机也这样改过，节电明显。", &c).await;
    let input = json!({"challengeId": c, "expectedVersion": 2, "challenge": {"scope": "ENTERPRISE"}});
    assert_eq!(refused(&app, &p.lead, "updateChallenge", input).await, ("scope".into(), "VALIDATION_FAILED".into()));
}
