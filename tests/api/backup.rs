//! `greenline backup` under load and `greenline restore`: the restored server has what the snapshot has —
//! proposals, attachments and a search index rebuilt to match.

use std::sync::{
    atomic::{AtomicBool, AtomicU64, Ordering},
    Arc,
};

use greenline::domain::organisation::Role;
use serde_json::{json, Value};

use crate::{
    attachments::{jpeg, upload},
    journey::SUBMIT,
    Backend, TestApp,
};

async fn cli(args: &[&str], env: &[(&str, String)]) -> (bool, String) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_greenline"));
    cmd.args(args).env("RUST_LOG", "error");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().await.unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Submission `n` (its idempotency key and title are numbered; every title holds 余热).
fn input(n: u64) -> Value {
    json!({"input": {"idempotencyKey": format!("load-{n}"), "proposal": {"title": format!("余热回收第{n}号"), "body": "烟气余热回收利用"}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_restores_to_a_matching_server() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let worker = app.user("王师傅", Role::Worker, Some("宝山钢铁示范厂"), Some("炼钢一班"), None).await;
    let admin = app.user("平台管理员", Role::Admin, None, None, None).await;
    for n in 0..20 {
        let body = app.gql(Some(&worker), SUBMIT, input(n)).await;
        assert!(body["data"]["submitProposal"]["proposal"]["id"].is_string(), "{body}");
    }
    let draft = app
        .ok(Some(&worker), "mutation { createProposal(input: {proposal: {title: \"余热锅炉照片\", body: \"附现场照片\"}}) { proposal { id } } }", json!({}))
        .await["createProposal"]["proposal"]["id"]
        .clone();
    let photo = jpeg(3, 4096);
    let up: Value = upload(&app, Some(&worker), &draft, "现场.jpg", photo.clone()).await.json().await.unwrap();
    assert!(up["data"]["uploadAttachment"]["attachment"]["id"].is_string(), "{up}");

    // Writers keep submitting while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(AtomicU64::new(21));
    let load = {
        let (stop, acknowledged, url, client, worker) =
            (stop.clone(), acknowledged.clone(), app.url.clone(), app.client.clone(), worker.clone());
        tokio::spawn(async move {
            let mut n = 1000;
            while !stop.load(Ordering::Relaxed) {
                let body = crate::harness::gql_at(&client, &url, Some(&worker), SUBMIT, input(n)).await;
                if body["data"]["submitProposal"]["proposal"]["id"].is_string() {
                    acknowledged.fetch_add(1, Ordering::Relaxed);
                }
                n += 1;
            }
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let before_backup = acknowledged.load(Ordering::Relaxed);
    let config = &app.state.services.config;
    let source =
        [("GREENLINE_DATABASE_URL", config.database_url.clone()), ("GREENLINE_STORAGE", config.storage.clone())];
    let dir = app.path("backup");
    let (ok, stderr) = cli(&["backup", dir.to_str().unwrap()], &source).await;
    assert!(ok, "{stderr}");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    load.await.unwrap();
    let manifest: Value = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let in_backup = manifest["proposals"].as_i64().unwrap();
    assert!(in_backup as u64 >= before_backup, "everything acknowledged before the backup is in it");
    assert!((in_backup as u64) <= acknowledged.load(Ordering::Relaxed), "nothing that was not written");
    assert_eq!(manifest["attachments"], 1);

    // A second backup into the same directory is refused (never mix two snapshots).
    let (ok, stderr) = cli(&["backup", dir.to_str().unwrap()], &source).await;
    assert!(!ok && stderr.contains("not empty"), "{stderr}");

    // Restore into a fresh place and start a server there.
    let url = format!("sqlite://{}", app.path("restored/greenline.db").display());
    let target = [
        ("GREENLINE_DATABASE_URL", url.clone()),
        ("GREENLINE_STORAGE", app.path("restored-index-objects").to_string_lossy().into_owned()),
        ("GREENLINE_INDEX_DIR", app.path("restored-index").to_string_lossy().into_owned()),
    ];
    let (ok, stderr) = cli(&["restore", dir.to_str().unwrap()], &target).await;
    assert!(ok, "{stderr}");
    let (ok, stderr) = cli(&["restore", dir.to_str().unwrap()], &target).await;
    assert!(!ok && stderr.contains("--force"), "an existing database is never replaced silently: {stderr}");
    let restored = app.server_on(&url, "restored-index").await;
    let at = |q: &'static str| {
        let (client, url, admin) = (app.client.clone(), restored.url.clone(), admin.clone());
        async move { crate::harness::gql_at(&client, &url, Some(&admin), q, json!({})).await["data"].clone() }
    };
    let d = at("{ proposals { totalCount } }").await;
    assert_eq!(d["proposals"]["totalCount"], in_backup, "the restored server has exactly the snapshot");
    // Its index is rebuilt from the restored database and agrees with it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let s = at("{ searchProposals(query: \"余热\") { totalCount } }").await;
        if s["searchProposals"]["totalCount"] == in_backup {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "search disagrees with the restored database: {s}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // And the photo came back with it.
    let q = format!("{{ proposal(id: \"{}\") {{ attachments {{ url }} }} }}", draft.as_str().unwrap());
    let a = crate::harness::gql_at(&app.client, &restored.url, Some(&worker), &q, json!({})).await;
    let path = a["data"]["proposal"]["attachments"][0]["url"].as_str().unwrap_or_else(|| panic!("{a}")).to_owned();
    let r = app.client.get(format!("{}{path}", restored.url)).bearer_auth(&worker).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().to_vec(), photo);
}
