//! `greenline demo`: a living system for first contact.

use serde_json::{json, Value};

use crate::{
    harness::{import_into, parse_csv},
    story, TestApp,
};

story!(demo_fills_an_empty_database_with_every_state);
async fn demo_fills_an_empty_database_with_every_state(app: TestApp) {
    let run = || {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_greenline"))
            .arg("demo")
            .env("GREENLINE_DATABASE_URL", &app.state.services.config.database_url)
            .env("RUST_LOG", "error")
            .output()
    };
    let out = run().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let admin =
        stdout.lines().find(|l| l.starts_with("ADMIN")).and_then(|l| l.split_whitespace().last()).unwrap().to_owned();

    // Nothing in the demo happens after today: no step, no adoption.
    let now = chrono::Utc::now();
    let d = app
        .ok(
            Some(&admin),
            "{ proposals(first: 100, filter: {status: PROMOTED}) { edges { node { updatedAt adoptedAt promotedAt } } }
               techniques(first: 100) { edges { node { adoptions { adoptedOn } } } } }",
            json!({}),
        )
        .await;
    let mut dates = 0;
    for e in d["proposals"]["edges"].as_array().unwrap() {
        for k in ["updatedAt", "adoptedAt", "promotedAt"] {
            let t: chrono::DateTime<chrono::Utc> = e["node"][k].as_str().unwrap().parse().unwrap();
            assert!(t <= now, "{k} {t} is after today");
            dates += 1;
        }
    }
    for e in d["techniques"]["edges"].as_array().unwrap() {
        for a in e["node"]["adoptions"].as_array().unwrap() {
            let day: chrono::NaiveDate = a["adoptedOn"].as_str().unwrap().parse().unwrap();
            assert!(day <= now.date_naive(), "an adoption on {day}, after today");
            dates += 1;
        }
    }
    assert!(dates > 20, "{d}");

    // Challenges with answers in several states, one closed with an award; help requests open, taken and
    // resolved with verified savings; none of it after today.
    let d = app
        .ok(
            Some(&admin),
            "{ challenges { edges { node { status createdAt closedAt awardedAnswers { id } answers { edges { node { status } } } } } }
               helpRequests { edges { node { status createdAt resolvedAt verifiedSavings { tce } } } } }",
            json!({}),
        )
        .await;
    let challenges = d["challenges"]["edges"].as_array().unwrap();
    assert_eq!(challenges.len(), 3, "{d}");
    let states = |c: &Value| -> std::collections::BTreeSet<String> {
        c["node"]["answers"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["node"]["status"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(challenges.iter().any(|c| states(c).len() >= 4), "answers in several states: {d}");
    let closed: Vec<&Value> = challenges.iter().filter(|c| c["node"]["status"] == "CLOSED").collect();
    assert_eq!(closed.len(), 1, "{d}");
    assert_eq!(closed[0]["node"]["awardedAnswers"].as_array().unwrap().len(), 1);
    let help: Vec<String> = d["helpRequests"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["node"]["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        help.iter().cloned().collect::<std::collections::BTreeSet<_>>(),
        ["OPEN", "RESOLVED", "TAKEN"].map(String::from).into(),
        "{d}"
    );
    // Studios say what they are known for: the open compressor request finds the studio of the plant
    // whose specialties name compressors.
    let open = app
        .ok(
            Some(&admin),
            "{ helpRequests(filter: {status: OPEN}) { nodes { suggestedStudios(first: 1) { studio { name } matchedSpecialties } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        open["helpRequests"]["nodes"][0]["suggestedStudios"][0]["matchedSpecialties"],
        json!(["空压机"]),
        "{open}"
    );
    let resolved =
        d["helpRequests"]["edges"].as_array().unwrap().iter().find(|h| h["node"]["status"] == "RESOLVED").unwrap();
    assert!(resolved["node"]["verifiedSavings"]["tce"].as_f64().unwrap() > 0.0);
    for t in [&challenges[0]["node"]["createdAt"], &closed[0]["node"]["closedAt"], &resolved["node"]["resolvedAt"]] {
        let t: chrono::DateTime<chrono::Utc> = t.as_str().unwrap().parse().unwrap();
        assert!(t <= now, "{t} is after today");
    }

    // The first plant's oversight group: an appeal with the group's opinion waiting for the lead, a change of
    // weights waiting for an overseer, and the whole history in an intact chain; none of it after today.
    let overseer = stdout
        .lines()
        .find(|l| l.starts_with("OVERSEER"))
        .and_then(|l| l.split_whitespace().last())
        .unwrap()
        .to_owned();
    let o = app
        .ok(
            Some(&overseer),
            "{ appeals { status opinion createdAt opinionAt } ruleChanges(status: PROPOSED) { kind proposedAt }
               oversight { openAppeals decisions { outcome } } }",
            json!({}),
        )
        .await;
    assert_eq!(o["oversight"]["openAppeals"], 1, "{o}");
    assert!(o["oversight"]["decisions"].as_array().unwrap().len() >= 10, "{o}");
    assert!(o["appeals"][0]["opinion"].is_string(), "{o}");
    assert_eq!(o["ruleChanges"][0]["kind"], "CRITERIA");
    for t in [&o["appeals"][0]["createdAt"], &o["appeals"][0]["opinionAt"], &o["ruleChanges"][0]["proposedAt"]] {
        let t: chrono::DateTime<chrono::Utc> = t.as_str().unwrap().parse().unwrap();
        assert!(t <= now, "{t} is after today");
    }

    // The server links the demo's history into its hash chain; the audit finds it intact.
    let mut report = String::new();
    for _ in 0..100 {
        let (code, out) = crate::proof::greenline(&app, &["audit", "verify"]).await;
        assert_eq!(code, 0, "{out}");
        if out.contains(" 0 events not linked yet") {
            report = out;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(report.contains("OK: the chain is intact"), "the chain never caught up: {report}");

    // The server follows the feed: the demo's proposals arrive in its index too.
    let d = app
        .ok(Some(&admin), "{ proposals { totalCount } impactSummary(groupBy: INDUSTRY) { totals { proposals byStatus { status count } verifiedTce } groups { key } } techniques { totalCount edges { node { totals { adoptionCount } } } } }", json!({}))
        .await;
    assert!(d["proposals"]["totalCount"].as_i64().unwrap() >= 200, "{d}");
    let statuses: Vec<&str> = d["impactSummary"]["totals"]["byStatus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    for s in [
        "SUBMITTED",
        "EVALUATING",
        "RETURNED",
        "REJECTED",
        "ACCEPTED",
        "INCUBATING",
        "ADOPTED",
        "PROMOTED",
        "WITHDRAWN",
        "DUPLICATE",
    ] {
        assert!(statuses.contains(&s), "{s} missing from {statuses:?}");
    }
    // Its duplicates link to their originals.
    let dups = app
        .ok(
            Some(&admin),
            "{ proposals(first: 100, filter: {status: DUPLICATE}) { edges { node { duplicateOf { id } } } } }",
            json!({}),
        )
        .await;
    let linked = dups["proposals"]["edges"].as_array().unwrap();
    assert!(!linked.is_empty() && linked.iter().all(|e| e["node"]["duplicateOf"]["id"].is_string()), "{dups}");
    let industries: Vec<&Value> = d["impactSummary"]["groups"].as_array().unwrap().iter().map(|g| &g["key"]).collect();
    assert_eq!(industries, [&json!("BUILDING_MATERIALS"), &json!("MACHINERY"), &json!("METALLURGY")]);
    assert!(d["impactSummary"]["totals"]["verifiedTce"].as_f64().unwrap() > 0.0);
    assert!(d["techniques"]["totalCount"].as_i64().unwrap() >= 6);
    assert!(d["techniques"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["node"]["totals"]["adoptionCount"].as_i64().unwrap() >= 2));
    let drafts = app.ok(Some(&admin), "{ proposals(filter: {status: DRAFT}) { totalCount } }", json!({})).await;
    assert!(drafts["proposals"]["totalCount"].as_i64().unwrap() > 0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let s = app.ok(Some(&admin), "{ searchProposals(query: \"余热\") { totalCount } }", json!({})).await;
        if s["searchProposals"]["totalCount"].as_i64().unwrap() > 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the demo never reached the index");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // The CSV export: UTF-8 with a BOM, the same rows the API shows each viewer, fields quoted as needed.
    let worker =
        stdout.lines().find(|l| l.starts_with("WORKER")).and_then(|l| l.split_whitespace().last()).unwrap().to_owned();
    app.ok(Some(&worker), "mutation { createProposal(input: {proposal: {title: \"引号\\\"与,逗号\", body: \"第一行,\\n第二行\"}}) { proposal { id } } }", json!({})).await;
    for token in [Some(admin.as_str()), Some(worker.as_str()), None] {
        let mut req = app.client.get(format!("{}/export/proposals.csv", app.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
        let bytes = r.bytes().await.unwrap();
        assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "a byte-order mark for Excel");
        let rows = parse_csv(std::str::from_utf8(&bytes[3..]).unwrap());
        assert_eq!(rows[0][0], "id");
        let api =
            app.ok(token, "{ proposals { totalCount } }", json!({})).await["proposals"]["totalCount"].as_i64().unwrap();
        assert_eq!(rows.len() as i64 - 1, api, "the export shows exactly what the API shows this viewer");
        if token == Some(worker.as_str()) {
            let mine = rows.iter().find(|r| r[2] == "引号\"与,逗号").expect("the worker's own draft, quoted");
            assert_eq!(mine[3], "第一行,\n第二行");
        }
        let status = rows[0].iter().position(|h| h == "status").unwrap();
        if token.is_none() {
            assert!(
                rows[1..].iter().all(|r| r[status] == "ADOPTED" || r[status] == "PROMOTED"),
                "anonymous sees proven results only"
            );
        }
    }
    let r = app.client.get(format!("{}/export/proposals.csv?status=NOPE", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 400);

    export_round_trips_through_the_importer(&app, &admin).await;
    impact_matches_an_independent_calculation(&app, &admin).await;

    // A second run refuses: demo fills an empty database only.
    let again = run().await.unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds"));
}

async fn admin_export(app: &TestApp, url: &str, token: &str) -> (Vec<u8>, Vec<Vec<String>>) {
    let r = app.client.get(format!("{url}/export/proposals.csv")).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap().to_vec();
    let rows = parse_csv(std::str::from_utf8(&bytes[3..]).unwrap());
    (bytes, rows)
}

/// The admin's export goes back in: into the same database it changes nothing; into an empty one it brings
/// every proposal back as it was (the copy's own export matches, column for column, but for the ids).
async fn export_round_trips_through_the_importer(app: &TestApp, admin: &str) {
    let (bytes, rows) = admin_export(app, &app.url, admin).await;
    let n = rows.len() - 1;
    let file = app.path("export.csv");
    std::fs::write(&file, &bytes).unwrap();
    let (code, stderr) = app.import("proposals", &file, &[]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains(&format!("0 created, 0 updated, {n} unchanged, 0 refused")), "{stderr}");

    let copy_url = format!("sqlite://{}", app.path("copy.db").display());
    let copy = greenline::db::Db::connect(&copy_url).await.unwrap();
    let enterprise = rows[0].iter().position(|h| h == "enterprise").unwrap();
    let mut names: Vec<&str> = rows[1..].iter().map(|r| r[enterprise].as_str()).filter(|e| !e.is_empty()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let new = greenline::db::users::NewUser {
            name: "管理员".into(),
            role: greenline::domain::organisation::Role::EnterpriseAdmin,
            enterprise: Some(name.into()),
            industry: Some(greenline::domain::organisation::Industry::Other),
            team: None,
            studio: None,
            ..greenline::db::users::NewUser::demo()
        };
        copy.create_user(&new).await.unwrap();
    }
    let copy_admin = copy
        .create_user(&greenline::db::users::NewUser {
            name: "复核员".into(),
            role: greenline::domain::organisation::Role::Admin,
            enterprise: None,
            industry: None,
            team: None,
            studio: None,
            ..greenline::db::users::NewUser::demo()
        })
        .await
        .unwrap()
        .1;
    copy.close().await;
    let (code, stderr) = import_into(&copy_url, "proposals", &file, &[]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains(&format!("{n} created, 0 updated, 0 unchanged, 0 refused")), "{stderr}");
    let server = app.server_on(&copy_url, "copy-index").await;
    let (_, copied) = admin_export(app, &server.url, &copy_admin).await;
    assert_eq!(copied.len(), rows.len());
    for (a, b) in rows.iter().zip(&copied) {
        assert_eq!(a[1..], b[1..], "every column but the id survives the round trip");
    }
}

/// `impactSummary` as the admin sees it equals what this test works out from the export by itself.
async fn impact_matches_an_independent_calculation(app: &TestApp, admin: &str) {
    let (_, rows) = admin_export(app, &app.url, admin).await;
    let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    let (status, enterprise, submitted, decided) =
        (col("status"), col("enterprise"), col("submitted_at"), col("decided_at"));
    let (expected_tce, verified_tce, verified_yuan) =
        (col("expected_tce"), col("verified_tce"), col("verified_money_yuan"));
    let counted: Vec<&Vec<String>> = rows[1..].iter().filter(|r| r[status] != "DRAFT").collect();
    let num = |v: &str| if v.is_empty() { 0.0 } else { v.parse::<f64>().unwrap() };
    let sum = |c: usize| counted.iter().map(|r| num(&r[c])).sum::<f64>();
    let is = |r: &&&Vec<String>, s: &[&str]| s.contains(&r[status].as_str());
    let accepted = counted.iter().filter(|r| is(r, &["ACCEPTED", "INCUBATING", "ADOPTED", "PROMOTED"])).count() as f64;
    let rejected = counted.iter().filter(|r| is(r, &["REJECTED"])).count() as f64;
    let adopted = counted.iter().filter(|r| is(r, &["ADOPTED", "PROMOTED"])).count() as f64;
    let at = |v: &str| chrono::DateTime::parse_from_rfc3339(v).unwrap();
    let mut days: Vec<f64> = counted
        .iter()
        .filter(|r| !r[submitted].is_empty() && !r[decided].is_empty())
        .map(|r| (at(&r[decided]) - at(&r[submitted])).num_seconds() as f64 / 86_400.0)
        .collect();
    days.sort_by(f64::total_cmp);
    let median = if days.len() % 2 == 1 {
        days[days.len() / 2]
    } else {
        (days[days.len() / 2 - 1] + days[days.len() / 2]) / 2.0
    };

    let d = app
        .ok(
            Some(admin),
            r#"{ impactSummary(groupBy: ENTERPRISE) {
                 totals { proposals helpRequestsResolved byStatus { status count } acceptanceRate adoptionRate medianDaysToDecision expectedTce verifiedTce verifiedYuan }
                 groups { label figures { proposals } }
                 byPoints: leaderboard(of: WORKERS, first: 100) { rank name points verifiedTce }
                 bySavings: leaderboard(of: TEAMS, by: VERIFIED_SAVINGS, first: 5) { rank name verifiedTce } }
               helpRequests(filter: {status: RESOLVED}) { edges { node { verifiedSavings { tce moneyYuan } } } } }"#,
            json!({}),
        )
        .await;
    // Resolved help requests' verified savings count beside the proposals' (they are no proposals).
    let resolved = d["helpRequests"]["edges"].as_array().unwrap();
    let help = |k: &str| resolved.iter().map(|h| h["node"]["verifiedSavings"][k].as_f64().unwrap_or(0.0)).sum::<f64>();
    let (help_tce, help_yuan) = (help("tce"), help("moneyYuan"));
    let t = &d["impactSummary"]["totals"];
    let close = |a: &Value, b: f64, tolerance: f64| {
        let a = a.as_f64().unwrap();
        assert!((a - b).abs() <= tolerance, "{a} ≠ {b}");
    };
    assert_eq!(t["proposals"], counted.len() as i64);
    assert_eq!(t["helpRequestsResolved"], resolved.len() as i64);
    for s in t["byStatus"].as_array().unwrap() {
        let n = counted.iter().filter(|r| r[status] == s["status"].as_str().unwrap()).count();
        assert_eq!(s["count"], n as i64, "{s}");
    }
    close(&t["acceptanceRate"], accepted / (accepted + rejected), 1e-9);
    close(&t["adoptionRate"], adopted / accepted, 1e-9);
    close(&t["medianDaysToDecision"], median, 1e-6);
    // The export rounds tce to 4 decimals: allow that much per row.
    close(&t["expectedTce"], sum(expected_tce), 1e-4 * counted.len() as f64);
    close(&t["verifiedTce"], sum(verified_tce) + help_tce, 1e-4 * counted.len() as f64);
    close(&t["verifiedYuan"], sum(verified_yuan) + help_yuan, 1e-6);
    for g in d["impactSummary"]["groups"].as_array().unwrap() {
        let n = counted.iter().filter(|r| r[enterprise] == g["label"].as_str().unwrap()).count();
        assert_eq!(g["figures"]["proposals"], n as i64, "{g}");
    }

    // Leaderboards: ranked in order, and the workers' shares of verified savings add up to the proposals'
    // (only proposals past blind review count, and every demo proposal has authors).
    let workers = d["impactSummary"]["byPoints"].as_array().unwrap();
    assert!(!workers.is_empty());
    assert!(workers.windows(2).all(|w| w[0]["points"].as_i64() >= w[1]["points"].as_i64()));
    assert!(workers.iter().enumerate().all(|(i, w)| w["rank"] == i as i64 + 1));
    let shared: f64 = workers.iter().map(|w| w["verifiedTce"].as_f64().unwrap()).sum();
    if workers.len() < 100 {
        close(&json!(shared), t["verifiedTce"].as_f64().unwrap() - help_tce, 1e-6);
    }
    let teams = d["impactSummary"]["bySavings"].as_array().unwrap();
    assert!(teams.windows(2).all(|w| w[0]["verifiedTce"].as_f64() >= w[1]["verifiedTce"].as_f64()));
    assert!(teams.iter().all(|t| !t["name"].as_str().unwrap().is_empty()));
}
