//! Who is told what, and how: the kinds of notification, who receives each, the words of the message (in
//! Chinese, with the English beside it), preferences and quiet hours, the retry schedule of deliveries and
//! the signatures of webhook bodies. No I/O: `journey::notify` and `courier` act on these answers.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::lifecycle::EventKind;

crate::string_enum! {
    /// What a notification is about. 通知类型。
    pub enum NotificationKind {
        /// A proposal was submitted and waits for reviewers (to the enterprise's studio leads). 有新提案待指派评审（发给本企业工作室负责人）。
        ProposalSubmitted = "PROPOSAL_SUBMITTED",
        /// You were assigned to review a proposal. 你被指派评审一条提案。
        ReviewAssigned = "REVIEW_ASSIGNED",
        /// A review of yours is due within two days. 你的评审将在两天内到期。
        ReviewDueSoon = "REVIEW_DUE_SOON",
        /// A review of yours is overdue. 你的评审已逾期。
        ReviewOverdue = "REVIEW_OVERDUE",
        /// A review in your studio is two days overdue (to the studio lead). 本工作室有评审逾期两天以上（发给工作室负责人）。
        ReviewEscalated = "REVIEW_ESCALATED",
        /// Every assigned reviewer has scored: the decision is yours (to the studio lead who assigned them). 评审已全部完成，待你决定。
        ReviewsComplete = "REVIEWS_COMPLETE",
        /// Your proposal was accepted. 你的提案被采纳。
        ProposalAccepted = "PROPOSAL_ACCEPTED",
        /// Your proposal was rejected, with the reason. 你的提案未被采纳（附理由）。
        ProposalRejected = "PROPOSAL_REJECTED",
        /// Your proposal was returned for revision, with the reason. 你的提案被退回修改（附理由）。
        ProposalReturned = "PROPOSAL_RETURNED",
        /// Your proposal was closed as the duplicate of another. 你的提案被标记为重复提案。
        MarkedDuplicate = "MARKED_DUPLICATE",
        /// The pilot of a proposal started (authors, enterprise admins). 提案试点开始。
        PilotStarted = "PILOT_STARTED",
        /// A pilot milestone is due within two days (pilot lead, enterprise admins). 试点里程碑两天内到期。
        MilestoneDue = "MILESTONE_DUE",
        /// A pilot milestone is overdue (pilot lead, enterprise admins). 试点里程碑已逾期。
        MilestoneOverdue = "MILESTONE_OVERDUE",
        /// Your proposal's adoption was confirmed, with the points it earned you. 你的提案已推广应用（附所得积分）。
        AdoptionConfirmed = "ADOPTION_CONFIRMED",
        /// Your proposal was promoted into the industry catalogue, with the points it earned you. 你的提案入选行业目录（附所得积分）。
        Promoted = "PROMOTED",
        /// Another enterprise adopted the technique you originated. 你首创的技术被其他企业采用。
        AdoptedElsewhere = "ADOPTED_ELSEWHERE",
        /// You were invited to co-author a proposal. 你被邀请成为提案的共同作者。
        CoauthorInvited = "COAUTHOR_INVITED",
        /// A webhook you own failed for a day and was paused. 你创建的推送地址连续失败一天，已暂停。
        WebhookPaused = "WEBHOOK_PAUSED",
        /// A challenge your proposal answered awarded it, with the points it earned you. 你的提案在攻关课题中获奖（附所得积分）。
        ChallengeAwarded = "CHALLENGE_AWARDED",
        /// A studio took on your plant's help request (the one who asked, the enterprise admins). 你单位的求助已由工作室承接。
        HelpRequestTaken = "HELP_REQUEST_TAKEN",
        /// A proposal was submitted answering your challenge (its author, and its studio's lead). 你发布的攻关课题收到新应答。
        ChallengeAnswered = "CHALLENGE_ANSWERED",
        /// The studio resolved your plant's help request (the one who asked, the enterprise admins). 你单位的求助已办结。
        HelpRequestResolved = "HELP_REQUEST_RESOLVED",
        /// An author appealed a rejection (the enterprise's studio leads and oversight group). 作者对不采纳决定提出申诉（发给本企业工作室负责人与算法监督小组）。
        AppealFiled = "APPEAL_FILED",
        /// The oversight group gave its opinion on an appeal: the decision is the studio lead's. 算法监督小组已对申诉发表意见，待工作室负责人决定。
        AppealOpinionGiven = "APPEAL_OPINION_GIVEN",
        /// Your appeal was turned down: the rejection stands, with the reason. 你的申诉未获支持，维持原决定（附理由）。
        AppealUpheld = "APPEAL_UPHELD",
        /// Your appeal succeeded: the proposal is reviewed again by fresh reviewers. 你的申诉获支持，提案将由新的评审人重新评审。
        ProposalReopened = "PROPOSAL_REOPENED",
    }
}

crate::string_enum! {
    /// Where a notification goes besides the inbox (which always has it). 除站内信外的通知方式。
    pub enum Channel {
        /// An e-mail at once (outside quiet hours). 立即发邮件（免打扰时段之后）。
        Email = "EMAIL",
        /// One e-mail a day with everything of these kinds. 每日汇总邮件。
        Digest = "DIGEST",
        /// The inbox only. 仅站内信。
        Off = "OFF",
    }
}

crate::string_enum! {
    /// The shape of a webhook's requests. 推送格式。
    pub enum WebhookFormat {
        /// greenline's JSON envelope, signed with HMAC-SHA256. greenline 的 JSON 信封（HMAC-SHA256 签名）。
        Json = "JSON",
        /// A WeCom (企业微信) group robot's markdown message. 企业微信群机器人 markdown 消息。
        WecomRobot = "WECOM_ROBOT",
        /// A DingTalk (钉钉) robot's markdown message, its URL signed with the secret. 钉钉机器人 markdown 消息（加签）。
        DingtalkRobot = "DINGTALK_ROBOT",
    }
}

crate::string_enum! {
    /// Where a delivery stands. 投递状态。
    pub enum DeliveryState {
        /// Waiting for its (next) attempt. 等待（再次）投递。
        Pending = "PENDING",
        /// Received (2xx, or accepted by the mail server). 已送达。
        Delivered = "DELIVERED",
        /// Failed for a day: no more attempts unless redelivered. 连续失败一天，不再重试（可手动重投）。
        Dead = "DEAD",
        /// Its webhook is paused: sent once it is resumed. 推送地址已暂停，恢复后发送。
        Held = "HELD",
    }
}

crate::string_enum! {
    /// How a delivery travels. 投递方式。
    pub enum DeliveryChannel {
        /// One notification by e-mail. 单条通知邮件。
        Email = "EMAIL",
        /// A person's daily digest by e-mail. 每日汇总邮件。
        Digest = "DIGEST",
        /// A call to a webhook. 推送到 webhook。
        Webhook = "WEBHOOK",
    }
}

/// Who receives a kind of notification, relative to the proposal it is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// The proposal's authors (creator and co-authors).
    Authors,
    /// Studio leads of the proposal's enterprise.
    EnterpriseStudioLeads,
    /// Enterprise admins of the proposal's enterprise.
    EnterpriseAdmins,
    /// The oversight group (overseers) of the proposal's enterprise.
    EnterpriseOverseers,
}

impl NotificationKind {
    /// The notification an event of the journey raises, if any.
    pub fn for_event(kind: EventKind) -> Option<NotificationKind> {
        Some(match kind {
            EventKind::Submitted => NotificationKind::ProposalSubmitted,
            EventKind::Accepted => NotificationKind::ProposalAccepted,
            EventKind::Rejected => NotificationKind::ProposalRejected,
            EventKind::Returned => NotificationKind::ProposalReturned,
            EventKind::MarkedDuplicate => NotificationKind::MarkedDuplicate,
            EventKind::PilotStarted => NotificationKind::PilotStarted,
            EventKind::Adopted => NotificationKind::AdoptionConfirmed,
            EventKind::Promoted => NotificationKind::Promoted,
            EventKind::ChallengeAwarded => NotificationKind::ChallengeAwarded,
            EventKind::Appealed => NotificationKind::AppealFiled,
            EventKind::AppealOpinion => NotificationKind::AppealOpinionGiven,
            EventKind::AppealUpheld => NotificationKind::AppealUpheld,
            EventKind::Reopened => NotificationKind::ProposalReopened,
            _ => return None,
        })
    }

    /// Who receives an event's notification. The steps that know their recipients name them (reviewers
    /// assigned, the lead whose reviews are complete), as do reminders, invitations and webhook notices.
    pub fn audience(self) -> &'static [Audience] {
        use Audience::*;
        match self {
            NotificationKind::ProposalSubmitted => &[EnterpriseStudioLeads],
            NotificationKind::ProposalAccepted
            | NotificationKind::ProposalRejected
            | NotificationKind::ProposalReturned
            | NotificationKind::MarkedDuplicate
            | NotificationKind::AdoptionConfirmed
            | NotificationKind::Promoted
            | NotificationKind::ChallengeAwarded
            | NotificationKind::AppealUpheld
            | NotificationKind::ProposalReopened => &[Authors],
            NotificationKind::AppealFiled => &[EnterpriseStudioLeads, EnterpriseOverseers],
            NotificationKind::AppealOpinionGiven => &[EnterpriseStudioLeads],
            NotificationKind::PilotStarted => &[Authors, EnterpriseAdmins],
            _ => &[],
        }
    }

    /// Its name in Chinese (subjects, robot messages, the page).
    pub fn label(self) -> &'static str {
        match self {
            NotificationKind::ProposalSubmitted => "新提案待指派评审",
            NotificationKind::ReviewAssigned => "评审任务",
            NotificationKind::ReviewDueSoon => "评审即将到期",
            NotificationKind::ReviewOverdue => "评审已逾期",
            NotificationKind::ReviewEscalated => "评审逾期督办",
            NotificationKind::ReviewsComplete => "评审已完成，待决定",
            NotificationKind::ProposalAccepted => "提案被采纳",
            NotificationKind::ProposalRejected => "提案未被采纳",
            NotificationKind::ProposalReturned => "提案被退回修改",
            NotificationKind::MarkedDuplicate => "提案被标记为重复",
            NotificationKind::PilotStarted => "试点开始",
            NotificationKind::MilestoneDue => "试点里程碑即将到期",
            NotificationKind::MilestoneOverdue => "试点里程碑已逾期",
            NotificationKind::AdoptionConfirmed => "提案已推广应用",
            NotificationKind::Promoted => "提案入选行业目录",
            NotificationKind::AdoptedElsewhere => "你的技术被其他企业采用",
            NotificationKind::CoauthorInvited => "共同作者邀请",
            NotificationKind::WebhookPaused => "推送地址已暂停",
            NotificationKind::ChallengeAwarded => "应答在攻关课题中获奖",
            NotificationKind::HelpRequestTaken => "求助已有工作室承接",
            NotificationKind::ChallengeAnswered => "攻关课题收到新应答",
            NotificationKind::HelpRequestResolved => "求助已办结",
            NotificationKind::AppealFiled => "提案申诉待处理",
            NotificationKind::AppealOpinionGiven => "申诉已有监督意见，待决定",
            NotificationKind::AppealUpheld => "申诉未获支持",
            NotificationKind::ProposalReopened => "申诉获支持，重新评审",
        }
    }
}

/// What a message is about, for its words.
#[derive(Default, Clone, Debug)]
pub struct Subject<'a> {
    /// The proposal's or technique's title.
    pub title: &'a str,
    /// A decision's reason, a milestone's title, the adopting enterprise, the webhook's name…
    pub detail: Option<&'a str>,
    /// Points this recipient earned by it.
    pub points: Option<i64>,
    /// A due date.
    pub due_on: Option<NaiveDate>,
}

/// The subject line and body of a notification, in Chinese. Never names an author: the recipients of
/// review work must not learn them, and authors know who they are.
pub fn message(kind: NotificationKind, s: &Subject<'_>) -> (String, String) {
    let t = s.title;
    let detail = s.detail.unwrap_or("");
    let due = s.due_on.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default();
    let points = s.points.map(|p| format!("，你获得 {p} 积分")).unwrap_or_default();
    let body = match kind {
        NotificationKind::ProposalSubmitted => format!("提案《{t}》已提交，请指派评审人。"),
        NotificationKind::ReviewAssigned if due.is_empty() => format!("请评审提案《{t}》。"),
        NotificationKind::ReviewAssigned => format!("请在 {due} 前评审提案《{t}》。"),
        NotificationKind::ReviewDueSoon => format!("提案《{t}》的评审将于 {due} 到期，请尽快完成。"),
        NotificationKind::ReviewOverdue => format!("提案《{t}》的评审已于 {due} 到期，请尽快完成。"),
        NotificationKind::ReviewEscalated => {
            format!("提案《{t}》的评审已逾期（截止 {due}），评审人：{detail}。请督办或改派。")
        }
        NotificationKind::ReviewsComplete => format!("提案《{t}》的评审已全部完成，请作出决定。"),
        NotificationKind::ProposalAccepted => format!("你的提案《{t}》已被采纳{points}。"),
        NotificationKind::ProposalRejected => format!("你的提案《{t}》未被采纳。理由：{detail}"),
        NotificationKind::ProposalReturned => format!("你的提案《{t}》被退回修改。意见：{detail}"),
        NotificationKind::MarkedDuplicate => format!("你的提案《{t}》被标记为重复提案。"),
        NotificationKind::PilotStarted => format!("提案《{t}》的试点已开始。"),
        NotificationKind::MilestoneDue => format!("提案《{t}》的试点里程碑“{detail}”将于 {due} 到期。"),
        NotificationKind::MilestoneOverdue => format!("提案《{t}》的试点里程碑“{detail}”已于 {due} 逾期。"),
        NotificationKind::AdoptionConfirmed => format!("你的提案《{t}》已在本企业推广应用，节能量已核实{points}。"),
        NotificationKind::Promoted => format!("你的提案《{t}》已入选行业技术目录{points}。"),
        NotificationKind::ChallengeAwarded => format!("你的提案《{t}》在攻关课题“{detail}”中获奖{points}。"),
        NotificationKind::ChallengeAnswered => format!("你发布的攻关课题“{t}”收到一条新应答，可在课题页查看进展。"),
        NotificationKind::HelpRequestTaken => format!("你单位的求助《{t}》已由{detail}承接，他们会与你们联系。"),
        NotificationKind::HelpRequestResolved => {
            format!("你单位的求助《{t}》已由{detail}办结，请查看解决方案与核实节能量。")
        }
        NotificationKind::AdoptedElsewhere => format!("你首创的技术《{t}》已被{detail}采用。"),
        NotificationKind::AppealFiled => format!("提案《{t}》的作者对不采纳决定提出申诉：{detail}"),
        NotificationKind::AppealOpinionGiven => {
            format!("算法监督小组已对提案《{t}》的申诉发表意见：{detail}。请维持原决定或重新评审。")
        }
        NotificationKind::AppealUpheld => format!("你对提案《{t}》的申诉未获支持，维持不采纳的决定。理由：{detail}"),
        NotificationKind::ProposalReopened => {
            format!("你对提案《{t}》的申诉获得支持，将由新的评审人重新评审。说明：{detail}")
        }
        NotificationKind::CoauthorInvited => format!("{detail}邀请你成为提案《{t}》的共同作者，请在提案页接受或谢绝。"),
        NotificationKind::WebhookPaused => {
            format!("推送地址“{t}”已连续一天投递失败，现已暂停。原因：{detail}。修复后请在“推送”页恢复。")
        }
    };
    (format!("【greenline】{}：{t}", kind.label()), body)
}

/// China Standard Time: quiet hours, reminder dates and digests are reckoned in it (no daylight saving).
pub fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("a valid offset")
}

/// Today's date in China.
pub fn china_today(now: DateTime<Utc>) -> NaiveDate {
    super::today(now)
}

/// Quiet hours, as minutes after midnight China time; `start > end` spans midnight (e.g. 22:00–07:00).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuietHours {
    pub start: u32,
    pub end: u32,
}

impl QuietHours {
    pub const MINUTES: u32 = 24 * 60;

    pub fn new(start: i64, end: i64) -> Option<QuietHours> {
        let ok = |m: i64| (0..Self::MINUTES as i64).contains(&m);
        (ok(start) && ok(end) && start != end).then_some(QuietHours { start: start as u32, end: end as u32 })
    }

    /// When an e-mail that would go at `now` may go: `now` outside quiet hours, else when they end.
    pub fn release(self, now: DateTime<Utc>) -> DateTime<Utc> {
        let local = now.with_timezone(&china());
        let minute = local.hour() * 60 + local.minute();
        let quiet = if self.start < self.end {
            (self.start..self.end).contains(&minute)
        } else {
            minute >= self.start || minute < self.end
        };
        if !quiet {
            return now;
        }
        let end_time = NaiveTime::from_hms_opt(self.end / 60, self.end % 60, 0).expect("minutes within a day");
        let mut day = local.date_naive();
        if minute >= self.end {
            day = day.succ_opt().unwrap_or(day);
        }
        china().from_local_datetime(&day.and_time(end_time)).single().map(|d| d.with_timezone(&Utc)).unwrap_or(now)
    }
}

/// The hour (China time) at which a day's digest goes out.
pub const DIGEST_HOUR: u32 = 8;

/// The digest a person with pending digest notifications is due at `now`: the date it is for, once it is
/// past `DIGEST_HOUR` that day (one digest per person per date).
pub fn digest_date(now: DateTime<Utc>) -> Option<NaiveDate> {
    let local = now.with_timezone(&china());
    (local.hour() >= DIGEST_HOUR).then(|| local.date_naive())
}

/// Deliveries are retried for a day, then dead-lettered.
pub const RETRY_FOR: Duration = Duration::hours(24);

/// How long to wait after the `attempts`-th failed attempt: 2 s doubling to at most an hour, each
/// scaled by `jitter` in [0, 1) to between 80 % and 120 % (so receivers coming back are not hit by every
/// instance's retries at once).
pub fn backoff(attempts: i64, jitter: f64) -> Duration {
    let base_ms = 2_000f64 * 2f64.powi(attempts.clamp(1, 30) as i32 - 1);
    let capped = base_ms.min(3_600_000.0);
    Duration::milliseconds((capped * (0.8 + 0.4 * jitter.clamp(0.0, 1.0))) as i64)
}

/// What to do after a failed attempt made at `now` on a delivery created at `created`.
pub fn after_failure(created: DateTime<Utc>, now: DateTime<Utc>, attempts: i64, jitter: f64) -> Option<DateTime<Utc>> {
    let next = now + backoff(attempts, jitter);
    (next - created <= RETRY_FOR).then_some(next)
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(secret: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// `X-Greenline-Signature` of a JSON webhook body sent at `timestamp` (Unix seconds):
/// `sha256=` and the hex HMAC-SHA256 of `"<timestamp>.<body>"` keyed with the webhook's secret.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac(secret.as_bytes(), &[timestamp.to_string().as_bytes(), b".", body])))
}

/// A DingTalk robot's signed URL: `&timestamp=<ms>&sign=<base64 HMAC-SHA256 of "<ms>\n<secret>">`, as
/// DingTalk's 自定义机器人安全设置（加签） describes.
pub fn dingtalk_url(url: &str, secret: &str, timestamp_ms: i64) -> String {
    use base64::Engine;
    let to_sign = format!("{timestamp_ms}\n{secret}");
    let sign = base64::engine::general_purpose::STANDARD.encode(hmac(secret.as_bytes(), &[to_sign.as_bytes()]));
    let sep = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{sep}timestamp={timestamp_ms}&sign={}",
        url::form_urlencoded::byte_serialize(sign.as_bytes()).collect::<String>()
    )
}

/// Checks a webhook's target: an absolute http(s) URL without credentials in it, at most 2,000 characters.
pub fn check_webhook_url(url: &str) -> Result<url::Url, &'static str> {
    if url.len() > 2000 {
        return Err("the URL is longer than 2000 characters / 地址超过2000个字符");
    }
    let parsed = url::Url::parse(url.trim()).map_err(|_| "not a valid URL / 不是有效的网址")?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err("the URL must be http:// or https:// with a host / 地址须以 http:// 或 https:// 开头");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("put no user name or password in the URL; use the secret / 地址中不能包含用户名或密码，请使用密钥");
    }
    Ok(parsed)
}

/// Where webhooks may point (`GREENLINE_WEBHOOK_TARGETS`): `public` addresses only; also `private` ones
/// (a plant's own systems on its LAN: 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7); or `any`, which
/// adds loopback, link-local (cloud metadata at 169.254.169.254) and the like — for tests only. Nothing but
/// `any` lets an enterprise admin make the server call itself or its host's neighbours.
pub fn target_allowed(ip: std::net::IpAddr, policy: &str) -> bool {
    use std::net::IpAddr;
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    let (local, private) = match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            (
                a.is_loopback()
                    || a.is_link_local()
                    || a.is_unspecified()
                    || a.is_multicast()
                    || a.is_broadcast()
                    || o[0] == 0,
                a.is_private() || (o[0] == 100 && (64..128).contains(&o[1])),
            )
        }
        IpAddr::V6(a) => {
            let first = a.segments()[0];
            (
                a.is_loopback() || a.is_unspecified() || a.is_multicast() || (first & 0xffc0) == 0xfe80,
                (first & 0xfe00) == 0xfc00,
            )
        }
    };
    match policy {
        "any" => true,
        "private" => !local,
        _ => !local && !private,
    }
}

/// The address a URL names literally (`http://10.0.0.5/…`), if it does.
pub fn literal_ip(url: &url::Url) -> Option<std::net::IpAddr> {
    match url.host()? {
        url::Host::Ipv4(a) => Some(std::net::IpAddr::V4(a)),
        url::Host::Ipv6(a) => Some(std::net::IpAddr::V6(a)),
        url::Host::Domain(_) => None,
    }
}

/// `kinds` as stored: `,A,B,` (so one `like '%,K,%'` finds a kind).
pub fn kinds_column(kinds: &[NotificationKind]) -> String {
    let mut names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    format!(",{},", names.join(","))
}

pub fn kinds_from_column(column: &str) -> Vec<NotificationKind> {
    column.split(',').filter_map(NotificationKind::parse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn every_event_that_notifies_has_an_audience() {
        for kind in EventKind::ALL {
            if let Some(n) = NotificationKind::for_event(*kind) {
                assert!(!n.audience().is_empty(), "{n} has nobody to tell");
            }
        }
        assert_eq!(NotificationKind::for_event(EventKind::Updated), None);
    }

    #[test]
    fn quiet_hours_hold_email_until_they_end() {
        // 22:00–07:00 China time = 14:00–23:00 UTC.
        let q = QuietHours::new(22 * 60, 7 * 60).unwrap();
        assert_eq!(q.release(at("2026-11-30T13:59:00Z")), at("2026-11-30T13:59:00Z"));
        assert_eq!(q.release(at("2026-11-30T14:00:00Z")), at("2026-11-30T23:00:00Z"));
        // 03:00 China time on 1 December: released at 07:00 the same morning.
        assert_eq!(q.release(at("2026-11-30T19:00:00Z")), at("2026-11-30T23:00:00Z"));
        assert_eq!(q.release(at("2026-11-30T23:00:00Z")), at("2026-11-30T23:00:00Z"));
        // 12:00–13:30 within a day.
        let lunch = QuietHours::new(12 * 60, 13 * 60 + 30).unwrap();
        assert_eq!(lunch.release(at("2026-11-30T04:10:00Z")), at("2026-11-30T05:30:00Z"));
        assert_eq!(QuietHours::new(60, 60), None);
        assert_eq!(QuietHours::new(-1, 60), None);
        assert_eq!(QuietHours::new(0, 1440), None);
    }

    #[test]
    fn retries_back_off_and_stop_after_a_day() {
        assert_eq!(backoff(1, 0.5), Duration::seconds(2));
        assert_eq!(backoff(2, 0.5), Duration::seconds(4));
        assert_eq!(backoff(1, 0.0), Duration::milliseconds(1600));
        assert_eq!(backoff(1, 0.999_999), Duration::milliseconds(2399));
        assert_eq!(backoff(40, 0.5), Duration::hours(1));
        let created = at("2026-11-30T00:00:00Z");
        assert!(after_failure(created, created + Duration::hours(23), 20, 0.5).is_some());
        assert_eq!(after_failure(created, created + Duration::minutes(23 * 60 + 30), 20, 0.5), None);
        // ~30 attempts fit in the day.
        let (mut t, mut n) = (created, 0);
        while let Some(next) = after_failure(created, t, n + 1, 0.5) {
            t = next;
            n += 1;
        }
        assert!((25..40).contains(&n), "{n} attempts");
    }

    #[test]
    fn signatures_match_the_documented_recipe() {
        // Python: hmac.new(b"s3cret", b"1700000000.{}", hashlib.sha256).hexdigest()
        assert_eq!(
            signature("s3cret", 1_700_000_000, b"{}"),
            "sha256=97926816e98fbb41ccb1673225ff29a2f35369099990e1b1561651e7bd097ebf"
        );
        let url = dingtalk_url("https://oapi.dingtalk.com/robot/send?access_token=abc", "SEC1", 1_700_000_000_000);
        assert!(url.starts_with("https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1700000000000&sign="));
    }

    #[test]
    fn webhook_targets_follow_the_policy() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        for local in ["127.0.0.1", "169.254.169.254", "0.0.0.0", "::1", "fe80::1", "::ffff:127.0.0.1", "224.0.0.1"] {
            assert!(!target_allowed(ip(local), "private") && !target_allowed(ip(local), "public"), "{local}");
            assert!(target_allowed(ip(local), "any"), "{local}");
        }
        for lan in ["10.1.2.3", "172.16.0.9", "192.168.1.20", "100.64.0.1", "fd00::5", "::ffff:10.0.0.1"] {
            assert!(target_allowed(ip(lan), "private") && !target_allowed(ip(lan), "public"), "{lan}");
        }
        for public in ["101.226.4.6", "2400:3200::1"] {
            assert!(target_allowed(ip(public), "public") && target_allowed(ip(public), "private"), "{public}");
        }
    }

    #[test]
    fn webhook_urls_are_checked() {
        assert!(check_webhook_url("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x").is_ok());
        assert!(check_webhook_url("ftp://example.com").is_err());
        assert!(check_webhook_url("https://user:pw@example.com/").is_err());
        assert!(check_webhook_url("not a url").is_err());
    }

    #[test]
    fn messages_are_chinese_and_name_no_author() {
        let (subject, body) = message(
            NotificationKind::ProposalRejected,
            &Subject { title: "余热回收", detail: Some("投资回收期过长"), ..Default::default() },
        );
        assert_eq!(subject, "【greenline】提案未被采纳：余热回收");
        assert_eq!(body, "你的提案《余热回收》未被采纳。理由：投资回收期过长");
        let (_, body) = message(
            NotificationKind::AdoptionConfirmed,
            &Subject { title: "余热回收", points: Some(30), ..Default::default() },
        );
        assert!(body.ends_with("你获得 30 积分。"), "{body}");
        assert_eq!(
            kinds_from_column(&kinds_column(&[NotificationKind::Promoted, NotificationKind::PilotStarted])).len(),
            2
        );
    }

    #[test]
    fn a_digest_is_due_from_eight_in_the_morning() {
        assert_eq!(digest_date(at("2026-11-30T23:59:00Z")), None); // 07:59 on 1 December
        assert_eq!(digest_date(at("2026-12-01T00:00:00Z")), NaiveDate::from_ymd_opt(2026, 12, 1));
    }
}
