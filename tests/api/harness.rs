//! Starting the app for a test: a unique database (dropped afterwards), a temporary index directory and
//! object store, port 0, and readiness awaited by polling `/healthz` — never by sleeping.

use std::{
    future::Future,
    path::PathBuf,
    sync::atomic::{AtomicU32, Ordering},
};

use greenline::{
    config::Config,
    db::users::NewUser,
    domain::organisation::{Industry, Role},
};
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Defines a story that runs once per backend, as `<name>::sqlite` and `<name>::postgres`.
#[macro_export]
macro_rules! story {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::harness::run($crate::Backend::Sqlite, super::$name).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::harness::run($crate::Backend::Postgres, super::$name).await
            }
        }
    };
}

pub async fn run<F, Fut>(backend: Backend, story: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(app) = TestApp::start(backend).await else { return };
    story(app).await;
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A PostgreSQL database made for one test and dropped (forcibly) when the test ends, pass or fail.
struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime: do the async work on a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = sqlx::query(&format!("drop database if exists \"{name}\" with (force)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

pub struct TestApp {
    pub url: String,
    pub backend: Backend,
    pub state: greenline::state::AppState,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _pg: Option<PgDatabase>,
}

impl TestApp {
    /// `None` only when PostgreSQL is not configured outside CI (the story is then reported as skipped).
    pub async fn start(backend: Backend) -> Option<TestApp> {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
        greenline::telemetry::init_for_test();
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::defaults();
        config.index_dir = dir.path().join("index");
        config.storage = dir.path().join("objects").to_string_lossy().into_owned();
        // Stories poll and drive many requests with one token; the limits have a story of their own.
        config.rate_limit_per_token = 0.0;
        config.rate_limit_per_ip = 0.0;
        // Webhook receivers in the stories listen on 127.0.0.1; one story checks the default.
        config.webhook_targets = "any".into();
        let mut pg = None;
        match backend {
            Backend::Sqlite => config.database_url = format!("sqlite://{}", dir.path().join("greenline.db").display()),
            Backend::Postgres => {
                let admin_url = postgres_admin_url()?;
                let name = format!(
                    "greenline_test_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed),
                    rand_suffix()
                );
                use sqlx::Connection;
                let mut conn =
                    sqlx::PgConnection::connect(&admin_url).await.expect("PostgreSQL is configured but unreachable");
                sqlx::query(&format!("create database \"{name}\"")).execute(&mut conn).await.unwrap();
                config.database_url = with_database(&admin_url, &name);
                pg = Some(PgDatabase { admin_url, name });
            }
        }
        tweak(&mut config);
        let (url, state, shutdown, server) = launch(config).await;
        let client = reqwest::Client::new();
        wait_healthy(&client, &url).await;
        Some(TestApp { url, backend, state, client, dir, shutdown: Some(shutdown), server: Some(server), _pg: pg })
    }

    /// Stops this app and starts a fresh one on the same backend with other settings.
    pub async fn restarted_with(self, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let backend = self.backend;
        self.stop().await;
        TestApp::start_with(backend, tweak).await.expect("the backend was available a moment ago")
    }

    /// A second server on the same database, with an index of its own (several instances behind a balancer).
    pub async fn sibling(&self, index_dir: &str) -> Sibling {
        let mut config = (*self.state.services.config).clone();
        config.index_dir = self.path(index_dir);
        let (url, state, shutdown, server) = launch(config).await;
        wait_healthy(&self.client, &url).await;
        Sibling { url, state, _shutdown: shutdown, _server: server }
    }

    /// A second server on the same database with other settings.
    pub async fn sibling_with(&self, index_dir: &str, tweak: impl FnOnce(&mut Config)) -> Sibling {
        let mut config = (*self.state.services.config).clone();
        config.index_dir = self.path(index_dir);
        tweak(&mut config);
        let (url, state, shutdown, server) = launch(config).await;
        wait_healthy(&self.client, &url).await;
        Sibling { url, state, _shutdown: shutdown, _server: server }
    }

    /// A server on another database (e.g. one an import filled), with its own index.
    pub async fn server_on(&self, database_url: &str, index_dir: &str) -> Sibling {
        let mut config = (*self.state.services.config).clone();
        config.database_url = database_url.to_owned();
        config.index_dir = self.path(index_dir);
        config.storage = self.path(&format!("{index_dir}-objects")).to_string_lossy().into_owned();
        let (url, state, shutdown, server) = launch(config).await;
        wait_healthy(&self.client, &url).await;
        Sibling { url, state, _shutdown: shutdown, _server: server }
    }

    /// Runs `greenline ARGS…` against this app's database; returns (exit code, stdout, stderr).
    pub async fn cli(&self, args: &[&str]) -> (i32, String, String) {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_greenline"))
            .args(args)
            .env("GREENLINE_DATABASE_URL", &self.state.services.config.database_url)
            .env("RUST_LOG", "error")
            .output()
            .await
            .unwrap();
        let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
        (out.status.code().unwrap_or(-1), text(out.stdout), text(out.stderr))
    }

    /// Runs `greenline import KIND FILE` against this app's database; returns (exit code, stderr).
    pub async fn import(&self, kind: &str, file: &std::path::Path, extra: &[&str]) -> (i32, String) {
        import_into(&self.state.services.config.database_url, kind, file, extra).await
    }

    /// Stops the server and waits until it has closed its database pool.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            let _ = h.await;
        }
    }

    pub fn db(&self) -> &greenline::db::Db {
        &self.state.services.db
    }

    /// Creates a user (and their organisations) and returns their bearer token.
    pub async fn user(
        &self,
        name: &str,
        role: Role,
        enterprise: Option<&str>,
        team: Option<&str>,
        studio: Option<&str>,
    ) -> String {
        let new = NewUser {
            name: name.into(),
            role,
            enterprise: enterprise.map(Into::into),
            industry: Some(Industry::Metallurgy),
            team: team.map(Into::into),
            studio: studio.map(Into::into),
            ..NewUser::demo()
        };
        self.db().create_user(&new).await.expect("user created").1
    }

    /// POSTs a GraphQL request and returns the whole JSON body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        gql_at(&self.client, &self.url, token, query, variables).await
    }

    /// Like [`gql`], but panics on any top-level error and returns `data`.
    pub async fn ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let body = self.gql(token, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
}

/// Runs `greenline import KIND FILE` against a database; returns (exit code, stderr).
pub async fn import_into(database_url: &str, kind: &str, file: &std::path::Path, extra: &[&str]) -> (i32, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_greenline"))
        .args(["import", kind])
        .arg(file)
        .args(extra)
        .env("GREENLINE_DATABASE_URL", database_url)
        .env("RUST_LOG", "error")
        .output()
        .await
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stderr).unwrap())
}

/// The line numbers an import refused, from its report.
pub fn refused_lines(stderr: &str) -> Vec<u64> {
    stderr.lines().filter_map(|l| l.strip_prefix("line ")?.split_once(':')?.0.parse().ok()).collect()
}

pub struct Sibling {
    pub url: String,
    pub state: greenline::state::AppState,
    _shutdown: tokio::sync::oneshot::Sender<()>,
    _server: tokio::task::JoinHandle<()>,
}

async fn launch(
    config: Config,
) -> (String, greenline::state::AppState, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    // A story that set the public URL (sign-in redirects to it) listens on its port.
    let port = config.public_url.as_deref().and_then(|u| url::Url::parse(u).ok()).and_then(|u| u.port()).unwrap_or(0);
    let state = greenline::open(config).await.expect("app opens");
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let st = state.clone();
    let server = tokio::spawn(async move {
        greenline::serve(listener, st, async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    (url, state, tx, server)
}

/// `greenline serve` in a process of its own, on the app's database with its own index, the settings of
/// the app's config and `env` on top; killed when dropped.
pub struct Child {
    pub url: String,
    _process: tokio::process::Child,
}

impl Child {
    pub async fn serve(app: &TestApp, name: &str, env: &[(&str, String)]) -> Child {
        let config = &app.state.services.config;
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_greenline"));
        cmd.arg("serve")
            .env("GREENLINE_ADDR", format!("127.0.0.1:{port}"))
            .env("GREENLINE_DATABASE_URL", &config.database_url)
            .env("GREENLINE_STORAGE", &config.storage)
            .env("GREENLINE_INDEX_DIR", app.path(&format!("{name}-index")))
            .env("GREENLINE_RATE_LIMIT_PER_TOKEN", "0")
            .env("GREENLINE_RATE_LIMIT_PER_IP", "0")
            .env("GREENLINE_WEBHOOK_TARGETS", &config.webhook_targets)
            .env("RUST_LOG", "error")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let process = cmd.spawn().unwrap();
        let url = format!("http://127.0.0.1:{port}");
        wait_healthy(&app.client, &url).await;
        Child { url, _process: process }
    }
}

/// Polls `/healthz` until it answers (each poll is a real request; no fixed sleep).
pub async fn wait_healthy(client: &reqwest::Client, url: &str) {
    for _ in 0..600 {
        if let Ok(r) = client.get(format!("{url}/healthz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("server at {url} did not become healthy");
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// POSTs a GraphQL request to the server at `url`.
pub async fn gql_at(client: &reqwest::Client, url: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut req = client.post(format!("{url}/graphql")).json(&json!({ "query": query, "variables": variables }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap().json().await.unwrap()
}

fn rand_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    format!("{:x}", SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos())
}

/// The PostgreSQL server to test against; skips (outside CI) or fails (in CI) when it is not configured.
fn postgres_admin_url() -> Option<String> {
    service_url("GREENLINE_TEST_DATABASE_URL", "PostgreSQL")
}

/// The URL of a service the stories need, from `var` (which `scripts/test` sets): `None` outside CI when it
/// is not set (the story is reported as skipped); under `CI=true` a missing service fails the run.
pub fn service_url(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but {var} is not set: {what} stories must run in CI")
        }
        _ => {
            eprintln!("SKIPPED: {what} story (set {var}, or use scripts/test)");
            None
        }
    }
}

fn with_database(url: &str, db: &str) -> String {
    let mut u = url::Url::parse(url).expect("a valid PostgreSQL URL");
    u.set_path(&format!("/{db}"));
    u.to_string()
}

/// A small RFC 4180 reader for the test: quoted fields, doubled quotes, CRLF rows.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
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
