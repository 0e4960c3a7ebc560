//! `greenline demo`: a living system for first contact.

use serde_json::{json, Value};

use crate::{story, TestApp};

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
    ] {
        assert!(statuses.contains(&s), "{s} missing from {statuses:?}");
    }
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

    // A second run refuses: demo fills an empty database only.
    let again = run().await.unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds"));
}
