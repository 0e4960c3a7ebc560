//! `greenline import`: streamed, validated record by record, idempotent, while the server runs.

use greenline::{db::Db, domain::organisation::Role};
use serde_json::json;

use crate::{
    harness::{parse_csv, refused_lines},
    story, TestApp,
};

/// Waits until the server's search index (fed by the change feed) finds `query` `n` times.
async fn searchable(app: &TestApp, token: &str, query: &str, n: i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let d = app
            .ok(Some(token), "query($q: String!) { searchProposals(query: $q) { totalCount } }", json!({"q": query}))
            .await;
        if d["searchProposals"]["totalCount"].as_i64() == Some(n) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "the import never reached the index: {d}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

story!(bad_lines_are_named_good_ones_stay_and_a_second_run_changes_nothing);
async fn bad_lines_are_named_good_ones_stay_and_a_second_run_changes_nothing(app: TestApp) {
    let admin = app.user("管理员", Role::Admin, None, None, None).await;
    app.user("鞍钢管理员", Role::EnterpriseAdmin, Some("鞍钢股份"), None, None).await;
    let lines = [
        r#"{"external_id": "AG-1", "title": "转炉余热回收发电", "body": "利用转炉余热回收蒸汽发电", "enterprise": "鞍钢股份", "status": "ADOPTED", "submitted_at": "2024-03-01", "adopted_at": "2024-09-01", "savings": {"electricity_kwh": 2000000}, "verified_savings": {"electricity_kwh": 1800000, "investment_yuan": 500000}, "authors": ["王强", "李娜"], "tags": ["余热", "转炉"]}"#,
        r#"{"external_id": "AG-2", "title": "风机变频改造", "body": "除尘风机加装变频器", "category": "节能降耗", "enterprise": "鞍钢股份"}"#,
        r#"{"external_id": "AG-3", "title": "断了的JSON", "body": "#,
        r#"{"external_id": "AG-4", "title": "空压机泄漏治理", "body": "定期巡检压缩空气管网", "status": "已采纳"}"#,
        "",
        r#"{"external_id": "AG-5", "body": "没有标题的记录"}"#,
        r#"{"external_id": 6, "title": "冷却水循环利用", "body": "轧钢冷却水闭式循环", "savings": {"water_t": "120,000"}}"#,
        r#"{"title": "无外部编号的建议", "body": "按标题和正文匹配"}"#,
        r#"{"external_id": "AG-9", "title": "负的节约量", "body": "不应被接受", "savings": {"coal_t": -3}}"#,
        r#"{"external_id": "AG-10", "title": "窑头保温改造", "body": "更换窑头保温层", "industry": "BUILDING_MATERIALS", "status": "ADOPTED"}"#,
        r#"{"external_id": "AG-11", "title": "错峰生产", "body": "高耗能工序移至谷时段", "submitted_at": "2024/5/6"}"#,
    ];
    let file = app.path("proposals.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();

    let (code, stderr) = app.import("proposals", &file, &[]).await;
    assert_eq!(code, 2, "some records were refused: {stderr}");
    assert_eq!(refused_lines(&stderr), [3, 6, 9, 10], "{stderr}");
    assert!(stderr.contains("line 10: status ADOPTED needs the measured savings"), "{stderr}");
    assert!(stderr.contains("6 created, 0 updated, 0 unchanged, 4 refused"), "{stderr}");

    let count = || async {
        app.ok(Some(&admin), "{ proposals { totalCount } }", json!({})).await["proposals"]["totalCount"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(count().await, 6);
    let d = app
        .ok(
            Some(&admin),
            r#"{ proposals(filter: {status: ADOPTED}) { edges { node { externalId title status tags category industry
                 enterprise { name } authors { name } verifiedSavings { electricityKwh tce } expectedSavings { electricityKwh } } } } }"#,
            json!({}),
        )
        .await;
    let p = &d["proposals"]["edges"][0]["node"];
    assert_eq!(p["externalId"], "AG-1");
    assert_eq!(p["enterprise"]["name"], "鞍钢股份");
    assert_eq!(p["industry"], "METALLURGY", "the enterprise's industry");
    assert_eq!(p["tags"], json!(["余热", "转炉"]));
    assert_eq!(p["authors"], json!([{"name": "王强"}, {"name": "李娜"}]));
    assert_eq!(p["verifiedSavings"]["electricityKwh"], 1_800_000.0);
    assert!(p["verifiedSavings"]["tce"].as_f64().unwrap() > 200.0);
    assert_eq!(p["expectedSavings"]["electricityKwh"], 2_000_000.0);
    let accepted =
        app.ok(Some(&admin), "{ proposals(filter: {status: ACCEPTED}) { edges { node { title } } } }", json!({})).await;
    assert_eq!(accepted["proposals"]["edges"][0]["node"]["title"], "空压机泄漏治理", "a Chinese status name");

    // The running server indexes what another process wrote, through the change feed.
    searchable(&app, &admin, "余热", 1).await;
    searchable(&app, &admin, "冷却水", 1).await;

    // The same file again: everything is found in place, nothing changes.
    let (code, stderr) = app.import("proposals", &file, &[]).await;
    assert_eq!(code, 2);
    assert_eq!(refused_lines(&stderr), [3, 6, 9, 10]);
    assert!(stderr.contains("0 created, 0 updated, 6 unchanged, 4 refused"), "{stderr}");
    assert_eq!(count().await, 6);

    // A corrected record updates the proposal it matches (a new version, found by search under its new title).
    let fixed = app.path("fixed.jsonl");
    std::fs::write(&fixed, r#"{"external_id": "AG-2", "title": "除尘风机变频改造", "body": "除尘风机加装变频器"}"#)
        .unwrap();
    let (code, stderr) = app.import("proposals", &fixed, &[]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("0 created, 1 updated, 0 unchanged, 0 refused"), "{stderr}");
    assert_eq!(count().await, 6);
    searchable(&app, &admin, "除尘风机", 1).await;
    let v = app
        .ok(
            Some(&admin),
            r#"{ proposals(filter: {category: ENERGY_SAVING}) { edges { node { title version } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(v["proposals"]["edges"][0]["node"]["title"], "除尘风机变频改造");
    assert_eq!(v["proposals"]["edges"][0]["node"]["version"], 2);
}

story!(a_gbk_csv_from_chinese_excel_keeps_its_chinese);
async fn a_gbk_csv_from_chinese_excel_keeps_its_chinese(app: TestApp) {
    let admin = app.user("管理员", Role::Admin, None, None, None).await;
    app.user("海螺管理员", Role::EnterpriseAdmin, Some("海螺水泥"), None, None).await;
    let csv = "外部编号,标题,正文,类别,企业,状态,提交日期,expected_coal_t,备注\r\n\
               HL-1,篦冷机余热发电,\"篦冷机废气余热用于发电，年节约标煤1.2万吨\",节能降耗,海螺水泥,已提交,2024/3/1,\"12,000\",重点\r\n\
               HL-2,窑尾烟气脱硝,\"SNCR脱硝，氨水用量降低30%\",减排降碳,海螺水泥,评审中,2024-04-02,,\r\n";
    let (gbk, _, lossy) = encoding_rs::GBK.encode(csv);
    assert!(!lossy);
    assert!(std::str::from_utf8(&gbk).is_err(), "the file really is GBK, not UTF-8");
    let file = app.path("建议.csv");
    std::fs::write(&file, &gbk).unwrap();

    let (code, stderr) = app.import("proposals", &file, &[]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("(gb18030)"), "the encoding was detected: {stderr}");
    assert!(stderr.contains("ignored columns (not import fields): 备注"), "{stderr}");
    assert!(stderr.contains("2 created"), "{stderr}");
    let d = app
        .ok(
            Some(&admin),
            "{ proposals { edges { node { externalId title body category status submittedAt expectedSavings { coalT } enterprise { name } } } } }",
            json!({}),
        )
        .await;
    let mut nodes: Vec<_> = d["proposals"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect();
    nodes.sort_by_key(|n| n["externalId"].as_str().unwrap().to_owned());
    assert_eq!(nodes[0]["title"], "篦冷机余热发电");
    assert_eq!(nodes[0]["body"], "篦冷机废气余热用于发电，年节约标煤1.2万吨");
    assert_eq!(nodes[0]["category"], "ENERGY_SAVING");
    assert_eq!(nodes[0]["status"], "SUBMITTED");
    assert_eq!(nodes[0]["enterprise"]["name"], "海螺水泥");
    assert_eq!(nodes[0]["submittedAt"], "2024-02-29T16:00:00.000Z", "a date is midnight China time");
    assert_eq!(nodes[0]["expectedSavings"]["coalT"], 12_000.0);
    assert_eq!(nodes[1]["body"], "SNCR脱硝，氨水用量降低30%");
    assert_eq!(nodes[1]["category"], "EMISSION_REDUCTION");
    assert_eq!(nodes[1]["status"], "EVALUATING");
    assert!(nodes[1]["expectedSavings"].is_null());
    searchable(&app, &admin, "篦冷机", 1).await;
}

story!(techniques_import_and_their_export_goes_back_in_unchanged);
async fn techniques_import_and_their_export_goes_back_in_unchanged(app: TestApp) {
    let file = app.path("techniques.jsonl");
    std::fs::write(
        &file,
        [
            r#"{"external_id": "T-1", "name": "转炉煤气干法回收技术", "industry": "冶金", "scope": "钢铁企业转炉", "principle": "干法除尘后回收煤气", "investment_yuan": 30000000, "payback_years": 2.5}"#,
            r#"{"external_id": "T-2", "name": "水泥窑纯低温余热发电", "industry": "BUILDING_MATERIALS", "effect": "吨熟料发电量35kWh以上"}"#,
            r#"{"external_id": "T-3", "industry": "MACHINERY"}"#,
            r#"{"name": "永磁同步电机替代", "industry": "机械", "key_parameters": "效率IE4及以上"}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    let (code, stderr) = app.import("techniques", &file, &[]).await;
    assert_eq!(code, 2);
    assert_eq!(refused_lines(&stderr), [3]);
    assert!(stderr.contains("line 3: name is required"), "{stderr}");
    assert!(stderr.contains("3 created"), "{stderr}");
    let d = app
        .ok(
            None,
            "{ techniques(industry: METALLURGY) { totalCount edges { node { name scope paybackYears } } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["techniques"]["totalCount"], 1);
    assert_eq!(d["techniques"]["edges"][0]["node"]["name"], "转炉煤气干法回收技术");
    assert_eq!(d["techniques"]["edges"][0]["node"]["paybackYears"], 2.5);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let s = app.ok(None, r#"{ searchTechniques(query: "余热发电") { totalCount } }"#, json!({})).await;
        if s["searchTechniques"]["totalCount"] == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "imported techniques never reached the index: {s}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // The public export: UTF-8 with a BOM, and it goes back in as it came out.
    let r = app.client.get(format!("{}/export/techniques.csv", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    let rows = parse_csv(std::str::from_utf8(&bytes[3..]).unwrap());
    assert_eq!(rows.len(), 4, "a header and three techniques");
    assert_eq!(rows[0][..3], ["id", "external_id", "name"]);
    let exported = app.path("techniques.csv");
    std::fs::write(&exported, &bytes).unwrap();
    let (code, stderr) = app.import("techniques", &exported, &[]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("(UTF-8)") && stderr.contains("0 created, 0 updated, 3 unchanged, 0 refused"), "{stderr}");
    let metallurgy =
        app.client.get(format!("{}/export/techniques.csv?industry=metallurgy", app.url)).send().await.unwrap();
    assert_eq!(parse_csv(std::str::from_utf8(&metallurgy.bytes().await.unwrap()[3..]).unwrap()).len(), 2);
    let bad = app.client.get(format!("{}/export/techniques.csv?industry=STEEL", app.url)).send().await.unwrap();
    assert_eq!(bad.status(), 400);
}

story!(a_record_repeated_later_in_the_same_file_updates_the_first);
async fn a_record_repeated_later_in_the_same_file_updates_the_first(app: TestApp) {
    let admin = app.user("管理员", Role::Admin, None, None, None).await;
    let file = app.path("repeated.jsonl");
    std::fs::write(
        &file,
        [
            r#"{"external_id": "R-1", "title": "空压机泄漏治理", "body": "第一稿", "authors": ["王强"], "savings": {"electricity_kwh": 1000}}"#,
            r#"{"external_id": "R-2", "title": "冷却塔风机变频", "body": "另一条"}"#,
            r#"{"external_id": "R-1", "title": "空压机泄漏治理", "body": "第二稿，补充了流量计数据", "savings": {"electricity_kwh": 5000}}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    let (code, stderr) = app.import("proposals", &file, &[]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("2 created, 1 updated, 0 unchanged, 0 refused"), "{stderr}");
    let d = app
        .ok(
            Some(&admin),
            r#"{ proposals { totalCount edges { node { externalId body version authors { name } expectedSavings { electricityKwh } events(first: 10) { nodes { kind } } } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(d["proposals"]["totalCount"], 2);
    let r1 = d["proposals"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .find(|n| n["externalId"] == "R-1")
        .unwrap();
    assert_eq!(r1["body"], "第二稿，补充了流量计数据");
    assert_eq!(r1["expectedSavings"]["electricityKwh"], 5000.0, "the later figures win");
    assert_eq!(r1["authors"], json!([{"name": "王强"}]));
    assert_eq!(r1["version"], 2);
    let kinds: Vec<&str> =
        r1["events"]["nodes"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["IMPORTED", "IMPORT_UPDATED"]);
}

story!(a_large_import_leaves_the_planner_fresh_statistics);
async fn a_large_import_leaves_the_planner_fresh_statistics(app: TestApp) {
    app.user("鞍钢管理员", Role::EnterpriseAdmin, Some("鞍钢股份"), None, None).await;
    let lines: Vec<String> = (0..1000)
        .map(|i| {
            json!({"external_id": format!("S-{i}"), "title": format!("第{i}号电机变频改造"), "body": "风机加装变频器",
                   "enterprise": "鞍钢股份"})
            .to_string()
        })
        .collect();
    let file = app.path("many.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let (code, stderr) = app.import("proposals", &file, &[]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("1000 created"), "{stderr}");
    match &app.state.services.db {
        // Without fresh statistics PostgreSQL plans the next lists for an empty table until autovacuum runs.
        Db::Postgres(pool, _) => {
            let analyzed: Option<chrono::DateTime<chrono::Utc>> =
                sqlx::query_scalar("select last_analyze from pg_stat_user_tables where relname = 'proposals'")
                    .fetch_one(pool)
                    .await
                    .unwrap();
            assert!(analyzed.is_some(), "the import ran ANALYZE at its end");
        }
        // SQLite plans from its indexes; there is nothing to refresh.
        Db::Sqlite(..) => {}
    }
}
