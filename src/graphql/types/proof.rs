//! Proof (存证): an author's signed receipt, a check of one, and the chain's state.

use async_graphql::SimpleObject;

use crate::graphql::types::scalars::Timestamp;

/// An author's receipt for a submission: the signed JSON document to keep, and what it says. 提交回执：签名的JSON文件及其要点。
#[derive(SimpleObject)]
pub struct Receipt {
    /// The signed JSON document (save it as a file; `greenline verify FILE` checks it offline). 已签名的JSON回执（保存为文件，可用 greenline verify 离线验证）。
    pub document: String,
    /// Its place in the event chain. 在事件哈希链上的位置。
    pub position: i64,
    /// The chain's hash at that place. 该位置的链上哈希。
    pub hash: String,
    /// The signing key's id. 签名密钥编号。
    pub key_id: String,
}

/// What the server found when it checked a receipt. 服务器对回执的核验结果。
#[derive(SimpleObject)]
pub struct ReceiptCheck {
    /// True when the signature is this server's and nothing below is wrong. 签名属于本服务器且无任何问题时为真。
    pub valid: bool,
    /// Whether the signature verifies with this server's key. 签名是否可用本服务器公钥验证。
    pub signed: bool,
    /// The key that signed it. 签名密钥编号。
    pub key_id: Option<String>,
    /// The proposal's number. 提案编号（数字）。
    pub proposal_number: Option<i64>,
    /// What does not hold (English / 中文); empty when receipt, chain and stored proposal agree. 不符之处（为空表示回执、哈希链与服务器上的提案一致）。
    pub problems: Vec<String>,
}

/// The event chain: how far it reaches and its last signed checkpoint. 事件哈希链的状态与最新签名检查点。
#[derive(SimpleObject)]
pub struct ChainState {
    /// Events linked so far. 已入链的事件数。
    pub length: i64,
    /// The head's hash. 链头哈希。
    pub head: Option<String>,
    /// The last signed checkpoint's position. 最新签名检查点的位置。
    pub checkpoint_position: Option<i64>,
    /// Its hash. 检查点哈希。
    pub checkpoint_hash: Option<String>,
    /// Its Ed25519 signature (base64) over `greenline.checkpoint/1\n<position>\n<hash>\n<signedAt>`. 检查点的Ed25519签名（base64）。
    pub checkpoint_signature: Option<String>,
    /// When it was signed. 签名时间。
    pub checkpoint_signed_at: Option<Timestamp>,
    /// The server's public key (Ed25519, base64), also at /.well-known/greenline-key. 服务器公钥（亦见 /.well-known/greenline-key）。
    pub public_key: String,
    /// Its id. 公钥编号。
    pub key_id: String,
}

/// One line of a skill record: a category, how the person took part, how far it went. 绿色技能档案中的一个类别。
#[derive(SimpleObject)]
pub struct SkillCategory {
    /// The category (ENERGY_SAVING, …). 类别。
    pub category: String,
    /// As primary author. 作为第一作者。
    pub as_primary_author: i64,
    /// As co-author. 作为共同作者。
    pub as_co_author: i64,
    /// Accepted or further. 被采纳（含其后阶段）。
    pub accepted: i64,
    /// Adopted or promoted. 已推广应用（含入选目录）。
    pub adopted: i64,
    /// Promoted into the catalogue. 入选行业目录。
    pub promoted: i64,
}

/// One proposal in a skill record. 绿色技能档案中的一项提案。
#[derive(SimpleObject)]
pub struct SkillContribution {
    /// The proposal's number. 提案编号（数字）。
    pub number: i64,
    /// Its title. 标题。
    pub title: String,
    /// Its category. 类别。
    pub category: String,
    /// Where it stands. 状态。
    pub status: String,
    /// PRIMARY_AUTHOR or CO_AUTHOR. 角色（第一作者或共同作者）。
    pub role: String,
    /// The person's share of its verified tce per year. 本人所占核实年节能量（吨标准煤）。
    pub share_tce: f64,
    /// The person's share of its verified tCO2e per year. 本人所占核实年减排量（吨二氧化碳当量）。
    #[graphql(name = "shareTco2e")]
    pub share_tco2e: f64,
}

/// A worker's green-skill record (绿色技能档案), with the signed JSON an assessor verifies. 职工绿色技能档案（附可验证的签名JSON）。
#[derive(SimpleObject)]
pub struct SkillRecord {
    /// The person's name. 姓名。
    pub name: String,
    /// Their enterprise. 所在企业。
    pub enterprise: Option<String>,
    /// Their team. 所在班组。
    pub team: Option<String>,
    /// Their employee number, when known. 工号。
    pub employee_number: Option<String>,
    /// Proposals submitted (not drafts or withdrawn). 提交的提案数。
    pub submitted: i64,
    /// Accepted or further. 被采纳数。
    pub accepted: i64,
    /// Adopted or promoted. 推广应用数。
    pub adopted: i64,
    /// Promoted into the catalogue. 入选行业目录数。
    pub promoted: i64,
    /// Evaluations given as a reviewer. 作为评审人完成的评审份数。
    pub evaluations_given: i64,
    /// Their share of verified tce per year (split among co-authors). 本人所占核实年节能量（与共同作者均分）。
    pub verified_tce: f64,
    /// Their share of verified tCO2e per year. 本人所占核实年减排量。
    #[graphql(name = "verifiedTco2e")]
    pub verified_tco2e: f64,
    /// Points. 积分。
    pub points: i64,
    /// Green-skill credits. 绿色技能学分。
    pub credits: f64,
    /// Challenges answered. 应答攻关课题数。
    pub challenges_answered: i64,
    /// Challenge awards. 攻关课题获奖次数。
    pub challenge_awards: i64,
    /// By category and role. 按类别与角色。
    pub by_category: Vec<SkillCategory>,
    /// Every proposal counted. 计入的全部提案。
    pub contributions: Vec<SkillContribution>,
    /// The signed JSON (greenline.skill-record/1): `greenline verify FILE` checks it. 签名JSON（可用 greenline verify 验证）。
    pub document: String,
}

/// Signed skill records of a group of workers, for a skill-level assessment (职业技能等级认定). 一组职工的签名绿色技能档案（用于职业技能等级认定）。
#[derive(SimpleObject)]
pub struct SkillRecordExport {
    /// How many records it holds. 档案份数。
    pub count: i64,
    /// The signed JSON (greenline.skill-record/1, one entry per worker under `records`). 签名JSON。
    pub document: String,
}
