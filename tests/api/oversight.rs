//! Oversight (issue #22): the oversight group's figures equal a hand calculation on a small fixed data set
//! and never name an author under blind review; an appeal reopens a rejected proposal with fresh
//! reviewers; a change to the criteria has no effect until an overseer approves it.

use greenline::domain::organisation::Role;
use serde_json::{json, Value};

use crate::{journey::SUBMIT, proof::sql, story, TestApp};

/// `name(input: $input) { <selection> userErrors { field code message } }`, run as `token`.
async fn run(app: &TestApp, token: &str, name: &str, selection: &str, input: Value) -> Value {
    let input_type = format!("{}{}Input", name[..1].to_uppercase(), &name[1..]);
    let q = format!(
        "mutation($input: {input_type}!) {{ {name}(input: $input) {{ {selection} userErrors {{ field code message }} }} }}"
    );
    app.ok(Some(token), &q, json!({"input": input})).await[name].clone()
}

async fn done(app: &TestApp, token: &str, name: &str, selection: &str, input: Value) -> Value {
    let d = run(app, token, name, selection, input).await;
    assert_eq!(d["userErrors"], json!([]), "{name}: {d}");
    d
}

async fn refused(app: &TestApp, token: &str, name: &str, input: Value) -> String {
    let d = run(app, token, name, "__typename", input).await;
    d["userErrors"][0]["code"].as_str().unwrap_or_else(|| panic!("{name} should be refused: {d}")).to_owned()
}

async fn id_of(app: &TestApp, token: &str) -> Value {
    app.ok(Some(token), "{ viewer { id } }", json!({})).await["viewer"]["id"].clone()
}

async fn version(app: &TestApp, admin: &str, id: &Value) -> i64 {
    app.ok(Some(admin), "query($id: ID!) { proposal(id: $id) { version } }", json!({"id": id})).await["proposal"]
        ["version"]
        .as_i64()
        .unwrap()
}

/// Every criterion scored `s`: the weighted score is `s` too.
fn uniform(s: f64) -> Value {
    crate::journey::scores([s; 5])
}

struct Plant {
    worker: String,
    worker2: String,
    reviewers: Vec<String>,
    reviewer_ids: Vec<Value>,
    lead: String,
    overseer: String,
    association: String,
    admin: String,
}

async fn plant(app: &TestApp) -> Plant {
    let (plant, studio) = (Some("宝山钢铁示范厂"), Some("王进喜劳模创新工作室"));
    let mut reviewers = vec![];
    for name in ["赵专家", "钱专家", "孙专家", "李专家"] {
        reviewers.push(app.user(name, Role::Reviewer, plant, Some("技术组"), studio).await);
    }
    let mut reviewer_ids = vec![];
    for r in &reviewers {
        reviewer_ids.push(id_of(app, r).await);
    }
    Plant {
        worker: app.user("王师傅", Role::Worker, plant, Some("炼钢一班"), None).await,
        worker2: app.user("李师傅", Role::Worker, plant, Some("炼钢二班"), None).await,
        reviewers,
        reviewer_ids,
        lead: app.user("周劳模", Role::StudioLead, plant, None, studio).await,
        overseer: app.user("刘代表", Role::Overseer, plant, Some("炼钢三班"), None).await,
        association: app.user("郑秘书长", Role::Association, None, None, None).await,
        admin: app.user("平台管理员", Role::Admin, None, None, None).await,
    }
}

/// Submits as `author`, has reviewers `who` score it (weighted `scores`), and, with `decision`, decides.
async fn reviewed(
    app: &TestApp,
    p: &Plant,
    author: &str,
    title: &str,
    who: &[usize],
    scores: &[f64],
    decision: Option<&str>,
) -> Value {
    let input =
        json!({"proposal": {"title": title, "body": format!("{title}：现场测算可行。"), "category": "ENERGY_SAVING"}});
    let d = app.ok(Some(author), SUBMIT, json!({"input": input})).await;
    let id = d["submitProposal"]["proposal"]["id"].clone();
    let ids: Vec<&Value> = who.iter().map(|i| &p.reviewer_ids[*i]).collect();
    let v = version(app, &p.admin, &id).await;
    done(
        app,
        &p.lead,
        "assignReviewers",
        "__typename",
        json!({"proposalId": id, "expectedVersion": v, "reviewerIds": ids}),
    )
    .await;
    for (i, s) in who.iter().zip(scores) {
        let input = json!({"proposalId": id, "scores": uniform(*s), "comment": "按公布标准打分"});
        done(app, &p.reviewers[*i], "submitEvaluation", "__typename", input).await;
    }
    if let Some(decision) = decision {
        let v = version(app, &p.admin, &id).await;
        let input = json!({"proposalId": id, "expectedVersion": v, "decision": decision, "reason": format!("{decision}：见评审意见")});
        done(app, &p.lead, "decideProposal", "__typename", input).await;
    }
    id
}

const REPORT: &str = "{ oversight {
    threshold openAppeals
    decisions { proposalId title round outcome reason daysToDecision meanScore againstScores scores { reviewer weighted criteria { criterion score } } }
    decisionsAgainstScores { title outcome }
    reviewers { reviewer evaluations meanScore leniency compared }
    agreement { studio criterion alpha units }
    timeToDecision { decisions medianDays p90Days }
    overdueReviews { title reviewer dueOn daysOverdue }
    rates { group name decisions accepted returned rejected returnedRate rejectedRate } } }";

fn close(v: &Value, expected: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - expected).abs() < 1e-9)
}

story!(overseers_see_figures_equal_to_a_hand_calculation_and_no_author_under_review);
async fn overseers_see_figures_equal_to_a_hand_calculation_and_no_author_under_review(app: TestApp) {
    let p = plant(&app).await;
    // The fixed data set: three decisions by the studio's lead on rounds scored by two reviewers each.
    //   A (王师傅, 一班): 赵 8, 钱 6 → mean 7, REJECTED (against the scores: 7 ≥ 6)
    //   B (王师傅, 一班): 赵 5, 钱 3 → mean 4, ACCEPTED (against: 4 < 6)
    //   C (李师傅, 二班): 赵 7, 孙 9 → mean 8, RETURNED
    //   D (李师傅, 二班): under review, 孙 assigned and not done, due yesterday (set below)
    let a = reviewed(&app, &p, &p.worker, "转炉煤气回收", &[0, 1], &[8.0, 6.0], Some("REJECT")).await;
    let b = reviewed(&app, &p, &p.worker, "空压机群控", &[0, 1], &[5.0, 3.0], Some("ACCEPT")).await;
    let c = reviewed(&app, &p, &p.worker2, "余热锅炉改造", &[0, 2], &[7.0, 9.0], Some("RETURN")).await;
    let d = reviewed(&app, &p, &p.worker2, "电机变频改造", &[2], &[], None).await;
    let number = |id: &Value| {
        let raw = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, id.as_str().unwrap()).unwrap();
        String::from_utf8(raw).unwrap().rsplit(':').next().unwrap().parse::<i64>().unwrap()
    };
    let yesterday = (chrono::Utc::now() + chrono::Duration::hours(8) - chrono::Duration::days(1)).date_naive();
    sql(&app, &format!("update review_assignments set due_on = '{yesterday}' where proposal_id = {}", number(&d)))
        .await;

    let r = app.ok(Some(&p.overseer), REPORT, json!({})).await["oversight"].clone();
    assert!(!r.to_string().contains("王师傅") && !r.to_string().contains("李师傅"), "no author is named: {r}");
    let decisions = r["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), 3, "{r}");
    let by_title = |t: &str| decisions.iter().find(|x| x["title"] == t).unwrap().clone();
    assert!(close(&by_title("转炉煤气回收")["meanScore"], 7.0));
    assert_eq!(by_title("转炉煤气回收")["outcome"], "REJECTED");
    assert!(close(&by_title("空压机群控")["meanScore"], 4.0));
    assert!(close(&by_title("余热锅炉改造")["meanScore"], 8.0));
    let against: Vec<&str> =
        r["decisionsAgainstScores"].as_array().unwrap().iter().map(|x| x["title"].as_str().unwrap()).collect();
    assert_eq!(against.len(), 2);
    assert!(against.contains(&"转炉煤气回收") && against.contains(&"空压机群控"), "{against:?}");
    // Scores are shown under labels: 赵 is 评审员1 (the lowest id), 钱 评审员2, 孙 评审员3.
    let scores_of_a: Vec<(String, f64)> = by_title("转炉煤气回收")["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["reviewer"].as_str().unwrap().to_owned(), s["weighted"].as_f64().unwrap()))
        .collect();
    assert_eq!(scores_of_a, [("评审员1".to_owned(), 8.0), ("评审员2".to_owned(), 6.0)]);

    // Leniency by hand: 赵 (8−6, 5−3, 7−9) → 2/3 over 3; 钱 (6−8, 3−5) → −2 over 2; 孙 (9−7) → 2 over 1.
    let reviewers = r["reviewers"].as_array().unwrap();
    let lenient = |label: &str| reviewers.iter().find(|x| x["reviewer"] == label).unwrap().clone();
    assert!(close(&lenient("评审员1")["leniency"], 2.0 / 3.0), "{reviewers:?}");
    assert_eq!(lenient("评审员1")["compared"], 3);
    assert!(close(&lenient("评审员1")["meanScore"], 20.0 / 3.0));
    assert!(close(&lenient("评审员2")["leniency"], -2.0));
    assert!(close(&lenient("评审员3")["leniency"], 2.0));
    // Krippendorff's alpha by hand over the units {8,6}, {5,3}, {7,9}: n = 6, D_o = (2·4 + 2·4 + 2·4)/6 = 4,
    // Σ(v − mean)² = 23⅓, D_e = 2·6·23⅓ / (6·5) = 9⅓, alpha = 1 − 4/9⅓ = 4/7; every criterion was scored
    // alike, so each criterion and the weighted score give the same.
    let agreement = r["agreement"].as_array().unwrap();
    assert_eq!(agreement.len(), 6, "five criteria and WEIGHTED: {agreement:?}");
    for x in agreement {
        assert_eq!(x["studio"], "王进喜劳模创新工作室");
        assert!(close(&x["alpha"], 4.0 / 7.0), "{x}");
        assert_eq!(x["units"], 3);
    }
    // Time to decision, from each proposal's own submittedAt and decidedAt.
    let mut days = vec![];
    for id in [&a, &b, &c] {
        let q = "query($id: ID!) { proposal(id: $id) { submittedAt decidedAt } }";
        let x = app.ok(Some(&p.admin), q, json!({"id": id})).await["proposal"].clone();
        let t = |k: &str| x[k].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap();
        days.push((t("decidedAt") - t("submittedAt")).num_milliseconds() as f64 / 86_400_000.0);
    }
    days.sort_by(f64::total_cmp);
    let t = &r["timeToDecision"];
    assert_eq!(t["decisions"], 3);
    // To the millisecond the API shows (the server counts from microseconds).
    assert!((t["medianDays"].as_f64().unwrap() - days[1]).abs() < 2e-8, "{t} vs {days:?}");
    // Overdue: 孙 on D, one day.
    assert_eq!(
        r["overdueReviews"],
        json!([{"title": "电机变频改造", "reviewer": "评审员3", "dueOn": yesterday.to_string(), "daysOverdue": 1}])
    );
    // Rates: the studio and the enterprise 1/3 each; 一班 (A, B) rejects half; 二班 (C) returns all.
    let rates = r["rates"].as_array().unwrap();
    let rate =
        |group: &str, name: &str| rates.iter().find(|x| x["group"] == group && x["name"] == name).unwrap().clone();
    let studio = rate("STUDIO", "王进喜劳模创新工作室");
    assert_eq!((studio["decisions"].as_i64(), studio["rejected"].as_i64()), (Some(3), Some(1)));
    assert!(close(&studio["returnedRate"], 1.0 / 3.0));
    assert!(close(&rate("TEAM", "炼钢一班")["rejectedRate"], 0.5));
    assert!(close(&rate("TEAM", "炼钢二班")["returnedRate"], 1.0));
    assert!(close(&rate("ENTERPRISE", "宝山钢铁示范厂")["rejectedRate"], 1.0 / 3.0));

    // An overseer is a worker otherwise, and blind review hides D's authors from them.
    let q = "query($id: ID!) { proposal(id: $id) { status authorsHidden authors { name } submittedBy { name } } }";
    let seen = app.ok(Some(&p.overseer), q, json!({"id": d})).await["proposal"].clone();
    assert_eq!(seen["status"], "EVALUATING");
    assert_eq!(seen["authorsHidden"], true, "{seen}");
    assert!(!seen.to_string().contains("李师傅"), "{seen}");
    // Others may not read the report: workers, reviewers, leads, enterprise admins.
    for token in [&p.worker, &p.reviewers[0], &p.lead] {
        let body = app.gql(Some(token), "{ oversight { threshold } }", json!({})).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN", "{body}");
    }
    // An association sees the same figures for the enterprise.
    let assoc = app.ok(Some(&p.association), REPORT, json!({})).await["oversight"].clone();
    assert_eq!(assoc["decisions"].as_array().unwrap().len(), 3);
}

story!(an_appeal_reopens_a_rejected_proposal_with_fresh_reviewers);
async fn an_appeal_reopens_a_rejected_proposal_with_fresh_reviewers(app: TestApp) {
    let p = plant(&app).await;
    let a = reviewed(&app, &p, &p.worker, "转炉煤气回收", &[0, 1], &[8.0, 7.0], Some("REJECT")).await;
    let q =
        "query($id: ID!) { proposal(id: $id) { status round viewerCanAppeal appealDeadline appeals { id status } } }";
    let seen = app.ok(Some(&p.worker), q, json!({"id": a})).await["proposal"].clone();
    assert_eq!(seen["viewerCanAppeal"], true, "{seen}");
    assert!(seen["appealDeadline"].is_string());
    // Only an author appeals; an empty reason is refused.
    assert_eq!(
        refused(&app, &p.worker2, "appealDecision", json!({"proposalId": a, "reason": "不服"})).await,
        "FORBIDDEN"
    );
    assert_eq!(
        refused(&app, &p.worker, "appealDecision", json!({"proposalId": a, "reason": " "})).await,
        "VALIDATION_FAILED"
    );
    let appeal = done(
        &app,
        &p.worker,
        "appealDecision",
        "appeal { id version status reason }",
        json!({"proposalId": a, "reason": "两位评审给出8分和7分，高于分数线，结论与评分不符。"}),
    )
    .await["appeal"]
        .clone();
    assert_eq!(appeal["status"], "OPEN");
    assert_eq!(
        refused(&app, &p.worker, "appealDecision", json!({"proposalId": a, "reason": "再次申诉"})).await,
        "ALREADY_EXISTS"
    );
    assert_eq!(app.ok(Some(&p.worker), q, json!({"id": a})).await["proposal"]["viewerCanAppeal"], false);

    // The oversight group sees it open; the lead cannot decide before its opinion.
    let open = app.ok(Some(&p.overseer), "{ appeals(status: OPEN) { id proposalTitle reason viewerCanGiveOpinion viewerCanDecide } oversight { openAppeals } }", json!({})).await;
    assert_eq!(open["appeals"][0]["id"], appeal["id"]);
    assert_eq!(open["appeals"][0]["viewerCanGiveOpinion"], true);
    assert_eq!(open["oversight"]["openAppeals"], 1);
    let decide = |v: i64, reviewers: Vec<Value>| json!({"appealId": appeal["id"], "expectedVersion": v, "outcome": "REOPEN", "reason": "采纳监督小组意见，重新评审。", "reviewerIds": reviewers});
    assert_eq!(
        refused(&app, &p.lead, "decideAppeal", decide(1, vec![p.reviewer_ids[2].clone()])).await,
        "INVALID_TRANSITION"
    );
    assert_eq!(
        refused(
            &app,
            &p.worker,
            "giveAppealOpinion",
            json!({"appealId": appeal["id"], "expectedVersion": 1, "opinion": "同意"})
        )
        .await,
        "FORBIDDEN"
    );
    let opinion = done(
        &app,
        &p.overseer,
        "giveAppealOpinion",
        "appeal { version opinion viewerCanDecide }",
        json!({"appealId": appeal["id"], "expectedVersion": 1, "opinion": "评分均高于分数线，建议重新评审。"}),
    )
    .await["appeal"]
        .clone();
    assert_eq!(opinion["version"], 2);
    // Fresh reviewers only: 赵 reviewed it before.
    let d = run(&app, &p.lead, "decideAppeal", "__typename", decide(2, vec![p.reviewer_ids[0].clone()])).await;
    assert_eq!(d["userErrors"][0]["code"], "VALIDATION_FAILED", "{d}");
    assert_eq!(d["userErrors"][0]["field"], json!(["input", "reviewerIds"]));
    assert_eq!(
        refused(&app, &p.lead, "decideAppeal", decide(1, vec![p.reviewer_ids[2].clone()])).await,
        "VERSION_CONFLICT"
    );
    let reopened = done(
        &app,
        &p.lead,
        "decideAppeal",
        "appeal { status decisionReason }",
        decide(2, vec![p.reviewer_ids[2].clone(), p.reviewer_ids[3].clone()]),
    )
    .await["appeal"]
        .clone();
    assert_eq!(reopened["status"], "REOPENED");
    let after = app.ok(Some(&p.worker), q, json!({"id": a})).await["proposal"].clone();
    assert_eq!((after["status"].as_str(), after["round"].as_i64()), (Some("EVALUATING"), Some(2)), "{after}");
    // Who was told: the lead and the oversight group of the appeal, the lead of the opinion, the author of
    // the outcome (and the fresh reviewers of their task); the lead is never told who the author is.
    let told = |token: String| {
        let app = &app;
        async move {
            let d = app
                .ok(Some(&token), "{ viewer { notifications(first: 50) { nodes { kind body } } } }", json!({}))
                .await;
            d["viewer"]["notifications"]["nodes"].as_array().unwrap().clone()
        }
    };
    let kinds = |n: &[Value]| n.iter().map(|x| x["kind"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    let lead = told(p.lead.clone()).await;
    assert!(
        kinds(&lead).contains(&"APPEAL_FILED".to_owned()) && kinds(&lead).contains(&"APPEAL_OPINION_GIVEN".to_owned()),
        "{lead:?}"
    );
    assert!(kinds(&told(p.overseer.clone()).await).contains(&"APPEAL_FILED".to_owned()));
    let author = told(p.worker.clone()).await;
    let reopened = author.iter().find(|n| n["kind"] == "PROPOSAL_REOPENED").unwrap_or_else(|| panic!("{author:?}"));
    assert!(reopened["body"].as_str().unwrap().contains("采纳监督小组意见"), "{reopened}");
    assert!(kinds(&told(p.reviewers[2].clone()).await).contains(&"REVIEW_ASSIGNED".to_owned()));
    // The new reviewers score it, and the lead accepts it this time.
    for i in [2, 3] {
        done(
            &app,
            &p.reviewers[i],
            "submitEvaluation",
            "__typename",
            json!({"proposalId": a, "scores": uniform(8.0), "comment": "重新评审：可行"}),
        )
        .await;
    }
    assert_eq!(
        refused(
            &app,
            &p.reviewers[0],
            "submitEvaluation",
            json!({"proposalId": a, "scores": uniform(2.0), "comment": "旧评审"})
        )
        .await,
        "FORBIDDEN"
    );
    let v = version(&app, &p.admin, &a).await;
    done(
        &app,
        &p.lead,
        "decideProposal",
        "__typename",
        json!({"proposalId": a, "expectedVersion": v, "decision": "ACCEPT", "reason": "重新评审后采纳"}),
    )
    .await;
    // All of it is in the history, in order.
    let h = app
        .ok(
            Some(&p.admin),
            "query($id: ID!) { proposal(id: $id) { events(first: 50) { nodes { kind } } } }",
            json!({"id": a}),
        )
        .await;
    let kinds: Vec<&str> =
        h["proposal"]["events"]["nodes"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    let tail: Vec<&str> = kinds.iter().copied().skip_while(|k| *k != "REJECTED").collect();
    assert_eq!(
        tail,
        ["REJECTED", "APPEALED", "APPEAL_OPINION", "REOPENED", "EVALUATED", "EVALUATED", "ACCEPTED"],
        "{kinds:?}"
    );
    // The report counts both decisions, each in its own round.
    let r = app.ok(Some(&p.overseer), "{ oversight { openAppeals decisions { round outcome } } }", json!({})).await
        ["oversight"]
        .clone();
    assert_eq!(r["openAppeals"], 0);
    let mut rounds: Vec<(i64, String)> = r["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["round"].as_i64().unwrap(), d["outcome"].as_str().unwrap().to_owned()))
        .collect();
    rounds.sort();
    assert_eq!(rounds, [(1, "REJECTED".to_owned()), (2, "ACCEPTED".to_owned())]);
}

async fn criteria_in_force(app: &TestApp) -> Value {
    app.ok(None, "{ evaluationCriteria { version criteria { key weight } } }", json!({})).await["evaluationCriteria"]
        .clone()
}

story!(a_criteria_change_takes_effect_only_when_an_overseer_approves_it);
async fn a_criteria_change_takes_effect_only_when_an_overseer_approves_it(app: TestApp) {
    let p = plant(&app).await;
    let mut criteria: Vec<Value> = greenline::domain::evaluation::default_criteria()
        .iter()
        .map(|c| json!({"key": c.key, "name": c.name, "weight": c.weight, "description": c.description}))
        .collect();
    criteria[0]["weight"] = json!(50.0); // 节能减排效果 counts for more
    let input = json!({"kind": "CRITERIA", "criteria": criteria, "note": "提高节能减排效果的权重"});
    assert_eq!(refused(&app, &p.overseer, "proposeRuleChange", input.clone()).await, "FORBIDDEN");
    let bad = json!({"kind": "CRITERIA", "criteria": [{"key": "bad key", "name": "x", "weight": 1, "description": "x"}], "note": "坏的"});
    assert_eq!(refused(&app, &p.admin, "proposeRuleChange", bad).await, "VALIDATION_FAILED");
    let change = done(&app, &p.admin, "proposeRuleChange", "ruleChange { id version status }", input).await
        ["ruleChange"]
        .clone();
    assert_eq!(change["status"], "PROPOSED");

    // Not approved: nothing changed. The criteria are still version 1, an evaluation now uses version 1,
    // and the public changelog does not list the proposal.

    assert_eq!(criteria_in_force(&app).await["version"], 1);
    let first = reviewed(&app, &p, &p.worker, "转炉煤气回收", &[0], &[8.0], None).await;
    assert_eq!(app.ok(None, "{ ruleChanges { id } }", json!({})).await["ruleChanges"], json!([]));
    assert_eq!(
        app.ok(Some(&p.overseer), "{ ruleChanges(status: PROPOSED) { id } }", json!({})).await["ruleChanges"][0]["id"],
        change["id"]
    );

    // The admin cannot approve their own proposal (nor can anyone but an overseer).
    let approve =
        json!({"ruleChangeId": change["id"], "expectedVersion": 1, "approve": true, "note": "职工代表审议同意"});
    assert_eq!(refused(&app, &p.admin, "decideRuleChange", approve.clone()).await, "FORBIDDEN");
    assert_eq!(refused(&app, &p.lead, "decideRuleChange", approve.clone()).await, "FORBIDDEN");
    let approved = done(
        &app,
        &p.overseer,
        "decideRuleChange",
        "ruleChange { status rulesVersion decidedBy decidedAt }",
        approve.clone(),
    )
    .await["ruleChange"]
        .clone();
    assert_eq!(
        (approved["status"].as_str(), approved["rulesVersion"].as_i64()),
        (Some("APPROVED"), Some(2)),
        "{approved}"
    );
    assert_eq!(approved["decidedBy"], "刘代表");
    assert_eq!(
        refused(
            &app,
            &p.overseer,
            "decideRuleChange",
            json!({"ruleChangeId": change["id"], "expectedVersion": 2, "approve": true, "note": "再批"})
        )
        .await,
        "INVALID_TRANSITION"
    );

    // Approved: version 2 is in force, listed in the public changelog with its date; the next evaluation
    // uses it, the earlier one keeps version 1.
    let now = criteria_in_force(&app).await;
    assert_eq!(now["version"], 2);
    assert_eq!(now["criteria"][0], json!({"key": "ENERGY_EMISSION_EFFECT", "weight": 50.0}));
    let log = app.ok(None, "{ ruleChanges { kind status rulesVersion decidedAt note } }", json!({})).await
        ["ruleChanges"]
        .clone();
    assert_eq!(log[0]["rulesVersion"], 2);
    assert!(log[0]["decidedAt"].is_string());
    let second = reviewed(&app, &p, &p.worker, "空压机群控", &[0], &[8.0], None).await;
    let used = |id: Value| {
        let admin = p.admin.clone();
        let app = &app;
        async move {
            let q = "query($id: ID!) { proposal(id: $id) { evaluations { criteriaVersion } } }";
            app.ok(Some(&admin), q, json!({"id": id})).await["proposal"]["evaluations"][0]["criteriaVersion"].clone()
        }
    };
    assert_eq!(used(first).await, 1);
    assert_eq!(used(second).await, 2);
}

story!(a_factor_change_takes_effect_only_when_an_overseer_approves_it);
async fn a_factor_change_takes_effect_only_when_an_overseer_approves_it(app: TestApp) {
    let p = plant(&app).await;
    let q = "{ conversionFactors { version carrier quantity factor publishedFactor unit basis source year } }";
    let current = app.ok(None, q, json!({})).await["conversionFactors"].as_array().unwrap().clone();
    assert!(current.iter().all(|f| f["version"] == 1));
    // The grid's emission factor is revised: every other factor stays as published.
    let factors: Vec<Value> = current
        .iter()
        .map(|f| {
            let mut f = f.clone();
            f.as_object_mut().unwrap().remove("version");
            if f["carrier"] == "ELECTRICITY" && f["quantity"] == "CO2E" {
                f["factor"] = json!(0.0005366);
                f["publishedFactor"] = json!(0.5366);
                f["source"] = json!("生态环境部 2023年全国电网平均排放因子");
                f["year"] = json!(2023);
            }
            f
        })
        .collect();
    let missing: Vec<Value> = factors.iter().skip(1).cloned().collect();
    let d = run(
        &app,
        &p.admin,
        "proposeRuleChange",
        "__typename",
        json!({"kind": "FACTORS", "factors": missing, "note": "缺一项"}),
    )
    .await;
    assert_eq!(d["userErrors"][0]["code"], "VALIDATION_FAILED", "an incomplete table is refused: {d}");
    let change = done(
        &app,
        &p.admin,
        "proposeRuleChange",
        "ruleChange { id }",
        json!({"kind": "FACTORS", "factors": factors, "note": "采用最新全国电网平均排放因子"}),
    )
    .await["ruleChange"]
        .clone();
    let submit = |title: &str| {
        json!({"input": {"proposal": {"title": title, "body": "空压站夜间降压运行。", "category": "ENERGY_SAVING",
            "expectedSavings": {"electricityKwh": 100000}}}})
    };
    let sel = "mutation($input: SubmitProposalInput!) { submitProposal(input: $input) { proposal { expectedSavings { tco2e factorVersion } } } }";
    let before = app.ok(Some(&p.worker), sel, submit("空压站降压一")).await["submitProposal"]["proposal"]
        ["expectedSavings"]
        .clone();
    assert_eq!(before["factorVersion"], 1, "proposed, not approved: no effect");
    done(
        &app,
        &p.overseer,
        "decideRuleChange",
        "__typename",
        json!({"ruleChangeId": change["id"], "expectedVersion": 1, "approve": true, "note": "同意"}),
    )
    .await;
    let after = app.ok(Some(&p.worker), sel, submit("空压站降压二")).await["submitProposal"]["proposal"]
        ["expectedSavings"]
        .clone();
    assert_eq!(after["factorVersion"], 2);
    assert!(close(&after["tco2e"], 100000.0 * 0.0005366), "{after}");
    assert!(!close(&before["tco2e"], 100000.0 * 0.0005366), "{before}");
    let v2 = app.ok(None, q, json!({})).await["conversionFactors"].as_array().unwrap().clone();
    assert!(v2.iter().all(|f| f["version"] == 2) && v2.len() == current.len());
}
