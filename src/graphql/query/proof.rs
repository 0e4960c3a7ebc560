//! `verifyReceipt` and `chain`: anyone may check a receipt against this server, and read the chain's
//! state and its last signed checkpoint.

use async_graphql::{Context, Object, Result, ID};

use crate::{
    domain::{
        lifecycle::Status,
        organisation::{person_sight, PersonSight, Role},
        skill::Authored,
    },
    graphql::{
        guards::{services, viewer},
        ids,
        types::proof::{ChainState, ReceiptCheck, SkillCategory, SkillContribution, SkillRecord, SkillRecordExport},
    },
    read,
};

/// Largest receipt text checked (a receipt holds a proposal's title and body).
const RECEIPT_MAX: usize = 256 * 1024;

#[derive(Default)]
pub struct ProofQuery;

#[Object]
impl ProofQuery {
    /// Checks a receipt against this server: its signature with the server's key, the chain at its position,
    /// the submission's event and the proposal stored now. Anyone may ask. 核验提交回执：签名、哈希链、提交事件与服务器上保存的提案（任何人可查）。
    async fn verify_receipt(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The receipt's JSON text. 回执的JSON全文。")] document: String,
    ) -> Result<ReceiptCheck> {
        let s = services(ctx)?;
        if document.len() > RECEIPT_MAX {
            return Err(crate::error::AppError::invalid("document", "the receipt is too large / 回执过大").into());
        }
        let c = crate::chain::check_receipt(&s.db, &s.signer, &document).await?;
        Ok(ReceiptCheck {
            valid: c.signed && c.problems.is_empty(),
            signed: c.signed,
            key_id: c.key_id,
            proposal_number: c.proposal,
            problems: c.problems,
        })
    }

    /// The event chain's length, head and last signed checkpoint, and the server's public key. 事件哈希链状态与服务器公钥。
    async fn chain(&self, ctx: &Context<'_>) -> Result<ChainState> {
        let s = services(ctx)?;
        let (head, checkpoint) = read!(ctx, |s| Ok((s.chain_head().await?, s.latest_checkpoint().await?)));
        Ok(ChainState {
            length: head.as_ref().map(|h| h.position).unwrap_or(0),
            head: head.map(|h| h.hash),
            checkpoint_position: checkpoint.as_ref().map(|c| c.position),
            checkpoint_hash: checkpoint.as_ref().map(|c| c.hash.clone()),
            checkpoint_signature: checkpoint.as_ref().map(|c| c.signature.clone()),
            checkpoint_signed_at: checkpoint.map(|c| c.signed_at.into()),
            public_key: s.signer.public_key(),
            key_id: s.signer.key_id().to_owned(),
        })
    }
}

/// What a skill record says of one person, and the JSON entry that is signed.
async fn skill_of(
    ctx: &Context<'_>,
    user: crate::db::users::UserRow,
) -> Result<(crate::domain::skill::SkillRecord, serde_json::Value, [Option<String>; 2])> {
    let (uid, eid, tid) = (user.id, user.enterprise_id, user.team_id);
    let (authored, given, ledger, enterprise, team) = read!(ctx, |s| {
        let enterprise = match eid {
            Some(e) => s.enterprise(e).await?.map(|e| e.name),
            None => None,
        };
        let team = match tid {
            Some(t) => s.team_row(t).await?.map(|t| t.name),
            None => None,
        };
        Ok((s.authored(uid).await?, s.evaluations_given(uid).await?, s.points_of(uid).await?, enterprise, team))
    });
    let authored: Vec<Authored> = authored
        .into_iter()
        .map(|a| Authored {
            proposal_id: a.proposal_id,
            title: a.title,
            category: a.category,
            status: Status::parse(&a.status).unwrap_or(Status::Draft),
            position: a.position,
            authors: a.authors,
            answers_challenge: a.challenge_id.is_some(),
            verified: a.tce.zip(a.tco2e),
        })
        .collect();
    let points = ledger.iter().map(|l| l.points).sum();
    let credits = ledger.iter().map(|l| l.credits).sum();
    let awards = ledger
        .iter()
        .filter(|l| l.reason == "CHALLENGE_AWARD")
        .map(|l| l.proposal_id)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let record = crate::domain::skill::record(&authored, given, points, credits, awards as i64);
    let mut entry = serde_json::json!({
        "person": {
            "id": ids::encode("User", user.id).0,
            "name": user.name,
            "employeeNumber": user.employee_number,
            "enterprise": enterprise,
            "team": team,
        },
    });
    if let (Some(o), Ok(serde_json::Value::Object(r))) = (entry.as_object_mut(), serde_json::to_value(&record)) {
        o.extend(r);
    }
    Ok((record, entry, [enterprise, team]))
}

fn signed(ctx: &Context<'_>, records: Vec<serde_json::Value>, purpose: &str) -> Result<String> {
    let s = services(ctx)?;
    let mut doc = serde_json::Map::new();
    doc.insert("kind".into(), crate::domain::proof::SKILL_RECORD_KIND.into());
    doc.insert("server".into(), s.config.public_url().into());
    doc.insert("purpose".into(), purpose.into());
    doc.insert("issuedAt".into(), crate::domain::proof::timestamp(chrono::Utc::now()).into());
    doc.insert("records".into(), records.into());
    Ok(serde_json::to_string_pretty(&s.signer.sign(doc)).unwrap_or_default())
}

/// The people a steward may see the records of: themselves; their enterprise's people (enterprise admins);
/// anyone (platform admins). Others are not found.
async fn steward_of(ctx: &Context<'_>, id: i64) -> Result<crate::db::users::UserRow> {
    let me = viewer(ctx).require()?.clone();
    let Some(user) = read!(ctx, |s| s.user(id).await) else {
        return Err(crate::error::AppError::not_found("person").into());
    };
    if person_sight(Some(me.person()), user.person()) != PersonSight::Steward {
        return Err(crate::error::AppError::not_found("person").into());
    }
    Ok(user)
}

#[derive(Default)]
pub struct SkillQuery;

#[Object]
impl SkillQuery {
    /// A worker's green-skill record (绿色技能档案) with its signed JSON: the person's own, or (enterprise admins,
    /// platform admins) one of their people's. 职工绿色技能档案及签名JSON：本人的，或（企业管理员、平台管理员）本单位职工的。
    async fn skill_record(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Whose; yours when absent. 谁的（缺省为本人）。")] user_id: Option<ID>,
    ) -> Result<SkillRecord> {
        let id = match user_id {
            Some(u) => ids::decode(&u, "User", "userId")?,
            None => viewer(ctx).require()?.id,
        };
        let user = steward_of(ctx, id).await?;
        let (name, number) = (user.name.clone(), user.employee_number.clone());
        let (r, entry, [enterprise, team]) = skill_of(ctx, user).await?;
        let document = signed(ctx, vec![entry], "绿色技能档案")?;
        Ok(SkillRecord {
            name,
            enterprise,
            team,
            employee_number: number,
            submitted: r.submitted,
            accepted: r.accepted,
            adopted: r.adopted,
            promoted: r.promoted,
            evaluations_given: r.evaluations_given,
            verified_tce: r.verified_tce,
            verified_tco2e: r.verified_tco2e,
            points: r.points,
            credits: r.credits,
            challenges_answered: r.challenges_answered,
            challenge_awards: r.challenge_awards,
            by_category: r
                .by_category
                .into_iter()
                .map(|c| SkillCategory {
                    category: c.category,
                    as_primary_author: c.as_primary_author,
                    as_co_author: c.as_co_author,
                    accepted: c.accepted,
                    adopted: c.adopted,
                    promoted: c.promoted,
                })
                .collect(),
            contributions: r
                .contributions
                .into_iter()
                .map(|c| SkillContribution {
                    number: c.proposal_id,
                    title: c.title,
                    category: c.category,
                    status: c.status,
                    role: c.role,
                    share_tce: c.share_tce,
                    share_tco2e: c.share_tco2e,
                })
                .collect(),
            document,
        })
    }

    /// Signed skill records of a group of workers for a skill-level assessment (职业技能等级认定): enterprise
    /// admins for their people, platform admins for anyone; at most 200. 一组职工的签名绿色技能档案（企业管理员：本单位职工；最多200人）。
    async fn skill_records(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workers. 职工。")] user_ids: Vec<ID>,
    ) -> Result<SkillRecordExport> {
        viewer(ctx).require_role(&[Role::EnterpriseAdmin], "export skill records")?;
        if user_ids.is_empty() || user_ids.len() > 200 {
            return Err(crate::error::AppError::invalid("userIds", "name 1–200 people / 请选择1到200人").into());
        }
        let mut entries = Vec::with_capacity(user_ids.len());
        for u in &user_ids {
            let user = steward_of(ctx, ids::decode(u, "User", "userIds")?).await?;
            entries.push(skill_of(ctx, user).await?.1);
        }
        Ok(SkillRecordExport {
            count: entries.len() as i64, document: signed(ctx, entries, "职业技能等级认定")?
        })
    }
}
