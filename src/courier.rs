//! The courier: sends what the outbox holds (`deliveries`) — e-mails, daily digests, webhook calls — and
//! fires the reminders that fall due. Every instance runs one. A delivery is leased before it is attempted
//! (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so two instances never take the same one), attempted
//! outside any transaction, and then marked delivered, retried later (exponential backoff with jitter, for
//! a day) or dead-lettered. A lease that runs out (an instance killed mid-delivery) makes it due again, so
//! deliveries are at least once; receivers deduplicate by the delivery id.

use std::{
    sync::{Arc, Weak},
    time::Duration,
};

use chrono::{DateTime, DurationRound, Utc};
use lettre::{
    message::{Mailbox, MultiPart},
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::{
    config::Config,
    db::{
        listen::Listening,
        notifications::{DeliveryRow, NotificationRow, Outcome},
        Db,
    },
    domain::notify::{
        after_failure, dingtalk_url, literal_ip, signature, target_allowed, DeliveryChannel, NotificationKind,
        WebhookFormat, RETRY_FOR,
    },
    journey,
};

/// Deliveries attempted at once by one instance.
const PARALLEL: usize = 16;
/// Deliveries leased per round.
const BATCH: i64 = 64;
/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// The least time between two rounds that found little to do (see `run`).
const PACE: Duration = Duration::from_millis(100);

pub struct Courier {
    db: Db,
    mailer: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Option<Mailbox>,
    http: reqwest::Client,
    public_url: String,
    offset: chrono::Duration,
    lease: chrono::Duration,
    sweep_every: Duration,
    wake: Arc<Notify>,
    listening: Arc<Listening>,
    /// `GREENLINE_WEBHOOK_TARGETS`.
    targets: String,
    /// Attempts by channel and outcome (`delivered`, `retry`, `dead`), for /metrics.
    counts: std::sync::Mutex<std::collections::BTreeMap<(String, &'static str), u64>>,
}

/// What one attempt came to.
struct Attempt {
    delivered: bool,
    status: Option<i64>,
    error: String,
    /// Not worth another try (a mail server's permanent refusal, a webhook that was deleted).
    permanent: bool,
}

impl Attempt {
    fn refused(error: impl Into<String>) -> Attempt {
        Attempt { permanent: true, ..Attempt::failed(None, error) }
    }
    fn ok(status: Option<i64>) -> Attempt {
        Attempt { delivered: true, status, error: String::new(), permanent: false }
    }
    fn failed(status: Option<i64>, error: impl Into<String>) -> Attempt {
        Attempt { delivered: false, status, error: error.into(), permanent: false }
    }
}

impl Courier {
    /// Starts the courier of this instance (e-mail only when `GREENLINE_SMTP_URL` is set).
    pub fn start(db: Db, config: &Config, listening: Arc<Listening>) -> anyhow::Result<Arc<Courier>> {
        let mailer = match &config.smtp_url {
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| anyhow::anyhow!("GREENLINE_SMTP_URL: {e}"))?
                    .timeout(Some(ATTEMPT_TIMEOUT))
                    .build(),
            ),
            None => None,
        };
        let from = match &config.smtp_url {
            Some(_) => {
                Some(config.mail_from.parse::<Mailbox>().map_err(|e| anyhow::anyhow!("GREENLINE_MAIL_FROM: {e}"))?)
            }
            None => None,
        };
        let http = reqwest::Client::builder()
            .dns_resolver(Arc::new(Guarded(config.webhook_targets.clone())))
            .timeout(ATTEMPT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("greenline-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let courier = Arc::new(Courier {
            db,
            mailer,
            from,
            http,
            public_url: config.public_url(),
            offset: chrono::Duration::seconds(config.now_offset_secs),
            lease: chrono::Duration::seconds(config.delivery_lease_secs.max(1) as i64),
            sweep_every: Duration::from_secs(config.reminder_sweep_secs.max(1)),
            wake: Arc::default(),
            listening,
            targets: config.webhook_targets.clone(),
            counts: Default::default(),
        });
        if config.courier {
            tokio::spawn(run(Arc::downgrade(&courier)));
        }
        Ok(courier)
    }

    /// `greenline_deliveries_total` in the Prometheus text format.
    pub fn render_metrics(&self) -> String {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::from(
            "# HELP greenline_deliveries_total Attempts at sending notifications (e-mail, digest, webhook) by outcome.\n\
             # TYPE greenline_deliveries_total counter\n",
        );
        for ((channel, outcome), n) in counts.iter() {
            out.push_str(&format!("greenline_deliveries_total{{channel=\"{channel}\",outcome=\"{outcome}\"}} {n}\n"));
        }
        out
    }

    /// Something was written that may be due now.
    pub fn nudge(&self) {
        self.wake.notify_one();
    }

    /// The courier's clock (the real one, moved by `GREENLINE_NOW_OFFSET_SECS`), to the millisecond so that
    /// a lease reads back exactly as written on both backends.
    fn now(&self) -> DateTime<Utc> {
        let now = Utc::now() + self.offset;
        now.duration_trunc(chrono::Duration::milliseconds(1)).unwrap_or(now)
    }

    /// One round: reminders when their time has come, then the deliveries due. Returns how many were
    /// attempted, and when the next one falls due.
    async fn round(self: &Arc<Self>, sweep: bool) -> anyhow::Result<(usize, Option<DateTime<Utc>>)> {
        if sweep {
            let now = self.now();
            self.db.write(move |s| Box::pin(async move { journey::notify::sweep(s, now).await })).await?;
        }
        let now = self.now();
        let lease = now + self.lease;
        let mail = self.mailer.is_some();
        let due =
            self.db.write(move |s| Box::pin(async move { s.claim_deliveries(now, lease, BATCH, mail).await })).await?;
        let n = due.len();
        // Each attempt is a task of its own: a SQLite write runs on its caller's thread to the end
        // (`Db::write`), and attempts polled together in one task would wait on each other's connections.
        let slots = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
        let mut attempts = tokio::task::JoinSet::new();
        for d in due {
            let (courier, slot) = (self.clone(), slots.clone().acquire_owned().await?);
            attempts.spawn(async move {
                if let Err(e) = courier.deliver(d, lease).await {
                    tracing::warn!(error = %e, "recording a delivery's outcome");
                }
                drop(slot);
            });
        }
        while attempts.join_next().await.is_some() {}
        let next = if n as i64 == BATCH {
            None
        } else {
            self.db.read(move |s| Box::pin(async move { s.next_due(mail).await })).await?
        };
        Ok((n, next))
    }

    async fn deliver(&self, d: DeliveryRow, lease: DateTime<Utc>) -> anyhow::Result<()> {
        let started = self.now();
        let attempt = if started - d.created_at > RETRY_FOR && d.attempts <= 1 {
            Attempt {
                permanent: true,
                ..Attempt::failed(None, "expired before it could be attempted / 超过一天未能投递")
            }
        } else {
            match tokio::time::timeout(ATTEMPT_TIMEOUT + Duration::from_secs(2), self.attempt(&d)).await {
                Ok(Ok(a)) => a,
                Ok(Err(e)) => Attempt::failed(None, e.to_string()),
                Err(_) => Attempt::failed(None, "timed out / 超时"),
            }
        };
        let now = self.now();
        let jitter: f64 = rand::random();
        let outcome = match (attempt.delivered, attempt.permanent) {
            (true, _) => "delivered",
            (false, true) => "dead",
            (false, false) if after_failure(d.created_at, now, d.attempts, jitter).is_none() => "dead",
            _ => "retry",
        };
        *self.counts.lock().unwrap_or_else(|p| p.into_inner()).entry((d.channel.clone(), outcome)).or_default() += 1;
        let db_error: Option<String> = (!attempt.delivered).then(|| attempt.error.chars().take(500).collect());
        self.db
            .write(move |s| {
                Box::pin(async move {
                    let outcome = match &db_error {
                        None => Outcome::Delivered { status: attempt.status },
                        Some(error) => Outcome::Failed {
                            status: attempt.status,
                            error,
                            retry: if attempt.permanent {
                                None
                            } else {
                                after_failure(d.created_at, now, d.attempts, jitter)
                            },
                        },
                    };
                    if !s.finish_delivery(d.id, lease, &outcome, now).await? {
                        return Ok(()); // the lease ran out and another attempt owns it now
                    }
                    if d.channel == DeliveryChannel::Digest.as_str() && db_error.is_none() {
                        let upto = digest_upto(&d);
                        s.mark_digested(d.user_id.unwrap_or(0), upto, now).await?;
                    }
                    if let Some(hook_id) = d.webhook_id {
                        match &outcome {
                            Outcome::Delivered { .. } => s.set_webhook_failing(hook_id, None).await?,
                            Outcome::Failed { error, retry, .. } => {
                                s.set_webhook_failing(hook_id, Some(now)).await?;
                                let hook = s.webhook(hook_id).await?;
                                let failing_a_day = hook
                                    .as_ref()
                                    .and_then(|h| h.failing_since)
                                    .is_some_and(|since| now - since >= RETRY_FOR);
                                if let Some(h) =
                                    hook.filter(|h| h.paused_at.is_none() && (failing_a_day || retry.is_none()))
                                {
                                    s.set_webhook_paused(h.id, Some(now)).await?;
                                    journey::notify::webhook_paused(s, h.created_by, &h.name, error, now).await?;
                                }
                            }
                        }
                    }
                    Ok(())
                })
            })
            .await?;
        Ok(())
    }

    async fn attempt(&self, d: &DeliveryRow) -> anyhow::Result<Attempt> {
        match DeliveryChannel::parse(&d.channel) {
            Some(DeliveryChannel::Webhook) => self.call_webhook(d).await,
            Some(DeliveryChannel::Email) => {
                let id = d.notification_id.unwrap_or(0);
                let n = self.db.read(move |s| Box::pin(async move { s.notification(id).await })).await?;
                match n {
                    Some(n) => self.mail(d, &n.subject.clone(), std::slice::from_ref(&n)).await,
                    None => Ok(Attempt { permanent: true, ..Attempt::failed(None, "the notification is gone") }),
                }
            }
            Some(DeliveryChannel::Digest) => {
                let (user, upto) = (d.user_id.unwrap_or(0), digest_upto(d));
                let list =
                    self.db.read(move |s| Box::pin(async move { s.digest_notifications(user, upto).await })).await?;
                if list.is_empty() {
                    return Ok(Attempt::ok(None));
                }
                let date = serde_json::from_str::<Value>(&d.payload)
                    .ok()
                    .and_then(|v| v["date"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                self.mail(d, &format!("【greenline】{date} 通知汇总（{} 条）", list.len()), &list).await
            }
            None => Ok(Attempt { permanent: true, ..Attempt::failed(None, format!("unknown channel {}", d.channel)) }),
        }
    }

    /// An e-mail of one notification or a digest of several, in plain text and HTML.
    async fn mail(&self, d: &DeliveryRow, subject: &str, items: &[NotificationRow]) -> anyhow::Result<Attempt> {
        let (Some(mailer), Some(from)) = (&self.mailer, &self.from) else {
            return Ok(Attempt::failed(None, "no mail server configured / 未配置邮件服务器"));
        };
        let user_id = d.user_id.unwrap_or(0);
        let user = self.db.read(move |s| Box::pin(async move { s.user(user_id).await })).await?;
        let Some(to) = user.as_ref().and_then(|u| u.email.as_deref()) else {
            return Ok(Attempt {
                permanent: true,
                ..Attempt::failed(None, "the person has no e-mail address / 无邮箱地址")
            });
        };
        let to = match format!("{} <{}>", user.as_ref().map(|u| u.name.as_str()).unwrap_or(""), to).parse::<Mailbox>() {
            Ok(m) => m,
            Err(e) => return Ok(Attempt { permanent: true, ..Attempt::failed(None, format!("address: {e}")) }),
        };
        let (text, html) = self.mail_body(items);
        let host = url::Url::parse(&self.public_url).ok().and_then(|u| u.host_str().map(str::to_owned));
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<delivery-{}@{}>", d.id, host.as_deref().unwrap_or("greenline"))))
            .multipart(MultiPart::alternative_plain_html(text, html))?;
        Ok(match mailer.send(message).await {
            Ok(response) => Attempt::ok(Some(u16::from(response.code()) as i64)),
            Err(e) => Attempt {
                permanent: e.is_permanent(),
                ..Attempt::failed(e.status().map(|c| u16::from(c) as i64), e.to_string())
            },
        })
    }

    fn mail_body(&self, items: &[NotificationRow]) -> (String, String) {
        let mut text = String::new();
        let mut html = String::from(
            "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><body style=\"font-family:sans-serif;line-height:1.6\">",
        );
        for n in items {
            let path = journey::notify::page_path(n.proposal_id, n.technique_id, NotificationKind::parse(&n.kind));
            let link = format!("{}{}", self.public_url, path);
            text.push_str(&format!("{}\n{link}\n\n", n.body));
            html.push_str(&format!(
                "<p>{}<br><a href=\"{}\">在 greenline 中查看</a></p>",
                escape(&n.body),
                escape(&link)
            ));
        }
        let footer = format!("在 greenline 的“通知设置”中可改为每日汇总或关闭邮件：{}/#/settings", self.public_url);
        text.push_str(&format!("—\n{footer}\n"));
        html.push_str(&format!("<hr><p style=\"color:#666;font-size:12px\">{}</p></body></html>", escape(&footer)));
        (text, html)
    }

    async fn call_webhook(&self, d: &DeliveryRow) -> anyhow::Result<Attempt> {
        let id = d.webhook_id.unwrap_or(0);
        let Some(hook) = self.db.read(move |s| Box::pin(async move { s.webhook(id).await })).await? else {
            return Ok(Attempt { permanent: true, ..Attempt::failed(None, "the webhook was deleted") });
        };
        // A name is checked where it resolves (`Guarded`); an address in the URL is checked here.
        let literal = url::Url::parse(&hook.url).ok().and_then(|u| literal_ip(&u));
        if literal.is_some_and(|ip| !target_allowed(ip, &self.targets)) {
            return Ok(Attempt::refused(NOT_ALLOWED));
        }
        let stored: Value = serde_json::from_str(&d.payload)?;
        let data = &stored["data"];
        let link = format!("{}{}", self.public_url, data["path"].as_str().unwrap_or("/"));
        let kind = NotificationKind::parse(&d.kind);
        let label = kind.map(|k| k.label()).unwrap_or("通知");
        let text = data["message"].as_str().unwrap_or("");
        let now = Utc::now();
        let request = match WebhookFormat::parse(&hook.format) {
            Some(WebhookFormat::Json) | None => {
                let body = serde_json::to_vec(&json!({
                    "id": d.id.to_string(),
                    "kind": d.kind,
                    "occurredAt": stored["occurredAt"],
                    "data": data,
                }))?;
                let ts = now.timestamp();
                self.http
                    .post(&hook.url)
                    .header("content-type", "application/json")
                    .header("x-greenline-delivery", d.id.to_string())
                    .header("x-greenline-event", d.kind.as_str())
                    .header("x-greenline-timestamp", ts.to_string())
                    .header("x-greenline-signature", signature(&hook.secret, ts, &body))
                    .body(body)
            }
            Some(WebhookFormat::WecomRobot) => json_post(
                self.http.post(&hook.url),
                &json!({
                    "msgtype": "markdown",
                    "markdown": { "content": format!("**{label}**\n> {}\n[在 greenline 中查看]({link})", robot_text(text)) }
                }),
            ),
            Some(WebhookFormat::DingtalkRobot) => {
                let url = if hook.secret.is_empty() {
                    hook.url.clone()
                } else {
                    dingtalk_url(&hook.url, &hook.secret, now.timestamp_millis())
                };
                json_post(
                    self.http.post(url),
                    &json!({
                        "msgtype": "markdown",
                        "markdown": {
                            "title": label,
                            "text": format!("#### {label}\n\n{}\n\n[在 greenline 中查看]({link})", robot_text(text)),
                        }
                    }),
                )
            }
        };
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) if is_refused_target(&e) => return Ok(Attempt::refused(NOT_ALLOWED)),
            Err(e) => return Ok(Attempt::failed(None, without_url(e).to_string())),
        };
        let status = response.status();
        let code = Some(status.as_u16() as i64);
        if !status.is_success() {
            return Ok(Attempt::failed(code, format!("HTTP {status}")));
        }
        // WeCom and DingTalk answer 200 with `errcode` ≠ 0 when they refuse a message.
        let body = response.bytes().await.unwrap_or_default();
        if let Ok(v) = serde_json::from_slice::<Value>(&body) {
            if let Some(errcode) = v.get("errcode").and_then(Value::as_i64).filter(|c| *c != 0) {
                let msg = v.get("errmsg").and_then(Value::as_str).unwrap_or("");
                return Ok(Attempt::failed(code, format!("errcode {errcode}: {msg}")));
            }
        }
        Ok(Attempt::ok(code))
    }
}

const NOT_ALLOWED: &str = "the webhook's address is not allowed (GREENLINE_WEBHOOK_TARGETS) / 推送地址不在允许范围内";

/// Resolves webhook hosts and keeps only the addresses `GREENLINE_WEBHOOK_TARGETS` allows: a name that
/// resolves to this host or its link-local neighbours is refused where it is connected to, so a DNS answer
/// that changes after the check cannot slip past it.
struct Guarded(String);

#[derive(Debug)]
struct RefusedTarget;

impl std::fmt::Display for RefusedTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(NOT_ALLOWED)
    }
}

impl std::error::Error for RefusedTarget {}

impl reqwest::dns::Resolve for Guarded {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<std::net::SocketAddr> =
                found.into_iter().filter(|a| target_allowed(a.ip(), &policy)).collect();
            if allowed.is_empty() {
                return Err(Box::new(RefusedTarget) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Whether a request failed because `Guarded` refused every address of its host.
fn is_refused_target(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<RefusedTarget>() {
            return true;
        }
        source = err.source();
    }
    false
}

fn json_post(request: reqwest::RequestBuilder, body: &Value) -> reqwest::RequestBuilder {
    request.header("content-type", "application/json").body(body.to_string())
}

/// The notifications a digest covers: those made before it was queued.
fn digest_upto(d: &DeliveryRow) -> DateTime<Utc> {
    serde_json::from_str::<Value>(&d.payload)
        .ok()
        .and_then(|v| v["upto"].as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()))
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(d.created_at)
}

/// Text for a robot's markdown: what a person typed cannot become a link or a heading.
fn robot_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '[' => '［',
            ']' => '］',
            '#' => '＃',
            '\n' | '\r' => ' ',
            c => c,
        })
        .collect()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A reqwest error without the URL (which may hold a robot's key).
fn without_url(e: reqwest::Error) -> reqwest::Error {
    e.without_url()
}

async fn run(courier: Weak<Courier>) {
    let mut last_sweep: Option<tokio::time::Instant> = None;
    loop {
        let Some(c) = courier.upgrade() else { return };
        if c.db.is_closed() {
            return;
        }
        let sweep = last_sweep.is_none_or(|t| t.elapsed() >= c.sweep_every);
        if sweep {
            last_sweep = Some(tokio::time::Instant::now());
        }
        let next = match c.round(sweep).await {
            Ok((n, _)) if n as i64 == BATCH => continue,
            Ok((_, next)) => next,
            Err(e) => {
                if !c.db.is_closed() {
                    tracing::warn!(error = %e, "the courier could not reach the database; trying again");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                None
            }
        };
        // Sleep until woken (a commit, on PostgreSQL; a write of this instance), the next delivery falls
        // due, or the next sweep; while nothing can wake us (SQLite), look again every half second.
        let mut wait = c.listening.patience(false, Duration::from_millis(500)).min(c.sweep_every);
        if let Some(next) = next {
            let until = (next - c.now()).to_std().unwrap_or(Duration::ZERO);
            wait = wait.min(until.max(Duration::from_millis(20)));
        }
        let wake = c.wake.clone();
        drop(c);
        // A round per PACE at most: every commit of the fleet wakes every instance's courier, and a round
        // is a write (the claim); paced, one claim takes what the commits meanwhile queued.
        tokio::time::sleep(PACE.min(wait)).await;
        let _ = tokio::time::timeout(wait.saturating_sub(PACE), wake.notified()).await;
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use reqwest::dns::{Name, Resolve};

    use super::*;

    #[tokio::test]
    async fn a_name_of_this_host_is_refused_where_it_resolves() {
        let name = || Name::from_str("localhost").unwrap();
        let refused = Guarded("private".into()).resolve(name()).await;
        assert!(refused.is_err_and(|e| e.is::<RefusedTarget>()), "localhost is this host");
        let allowed: Vec<std::net::SocketAddr> = Guarded("any".into()).resolve(name()).await.unwrap().collect();
        assert!(allowed.iter().all(|a| a.ip().is_loopback()) && !allowed.is_empty());
    }

    #[tokio::test]
    async fn a_refused_name_fails_the_request_for_good() {
        let client = reqwest::Client::builder().dns_resolver(Arc::new(Guarded("public".into()))).build().unwrap();
        let e = client.post("http://localhost:9/hook").send().await.unwrap_err();
        assert!(is_refused_target(&e), "{e:?}");
    }
}
