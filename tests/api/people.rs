//! People administered in GraphQL: personal access tokens (expiry, read-only, revocation), people, teams
//! and studios by enterprise admins and admins, deactivation seen by every instance and by open
//! subscriptions, and the audit log that nothing edits.

use std::time::Duration;

use greenline::domain::organisation::Role;
use serde_json::{json, Value};

use crate::{story, TestApp};

const CREATE_TOKEN: &str = "mutation($input: CreateAccessTokenInput!) { createAccessToken(input: $input) {
    secret accessToken { id name readOnly expiresAt lastUsedAt kind } userErrors { field code message } } }";
const REVOKE: &str =
    "mutation($input: RevokeAccessTokenInput!) { revokeAccessToken(input: $input) { accessToken { revokedAt } userErrors { code } } }";
const CREATE_USER: &str =
    "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id name role email employeeNumber active } userErrors { field code message } } }";
const UPDATE_USER: &str =
    "mutation($input: UpdateUserInput!) { updateUser(input: $input) { user { role email team { name } } userErrors { field code } } }";

async fn status_of(app: &TestApp, url: &str, token: &str, query: &str) -> (u16, Value) {
    let r = app
        .client
        .post(format!("{url}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

story!(personal_access_tokens_expire_read_only_and_revoke);
async fn personal_access_tokens_expire_read_only_and_revoke(app: TestApp) {
    let worker = app.user("王师傅", Role::Worker, Some("宝山钢铁示范厂"), Some("炼钢一班"), None).await;
    let other = app.user("李工", Role::Worker, Some("宝山钢铁示范厂"), None, None).await;

    // Bad input is refused field by field.
    for (input, field) in [
        (json!({"name": "", "expiresInDays": 30}), "name"),
        (json!({"name": "看板", "expiresInDays": 0}), "expiresInDays"),
        (json!({"name": "看板", "expiresInDays": 400}), "expiresInDays"),
        (json!({"name": "两行\n名称"}), "name"),
    ] {
        let d = app.ok(Some(&worker), CREATE_TOKEN, json!({"input": input})).await;
        let e = &d["createAccessToken"]["userErrors"][0];
        assert_eq!(
            (e["code"].as_str(), e["field"].as_array().unwrap().last()),
            (Some("VALIDATION_FAILED"), Some(&json!(field))),
            "{d}"
        );
        assert!(d["createAccessToken"]["secret"].is_null());
    }

    // A read-only token for a dashboard: 30 days, reads work, mutations are refused.
    let d = app
        .ok(Some(&worker), CREATE_TOKEN, json!({"input": {"name": "能耗看板", "expiresInDays": 30, "readOnly": true}}))
        .await;
    let made = &d["createAccessToken"];
    let secret = made["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("glt_"));
    assert_eq!(made["accessToken"]["readOnly"], true);
    assert_eq!(made["accessToken"]["kind"], "TOKEN");
    let expires = chrono::DateTime::parse_from_rfc3339(made["accessToken"]["expiresAt"].as_str().unwrap()).unwrap();
    let days = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((29.9..=30.0).contains(&days), "{days}");
    let id = made["accessToken"]["id"].clone();
    assert_eq!(app.ok(Some(&secret), "{ viewer { name } }", json!({})).await["viewer"]["name"], "王师傅");
    let body = app
        .gql(
            Some(&secret),
            crate::journey::SUBMIT,
            json!({"input": {"proposal": {"title": "只读令牌不能提交", "body": "内容"}}}),
        )
        .await;
    assert_eq!(body["data"]["submitProposal"]["userErrors"][0]["code"], "FORBIDDEN", "{body}");
    let count = app.ok(Some(&worker), "{ proposals(first: 1) { totalCount } }", json!({})).await;
    assert_eq!(count["proposals"]["totalCount"], 0, "nothing was written");

    // The list shows it, when it was last used (written in the background, to the minute).
    let mut used = Value::Null;
    for _ in 0..100 {
        let d = app.ok(Some(&worker), "{ viewer { accessTokens { id name lastUsedAt } } }", json!({})).await;
        let tokens = d["viewer"]["accessTokens"].as_array().unwrap().clone();
        let mine = tokens.iter().find(|t| t["id"] == id).expect("listed").clone();
        assert_eq!(mine["name"], "能耗看板");
        if !mine["lastUsedAt"].is_null() {
            used = mine["lastUsedAt"].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(used.is_string(), "lastUsedAt is recorded");
    // Another person sees none of it and cannot revoke it (it is not found for them).
    let d = app.ok(Some(&other), REVOKE, json!({"input": {"id": id}})).await;
    assert_eq!(d["revokeAccessToken"]["userErrors"][0]["code"], "NOT_FOUND");

    // Revoked: refused at once.
    let d = app.ok(Some(&worker), REVOKE, json!({"input": {"id": id}})).await;
    assert!(d["revokeAccessToken"]["accessToken"]["revokedAt"].is_string(), "{d}");
    let (status, body) = status_of(&app, &app.url, &secret, "{ viewer { name } }").await;
    assert_eq!((status, body["errors"][0]["extensions"]["code"].as_str()), (401, Some("UNAUTHENTICATED")));
    let d = app.ok(Some(&worker), "{ viewer { accessTokens { id } } }", json!({})).await;
    assert!(!d["viewer"]["accessTokens"].as_array().unwrap().iter().any(|t| t["id"] == id), "no longer listed");

    // Expired: refused.
    let d = app.ok(Some(&worker), CREATE_TOKEN, json!({"input": {"name": "临时"}})).await;
    let short = d["createAccessToken"]["secret"].as_str().unwrap().to_owned();
    assert_eq!(status_of(&app, &app.url, &short, "{ viewer { name } }").await.0, 200);
    let hash = greenline::db::users::hash_token(&short);
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    greenline::with_db!(app.db(), pool => {
        sqlx::query("update api_tokens set expires_at = $1 where token_hash = $2").bind(past).bind(&hash).execute(pool).await.unwrap();
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while status_of(&app, &app.url, &short, "{ viewer { name } }").await.0 != 401 {
        assert!(std::time::Instant::now() < deadline, "an expired token still works");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

story!(enterprise_admins_manage_their_people_and_deactivation_is_instant);
async fn enterprise_admins_manage_their_people_and_deactivation_is_instant(app: TestApp) {
    use crate::attacks::{ws_about, ws_connect_at, ws_send, ws_sync};
    let plant = Some("宝山钢铁示范厂");
    let admin = app.user("吴主任", Role::EnterpriseAdmin, plant, None, None).await;
    let other_admin = app.user("冯主任", Role::EnterpriseAdmin, Some("河北另一钢厂"), None, None).await;
    let worker = app.user("王师傅", Role::Worker, plant, Some("炼钢一班"), None).await;
    let me = app.ok(Some(&admin), "{ viewer { enterprise { id } } }", json!({})).await;
    let enterprise = me["viewer"]["enterprise"]["id"].clone();

    // A green team and a worker with an employee number, in their own enterprise.
    let d = app
        .ok(
            Some(&admin),
            "mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { id name isGreen } userErrors { code } } }",
            json!({"input": {"name": "节能降耗绿色班组", "isGreen": true}}),
        )
        .await;
    assert_eq!(d["createTeam"]["team"]["isGreen"], true, "{d}");
    let team = d["createTeam"]["team"]["id"].clone();
    let input = json!({"name": "陈小红", "role": "WORKER", "teamId": team, "email": "chen@plant.cn", "employeeNumber": "BG-1001"});
    let d = app.ok(Some(&admin), CREATE_USER, json!({"input": input.clone()})).await;
    let chen = d["createUser"]["user"].clone();
    assert_eq!(
        (chen["name"].as_str(), chen["email"].as_str(), chen["employeeNumber"].as_str(), chen["active"].as_bool()),
        (Some("陈小红"), Some("chen@plant.cn"), Some("BG-1001"), Some(true))
    );
    // The same employee number twice; a role above their own; another enterprise: refused, nothing written.
    let d = app.ok(Some(&admin), CREATE_USER, json!({"input": input})).await;
    assert_eq!(d["createUser"]["userErrors"][0]["code"], "ALREADY_EXISTS", "{d}");
    let d = app.ok(Some(&admin), CREATE_USER, json!({"input": {"name": "越权", "role": "ADMIN"}})).await;
    assert_eq!(d["createUser"]["userErrors"][0]["code"], "FORBIDDEN");
    let d = app
        .ok(
            Some(&other_admin),
            CREATE_USER,
            json!({"input": {"name": "外人", "role": "WORKER", "enterpriseId": enterprise}}),
        )
        .await;
    assert_eq!(d["createUser"]["userErrors"][0]["code"], "FORBIDDEN");
    let d = app.ok(Some(&admin), "{ people(first: 50) { totalCount edges { node { name } } } }", json!({})).await;
    assert_eq!(d["people"]["totalCount"], 3, "吴主任, 王师傅, 陈小红: {d}");
    let d =
        app.ok(Some(&admin), "{ people(first: 5, search: \"BG-10\") { edges { node { name } } } }", json!({})).await;
    assert_eq!(d["people"]["edges"][0]["node"]["name"], "陈小红");
    let body = app.gql(Some(&worker), "{ people(first: 5) { totalCount } }", json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");

    // A studio with its lead (promoted to STUDIO_LEAD) and members.
    let wang = app.ok(Some(&worker), "{ viewer { id } }", json!({})).await["viewer"]["id"].clone();
    let d = app
        .ok(
            Some(&admin),
            "mutation($input: CreateStudioInput!) { createStudio(input: $input) {
                studio { name specialties lead { name role } members { name } } userErrors { code field } } }",
            json!({"input": {"name": "王进喜劳模创新工作室", "specialties": ["余热回收", "电机节能"], "leadId": wang, "memberIds": [chen["id"]]}}),
        )
        .await;
    let studio = &d["createStudio"]["studio"];
    assert_eq!(studio["specialties"], json!(["余热回收", "电机节能"]), "{d}");
    assert_eq!(studio["lead"], json!({"name": "王师傅", "role": "STUDIO_LEAD"}));
    let mut members: Vec<&str> =
        studio["members"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    members.sort();
    assert_eq!(members, ["王师傅", "陈小红"]);

    // A change of role and e-mail; clearing the team.
    let d = app
        .ok(
            Some(&admin),
            UPDATE_USER,
            json!({"input": {"id": chen["id"], "role": "REVIEWER", "email": "chen.xh@plant.cn", "teamId": null}}),
        )
        .await;
    assert_eq!(d["updateUser"]["user"], json!({"role": "REVIEWER", "email": "chen.xh@plant.cn", "team": null}), "{d}");
    let d = app.ok(Some(&other_admin), UPDATE_USER, json!({"input": {"id": chen["id"], "role": "WORKER"}})).await;
    assert_eq!(d["updateUser"]["userErrors"][0]["code"], "FORBIDDEN");

    // Deactivating 王师傅: his token stops on this instance and on a second one, and his open subscription
    // is closed with 4403.
    let second = app.sibling("second-instance").await;
    let mut ws = ws_connect_at(&second.url, Some(&worker)).await;
    ws_send(
        &mut ws,
        json!({"id": "e", "type": "subscribe", "payload": {"query": "subscription { proposalEvents { sequence } }"}}),
    )
    .await;
    ws_sync(&mut ws).await;
    let q = "mutation($input: DeactivateUserInput!) { deactivateUser(input: $input) { user { active } userErrors { code message } } }";
    let d = app.ok(Some(&admin), q, json!({"input": {"id": wang}})).await;
    assert_eq!(d["deactivateUser"]["user"]["active"], false, "{d}");
    let at = std::time::Instant::now();
    let mut took = Vec::new();
    for url in [&app.url, &second.url] {
        while status_of(&app, url, &worker, "{ viewer { name } }").await.0 != 401 {
            assert!(at.elapsed() < Duration::from_secs(10), "{url} still accepts a deactivated person's token");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        took.push(at.elapsed());
    }
    eprintln!("deactivation refused after {took:?} (this instance, the second)");
    assert_eq!(ws_about(&mut ws, "e").await, json!({"close": 4403}), "the open subscription ends too");
    let d = app.ok(Some(&admin), q, json!({"input": {"id": wang}})).await;
    assert!(d["deactivateUser"]["userErrors"].as_array().unwrap().is_empty(), "deactivating twice is no error: {d}");
    let self_id = app.ok(Some(&admin), "{ viewer { id } }", json!({})).await["viewer"]["id"].clone();
    let d = app.ok(Some(&admin), q, json!({"input": {"id": self_id}})).await;
    assert_eq!(d["deactivateUser"]["userErrors"][0]["code"], "VALIDATION_FAILED", "not oneself");

    // Reactivated, the same token works again.
    let d = app
        .ok(
            Some(&admin),
            "mutation($input: ReactivateUserInput!) { reactivateUser(input: $input) { user { active } userErrors { code } } }",
            json!({"input": {"id": wang}}),
        )
        .await;
    assert_eq!(d["reactivateUser"]["user"]["active"], true);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while status_of(&app, &second.url, &worker, "{ viewer { name } }").await.0 != 200 {
        assert!(std::time::Instant::now() < deadline, "a reactivated person's token works again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The audit log: who did what to whom; each enterprise admin sees their own enterprise's only.
    let d = app
        .ok(
            Some(&admin),
            "{ auditLog(first: 50) { totalCount edges { node { action actor { name } targetKind detail address } } } }",
            json!({}),
        )
        .await;
    let actions: Vec<&str> =
        d["auditLog"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "USER_REACTIVATED",
            "USER_DEACTIVATED",
            "USER_UPDATED",
            "STUDIO_CREATED",
            "USER_UPDATED",
            "USER_CREATED",
            "TEAM_CREATED"
        ],
        "newest first; refusals leave no entry"
    );
    let first = &d["auditLog"]["edges"][6]["node"];
    assert_eq!(first["actor"]["name"], "吴主任");
    assert_eq!(first["address"], "127.0.0.1");
    let role_change: Value =
        serde_json::from_str(d["auditLog"]["edges"][2]["node"]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(role_change["role"], json!({"from": "WORKER", "to": "REVIEWER"}));
    let d = app.ok(Some(&other_admin), "{ auditLog(first: 50) { totalCount } }", json!({})).await;
    assert_eq!(d["auditLog"]["totalCount"], 0, "another enterprise's admin sees none of it");
    let d = app
        .ok(Some(&admin), "{ auditLog(first: 5, filter: {action: USER_DEACTIVATED}) { totalCount } }", json!({}))
        .await;
    assert_eq!(d["auditLog"]["totalCount"], 1);

    // Nobody edits it, not even with SQL.
    greenline::with_db!(app.db(), pool => {
        let updated = sqlx::query("update audit_log set action = 'NOTHING'").execute(pool).await;
        assert!(updated.is_err(), "the audit log refuses updates");
        let deleted = sqlx::query("delete from audit_log").execute(pool).await;
        assert!(deleted.is_err(), "the audit log refuses deletes");
    });
}

/// Runs `greenline ARGS…` against the app's database; returns (exit code, stderr).
async fn cli(app: &TestApp, args: &[&str]) -> (i32, String) {
    let (code, _, stderr) = app.cli(args).await;
    (code, stderr)
}

story!(a_plant_is_onboarded_from_its_roster_and_the_cli_revokes);
async fn a_plant_is_onboarded_from_its_roster_and_the_cli_revokes(app: TestApp) {
    let admin = app.user("吴主任", Role::EnterpriseAdmin, Some("宝钢示范厂"), None, None).await;
    // A roster as a plant's HR system exports it: GBK, Chinese headers, one line that asks too much.
    let roster = "工号,姓名,班组,角色,邮箱\n\
                  BG-001,王建国,炼钢一班,职工,wang@plant.cn\n\
                  BG-002,李秀英,炼钢一班,评审专家,\n\
                  BG-003,张伟,轧钢二班,ENTERPRISE_ADMIN,\n\
                  BG-004,赵越权,轧钢二班,ADMIN,\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(roster);
    let file = app.path("roster.csv");
    std::fs::write(&file, &gbk).unwrap();
    let (code, stderr) = app.import("users", &file, &["--enterprise", "宝钢示范厂"]).await;
    assert_eq!(code, 2, "some lines were refused: {stderr}");
    assert_eq!(crate::harness::refused_lines(&stderr), [5], "{stderr}");
    assert!(stderr.contains("3 people created"), "{stderr}");

    // The same roster again (without the refused line) changes nothing.
    let again: String = roster.lines().take(4).map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, encoding_rs::GBK.encode(&again).0).unwrap();
    let (code, stderr) = app.import("users", &file, &["--enterprise", "宝钢示范厂"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("0 people created, 0 updated, 3 unchanged"), "{stderr}");

    // A later roster (UTF-8 JSON Lines): 李秀英 moved to another team.
    let file = app.path("roster.jsonl");
    std::fs::write(&file, "{\"employee_number\": \"BG-002\", \"name\": \"李秀英\", \"enterprise\": \"宝钢示范厂\", \"team\": \"轧钢二班\", \"role\": \"REVIEWER\"}\n").unwrap();
    let (code, stderr) = app.import("users", &file, &[]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("1 updated"), "{stderr}");

    let d = app
        .ok(
            Some(&admin),
            "{ people(first: 10) { totalCount edges { node { id name role employeeNumber email team { name } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["people"]["totalCount"], 4, "吴主任 and three from the roster: {d}");
    let person = |name: &str| {
        d["people"]["edges"].as_array().unwrap().iter().find(|e| e["node"]["name"] == name).unwrap()["node"].clone()
    };
    assert_eq!(person("王建国")["email"], "wang@plant.cn");
    assert_eq!(person("王建国")["team"]["name"], "炼钢一班");
    assert_eq!(person("李秀英")["team"]["name"], "轧钢二班");
    assert_eq!(person("李秀英")["role"], "REVIEWER");
    assert_eq!(person("张伟")["role"], "ENTERPRISE_ADMIN");
    let log = app.ok(Some(&admin), "{ auditLog(first: 10) { edges { node { action detail } } } }", json!({})).await;
    assert_eq!(log["auditLog"]["edges"][0]["node"]["action"], "USER_UPDATED");
    assert!(log["auditLog"]["edges"][0]["node"]["detail"].as_str().unwrap().contains("roster"));

    // The CLI: a token revoked, a person deactivated — seen by the running server.
    let worker = app.user("钱师傅", Role::Worker, Some("宝钢示范厂"), None, None).await;
    let d = app.ok(Some(&worker), CREATE_TOKEN, json!({"input": {"name": "脚本"}})).await;
    let (secret, token_id) = (
        d["createAccessToken"]["secret"].as_str().unwrap().to_owned(),
        d["createAccessToken"]["accessToken"]["id"].clone(),
    );
    let (code, stderr) = cli(&app, &["token", "revoke", token_id.as_str().unwrap()]).await;
    assert_eq!(code, 0, "{stderr}");
    let qian = app.ok(Some(&worker), "{ viewer { id } }", json!({})).await["viewer"]["id"].clone();
    let (code, stderr) = cli(&app, &["user", "deactivate", qian.as_str().unwrap()]).await;
    assert_eq!(code, 0, "{stderr}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    for token in [&secret, &worker] {
        while status_of(&app, &app.url, token, "{ viewer { name } }").await.0 != 401 {
            assert!(std::time::Instant::now() < deadline, "the server still accepts a token the CLI revoked");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let (code, stderr) = cli(&app, &["user", "deactivate", "999999"]).await;
    assert_ne!(code, 0, "an unknown person is an error: {stderr}");
}
