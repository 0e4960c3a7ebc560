//! The fleet under faults, end to end (#17): three `greenline serve` processes on one PostgreSQL — reached
//! through PgBouncer in transaction mode, with `LISTEN` on a direct connection — and an S3-compatible
//! server of their own, behind HAProxy (health-checking `/readyz`), under a mixed load of
//! submissions (with idempotency keys, retried as a client would), searches and uploads — while one
//! instance is killed with SIGKILL and restarted, every database connection is terminated, and the object
//! store is frozen (SIGSTOP) for a while. At the end: nothing acknowledged is lost or duplicated, every
//! refusal was a 503 with `Retry-After`, and every instance's index agrees with the database.
//!
//! Needs `haproxy`, `pgbouncer` and `s3s-fs` (installed by `scripts/test`); outside CI the story is skipped
//! without them.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use greenline::domain::organisation::Role;
use serde_json::{json, Value};

use crate::{Backend, TestApp};

fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join(name)).find(|p| p.is_file()))
        .or_else(|| [Path::new("/usr/sbin").join(name)].into_iter().find(|p| p.is_file()));
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but {name} is not installed (scripts/test installs it)");
        }
        eprintln!("SKIPPED: cluster story ({name} is not installed; scripts/test installs it)");
    }
    found
}

fn running_as_root() -> bool {
    std::process::Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0"))
}

/// Removes a directory when dropped.
struct Remove(PathBuf);

impl Drop for Remove {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn spawn(cmd: &mut tokio::process::Command) -> tokio::process::Child {
    cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).kill_on_drop(true).spawn().unwrap()
}

async fn wait_port(port: u16) {
    for _ in 0..400 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("nothing listens on {port}");
}

fn signal(child: &tokio::process::Child, sig: &str) {
    let pid = child.id().expect("running").to_string();
    let ok = std::process::Command::new("kill").args([sig, &pid]).status().unwrap().success();
    assert!(ok, "kill {sig} {pid}");
}

/// What the load saw.
#[derive(Default)]
struct Seen {
    /// Idempotency key → proposal id, for every acknowledged submission.
    acknowledged: HashMap<String, String>,
    /// Attachment URLs acknowledged.
    files: Vec<String>,
    /// Status (and whether it carried `Retry-After`) of every answer that was not a success.
    refusals: Vec<(u16, bool, String)>,
    searches: usize,
}

const SUBMIT: &str = "mutation($input: SubmitProposalInput!) { submitProposal(input: $input) { proposal { id } userErrors { code message } } }";
const UPLOAD: &str = "mutation($input: UploadAttachmentInput!) { uploadAttachment(input: $input) { attachment { id url } userErrors { code } } }";
const SEARCH: &str = "query($q: String!) { searchProposals(query: $q, first: 5) { totalCount } }";

/// One request through the balancer; `Ok(body)` on a 200, `Err(())` after recording a refusal.
async fn send(client: &reqwest::Client, req: reqwest::RequestBuilder, seen: &Mutex<Seen>) -> Result<Value, ()> {
    let _ = client;
    match req.send().await {
        Ok(r) if r.status() == 200 => {
            let body: Value = r.json().await.map_err(|_| ())?;
            if body.get("errors").is_some() {
                seen.lock().unwrap().refusals.push((200, false, body.to_string()));
                return Err(());
            }
            Ok(body)
        }
        Ok(r) => {
            let status = r.status().as_u16();
            let retry = r.headers().contains_key("retry-after");
            let text = r.text().await.unwrap_or_default();
            seen.lock().unwrap().refusals.push((status, retry, text.chars().take(200).collect()));
            Err(())
        }
        Err(e) => {
            let mut chain = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                chain.push_str(&format!(": {s}"));
                source = s.source();
            }
            seen.lock().unwrap().refusals.push((0, false, chain));
            Err(())
        }
    }
}

async fn client_loop(n: usize, url: String, token: String, until: Instant, seen: Arc<Mutex<Seen>>) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let mut i = 0;
    while Instant::now() < until {
        i += 1;
        let key = format!("cluster-{n}-{i}");
        let input = json!({"input": {"idempotencyKey": key, "proposal": {
            "title": format!("集群演练第{n}-{i}号：空压机余热回收"),
            "body": "空压机余热回收用于职工浴室热水，预计年节约标煤30吨。", "category": "ENERGY_SAVING"}}});
        // A client retries a refused submission with the same key until it is acknowledged.
        let mut id = None;
        for _ in 0..60 {
            let req = client
                .post(format!("{url}/graphql"))
                .bearer_auth(&token)
                .json(&json!({"query": SUBMIT, "variables": input}));
            if let Ok(body) = send(&client, req, &seen).await {
                id = body["data"]["submitProposal"]["proposal"]["id"].as_str().map(str::to_owned);
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let id = id.unwrap_or_else(|| panic!("submission {key} was never acknowledged"));
        seen.lock().unwrap().acknowledged.insert(key, id.clone());
        if i % 3 == 0 {
            let operations = json!({"query": UPLOAD, "variables": {"input": {"proposalId": id, "file": null}}});
            let form = reqwest::multipart::Form::new()
                .text("operations", operations.to_string())
                .text("map", json!({"0": ["variables.input.file"]}).to_string())
                .part(
                    "0",
                    reqwest::multipart::Part::bytes(crate::attachments::jpeg((n * 31 + i) as u8, 4096))
                        .file_name("现场.jpg"),
                );
            let req = client.post(format!("{url}/graphql")).bearer_auth(&token).multipart(form);
            if let Ok(body) = send(&client, req, &seen).await {
                if let Some(u) = body["data"]["uploadAttachment"]["attachment"]["url"].as_str() {
                    seen.lock().unwrap().files.push(u.to_owned());
                }
            }
        }
        let req = client
            .post(format!("{url}/graphql"))
            .bearer_auth(&token)
            .json(&json!({"query": SEARCH, "variables": {"q": "余热回收"}}));
        if send(&client, req, &seen).await.is_ok() {
            seen.lock().unwrap().searches += 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_behind_haproxy_survive_kills_dropped_connections_and_a_frozen_store() {
    let (Some(haproxy), Some(pgbouncer), Some(s3s)) = (tool("haproxy"), tool("pgbouncer"), tool("s3s-fs")) else {
        return;
    };
    let Some(app) = TestApp::start(Backend::Postgres).await else { return };
    let dir = app.path("cluster");
    std::fs::create_dir_all(dir.join("s3/cluster")).unwrap();

    // PgBouncer in transaction mode between the instances and PostgreSQL, from a directory the postgres
    // user may read and write (as root, PgBouncer runs as that user).
    let direct = url::Url::parse(&app.state.services.config.database_url).unwrap();
    let bouncer_port = free_port();
    let bouncer_dir = std::env::temp_dir().join(format!("greenline-pgbouncer-{}-{bouncer_port}", std::process::id()));
    std::fs::create_dir_all(&bouncer_dir).unwrap();
    let _remove = Remove(bouncer_dir.clone());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bouncer_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::write(bouncer_dir.join("users.txt"), "\"postgres\" \"\"\n").unwrap();
    std::fs::write(
        bouncer_dir.join("pgbouncer.ini"),
        format!(
            "[databases]\n* = host={} port={}\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {bouncer_port}\nunix_socket_dir =\n\
             auth_type = trust\nauth_file = {}\npool_mode = transaction\ndefault_pool_size = 12\nmax_client_conn = 200\n\
             server_reset_query = DISCARD ALL\nserver_reset_query_always = 1\nignore_startup_parameters = extra_float_digits\n\
             logfile = {}\n",
            direct.host_str().unwrap(),
            direct.port().unwrap_or(5432),
            bouncer_dir.join("users.txt").display(),
            bouncer_dir.join("pgbouncer.log").display(),
        ),
    )
    .unwrap();
    // As root it must be told whose identity to assume (`-u`); it stays this story's own child, so that it
    // is killed with the story.
    let mut bouncer_cmd = tokio::process::Command::new(&pgbouncer);
    if running_as_root() {
        bouncer_cmd.args(["-u", "postgres"]);
    }
    let _bouncer = spawn(bouncer_cmd.arg(bouncer_dir.join("pgbouncer.ini")));
    wait_port(bouncer_port).await;
    let mut pooled = direct.clone();
    pooled.set_port(Some(bouncer_port)).unwrap();

    // The object store: an S3 server of this story's own, so that it can be frozen.
    let s3_port = free_port();
    let (key, secret) = ("cluster-test", format!("secret-{}", std::process::id()));
    let s3 = spawn(
        tokio::process::Command::new(&s3s)
            .args(["--host", "127.0.0.1", "--port", &s3_port.to_string(), "--access-key", key, "--secret-key", &secret])
            .arg(dir.join("s3")),
    );
    wait_port(s3_port).await;

    // Three instances; the first two share an index directory, as instances on one host may (one writes
    // it, the other reads it), the third has its own.
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let config = app.state.services.config.clone();
    let serve = |i: usize| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_greenline"));
        cmd.arg("serve")
            .env("GREENLINE_ADDR", format!("127.0.0.1:{}", ports[i]))
            .env("GREENLINE_DATABASE_URL", pooled.as_str())
            .env("GREENLINE_DATABASE_POOLER", "transaction")
            .env("GREENLINE_DATABASE_LISTEN_URL", &config.database_url)
            .env("GREENLINE_DATABASE_POOL_SIZE", "8")
            .env("GREENLINE_INDEX_DIR", dir.join(format!("index-{}", i.max(1))))
            .env("GREENLINE_STORAGE", "s3://cluster/objects")
            .env("GREENLINE_STORAGE_TIMEOUT_SECS", "2")
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{s3_port}"))
            .env("AWS_ACCESS_KEY_ID", key)
            .env("AWS_SECRET_ACCESS_KEY", &secret)
            .env("AWS_REGION", "us-east-1")
            .env("GREENLINE_RATE_LIMIT_PER_TOKEN", "0")
            .env("GREENLINE_RATE_LIMIT_PER_IP", "0")
            .env("RUST_LOG", "error");
        spawn(&mut cmd)
    };
    let mut instances: Vec<_> = (0..3).map(serve).collect();
    for p in &ports {
        crate::harness::wait_healthy(&app.client, &format!("http://127.0.0.1:{p}")).await;
    }

    // The balancer: health checks on /readyz (which answers within 2 s), an attempt that could not connect
    // or got no answer retried on another instance (submissions carry idempotency keys; an instance's own
    // 503 goes to the client, whose retry carries the same key), and whatever it cannot serve answered 503
    // with Retry-After.
    let lb_port = free_port();
    let error = |code: u16| {
        let path = dir.join(format!("{code}.http"));
        let body = r#"{"errors":[{"message":"the service is briefly unavailable; try again in a moment / 服务暂时不可用，请稍后重试","extensions":{"code":"SERVICE_UNAVAILABLE"}}]}"#;
        std::fs::write(
            &path,
            format!("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nCache-Control: no-cache\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()),
        )
        .unwrap();
        format!("    errorfile {code} {}\n", path.display())
    };
    let servers: String = ports
        .iter()
        .enumerate()
        .map(|(i, p)| format!("    server g{i} 127.0.0.1:{p} check inter 500ms fall 2 rise 2\n"))
        .collect();
    let cfg = format!(
        "global\n    maxconn 512\n    log stdout format raw local0\ndefaults\n    mode http\n    log global\n    option httplog\n    timeout connect 1s\n    timeout client 30s\n    timeout server 30s\n    timeout http-request 10s\n    option http-buffer-request\n    retries 3\n    retry-on conn-failure empty-response response-timeout\n    timeout check 2s\n    option redispatch 1\n{}{}{}\nfrontend fleet\n    bind 127.0.0.1:{lb_port}\n    default_backend greenline\nbackend greenline\n    balance roundrobin\n    option httpchk GET /readyz\n    http-check expect status 200\n{servers}",
        error(502),
        error(503),
        error(504),
    );
    std::fs::write(dir.join("haproxy.cfg"), cfg).unwrap();
    let _lb = tokio::process::Command::new(&haproxy)
        .arg("-f")
        .arg(dir.join("haproxy.cfg"))
        .arg("-db")
        .stdout(std::fs::File::create(dir.join("haproxy.log")).unwrap())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    wait_port(lb_port).await;
    let lb = format!("http://127.0.0.1:{lb_port}");

    let mut workers = vec![];
    for i in 0..6 {
        workers.push(app.user(&format!("工人{i}"), Role::Worker, Some("宝山钢铁示范厂"), None, None).await);
    }
    let admin = app.user("平台管理员", Role::Admin, None, None, None).await;

    // The load runs for 16 s; the faults come one after another meanwhile.
    let seen = Arc::new(Mutex::new(Seen::default()));
    let until = Instant::now() + Duration::from_secs(16);
    let load: Vec<_> = workers
        .iter()
        .enumerate()
        .map(|(n, t)| tokio::spawn(client_loop(n, lb.clone(), t.clone(), until, seen.clone())))
        .collect();
    // The instance killed is the one that writes the shared index: the other takes its place.
    let mut writes = vec![];
    for p in &ports[..2] {
        let r = app.client.get(format!("http://127.0.0.1:{p}/readyz")).send().await.unwrap();
        writes.push(r.json::<Value>().await.unwrap()["checks"]["index"]["writer"] == true);
    }
    assert_eq!(writes.iter().filter(|w| **w).count(), 1, "one of the two sharing an index writes it: {writes:?}");
    let victim = writes.iter().position(|w| *w).unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    signal(&instances[victim], "-KILL");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let survivor = ports[1 - victim];
    let r = app.client.get(format!("http://127.0.0.1:{survivor}/readyz")).send().await.unwrap();
    let index = r.json::<Value>().await.unwrap()["checks"]["index"].clone();
    assert_eq!(index["writer"], true, "the other instance on the shared index took the writer's place: {index}");
    instances[victim] = serve(victim);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let terminated: i64 = greenline::with_db!(app.db(), pool => {
        sqlx::query_scalar("select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity
                             where datname = current_database() and pid <> pg_backend_pid()) t")
            .fetch_one(pool)
            .await
            .unwrap()
    });
    assert!(terminated > 0, "the instances had connections to terminate");
    tokio::time::sleep(Duration::from_secs(2)).await;
    signal(&s3, "-STOP");
    tokio::time::sleep(Duration::from_secs(4)).await;
    signal(&s3, "-CONT");
    for l in load {
        l.await.unwrap();
    }

    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let kinds: Vec<_> = seen.refusals.iter().map(|(s, r, _)| (*s, *r)).collect();
    eprintln!(
        "cluster story: {} submissions acknowledged, {} files, {} searches; refusals (status, Retry-After): {kinds:?}",
        seen.acknowledged.len(),
        seen.files.len(),
        seen.searches
    );
    let bad: Vec<_> = seen.refusals.iter().filter(|(s, retry, _)| !(*s == 503 && *retry)).collect();
    assert!(bad.is_empty(), "every failure is a 503 with Retry-After: {bad:?}");
    assert!(seen.acknowledged.len() >= 30, "the load went on: {} acknowledged", seen.acknowledged.len());
    assert!(!seen.refusals.is_empty(), "the faults were felt (else this story proves nothing)");

    // Nothing acknowledged lost, nothing duplicated.
    let rows: Vec<(i64, Option<String>)> = greenline::with_db!(app.db(), pool => {
        sqlx::query_as("select id, idempotency_key from proposals").fetch_all(pool).await.unwrap()
    });
    let by_key: HashMap<String, i64> = rows.iter().filter_map(|(id, k)| k.clone().map(|k| (k, *id))).collect();
    assert_eq!(by_key.len(), rows.len(), "one proposal per idempotency key");
    for (key, id) in &seen.acknowledged {
        let stored = by_key.get(key).unwrap_or_else(|| panic!("acknowledged {key} is missing"));
        use base64::Engine;
        let gid = base64::engine::general_purpose::STANDARD.encode(format!("Proposal:{stored}"));
        assert_eq!(gid, *id, "{key} is the proposal acknowledged");
    }
    // Every acknowledged file can be downloaded (through any instance).
    let client = reqwest::Client::new();
    for u in &seen.files {
        let r = client.get(format!("{lb}{u}")).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(r.status(), 200, "{u}");
    }
    // Every instance's index holds every proposal.
    for p in &ports {
        let url = format!("http://127.0.0.1:{p}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let d = crate::harness::gql_at(
                &client,
                &url,
                Some(&admin),
                "{ searchProposals(query: \"余热回收\", first: 0) { totalCount } }",
                json!({}),
            )
            .await;
            if d["data"]["searchProposals"]["totalCount"].as_u64() == Some(rows.len() as u64) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the index of {url} does not agree with the database: {d}, {} rows",
                rows.len()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    drop(instances);
}
