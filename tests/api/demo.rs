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
        if token.is_none() {
            assert!(
                rows[1..].iter().all(|r| r[7] == "ADOPTED" || r[7] == "PROMOTED"),
                "anonymous sees proven results only"
            );
        }
    }
    let r = app.client.get(format!("{}/export/proposals.csv?status=NOPE", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 400);

    // A second run refuses: demo fills an empty database only.
    let again = run().await.unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds"));
}

/// A small RFC 4180 reader for the test: quoted fields, doubled quotes, CRLF rows.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field, mut quoted) = (vec![], vec![], String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}
