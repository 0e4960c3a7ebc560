//! Sign-in and people: a real OpenID Provider (the `oidc-provider` package, `web-tests/oidc/provider.mjs`,
//! one process per story) and a cookie-keeping client that follows the authorization code flow through
//! the provider's own login page, as a browser would. Tokens, administration, deactivation and the audit
//! log on both backends.

use std::collections::HashMap;

use greenline::domain::organisation::Role;
use serde_json::{json, Value};

use crate::{harness::service_url, story, TestApp};

/// The provider process, killed when dropped.
pub struct Provider {
    pub issuer: String,
    client: reqwest::Client,
    _process: tokio::process::Child,
}

pub const CLIENT_ID: &str = "greenline-test";
pub const CLIENT_SECRET: &str = "greenline-test-secret";
pub const AUDIENCE: &str = "urn:greenline:api";

impl Provider {
    /// Starts the provider for the app that will listen at `app_url`, with `accounts` (login → claims).
    /// `None` outside CI when the provider is not set up (scripts/test sets it up; CI=true fails instead).
    pub async fn start(app_url: &str, accounts: Value) -> Option<Provider> {
        let script = service_url("GREENLINE_TEST_OIDC_PROVIDER", "OpenID Provider")?;
        let config = json!({
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "audience": AUDIENCE,
            "redirectUris": [format!("{app_url}/auth/callback")],
            "postLogoutRedirectUris": [format!("{app_url}/")],
            "accounts": accounts,
        });
        let mut process = tokio::process::Command::new("node")
            .arg(&script)
            .env("OIDC_TEST_CONFIG", config.to_string())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs the test provider");
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(process.stdout.take().unwrap()).lines();
        let issuer = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(issuer) = line.strip_prefix("OIDC_PROVIDER_READY ") {
                    return issuer.to_owned();
                }
            }
            panic!("the test provider exited before it listened");
        })
        .await
        .expect("the test provider starts within 30 s");
        Some(Provider { issuer, client: reqwest::Client::new(), _process: process })
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let r = self.client.post(format!("{}{path}", self.issuer)).json(&body).send().await.unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    /// A JWT with `claims`, signed with the provider's current key, or with a foreign key under its kid.
    pub async fn sign(&self, claims: Value, foreign: bool) -> String {
        self.post("/__test/sign", json!({"claims": claims, "foreign": foreign})).await["jwt"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A new signing key: the old one leaves the JWKS.
    pub async fn rotate(&self) {
        self.post("/__test/rotate", json!({})).await;
    }

    pub async fn set_account(&self, login: &str, claims: Value) {
        self.post("/__test/account", json!({"login": login, "claims": claims})).await;
    }
}

/// A free port for an app that must know its URL before it starts (the provider redirects to it).
fn free_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("http://127.0.0.1:{port}")
}

/// The app and its provider; `None` when a service is missing outside CI.
async fn app_with_provider(backend: crate::Backend, accounts: Value) -> Option<(TestApp, Provider)> {
    let url = free_url();
    let provider = Provider::start(&url, accounts).await?;
    let issuer = provider.issuer.clone();
    let app = TestApp::start_with(backend, |c| {
        c.public_url = Some(url.clone());
        c.oidc_issuer = Some(issuer);
        c.oidc_client_id = Some(CLIENT_ID.into());
        c.oidc_client_secret = Some(CLIENT_SECRET.into());
        c.oidc_audience = Some(AUDIENCE.into());
    })
    .await?;
    assert_eq!(app.url, url);
    Some((app, provider))
}

/// What a response said.
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub body: String,
}

/// A client that keeps cookies per host and follows nothing by itself, as a browser with the steps
/// written out.
#[derive(Default)]
pub struct Browser {
    client: reqwest::Client,
    cookies: HashMap<String, HashMap<String, String>>,
}

fn host_of(url: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    format!("{}:{}", u.host_str().unwrap(), u.port_or_known_default().unwrap())
}

impl Browser {
    pub fn new() -> Browser {
        Browser {
            client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self, url: &str) -> String {
        self.cookies
            .get(&host_of(url))
            .map(|c| c.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; "))
            .unwrap_or_default()
    }

    pub fn cookie(&self, url: &str, name: &str) -> Option<String> {
        self.cookies.get(&host_of(url)).and_then(|c| c.get(name)).cloned()
    }

    pub fn set_cookie(&mut self, url: &str, name: &str, value: &str) {
        self.cookies.entry(host_of(url)).or_default().insert(name.into(), value.into());
    }

    async fn send(&mut self, url: &str, req: reqwest::RequestBuilder) -> Answer {
        let res = req.header("cookie", self.cookie_header(url)).send().await.unwrap();
        let status = res.status().as_u16();
        let location = res.headers().get("location").map(|l| {
            let l = l.to_str().unwrap();
            url::Url::parse(url).unwrap().join(l).unwrap().to_string()
        });
        let set_cookies: Vec<String> =
            res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        let jar = self.cookies.entry(host_of(url)).or_default();
        for c in &set_cookies {
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() || attrs.to_ascii_lowercase().contains("max-age=0") || attrs.contains("1970") {
                jar.remove(k.trim());
            } else {
                jar.insert(k.trim().into(), v.into());
            }
        }
        let body = res.text().await.unwrap();
        Answer { status, location, set_cookies, body }
    }

    pub async fn get(&mut self, url: &str) -> Answer {
        let req = self.client.get(url);
        self.send(url, req).await
    }

    pub async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> Answer {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let req = self.client.post(url).header("content-type", "application/x-www-form-urlencoded").body(body);
        self.send(url, req).await
    }

    pub async fn post(&mut self, url: &str, headers: &[(&str, &str)], body: Value) -> Answer {
        let mut req = self.client.post(url).header("content-type", "application/json").body(body.to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(url, req).await
    }

    /// Follows redirects from `url`, signing in as `login` on the provider's login page when it shows, until
    /// an answer that is not a redirect or one back to `stop_at` (the app's callback, returned unvisited).
    pub async fn follow(&mut self, mut url: String, login: &str, stop_at: &str) -> (String, Answer) {
        for _ in 0..20 {
            if url.starts_with(stop_at) {
                return (url.clone(), Answer { status: 0, location: None, set_cookies: vec![], body: String::new() });
            }
            let a = self.get(&url).await;
            match a.location.clone() {
                Some(next) if (300..400).contains(&a.status) => url = next,
                _ if a.status == 200 && a.body.contains("name=\"login\"") => {
                    let action = a.body.split("action=\"").nth(1).unwrap().split('"').next().unwrap();
                    let action = url::Url::parse(&url).unwrap().join(action).unwrap().to_string();
                    let submitted = self
                        .post_form(&action, &[("prompt", "login"), ("login", login), ("password", "任意密码")])
                        .await;
                    url = submitted.location.clone().unwrap_or_else(|| panic!("login form: {}", submitted.body));
                }
                _ => return (url, a),
            }
        }
        panic!("too many redirects from {url}");
    }

    /// Signs in through the provider as `login`, from `/auth/login?next=…`; returns the app's final answer.
    pub async fn sign_in(&mut self, app_url: &str, login: &str, next: &str) -> Answer {
        let start = format!(
            "{app_url}/auth/login?next={}",
            url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        );
        let a = self.get(&start).await;
        assert_eq!(a.status, 303, "{}", a.body);
        let (callback, _) = self.follow(a.location.unwrap(), login, &format!("{app_url}/auth/callback")).await;
        self.get(&callback).await
    }

    /// The CSRF token of the signed-in session.
    pub async fn csrf(&mut self, app_url: &str) -> String {
        let a = self.get(&format!("{app_url}/auth/session")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        let v: Value = serde_json::from_str(&a.body).unwrap();
        v["csrfToken"].as_str().unwrap().to_owned()
    }

    /// A GraphQL request signed in by the session cookie, with `csrf` (or none).
    pub async fn gql(&mut self, app_url: &str, csrf: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        let mut headers = vec![("accept", "application/graphql-response+json")];
        if let Some(c) = csrf {
            headers.push(("x-csrf-token", c));
        }
        let a =
            self.post(&format!("{app_url}/graphql"), &headers, json!({"query": query, "variables": variables})).await;
        (a.status, serde_json::from_str(&a.body).unwrap_or(Value::Null))
    }
}

fn wang() -> Value {
    json!({
        "name": "王建国",
        "email": "wang.jianguo@baosteel-demo.cn",
        "greenline_enterprise": "宝钢示范厂",
        "greenline_team": "炼钢一班",
        "greenline_industry": "METALLURGY",
    })
}

const VIEWER: &str = "{ viewer { name role email enterprise { name industry } team { name } } }";

story!(a_worker_signs_in_with_the_company_account);
async fn a_worker_signs_in_with_the_company_account(app: TestApp) {
    let backend = app.backend;
    drop(app);
    let accounts = json!({
        "wang": wang(),
        "boss": {"name": "自称管理员", "greenline_enterprise": "宝钢示范厂", "greenline_role": "ADMIN"},
        "lead": {"name": "周劳模", "greenline_enterprise": "宝钢示范厂", "greenline_studio": "节能工作室", "greenline_role": "STUDIO_LEAD"},
    });
    let Some((app, provider)) = app_with_provider(backend, accounts).await else { return };
    let mut browser = Browser::new();

    // Before: no session; the page learns that sign-in with the provider is offered.
    let a = browser.get(&format!("{}/auth/session", app.url)).await;
    assert_eq!(a.status, 401);
    assert_eq!(serde_json::from_str::<Value>(&a.body).unwrap()["oidc"], json!(true));

    // The code flow, through the provider's login page, back to where the worker was going.
    let done = browser.sign_in(&app.url, "wang", "/#/mine").await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some(format!("{}/#/mine", app.url).as_str()));
    let cookie = done.set_cookies.iter().find(|c| c.starts_with("greenline_session=")).expect("a session cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    assert!(!cookie.contains("Secure"), "not Secure on an http public URL: {cookie}");
    let secret = browser.cookie(&app.url, "greenline_session").unwrap();
    let stored: i64 = {
        let hash = greenline::db::users::hash_token(&secret);
        let found = app.db().user_by_token(&secret).await.unwrap().expect("the session is stored");
        assert_eq!(found.credential.kind, "session");
        assert_ne!(hash, secret);
        found.user.id
    };

    // Provisioned from the claims, with no command run on the server.
    let csrf = browser.csrf(&app.url).await;
    let (status, body) = browser.gql(&app.url, Some(&csrf), VIEWER, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["viewer"],
        json!({"name": "王建国", "role": "WORKER", "email": "wang.jianguo@baosteel-demo.cn",
               "enterprise": {"name": "宝钢示范厂", "industry": "METALLURGY"}, "team": {"name": "炼钢一班"}})
    );

    // Without the CSRF token, or with another, a cookie-signed request is refused.
    for bad in [None, Some("not-the-token")] {
        let (status, body) = browser.gql(&app.url, bad, VIEWER, json!({})).await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    }

    // The worker submits a proposal and sees it among theirs.
    let submit = crate::journey::SUBMIT;
    let input = json!({"input": {"proposal": {"title": "转炉煤气回收放散优化", "body": "放散阀前加装压力联锁，减少煤气放散。"}}});
    let (status, body) = browser.gql(&app.url, Some(&csrf), submit, input).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["submitProposal"]["userErrors"].as_array().unwrap().is_empty(), "{body}");
    let (_, body) = browser
        .gql(&app.url, Some(&csrf), "{ viewer { id } proposals(first: 5) { edges { node { title } } } }", json!({}))
        .await;
    assert_eq!(body["data"]["proposals"]["edges"][0]["node"]["title"], "转炉煤气回收放散优化");

    // A role above ENTERPRISE_ADMIN is not granted from claims; a studio lead's is, with their studio.
    let mut other = Browser::new();
    assert_eq!(other.sign_in(&app.url, "boss", "/").await.status, 303);
    let csrf2 = other.csrf(&app.url).await;
    assert_eq!(other.gql(&app.url, Some(&csrf2), VIEWER, json!({})).await.1["data"]["viewer"]["role"], "WORKER");
    let mut lead = Browser::new();
    assert_eq!(lead.sign_in(&app.url, "lead", "/").await.status, 303);
    let csrf3 = lead.csrf(&app.url).await;
    let (_, body) = lead.gql(&app.url, Some(&csrf3), "{ viewer { role studio { name } } }", json!({})).await;
    assert_eq!(body["data"]["viewer"], json!({"role": "STUDIO_LEAD", "studio": {"name": "节能工作室"}}));

    // Later sign-ins apply changed claims (a move to another team), to the same person.
    let mut moved = wang();
    moved["greenline_team"] = json!("炼钢二班");
    provider.set_account("wang", moved).await;
    let mut again = Browser::new();
    assert_eq!(again.sign_in(&app.url, "wang", "/").await.status, 303);
    let csrf4 = again.csrf(&app.url).await;
    let (_, body) = again.gql(&app.url, Some(&csrf4), "{ viewer { team { name } } }", json!({})).await;
    assert_eq!(body["data"]["viewer"]["team"]["name"], "炼钢二班");
    let secret2 = again.cookie(&app.url, "greenline_session").unwrap();
    assert_eq!(app.db().user_by_token(&secret2).await.unwrap().unwrap().user.id, stored, "the same person");

    // A WebSocket from the page: the cookie comes with the upgrade, the CSRF token in `connection_init`;
    // a wrong token is refused (4403); logging out closes the open subscription (4403).
    use crate::attacks::{ws_about, ws_next, ws_send, ws_sync};
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};
    let connect = |csrf: String| {
        let url = format!("{}/graphql/ws", app.url.replace("http://", "ws://"));
        let cookie = format!("greenline_session={secret}");
        async move {
            let mut req = url.into_client_request().unwrap();
            req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
            req.headers_mut().insert("Cookie", cookie.parse().unwrap());
            let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
            let init = json!({"type": "connection_init", "payload": {"X-CSRF-Token": csrf}});
            ws.send(Message::text(init.to_string())).await.unwrap();
            let first = ws_next(&mut ws).await;
            (ws, first)
        }
    };
    let (_, refused) = connect("not-the-token".into()).await;
    assert_eq!(refused, json!({"close": 4403}));
    let (mut ws, ack) = connect(csrf.clone()).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    ws_send(
        &mut ws,
        json!({"id": "v", "type": "subscribe", "payload": {"query": "subscription { proposalEvents { sequence } }"}}),
    )
    .await;
    ws_sync(&mut ws).await;

    // Logout ends the session here and sends the browser on to end it at the provider.
    let a = browser.post(&format!("{}/auth/logout", app.url), &[], json!({})).await;
    assert_eq!(a.status, 303);
    let to = a.location.unwrap();
    assert!(to.starts_with(&format!("{}/session/end", provider.issuer)), "{to}");
    assert!(to.contains("post_logout_redirect_uri="), "{to}");
    assert!(browser.cookie(&app.url, "greenline_session").is_none(), "the cookie is cleared");
    browser.set_cookie(&app.url, "greenline_session", &secret);
    assert_eq!(browser.get(&format!("{}/auth/session", app.url)).await.status, 401);
    browser.set_cookie(&app.url, "greenline_session", &secret);
    let (status, body) = browser.gql(&app.url, Some(&csrf), VIEWER, json!({})).await;
    assert_eq!(status, 401, "{body}");
    // An event committed before the logout may still reach the subscription first; then it must close.
    let mut about = ws_about(&mut ws, "v").await;
    for _ in 0..10 {
        if about["type"] != "next" {
            break;
        }
        about = ws_about(&mut ws, "v").await;
    }
    assert_eq!(about, json!({"close": 4403}), "the page's open subscription ends with the session");
    // The provider's logout page accepts the request (its confirmation form shows).
    let end = browser.get(&to).await;
    assert_eq!(end.status, 200, "{}", end.body);

    // The audit log holds the sign-ins, the provisioning, the change from claims and the logout.
    let admin = app.user("平台管理员", Role::Admin, None, None, None).await;
    let d = app
        .ok(
            Some(&admin),
            "{ auditLog(first: 50) { totalCount edges { node { action actor { name } detail } } } }",
            json!({}),
        )
        .await;
    let actions: Vec<&str> =
        d["auditLog"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["action"].as_str().unwrap()).collect();
    for expected in ["USER_PROVISIONED", "SIGNED_IN", "USER_UPDATED_FROM_CLAIMS", "SIGNED_OUT"] {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
    assert_eq!(actions.iter().filter(|a| **a == "USER_PROVISIONED").count(), 3, "three people, once each");

    // Someone who left: deactivated, they can no longer sign in through the provider.
    let d =
        app.ok(Some(&admin), "{ people(first: 10, search: \"王建国\") { edges { node { id } } } }", json!({})).await;
    let id = d["people"]["edges"][0]["node"]["id"].clone();
    let q = "mutation($input: DeactivateUserInput!) { deactivateUser(input: $input) { userErrors { code } } }";
    app.ok(Some(&admin), q, json!({"input": {"id": id}})).await;
    let mut gone = Browser::new();
    let a = gone.sign_in(&app.url, "wang", "/").await;
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(a.body.contains("账号已停用"), "{}", a.body);
    assert!(gone.cookie(&app.url, "greenline_session").is_none(), "no session for a deactivated person");
}

story!(sign_in_refuses_what_it_should);
async fn sign_in_refuses_what_it_should(app: TestApp) {
    let backend = app.backend;
    drop(app);
    let Some((app, _provider)) = app_with_provider(backend, json!({"wang": wang()})).await else { return };
    let callback = format!("{}/auth/callback", app.url);

    // A wrong state: the browser's cookie names another sign-in.
    let mut b = Browser::new();
    let a = b.get(&format!("{}/auth/login", app.url)).await;
    let (back, _) = b.follow(a.location.unwrap(), "wang", &callback).await;
    let forged = back.replace("state=", "state=x");
    let r = b.get(&forged).await;
    assert_eq!(r.status, 400, "{}", r.body);
    // The same callback in another browser (login CSRF): no state cookie there.
    let mut stranger = Browser::new();
    assert_eq!(stranger.get(&back).await.status, 400);
    // The real one still works once …
    let ok = b.get(&back).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert!(b.cookie(&app.url, "greenline_session").is_some());
    // … and never again (the state is used).
    let mut replay = Browser::new();
    let state = url::Url::parse(&back).unwrap().query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    replay.set_cookie(&app.url, "greenline_login", &state);
    let r = replay.get(&back).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(replay.cookie(&app.url, "greenline_session").is_none());

    // A code replayed into a fresh sign-in: the provider refuses it (it was redeemed).
    let mut c = Browser::new();
    let a = c.get(&format!("{}/auth/login", app.url)).await;
    let (fresh, _) = c.follow(a.location.unwrap(), "wang", &callback).await;
    let old_code = url::Url::parse(&back).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    let fresh_state =
        url::Url::parse(&fresh).unwrap().query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let replayed = format!("{callback}?code={old_code}&state={fresh_state}");
    let r = c.get(&replayed).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(c.cookie(&app.url, "greenline_session").is_none());

    // `next` leaves the site only for paths of this site.
    let mut d = Browser::new();
    let done = d.sign_in(&app.url, "wang", "https://evil.example/steal").await;
    assert_eq!(done.location.as_deref(), Some(format!("{}/", app.url).as_str()));
    let done = d.sign_in(&app.url, "wang", "//evil.example").await;
    assert_eq!(done.location.as_deref(), Some(format!("{}/", app.url).as_str()));

    // An error from the provider (the user cancelled) is a clear page, not a session.
    let mut e = Browser::new();
    let r = e.get(&format!("{callback}?error=access_denied&state=whatever")).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("access_denied"));
}

story!(api_clients_present_the_providers_access_tokens);
async fn api_clients_present_the_providers_access_tokens(app: TestApp) {
    let backend = app.backend;
    drop(app);
    let Some((app, provider)) = app_with_provider(backend, json!({"wang": wang()})).await else { return };
    // A person linked to a subject of the provider by `user add --oidc-subject`.
    let new = greenline::db::users::NewUser {
        name: "赵工".into(),
        role: Role::Reviewer,
        enterprise: Some("宝钢示范厂".into()),
        oidc_subject: Some("zhao".into()),
        ..greenline::db::users::NewUser::demo()
    };
    app.db().create_user(&new).await.unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = |sub: &str, aud: &str, exp: i64| json!({"sub": sub, "aud": aud, "exp": exp});
    let viewer = |token: String| {
        let app = &app;
        async move {
            let r = app
                .client
                .post(format!("{}/graphql", app.url))
                .bearer_auth(token)
                .json(&json!({"query": "{ viewer { name role } }"}))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };

    let good = provider.sign(claims("zhao", AUDIENCE, now + 300), false).await;
    let (status, body) = viewer(good.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["viewer"], json!({"name": "赵工", "role": "REVIEWER"}));

    for (what, token) in [
        ("expired", provider.sign(claims("zhao", AUDIENCE, now - 3600), false).await),
        ("foreign-signed", provider.sign(claims("zhao", AUDIENCE, now + 300), true).await),
        ("for another audience", provider.sign(claims("zhao", CLIENT_ID, now + 300), false).await),
        ("of an unknown subject", provider.sign(claims("nobody", AUDIENCE, now + 300), false).await),
        (
            "from another issuer",
            provider
                .sign(json!({"sub": "zhao", "aud": AUDIENCE, "exp": now + 300, "iss": "http://127.0.0.1:1"}), false)
                .await,
        ),
    ] {
        let (status, body) = viewer(token).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{what}");
    }

    // The provider rotates its key: a token under the new kid is checked after one JWKS fetch; the old
    // key is gone from the JWKS, so a token signed with it now fails.
    // (The JWKS is fetched again at most once a second, so that tokens naming random keys cannot make the
    // server hammer the provider: right after a fetch, the new key is found within a second.)
    provider.rotate().await;
    let rotated = provider.sign(claims("zhao", AUDIENCE, now + 300), false).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (status, body) = viewer(rotated.clone()).await;
        if status == 200 {
            assert_eq!(body["data"]["viewer"]["name"], "赵工");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the rotated key is never fetched: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (status, _) = viewer(provider.sign(claims("zhao", AUDIENCE, now + 301), true).await).await;
    assert_eq!(status, 401);

    // A deactivated person's provider tokens stop working too.
    let admin = app.user("平台管理员", Role::Admin, None, None, None).await;
    let zhao = app.ok(Some(&admin), "{ people(first: 10) { edges { node { id name } } } }", json!({})).await;
    let id = zhao["people"]["edges"].as_array().unwrap().iter().find(|e| e["node"]["name"] == "赵工").unwrap()["node"]
        ["id"]
        .clone();
    let q = "mutation($input: DeactivateUserInput!) { deactivateUser(input: $input) { user { active } userErrors { code } } }";
    let d = app.ok(Some(&admin), q, json!({"input": {"id": id}})).await;
    assert_eq!(d["deactivateUser"]["user"]["active"], false);
    let (status, _) = viewer(provider.sign(claims("zhao", AUDIENCE, now + 302), false).await).await;
    assert_eq!(status, 401);
}

/// The checks on an ID token, against the real provider's JWKS: a token the provider signed for this
/// client with the sign-in's nonce passes; an expired one, a foreign-signed one, one for another client
/// and one with another nonce (a replayed ID token) do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_tokens_are_checked_against_the_providers_keys() {
    let Some(provider) = Provider::start("http://127.0.0.1:9", json!({})).await else { return };
    let mut config = greenline::config::Config::defaults();
    config.oidc_issuer = Some(provider.issuer.clone());
    config.oidc_client_id = Some(CLIENT_ID.into());
    let oidc = greenline::oidc::Oidc::from_config(&config).unwrap().unwrap();
    let now = chrono::Utc::now().timestamp();
    let id_token = |aud: &str, nonce: &str, exp: i64| json!({"sub": "wang", "aud": aud, "nonce": nonce, "exp": exp});
    let good = provider.sign(id_token(CLIENT_ID, "n-1", now + 60), false).await;
    let claims = oidc.check(&good, CLIENT_ID, Some("n-1")).await.map_err(|e| format!("{e:?}")).unwrap();
    assert_eq!(claims["sub"], "wang");
    use greenline::oidc::{Checked, Invalid};
    let refused = |r: Result<serde_json::Map<String, Value>, Checked>| match r {
        Err(Checked::Invalid(i)) => i,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(refused(oidc.check(&good, CLIENT_ID, Some("n-2")).await), Invalid::Nonce);
    let expired = provider.sign(id_token(CLIENT_ID, "n-1", now - 3600), false).await;
    assert!(
        matches!(refused(oidc.check(&expired, CLIENT_ID, Some("n-1")).await), Invalid::Rejected(r) if r.contains("Expired"))
    );
    let foreign = provider.sign(id_token(CLIENT_ID, "n-1", now + 60), true).await;
    assert!(
        matches!(refused(oidc.check(&foreign, CLIENT_ID, Some("n-1")).await), Invalid::Rejected(r) if r.contains("Signature"))
    );
    let other_client = provider.sign(id_token("another-client", "n-1", now + 60), false).await;
    assert!(
        matches!(refused(oidc.check(&other_client, CLIENT_ID, Some("n-1")).await), Invalid::Rejected(r) if r.contains("Audience"))
    );
    // `alg: none` and HMAC are never accepted, whatever the token says.
    let header = base64_url(r#"{"alg":"none","typ":"JWT"}"#);
    let body = base64_url(&id_token(CLIENT_ID, "n-1", now + 60).to_string());
    let unsigned = format!("{header}.{body}.");
    assert!(oidc.check(&unsigned, CLIENT_ID, Some("n-1")).await.is_err());
    let hs = format!("{}.{body}.c2ln", base64_url(r#"{"alg":"HS256","typ":"JWT"}"#));
    assert!(matches!(refused(oidc.check(&hs, CLIENT_ID, Some("n-1")).await), Invalid::Algorithm(_)));
}

fn base64_url(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}
