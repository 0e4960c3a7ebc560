//! Attachments on real object storage: the same stories against the local filesystem and against a real
//! S3-compatible server (started by `scripts/test`; under `CI=true` a missing one fails the run).

use futures_util::StreamExt;
use greenline::domain::organisation::Role;
use object_store::path::Path;
use serde_json::{json, Value};

use crate::{journey::cast, Backend, TestApp};

/// Runs a story once with local storage and once on S3, as `<name>::local` and `<name>::s3`.
macro_rules! storage_story {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn local() {
                if let Some(app) = $crate::TestApp::start($crate::Backend::Sqlite).await {
                    super::$name(app).await
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn s3() {
                let Some(spec) = super::s3_storage() else { return };
                if let Some(app) = $crate::TestApp::start_with($crate::Backend::Sqlite, |c| c.storage = spec).await {
                    super::$name(app).await
                }
            }
        }
    };
}

/// `s3://bucket/unique-prefix` on the test S3 server, or `None` (outside CI) when there is none.
fn s3_storage() -> Option<String> {
    match std::env::var("GREENLINE_TEST_S3_BUCKET") {
        Ok(bucket) if std::env::var("AWS_ENDPOINT_URL").is_ok() => {
            let unique = format!(
                "{}-{}",
                std::process::id(),
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
            );
            Some(format!("s3://{bucket}/test-{unique}"))
        }
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but no S3 test server is configured (GREENLINE_TEST_S3_BUCKET, AWS_ENDPOINT_URL)")
        }
        _ => {
            eprintln!("SKIPPED: S3 story (run scripts/test, which starts an S3 server)");
            None
        }
    }
}

const UPLOAD: &str = "mutation($input: UploadAttachmentInput!) { uploadAttachment(input: $input) {
    attachment { id fileName contentType sizeBytes sha256 url caption }
    userErrors { field code message } } }";

pub fn jpeg(seed: u8, len: usize) -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0];
    v.extend((0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    v
}

/// A GraphQL multipart request (operations, map, file), as a phone would send it.
pub async fn upload(
    app: &TestApp,
    token: Option<&str>,
    proposal_id: &Value,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    upload_to(&app.client, &app.url, token, proposal_id, name, bytes).await
}

/// [`upload`] to the server at `url`.
pub async fn upload_to(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    proposal_id: &Value,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let operations = json!({"query": UPLOAD, "variables": {"input": {"proposalId": proposal_id, "file": null, "caption": "现场照片"}}});
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({"0": ["variables.input.file"]}).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(bytes)
                .file_name(name.to_owned())
                .mime_str("application/octet-stream")
                .unwrap(),
        );
    let mut req = client.post(format!("{url}/graphql")).multipart(form);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn upload_ok(app: &TestApp, token: &str, proposal_id: &Value, name: &str, bytes: Vec<u8>) -> Value {
    let body: Value = upload(app, Some(token), proposal_id, name, bytes).await.json().await.unwrap();
    assert_eq!(body["data"]["uploadAttachment"]["userErrors"], json!([]), "{body}");
    body["data"]["uploadAttachment"]["attachment"].clone()
}

/// GETs an attachment's `url` with the token.
async fn download(app: &TestApp, token: &str, attachment: &Value) -> reqwest::Response {
    let url = format!("{}{}", app.url, attachment["url"].as_str().unwrap());
    app.client.get(url).bearer_auth(token).send().await.unwrap()
}

async fn objects(app: &TestApp) -> Vec<String> {
    let store = &app.state.services.storage.store;
    store.list(Some(&Path::from("attachments"))).map(|m| m.unwrap().location.to_string()).collect().await
}

async fn draft(app: &TestApp, token: &str, title: &str) -> Value {
    let d = app.ok(Some(token), "mutation($t: String!) { createProposal(input: {proposal: {title: $t, body: \"蒸汽阀门泄漏\"}}) { proposal { id } } }", json!({"t": title})).await;
    d["createProposal"]["proposal"]["id"].clone()
}

storage_story!(downloads_never_run_in_the_page);
async fn downloads_never_run_in_the_page(app: TestApp) {
    let c = cast(&app).await;
    let p = draft(&app, &c.worker, "蒸汽阀门泄漏").await;
    // A PDF (it may carry JavaScript) and a JPEG whose bytes are also HTML are never rendered by the
    // browser on our origin: the PDF is saved, and every download is sandboxed.
    let mut pdf =
        b"%PDF-1.7\n1 0 obj << /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>\n".to_vec();
    pdf.extend(vec![b' '; 2000]);
    let mut polyglot = jpeg(9, 4_000);
    polyglot.extend(b"<html><script>alert(document.cookie)</script></html>");
    for (name, bytes, inline) in [("方案.pdf", pdf, false), ("照片.jpg", polyglot, true)] {
        let a = upload_ok(&app, &c.worker, &p, name, bytes).await;
        let r = download(&app, &c.worker, &a).await;
        let h = r.headers();
        let disposition = h["content-disposition"].to_str().unwrap();
        assert_eq!(disposition.starts_with("inline"), inline, "{name}: {disposition}");
        assert!(h["content-security-policy"].to_str().unwrap().starts_with("sandbox"), "{name}");
        assert_eq!(h["x-content-type-options"], "nosniff");
    }
    // File names lose text-direction overrides and are cut to 255 bytes.
    let a = upload_ok(&app, &c.worker, &p, "报告\u{202e}gpj.exe", jpeg(3, 1_000)).await;
    assert_eq!(a["fileName"], "报告gpj.exe");
    let a = upload_ok(&app, &c.worker, &p, &format!("{}.jpg", "阀".repeat(5000)), jpeg(4, 1_000)).await;
    assert!(a["fileName"].as_str().unwrap().len() <= 255, "{a}");
}

storage_story!(upload_download_and_limits);
async fn upload_download_and_limits(app: TestApp) {
    let c = cast(&app).await;
    let p1 = draft(&app, &c.worker, "蒸汽阀门泄漏").await;
    let p2 = draft(&app, &c.worker, "另一处泄漏").await;
    let photo = jpeg(7, 50_000);

    let a = upload_ok(&app, &c.worker, &p1, "蒸汽阀门 泄漏.jpg", photo.clone()).await;
    assert_eq!(a["fileName"], "蒸汽阀门 泄漏.jpg");
    assert_eq!(a["contentType"], "image/jpeg");
    assert_eq!(a["sizeBytes"], photo.len());
    assert_eq!(a["caption"], "现场照片");

    // Download: type, length, ETag and the Chinese name (RFC 5987).
    let r = download(&app, &c.worker, &a).await;
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "image/jpeg");
    assert_eq!(h["content-length"], photo.len().to_string().as_str());
    assert_eq!(h["etag"].to_str().unwrap(), format!("\"{}\"", a["sha256"].as_str().unwrap()));
    let disposition = h["content-disposition"].to_str().unwrap();
    assert!(
        disposition.contains("filename*=UTF-8''%E8%92%B8%E6%B1%BD%E9%98%80%E9%97%A8%20%E6%B3%84%E6%BC%8F.jpg"),
        "{disposition}"
    );
    assert!(disposition.starts_with("inline"), "a photo opens in place: {disposition}");
    assert_eq!(h["content-security-policy"].to_str().unwrap().split(';').next(), Some("sandbox"));
    assert_eq!(r.bytes().await.unwrap().as_ref(), photo.as_slice());

    // The same file twice is stored once.
    let b = upload_ok(&app, &c.worker, &p2, "copy.jpg", photo.clone()).await;
    assert_eq!(b["sha256"], a["sha256"]);
    assert_eq!(objects(&app).await.len(), 1);

    // A renamed executable is refused by its content, whatever its name says.
    let mut elf = b"\x7fELF\x02\x01\x01\0".to_vec();
    elf.extend(vec![0u8; 1000]);
    let body: Value = upload(&app, Some(&c.worker), &p1, "photo.jpg", elf).await.json().await.unwrap();
    assert_eq!(body["data"]["uploadAttachment"]["userErrors"][0]["code"], "UNSUPPORTED_MEDIA_TYPE", "{body}");

    // 21 MiB is over the 20 MiB default.
    let r = upload(&app, Some(&c.worker), &p1, "big.jpg", jpeg(1, 21 * 1024 * 1024)).await;
    assert_eq!(r.status(), 413);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "PAYLOAD_TOO_LARGE", "{body}");

    // Someone who cannot see the proposal cannot download its files (nor learn that they exist).
    let outsider = app.user("外厂职工", Role::Worker, Some("另一家水泥厂"), None, None).await;
    for token in [Some(outsider.as_str()), Some(c.lead.as_str()), None] {
        let mut req = app.client.get(format!("{}{}", app.url, a["url"].as_str().unwrap()));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        assert_eq!(req.send().await.unwrap().status(), 404, "a draft's files are for its authors");
    }
    let body: Value = upload(&app, Some(&outsider), &p1, "x.jpg", jpeg(2, 10)).await.json().await.unwrap();
    assert_eq!(body["data"]["uploadAttachment"]["userErrors"][0]["code"], "NOT_FOUND");

    // Attachments are listed on the proposal; removing them from a draft deletes the object once
    // nothing references it.
    let listed = app
        .ok(Some(&c.worker), "query($id: ID!) { proposal(id: $id) { attachments { id fileName } } }", json!({"id": p1}))
        .await;
    assert_eq!(listed["proposal"]["attachments"].as_array().unwrap().len(), 1);
    const REMOVE: &str = "mutation($id: ID!) { removeAttachment(input: {attachmentId: $id}) { proposal { attachments { id } } userErrors { code } } }";
    let d = app.ok(Some(&c.worker), REMOVE, json!({"id": a["id"]})).await;
    assert_eq!(d["removeAttachment"]["proposal"]["attachments"], json!([]));
    assert_eq!(objects(&app).await.len(), 1, "still referenced by the other proposal");
    app.ok(Some(&c.worker), REMOVE, json!({"id": b["id"]})).await;
    assert_eq!(objects(&app).await.len(), 0, "no reference left: the object is gone");
}

storage_story!(orphans_are_swept_and_referenced_objects_stay);
async fn orphans_are_swept_and_referenced_objects_stay(app: TestApp) {
    let c = cast(&app).await;
    let p = draft(&app, &c.worker, "扫描孤儿文件").await;
    upload_ok(&app, &c.worker, &p, "kept.png", b"\x89PNG\r\n\x1a\nkept".to_vec()).await;
    // An object whose request failed after writing it: nothing references it.
    use object_store::ObjectStoreExt;
    app.state
        .services
        .storage
        .store
        .put(&Path::from("attachments/orphan"), b"left behind".to_vec().into())
        .await
        .unwrap();
    assert_eq!(objects(&app).await.len(), 2);
    let swept =
        greenline::storage::sweep(app.db(), &app.state.services.storage, std::time::Duration::ZERO).await.unwrap();
    assert_eq!(swept, 1);
    assert_eq!(objects(&app).await, vec!["attachments/".to_string() + &hex_sha256(b"\x89PNG\r\n\x1a\nkept")]);
    // With the default grace period a fresh orphan is left alone (its upload may still be committing).
    app.state.services.storage.store.put(&Path::from("attachments/fresh"), b"new".to_vec().into()).await.unwrap();
    let swept = greenline::storage::sweep(app.db(), &app.state.services.storage, std::time::Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(swept, 0);
}

fn hex_sha256(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_s3_credentials_are_reported_by_readyz() {
    let Some(spec) = s3_storage() else { return };
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_greenline"))
        .arg("serve")
        .env("GREENLINE_ADDR", format!("127.0.0.1:{port}"))
        .env("GREENLINE_DATABASE_URL", &app.state.services.config.database_url)
        .env("GREENLINE_INDEX_DIR", app.path("wrong-creds-index"))
        .env("GREENLINE_STORAGE", &spec)
        .env("AWS_SECRET_ACCESS_KEY", "certainly-not-the-secret")
        .env("RUST_LOG", "error")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    crate::harness::wait_healthy(&app.client, &url).await;
    let r = app.client.get(format!("{url}/readyz")).send().await.unwrap();
    // Searches, reads and submissions work without the store: the instance stays in the pool, and says why
    // uploads fail.
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["checks"]["objectStorage"]["ok"], false, "{body}");
    assert_eq!(body["checks"]["database"]["ok"], true);
    assert!(!body.to_string().contains("certainly-not-the-secret"), "secrets never appear in answers");
    child.start_kill().unwrap();
    let _ = child.wait().await;
}
