//! Notifications as part of the step that causes them: an event recorded by the journey (or a reminder that
//! falls due, an invitation, an adoption elsewhere) writes, in the same transaction, each recipient's inbox
//! row, their e-mail delivery when they want one, and a delivery per webhook that listens (the outbox). So a
//! crash never loses one, and a refused step notifies nobody. `courier` sends the deliveries.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::json;

use crate::{
    db::{
        notifications::{NewDelivery, NewNotification},
        rows::ProposalRow,
        store::Store,
        users::UserRow,
    },
    domain::{
        lifecycle::EventKind,
        notify::{
            china_today, digest_date, message, Audience, Channel, DeliveryChannel, DeliveryState, NotificationKind,
            QuietHours, Subject,
        },
        organisation::Role,
        recognition::{split, PointsReason},
    },
    error::AppResult,
    graphql::ids,
};

/// What happened, about which proposal or technique, for whom.
struct Happening<'a> {
    kind: NotificationKind,
    proposal: Option<&'a ProposalRow>,
    technique_id: Option<i64>,
    title: &'a str,
    detail: Option<&'a str>,
    due_on: Option<NaiveDate>,
    enterprise_id: Option<i64>,
    /// Each recipient, with the points this earned them.
    recipients: Vec<(UserRow, Option<i64>)>,
}

/// The notifications an event of the journey raises. `p` is the proposal as it was before the step (its
/// event is `kind`), `actor` who took it; nobody is told of their own act.
pub async fn on_event(
    store: &mut dyn Store,
    p: &ProposalRow,
    kind: &str,
    actor: &UserRow,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let Some(event) = EventKind::parse(kind) else { return Ok(()) };
    // A first submission answering a challenge: whoever posted it (and its studio's lead) hears of it —
    // about the challenge, not the proposal, which they may not be allowed to open yet.
    if event == EventKind::Submitted && p.round == 0 {
        if let Some(cid) = p.challenge_id {
            challenge_answered(store, cid, actor, now).await?;
        }
    }
    if event == EventKind::Evaluated {
        // The last score of the round: the lead who assigned the reviewers decides.
        if store.reviews_complete(p.id, p.round).await? {
            let leads: Vec<i64> = store.assignments(p.id, p.round).await?.iter().map(|a| a.assigned_by).collect();
            let recipients = people(store, &leads, actor).await?;
            let h = about(NotificationKind::ReviewsComplete, p, None, recipients);
            fan_out(store, &h, now).await?;
        }
        return Ok(());
    }
    let Some(notification) = NotificationKind::for_event(event) else { return Ok(()) };
    let mut ids: Vec<i64> = Vec::new();
    let mut points: Option<(PointsReason, Vec<Option<i64>>)> = None;
    for audience in notification.audience() {
        match audience {
            Audience::Authors => {
                // Every author row, those without an account too: `journey::award` shares among all of them.
                let authors: Vec<Option<i64>> = store.authors(p.id).await?.iter().map(|a| a.user_id).collect();
                let reason = match notification {
                    NotificationKind::ProposalAccepted => Some(PointsReason::Acceptance),
                    NotificationKind::AdoptionConfirmed => Some(PointsReason::Adoption),
                    NotificationKind::Promoted => Some(PointsReason::Promotion),
                    NotificationKind::ChallengeAwarded => Some(PointsReason::ChallengeAward),
                    _ => None,
                };
                ids.extend(authors.iter().flatten());
                points = reason.map(|r| (r, authors));
            }
            Audience::EnterpriseStudioLeads => {
                if let Some(e) = p.enterprise_id {
                    ids.extend(store.people_with_role(e, Role::StudioLead.as_str()).await?.iter().map(|u| u.id));
                }
            }
            Audience::EnterpriseAdmins => {
                if let Some(e) = p.enterprise_id {
                    ids.extend(store.people_with_role(e, Role::EnterpriseAdmin.as_str()).await?.iter().map(|u| u.id));
                }
            }
            Audience::EnterpriseOverseers => {
                if let Some(e) = p.enterprise_id {
                    ids.extend(store.people_with_role(e, Role::Overseer.as_str()).await?.iter().map(|u| u.id));
                }
            }
        }
    }
    let mut recipients = people(store, &ids, actor).await?;
    if let Some((reason, authors)) = points {
        // The same shares `journey::award` gives, primary author first.
        let shares = split(reason.points(), authors.len());
        for (user, earned) in recipients.iter_mut() {
            *earned = authors.iter().position(|a| *a == Some(user.id)).map(|i| shares[i]);
        }
    }
    let h = about(notification, p, reason, recipients);
    fan_out(store, &h, now).await
}

/// Reviewers assigned by a step: each is asked to review, by the due date when there is one.
pub async fn assigned(
    store: &mut dyn Store,
    p: &ProposalRow,
    lead: &UserRow,
    reviewer_ids: &[i64],
    due_on: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let recipients = people(store, reviewer_ids, lead).await?;
    let mut h = about(NotificationKind::ReviewAssigned, p, None, recipients);
    h.due_on = due_on;
    fan_out(store, &h, now).await
}

fn about<'a>(
    kind: NotificationKind,
    p: &'a ProposalRow,
    detail: Option<&'a str>,
    recipients: Vec<(UserRow, Option<i64>)>,
) -> Happening<'a> {
    Happening {
        kind,
        proposal: Some(p),
        technique_id: None,
        title: &p.title,
        detail,
        due_on: None,
        enterprise_id: p.enterprise_id,
        recipients,
    }
}

/// The active people among `ids`, once each, leaving out whoever acted.
async fn people(store: &mut dyn Store, ids: &[i64], actor: &UserRow) -> AppResult<Vec<(UserRow, Option<i64>)>> {
    let mut out: Vec<(UserRow, Option<i64>)> = Vec::new();
    for &id in ids {
        if id == actor.id || out.iter().any(|(u, _)| u.id == id) {
            continue;
        }
        if let Some(user) = store.user(id).await? {
            if user.deactivated_at.is_none() {
                out.push((user, None));
            }
        }
    }
    Ok(out)
}

async fn challenge_answered(store: &mut dyn Store, cid: i64, actor: &UserRow, now: DateTime<Utc>) -> AppResult<()> {
    let Some(c) = store.challenge(cid).await? else { return Ok(()) };
    let mut ids = vec![c.created_by];
    if let Some(s) = c.studio_id {
        ids.extend(store.studio_leads(s).await?.iter().map(|u| u.id));
    }
    let recipients = people(store, &ids, actor).await?;
    let happening = Happening {
        kind: NotificationKind::ChallengeAnswered,
        proposal: None,
        technique_id: None,
        title: &c.title,
        detail: None,
        due_on: None,
        enterprise_id: c.enterprise_id,
        recipients,
    };
    fan_out(store, &happening, now).await
}

/// A help request taken on or resolved: the one who asked and their enterprise's admins are told which
/// studio (the studio's own people acted, and are not told).
pub async fn helped(
    store: &mut dyn Store,
    kind: NotificationKind,
    h: &crate::db::help::HelpRequestRow,
    studio: &str,
    actor: &UserRow,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut ids = vec![h.requested_by];
    ids.extend(store.people_with_role(h.enterprise_id, Role::EnterpriseAdmin.as_str()).await?.iter().map(|u| u.id));
    let recipients = people(store, &ids, actor).await?;
    let happening = Happening {
        kind,
        proposal: None,
        technique_id: None,
        title: &h.title,
        detail: Some(studio),
        due_on: None,
        enterprise_id: Some(h.enterprise_id),
        recipients,
    };
    fan_out(store, &happening, now).await
}

/// Invitations to co-author: each newly invited person is told by whom.
pub async fn invited(
    store: &mut dyn Store,
    p: &ProposalRow,
    inviter: &UserRow,
    invitees: &[i64],
    now: DateTime<Utc>,
) -> AppResult<()> {
    if invitees.is_empty() {
        return Ok(());
    }
    let recipients = people(store, invitees, inviter).await?;
    let h = about(NotificationKind::CoauthorInvited, p, Some(&inviter.name), recipients);
    fan_out(store, &h, now).await
}

/// Another enterprise adopted a technique: its originators (the authors of the proposal it came from).
pub async fn adopted_elsewhere(
    store: &mut dyn Store,
    technique_id: i64,
    enterprise_id: i64,
    actor: &UserRow,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let Some(t) = store.technique(technique_id).await? else { return Ok(()) };
    let mut authors: Vec<i64> = Vec::new();
    for source in store.technique_sources(technique_id).await? {
        authors.extend(store.authors(source).await?.iter().filter_map(|a| a.user_id));
    }
    let adopter = store.enterprise(enterprise_id).await?.map(|e| e.name).unwrap_or_default();
    let recipients = people(store, &authors, actor).await?;
    let h = Happening {
        kind: NotificationKind::AdoptedElsewhere,
        proposal: None,
        technique_id: Some(technique_id),
        title: &t.name,
        detail: Some(&adopter),
        due_on: None,
        enterprise_id: Some(enterprise_id),
        recipients,
    };
    fan_out(store, &h, now).await
}

/// A webhook that failed for a day was paused: its owner is told.
pub async fn webhook_paused(
    store: &mut dyn Store,
    owner: i64,
    name: &str,
    error: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let Some(user) = store.user(owner).await? else { return Ok(()) };
    if user.deactivated_at.is_some() {
        return Ok(());
    }
    let h = Happening {
        kind: NotificationKind::WebhookPaused,
        proposal: None,
        technique_id: None,
        title: name,
        detail: Some(error),
        due_on: None,
        enterprise_id: None,
        recipients: vec![(user, None)],
    };
    // Told in the inbox and by e-mail only: the webhooks themselves are what failed.
    notify_people(store, &h, now).await
}

/// Writes the inbox rows, the e-mail deliveries and the webhook deliveries of a happening.
async fn fan_out(store: &mut dyn Store, h: &Happening<'_>, now: DateTime<Utc>) -> AppResult<()> {
    notify_people(store, h, now).await?;
    if !super::webhooks::webhook_kinds().contains(&h.kind) {
        return Ok(());
    }
    let kind = h.kind.as_str();
    let data = json!({
        "occurredAt": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": {
            "kind": kind,
            "label": h.kind.label(),
            "proposal": h.proposal.map(|p| json!({
                "id": ids::encode("Proposal", p.id).to_string(),
                "number": p.id,
                "title": p.title,
                "enterpriseId": p.enterprise_id.map(|e| ids::encode("Enterprise", e).to_string()),
            })),
            "technique": h.technique_id.map(|t| json!({
                "id": ids::encode("Technique", t).to_string(),
                "number": t,
                "title": h.title,
            })),
            "message": message(h.kind, &subject(h, None)).1,
            "detail": h.detail,
            "dueOn": h.due_on.map(|d| d.to_string()),
            "path": path(h),
        }
    })
    .to_string();
    for hook in store.webhooks_for(h.enterprise_id, kind).await? {
        let state = if hook.paused_at.is_some() { DeliveryState::Held } else { DeliveryState::Pending };
        store
            .insert_delivery(&NewDelivery {
                channel: DeliveryChannel::Webhook.as_str(),
                state: state.as_str(),
                notification_id: None,
                webhook_id: Some(hook.id),
                user_id: None,
                kind,
                payload: &data,
                at: now,
                now,
            })
            .await?;
    }
    Ok(())
}

fn subject<'a>(h: &'a Happening<'a>, points: Option<i64>) -> Subject<'a> {
    Subject { title: h.title, detail: h.detail, points, due_on: h.due_on }
}

/// Where on the page a notification is seen (links in e-mails, robot messages and webhook bodies).
pub fn page_path(proposal_id: Option<i64>, technique_id: Option<i64>, kind: Option<NotificationKind>) -> String {
    match (proposal_id, technique_id, kind) {
        (Some(p), _, _) => format!("/#/p/{}", ids::encode("Proposal", p).as_str()),
        (None, Some(t), _) => format!("/#/t/{}", ids::encode("Technique", t).as_str()),
        (None, None, Some(NotificationKind::WebhookPaused)) => "/#/webhooks".to_owned(),
        (None, None, Some(NotificationKind::HelpRequestTaken)) => "/#/help?status=TAKEN".to_owned(),
        (None, None, Some(NotificationKind::ChallengeAnswered)) => "/#/challenges".to_owned(),
        (None, None, Some(NotificationKind::HelpRequestResolved)) => "/#/help?status=RESOLVED".to_owned(),
        _ => "/#/inbox".to_owned(),
    }
}

fn path(h: &Happening<'_>) -> String {
    page_path(h.proposal.map(|p| p.id), h.technique_id, Some(h.kind))
}

async fn notify_people(store: &mut dyn Store, h: &Happening<'_>, now: DateTime<Utc>) -> AppResult<()> {
    for (user, points) in &h.recipients {
        let channel = channel_of(store, user.id, h.kind).await?;
        let (subject_line, body) = message(h.kind, &subject(h, *points));
        let id = store
            .insert_notification(&NewNotification {
                user_id: user.id,
                kind: h.kind.as_str(),
                proposal_id: h.proposal.map(|p| p.id),
                technique_id: h.technique_id,
                subject: &subject_line,
                body: &body,
                wants_digest: channel == Channel::Digest && user.email.is_some(),
                now,
            })
            .await?;
        if channel == Channel::Email && user.email.is_some() {
            let (start, end) = store.quiet_hours(user.id).await?;
            let at = match start.zip(end).and_then(|(s, e)| QuietHours::new(s, e)) {
                Some(q) => q.release(now),
                None => now,
            };
            store
                .insert_delivery(&NewDelivery {
                    channel: DeliveryChannel::Email.as_str(),
                    state: DeliveryState::Pending.as_str(),
                    notification_id: Some(id),
                    webhook_id: None,
                    user_id: Some(user.id),
                    kind: h.kind.as_str(),
                    payload: "{}",
                    at,
                    now,
                })
                .await?;
        }
    }
    Ok(())
}

/// A person's channel for a kind: their preference, else e-mail.
pub async fn channel_of(store: &mut dyn Store, user_id: i64, kind: NotificationKind) -> AppResult<Channel> {
    Ok(store
        .preferences(user_id)
        .await?
        .iter()
        .find(|(k, _)| k == kind.as_str())
        .and_then(|(_, c)| Channel::parse(c))
        .unwrap_or(Channel::Email))
}

/// Days before a due date that a reminder comes; days after it that an overdue review goes to the lead.
pub const REMIND_DAYS: i64 = 2;
pub const ESCALATE_DAYS: i64 = 2;

/// Fires the reminders that have fallen due at `now` (each once, whichever instance sweeps, however
/// often) and queues the day's digests. Returns how many notifications it raised.
pub async fn sweep(store: &mut dyn Store, now: DateTime<Utc>) -> AppResult<usize> {
    let today = china_today(now);
    let mut fired = 0;
    let nobody = system_actor();
    for r in store.due_reviews(today + Duration::days(REMIND_DAYS)).await? {
        let subject_key = format!("{}:{}:{}:{}", r.proposal_id, r.round, r.reviewer_id, r.due_on);
        let Some(p) = store.proposal(r.proposal_id).await? else { continue };
        let mut steps = vec![(NotificationKind::ReviewDueSoon, vec![r.reviewer_id])];
        if r.due_on < today {
            steps.push((NotificationKind::ReviewOverdue, vec![r.reviewer_id]));
        }
        if r.due_on + Duration::days(ESCALATE_DAYS) < today {
            let mut leads: Vec<i64> = match r.studio_id {
                Some(s) => store.studio_leads(s).await?.iter().map(|u| u.id).collect(),
                None => Vec::new(),
            };
            if leads.is_empty() {
                leads.push(r.assigned_by);
            }
            steps.push((NotificationKind::ReviewEscalated, leads));
        }
        // Only the latest step is sent; the earlier ones are marked fired so they never come late.
        let last = steps.len() - 1;
        for (i, (kind, to)) in steps.into_iter().enumerate() {
            if !store.fire_reminder(&format!("{kind}:{subject_key}"), now).await? || i != last {
                continue;
            }
            let recipients = people(store, &to, &nobody).await?;
            let detail = (kind == NotificationKind::ReviewEscalated).then_some(r.reviewer_name.as_str());
            let mut h = about(kind, &p, detail, recipients);
            h.due_on = Some(r.due_on);
            fired += h.recipients.len();
            fan_out(store, &h, now).await?;
        }
    }
    for m in store.due_milestones(today + Duration::days(REMIND_DAYS)).await? {
        let Some(p) = store.proposal(m.proposal_id).await? else { continue };
        let mut ids = vec![m.started_by];
        if let Some(e) = m.enterprise_id {
            ids.extend(store.people_with_role(e, Role::EnterpriseAdmin.as_str()).await?.iter().map(|u| u.id));
        }
        let mut steps = vec![NotificationKind::MilestoneDue];
        if m.due_on < today {
            steps.push(NotificationKind::MilestoneOverdue);
        }
        let last = steps.len() - 1;
        for (i, kind) in steps.into_iter().enumerate() {
            if !store.fire_reminder(&format!("{kind}:{}:{}", m.id, m.due_on), now).await? || i != last {
                continue;
            }
            let recipients = people(store, &ids, &nobody).await?;
            let mut h = about(kind, &p, Some(&m.title), recipients);
            h.due_on = Some(m.due_on);
            fired += h.recipients.len();
            fan_out(store, &h, now).await?;
        }
    }
    if let Some(date) = digest_date(now) {
        for user_id in store.digest_waiting(now).await? {
            if store.fire_reminder(&format!("DIGEST:{user_id}:{date}"), now).await? {
                store
                    .insert_delivery(&NewDelivery {
                        channel: DeliveryChannel::Digest.as_str(),
                        state: DeliveryState::Pending.as_str(),
                        notification_id: None,
                        webhook_id: None,
                        user_id: Some(user_id),
                        kind: "DIGEST",
                        payload: &json!({ "date": date.to_string(), "upto": now.to_rfc3339() }).to_string(),
                        at: now,
                        now,
                    })
                    .await?;
            }
        }
    }
    Ok(fired)
}

/// Nobody: the actor of a reminder (so that no recipient is left out as "the one who acted").
fn system_actor() -> UserRow {
    UserRow {
        id: 0,
        name: String::new(),
        role: String::new(),
        enterprise_id: None,
        team_id: None,
        studio_id: None,
        created_at: DateTime::<Utc>::MIN_UTC,
        email: None,
        employee_number: None,
        oidc_subject: None,
        deactivated_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_open_the_screens_the_page_routes() {
        // The page's router (web/app.js): `p` a proposal, `t` a technique, `webhooks`, `inbox`.
        let router = include_str!("../../web/app.js");
        for route in
            ["p: () => proposalPage(", "t: () => technique(", "inbox, settings, webhooks,", "help: () => helpBoard("]
        {
            assert!(router.contains(route), "the page routes {route}");
        }
        assert!(page_path(Some(7), None, None).starts_with("/#/p/"));
        assert!(page_path(None, Some(3), Some(NotificationKind::AdoptedElsewhere)).starts_with("/#/t/"));
        assert_eq!(page_path(None, None, Some(NotificationKind::WebhookPaused)), "/#/webhooks");
        assert_eq!(page_path(None, None, None), "/#/inbox");
        assert_eq!(page_path(None, None, Some(NotificationKind::HelpRequestResolved)), "/#/help?status=RESOLVED");
    }
}
