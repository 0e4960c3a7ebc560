//! Notifications with real parts: a real SMTP server (aiosmtpd, tests/support/smtp_sink.py), a real HTTP
//! receiver for webhooks (an axum server in this process that checks signatures the way a receiver would),
//! several instances, a killed process, and reminders on a moved clock (`GREENLINE_NOW_OFFSET_SECS`).

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{
        atomic::{AtomicU8, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::{
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    routing::post,
    Router,
};
use chrono::{Duration as Days, FixedOffset, TimeZone, Utc};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::io::AsyncBufReadExt;

use crate::{
    harness::{gql_at, service_url, Child},
    journey::{cast, evaluated_proposal, Cast, DECIDE, SUBMIT},
    story, TestApp,
};

/// The SMTP server of one story, on a port of its own; what it received, one JSON line per message.
pub struct SmtpSink {
    pub port: u16,
    out: PathBuf,
    _process: tokio::process::Child,
    _dir: tempfile::TempDir,
}

impl SmtpSink {
    pub async fn start() -> Option<SmtpSink> {
        let python = service_url("GREENLINE_TEST_SMTP_PYTHON", "e-mail (aiosmtpd)")?;
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let out = dir.path().join("mail.jsonl");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_sink.py");
        let mut process = tokio::process::Command::new(python)
            .arg(script)
            .arg(port.to_string())
            .arg(&out)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the SMTP sink starts");
        let mut lines = tokio::io::BufReader::new(process.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
        assert!(matches!(ready, Ok(Ok(Some(ref l))) if l == "ready"), "the SMTP sink did not start: {ready:?}");
        Some(SmtpSink { port, out, _process: process, _dir: dir })
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn messages(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Waits until at least `n` messages arrived (30 s at most), then returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Value> {
        for _ in 0..300 {
            let m = self.messages();
            if m.len() >= n {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("expected {n} e-mails, got {:?}", self.messages());
    }
}

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub query: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    /// What the receiver answered.
    pub answered: u16,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

const UP: u8 = 0;
const DOWN: u8 = 1;
const HANG: u8 = 2;

/// A webhook receiver: answers 200 (up), 503 (down), or holds the request for a minute (hang).
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    got: Arc<Mutex<Vec<Received>>>,
    mode: Arc<AtomicU8>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let mode = Arc::new(AtomicU8::new(UP));
        async fn take(
            State((got, mode)): State<(Arc<Mutex<Vec<Received>>>, Arc<AtomicU8>)>,
            Path(path): Path<String>,
            RawQuery(query): RawQuery,
            headers: HeaderMap,
            body: Bytes,
        ) -> StatusCode {
            let m = mode.load(Ordering::SeqCst);
            let answered = match m {
                DOWN => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::OK,
            };
            let r = Received {
                path,
                query: query.unwrap_or_default(),
                headers: headers
                    .iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                    .collect(),
                body: body.to_vec(),
                answered: if m == HANG { 0 } else { answered.as_u16() },
            };
            got.lock().unwrap().push(r);
            if m == HANG {
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            answered
        }
        let app = Router::new().route("/hook/{*path}", post(take)).with_state((got.clone(), mode.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, got, mode }
    }

    pub fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }

    pub fn received(&self, path: &str) -> Vec<Received> {
        self.got.lock().unwrap().iter().filter(|r| r.path == path).cloned().collect()
    }

    /// Waits until `path` has `n` requests answered 200 (60 s at most).
    pub async fn wait_ok(&self, path: &str, n: usize) -> Vec<Received> {
        for _ in 0..600 {
            let ok: Vec<Received> = self.received(path).into_iter().filter(|r| r.answered == 200).collect();
            if ok.len() >= n {
                return ok;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("expected {n} deliveries at {path}, got {:?}", self.received(path));
    }
}

/// The receiver's check of a JSON delivery, as the README shows it: HMAC-SHA256 over "timestamp.body".
fn signature_ok(r: &Received, secret: &str) -> bool {
    let ts = &r.headers["x-greenline-timestamp"];
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(&r.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    r.headers.get("x-greenline-signature") == Some(&expected)
}

const CREATE_WEBHOOK: &str = "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) {
    webhook { id url format kinds } secret userErrors { field code message } } }";
const INBOX: &str = "{ viewer { unreadNotificationCount notifications(first: 50) { totalCount nodes {
    id kind subject body readAt proposal { id title authorsHidden authors { name } } } } } }";
const DELIVERIES: &str = "query { webhooks { id name deliveries(first: 100) { totalCount nodes {
    id deliveryId kind state attempts lastStatus lastError } } } }";

async fn inbox(app_url: &str, client: &reqwest::Client, token: &str) -> Value {
    let d = gql_at(client, app_url, Some(token), INBOX, json!({})).await;
    assert!(d.get("errors").is_none(), "{d}");
    d["data"]["viewer"].clone()
}

fn kinds(inbox: &Value) -> Vec<String> {
    let mut k: Vec<String> = inbox["notifications"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect();
    k.sort();
    k
}

async fn set_email(app: &TestApp, admin: &str, token: &str, email: &str) {
    let id = app.ok(Some(token), "{ viewer { id } }", json!({})).await["viewer"]["id"].clone();
    let q =
        "mutation($input: UpdateUserInput!) { updateUser(input: $input) { user { id } userErrors { code message } } }";
    let d = app.ok(Some(admin), q, json!({"input": {"id": id, "email": email}})).await;
    assert_eq!(d["updateUser"]["userErrors"], json!([]), "{d}");
}

async fn create_webhook(app: &TestApp, token: &str, input: Value) -> (Value, Option<String>) {
    let d = app.ok(Some(token), CREATE_WEBHOOK, json!({"input": input})).await;
    assert_eq!(d["createWebhook"]["userErrors"], json!([]), "{d}");
    (d["createWebhook"]["webhook"].clone(), d["createWebhook"]["secret"].as_str().map(str::to_owned))
}

/// Waits until `cond` holds for a fresh inbox of `token` (20 s at most).
async fn inbox_until(app: &TestApp, token: &str, cond: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let i = inbox(&app.url, &app.client, token).await;
        if cond(&i) {
            return i;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the inbox never got there: {}", inbox(&app.url, &app.client, token).await);
}

story!(each_kind_reaches_the_right_people_by_inbox_mail_and_webhook);
/// A proposal from submission to rejection: who is told what, in the inbox, by e-mail (through a real SMTP
/// server) and by webhooks in the three formats, with signatures a receiver checks — and nobody else.
async fn each_kind_reaches_the_right_people_by_inbox_mail_and_webhook(app: TestApp) {
    let Some(sink) = SmtpSink::start().await else { return };
    let app = app
        .restarted_with(|c| {
            c.smtp_url = Some(sink.url());
            c.mail_from = "绿色创新平台 <greenline@plant.example.cn>".into();
            c.public_url = Some("https://greenline.plant.example.cn".into());
        })
        .await;
    let receiver = Receiver::start().await;
    let c: Cast = cast(&app).await;
    set_email(&app, &c.enterprise_admin, &c.worker, "wang@plant.example.cn").await;
    set_email(&app, &c.enterprise_admin, &c.lead, "zhou@plant.example.cn").await;
    let (json_hook, secret) = create_webhook(
        &app,
        &c.enterprise_admin,
        json!({"name": "能源管理系统", "url": format!("{}/hook/json", receiver.url), "format": "JSON",
               "kinds": ["PROPOSAL_SUBMITTED", "REVIEW_ASSIGNED", "PROPOSAL_REJECTED"]}),
    )
    .await;
    let secret = secret.expect("a JSON webhook without a secret gets one, shown once");
    assert!(secret.starts_with("whsec_") && secret.len() > 40, "{secret}");
    create_webhook(
        &app,
        &c.enterprise_admin,
        json!({"name": "二车间群", "url": format!("{}/hook/wecom?key=robot-key", receiver.url), "format": "WECOM_ROBOT",
               "kinds": ["PROPOSAL_REJECTED"]}),
    )
    .await;
    create_webhook(
        &app,
        &c.enterprise_admin,
        json!({"name": "钉钉群", "url": format!("{}/hook/ding?access_token=tok", receiver.url), "format": "DINGTALK_ROBOT",
               "kinds": ["PROPOSAL_REJECTED"], "secret": "SEC0123456789abcdef"}),
    )
    .await;
    // A robot's key is never shown back.
    assert_eq!(
        app.ok(Some(&c.enterprise_admin), "{ webhooks { url } }", json!({})).await["webhooks"][1]["url"],
        format!("{}/hook/wecom?…", receiver.url)
    );

    let (id, v) = evaluated_proposal(&app, &c, "转炉煤气回收改造").await;
    // Under review, the reviewers' notification names no author and opens the proposal blind.
    for reviewer in [&c.reviewer1, &c.reviewer2] {
        let r = inbox(&app.url, &app.client, reviewer).await;
        let n = &r["notifications"]["nodes"][0];
        assert_eq!(
            (n["kind"].as_str(), n["proposal"]["authorsHidden"].as_bool()),
            (Some("REVIEW_ASSIGNED"), Some(true)),
            "{n}"
        );
        assert!(!n.to_string().contains("王师傅"), "{n}");
    }
    let d = app
        .ok(
            Some(&c.lead),
            DECIDE,
            json!({"input": {"proposalId": id, "expectedVersion": v, "decision": "REJECT", "reason": "投资回收期过长"}}),
        )
        .await;
    assert_eq!(d["decideProposal"]["proposal"]["status"], "REJECTED", "{d}");

    // The inbox of each person: only what is theirs to know.
    let author = inbox_until(&app, &c.worker, |i| i["unreadNotificationCount"] == 1).await;
    assert_eq!(kinds(&author), ["PROPOSAL_REJECTED"]);
    let n = &author["notifications"]["nodes"][0];
    assert_eq!(n["body"], "你的提案《转炉煤气回收改造》未被采纳。理由：投资回收期过长");
    assert_eq!(n["proposal"]["id"], id);
    let lead = inbox(&app.url, &app.client, &c.lead).await;
    assert_eq!(kinds(&lead), ["PROPOSAL_SUBMITTED", "REVIEWS_COMPLETE"], "the lead is told once both scores are in");
    for reviewer in [&c.reviewer1, &c.reviewer2] {
        assert_eq!(kinds(&inbox(&app.url, &app.client, reviewer).await), ["REVIEW_ASSIGNED"]);
    }
    for bystander in [&c.coauthor, &c.enterprise_admin, &c.association, &c.other_admin] {
        assert_eq!(kinds(&inbox(&app.url, &app.client, bystander).await), Vec::<String>::new());
    }
    // Someone else's inbox is not theirs to read.
    let author_id = app.ok(Some(&c.worker), "{ viewer { id } }", json!({})).await["viewer"]["id"].clone();
    let d = app
        .ok(
            Some(&c.enterprise_admin),
            "query($id: ID!) { node(id: $id) { ... on User { notifications(first: 5) { totalCount } unreadNotificationCount } } }",
            json!({"id": author_id}),
        )
        .await;
    assert_eq!(d["node"], json!({"notifications": null, "unreadNotificationCount": null}));

    // E-mail: to the author and the lead (the reviewers have no address), in Chinese, with a link.
    let mails = sink.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails = if sink.messages().len() > mails.len() { sink.messages() } else { mails };
    assert_eq!(mails.len(), 3, "{mails:?}");
    let to_author: Vec<&Value> = mails.iter().filter(|m| m["to"] == json!(["wang@plant.example.cn"])).collect();
    assert_eq!(to_author.len(), 1);
    let m = to_author[0];
    assert_eq!(m["subject"], "【greenline】提案未被采纳：转炉煤气回收改造");
    assert_eq!(m["from"], "greenline@plant.example.cn");
    let text = m["text"].as_str().unwrap();
    assert!(text.contains("理由：投资回收期过长"), "{text}");
    assert!(text.contains("https://greenline.plant.example.cn/#/p/"), "{text}");
    assert!(m["html"].as_str().unwrap().contains("在 greenline 中查看"));
    assert!(m["messageId"].as_str().unwrap().starts_with("<delivery-"), "a stable Message-ID: {m}");
    assert_eq!(mails.iter().filter(|m| m["to"] == json!(["zhou@plant.example.cn"])).count(), 2);

    // The JSON webhook: submitted, assigned, rejected — each signed, none naming the author.
    let got = receiver.wait_ok("json", 3).await;
    let mut seen: Vec<String> = got.iter().map(|r| r.json()["kind"].as_str().unwrap().to_owned()).collect();
    seen.sort();
    assert_eq!(seen, ["PROPOSAL_REJECTED", "PROPOSAL_SUBMITTED", "REVIEW_ASSIGNED"]);
    for r in &got {
        assert!(signature_ok(r, &secret), "the signature checks: {:?}", r.headers);
        assert!(!signature_ok(r, "another-secret-of-16"), "and fails with another secret");
        let body = r.json();
        assert_eq!(body["id"].as_str().unwrap(), r.headers["x-greenline-delivery"]);
        assert_eq!(body["data"]["proposal"]["id"], id);
        assert!(!String::from_utf8_lossy(&r.body).contains("王师傅"), "no author in a webhook: {body}");
    }
    // The README's check, in Python, accepts what arrived and refuses it with one byte changed.
    let r = &got[0];
    let readme = include_str!("../../README.md");
    let start = readme.find("```python\n").expect("the README shows the check in Python") + 10;
    let snippet = &readme[start..start + readme[start..].find("```").unwrap()];
    let program = format!(
        "import json, sys\n{snippet}\nh = json.loads(sys.argv[1])\nbody = open(sys.argv[2], 'rb').read()\n\
         print(verified(sys.argv[3], h, body), verified(sys.argv[3], h, body[:-1] + b' '))"
    );
    let body_file = app.dir.path().join("delivery.json");
    std::fs::write(&body_file, &r.body).unwrap();
    let headers = json!({"X-Greenline-Timestamp": r.headers["x-greenline-timestamp"], "X-Greenline-Signature": r.headers["x-greenline-signature"]});
    let out = std::process::Command::new("python3")
        .args(["-c", &program, &headers.to_string(), body_file.to_str().unwrap(), &secret])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "True False", "{}", String::from_utf8_lossy(&out.stderr));
    let rejected = got.iter().find(|r| r.json()["kind"] == "PROPOSAL_REJECTED").unwrap().json();
    assert_eq!(rejected["data"]["detail"], "投资回收期过长");
    assert!(rejected["occurredAt"].as_str().unwrap().ends_with('Z'));
    // WeCom: a markdown message; DingTalk: markdown with a signed URL.
    let wecom = receiver.wait_ok("wecom", 1).await[0].json();
    assert_eq!(wecom["msgtype"], "markdown");
    let content = wecom["markdown"]["content"].as_str().unwrap();
    assert!(content.contains("**提案未被采纳**") && content.contains("投资回收期过长"), "{content}");
    let ding = receiver.wait_ok("ding", 1).await[0].clone();
    assert_eq!(ding.json()["markdown"]["title"], "提案未被采纳");
    let q: HashMap<String, String> = url::form_urlencoded::parse(ding.query.as_bytes()).into_owned().collect();
    assert_eq!(q["access_token"], "tok");
    let mut mac = Hmac::<Sha256>::new_from_slice(b"SEC0123456789abcdef").unwrap();
    mac.update(format!("{}\nSEC0123456789abcdef", q["timestamp"]).as_bytes());
    use base64::Engine;
    assert_eq!(q["sign"], base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()));
    let d = app.ok(Some(&c.enterprise_admin), DELIVERIES, json!({})).await;
    let json_deliveries =
        &d["webhooks"].as_array().unwrap().iter().find(|h| h["id"] == json_hook["id"]).unwrap()["deliveries"];
    assert_eq!(json_deliveries["totalCount"], 3);
    assert!(json_deliveries["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["state"] == "DELIVERED" && n["lastStatus"] == 200));

    let q = "query($id: ID!) { webhookDeliveries(webhookId: $id, state: DELIVERED, first: 10) { totalCount } }";
    let d = app.ok(Some(&c.enterprise_admin), q, json!({"id": json_hook["id"]})).await;
    assert_eq!(d["webhookDeliveries"]["totalCount"], 3);
    let d = app.gql(Some(&c.other_admin), q, json!({"id": json_hook["id"]})).await;
    assert_eq!(d["errors"][0]["extensions"]["code"], "NOT_FOUND", "another enterprise's webhook: {d}");
    let metrics = app.client.get(format!("{}/metrics", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("greenline_deliveries_total{channel=\"WEBHOOK\",outcome=\"delivered\"} 5"), "{metrics}");
    assert!(metrics.contains("greenline_deliveries_total{channel=\"EMAIL\",outcome=\"delivered\"} 3"), "{metrics}");

    // Read: the count goes down; a second time changes nothing.
    let q = "mutation($input: MarkNotificationsReadInput!) { markNotificationsRead(input: $input) { marked unreadCount userErrors { code } } }";
    let d = app.ok(Some(&c.worker), q, json!({"input": {"all": true}})).await;
    assert_eq!(d["markNotificationsRead"], json!({"marked": 1, "unreadCount": 0, "userErrors": []}));
    let d = app.ok(Some(&c.worker), q, json!({"input": {"all": true}})).await;
    assert_eq!(d["markNotificationsRead"]["marked"], 0);
    // Another person's notification cannot be marked.
    let lead_first = lead["notifications"]["nodes"][0]["id"].clone();
    let d = app.ok(Some(&c.worker), q, json!({"input": {"ids": [lead_first]}})).await;
    assert_eq!(d["markNotificationsRead"]["marked"], 0);
    assert_eq!(inbox(&app.url, &app.client, &c.lead).await["unreadNotificationCount"], 2);
}

story!(preferences_turn_mail_off_and_bad_settings_are_refused);
async fn preferences_turn_mail_off_and_bad_settings_are_refused(app: TestApp) {
    let Some(sink) = SmtpSink::start().await else { return };
    let app = app.restarted_with(|c| c.smtp_url = Some(sink.url())).await;
    let c = cast(&app).await;
    set_email(&app, &c.enterprise_admin, &c.lead, "zhou@plant.example.cn").await;
    set_email(&app, &c.enterprise_admin, &c.reviewer1, "zhao@plant.example.cn").await;
    let q = "mutation($input: SetNotificationPreferencesInput!) { setNotificationPreferences(input: $input) {
        settings { preferences { kind channel } quietHours { start end } emailEnabled hasEmail } userErrors { field code } } }";
    let d = app
        .ok(Some(&c.lead), q, json!({"input": {"preferences": [{"kind": "PROPOSAL_SUBMITTED", "channel": "OFF"}]}}))
        .await;
    let s = &d["setNotificationPreferences"]["settings"];
    assert_eq!(s["emailEnabled"], true);
    assert_eq!(s["hasEmail"], true);
    let off: Vec<&Value> = s["preferences"].as_array().unwrap().iter().filter(|p| p["channel"] != "EMAIL").collect();
    assert_eq!(off, [&json!({"kind": "PROPOSAL_SUBMITTED", "channel": "OFF"})]);
    for bad in [json!({"start": 60, "end": 60}), json!({"start": -1, "end": 60}), json!({"start": 0, "end": 1440})] {
        let d = app.ok(Some(&c.lead), q, json!({"input": {"quietHours": bad}})).await;
        assert_eq!(d["setNotificationPreferences"]["userErrors"][0]["code"], "VALIDATION_FAILED", "{bad}");
    }
    // Reviewer: quiet all day but one minute, so their e-mail waits.
    let d = app.ok(Some(&c.reviewer1), q, json!({"input": {"quietHours": {"start": 0, "end": 1439}}})).await;
    assert_eq!(d["setNotificationPreferences"]["settings"]["quietHours"], json!({"start": 0, "end": 1439}));
    evaluated_proposal(&app, &c, "空压机余热回收").await;
    // The lead still gets REVIEWS_COMPLETE by e-mail; PROPOSAL_SUBMITTED only in the inbox.
    let lead = inbox_until(&app, &c.lead, |i| i["notifications"]["totalCount"] == 2).await;
    assert_eq!(kinds(&lead), ["PROPOSAL_SUBMITTED", "REVIEWS_COMPLETE"]);
    sink.wait_for(1).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mails = sink.messages();
    let subjects: Vec<&str> = mails.iter().map(|m| m["subject"].as_str().unwrap()).collect();
    assert_eq!(subjects, ["【greenline】评审已完成，待决定：空压机余热回收"], "{mails:?}");

    // Webhooks refuse what a client could get wrong.
    let bad = [
        (json!({"name": "", "url": "https://x.example.cn/h", "format": "JSON", "kinds": ["PROMOTED"]}), "name"),
        (json!({"name": "x", "url": "ftp://x.example.cn/h", "format": "JSON", "kinds": ["PROMOTED"]}), "url"),
        (json!({"name": "x", "url": "https://u:p@x.example.cn/h", "format": "JSON", "kinds": ["PROMOTED"]}), "url"),
        (json!({"name": "x", "url": "https://x.example.cn/h", "format": "JSON", "kinds": []}), "kinds"),
        (
            json!({"name": "x", "url": "https://x.example.cn/h", "format": "JSON", "kinds": ["COAUTHOR_INVITED"]}),
            "kinds",
        ),
        (
            json!({"name": "x", "url": "https://x.example.cn/h", "format": "JSON", "kinds": ["PROMOTED"], "secret": "short"}),
            "secret",
        ),
    ];
    for (input, field) in bad {
        let d = app.ok(Some(&c.enterprise_admin), CREATE_WEBHOOK, json!({"input": input})).await;
        let e = &d["createWebhook"]["userErrors"][0];
        assert_eq!(
            (e["code"].as_str(), &e["field"]),
            (Some("VALIDATION_FAILED"), &json!(["input", field])),
            "{input}: {d}"
        );
    }
    let d = app.ok(Some(&c.enterprise_admin), "{ webhooks { id } }", json!({})).await;
    assert_eq!(d["webhooks"], json!([]), "nothing half-made stays");
}

story!(a_receiver_down_for_a_while_gets_everything_once_per_delivery_id);
async fn a_receiver_down_for_a_while_gets_everything_once_per_delivery_id(app: TestApp) {
    let receiver = Receiver::start().await;
    let c = cast(&app).await;
    let (_, secret) = create_webhook(
        &app,
        &c.enterprise_admin,
        json!({"name": "能源管理系统", "url": format!("{}/hook/down", receiver.url), "format": "JSON",
               "kinds": ["PROPOSAL_SUBMITTED"], "secret": "a-secret-of-sixteen+"}),
    )
    .await;
    assert_eq!(secret, None, "a secret the admin chose is not shown back");
    receiver.set(DOWN);
    for i in 0..5 {
        let input = json!({"proposal": {"title": format!("建议{i}"), "body": "内容"}});
        app.ok(Some(&c.worker), SUBMIT, json!({"input": input})).await;
    }
    // Each was tried and refused at least twice.
    let mut retried = Vec::new();
    for _ in 0..300 {
        let d = app.ok(Some(&c.enterprise_admin), DELIVERIES, json!({})).await;
        let nodes = d["webhooks"][0]["deliveries"]["nodes"].as_array().unwrap().clone();
        if nodes.len() == 5 && nodes.iter().all(|n| n["attempts"].as_i64().unwrap() >= 2) {
            retried = nodes;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(retried.len(), 5, "five deliveries, each tried twice while the receiver was down");
    assert!(retried.iter().all(|n| n["state"] == "PENDING" && n["lastStatus"] == 503), "{retried:?}");
    let refused = receiver.received("down").len();
    assert!(refused >= 10, "{refused} attempts while down");
    receiver.set(UP);
    let ok = receiver.wait_ok("down", 5).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let ok_after: Vec<Received> = receiver.received("down").into_iter().filter(|r| r.answered == 200).collect();
    assert_eq!(ok_after.len(), ok.len(), "nothing is sent again once received");
    let mut ids: Vec<String> = ok_after.iter().map(|r| r.headers["x-greenline-delivery"].clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "each delivery received once: {ids:?}");
    // Every attempt of one delivery carried the same id and body.
    let all = receiver.received("down");
    for id in &ids {
        let bodies: std::collections::HashSet<Vec<u8>> =
            all.iter().filter(|r| &r.headers["x-greenline-delivery"] == id).map(|r| r.body.clone()).collect();
        assert_eq!(bodies.len(), 1, "delivery {id} changed between attempts");
    }
    assert!(ok_after.iter().all(|r| signature_ok(r, "a-secret-of-sixteen+")));
    let d = app.ok(Some(&c.enterprise_admin), DELIVERIES, json!({})).await;
    let nodes = d["webhooks"][0]["deliveries"]["nodes"].as_array().unwrap().clone();
    assert!(nodes.iter().all(|n| n["state"] == "DELIVERED"), "{nodes:?}");
    // Redelivery sends the same id again, on request.
    let first = nodes[0].clone();
    let q = "mutation($input: RedeliverWebhookInput!) { redeliverWebhook(input: $input) { delivery { state deliveryId } userErrors { code } } }";
    let d = app.ok(Some(&c.enterprise_admin), q, json!({"input": {"deliveryId": first["id"]}})).await;
    assert_eq!(d["redeliverWebhook"]["delivery"]["state"], "PENDING");
    let before = ok_after.len();
    let again = receiver.wait_ok("down", before + 1).await;
    assert_eq!(again.last().unwrap().headers["x-greenline-delivery"], first["deliveryId"].as_str().unwrap());
}

story!(two_instances_deliver_each_notification_once);
async fn two_instances_deliver_each_notification_once(app: TestApp) {
    let receiver = Receiver::start().await;
    let c = cast(&app).await;
    create_webhook(
        &app,
        &c.enterprise_admin,
        json!({"name": "能源管理系统", "url": format!("{}/hook/fleet", receiver.url), "format": "JSON",
               "kinds": ["PROPOSAL_SUBMITTED"]}),
    )
    .await;
    let second = app.sibling("second-index").await;
    let n = 40;
    for i in 0..n {
        let url = if i % 2 == 0 { &app.url } else { &second.url };
        let input = json!({"proposal": {"title": format!("并发建议{i}"), "body": "内容"}});
        let d = gql_at(&app.client, url, Some(&c.worker), SUBMIT, json!({"input": input})).await;
        assert!(d.get("errors").is_none(), "{d}");
    }
    receiver.wait_ok("fleet", n).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = receiver.received("fleet");
    let mut ids: Vec<String> = got.iter().map(|r| r.headers["x-greenline-delivery"].clone()).collect();
    ids.sort();
    let total = ids.len();
    ids.dedup();
    assert_eq!((ids.len(), total), (n, n), "each of {n} notifications delivered once by two instances");
}

story!(a_server_killed_mid_delivery_delivers_after_restart);
async fn a_server_killed_mid_delivery_delivers_after_restart(app: TestApp) {
    // This process serves the API only; the deliveries are the child processes' to make.
    let app = app
        .restarted_with(|c| {
            c.courier = false;
            c.delivery_lease_secs = 2;
        })
        .await;
    let receiver = Receiver::start().await;
    let c = cast(&app).await;
    create_webhook(
        &app,
        &c.enterprise_admin,
        json!({"name": "能源管理系统", "url": format!("{}/hook/killed", receiver.url), "format": "JSON",
               "kinds": ["PROPOSAL_SUBMITTED"]}),
    )
    .await;
    receiver.set(HANG);
    let env = [("GREENLINE_DELIVERY_LEASE_SECS", "2".to_owned())];
    let first = Child::serve(&app, "first", &env).await;
    app.ok(Some(&c.worker), SUBMIT, json!({"input": {"proposal": {"title": "被打断的推送", "body": "内容"}}})).await;
    for _ in 0..300 {
        if !receiver.received("killed").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let hung = receiver.received("killed");
    assert_eq!(hung.len(), 1, "the first instance is mid-delivery");
    drop(first); // SIGKILL, with the request still open
    receiver.set(UP);
    let _second = Child::serve(&app, "second", &env).await;
    let ok = receiver.wait_ok("killed", 1).await;
    assert_eq!(ok[0].headers["x-greenline-delivery"], hung[0].headers["x-greenline-delivery"], "the same delivery id");
    assert_eq!(ok[0].body, hung[0].body);
    let d = app.ok(Some(&c.enterprise_admin), DELIVERIES, json!({})).await;
    let node = &d["webhooks"][0]["deliveries"]["nodes"][0];
    assert_eq!((node["state"].as_str(), node["attempts"].as_i64()), (Some("DELIVERED"), Some(2)), "{node}");
}

/// Seconds to add to the clock so that it reads `hour`:00 China time, `days` after today there.
fn offset_to(days: i64, hour: u32) -> i64 {
    let china = FixedOffset::east_opt(8 * 3600).unwrap();
    let today = Utc::now().with_timezone(&china).date_naive();
    let target = china.from_local_datetime(&(today + Days::days(days)).and_hms_opt(hour, 0, 0).unwrap()).unwrap();
    (target.with_timezone(&Utc) - Utc::now()).num_seconds()
}

story!(reminders_fire_once_on_a_moved_clock_and_escalate);
/// A review due in three days: two days before, the reviewer is reminded (in a daily digest, as they
/// chose); once overdue, reminded again; two days later the studio lead is told. Servers restarted on the
/// same day fire nothing twice; the instance with the real clock fires nothing early.
async fn reminders_fire_once_on_a_moved_clock_and_escalate(app: TestApp) {
    let Some(sink) = SmtpSink::start().await else { return };
    let app = app
        .restarted_with(|c| {
            c.smtp_url = Some(sink.url());
            c.reminder_sweep_secs = 1;
        })
        .await;
    let c = cast(&app).await;
    set_email(&app, &c.enterprise_admin, &c.reviewer1, "zhao@plant.example.cn").await;
    let q = "mutation($input: SetNotificationPreferencesInput!) { setNotificationPreferences(input: $input) { userErrors { code } } }";
    let d = app
        .ok(Some(&c.reviewer1), q, json!({"input": {"preferences": [{"kind": "REVIEW_DUE_SOON", "channel": "DIGEST"}, {"kind": "REVIEW_ASSIGNED", "channel": "OFF"}]}}))
        .await;
    assert_eq!(d["setNotificationPreferences"]["userErrors"], json!([]));
    let china = FixedOffset::east_opt(8 * 3600).unwrap();
    let due = Utc::now().with_timezone(&china).date_naive() + Days::days(3);
    let d = app
        .ok(Some(&c.worker), SUBMIT, json!({"input": {"proposal": {"title": "高炉冲渣水余热", "body": "内容"}}}))
        .await;
    let p = &d["submitProposal"]["proposal"];
    let assign =
        "mutation($input: AssignReviewersInput!) { assignReviewers(input: $input) { userErrors { code message } } }";
    let d = app
        .ok(
            Some(&c.lead),
            assign,
            json!({"input": {"proposalId": p["id"], "expectedVersion": p["version"], "reviewerIds": [c.reviewer1_id], "dueOn": due.to_string()}}),
        )
        .await;
    assert_eq!(d["assignReviewers"]["userErrors"], json!([]));
    let assigned = inbox_until(&app, &c.reviewer1, |i| i["notifications"]["totalCount"] == 1).await;
    assert_eq!(kinds(&assigned), ["REVIEW_ASSIGNED"]);
    assert!(assigned["notifications"]["nodes"][0]["body"].as_str().unwrap().contains(&due.to_string()));
    tokio::time::sleep(Duration::from_secs(2)).await; // a sweep on the real clock: nothing is due
    assert_eq!(inbox(&app.url, &app.client, &c.reviewer1).await["notifications"]["totalCount"], 1);

    // Tomorrow 09:00: due in two days. Two servers one after the other on that day: one reminder.
    let s = app.sibling_with("day1-0", |cfg| cfg.now_offset_secs = offset_to(1, 9)).await;
    inbox_until(&app, &c.reviewer1, |i| i["notifications"]["totalCount"] == 2).await;
    // Their choice: REVIEW_ASSIGNED not by mail, REVIEW_DUE_SOON in the day's digest.
    sink.wait_for(1).await;
    drop(s);
    let s = app.sibling_with("day1-1", |cfg| cfg.now_offset_secs = offset_to(1, 9)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    drop(s);
    let r = inbox(&app.url, &app.client, &c.reviewer1).await;
    assert_eq!(kinds(&r), ["REVIEW_ASSIGNED", "REVIEW_DUE_SOON"], "once, however many servers sweep");
    let mails = sink.messages();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0]["subject"].as_str().unwrap().contains("通知汇总（1 条）"), "{mails:?}");
    assert!(mails[0]["text"].as_str().unwrap().contains("评审将于"), "{mails:?}");

    // The day after the due date: overdue, to the reviewer. Three days after: escalated to the lead.
    let s = app
        .sibling_with("day4", |cfg| {
            cfg.now_offset_secs = offset_to(4, 10);
            cfg.reminder_sweep_secs = 1;
        })
        .await;
    inbox_until(&app, &c.reviewer1, |i| kinds(i).contains(&"REVIEW_OVERDUE".to_owned())).await;
    drop(s);
    let lead_before = inbox(&app.url, &app.client, &c.lead).await;
    assert!(!kinds(&lead_before).contains(&"REVIEW_ESCALATED".to_owned()));
    let s = app
        .sibling_with("day6", |cfg| {
            cfg.now_offset_secs = offset_to(6, 10);
            cfg.reminder_sweep_secs = 1;
        })
        .await;
    let lead = inbox_until(&app, &c.lead, |i| kinds(i).contains(&"REVIEW_ESCALATED".to_owned())).await;
    let n = lead["notifications"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "REVIEW_ESCALATED")
        .unwrap()
        .clone();
    assert!(n["body"].as_str().unwrap().contains("赵专家"), "the lead learns whose review is late: {n}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    drop(s);
    let r = inbox(&app.url, &app.client, &c.reviewer1).await;
    assert_eq!(kinds(&r), ["REVIEW_ASSIGNED", "REVIEW_DUE_SOON", "REVIEW_OVERDUE"], "no reminder twice");
}

story!(the_rest_of_the_journey_tells_each_one_their_part);
/// Accepted, piloted (a milestone falls due), adopted, promoted, adopted elsewhere; another proposal
/// returned; a draft's co-author invited: every kind of the journey reaches its people, with the points it
/// earned them, and nobody else.
async fn the_rest_of_the_journey_tells_each_one_their_part(app: TestApp) {
    let app = app.restarted_with(|c| c.reminder_sweep_secs = 1).await;
    let c = cast(&app).await;
    let china = FixedOffset::east_opt(8 * 3600).unwrap();
    let today = Utc::now().with_timezone(&china).date_naive();
    let (id, v) = evaluated_proposal(&app, &c, "空压机群控节能").await;
    let d = app
        .ok(
            Some(&c.lead),
            DECIDE,
            json!({"input": {"proposalId": id, "expectedVersion": v, "decision": "ACCEPT", "reason": "同意试点"}}),
        )
        .await;
    let v = d["decideProposal"]["proposal"]["version"].as_i64().unwrap();
    let d = app
        .ok(
            Some(&c.lead),
            "mutation($input: StartPilotInput!) { startPilot(input: $input) { proposal { version } userErrors { code message } } }",
            json!({"input": {"proposalId": id, "expectedVersion": v, "plan": "一号空压站试点",
                "milestones": [{"title": "群控柜安装", "dueOn": (today + Days::days(1)).to_string()}]}}),
        )
        .await;
    assert_eq!(d["startPilot"]["userErrors"], json!([]), "{d}");
    let mut v = d["startPilot"]["proposal"]["version"].as_i64().unwrap();
    // The milestone is due tomorrow: the lead who runs the pilot and the enterprise admin are reminded.
    inbox_until(&app, &c.lead, |i| kinds(i).contains(&"MILESTONE_DUE".to_owned())).await;
    let measure =
        "mutation($input: RecordMeasurementInput!) { recordMeasurement(input: $input) { userErrors { code } } }";
    let d = app
        .ok(
            Some(&c.lead),
            measure,
            json!({"input": {"proposalId": id, "carrier": "ELECTRICITY", "baseline": 100000, "after": 90000,
            "periodStart": "2026-01-01", "periodEnd": "2026-01-31"}}),
        )
        .await;
    assert_eq!(d["recordMeasurement"]["userErrors"], json!([]));
    let d = app
        .ok(
            Some(&c.enterprise_admin),
            "mutation($input: ConfirmAdoptionInput!) { confirmAdoption(input: $input) { proposal { version } userErrors { code } } }",
            json!({"input": {"proposalId": id, "expectedVersion": v}}),
        )
        .await;
    v = d["confirmAdoption"]["proposal"]["version"].as_i64().unwrap();
    let d = app
        .ok(
            Some(&c.association),
            "mutation($input: PromoteProposalInput!) { promoteProposal(input: $input) { technique { id } userErrors { code } } }",
            json!({"input": {"proposalId": id, "expectedVersion": v, "technique": {"name": "空压机群控节能技术"}}}),
        )
        .await;
    let technique = d["promoteProposal"]["technique"]["id"].clone();
    let d = app
        .ok(
            Some(&c.other_admin),
            "mutation($input: RecordAdoptionInput!) { recordAdoption(input: $input) { userErrors { code } } }",
            json!({"input": {"techniqueId": technique, "enterpriseId": c.other_enterprise_id, "adoptedOn": today.to_string(),
                "savings": {"electricityKwh": 50000}}}),
        )
        .await;
    assert_eq!(d["recordAdoption"]["userErrors"], json!([]));
    // Another proposal is returned for revision; a draft invites a co-author.
    let (other, ov) = evaluated_proposal(&app, &c, "冷却塔风机变频").await;
    app.ok(Some(&c.lead), DECIDE, json!({"input": {"proposalId": other, "expectedVersion": ov, "decision": "RETURN", "reason": "请补充电耗数据"}}))
        .await;
    let d = app
        .ok(
            Some(&c.worker),
            "mutation($input: CreateProposalInput!) { createProposal(input: $input) { userErrors { code } } }",
            json!({"input": {"proposal": {"title": "天车节能草稿", "body": "内容", "coAuthorIds": [c.coauthor_id]}}}),
        )
        .await;
    assert_eq!(d["createProposal"]["userErrors"], json!([]));

    let author = inbox_until(&app, &c.worker, |i| i["notifications"]["totalCount"] == 6).await;
    assert_eq!(
        kinds(&author),
        [
            "ADOPTED_ELSEWHERE",
            "ADOPTION_CONFIRMED",
            "PILOT_STARTED",
            "PROMOTED",
            "PROPOSAL_ACCEPTED",
            "PROPOSAL_RETURNED"
        ]
    );
    let body = |kind: &str| {
        author["notifications"]["nodes"].as_array().unwrap().iter().find(|n| n["kind"] == kind).unwrap()["body"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(body("PROPOSAL_ACCEPTED"), "你的提案《空压机群控节能》已被采纳，你获得 30 积分。");
    assert_eq!(
        body("ADOPTION_CONFIRMED"),
        "你的提案《空压机群控节能》已在本企业推广应用，节能量已核实，你获得 60 积分。"
    );
    assert_eq!(body("PROMOTED"), "你的提案《空压机群控节能》已入选行业技术目录，你获得 100 积分。");
    assert_eq!(body("ADOPTED_ELSEWHERE"), "你首创的技术《空压机群控节能技术》已被河北另一钢厂采用。");
    assert_eq!(body("PROPOSAL_RETURNED"), "你的提案《冷却塔风机变频》被退回修改。意见：请补充电耗数据");
    let mut lead = kinds(&inbox(&app.url, &app.client, &c.lead).await);
    lead.dedup();
    assert_eq!(lead, ["MILESTONE_DUE", "PROPOSAL_SUBMITTED", "REVIEWS_COMPLETE"]);
    assert_eq!(kinds(&inbox(&app.url, &app.client, &c.enterprise_admin).await), ["MILESTONE_DUE", "PILOT_STARTED"]);
    assert_eq!(kinds(&inbox(&app.url, &app.client, &c.coauthor).await), ["COAUTHOR_INVITED"]);
    for bystander in [&c.association, &c.other_admin, &c.admin] {
        assert_eq!(kinds(&inbox(&app.url, &app.client, bystander).await), Vec::<String>::new());
    }
    let mut reviewer = kinds(&inbox(&app.url, &app.client, &c.reviewer1).await);
    reviewer.dedup();
    assert_eq!(reviewer, ["REVIEW_ASSIGNED"]);
}

story!(a_webhook_failing_for_a_day_is_paused_and_its_owner_told);
async fn a_webhook_failing_for_a_day_is_paused_and_its_owner_told(app: TestApp) {
    let c = cast(&app).await;
    let (hook, _) = create_webhook(
        &app,
        &c.enterprise_admin,
        json!({"name": "已下线的系统", "url": "http://127.0.0.1:9/greenline", "format": "JSON", "kinds": ["PROPOSAL_SUBMITTED"]}),
    )
    .await;
    app.ok(Some(&c.worker), SUBMIT, json!({"input": {"proposal": {"title": "照明改造", "body": "内容"}}})).await;
    let failing =
        "query { webhooks { failingSince pausedAt deliveries(first: 5) { nodes { state attempts lastError } } } }";
    for _ in 0..100 {
        let d = app.ok(Some(&c.enterprise_admin), failing, json!({})).await;
        if !d["webhooks"][0]["failingSince"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let d = app.ok(Some(&c.enterprise_admin), failing, json!({})).await;
    assert!(!d["webhooks"][0]["failingSince"].is_null() && d["webhooks"][0]["pausedAt"].is_null(), "{d}");
    // A day and an hour later, the next attempt fails too: the delivery is given up and the webhook paused.
    let s = app.sibling_with("next-day", |cfg| cfg.now_offset_secs = 25 * 3600).await;
    let owner = inbox_until(&app, &c.enterprise_admin, |i| kinds(i).contains(&"WEBHOOK_PAUSED".to_owned())).await;
    let n = &owner["notifications"]["nodes"][0];
    assert!(n["body"].as_str().unwrap().contains("已下线的系统"), "{n}");
    drop(s);
    let d = app.ok(Some(&c.enterprise_admin), failing, json!({})).await;
    assert!(!d["webhooks"][0]["pausedAt"].is_null(), "{d}");
    assert_eq!(d["webhooks"][0]["deliveries"]["nodes"][0]["state"], "DEAD", "{d}");
    // While paused, what it would be told is held; resuming sends it again (to a receiver that is up now).
    app.ok(Some(&c.worker), SUBMIT, json!({"input": {"proposal": {"title": "照明改造二期", "body": "内容"}}})).await;
    let d = app.ok(Some(&c.enterprise_admin), failing, json!({})).await;
    assert_eq!(d["webhooks"][0]["deliveries"]["nodes"][0]["state"], "HELD", "{d}");
    let receiver = Receiver::start().await;
    let q = "mutation($input: UpdateWebhookInput!) { updateWebhook(input: $input) { webhook { pausedAt failingSince } userErrors { code } } }";
    let d = app
        .ok(
            Some(&c.enterprise_admin),
            q,
            json!({"input": {"id": hook["id"], "paused": false, "url": format!("{}/hook/back", receiver.url)}}),
        )
        .await;
    assert_eq!(d["updateWebhook"]["webhook"], json!({"pausedAt": null, "failingSince": null}));
    let got = receiver.wait_ok("back", 1).await;
    assert_eq!(got[0].json()["data"]["proposal"]["title"], "照明改造二期");
}

story!(the_bell_subscription_keeps_up_with_a_busy_inbox);
/// A studio lead told of 260 submissions in a row: the `notifications` subscription delivers every one,
/// once, in order (it read at most 200 at a time and then stopped seeing new ones).
async fn the_bell_subscription_keeps_up_with_a_busy_inbox(app: TestApp) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};
    let c = cast(&app).await;
    let url = format!("{}/graphql/ws", app.url.replace("http://", "ws://"));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("websocket connects");
    let init = json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {}", c.lead)}});
    ws.send(Message::text(init.to_string())).await.unwrap();
    let ack: Value = serde_json::from_str(ws.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
    assert_eq!(ack["type"], "connection_ack");
    let sub = json!({"id": "bell", "type": "subscribe", "payload": {"query": "subscription { notifications { id kind body } }"}});
    ws.send(Message::text(sub.to_string())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let n = 260;
    for i in 0..n {
        let input = json!({"proposal": {"title": format!("铃声{i:03}"), "body": "内容"}});
        app.ok(Some(&c.worker), SUBMIT, json!({"input": input})).await;
    }
    let mut got: Vec<String> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while got.len() < n {
        let msg = tokio::time::timeout_at(deadline, ws.next()).await;
        let Ok(Some(Ok(msg))) = msg else { break };
        let Ok(v) = serde_json::from_str::<Value>(msg.to_text().unwrap_or("")) else { continue };
        if v["type"] == "next" {
            let body = v["payload"]["data"]["notifications"]["body"].as_str().unwrap().to_owned();
            got.push(body.split('《').nth(1).unwrap().split('》').next().unwrap().to_owned());
        }
    }
    let expected: Vec<String> = (0..n).map(|i| format!("铃声{i:03}")).collect();
    assert_eq!(got.len(), n, "{} of {n} arrived", got.len());
    assert_eq!(got, expected, "each once, in order");
}

story!(webhooks_may_not_point_at_the_server_itself);
/// By default (`GREENLINE_WEBHOOK_TARGETS=private`) an enterprise admin may point a webhook at the plant's
/// LAN, but not at this host, its loopback or link-local neighbours (cloud metadata).
async fn webhooks_may_not_point_at_the_server_itself(app: TestApp) {
    let app = app.restarted_with(|c| c.webhook_targets = "private".into()).await;
    let c = cast(&app).await;
    for url in [
        "http://127.0.0.1:5432/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:6379/",
        "http://localhost:8080/",
        "http://0.0.0.0/",
    ] {
        let input = json!({"name": "探测", "url": url, "format": "JSON", "kinds": ["PROPOSAL_SUBMITTED"]});
        let d = app.ok(Some(&c.enterprise_admin), CREATE_WEBHOOK, json!({"input": input})).await;
        let e = &d["createWebhook"]["userErrors"][0];
        assert_eq!(
            (e["code"].as_str(), &e["field"]),
            (Some("VALIDATION_FAILED"), &json!(["input", "url"])),
            "{url}: {d}"
        );
    }
    let (hook, _) = create_webhook(
        &app,
        &c.enterprise_admin,
        json!({"name": "厂内能源系统", "url": "http://10.20.30.40/hooks/greenline", "format": "JSON", "kinds": ["PROPOSAL_SUBMITTED"]}),
    )
    .await;
    // Nor may a change move it there.
    let q = "mutation($input: UpdateWebhookInput!) { updateWebhook(input: $input) { userErrors { field code } } }";
    let d =
        app.ok(Some(&c.enterprise_admin), q, json!({"input": {"id": hook["id"], "url": "http://127.0.0.1:9/"}})).await;
    assert_eq!(d["updateWebhook"]["userErrors"][0]["code"], "VALIDATION_FAILED", "{d}");
}
