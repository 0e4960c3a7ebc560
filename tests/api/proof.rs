//! Proof (issue #22): an author's receipt verifies offline and against the server, and fails after one
//! byte of it or of the stored proposal changes; `greenline audit verify` finds a row edited by hand.

use serde_json::{json, Value};

use crate::{
    journey::{cast, SUBMIT},
    story, TestApp,
};

/// Runs the `greenline` binary with this app's database; returns (exit code, what it printed).
pub async fn greenline(app: &TestApp, args: &[&str]) -> (i32, String) {
    let (code, stdout, stderr) = app.cli(args).await;
    (code, format!("{stdout}{stderr}"))
}

/// Waits until the chain has linked the proposal's submission and its receipt is there.
pub async fn receipt(app: &TestApp, token: &str, id: &Value) -> Value {
    let q = "query($id: ID!) { proposal(id: $id) { receipt { document position hash keyId } } }";
    for _ in 0..100 {
        let r = app.ok(Some(token), q, json!({"id": id})).await["proposal"]["receipt"].clone();
        if r.is_object() {
            return r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no receipt for {id} after 10 s");
}

/// Runs SQL against the app's database (both backends' syntax).
pub async fn sql(app: &TestApp, statement: &str) {
    greenline::with_db!(app.db(), pool => {
        sqlx::query(statement).execute(pool).await.unwrap();
    });
}

async fn verify_receipt(app: &TestApp, document: &str) -> Value {
    let q = "query($d: String!) { verifyReceipt(document: $d) { valid signed keyId proposalNumber problems } }";
    app.ok(None, q, json!({"d": document})).await["verifyReceipt"].clone()
}

story!(a_receipt_proves_a_submission_and_audit_finds_an_edited_row);
async fn a_receipt_proves_a_submission_and_audit_finds_an_edited_row(app: TestApp) {
    let c = cast(&app).await;
    let body = "转炉煤气放散浪费严重，建议增设回收管网，年节电约120万千瓦时。";
    let d = app
        .ok(
            Some(&c.worker),
            SUBMIT,
            json!({"input": {"proposal": {"title": "转炉煤气回收", "body": body, "category": "ENERGY_SAVING"}}}),
        )
        .await;
    let id = d["submitProposal"]["proposal"]["id"].clone();
    let r = receipt(&app, &c.worker, &id).await;
    let document = r["document"].as_str().unwrap().to_owned();
    let doc: Value = serde_json::from_str(&document).unwrap();
    assert_eq!(doc["kind"], "greenline.receipt/1");
    assert_eq!(doc["body"], body);
    assert_eq!(doc["authors"], json!(["王师傅"]));
    assert_eq!(doc["chain"]["position"], r["position"]);

    // Others get no receipt: not the reviewers, not the admins.
    for token in [&c.reviewer1, &c.enterprise_admin, &c.admin] {
        let q = "query($id: ID!) { proposal(id: $id) { receipt { document } } }";
        assert_eq!(app.ok(Some(token), q, json!({"id": id})).await["proposal"]["receipt"], Value::Null);
    }

    // The key the server publishes is the one that signed it.
    let key: Value =
        app.client.get(format!("{}/.well-known/greenline-key", app.url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(key["algorithm"], "Ed25519");
    assert_eq!(key["keyId"], r["keyId"]);
    let public = key["publicKey"].as_str().unwrap().to_owned();
    let chain = app.ok(None, "{ chain { length head publicKey keyId } }", json!({})).await["chain"].clone();
    assert_eq!(chain["publicKey"], public.as_str());
    assert!(chain["length"].as_i64().unwrap() >= r["position"].as_i64().unwrap());

    // Offline, with the key trusted; and against the server.
    let file = app.path("receipt.json");
    std::fs::write(&file, &document).unwrap();
    let path = file.to_str().unwrap();
    let (code, out) = greenline(&app, &["verify", path, "--key", &public]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OK"), "{out}");
    let (code, out) = greenline(&app, &["verify", path, "--server", &app.url]).await;
    assert_eq!(code, 0, "{out}");
    let check = verify_receipt(&app, &document).await;
    assert_eq!(check["valid"], true, "{check}");
    assert_eq!(check["problems"], json!([]));

    // One byte of the receipt changed (a digit of the body: 120 → 121): the signature fails.
    let forged = document.replacen("120万", "121万", 1);
    assert_ne!(forged, document);
    std::fs::write(&file, &forged).unwrap();
    let (code, out) = greenline(&app, &["verify", path]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("signature does not match"), "{out}");
    let check = verify_receipt(&app, &forged).await;
    assert_eq!(check["valid"], false);
    assert_eq!(check["signed"], false);
    // Signed by another key: refused when the server's key is trusted.
    let other = greenline::domain::proof::Signer::from_pkcs8(&greenline::domain::proof::Signer::generate()).unwrap();
    let mut map: serde_json::Map<String, Value> = serde_json::from_str(&document).unwrap();
    map.remove("signature");
    std::fs::write(&file, other.sign(map).to_string()).unwrap();
    let (code, out) = greenline(&app, &["verify", path, "--key", &public]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not by the key you trust"), "{out}");

    let (code, out) = greenline(&app, &["audit", "verify"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OK: the chain is intact"), "{out}");

    // One byte of the stored proposal changed by hand in the database: the receipt no longer matches it,
    // and the audit names the proposal.
    let number = doc["number"].as_i64().unwrap();
    sql(&app, &format!("update proposals set body = replace(body, '120', '121') where id = {number}")).await;
    let check = verify_receipt(&app, &document).await;
    assert_eq!(check["valid"], false, "{check}");
    assert_eq!(check["signed"], true);
    assert!(check["problems"][0].as_str().unwrap().contains("body"), "{check}");
    std::fs::write(&file, &document).unwrap();
    let (code, out) = greenline(&app, &["verify", path, "--server", &app.url]).await;
    assert_eq!(code, 1, "{out}");
    let (code, out) = greenline(&app, &["audit", "verify"]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("ALTERED proposal {number}")), "{out}");
    sql(&app, &format!("update proposals set body = replace(body, '121', '120') where id = {number}")).await;
    assert_eq!(verify_receipt(&app, &document).await["valid"], true);

    // An event edited by hand: the chain breaks there, and the receipt of that submission fails.
    let event = doc["chain"]["eventId"].as_i64().unwrap();
    sql(&app, &format!("update events set reason = '补记' where id = {event}")).await;
    let (code, out) = greenline(&app, &["audit", "verify"]).await;
    assert_eq!(code, 1, "{out}");
    let position = doc["chain"]["position"].as_i64().unwrap();
    assert!(out.contains(&format!("BROKEN at position {position} (event {event})")), "{out}");
    let check = verify_receipt(&app, &document).await;
    assert!(check["problems"].to_string().contains("event was changed"), "{check}");
}

story!(checkpoints_are_signed_and_verify);
async fn checkpoints_are_signed_and_verify(app: TestApp) {
    let c = cast(&app).await;
    crate::journey::evaluated_proposal(&app, &c, "空压机群控").await;
    // The server's own chainer may hold the turn (then this round skips) or an event may wait behind a
    // transaction in progress: link until every event is in the chain.
    for _ in 0..100 {
        greenline::chain::catch_up(app.db(), || false).await.unwrap();
        if greenline::chain::audit(app.db()).await.unwrap().unchained == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let s = &app.state.services;
    greenline::chain::checkpoint(app.db(), &s.signer, std::time::Duration::ZERO, chrono::Utc::now()).await.unwrap();
    let chain = app
        .ok(None, "{ chain { length head checkpointPosition checkpointHash checkpointSignature checkpointSignedAt publicKey } }", json!({}))
        .await["chain"]
        .clone();
    assert_eq!(chain["checkpointPosition"], chain["length"], "{chain}");
    assert_eq!(chain["checkpointHash"], chain["head"]);
    let at: chrono::DateTime<chrono::Utc> = chain["checkpointSignedAt"].as_str().unwrap().parse().unwrap();
    let bytes = greenline::domain::proof::checkpoint_bytes(
        chain["checkpointPosition"].as_i64().unwrap(),
        chain["checkpointHash"].as_str().unwrap(),
        at,
    );
    assert!(greenline::domain::proof::signature_ok(
        chain["publicKey"].as_str().unwrap(),
        bytes.as_bytes(),
        chain["checkpointSignature"].as_str().unwrap()
    ));
    let (code, out) = greenline(&app, &["audit", "verify"]).await;
    assert_eq!(code, 0, "{out}");
    let signed: i64 =
        out.split(" signed checkpoints").next().and_then(|l| l.rsplit(' ').next()).unwrap().parse().unwrap();
    assert!(signed >= 1, "{out}");
    // A link rewritten to follow an edited event (a forger who recomputes the chain) no longer matches the
    // signed checkpoint.
    let head = chain["length"].as_i64().unwrap();
    sql(&app, &format!("update event_chain set hash = '{}' where position = {head}", "f".repeat(64))).await;
    let (code, out) = greenline(&app, &["audit", "verify"]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("BROKEN at position {head}")), "{out}");
}

story!(a_skill_record_is_signed_and_verifies);
async fn a_skill_record_is_signed_and_verifies(app: TestApp) {
    let c = cast(&app).await;
    let (id, v) = crate::journey::evaluated_proposal(&app, &c, "转炉煤气回收").await;
    let d = app
        .ok(
            Some(&c.lead),
            crate::journey::DECIDE,
            json!({"input": {"proposalId": id, "expectedVersion": v, "decision": "ACCEPT", "reason": "节能效果显著"}}),
        )
        .await;
    assert_eq!(d["decideProposal"]["userErrors"], json!([]), "{d}");
    let q = "query($u: ID) { skillRecord(userId: $u) { name enterprise team submitted accepted adopted promoted points credits
        evaluationsGiven verifiedTce verifiedTco2e byCategory { category asPrimaryAuthor asCoAuthor accepted } contributions { title role status shareTce shareTco2e } document } }";
    let r = app.ok(Some(&c.worker), q, json!({"u": null})).await["skillRecord"].clone();
    assert_eq!(r["name"], "王师傅");
    assert_eq!(r["team"], "炼钢一班");
    assert_eq!((r["submitted"].as_i64(), r["accepted"].as_i64(), r["adopted"].as_i64()), (Some(1), Some(1), Some(0)));
    assert_eq!(r["points"], 40, "10 for the submission and 30 for the acceptance");
    assert_eq!(
        r["byCategory"],
        json!([{"category": "ENERGY_SAVING", "asPrimaryAuthor": 1, "asCoAuthor": 0, "accepted": 1}])
    );
    assert_eq!(r["contributions"][0]["role"], "PRIMARY_AUTHOR");
    let reviewer = app.ok(Some(&c.reviewer1), q, json!({"u": null})).await["skillRecord"].clone();
    assert_eq!((reviewer["submitted"].as_i64(), reviewer["evaluationsGiven"].as_i64()), (Some(0), Some(1)));

    // The signed document verifies with the server's key, and fails after one byte changes.
    let document = r["document"].as_str().unwrap().to_owned();
    let doc: Value = serde_json::from_str(&document).unwrap();
    assert_eq!(doc["kind"], "greenline.skill-record/1");
    assert_eq!(doc["records"][0]["person"]["name"], "王师傅");
    assert_eq!(doc["records"][0]["points"], 40);
    let file = app.path("skill.json");
    std::fs::write(&file, &document).unwrap();
    let path = file.to_str().unwrap();
    let (code, out) = greenline(&app, &["verify", path, "--server", &app.url]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("skill record"), "{out}");
    std::fs::write(&file, document.replacen("\"points\": 40", "\"points\": 90", 1)).unwrap();
    let (code, out) = greenline(&app, &["verify", path]).await;
    assert_eq!(code, 1, "{out}");

    // The enterprise admin exports a group for an assessment; people of another enterprise are not theirs.
    let worker_id = app.ok(Some(&c.worker), "{ viewer { id } }", json!({})).await["viewer"]["id"].clone();
    let e = "query($ids: [ID!]!) { skillRecords(userIds: $ids) { count document } }";
    let group =
        app.ok(Some(&c.enterprise_admin), e, json!({"ids": [worker_id, c.coauthor_id]})).await["skillRecords"].clone();
    assert_eq!(group["count"], 2);
    std::fs::write(&file, group["document"].as_str().unwrap()).unwrap();
    assert_eq!(greenline(&app, &["verify", path, "--server", &app.url]).await.0, 0);
    let body = app.gql(Some(&c.other_admin), e, json!({"ids": [worker_id]})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND", "{body}");
    let body = app.gql(Some(&c.coauthor), q, json!({"u": worker_id})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND", "{body}");
    let body = app.gql(Some(&c.worker), e, json!({"ids": [worker_id]})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN", "{body}");
}

story!(two_instances_build_one_chain_while_writers_run_in_parallel);
/// Two servers on one database, each with its own chainer, while 40 submissions go through both at once:
/// the chain has every event exactly once, in one order, and the audit finds it intact. Neither instance
/// waits for the other (the links are a function of the feed; a link the other wrote first is kept).
async fn two_instances_build_one_chain_while_writers_run_in_parallel(app: TestApp) {
    let c = cast(&app).await;
    let sibling = app.sibling("index-2").await;
    let mut tasks = vec![];
    for i in 0..40 {
        let url = if i % 2 == 0 { app.url.clone() } else { sibling.url.clone() };
        let (client, token) = (app.client.clone(), if i % 3 == 0 { c.coauthor.clone() } else { c.worker.clone() });
        tasks.push(tokio::spawn(async move {
            let input = json!({"input": {"proposal": {"title": format!("并发提交{i}"), "body": "空压机管网查漏。", "category": "ENERGY_SAVING"}}});
            crate::harness::gql_at(&client, &url, Some(&token), SUBMIT, input).await
        }));
    }
    for t in tasks {
        let d = t.await.unwrap();
        assert!(d["data"]["submitProposal"]["proposal"]["id"].is_string(), "{d}");
    }
    // Both chainers catch up; the chain holds every event (CREATED and SUBMITTED of each of the 40) once.
    let linked = 80;
    let all_linked = format!("{linked} events linked");
    let mut out = String::new();
    for _ in 0..100 {
        let (code, o) = greenline(&app, &["audit", "verify"]).await;
        assert_eq!(code, 0, "{o}");
        out = o;
        // The count of events not linked yet is taken before the walk, so a walk can see all of them while
        // the count still shows some the chainer linked meanwhile: wait for both.
        if out.starts_with(&all_linked) && out.contains(" 0 events not linked yet") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(out.starts_with(&all_linked) && out.contains(" 0 events not linked yet") && out.contains("OK"), "{out}");
    let (a, b) = (
        app.ok(None, "{ chain { length head } }", json!({})).await["chain"].clone(),
        crate::harness::gql_at(&app.client, &sibling.url, None, "{ chain { length head } }", json!({})).await["data"]
            ["chain"]
            .clone(),
    );
    assert_eq!(a, b, "both instances see one chain");
    assert_eq!(a["length"], linked);
}
